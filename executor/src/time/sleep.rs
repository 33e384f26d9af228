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
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     gust_executor::time::sleep(Duration::from_millis(10)).await;
///     assert!(start.elapsed() >= Duration::from_millis(10));
/// });
/// ```
pub fn sleep(d: Duration) -> Sleep {
    let clock = super::clock::current();
    let deadline = clock.now().checked_add(d);
    Sleep::with_clock(deadline, clock)
}

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
pub struct Sleep {
    /// `None`: never.
    deadline: Option<Instant>,
    /// The registration, once polled.
    key: Option<Key>,
    /// The waker the registration holds (to skip re-registering the same).
    waker: Option<Waker>,
    /// The clock the deadline is on (the runtime's it was made in).
    clock: Clock,
}

impl Sleep {
    pub(crate) fn new_opt(deadline: Option<Instant>) -> Self {
        Self::with_clock(deadline, super::clock::current())
    }

    fn with_clock(deadline: Option<Instant>, clock: Clock) -> Self {
        Self {
            deadline,
            key: None,
            waker: None,
            clock,
        }
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
        self.deadline.is_some_and(|d| self.clock.now() >= d)
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
        self.cancel();
        self.deadline = deadline;
    }

    fn cancel(&mut self) {
        if let Some(key) = self.key.take() {
            super::deregister(&key);
        }
        self.waker = None;
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let Some(deadline) = this.deadline else {
            gust_trace::record(gust_trace::Wait::Sleep);
            return Poll::Pending; // never
        };
        // Woken by the firer (the common case): its mark says the deadline
        // passed on our clock.
        if let Some(key) = &this.key
            && key.has_fired(&this.clock)
        {
            this.key = None; // gone (store.rs, invariant #2): nothing to remove
            this.waker = None;
            return Poll::Ready(());
        }
        // Otherwise the clock decides: never early, whatever the driver does.
        if this.clock.now() >= deadline {
            this.cancel();
            return Poll::Ready(());
        }
        let same_waker = this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        match this.key {
            Some(ref key) if same_waker && !key.timers.is_closed() => {}
            Some(ref key) if super::update_waker(key, cx.waker()) => {
                this.waker = Some(cx.waker().clone());
            }
            _ => {
                // First poll (or the entry fired while `now < deadline`,
                // which a monotonic clock rules out; register again anyway).
                let key = super::register(deadline, cx.waker(), &this.clock);
                // Another thread's pop may have moved the mark past the
                // deadline between our clock read and the insert: then it
                // is due, and the entry sits below the mark, where
                // `has_fired` would take it for gone. Checked once here,
                // every later rise of the mark past the deadline comes from
                // a pop that took the entry (store.rs, invariant #1).
                if key.has_fired(&this.clock) {
                    super::deregister(&key);
                    this.waker = None;
                    return Poll::Ready(());
                }
                this.key = Some(key);
                this.waker = Some(cx.waker().clone());
            }
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
/// `time.After`); a case in `select!`.
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     let fired = gust_executor::time::after(Duration::from_millis(5)).await;
///     assert!(fired >= start + Duration::from_millis(5));
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
#[derive(Debug)]
pub struct After {
    sleep: Sleep,
}

impl Future for After {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        match Pin::new(&mut self.sleep).poll(cx) {
            Poll::Ready(()) => Poll::Ready(self.sleep.clock.now()),
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
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Ok(v));
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
