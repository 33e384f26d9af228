//! Who holds a waiting task's waker (gust-trace's "Who holds the waker").
//!
//! # The problem
//!
//! A wait reason says what a poll waited on, not who can end the wait. A
//! task that awaits `futures::future::select(rx.recv(), other)` records
//! "chan receive", yet a plain thread may end its wait through `other`:
//! judged by its reason alone, the deadlock detector would report a
//! program that is only waiting.
//!
//! # The design
//!
//! Whatever can make a waiting task runnable again holds a clone of its
//! waker. So a task (or `block_on`) is polled ([`poll_with`]) with a
//! *polled* waker that points to a record on the poller's stack: the real
//! waker (async-task's, or the `block_on`'s unparker) and the owner's
//! count of foreign wakers. Cloning it gives
//! - the real waker itself, when a gust wait clones it for itself: through
//!   [`gust_trace::own_waker`] (which does not even come here: the polled
//!   waker is in gust-trace's thread-local record, beside the real one) or
//!   inside [`gust_trace::owning`] (the waits of crates gust builds on);
//! - else a *foreign* waker: a small box holding a clone of the real waker
//!   and a pointer to the owner's count, which goes up by one for the
//!   box's life. Clones of a foreign waker are foreign.
//!
//! The detector (`deadlock.rs`) judges a waiting task durably blocked only
//! while its count is zero. gust's own waits keep real wakers: their wakes
//! and drops cost what they did; the polled waker adds one thread-local
//! read to each of their clones. A foreign future pays a box per clone,
//! and, since its kept waker never `will_wake`s the polled one, a clone
//! per poll.
//!
//! The polled waker lives on the stack for one poll: `Context` lends it
//! for no longer, and every clone of it is a real or a foreign waker. So
//! the owner's header holds no waker parts, only the count (in a task,
//! the high bits of its id word: the task stays in the allocator's fast
//! size classes).
//!
//! # Rejected
//!
//! - Counting clones per poll (how many the poll made against how many its
//!   gust waits declared): a foreign future that keeps its waker across
//!   polls (`will_wake`) clones only in its first one, and a loop around a
//!   foreign combinator polls it again and again.
//! - A polled waker that lives as long as the task (both parts of the real
//!   waker in the task's header): 24 bytes more per task left glibc's fast
//!   size classes (spawn-and-join +25%), and every wake and drop of a gust
//!   wait's waker went through one more indirect call (ping-pong +28%).
//!
//! What it misses, on the safe side: a combinator that wakes its parts
//! through wakers of its own (`FuturesUnordered`, `JoinSet`) keeps one
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
//! 3. A polled waker is only borrowed (never dropped or woken by value),
//!    and only during its owner's poll, while its record is alive.

use gust_trace::{Polled, WaitSlot};
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

/// The count's unit in an owner's count word: its low bits hold other
/// data (a task's id).
pub(crate) const FOREIGN_ONE: u64 = 1 << FOREIGN_SHIFT;

/// Where the count starts in the word: 44 bits below it (a task's id), 20
/// bits for the count (a million foreign wakers of one task alive).
pub(crate) const FOREIGN_SHIFT: u32 = 44;

/// How many foreign wakers of an owner are alive, from its count word.
#[inline]
pub(crate) fn foreign_holders(word: &AtomicU64) -> u64 {
    // Acquire: pairs with the Release decrements, so that the wake-up a
    // consumed foreign waker made before it is seen (invariant #2).
    word.load(Ordering::Acquire) >> FOREIGN_SHIFT
}

/// What a foreign waker points to: a box of its own (invariant #1).
struct Foreign {
    real: Waker,
    /// The owner's count word: alive as long as `real` keeps the owner.
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

/// Runs `poll` (a task's or `block_on`'s) with a `Context` whose waker is a
/// polled one in front of `real`, counting foreign clones in `count` (its
/// bits from [`FOREIGN_SHIFT`] up), with `slot` the thread's current wait
/// slot (gust-trace's `enter_polled`).
#[inline]
pub(crate) fn poll_with<R>(
    slot: &WaitSlot,
    real: &Waker,
    count: &AtomicU64,
    poll: impl FnOnce(&mut Context<'_>) -> R,
) -> R {
    let record = Polled::new(slot, real, count);
    let raw = RawWaker::new((&raw const record).cast(), &POLLED);
    // SAFETY: `POLLED`'s functions expect a live `Polled` made by `new`
    // (with a real waker and a count): `record` lives until this function
    // returns, and the waker is only lent (in the `Context`) until then;
    // `ManuallyDrop` keeps it from being dropped (invariant #3).
    let polled = ManuallyDrop::new(unsafe { Waker::from_raw(raw) });
    let _current = gust_trace::enter_polled(&record);
    poll(&mut Context::from_waker(&polled))
}

/// The real waker and count of a polled waker's record.
///
/// # Safety
///
/// `p` is the data pointer of a polled waker (invariant #3).
unsafe fn parts<'a>(p: *const ()) -> (&'a Waker, &'a AtomicU64) {
    // SAFETY: a polled waker points to its live record (the contract).
    let record = unsafe { &*p.cast::<Polled<'a>>() };
    match (record.real(), record.foreign()) {
        (Some(real), Some(count)) => (real, count),
        _ => unreachable!("a polled waker's record has a real waker and a count"),
    }
}

/// A waker's parts, without dropping it (its reference goes with them).
fn into_raw(waker: Waker) -> RawWaker {
    let waker = ManuallyDrop::new(waker);
    RawWaker::new(waker.data(), waker.vtable())
}

/// A new foreign waker: a clone of `real`, counted in `count`.
fn new_foreign(real: &Waker, count: &AtomicU64) -> RawWaker {
    // Relaxed: the count rises in the owner's poll (published with the
    // poll's end, before the detector can look) or while another foreign
    // waker keeps it above zero.
    count.fetch_add(FOREIGN_ONE, Ordering::Relaxed);
    let foreign = Box::new(Foreign {
        real: real.clone(),
        count,
    });
    RawWaker::new(Box::into_raw(foreign).cast_const().cast(), &FOREIGN)
}

unsafe fn polled_clone(p: *const ()) -> RawWaker {
    // SAFETY: `POLLED` is only used for polled wakers.
    let (real, count) = unsafe { parts(p) };
    if gust_trace::cloning_own() {
        into_raw(real.clone())
    } else {
        new_foreign(real, count)
    }
}

unsafe fn polled_wake_by_ref(p: *const ()) {
    // SAFETY: as in `polled_clone`. (Also `wake`: a polled waker is never
    // owned, so never woken by value.)
    unsafe { parts(p) }.0.wake_by_ref();
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

    fn setup() -> (Arc<Counted>, Waker, AtomicU64, WaitSlot) {
        let c = Arc::new(Counted(AtomicUsize::new(0)));
        let real = Waker::from(c.clone());
        (c, real, AtomicU64::new(7), WaitSlot::new())
    }

    #[test]
    fn own_clones_are_the_real_waker() {
        let (c, real, count, slot) = setup();
        let kept = poll_with(&slot, &real, &count, |cx| {
            let kept = gust_trace::own_waker(cx.waker());
            assert_eq!(kept.data(), real.data());
            let inside = gust_trace::owning(|| cx.waker().clone());
            assert_eq!(inside.data(), real.data());
            // Miri gives each use of a vtable constant its own address, so
            // `will_wake` may say false there (its docs allow it).
            #[cfg(not(miri))]
            assert!(gust_trace::will_wake(&kept, cx.waker()));
            kept
        });
        assert_eq!(foreign_holders(&count), 0);
        kept.wake();
        assert_eq!(c.0.load(Ordering::Relaxed), 1);
        assert_eq!(Arc::strong_count(&c), 2, "only `real` is left");
    }

    #[test]
    fn foreign_clones_are_counted_until_consumed() {
        let (c, real, count, slot) = setup();
        let (a, b) = poll_with(&slot, &real, &count, |cx| {
            cx.waker().wake_by_ref();
            let a = cx.waker().clone();
            assert!(!a.will_wake(cx.waker()));
            (a.clone(), a)
        });
        // A gust wait handed a foreign waker keeps a foreign one.
        let kept = gust_trace::own_waker(&a);
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
