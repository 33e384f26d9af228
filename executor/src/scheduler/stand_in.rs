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
//! difference is how many can run tasks. The rules keep it at least 1:
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
//! hot path for a rare case. A stand-in owns a queue of its own and steals,
//! as an idle worker does, and costs nothing until every runner blocks.
//!
//! # Limits
//!
//! A stand-in finds new work by looking (it is not on the idle list that
//! wakers notify): it looks again after 50 us, doubling up to 10 ms while
//! it finds nothing, so a task woken while it naps waits up to that long.

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

thread_local! {
    /// The runtime whose stand-in this thread is (`leave_for_blocking`
    /// counts a stand-in that blocks, rule #1).
    static STAND_IN_OF: RefCell<Option<Weak<Shared>>> = const { RefCell::new(None) };
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
    /// Threads started, joined by the runtime's shutdown.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl StandIns {
    pub(crate) fn new(workers: usize) -> Self {
        Self {
            count: Count::new(workers),
            threads: Mutex::new(Vec::new()),
        }
    }

    /// Rule #1: a runner of `shared` blocks. Starts a stand-in if it was
    /// the last that could run tasks.
    pub(crate) fn block(shared: &Arc<Shared>) {
        let this = &shared.stand_ins;
        if this.count.block(!shared.is_shutdown()) {
            let weak = Arc::downgrade(shared);
            match thread::Builder::new()
                .name("gust-stand-in".into())
                .spawn(move || run(weak))
            {
                Ok(t) => {
                    let mut threads = this.threads.lock().unwrap_or_else(|e| e.into_inner());
                    threads.retain(|t| !t.is_finished());
                    threads.push(t);
                }
                // No thread: the runtime stays as it was before stand-ins.
                Err(_) => this.count.unreserve(),
            }
        }
    }

    /// Rule #2: the blocked runner's wait ended.
    pub(crate) fn unblock(&self) {
        self.count.unblock();
    }

    /// The shutdown's step 3 for stand-ins: their threads, to join.
    pub(crate) fn take_threads(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The runtime this thread stands in for, if it is a stand-in.
pub(crate) fn stand_in_of() -> Option<Arc<Shared>> {
    STAND_IN_OF
        .try_with(|s| s.borrow().as_ref().and_then(Weak::upgrade))
        .ok()
        .flatten()
}

/// A stand-in's body: runs the runtime's tasks until a runner is free
/// again (rule #3) or the runtime shuts down.
fn run(shared: Weak<Shared>) {
    let Some(shared) = shared.upgrade() else {
        return;
    };
    STAND_IN_OF.with(|s| *s.borrow_mut() = Some(Arc::downgrade(&shared)));
    let _enter = crate::runtime::enter(shared.clone());
    let (local, _) = queue::new::<Runnable>();
    let mut nap = NAP_MIN;
    while !shared.is_shutdown() {
        if shared.stand_ins.count.try_leave() {
            break;
        }
        let task = local.pop().or_else(|| shared.inject.pop()).or_else(|| {
            shared
                .steal
                .iter()
                .find_map(|victim| victim.steal_into_min(&local, 1))
        });
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
    // What this stand-in took and did not run goes back where the workers
    // look (or, after the shutdown's drain, is dropped by `schedule`'s
    // rule: `push_remote` drains again).
    while let Some(task) = local.pop() {
        shared.push_remote(task);
    }
    STAND_IN_OF.with(|s| *s.borrow_mut() = None);
}
