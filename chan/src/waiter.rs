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
//!    `SELECTED(case)`) at most once, by a CAS (or, for a standalone token,
//!    a store under its channel's lock: #2), and never back. Whoever makes
//!    that change decides what the operation did. (The one exception is
//!    [`Entry::recycle`] and [`Entry::recycle_handed`]: a finished
//!    standalone entry that no queue links any more is reset to `WAITING`
//!    for reuse; as no other thread can reach it, nobody can observe the
//!    reset.) On the way, a select's token may go
//!    `WAITING -> POLLING -> WAITING` any number of times (#8).
//! 2. Only the token's owner CASes `WAITING -> CLAIMED` (a select whose generic
//!    future case completed, or a select being dropped) or `WAITING ->
//!    POLLING`, and only the owner leaves `POLLING`. Only a counterpart
//!    holding the lock of a channel in whose queue an entry of the token sits
//!    CASes `WAITING -> SELECTED`. A standalone token is never claimed and
//!    sits in one queue: every change to it is made under that one channel's
//!    lock, so there it is a plain load and store ([`Entry::try_select`]).
//! 3. An entry's `slot` is read and written only under the lock of the channel
//!    whose queue the entry is (or was last) in, or by its owner after the
//!    entry was handed back (#9). A send entry's slot holds the
//!    offered value until a receiver takes it; a recv entry's slot receives the
//!    value from the sender that selected it (`None` when selected by `close`).
//! 4. A token's `waker` is written by its owner only while it holds the locks
//!    of *every* channel where the token has an entry, and taken only by the
//!    counterpart that won the `SELECTED` CAS, under one of those locks. So the
//!    two never overlap (the owner holds the counterpart's lock too).
//! 5. An entry whose token is not `WAITING` is stale: it will never be selected
//!    again, so any holder of the channel lock may unlink it from the queue
//!    (Go's `dequeue` skipping a select that already won elsewhere).
//! 6. An entry is owned by its operation (an [`OwnedEntry`] in the future, the
//!    `Receiver`'s stream state or the select case); a queue links it without
//!    owning it. The owner unlinks its entry under the channel lock before it
//!    frees or reuses it (every owner's completion, cancellation and drop path
//!    goes through the lock, but the one of #9), so a linked entry is alive
//!    for as long as the lock is held: the counterpart that selects an entry
//!    may use it until it unlocks (or hands it back, #9). An owner that is
//!    leaked leaks its entry too, which stays valid.
//! 8. `POLLING`: a select whose entries are queued polls one of its generic
//!    future cases (a read, a timer, a join) with its channel locks released.
//!    Were a counterpart to select one of its entries meanwhile, and the
//!    future complete in that same poll, one of the two outcomes would be
//!    dropped: the bytes read, the timer's fire, the value sent. So the owner
//!    moves its token to `POLLING` (a CAS from `WAITING`: failing, a
//!    counterpart chose first, and the future is not polled) and back to
//!    `WAITING`, or on to `CLAIMED` if the future completed (plain stores:
//!    nobody else changes a `POLLING` token). A counterpart that finds a
//!    `POLLING` entry passes it by and keeps it queued: at that instant the
//!    select is running, not waiting, as a Go select holding its locks. It
//!    may then queue itself; the owner, back to `WAITING`, tries its channel
//!    cases once more under their locks before it waits (the engine's
//!    `stale` pass), and finds it there. `close` unlinks a `POLLING` entry
//!    without selecting it, and that same pass then sees the channel closed.
//! 9. Hand-back: a counterpart that selected a standalone send's entry and
//!    took its value (a receive, or a receive refilling the buffer) ends its
//!    use of the entry with [`Selected::hand_over`], a `Release` store of
//!    `handed`, after the slot and the waker. From then on nobody but the
//!    owner reaches the entry (it is out of every queue, and the
//!    counterpart is done with it), so the owner, woken, that reads
//!    `handed` with `Acquire` completes without waiting for the channel
//!    lock: it reads the slot, and recycles the entry as the channel's spare
//!    if the lock is free at once (else frees it). An entry not handed back
//!    (selected by `close`, or a select's) completes under the lock as
//!    before; a select's entry that is handed back is not looked at.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::Waker;

use crate::loom::{Arc, AtomicBool, AtomicUsize, Ordering, UnsafeCell};

/// The token is waiting: any counterpart may select it.
const WAITING: usize = 0;
/// The owner took the token itself (a generic future case won, or the owner is
/// being dropped). Final.
const CLAIMED: usize = 1;
/// The owner is polling a generic future case: no counterpart may select it
/// now (invariant #8).
const POLLING: usize = 2;
/// `SELECTED_BASE + case`: a counterpart (or `close`) chose case `case`. Final.
const SELECTED_BASE: usize = 3;

/// What a token's state word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Nobody has decided yet.
    Waiting,
    /// The owner claimed the token itself.
    Claimed,
    /// The owner is polling a future case (invariant #8).
    Polling,
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
            POLLING => Selection::Polling,
            s => Selection::Selected(s - SELECTED_BASE),
        }
    }

    /// A counterpart tries to choose `case` of this token's owner. Must hold the
    /// lock of the channel where the entry for `case` sits (invariant #2).
    #[inline]
    pub(crate) fn try_select(&self, case: usize) -> Attempt {
        match self.state.compare_exchange(
            WAITING,
            SELECTED_BASE + case,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => Attempt::Selected,
            Err(POLLING) => Attempt::Busy,
            Err(_) => Attempt::Stale,
        }
    }

    /// `try_select` for a token whose every change is made under one lock
    /// (a standalone token, invariant #2): no read-modify-write needed.
    #[inline]
    fn select_locked(&self, case: usize) -> bool {
        if self.state.load(Ordering::Relaxed) != WAITING {
            return false;
        }
        self.state.store(SELECTED_BASE + case, Ordering::Relaxed);
        true
    }

    /// The owner tries to take its own token (invariant #2). On failure a
    /// counterpart selected a case first.
    #[inline]
    pub(crate) fn try_claim(&self) -> bool {
        self.state
            .compare_exchange(WAITING, CLAIMED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// The owner is about to poll a generic future case (invariant #8):
    /// `false`, and the future must not be polled, if a counterpart chose a
    /// case first. Otherwise [`end_polling`](Self::end_polling) must follow
    /// (the engine's guard sees to it, even if the poll unwinds).
    #[inline]
    pub(crate) fn begin_polling(&self) -> bool {
        self.state
            .compare_exchange(WAITING, POLLING, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// The owner's future case returned: `claim` (it completed) makes the
    /// token `CLAIMED`, else it is `WAITING` again. A plain store: nobody but
    /// the owner changes a `POLLING` token (invariant #2). `Relaxed`: a
    /// counterpart that passed the entry by did so under a channel lock that
    /// the owner takes before it waits (invariant #8), which orders the two.
    #[inline]
    pub(crate) fn end_polling(&self, claim: bool) {
        debug_assert_eq!(self.state.load(Ordering::Relaxed), POLLING);
        let next = if claim { CLAIMED } else { WAITING };
        self.state.store(next, Ordering::Relaxed);
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
        // The task's real waker, not the one it is polled with (gust-trace,
        // "Who holds the waker").
        let waker = gust_trace::real_waker(waker);
        self.waker.with_mut(|w| {
            // SAFETY: exclusive by invariant #4 and this function's contract.
            let w = unsafe { &mut *w };
            match w {
                Some(old) if old.will_wake(waker) => {}
                _ => wakeups.keep_stale(w.replace(waker.clone())),
            }
        });
    }

    /// [`set_waker`](Self::set_waker) for a token that has no waker (a
    /// fresh or recycled standalone entry's): nothing to replace.
    ///
    /// # Safety
    ///
    /// As `set_waker`'s.
    #[inline]
    pub(crate) unsafe fn init_waker(&self, waker: &Waker) {
        let waker = gust_trace::real_waker(waker).clone();
        self.waker.with_mut(|w| {
            // SAFETY: exclusive by invariant #4 and this function's contract.
            let w = unsafe { &mut *w };
            debug_assert!(w.is_none(), "init_waker on a token with a waker");
            *w = Some(waker);
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

/// What a counterpart's [`Entry::try_select`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The entry is ours: complete the transfer under this lock.
    Selected,
    /// Its owner completed elsewhere: unlink it (invariant #5).
    Stale,
    /// Its owner is polling a future case: pass it by, keep it queued
    /// (invariant #8).
    Busy,
}

/// One waiting operation in one channel queue (Go's `sudog`).
#[derive(Debug)]
pub(crate) struct Entry<T> {
    /// The token of a standalone `send`/`recv` (unused when `shared` is set).
    inline: Token,
    /// The token of a `select!`, shared by the entries of all its cases.
    shared: Option<Arc<Token>>,
    /// The case index this entry stands for inside its select (0 standalone;
    /// a select has at most `MAX_DYNAMIC_CASES`).
    case: u32,
    /// The counterpart that selected this entry is done with it (invariant
    /// #9): set with `Release` as its last access.
    handed: AtomicBool,
    /// The value in transit (invariant #3).
    slot: UnsafeCell<Option<T>>,
    /// The next entry of the queue this entry is in (see [`WaitQueue`]);
    /// meaningless while in no queue. Guarded by that queue's channel lock.
    next: UnsafeCell<*const Entry<T>>,
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
            handed: AtomicBool::new(false),
            slot: UnsafeCell::new(value),
            next: UnsafeCell::new(std::ptr::null()),
        }
    }

    /// An entry for case `case` of the select owning `token`.
    pub(crate) fn for_select(token: Arc<Token>, case: usize, value: Option<T>) -> Self {
        Self {
            inline: Token::new(),
            shared: Some(token),
            case: u32::try_from(case).expect("a select has at most MAX_DYNAMIC_CASES cases"),
            handed: AtomicBool::new(false),
            slot: UnsafeCell::new(value),
            next: UnsafeCell::new(std::ptr::null()),
        }
    }

    #[inline]
    pub(crate) fn token(&self) -> &Token {
        self.shared.as_deref().unwrap_or(&self.inline)
    }

    /// Readies a finished standalone entry for reuse by the next blocking
    /// operation on the same channel, saving an allocation: `Some` if
    /// `entry` is standalone and empty (no value, no waker), now reset to a
    /// fresh `WAITING` state. Otherwise `None`, and `entry` is dropped.
    ///
    /// The caller holds the lock of the channel the entry was last queued in,
    /// and the entry is in no queue: its owner is then the only way
    /// to reach it (invariant #6), so nobody can observe the reset.
    pub(crate) fn recycle(entry: OwnedEntry<T>) -> Option<OwnedEntry<T>> {
        let e = &*entry;
        if e.shared.is_some() {
            return None;
        }
        // SAFETY: exclusive: we own the entry and no queue links it.
        let empty = e.slot.with_mut(|s| unsafe { (*s).is_none() })
            // SAFETY: as above.
            && e.inline.waker.with_mut(|w| unsafe { (*w).is_none() });
        if !empty {
            return None;
        }
        // Invariant #1's exception: exclusive, so the reset is unobservable.
        e.inline.state.store(WAITING, Ordering::Relaxed);
        e.handed.store(false, Ordering::Relaxed);
        Some(entry)
    }

    /// [`recycle`](Self::recycle) for a standalone send's entry that its
    /// counterpart handed back (invariant #9): that counterpart was a
    /// receive that took the value and the waker, so the slot and the waker
    /// are empty and only the two state words need resetting. The caller
    /// owns the entry, which no queue links any more: nobody can observe
    /// the reset, and no lock is needed for it.
    pub(crate) fn recycle_handed(entry: OwnedEntry<T>) -> OwnedEntry<T> {
        let e = &*entry;
        debug_assert!(e.shared.is_none() && e.is_handed());
        // SAFETY: exclusive: handed back to us (invariant #9).
        debug_assert!(e.slot.with_mut(|s| unsafe { (*s).is_none() }));
        // SAFETY: as above.
        debug_assert!(e.inline.waker.with_mut(|w| unsafe { (*w).is_none() }));
        // Invariant #1's exception: exclusive, so the reset is unobservable.
        e.inline.state.store(WAITING, Ordering::Relaxed);
        e.handed.store(false, Ordering::Relaxed);
        entry
    }

    /// A counterpart holding the lock of the channel where this entry is
    /// queued tries to choose it: `Token::try_select` on its token.
    #[inline]
    pub(crate) fn try_select(&self) -> Attempt {
        match &self.shared {
            // The owner of a select may claim its token at any time: a CAS
            // decides between us.
            Some(token) => token.try_select(self.case as usize),
            // Nobody but a holder of our lock changes a standalone token
            // (invariant #2): a lock-prefixed CAS per handoff saved.
            None if self.inline.select_locked(self.case as usize) => Attempt::Selected,
            None => Attempt::Stale,
        }
    }

    /// Whether a counterpart chose this entry's case.
    #[inline]
    pub(crate) fn is_selected(&self) -> bool {
        self.token().selection() == Selection::Selected(self.case as usize)
    }

    /// Whether the counterpart that selected this entry handed it back: if
    /// so, the owner alone may touch it, without the lock (invariant #9).
    #[inline]
    pub(crate) fn is_handed(&self) -> bool {
        // Acquire: pairs with `hand_over`'s Release.
        self.handed.load(Ordering::Acquire)
    }

    /// Replaces the slot's content, returning the old one.
    ///
    /// # Safety
    ///
    /// The caller holds the lock of the channel this entry belongs to
    /// (invariant #3), or owns the entry after it was handed back
    /// ([`is_handed`](Self::is_handed), invariant #9).
    #[inline]
    pub(crate) unsafe fn swap_slot(&self, value: Option<T>) -> Option<T> {
        // SAFETY: exclusive by invariant #3 and this function's contract.
        self.slot
            .with_mut(|s| unsafe { std::mem::replace(&mut *s, value) })
    }
}

/// The owner of an [`Entry`]: a `Box` that may be aliased.
///
/// A queue links the entry by raw pointer while the owner keeps it (invariant
/// #6). A `Box` asserts that it is the only way to the entry every time it is
/// moved, which would void those pointers (Stacked Borrows); a raw pointer
/// asserts nothing, and the entry is only ever reached through shared
/// references (its mutable parts are cells).
pub(crate) struct OwnedEntry<T>(NonNull<Entry<T>>);

// SAFETY: owns an `Entry<T>`, which is `Send`/`Sync` for `T: Send`.
unsafe impl<T: Send> Send for OwnedEntry<T> {}
// SAFETY: as above; `&OwnedEntry` only gives `&Entry`.
unsafe impl<T: Send> Sync for OwnedEntry<T> {}

impl<T> OwnedEntry<T> {
    pub(crate) fn new(entry: Entry<T>) -> Self {
        Self(NonNull::from(Box::leak(Box::new(entry))))
    }

    /// Gives up ownership as a pointer (for a handle that keeps its
    /// stream's entry in an atomic); [`from_raw`](Self::from_raw) takes it
    /// back.
    pub(crate) fn into_raw(self) -> *mut Entry<T> {
        let ptr = self.0.as_ptr();
        std::mem::forget(self);
        ptr
    }

    /// Takes back ownership given up by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_raw`, and is taken back once.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Entry<T>>) -> Self {
        Self(ptr)
    }
}

impl<T> Deref for OwnedEntry<T> {
    type Target = Entry<T>;

    #[inline]
    fn deref(&self) -> &Entry<T> {
        // SAFETY: we own a live allocation; it is only shared, never `&mut`.
        unsafe { self.0.as_ref() }
    }
}

impl<T> Drop for OwnedEntry<T> {
    fn drop(&mut self) {
        // SAFETY: allocated by `Box` in `new`; the owner unlinked it before
        // dropping (invariant #6), so nothing else points at it any more.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for OwnedEntry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
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
/// An intrusive, circular, singly linked list: the queue holds one pointer,
/// to the newest entry (the tail), whose `next` is the oldest (the head); each
/// entry's `next` is the one queued after it. One word per queue, no
/// allocation and no reference count of its own (invariant #6), and the head
/// is one load away from the channel: a handoff touches the channel and the
/// waiter's entry, nothing between.
///
/// Invariant #7: an entry is linked into at most one queue at a time (an
/// operation queues one entry per channel, and queues it once), so its one
/// `next` field suffices; `next` is read and written only under the lock of
/// that queue's channel.
pub(crate) struct WaitQueue<T> {
    /// The newest entry; null when the queue is empty.
    tail: *const Entry<T>,
}

impl<T> std::fmt::Debug for WaitQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitQueue")
            .field("empty", &self.is_empty())
            .finish()
    }
}

/// An entry a counterpart selected and unlinked, to complete the transfer
/// with and take the owner's waker from. Valid while the lock under which it
/// was selected is held (invariant #6): use it inside that critical section.
pub(crate) struct Selected<T>(NonNull<Entry<T>>);

impl<T> Selected<T> {
    /// The counterpart, done with the entry it selected (the transfer
    /// made, the waker taken), gives it back to its owner (invariant #9):
    /// its last access. Through the pointer, not a `&Entry`: the owner may
    /// free the entry the moment the store lands, while a reference passed
    /// to a call would still be live.
    ///
    /// # Safety
    ///
    /// The entry is a send's, whose value the caller took under the lock it
    /// still holds (the one it selected the entry under).
    #[inline]
    pub(crate) unsafe fn hand_over(self) {
        let entry = self.0.as_ptr();
        // SAFETY: alive: the owner frees it only after it sees this store.
        // Release: the selection, the slot and the waker taken, all before,
        // are the owner's to read once it sees this (invariant #9).
        unsafe { (*entry).handed.store(true, Ordering::Release) };
    }
}

impl<T> Selected<T> {
    /// A counterpart's whole use of a waiting send's entry it selected:
    /// takes the value and the owner's waker (to wake once the lock is
    /// released), then hands the entry back (invariant #9).
    ///
    /// # Safety
    ///
    /// The entry is a send's (selected in a `sendq`), and the caller still
    /// holds the lock it selected it under.
    #[inline]
    pub(crate) unsafe fn take_sent(self) -> (T, Option<Waker>) {
        // SAFETY: lock held (invariants #3 and #4), the caller's contract.
        let (value, waker) = unsafe {
            let value = self
                .swap_slot(None)
                .expect("a waiting sender holds its value");
            (value, self.token().take_waker())
        };
        // SAFETY: a send's entry whose value we took under the lock we hold.
        unsafe { self.hand_over() };
        (value, waker)
    }

    /// A counterpart's whole use of a waiting receive's entry it selected:
    /// moves `value` into its slot and takes the owner's waker (to wake once
    /// the lock is released). The value is then in flight (chan.rs
    /// invariant #5): the caller counts it.
    ///
    /// # Safety
    ///
    /// The entry is a receive's (selected in a `recvq`), and the caller
    /// still holds the lock it selected it under.
    #[inline]
    pub(crate) unsafe fn give_to_receiver(self, value: T) -> Option<Waker> {
        // SAFETY: lock held (invariants #3 and #4), the caller's contract.
        unsafe {
            self.swap_slot(Some(value));
            self.token().take_waker()
        }
    }
}

impl<T> Deref for Selected<T> {
    type Target = Entry<T>;

    #[inline]
    fn deref(&self) -> &Entry<T> {
        // SAFETY: the owner cannot free the entry without the lock, which the
        // holder of a `Selected` still holds (invariant #6, type contract).
        unsafe { self.0.as_ref() }
    }
}

/// The entry linked after `entry`.
///
/// # Safety
///
/// `entry` is linked in a queue whose channel lock the caller holds.
#[inline]
unsafe fn next_of<T>(entry: *const Entry<T>) -> *const Entry<T> {
    // SAFETY: a linked entry is alive while the lock is held (invariant #6);
    // the lock makes the access exclusive (invariant #7, caller's contract).
    unsafe { (*entry).next.with_mut(|n| *n) }
}

/// Links `next` after `entry`.
///
/// # Safety
///
/// As [`next_of`].
#[inline]
unsafe fn set_next<T>(entry: *const Entry<T>, next: *const Entry<T>) {
    // SAFETY: as in `next_of`.
    unsafe { (*entry).next.with_mut(|n| *n = next) }
}

impl<T> WaitQueue<T> {
    pub(crate) const fn new() -> Self {
        Self {
            tail: std::ptr::null(),
        }
    }

    /// Whether no entry is queued (stale ones count: this is a hint that
    /// sends the caller down the full path, which skips them).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.tail.is_null()
    }

    /// Queues `entry` last. It must be in no queue (invariant #7), and its
    /// owner must unlink it before freeing it (invariant #6).
    pub(crate) fn push(&mut self, entry: &Entry<T>) {
        let new: *const Entry<T> = entry;
        // SAFETY: we hold the lock (`&mut self` of a guarded queue); `new` is
        // alive, and so is `self.tail` (invariant #6).
        unsafe {
            if self.tail.is_null() {
                set_next(new, new);
            } else {
                set_next(new, next_of(self.tail));
                set_next(self.tail, new);
            }
        }
        self.tail = new;
    }

    /// Unlinks `cur`, which follows `prev` (the two are the same when `cur`
    /// is alone).
    ///
    /// # Safety
    ///
    /// `cur` is linked in this queue right after `prev`; lock held.
    #[inline]
    unsafe fn unlink(&mut self, prev: *const Entry<T>, cur: *const Entry<T>) {
        if std::ptr::eq(prev, cur) {
            self.tail = std::ptr::null();
        } else {
            // SAFETY: both linked here (caller's contract).
            unsafe { set_next(prev, next_of(cur)) };
            if std::ptr::eq(cur, self.tail) {
                self.tail = prev;
            }
        }
    }

    /// Unlinks `entry` if it is still queued.
    pub(crate) fn remove(&mut self, entry: &Entry<T>) {
        let target: *const Entry<T> = entry;
        if self.tail.is_null() {
            return;
        }
        let mut prev = self.tail;
        loop {
            // SAFETY: `prev` is linked here; lock held.
            let cur = unsafe { next_of(prev) };
            if std::ptr::eq(cur, target) {
                // SAFETY: `cur` follows `prev` in this queue.
                unsafe { self.unlink(prev, cur) };
                return;
            }
            if std::ptr::eq(cur, self.tail) {
                return; // walked the whole ring
            }
            prev = cur;
        }
    }

    /// Selects the first waiting entry that is not `me`'s own (a select must
    /// not pair with itself), unlinking stale entries on the way (invariant
    /// #5). On success the entry is out of the queue and its token is
    /// `SELECTED(entry.case)`: the caller must complete the transfer before it
    /// releases the lock, then wake the owner (`take_waker`).
    #[inline]
    pub(crate) fn select_first(&mut self, me: Option<&Token>) -> Option<Selected<T>> {
        if self.is_empty() {
            return None;
        }
        self.select_first_slow(me)
    }

    fn select_first_slow(&mut self, me: Option<&Token>) -> Option<Selected<T>> {
        let mut prev = self.tail;
        while !self.tail.is_null() {
            // SAFETY: `prev` is linked here (the tail, or an entry we kept);
            // lock held.
            let cur = unsafe { next_of(prev) };
            let last = std::ptr::eq(cur, self.tail);
            // SAFETY: linked entries are alive while we hold the lock
            // (invariant #6).
            let entry = unsafe { &*cur };
            if me.is_some_and(|me| std::ptr::eq(me, entry.token())) {
                // Our own select's entry: keep it, look further.
                if last {
                    return None;
                }
                prev = cur;
                continue;
            }
            match entry.try_select() {
                Attempt::Selected => {
                    // SAFETY: `cur` follows `prev` in this queue.
                    unsafe { self.unlink(prev, cur) };
                    return Some(Selected(entry.into()));
                }
                Attempt::Stale => {
                    // Lost (invariant #5): its owner completed elsewhere.
                    // SAFETY: `cur` follows `prev` in this queue.
                    unsafe { self.unlink(prev, cur) };
                }
                // Its owner is running (invariant #8): keep it, look further.
                Attempt::Busy => prev = cur,
            }
            if last {
                return None;
            }
        }
        None
    }

    /// Selects the oldest entry if it is waiting, as
    /// [`select_first`](Self::select_first) with no token of the caller's
    /// would, and does nothing otherwise (an empty queue, or a stale or busy
    /// entry at the head, which the caller leaves to `select_first`'s walk):
    /// the common case of a standalone operation's hand-off, without the
    /// walk.
    #[inline]
    pub(crate) fn select_head(&mut self) -> Option<Selected<T>> {
        if self.tail.is_null() {
            return None;
        }
        // SAFETY: the tail is linked here; lock held (`&mut self`).
        let head = unsafe { next_of(self.tail) };
        // SAFETY: linked entries are alive while we hold the lock (invariant #6).
        let entry = unsafe { &*head };
        if entry.try_select() != Attempt::Selected {
            // Stale or busy: `try_select` changed nothing.
            return None;
        }
        // SAFETY: the head follows the tail in this queue.
        unsafe { self.unlink(self.tail, head) };
        Some(Selected(entry.into()))
    }

    /// Selects every waiting entry (for `close`), collecting their wakers.
    /// A busy entry is unlinked unselected: its owner is running, and checks
    /// the channel again before it waits (invariant #8).
    pub(crate) fn select_all(&mut self, wakeups: &mut Wakeups) {
        while !self.tail.is_null() {
            // SAFETY: the tail is linked here; lock held (caller's contract).
            let head = unsafe { next_of(self.tail) };
            // SAFETY: the head follows the tail.
            unsafe { self.unlink(self.tail, head) };
            // SAFETY: alive while we hold the lock (invariant #6).
            let entry = unsafe { &*head };
            if entry.try_select() == Attempt::Selected {
                // SAFETY: we selected it and hold the lock (caller's contract).
                wakeups.push(unsafe { entry.token().take_waker() });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The linked queue on its own (the lock is implied by `&mut`); run
    //! under Miri to check the raw-pointer links and the entries' ownership.
    use super::*;

    fn standalone(v: u32) -> OwnedEntry<u32> {
        OwnedEntry::new(Entry::standalone(Some(v)))
    }

    /// Selects entries until none is left, returning the values in order.
    fn drain(q: &mut WaitQueue<u32>, me: Option<&Token>) -> Vec<u32> {
        let mut out = Vec::new();
        while let Some(e) = q.select_first(me) {
            // SAFETY: single-threaded test; the queue's owner stands for the lock.
            out.push(unsafe { e.swap_slot(None) }.unwrap());
        }
        out
    }

    #[test]
    fn fifo_and_removal_anywhere() {
        let entries: Vec<_> = (0..5).map(standalone).collect();
        let mut q = WaitQueue::new();
        assert!(q.is_empty());
        for e in &entries {
            q.push(e);
        }
        q.remove(&entries[2]); // middle
        q.remove(&entries[4]); // tail
        q.remove(&entries[0]); // head
        q.remove(&entries[0]); // not queued any more: nothing happens
        assert_eq!(drain(&mut q, None), [1, 3]);
        assert!(q.is_empty());
        // Removed and selected entries can be queued again.
        q.push(&entries[4]);
        q.push(&entries[0]);
        q.remove(&entries[0]);
        let mut w = Wakeups::new();
        q.select_all(&mut w);
        assert!(q.is_empty());
    }

    #[test]
    fn select_skips_own_and_unlinks_stale() {
        let mine = Arc::new(Token::new());
        let other = Arc::new(Token::new());
        let own = OwnedEntry::new(Entry::for_select(mine.clone(), 0, Some(10)));
        let stale = OwnedEntry::new(Entry::for_select(other.clone(), 1, Some(11)));
        let live = standalone(12);
        let mut q = WaitQueue::new();
        q.push(&own);
        q.push(&stale);
        q.push(&live);
        assert!(other.try_claim()); // `stale`'s select finished elsewhere
        let got = q.select_first(Some(&mine)).expect("the live entry");
        assert!(std::ptr::eq(&*got, &*live));
        assert!(live.is_selected());
        // Only our own entry is left: nothing to select for us, and it stays.
        assert!(q.select_first(Some(&mine)).is_none());
        assert!(!q.is_empty());
        // Someone else selects it.
        let got = q.select_first(None).expect("our entry, for a counterpart");
        assert!(std::ptr::eq(&*got, &*own));
        assert_eq!(mine.selection(), Selection::Selected(0));
        assert!(q.is_empty());
    }

    #[test]
    fn busy_entries_are_passed_by_and_kept() {
        let polling = Arc::new(Token::new());
        let busy = OwnedEntry::new(Entry::for_select(polling.clone(), 0, Some(20)));
        let live = standalone(21);
        let mut q = WaitQueue::new();
        q.push(&busy);
        q.push(&live);
        assert!(polling.begin_polling());
        assert_eq!(polling.selection(), Selection::Polling);
        assert!(!polling.try_claim(), "only end_polling leaves POLLING");
        let got = q.select_first(None).expect("the live entry behind");
        assert!(std::ptr::eq(&*got, &*live));
        assert!(q.select_first(None).is_none(), "busy: passed by");
        assert!(!q.is_empty(), "busy: kept");
        polling.end_polling(false);
        let got = q.select_first(None).expect("waiting again");
        assert!(std::ptr::eq(&*got, &*busy));
        assert_eq!(polling.selection(), Selection::Selected(0));
        assert!(!polling.begin_polling(), "chosen: the future is not polled");
        // A poll that completes claims the token; its entry is then stale.
        let claimed = Arc::new(Token::new());
        let e = OwnedEntry::new(Entry::for_select(claimed.clone(), 1, Some(22)));
        q.push(&e);
        assert!(claimed.begin_polling());
        claimed.end_polling(true);
        assert_eq!(claimed.selection(), Selection::Claimed);
        assert!(q.select_first(None).is_none());
        assert!(q.is_empty(), "stale: unlinked");
    }

    #[test]
    fn recycle_only_empty_standalone_entries() {
        let e = standalone(1);
        assert!(e.inline.try_claim());
        assert!(Entry::recycle(e).is_none(), "a value is still inside");
        let e = OwnedEntry::new(Entry::<u32>::standalone(None));
        assert!(e.inline.try_claim());
        let e = Entry::recycle(e).expect("empty standalone entry");
        assert_eq!(e.token().selection(), Selection::Waiting);
        let token = Arc::new(Token::new());
        let e = OwnedEntry::new(Entry::<u32>::for_select(token, 0, None));
        assert!(Entry::recycle(e).is_none(), "select entries are not kept");
    }
}
