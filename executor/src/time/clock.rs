//! A runtime's clock: the real one, or a virtual one that stands still
//! while anything of the runtime can run (`Builder::start_paused(true)`,
//! tokio's paused time, Go's `testing/synctest`).
//!
//! # Virtual time
//!
//! A virtual clock reads `base + offset`: `base` is the real instant the
//! runtime was built, `offset` only grows, and only by jumps. The worker that
//! waits in the runtime's poller makes the jump (`driver/mod.rs`): when every
//! worker is parked with nothing queued, no `block_on` of the runtime is
//! runnable and no `spawn_blocking` job runs, nothing of the runtime can
//! make progress but a timer, so it moves the clock to the timers' next
//! deadline and fires what is due there (the next deadline may be a lower
//! bound on the earliest, `time/wheel.rs`: then nothing fires and the jump
//! is repeated, to a later bound or to the deadline itself). Everything that reads time in the runtime (sleeps,
//! timers, tickers, `timeout`, context deadlines, [`now`](super::now)) reads
//! this clock, so a one-hour timeout takes microseconds and a program's
//! events come in the same order every run.

use super::store::Timers;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

thread_local! {
    /// The latest real time this thread has read in [`Clock::has_passed`]
    /// or at a worker's turn ([`saw`]): a lower bound of the real time now,
    /// as the real clock never goes back.
    static SEEN: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Notes `now`, just read from the real clock, as [`SEEN`]. Only ever a
/// reading of the real clock (`Instant::now()`), never a virtual clock's
/// time: a note ahead of the real time would let a sleep end early.
#[inline]
pub(crate) fn saw(now: Instant) {
    let _ = SEEN.try_with(|s| s.set(Some(now)));
}

/// `at` as nanoseconds past `base`: 0 before it, `u64::MAX` past 584
/// years. A virtual clock's offset, a wheel's ticks and a timer set's
/// fired-through mark all count these.
#[inline]
pub(crate) fn nanos_past(base: Instant, at: Instant) -> u64 {
    let nanos = at.saturating_duration_since(base).as_nanos();
    u64::try_from(nanos).unwrap_or(u64::MAX)
}

/// A clock.
#[derive(Clone, Debug, Default)]
pub(crate) enum Clock {
    /// `Instant::now()`.
    #[default]
    Real,
    /// A runtime's virtual clock.
    Virtual(Arc<VirtualClock>),
}

/// The state of a virtual clock.
///
/// Its timers may outlive its runtime: a sleep made in the runtime and
/// awaited elsewhere registers in the runtime's set (`home`) while the
/// runtime lives, and its jumps end it; once the runtime has shut down
/// (`stopped`), the clock runs in real time from where it stood, and such
/// timers move to the timer thread at the real instant the clock reaches
/// their deadline ([`Clock::to_real`]): they take the virtual time they
/// had left.
#[derive(Debug)]
pub(crate) struct VirtualClock {
    base: Instant,
    /// Nanoseconds past `base`; only grows.
    offset: AtomicU64,
    /// The runtime's set for threads other than its workers.
    home: OnceLock<Weak<Timers>>,
    /// When (real time) the runtime shut down.
    stopped: OnceLock<Instant>,
}

impl VirtualClock {
    pub(crate) fn new() -> Self {
        Self {
            base: Instant::now(),
            offset: AtomicU64::new(0),
            home: OnceLock::new(),
            stopped: OnceLock::new(),
        }
    }

    fn now(&self) -> Instant {
        // Acquire: pairs with the Release in `advance_to`, so whoever reads
        // the new time also sees what the jumper did before it.
        let at = self.base + Duration::from_nanos(self.offset.load(Ordering::Acquire));
        match self.stopped.get() {
            None => at,
            Some(since) => at + since.elapsed(),
        }
    }

    /// The runtime's set for other threads (its timers' home, see above).
    pub(crate) fn set_home(&self, set: &Arc<Timers>) {
        let _ = self.home.set(Arc::downgrade(set));
    }

    /// The home set, while it exists (an insert into it fails once the
    /// runtime has shut down and closed it).
    pub(crate) fn home(&self) -> Option<Arc<Timers>> {
        self.home.get()?.upgrade()
    }

    /// The runtime shut down: the clock runs in real time from now on.
    pub(crate) fn stop(&self) {
        let _ = self.stopped.set(Instant::now());
    }

    /// Moves the clock forward to `to` (never back).
    pub(crate) fn advance_to(&self, to: Instant) {
        // Release: pairs with the Acquire in `now`.
        self.offset
            .fetch_max(nanos_past(self.base, to), Ordering::Release);
    }
}

impl Clock {
    /// The time on this clock.
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real => Instant::now(),
            Clock::Virtual(v) => v.now(),
        }
    }

    /// Whether `deadline` has passed on this clock. On the real clock, a
    /// deadline at or before the time this thread last read ([`SEEN`]) has
    /// passed without a new reading: a clock read costs about 25 ns in a
    /// VM's vDSO, and sleeps polled by a worker that runs behind (100k
    /// timers, most of them due by their first poll) asked it once each
    /// (6% of that row in perf).
    #[inline]
    pub(crate) fn has_passed(&self, deadline: Instant) -> bool {
        match self {
            Clock::Real => {
                if SEEN
                    .try_with(Cell::get)
                    .ok()
                    .flatten()
                    .is_some_and(|t| deadline <= t)
                {
                    return true;
                }
                let now = Instant::now();
                saw(now);
                now >= deadline
            }
            Clock::Virtual(v) => v.now() >= deadline,
        }
    }

    /// The real instant at which this clock reaches `deadline`, as far as
    /// can be known now: `deadline` itself on the real clock; on a virtual
    /// one, the time left from its `now`, from the real `now` (exact for a
    /// stopped clock, which runs in real time; a deadline so far that this
    /// overflows `Instant` stays as it is, as far).
    pub(crate) fn to_real(&self, deadline: Instant) -> Instant {
        match self {
            Clock::Real => deadline,
            Clock::Virtual(v) => Instant::now()
                .checked_add(deadline.saturating_duration_since(v.now()))
                .unwrap_or(deadline),
        }
    }

    /// Whether both are the real clock, or the same virtual one.
    pub(crate) fn same_as(&self, other: &Clock) -> bool {
        match (self, other) {
            (Clock::Real, Clock::Real) => true,
            (Clock::Virtual(a), Clock::Virtual(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The time on this clock as a wait stamp (`trace/mod.rs`):
    /// milliseconds; a virtual clock's count from its start (0 at first:
    /// only a worker's cache of the real clock keeps 0 for "none").
    pub(crate) fn stamp(&self) -> u64 {
        match self {
            Clock::Real => crate::trace::real_stamp(),
            Clock::Virtual(v) => nanos_past(v.base, v.now()) / 1_000_000,
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        matches!(self, Clock::Virtual(_))
    }

    /// Whether this clock can get to `deadline`. A virtual clock counts
    /// nanoseconds past its start in a `u64` (584 years, twice Go's
    /// longest `Duration`), so a deadline beyond that is never reached: a
    /// timer due there is due never (as one past the end of `Instant`),
    /// instead of one the clock's jumps chase without getting there. The
    /// real clock gets wherever an `Instant` can.
    pub(crate) fn reaches(&self, deadline: Instant) -> bool {
        match self {
            Clock::Real => true,
            Clock::Virtual(v) => nanos_past(v.base, deadline) < u64::MAX,
        }
    }
}

/// The clock of the current runtime (the real one outside any runtime).
pub(crate) fn current() -> Clock {
    crate::runtime::current_clock().unwrap_or_default()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The cached reading answers only for deadlines it has passed; a later
    /// deadline reads the clock again, so nothing fires early.
    #[test]
    fn has_passed_never_says_yes_early() {
        let clock = Clock::Real;
        let start = Instant::now();
        assert!(clock.has_passed(start)); // reads the clock, notes it
        let seen = SEEN.with(Cell::get).expect("noted");
        assert!(seen >= start);
        assert!(clock.has_passed(seen)); // from the note
        assert!(!clock.has_passed(seen + Duration::from_secs(3600)));
        // A deadline just past the note: the note cannot say, the clock
        // is read again, and says so once the time has come.
        let next = seen + Duration::from_nanos(1);
        while Instant::now() <= next {
            std::hint::spin_loop();
        }
        assert!(clock.has_passed(next), "read again once the note is behind");
        assert!(SEEN.with(Cell::get).expect("noted") > seen, "a newer note");
    }
}
