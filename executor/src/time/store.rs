//! A set of pending timers: the process-wide timer thread's, or one of a
//! runtime's (one per worker and one for its other threads, `sets.rs`;
//! fired by the worker that waits in its I/O driver).
//!
//! # Structure
//!
//! A timing wheel (`wheel.rs`: O(1) insert and cancel, exact deadlines,
//! fired in `(deadline, id)` order) of what to do when each timer fires
//! (wake a waker, or call an `after_func` callback), behind one mutex. Who
//! fires it is told apart by [`Sleeper`]:
//!
//! - **Thread**: the `gust-timer` thread sleeps on a condition variable until
//!   the next deadline (timers made outside any gust runtime).
//! - **Runtime**: a runtime's worker that has nothing to run waits in the
//!   OS poller with the next deadline as its timeout; a busy worker fires
//!   what is due every few dozen tasks (`driver/mod.rs`).
//!
//! # No lost wake-up
//!
//! The firer records what it sleeps until (`wake_at`) under the lock,
//! after taking everything due: the wheel's next deadline, which may be a
//! lower bound (the start of a far slot; the firer then wakes early, finds
//! nothing due, and sleeps again on a later bound). An insert that comes
//! earlier than that
//! (or while it sleeps with no deadline) wakes it, under the same lock; an
//! insert while nobody sleeps on the set (`WakeAt::Nobody`: the runtime's
//! poller is busy or absent) wakes nobody: whoever next waits takes the
//! lock and computes its timeout afresh.
//!
//! # Knowing a timer fired without the lock
//!
//! `pop_due(now)` takes every timer due at `now`, in deadline order, and
//! then publishes that `now` as the set's *fired-through* mark
//! (nanoseconds past the set's `base`, plus one so that 0 means "nothing
//! fired yet"; it only grows; a `now` before `base` publishes nothing, as
//! deadlines before `base` all read as 0).
//!
//! Invariants:
//!
//! 1. A deadline below the mark has passed on the set's clock (the mark is
//!    a `now` read from it). An entry in the wheel whose deadline is below
//!    the mark was inserted below it (a deadline that passed while it was
//!    being registered: another thread's pop came between the caller's
//!    clock read and its insert); an entry that was at or above the mark
//!    when inserted is taken by the very pop that moves the mark past it.
//! 2. So a holder of a key that checked, after its insert, that its
//!    deadline was not below the mark, may later read "below the mark" as
//!    "my entry is gone and my deadline has passed": a woken sleep
//!    completes from one atomic load, without reading the clock and
//!    without taking the lock to remove an entry that is not there
//!    (`sleep.rs`, which checks right after registering).
//! 3. `close` empties the wheel without moving the mark: a sleep woken by a
//!    close is above it, and registers again.
//!
//! # The watch (Go's sysmon, for timers)
//!
//! A runtime's timers are fired by its workers, between tasks. A task that
//! never yields (a loop whose channel operations are always ready) keeps
//! its worker from firing them; if every worker is so busy, a deadline that
//! would end the loop (a context's) never fires. So while no worker sleeps
//! on the set, it keeps one *watch* on the timer thread: a callback due
//! [`WATCH_GRACE`] after the next deadline, which fires whatever the
//! workers left overdue by that much (from the timer thread, as timers made
//! outside a runtime are) and re-arms itself while the workers stay busy.
//! It is armed by an insert that finds nobody sleeping on the set, and by
//! the worker that leaves the poller for work of its own without waking
//! another to take its place (`Worker::wait_in_poller`): the timers
//! registered while it slept there would otherwise wait for whatever task
//! it runs to let go, though another worker is idle.
//! At most one watch per set is pending, so a busy runtime costs the timer
//! thread one wake-up per few milliseconds, and an idle one none.
//!
//! # Closing
//!
//! A runtime that shuts down closes its set: every sleep waiting on it is
//! woken (it re-registers on its next poll, with the timer thread), and
//! every pending `after_func` callback moves to the timer thread at its
//! deadline, leaving a forwarding entry so that `stop`/`reset` still reach it.

use super::clock::Clock;
use super::wheel::Wheel;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::time::{Duration, Instant};

/// How late a runtime's timer may get, while every worker is busy in a task
/// that does not yield, before the timer thread fires it.
pub(crate) const WATCH_GRACE: Duration = Duration::from_millis(5);

/// A timer's place in its set: its id (unique in the set) and its index in
/// the set's wheel. (Small: a `Sleep` holds one, and every task that waits
/// on one carries it; its holder knows the deadline.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    id: NonZeroU64,
    index: u32,
}

/// A registered timer: the set it lives in and its place there.
#[derive(Clone)]
pub(crate) struct Key {
    pub(crate) timers: Arc<Timers>,
    pub(crate) slot: Slot,
}

impl Key {
    /// Whether the set's mark has passed this timer's `deadline` (the one it
    /// was inserted with) on `clock`:
    /// the deadline has passed on that clock, and, if the mark was not past
    /// it just after the insert, the firer has taken the entry (module docs,
    /// "Knowing a timer fired without the lock", invariants #1-#2). `false`
    /// when unsure, and when the set keeps another clock (a sleep polled
    /// off its runtime sits on the timer thread's real clock).
    #[inline]
    pub(crate) fn has_fired(&self, deadline: Instant, clock: &Clock) -> bool {
        // Acquire: pairs with the Release in `pop_due`, published after the
        // entry left the wheel.
        let mark = self.timers.fired_through.load(Ordering::Acquire);
        mark != 0
            && self.timers.nanos_past_base(deadline) < mark
            && self.timers.clock.same_as(clock)
    }
}

/// What happens when a timer fires.
pub(crate) enum Action {
    Wake(Waker),
    Call(Box<dyn FnOnce() + Send + 'static>),
}

impl Action {
    pub(crate) fn run(self) {
        match self {
            Action::Wake(w) => w.wake(),
            Action::Call(f) => {
                // A panicking callback must not stop the clock; the panic
                // hook has reported it.
                let _ = catch_unwind(AssertUnwindSafe(f));
            }
        }
    }
}

/// What the firer of a set is doing (changed only under the lock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WakeAt {
    /// Nobody sleeps on this set: inserts wake nobody.
    Nobody,
    /// The firer sleeps until this deadline.
    Until(Instant),
    /// The firer sleeps with no deadline.
    Forever,
}

/// How the firer of a set is woken early.
pub(crate) enum Sleeper {
    Thread(Condvar),
    Runtime(Arc<mio::Waker>),
}

struct State {
    wheel: Wheel<Action>,
    /// The id of the next timer (from 1).
    next_id: NonZeroU64,
    wake_at: WakeAt,
    /// Set once by a runtime's shutdown (see the module docs).
    closed: bool,
    /// After closing: where each moved callback went, by id.
    forwarded: HashMap<u64, Key>,
    /// A watch is pending on the timer thread (module docs).
    watched: bool,
}

/// Watches pending on the timer thread (module docs): entries of its set
/// that are not timers of anyone's. Signed, and counted after the insert
/// and before the run, so that every moment it is off, it is off by
/// excess in `outside_timers` (which then waits a little longer), never
/// by default (which could let the deadlock detector see no outside timer
/// where there is one).
static WATCHES: AtomicIsize = AtomicIsize::new(0);

/// Timers the timer thread took out of its set and has not finished
/// running (a callback may still be sending).
static FIRING: AtomicUsize = AtomicUsize::new(0);

/// Timers made outside any runtime (or moved out of one that shut down)
/// that are pending or firing on the timer thread, the watches left out
/// (racy, for a moment around each firing): what the deadlock detector
/// waits for, since any of them may wake a runtime's task
/// (`trace/deadlock.rs`).
pub(crate) fn outside_timers() -> usize {
    let Some(thread) = super::thread_timers_if_started() else {
        return 0;
    };
    let all = thread.len() + FIRING.load(Ordering::Relaxed);
    let watches = usize::try_from(WATCHES.load(Ordering::Relaxed)).unwrap_or(0);
    all.saturating_sub(watches)
}

/// Puts `watch` on the timer thread, due at `at`: a runtime's watch (its
/// timers' here, its I/O driver's in `driver/mod.rs`), which the deadlock
/// detector does not count as a timer of anyone's.
pub(crate) fn arm_outside_watch(at: Instant, watch: impl FnOnce() + Send + 'static) {
    let action = Action::Call(Box::new(move || {
        // Relaxed, here and below: a count for the deadlock detector, off
        // only by excess (see `WATCHES`).
        WATCHES.fetch_sub(1, Ordering::Relaxed);
        watch();
    }));
    // The timer thread's set never closes.
    let _ = super::thread_timers().clone().insert(at, action);
    WATCHES.fetch_add(1, Ordering::Relaxed);
}

/// A set of pending timers.
pub(crate) struct Timers {
    state: Mutex<State>,
    sleeper: Sleeper,
    /// `wheel.len()`, readable without the lock (a busy worker's check).
    len: AtomicUsize,
    /// `closed`, readable without the lock (a sleep's re-poll).
    closed: AtomicBool,
    /// The clock the deadlines are on.
    pub(crate) clock: Clock,
    /// Where the fired-through mark counts from.
    base: Instant,
    /// One plus the latest `now` (nanoseconds past `base`) that `pop_due`
    /// took every due timer at; 0 before the first. Written under the lock,
    /// only grows (module docs).
    fired_through: AtomicU64,
}

impl Timers {
    pub(crate) fn new(sleeper: Sleeper, clock: Clock) -> Self {
        let wake_at = match sleeper {
            // The thread sleeps with no deadline until told otherwise.
            Sleeper::Thread(_) => WakeAt::Forever,
            Sleeper::Runtime(_) => WakeAt::Nobody,
        };
        // From the set's own clock: no `now` read from it later is before
        // `base`, so every pop publishes its mark. (A virtual clock reads
        // its own base, taken before this set was built; with
        // `Instant::now()` here, a pop before the clock passed it published
        // nothing, and a sleep it woke never completed.)
        let base = clock.now();
        Self {
            state: Mutex::new(State {
                wheel: Wheel::new(base),
                next_id: NonZeroU64::MIN,
                wake_at,
                closed: false,
                forwarded: HashMap::new(),
                watched: false,
            }),
            sleeper,
            len: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            base,
            clock,
            fired_through: AtomicU64::new(0),
        }
    }

    /// `at` as nanoseconds past `base` (0 before it; saturating).
    #[inline]
    fn nanos_past_base(&self, at: Instant) -> u64 {
        super::clock::nanos_past(self.base, at)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Actions run outside the lock, so a panic never poisons it; recover
        // anyway rather than take timers down.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of pending timers (racy).
    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether a runtime's shutdown closed this set.
    pub(crate) fn is_closed(&self) -> bool {
        // Relaxed: a stale `false` only delays the re-registration to the
        // next poll, which the close's wake causes.
        self.closed.load(Ordering::Relaxed)
    }

    /// Adds a timer; `Err(action)` if the set is closed.
    pub(crate) fn insert(
        self: Arc<Self>,
        deadline: Instant,
        action: Action,
    ) -> Result<Key, Action> {
        let mut st = self.lock();
        if st.closed {
            return Err(action);
        }
        let id = st.next_id;
        st.next_id = id.saturating_add(1);
        let index = st.wheel.insert(deadline, id.get(), action);
        let slot = Slot { id, index };
        self.len.store(st.wheel.len(), Ordering::Relaxed);
        // Nobody sleeps on a runtime's set: its workers are busy. Watch it.
        // (Not on a virtual clock: its deadlines are not real instants, and
        // it only moves when the workers are idle anyway.)
        let watch = matches!(self.sleeper, Sleeper::Runtime(_))
            && !self.clock.is_virtual()
            && st.wake_at == WakeAt::Nobody
            && !st.watched;
        // The watch is due after the earliest deadline (or a lower bound
        // on it), read under this lock.
        let watch_from = watch.then(|| {
            st.watched = true;
            st.wheel.next_deadline().unwrap_or(deadline)
        });
        let wake = match st.wake_at {
            WakeAt::Nobody => false,
            WakeAt::Until(at) => deadline < at,
            WakeAt::Forever => true,
        };
        if wake {
            match &self.sleeper {
                Sleeper::Thread(cond) => {
                    st.wake_at = WakeAt::Until(deadline);
                    cond.notify_one();
                    drop(st);
                }
                Sleeper::Runtime(waker) => {
                    // Once: the poller recomputes its timeout when it wakes.
                    st.wake_at = WakeAt::Nobody;
                    drop(st);
                    // An error here means the poller is gone (the runtime's
                    // shutdown closes the set next).
                    let _ = waker.wake();
                }
            }
        } else {
            drop(st);
        }
        if let Some(first) = watch_from {
            Self::arm_watch(self.clone(), first);
        }
        Ok(Key { timers: self, slot })
    }

    /// Removes a timer and returns what it would have done; `None` if it has
    /// fired. The caller drops the result outside the lock: a waker or
    /// closure may run arbitrary code when dropped.
    pub(crate) fn remove(&self, slot: &Slot) -> Option<Action> {
        let mut st = self.lock();
        if let Some(a) = st.wheel.remove(slot.index, slot.id.get()) {
            self.len.store(st.wheel.len(), Ordering::Relaxed);
            return Some(a);
        }
        if st.forwarded.is_empty() {
            return None; // (skips hashing the id: the common case)
        }
        let fwd = st.forwarded.remove(&slot.id.get())?;
        drop(st);
        fwd.timers.remove(&fwd.slot)
    }

    /// Replaces a pending timer's waker; `false` if it has fired (or the set
    /// was closed: the caller registers again, elsewhere).
    pub(crate) fn update_waker(&self, slot: &Slot, waker: &Waker) -> bool {
        let mut st = self.lock();
        match st.wheel.get_mut(slot.index, slot.id.get()) {
            Some(Action::Wake(w)) => {
                let old = std::mem::replace(w, gust_trace::own_waker(waker));
                drop(st);
                drop(old);
                true
            }
            _ => false,
        }
    }

    /// Moves every timer due at `now` out of the wheel (held locked) into
    /// `due`, in deadline order.
    fn pop_due(&self, st: &mut State, now: Instant, due: &mut Vec<Action>) {
        st.wheel.pop_due(now, due);
        self.len.store(st.wheel.len(), Ordering::Relaxed);
        // A `now` before `base` publishes nothing: every deadline before
        // `base` reads as 0, and some of those may lie after `now`.
        if now < self.base {
            return;
        }
        // Plain load and store: every writer holds the lock. Release: pairs
        // with the Acquire in `Key::has_fired`.
        let mark = self.nanos_past_base(now).saturating_add(1);
        if mark > self.fired_through.load(Ordering::Relaxed) {
            self.fired_through.store(mark, Ordering::Release);
        }
    }

    /// The firer's step: moves every timer due at `now` into `due` and
    /// records that it will sleep until the next deadline (or forever);
    /// returns that next deadline: the wheel's, exact or a lower bound,
    /// and later than `now` (after the pop, every slot left starts after
    /// `now`'s tick, `wheel.rs`), so a firer that sleeps until it and comes
    /// back finds the wheel advanced.
    pub(crate) fn take_due(&self, now: Instant, due: &mut Vec<Action>) -> Option<Instant> {
        let mut st = self.lock();
        self.pop_due(&mut st, now, due);
        let next = st.wheel.next_deadline();
        st.wake_at = next.map_or(WakeAt::Forever, WakeAt::Until);
        let spare = st.wheel.release_spare();
        drop(st);
        drop(spare);
        next
    }

    /// A busy worker's step: moves every timer due at `now` into `due`,
    /// without touching what the sleeping firer (if any) sleeps until.
    pub(crate) fn take_due_busy(&self, now: Instant, due: &mut Vec<Action>) {
        let mut st = self.lock();
        self.pop_due(&mut st, now, due);
    }

    /// Puts the watch of this (runtime's) set on the timer thread, due
    /// [`WATCH_GRACE`] after `first`.
    fn arm_watch(this: Arc<Self>, first: Instant) {
        let Some(at) = first.checked_add(WATCH_GRACE) else {
            this.lock().watched = false;
            return;
        };
        arm_outside_watch(at, move || this.watch_fire());
    }

    /// The watch: fires what the busy workers left overdue by the grace,
    /// and re-arms while they stay busy.
    fn watch_fire(self: Arc<Self>) {
        let mut due = Vec::new();
        let mut st = self.lock();
        // Only what is overdue by the grace: what is due but not that late
        // is the workers' (they fire it in order, onto their own queues).
        if let Some(overdue) = Instant::now().checked_sub(WATCH_GRACE) {
            self.pop_due(&mut st, overdue, &mut due);
        }
        let first = st.wheel.next_deadline();
        let rearm = first.filter(|_| st.wake_at == WakeAt::Nobody && !st.closed);
        st.watched = rearm.is_some();
        drop(st);
        for action in due {
            action.run();
        }
        if let Some(first) = rearm {
            Self::arm_watch(self, first);
        }
    }

    /// The runtime's poller stopped sleeping on this set.
    pub(crate) fn poller_awake(&self) {
        self.lock().wake_at = WakeAt::Nobody;
    }

    /// The worker that left the runtime's poller runs what it found there
    /// without waking another to take its place (`Worker::wait_in_poller`):
    /// if it is held for long, nobody fires this set's timers, so the
    /// timer thread watches them, as it does after an insert while nobody
    /// sleeps on the set.
    pub(crate) fn watch_unattended(self: &Arc<Self>) {
        if self.len() == 0 || self.clock.is_virtual() {
            return;
        }
        let mut st = self.lock();
        if st.wake_at != WakeAt::Nobody || st.watched || st.closed {
            return;
        }
        let Some(first) = st.wheel.next_deadline() else {
            return;
        };
        st.watched = true;
        drop(st);
        Self::arm_watch(self.clone(), first);
    }

    /// The timer thread's wait: until the next deadline, or a notify.
    fn thread_wait<'a>(&self, st: MutexGuard<'a, State>, cond: &Condvar) -> MutexGuard<'a, State> {
        match st.wake_at {
            WakeAt::Until(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                cond.wait_timeout(st, wait)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            _ => cond.wait(st).unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// The body of the `gust-timer` thread for this set (never returns).
    pub(crate) fn run_thread(&self) -> ! {
        let Sleeper::Thread(cond) = &self.sleeper else {
            unreachable!("a runtime's timers have no thread");
        };
        let mut due = Vec::new();
        loop {
            self.take_due(Instant::now(), &mut due);
            if !due.is_empty() {
                // Relaxed: counts for the deadlock detector, which re-reads
                // them (`outside_timers`).
                FIRING.store(due.len(), Ordering::Relaxed);
                for action in due.drain(..) {
                    action.run();
                    FIRING.fetch_sub(1, Ordering::Relaxed);
                }
                continue;
            }
            let st = self.lock();
            // Re-check under the lock: an insert between `take_due` and here
            // saw our `wake_at` and notified nobody yet waiting.
            let earliest = st.wheel.next_deadline();
            if earliest.is_some_and(|d| d <= Instant::now()) {
                continue;
            }
            drop(self.thread_wait(st, cond));
        }
    }

    /// A runtime's shutdown: wakes every waiting sleep (it re-registers on
    /// its next poll, elsewhere) and moves every callback to `to()` (asked
    /// for only if there is one: it starts the timer thread).
    pub(crate) fn close(&self, to: impl FnOnce() -> &'static Arc<Timers>) {
        let mut st = self.lock();
        st.closed = true;
        self.closed.store(true, Ordering::Relaxed);
        let all = st.wheel.drain();
        self.len.store(0, Ordering::Relaxed);
        let mut wake = Vec::new();
        let mut to = Some(to);
        let mut target: Option<&'static Arc<Timers>> = None;
        for (deadline, id, action) in all {
            match action {
                Action::Wake(w) => wake.push(w),
                action @ Action::Call(_) => {
                    let to = *target.get_or_insert_with(|| (to.take().expect("taken once"))());
                    // At the real instant our clock reaches the deadline.
                    let at = self.clock.to_real(deadline);
                    if let Ok(key) = to.clone().insert(at, action) {
                        st.forwarded.insert(id, key);
                    }
                }
            }
        }
        drop(st);
        for w in wake {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> Arc<Timers> {
        Arc::new(Timers::new(Sleeper::Thread(Condvar::new()), Clock::Real))
    }

    /// A timer's key, with its deadline (what its `Sleep` would keep).
    fn key(timers: &Arc<Timers>, deadline: Instant) -> (Key, Instant) {
        let Ok(key) = timers
            .clone()
            .insert(deadline, Action::Wake(Waker::noop().clone()))
        else {
            unreachable!("open set")
        };
        (key, deadline)
    }

    #[test]
    fn fired_through_covers_exactly_the_popped_deadlines() {
        let timers = set();
        let t = timers.base + Duration::from_millis(10);
        let early = key(&timers, t);
        let same = key(&timers, t + Duration::from_nanos(1));
        let late = key(&timers, t + Duration::from_millis(10));
        assert!(
            !early.0.has_fired(early.1, &Clock::Real),
            "nothing popped yet"
        );

        let mut due = Vec::new();
        timers.take_due(t, &mut due);
        assert_eq!(due.len(), 1);
        assert!(early.0.has_fired(early.1, &Clock::Real));
        assert!(
            !same.0.has_fired(same.1, &Clock::Real),
            "1 ns after the pop's `now`"
        );
        assert!(!late.0.has_fired(late.1, &Clock::Real));

        timers.take_due(t + Duration::from_millis(10), &mut due);
        assert_eq!(due.len(), 3);
        assert!(same.0.has_fired(same.1, &Clock::Real) && late.0.has_fired(late.1, &Clock::Real));
        assert!(
            timers.remove(&late.0.slot).is_none(),
            "the mark agrees with the wheel"
        );
    }

    /// Invariant #1: an insert below the mark (its deadline passed while
    /// it was registered) stays in the wheel although `has_fired` says yes,
    /// which is why a sleep checks right after registering.
    #[test]
    fn an_insert_below_the_mark_is_not_taken_by_a_past_pop() {
        let timers = set();
        let t = timers.base + Duration::from_millis(10);
        timers.take_due(t, &mut Vec::new());
        let late = key(&timers, t - Duration::from_millis(1));
        assert!(
            late.0.has_fired(late.1, &Clock::Real),
            "its deadline is below the mark"
        );
        assert!(
            timers.remove(&late.0.slot).is_some(),
            "yet it is in the wheel"
        );
    }

    #[test]
    fn a_pop_before_base_publishes_nothing() {
        let timers = set();
        let Some(before) = timers.base.checked_sub(Duration::from_millis(10)) else {
            return; // the clock started less than 10 ms ago
        };
        let k = key(&timers, before + Duration::from_millis(5));
        let mut due = Vec::new();
        timers.take_due(before, &mut due);
        assert!(due.is_empty());
        assert!(
            !k.0.has_fired(k.1, &Clock::Real),
            "both read as 0 past base, yet the deadline is later"
        );
        timers.take_due(timers.base, &mut due);
        assert_eq!(due.len(), 1);
        assert!(k.0.has_fired(k.1, &Clock::Real));
    }

    #[test]
    fn a_close_leaves_the_mark_alone() {
        let timers = set();
        let k = key(&timers, timers.base + Duration::from_secs(60));
        timers.take_due(timers.base + Duration::from_secs(1), &mut Vec::new());
        // (Only sleeps in the set: the timer thread is not asked for.)
        timers.close(|| unreachable!("no callback to move"));
        assert!(
            !k.0.has_fired(k.1, &Clock::Real),
            "closed, not fired: the sleep registers again"
        );
    }
}
