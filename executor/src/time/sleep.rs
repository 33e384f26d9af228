//! [`Sleep`], [`After`], [`Timeout`] and the functions that make them.

use super::Key;
use super::clock::Clock;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Waits until `d` has passed (Go's `time.Sleep`). `Duration::MAX` (or any
/// `d` past the end of `Instant`) waits forever.
///
/// Made in a runtime, it is on that runtime's clock. Made outside any (as
/// in `rt.block_on(sleep(d))`), it is on the real clock until its first
/// poll; polled first in a runtime with a virtual clock
/// ([`Builder::start_paused`](crate::runtime::Builder::start_paused)), it
/// moves to that clock with the time it had left, and its
/// [`deadline`](Sleep::deadline) and [`is_elapsed`](Sleep::is_elapsed)
/// answer on that clock from then on.
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     gust_executor::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(d: Duration) -> Sleep {
    let runtime_clock = crate::runtime::current_clock();
    let made_outside = runtime_clock.is_none();
    let clock = runtime_clock.unwrap_or_default();
    let mut s = Sleep::with_clock(clock.now().checked_add(d), clock);
    s.state = if made_outside {
        // Even a zero sleep (under a virtual clock, `after(ZERO)` then
        // yields the polling runtime's `now`), and one that never ends (a
        // `reset` may give it an end).
        State::Foreign(d)
    } else if d.is_zero() {
        // Go's `time.Sleep(0)` returns at once; the deadline is the `now`
        // just read, so it has passed without another look at the clock.
        State::Elapsed
    } else {
        State::Idle {
            check_clock: d < FRESH,
        }
    };
    s
}

/// How long until `deadline` on the real clock (`Duration::MAX`: never).
fn time_left(deadline: Option<Instant>) -> Duration {
    deadline.map_or(Duration::MAX, |at| {
        at.saturating_duration_since(Instant::now())
    })
}

/// A [`sleep`] at least this long registers on its first poll without
/// reading the clock again: that poll nearly always comes well within it of
/// the `now` the deadline was computed from. (If it does not, the deadline
/// has passed when it is registered, and the timer fires at its set's next
/// turn instead of in that poll: later by a few dozen tasks at most, never
/// early.) The read saved is about 10% of a `timeout` created and
/// cancelled on a runtime.
const FRESH: Duration = Duration::from_millis(1);

/// Waits until `deadline`.
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     gust_executor::time::sleep_until(deadline).await;
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new_opt(Some(deadline))
}

/// A future that completes at a deadline; see [`sleep`].
///
/// It registers with the timer driver when first polled and deregisters
/// when dropped, so a dropped `Sleep` frees its timer at once. It is `Unpin`
/// and cancel-safe.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gust_executor::time::{Sleep, sleep};
/// let mut s: Sleep = sleep(Duration::from_millis(2));
/// assert!(!s.is_elapsed());
/// gust_executor::block_on(&mut s);
/// assert!(s.is_elapsed());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Sleep {
    /// `None`: never.
    deadline: Option<Instant>,
    /// Where it stands: not registered yet, registered, or known elapsed.
    state: State,
    /// The waker the registration holds (to skip re-registering the same).
    waker: Option<Waker>,
    /// The clock the deadline is on: the runtime's it was made in, or,
    /// made outside any, the virtual clock of the runtime that first
    /// polled it, else the real one.
    clock: Clock,
}

/// Where a [`Sleep`] stands.
enum State {
    /// Not registered: the next poll registers (first poll, after a
    /// `reset`, or after the set it was in closed), reading the clock first
    /// when `check_clock` (the deadline may have passed: see [`FRESH`]).
    Idle { check_clock: bool },
    /// Made outside any runtime with this much time to go, not polled yet:
    /// the first poll may move it to a runtime's virtual clock
    /// ([`Sleep::adopt_runtime_clock`]).
    Foreign(Duration),
    /// Registered in a timer set under this key.
    Armed(Key),
    /// The deadline is known to have passed: no clock read, no lock.
    Elapsed,
}

impl Sleep {
    pub(crate) fn new_opt(deadline: Option<Instant>) -> Self {
        let Some(clock) = crate::runtime::current_clock() else {
            let mut s = Self::with_clock(deadline, Clock::Real);
            s.state = State::Foreign(time_left(deadline));
            return s;
        };
        Self::with_clock(deadline, clock)
    }

    /// First poll of a sleep made outside any runtime, which had `left` to
    /// go when it was made: in a runtime with a virtual clock the sleep
    /// moves to that clock, `left` from its `now`, so `rt.block_on(sleep(d))`
    /// on a paused runtime takes `d` of virtual time (and no real time), as
    /// `rt.block_on(async { sleep(d).await })` does. Anywhere else it keeps
    /// its deadline on the real clock.
    fn adopt_runtime_clock(&mut self, left: Duration) {
        self.state = State::Idle { check_clock: true };
        if let Some(clock) = crate::runtime::current_clock() {
            if clock.is_virtual() {
                self.deadline = clock.now().checked_add(left);
                self.clock = clock;
            }
        }
    }

    fn with_clock(deadline: Option<Instant>, clock: Clock) -> Self {
        Self {
            deadline,
            state: State::Idle { check_clock: true },
            waker: None,
            clock,
        }
    }

    /// The deadline, if its clock can get there (`clock.rs`,
    /// `Clock::reaches`): `None` for a sleep that never ends.
    fn reachable_deadline(&self) -> Option<Instant> {
        self.deadline.filter(|&d| self.clock.reaches(d))
    }

    /// Whether this sleep never ends (no deadline, or one its clock cannot
    /// reach), as far as can be told before its first poll (which may move
    /// a sleep made outside any runtime onto a virtual clock).
    fn is_due_never(&self) -> bool {
        !matches!(self.state, State::Foreign(_)) && self.reachable_deadline().is_none()
    }

    /// The deadline, or `None` for a sleep that never ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gust_executor::time::{sleep, sleep_until};
    /// let at = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sleep_until(at).deadline(), Some(at));
    /// assert_eq!(sleep(Duration::MAX).deadline(), None);
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the deadline has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gust_executor::time::{sleep, sleep_until};
    /// assert!(sleep_until(Instant::now()).is_elapsed());
    /// assert!(!sleep(Duration::from_secs(60)).is_elapsed());
    /// ```
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, State::Elapsed) || self.deadline.is_some_and(|d| self.clock.now() >= d)
    }

    /// Moves the deadline (the sleep can then complete again).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let mut s = gust_executor::time::sleep(Duration::MAX);
    /// s.reset(Instant::now());
    /// gust_executor::block_on(&mut s);
    /// ```
    pub fn reset(&mut self, deadline: Instant) {
        self.reset_opt(Some(deadline));
    }

    pub(crate) fn reset_opt(&mut self, deadline: Option<Instant>) {
        let foreign = matches!(self.state, State::Foreign(_));
        self.cancel();
        self.deadline = deadline;
        if foreign {
            // Not polled yet, made outside any runtime. Reset in a runtime,
            // the new deadline is on that runtime's clock; reset outside,
            // the sleep is still free to move to the clock of the runtime
            // that polls it first.
            match crate::runtime::current_clock() {
                Some(clock) => self.clock = clock,
                None => self.state = State::Foreign(time_left(deadline)),
            }
        }
    }

    /// Takes the registration out of its set (if any): the sleep is idle.
    fn cancel(&mut self) {
        let idle = State::Idle { check_clock: true };
        if let State::Armed(key) = std::mem::replace(&mut self.state, idle) {
            super::deregister(&key);
        }
        self.waker = None;
    }

    /// The deadline has passed: what is left of the registration goes.
    fn complete(&mut self) -> Poll<()> {
        self.cancel();
        self.state = State::Elapsed;
        Poll::Ready(())
    }

    /// Registers the sleep's waker for `deadline` in the current runtime's
    /// timer set (the timer thread's outside one).
    ///
    /// With `check_clock`, a deadline that has passed completes the sleep
    /// at once; without, it is registered like any other and fires at its
    /// set's next turn.
    fn register(&mut self, deadline: Instant, check_clock: bool, cx: &Context<'_>) -> Poll<()> {
        if check_clock && self.clock.has_passed(deadline) {
            self.state = State::Elapsed;
            return Poll::Ready(());
        }
        let key = super::register(deadline, cx.waker(), &self.clock);
        // Another thread's pop may have moved the mark past the deadline
        // before the insert: then it is due, and the entry sits below the
        // mark, where `has_fired` would take it for gone. Checked once here,
        // every later rise of the mark past the deadline comes from a pop
        // that took the entry (store.rs, invariant #1).
        let passed = key.has_fired(deadline, &self.clock) || self.passed_off_clock(&key, deadline);
        self.state = State::Armed(key);
        if passed {
            return self.complete();
        }
        self.waker = Some(gust_trace::own_waker(cx.waker()));
        gust_trace::record(gust_trace::Wait::Sleep);
        Poll::Pending
    }

    /// Whether the next poll may complete without waiting: the sleep has
    /// elapsed, or has not been registered yet.
    fn may_be_due(&self) -> bool {
        matches!(self.state, State::Elapsed | State::Idle { .. })
    }

    /// Whether `key` sits in a set that keeps another clock (a sleep made
    /// on a paused runtime and polled off it sits on the timer thread's
    /// real clock, whose mark says nothing of ours) and our clock says the
    /// deadline has passed.
    fn passed_off_clock(&self, key: &Key, deadline: Instant) -> bool {
        !key.timers.clock.same_as(&self.clock) && self.clock.has_passed(deadline)
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let State::Foreign(left) = this.state {
            this.adopt_runtime_clock(left);
        }
        let Some(deadline) = this.reachable_deadline() else {
            // Never: no timer is pending, and nothing ends this wait.
            gust_trace::record(gust_trace::Wait::SleepForever);
            return Poll::Pending;
        };
        let key = match &this.state {
            // A sleep already due, or polled first (it may be due), takes
            // from the task poll's budget of ready waits: a loop of
            // `sleep(Duration::ZERO)` lets the worker's other tasks run.
            _ if this.may_be_due() && gust_trace::yield_for_budget(cx) => return Poll::Pending,
            State::Elapsed => return Poll::Ready(()),
            State::Foreign(_) => unreachable!("adopted above"),
            State::Idle { check_clock } => {
                let check_clock = *check_clock;
                return this.register(deadline, check_clock, cx);
            }
            State::Armed(key) => key,
        };
        // Woken by the firer (the common case): its mark says the deadline
        // passed on our clock, and the entry is gone (store.rs, invariant #2).
        if key.has_fired(deadline, &this.clock) {
            this.state = State::Elapsed;
            this.waker = None;
            return Poll::Ready(());
        }
        if this.passed_off_clock(key, deadline) {
            return this.complete();
        }
        let same_waker = this
            .waker
            .as_ref()
            .is_some_and(|w| gust_trace::will_wake(w, cx.waker()));
        // The runtime shut down and closed the set (a close takes entries
        // without moving the mark, so a failed waker update means the same):
        // register again, with the timer thread.
        if key.timers.is_closed() || (!same_waker && !super::update_waker(key, cx.waker())) {
            this.cancel();
            return this.register(deadline, true, cx);
        }
        if !same_waker {
            this.waker = Some(gust_trace::own_waker(cx.waker()));
        }
        gust_trace::record(gust_trace::Wait::Sleep);
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Completes after `d` with the `Instant` at which it fired (Go's
/// `time.After`); a case in `select!`. That is the time it was due, `d`
/// after the call, as Go's value is: a reader that comes late still learns
/// when the timer fired, not when it looked.
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     let late = gust_executor::time::after(Duration::from_millis(5));
///     std::thread::sleep(Duration::from_millis(50));
///     let fired = late.await;
///     assert!(fired >= start + Duration::from_millis(5));
///     assert!(fired < start + Duration::from_millis(50));
/// });
/// ```
pub fn after(d: Duration) -> After {
    After { sleep: sleep(d) }
}

/// The future of [`after`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use gust_executor::time::{After, after};
/// let start = Instant::now();
/// let fut: After = after(Duration::from_millis(2));
/// let fired = gust_executor::block_on(fut);
/// assert!(fired >= start + Duration::from_millis(2));
/// ```
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct After {
    sleep: Sleep,
}

impl Future for After {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        match Pin::new(&mut self.sleep).poll(cx) {
            // When it was due (Go's value: `sendTime` subtracts how late
            // the timer ran); a deadline is always set on a fired sleep.
            Poll::Ready(()) => Poll::Ready(
                self.sleep
                    .deadline
                    .unwrap_or_else(|| self.sleep.clock.now()),
            ),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `fut`, unless `d` passes first: then it is dropped and the result is
/// `Err(Elapsed)`.
///
/// ```
/// use std::time::Duration;
/// use gust_executor::time::{sleep, timeout};
/// gust_executor::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 1 }).await, Ok(1));
///     assert!(timeout(Duration::from_millis(1), sleep(Duration::MAX)).await.is_err());
/// });
/// ```
pub fn timeout<F: Future>(d: Duration, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        sleep: sleep(d),
    }
}

/// Runs `fut`, unless `deadline` passes first. See [`timeout`].
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use gust_executor::time::{sleep, timeout_at};
/// gust_executor::block_on(async {
///     let deadline = Instant::now() + Duration::from_millis(5);
///     assert_eq!(timeout_at(deadline, async { "done" }).await, Ok("done"));
///     assert!(timeout_at(deadline, sleep(Duration::MAX)).await.is_err());
///     assert!(Instant::now() >= deadline);
/// });
/// ```
pub fn timeout_at<F: Future>(deadline: Instant, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        sleep: sleep_until(deadline),
    }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gust_executor::time::{Timeout, timeout};
    /// let fut: Timeout<_> = timeout(Duration::from_secs(5), async { 3 });
    /// assert_eq!(gust_executor::block_on(fut), Ok(3));
    /// ```
    #[must_use = "futures do nothing unless polled"]
    #[derive(Debug)]
    pub struct Timeout<F> {
        #[pin]
        fut: F,
        sleep: Sleep,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let yields = gust_trace::budget_yields();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if gust_trace::budget_yields() != yields {
            // The future yielded for the task's budget (it may be ready):
            // it is polled again before the deadline is looked at.
            return Poll::Pending;
        }
        if this.sleep.is_due_never() {
            // Due never: the future alone, whose wait stays the one on
            // record (the sleep's would write over it).
            return Poll::Pending;
        }
        match Pin::new(this.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The error of [`timeout`]: the deadline passed first.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gust_executor::time::{Elapsed, sleep, timeout};
/// let res = gust_executor::block_on(timeout(Duration::from_millis(1), sleep(Duration::MAX)));
/// let err: Elapsed = res.unwrap_err();
/// assert_eq!(err.to_string(), "deadline has elapsed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// A timeout as an I/O error of kind `TimedOut`, so that `?` carries it out
/// of a function returning `io::Result` (a read under `timeout`, as Go's
/// read deadline reports `os.ErrDeadlineExceeded`).
///
/// ```
/// use std::time::Duration;
/// let r: std::io::Result<()> = gust_executor::block_on(async {
///     gust_executor::time::timeout(Duration::from_millis(1), std::future::pending::<()>()).await?;
///     Ok(())
/// });
/// assert_eq!(r.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> Self {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
