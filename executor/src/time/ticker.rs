//! [`Ticker`]: Go's `time.Ticker`.

use super::Sleep;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Ticks every `period` (Go's `time.NewTicker`): [`tick`](Ticker::tick) or
/// the [`Stream`](futures_core::Stream) yield the `Instant` each tick was
/// due.
///
/// The first tick comes one period after creation. Like Go's ticker (whose
/// channel holds one tick), a reader that falls behind gets one stale tick at
/// once, then ticks resume on the original schedule: missed ticks are
/// dropped, not queued up.
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     let mut ticker = gust_executor::time::Ticker::new(Duration::from_millis(2));
///     let t1 = ticker.tick().await;
///     let t2 = ticker.tick().await;
///     assert!(t1 >= start + Duration::from_millis(2));
///     // On schedule: one period later (or a whole number of periods, if
///     // this reader fell behind).
///     assert_eq!((t2 - t1).as_nanos() % 2_000_000, 0);
/// });
/// ```
#[derive(Debug)]
pub struct Ticker {
    period: Duration,
    /// When the next tick is due; `None`: never (the period overflows).
    next: Option<Instant>,
    sleep: Sleep,
}

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
    /// let mut ticker = gust_executor::time::Ticker::new(Duration::from_millis(3));
    /// let due = gust_executor::block_on(ticker.tick());
    /// assert!(due >= start + Duration::from_millis(3));
    /// ```
    pub fn new(period: Duration) -> Self {
        assert!(
            !period.is_zero(),
            "Ticker::new: the period must be non-zero"
        );
        let next = Instant::now().checked_add(period);
        Self {
            period,
            next,
            sleep: Sleep::new_opt(next),
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
        self.period
    }

    /// Waits for the next tick; returns the `Instant` it was due.
    /// Cancel-safe: dropping the future loses no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// gust_executor::block_on(async {
    ///     let mut ticker = gust_executor::time::Ticker::new(Duration::from_millis(2));
    ///     let t1 = ticker.tick().await;
    ///     let t2 = ticker.tick().await;
    ///     assert!(t2 > t1);
    /// });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
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
        let Some(due) = self.next else {
            return Poll::Pending;
        };
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        // Next tick: one period after this one, or, for a reader that fell
        // behind, the first tick of the original schedule after now (the
        // ones in between are dropped).
        let now = Instant::now();
        let mut next = due.checked_add(self.period);
        if let Some(n) = next {
            if n <= now {
                let behind = now.duration_since(due).as_nanos() / self.period.as_nanos();
                next = u32::try_from(behind + 1)
                    .ok()
                    .and_then(|k| self.period.checked_mul(k))
                    .and_then(|skip| due.checked_add(skip));
            }
        }
        self.next = next;
        self.sleep.reset_opt(next);
        Poll::Ready(due)
    }
}

impl futures_core::Stream for Ticker {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
