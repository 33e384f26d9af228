//! Stand-ins: threads that run a runtime's tasks while every thread that
//! could is blocked in a `_blocking` wait or a `block_on` (Go hands a
//! blocked thread's P to another M; tokio's `block_in_place` moves the
//! worker's core to a new thread).
//!
//! # Why
//!
//! A task that blocks its thread in a gust wait (`recv_blocking`,
//! `lock_blocking`, `block_on`, ...) leaves its worker first
//! (`worker::leave_for_blocking`): its queued tasks become stealable and
//! what it spawns or wakes goes to the injection queue, where the other
//! workers find it. On a runtime of one worker, or when every worker is so
//! blocked, nobody is left to find it: a task that spawned a sender and
//! then called `recv_blocking` waited for good. So when the last thread
//! that could run tasks blocks, a stand-in starts: a thread that takes
//! tasks from the injection queue and the workers' queues, runs them, and
//! keeps the runtime's timers and I/O going, until a worker comes back.
//!
//! # The count (one word)
//!
//! `runners` (high 32 bits): the workers plus the live stand-ins;
//! `blocked` (low 32 bits): those of them inside a blocking wait. Their
//! difference is how many can run tasks. The rules keep it at least 1
//! (but while the runtime shuts down, or if no thread can be started):
//!
//! 1. A thread that blocks adds 1 to `blocked`; if that makes it equal to
//!    `runners`, the same compare-exchange adds 1 to `runners` and the
//!    thread starts a stand-in.
//! 2. A thread whose wait ends takes 1 from `blocked`.
//! 3. A stand-in leaves only by a compare-exchange that takes 1 from
//!    `runners` while `runners - blocked >= 2` (someone else can run
//!    tasks); so a blocking thread and a leaving stand-in cannot both
//!    count on the other.
//!
//! A stand-in that blocks in a wait of its own counts as in rule #1, so
//! nested blocking starts another.
//!
//! # Rejected
//!
//! Handing the blocked worker's queue and index to a new thread (tokio's
//! way): the worker's local queue is owned by its thread's stack frame and
//! read on every task without a check; moving it would put a check on the
//! hot path for a rare case. A stand-in steals as an idle worker does (into
//! a queue of its own that it empties at once, below), and costs nothing
//! until every runner blocks.
//!
//! # What a stand-in does
//!
//! What a worker does, plainly: it takes a task from the injection queue
//! or steals from a worker's queue (the workers' queues first every 61st
//! look, so that tasks a blocked worker left are not starved by tasks
//! waking each other through the injection queue), and runs it; what it
//! stole beyond that one goes to the injection queue at once (kept in a
//! queue of its own, it would be out of reach while the task blocks the
//! stand-in: found by a review). Every 61st look, and whenever it finds
//! nothing, it fires due timers and takes ready I/O, as a busy worker's
//! turn. The runtime is not idle while a stand-in is alive
//! (`Shared::is_idle`: a virtual clock does not jump, the deadlock
//! detector does not judge).
//!
//! # Limits
//!
//! A stand-in finds new work by looking (it is not on the idle list that
//! wakers notify): it looks again after 50 us, doubling up to 10 ms while
//! it finds nothing, so a task woken while it naps waits up to that long,
//! and while a worker stays blocked (on an event from outside) the
//! stand-in wakes up to 100 times a second. A thread that blocks is
//! counted when it is about to park, so a `block_on` whose future is
//! ready at once starts none.

use super::worker::GLOBAL_QUEUE_INTERVAL;
use super::{Shared, queue};
use crate::loom::{AtomicU64, Ordering};
use crate::task::Runnable;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// One runner in the count's high half.
const RUNNER: u64 = 1 << 32;
/// A stand-in's first nap when it finds nothing to run.
const NAP_MIN: Duration = Duration::from_micros(50);
/// Its longest nap.
const NAP_MAX: Duration = Duration::from_millis(10);

/// What a stand-in thread knows of itself.
struct Me {
    /// The runtime it stands in for.
    runtime: Weak<Shared>,
    /// Counted as blocked now (rule #1; once, however nested its waits).
    blocked: bool,
}

thread_local! {
    /// Set on a stand-in's thread (`leave_for_blocking` counts a stand-in
    /// that blocks, rule #1).
    static STAND_IN_OF: RefCell<Option<Me>> = const { RefCell::new(None) };
}

/// `runners << 32 | blocked` (module docs): one word, so that each rule
/// reads and changes both halves at once.
pub(crate) struct Count(AtomicU64);

fn runners(count: u64) -> u64 {
    count >> 32
}

fn blocked(count: u64) -> u64 {
    count & (RUNNER - 1)
}

impl Count {
    pub(crate) fn new(workers: usize) -> Self {
        Self(AtomicU64::new(workers as u64 * RUNNER))
    }

    /// Rule #1: a runner blocks; `true` if it was the last that could run
    /// tasks and `may_start`, and a stand-in was counted in: the caller
    /// starts it (or [`unreserve`](Self::unreserve)s).
    pub(crate) fn block(&self, may_start: bool) -> bool {
        // AcqRel on every change: the word is the whole protocol; nothing
        // else is published through it, so the orderings only keep each
        // read-modify-write on the latest value (which any ordering
        // does); Acquire/Release costs nothing more off the hot path.
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let mut new = cur + 1;
            let start = may_start && blocked(new) >= runners(new);
            if start {
                new += RUNNER;
            }
            match self
                .0
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return start,
                Err(now) => cur = now,
            }
        }
    }

    /// A stand-in counted in by [`block`](Self::block) could not start.
    pub(crate) fn unreserve(&self) {
        self.0.fetch_sub(RUNNER, Ordering::AcqRel);
    }

    /// Rule #2: the blocked runner's wait ended.
    pub(crate) fn unblock(&self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }

    /// Rule #3: whether the calling stand-in may leave (and is counted out).
    pub(crate) fn try_leave(&self) -> bool {
        let mut cur = self.0.load(Ordering::Acquire);
        while runners(cur) >= blocked(cur) + 2 {
            match self.0.compare_exchange_weak(
                cur,
                cur - RUNNER,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(now) => cur = now,
            }
        }
        false
    }

    /// The runners counted now.
    pub(crate) fn runners_now(&self) -> u64 {
        runners(self.0.load(Ordering::Acquire))
    }

    /// `(runners, blocked)` (tests).
    #[cfg(loom)]
    pub(crate) fn get(&self) -> (u64, u64) {
        let c = self.0.load(Ordering::Acquire);
        (runners(c), blocked(c))
    }
}

/// The count and the stand-in threads of one runtime.
pub(crate) struct StandIns {
    count: Count,
    /// Threads started, joined by the runtime's shutdown; `closed` once the
    /// shutdown took them (no stand-in starts after: it would not be
    /// joined).
    threads: Mutex<Threads>,
}

#[derive(Default)]
struct Threads {
    started: Vec<JoinHandle<()>>,
    closed: bool,
}

impl StandIns {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            count: Count::new(workers),
            threads: Mutex::new(Threads::default()),
        }
    }

    /// Rule #1: a runner of `shared` blocks. Starts a stand-in if it was
    /// the last that could run tasks.
    pub(crate) fn block(shared: &Arc<Shared>) {
        let this = &shared.stand_ins;
        if !this.count.block(!shared.is_shutdown()) {
            return;
        }
        // Under the lock that the shutdown's `take_threads` takes: a
        // stand-in starts before it (and is joined) or not at all.
        let mut threads = this.threads.lock().unwrap_or_else(|e| e.into_inner());
        if threads.closed {
            this.count.unreserve();
            return;
        }
        let weak = Arc::downgrade(shared);
        match thread::Builder::new()
            .name("gust-stand-in".into())
            .spawn(move || run(weak))
        {
            Ok(t) => {
                threads.started.retain(|t| !t.is_finished());
                threads.started.push(t);
            }
            // No thread: the runtime stays as it was before stand-ins.
            Err(_) => this.count.unreserve(),
        }
    }

    /// Rule #2: the blocked runner's wait ended.
    pub(crate) fn unblock(&self) {
        self.count.unblock();
    }

    /// Whether a stand-in is alive (running a task, looking for one, or
    /// about to leave): the runtime is not idle then (`Shared::is_idle`;
    /// a virtual clock must not jump while a stand-in runs a task).
    pub(crate) fn any_alive(&self, workers: usize) -> bool {
        self.count.runners_now() > workers as u64
    }

    /// The shutdown's step 3 for stand-ins: their threads, to join; none
    /// starts after.
    pub(crate) fn take_threads(&self) -> Vec<JoinHandle<()>> {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        threads.closed = true;
        std::mem::take(&mut threads.started)
    }
}

/// The runtime this thread stands in for, if it is a stand-in not already
/// counted as blocked, which it now is until [`StandInBlocked`] drops (a
/// `_blocking` wait inside a `block_on` on a stand-in counts once).
pub(crate) fn block_stand_in() -> Option<StandInBlocked> {
    STAND_IN_OF
        .try_with(|s| {
            let mut s = s.borrow_mut();
            let me = s.as_mut()?;
            if me.blocked {
                return None;
            }
            let shared = me.runtime.upgrade()?;
            me.blocked = true;
            Some(shared)
        })
        .ok()
        .flatten()
        .map(|shared| {
            StandIns::block(&shared);
            StandInBlocked(shared)
        })
}

/// A stand-in counted as blocked ([`block_stand_in`]) until this drops.
pub(crate) struct StandInBlocked(Arc<Shared>);

impl Drop for StandInBlocked {
    fn drop(&mut self) {
        self.0.stand_ins.unblock();
        let _ = STAND_IN_OF.try_with(|s| {
            if let Some(me) = s.borrow_mut().as_mut() {
                me.blocked = false;
            }
        });
    }
}

/// Whether this thread is a stand-in of `shared`.
pub(crate) fn is_stand_in_of(shared: &Arc<Shared>) -> bool {
    STAND_IN_OF
        .try_with(|s| {
            s.borrow()
                .as_ref()
                .is_some_and(|me| std::ptr::eq(me.runtime.as_ptr(), Arc::as_ptr(shared)))
        })
        .unwrap_or(false)
}

/// A stand-in's body: runs the runtime's tasks until a runner is free
/// again (rule #3) or the runtime shuts down.
fn run(shared: Weak<Shared>) {
    let Some(shared) = shared.upgrade() else {
        return;
    };
    STAND_IN_OF.with(|s| {
        *s.borrow_mut() = Some(Me {
            runtime: Arc::downgrade(&shared),
            blocked: false,
        })
    });
    let _enter = crate::runtime::enter(shared.clone());
    // Where steals land. Emptied into the injection queue before each task
    // runs: tasks kept here would be out of everyone's reach while the
    // task blocks this stand-in (found by a review).
    let (local, _) = queue::new::<Runnable>();
    let mut nap = NAP_MIN;
    let mut tick: u32 = 0;
    while !shared.is_shutdown() {
        if shared.stand_ins.count.try_leave() {
            break;
        }
        tick = tick.wrapping_add(1);
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            // As a busy worker's turn: due timers and ready I/O, which a
            // stand-in that always finds a task would never reach below.
            shared.driver.maintain(true);
        }
        let steal = || {
            shared
                .steal
                .iter()
                .find_map(|victim| victim.steal_into_min(&local, 1))
        };
        // Now and then the workers' queues first: tasks the blocked
        // workers left there are not starved by tasks that keep waking
        // each other through the injection queue.
        let task = if tick % GLOBAL_QUEUE_INTERVAL == 1 {
            steal().or_else(|| shared.inject.pop())
        } else {
            shared.inject.pop().or_else(steal)
        };
        while let Some(extra) = local.pop() {
            shared.push_remote(extra);
        }
        match task {
            Some(task) => {
                nap = NAP_MIN;
                // As a worker's `run_task`: the future catches its own
                // panics; this guards a panicking `Drop`.
                let _ = catch_unwind(AssertUnwindSafe(|| crate::coop::budgeted(|| task.run())));
            }
            None => {
                if shared.driver.maintain(true) {
                    continue;
                }
                thread::park_timeout(nap);
                nap = (nap * 2).min(NAP_MAX);
            }
        }
    }
    STAND_IN_OF.with(|s| *s.borrow_mut() = None);
}
