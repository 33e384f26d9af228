//! Seeing inside a runtime: who each task is, what it waits on, the dump,
//! and Go's deadlock report.
//!
//! # What each task carries ([`TaskTrace`], in the task's header)
//!
//! An id (unique in its runtime, from the registry's insert count: no
//! shared counter), an optional name (`task::Builder`) and where it was
//! spawned (`#[track_caller]`), packed into two words (`origin.rs`), its
//! [`WaitSlot`], and one word of state and wait stamp: 32 bytes. The id's
//! word also counts the task's wakers that something other than a gust
//! wait holds (gust-trace's "Who holds the waker": [`poll_traced`]). Around
//! each poll the task's future (`task.rs`) marks it running, clears the
//! slot and makes it the thread's current slot, so that the gust wait that
//! returns `Pending` records its reason there (gust-trace); after a
//! `Pending` poll it marks the task waiting, stamped with the time from the
//! worker's coarse clock (refreshed every scheduler maintenance round, not
//! read per poll: a clock read costs more than the rest together), or from
//! the runtime's virtual clock under `start_paused`, so that a dump there
//! says how long a task has waited in virtual time. The
//! schedule function marks a woken task runnable. All of these are plain
//! stores into the task's own header, which the poll touches anyway.
//!
//! `block_on` futures carry the same in their waker (`block_on.rs`), listed
//! per runtime (the global runtime's list is static, so that a `block_on`
//! outside any runtime, as `#[gust::main]`'s, is seen without starting it).
//!
//! # The dump and the deadlock detector
//!
//! `dump.rs` walks the registry's entries (every live task) and the
//! `block_on` list. The detector (`deadlock.rs`) runs in the worker that
//! waits in the poller, when the whole runtime is idle and no timer is
//! pending; see there.
//!
//! # Invariants
//!
//! 1. A task's [`TaskTrace`] is written by the thread polling the task
//!    (status, slot) or scheduling it (status), and read by dumps; all
//!    its fields are atomics. Its [`TaskOrigin`] is written once, before the
//!    task is allocated, but for the count of foreign wakers in the id's
//!    word, which any thread holding such a waker changes (read-modify-
//!    writes that leave the id alone).
//! 2. A registry entry keeps its task's allocation (and so its
//!    `TaskTrace`) alive: dumps read traces only under the shard lock.

pub(crate) mod deadlock;
pub(crate) mod dump;
mod origin;
pub(crate) mod sigquit;

pub(crate) use origin::TaskOrigin;

use crate::time::clock::Clock;
use gust_trace::WaitSlot;
use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

/// [`TaskTrace::state`] values.
pub(crate) const RUNNABLE: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const WAITING: u8 = 2;
/// The future was dropped; the entry lingers until its shard's owner
/// removes it (`registry.rs`).
pub(crate) const DONE: u8 = 3;

/// Who a task is and what it does now (module docs, invariant #1): 32
/// bytes in the task's header (with the rest of the header, a task with a
/// small future stays within the allocator's smallest size classes).
pub(crate) struct TaskTrace {
    pub(crate) wait: WaitSlot,
    /// The state (low byte) and, while waiting, the [`stamp`] of when the
    /// wait began (the 56 bits above): one word, so that a poll ending
    /// `Pending` writes it once, and a dump reads both consistently.
    status: AtomicU64,
    /// Written once, before the task is shared.
    pub(crate) origin: TaskOrigin,
}

impl TaskTrace {
    #[inline]
    pub(crate) fn new(origin: TaskOrigin) -> Self {
        Self {
            wait: WaitSlot::new(),
            status: AtomicU64::new(RUNNABLE as u64),
            origin,
        }
    }

    /// Before a poll: running, nothing recorded.
    #[inline]
    pub(crate) fn begin_poll(&self) {
        // Relaxed, here and below: snapshots for dumps (invariant #1); the
        // detector orders its reads after the workers parked.
        self.status.store(RUNNING.into(), Ordering::Relaxed);
        self.wait.clear();
    }

    /// After a poll that returned `Pending`.
    #[inline]
    pub(crate) fn end_poll_pending(&self) {
        let status = stamp() << 8 | u64::from(WAITING);
        self.status.store(status, Ordering::Relaxed);
    }

    /// The schedule function: woken.
    #[inline]
    pub(crate) fn scheduled(&self) {
        self.status.store(RUNNABLE.into(), Ordering::Relaxed);
    }

    /// The future was dropped.
    pub(crate) fn done(&self) {
        self.status.store(DONE.into(), Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> u8 {
        self.status.load(Ordering::Relaxed) as u8
    }

    /// How long the current wait has lasted, as of `now` ([`stamp`]).
    pub(crate) fn waited(&self, now: u64) -> Duration {
        waited_since(self.status.load(Ordering::Relaxed) >> 8, now)
    }
}

/// Whether a waiting task or `block_on` waits durably (gust-trace's crate
/// docs): on a durable gust wait, with no waker of it held by anything
/// else (`foreign_holders`, gust-trace's "Who holds the waker").
pub(crate) fn waits_durably(wait: Option<gust_trace::Wait>, foreign_holders: u64) -> bool {
    foreign_holders == 0 && wait.is_some_and(|w| w.is_durable())
}

/// Polls with `slot` the thread's current wait slot and, in front of
/// `real`, a polled waker whose foreign clones `count` counts (gust-trace's
/// "Who holds the waker"): how a task's or `block_on`'s future is polled.
#[inline]
pub(crate) fn poll_traced<R>(
    slot: &WaitSlot,
    real: &Waker,
    count: &AtomicU64,
    poll: impl FnOnce(&mut Context<'_>) -> R,
) -> R {
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(slot) };
    // SAFETY: `count` is in the owner's task header or `block_on`
    // unparker, which the real waker (and so each of its clones) keeps
    // alive.
    let record = unsafe { gust_trace::Polled::new(real, count) };
    record.with_waker(|polled| poll(&mut Context::from_waker(polled)))
}

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Milliseconds since the first call, from the real clock (56 bits, with
/// the state byte in a task's status word: 2 million years); never 0 (a
/// worker's cache uses 0 for "not cached").
pub(crate) fn real_stamp() -> u64 {
    stamp_at(Instant::now())
}

/// [`real_stamp`] for a time the caller has already read.
fn stamp_at(now: Instant) -> u64 {
    let epoch = *EPOCH.get_or_init(|| now);
    (now.saturating_duration_since(epoch).as_millis() as u64).max(1)
}

thread_local! {
    /// A worker's cached [`real_stamp`], or 0: on other threads, and on the
    /// workers of a runtime with a virtual clock, whose jumps a cache
    /// would miss (an atomic load reads that clock, no cache needed).
    static COARSE: Cell<u64> = const { Cell::new(0) };
}

/// What waits are stamped with, in milliseconds on the current runtime's
/// clock: a worker's cached real clock (module docs), else the clock
/// itself ([`Clock::stamp`]).
#[inline]
pub(crate) fn stamp() -> u64 {
    match COARSE.try_with(Cell::get) {
        Ok(0) | Err(_) => uncached_stamp(),
        Ok(t) => t,
    }
}

/// [`stamp`] off a worker's cache: the current runtime's clock, read
/// through a borrow (no count taken on a virtual clock's `Arc`, which all
/// of its workers share), or the real clock outside any runtime.
#[cold]
#[inline(never)]
fn uncached_stamp() -> u64 {
    crate::runtime::current_stamp().unwrap_or_else(real_stamp)
}

/// How long a wait stamped `since` has lasted at `now` (both [`stamp`]s).
/// A `since` after `now` (a dump reads `now` once, then its tasks, and a
/// wait may begin in between, after a jump of a virtual clock or a
/// worker's refresh of its cache) reads as zero.
pub(crate) fn waited_since(since: u64, now: u64) -> Duration {
    Duration::from_millis(now.saturating_sub(since))
}

/// Refreshes this worker's cached clock to `now`, just read from the real
/// clock (each maintenance round, after a park); a worker of a runtime on
/// a virtual `clock` keeps no cache.
pub(crate) fn refresh_coarse_clock(clock: &Clock, now: Instant) {
    let t = if clock.is_virtual() { 0 } else { stamp_at(now) };
    let _ = COARSE.try_with(|c| c.set(t));
}

/// Formats `d` as Go's `time.Duration` prints it, to the millisecond below
/// a second and to the second above: `350ms`, `4s`, `2m3s`, `1h0m5s`.
pub(crate) fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.subsec_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header stays small (module docs): a task with a small future
    /// fits glibc's fast size classes.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn the_trace_in_the_header_is_small() {
        assert_eq!(std::mem::size_of::<TaskTrace>(), 32);
        assert_eq!(std::mem::size_of::<crate::task::TaskMeta>(), 48);
    }

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_duration(Duration::from_micros(10)), "0ms");
        assert_eq!(go_duration(Duration::from_millis(350)), "350ms");
        assert_eq!(go_duration(Duration::from_secs(4)), "4s");
        assert_eq!(go_duration(Duration::from_secs(123)), "2m3s");
        assert_eq!(go_duration(Duration::from_secs(3605)), "1h0m5s");
    }
}
