//! Seeing inside a runtime: who each task is, what it waits on, the dump,
//! and Go's deadlock report.
//!
//! # What each task carries ([`TaskTrace`], in the task's header)
//!
//! An id (unique in its runtime, from the registry's insert count: no
//! shared counter), an optional name (`task::Builder`),
//! where it was spawned (`#[track_caller]`), its [`WaitSlot`] and a state
//! byte. Around each poll the task's future (`task.rs`) marks it running,
//! clears the slot and makes it the thread's current slot, so that the gust
//! wait that returns `Pending` records its reason there (gust-trace); after
//! a `Pending` poll it marks the task waiting and stamps the time from the
//! worker's coarse clock (refreshed every scheduler maintenance round, not
//! read per poll: a clock read costs more than the rest together). The
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
//!    (state, slot, since) or scheduling it (state), and read by dumps; all
//!    fields are atomics or written once before the task is shared.
//! 2. A registry entry keeps its task's allocation (and so its
//!    `TaskTrace`) alive: dumps read traces only under the shard lock.

pub(crate) mod deadlock;
pub(crate) mod dump;
pub(crate) mod sigquit;

use gust_trace::WaitSlot;
use std::cell::Cell;
use std::panic::Location;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// [`TaskTrace::state`] values.
pub(crate) const RUNNABLE: u8 = 0;
pub(crate) const RUNNING: u8 = 1;
pub(crate) const WAITING: u8 = 2;
/// The future was dropped; the entry lingers until its shard's owner
/// removes it (`registry.rs`).
pub(crate) const DONE: u8 = 3;

/// Who a task is and what it does now (module docs, invariant #1).
pub(crate) struct TaskTrace {
    pub(crate) id: u64,
    pub(crate) name: Option<Box<str>>,
    pub(crate) spawned_at: &'static Location<'static>,
    pub(crate) wait: WaitSlot,
    state: AtomicU8,
    /// Coarse nanoseconds since [`epoch`] when the current wait began.
    since: AtomicU64,
}

impl TaskTrace {
    pub(crate) fn new(
        id: u64,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
    ) -> Self {
        Self {
            id,
            name,
            spawned_at,
            wait: WaitSlot::new(),
            state: AtomicU8::new(RUNNABLE),
            since: AtomicU64::new(0),
        }
    }

    /// Before a poll: running, nothing recorded.
    #[inline]
    pub(crate) fn begin_poll(&self) {
        // Relaxed, here and below: snapshots for dumps (invariant #1); the
        // detector orders its reads after the workers parked.
        self.state.store(RUNNING, Ordering::Relaxed);
        self.wait.clear();
    }

    /// After a poll that returned `Pending`.
    #[inline]
    pub(crate) fn end_poll_pending(&self) {
        self.since.store(coarse_now(), Ordering::Relaxed);
        self.state.store(WAITING, Ordering::Relaxed);
    }

    /// The schedule function: woken.
    #[inline]
    pub(crate) fn scheduled(&self) {
        self.state.store(RUNNABLE, Ordering::Relaxed);
    }

    /// The future was dropped.
    pub(crate) fn done(&self) {
        self.state.store(DONE, Ordering::Relaxed);
    }

    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Relaxed)
    }

    /// How long the current wait has lasted, as of `now` ([`coarse_now`]).
    pub(crate) fn waited(&self, now: u64) -> Duration {
        Duration::from_nanos(now.saturating_sub(self.since.load(Ordering::Relaxed)))
    }
}

/// A pointer to a task's trace, as the registry keeps it (invariant #2).
#[derive(Clone, Copy)]
pub(crate) struct TracePtr(pub(crate) *const TaskTrace);

// SAFETY: `TaskTrace` is `Sync`, and the pointer is only dereferenced while
// the registry entry holding it keeps the task allocation alive.
unsafe impl Send for TracePtr {}

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call, from the real clock.
pub(crate) fn precise_now() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

thread_local! {
    /// A worker's cached [`precise_now`], or 0 on other threads.
    static COARSE: Cell<u64> = const { Cell::new(0) };
}

/// The time for wait stamps: a worker's cached clock (module docs), or the
/// real clock on other threads.
#[inline]
pub(crate) fn coarse_now() -> u64 {
    match COARSE.try_with(Cell::get) {
        Ok(0) | Err(_) => precise_now(),
        Ok(t) => t,
    }
}

/// Refreshes this worker's cached clock (each maintenance round, after a
/// park).
pub(crate) fn refresh_coarse_clock() {
    let _ = COARSE.try_with(|c| c.set(precise_now().max(1)));
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

    #[test]
    fn durations_read_as_go_prints_them() {
        assert_eq!(go_duration(Duration::from_micros(10)), "0ms");
        assert_eq!(go_duration(Duration::from_millis(350)), "350ms");
        assert_eq!(go_duration(Duration::from_secs(4)), "4s");
        assert_eq!(go_duration(Duration::from_secs(123)), "2m3s");
        assert_eq!(go_duration(Duration::from_secs(3605)), "1h0m5s");
    }
}
