//! The scheduler: where a woken task goes, and how workers find it.
//!
//! # Where tasks live
//!
//! Each worker owns
//! - a **LIFO slot** (Go's `runnext`): the task most recently spawned or woken
//!   by the task running on this worker. A message hand-off between two tasks
//!   thus runs the receiver next, on the same core, while its data is still
//!   in cache. The slot is not stealable. A worker runs at most
//!   [`worker::LIFO_STREAK_MAX`] tasks in a row from the slot, so that two
//!   tasks ping-ponging cannot starve the rest of its queue. A task woken
//!   by a task that finishes (its `JoinHandle`'s awaiter, or by the drop of
//!   its future) goes to the back of the local queue instead: a joiner of
//!   many tasks would otherwise be polled once per finished task, only to
//!   find the next one unfinished. On a runtime of one worker, a task that
//!   wakes or spawns more than one task in a poll (a broadcaster: a hub
//!   waking every subscriber, a sieve filter waking the sender it took a
//!   value from and the receiver it gave one to) gives none of them the
//!   slot: all go to the back in wake order, so each runs later with more
//!   work queued (measured: the prime sieve at 1 worker 761 -> 631 ms, the
//!   chat server at 10 clients 66-74k -> 94k lines a second). With several
//!   workers the slot keeps the latest of a task's first two wakees, as
//!   Go's: it keeps one here while the other is stolen, which the select
//!   rows at 2 workers measured to pay (+14-35% without it); a task that
//!   wakes or spawns a third in the same poll is a broadcaster there too,
//!   and the third and later go to the back, each waking a thief
//!   ([`worker::BROADCASTER`]; chat-10 at 2 workers 44-48k -> 56-66k round
//!   trips a second, chat-50 42-56k -> 53-71k; the select over 4 and the
//!   fan-out rows at 2 workers pay about 3-4%, still 0.3-0.7x the best
//!   peer);
//! - a **local run queue** (`queue.rs`): a fixed ring that it pushes and pops
//!   without locks and that idle workers steal half of. The task displaced
//!   from the LIFO slot goes to its tail; a full ring moves half of itself to
//!   the injection queue. A task that yields (`yield_now`) goes to the tail
//!   too, or, while the injection queue holds tasks, to the injection
//!   queue's tail (Go's `Gosched` uses the global queue): behind every ready
//!   task, the overflow included. (Without it, a task spawning in batches
//!   and yielding between them came back before the older half of each
//!   batch, which waited in the injection queue: in the 100k-timers row, 71%
//!   of the tasks were first polled after the spawner had spawned them all,
//!   and that row at 1 worker went from 29-31 ms to 25-28 ms, beside
//!   smol's 23-27.)
//!
//! The runtime has one **injection queue** (`inject.rs`, a mutex-protected
//! deque taken in batches) for tasks spawned or woken from threads that are not its workers
//! (`block_on`, timers, other runtimes, plain threads), and for overflow. A
//! worker looks at it first every [`worker::GLOBAL_QUEUE_INTERVAL`] ticks,
//! so a busy local queue cannot starve it, and whenever its local work runs
//! out.
//!
//! # Worker loop
//!
//! `tick` → next task (a driver turn first after a task yielded, so that
//! what its sockets' events wake queues up before it comes back; injection
//! queue every N ticks, LIFO slot, local queue, injection queue) → else hand the registry entries of tasks that ended
//! here to the workers that spawned them (`registry.rs`) and **search**
//! (steal half of a random victim's queue, or a batch from the injection
//! queue, for [`worker::SPIN_ROUNDS`] rounds; for the first
//! [`worker::PATIENT_PASSES`] passes after its last steal from a short
//! queue, only from a victim holding at least [`worker::BACKLOG`] tasks) →
//! else **park** until notified (in the OS poller, if no other worker waits
//! there: `driver/mod.rs`). See `idle.rs` for the two-sided protocol
//! between a task submitter and a parking worker, and why no wakeup is lost.
//!
//! # Why searching workers
//!
//! Waking a parked thread costs a futex round trip (~63 us here), hundreds
//! of times a task poll. So a submitter only wakes a worker when no worker is
//! searching and one is parked; a searching worker that finds work while it
//! was the last searcher wakes one more (tokio's `idle.rs` scheme, Go's
//! `spinning` Ms). A burst of spawns thus wakes one worker, not one per spawn,
//! and workers spin a little before parking, so short gaps do not cost a
//! wake. Work a worker gets from its own turn of the OS poller is no
//! search (tokio's rule): it wakes another worker only when more than the
//! one task it runs is queued, not for every event of a lone socket
//! (`Worker::wait_in_poller`, `Worker::end_search_for_io`). An idle
//! runtime has every worker parked and burns no CPU.
//!
//! # Rejected designs
//!
//! - One global queue (async-executor's core, Go before 1.1): every spawn and
//!   wake contends on one cache line; the second worker slows everyone down.
//! - Waking a worker per spawn: a futex per task.
//! - A driver thread for I/O and timers (async-io's, and gust's before):
//!   every readiness event and every timer then crosses threads (a futex
//!   wake, ~63 us here) before its task runs. The worker that parks first
//!   waits in the OS poller instead (`driver/mod.rs`); an idle runtime still
//!   burns no CPU, since that wait has the next timer deadline as its only
//!   timeout.

pub(crate) mod idle;
pub(crate) mod inject;
pub(crate) mod queue;
pub(crate) mod stand_in;
pub(crate) mod worker;

use crate::block_on::BlockOns;
use crate::driver::Driver;
use crate::registry::Registry;
use crate::task::Runnable;
use crate::trace::deadlock::{Detector, OnDeadlock};
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

/// The state of one runtime shared by its workers, its tasks' schedule
/// functions and its handles.
///
/// Layout: the two fields that are written all the time (`inject`, by
/// overflowing and batch-taking workers; `idle`, by searching and parking
/// workers) sit on their own cache lines, which also aligns the struct so
/// that the `Arc`'s reference counts (bumped by every spawn and every task
/// freed, on any worker) are alone on theirs. The other fields are read on
/// every schedule or loop turn and hardly ever written.
pub(crate) struct Shared {
    /// Tasks from outside the workers, and overflow (any thread).
    pub(crate) inject: CachePadded<inject::Inject>,
    /// Thief handles of the workers' local queues (index = worker).
    pub(crate) steal: Box<[queue::Steal<Runnable>]>,
    /// Searching/unparked counters and the sleeper list.
    pub(crate) idle: CachePadded<idle::Idle>,
    /// Worker threads, set by each worker when it starts; used to unpark.
    pub(crate) threads: Box<[OnceLock<Thread>]>,
    /// Wakers of the live tasks (shutdown, `num_tasks`); shard `i` is
    /// worker `i`'s.
    pub(crate) registry: Registry,
    /// The OS poller and the timers of this runtime (`driver/mod.rs`).
    pub(crate) driver: Arc<Driver>,
    /// Counters for `Runtime::metrics` (`metrics.rs`).
    pub(crate) stats: crate::metrics::Stats,
    /// `UnhandledPanic::Exit`: a panic nobody joins ends the process.
    pub(crate) exit_on_unhandled_panic: bool,
    /// The `block_on` calls in progress on this runtime (`block_on.rs`).
    pub(crate) block_ons: Arc<BlockOns>,
    /// The deadlock detector's choice and memory (`trace/deadlock.rs`).
    pub(crate) detector: Detector,
    /// Who can run tasks while some block, and the stand-ins started when
    /// none can (`stand_in.rs`).
    pub(crate) stand_ins: stand_in::StandIns,
    /// Set once by the runtime's shutdown (step 1): workers leave their loop.
    shutdown: AtomicBool,
    /// Set once by the runtime's shutdown (step 5), after every registered
    /// task was woken: from then on a scheduled task is dropped at once
    /// instead of queued. Before, tasks woken during the shutdown are queued
    /// and dropped by the shutting-down thread, not inside some other
    /// thread's `wake` call (which may hold a lock the future's `Drop`
    /// needs).
    drained: AtomicBool,
}

impl Shared {
    /// Shared state for `n` workers; also returns the owner handles of their
    /// local queues.
    pub(crate) fn new(
        n: usize,
        clock: crate::time::clock::Clock,
    ) -> std::io::Result<(Self, Vec<queue::Local<Runnable>>)> {
        let (locals, steal): (Vec<_>, Vec<_>) = (0..n).map(|_| queue::new()).unzip();
        let shared = Self {
            inject: CachePadded::new(inject::Inject::new()),
            steal: steal.into(),
            idle: CachePadded::new(idle::Idle::new(n)),
            threads: (0..n).map(|_| OnceLock::new()).collect(),
            registry: Registry::new(n),
            driver: Arc::new(Driver::new(n, clock)?),
            exit_on_unhandled_panic: false,
            block_ons: Arc::default(),
            detector: Detector::new(OnDeadlock::Off),
            stand_ins: stand_in::StandIns::new(n),
            stats: crate::metrics::Stats::new(n),
            shutdown: AtomicBool::new(false),
            drained: AtomicBool::new(false),
        };
        Ok((shared, locals))
    }

    /// Number of workers.
    pub(crate) fn num_workers(&self) -> usize {
        self.steal.len()
    }

    /// Whether the runtime has shut down.
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// The schedule function of every task of a runtime (`task::spawn_on`):
    /// called when the task is spawned or woken, on whatever thread does it,
    /// with the runtime its metadata points to. `yielded` is true when the
    /// task woke itself while running (`yield_now`).
    ///
    /// The function captures nothing, so async-task wakes a task with one
    /// state update that also hands the waker's reference to the
    /// `Runnable`; a schedule function holding the runtime's `Arc` made
    /// every wake a `wake_by_ref` plus a reference drop, and every
    /// schedule a reference taken and dropped around the call (three more
    /// atomic read-modify-writes on the task's header per wake).
    ///
    /// # Safety
    ///
    /// `shared` is the runtime pointer of `runnable`'s metadata, which
    /// holds a strong count of its `Arc` as long as the task's allocation
    /// lives (`TaskMeta`), and `runnable` keeps that alive until it is
    /// queued.
    pub(crate) unsafe fn schedule_task(shared: *const Shared, runnable: Runnable, yielded: bool) {
        // On one of our workers, no `drained` check: the worker drops its own
        // queues when it leaves its loop (`run_worker`), so a task queued
        // there is dropped on that thread, even after step 5. (That worker
        // holds the runtime's `Arc`, so it outlives the call.)
        // SAFETY: the caller's contract; `runnable` is still ours.
        let Some(runnable) = worker::try_schedule_local(unsafe { &*shared }, runnable, yielded)
        else {
            return;
        };
        // Anywhere else, once the task is queued a worker may run it to its
        // end and free it, and with it the metadata's count, the last one
        // if the runtime is being dropped meanwhile: hold a count of our
        // own for the rest of the call (as async-task's guard did).
        // SAFETY: the metadata's count keeps the `Arc` alive while we take
        // one more; `keep` gives it back when it drops.
        let keep = unsafe {
            Arc::increment_strong_count(shared);
            Arc::from_raw(shared)
        };
        keep.schedule_remote(runnable);
    }

    /// Queues a task from a thread that is none of this runtime's workers.
    fn schedule_remote(&self, runnable: Runnable) {
        if self.drained.load(Ordering::Acquire) {
            // Dropping the runnable drops the future.
            drop(runnable);
            return;
        }
        self.push_remote(runnable);
    }

    /// Pushes to the injection queue and wakes a worker if needed.
    pub(crate) fn push_remote(&self, runnable: Runnable) {
        self.inject.push(runnable);
        self.notify_one();
        // SeqCst: pairs with the store in `finish_shutdown`; either its drain
        // sees our push, or we see the flag and drain ourselves.
        if self.drained.load(Ordering::SeqCst) {
            self.drain_inject();
        }
    }

    /// Wakes a parked worker if nobody awake will find new work.
    pub(crate) fn notify_one(&self) {
        if let Some(index) = self.idle.notify_one() {
            self.unpark(index);
        }
    }

    fn unpark(&self, index: usize) {
        // A worker waiting in the OS poller is woken through it
        // (`driver/mod.rs`); any other, on its thread.
        if self.driver.wake_poller(index) {
            return;
        }
        if let Some(thread) = self.threads[index].get() {
            thread.unpark();
        }
    }

    /// Whether every worker is parked, no stand-in is alive and no queue
    /// holds a task (racy).
    pub(crate) fn is_idle(&self) -> bool {
        self.idle.num_unparked() == 0
            && !self.has_work()
            && !self.stand_ins.any_alive(self.num_workers())
    }

    /// The runtime may have gone idle (a `block_on` is going to sleep, the
    /// last worker parks): the worker in the poller starts watching for a
    /// deadlock (`trace/deadlock.rs`).
    pub(crate) fn nudge_deadlock_watch(&self) {
        if self.detector.on_deadlock != OnDeadlock::Off && self.is_idle() {
            self.driver.wake_any_poller();
        }
    }

    /// Whether any queue holds a task (racy; the parking re-check).
    pub(crate) fn has_work(&self) -> bool {
        !self.inject.is_empty() || self.steal.iter().any(|s| !s.is_empty())
    }

    /// Shutdown step 1-2: stop scheduling, wake every worker so it exits.
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for i in 0..self.num_workers() {
            self.unpark(i);
        }
    }

    /// Shutdown step 5: from now on tasks are dropped when scheduled; drop
    /// those queued so far.
    pub(crate) fn finish_shutdown(&self) {
        self.drained.store(true, Ordering::SeqCst);
        self.drain_inject();
    }

    /// Drops every task in the injection queue.
    fn drain_inject(&self) {
        while let Some(r) = self.inject.pop() {
            drop(r);
        }
    }
}
