//! `block_on`: drive a future on the calling thread, parking it between
//! polls.
//!
//! The thread's waker is an [`Unparker`]: a `NOTIFIED | DONE` state byte and
//! the thread to unpark. Beyond that, a `block_on` is seen from its runtime
//! (the current one; the global one outside any):
//!
//! - **virtual time**: the runtime's clock must not jump while the future
//!   can run, so on a paused runtime it counts in the driver's `block_ons`
//!   while polled or woken (a wake counts itself back in; `finish` takes
//!   back both, see there). And the tasks go first: a `block_on` woken
//!   after a jump of the clock polls once the runtime's workers are idle
//!   (for at most [`TASKS_FIRST_LIMIT`]), so when the jump fires timers of
//!   both, which sees the other's effects does not depend on which thread
//!   a loaded machine runs first;
//! - **seeing inside**: it is listed in the runtime's [`BlockOns`] for the
//!   dump and the deadlock detector, with a [`WaitSlot`] that its poll
//!   records into, as a task's does (`trace/mod.rs`). Under
//!   `OnDeadlock::Panic` the detector leaves its report in the entry and
//!   wakes the thread, which panics with it.
//!
//! The global runtime's list is a static: a `block_on` outside any runtime
//! (`#[gust::main]`'s) is listed without starting the global runtime. One
//! that goes to sleep on a durable wait before anything started it starts
//! it, so that its detector watches: Go's first deadlock, a `main` waiting
//! on a channel whose worker it forgot to start, spawns nothing.

use crate::driver::Driver;
use crate::scheduler::Shared;
use crate::scheduler::worker;
use crate::trace;
use gust_trace::WaitSlot;
use slab::Slab;
use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, OnceLock};
use std::task::{Poll, Wake, Waker};
use std::thread::{self, Thread};

/// `Unparker::state`: woken and not yet polled.
const NOTIFIED: u8 = 1;
/// `Unparker::state`: `block_on` returned; later wakes count nothing.
const DONE: u8 = 2;

/// Virtual time: how long (real time) a woken `block_on` waits for the
/// runtime's tasks to go idle before it polls all the same: tasks that
/// never go idle (one spinning on `yield_now` until the `block_on` acts)
/// only slow it down.
const TASKS_FIRST_LIMIT: std::time::Duration = std::time::Duration::from_millis(20);

/// The `block_on` calls in progress on one runtime.
#[derive(Default)]
pub(crate) struct BlockOns {
    list: Mutex<Slab<Arc<Unparker>>>,
}

/// The global runtime's `block_on` list (module docs).
pub(crate) static GLOBAL_BLOCK_ONS: LazyLock<Arc<BlockOns>> = LazyLock::new(Default::default);

impl BlockOns {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Slab<Arc<Unparker>>> {
        // Nothing panics under it; recover anyway.
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The waker of a `block_on` thread, and what dumps see of the call.
pub(crate) struct Unparker {
    thread: Thread,
    state: AtomicU8,
    /// The runtime whose virtual clock this `block_on` holds still.
    virtual_time: Option<Arc<Driver>>,
    /// Dumps: an id (a process-wide sequence), where it was called, what
    /// it waits on, whether it is in a poll, and when its wait began.
    pub(crate) id: u64,
    pub(crate) called_at: &'static Location<'static>,
    pub(crate) wait: WaitSlot,
    polling: AtomicBool,
    /// Polls so far: the detector's evidence of progress.
    pub(crate) polls: AtomicU64,
    since: AtomicU64,
    /// The deadlock report, under `OnDeadlock::Panic`.
    pub(crate) deadlock: OnceLock<String>,
    /// Counts the wakers that something other than a gust wait holds, in
    /// its high bits (gust-trace's "Who holds the waker").
    pub(crate) foreign: AtomicU64,
}

impl Unparker {
    /// Whether it is in a poll or woken (so not asleep).
    pub(crate) fn is_runnable(&self) -> bool {
        // SeqCst, and `state` first: pairs with the stores in `block_on`'s
        // wait loop, which sets `polling` before it takes a notification.
        let notified = self.state.load(Ordering::SeqCst) & NOTIFIED != 0;
        notified || self.polling.load(Ordering::SeqCst)
    }

    /// Whether it waits durably ([`trace::waits_durably`]).
    fn waits_durably(&self) -> bool {
        trace::waits_durably(self.wait.get(), gust_trace::foreign_holders(&self.foreign))
    }

    /// How long the current wait has lasted as of `now`.
    pub(crate) fn waited(&self, now: u64) -> std::time::Duration {
        trace::waited_since(self.since.load(Ordering::Relaxed), now)
    }

    /// Wakes the thread with the deadlock report to panic with.
    pub(crate) fn report_deadlock(self: &Arc<Self>, report: &str) {
        let _ = self.deadlock.set(report.to_owned());
        self.wake_by_ref();
    }

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

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// See [`crate::block_on`]; `runtime` is [`Runtime::block_on`]'s, else the
/// current one (the global one outside any).
///
/// [`Runtime::block_on`]: crate::runtime::Runtime::block_on
#[track_caller]
pub(crate) fn block_on<F: Future>(runtime: Option<Arc<Shared>>, fut: F) -> F::Output {
    // On a worker's thread: it stops being a worker until we return (see
    // there), and the worker's runtime stays current unless another is
    // asked for.
    let mut left = worker::leave_for_blocking();
    let worker_runtime = left.runtime();
    let on_worker = worker_runtime.is_some();
    let _enter = runtime.or(worker_runtime).map(crate::runtime::enter);
    let called_at = Location::caller();
    let mut fut = pin!(fut);
    let explicit = crate::runtime::current_explicit();
    let virtual_time = explicit
        .as_ref()
        .filter(|s| s.driver.timers.clock().is_virtual() && !on_worker)
        .map(|s| s.driver.clone());
    let list = match &explicit {
        Some(s) => s.block_ons.clone(),
        None => GLOBAL_BLOCK_ONS.clone(),
    };
    let unparker = Arc::new(Unparker {
        thread: thread::current(),
        state: AtomicU8::new(0),
        virtual_time,
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        called_at,
        wait: WaitSlot::new(),
        polling: AtomicBool::new(true),
        polls: AtomicU64::new(0),
        since: AtomicU64::new(0),
        deadlock: OnceLock::new(),
        foreign: AtomicU64::new(0),
    });
    // A `block_on` in a blocking job of the runtime: while it runs, its
    // own count (polled or woken, not parked) stands for the job's, so the
    // clock may jump while the job sleeps on a gust wait (it would never
    // end if the job's count held the clock still). Counted here first,
    // then the job's count taken, so that one of the two always holds.
    let in_job = unparker
        .virtual_time
        .as_ref()
        .filter(|d| crate::blocking::runs_job_of(d));
    if let Some(d) = &unparker.virtual_time {
        d.block_ons.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(d) = in_job {
        d.blocking_jobs.fetch_sub(1, Ordering::SeqCst);
    }
    let key = list.lock().insert(unparker.clone());
    struct Finish<'a>(&'a Unparker, &'a BlockOns, usize, bool);
    impl Drop for Finish<'_> {
        fn drop(&mut self) {
            // Also on a panic in `poll`: leave the counts as we found them
            // (the job's back first).
            if let (true, Some(d)) = (self.3, &self.0.virtual_time) {
                d.blocking_jobs.fetch_add(1, Ordering::SeqCst);
            }
            self.0.finish();
            self.1.lock().try_remove(self.2);
        }
    }
    let _finish = Finish(&unparker, &list, key, in_job.is_some());
    let waker = Waker::from(unparker.clone());
    loop {
        unparker.wait.clear();
        let polled = trace::poll_traced(&unparker.wait, &waker, &unparker.foreign, |cx| {
            // No budgets: nothing else waits behind this poll on this
            // thread (a yield would only cost a trip through the park).
            gust_trace::unbudgeted(|| crate::coop::unconstrained(|| fut.as_mut().poll(cx)))
        });
        if let Poll::Ready(v) = polled {
            return v;
        }
        // Virtual time: the clock as this poll left it (see below).
        let polled_at = unparker
            .virtual_time
            .as_ref()
            .map(|d| d.timers.clock().now());
        unparker.since.store(trace::stamp(), Ordering::Relaxed);
        bump(&unparker.polls);
        // SeqCst: the detector reads it after the workers parked; a detector
        // that saw it set judges nothing.
        unparker.polling.store(false, Ordering::SeqCst);
        if let Some(d) = &unparker.virtual_time {
            // Idle until woken (a wake counts itself back in).
            d.block_ons.fetch_sub(1, Ordering::SeqCst);
            d.nudge();
        }
        // The deadlock detector may now find everything asleep.
        match &explicit {
            Some(s) => s.nudge_deadlock_watch(),
            None => {
                crate::runtime::nudge_global_deadlock_watch(unparker.waits_durably());
            }
        }
        loop {
            // `polling` before the notification is taken, so a detector that
            // finds the notification gone finds `polling` set
            // (`is_runnable` reads them in the other order).
            unparker.polling.store(true, Ordering::SeqCst);
            // Acquire: pairs with the Release in `wake_by_ref`, so what the
            // waker's caller did before waking is visible to the next poll.
            if unparker.state.fetch_and(!NOTIFIED, Ordering::SeqCst) & NOTIFIED != 0 {
                break;
            }
            unparker.polling.store(false, Ordering::SeqCst);
            // Left a worker, or a stand-in: counted as a blocked runner
            // now, which may start a stand-in (`scheduler/stand_in.rs`).
            left.block();
            thread::park();
        }
        if let Some(report) = unparker.deadlock.get() {
            panic!("{report}");
        }
        // Woken after a jump of the clock: the tasks it woke go first.
        // (Woken with no jump, by a task, it polls at once: a ping-pong
        // with a task pays nothing.)
        if let (Some(d), Some(s), Some(at)) = (&unparker.virtual_time, &explicit, polled_at) {
            if d.timers.clock().now() != at {
                let start = std::time::Instant::now();
                while !s.is_idle() && start.elapsed() < TASKS_FIRST_LIMIT {
                    thread::yield_now();
                }
            }
        }
    }
}

/// Adds one to a counter with a single writer.
fn bump(c: &AtomicU64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}
