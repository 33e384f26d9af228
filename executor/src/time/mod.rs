//! Go's `time` package: [`sleep`], [`sleep_until`], [`after`], [`Timer`],
//! [`Ticker`], [`tick`], [`timeout`], [`timeout_at`], [`after_func`]
//! (Go's `time.AfterFunc`) and [`now`] (the runtime's clock).
//!
//! # Where timers live
//!
//! A timer made on a gust runtime (from one of its tasks, or inside its
//! `block_on`) is kept by that runtime, in the set of the worker it was
//! made on (or the set of the runtime's other threads; `sets.rs`): a
//! hierarchical timing wheel with exact deadlines (`wheel.rs`) of what to
//! do when each fires (wake a waker, or call a callback: gust's own, such
//! as a [`Timer`]'s firing, or one that starts an [`after_func`] callback
//! in its own thread on the blocking pool), behind one mutex (`store.rs`). A worker with nothing to run
//! waits in the runtime's OS poller with the next deadline as its
//! timeout and fires what is due when it wakes; a busy worker fires what is
//! due every few dozen tasks (`driver/mod.rs`). A woken task thus goes
//! straight onto the firing worker's queue: no thread hop.
//!
//! A timer made anywhere else (on tokio, `futures::executor`, a plain
//! thread) goes to one process-wide thread (`gust-timer`, started on first
//! use) that sleeps on a condition variable until the next deadline.
//!
//! "The next deadline" is the wheel's: the earliest deadline, or, while
//! the earliest timer is more than about 65 µs ahead in a slot crowded
//! with more than 16 timers, the start of that slot, a lower bound
//! (`wheel.rs`). Whoever waits until a bound (the poller, the timer
//! thread, a virtual clock's jump) may find nothing due there; the wheel
//! has then moved that slot's timers closer, and the next wait is until a
//! later bound or the deadline itself.
//!
//! - **Register** (first poll of a [`Sleep`], or `after_func`): insert under
//!   the lock (O(1)); if the new deadline is earlier than the one the firer
//!   sleeps until (or it sleeps without one), wake it. The firer records its
//!   wake-up target under the same lock, so a register either sees it or
//!   happens before the firer computes it: no lost wakeup.
//! - **Fire**: take every entry whose deadline is `<= now` out of the wheel
//!   under the lock, in deadline order, then wake or call them outside it.
//! - **Cancel**: dropping a `Sleep` (or `TimerHandle::stop`) removes its
//!   entry under the lock (O(1)), so a dropped timer frees its entry at
//!   once. A timer removed before it fired never fires.
//!
//! A `Sleep` completes only when its deadline has passed on its clock:
//! its own `now()` check says so (on its first poll, unless it is a
//! `sleep(d)` of a millisecond or more, whose deadline was computed from a
//! `now` read just before), or the set's fired-through mark, a `now` the
//! firer read from the same clock before it took the entry (`store.rs`);
//! a woken or re-polled sleep reads only the mark. So it never completes early whatever the firer does; the
//! poller's and the condvar's waits are precise to the kernel's
//! timer slack (epoll's timeout is in whole milliseconds, rounded up), so a
//! timer is late by about a millisecond at most on an idle machine. A
//! deadline that does not fit in an `Instant` (for example `Duration::MAX`
//! from now) means "never": nothing is registered.
//!
//! When a runtime shuts down, its pending sleeps are woken and register
//! again with the timer thread on their next poll, and its `after_func`
//! callbacks move there (`store.rs`, "Closing"): a timer outlives its
//! runtime. A virtual clock runs in real time from then on, and its
//! timers move at the real instant it reaches their deadlines; while its
//! runtime lives, a sleep on it polled elsewhere registers in the
//! runtime's set, whose jumps end it (`clock.rs`).
//!
//! # Rejected
//!
//! - An ordered map from `(deadline, id)` (this module's first structure):
//!   O(log n) insert and cancel; a million timeouts created and cancelled
//!   spent about a third of their time in it at 1 worker (`wheel.rs`).
//! - tokio's wheel, with its entries inside the sleeping futures: no slab,
//!   but a `Sleep` would have to be pinned (it is `Unpin` here), and its
//!   deadlines are rounded to the millisecond; here they are exact.
//! - Go's per-P heaps with timer stealing: a worker that is busy leaves
//!   its timers to another; here the poller fires every set, and a busy
//!   worker fires them all on its turn.

pub(crate) mod clock;
pub(crate) mod sets;
mod sleep;
pub(crate) mod store;
mod tick;
mod ticker;
mod timer;
mod wheel;

pub use sleep::{After, Elapsed, Sleep, Timeout, after, sleep, sleep_until, timeout, timeout_at};
pub use tick::tick;
pub use ticker::{Ticker, TickerWait};
pub use timer::{Timer, TimerWait};

pub(crate) use store::{Action, Key};
use store::{Sleeper, Timers};

use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

/// The current time on the current runtime's clock: `Instant::now()`,
/// unless the runtime was built with
/// [`start_paused(true)`](crate::runtime::Builder::start_paused), whose
/// clock stands still while any of its tasks can run and jumps to the next
/// timer when none can (outside any runtime: `Instant::now()`).
///
/// Sleeps, timers, tickers, `timeout` and context deadlines made in a
/// runtime all read its clock.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use gust_executor::runtime::Builder;
/// let rt = Builder::new().workers(1).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let t0 = gust_executor::time::now();
///     gust_executor::time::sleep(Duration::from_secs(3600)).await; // instant
///     assert_eq!(gust_executor::time::now() - t0, Duration::from_secs(3600));
/// });
/// ```
pub fn now() -> Instant {
    clock::current().now()
}

static THREAD_TIMERS: OnceLock<Arc<Timers>> = OnceLock::new();

/// The timers of the `gust-timer` thread (started on first use): those made
/// outside any gust runtime.
pub(crate) fn thread_timers() -> &'static Arc<Timers> {
    THREAD_TIMERS.get_or_init(|| {
        std::thread::Builder::new()
            .name("gust-timer".to_owned())
            .spawn(|| thread_timers().run_thread())
            .expect("gust: cannot start the timer thread");
        Arc::new(Timers::new(
            Sleeper::Thread(Condvar::new()),
            clock::Clock::Real,
        ))
    })
}

/// The timer thread's set, if anything started it.
pub(crate) fn thread_timers_if_started() -> Option<&'static Arc<Timers>> {
    THREAD_TIMERS.get()
}

/// Adds a timer to the current runtime's set (the timer thread's outside
/// any runtime, or once that runtime has shut down).
///
/// `clock`: the clock the deadline is on, when it may differ from the
/// current runtime's (a sleep made elsewhere and first polled here): such a
/// timer goes to the timer thread if it is real, as it was made.
fn insert(deadline: Instant, action: Action, clock: Option<&clock::Clock>) -> Key {
    let current =
        crate::runtime::current_timers().filter(|t| clock.is_none_or(|c| c.same_as(&t.clock)));
    let mut action = match current {
        Some(timers) => match timers.insert(deadline, action) {
            Ok(key) => return key,
            Err(action) => action,
        },
        None => action,
    };
    let mut deadline = deadline;
    if let Some(clock @ clock::Clock::Virtual(v)) = clock {
        // On a virtual clock, off its runtime: in that runtime's set while
        // it lives (its jumps fire it), else on the timer thread when the
        // clock, running in real time since its runtime stopped, gets
        // there (`clock.rs`).
        if let Some(home) = v.home() {
            match home.insert(deadline, action) {
                Ok(key) => return key,
                Err(a) => action = a,
            }
        }
        deadline = clock.to_real(deadline);
    }
    match thread_timers().clone().insert(deadline, action) {
        Ok(key) => key,
        Err(_) => unreachable!("the timer thread's set never closes"),
    }
}

/// Calls `f` once, in a thread of its own, at or after `deadline` (Go's
/// `time.AfterFunc`, which calls `f` "in its own goroutine"): the timer
/// starts `f` on gust's blocking pool (as
/// [`spawn_blocking`](crate::spawn_blocking)), so `f` may block, and
/// other timers do not wait for it.
///
/// Dropping the returned handle does not stop the timer.
///
/// ```
/// use std::sync::mpsc;
/// use std::time::{Duration, Instant};
/// let (tx, rx) = mpsc::channel();
/// let start = Instant::now();
/// let _t = gust_executor::time::after_func_at(start + Duration::from_millis(5), move || {
///     tx.send(Instant::now()).unwrap();
/// });
/// assert!(rx.recv().unwrap() >= start + Duration::from_millis(5));
/// ```
pub fn after_func_at(deadline: Instant, f: impl FnOnce() + Send + 'static) -> TimerHandle {
    call_at(deadline, in_own_thread(f))
}

/// Calls `f` once, in a thread of its own, after `d` (Go's
/// `time.AfterFunc`). `Duration::MAX` (any `d` past the end of `Instant`)
/// never fires. See [`after_func_at`].
///
/// ```
/// use std::time::Duration;
/// let t = gust_executor::time::after_func(Duration::from_secs(60), || unreachable!());
/// assert!(t.stop()); // stopped before it fired
/// assert!(!t.stop());
/// ```
pub fn after_func(d: Duration, f: impl FnOnce() + Send + 'static) -> TimerHandle {
    TimerHandle::scheduled(now().checked_add(d), in_own_thread(f))
}

/// `f`, started on the blocking pool when called.
fn in_own_thread(f: impl FnOnce() + Send + 'static) -> Callback {
    Box::new(move || drop(crate::blocking::spawn_blocking(f)))
}

/// Calls `f` once at or after `deadline` on the thread that fires the timer
/// (a worker, or the timer thread), which waits for it: for gust's own
/// short callbacks (a [`Timer`] firing, a [`tick`], a context's deadline),
/// not for users' ([`after_func_at`] starts those in their own thread).
///
/// ```
/// use std::time::{Duration, Instant};
/// let (tx, rx) = std::sync::mpsc::channel();
/// let _t = gust_executor::time::call_at(Instant::now() + Duration::from_millis(1), move || {
///     tx.send(std::thread::current().name().map(str::to_owned)).unwrap();
/// });
/// assert_eq!(rx.recv().unwrap().as_deref(), Some("gust-timer")); // the timer thread
/// ```
#[doc(hidden)]
pub fn call_at(deadline: Instant, f: impl FnOnce() + Send + 'static) -> TimerHandle {
    TimerHandle::scheduled(Some(deadline), Box::new(f))
}

/// A timer started by [`after_func`]: [`stop`](TimerHandle::stop) cancels
/// it, [`reset`](TimerHandle::reset) moves it. Dropping the handle leaves the
/// timer running.
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
/// use gust_executor::time::{TimerHandle, after_func};
/// let (tx, rx) = mpsc::channel();
/// let t: TimerHandle = after_func(Duration::from_millis(2), move || tx.send(1).unwrap());
/// assert_eq!(rx.recv().unwrap(), 1);
/// assert!(!t.stop()); // it already fired
/// ```
pub struct TimerHandle {
    state: Mutex<Handle>,
}

type Callback = Box<dyn FnOnce() + Send + 'static>;

/// Where an `after_func` callback is.
enum Handle {
    /// In the driver, under this key, due at this instant.
    Scheduled(Key, Instant),
    /// Pending with a deadline past the end of `Instant`: never fires.
    Never(Callback),
    /// Stopped before it ran; kept for a `reset`.
    Stopped(Callback),
    /// It ran (or is running).
    Ran,
}

impl Handle {
    /// `f` due at `deadline` (`None`, or a deadline the current clock
    /// cannot reach, `Clock::reaches`: never).
    fn schedule(deadline: Option<Instant>, f: Callback) -> Self {
        let clock = clock::current();
        match deadline.filter(|&d| clock.reaches(d)) {
            Some(d) => Handle::Scheduled(insert(d, Action::Call(f), None), d),
            None => Handle::Never(f),
        }
    }

    /// Takes the callback out if it has not run: `(was pending, callback)`.
    fn take(&mut self) -> (bool, Option<Callback>) {
        match std::mem::replace(self, Handle::Ran) {
            Handle::Scheduled(key, _) => match key.timers.remove(&key.slot) {
                Some(Action::Call(f)) => (true, Some(f)),
                Some(Action::Wake(_)) => unreachable!("a callback's key holds a callback"),
                None => (false, None),
            },
            Handle::Never(f) => (true, Some(f)),
            Handle::Stopped(f) => (false, Some(f)),
            Handle::Ran => (false, None),
        }
    }
}

impl TimerHandle {
    /// A handle for `f`, due at `deadline` (`None`: never).
    fn scheduled(deadline: Option<Instant>, f: Callback) -> Self {
        TimerHandle {
            state: Mutex::new(Handle::schedule(deadline, f)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Handle> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stops the timer: returns `true` if this call stopped it before it
    /// fired (the callback will not run, unless a [`reset`](Self::reset)
    /// re-arms it), `false` if it had already fired or been stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::time::Duration;
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let r = ran.clone();
    /// let t = gust_executor::time::after_func(Duration::from_millis(10), move || {
    ///     r.store(true, Ordering::SeqCst);
    /// });
    /// assert!(t.stop()); // stopped in time: the callback never runs
    /// std::thread::sleep(Duration::from_millis(20));
    /// assert!(!ran.load(Ordering::SeqCst));
    /// ```
    pub fn stop(&self) -> bool {
        let mut h = self.lock();
        let (was_pending, f) = h.take();
        if let Some(f) = f {
            *h = Handle::Stopped(f);
        }
        was_pending
    }

    /// Re-arms the timer to call its callback `d` from now (Go's
    /// `Timer.Reset` on an `AfterFunc` timer): returns `true` if it was
    /// pending (it then runs once, at the new time, not at the old one).
    /// A stopped timer is re-armed too. The callback is an `FnOnce`: once it
    /// has run, `reset` returns `false` and schedules nothing (Go would run
    /// `f` again; start a new `after_func` for that).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = mpsc::channel();
    /// let start = Instant::now();
    /// let t = gust_executor::time::after_func(Duration::from_secs(3600), move || {
    ///     tx.send(Instant::now()).unwrap();
    /// });
    /// assert!(t.reset(Duration::from_millis(5))); // was pending: now due in 5 ms
    /// assert!(rx.recv().unwrap() >= start + Duration::from_millis(5));
    /// assert!(!t.reset(Duration::from_millis(5))); // it ran: nothing to re-arm
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        let mut h = self.lock();
        let (was_pending, f) = h.take();
        if let Some(f) = f {
            *h = Handle::schedule(now().checked_add(d), f);
        }
        was_pending
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.lock() {
            Handle::Scheduled(_, at) => format!("due at {at:?}"),
            Handle::Never(_) => "never due".to_owned(),
            Handle::Stopped(_) => "stopped".to_owned(),
            Handle::Ran => "ran".to_owned(),
        };
        f.debug_struct("TimerHandle")
            .field("state", &state)
            .finish()
    }
}

/// Registers a waker to be woken at `deadline`.
pub(crate) fn register(deadline: Instant, waker: &Waker, clock: &clock::Clock) -> Key {
    insert(
        deadline,
        Action::Wake(gust_trace::own_waker(waker)),
        Some(clock),
    )
}

/// Cancels a registration (no-op if it fired).
pub(crate) fn deregister(key: &Key) {
    // The waker is dropped here, after the set's lock is released.
    drop(key.timers.remove(&key.slot));
}

/// Replaces the waker of a registration; `false` if it has fired.
pub(crate) fn update_waker(key: &Key, waker: &Waker) -> bool {
    key.timers.update_waker(&key.slot, waker)
}

/// Number of pending timers of the timer thread and of the current runtime
/// (tests: a dropped timer frees its entry).
#[doc(hidden)]
pub fn __pending_timers() -> usize {
    let thread = THREAD_TIMERS.get().map_or(0, |t| t.len());
    thread + crate::runtime::current_pending_timers()
}
