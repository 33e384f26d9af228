//! Who is awake: the packed searching/unparked counter and the sleeper list.
//!
//! # State word
//!
//! ```text
//! state: AtomicUsize
//!   bits 0..16   num_searching - workers looking for work (stealing, polling
//!                the injection queue, spinning) that have not found any yet
//!   bits 16..    num_unparked  - workers not parked (running or searching)
//! ```
//!
//! # Invariants
//!
//! 1. `num_unparked` only changes under the `sleepers` lock, so
//!    `num_unparked + sleepers.len() == num_workers` whenever the lock is
//!    free.
//! 2. A worker is in `sleepers` iff its `parked` flag is set; both change
//!    together under the lock.
//! 3. A worker woken by [`Idle::notify_one`] is counted as searching by the
//!    notifier (it was added to both counters before the unpark).
//! 4. At most half of the unparked workers search at a time
//!    ([`Idle::transition_to_searching`]): more would only fight over the same
//!    queues.
//!
//! # The two-sided wake protocol
//!
//! Submitter (push to a queue, then [`Idle::notify_one`]):
//!   1. make the task visible (queue push);
//!   2. `fence(SeqCst)`, then load `state`;
//!   3. if a worker is searching, or none is parked, stop: somebody awake will
//!      find the task (the last searcher re-checks every queue before it
//!      parks, step 3 below);
//!   4. otherwise lock `sleepers`, re-check, count one more
//!      unparked + searching worker (invariant #3), pop it, clear its flag,
//!      unlock, unpark its thread.
//!
//! Sleeper ([`Idle::transition_to_parked`], then park):
//!   1. lock `sleepers`; `fetch_sub` (SeqCst) itself from `num_unparked` (and
//!      from `num_searching` if it was searching); push itself; set its flag;
//!   2. unlock; `fence(SeqCst)`;
//!   3. re-check every queue; if it sees work, undo with
//!      [`Idle::unpark_self`] (or find it was already notified);
//!   4. otherwise park while its flag is set.
//!
//! Searcher that stops ([`Idle::transition_from_searching`]): the last
//! one wakes another worker, for the rest of what it found; if it found
//! work of its own in the OS poller
//! ([`Idle::transition_from_searching_to_own_work`]), only when its
//! re-check, after a SeqCst fence, finds work left in a queue (a submitter
//! may have skipped its wake while this worker searched).
//!
//! Why no wakeup is lost: the two SeqCst fences are in one total order. If
//! the submitter's fence comes first, the sleeper's re-check (3), after its
//! own fence, sees the task. If the sleeper's fence comes first, its
//! decrement (1) is visible to the submitter's load (2), which then sees a
//! parked worker and wakes one.
//!
//! Waking costs a futex round trip (~63 us on our machines), so the
//! submitter skips it whenever a searcher exists: one searcher per burst of
//! spawns, not one wake per spawn.

use crate::loom::{AtomicUsize, Mutex, Ordering, fence};

const SEARCH_MASK: usize = (1 << 16) - 1;
const UNPARK_ONE: usize = 1 << 16;

/// A copy of the state word.
#[derive(Clone, Copy, Debug)]
struct Snapshot(usize);

impl Snapshot {
    fn searching(self) -> usize {
        self.0 & SEARCH_MASK
    }

    fn unparked(self) -> usize {
        self.0 >> 16
    }
}

/// Per-worker parked flag (invariant #2), read by the parked worker in its
/// park loop.
pub(crate) struct ParkFlag(AtomicUsize);

impl ParkFlag {
    fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Whether the worker is still in the sleeper list. Acquire: pairs with
    /// the Release store in `notify_one`/`unpark_self`.
    pub(crate) fn is_parked(&self) -> bool {
        self.0.load(Ordering::Acquire) != 0
    }
}

/// The idle bookkeeping of one runtime.
pub(crate) struct Idle {
    state: AtomicUsize,
    /// Indices of parked workers (invariants #1, #2).
    sleepers: Mutex<Vec<usize>>,
    /// `flags[i]` is worker `i`'s parked flag.
    flags: Box<[ParkFlag]>,
    num_workers: usize,
}

impl Idle {
    /// All `num_workers` workers start unparked and not searching.
    pub(crate) fn new(num_workers: usize) -> Self {
        assert!(num_workers < SEARCH_MASK, "too many workers");
        Self {
            state: AtomicUsize::new(num_workers * UNPARK_ONE),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            flags: (0..num_workers).map(|_| ParkFlag::new()).collect(),
            num_workers,
        }
    }

    /// Worker `index`'s parked flag.
    pub(crate) fn flag(&self, index: usize) -> &ParkFlag {
        &self.flags[index]
    }

    fn load(&self) -> Snapshot {
        Snapshot(self.state.load(Ordering::SeqCst))
    }

    /// Submitter side: after making a task visible, picks a parked worker to
    /// wake, if nobody awake will find the task. The caller unparks the
    /// returned worker's thread.
    pub(crate) fn notify_one(&self) -> Option<usize> {
        // SeqCst fence: orders the caller's queue push before the state load
        // (pairs with the SeqCst fetch_sub in `transition_to_parked`).
        fence(Ordering::SeqCst);
        if !self.should_wake(self.load()) {
            return None;
        }
        let mut sleepers = self.sleepers.lock().unwrap();
        if !self.should_wake(self.load()) {
            return None;
        }
        let index = sleepers.pop()?;
        // Invariant #3: counted as unparked and searching before it runs.
        self.state.fetch_add(UNPARK_ONE | 1, Ordering::SeqCst);
        // Release: pairs with the Acquire in `ParkFlag::is_parked`.
        self.flags[index].0.store(0, Ordering::Release);
        Some(index)
    }

    fn should_wake(&self, s: Snapshot) -> bool {
        s.searching() == 0 && s.unparked() < self.num_workers
    }

    /// Tries to count the calling worker as searching; fails when half of the
    /// unparked workers already search (invariant #4).
    pub(crate) fn transition_to_searching(&self) -> bool {
        let s = self.load();
        if 2 * s.searching() >= s.unparked() {
            return false;
        }
        self.state.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// A searching worker found work. Returns `true` if it was the last
    /// searcher: the caller then calls [`Idle::notify_one`], so that somebody
    /// keeps looking for the rest of the work it found.
    pub(crate) fn transition_from_searching(&self) -> bool {
        let prev = Snapshot(self.state.fetch_sub(1, Ordering::SeqCst));
        debug_assert!(prev.searching() > 0);
        prev.searching() == 1
    }

    /// A searching worker found work of its own (what its turn of the OS
    /// poller woke): stops counting as searching. Returns `true` if it was
    /// the last searcher: the caller then re-checks every queue and calls
    /// [`Idle::notify_one`] if work is left, instead of waking a worker
    /// for nothing. A submitter that skipped its wake because this worker
    /// searched made its push before its fence; the decrement and the fence
    /// here order that push before the caller's re-check.
    pub(crate) fn transition_from_searching_to_own_work(&self) -> bool {
        let last = self.transition_from_searching();
        if last {
            // SeqCst fence: the re-check's loads come after the decrement
            // in the single total order (pairs with the fence in
            // `notify_one`).
            fence(Ordering::SeqCst);
        }
        last
    }

    /// Sleeper steps 1-2: removes worker `index` from the awake counts and
    /// adds it to the sleeper list. The caller then re-checks every queue
    /// (step 3; every parking worker does, not only the last searcher, which
    /// costs a few loads on a path that is about to sleep anyway).
    pub(crate) fn transition_to_parked(&self, index: usize, searching: bool) {
        let mut sleepers = self.sleepers.lock().unwrap();
        let dec = UNPARK_ONE | usize::from(searching);
        // SeqCst: pairs with the fence in `notify_one`.
        self.state.fetch_sub(dec, Ordering::SeqCst);
        sleepers.push(index);
        self.flags[index].0.store(1, Ordering::Relaxed);
        drop(sleepers);
        // SeqCst fence: the caller's re-check loads (plain Acquire loads of
        // the queues) come after this point in the single total order, so
        // they see any push whose submitter's fence in `notify_one` came
        // first (pairs with that fence).
        fence(Ordering::SeqCst);
    }

    /// Sleeper step 3, when the re-check (or the OS poller) found work:
    /// takes worker `index` out of the sleeper list again, counted as
    /// unparked, and as searching if `search`. Returns whether the worker is
    /// now counted as searching: `search`, or `true` when a notifier took it
    /// out first (invariant #3).
    pub(crate) fn unpark_self(&self, index: usize, search: bool) -> bool {
        let mut sleepers = self.sleepers.lock().unwrap();
        let Some(pos) = sleepers.iter().position(|&i| i == index) else {
            return true;
        };
        sleepers.swap_remove(pos);
        self.state
            .fetch_add(UNPARK_ONE | usize::from(search), Ordering::SeqCst);
        self.flags[index].0.store(0, Ordering::Release);
        search
    }

    /// Number of workers searching right now (racy; for tests).
    #[cfg(loom)]
    pub(crate) fn num_searching(&self) -> usize {
        self.load().searching()
    }

    /// Number of workers not parked (racy; tests, and virtual time's
    /// idle check, which the poller re-makes on every wake-up).
    pub(crate) fn num_unparked(&self) -> usize {
        self.load().unparked()
    }
}
