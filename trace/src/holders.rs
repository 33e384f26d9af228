//! Who holds a waiting task's waker (crate docs, "Who holds the waker").
//!
//! # The problem
//!
//! A wait reason says what a poll waited on, not who can end the wait. A
//! task that awaits `futures::future::select(rx.recv(), other)` records
//! "chan receive", yet a plain thread may end its wait through `other`:
//! judged by its reason alone, a deadlock detector would report a program
//! that is only waiting.
//!
//! # The design
//!
//! Whatever can make a waiting task runnable again holds a clone of its
//! waker. So an executor polls a task with a *polled* waker ([`Polled`]):
//! a record on its stack, for that poll only, holding the task's real
//! waker and the word that counts the task's foreign wakers. Cloning the
//! polled waker gives
//! - the real waker itself, when a gust wait clones it for itself: through
//!   [`own_waker`] and [`real_waker`] (which do not even clone the polled
//!   waker: its vtable tells it apart, and the record holds the real one),
//!   or inside [`owning`](crate::owning) (the waits of crates gust builds
//!   on, which clone inside);
//! - else a *foreign* waker: a small box holding a clone of the real waker
//!   and a pointer to the count word, whose count goes up by one for the
//!   box's life. Clones of a foreign waker are foreign.
//!
//! An executor judges a waiting task durably blocked only while its count
//! is zero ([`foreign_holders`]). gust's own waits keep real wakers: their
//! wakes and drops cost what they did, their clones one pointer compare
//! more. A foreign future pays a box per clone, and, since its kept waker
//! never `will_wake`s the polled one, a clone per poll.
//!
//! # Rejected
//!
//! - Counting clones per poll (how many the poll made against how many its
//!   gust waits declared): a foreign future that keeps its waker across
//!   polls (`will_wake`) clones only in its first one, and a loop around a
//!   foreign combinator polls it again and again.
//! - A polled waker that lives as long as the task (the real waker's parts
//!   in the task's header): 24 bytes more per task left glibc's fast size
//!   classes (spawn-and-join +25%), and every wake and drop of a gust
//!   wait's waker went through one more indirect call (ping-pong +28%).
//! - Telling the polled waker apart by a thread-local record of the poll:
//!   a thread-local read per clone and a second one per poll (+3-4% of
//!   the instructions of a ping-pong); the vtable's address says it.
//!
//! What it misses, on the safe side: the detector judges a state once per
//! step of progress, so a foreign waker dropped without waking (its future
//! dropped by a plain thread while the task waits) leaves the task
//! unreported until something else happens in its runtime; a
//! `mem::forget`-ten foreign waker hides its task for good; and a
//! combinator that wakes its parts
//! through wakers of its own (`FuturesUnordered`, tokio's `JoinSet`) keeps one
//! foreign clone of the task's waker, so a task waiting in one is never
//! judged durably blocked, even when only gust waits are inside.
//!
//! # Invariants
//!
//! 1. An owner's count is the number of its foreign wakers alive: +1 when
//!    one is made, -1 when one is consumed (dropped, or woken by value).
//! 2. A foreign waker woken by value wakes its owner *before* its count
//!    drops: a detector that sees the count at zero sees the wake-up's
//!    effect too (the task runnable, its poll counted).
//! 3. A polled waker is only lent (never dropped or woken by value), and
//!    only while its record is alive and unmoved ([`Polled::with_waker`]).

use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{RawWaker, RawWakerVTable, Waker};

/// Where the count of foreign wakers starts in an owner's count word: the
/// 44 bits below are the owner's (a task's id), the 20 above count (a
/// million foreign wakers of one task alive).
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// // Task id 9 with two foreign wakers alive.
/// let word = AtomicU64::new(2 << gust_trace::FOREIGN_SHIFT | 9);
/// assert_eq!(gust_trace::foreign_holders(&word), 2);
/// ```
pub const FOREIGN_SHIFT: u32 = 44;

/// One foreign waker in a count word.
const FOREIGN_ONE: u64 = 1 << FOREIGN_SHIFT;

/// How many foreign wakers of an owner are alive, from its count word
/// (module docs).
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// let word = AtomicU64::new(42); // an id, no foreign waker
/// assert_eq!(gust_trace::foreign_holders(&word), 0);
/// ```
#[inline]
pub fn foreign_holders(word: &AtomicU64) -> u64 {
    // Acquire: pairs with the Release decrements, so that the wake-up a
    // consumed foreign waker made before it is seen (invariant #2).
    word.load(Ordering::Acquire) >> FOREIGN_SHIFT
}

/// One poll's waker record (module docs): the task's real waker and its
/// count word. For executors.
///
/// ```
/// use std::sync::atomic::AtomicU64;
/// use std::task::Waker;
/// let count = AtomicU64::new(0);
/// let real = Waker::noop();
/// // SAFETY: `count` outlives every clone of `real` (the end of this
/// // example: the noop waker keeps nothing alive).
/// let record = unsafe { gust_trace::Polled::new(real, &count) };
/// record.with_waker(|polled| {
///     // A gust wait keeps the real waker; anything else a counted one.
///     assert!(gust_trace::own_waker(polled).will_wake(real));
///     let foreign = polled.clone();
///     assert_eq!(gust_trace::foreign_holders(&count), 1);
///     drop(foreign);
/// });
/// assert_eq!(gust_trace::foreign_holders(&count), 0);
/// ```
#[derive(Debug)]
pub struct Polled<'a> {
    real: &'a Waker,
    count: &'a AtomicU64,
}

impl<'a> Polled<'a> {
    /// A record for a poll of the owner whose real waker is `real` and
    /// whose foreign wakers `count` counts (bits from [`FOREIGN_SHIFT`]
    /// up).
    ///
    /// # Safety
    ///
    /// `count` lives as long as any clone of `real` (it is in the owner's
    /// task header or `Arc`, which the real waker keeps alive): a foreign
    /// waker gives its count back when it is dropped, however late.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// let count = AtomicU64::new(0);
    /// // SAFETY: `count` outlives every clone of the noop waker made here.
    /// let record = unsafe { gust_trace::Polled::new(std::task::Waker::noop(), &count) };
    /// assert_eq!(record.with_waker(|w| gust_trace::real_waker(w).data()), std::ptr::null());
    /// ```
    #[inline]
    pub unsafe fn new(real: &'a Waker, count: &'a AtomicU64) -> Self {
        Self { real, count }
    }

    /// Calls `f` with the polled waker (module docs), lent for the call.
    ///
    /// ```
    /// use std::sync::atomic::AtomicU64;
    /// use std::task::{Context, Poll};
    /// let count = AtomicU64::new(0);
    /// // SAFETY: `count` outlives every waker made here.
    /// let record = unsafe { gust_trace::Polled::new(std::task::Waker::noop(), &count) };
    /// // An executor polls its task's future with it.
    /// let mut fut = std::pin::pin!(async { 5 });
    /// let out = record.with_waker(|w| fut.as_mut().poll(&mut Context::from_waker(w)));
    /// assert_eq!(out, Poll::Ready(5));
    /// ```
    #[inline]
    pub fn with_waker<R>(&self, f: impl FnOnce(&Waker) -> R) -> R {
        let raw = RawWaker::new((self as *const Self).cast(), &POLLED);
        // SAFETY: `POLLED`'s functions expect a live `Polled`: `self` is
        // borrowed (alive, unmoved) until this returns, and the waker is
        // only lent to `f`; `ManuallyDrop` keeps it from being dropped
        // (invariant #3).
        let polled = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
        f(&polled)
    }
}

/// The record of `waker` if it is a polled one.
#[inline]
fn record_of(waker: &Waker) -> Option<&Polled<'_>> {
    // The vtable is a static: one address, in every crate.
    if ptr::eq(waker.vtable(), &POLLED) {
        // SAFETY: only `Polled::with_waker` makes wakers with `POLLED`,
        // pointing to a record that outlives their loan (invariant #3),
        // so for as long as `waker`'s borrow.
        Some(unsafe { &*waker.data().cast::<Polled<'_>>() })
    } else {
        None
    }
}

/// The real waker behind `waker` if it is a polled one ([`Polled`]), else
/// `waker` itself: what a gust wait that keeps a waker clones and compares
/// with.
///
/// ```
/// let w = std::task::Waker::noop();
/// assert!(std::ptr::eq(gust_trace::real_waker(w), w));
/// ```
#[inline]
pub fn real_waker(waker: &Waker) -> &Waker {
    match record_of(waker) {
        Some(record) => record.real,
        None => waker,
    }
}

/// Clones `waker` for the gust wait that keeps it (module docs): the real
/// waker behind a polled one; another waker is cloned as the wait's own
/// ([`owning`](crate::owning)).
///
/// ```
/// let w = gust_trace::own_waker(std::task::Waker::noop());
/// assert!(w.will_wake(std::task::Waker::noop()));
/// ```
#[inline]
pub fn own_waker(waker: &Waker) -> Waker {
    match record_of(waker) {
        Some(record) => record.real.clone(),
        None => crate::owning(|| waker.clone()),
    }
}

/// `kept.will_wake(waker)` for a waker a gust wait kept with
/// [`own_waker`]: also true when `waker` is a polled one and `kept` the
/// real one behind it.
///
/// ```
/// let kept = gust_trace::own_waker(std::task::Waker::noop());
/// assert!(gust_trace::will_wake(&kept, std::task::Waker::noop()));
/// ```
#[inline]
pub fn will_wake(kept: &Waker, waker: &Waker) -> bool {
    kept.will_wake(real_waker(waker))
}

/// What a foreign waker points to: a box of its own (invariant #1).
struct Foreign {
    real: Waker,
    /// The owner's count word: alive as long as `real` keeps the owner
    /// (the contract of `Polled::new`).
    count: *const AtomicU64,
}

static POLLED: RawWakerVTable = RawWakerVTable::new(
    polled_clone,
    polled_wake_by_ref,
    polled_wake_by_ref,
    polled_drop,
);

static FOREIGN: RawWakerVTable = RawWakerVTable::new(
    foreign_clone,
    foreign_wake,
    foreign_wake_by_ref,
    foreign_drop,
);

/// A waker's parts, without dropping it (its reference goes with them).
fn into_raw(waker: Waker) -> RawWaker {
    let waker = ManuallyDrop::new(waker);
    RawWaker::new(waker.data(), waker.vtable())
}

/// The most foreign wakers of one owner alive at once.
const FOREIGN_MAX: u64 = (1 << (64 - FOREIGN_SHIFT)) - 1;

/// A new foreign waker: a clone of `real`, counted in `count`.
fn new_foreign(real: &Waker, count: &AtomicU64) -> RawWaker {
    // The clone first: if it panics, nothing was counted.
    let foreign = Box::new(Foreign {
        real: real.clone(),
        count,
    });
    // Relaxed: the count rises in the owner's poll (published with the
    // poll's end, before a detector can look) or while another foreign
    // waker keeps it above zero.
    let before = count.fetch_add(FOREIGN_ONE, Ordering::Relaxed);
    if before >> FOREIGN_SHIFT == FOREIGN_MAX {
        // The count wrapped to zero, which would read as "nobody else
        // holds a waker": a false deadlock report. A million foreign
        // wakers of one task alive is a leak; stop here.
        eprintln!(
            "gust: more than {FOREIGN_MAX} foreign wakers of one task are alive at once \
             (leaked wakers?); aborting"
        );
        std::process::abort();
    }
    RawWaker::new(Box::into_raw(foreign).cast_const().cast(), &FOREIGN)
}

/// The record behind a polled waker's data pointer.
///
/// # Safety
///
/// `p` is the data pointer of a polled waker, during its loan.
unsafe fn polled<'a>(p: *const ()) -> &'a Polled<'a> {
    // SAFETY: the record outlives the loan (invariant #3).
    unsafe { &*p.cast::<Polled<'a>>() }
}

unsafe fn polled_clone(p: *const ()) -> RawWaker {
    // SAFETY: `POLLED` is only used for polled wakers.
    let record = unsafe { polled(p) };
    if crate::cloning_own() {
        into_raw(record.real.clone())
    } else {
        new_foreign(record.real, record.count)
    }
}

unsafe fn polled_wake_by_ref(p: *const ()) {
    // SAFETY: as in `polled_clone`. (Also `wake`: a polled waker is never
    // owned, so never woken by value.)
    unsafe { polled(p) }.real.wake_by_ref();
}

unsafe fn polled_drop(_: *const ()) {
    // Never owned (invariant #3): nothing to give back.
}

unsafe fn foreign_clone(p: *const ()) -> RawWaker {
    // SAFETY: a foreign waker owns its live box until consumed.
    let foreign = unsafe { &*p.cast::<Foreign>() };
    // SAFETY: the box's `real` keeps the owner, and so its count, alive.
    new_foreign(&foreign.real, unsafe { &*foreign.count })
}

unsafe fn foreign_wake(p: *const ()) {
    // SAFETY: consumed here, once.
    let foreign = unsafe { Box::from_raw(p.cast::<Foreign>().cast_mut()) };
    // The wake-up first (invariant #2); the count lives while `real` does.
    foreign.real.wake_by_ref();
    // SAFETY: `real` is still alive, so is the owner.
    release(unsafe { &*foreign.count });
}

unsafe fn foreign_wake_by_ref(p: *const ()) {
    // SAFETY: a foreign waker owns its live box until consumed.
    unsafe { &*p.cast::<Foreign>() }.real.wake_by_ref();
}

unsafe fn foreign_drop(p: *const ()) {
    // SAFETY: consumed here, once.
    let foreign = unsafe { Box::from_raw(p.cast::<Foreign>().cast_mut()) };
    // SAFETY: as in `foreign_wake`.
    release(unsafe { &*foreign.count });
}

/// One foreign waker fewer (invariant #1).
fn release(count: &AtomicU64) {
    // Release: pairs with the Acquire in `foreign_holders`.
    count.fetch_sub(FOREIGN_ONE, Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;

    /// A real waker that counts its wake-ups.
    struct Counted(AtomicUsize);

    impl Wake for Counted {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn setup() -> (Arc<Counted>, Waker, AtomicU64) {
        let c = Arc::new(Counted(AtomicUsize::new(0)));
        let real = Waker::from(c.clone());
        (c, real, AtomicU64::new(7))
    }

    #[test]
    fn own_clones_are_the_real_waker() {
        let (c, real, count) = setup();
        // SAFETY: `count` outlives every waker made here.
        let kept = unsafe { Polled::new(&real, &count) }.with_waker(|polled| {
            let kept = own_waker(polled);
            assert_eq!(kept.data(), real.data());
            let inside = crate::owning(|| polled.clone());
            assert_eq!(inside.data(), real.data());
            // Miri gives each use of a vtable constant its own address, so
            // `will_wake` may say false there (its docs allow it).
            #[cfg(not(miri))]
            assert!(will_wake(&kept, polled));
            kept
        });
        assert_eq!(foreign_holders(&count), 0);
        kept.wake();
        assert_eq!(c.0.load(Ordering::Relaxed), 1);
        assert_eq!(Arc::strong_count(&c), 2, "only `real` is left");
    }

    #[test]
    fn foreign_clones_are_counted_until_consumed() {
        let (c, real, count) = setup();
        // SAFETY: as above.
        let (a, b) = unsafe { Polled::new(&real, &count) }.with_waker(|polled| {
            polled.wake_by_ref();
            let a = polled.clone();
            assert!(!a.will_wake(polled));
            (a.clone(), a)
        });
        // A gust wait handed a foreign waker keeps a foreign one.
        let kept = own_waker(&a);
        assert_eq!(foreign_holders(&count), 3);
        assert_eq!(
            count.load(Ordering::Relaxed) & (FOREIGN_ONE - 1),
            7,
            "the id"
        );
        a.wake();
        assert_eq!(foreign_holders(&count), 2);
        b.wake_by_ref();
        drop(b);
        drop(kept);
        assert_eq!(foreign_holders(&count), 0);
        assert_eq!(c.0.load(Ordering::Relaxed), 3);
        assert_eq!(Arc::strong_count(&c), 2, "only `real` is left");
    }
}
