//! Go's "all goroutines are asleep - deadlock!", for one runtime.
//!
//! # When a runtime is deadlocked
//!
//! When its `block_on` futures (at least one) and all its tasks wait, each
//! durably (on a gust channel, select, WaitGroup, Context without a
//! deadline, lock, join of a task of this runtime, or a `JoinSet` of such
//! tasks: gust-trace's crate docs), while no worker runs, no task is queued, no timer of the runtime
//! is pending, and no `spawn_blocking` job of it is pending, nor anything
//! of gust that belongs to no runtime (a blocking job started outside any,
//! a timer on the process-wide timer thread: made outside any runtime, as
//! an `after_func` or `tick` in `main` before a `block_on`, or moved out of
//! one that shut down): then only a thread outside gust, or another
//! runtime, can wake anything. A task waiting on a sleep, a timer, I/O,
//! another runtime's task or a future gust cannot see into is not durably
//! blocked, so its runtime is never reported, even when a foreign
//! combinator polls a channel after it in the same poll (gust-trace's
//! "Composite waits"); nor is a task whose waker something other than a
//! gust wait holds (a foreign future inside a foreign combinator:
//! gust-trace's "Who holds the waker").
//!
//! # Who looks, and when
//!
//! The worker waiting in the poller, when the runtime is idle and has no
//! timer (`driver/mod.rs` calls [`watch`]): a state must hold, unchanged,
//! for [`GRACE`] before it is judged. "Unchanged" is the progress count:
//! polls by all workers plus polls of `block_on` futures. So a program that
//! pauses while a plain thread works is not reported at once, and the
//! runtime's idle wait costs nothing (after the judgement the poller waits
//! without a timeout again, until something happens). Whoever makes the
//! runtime idle (the last worker to park, a `block_on` going to sleep)
//! nudges the poller so that it starts watching.
//!
//! A verdict is given once per progress count: `warn` prints once, and
//! prints again only for a new deadlock after some progress. `panic` hands
//! the report to every `block_on` of the runtime, which panics with it.
//!
//! # Rejected
//!
//! Judging at once when the runtime goes idle (Go's way: Go sees every
//! thread): a gust program may be woken by a thread of its own, or by a
//! foreign runtime, a moment later; the grace keeps such programs quiet
//! unless they really stop.

use super::dump::Dump;
use crate::scheduler::Shared;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a runtime must stay idle and unchanged before it is judged.
pub(crate) const GRACE: Duration = Duration::from_millis(100);

/// The first line of a deadlock report, as Go words it.
pub(crate) const HEADLINE: &str = "all tasks are asleep - deadlock!";

/// The environment variable that chooses what a deadlock does: `panic`,
/// `warn` or `off` (see [`OnDeadlock`]).
///
/// ```
/// assert_eq!(gust_executor::runtime::DEADLOCK_ENV, "GUST_DEADLOCK");
/// ```
pub const DEADLOCK_ENV: &str = "GUST_DEADLOCK";

/// What a runtime does when all its tasks and `block_on` futures are
/// asleep, each waiting on something only another of them could end (Go's
/// "all goroutines are asleep - deadlock!").
///
/// The default is [`Warn`](OnDeadlock::Warn); [`Panic`](OnDeadlock::Panic)
/// on a runtime with virtual time and under `#[gust::test]`. The
/// `GUST_DEADLOCK` environment variable ([`DEADLOCK_ENV`]) overrides the
/// default; [`Builder::on_deadlock`](crate::runtime::Builder::on_deadlock)
/// overrides both.
///
/// # Examples
///
/// ```
/// use gust_executor::runtime::{Builder, OnDeadlock};
///
/// let rt = Builder::new().workers(1).on_deadlock(OnDeadlock::Panic).build().unwrap();
/// let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
///     rt.block_on(async {
///         let (_tx, rx) = gust_chan::chan::<i32>(0);
///         rx.recv().await // nobody will ever send
///     })
/// }));
/// let msg = *r.unwrap_err().downcast::<String>().unwrap();
/// assert!(msg.starts_with("all tasks are asleep - deadlock!"), "{msg}");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDeadlock {
    /// The runtime's `block_on` calls panic with the report (Go ends the
    /// program with it).
    Panic,
    /// The report goes to stderr, once; the program waits on.
    Warn,
    /// Nothing is checked.
    Off,
}

impl OnDeadlock {
    /// The choice of [`DEADLOCK_ENV`], if set.
    pub(crate) fn from_env() -> io::Result<Option<Self>> {
        let bad = |v: &dyn std::fmt::Debug| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("gust: invalid {DEADLOCK_ENV}={v:?}: expected `panic`, `warn` or `off`"),
            )
        };
        match std::env::var(DEADLOCK_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => Err(bad(&v)),
            Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
                "" => Ok(None), // set but empty: as unset (Go's rule for its variables)
                "panic" => Ok(Some(OnDeadlock::Panic)),
                "warn" => Ok(Some(OnDeadlock::Warn)),
                "off" => Ok(Some(OnDeadlock::Off)),
                _ => Err(bad(&v)),
            },
        }
    }
}

/// The watcher's memory (module docs): a state seen idle since when, and
/// the last state judged.
#[derive(Default)]
pub(crate) struct Watch {
    seen: Option<(Instant, u64)>,
    judged: Option<u64>,
}

/// What the detector knows of a runtime: its choice and its watch.
pub(crate) struct Detector {
    pub(crate) on_deadlock: OnDeadlock,
    watch: Mutex<Watch>,
}

impl Detector {
    pub(crate) fn new(on_deadlock: OnDeadlock) -> Self {
        Self {
            on_deadlock,
            watch: Mutex::new(Watch::default()),
        }
    }
}

/// Polls of all workers and `block_on` futures of `shared` so far.
fn progress(shared: &Shared) -> u64 {
    let polls = shared
        .stats
        .workers
        .iter()
        .map(|w| w.polls())
        .fold(0, u64::wrapping_add);
    let block_ons = shared
        .block_ons
        .lock()
        .iter()
        .map(|(_, b)| b.polls.load(Ordering::Relaxed))
        .fold(0, u64::wrapping_add);
    polls.wrapping_add(block_ons)
}

/// Called by the worker in the poller when the runtime is idle and has no
/// timer pending: returns how long the poller may wait before it calls
/// again (`None`: until something happens).
pub(crate) fn watch(shared: &Shared) -> Option<Duration> {
    let detector = &shared.detector;
    if detector.on_deadlock == OnDeadlock::Off {
        return None;
    }
    let now = progress(shared);
    let mut w = detector.watch.lock().unwrap_or_else(|e| e.into_inner());
    if w.judged == Some(now) {
        return None;
    }
    match w.seen {
        Some((since, seen)) if seen == now => {
            let waited = since.elapsed();
            if waited < GRACE {
                return Some(GRACE - waited);
            }
            w.seen = None;
            drop(w);
            match judge(shared, now) {
                Verdict::Changing => Some(GRACE),
                Verdict::Deadlocked(report) => {
                    mark_judged(shared, now);
                    act(shared, &report);
                    None
                }
                Verdict::Live => {
                    mark_judged(shared, now);
                    None
                }
            }
        }
        _ => {
            w.seen = Some((Instant::now(), now));
            Some(GRACE)
        }
    }
}

fn mark_judged(shared: &Shared, progress: u64) {
    let mut w = shared
        .detector
        .watch
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    w.judged = Some(progress);
}

enum Verdict {
    /// Something ran or is about to: look again later.
    Changing,
    /// Something waits on what another thread, a timer or I/O may end.
    Live,
    /// The report.
    Deadlocked(String),
}

fn judge(shared: &Shared, before: u64) -> Verdict {
    let dump = Dump::collect(shared);
    let idle = shared.is_idle();
    if !idle || progress(shared) != before || dump.any_runnable() {
        return Verdict::Changing;
    }
    if dump.block_ons().is_empty() || !dump.all_durably_blocked() {
        return Verdict::Live;
    }
    if shared.driver.blocking_jobs.load(Ordering::SeqCst) > 0
        || crate::blocking::outside_jobs() > 0
        || crate::time::store::outside_timers() > 0
    {
        // A blocking job of this runtime or of none, or a timer of none
        // (made outside any runtime, or moved out of one that shut down):
        // any may wake a task of this one, and may end without waking this
        // runtime. Looked at last, so that only a runtime that would be
        // reported keeps looking (every `GRACE`) until they are gone.
        return Verdict::Changing;
    }
    Verdict::Deadlocked(format!("{HEADLINE}\n\n{dump}"))
}

fn act(shared: &Shared, report: &str) {
    match shared.detector.on_deadlock {
        OnDeadlock::Off => {}
        // Go's words alone, as the panic carries them (Go prints "fatal
        // error: " first because it then exits; gust goes on).
        OnDeadlock::Warn => eprintln!("{report}"),
        OnDeadlock::Panic => {
            for (_, b) in shared.block_ons.lock().iter() {
                b.report_deadlock(report);
            }
        }
    }
}
