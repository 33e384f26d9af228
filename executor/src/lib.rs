//! gust-executor: the `go` statement and the Go scheduler of gust.
//!
//! A multi-threaded work-stealing runtime for futures, with Go's `time`
//! package on top.
//!
//! ```
//! use std::time::Duration;
//!
//! gust_executor::block_on(async {
//!     let h = gust_executor::spawn(async { // go func() { ... }()
//!         gust_executor::time::sleep(Duration::from_millis(1)).await;
//!         7
//!     });
//!     assert_eq!(h.await.unwrap(), 7);
//! });
//! ```
//!
//! # Architecture
//!
//! - **Tasks** (`task.rs`): one allocation per task (async-task: header +
//!   future/output), a wrapper that catches panics and keeps the task in
//!   its runtime's live-task registry (`registry.rs`: per-worker shards,
//!   ends on other workers handed back to the owner in batches), and
//!   [`JoinHandle`]/[`JoinError`].
//! - **Scheduler** (`scheduler/`): per-worker local run queues with a LIFO
//!   slot, a global injection queue, work stealing, and the
//!   searching/parking protocol that keeps futex wakes off the hot path.
//! - **Runtimes** (`runtime.rs`): [`runtime::Builder`], [`runtime::Runtime`],
//!   the global runtime (one worker per core, or `GUST_WORKERS`), and the
//!   numbered shutdown protocol.
//! - **Blocking pool** (`blocking.rs`): [`spawn_blocking`].
//! - **Driver** (`driver/`): each runtime's OS poller and timers; a worker
//!   with nothing to run waits in it, a busy one polls it now and then
//!   (Go's netpoller). [`io::Registration`] makes a mio source a future on
//!   it; a task's poll completes at most a budget of I/O operations before
//!   it yields (`coop.rs`).
//! - **Timers** (`time/`): kept by the runtime they are made on, fired by
//!   its workers; timers made anywhere else go to one process-wide thread,
//!   so they work on any executor.
//! - **Signals** (`signal.rs`, Unix): Go's `os/signal`, signals relayed to
//!   channels by one thread of ours.
//!
//! # Panics in tasks
//!
//! A panic in a task is caught around its poll: the worker survives, and
//! the panic goes to the [`JoinHandle`] as a [`JoinError`]. The process's
//! panic hook reports it on stderr when it happens (once), as for a
//! panicking thread, so a detached task's panic is not silent.

mod block_on;
mod blocking;
mod coop;
mod driver;
pub mod io;
mod loom;
mod metrics;
mod registry;
pub mod runtime;
mod scheduler;
#[cfg(unix)]
pub mod signal;
mod slots;
mod spin;
pub mod task;
pub mod time;
mod trace;

#[cfg(all(test, loom))]
mod tests;
#[cfg(all(test, not(loom)))]
mod unit_tests;

pub use task::{JoinError, JoinHandle};

use std::future::Future;
use std::task::Poll;

/// Spawns a task (Go's `go` statement): `fut` runs concurrently on the
/// current runtime's workers.
///
/// The current runtime is the one whose worker or [`Runtime::block_on`] runs
/// on this thread; elsewhere it is the global runtime, started on first use
/// with one worker per core (the `GUST_WORKERS` environment variable
/// overrides the count, like `GOMAXPROCS`).
///
/// Dropping the returned [`JoinHandle`] detaches the task; awaiting it
/// yields the output.
///
/// # Panics
///
/// If the global runtime must start and `GUST_WORKERS` is not a positive
/// integer.
///
/// ```
/// let h = gust_executor::spawn(async { "hello" });
/// assert_eq!(gust_executor::block_on(h).unwrap(), "hello");
/// ```
///
/// [`Runtime::block_on`]: runtime::Runtime::block_on
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let at = std::panic::Location::caller();
    runtime::with_current(|shared, shard| task::spawn_on(shared, shard, fut, None, at))
}

/// Runs `f` on a thread of the blocking pool, so that a blocking call does
/// not stall the runtime's workers. The pool grows on demand (up to 512
/// threads) and its idle threads exit after 10 s.
///
/// [`JoinHandle::abort`] only prevents a closure that has not started yet.
/// `spawn` inside `f` spawns onto the runtime that called `spawn_blocking`.
///
/// ```
/// let h = gust_executor::spawn_blocking(|| std::fs::metadata("/").is_ok());
/// assert!(gust_executor::block_on(h).unwrap());
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    blocking::spawn_blocking(f)
}

/// Live spawned tasks of the current runtime (Go's
/// `runtime.NumGoroutine`): spawned and not yet finished or dropped. A
/// `block_on` future is not a task, nor is a `spawn_blocking` closure.
///
/// ```
/// let rt = gust_executor::runtime::Runtime::new().unwrap();
/// let h = rt.spawn(std::future::pending::<()>());
/// assert_eq!(rt.block_on(async { gust_executor::num_tasks() }), 1);
/// h.abort();
/// ```
pub fn num_tasks() -> usize {
    runtime::current_num_tasks()
}

/// Runs `fut` to completion on the calling thread, parking it while `fut`
/// waits. Tasks it spawns go to the current runtime (see [`spawn`]).
///
/// Calling it from a task blocks that task's worker thread: its queued
/// tasks stay stealable, and what `fut` spawns or wakes goes to the
/// runtime's other workers, but on a one-worker runtime nothing else runs
/// until `fut` completes; prefer `.await` there.
///
/// ```
/// assert_eq!(gust_executor::block_on(async { 1 + 1 }), 2);
/// ```
#[track_caller]
pub fn block_on<F: Future>(fut: F) -> F::Output {
    block_on::block_on(None, fut)
}

/// Yields to the scheduler once: the task goes to the back of its worker's
/// queue, or of its runtime's injection queue while that holds tasks:
/// behind every other ready task (Go's `runtime.Gosched`).
///
/// ```
/// gust_executor::block_on(async {
///     gust_executor::yield_now().await;
/// });
/// ```
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}
