//! Which worker waits in the OS poller: the submitter's half of the wake
//! protocol in `driver/mod.rs` ("Waking the worker in the poller"), kept
//! apart so that the loom model (`tests/loom_poller.rs`) runs this code.

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
}
