//! Which worker waits in the OS poller: the submitter's half of the wake
//! protocol in `driver/mod.rs` ("Waking the worker in the poller"), and
//! the I/O watch's flag ("The I/O watch"), kept apart so that the loom
//! models (`tests/loom_poller.rs`) run this code.

use crate::loom::{AtomicUsize, Ordering};

/// Index + 1 of the worker waiting in the poller; 0: none.
pub(crate) struct PollerSlot(AtomicUsize);

impl PollerSlot {
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Worker `index` is about to wait in the poller. The caller then
    /// re-checks its parked flag (pairs with the fence in
    /// [`is_waiting`](Self::is_waiting)).
    pub(crate) fn enter(&self, index: usize) {
        // A read-modify-write, not a store: if the submitter's RMW in
        // `is_waiting` comes first in this word's order, this one reads
        // from it (both SeqCst, so release/acquire), and the flag the
        // submitter cleared before it is visible to the caller's re-check.
        self.0.swap(index + 1, Ordering::SeqCst);
    }

    /// The poller's wait returned (or was skipped).
    pub(crate) fn leave(&self) {
        self.0.store(0, Ordering::SeqCst);
    }

    /// Submitter, after clearing worker `index`'s parked flag: whether it
    /// waits in the poller (then wake the poller, else its thread).
    pub(crate) fn is_waiting(&self, index: usize) -> bool {
        // An RMW that changes nothing: it reads the latest value of the
        // word. If the worker's `enter` came first, it reads `index + 1`;
        // otherwise `enter` reads from this one (see there). One of the
        // two sides sees the other: no lost wake-up, with no fence
        // argument needed. (Once per wake of a parked worker, before a
        // system call.)
        self.0.fetch_add(0, Ordering::SeqCst) == index + 1
    }

    /// Whether any worker waits in the poller (racy; a busy worker's check).
    pub(crate) fn anyone(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// [`anyone`](Self::anyone), SeqCst: in the order of `enter` and
    /// `leave` (a parking worker's check, and the waiter's side of the I/O
    /// watch's rule #1: `driver/mod.rs`).
    pub(crate) fn anyone_now(&self) -> bool {
        self.0.load(Ordering::SeqCst) != 0
    }

    /// [`anyone`](Self::anyone), for the I/O watch after
    /// [`WatchFlag::fired`]: a worker's `leave` before an
    /// [`WatchFlag::arm`] that the fire's swap read from is seen through
    /// that swap's Acquire (`driver/mod.rs`, "The I/O watch", rule #2);
    /// Acquire here as well, which costs nothing on a plain load.
    pub(crate) fn anyone_after_fire(&self) -> bool {
        self.0.load(Ordering::Acquire) != 0
    }
}

/// Whether the I/O watch is pending on the timer thread (`driver/mod.rs`,
/// "The I/O watch"): 1 from [`arm`](Self::arm) until the watch fires.
pub(crate) struct WatchFlag(AtomicUsize);

impl WatchFlag {
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(0))
    }

    /// Whether a watch is pending (racy: the hot path's pre-check, where a
    /// stale answer is covered by rule #1 of the I/O watch).
    pub(crate) fn is_armed(&self) -> bool {
        self.0.load(Ordering::Relaxed) != 0
    }

    /// Marks a watch pending; `true` if none was, and the caller must put
    /// one on the timer thread. AcqRel: a worker that has just left the
    /// poller calls this, and the swap in [`fired`](Self::fired) that
    /// reads from it must see that `leave` (rule #2).
    #[must_use]
    pub(crate) fn arm(&self) -> bool {
        self.0.swap(1, Ordering::AcqRel) == 0
    }

    /// The watch fired: none is pending until the next [`arm`](Self::arm).
    /// AcqRel: pairs with the swap in `arm` (above).
    pub(crate) fn fired(&self) {
        self.0.swap(0, Ordering::AcqRel);
    }
}
