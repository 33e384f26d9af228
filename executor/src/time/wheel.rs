//! The structure of a timer set (`store.rs`): a hierarchical timing wheel
//! with exact deadlines.
//!
//! # Why
//!
//! Most timers are cancelled, not fired: a `timeout` around an operation
//! that finishes first is one insert and one remove. An ordered map keyed
//! by `(deadline, id)` made both O(log n) and moved 48-byte entries about:
//! a million timeouts created and cancelled spent about a third of their
//! time in it (perf, 1 worker). Here both are O(1): an entry lives in a
//! slab, and each slot of the wheel is a doubly linked list through the
//! slab's indices (tokio's wheel, with the entries in a slab instead of in
//! the sleeping futures, so a `Sleep` need not be pinned).
//!
//! # Structure
//!
//! Time is counted in *ticks* of 1,024 ns past the set's `base`. The wheel
//! has [`LEVELS`] levels of 64 slots; a slot of level `k` spans `64^k`
//! ticks, so level `k` spans `64^(k+1)`:
//!
//! | level | slot | level spans |
//! |---|---|---|
//! | 0 | 1 µs | 65 µs |
//! | 1 | 65 µs | 4.2 ms |
//! | 2 | 4.2 ms | 268 ms |
//! | 3 | 268 ms | 17 s |
//! | 4 | 17 s | 18 min |
//! | 5 | 18 min | 19.5 h |
//! | 6 | 19.5 h | 52 days |
//! | 7 | 52 days | 9 years |
//! | 8 | 9 years | 585 years (every `u64` of nanoseconds) |
//!
//! `elapsed` is the tick the wheel has been advanced to. An entry is kept
//! at the level of the highest bit in which its tick differs from
//! `elapsed` (level 0 if none, or if its tick is not after `elapsed`), in
//! the slot that its tick names at that level. Each level keeps a bitmap of
//! its non-empty slots, so the next slot to come due is found with a
//! `trailing_zeros` per level.
//!
//! **Advancing** to `now` (`pop_due`): take the earliest non-empty slot
//! while it starts at or before `now`'s tick; move `elapsed` to its start.
//! A slot of level 1 or above is *cascaded*: its entries go down to the
//! levels they now belong to. A slot of level 0 is *fired*: its entries
//! whose deadline is at or before `now` go out, sorted by `(deadline, id)`
//! (the order the map gave, which virtual time's determinism relies on),
//! and the others (only the slot of `now`'s own tick can have any) stay
//! for the next advance. Deadlines are exact: an entry keeps its
//! `Instant`, and nothing fires before it, nor one tick after it because
//! of the wheel.
//!
//! **The next deadline** (what a firer sleeps until): the earliest entry's
//! deadline if the earliest non-empty slot is of level 0 or holds at most
//! [`EXACT_SCAN`] entries (a scan of that slot: by invariant #3 its
//! earliest entry is the wheel's), else the start of that slot: a lower
//! bound. A firer that wakes at a lower bound advances, which cascades the
//! slot, and asks again, so an entry is cascaded at most once per level,
//! as in any timing wheel, and a deadline far away costs nothing until it
//! nears; one that wakes at the exact deadline advances past every slot
//! start on the way in one pop. A virtual clock jumps to the next deadline
//! the same way (`driver/mod.rs`).
//!
//! # Invariants
//!
//! 1. `elapsed` only grows.
//! 2. An entry at level `k >= 1` agrees with `elapsed` on every tick bit
//!    above level `k`, and its slot comes strictly after `elapsed`'s slot
//!    at level `k`. An entry at level 0 agrees with `elapsed` above level 0
//!    and its slot is at or after `elapsed`'s; the slot of `elapsed` itself
//!    also holds the entries whose tick is at or before `elapsed` (passed
//!    when inserted, or left by a partial fire).
//! 3. Hence every slot of a lower level lies inside `elapsed`'s slot of
//!    each higher level, before every non-empty slot of that higher level:
//!    the first non-empty slot found going up from level 0 is the earliest.
//!    (Advancing `elapsed` to any tick up to the earliest slot's start
//!    keeps #2: a value between two that share their high bits shares
//!    them too.)
//! 4. A slot's bit in its level's bitmap is set exactly when its list is
//!    non-empty.

use slab::Slab;
use std::time::{Duration, Instant};

/// Tick bits per level: 64 slots.
const LEVEL_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << LEVEL_BITS;
/// A tick is `1 << TICK_SHIFT` nanoseconds.
const TICK_SHIFT: u32 = 10;
/// Enough levels for every tick of a `u64` of nanoseconds (54 bits).
pub(crate) const LEVELS: usize = (64 - TICK_SHIFT).div_ceil(LEVEL_BITS) as usize;
/// The end of a slot's list.
const NIL: u32 = u32::MAX;
/// An empty wheel keeps room for this many entries; more is given back
/// ([`Wheel::release_spare`]).
const KEEP_ROOM: usize = 1024;

/// The most entries [`Wheel::next_deadline`] scans in a slot above level 0
/// for the exact deadline: a firer that sleeps until a few timers' exact
/// deadline wakes once, where one that slept until the slot's start woke
/// once per level on the way down (a lone 10 ms timer woke the timer
/// thread twice); a crowded slot gives its start, as before.
const EXACT_SCAN: usize = 16;

/// Sorts taken entries into the order timers fire in: by deadline, then by
/// id (insertion order), as the ordered map did (module docs).
fn in_firing_order<A>(taken: &mut [(Instant, u64, A)]) {
    taken.sort_unstable_by_key(|&(deadline, id, _)| (deadline, id));
}

/// A timing wheel of actions `A` (module docs).
pub(crate) struct Wheel<A> {
    /// Tick 0 starts here.
    base: Instant,
    /// The tick the wheel has been advanced to (invariant #1).
    elapsed: u64,
    levels: [Level; LEVELS],
    entries: Slab<Entry<A>>,
    /// `pop_due`'s scratch: one fired slot, to sort.
    fired: Vec<(Instant, u64, A)>,
}

/// The room an empty wheel gave back ([`Wheel::release_spare`]): freed
/// when dropped.
pub(crate) struct Spare<A> {
    _entries: Slab<Entry<A>>,
    _fired: Vec<(Instant, u64, A)>,
}

/// One level: its slots' lists and which of them are non-empty.
struct Level {
    /// Bit `s` set: slot `s`'s list is non-empty (invariant #4).
    occupied: u64,
    /// The first entry of each slot's list, or `NIL`.
    heads: [u32; SLOTS],
}

struct Entry<A> {
    deadline: Instant,
    /// The caller's id for it: a stale index finds another id.
    id: u64,
    /// Neighbours in the slot's list (`NIL`: none).
    prev: u32,
    next: u32,
    /// `level * SLOTS + slot` of the list it is in.
    at: u16,
    action: A,
}

impl<A> Wheel<A> {
    /// An empty wheel whose tick 0 starts at `base`.
    pub(crate) fn new(base: Instant) -> Self {
        Self {
            base,
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            entries: Slab::new(),
            fired: Vec::new(),
        }
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// `at`'s tick (0 before `base`; saturating).
    fn tick_of(&self, at: Instant) -> u64 {
        super::clock::nanos_past(self.base, at) >> TICK_SHIFT
    }

    /// Adds `action`, due at `deadline`, under the caller's `id`; returns
    /// its index (the pair `(index, id)` finds it again).
    ///
    /// # Panics
    ///
    /// With `u32::MAX` entries already in the wheel.
    pub(crate) fn insert(&mut self, deadline: Instant, id: u64, action: A) -> u32 {
        let vacant = self.entries.vacant_entry();
        let index = u32::try_from(vacant.key())
            .ok()
            .filter(|&i| i != NIL)
            .expect("gust: more than 4 billion pending timers in one set");
        vacant.insert(Entry {
            deadline,
            id,
            prev: NIL,
            next: NIL,
            at: 0,
            action,
        });
        self.place(index);
        index
    }

    /// The action under `(index, id)`, if it is still in the wheel.
    pub(crate) fn get_mut(&mut self, index: u32, id: u64) -> Option<&mut A> {
        self.entries
            .get_mut(index as usize)
            .filter(|e| e.id == id)
            .map(|e| &mut e.action)
    }

    /// Takes out the action under `(index, id)`; `None` if it is not in the
    /// wheel (it fired, or was removed).
    pub(crate) fn remove(&mut self, index: u32, id: u64) -> Option<A> {
        if self.entries.get(index as usize)?.id != id {
            return None;
        }
        self.unlink(index);
        Some(self.entries.remove(index as usize).action)
    }

    /// Moves every action due at `now` (deadline at or before it) into
    /// `due`, in `(deadline, id)` order, and advances the wheel to `now`.
    ///
    /// A `now` earlier than an earlier call's (two threads' clock reads
    /// racing, or the watch's `now - grace`) still takes what is due at it
    /// from the slot of `elapsed`, where a deadline that had passed when it
    /// was inserted waits: that slot is always scanned against `now`.
    pub(crate) fn pop_due(&mut self, now: Instant, due: &mut Vec<A>) {
        let now_tick = self.tick_of(now).max(self.elapsed);
        while let Some((level, slot, start)) = self.next_slot() {
            if start > now_tick {
                break;
            }
            // Invariant #3: nothing is due before `start`, so no slot is
            // skipped; `start >= elapsed` (#2), so #1 holds.
            self.elapsed = start;
            let mut entry = self.take_list(level, slot);
            if level > 0 {
                while entry != NIL {
                    let next = self.entries[entry as usize].next;
                    self.place(entry);
                    entry = next;
                }
                continue;
            }
            while entry != NIL {
                let e = &self.entries[entry as usize];
                let next = e.next;
                if e.deadline <= now {
                    let e = self.entries.remove(entry as usize);
                    self.fired.push((e.deadline, e.id, e.action));
                } else {
                    self.place(entry);
                }
                entry = next;
            }
            in_firing_order(&mut self.fired);
            due.extend(self.fired.drain(..).map(|(_, _, action)| action));
            if self.levels[0].occupied & (1 << slot) != 0 {
                // The rest of `now`'s own tick: not due yet, and nothing
                // comes before it (#3).
                return;
            }
        }
        self.elapsed = self.elapsed.max(now_tick);
    }

    /// When the earliest entry is due, or a lower bound on it: exact if its
    /// slot is of level 0 or holds at most [`EXACT_SCAN`] entries, else the
    /// start of its slot, before which no entry is due (module docs).
    /// `None` if the wheel is empty.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let (level, slot, start) = self.next_slot()?;
        let slot_start = self
            .base
            .checked_add(Duration::from_nanos(start << TICK_SHIFT));
        match slot_start {
            Some(at) if level > 0 => {
                let mut earliest = None;
                for (n, e) in self.list(level, slot).enumerate() {
                    if n == EXACT_SCAN {
                        return Some(at);
                    }
                    earliest = Some(earliest.map_or(e.deadline, |d: Instant| d.min(e.deadline)));
                }
                earliest
            }
            _ => self.list(level, slot).map(|e| e.deadline).min(),
        }
    }

    /// When the wheel is empty and its slab has grown past [`KEEP_ROOM`]
    /// entries (a burst of timers), gives the slab back, for the caller to
    /// drop outside its lock: a slab never shrinks by itself, and a burst of
    /// a million timers would keep 64 MB for good. (The firer calls it
    /// before it sleeps, off the hot path.)
    pub(crate) fn release_spare(&mut self) -> Option<Spare<A>> {
        (self.entries.is_empty() && self.entries.capacity() > KEEP_ROOM).then(|| Spare {
            _entries: std::mem::take(&mut self.entries),
            _fired: std::mem::take(&mut self.fired),
        })
    }

    /// Takes every entry out, in `(deadline, id)` order.
    pub(crate) fn drain(&mut self) -> Vec<(Instant, u64, A)> {
        for level in &mut self.levels {
            level.occupied = 0;
            level.heads = [NIL; SLOTS];
        }
        let mut all: Vec<_> = self
            .entries
            .drain()
            .map(|e| (e.deadline, e.id, e.action))
            .collect();
        in_firing_order(&mut all);
        all
    }

    /// The earliest non-empty slot: `(level, slot, its first tick)`
    /// (invariant #3).
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        if self.entries.is_empty() {
            return None;
        }
        self.levels.iter().enumerate().find_map(|(k, level)| {
            let shift = LEVEL_BITS * k as u32;
            let here = (self.elapsed >> shift) & (SLOTS as u64 - 1);
            let ahead = level.occupied & (u64::MAX << here);
            (ahead != 0).then(|| {
                let slot = u64::from(ahead.trailing_zeros());
                // `elapsed`'s bits above this level, then the slot's.
                let above = self.elapsed >> (shift + LEVEL_BITS) << (shift + LEVEL_BITS);
                (k, slot as usize, above | slot << shift)
            })
        })
    }

    /// The entries of a slot's list.
    fn list(&self, level: usize, slot: usize) -> impl Iterator<Item = &Entry<A>> {
        let mut at = self.levels[level].heads[slot];
        std::iter::from_fn(move || {
            let e = self.entries.get(at as usize)?;
            at = e.next;
            Some(e)
        })
    }

    /// Links entry `index` into the slot it belongs to (invariant #2).
    fn place(&mut self, index: u32) {
        let tick = self.tick_of(self.entries[index as usize].deadline);
        let (level, slot) = if tick <= self.elapsed {
            (0, self.elapsed as usize % SLOTS)
        } else {
            // The highest bit in which they differ names the level.
            let highest = 63 - (self.elapsed ^ tick).leading_zeros();
            let level = (highest / LEVEL_BITS) as usize;
            (
                level,
                (tick >> (LEVEL_BITS * level as u32)) as usize % SLOTS,
            )
        };
        let head = std::mem::replace(&mut self.levels[level].heads[slot], index);
        self.levels[level].occupied |= 1 << slot;
        if head != NIL {
            self.entries[head as usize].prev = index;
        }
        let e = &mut self.entries[index as usize];
        e.prev = NIL;
        e.next = head;
        e.at = (level * SLOTS + slot) as u16;
    }

    /// Unlinks entry `index` from its slot's list (it stays in the slab).
    fn unlink(&mut self, index: u32) {
        let e = &self.entries[index as usize];
        let (prev, next, at) = (e.prev, e.next, e.at as usize);
        if next != NIL {
            self.entries[next as usize].prev = prev;
        }
        if prev != NIL {
            self.entries[prev as usize].next = next;
        } else {
            let (level, slot) = (at / SLOTS, at % SLOTS);
            self.levels[level].heads[slot] = next;
            if next == NIL {
                self.levels[level].occupied &= !(1 << slot);
            }
        }
    }

    /// Detaches a slot's whole list; returns its first entry.
    fn take_list(&mut self, level: usize, slot: usize) -> u32 {
        self.levels[level].occupied &= !(1 << slot);
        std::mem::replace(&mut self.levels[level].heads[slot], NIL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const NS: fn(u64) -> Duration = Duration::from_nanos;

    fn wheel() -> (Wheel<u64>, Instant) {
        let base = Instant::now();
        (Wheel::new(base), base)
    }

    fn pop(w: &mut Wheel<u64>, now: Instant) -> Vec<u64> {
        let mut due = Vec::new();
        w.pop_due(now, &mut due);
        due
    }

    #[test]
    fn fires_at_the_exact_deadline_in_deadline_order() {
        let (mut w, base) = wheel();
        // Same tick, out of order; then one per level.
        w.insert(base + NS(700), 1, 1);
        w.insert(base + NS(300), 2, 2);
        w.insert(base + NS(300), 0, 0);
        let far = [NS(5_000_000), NS(100_000), NS(10_000_000_000)];
        for (i, d) in far.into_iter().enumerate() {
            w.insert(base + d, 10 + i as u64, 10 + i as u64);
        }
        assert_eq!(w.next_deadline(), Some(base + NS(300)), "level 0: exact");
        assert_eq!(pop(&mut w, base + NS(299)), Vec::<u64>::new());
        assert_eq!(pop(&mut w, base + NS(300)), [0, 2], "ids break ties");
        assert_eq!(pop(&mut w, base + NS(699)), Vec::<u64>::new());
        assert_eq!(pop(&mut w, base + NS(700)), [1]);
        // A slot above level 0 with few entries: exact.
        assert_eq!(w.next_deadline(), Some(base + NS(100_000)));
        assert_eq!(pop(&mut w, base + NS(99_999)), Vec::<u64>::new());
        assert_eq!(pop(&mut w, base + NS(20_000_000_000)), [11, 10, 12]);
        assert_eq!(w.len(), 0);
        assert_eq!(w.next_deadline(), None);
    }

    /// Above level 0, a slot of up to `EXACT_SCAN` entries gives its
    /// earliest deadline; a crowded one its start, and the pop at that
    /// start fires nothing and cascades (the firer then asks again).
    #[test]
    fn next_deadline_is_exact_unless_the_slot_is_crowded() {
        for n in [1, EXACT_SCAN, EXACT_SCAN + 1] {
            let (mut w, base) = wheel();
            // 10 ms: level 2, in one 4.2 ms slot with the others.
            for i in 0..n as u64 {
                w.insert(base + NS(10_000_000 + 1_000 * (n as u64 - i)), i, i);
            }
            let earliest = base + NS(10_001_000);
            let next = w.next_deadline().unwrap();
            if n <= EXACT_SCAN {
                assert_eq!(next, earliest, "{n} entries");
            } else {
                assert!(next < earliest, "{n} entries: the slot's start");
                assert_eq!(pop(&mut w, next), Vec::<u64>::new());
                assert!(w.next_deadline().unwrap() <= earliest);
            }
            // A pop at the exact deadline goes through every level at once.
            assert_eq!(pop(&mut w, earliest), [n as u64 - 1]);
        }
    }

    #[test]
    fn a_passed_deadline_fires_at_the_next_pop() {
        let (mut w, base) = wheel();
        pop(&mut w, base + NS(1_000_000));
        w.insert(base + NS(10), 1, 1);
        w.insert(base, 2, 2);
        assert_eq!(w.next_deadline(), Some(base));
        assert_eq!(pop(&mut w, base + NS(1_000_000)), [2, 1]);
    }

    /// A pop with an earlier `now` than the last one (the watch pops at
    /// `now - grace`) still fires a passed deadline that was inserted
    /// after the last pop: it waits in the slot of `elapsed`.
    #[test]
    fn a_pop_behind_the_last_one_fires_what_is_due_at_it() {
        let (mut w, base) = wheel();
        pop(&mut w, base + NS(10_000_000));
        w.insert(base + NS(1_000_000), 1, 1);
        w.insert(base + NS(7_000_000), 2, 2);
        assert_eq!(pop(&mut w, base + NS(5_000_000)), [1]);
        assert_eq!(w.next_deadline(), Some(base + NS(7_000_000)));
        assert_eq!(pop(&mut w, base + NS(10_000_000)), [2]);
    }

    #[test]
    fn removed_entries_never_fire_and_stale_ids_miss() {
        let (mut w, base) = wheel();
        let a = w.insert(base + NS(5_000), 1, 1);
        let b = w.insert(base + NS(5_000), 2, 2);
        assert_eq!(w.remove(a, 1), Some(1));
        assert_eq!(w.remove(a, 1), None);
        let c = w.insert(base + NS(6_000), 3, 3);
        assert_eq!(c, a, "the slab reuses the index");
        assert_eq!(w.remove(a, 1), None, "the old id no longer matches");
        *w.get_mut(b, 2).unwrap() = 20;
        assert_eq!(pop(&mut w, base + NS(1_000_000)), [20, 3]);
        assert_eq!(w.remove(b, 2), None, "fired");
    }

    #[test]
    fn deadlines_before_the_base_and_at_the_end_of_time() {
        let (mut w, base) = wheel();
        let Some(before) = base.checked_sub(NS(1_000)) else {
            return;
        };
        w.insert(before + NS(500), 1, 1);
        assert_eq!(pop(&mut w, before), Vec::<u64>::new(), "not before it");
        assert_eq!(pop(&mut w, before + NS(500)), [1]);
        let end = base + Duration::from_secs(600 * 365 * 86_400);
        w.insert(end, 2, 2);
        assert_eq!(
            pop(&mut w, base + Duration::from_secs(86_400)),
            Vec::<u64>::new()
        );
        assert_eq!(pop(&mut w, end), [2]);
    }

    #[test]
    fn an_empty_wheel_gives_back_a_grown_slab() {
        let (mut w, base) = wheel();
        assert!(w.release_spare().is_none(), "nothing grown");
        for id in 0..2 * KEEP_ROOM as u64 {
            w.insert(base + NS(id), id, id);
        }
        assert!(w.release_spare().is_none(), "not empty");
        assert_eq!(pop(&mut w, base + NS(10_000)).len(), 2 * KEEP_ROOM);
        assert!(w.release_spare().is_some());
        assert_eq!(w.entries.capacity(), 0);
        w.insert(base + NS(20_000), 7, 7);
        assert_eq!(pop(&mut w, base + NS(20_000)), [7], "usable after");
    }

    #[test]
    fn drain_takes_everything_in_order() {
        let (mut w, base) = wheel();
        for (id, d) in [(1, 900), (2, 5), (3, 7_000_000), (4, 5)] {
            w.insert(base + NS(d), id, id);
        }
        let ids: Vec<_> = w.drain().into_iter().map(|(_, id, _)| id).collect();
        assert_eq!(ids, [2, 4, 1, 3]);
        assert_eq!((w.len(), w.next_deadline()), (0, None));
    }

    /// Random inserts, removes and pops against an ordered map: the same
    /// actions fire at the same pops, in the same order, and the next
    /// deadline is never after the map's first.
    #[test]
    fn behaves_as_an_ordered_map() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let rounds = if cfg!(miri) { 300 } else { 30_000 };
        let (mut w, base) = wheel();
        let mut model = BTreeMap::new();
        let mut keys = Vec::new();
        let mut now = base;
        for id in 0..rounds {
            match rand(10) {
                0..=4 => {
                    // Spans every level from a tick to days, some in the past.
                    let scale = 10u64.pow(rand(15) as u32);
                    let ahead = rand(scale);
                    let at = (now + NS(ahead)).checked_sub(NS(rand(2_000)));
                    let at = at.unwrap_or(now).max(base);
                    keys.push((w.insert(at, id, id), id, at));
                    model.insert((at, id), id);
                }
                5..=6 if !keys.is_empty() => {
                    let (index, id, at) = keys.swap_remove(rand(keys.len() as u64) as usize);
                    assert_eq!(w.remove(index, id), model.remove(&(at, id)));
                }
                _ => {
                    let scale = 10u64.pow(rand(12) as u32);
                    now += NS(rand(scale));
                    let got = pop(&mut w, now);
                    let mut want = Vec::new();
                    while let Some(e) = model.first_entry().filter(|e| e.key().0 <= now) {
                        want.push(e.remove());
                    }
                    assert_eq!(got, want);
                }
            }
            let first = model.keys().next().map(|&(at, _)| at);
            let next = w.next_deadline();
            assert_eq!(next.is_some(), first.is_some());
            assert!(next <= first, "a lower bound");
            assert_eq!(w.len(), model.len());
        }
    }
}
