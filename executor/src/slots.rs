//! [`Slots`]: a slab whose next key is always the lowest free one (first
//! fit), found in a two-level bitmap; the registry's entry store
//! (`registry.rs`).
//!
//! # Why not `slab::Slab`
//!
//! A slab reuses keys last-freed-first: its free list runs through the
//! vacant entries in the order they were freed. The registry inserts a key
//! per spawn and removes it when the task ends, so each batch of spawns
//! gets its keys in the reverse order of the previous batch's ends, and
//! whatever order the scheduler ran that batch in is carried into the next
//! one's keys, compounding batch after batch. Measured on the cancel row's
//! pattern (100k tasks spawned, woken and ended together, repeatedly): the
//! fraction of removals whose key was next to the previous one fell from
//! 0.89 to 0.61 in six rounds, and the registry's removals, each a cache
//! miss on a scattered entry of a 1.6 MB array, became 10% of the row. Here
//! a batch of spawns gets the lowest free keys in ascending order, so a
//! batch that ends in about the order it was spawned touches the array in
//! order, whatever came before; a stream of spawns and ends reuses the low
//! keys it just freed, still warm; and an insert reads a bitmap word
//! instead of chasing a free list through the entries.
//!
//! (Next fit, searching on from the last insert, was measured too: it keeps
//! batches in order as well, but sweeps a stream of spawns through the
//! whole cold array: spawn + join at 2 workers +6.5%.)
//!
//! # Structure
//!
//! `entries[k]` holds key `k`'s value or nothing; bit `k % 64` of
//! `free[k / 64]` is set when key `k` is free; bit `w % 64` of
//! `summary[w / 64]` is set when `free[w]` has a bit set. Every key below
//! `cursor` is taken, so an insert looks for a free key from there only: in
//! `cursor`'s word first, then through the summary, a word of it for every
//! 4096 keys; past every key it appends. An insert moves `cursor` past its
//! key, a removal below `cursor` moves it down to the key.
//!
//! # Invariants
//!
//! 1. `entries.len() == 64 * free.len()` and `summary.len()` is
//!    `free.len()` / 64 rounded up; a summary bit past the last word is
//!    clear.
//! 2. Bit `k` of `free` is set exactly when `entries[k]` is `None`.
//! 3. Bit `w` of `summary` is set exactly when `free[w] != 0`.
//! 4. Every key below `cursor` holds a value.

/// Keys per bitmap word.
const BITS: usize = 64;

/// A keyed store that reuses its lowest free key first (module docs).
pub(crate) struct Slots<T> {
    entries: Vec<Option<T>>,
    /// Free keys, a bit each (invariant #2).
    free: Vec<u64>,
    /// Words of `free` with a free key, a bit each (invariant #3).
    summary: Vec<u64>,
    /// Where the search for a free key starts (invariant #4).
    cursor: usize,
}

impl<T> Slots<T> {
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            summary: Vec::new(),
            cursor: 0,
        }
    }

    /// The key the next [`insert`](Self::insert) will use: the lowest
    /// free one (invariant #4).
    pub(crate) fn vacant_key(&self) -> usize {
        self.find_free(self.cursor).unwrap_or(self.entries.len())
    }

    /// Stores `value` under [`vacant_key`](Self::vacant_key) and returns
    /// that key.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        let key = self.vacant_key();
        self.insert_at(key, value);
        key
    }

    /// Stores `value` under `key`, which [`vacant_key`](Self::vacant_key)
    /// returned with nothing inserted or removed since (the registry asks
    /// for the key, then makes the task that goes there).
    pub(crate) fn insert_at(&mut self, key: usize, value: T) {
        debug_assert_eq!(key, self.vacant_key());
        if key == self.entries.len() {
            self.grow();
        }
        debug_assert!(self.entries[key].is_none());
        self.entries[key] = Some(value);
        self.set_free(key, false);
        self.cursor = key + 1;
    }

    /// Takes the value under `key` out, if there is one.
    pub(crate) fn try_remove(&mut self, key: usize) -> Option<T> {
        let value = self.entries.get_mut(key)?.take()?;
        self.set_free(key, true);
        self.cursor = self.cursor.min(key); // invariant #4
        Some(value)
    }

    /// The value under `key`, if there is one.
    pub(crate) fn get(&self, key: usize) -> Option<&T> {
        self.entries.get(key)?.as_ref()
    }

    /// Every value held, in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
    }

    /// The first free key at or after `from`, if any.
    fn find_free(&self, from: usize) -> Option<usize> {
        let word = from / BITS;
        let first = *self.free.get(word)?;
        // The current word, from `from`'s bit on.
        let here = first & (!0u64 << (from % BITS));
        if here != 0 {
            return Some(word * BITS + here.trailing_zeros() as usize);
        }
        // Then the next word with a free key, through the summary.
        let next = word + 1;
        let mut s = next / BITS;
        let mut bits = self.summary.get(s)? & (!0u64 << (next % BITS));
        loop {
            if bits != 0 {
                let w = s * BITS + bits.trailing_zeros() as usize;
                return Some(w * BITS + self.free[w].trailing_zeros() as usize);
            }
            s += 1;
            bits = *self.summary.get(s)?;
        }
    }

    fn set_free(&mut self, key: usize, free: bool) {
        let (w, bit) = (key / BITS, 1u64 << (key % BITS));
        if free {
            self.free[w] |= bit;
        } else {
            self.free[w] &= !bit;
        }
        let (s, sbit) = (w / BITS, 1u64 << (w % BITS));
        if self.free[w] != 0 {
            self.summary[s] |= sbit;
        } else {
            self.summary[s] &= !sbit;
        }
    }

    /// Doubles the key space (from one word: 64 keys), all of it free
    /// (invariants #1-#3).
    fn grow(&mut self) {
        let old = self.free.len();
        let words = old.max(1);
        self.entries
            .resize_with(self.entries.len() + words * BITS, || None);
        self.free.resize(old + words, !0);
        self.summary.resize((old + words).div_ceil(BITS), 0);
        for w in old..old + words {
            self.summary[w / BITS] |= 1 << (w % BITS);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    /// Values held.
    fn held<T>(s: &Slots<T>) -> usize {
        s.iter().count()
    }

    /// Checks invariants #1-#4 against the entries.
    fn check<T>(s: &Slots<T>) {
        assert_eq!(s.entries.len(), 64 * s.free.len());
        assert_eq!(s.summary.len(), s.free.len().div_ceil(64));
        for w in s.free.len()..64 * s.summary.len() {
            assert_eq!(
                s.summary[w / 64] >> (w % 64) & 1,
                0,
                "bit past the end: {w}"
            );
        }
        for (k, e) in s.entries.iter().enumerate() {
            assert_eq!(s.free[k / 64] >> (k % 64) & 1 == 1, e.is_none(), "key {k}");
        }
        for (w, f) in s.free.iter().enumerate() {
            assert_eq!(s.summary[w / 64] >> (w % 64) & 1 == 1, *f != 0, "word {w}");
        }
        assert!(s.entries[..s.cursor].iter().all(Option::is_some));
    }

    #[test]
    fn keys_follow_insertion_order_whatever_order_the_last_batch_ended_in() {
        let mut s = Slots::new();
        let n = if cfg!(miri) { 300 } else { 10_000 };
        let keys: Vec<usize> = (0..n).map(|i| s.insert(i)).collect();
        assert_eq!(keys, (0..n).collect::<Vec<_>>());
        // End them in a scrambled order; the next batch still gets its keys
        // in order (a slab would hand them out in the reverse of that order).
        let mut order: Vec<usize> = (0..n).collect();
        for i in 0..n {
            order.swap(i, (i * 7919) % n);
        }
        for &k in &order {
            assert_eq!(s.try_remove(k), Some(k));
        }
        check(&s);
        assert_eq!(held(&s), 0);
        let again: Vec<usize> = (0..n).map(|i| s.insert(i)).collect();
        assert_eq!(
            again,
            (0..n).collect::<Vec<_>>(),
            "the lowest keys, in order"
        );
        check(&s);
    }

    #[test]
    fn the_lowest_free_key_first_past_full_words_then_growth() {
        let mut s = Slots::new();
        // Fill past one summary word (4096 keys), up to the grown space.
        let mut k = 0;
        while k < 2 * 4096 || k < s.entries.len() {
            assert_eq!(s.insert(k), k);
            k += 1;
        }
        let cap = s.entries.len();
        // Free a key in a later summary word, then one near the start: the
        // lowest comes first, then the search skips every full word up to
        // the other.
        let far = 4096 + 70;
        assert_eq!(s.try_remove(far), Some(far));
        assert_eq!(s.try_remove(3), Some(3));
        check(&s);
        assert_eq!(s.vacant_key(), 3);
        assert_eq!(s.insert(0), 3);
        assert_eq!(s.insert(0), far);
        // Full: the next key is past the end, and the space grows.
        assert_eq!(s.vacant_key(), cap);
        assert_eq!(s.insert(0), cap);
        assert!(s.entries.len() > cap);
        check(&s);
    }

    #[test]
    fn remove_get_and_iter_agree() {
        let mut s = Slots::new();
        for i in 0..200 {
            s.insert(i * 10);
        }
        assert_eq!(s.try_remove(5), Some(50));
        assert_eq!(s.try_remove(5), None);
        assert_eq!(s.try_remove(1_000_000), None);
        assert_eq!(s.get(5), None);
        assert_eq!(s.get(6), Some(&60));
        assert_eq!(s.iter().count(), 199);
        assert!(s.iter().all(|(k, v)| *v == k * 10));
        // The freed key is the lowest free one: it is taken next.
        assert_eq!(s.insert(55), 5);
        assert_eq!(s.insert(2000), 200);
        check(&s);
    }
}
