//! [`tick`]: Go's `time.Tick`, a channel of ticks any task may read.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gust_chan::{Chan, Receiver, Sender, TrySendError, chan};

use super::call_at;
use super::timer::next_tick;

/// A channel that receives the `Instant` of a tick every `period` (Go's
/// `time.Tick`): any task may read it, clones included. It holds one tick,
/// so a slow reader misses ticks (one stale tick waits for it, the rest are
/// dropped) and the schedule never drifts. The ticking stops, and its timer
/// is freed, at the first tick after every receiver is gone.
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
    let first = match super::now().checked_add(period) {
        Some(first) if !period.is_zero() => first,
        _ => return never_ticking(),
    };
    let (tx, rx) = chan(1);
    arm(tx, period, first);
    rx
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

/// Schedules the tick due at `due`, which schedules the next one.
fn arm(tx: Sender<Instant>, period: Duration, due: Instant) {
    // The handle is dropped: the timer runs on, and stops itself.
    let _ = call_at(due, move || {
        match tx.try_send(due) {
            Ok(()) | Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => return, // no receiver left
        }
        match next_tick(due, period, super::now()) {
            Some(next) => arm(tx, period, next),
            None => never(tx),
        }
    });
}
