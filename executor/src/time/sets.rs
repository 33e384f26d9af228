//! A runtime's timers: one set (`store.rs`) per worker, plus one for the
//! runtime's other threads (its `block_on` callers).
//!
//! # Why per worker
//!
//! A timer is registered and, far more often than it fires, cancelled by
//! the task that made it: a `timeout` around an operation that finishes
//! first is an insert and a remove. With one set per runtime, every worker
//! took the same lock for both: at 2 workers, 1M timeouts spent 47% of
//! their samples in the set's insert, remove and contended lock (perf). A
//! task registers in the set of the worker it runs on, so two workers
//! contend only when a task that moved cancels its timer, or when the
//! firer takes what is due. (tokio shards its timer wheel per worker for
//! the same reason; Go keeps a timer heap per P.)
//!
//! # The protocol, per set
//!
//! Each set keeps its own no-lost-wake-up rule (`store.rs`): the worker
//! about to wait in the poller takes what is due from every set and, under
//! each set's lock, records what it will sleep until; an insert into any
//! set that is earlier than that wakes the poller. So nothing here is new
//! but the loops; the next deadline of the runtime is the earliest of the
//! sets' (each possibly a lower bound, `wheel.rs`), and a virtual clock
//! (shared by all the sets) jumps to it.

use super::clock::Clock;
use super::store::{Action, Sleeper, Timers};
use std::sync::Arc;
use std::time::Instant;

/// The timer sets of one runtime.
pub(crate) struct TimerSets {
    /// Set `i < n` is worker `i`'s; set `n` the other threads'.
    sets: Box<[Arc<Timers>]>,
}

impl TimerSets {
    /// Sets for `workers` workers, fired by the poller `waker` wakes, on
    /// `clock`.
    pub(crate) fn new(workers: usize, waker: &Arc<mio::Waker>, clock: &Clock) -> Self {
        let sets: Box<[_]> = (0..=workers)
            .map(|_| Arc::new(Timers::new(Sleeper::Runtime(waker.clone()), clock.clone())))
            .collect();
        if let Clock::Virtual(v) = clock {
            // Where timers on this clock made here and awaited elsewhere go.
            v.set_home(&sets[workers]);
        }
        Self { sets }
    }

    /// The runtime's clock (every set's).
    pub(crate) fn clock(&self) -> &Clock {
        &self.sets[0].clock
    }

    /// The set for registrations from worker `index`, or from another
    /// thread (any `index` past the workers).
    pub(crate) fn for_thread(&self, index: usize) -> &Arc<Timers> {
        &self.sets[index.min(self.sets.len() - 1)]
    }

    /// Pending timers, all sets together.
    pub(crate) fn len(&self) -> usize {
        self.sets.iter().map(|s| s.len()).sum()
    }

    /// The firer's step before it waits: takes what is due at `now` from
    /// every set into `due`, records in each that the poller sleeps until
    /// the runtime's next deadline, and returns that deadline.
    pub(crate) fn take_due(&self, now: Instant, due: &mut Vec<Action>) -> Option<Instant> {
        // Each set records its own next deadline as the poller's wake-up:
        // an insert earlier than that one wakes the poller, and one later
        // is covered by another set's earlier deadline, which the poller's
        // timeout (the minimum) honours.
        self.sets.iter().filter_map(|s| s.take_due(now, due)).min()
    }

    /// A busy worker's step (or the poller's after its wait): takes what is
    /// due at `now` from every set that has timers.
    pub(crate) fn take_due_busy(&self, now: Instant, due: &mut Vec<Action>) {
        for s in self.sets.iter().filter(|s| s.len() > 0) {
            s.take_due_busy(now, due);
        }
    }

    /// Nobody is left to fire the sets while the worker that left the
    /// poller runs: the timer thread watches every set that has timers
    /// ([`Timers::watch_unattended`]).
    pub(crate) fn watch_unattended(&self) {
        for s in self.sets.iter() {
            s.watch_unattended();
        }
    }

    /// The poller stopped sleeping on the sets.
    pub(crate) fn poller_awake(&self) {
        for s in self.sets.iter() {
            s.poller_awake();
        }
    }

    /// The runtime's shutdown: closes every set, moving callbacks to `to`
    /// (a virtual clock runs in real time from now on, `clock.rs`).
    pub(crate) fn close(&self, to: fn() -> &'static Arc<Timers>) {
        if let Clock::Virtual(v) = self.clock() {
            v.stop();
        }
        for s in self.sets.iter() {
            s.close(to);
        }
    }
}
