//! `errgroup`: Go's `golang.org/x/sync/errgroup` — a [`WaitGroup`] for tasks
//! that can fail, with a shared [`Context`] cancelled by the first failure and
//! an optional limit on how many tasks run at once.
//!
//! ```
//! use gust_context::{Context, errgroup::Group};
//!
//! # gust_executor::block_on(async {
//! let (g, ctx) = Group::with_context(&Context::background());
//! for i in 0..4 {
//!     let ctx = ctx.clone();
//!     g.go(async move {
//!         if i == 2 {
//!             return Err(format!("task {i} failed"));
//!         }
//!         ctx.done().await; // the others stop when one fails
//!         Ok(())
//!     });
//! }
//! assert_eq!(g.wait().await, Err("task 2 failed".to_string()));
//! assert_eq!(ctx.cause().unwrap().to_string(), "task 2 failed");
//! # });
//! ```
//!
//! # Design
//!
//! A group is shared state behind an `Arc`: a [`WaitGroup`] counting the
//! tasks (each task holds a guard that calls `done` when the task ends, even
//! by panic or abort), the first failure under a mutex, the context's
//! [`CancelFunc`], and a counting semaphore for the limit (an atomic count of
//! running tasks plus an event that a finishing task notifies, one waiter at
//! a time, with `additional` notifications so two releases wake two waiters).
//!
//! `go` spawns at once and never blocks the caller: under the limit it
//! takes its slot in the caller, as Go's `Go` does (so a `try_go` right
//! after it sees the slot taken); past the limit, the spawned task itself
//! waits for a free slot before it polls the future, and a later `go` or
//! `try_go` does not take a freed slot ahead of it.
//!
//! For gust's goroutine dump and deadlock detector (gust-trace), a pending
//! `wait` records the WaitGroup's reason, and a task waiting for a slot
//! records [`Lock::Semaphore`](gust_trace::Lock::Semaphore): both are durable,
//! ended only by another task of the group.
//!
//! # The cause, and `E`
//!
//! `wait` hands back the first error by value, so `E` need not be `Clone`
//! (`std::io::Error` and `anyhow::Error` work). The group context's cause
//! must be shared, so it is a [`TaskError`]: the first error's `Display`
//! text, captured when it happened. That is why [`Group::with_context`]
//! requires `E: Display` and [`Group::new`] does not.
//!
//! # Panics
//!
//! A task that panics counts as a failure: it cancels the group's context
//! (cause: a [`TaskError`] saying so), and `wait` resumes the first panic once
//! every task has finished, as Go's errgroup (x/sync v0.15 and later) does.
//! A panic wins over an error.

use std::any::Any;
use std::fmt::{self, Display};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{self, Poll};

use event_listener::{Event, IntoNotification};
use gust_waitgroup::WaitGroup;

use crate::{CancelFunc, Context};

/// Tasks that share a fate: [`wait`](Group::wait) returns the first error,
/// and the group's context (from [`with_context`](Group::with_context)) is
/// cancelled at the first error or panic, and in any case when `wait`
/// returns.
///
/// `Group` is `Clone` (clones share the group), so tasks may add tasks.
///
/// ```
/// use gust_context::errgroup::Group;
///
/// # gust_executor::block_on(async {
/// let g = Group::<std::io::Error>::new();
/// g.set_limit(2); // at most two tasks run at once
/// for _ in 0..10 {
///     g.go(async { Ok(()) });
/// }
/// assert!(g.wait().await.is_ok());
/// # });
/// ```
pub struct Group<E> {
    shared: Arc<Shared<E>>,
}

/// The state of one group; every field is touched by every task.
struct Shared<E> {
    /// Counts the tasks started by `go`/`try_go` and not yet finished.
    wg: WaitGroup,
    /// The first failure; taken by `wait`.
    first: Mutex<Option<Failure<E>>>,
    /// Set by `with_context`: ends the group's context.
    cancel: Option<CancelFunc>,
    /// Set by `with_context`: renders an error as the context's cause.
    describe: Option<fn(&E) -> String>,
    /// The limit on running tasks (`usize::MAX`: none).
    limit: AtomicUsize,
    /// Tasks holding a slot (running, or started by `try_go`).
    running: AtomicUsize,
    /// Tasks started past the limit and still waiting for a slot: while
    /// any waits, a new `go` or `try_go` does not take a freed slot ahead
    /// of it (Go's waiting `Go` callers are served first, too).
    queued: AtomicUsize,
    /// Notified (one additional waiter per call) when a slot is freed.
    slot_freed: Event,
}

/// How a task failed.
enum Failure<E> {
    /// It returned `Err`.
    Error(E),
    /// It panicked (the payload, for `resume_unwind`).
    Panic(Box<dyn Any + Send>),
}

/// The cause of a group context cancelled by a failing task: the task's
/// error message (or a note that it panicked).
///
/// ```
/// use gust_context::{Context, errgroup::{Group, TaskError}};
///
/// # gust_executor::block_on(async {
/// let (g, ctx) = Group::with_context(&Context::background());
/// g.go(async { Err("boom") });
/// let _ = g.wait().await;
/// let cause = ctx.cause().unwrap();
/// assert_eq!(cause.downcast_ref::<TaskError>().unwrap().message(), "boom");
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    message: String,
}

impl TaskError {
    /// The failing task's error message.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_context::Context;
    /// use gust_context::errgroup::{Group, TaskError};
    ///
    /// gust_executor::block_on(async {
    ///     let (g, ctx) = Group::with_context(&Context::background());
    ///     g.go(async { Err(format!("task {} failed", 3)) });
    ///     assert!(g.wait().await.is_err());
    ///     let cause = ctx.cause().unwrap();
    ///     let err = cause.downcast_ref::<TaskError>().unwrap();
    ///     assert_eq!(err.message(), "task 3 failed");
    /// });
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TaskError {}

impl<E: Send + 'static> Group<E> {
    /// A group with no context and no limit (Go's zero `errgroup.Group`).
    ///
    /// ```
    /// # gust_executor::block_on(async {
    /// let g = gust_context::errgroup::Group::<String>::new();
    /// g.go(async { Err("first".to_string()) });
    /// assert_eq!(g.wait().await, Err("first".to_string()));
    /// # });
    /// ```
    pub fn new() -> Self {
        Group::build(None, None)
    }

    fn build(cancel: Option<CancelFunc>, describe: Option<fn(&E) -> String>) -> Self {
        Group {
            shared: Arc::new(Shared {
                wg: WaitGroup::new(),
                first: Mutex::new(None),
                cancel,
                describe,
                limit: AtomicUsize::new(usize::MAX),
                running: AtomicUsize::new(0),
                queued: AtomicUsize::new(0),
                slot_freed: Event::new(),
            }),
        }
    }

    /// A group and a child of `parent` that is cancelled when a task fails
    /// (with a [`TaskError`] carrying the error's message as its cause), or
    /// when [`wait`](Group::wait) returns, whichever comes first.
    ///
    /// ```
    /// use gust_context::{Context, errgroup::Group};
    ///
    /// # gust_executor::block_on(async {
    /// let (g, ctx) = Group::<String>::with_context(&Context::background());
    /// g.go(async { Ok(()) });
    /// assert!(g.wait().await.is_ok());
    /// assert!(ctx.is_done()); // wait ends the context
    /// # });
    /// ```
    pub fn with_context(parent: &Context) -> (Self, Context)
    where
        E: Display,
    {
        let (ctx, cancel) = parent.with_cancel();
        let describe: fn(&E) -> String = |e| e.to_string();
        (Group::build(Some(cancel), Some(describe)), ctx)
    }

    /// Limits the number of tasks running at once to `n` (`usize::MAX`: no
    /// limit, the default, as Go's `SetLimit(-1)`). Past the limit,
    /// [`go`](Group::go) still returns at once and the task waits for a
    /// free slot; [`try_go`](Group::try_go) returns `false`. A limit of 0
    /// lets no task run. Tasks already running count against the new limit.
    ///
    /// # Panics
    ///
    /// If a limit is set and tasks of the group are running, unless `n` is
    /// `usize::MAX` (as Go's `SetLimit` does).
    ///
    /// ```
    /// let g = gust_context::errgroup::Group::<String>::new();
    /// g.set_limit(1);
    /// assert!(g.try_go(std::future::pending()));
    /// assert!(!g.try_go(async { Ok(()) })); // the slot is taken
    /// ```
    pub fn set_limit(&self, n: usize) {
        let running = self.shared.running.load(Ordering::Acquire);
        let limited = self.shared.limit.load(Ordering::Acquire) != usize::MAX;
        assert!(
            n == usize::MAX || !limited || running == 0,
            "errgroup: modify limit while {running} tasks in the group are still active"
        );
        self.shared.limit.store(n, Ordering::Release);
        // Waiters blocked under the old limit re-check against the new one.
        self.shared.slot_freed.notify(usize::MAX.additional());
    }

    /// Runs `fut` in a new task (`gust_executor::spawn`). The first task to
    /// return `Err` (or panic) cancels the group's context; its error is
    /// what [`wait`](Group::wait) returns. Never blocks the caller: past the
    /// limit, the task waits for a free slot before it polls `fut`.
    ///
    /// ```
    /// # gust_executor::block_on(async {
    /// let g = gust_context::errgroup::Group::<String>::new();
    /// g.go(async { Ok(()) });
    /// assert!(g.wait().await.is_ok());
    /// # });
    /// ```
    #[track_caller]
    pub fn go<F>(&self, fut: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        // The slot is taken here when one is free, as Go's `Go` takes it in
        // the caller: a `try_go` right after sees the limit reached.
        let has_slot = self.shared.try_take_slot();
        self.spawn(fut, has_slot, None);
    }

    /// [`go`](Group::go) as Go's `Go` does it under a limit: returns once
    /// the task has its slot (at once when one is free; else when a task
    /// queued before it has finished). A loop that starts a task per item
    /// and stops when the group's context ends then starts no more than
    /// the limit ahead of the first failure, as in Go, where `go` would
    /// queue every item's task at once. Dropped while it waits, it leaves
    /// the task queued, as `go` does: the task runs when its turn comes.
    ///
    /// ```
    /// use gust_context::{Context, errgroup::Group};
    /// # gust_executor::block_on(async {
    /// let (g, ctx) = Group::<String>::with_context(&Context::background());
    /// g.set_limit(2);
    /// let mut started = 0;
    /// for i in 0..100 {
    ///     if ctx.is_done() {
    ///         break; // a task failed: start no more
    ///     }
    ///     started += 1;
    ///     g.go_when_free(async move {
    ///         if i == 3 { Err(format!("item {i} failed")) } else { Ok(()) }
    ///     })
    ///     .await;
    /// }
    /// assert_eq!(g.wait().await, Err("item 3 failed".to_string()));
    /// assert!(started < 100);
    /// # });
    /// ```
    #[track_caller]
    pub fn go_when_free<F>(&self, fut: F) -> impl Future<Output = ()> + Send + 'static
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        let started = if self.shared.try_take_slot() {
            self.spawn(fut, true, None);
            None
        } else {
            let started = Arc::new(Started::default());
            self.spawn(fut, false, Some(started.clone()));
            Some(started)
        };
        async move {
            if let Some(started) = started {
                started.wait().await;
            }
        }
    }

    /// Runs `fut` in a new task only if a slot is free under the limit;
    /// returns whether it did (Go's `TryGo`).
    ///
    /// ```
    /// # gust_executor::block_on(async {
    /// let g = gust_context::errgroup::Group::<String>::new();
    /// assert!(g.try_go(async { Ok(()) })); // no limit: always true
    /// assert!(g.wait().await.is_ok());
    /// # });
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, fut: F) -> bool
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        if !self.shared.try_take_slot() {
            return false;
        }
        self.spawn(fut, true, None);
        true
    }

    /// Spawns the task; `has_slot`: the caller already took its slot (else
    /// the task waits for one, counted in `queued` until it has it, and
    /// then tells `started`).
    #[track_caller]
    fn spawn<F>(&self, fut: F, has_slot: bool, started: Option<Arc<Started>>)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
    {
        self.shared.wg.add(1);
        if !has_slot {
            self.shared.queued.fetch_add(1, Ordering::SeqCst);
        }
        // Created before the task, so that `done` runs even if the task is
        // dropped unpolled (runtime shutdown) or `spawn` panics.
        let guard = TaskGuard {
            shared: self.shared.clone(),
            has_slot,
            started,
        };
        drop(gust_executor::spawn(async move {
            let mut guard = guard;
            if !guard.has_slot {
                guard.shared.acquire().await;
                guard.has_slot = true;
                guard.shared.queued.fetch_sub(1, Ordering::SeqCst);
                if let Some(started) = guard.started.take() {
                    started.set();
                }
            }
            let outcome = CatchUnwind { fut }.await;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(e)) => guard.shared.fail(Failure::Error(e)),
                Err(payload) => guard.shared.fail(Failure::Panic(payload)),
            }
        }));
    }

    /// Waits for every task started so far (and any they start), cancels the
    /// group's context, and returns the first error (Go's `Wait`). The
    /// error is taken: a second `wait` returns `Ok(())` unless a task failed
    /// since.
    ///
    /// # Panics
    ///
    /// Resumes the first panic of a task, once all tasks have finished.
    ///
    /// ```
    /// # gust_executor::block_on(async {
    /// let g = gust_context::errgroup::Group::new();
    /// g.go(async { Err(1) });
    /// g.go(async { Err(2) });
    /// let first = g.wait().await.unwrap_err();
    /// assert!(first == 1 || first == 2);
    /// # });
    /// ```
    pub async fn wait(&self) -> Result<(), E> {
        self.shared.wg.wait().await;
        if let Some(cancel) = &self.shared.cancel {
            cancel.cancel();
        }
        let first = self
            .shared
            .first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match first {
            None => Ok(()),
            Some(Failure::Error(e)) => Err(e),
            Some(Failure::Panic(payload)) => panic::resume_unwind(payload),
        }
    }

    /// [`wait`](Group::wait) from a plain thread (blocks it).
    ///
    /// # Panics
    ///
    /// As `wait`.
    ///
    /// ```
    /// let g = gust_context::errgroup::Group::<String>::new();
    /// g.go(async { Err("no".to_string()) });
    /// assert_eq!(g.wait_blocking(), Err("no".to_string()));
    /// ```
    pub fn wait_blocking(&self) -> Result<(), E> {
        gust_executor::block_on(self.wait())
    }
}

impl<E: Send + 'static> Shared<E> {
    /// Takes a slot for a new task (`go`, `try_go`) if one is free and no
    /// task started earlier waits for one. `SeqCst`, with the `queued`
    /// updates: a newcomer that finds nobody queued may take the slot.
    fn try_take_slot(&self) -> bool {
        self.queued.load(Ordering::SeqCst) == 0 && self.try_acquire()
    }

    /// Takes a slot if one is free under the limit.
    fn try_acquire(&self) -> bool {
        let limit = self.limit.load(Ordering::Acquire);
        let mut running = self.running.load(Ordering::Relaxed);
        loop {
            if running >= limit {
                return false;
            }
            // Acquire pairs with the Release in `release`: the task that
            // freed the slot finished before this one starts.
            match self.running.compare_exchange_weak(
                running,
                running + 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => running = actual,
            }
        }
    }

    /// Waits for a slot (listener first, then the re-check: no lost wake-up).
    async fn acquire(&self) {
        loop {
            if self.try_acquire() {
                return;
            }
            let listener = self.slot_freed.listen();
            if self.try_acquire() {
                return;
            }
            let reason = gust_trace::Wait::Lock(gust_trace::Lock::Semaphore);
            gust_trace::traced(listener, reason).await;
        }
    }

    /// Frees a slot and wakes one more waiter.
    fn release(&self) {
        self.running.fetch_sub(1, Ordering::Release);
        self.slot_freed.notify(1.additional());
    }

    /// Records a failure (the first one wins, a panic beats an error) and
    /// cancels the group's context with it as the cause.
    fn fail(&self, failure: Failure<E>) {
        let cause = match (&failure, self.describe) {
            (Failure::Error(e), Some(describe)) => Some(describe(e)),
            (Failure::Panic(p), Some(_)) => Some(format!(
                "errgroup: a task panicked: {}",
                panic_message(p.as_ref())
            )),
            (_, None) => None,
        };
        {
            let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
            match (&*first, &failure) {
                (None, _) | (Some(Failure::Error(_)), Failure::Panic(_)) => *first = Some(failure),
                _ => {}
            }
        }
        if let (Some(cancel), Some(message)) = (&self.cancel, cause) {
            // A no-op unless this is the first failure to get here.
            cancel.cancel_with_cause(TaskError { message });
        }
    }
}

/// The text of a panic payload, when it has one.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(non-string payload)"
    }
}

/// Held by each task: frees its slot and calls `done` when the task ends,
/// however it ends (return, panic, abort, runtime shutdown).
struct TaskGuard<E: Send + 'static> {
    shared: Arc<Shared<E>>,
    has_slot: bool,
    /// The `go_when_free` waiting for this task's slot, until told.
    started: Option<Arc<Started>>,
}

/// What a [`Group::go_when_free`] waits for: its task got a slot (or is
/// gone without one: a runtime's shutdown dropped it).
#[derive(Default)]
struct Started {
    set: std::sync::atomic::AtomicBool,
    event: Event,
}

impl Started {
    fn set(&self) {
        // Release: pairs with the Acquire loads in `wait`.
        self.set.store(true, Ordering::Release);
        self.event.notify(usize::MAX);
    }

    /// Listener first, then the re-check: no lost wake-up.
    async fn wait(&self) {
        while !self.set.load(Ordering::Acquire) {
            let listener = self.event.listen();
            if self.set.load(Ordering::Acquire) {
                return;
            }
            let reason = gust_trace::Wait::Lock(gust_trace::Lock::Semaphore);
            gust_trace::traced(listener, reason).await;
        }
    }
}

impl<E: Send + 'static> Drop for TaskGuard<E> {
    fn drop(&mut self) {
        if self.has_slot {
            self.shared.release();
        } else {
            // Dropped while queued (its runtime shut down, or it was
            // never polled): no longer ahead of anyone.
            self.shared.queued.fetch_sub(1, Ordering::SeqCst);
        }
        if let Some(started) = self.started.take() {
            started.set(); // its waiter waits no more
        }
        self.shared.wg.done();
    }
}

pin_project_lite::pin_project! {
    /// Polls `fut`, turning a panic into `Err(payload)`.
    struct CatchUnwind<F> {
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let fut = self.project().fut;
        // AssertUnwindSafe: after a panic the future is never polled again
        // (the task ends), and the group only records the payload.
        match panic::catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            shared: self.shared.clone(),
        }
    }
}

impl<E: Send + 'static> Default for Group<E> {
    fn default() -> Self {
        Group::new()
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("tasks", &self.shared.wg.count())
            .field("running", &self.shared.running.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A task past the limit waits for a slot durably (gust-trace).
    #[test]
    fn slot_wait_records_semaphore() {
        let g = Group::<()>::new();
        g.set_limit(0); // no task may run: the wait for a slot stays pending
        let slot = gust_trace::WaitSlot::new();
        // SAFETY: the guard drops in this scope, before the slot, in order.
        let _current = unsafe { gust_trace::enter(&slot) };
        let mut cx = task::Context::from_waker(task::Waker::noop());
        let mut acquire = std::pin::pin!(g.shared.acquire());
        assert!(acquire.as_mut().poll(&mut cx).is_pending());
        assert_eq!(
            slot.get(),
            Some(gust_trace::Wait::Lock(gust_trace::Lock::Semaphore))
        );
    }

    /// A free slot is taken at once, recording nothing.
    #[test]
    fn free_slot_records_nothing() {
        let g = Group::<()>::new();
        g.set_limit(1);
        let slot = gust_trace::WaitSlot::new();
        // SAFETY: the guard drops in this scope, before the slot, in order.
        let _current = unsafe { gust_trace::enter(&slot) };
        let mut cx = task::Context::from_waker(task::Waker::noop());
        let mut acquire = std::pin::pin!(g.shared.acquire());
        assert!(acquire.as_mut().poll(&mut cx).is_ready());
        assert_eq!(slot.get(), None);
        g.shared.release();
    }
}
