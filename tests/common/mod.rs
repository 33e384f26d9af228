//! Helpers of the integration tests: the deadlock tests' runtimes
//! (`seeing_inside.rs`, `deadlock_outside.rs`, `join_set.rs`) and a
//! watchdog for tests that would hang (`budget.rs`, `virtual_time.rs`).
//! Each file compiles this module on its own and uses part of it.
#![allow(dead_code)]

use gust::runtime::{Builder, OnDeadlock, Runtime};
use std::time::Duration;

/// Waits long past the detector's grace (100 ms).
pub(crate) const LONG: Duration = Duration::from_millis(400);

/// A runtime of `workers` workers that does `on_deadlock`.
pub(crate) fn rt(workers: usize, on_deadlock: OnDeadlock) -> Runtime {
    Builder::new()
        .workers(workers)
        .on_deadlock(on_deadlock)
        .build()
        .unwrap()
}

/// Runs `f` on a thread of its own and returns what it returns; fails
/// with `hung` instead if it has not returned within `bound`.
pub(crate) fn within<T: Send + 'static>(
    bound: Duration,
    hung: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(bound)
        .unwrap_or_else(|_| panic!("{hung} (after {bound:?})"))
}
