//! [`Handle`]: a cheap, cloneable reference to a runtime (tokio's
//! `runtime::Handle`), for code that must spawn onto a runtime it does not
//! own, and [`EnterGuard`], which makes a runtime the current one on a
//! thread.

use super::{Runtime, Shared, enter, metrics_of, with_current};
use crate::runtime::{Dump, RuntimeMetrics};
use crate::task::JoinHandle;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::sync::Arc;

/// A reference to a runtime: `Clone`, `Send` and `Sync`, so it can be
/// stored in a struct, moved to a plain thread, or taken from inside a
/// task with [`Handle::current`], and then spawn onto that runtime from
/// anywhere.
///
/// A handle does not keep the runtime running: once the [`Runtime`] is
/// dropped or shut down, a task spawned through a handle is dropped at
/// once (awaiting its [`JoinHandle`] gives a [`JoinError`] for which
/// [`is_aborted`] is true); a `spawn_blocking` job still runs on the
/// blocking pool and a `block_on` on its caller's thread, but tasks they
/// spawn are dropped the same way.
///
/// ```
/// use gust_executor::runtime::{Builder, Handle};
///
/// let rt = Builder::new().workers(1).build().unwrap();
/// let handle: Handle = rt.handle();
/// // From a plain thread, which has no runtime of its own:
/// let h = std::thread::spawn(move || handle.spawn(async { 6 * 7 })).join().unwrap();
/// assert_eq!(rt.block_on(h).unwrap(), 42);
/// ```
///
/// [`JoinError`]: crate::JoinError
/// [`is_aborted`]: crate::JoinError::is_aborted
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

impl Runtime {
    /// A [`Handle`] to this runtime.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let handle = rt.handle();
    /// assert_eq!(handle.num_workers(), rt.num_workers());
    /// ```
    pub fn handle(&self) -> Handle {
        Handle {
            shared: self.shared.clone(),
        }
    }

    /// Makes this runtime the current one on this thread until the guard
    /// is dropped; see [`Handle::enter`].
    ///
    /// ```
    /// use gust_executor::runtime::{Builder, Handle};
    ///
    /// let rt = Builder::new().workers(1).thread_name("mine").build().unwrap();
    /// let h = {
    ///     let _guard = rt.enter();
    ///     assert_eq!(Handle::current(), rt.handle());
    ///     gust_executor::spawn(async { std::thread::current().name().map(String::from) })
    /// };
    /// assert_eq!(rt.block_on(h).unwrap().as_deref(), Some("mine-0"));
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(&self.shared)
    }
}

impl Handle {
    /// The current runtime: the runtime of the task or `block_on` this
    /// thread is running, else the global one (started if need be), as
    /// [`spawn`](crate::spawn) would choose.
    ///
    /// # Panics
    ///
    /// Outside any runtime, if the global runtime cannot be started (a bad
    /// `GUST_WORKERS`).
    ///
    /// ```
    /// use gust_executor::runtime::{Builder, Handle};
    ///
    /// let rt = Builder::new().workers(1).build().unwrap();
    /// let handle = rt.block_on(async { Handle::current() });
    /// assert_eq!(handle, rt.handle());
    /// ```
    pub fn current() -> Handle {
        Handle {
            shared: with_current(|shared, _| shared.clone()),
        }
    }

    /// Spawns `fut` onto this handle's runtime; see [`Runtime::spawn`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.handle().spawn(async { 2 + 2 });
    /// assert_eq!(rt.block_on(h).unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        super::spawn_named_on(&self.shared, fut, None, Location::caller())
    }

    /// Runs `f` on the blocking pool for this handle's runtime; see
    /// [`Runtime::spawn_blocking`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.handle().spawn_blocking(|| "done");
    /// assert_eq!(rt.block_on(h).unwrap(), "done");
    /// ```
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::blocking::spawn_blocking_for(Some(self.shared.clone()), f)
    }

    /// Runs `fut` to completion on the calling thread with this handle's
    /// runtime as the current one; see [`Runtime::block_on`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// let n = std::thread::spawn(move || {
    ///     handle.block_on(async { gust_executor::spawn(async { 5 }).await.unwrap() })
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(n, 5);
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        crate::block_on::block_on(Some(self.shared.clone()), fut)
    }

    /// Makes this handle's runtime the current one on this thread until the
    /// guard is dropped: [`spawn`](crate::spawn), timers, sockets and
    /// [`Handle::current`] then use it, as inside its
    /// [`block_on`](Handle::block_on). Guards nest; each restores what was
    /// current before it. A task running on a worker of a runtime keeps
    /// spawning onto that runtime whatever it enters: use
    /// [`Handle::spawn`] there. The guard is not `Send`: drop it on the
    /// thread that made it, and do not hold it across an `.await`.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// std::thread::spawn(move || {
    ///     let _guard = handle.enter();
    ///     gust_executor::spawn(async {}); // onto `rt`, not the global runtime
    ///     assert_eq!(gust_executor::runtime::Handle::current(), handle);
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard::new(&self.shared)
    }

    /// Live spawned tasks of this handle's runtime.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// assert_eq!(rt.handle().num_tasks(), 0);
    /// ```
    pub fn num_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// Number of worker threads of this handle's runtime.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(2).build().unwrap();
    /// assert_eq!(rt.handle().num_workers(), 2);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.shared.num_workers()
    }

    /// This handle's runtime's metrics; see [`Runtime::metrics`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// rt.block_on(rt.handle().spawn(async {})).unwrap();
    /// assert_eq!(rt.handle().metrics().spawned_tasks(), 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        metrics_of(&self.shared)
    }

    /// This handle's runtime's tasks; see [`Runtime::dump`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.handle().dump().tasks().len(), 1);
    /// h.abort();
    /// ```
    pub fn dump(&self) -> Dump {
        Dump::collect(&self.shared)
    }

    /// Whether the runtime has shut down (it was dropped, or
    /// [`Runtime::shutdown_timeout`] was called): tasks spawned through
    /// the handle are then dropped at once (see [`Handle`]).
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let handle = rt.handle();
    /// assert!(!handle.is_shutdown());
    /// drop(rt);
    /// assert!(handle.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.shared.is_shutdown()
    }
}

impl PartialEq for Handle {
    /// Handles are equal when they refer to the same runtime.
    fn eq(&self, other: &Handle) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Handle {}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("workers", &self.num_workers())
            .field("tasks", &self.num_tasks())
            .finish()
    }
}

/// Returned by [`Handle::enter`] and [`Runtime::enter`]: the runtime stays
/// the current one on this thread until it is dropped.
///
/// It cannot leave its thread:
///
/// ```compile_fail
/// let rt = gust_executor::runtime::Runtime::new().unwrap();
/// let guard = rt.enter();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard));
/// });
/// ```
#[must_use = "the runtime is current only while the guard lives"]
pub struct EnterGuard<'a> {
    /// The runtime made current (checked at drop).
    entered: Arc<Shared>,
    /// Restores what was current before, when dropped (after `drop`).
    _enter: super::Enter,
    /// Not `Send` (the current runtime is per thread), and tied to the
    /// handle it came from.
    _not_send: PhantomData<(*const (), &'a Handle)>,
}

impl EnterGuard<'_> {
    fn new(shared: &Arc<Shared>) -> Self {
        EnterGuard {
            entered: shared.clone(),
            _enter: enter(shared.clone()),
            _not_send: PhantomData,
        }
    }
}

impl Drop for EnterGuard<'_> {
    /// Guards must be dropped in the reverse order of their making: one
    /// dropped while a later one lives would make its own previous runtime
    /// current again under the later one, and the later one's drop would
    /// then leave a runtime current for good. As tokio's, that panics: a
    /// guard checks, when it drops, that its runtime is the current one.
    /// Unlike tokio's, guards that all make the same runtime current over
    /// itself (a third `rt.enter()` inside a second) pass that check in any
    /// order: they leave the thread as dropping them in order would.
    fn drop(&mut self) {
        if !super::is_entered(&self.entered) && !std::thread::panicking() {
            panic!(
                "gust: EnterGuard values dropped out of order: drop each guard \
                 before the guards made before it on this thread"
            );
        }
    }
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}
