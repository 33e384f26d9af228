//! Go's `time` package: [`sleep`], [`sleep_until`], [`after`], [`Ticker`],
//! [`timeout`], and [`after_func`] (Go's `time.AfterFunc`).
//!
//! # The timer driver
//!
//! One process-wide driver thread (`gust-timer`, started on first use) owns
//! every pending timer: an ordered map from `(deadline, id)` to what to do
//! when it fires (wake a waker, or call an [`after_func`] callback), behind
//! one mutex, with a condition variable the driver sleeps on until the
//! earliest deadline.
//!
//! - **Register** (first poll of a [`Sleep`], or `after_func`): insert under
//!   the lock; if the new deadline is earlier than the one the driver sleeps
//!   until (or it sleeps without one), notify the condvar. The driver records
//!   its wake-up target under the same lock, so a register either sees it or
//!   happens before the driver computes it: no lost wakeup.
//! - **Fire**: the driver takes every entry whose deadline is `<= now` out of
//!   the map under the lock, then wakes or calls them outside it. A woken
//!   task goes to its runtime's injection queue like any foreign wake.
//! - **Cancel**: dropping a `Sleep` (or `TimerHandle::stop`) removes its
//!   entry under the lock, so a dropped timer frees its entry at once. A
//!   timer removed before it fired never fires.
//!
//! A `Sleep` completes only when its own `Instant::now()` check says the
//! deadline has passed, so it never completes early whatever the driver
//! does; the driver's condvar wait is precise to the kernel's timer slack
//! (tens of microseconds), so it is late by well under a millisecond on an
//! idle machine. A deadline that does not fit in an `Instant` (for example
//! `Duration::MAX` from now) means "never": nothing is registered.
//!
//! Because the driver is its own thread, timers work with no gust runtime at
//! all: on tokio, `futures::executor`, or a plain thread in `block_on`. The
//! workers never poll timers and park without a timeout, so an idle runtime
//! burns no CPU.
//!
//! # Rejected (for now)
//!
//! - A hierarchical timing wheel per worker (tokio): O(1) insert and
//!   cancel and no shared lock, but workers must then park with a timeout and
//!   a timer registered from a foreign thread needs a hand-off. Worth it when
//!   timers become a bottleneck (many thousands per second from many cores);
//!   the map here is O(log n) per operation under one lock.
//! - Go's per-P heaps with timer stealing: same trade-off, more code.

mod sleep;
mod tick;
mod ticker;
mod timer;

pub use sleep::{After, Elapsed, Sleep, Timeout, after, sleep, sleep_until, timeout, timeout_at};
pub use tick::tick;
pub use ticker::{Ticker, TickerWait};
pub use timer::{Timer, TimerWait};

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::task::Waker;
use std::time::{Duration, Instant};

/// A registered timer: its place in the driver's map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    deadline: Instant,
    id: u64,
}

/// What the driver does when a timer fires.
enum Action {
    Wake(Waker),
    Call(Box<dyn FnOnce() + Send + 'static>),
}

struct State {
    timers: BTreeMap<Key, Action>,
    next_id: u64,
    /// The deadline the driver sleeps until; `None` while it sleeps with
    /// no deadline (or has not started). Only changed under the lock.
    wake_at: Option<Instant>,
}

struct Driver {
    state: Mutex<State>,
    cond: Condvar,
}

static DRIVER: OnceLock<Driver> = OnceLock::new();

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        std::thread::Builder::new()
            .name("gust-timer".to_owned())
            .spawn(run_driver)
            .expect("gust: cannot start the timer thread");
        Driver {
            state: Mutex::new(State {
                timers: BTreeMap::new(),
                next_id: 0,
                wake_at: None,
            }),
            cond: Condvar::new(),
        }
    })
}

impl Driver {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Actions run outside the lock, so a panic never poisons it; recover
        // anyway rather than take timers down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn insert(&self, deadline: Instant, action: Action) -> Key {
        let mut st = self.lock();
        let key = Key {
            deadline,
            id: st.next_id,
        };
        st.next_id += 1;
        st.timers.insert(key, action);
        if st.wake_at.is_none_or(|at| deadline < at) {
            st.wake_at = Some(deadline);
            self.cond.notify_one();
        }
        key
    }

    /// Removes a timer and returns what it would have done; `None` if it
    /// has fired. Whatever is returned is dropped by the caller, outside the
    /// lock: a waker or closure may run arbitrary code when dropped.
    fn remove(&self, key: Key) -> Option<Action> {
        self.lock().timers.remove(&key)
    }

    /// Replaces a pending timer's waker; `false` if it has fired.
    fn update_waker(&self, key: Key, waker: &Waker) -> bool {
        let mut st = self.lock();
        match st.timers.get_mut(&key) {
            Some(Action::Wake(w)) => {
                let old = std::mem::replace(w, waker.clone());
                drop(st);
                drop(old);
                true
            }
            _ => false,
        }
    }
}

/// The driver thread: fire what is due, then sleep until the next deadline.
fn run_driver() {
    let driver = driver();
    let mut due = Vec::new();
    let mut st = driver.lock();
    loop {
        let now = Instant::now();
        while let Some(entry) = st.timers.first_entry() {
            if entry.key().deadline > now {
                break;
            }
            due.push(entry.remove());
        }
        if !due.is_empty() {
            drop(st);
            for action in due.drain(..) {
                match action {
                    Action::Wake(w) => w.wake(),
                    Action::Call(f) => {
                        // A panicking callback must not stop the clock; the
                        // panic hook has reported it.
                        let _ = catch_unwind(AssertUnwindSafe(f));
                    }
                }
            }
            st = driver.lock();
            continue;
        }
        match st.timers.first_key_value().map(|(k, _)| k.deadline) {
            Some(deadline) => {
                st.wake_at = Some(deadline);
                let wait = deadline.saturating_duration_since(now);
                st = driver
                    .cond
                    .wait_timeout(st, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            None => {
                st.wake_at = None;
                st = driver.cond.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        }
    }
}

/// Calls `f` once, on the timer thread, at or after `deadline` (Go's
/// `time.AfterFunc`). `f` must be short: it delays every other timer while
/// it runs (spawn a task from it for longer work).
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
    TimerHandle {
        state: Mutex::new(Handle::schedule(Some(deadline), Box::new(f))),
    }
}

/// Calls `f` once, on the timer thread, after `d` (Go's `time.AfterFunc`).
/// `Duration::MAX` (any `d` past the end of `Instant`) never fires. See
/// [`after_func_at`].
///
/// ```
/// use std::time::Duration;
/// let t = gust_executor::time::after_func(Duration::from_secs(60), || unreachable!());
/// assert!(t.stop()); // stopped before it fired
/// assert!(!t.stop());
/// ```
pub fn after_func(d: Duration, f: impl FnOnce() + Send + 'static) -> TimerHandle {
    TimerHandle {
        state: Mutex::new(Handle::schedule(Instant::now().checked_add(d), Box::new(f))),
    }
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
    /// In the driver, under this key.
    Scheduled(Key),
    /// Pending with a deadline past the end of `Instant`: never fires.
    Never(Callback),
    /// Stopped before it ran; kept for a `reset`.
    Stopped(Callback),
    /// It ran (or is running).
    Ran,
}

impl Handle {
    /// `f` due at `deadline` (`None`: never).
    fn schedule(deadline: Option<Instant>, f: Callback) -> Self {
        match deadline {
            Some(d) => Handle::Scheduled(driver().insert(d, Action::Call(f))),
            None => Handle::Never(f),
        }
    }

    /// Takes the callback out if it has not run: `(was pending, callback)`.
    fn take(&mut self) -> (bool, Option<Callback>) {
        match std::mem::replace(self, Handle::Ran) {
            Handle::Scheduled(key) => match driver().remove(key) {
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
            *h = Handle::schedule(Instant::now().checked_add(d), f);
        }
        was_pending
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.lock() {
            Handle::Scheduled(key) => format!("due at {:?}", key.deadline),
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
pub(crate) fn register(deadline: Instant, waker: &Waker) -> Key {
    driver().insert(deadline, Action::Wake(waker.clone()))
}

/// Cancels a registration (no-op if it fired).
pub(crate) fn deregister(key: Key) {
    // The waker is dropped here, after the driver's lock is released.
    drop(driver().remove(key));
}

/// Replaces the waker of a registration; `false` if it has fired.
pub(crate) fn update_waker(key: Key, waker: &Waker) -> bool {
    driver().update_waker(key, waker)
}

/// Number of pending timers (tests: a dropped timer frees its entry).
#[doc(hidden)]
pub fn __pending_timers() -> usize {
    DRIVER.get().map_or(0, |d| d.lock().timers.len())
}
