//! Waiters: the analog of Go's `sudog`, and the queues that hold them.
//!
//! A blocked operation is represented by an [`Entry`] in one channel queue
//! (`sendq` or `recvq`). Every entry points at a [`Token`]: the *selection
//! word* of the operation that owns it. A standalone `send`/`recv` is a select
//! with one case, so its token lives inline in its single entry; a `select!`
//! shares one token among the entries of all its cases.
//!
//! # Invariants
//!
//! 1. A token's state goes from `WAITING` to a final state (`CLAIMED` or
//!    `SELECTED(case)`) at most once, by a CAS, and never back. Whoever wins
//!    that CAS decides what the operation did. (The one exception is
//!    [`Entry::recycle`]: a finished standalone entry that nobody else
//!    references any more is reset to `WAITING` for reuse; as no other thread
//!    can reach it, nobody can observe the reset.)
//! 2. Only the token's owner CASes `WAITING -> CLAIMED` (a select whose generic
//!    future case completed, or a select being dropped). Only a counterpart
//!    holding the lock of a channel in whose queue an entry of the token sits
//!    CASes `WAITING -> SELECTED`.
//! 3. An entry's `slot` is read and written only under the lock of the channel
//!    whose queue the entry is (or was last) in. A send entry's slot holds the
//!    offered value until a receiver takes it; a recv entry's slot receives the
//!    value from the sender that selected it (`None` when selected by `close`).
//! 4. A token's `waker` is written by its owner only while it holds the locks
//!    of *every* channel where the token has an entry, and taken only by the
//!    counterpart that won the `SELECTED` CAS, under one of those locks. So the
//!    two never overlap (the owner holds the counterpart's lock too).
//! 5. An entry whose token is not `WAITING` is stale: it will never be selected
//!    again, so any holder of the channel lock may drop it from the queue
//!    (Go's `dequeue` skipping a select that already won elsewhere).

use std::collections::VecDeque;
use std::mem::ManuallyDrop;
use std::task::Waker;

use crate::loom::{Arc, AtomicUsize, Ordering, UnsafeCell};

/// The token is waiting: any counterpart may select it.
const WAITING: usize = 0;
/// The owner took the token itself (a generic future case won, or the owner is
/// being dropped). Final.
const CLAIMED: usize = 1;
/// `SELECTED_BASE + case`: a counterpart (or `close`) chose case `case`. Final.
const SELECTED_BASE: usize = 2;

/// What a token's state word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Nobody has decided yet.
    Waiting,
    /// The owner claimed the token itself.
    Claimed,
    /// A counterpart completed case `.0`.
    Selected(usize),
}

/// The selection word of one operation (one `select!`, or one `send`/`recv`).
///
/// Orderings: every state transition is made by a CAS, and every datum the
/// transition guards (the waker, the entries' slots) is accessed under a
/// channel lock (invariants #3, #4); the locks order those accesses, so the
/// state word itself needs only `Relaxed`. An owner that reads a final state
/// without a lock always takes the lock of the chosen case's channel before it
/// touches that case's slot: the lock acquire orders it after the
/// counterpart's critical section, in which the CAS and the slot write
/// happened (read-write coherence rules out reading the CAS "early").
#[derive(Debug)]
pub struct Token {
    /// `WAITING`, `CLAIMED` or `SELECTED_BASE + case` (invariant #1).
    state: AtomicUsize,
    /// The owner's waker (invariant #4).
    waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: `waker` is only accessed under the channel locks as invariant #4 says;
// `Waker` is `Send + Sync`.
unsafe impl Send for Token {}
// SAFETY: as above.
unsafe impl Sync for Token {}

impl Token {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(WAITING),
            waker: UnsafeCell::new(None),
        }
    }

    /// The current state.
    #[inline]
    pub(crate) fn selection(&self) -> Selection {
        match self.state.load(Ordering::Relaxed) {
            WAITING => Selection::Waiting,
            CLAIMED => Selection::Claimed,
            s => Selection::Selected(s - SELECTED_BASE),
        }
    }

    /// A counterpart tries to choose `case` of this token's owner. Must hold the
    /// lock of the channel where the entry for `case` sits (invariant #2).
    #[inline]
    pub(crate) fn try_select(&self, case: usize) -> bool {
        self.state
            .compare_exchange(
                WAITING,
                SELECTED_BASE + case,
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The owner tries to take its own token (invariant #2). On failure a
    /// counterpart selected a case first.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        self.state
            .compare_exchange(WAITING, CLAIMED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// Stores the owner's waker, unless the stored one already wakes the same
    /// task. The replaced waker goes to `wakeups` to be dropped (not woken)
    /// after the locks are released: dropping a waker may drop a task, and
    /// with it futures that would take this channel's lock.
    ///
    /// # Safety
    ///
    /// The caller is the owner and holds the lock of every channel where this
    /// token has an entry (invariant #4).
    pub(crate) unsafe fn set_waker(&self, waker: &Waker, wakeups: &mut Wakeups) {
        self.waker.with_mut(|w| {
            // SAFETY: exclusive by invariant #4 and this function's contract.
            let w = unsafe { &mut *w };
            match w {
                Some(old) if old.will_wake(waker) => {}
                _ => wakeups.keep_stale(w.replace(waker.clone())),
            }
        });
    }

    /// Takes the owner's waker, to wake it once the lock is released.
    ///
    /// # Safety
    ///
    /// The caller won `try_select` on this token and holds the lock of the
    /// channel where it found the entry (invariant #4).
    #[inline]
    pub(crate) unsafe fn take_waker(&self) -> Option<Waker> {
        // SAFETY: exclusive by invariant #4 and this function's contract.
        self.waker.with_mut(|w| unsafe { (*w).take() })
    }
}

/// One waiting operation in one channel queue (Go's `sudog`).
#[derive(Debug)]
pub(crate) struct Entry<T> {
    /// The token of a standalone `send`/`recv` (unused when `shared` is set).
    inline: Token,
    /// The token of a `select!`, shared by the entries of all its cases.
    shared: Option<Arc<Token>>,
    /// The case index this entry stands for inside its select (0 standalone).
    case: usize,
    /// The value in transit (invariant #3).
    slot: UnsafeCell<Option<T>>,
}

// SAFETY: the slot is accessed only under the channel lock (invariant #3), so
// sharing an entry only ever moves a `T` between threads: `T: Send` suffices.
unsafe impl<T: Send> Send for Entry<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Entry<T> {}

impl<T> Entry<T> {
    /// An entry with its own token (a standalone operation).
    pub(crate) fn standalone(value: Option<T>) -> Self {
        Self {
            inline: Token::new(),
            shared: None,
            case: 0,
            slot: UnsafeCell::new(value),
        }
    }

    /// An entry for case `case` of the select owning `token`.
    pub(crate) fn for_select(token: Arc<Token>, case: usize, value: Option<T>) -> Self {
        Self {
            inline: Token::new(),
            shared: Some(token),
            case,
            slot: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn token(&self) -> &Token {
        self.shared.as_deref().unwrap_or(&self.inline)
    }

    /// Readies a finished standalone entry for reuse by the next blocking
    /// operation on the same channel, saving an allocation: `Some` if
    /// `entry` is standalone, the only reference to it, and empty (no value,
    /// no waker), now reset to a fresh `WAITING` state. Otherwise `None`, and
    /// `entry` is dropped (nothing but memory to free).
    ///
    /// The caller holds the lock of the channel the entry was last queued in
    /// (it keeps the entry for that channel only, invariant #3).
    pub(crate) fn recycle(mut entry: Arc<Self>) -> Option<Arc<Self>> {
        // `get_mut` succeeds only if no other `Arc` (a queue's, a
        // counterpart's) exists: nobody else can observe the reset below.
        let e = Arc::get_mut(&mut entry)?;
        if e.shared.is_some() {
            return None;
        }
        // SAFETY: `get_mut` gave us exclusive access to the entry.
        let empty = e.slot.with_mut(|s| unsafe { (*s).is_none() })
            // SAFETY: as above.
            && e.inline.waker.with_mut(|w| unsafe { (*w).is_none() });
        if !empty {
            return None;
        }
        // Invariant #1's exception: exclusive, so the reset is unobservable.
        e.inline.state.store(WAITING, Ordering::Relaxed);
        Some(entry)
    }

    /// Whether a counterpart chose this entry's case.
    #[inline]
    pub(crate) fn is_selected(&self) -> bool {
        self.token().selection() == Selection::Selected(self.case)
    }

    /// Replaces the slot's content, returning the old one.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the channel this entry belongs to
    /// (invariant #3).
    #[inline]
    pub(crate) unsafe fn swap_slot(&self, value: Option<T>) -> Option<T> {
        // SAFETY: exclusive by invariant #3 and this function's contract.
        self.slot
            .with_mut(|s| unsafe { std::mem::replace(&mut *s, value) })
    }
}

/// The wakers to call once the channel lock(s) are released.
///
/// Waking under a lock would let the woken task run into the lock we hold.
/// Built and dropped on every channel operation, so the common cases (no
/// waker, or one) stay inline and cost a test each; more wakers (a `close`)
/// and a replaced waker go to a boxed overflow.
///
/// The fields are `ManuallyDrop`: `Drop` wakes (and so empties) both, which
/// leaves the compiler no drop glue to call out of line.
#[derive(Debug, Default)]
pub struct Wakeups {
    first: ManuallyDrop<Option<Waker>>,
    more: ManuallyDrop<Option<Box<MoreWakeups>>>,
}

/// The rare part of [`Wakeups`].
#[derive(Debug, Default)]
struct MoreWakeups {
    rest: Vec<Waker>,
    /// Replaced wakers, dropped (not woken) with this value, after unlocking.
    stale: Vec<Waker>,
}

impl Wakeups {
    #[inline]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        if let Some(w) = waker {
            if self.first.is_none() {
                *self.first = Some(w);
            } else {
                self.more().rest.push(w);
            }
        }
    }

    /// Keeps a replaced waker, to be dropped after unlocking: dropping a
    /// waker may drop a task, and with it futures that take a channel lock.
    #[inline]
    fn keep_stale(&mut self, waker: Option<Waker>) {
        if let Some(w) = waker {
            self.more().stale.push(w);
        }
    }

    #[cold]
    fn more(&mut self) -> &mut MoreWakeups {
        self.more.get_or_insert_with(Box::default)
    }

    /// Wakes everything collected so far. Call with no lock held.
    #[inline]
    pub(crate) fn wake(&mut self) {
        if let Some(w) = self.first.take() {
            w.wake();
        }
        if self.more.is_some() {
            self.wake_more();
        }
    }

    #[cold]
    fn wake_more(&mut self) {
        if let Some(more) = self.more.take() {
            for w in more.rest {
                w.wake();
            }
            drop(more.stale);
        }
    }
}

impl Drop for Wakeups {
    #[inline]
    fn drop(&mut self) {
        // Empties both fields: nothing is left for `ManuallyDrop` to leak.
        self.wake();
    }
}

/// A FIFO of waiting entries (Go's `waitq`). Guarded by its channel's lock.
///
/// The deque is boxed, and allocated when the first entry is queued: most
/// channels are idle most of the time, and an empty queue then costs one
/// pointer instead of a `VecDeque`'s four words (one channel has two).
#[derive(Debug)]
pub(crate) struct WaitQueue<T> {
    // The box is the point (one word while idle), not an oversight.
    #[allow(clippy::box_collection)]
    entries: Option<Box<VecDeque<Arc<Entry<T>>>>>,
}

impl<T> WaitQueue<T> {
    pub(crate) const fn new() -> Self {
        Self { entries: None }
    }

    /// Whether no entry is queued (stale ones count: this is a hint that
    /// sends the caller down the full path, which skips them).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.as_ref().is_none_or(|e| e.is_empty())
    }

    pub(crate) fn push(&mut self, entry: Arc<Entry<T>>) {
        self.entries.get_or_insert_default().push_back(entry);
    }

    /// Removes `entry` if it is still queued.
    pub(crate) fn remove(&mut self, entry: &Arc<Entry<T>>) {
        if let Some(entries) = &mut self.entries {
            if let Some(i) = entries.iter().position(|e| Arc::ptr_eq(e, entry)) {
                drop(entries.remove(i));
            }
        }
    }

    /// Selects the first waiting entry that is not `me`'s own (a select must
    /// not pair with itself), dropping stale entries on the way (invariant #5).
    /// On success the entry is out of the queue and its token is
    /// `SELECTED(entry.case)`: the caller must complete the transfer before it
    /// releases the lock, then wake the owner (`take_waker`).
    #[inline]
    pub(crate) fn select_first(&mut self, me: Option<&Token>) -> Option<Arc<Entry<T>>> {
        if self.is_empty() {
            return None;
        }
        self.select_first_slow(me)
    }

    fn select_first_slow(&mut self, me: Option<&Token>) -> Option<Arc<Entry<T>>> {
        let entries = self.entries.as_mut()?;
        let mut i = 0;
        while i < entries.len() {
            let entry = &entries[i];
            let token = entry.token();
            if me.is_some_and(|me| std::ptr::eq(me, token)) {
                i += 1; // our own select's entry: skip it
                continue;
            }
            let selected = token.try_select(entry.case);
            // From the front (the usual case) a pop, not `VecDeque::remove`'s
            // shuffling.
            let entry = if i == 0 {
                entries.pop_front()
            } else {
                entries.remove(i)
            };
            if selected {
                return entry;
            }
            // Lost (invariant #5): its owner completed elsewhere.
            drop(entry);
        }
        None
    }

    /// Selects every waiting entry (for `close`), collecting their wakers.
    pub(crate) fn select_all(&mut self, wakeups: &mut Wakeups) {
        let Some(entries) = &mut self.entries else {
            return;
        };
        for entry in entries.drain(..) {
            if entry.token().try_select(entry.case) {
                // SAFETY: we won the CAS and hold the lock (caller's contract).
                wakeups.push(unsafe { entry.token().take_waker() });
            }
        }
    }
}
