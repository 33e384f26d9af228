//! [`tick`]: Go's `time.Tick`, a channel of ticks any task may read.

use std::time::{Duration, Instant};

use gust_chan::{Receiver, Sender, TrySendError, chan};

use super::call_at;
use super::timer::next_tick;

/// A channel that receives the `Instant` of a tick every `period` (Go's
/// `time.Tick`): any task may read it, clones included. It holds one tick,
/// so a slow reader misses ticks (one stale tick waits for it, the rest are
/// dropped) and the schedule never drifts. The ticking stops, and its timer
/// is freed, at the first tick after every receiver is gone.
///
/// A period past the end of `Instant` (`Duration::MAX`) never ticks, and
/// the channel stays open: its sender, with no timer to keep it, is leaked
/// (one small allocation per such call, as Go's `time.Tick` before 1.23
/// leaked its ticker).
///
/// # Panics
///
/// If `period` is zero (Go returns a nil channel; a channel that never
/// ticks is rarely what a program wants).
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
    assert!(!period.is_zero(), "time::tick: the period must be non-zero");
    let (tx, rx) = chan(1);
    match super::now().checked_add(period) {
        Some(first) => arm(tx, period, first),
        None => never(tx),
    }
    rx
}

/// No tick can be scheduled (past the end of `Instant`): the channel must
/// stay open all the same, as a channel that ticks "never".
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
