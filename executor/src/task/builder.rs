//! [`Builder`]: spawning with a name.

use super::{JoinHandle, spawn_on};
use crate::runtime::{self, Runtime};
use std::future::Future;
use std::panic::Location;

/// Spawns a task with options: a name, which the dump
/// ([`runtime::dump`](crate::runtime::dump)) and deadlock reports show.
///
/// # Examples
///
/// ```
/// use gust_executor::task::Builder;
///
/// let h = Builder::new().name("fetcher").spawn(async { 7 });
/// assert_eq!(gust_executor::block_on(h).unwrap(), 7);
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a task builder spawns nothing until `spawn` is called"]
pub struct Builder {
    name: Option<Box<str>>,
}

impl Builder {
    /// A builder with no name set.
    ///
    /// ```
    /// let h = gust_executor::task::Builder::new().spawn(async {});
    /// gust_executor::block_on(h).unwrap();
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the task (Go has no goroutine names; its dump shows the
    /// function a goroutine runs).
    ///
    /// ```
    /// let h = gust_executor::task::Builder::new().name("worker 3").spawn(async {});
    /// gust_executor::block_on(h).unwrap();
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns `fut` onto the current runtime, as [`crate::spawn`] does.
    ///
    /// ```
    /// let h = gust_executor::task::Builder::new().name("adder").spawn(async { 1 + 1 });
    /// assert_eq!(gust_executor::block_on(h).unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn spawn<F>(self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let at = Location::caller();
        runtime::with_current(|shared, shard| spawn_on(shared, shard, fut, self.name, at))
    }

    /// Spawns `fut` onto `rt`, as [`Runtime::spawn`] does.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let h = gust_executor::task::Builder::new().name("on rt").spawn_on(async { 3 }, &rt);
    /// assert_eq!(rt.block_on(h).unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(self, fut: F, rt: &Runtime) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        rt.spawn_named(fut, self.name, Location::caller())
    }
}
