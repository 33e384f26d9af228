//! The per-worker run queue: a fixed ring that its owner pushes to and pops
//! from without locks, and that other workers steal half of.
//!
//! The ring has [`CAPACITY`] slots. Positions are `u32` counters that only
//! grow (wrapping); a position's slot is `pos & MASK`. Two words describe the
//! queue:
//!
//! ```text
//! tail: AtomicU32            written by the owner only (push)
//! head: AtomicU64 = steal << 32 | real
//!       real  - the next position the owner pops (owner and thieves CAS it)
//!       steal - equal to `real` when no steal is in progress; otherwise the
//!               first position a thief has claimed and is still copying
//! ```
//!
//! # Invariants
//!
//! 1. `steal <= real <= tail` (in wrapping order) and `tail - steal <= CAPACITY`.
//! 2. Slots `[real, tail)` hold initialised values that belong to the queue;
//!    slots `[steal, real)` hold values a thief is copying out.
//! 3. Only the owner writes `tail` and writes slots, and it only writes slot
//!    `tail` while `tail - steal < CAPACITY`, so it never overwrites a slot a
//!    thief is still reading (invariant #2).
//! 4. At most one thief steals from a queue at a time: a thief only claims
//!    when `steal == real`.
//!
//! The owner/thief split is in the types: [`Local`] (one per queue, not
//! `Clone`) pushes and pops; [`Steal`] (cloneable, shared) steals into a
//! thief's own `Local`.
//!
//! The owner never blocks on a thief: `pop` only moves `real`. A thief that
//! is preempted mid-copy only delays other thieves and the overflow path
//! (which then sends the task to the injection queue instead).

use crate::loom::{Arc, AtomicU32, AtomicU64, Ordering, UnsafeCell};
use std::mem::MaybeUninit;

/// Slots per ring (a power of two). Small under loom to reach the full and
/// wrap-around states.
#[cfg(not(loom))]
pub(crate) const CAPACITY: u32 = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: u32 = 4;
const MASK: u32 = CAPACITY - 1;

struct Inner<T> {
    /// `steal << 32 | real`; CAS-ed by the owner (pop, overflow) and thieves.
    head: AtomicU64,
    /// Written by the owner only; read by thieves with `Acquire`.
    tail: AtomicU32,
    /// Slot contents: see invariants #2 and #3.
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: values move between threads through the queue (so `T: Send`), and
// every slot access is ordered by the head/tail protocol (invariants #2, #3).
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: as above; shared access never hands out `&T`.
unsafe impl<T: Send> Sync for Inner<T> {}

/// The owner's handle: push and pop.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
    /// A `steal` value this owner loaded (with Acquire) from `head` earlier.
    /// `steal` only moves forward, so `tail - steal_cache >= tail - steal`:
    /// a push that fits by the cached value fits (invariant #3), and the
    /// owner skips loading `head`, the cache line thieves keep writing.
    steal_cache: std::cell::Cell<u32>,
}

/// A thief's handle: steal half into another queue.
pub(crate) struct Steal<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// Creates a queue: the owner's handle and a thief handle.
pub(crate) fn new<T>() -> (Local<T>, Steal<T>) {
    new_at(0)
}

/// Creates a queue whose positions start at `start` (tests start near
/// `u32::MAX` to cross the wrap-around).
pub(crate) fn new_at<T>(start: u32) -> (Local<T>, Steal<T>) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(pack(start, start)),
        tail: AtomicU32::new(start),
        buffer,
    });
    (
        Local {
            inner: inner.clone(),
            steal_cache: std::cell::Cell::new(start),
        },
        Steal { inner },
    )
}

impl<T> Inner<T> {
    /// Number of values (approximate when racing).
    fn len(&self) -> u32 {
        let (_, real) = unpack(self.head.load(Ordering::Acquire));
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(real)
    }

    /// Moves the value out of slot `pos`.
    ///
    /// # Safety
    ///
    /// The caller has claimed `pos` (it lies in `[steal, real)` for the
    /// calling thief, or was just popped by the owner) and the slot is
    /// initialised (invariant #2).
    unsafe fn read(&self, pos: u32) -> T {
        self.buffer[(pos & MASK) as usize].with(|p| {
            // SAFETY: the caller guarantees the slot is initialised and owned
            // by this thread until it publishes the new head.
            unsafe { (*p).assume_init_read() }
        })
    }
}

impl<T> Local<T> {
    /// Number of values in the queue.
    pub(crate) fn len(&self) -> u32 {
        self.inner.len()
    }

    /// Pushes `value` at the tail; when the ring is full, moves half of it
    /// plus `value` into `overflow` instead (the injection queue).
    pub(crate) fn push_back(&self, value: T, overflow: impl FnOnce(Vec<T>)) {
        let inner = &*self.inner;
        // Only the owner writes `tail` (invariant #3).
        let tail = inner.tail.load(Ordering::Relaxed);
        if tail.wrapping_sub(self.steal_cache.get()) < CAPACITY {
            // Fits by the cached `steal` (see the field), whose Acquire load
            // ordered the thieves' reads of the slots before this write.
            self.write(tail, value);
            return;
        }
        loop {
            let head = inner.head.load(Ordering::Acquire);
            let (steal, real) = unpack(head);
            self.steal_cache.set(steal);
            if tail.wrapping_sub(steal) < CAPACITY {
                self.write(tail, value);
                return;
            }
            if steal != real {
                // A thief is copying: it is making room for us. Do not wait
                // for it; hand this one value to the injection queue.
                overflow(vec![value]);
                return;
            }
            // Full and no thief: claim the older half and move it out.
            let half = CAPACITY / 2;
            let next = real.wrapping_add(half);
            if inner
                .head
                .compare_exchange(head, pack(next, next), Ordering::AcqRel, Ordering::Acquire)
                .is_err()
            {
                // A thief got there first: there may be room now.
                continue;
            }
            let mut batch = Vec::with_capacity(half as usize + 1);
            let mut pos = real;
            while pos != next {
                // SAFETY: `[real, next)` was claimed by the CAS above and is
                // initialised (invariant #2).
                batch.push(unsafe { inner.read(pos) });
                pos = pos.wrapping_add(1);
            }
            batch.push(value);
            overflow(batch);
            return;
        }
    }

    /// Free slots, exactly, for the owner: slots a thief is still copying
    /// out count as taken (invariant #3). Only grows until the owner pushes
    /// again (thieves only free slots).
    pub(crate) fn room(&self) -> u32 {
        let inner = &*self.inner;
        let tail = inner.tail.load(Ordering::Relaxed);
        // Acquire: as in `push_back`'s slow path, orders the thieves' slot
        // reads before our later writes.
        let (steal, _) = unpack(inner.head.load(Ordering::Acquire));
        self.steal_cache.set(steal);
        CAPACITY - tail.wrapping_sub(steal)
    }

    /// Pushes every value of `values` at the tail and publishes them with one
    /// store. The caller first checks with [`Local::room`] that they fit.
    ///
    /// # Panics
    ///
    /// If `values` yields more than [`Local::room`] values (nothing is
    /// published then; the values written so far are leaked, not freed
    /// twice).
    pub(crate) fn extend(&self, values: impl Iterator<Item = T>) {
        let inner = &*self.inner;
        let start = inner.tail.load(Ordering::Relaxed);
        let mut tail = start;
        for value in values {
            // `steal_cache` is at most as old as the caller's `room` call
            // (invariant #3 as in `push_back`).
            assert!(
                tail.wrapping_sub(self.steal_cache.get()) < CAPACITY,
                "run queue: extend past the room the caller checked"
            );
            inner.buffer[(tail & MASK) as usize].with_mut(|p| {
                // SAFETY: `tail - steal < CAPACITY` (checked above), so slot
                // `tail` is outside `[steal, tail)`: no thief reads it and it
                // holds no live value (invariant #3). It is not published
                // until the store below.
                unsafe { (*p).write(value) };
            });
            tail = tail.wrapping_add(1);
        }
        if tail != start {
            // Release: publishes the slot writes; pairs with the Acquire loads
            // of `tail` in `steal_into` and `len`.
            inner.tail.store(tail, Ordering::Release);
        }
    }

    /// Writes slot `tail` and publishes it.
    fn write(&self, tail: u32, value: T) {
        let inner = &*self.inner;
        inner.buffer[(tail & MASK) as usize].with_mut(|p| {
            // SAFETY: the caller checked `tail - steal < CAPACITY`, so slot
            // `tail` is outside `[steal, tail)`: no thief reads it and it
            // holds no live value (invariant #3).
            unsafe { (*p).write(value) };
        });
        // Release: publishes the slot write; pairs with the Acquire loads of
        // `tail` in `steal_into` and `len`.
        inner.tail.store(tail.wrapping_add(1), Ordering::Release);
    }

    /// Pops the value at the head, if any.
    pub(crate) fn pop(&self) -> Option<T> {
        let inner = &*self.inner;
        let mut head = inner.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            let tail = inner.tail.load(Ordering::Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match inner
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: the CAS claimed position `real`, which holds a
                // value (invariant #2) that only this thread now owns.
                Ok(_) => return Some(unsafe { inner.read(real) }),
                Err(actual) => head = actual,
            }
        }
    }
}

impl<T> Steal<T> {
    /// Number of values (racy; metrics).
    pub(crate) fn len(&self) -> usize {
        self.inner.len() as usize
    }

    /// Whether the queue looks empty (racy; used before parking, after a
    /// SeqCst fence, to look for work).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Steals half of this queue (rounded up) into `dst`, the calling
    /// worker's own queue, and returns one of the stolen values to run now.
    #[cfg(test)]
    pub(crate) fn steal_into(&self, dst: &Local<T>) -> Option<T> {
        self.steal_into_min(dst, 1)
    }

    /// Steals half of this queue (rounded up), as `steal_into`, but only
    /// if it holds at least `min` values (else `None`).
    pub(crate) fn steal_into_min(&self, dst: &Local<T>, min: u32) -> Option<T> {
        let src = &*self.inner;
        let dst_inner = &*dst.inner;
        // Room check on our own queue: `dst` has at least half a ring free,
        // so `n <= CAPACITY / 2` values fit without overflowing.
        let dst_tail = dst_inner.tail.load(Ordering::Relaxed);
        let (dst_steal, _) = unpack(dst_inner.head.load(Ordering::Acquire));
        if dst_tail.wrapping_sub(dst_steal) > CAPACITY / 2 {
            return None;
        }

        // Phase 1: claim `[real, real + n)` by moving `real` (invariant #4).
        let mut head = src.head.load(Ordering::Acquire);
        let (first, n) = loop {
            let (steal, real) = unpack(head);
            if steal != real {
                return None; // another thief is at work
            }
            // Acquire: pairs with the owner's Release store of `tail`, so the
            // slots up to `tail` are visible.
            let tail = src.tail.load(Ordering::Acquire);
            let len = tail.wrapping_sub(real);
            let n = len - len / 2;
            if n == 0 || len < min {
                return None;
            }
            let next = pack(steal, real.wrapping_add(n));
            match src
                .head
                .compare_exchange(head, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break (real, n),
                Err(actual) => head = actual,
            }
        };

        // Phase 2: copy the claimed values into our own ring.
        for i in 0..n {
            // SAFETY: `first + i` lies in our claimed `[steal, real)` range.
            let v = unsafe { src.read(first.wrapping_add(i)) };
            let pos = dst_tail.wrapping_add(i);
            dst_inner.buffer[(pos & MASK) as usize].with_mut(|p| {
                // SAFETY: we own `dst` and checked it has room for `n`
                // values past its tail (invariant #3 for `dst`).
                unsafe { (*p).write(v) };
            });
        }

        // Phase 3: release the claim: `steal` catches up with `real` (the
        // owner may have popped meanwhile, moving `real`).
        let mut head = src.head.load(Ordering::Acquire);
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(steal, first);
            match src.head.compare_exchange(
                head,
                pack(real, real),
                // Release: our slot reads happen before the owner reuses them
                // (pairs with the Acquire head load in `push_back`).
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }

        // Keep the last stolen value to run now; publish the others.
        let last = dst_tail.wrapping_add(n - 1);
        // SAFETY: we wrote slot `last` above and have not published it.
        let ret = unsafe { dst_inner.read(last) };
        if n > 1 {
            // Release: publishes the slot writes to thieves of `dst`.
            dst_inner.tail.store(last, Ordering::Release);
        }
        Some(ret)
    }
}

impl<T> Drop for Local<T> {
    fn drop(&mut self) {
        // The owner is gone: drop what is left, so no task leaks.
        while self.pop().is_some() {}
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn push_pop_fifo() {
        let (local, _steal) = new::<usize>();
        for i in 0..10 {
            local.push_back(i, |_| unreachable!());
        }
        assert_eq!(local.len(), 10);
        for i in 0..10 {
            assert_eq!(local.pop(), Some(i));
        }
        assert_eq!(local.pop(), None);
    }

    #[test]
    fn overflow_moves_half() {
        let (local, _steal) = new::<usize>();
        let mut spilled = Vec::new();
        for i in 0..=CAPACITY as usize {
            local.push_back(i, |batch| spilled.extend(batch));
        }
        assert_eq!(spilled.len(), CAPACITY as usize / 2 + 1);
        assert_eq!(spilled[0], 0);
        assert_eq!(local.len(), CAPACITY / 2);
    }

    #[test]
    fn extend_fills_the_room() {
        let (local, _steal) = new_at::<Box<usize>>(u32::MAX - 3);
        local.push_back(Box::new(0), |_| unreachable!());
        assert_eq!(local.room(), CAPACITY - 1);
        local.extend((1..CAPACITY as usize).map(Box::new));
        assert_eq!(local.room(), 0);
        assert_eq!(local.len(), CAPACITY);
        for i in 0..CAPACITY as usize {
            assert_eq!(*local.pop().unwrap(), i);
        }
        assert_eq!(local.room(), CAPACITY);
    }

    #[test]
    #[should_panic(expected = "past the room")]
    fn extend_past_the_room_panics() {
        let (local, _steal) = new::<usize>();
        local.extend(0..CAPACITY as usize + 1);
    }

    /// A thief asking for at least `min` values leaves a shorter queue
    /// alone, and takes half of one that long (the rule of
    /// `worker::PATIENT_PASSES` asks for a backlog).
    #[test]
    fn steal_min_leaves_a_short_queue() {
        let (a, steal_a) = new::<Box<usize>>();
        let (b, _) = new::<Box<usize>>();
        a.push_back(Box::new(0), |_| unreachable!());
        assert!(steal_a.steal_into_min(&b, 2).is_none());
        assert_eq!(a.len(), 1);
        for i in 1..3 {
            a.push_back(Box::new(i), |_| unreachable!());
        }
        assert!(steal_a.steal_into_min(&b, 4).is_none());
        assert_eq!((a.len(), b.len()), (3, 0));
        a.push_back(Box::new(3), |_| unreachable!());
        assert_eq!(*steal_a.steal_into_min(&b, 4).unwrap(), 1);
        assert_eq!((a.len(), b.len()), (2, 1));
        assert_eq!(*steal_a.steal_into_min(&b, 1).unwrap(), 2);
        assert_eq!((a.len(), b.len()), (1, 1));
    }

    /// The scheduler's backlog: one task short of it is left alone, at it
    /// half is taken.
    #[test]
    fn steal_backlog() {
        use crate::scheduler::worker::BACKLOG;
        let (a, steal_a) = new::<Box<u32>>();
        let (b, _) = new::<Box<u32>>();
        for i in 0..BACKLOG - 1 {
            a.push_back(Box::new(i), |_| unreachable!());
        }
        assert!(steal_a.steal_into_min(&b, BACKLOG).is_none());
        a.push_back(Box::new(BACKLOG - 1), |_| unreachable!());
        assert!(steal_a.steal_into_min(&b, BACKLOG).is_some());
        assert_eq!((a.len(), b.len() + 1), (BACKLOG / 2, BACKLOG - BACKLOG / 2));
    }

    #[test]
    fn steal_half() {
        let (a, steal_a) = new::<Box<usize>>();
        let (b, _) = new::<Box<usize>>();
        for i in 0..7 {
            a.push_back(Box::new(i), |_| unreachable!());
        }
        let first = steal_a.steal_into(&b).unwrap();
        assert_eq!(*first, 3, "steals 4 of 7, returns the last stolen");
        assert_eq!(b.len(), 3);
        assert_eq!(a.len(), 3);
        assert_eq!(*b.pop().unwrap(), 0);
        // Leftovers are dropped with the queues (Miri checks for leaks).
    }

    #[test]
    fn positions_wrap_around() {
        let (a, steal_a) = new_at::<usize>(u32::MAX - 5);
        let (b, _) = new_at::<usize>(u32::MAX - 1);
        let mut spilled = Vec::new();
        for i in 0..CAPACITY as usize + 20 {
            a.push_back(i, |batch| spilled.extend(batch));
            if i % 4 == 0 {
                spilled.extend(steal_a.steal_into(&b));
                while let Some(v) = b.pop() {
                    spilled.push(v);
                }
            }
        }
        while let Some(v) = a.pop() {
            spilled.push(v);
        }
        spilled.sort_unstable();
        assert_eq!(spilled, (0..CAPACITY as usize + 20).collect::<Vec<_>>());
    }

    #[test]
    fn concurrent_steal_nothing_lost() {
        const N: usize = if cfg!(miri) { 200 } else { 100_000 };
        let (local, steal) = new::<usize>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thief = std::thread::spawn(move || {
            let (mine, _) = new::<usize>();
            let mut got = Vec::new();
            loop {
                if let Some(v) = steal.steal_into(&mine) {
                    got.push(v);
                    while let Some(v) = mine.pop() {
                        got.push(v);
                    }
                } else if done_rx.try_recv().is_ok() {
                    return got;
                }
                std::thread::yield_now();
            }
        });
        let mut seen = Vec::new();
        let mut spilled = Vec::new();
        for i in 0..N {
            local.push_back(i, |batch| spilled.extend(batch));
            if i % 3 == 0 {
                seen.extend(local.pop());
            }
        }
        done_tx.send(()).unwrap();
        seen.extend(thief.join().unwrap());
        while let Some(v) = local.pop() {
            seen.push(v);
        }
        seen.extend(spilled);
        seen.sort_unstable();
        assert_eq!(seen, (0..N).collect::<Vec<_>>());
    }
}
