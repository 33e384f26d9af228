//! The lock word and wait protocol of [`Mutex`](crate::Mutex), as Go's
//! `sync.Mutex` (runtime/sema.go aside): one atomic word and a queue of
//! parked lockers (an `event_listener::Event`).
//!
//! # The word
//!
//! ```text
//! bit 0      LOCKED    the lock is held
//! bit 1      STARVING  hand-off mode: only the starving waiter may lock
//! bit 2      WOKEN     a waiter was notified and has not yet locked or
//!                      gone back to sleep (Go's mutexWoken)
//! bit 3      HANDOFF   the woken waiter is overdue: only a notified waiter
//!                      (or the starving one) may lock
//! bits 4..   waiters   lockers parked (or about to park) on the event
//! ```
//!
//! # Protocol
//!
//! - **Lock, fast path**: CAS `0 -> LOCKED`. One RMW, as Go's.
//! - **Lock, spinning**: a few rounds of pauses and retries (Go spins too:
//!   a critical section is usually shorter than parking and waking); more
//!   rounds while spins keep winning late (`RawMutex::spin_rounds`), none
//!   while the lock is reserved for a waiter (STARVING, HANDOFF) or the
//!   waiters take turns (`fair`, Go's starvation mode).
//! - **Lock, slow path** (a future): listen on the event *first*, then add
//!   one waiter (`fetch_add`), and look at the state that RMW returned: if
//!   the lock was free (and not reserved for a starving waiter), try to take
//!   it; else wait for a notification and try again. The waiter count and
//!   LOCKED live in one word, so the unlocker's RMW and the waiter's RMW are
//!   ordered: either the unlock comes first (the waiter's `fetch_add` sees
//!   LOCKED clear and retries at once) or the waiter's registration comes
//!   first (the unlock's RMW sees a waiter and notifies, and the listener,
//!   registered before the `fetch_add`, gets it). No wake-up is lost.
//! - **Unlock**: clear LOCKED with one RMW (a `fetch_sub`); if it returned any waiter,
//!   notify one listener (all, in hand-off mode, so that the starving one
//!   hears it: event-listener queues listeners in arrival order, but a
//!   waiter that re-listens goes to the back). Outside hand-off mode it
//!   notifies only if no waiter is woken already and nobody took the lock
//!   meanwhile, setting WOKEN with a CAS first (Go's rule): one woken
//!   waiter at a time, so a holder that unlocks and relocks in a loop while
//!   the woken waiter has not run yet pays one RMW per unlock, not a
//!   notification each (which woke the parked waiters one per unlock and
//!   kept both workers contending: 4 tasks at 2 workers took 43-51 ns a
//!   lock, 14 ns with WOKEN; Go's sync.Mutex 16 ns in the same run).
//! - **Woken** (a waiter whose listener fired): it keeps the WOKEN role
//!   until it locks (the CAS that takes the lock clears WOKEN) or goes back
//!   to sleep: then it listens again *first*, and only then clears WOKEN
//!   with an RMW, retrying at once if that RMW shows the lock free. An
//!   unlock either comes before that RMW (the waiter sees the lock free) or
//!   after it (it sees WOKEN clear and notifies the fresh listener): no
//!   wake-up is lost. A waiter notified any other way (a passed-on
//!   notification, hand-off mode) takes the role too: clearing WOKEN too
//!   often costs an extra wake-up, never a lost one.
//! - **Starvation** (Go's rule): a waiter that has waited more than 1 ms
//!   sets STARVING (if nobody has); from then on newcomers and other waiters
//!   leave the free lock alone and only that waiter takes it, clearing
//!   STARVING as it does. A dropped starving waiter clears it too.
//! - **Overdue woken waiter**: STARVING needs the waiter to run, and a
//!   woken waiter may not run while its waker's task holds the worker: a
//!   task that unlocks and relocks in a loop without awaiting keeps its
//!   wakee in its worker's LIFO slot, which other workers do not steal (on
//!   one worker, nothing else runs at all). So the unlocker watches too:
//!   an unlock that finds WOKEN already set counts; the first such unlock
//!   notes the time, and every 16th looks at the clock; past 1 ms it sets
//!   HANDOFF (if the lock is still free). Then a newcomer, or a waiter that
//!   was not notified, leaves the free lock alone (the relocking holder
//!   parks, and its worker runs the woken waiter), and only a notified
//!   waiter (or the starving one) takes it, clearing HANDOFF and WOKEN.
//!   A waiter that locks after waiting past 1 ms sets `fair`, one that
//!   waited less clears it; while it is set, the unlock that wakes a
//!   waiter sets HANDOFF with WOKEN at once, so the waiters take turns in
//!   their order instead of each waiting out its own 1 ms (Go's
//!   starvation mode lasts the same way). HANDOFF lives only while WOKEN does: whoever clears WOKEN without
//!   locking clears HANDOFF with it, so the free lock is never reserved
//!   for nobody. (Found by a check from outside: 8 tasks, a 50 us busy
//!   critical section, relocking at once: seven of them waited the whole
//!   400 ms run at 2 and 4 workers, and never ran at 1.)
//! - **Cancel**: a dropped waiting future removes its waiter count (and its
//!   STARVING bit) and clears WOKEN and HANDOFF (it may hold that role, and the one it
//!   passes its notification on to takes it again); its listener, if
//!   notified, passes the notification on (event-listener does that on
//!   drop), so no wake-up is lost with it.
//!
//! # Invariants
//!
//! 1. The waiter count equals the number of live lock futures that have
//!    added themselves and not yet removed themselves.
//! 2. STARVING is set only by a waiter counted in #1, which alone clears it
//!    (when it locks, or is dropped).
//! 3. LOCKED is set only by a CAS that saw it clear (and, unless the CAS is
//!    the starving waiter's, saw STARVING clear).
//! 4. While WOKEN is set, a counted waiter holds the woken role: the
//!    unlock that set it notified one more listener if any was not notified
//!    yet (a counted waiter owns it: listeners are registered before the
//!    count, and a dropped one passes its notification on), else every
//!    listener was notified already and their waiters will all run. Such a
//!    waiter clears WOKEN before it returns `Pending` with a fresh listener
//!    (`awoke`), and every counted waiter clears it when it locks or is
//!    dropped (whether the role was its own or not: clearing it too often
//!    costs an extra wake-up, never a lost one). So an unlock that skips
//!    the notification because of WOKEN leaves a waiter that will look at
//!    the lock again.
//! 5. HANDOFF is set only while WOKEN is set and the lock is free, and is
//!    cleared whenever WOKEN is (by a counted waiter's lock, a woken
//!    waiter going back to sleep, or a drop). So while it is set a waiter
//!    holds the woken role (#4) and will take the lock or clear both.

#[cfg(loom)]
use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicUsize, Ordering};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use event_listener::{Event, EventListener, IntoNotification, Listener};

const LOCKED: usize = 1;
const STARVING: usize = 2;
const WOKEN: usize = 4;
const HANDOFF: usize = 8;
const WAITER: usize = 16;

/// An unlock that finds a woken waiter still pending looks at the clock
/// once per this many such unlocks (the first notes the time).
const OVERDUE_CHECK_EVERY: u32 = if cfg!(loom) { 1 } else { 16 };

/// Rounds of spinning before a locker parks, at the fewest unless the lock
/// is reserved (then none): 4, 8, ... 256 pauses (about 13 us here: a pause
/// takes 25 ns). Parking costs a wake-up
/// through the executor, tens of microseconds on these machines: with 4
/// rounds, 4 tasks contending at 2 workers took 72-83 ns per lock (Go 26),
/// with 7 rounds 24 ns. Measured again with WOKEN: 2 rounds 8-30 ns, 4
/// rounds 13-29 ns, 7 rounds 15-20 ns (16 tasks; 4 tasks alike).
const SPIN_ROUNDS: u32 = if cfg!(loom) { 0 } else { 7 };

/// Rounds of spinning at the most (8,188 pauses, about 200 us here), while
/// spins keep winning the lock late (`RawMutex::spin_rounds`).
const MAX_SPIN_ROUNDS: u32 = if cfg!(loom) { 0 } else { 11 };

/// A spin that wins the lock in one of its last this many rounds asks for
/// one more round next time. The rounds double, so the last four hold
/// 15/16 of a spin's pauses: a spin grows while the lock comes free for it
/// only after the first 1/16 of its time, so it settles at about 16 times
/// the usual wait, within the bounds. Two instead of four (about 4 times)
/// measured the same to 20% slower on the 16-task row at 2 workers (gust
/// alone, 3 interleaved rounds: 7.9-9.3 against 6.4-7.3 ms per 1M locks;
/// this machine's noise is about that large).
const LATE_WIN_ROUNDS: u32 = 4;

/// How a spin ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Spun {
    /// It took the lock in this round (from 0).
    Won { round: u32 },
    /// Every round failed.
    Failed,
    /// The lock was reserved for a waiter: it stopped before this round.
    Reserved { after: u32 },
}

/// The rounds of the next spin, after a spin of `limit` rounds that ended
/// as `spun` (`RawMutex::spin_rounds`): one more after a win in one of the
/// last `LATE_WIN_ROUNDS` rounds (up to `MAX_SPIN_ROUNDS`), one fewer after
/// a failure (down to `SPIN_ROUNDS`); a reservation says nothing of how
/// long spinning takes, and changes nothing.
fn next_spin_rounds(limit: u32, spun: Spun) -> u32 {
    match spun {
        Spun::Won { round } if round + LATE_WIN_ROUNDS >= limit => (limit + 1).min(MAX_SPIN_ROUNDS),
        Spun::Failed => limit.saturating_sub(1).max(SPIN_ROUNDS),
        Spun::Won { .. } | Spun::Reserved { .. } => limit,
    }
}

/// How long a waiter waits before it asks for a hand-off (Go: 1 ms).
const STARVATION: Duration = Duration::from_millis(1);

/// Whether a waiter waiting since `since` has waited past [`STARVATION`].
#[cfg(not(loom))]
fn waited_too_long(since: Option<Instant>) -> bool {
    since.is_some_and(|t| t.elapsed() > STARVATION)
}

/// Nanoseconds on a process-wide monotonic clock.
#[cfg(not(loom))]
fn now_nanos() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Whether a woken waiter noted pending at `noted` (`now_nanos`) is
/// overdue.
#[cfg(not(loom))]
fn overdue(noted: u64) -> bool {
    now_nanos().saturating_sub(noted) > STARVATION.as_nanos() as u64
}

#[cfg(loom)]
fn now_nanos() -> u64 {
    0
}

/// Under loom, never (as `waited_too_long`), unless the model made the
/// mutex with `RawMutex::overdue_at_once` (see `RawMutex::overdue`).
#[cfg(loom)]
fn overdue(_noted: u64) -> bool {
    false
}

/// Under loom, never: the real clock would make a model nondeterministic
/// (on a loaded machine a slow execution took the starving branch where
/// its replay did not, and loom aborted: "Is the model fully
/// deterministic?"). The models explore the path a fast machine takes.
#[cfg(loom)]
fn waited_too_long(_since: Option<Instant>) -> bool {
    false
}

/// The lock word and the parked lockers.
pub(crate) struct RawMutex {
    state: AtomicUsize,
    event: Event,
    /// Unlocks that found WOKEN set since it was last set, and when the
    /// first of them came (`now_nanos`): the overdue check. Plain loads
    /// and stores: unlockers rarely overlap, and a lost count only delays
    /// the check.
    woken_unlocks: std::sync::atomic::AtomicU32,
    woken_noted: std::sync::atomic::AtomicU64,
    /// Set by a waiter that locked after waiting past 1 ms, cleared by one
    /// that waited less (Go's starvation mode, from the waiters' side):
    /// while set, an unlock that wakes a waiter reserves the lock for it at
    /// once (WOKEN with HANDOFF), so the waiters take turns in order.
    fair: std::sync::atomic::AtomicBool,
    /// How many rounds a locker spins before it parks: from `SPIN_ROUNDS`
    /// up to `MAX_SPIN_ROUNDS` (`next_spin_rounds`: one more after a win in
    /// the last `LATE_WIN_ROUNDS` rounds, one fewer after a failure), in
    /// the spirit of glibc's adaptive mutex: spinning grows only while it
    /// pays. It pays when a holder unlocks and relocks in a loop on another
    /// worker: a spinner that catches the lock free now and then, and
    /// stays off the lock word in between, lets each worker run long
    /// stretches uncontended (16 tasks at 2 workers, 1M locks: 23-27 ms
    /// with 7 rounds, 7-9 ms adaptive; 4 tasks 10-11 -> 7 ms). A holder
    /// that keeps the lock across an `.await` makes every spin fail, and
    /// the spins shrink back to 7 rounds (from 11: four failed spins, about
    /// 380 us of pauses). The cost that stays: a spinner whose worker's own
    /// queue holds the task that would unlock delays it by its whole spin
    /// (a task's worker does not run another task while it spins), up to
    /// 200 us instead of 13. Relaxed loads and stores: a hint; a lost
    /// update costs a round.
    spin_rounds: std::sync::atomic::AtomicU32,
    /// Under loom: every woken waiter is overdue at once.
    #[cfg(loom)]
    overdue_at_once: bool,
}

impl RawMutex {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            event: Event::new(),
            woken_unlocks: std::sync::atomic::AtomicU32::new(0),
            woken_noted: std::sync::atomic::AtomicU64::new(0),
            fair: std::sync::atomic::AtomicBool::new(false),
            spin_rounds: std::sync::atomic::AtomicU32::new(SPIN_ROUNDS),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            event: Event::new(),
            woken_unlocks: std::sync::atomic::AtomicU32::new(0),
            woken_noted: std::sync::atomic::AtomicU64::new(0),
            fair: std::sync::atomic::AtomicBool::new(false),
            spin_rounds: std::sync::atomic::AtomicU32::new(SPIN_ROUNDS),
            overdue_at_once: false,
        }
    }

    /// Under loom: a mutex whose woken waiters are overdue at once (the
    /// HANDOFF model).
    #[cfg(all(loom, test))]
    fn overdue_at_once() -> Self {
        Self {
            overdue_at_once: true,
            ..Self::new()
        }
    }

    /// Whether a woken waiter noted pending at `noted` is overdue.
    fn overdue(&self, noted: u64) -> bool {
        #[cfg(loom)]
        if self.overdue_at_once {
            return true;
        }
        overdue(noted)
    }

    /// Locks if the lock is free and nobody is starving.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        // Acquire: pairs with the Release of `unlock`, so the previous
        // holder's writes are visible to us.
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            || self.try_lock_slow(false, false, false)
    }

    /// Spins for the lock before a locker parks, as Go's sync.Mutex does (a
    /// critical section is usually shorter than a park and a wake-up), for
    /// `spin_rounds` rounds of growing pauses; true if it locked.
    fn spin(&self) -> bool {
        let limit = self.spin_rounds.load(Ordering::Relaxed);
        let spun = self.spin_up_to(limit);
        let next = next_spin_rounds(limit, spun);
        if next != limit {
            self.spin_rounds.store(next, Ordering::Relaxed);
        }
        matches!(spun, Spun::Won { .. })
    }

    /// The spin itself: up to `limit` rounds.
    fn spin_up_to(&self, limit: u32) -> Spun {
        for round in 0..limit {
            // A lock reserved for a waiter (STARVING, HANDOFF), or Go's
            // starvation mode (`fair`: the next unlocks reserve it), does
            // not come free for a newcomer: park at once (Go spins only in
            // normal mode). Relaxed: a hint; the slow path's RMW re-reads
            // the word.
            if self.fair.load(Ordering::Relaxed)
                || self.state.load(Ordering::Relaxed) & (STARVING | HANDOFF) != 0
            {
                return Spun::Reserved { after: round };
            }
            for _ in 0..(4u32 << round) {
                std::hint::spin_loop();
            }
            if self.try_lock() {
                return Spun::Won { round };
            }
        }
        Spun::Failed
    }

    /// `try_lock` when waiters are counted: take a free lock unless it is
    /// reserved for a starving waiter (`starving`: we are that waiter) or,
    /// under HANDOFF, for a notified one (`awoke`). A counted waiter
    /// (`waiter`) clears WOKEN and HANDOFF in the same CAS (invariant #4).
    fn try_lock_slow(&self, starving: bool, waiter: bool, awoke: bool) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED != 0
                || (s & STARVING != 0 && !starving)
                || (s & HANDOFF != 0 && !starving && !awoke)
            {
                return false;
            }
            let mut new = s | LOCKED;
            if starving {
                new &= !STARVING;
            }
            if waiter {
                new &= !(WOKEN | HANDOFF);
            }
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => s = now,
            }
        }
    }

    /// A future that locks.
    #[inline]
    pub(crate) fn lock(&self) -> Lock<'_> {
        Lock {
            raw: self,
            listener: None,
            since: None,
            starving: false,
            awoke: false,
        }
    }

    /// Unlocks. The caller holds the lock.
    #[inline]
    pub(crate) fn unlock(&self) {
        // Release: pairs with the Acquire of the next locker. A subtraction
        // (LOCKED is set: we hold the lock) is one `lock xadd` on x86, where
        // a `fetch_and` whose result is used is a CAS loop.
        let old = self.state.fetch_sub(LOCKED, Ordering::Release);
        if old >= WAITER {
            self.wake(old - LOCKED);
        }
    }

    /// Wakes a waiter after an unlock that left the word at `s`.
    #[cold]
    fn wake(&self, s: usize) {
        if s & STARVING != 0 {
            self.event.notify(usize::MAX);
            return;
        }
        // One woken waiter at a time (invariant #4), and none if a newcomer
        // took the lock already: its unlock will see the waiters.
        // Relaxed: nothing is published through WOKEN. A waiter that this
        // word counts inserted its listener, under the event's list lock,
        // before its counting RMW; had the notification below taken that
        // lock first, our unlock RMW would come before that count in the
        // word's order, yet it read it. So the notification finds it.
        let woken = if self.fair.load(Ordering::Relaxed) {
            WOKEN | HANDOFF
        } else {
            WOKEN
        };
        let set_woken = self
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                (s >= WAITER && s & (LOCKED | WOKEN | STARVING) == 0).then_some(s | woken)
            });
        match set_woken {
            Ok(_) => {
                self.woken_unlocks.store(0, Ordering::Relaxed);
                self.event.notify(1.additional());
            }
            Err(s) if s & (WOKEN | LOCKED | HANDOFF | STARVING) == WOKEN => self.watch_woken(),
            Err(_) => {}
        }
    }

    /// An unlock found the lock free with a woken waiter still pending:
    /// past 1 ms of that, reserve the lock for it (HANDOFF, module docs).
    fn watch_woken(&self) {
        let n = self.woken_unlocks.load(Ordering::Relaxed);
        self.woken_unlocks
            .store(n.wrapping_add(1), Ordering::Relaxed);
        if n == 0 {
            self.woken_noted.store(now_nanos(), Ordering::Relaxed);
        } else if n % OVERDUE_CHECK_EVERY == 0
            && self.overdue(self.woken_noted.load(Ordering::Relaxed))
        {
            // Relaxed: as WOKEN's; only while WOKEN is set and the lock
            // free (invariant #5).
            let _ = self
                .state
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                    (s & (WOKEN | LOCKED | HANDOFF | STARVING) == WOKEN).then_some(s | HANDOFF)
                });
        }
    }
}

/// The slow path of a lock (see the protocol above).
pub(crate) struct Lock<'a> {
    raw: &'a RawMutex,
    /// Registered before we are counted as a waiter.
    listener: Option<EventListener>,
    /// When we first waited; `Some` once we are counted (invariant #1).
    since: Option<Instant>,
    /// We set STARVING (invariant #2).
    starving: bool,
    /// Our listener fired: we hold the WOKEN role (invariant #4).
    awoke: bool,
}

impl Future for Lock<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let raw = this.raw;
        loop {
            if this.since.is_none() {
                if raw.try_lock() {
                    return Poll::Ready(());
                }
                if raw.spin() {
                    return Poll::Ready(());
                }
                // Listen first, then count ourselves, then look again at
                // the word that RMW returned (no lost wake-up).
                this.listener = Some(raw.event.listen());
                this.since = Some(Instant::now());
                let s = raw.state.fetch_add(WAITER, Ordering::Relaxed);
                if s & (LOCKED | STARVING) == 0 && this.try_lock_waiting() {
                    return Poll::Ready(());
                }
                continue;
            }
            if this.try_lock_waiting() {
                return Poll::Ready(());
            }
            let listener = this.listener.get_or_insert_with(|| raw.event.listen());
            match Pin::new(listener).poll(cx) {
                Poll::Ready(()) => {
                    // Notified: try again (a fresh listener first, if we
                    // have to wait again).
                    this.listener = None;
                    this.awoke = true;
                    if this.try_lock_waiting() {
                        return Poll::Ready(());
                    }
                    this.listener = Some(raw.event.listen());
                    // Re-check after listening: an unlock in between
                    // notified before we listened.
                    continue;
                }
                Poll::Pending => {
                    if this.awoke {
                        // Back to sleep, listening already: give up the
                        // woken role, and look again if the lock is free
                        // (invariant #4).
                        this.awoke = false;
                        if raw.state.fetch_and(!(WOKEN | HANDOFF), Ordering::Relaxed) & LOCKED == 0
                        {
                            continue;
                        }
                    }
                    if !this.starving
                        && waited_too_long(this.since)
                        && raw.state.fetch_or(STARVING, Ordering::Relaxed) & STARVING == 0
                    {
                        this.starving = true;
                        continue; // the lock may be free already
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Lock<'_> {
    /// A counted waiter's attempt; on success it holds the lock, is no
    /// longer counted, and has cleared STARVING if it set it, and WOKEN in
    /// any case: it may have been notified without having seen it yet, so
    /// it cannot know whether the role is its own; if it is another's, that
    /// one only clears it again (an extra wake-up at most, never a lost
    /// one: invariant #4).
    ///
    /// A notification its listener got and it has not seen is discarded,
    /// not passed on: it was a call to come and lock, and this waiter has
    /// the lock; its unlock wakes the next waiter (if nobody is woken
    /// already). Passed on, it woke the next waiter while the lock was
    /// still held, and that one, having seen its notification, had to
    /// listen again at the back of the queue: parked lockers got the lock
    /// out of the order they parked in (five: 0, 1, 3, 4, 2).
    fn try_lock_waiting(&mut self) -> bool {
        if !self.raw.try_lock_slow(self.starving, true, self.awoke) {
            return false;
        }
        // Go's starvation mode, entered and left by the waiters: see `fair`.
        let waited_long = waited_too_long(self.since);
        if self.raw.fair.load(Ordering::Relaxed) != waited_long {
            self.raw.fair.store(waited_long, Ordering::Relaxed);
        }
        self.starving = false;
        self.awoke = false;
        self.raw.state.fetch_sub(WAITER, Ordering::Relaxed);
        self.since = None;
        if let Some(listener) = self.listener.take() {
            listener.discard();
        }
        true
    }
}

impl Drop for Lock<'_> {
    fn drop(&mut self) {
        if self.since.is_none() {
            return;
        }
        let sub = if self.starving {
            WAITER + STARVING
        } else {
            WAITER
        };
        // Uncounted, and WOKEN (with HANDOFF) cleared in the same RMW
        // (invariants #4, #5).
        let Ok(old) = self
            .raw
            .state
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some((s - sub) & !(WOKEN | HANDOFF))
            })
        else {
            unreachable!("the update always applies")
        };
        // A free lock with others waiting: we may have taken a notification
        // (or the reservation) meant to get one of them going; pass it on.
        // A spurious wake-up only costs the woken one a retry.
        if old & LOCKED == 0 && old >= 2 * WAITER {
            if self.starving {
                self.raw.event.notify(usize::MAX);
            } else {
                self.raw.event.notify(1.additional());
            }
        }
    }
}

/// The adaptive spin: its rule, and where a spin stops.
#[cfg(all(test, not(loom)))]
mod spin_tests {
    use super::{
        HANDOFF, LATE_WIN_ROUNDS, MAX_SPIN_ROUNDS, RawMutex, SPIN_ROUNDS, Spun, WAITER, WOKEN,
        next_spin_rounds,
    };
    use std::sync::atomic::Ordering;

    /// A win in one of the last `LATE_WIN_ROUNDS` rounds adds a round, up
    /// to the ceiling; an earlier win, or a reservation, changes nothing;
    /// a failure takes one off, down to the floor.
    #[test]
    fn the_rule() {
        let late = SPIN_ROUNDS - LATE_WIN_ROUNDS;
        assert_eq!(
            next_spin_rounds(SPIN_ROUNDS, Spun::Won { round: late }),
            SPIN_ROUNDS + 1
        );
        assert_eq!(
            next_spin_rounds(SPIN_ROUNDS, Spun::Won { round: late - 1 }),
            SPIN_ROUNDS
        );
        let last = MAX_SPIN_ROUNDS - 1;
        assert_eq!(
            next_spin_rounds(MAX_SPIN_ROUNDS, Spun::Won { round: last }),
            MAX_SPIN_ROUNDS
        );
        assert_eq!(
            next_spin_rounds(SPIN_ROUNDS + 2, Spun::Failed),
            SPIN_ROUNDS + 1
        );
        assert_eq!(next_spin_rounds(SPIN_ROUNDS, Spun::Failed), SPIN_ROUNDS);
        assert_eq!(
            next_spin_rounds(SPIN_ROUNDS + 2, Spun::Reserved { after: 0 }),
            SPIN_ROUNDS + 2
        );
    }

    /// A spin that fails (the lock held throughout, as by a holder parked
    /// on an `.await`) runs every round and takes one off the next spin.
    #[test]
    fn a_failed_spin_shrinks_the_next_one() {
        let m = RawMutex::new();
        assert!(m.try_lock());
        assert_eq!(m.spin_up_to(3), Spun::Failed);
        m.spin_rounds.store(SPIN_ROUNDS + 1, Ordering::Relaxed);
        assert!(!m.spin(), "the lock is held");
        assert_eq!(m.spin_rounds.load(Ordering::Relaxed), SPIN_ROUNDS);
        m.unlock();
        assert_eq!(m.spin_up_to(3), Spun::Won { round: 0 });
    }

    /// A lock reserved for a waiter (HANDOFF), or Go's starvation mode
    /// (`fair`), ends the spin before its first round: it will not come
    /// free for a newcomer.
    #[test]
    fn a_reserved_lock_ends_the_spin_at_once() {
        let m = RawMutex::new();
        m.state.store(WOKEN | HANDOFF | WAITER, Ordering::Relaxed);
        assert_eq!(m.spin_up_to(MAX_SPIN_ROUNDS), Spun::Reserved { after: 0 });
        assert!(!m.try_lock(), "reserved");
        let m = RawMutex::new();
        m.fair.store(true, Ordering::Relaxed);
        assert_eq!(m.spin_up_to(MAX_SPIN_ROUNDS), Spun::Reserved { after: 0 });
    }
}

/// loom models of the lock word (run by ci/loom.sh: `--lib loom`).
#[cfg(all(test, loom))]
mod loom_tests {
    use super::RawMutex;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    use loom::thread;

    /// Two lockers, one parking: mutual exclusion, and the parked one is
    /// always woken (loom reports a deadlock if a wake-up is lost).
    #[test]
    fn loom_lock_unlock_wakes_the_waiter() {
        loom::model(|| {
            let m = Arc::new(RawMutex::new());
            let inside = Arc::new(AtomicUsize::new(0));
            let ts: Vec<_> = (0..2)
                .map(|_| {
                    let (m, inside) = (m.clone(), inside.clone());
                    thread::spawn(move || {
                        loom::future::block_on(m.lock());
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                        inside.fetch_sub(1, Ordering::SeqCst);
                        m.unlock();
                    })
                })
                .collect();
            for t in ts {
                t.join().unwrap();
            }
            assert!(m.try_lock(), "left locked");
        });
    }

    /// Three lockers, the holder locking twice in a row: an unlock that
    /// finds WOKEN set notifies nobody, and the woken waiter, whether it
    /// locks or goes back to sleep, leaves the role so that the next unlock
    /// wakes the other one (loom reports a deadlock if a wake-up is lost).
    #[test]
    fn loom_woken_role_is_never_stale() {
        loom::model(|| {
            let m = Arc::new(RawMutex::new());
            assert!(m.try_lock());
            let ts: Vec<_> = (0..2)
                .map(|_| {
                    let m = m.clone();
                    thread::spawn(move || {
                        loom::future::block_on(m.lock());
                        m.unlock();
                    })
                })
                .collect();
            m.unlock();
            loom::future::block_on(m.lock());
            m.unlock();
            for t in ts {
                t.join().unwrap();
            }
            assert!(m.try_lock(), "left locked");
        });
    }

    /// HANDOFF: a holder that unlocks and relocks while its woken waiter
    /// has not run yet gets the lock reserved for that waiter on its third
    /// unlock (every unlock checks under loom, and the waiter is overdue
    /// at once); the relocking holder then waits, and both finish (loom
    /// reports a deadlock if the reserved lock is left to nobody).
    #[test]
    fn loom_overdue_woken_waiter_gets_the_lock() {
        loom::model(|| {
            let m = Arc::new(RawMutex::overdue_at_once());
            assert!(m.try_lock());
            let m2 = m.clone();
            let waiter = thread::spawn(move || {
                loom::future::block_on(m2.lock());
                m2.unlock();
            });
            for _ in 0..3 {
                m.unlock();
                loom::future::block_on(m.lock());
            }
            m.unlock();
            waiter.join().unwrap();
            assert!(m.try_lock(), "left locked");
        });
    }

    /// A waiting lock dropped while the holder unlocks: the other waiter
    /// still gets the lock (a notification taken by the dropped one goes on).
    #[test]
    fn loom_dropped_waiter_passes_the_wake_on() {
        use std::pin::pin;
        use std::task::{Context, Poll};
        loom::model(|| {
            let m = Arc::new(RawMutex::new());
            assert!(m.try_lock());
            let m2 = m.clone();
            let quitter = thread::spawn(move || {
                let mut fut = pin!(m2.lock());
                let mut cx = Context::from_waker(futures::task::noop_waker_ref());
                if let Poll::Ready(()) = fut.as_mut().poll(&mut cx) {
                    m2.unlock();
                }
            });
            let m3 = m.clone();
            let stayer = thread::spawn(move || {
                loom::future::block_on(m3.lock());
                m3.unlock();
            });
            m.unlock();
            quitter.join().unwrap();
            stayer.join().unwrap();
            assert!(m.try_lock());
        });
    }
}
