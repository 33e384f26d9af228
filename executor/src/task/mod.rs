//! Tasks: [`JoinHandle`], [`JoinError`], [`Builder`] for named tasks, and
//! [`JoinSet`] to join many in the order they finish.
//!
//! ```
//! let h = gust_executor::task::Builder::new().name("answer").spawn(async { 42 });
//! assert_eq!(gust_executor::block_on(h).unwrap(), 42);
//! ```

// Design notes (implementation):
//
// Tasks: allocation, panics, the live-task registry, and `JoinHandle`.
//
// # One allocation per task
//
// A task is one `async-task` allocation: a header (state word, reference
// count, awaiter waker, vtable, and our [`TaskMeta`]: abort flag, registry
// key, the task's trace for dumps, and a strong count of the runtime's
// shared state), the schedule function (it captures nothing:
// `Shared::schedule_task`), and a union of the future and its output. The
// state word is async-task's (`SCHEDULED | RUNNING | COMPLETED | CLOSED |
// HANDLE | AWAITER | REGISTERING | NOTIFYING` plus a reference count, each
// transition one RMW); it gives the guarantee the scheduler relies on: a
// task woken while it runs is scheduled again once, after the poll returns
// (`ScheduleInfo::woken_while_running`), and never polled twice at the same
// time. The scheduler moves tasks around as [`Runnable`]s, one pointer each.
//
// # What the future is wrapped in
//
// [`TaskFuture`] wraps the user's future. It
// - completes the task as aborted, dropping the user's future, when
//   [`JoinHandle::abort`] has set the abort flag (the handle then wakes the
//   task through its registry waker, so that it gets polled);
// - catches a panic during `poll` and completes the task with it, so a panic
//   reaches the [`JoinHandle`] and never unwinds through a worker (the
//   process's panic hook has already reported it on stderr, once, as for a
//   panicking thread);
// - catches a panic while the user's future is dropped: async-task drops
//   futures under a guard that aborts the process on a panic. An aborted
//   task's future is dropped in its last poll, and such a panic completes
//   the task with it (as tokio's); anywhere else (after the future
//   completed; a runtime dropping what is left) it is reported as a panic
//   nobody joins (`Caught`);
// - holds the task's entry in the runtime's registry and removes it when
//   the future is dropped (completed or cancelled).
//
// # The registry
//
// Dropping a runtime must drop every unfinished future, including those of
// tasks that are parked on some waker and in no queue. The registry
// (`registry.rs`) keeps a waker of every live task, in shards (one per
// worker plus one for other threads), each owned by the worker that spawns
// into it; an entry of a task that ends on another worker is removed later
// by the owner, which so frees the task's memory on the thread that
// allocated it. At shutdown the runtime wakes every entry; the schedule
// function of a shut-down runtime drops the `Runnable`, which drops the
// future. `num_tasks` is the registry's count of inserts minus ends.
//
// # Invariants
//
// 1. A task has a registry entry from `spawn` until its future is dropped,
//    unless it was spawned after the registry closed (then it never ran).
// 2. Entries are only inserted while `closed` is false, checked under the
//    shard lock; `close` sets `closed` before it locks any shard, so after
//    `close` has visited a shard no entry appears there.
// 3. The raw pointers to `Shared` (in `TaskMeta`) and to `TaskMeta` (in
//    `TaskFuture`'s `Entry`, `JoinHandle`) are only dereferenced while the
//    task allocation is alive: the future and the handle each keep it
//    alive, and the metadata holds a strong count of the `Arc<Shared>`.

mod abort;
mod builder;
mod join_set;

pub use abort::AbortHandle;
pub use builder::Builder;
pub use join_set::JoinSet;

use crate::scheduler::{Shared, worker};
use crate::slots::Slots;
use crate::trace::{self, TaskOrigin, TaskTrace};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A scheduled task, as the run queues hold it.
pub(crate) type Runnable = async_task::Runnable<TaskMeta>;

/// A panic payload.
pub(crate) type Panic = Box<dyn Any + Send + 'static>;

/// What a task's future completes with: the output, or why there is none
/// (`Some(panic)`, or `None` when it was aborted).
type Output<T> = Result<T, Option<Caught>>;

/// A caught panic, on its way to the `JoinHandle`. Under
/// `UnhandledPanic::Exit`, dropping it with the payload still inside (the
/// handle was detached, or dropped without being awaited: async-task drops
/// the output then) ends the process with status 2, Go's way.
pub(crate) struct Caught {
    payload: Option<Panic>,
    exit_if_dropped: bool,
}

impl Caught {
    fn take(mut self) -> Panic {
        self.payload.take().expect("a caught panic has its payload")
    }
}

impl Drop for Caught {
    fn drop(&mut self) {
        if self.exit_if_dropped && self.payload.is_some() {
            // The panic hook has printed the panic's message already.
            eprintln!(
                "gust: a task panicked and nobody joined it; exiting with status 2 \
                 (GUST_PANIC=exit / UnhandledPanic::Exit)"
            );
            std::process::exit(2);
        }
    }
}

/// [`TaskMeta::flags`]: the task has a registry entry (`shard`, `key`),
/// which its future's [`Entry`] removes.
const REGISTERED: u8 = 0b01;
/// [`TaskMeta::flags`], of a blocking task (a runtime task reads its
/// runtime's setting): its panic, if nobody joins it, ends the process.
const EXIT_ON_PANIC: u8 = 0b10;
/// [`TaskMeta::flags`], of a blocking task: it has an entry (`key`) in
/// [`BLOCKING_JOBS`], which its future's [`Entry`] removes.
const BLOCKING_JOB: u8 = 0b100;

/// The wakers of the blocking pool's jobs whose future is alive, so that
/// an [`AbortHandle`] can keep one (a runtime task's waker is in its
/// runtime's registry). Locked once when a job is spawned and once when
/// its future ends: a job costs a thread hand-off, microseconds.
static BLOCKING_JOBS: Mutex<Slots<Waker>> = Mutex::new(Slots::new());

/// [`BLOCKING_JOBS`], locked (a panic under the lock leaves it usable: its
/// every update is one call).
fn blocking_jobs() -> std::sync::MutexGuard<'static, Slots<Waker>> {
    BLOCKING_JOBS.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`TaskMeta::abort`]: [`JoinHandle::abort`] was called.
const ABORTED: u8 = 0b01;
/// [`TaskMeta::abort`]: the user's future was dropped by the task's last
/// poll (an abort's), not to be dropped again with the [`TaskFuture`].
const FUTURE_DROPPED: u8 = 0b10;

/// Per-task data in async-task's header, next to the state word.
///
/// Fields: `abort` holds [`ABORTED`], set by [`JoinHandle::abort`] (any
/// thread) and read by the task's poll, and [`FUTURE_DROPPED`], set and
/// read by whoever polls or drops the future (one at a time); `trace` as
/// its docs say (`trace/mod.rs`); the rest are written once at spawn. 48 bytes: with async-task's header and a small
/// future (the schedule function adds nothing: it captures nothing), the
/// allocation stays in glibc's fast size classes.
pub(crate) struct TaskMeta {
    abort: AtomicU8,
    /// [`REGISTERED`] and [`EXIT_ON_PANIC`] (one byte: a second field would
    /// take the metadata past 48 bytes).
    flags: u8,
    /// Who the task is and what it waits on, for dumps (`trace/mod.rs`).
    pub(crate) trace: TaskTrace,
    /// The task's runtime, or null for a blocking task: a strong count of
    /// its `Arc` (`Arc::into_raw`), given back when the metadata drops with
    /// the task's allocation, so valid as long as that allocation.
    shared: *const Shared,
    /// The task's registry entry (shards: at most 32768, a `Builder` limit).
    shard: u16,
    key: u32,
}

// SAFETY: `shared` points to a `Shared`, which is `Send + Sync`; everything
// else is plain data or atomic.
unsafe impl Send for TaskMeta {}
// SAFETY: as above; shared access is through atomics or read-only fields.
unsafe impl Sync for TaskMeta {}

impl Drop for TaskMeta {
    fn drop(&mut self) {
        if !self.shared.is_null() {
            // SAFETY: `shared` came from `Arc::into_raw` in `new`, and this
            // drop gives that count back, once.
            drop(unsafe { Arc::from_raw(self.shared) });
        }
    }
}

impl TaskMeta {
    /// The metadata of a task of `shared` (whose count it keeps; `None`
    /// for a blocking job) with registry entry `entry` (shard, key), if it
    /// has one.
    #[inline]
    fn new(shared: Option<Arc<Shared>>, entry: Option<(u16, u32)>, origin: TaskOrigin) -> Self {
        let (shard, key) = entry.unwrap_or_default();
        Self {
            abort: AtomicU8::new(0),
            flags: if entry.is_some() { REGISTERED } else { 0 },
            trace: TaskTrace::new(origin),
            shared: shared.map_or(std::ptr::null(), Arc::into_raw),
            shard,
            key,
        }
    }

    /// A panic of this task, caught, on its way to the `JoinHandle`.
    fn caught(&self, payload: Panic) -> Caught {
        Caught {
            payload: Some(payload),
            exit_if_dropped: self.exit_on_unhandled_panic(),
        }
    }

    /// Whether the task's runtime ends the process on a panic nobody joins.
    fn exit_on_unhandled_panic(&self) -> bool {
        if self.shared.is_null() {
            return self.flags & EXIT_ON_PANIC != 0;
        }
        // SAFETY: as in `Entry::drop`: non-null for runtime tasks, alive as
        // long as the task's allocation.
        unsafe { &*self.shared }.exit_on_unhandled_panic
    }

    /// Metadata of a blocking-pool task (no runtime, no registry entry, no
    /// place in dumps; entry `key` of [`BLOCKING_JOBS`]); `exit_on_panic`:
    /// its panic, if nobody joins it, ends the process (its submitter's
    /// `UnhandledPanic::Exit`).
    pub(crate) fn blocking(exit_on_panic: bool, key: u32) -> Self {
        let origin = TaskOrigin::new(0, None, Location::caller());
        let mut meta = Self::new(None, None, origin);
        meta.flags |= BLOCKING_JOB;
        meta.key = key;
        if exit_on_panic {
            meta.flags |= EXIT_ON_PANIC;
        }
        meta
    }

    /// Sets the abort flag (for [`JoinHandle::abort`] and
    /// [`AbortHandle::abort`]); `true` if the task must then be woken to
    /// see it: a runtime task whose future is alive (a blocking job sees
    /// it when the pool runs it; a job is never woken).
    fn request_abort(&self) -> bool {
        // Release: pairs with the Acquire load in `TaskFuture::poll`.
        self.abort.fetch_or(ABORTED, Ordering::Release);
        self.flags & BLOCKING_JOB == 0 && self.trace.state() != trace::DONE
    }

    /// A waker of this task for an [`AbortHandle`] to keep, if its future
    /// is still alive (`None`: it ended, or never ran). The caller keeps
    /// the task's allocation alive.
    fn live_waker(&self) -> Option<Waker> {
        if self.flags & BLOCKING_JOB != 0 {
            let jobs = blocking_jobs();
            // Under the lock: the entry goes after the trace says `DONE`
            // (`Entry::drop`), so until then `key` is this job's.
            if self.trace.state() == trace::DONE {
                return None;
            }
            return jobs.get(self.key as usize).cloned();
        }
        if self.flags & REGISTERED == 0 {
            return None;
        }
        // SAFETY: non-null for tasks with an entry, alive as long as the
        // task's allocation (see the field).
        let shared = unsafe { &*self.shared };
        shared
            .registry
            .get_live(self.shard as usize, self.key, &self.trace)
    }
}

pin_project_lite::pin_project! {
    /// The future inside a task: the user's future with panics caught (in
    /// its polls and its drop), the abort flag checked, and the task's
    /// registry entry (invariant #1).
    pub(crate) struct TaskFuture<F> {
        // Dropped by hand (`drop_future`), once, in the abort's poll or
        // in our drop.
        #[pin]
        fut: ManuallyDrop<F>,
        // Dropped after `fut` (our drop runs before the fields'): the
        // entry outlives the future.
        entry: Entry,
    }

    impl<F> PinnedDrop for TaskFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let meta = this.entry.meta();
            if meta.abort.load(Ordering::Relaxed) & FUTURE_DROPPED != 0 {
                return;
            }
            // A panic nobody can join: the output, if any, is out already.
            if let Err(payload) = drop_future(this.fut) {
                drop(meta.caught(payload));
            }
        }
    }
}

/// Drops the user's future in place, catching a panic of its drop.
fn drop_future<F>(fut: Pin<&mut ManuallyDrop<F>>) -> Result<(), Panic> {
    // SAFETY: dropped in place, not moved (the pin's drop guarantee); the
    // callers drop it once (`FUTURE_DROPPED`) and never touch it after.
    let fut = unsafe { fut.get_unchecked_mut() };
    // SAFETY: as above.
    catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(fut) }))
}

impl<F: Future> Future for TaskFuture<F> {
    type Output = Output<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let meta = this.entry.meta();
        // Acquire: pairs with the Release in `JoinHandle::abort`.
        if meta.abort.load(Ordering::Acquire) & ABORTED != 0 {
            worker::task_completing();
            // Relaxed: read back by our drop, after this poll.
            meta.abort.fetch_or(FUTURE_DROPPED, Ordering::Relaxed);
            return Poll::Ready(match drop_future(this.fut) {
                Ok(()) => Err(None),
                Err(panic) => Err(Some(meta.caught(panic))),
            });
        }
        // SAFETY: structural pinning of the future inside `ManuallyDrop`,
        // which never moves it (dropped in place).
        let fut = unsafe { this.fut.map_unchecked_mut(|f| &mut **f) };
        // The gust wait that returns `Pending` records its reason in the
        // task's slot (`trace/mod.rs`).
        meta.trace.begin_poll();
        // ... and the wakers that others keep are counted (gust-trace's
        // "Who holds the waker").
        let polled = trace::poll_traced(
            &meta.trace.wait,
            cx.waker(),
            meta.trace.origin.foreign(),
            |cx| catch_unwind(AssertUnwindSafe(|| fut.poll(cx))),
        );
        let out = match polled {
            Ok(Poll::Ready(v)) => Ok(v),
            Ok(Poll::Pending) => {
                meta.trace.end_poll_pending();
                return Poll::Pending;
            }
            Err(panic) => Err(Some(meta.caught(panic))),
        };
        worker::task_completing();
        Poll::Ready(out)
    }
}

/// A pointer to the task's own [`TaskMeta`], held by its future; removes
/// the task's registry entry, if it has one, when the future is dropped.
/// (One pointer: a second field for the entry would grow the allocation of
/// a small task out of glibc's fast size classes.)
pub(crate) struct Entry(*const TaskMeta);

// SAFETY: `TaskMeta` is `Sync`, and the pointer is only dereferenced while
// the task allocation holding it is alive (see `Entry::meta`).
unsafe impl Send for Entry {}

impl Entry {
    fn meta(&self) -> &TaskMeta {
        // SAFETY: it points into the header of the task allocation whose
        // future holds this `Entry`; async-task keeps that allocation alive
        // until after the future is dropped.
        unsafe { &*self.0 }
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let meta = self.meta();
        // Before the entry goes (`TaskMeta::live_waker`, `get_live`).
        meta.trace.done();
        if meta.flags & BLOCKING_JOB != 0 {
            let waker = blocking_jobs().try_remove(meta.key as usize);
            // After the lock. Never the task's last reference: whoever
            // drops the future (its `Runnable`) holds one.
            drop(waker);
            return;
        }
        if meta.flags & REGISTERED == 0 {
            return;
        }
        // SAFETY: `meta.shared` is non-null for tasks with an entry, and the
        // metadata holds a count of that `Arc<Shared>` for the whole life
        // of the allocation this entry (inside the future) lives in. No
        // count of our own here: that saves a reference-count round trip
        // on a cache line every worker touches.
        let shared = unsafe { &*meta.shared };
        // Now, or deferred to the shard's owner (see `registry.rs`).
        worker::entry_ended(shared, meta.shard as usize, meta.key);
    }
}

/// Spawns `fut` onto `shared`, registering it in shard `shard`, and schedules
/// it. Spawning onto a shut-down runtime returns a handle that reports the
/// task as aborted.
pub(crate) fn spawn_on<F>(
    shared: &Arc<Shared>,
    shard: usize,
    fut: F,
    name: Option<Box<str>>,
    spawned_at: &'static Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let registry = &shared.registry;
    // Callers pass a worker index (they run on that worker, the shard's
    // owner) or the number of workers (the shard for other threads).
    let shard = registry.shard_for(shard);
    match shared.stats.workers.get(shard) {
        // On that worker: its own counter.
        Some(w) => w.spawned(),
        None => {
            shared
                .stats
                .external_spawns
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    if shard < shared.num_workers() {
        // The owner removes the entries of its tasks that ended elsewhere.
        registry.drain(shard);
    }
    // Captures nothing: the runtime is in the metadata (`Shared::schedule_task`).
    let schedule = captures_nothing(async_task::WithInfo(
        |runnable: Runnable, info: async_task::ScheduleInfo| {
            let meta = runnable.metadata();
            meta.trace.scheduled();
            let shared = meta.shared;
            // SAFETY: a runtime task's metadata holds a count of its runtime
            // (non-null), and `runnable` keeps the metadata alive.
            unsafe { Shared::schedule_task(shared, runnable, info.woken_while_running) }
        },
    ));
    // `None` once the runtime has shut down (invariant #2).
    let vacant = registry.vacant(shard);
    let (id, entry) = match &vacant {
        Some(v) => (v.task_id(), Some((shard as u16, v.key()))),
        None => (0, None),
    };
    let origin = TaskOrigin::new(id, name, spawned_at);
    let (runnable, task) = async_task::Builder::new()
        .metadata(TaskMeta::new(Some(shared.clone()), entry, origin))
        .spawn(
            |meta| TaskFuture {
                fut: ManuallyDrop::new(fut),
                entry: Entry(meta),
            },
            schedule,
        );
    match vacant {
        Some(vacant) => {
            vacant.insert(runnable.waker(), &runnable.metadata().trace);
            runnable.schedule();
        }
        // Cancels: the future is dropped unpolled, and the handle reports
        // the task as aborted.
        None => drop(runnable),
    }
    JoinHandle::new(task)
}

/// `schedule`, checked at compile time to be zero-sized: async-task wakes
/// a task whose schedule function captures something with three more
/// atomic operations on its header (`Shared::schedule_task`).
const fn captures_nothing<S>(schedule: S) -> S {
    const {
        assert!(
            std::mem::size_of::<S>() == 0,
            "a task's schedule function must capture nothing"
        )
    };
    schedule
}

/// Spawns `f` as a task whose schedule function is `schedule` (the
/// blocking pool): panics are caught, and an abort before `f` starts
/// prevents it.
pub(crate) fn spawn_blocking_task<F, T>(
    f: F,
    exit_on_panic: bool,
    schedule: impl Fn(Runnable) + Send + Sync + 'static,
) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // The job's entry first (an `AbortHandle` keeps its waker), under the
    // lock that also picks the key.
    let mut jobs = blocking_jobs();
    let key = u32::try_from(jobs.vacant_key()).expect("gust: too many blocking jobs");
    let (runnable, task) = async_task::Builder::new()
        .metadata(TaskMeta::blocking(exit_on_panic, key))
        .spawn(
            |meta| TaskFuture {
                fut: ManuallyDrop::new(async move { f() }),
                entry: Entry(meta),
            },
            schedule,
        );
    let inserted = jobs.insert(runnable.waker());
    debug_assert_eq!(inserted, key as usize);
    drop(jobs);
    runnable.schedule();
    JoinHandle::new(task)
}

/// An owned permission to await a spawned task's result, like a
/// `go` statement that you can also wait for.
///
/// `JoinHandle<T>` is a future of `Result<T, JoinError>`: `Ok` with the
/// task's output, or a [`JoinError`] if it panicked or was aborted.
/// Dropping the handle detaches the task: it runs on, and its output is
/// dropped. [`abort`](JoinHandle::abort) cancels it.
///
/// ```
/// let h = gust_executor::spawn(async { 6 * 7 });
/// assert_eq!(gust_executor::block_on(h).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    /// `None` after the output was taken.
    task: Option<async_task::FallibleTask<Output<T>, TaskMeta>>,
    /// The task's metadata (`FallibleTask` does not expose it); valid while
    /// `task` is `Some`, which keeps the allocation alive.
    meta: *const TaskMeta,
    /// The task's id, kept for after the output was taken.
    id: u64,
}

// SAFETY: the fields are a `FallibleTask` (Send for `T: Send`) and a pointer
// to `TaskMeta`, which is `Sync`.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&self` methods only read the task's atomic state and `TaskMeta`'s
// atomics; the output is only reached through `&mut self` (poll).
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    pub(crate) fn new(task: async_task::Task<Output<T>, TaskMeta>) -> Self {
        let meta: &TaskMeta = task.metadata();
        let id = meta.trace.origin.id();
        let meta: *const TaskMeta = meta;
        Self {
            task: Some(task.fallible()),
            meta,
            id,
        }
    }

    /// The task's id: the one its entry in [`runtime::dump`] shows
    /// ([`TaskInfo::id`]), as tokio's `JoinHandle::id`, to find a task
    /// there. Ids are unique within the task's runtime and never reused
    /// there (two runtimes' tasks may share one); a
    /// [`spawn_blocking`](crate::spawn_blocking) job is not a task, and
    /// its handle's id is 0, as is that of a task spawned onto a runtime
    /// that has shut down.
    ///
    /// [`runtime::dump`]: crate::runtime::dump
    /// [`TaskInfo::id`]: crate::runtime::TaskInfo::id
    ///
    /// ```
    /// let h = gust_executor::spawn(std::future::pending::<()>());
    /// let dump = gust_executor::runtime::dump();
    /// assert!(dump.tasks().iter().any(|t| t.id() == h.id()));
    /// h.abort();
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Cancels the task: its future is dropped at its next scheduling point
    /// (soon, if it is waiting; after its current poll, if it is running),
    /// and awaiting this handle yields a [`JoinError`] for which
    /// [`is_aborted`](JoinError::is_aborted) is true, or
    /// [`is_panic`](JoinError::is_panic) if dropping the future panicked
    /// (as tokio's; the process goes on). A task that had already finished
    /// keeps its output. A `spawn_blocking` closure that has started runs
    /// to its end.
    ///
    /// ```
    /// let h = gust_executor::spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(gust_executor::block_on(h).unwrap_err().is_aborted());
    /// ```
    pub fn abort(&self) {
        if self.task.is_none() {
            return;
        }
        // SAFETY: `task` is `Some`, so the allocation holding the metadata is
        // alive (see the field).
        let meta = unsafe { &*self.meta };
        if meta.request_abort() {
            // Its waker is in the registry while its future is alive.
            if let Some(waker) = meta.live_waker() {
                waker.wake();
            }
        }
    }

    /// Whether the output was taken (the handle was awaited to its end).
    pub(crate) fn is_consumed(&self) -> bool {
        self.task.is_none()
    }

    /// The address of the task's runtime (its `Shared`), to tell whether
    /// two tasks share one; 0 for a `spawn_blocking` job and once the
    /// output was taken.
    pub(crate) fn runtime_addr(&self) -> usize {
        if self.task.is_none() {
            return 0;
        }
        // SAFETY: `task` is `Some`, so the allocation holding the metadata is
        // alive (see the field).
        unsafe { &*self.meta }.shared.addr()
    }

    /// A handle that aborts the task from elsewhere (tokio's
    /// `abort_handle`): it can be cloned and sent, and works after this
    /// handle is awaited or dropped. It keeps the task's memory (not its
    /// future) until it drops.
    ///
    /// ```
    /// let h = gust_executor::spawn(std::future::pending::<()>());
    /// let abort = h.abort_handle();
    /// std::thread::spawn(move || abort.abort());
    /// assert!(gust_executor::block_on(h).unwrap_err().is_aborted());
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        let live = self.task.as_ref().and_then(|_| {
            // SAFETY: `task` is `Some`, so the allocation holding the
            // metadata is alive (see the field).
            let meta = unsafe { &*self.meta };
            Some((meta.live_waker()?, self.meta))
        });
        AbortHandle::new(live, self.id)
    }

    /// Whether the task has finished (completed, panicked, or aborted).
    ///
    /// ```
    /// let h = gust_executor::spawn(async {});
    /// while !h.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let Some(task) = this.task.as_mut() else {
            panic!("`JoinHandle` polled after completion");
        };
        // async-task keeps the waker for this join: the join's own.
        let out = match gust_trace::owning(|| Pin::new(task).poll(cx)) {
            Poll::Pending => {
                // SAFETY: `task` is `Some`, so the allocation holding the
                // metadata is alive (see the field).
                let meta = unsafe { &*this.meta };
                let id = meta.trace.origin.id();
                // A blocking job (id 0) is not a task: the wait is not
                // durable ("other future"), whatever the job does. A task
                // of another runtime goes on with that runtime, whose
                // progress this one's detector does not see: not durable
                // either (and, as any wait that is not, not hidden by a
                // durable one that a foreign combinator's next part
                // records in this poll).
                if id != 0 && gust_trace::is_traced() {
                    gust_trace::record(gust_trace::Wait::Join {
                        task: id,
                        other_runtime: !crate::runtime::is_current(meta.shared),
                    });
                }
                return Poll::Pending;
            }
            Poll::Ready(out) => out,
        };
        this.task = None;
        Poll::Ready(match out {
            Some(Ok(v)) => Ok(v),
            Some(Err(Some(caught))) => Err(JoinError::panic(caught.take(), this.id)),
            Some(Err(None)) | None => Err(JoinError::aborted(this.id)),
        })
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Why a task produced no output: it panicked, or it was aborted (or its
/// runtime shut down before it finished).
///
/// ```
/// let h = gust_executor::spawn(async { panic!("boom") });
/// let err = gust_executor::block_on(h).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "boom");
/// ```
pub struct JoinError {
    repr: Repr,
    /// The task's id ([`JoinError::id`]: 0 for one that has none).
    id: u64,
}

enum Repr {
    /// The payload sits in a `Mutex` only to make `JoinError` `Sync` (so it
    /// converts into `Box<dyn Error + Send + Sync>`); the message is copied
    /// out for `Display`.
    Panic(Mutex<Panic>, Option<String>),
    Aborted,
}

impl JoinError {
    fn panic(payload: Panic, id: u64) -> Self {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        Self {
            repr: Repr::Panic(Mutex::new(payload), msg),
            id,
        }
    }

    fn aborted(id: u64) -> Self {
        Self {
            repr: Repr::Aborted,
            id,
        }
    }

    /// The id of the task that failed ([`JoinHandle::id`]), as tokio's
    /// `JoinError::id`; 0 for one that has none: a
    /// [`spawn_blocking`](crate::spawn_blocking) job, or a task spawned
    /// onto a runtime that had shut down (aborted at once).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = gust_executor::spawn(async { panic!("oops") });
    /// let id = h.id();
    /// let err = gust_executor::block_on(h).unwrap_err();
    /// assert_eq!(err.id(), id);
    /// assert_eq!(err.to_string(), format!("task {id} panicked: oops"));
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = gust_executor::spawn(async { panic!("oops") });
    /// let err = gust_executor::block_on(h).unwrap_err();
    /// assert!(err.is_panic());
    /// assert!(!err.is_aborted());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(..))
    }

    /// Whether the task was aborted, or dropped unfinished by a runtime
    /// shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = gust_executor::spawn(std::future::pending::<()>());
    /// h.abort();
    /// let err = gust_executor::block_on(h).unwrap_err();
    /// assert!(err.is_aborted());
    /// assert!(!err.is_panic());
    /// ```
    pub fn is_aborted(&self) -> bool {
        matches!(self.repr, Repr::Aborted)
    }

    /// The panic payload, to resume the panic with
    /// [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the task did not panic ([`is_panic`](JoinError::is_panic) is false).
    ///
    /// # Examples
    ///
    /// ```
    /// let h = gust_executor::spawn(async { std::panic::panic_any(7_u32) });
    /// let err = gust_executor::block_on(h).unwrap_err();
    /// let payload = err.into_panic();
    /// assert_eq!(payload.downcast_ref::<u32>(), Some(&7));
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.repr {
            Repr::Panic(p, _) => p.into_inner().unwrap_or_else(|e| e.into_inner()),
            Repr::Aborted => panic!("`JoinError::into_panic` on an aborted task"),
        }
    }
}

/// `Panic(7, "boom")`, `Panic(7, ..)` (a payload that is not a string),
/// `Aborted(7)`: the task's id, and the message.
impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Panic(_, Some(msg)) => f.debug_tuple("Panic").field(&self.id).field(msg).finish(),
            Repr::Panic(_, None) => write!(f, "Panic({}, ..)", self.id),
            Repr::Aborted => f.debug_tuple("Aborted").field(&self.id).finish(),
        }
    }
}

/// `task 7 panicked: boom`, `task 7 panicked` (a payload that is not a
/// string), `task 7 was aborted`; a `spawn_blocking` job (id 0) is `task`.
impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task")?;
        if self.id != 0 {
            write!(f, " {}", self.id)?;
        }
        match &self.repr {
            Repr::Panic(_, Some(msg)) => write!(f, " panicked: {msg}"),
            Repr::Panic(_, None) => f.write_str(" panicked"),
            Repr::Aborted => f.write_str(" was aborted"),
        }
    }
}

impl std::error::Error for JoinError {}

/// For `?` in a function returning `io::Result` (as tokio's): an error of
/// kind `Other` carrying the `JoinError`, whose text it shows.
///
/// ```
/// fn run() -> std::io::Result<u32> {
///     let h = gust_executor::spawn(async { panic!("boom") });
///     Ok(gust_executor::block_on(h)?)
/// }
/// let e = run().unwrap_err();
/// assert!(e.to_string().ends_with("panicked: boom"), "{e}");
/// ```
impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> Self {
        std::io::Error::other(e)
    }
}
