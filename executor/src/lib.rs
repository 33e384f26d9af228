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
//! - **Timers** (`time/`): one driver thread for the process; timers work
//!   on any executor.
//!
//! # Panics in tasks
//!
//! A panic in a task is caught around its poll: the worker survives, and
//! the panic goes to the [`JoinHandle`] as a [`JoinError`]. The process's
//! panic hook reports it on stderr when it happens (once), as for a
//! panicking thread, so a detached task's panic is not silent.

mod blocking;
mod driver;
pub mod io;
mod loom;
mod metrics;
mod registry;
pub mod runtime;
mod scheduler;
mod spin;
mod task;
pub mod time;

#[cfg(all(test, loom))]
mod tests;
#[cfg(all(test, not(loom)))]
mod unit_tests;

pub use task::{JoinError, JoinHandle};

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

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
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime::with_current(|shared, shard| task::spawn_on(shared, shard, fut))
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
/// Calling it from a task blocks that task's worker thread (its queued
/// tasks stay stealable by the other workers, but on a one-worker runtime
/// nothing else runs until `fut` completes); prefer `.await` there.
///
/// ```
/// assert_eq!(gust_executor::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<F: Future>(fut: F) -> F::Output {
    scheduler::worker::before_blocking();
    let mut fut = pin!(fut);
    // Under virtual time the runtime's clock must not jump while this
    // future can run: it counts in the runtime's `block_ons` while polled
    // or woken (see `Unparker`).
    let virtual_time = runtime::current_explicit()
        .filter(|s| s.driver.timers.clock.is_virtual() && !scheduler::worker::on_worker())
        .map(|s| s.driver.clone());
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        state: AtomicU8::new(0),
        virtual_time,
    });
    if let Some(d) = &unparker.virtual_time {
        d.block_ons.fetch_add(1, Ordering::SeqCst);
    }
    struct Finish<'a>(&'a Unparker);
    impl Drop for Finish<'_> {
        fn drop(&mut self) {
            // Also on a panic in `poll`: leave the count as we found it.
            self.0.finish();
        }
    }
    let _finish = Finish(&unparker);
    let waker = Waker::from(unparker.clone());
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        if let Some(d) = &unparker.virtual_time {
            // Idle until woken (a wake counts itself back in).
            d.block_ons.fetch_sub(1, Ordering::SeqCst);
            d.nudge();
        }
        // Acquire: pairs with the Release in `wake_by_ref`, so what the
        // waker's caller did before waking is visible to the next poll.
        while unparker.state.fetch_and(!NOTIFIED, Ordering::Acquire) & NOTIFIED == 0 {
            thread::park();
        }
    }
}

/// `Unparker::state`: woken and not yet polled.
const NOTIFIED: u8 = 1;
/// `Unparker::state`: `block_on` returned; later wakes count nothing.
const DONE: u8 = 2;

/// The waker of a `block_on` thread.
struct Unparker {
    thread: Thread,
    state: AtomicU8,
    /// The runtime whose virtual clock this `block_on` holds still.
    virtual_time: Option<Arc<driver::Driver>>,
}

impl Unparker {
    /// `block_on` is returning: stop counting, including a wake that came
    /// during the last poll (both are read-modify-writes of `state`, so a
    /// wake either comes before and is taken back here, or sees `DONE`).
    fn finish(&self) {
        let prev = self.state.fetch_or(DONE, Ordering::AcqRel);
        if let Some(d) = &self.virtual_time {
            let n = 1 + usize::from(prev & NOTIFIED != 0);
            d.block_ons.fetch_sub(n, Ordering::SeqCst);
            d.nudge();
        }
    }
}

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let prev = self.state.fetch_or(NOTIFIED, Ordering::Release);
        if prev & (NOTIFIED | DONE) == 0 {
            if let Some(d) = &self.virtual_time {
                // Runnable again: the clock holds still until it is polled.
                d.block_ons.fetch_add(1, Ordering::SeqCst);
            }
            self.thread.unpark();
        }
    }
}

/// Yields to the scheduler once: the task goes to the back of its worker's
/// queue, behind every other ready task (Go's `runtime.Gosched`).
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
