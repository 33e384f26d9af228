//! [`Timer`]: Go's `time.Timer`, and the core it shares with [`Ticker`].
//!
//! # Design
//!
//! A timer's state sits behind one mutex ([`Core`]): whether it is armed,
//! its next deadline, a fired value not yet received, the waiters, and a
//! generation number. Firing is a [`call_at`] callback holding a
//! `Weak` to the core and the generation it was armed with; `stop` and
//! `reset` bump the generation, clear a fired value and stop the callback,
//! so a callback that was already running when they took the lock finds a
//! newer generation and does nothing. That is Go 1.23's rule: once `stop` or
//! `reset` returns, no value from the old schedule is ever received.
//!
//! As in Go 1.23, where a timer's channel is synchronous, a timer is
//! *pending* from when it is armed until its value is received (not merely
//! until its deadline passes): `stop` returns `true` for a timer that fired
//! but whose value nobody took, and that value is discarded.
//!
//! # Invariants
//!
//! 1. `ready` is `Some` only while `armed`.
//! 2. A scheduled callback belongs to the current `generation` only if it is the one
//!    in `handle`; every other one finds `generation` changed and returns.
//! 3. Each waiter (a pending [`TimerWait`] or a ticker's stream) has one
//!    slot in `waiters`, removed when it completes or is dropped.
//!
//! # Why no wake-up is lost (and why no loom model)
//!
//! The protocol has no lock-free step: arming, firing, `stop`, `reset` and
//! a waiter's registration each happen whole under the one mutex, and the
//! wakers are woken after it is released, from a list taken under it. A
//! waiter that finds no value registers under the lock; `fire` sets the
//! value and takes the list under the same lock: so either the waiter saw
//! the value, or it is in the list that `fire` wakes. A loom model would
//! check only the mutex. What is checked instead: the stop/reset races of
//! Go's tests on real threads (`tests/time_go.rs`, `stop_reset_race_stress`),
//! and a unit test of stop and reset racing the callback on a runtime's
//! workers that Miri runs (`timers_stop_and_reset_race_their_callbacks`).
//!
//! [`Ticker`]: super::Ticker

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use slab::Slab;

use super::{TimerHandle, call_at};

/// The state shared by a timer (or ticker), its waiters and its callback.
pub(crate) struct Core {
    state: Mutex<State>,
}

struct State {
    /// A value will be (or was, see `ready`) produced and not received yet.
    armed: bool,
    /// `Some` for a ticker: it re-arms itself after each firing.
    period: Option<Duration>,
    /// The deadline `handle` fires at (`None`: never, or not armed).
    next: Option<Instant>,
    /// A fired value nobody received yet (invariant #1). A ticker that
    /// fires again while it is set drops the new tick (Go's channel of
    /// capacity 1).
    ready: Option<Instant>,
    /// The callback of generation `generation` (invariant #2).
    handle: Option<TimerHandle>,
    generation: u64,
    /// Invariant #3.
    waiters: Slab<Waker>,
}

impl Core {
    /// An armed core, due at `next` (`None`: never).
    pub(crate) fn new(next: Option<Instant>, period: Option<Duration>) -> Arc<Self> {
        let core = Arc::new(Core {
            state: Mutex::new(State {
                armed: true,
                period,
                next: None,
                ready: None,
                handle: None,
                generation: 0,
                waiters: Slab::new(),
            }),
        });
        let mut st = core.lock();
        Core::schedule(&core, &mut st, next);
        drop(st);
        core
    }

    /// A ticker's period (`None` for a timer).
    pub(crate) fn period(&self) -> Option<Duration> {
        self.lock().period
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under the lock (wakers are woken after it).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms the callback of generation `st.generation` for `next`.
    fn schedule(this: &Arc<Self>, st: &mut State, next: Option<Instant>) {
        // A deadline the clock cannot reach is never (`Clock::reaches`).
        let clock = super::clock::current();
        let next = next.filter(|&at| clock.reaches(at));
        st.next = next;
        st.handle = next.map(|at| {
            let core = Arc::downgrade(this);
            let generation = st.generation;
            call_at(at, move || Core::fire(&core, generation, at))
        });
    }

    /// The callback: produce a value unless `stop`/`reset` came first.
    fn fire(this: &Weak<Self>, generation: u64, due: Instant) {
        let Some(this) = this.upgrade() else { return };
        let mut st = this.lock();
        if st.generation != generation || !st.armed {
            return; // invariant #2: an older schedule
        }
        let now = super::now();
        if st.ready.is_none() {
            // When it was due, for a timer as for a ticker's tick (Go's
            // `sendTime` subtracts how late the timer ran), as `after`.
            st.ready = Some(due);
        }
        match st.period {
            Some(period) => {
                let next = next_tick(due, period, now);
                Core::schedule(&this, &mut st, next);
            }
            None => {
                st.next = None;
                st.handle = None;
            }
        }
        let wakers: Vec<Waker> = st.waiters.iter().map(|(_, w)| w.clone()).collect();
        drop(st);
        for w in wakers {
            w.wake();
        }
    }

    /// Stops the timer: `true` if it was pending.
    pub(crate) fn stop(&self) -> bool {
        let mut st = self.lock();
        let was = st.armed;
        st.armed = false;
        st.ready = None;
        st.next = None;
        st.generation += 1;
        let handle = st.handle.take();
        drop(st);
        if let Some(h) = handle {
            h.stop();
        }
        was
    }

    /// Re-arms for `next`, with a new period for a ticker: `true` if it was
    /// pending. A value from the old schedule is discarded.
    pub(crate) fn reset(this: &Arc<Self>, next: Option<Instant>, period: Option<Duration>) -> bool {
        let mut st = this.lock();
        let was = st.armed;
        st.armed = true;
        st.ready = None;
        st.generation += 1;
        if period.is_some() {
            st.period = period;
        }
        let old = st.handle.take();
        Core::schedule(this, &mut st, next);
        drop(st);
        if let Some(h) = old {
            h.stop();
        }
        was
    }

    /// Polls for the value; `slot` is the caller's waiter slot.
    pub(crate) fn poll_wait(
        &self,
        slot: &mut Option<usize>,
        cx: &mut Context<'_>,
    ) -> Poll<Instant> {
        let mut st = self.lock();
        if let Some(v) = st.ready.take() {
            if st.period.is_none() {
                st.armed = false; // received: a timer is done
            }
            if let Some(k) = slot.take() {
                st.waiters.remove(k);
            }
            return Poll::Ready(v);
        }
        match slot {
            Some(k) => {
                let w = &mut st.waiters[*k];
                if !gust_trace::will_wake(w, cx.waker()) {
                    *w = gust_trace::own_waker(cx.waker());
                }
            }
            None => *slot = Some(st.waiters.insert(gust_trace::own_waker(cx.waker()))),
        }
        // Armed with no deadline (due never, or a ticker past the end of
        // `Instant`): no fire will come by itself either.
        let fire_coming = st.armed && st.next.is_some();
        gust_trace::record(gust_trace::Wait::Timer {
            stopped: !fire_coming,
        });
        Poll::Pending
    }

    /// A waiter went away without its value.
    pub(crate) fn forget(&self, slot: &mut Option<usize>) {
        if let Some(k) = slot.take() {
            let w = self.lock().waiters.remove(k);
            drop(w);
        }
    }

    /// The next deadline, while armed and not yet fired.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.lock().next
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Free the driver's entry now rather than at the deadline.
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = st.handle.take() {
            h.stop();
        }
    }
}

/// The first tick of the schedule `due + k * period` after `now` (`None`:
/// past the end of `Instant`): a slow reader's missed ticks are dropped, not
/// queued, and the schedule never drifts.
pub(crate) fn next_tick(due: Instant, period: Duration, now: Instant) -> Option<Instant> {
    let next = due.checked_add(period)?;
    if next > now {
        return Some(next);
    }
    // In nanoseconds, as u128: a tick may be more than `u32::MAX` periods
    // late (a 1 ns ticker in a process paused for 5 s).
    let period_ns = period.as_nanos();
    let skip_ns = (now.duration_since(due).as_nanos() / period_ns + 1) * period_ns;
    let skip = Duration::new(
        u64::try_from(skip_ns / 1_000_000_000).ok()?,
        (skip_ns % 1_000_000_000) as u32, // below 10^9: fits
    );
    due.checked_add(skip)
}

/// Go's `time.Timer`: fires once, `d` after it is made or last reset;
/// [`wait`](Timer::wait) receives the `Instant` it fired at (the time it
/// was due, as Go's value, whenever it is read).
///
/// With Go 1.23's semantics: [`stop`](Timer::stop) and
/// [`reset`](Timer::reset) return whether the timer was *pending* (armed,
/// its value not yet received), and once they return, no value from the
/// old schedule is ever received; no draining `if !t.Stop() { <-t.C }` is
/// needed. Every method takes `&self`: share a timer between tasks through
/// an `Arc`, and stop or reset it from any of them while another waits.
/// When several wait, one receives the value, as with Go's channel.
///
/// ```
/// use std::time::{Duration, Instant};
/// use gust_executor::time::Timer;
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     let t = Timer::new(Duration::from_millis(5));
///     let fired = t.wait().await;
///     assert!(fired >= start + Duration::from_millis(5));
///     assert!(!t.stop()); // its value was received: nothing pending
///     assert!(!t.reset(Duration::from_millis(1))); // re-armed
///     t.wait().await;
/// });
/// ```
pub struct Timer {
    core: Arc<Core>,
}

impl Timer {
    /// A timer that fires `d` from now (`Duration::MAX`: never, until
    /// reset). Go's `time.NewTimer`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gust_executor::time::Timer::new(Duration::from_secs(3600));
    /// assert!(t.stop()); // it was pending
    /// ```
    pub fn new(d: Duration) -> Self {
        Self::at_opt(super::now().checked_add(d))
    }

    /// A timer that fires at `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let at = Instant::now() + Duration::from_millis(2);
    /// let t = gust_executor::time::Timer::at(at);
    /// assert!(gust_executor::block_on(t.wait()) >= at);
    /// ```
    pub fn at(deadline: Instant) -> Self {
        Self::at_opt(Some(deadline))
    }

    fn at_opt(next: Option<Instant>) -> Self {
        Timer {
            core: Core::new(next, None),
        }
    }

    /// Waits for the timer to fire and returns when it did; a `select!`
    /// case (`at = t.wait() => ..`). A stopped timer's `wait` pends until a
    /// `reset`. Cancel-safe: a dropped `wait` receives nothing, and the value
    /// stays for the next one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gust_executor::time::Timer;
    /// gust_executor::block_on(async {
    ///     let t = Timer::new(Duration::from_millis(1));
    ///     let _at = t.wait().await;
    /// });
    /// ```
    pub fn wait(&self) -> TimerWait<'_> {
        TimerWait {
            core: &self.core,
            slot: None,
        }
    }

    /// [`wait`](Self::wait) from a plain thread, blocking it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let t = gust_executor::time::Timer::new(Duration::from_millis(2));
    /// assert!(t.wait_blocking() >= start + Duration::from_millis(2));
    /// ```
    pub fn wait_blocking(&self) -> Instant {
        crate::block_on(self.wait())
    }

    /// Stops the timer (Go's `Timer.Stop`): `true` if it was pending (armed,
    /// its value not yet received). Afterwards no value is received until a
    /// [`reset`](Self::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = gust_executor::time::Timer::new(Duration::from_secs(60));
    /// assert!(t.stop());
    /// assert!(!t.stop());
    /// ```
    pub fn stop(&self) -> bool {
        self.core.stop()
    }

    /// Re-arms the timer to fire `d` from now (Go's `Timer.Reset`): `true`
    /// if it was pending. A value of the old schedule that nobody received
    /// is discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gust_executor::time::Timer;
    /// gust_executor::block_on(async {
    ///     let t = Timer::new(Duration::from_secs(3600));
    ///     let start = Instant::now();
    ///     assert!(t.reset(Duration::from_millis(3)));
    ///     assert!(t.wait().await >= start + Duration::from_millis(3));
    /// });
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        Core::reset(&self.core, super::now().checked_add(d), None)
    }

    /// When the timer will fire, while it is armed and has not fired.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let t = gust_executor::time::Timer::new(Duration::from_secs(1));
    /// assert!(t.deadline().unwrap() > Instant::now());
    /// t.stop();
    /// assert_eq!(t.deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.core.next()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("deadline", &self.deadline())
            .finish_non_exhaustive()
    }
}

/// The future of [`Timer::wait`] (and of [`Ticker::tick`](super::Ticker::tick)).
///
/// ```
/// use std::time::Duration;
/// use gust_executor::time::{Timer, TimerWait};
/// let t = Timer::new(Duration::from_millis(1));
/// let fut: TimerWait<'_> = t.wait();
/// gust_executor::block_on(fut);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct TimerWait<'a> {
    core: &'a Core,
    slot: Option<usize>,
}

impl TimerWait<'_> {
    pub(crate) fn new(core: &Arc<Core>) -> TimerWait<'_> {
        TimerWait { core, slot: None }
    }
}

impl Future for TimerWait<'_> {
    type Output = Instant;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        let this = self.get_mut();
        this.core.poll_wait(&mut this.slot, cx)
    }
}

impl Drop for TimerWait<'_> {
    fn drop(&mut self) {
        self.core.forget(&mut self.slot);
    }
}

impl fmt::Debug for TimerWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWait").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::next_tick;
    use std::time::{Duration, Instant};

    /// The next tick skips the missed ones and keeps the schedule.
    #[test]
    fn next_tick_skips_missed_ticks() {
        let due = Instant::now();
        let ms = Duration::from_millis(1);
        assert_eq!(next_tick(due, 10 * ms, due), Some(due + 10 * ms));
        assert_eq!(next_tick(due, 10 * ms, due + 25 * ms), Some(due + 30 * ms));
        assert_eq!(next_tick(due, 10 * ms, due + 30 * ms), Some(due + 40 * ms));
    }

    /// A tick fired more than 2^32 periods late (a 1 ns ticker in a
    /// process paused for 5 s) still has a next one: the ticker goes on,
    /// as Go's, instead of falling silent for good.
    #[test]
    fn next_tick_after_more_than_u32_max_periods() {
        let due = Instant::now();
        let now = due + Duration::from_secs(5);
        let next = next_tick(due, Duration::from_nanos(1), now).expect("a next tick");
        assert_eq!(next, now + Duration::from_nanos(1));
        let period = Duration::from_nanos(3);
        let next = next_tick(due, period, now).expect("a next tick");
        assert!(next > now && next <= now + period, "{:?}", next - now);
        assert_eq!((next - due).as_nanos() % 3, 0, "off the schedule");
    }
}
