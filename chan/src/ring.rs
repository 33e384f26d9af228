//! A channel's buffer: a FIFO ring of values.
//!
//! `std::collections::VecDeque` does the same job, but its `push_back` is an
//! out-of-line call of some twenty instructions, on the path of every
//! buffered message; this ring is a few inline instructions per operation.
//!
//! # Invariants
//!
//! 1. `slots[head..]` followed by `slots[..]` (wrapping at `slots.len()`)
//!    holds the `len` initialized values in FIFO order; every other slot is
//!    uninitialized. `head < slots.len()` unless `slots` is empty (then 0).
//! 2. `len <= slots.len()`. The ring never grows on `push_back` (the channel
//!    pushes at the back only while `len < cap <= slots.len()`); it grows by
//!    doubling on `push_front`, which is how a cancelled receiver gives a
//!    value back beyond the capacity (chan.rs, invariant #4).

use std::mem::MaybeUninit;

/// A FIFO of `T`, allocated once at its capacity.
pub(crate) struct Ring<T> {
    slots: Box<[MaybeUninit<T>]>,
    head: usize,
    len: usize,
}

impl<T> Ring<T> {
    /// A ring with room for `cap` values, or `None` if that cannot be
    /// allocated.
    pub(crate) fn with_capacity(cap: usize) -> Option<Self> {
        Some(Self {
            slots: alloc_slots(cap)?,
            head: 0,
            len: 0,
        })
    }

    /// A ring with no slots, which allocates nothing.
    pub(crate) fn empty() -> Self {
        Self {
            slots: Box::new([]),
            head: 0,
            len: 0,
        }
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot `offset` places after `head`, wrapped. Both are below
    /// `slots.len()`; their sum overflows only for zero-sized `T` (a larger
    /// `T` cannot have more than `isize::MAX` slots), and then the wrapped
    /// sum is still in bounds, which is all a zero-sized slot needs.
    #[inline]
    fn index(&self, offset: usize) -> usize {
        let i = self.head.wrapping_add(offset);
        if i >= self.slots.len() {
            i - self.slots.len()
        } else {
            i
        }
    }

    /// Appends `value`.
    ///
    /// # Panics
    ///
    /// If the ring is full (the channel checks `len < cap` first).
    #[inline(always)]
    pub(crate) fn push_back(&mut self, value: T) {
        if self.len >= self.slots.len() {
            ring_full();
        }
        let i = self.index(self.len);
        // SAFETY: `index` returns a slot below `slots.len()`; it is free
        // (invariant #1: `len < slots.len()`, so it is not one of the `len`
        // values).
        unsafe { self.slots.get_unchecked_mut(i) }.write(value);
        self.len += 1;
    }

    /// Takes the oldest value.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let i = self.head;
        let next = i + 1; // `i < slots.len()`: no overflow
        self.head = if next == self.slots.len() { 0 } else { next };
        self.len -= 1;
        // SAFETY: `i = head < slots.len()`, and slot `head` held the oldest
        // of `len > 0` initialized values (invariant #1); moving `head` past
        // it marks it uninitialized, so it is read exactly once.
        Some(unsafe { self.slots.get_unchecked(i).assume_init_read() })
    }

    /// Puts `value` in front of the oldest one, growing the ring if full.
    pub(crate) fn push_front(&mut self, value: T) {
        if self.len == self.slots.len() {
            self.grow();
        }
        let cap = self.slots.len();
        self.head = if self.head == 0 {
            cap - 1
        } else {
            self.head - 1
        };
        self.slots[self.head].write(value);
        self.len += 1;
    }

    /// Doubles the room (at least 1), keeping the order.
    #[cold]
    fn grow(&mut self) {
        let new_cap = self
            .slots
            .len()
            .checked_mul(2)
            .expect("ring too large")
            .max(1);
        let mut slots = alloc_slots(new_cap).expect("out of memory growing a channel buffer");
        for (k, slot) in slots.iter_mut().take(self.len).enumerate() {
            let i = self.index(k);
            // SAFETY: slot `i` holds the `k`-th initialized value (invariant
            // #1); it is moved out exactly once and the old slots are then
            // dropped as `MaybeUninit` (no double drop).
            slot.write(unsafe { self.slots[i].assume_init_read() });
        }
        self.slots = slots;
        self.head = 0;
    }
}

/// The `push_back` bound check's failure, out of line.
#[cold]
#[inline(never)]
fn ring_full() -> ! {
    panic!("gust-chan: ring buffer full (a channel invariant was broken)")
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        /// Drops the values left if dropping one of them panics, as a
        /// `Vec` does.
        struct Rest<'a, T>(&'a mut Ring<T>);
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                while let Some(v) = self.0.pop_front() {
                    drop(v);
                }
            }
        }
        let rest = Rest(self);
        while let Some(v) = rest.0.pop_front() {
            drop(v);
        }
    }
}

impl<T> std::fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("len", &self.len)
            .field("capacity", &self.slots.len())
            .finish()
    }
}

/// `cap` uninitialized slots, or `None` if they cannot be allocated.
fn alloc_slots<T>(cap: usize) -> Option<Box<[MaybeUninit<T>]>> {
    let mut v: Vec<MaybeUninit<T>> = Vec::new();
    v.try_reserve_exact(cap).ok()?;
    // SAFETY: the capacity is at least `cap`, and `MaybeUninit` needs no
    // initialization.
    unsafe { v.set_len(cap) };
    Some(v.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::Ring;

    #[test]
    fn fifo_with_wrap_around() {
        let mut r = Ring::with_capacity(3).unwrap();
        for round in 0..10 {
            r.push_back(round * 10);
            r.push_back(round * 10 + 1);
            assert_eq!(r.pop_front(), Some(round * 10));
            assert_eq!(r.pop_front(), Some(round * 10 + 1));
            assert!(r.is_empty());
        }
        assert_eq!(r.pop_front(), None);
    }

    #[test]
    fn push_front_grows_and_keeps_order() {
        let mut r = Ring::with_capacity(2).unwrap();
        r.push_back(String::from("b"));
        assert_eq!(r.pop_front().as_deref(), Some("b"));
        r.push_back(String::from("c"));
        r.push_back(String::from("d"));
        r.push_front(String::from("a")); // full: grows, wrapped values move
        r.push_front(String::from("z"));
        assert_eq!(r.len(), 4);
        let got: Vec<_> = std::iter::from_fn(|| r.pop_front()).collect();
        assert_eq!(got, ["z", "a", "c", "d"]);
    }

    #[test]
    fn rendezvous_ring_starts_empty_and_grows_from_zero() {
        let mut r = Ring::with_capacity(0).unwrap();
        assert_eq!(r.pop_front(), None::<Box<u8>>);
        r.push_front(Box::new(1));
        r.push_front(Box::new(0));
        assert_eq!(r.pop_front().as_deref(), Some(&0));
        assert_eq!(r.pop_front().as_deref(), Some(&1));
    }

    #[test]
    fn drop_drops_what_is_left() {
        let v = std::rc::Rc::new(());
        let mut r = Ring::with_capacity(4).unwrap();
        for _ in 0..3 {
            r.push_back(v.clone());
        }
        let _ = r.pop_front();
        r.push_back(v.clone());
        r.push_back(v.clone());
        assert_eq!(std::rc::Rc::strong_count(&v), 5);
        drop(r);
        assert_eq!(std::rc::Rc::strong_count(&v), 1);
    }

    #[test]
    fn zero_sized_values_at_any_capacity() {
        let mut r = Ring::with_capacity(usize::MAX).unwrap();
        for _ in 0..5 {
            r.push_back(());
        }
        r.push_front(());
        assert_eq!(r.len(), 6);
        assert_eq!(r.pop_front(), Some(()));
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn a_panicking_drop_still_drops_the_rest() {
        struct Loud(std::rc::Rc<()>, bool);
        impl Drop for Loud {
            fn drop(&mut self) {
                if self.1 {
                    panic!("boom ({} refs)", std::rc::Rc::strong_count(&self.0));
                }
            }
        }
        let v = std::rc::Rc::new(());
        let mut r = Ring::with_capacity(3).unwrap();
        r.push_back(Loud(v.clone(), true));
        r.push_back(Loud(v.clone(), false));
        r.push_back(Loud(v.clone(), false));
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(r)));
        assert!(res.is_err());
        assert_eq!(std::rc::Rc::strong_count(&v), 1);
    }

    #[test]
    fn impossible_capacity_is_none() {
        assert!(Ring::<u64>::with_capacity(usize::MAX / 2).is_none());
    }
}
