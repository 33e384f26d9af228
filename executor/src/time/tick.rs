//! [`tick`]: Go's `time.Tick`, a channel of ticks any task may read.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use gust_chan::{Chan, Receiver, Sender, TrySendError, chan};

use super::timer::next_tick;
use super::{TimerHandle, call_at};

/// A channel that receives the `Instant` of a tick every `period` (Go's
/// `time.Tick`): any task may read it, clones included. It holds one tick,
/// so a slow reader misses ticks (one stale tick waits for it, the rest are
/// dropped) and the schedule never drifts. The ticking stops, and its timer
/// is freed, when the last receiver is dropped (as Go 1.23 frees a ticker
/// nobody references): a `tick(d)` made anew in every turn of a loop keeps
/// no timers behind.
///
/// A zero period gives a channel that never ticks and never closes, as
/// Go's `time.Tick(d)` gives a nil channel for `d <= 0`: a receive from it
/// waits forever. So does a period past the end of `Instant`
/// (`Duration::MAX`). (All such calls share one channel, never sent on; a
/// dump shows a receive from it as made in gust's `time/tick.rs`, and the
/// deadlock detector counts it, as Go counts a receive from a nil channel.)
///
/// ```
/// use std::time::Duration;
/// let never = gust_executor::time::tick(Duration::ZERO);
/// assert_eq!(never.try_recv(), Err(gust_chan::TryRecvError::Empty));
/// ```
///
/// ```
/// use std::time::{Duration, Instant};
/// gust_executor::block_on(async {
///     let start = Instant::now();
///     let ticks = gust_executor::time::tick(Duration::from_millis(2));
///     let t1 = ticks.recv().await.unwrap();
///     let t2 = ticks.recv().await.unwrap();
///     assert!(t1 >= start + Duration::from_millis(2) && t2 > t1);
/// });
/// ```
#[track_caller]
pub fn tick(period: Duration) -> Receiver<Instant> {
    ticking(period).0
}

/// [`tick`], and its schedule (dead once nothing ticks for the channel).
#[track_caller]
fn ticking(period: Duration) -> (Receiver<Instant>, Weak<Ticking>) {
    let first = match super::now().checked_add(period) {
        Some(first) if !period.is_zero() => first,
        _ => return (never_ticking(), Weak::new()),
    };
    let (tx, rx) = chan(1);
    let ticking = Arc::new(Ticking::default());
    let schedule = Arc::downgrade(&ticking);
    // Once every receiver is gone, the pending tick's timer goes with its
    // sender (Go 1.23 frees an unreferenced ticker at once). (Not so yet:
    // `rx` is alive.)
    tx.wake_when_closed(&Waker::from(ticking.clone()));
    arm(tx, period, first, ticking);
    (rx, schedule)
}

/// The channel of a `tick` that never ticks (Go's nil channel): one for
/// the process, never sent on, never closed (the static `Chan` is a
/// sending handle that is never dropped).
fn never_ticking() -> Receiver<Instant> {
    static NEVER: OnceLock<Chan<Instant>> = OnceLock::new();
    NEVER.get_or_init(|| Chan::new(0)).receiver()
}

/// No later tick can be scheduled (past the end of `Instant`): the channel
/// must stay open all the same, as a channel that ticks "never"; its
/// sender, with no timer to keep it, is leaked (once per such channel).
fn never(tx: Sender<Instant>) {
    std::mem::forget(tx);
}

/// One `tick` channel's schedule: the timer of its pending tick, stopped
/// (with the callback that holds the channel's sender) when the channel
/// wakes it because every receiver is gone.
///
/// A reference cycle lives while a tick is pending (this, its timer, the
/// callback, the sender, the channel, the waker the channel keeps of
/// this): it ends when the callback runs (it consumes itself) or is
/// dropped by the stop.
#[derive(Default)]
struct Ticking {
    /// The latest tick's timer and its sequence number (a tick that fires
    /// before its `arm` stored its handle arms the next one, which must
    /// not be overwritten by the older handle); `None` once stopped.
    timer: Mutex<(u64, Option<TimerHandle>)>,
    /// Every receiver is gone: arm no more.
    stopped: AtomicBool,
}

impl Wake for Ticking {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Relaxed: read by `arm` under the lock taken below.
        self.stopped.store(true, Ordering::Relaxed);
        let handle = self.lock().1.take();
        if let Some(handle) = handle {
            // Stopped, the callback waits in the handle for a `reset`:
            // dropping the handle drops it, and the sender with it.
            handle.stop();
        }
    }
}

impl Ticking {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, Option<TimerHandle>)> {
        self.timer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Schedules the tick due at `due`, which schedules the next one.
fn arm(tx: Sender<Instant>, period: Duration, due: Instant, ticking: Arc<Ticking>) {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // Relaxed: only compared with other values of the same counter.
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let next_ticking = ticking.clone();
    let handle = call_at(due, move || {
        match tx.try_send(due) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => return, // no receiver left
        }
        match next_tick(due, period, super::now()) {
            Some(next) => arm(tx, period, next, next_ticking),
            None => never(tx),
        }
    });
    let mut timer = ticking.lock();
    if ticking.stopped.load(Ordering::Relaxed) {
        // The receivers went while this tick was being armed.
        drop(timer);
        handle.stop();
    } else if timer.0 <= seq {
        *timer = (seq, Some(handle));
    }
    // Else a later tick's handle is there already; this one has fired.
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping the last receiver stops the pending tick at once: its
    /// schedule, its timer's callback and the channel's sender are freed,
    /// not kept until the next tick, 100 s away.
    // Under Miri, with the other tests that start the process-wide timer
    // thread (`ci/miri.sh`: `--ignored timers`, leaks ignored).
    #[test]
    #[cfg_attr(miri, ignore)]
    fn timers_dropping_the_receivers_frees_the_pending_tick() {
        let (rx, schedule) = ticking(Duration::from_secs(100));
        let rx2 = rx.clone();
        drop(rx);
        assert!(schedule.upgrade().is_some(), "a clone still receives");
        drop(rx2);
        assert!(schedule.upgrade().is_none(), "the schedule lingers");
    }

    /// A schedule whose receivers go while it ticks fast ends too.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn timers_a_fast_tick_dropped_while_it_ticks_ends() {
        for _ in 0..if cfg!(miri) { 3 } else { 200 } {
            let (rx, schedule) = ticking(Duration::from_micros(50));
            let _ = rx.recv_blocking();
            drop(rx);
            // A tick being fired holds the schedule for that moment.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while schedule.upgrade().is_some() {
                assert!(std::time::Instant::now() < deadline, "never freed");
                std::thread::yield_now();
            }
        }
    }
}
