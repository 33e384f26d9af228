//! Helpers of the deadlock tests (`seeing_inside.rs`, `deadlock_outside.rs`).

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
