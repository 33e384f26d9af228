//! The WaitGroup state word: counter, generation and waiter flag in one
//! `AtomicU64`, changed only by read-modify-write transitions.
//!
//! # Bit layout
//!
//! ```text
//!  63                              32 31                               1   0
//! +----------------------------------+----------------------------------+---+
//! |             counter              |            generation            | W |
//! +----------------------------------+----------------------------------+---+
//! ```
//!
//! * `counter` (32 bits): `add(n)` adds `n`, `sub(n)` (`done()`, a negative
//!   `add`) subtracts `n`. It never goes below zero: a `sub` past zero is
//!   refused before any store (invariant #1), and an `add` that would pass
//!   `u32::MAX` is refused the same way.
//! * `generation` (31 bits, wrapping): bumped by the `done()` that takes the
//!   counter to zero while `W` is set. A waiter remembers the generation it
//!   registered in; a different generation means "the counter reached zero
//!   after I started waiting", even if a later `add` has raised it again.
//! * `W` (waiters flag): set by a waiter when it registers, cleared by the
//!   zero-transition that bumps the generation and wakes every listener.
//!
//! Go's `sync.WaitGroup` keeps `counter | waiter count` and declares an `Add`
//! racing with the end of a `Wait` a misuse (it panics: "WaitGroup is reused
//! before previous Wait has returned"). Async waits can be dropped at any time,
//! so a waiter *count* would have to be decremented by a cancelled future,
//! racing with the zero-transition that already consumed it. A flag plus a
//! generation needs no cleanup on drop, and makes reuse while old waiters are
//! still waking up legal: those waiters see the new generation and return.
//!
//! # Invariants
//!
//! 1. The counter only changes through [`State::add`] and [`State::sub`],
//!    each a single compare-and-swap that checks the bounds before storing.
//! 2. A waiter registers by reading the generation from a word whose counter
//!    is above zero and whose `W` is set (setting it with a CAS when clear);
//!    so the zero-transition that ends its wait sees `W` and bumps the
//!    generation it read.
//! 3. The zero-transition bumps the generation and clears `W` in the same RMW
//!    that stores counter 0, then notifies *all* listeners. A waiter creates its
//!    event listener before it registers, so a notification can never fall
//!    between its registration and its listener.

use crate::sync::{AtomicU64, Ordering};

/// Where the counter starts.
const COUNTER_SHIFT: u32 = 32;
/// One unit of the generation.
const GEN_ONE: u64 = 0b10;
/// The generation bits.
const GEN_MASK: u64 = 0xFFFF_FFFE;
/// Set while at least one waiter may be registered in the current generation.
const WAITING: u64 = 0b1;

/// The atomic state word. See the module docs for the layout.
pub(crate) struct State(AtomicU64);

/// A copy of the state word, read at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(u64);

impl Snapshot {
    /// The counter.
    pub(crate) fn counter(self) -> u32 {
        (self.0 >> COUNTER_SHIFT) as u32
    }

    /// The generation (the bits in place, for equality tests only).
    pub(crate) fn generation(self) -> u64 {
        self.0 & GEN_MASK
    }

    /// Whether a waiter may be registered.
    fn has_waiters(self) -> bool {
        self.0 & WAITING != 0
    }
}

/// What [`State::done`] did.
#[must_use]
pub(crate) enum TransitionToDone {
    /// The counter went down and is still above zero, or reached zero with no
    /// waiter registered.
    Decremented,
    /// The counter reached zero and waiters were registered: the caller must
    /// notify every listener.
    ReleaseWaiters,
    /// The counter was already zero; nothing was stored.
    Negative,
}

/// What [`State::register`] did.
#[must_use]
pub(crate) enum TransitionToWaiting {
    /// The counter is zero: the wait is over.
    Complete,
    /// The waiter is registered in the generation given (its bits in place).
    Registered(u64),
}

impl State {
    /// A zero counter, generation 0, no waiters.
    pub(crate) fn new() -> Self {
        State(AtomicU64::new(0))
    }

    /// Reads the word. `Acquire`: a waiter that sees the counter at zero or a
    /// new generation must see every write made before the `done` calls; pairs
    /// with the `Release` of [`State::done`].
    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.0.load(Ordering::Acquire))
    }

    /// Adds `n` to the counter; `false` (nothing stored) if it would overflow.
    ///
    /// `Relaxed`: an `add` publishes nothing; a waiter only acts on a zero
    /// counter, which it learns from a `done` (see [`State::load`]).
    pub(crate) fn add(&self, n: u32) -> bool {
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let s = Snapshot(cur);
            if s.counter().checked_add(n).is_none() {
                return false;
            }
            let next = cur + (u64::from(n) << COUNTER_SHIFT);
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Subtracts one from the counter (invariants #1 and #3).
    pub(crate) fn done(&self) -> TransitionToDone {
        self.sub(1)
    }

    /// Subtracts `n` (at least 1) from the counter in one transition
    /// (invariants #1 and #3); `Negative`, with nothing stored, if the counter
    /// is below `n`.
    ///
    /// `Release` on success pairs with the `Acquire` in [`State::load`] and
    /// [`State::register`]: everything the task did before `done` is visible to
    /// the waiter that sees the zero. Earlier `done`s are covered too, since
    /// each RMW continues the release sequence of the ones before it.
    pub(crate) fn sub(&self, n: u32) -> TransitionToDone {
        debug_assert!(n > 0, "State::sub(0)");
        let mut cur = self.0.load(Ordering::Relaxed);
        loop {
            let s = Snapshot(cur);
            let (next, transition) = match s.counter().checked_sub(n) {
                None => return TransitionToDone::Negative,
                Some(0) if s.has_waiters() => {
                    // Counter to zero, next generation, flag cleared.
                    let generation = (cur & GEN_MASK).wrapping_add(GEN_ONE) & GEN_MASK;
                    (generation, TransitionToDone::ReleaseWaiters)
                }
                Some(_) => (
                    cur - (u64::from(n) << COUNTER_SHIFT),
                    TransitionToDone::Decremented,
                ),
            };
            match self
                .0
                .compare_exchange_weak(cur, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return transition,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Registers a waiter (invariant #2). The caller must have created its
    /// event listener before calling this (invariant #3).
    ///
    /// `Acquire` on both outcomes: `Complete` is decided from the value read,
    /// and must see the writes of the `done` calls (pairs with their `Release`).
    pub(crate) fn register(&self) -> TransitionToWaiting {
        let mut cur = self.0.load(Ordering::Acquire);
        loop {
            let s = Snapshot(cur);
            if s.counter() == 0 {
                return TransitionToWaiting::Complete;
            }
            if s.has_waiters() {
                return TransitionToWaiting::Registered(s.generation());
            }
            match self.0.compare_exchange_weak(
                cur,
                cur | WAITING,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return TransitionToWaiting::Registered(s.generation()),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Whether a waiter registered in `generation` may return.
    pub(crate) fn is_released(&self, generation: u64) -> bool {
        let s = self.load();
        s.counter() == 0 || s.generation() != generation
    }
}
