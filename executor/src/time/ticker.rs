//! [`Ticker`]: Go's `time.Ticker`, on the core of [`Timer`](super::Timer).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use super::timer::{Core, TimerWait};

/// Ticks every `period` (Go's `time.NewTicker`): [`tick`](Ticker::tick) or
/// the [`Stream`](futures_core::Stream) yield the `Instant` each tick was
/// due.
///
/// The first tick comes one period after creation. Like Go's ticker (whose
/// channel holds one tick), a reader that falls behind gets one stale tick at
/// once, then ticks resume on the original schedule: missed ticks are
/// dropped, not queued up. [`tick`](Ticker::tick) takes `&self`, so several
/// tasks may wait on one ticker (through an `Arc`); each tick goes to one
/// of them. [`reset`](Ticker::reset) and [`stop`](Ticker::stop) are Go's,
/// with Go 1.23's rule: after they return, no tick of the old schedule is
/// received.
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     let ticker = gust_executor::time::Ticker::new(Duration::from_millis(2));
///     let t1 = ticker.tick().await;
///     let t2 = ticker.tick().await;
///     assert!(t1 >= start + Duration::from_millis(2));
///     // On schedule: one period later (or a whole number of periods, if
///     // this reader fell behind).
///     assert_eq!((t2 - t1).as_nanos() % 2_000_000, 0);
/// });
/// ```
pub struct Ticker {
    /// Holds the period too, so that `reset` can take `&self`.
    core: Arc<Core>,
    /// The waiter slot of `poll_tick` and the `Stream`.
    slot: Option<usize>,
}

/// The future of [`Ticker::tick`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let ticker = gust_executor::time::Ticker::new(Duration::from_millis(1));
/// gust_executor::block_on(async {
///     let wait: gust_executor::time::TickerWait<'_> = ticker.tick();
///     let at = wait.await;
///     assert!(at <= std::time::Instant::now());
/// });
/// ```
pub type TickerWait<'a> = TimerWait<'a>;

impl Ticker {
    /// A ticker whose first tick is due `period` from now.
    ///
    /// # Panics
    ///
    /// If `period` is zero (Go panics on a non-positive interval too).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let start = Instant::now();
    /// let ticker = gust_executor::time::Ticker::new(Duration::from_millis(3));
    /// let due = gust_executor::block_on(ticker.tick());
    /// assert!(due >= start + Duration::from_millis(3));
    /// ```
    pub fn new(period: Duration) -> Self {
        assert!(
            !period.is_zero(),
            "Ticker::new: the period must be non-zero"
        );
        Self {
            core: Core::new(super::now().checked_add(period), Some(period)),
            slot: None,
        }
    }

    /// The period.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = gust_executor::time::Ticker::new(Duration::from_millis(250));
    /// assert_eq!(ticker.period(), Duration::from_millis(250));
    /// ```
    pub fn period(&self) -> Duration {
        self.core.period().expect("a ticker's core has a period")
    }

    /// Waits for the next tick; returns the `Instant` it was due.
    /// Cancel-safe: dropping the future loses no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// gust_executor::block_on(async {
    ///     let ticker = gust_executor::time::Ticker::new(Duration::from_millis(2));
    ///     let t1 = ticker.tick().await;
    ///     let t2 = ticker.tick().await;
    ///     assert!(t2 > t1);
    /// });
    /// ```
    pub fn tick(&self) -> TickerWait<'_> {
        TimerWait::new(&self.core)
    }

    /// [`tick`](Self::tick) from a plain thread, blocking it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = gust_executor::time::Ticker::new(Duration::from_millis(2));
    /// let t1 = ticker.tick_blocking();
    /// assert!(ticker.tick_blocking() > t1);
    /// ```
    pub fn tick_blocking(&self) -> Instant {
        crate::block_on(self.tick())
    }

    /// Polls for the next tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::time::{Duration, Instant};
    /// let mut ticker = gust_executor::time::Ticker::new(Duration::from_millis(2));
    /// let due: Instant = gust_executor::block_on(poll_fn(|cx| ticker.poll_tick(cx)));
    /// assert!(due <= Instant::now());
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        self.core.poll_wait(&mut self.slot, cx)
    }

    /// Stops the ticker and sets its period to `period`; the next tick is
    /// due `period` from now (Go's `Ticker.Reset`). A tick nobody received
    /// is discarded. It takes `&self`: as in Go, any task holding the
    /// ticker may reset it while others wait on it.
    ///
    /// # Panics
    ///
    /// If `period` is zero, as Go's.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let ticker = gust_executor::time::Ticker::new(Duration::from_secs(3600));
    /// let start = Instant::now();
    /// ticker.reset(Duration::from_millis(2));
    /// assert_eq!(ticker.period(), Duration::from_millis(2));
    /// assert!(gust_executor::block_on(ticker.tick()) >= start + Duration::from_millis(2));
    /// ```
    pub fn reset(&self, period: Duration) {
        assert!(
            !period.is_zero(),
            "Ticker::reset: the period must be non-zero"
        );
        Core::reset(&self.core, super::now().checked_add(period), Some(period));
    }

    /// Turns the ticker off (Go's `Ticker.Stop`): no tick comes after it
    /// returns, until a [`reset`](Self::reset); a tick nobody received is
    /// discarded.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ticker = gust_executor::time::Ticker::new(Duration::from_millis(1));
    /// ticker.stop();
    /// let waited = gust_executor::block_on(gust_executor::time::timeout(
    ///     Duration::from_millis(20),
    ///     ticker.tick(),
    /// ));
    /// assert!(waited.is_err());
    /// ```
    pub fn stop(&self) {
        self.core.stop();
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.core.forget(&mut self.slot);
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("period", &self.period())
            .field("next", &self.core.next())
            .finish_non_exhaustive()
    }
}

impl futures_core::Stream for Ticker {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
