//! The channel core: one lock around the buffer, the two wait queues and the
//! closed flag, as in Go's `hchan`.
//!
//! # Design
//!
//! Both flavors, rendezvous (`cap == 0`) and bounded (`cap >= 1`), are the same
//! code path, as in Go's `runtime/chan.go`: a send first hands its value
//! straight to the oldest waiting receiver, else appends to the buffer if there
//! is room, else waits; a receive first takes from the buffer (refilling it
//! from the oldest waiting sender), else takes straight from the oldest waiting
//! sender, else waits. With `cap == 0` the "buffer" steps never apply, and what
//! remains is the rendezvous handoff. One file per flavor (crossbeam's layout)
//! was rejected: `select!` holds several channel locks at once and speaks to
//! every channel through one set of locked operations ([`Inner`]), and the two
//! flavors would differ by three lines.
//!
//! The lock is held for a handful of instructions (no allocation on the fast
//! path, no user code: values are moved, never dropped, under it). Blocking is
//! done by queueing an [`Entry`] and returning `Pending`; the counterpart that
//! completes the operation selects the entry's token under the lock
//! (`waiter.rs`, invariant #1) and wakes the owner after unlocking. A
//! standalone `send`/`recv` that finished through its entry hands the entry
//! back to its channel as `Inner::spare` ([`Entry::recycle`]), and the next
//! standalone operation that blocks there queues it again instead of
//! allocating: a steady stream of blocking sends and receives on one channel
//! allocates nothing. A blocked send whose value a receiver took completes
//! without waiting for the lock: the receiver hands its entry back
//! (invariant #9 of `waiter.rs`), and the sender recycles it if the lock is
//! free at once.
//!
//! A standalone `send`/`recv` polled with no entry queued settles its
//! common cases inline under the lock ([`Inner::send_fast`],
//! [`Inner::recv_fast`]): a value buffered or a buffer slot free, a
//! hand-off with the waiter at the head of the other queue, or, with none
//! there and the channel open, a park (queue a fresh entry and the waker).
//! Anything else (a closed channel, a stale or busy entry at the head, a
//! full buffer with senders waiting) and every later poll take the full
//! path, `try_send`/`try_recv` with their queue walks. The split saves
//! about 15% of the instructions of a rendezvous ping-pong.
//!
//! # Invariants
//!
//! 1. `recvq` holds live entries only while nothing is buffered: a receiver
//!    waits only when the buffer is empty, and a sender hands its value to a
//!    waiting receiver before it touches the buffer.
//! 2. `sendq` holds live entries only while the buffer is full (`len >= cap`;
//!    for `cap == 0`, always): a sender waits only when the buffer is full, and
//!    a receiver that frees a buffer slot refills it from the oldest sender.
//! 3. Once `closed` or `rx_gone` is set, it stays set, and both queues were
//!    emptied when it was set (every entry selected: senders get their value
//!    back, receivers get `None`); no entry is queued after that.
//! 4. `buf.len()` exceeds `cap` only by values given back by cancelled receivers
//!    (see [`Inner::give_back`]); they sit at the front and are received first.
//! 5. `in_flight` counts values sitting in receivers' slots, handed over but
//!    not yet collected. A closed channel is *drained* only when the buffer is
//!    empty and `in_flight == 0`: a receiver that finds it closed but not
//!    drained waits (it may be queued after `close`, an exception to #3 for
//!    `recvq`), because the value in flight may yet be given back. When the
//!    last value in flight is collected, the waiting receivers are woken with
//!    `None`.
//!
//! # Cancel safety
//!
//! A counterpart moves a value into a waiting receiver's slot and completes the
//! send in the same critical section. If that receiver is dropped before it
//! collects the value, its drop gives the value back ([`Inner::give_back`]): to
//! the next waiting receiver, else to the front of the buffer, so no value is
//! lost and none is reordered. A sender's value leaves its slot only when a
//! receiver takes it; a dropped sender removes its entry under the lock, so
//! the value is either delivered or dropped with the future, never both.
//!
//! # Wait reasons
//!
//! A channel remembers where it was made (`Shared::made_at`, the caller of
//! the `#[track_caller]` constructors, written once), and a standalone
//! `send`/`recv` whose poll returns `Pending` records
//! [`Wait::ChanSend`]/[`Wait::ChanRecv`] with it for the task dump
//! (`gust_trace`). Only the slow path records: a completed operation leaves
//! the task's slot alone. Select cases do not go through these polls; the
//! engine records one `Wait::Select` for the whole select.

use std::panic::Location;
use std::task::{Context, Poll, Waker};

use gust_trace::Wait;

use crate::error::{TryRecvError, TrySendError};
use crate::loom::{Arc, AtomicBool, AtomicU32, Ordering, RawLock, UnsafeCell};
use crate::ring::Ring;
use crate::waiter::{Entry, OwnedEntry, Token, WaitQueue, Wakeups};

/// The state shared by all handles of one channel.
#[derive(Debug)]
pub struct Shared<T> {
    /// Guards `inner`.
    pub(crate) lock: RawLock,
    /// Guarded by `lock`.
    inner: UnsafeCell<Inner<T>>,
    /// Mirror of `inner.closed` for lock-free `is_closed` (written under the
    /// lock).
    closed: AtomicBool,
    /// Number of `Sender`s plus `Chan`s alive. When it reaches zero the channel
    /// closes. (32 bits: a channel is kept small; see [`Shared::add_handle`].)
    senders: AtomicU32,
    /// Number of `Receiver`s plus `Chan`s alive. When it reaches zero, waiting
    /// senders get their values back and later sends fail.
    receivers: AtomicU32,
    /// Where the channel was made (the task dump's "chan receive" line).
    made_at: &'static Location<'static>,
}

// SAFETY: `inner` is only accessed under `lock`; values of `T` only move
// between threads through it, so `T: Send` suffices for both.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

/// The lock-guarded part of a channel.
#[derive(Debug)]
pub struct Inner<T> {
    buf: Ring<T>,
    cap: usize,
    sendq: WaitQueue<T>,
    recvq: WaitQueue<T>,
    closed: bool,
    /// No receiving handle is left (invariant #3).
    rx_gone: bool,
    /// Values a sender moved into a waiting receiver's slot that the receiver
    /// has not collected yet (invariant #5). At most one per waiting
    /// receiver, and each of those is a live future: 32 bits are plenty.
    in_flight: u32,
    /// A finished standalone entry kept for the next blocking `send`/`recv`
    /// (see [`Entry::recycle`]): in no queue, `WAITING`, empty slot, no waker.
    pub(crate) spare: Option<OwnedEntry<T>>,
    /// The wakers of pending `Sender::closed` futures, all taken and woken
    /// when the channel closes or its last receiving handle goes (and none
    /// is added after: their futures are ready then). Boxed: most channels
    /// never have one.
    closers: Option<Box<Closers>>,
}

/// `Sender::closed` futures waiting on a channel, each under its key.
#[derive(Debug, Default)]
struct Closers {
    next_key: u64,
    wakers: Vec<(u64, Waker)>,
}

/// Wakes the `closed` futures taken from a channel (outside its lock).
fn wake_closers(closers: Option<Box<Closers>>) {
    for (_, waker) in closers.into_iter().flat_map(|c| c.wakers) {
        waker.wake();
    }
}

/// A locked channel; unlocks on drop.
pub(crate) struct Locked<'a, T> {
    shared: &'a Shared<T>,
}

impl<T> Locked<'_, T> {
    #[inline]
    pub(crate) fn with<R>(&mut self, f: impl FnOnce(&mut Inner<T>) -> R) -> R {
        // SAFETY: we hold the lock for our whole lifetime, and `&mut self`
        // makes this the only access through this guard.
        unsafe { self.shared.with_inner(f) }
    }
}

impl<T> Drop for Locked<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a `Locked` exists only while its lock is held.
        unsafe { self.shared.lock.unlock() };
    }
}

impl<T> Shared<T> {
    /// # Panics
    ///
    /// If a buffer of `cap` values cannot be allocated.
    pub(crate) fn new(cap: usize, made_at: &'static Location<'static>) -> Self {
        let Some(buf) = Ring::with_capacity(cap) else {
            panic!(
                "gust-chan: cannot allocate a channel buffer of capacity {cap} \
                 (of {} bytes each)",
                std::mem::size_of::<T>()
            );
        };
        Self {
            lock: RawLock::new(),
            inner: UnsafeCell::new(Inner {
                buf,
                cap,
                sendq: WaitQueue::new(),
                recvq: WaitQueue::new(),
                closed: false,
                rx_gone: false,
                in_flight: 0,
                spare: None,
                closers: None,
            }),
            closed: AtomicBool::new(false),
            senders: AtomicU32::new(1),
            receivers: AtomicU32::new(1),
            made_at,
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        self.lock.lock();
        Locked { shared: self }
    }

    /// The lock, if it is free now.
    #[inline]
    pub(crate) fn try_lock(&self) -> Option<Locked<'_, T>> {
        // `then`, not `then_some`: a guard made and dropped on failure would
        // unlock the holder's lock.
        self.lock.try_lock().then(|| Locked { shared: self })
    }

    /// Runs `f` on the guarded state.
    ///
    /// # Safety
    ///
    /// The caller holds `self.lock`, and `f` does not re-enter this channel.
    #[inline]
    pub(crate) unsafe fn with_inner<R>(&self, f: impl FnOnce(&mut Inner<T>) -> R) -> R {
        // SAFETY: the lock makes this access exclusive (caller's contract).
        self.inner.with_mut(|inner| f(unsafe { &mut *inner }))
    }

    pub(crate) fn cap(&self) -> usize {
        // Under the lock: the capacity lives with the state it bounds (one
        // word less per channel); it never changes.
        self.lock().with(|inner| inner.cap)
    }

    /// Go's `len(ch)`: never above `cap`. A value given back by a cancelled
    /// receiver beyond the capacity (invariant #4) is not counted: like a
    /// blocked sender's value, it is on its way, not buffered.
    pub(crate) fn len(&self) -> usize {
        self.lock().with(|inner| inner.buf.len().min(inner.cap))
    }

    /// Whether the channel is closed and drained (invariant #5): nothing
    /// buffered, given back or in a receiver's slot; every receive from
    /// now on gets `None`.
    pub(crate) fn is_drained(&self) -> bool {
        self.is_closed()
            && self
                .lock()
                .with(|inner| inner.buf.is_empty() && inner.in_flight == 0)
    }

    pub(crate) fn is_closed(&self) -> bool {
        // Relaxed: a hint for the caller; every decision is taken under the lock.
        self.closed.load(Ordering::Relaxed)
    }

    /// Closes the channel; `true` if this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut wakeups = Wakeups::new();
        let mut closers = None;
        let closed = self.lock().with(|inner| {
            if inner.closed {
                return false;
            }
            inner.closed = true;
            self.closed.store(true, Ordering::Relaxed);
            // Invariant #3: every waiter wakes at once; receivers only if no
            // value is in flight (invariant #5; else when it settles).
            if inner.in_flight == 0 {
                inner.recvq.select_all(&mut wakeups);
            }
            inner.sendq.select_all(&mut wakeups);
            closers = inner.closers.take();
            true
        });
        wakeups.wake();
        wake_closers(closers);
        closed
    }

    /// `Sender::closed`: ready once the channel is closed or has no
    /// receiving handle left (a send would fail); else keeps `waker` under
    /// `key` (made on the first call) until then.
    pub(crate) fn poll_closed(&self, key: &mut Option<u64>, waker: &Waker) -> Poll<()> {
        // The task's real waker (gust-trace, "Who holds the waker").
        let waker = gust_trace::real_waker(waker);
        let mut stale = None;
        let ready = self.lock().with(|inner| {
            if inner.closed || inner.rx_gone {
                return true;
            }
            let closers = inner.closers.get_or_insert_with(Box::default);
            let mine = key.and_then(|k| closers.wakers.iter_mut().find(|(at, _)| *at == k));
            match mine {
                Some((_, w)) if w.will_wake(waker) => {}
                Some((_, w)) => stale = Some(std::mem::replace(w, waker.clone())),
                None => {
                    let k = closers.next_key;
                    closers.next_key += 1;
                    closers.wakers.push((k, waker.clone()));
                    *key = Some(k);
                }
            }
            false
        });
        // Dropped outside the lock: a waker's drop may drop a task.
        drop(stale);
        if ready {
            *key = None;
            return Poll::Ready(());
        }
        let made_at = self.made_at;
        gust_trace::record(Wait::ChanSend { made_at });
        Poll::Pending
    }

    /// A pending `Sender::closed` future went away: its waker goes too.
    pub(crate) fn forget_closed(&self, key: u64) {
        let gone = self.lock().with(|inner| {
            let closers = inner.closers.as_mut()?;
            let at = closers.wakers.iter().position(|(k, _)| *k == key)?;
            Some(closers.wakers.swap_remove(at))
        });
        drop(gone);
    }

    pub(crate) fn add_sender(&self) {
        Self::add_handle(&self.senders);
    }

    pub(crate) fn add_receiver(&self) {
        Self::add_handle(&self.receivers);
    }

    /// Counts one more handle. Panics (leaving the count as it was) rather
    /// than wrap past 2^31 handles of one kind, as `Arc` guards its count.
    fn add_handle(count: &AtomicU32) {
        // Relaxed: like `Arc::clone`; the new handle comes from a live one.
        if count.fetch_add(1, Ordering::Relaxed) > i32::MAX as u32 {
            count.fetch_sub(1, Ordering::Relaxed);
            panic!("gust-chan: more than 2^31 handles to one channel");
        }
    }

    /// A sending handle went away; the last one closes the channel.
    pub(crate) fn drop_sender(&self) {
        // Relaxed: the counter's modification order alone makes exactly one
        // handle see 1; what it then does is ordered by the channel lock.
        if self.senders.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.close();
        }
    }

    /// A receiving handle went away; after the last one, sends fail, and
    /// what is buffered is dropped at once (nobody can receive it any more;
    /// crossbeam's `drop_unreceived`), outside the lock and after the waiting
    /// senders were woken, so a value's `Drop` runs no code under the lock.
    pub(crate) fn drop_receiver(&self) {
        // Relaxed: as in `drop_sender`.
        if self.receivers.fetch_sub(1, Ordering::Relaxed) == 1 {
            let mut wakeups = Wakeups::new();
            let mut closers = None;
            let unreceived = self.lock().with(|inner| {
                inner.rx_gone = true;
                inner.sendq.select_all(&mut wakeups);
                closers = inner.closers.take();
                // Every receiving future borrowed a handle and is gone, so
                // nothing is in flight (invariant #5) and no value can come
                // back to the buffer; no send adds one after `rx_gone`
                // (invariant #3). An empty ring of capacity 0 allocates nothing.
                std::mem::replace(&mut inner.buf, Ring::empty())
            });
            wakeups.wake();
            wake_closers(closers);
            drop(unreceived);
        }
    }

    #[inline]
    pub(crate) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut wakeups = Wakeups::new();
        let res = self
            .lock()
            .with(|inner| inner.try_send(value, None, &mut wakeups));
        wakeups.wake();
        res
    }

    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut wakeups = Wakeups::new();
        let res = self.lock().with(|inner| inner.try_recv(None, &mut wakeups));
        wakeups.wake();
        res
    }
}

impl<T> Inner<T> {
    /// Go's `chansend` without blocking. `me` is the caller's own token, if it
    /// has entries queued (a select never pairs with itself).
    #[inline]
    pub(crate) fn try_send(
        &mut self,
        value: T,
        me: Option<&Token>,
        wakeups: &mut Wakeups,
    ) -> Result<(), TrySendError<T>> {
        if self.closed || self.rx_gone {
            return Err(TrySendError::Closed(value));
        }
        // Invariant #1: a waiting receiver means an empty buffer; hand over.
        if let Some(entry) = self.recvq.select_first(me) {
            // SAFETY: a receive's entry, selected under the lock we hold.
            wakeups.push(unsafe { entry.give_to_receiver(value) });
            self.in_flight += 1; // invariant #5
            return Ok(());
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(value);
            return Ok(());
        }
        Err(TrySendError::Full(value))
    }

    /// Go's `chanrecv` without blocking.
    #[inline]
    pub(crate) fn try_recv(
        &mut self,
        me: Option<&Token>,
        wakeups: &mut Wakeups,
    ) -> Result<T, TryRecvError> {
        if let Some(value) = self.buf.pop_front() {
            // Invariant #2: refill the freed slot from the oldest sender.
            if self.buf.len() < self.cap {
                if let Some(entry) = self.sendq.select_first(me) {
                    // SAFETY: a send's entry, selected under the lock we hold.
                    let (v, waker) = unsafe { entry.take_sent() };
                    self.buf.push_back(v);
                    wakeups.push(waker);
                }
            }
            return Ok(value);
        }
        if let Some(entry) = self.sendq.select_first(me) {
            // SAFETY: a send's entry, selected under the lock we hold.
            let (v, waker) = unsafe { entry.take_sent() };
            wakeups.push(waker);
            return Ok(v);
        }
        if self.closed && self.in_flight == 0 {
            Err(TryRecvError::Closed)
        } else {
            // Not closed, or closed with a value in flight (invariant #5).
            Err(TryRecvError::Empty)
        }
    }

    /// `try_recv`'s common cases alone, for a receive with no entry queued
    /// (see [`RecvFast`]).
    #[inline]
    fn recv_fast(&mut self) -> RecvFast<T> {
        if self.sendq.is_empty() {
            return match self.buf.pop_front() {
                Some(v) => RecvFast::Got(v, None),
                None if self.closed => RecvFast::Slow,
                None => RecvFast::Wait,
            };
        }
        if !self.buf.is_empty() {
            return RecvFast::Slow;
        }
        let Some(entry) = self.sendq.select_head() else {
            return RecvFast::Slow;
        };
        // SAFETY: a send's entry, selected under the lock we hold.
        let (v, waker) = unsafe { entry.take_sent() };
        RecvFast::Got(v, waker)
    }

    /// `try_send`'s common cases alone, for a send with no entry queued
    /// (see [`SendFast`]).
    #[inline]
    fn send_fast(&mut self, value: T) -> SendFast<T> {
        if self.closed || self.rx_gone {
            return SendFast::Slow(value);
        }
        if self.recvq.is_empty() {
            if self.buf.len() < self.cap {
                self.buf.push_back(value);
                return SendFast::Sent(None);
            }
            return SendFast::Wait(value);
        }
        let Some(entry) = self.recvq.select_head() else {
            return SendFast::Slow(value);
        };
        // SAFETY: a receive's entry, selected under the lock we hold.
        let waker = unsafe { entry.give_to_receiver(value) };
        self.in_flight += 1; // invariant #5
        SendFast::Sent(waker)
    }

    /// Queues a fresh standalone entry holding `value` (a send's, in
    /// `sendq`) or nothing (a receive's, in `recvq`), with the owner's
    /// waker, and keeps it in `owner`. (The entry is in `owner` before the
    /// waker is cloned: a clone that panics leaves it queued and owned, as
    /// a registration that has not set its waker yet. Always inlined: each
    /// of its two callers, the parks of a send and a receive, uses one
    /// half, and a call costs about a quarter of it.)
    #[inline(always)]
    fn queue_standalone(
        &mut self,
        owner: &mut Option<OwnedEntry<T>>,
        value: Option<T>,
        waker: &Waker,
    ) {
        debug_assert!(owner.is_none());
        let sending = value.is_some();
        let e = owner.insert(self.standalone_entry(value));
        if sending {
            self.sendq.push(e);
        } else {
            self.recvq.push(e);
        }
        // SAFETY: the token is standalone, queued only here, and we hold
        // this channel's lock (invariant #4); a fresh entry has no waker.
        unsafe { e.token().init_waker(waker) };
    }

    /// A receiver collects what was handed to its selected entry: a value, or
    /// `None` if `close` selected it.
    pub(crate) fn collect(&mut self, entry: &Entry<T>, wakeups: &mut Wakeups) -> Option<T> {
        // SAFETY: we hold the lock (invariant #3 of waiter.rs).
        let v = unsafe { entry.swap_slot(None) };
        if v.is_some() {
            self.in_flight -= 1;
            // Invariant #5: the last value in flight settles a closed channel.
            if self.closed && self.in_flight == 0 && self.buf.is_empty() {
                self.recvq.select_all(wakeups);
            }
        }
        v
    }

    /// A receiver was handed `value` but is being dropped before it returned
    /// it: pass it to the next waiting receiver, else put it back at the front
    /// of the buffer (invariant #4), where the next receive finds it first.
    pub(crate) fn give_back(&mut self, value: T, wakeups: &mut Wakeups) {
        if let Some(entry) = self.recvq.select_first(None) {
            // SAFETY: a receive's entry, selected under the lock we hold.
            wakeups.push(unsafe { entry.give_to_receiver(value) });
            self.in_flight += 1; // invariant #5
        } else {
            self.buf.push_front(value);
        }
    }

    /// A fresh standalone entry holding `value`: the spare one if any, else a
    /// new allocation.
    #[inline]
    fn standalone_entry(&mut self, value: Option<T>) -> OwnedEntry<T> {
        match self.spare.take() {
            Some(e) => {
                // SAFETY: lock held; the spare belongs to this channel and is
                // in no queue (invariant #3).
                let old = unsafe { e.swap_slot(value) };
                debug_assert!(old.is_none());
                e
            }
            None => OwnedEntry::new(Entry::standalone(value)),
        }
    }

    /// Keeps a finished standalone entry (empty slot, waker taken) as the spare.
    #[inline]
    fn recycle(&mut self, entry: OwnedEntry<T>) {
        if self.spare.is_none() {
            self.spare = Entry::recycle(entry);
        }
    }

    /// Keeps an entry already reset for reuse ([`Entry::recycle_handed`]) as
    /// the spare, unless there is one (then it is freed).
    #[inline]
    fn keep_spare(&mut self, entry: OwnedEntry<T>) {
        if self.spare.is_none() {
            self.spare = Some(entry);
        }
    }

    /// Whether an operation that cannot complete may wait (invariant #3).
    fn can_wait_send(&self) -> bool {
        !(self.closed || self.rx_gone)
    }
}

/// What the fast path of a standalone receive with no entry queued found
/// ([`Inner::recv_fast`]).
enum RecvFast<T> {
    /// A value: buffered (no sender waiting to refill its slot, invariant
    /// #2), or taken from the sender waiting at the head of `sendq` (the
    /// rendezvous hand-off), whose waker is to be woken once the lock is
    /// released.
    Got(T, Option<Waker>),
    /// Open, nothing buffered, no sender waiting: the receive waits.
    Wait,
    /// Anything else (closed, a stale entry at the head, a full buffer with
    /// senders waiting): the full path.
    Slow,
}

/// What the fast path of a standalone send with no entry queued found
/// ([`Inner::send_fast`]).
enum SendFast<T> {
    /// Sent: buffered (room, no receiver waiting, invariant #1), or moved
    /// into the slot of the receiver waiting at the head of `recvq`, whose
    /// waker is to be woken once the lock is released.
    Sent(Option<Waker>),
    /// Open, no receiver waiting, the buffer full: the send waits.
    Wait(T),
    /// Anything else (closed, no receiving handle, a stale entry at the
    /// head of `recvq`): the full path, with the value back.
    Slow(T),
}

/// The part of a `recv` operation that survives between polls: its queued
/// entry, if any. Shared by `RecvFuture`, `Receiver`'s `Stream` and select's
/// recv case.
#[derive(Debug)]
pub struct RecvState<T> {
    entry: Option<OwnedEntry<T>>,
}

impl<T> RecvState<T> {
    pub(crate) const fn new() -> Self {
        Self { entry: None }
    }

    pub(crate) fn is_registered(&self) -> bool {
        self.entry.is_some()
    }

    /// The state as one pointer (null: not registered), for a handle that
    /// keeps it in an atomic; [`from_raw`](Self::from_raw) takes it back.
    pub(crate) fn into_raw(self) -> *mut Entry<T> {
        self.entry
            .map_or(std::ptr::null_mut(), OwnedEntry::into_raw)
    }

    /// Takes back a state given up by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_raw`, and is taken back once.
    pub(crate) unsafe fn from_raw(ptr: *mut Entry<T>) -> Self {
        Self {
            // SAFETY: the caller's contract.
            entry: std::ptr::NonNull::new(ptr).map(|p| unsafe { OwnedEntry::from_raw(p) }),
        }
    }

    /// Polls a standalone receive: complete it if possible, else (re)register.
    #[inline]
    pub(crate) fn poll(&mut self, shared: &Shared<T>, cx: &mut Context<'_>) -> Option<Option<T>> {
        if self.entry.is_none() && gust_trace::yield_for_budget(cx) {
            return None;
        }
        let mut locked = shared.lock();
        // The common cases, inline: not queued, and a value buffered with no
        // sender waiting to refill the freed slot, or a sender waiting.
        if self.entry.is_none() {
            match locked.with(Inner::recv_fast) {
                RecvFast::Got(v, waker) => {
                    drop(locked);
                    if let Some(w) = waker {
                        w.wake();
                    }
                    return Some(Some(v));
                }
                RecvFast::Wait => return self.park(locked, cx),
                RecvFast::Slow => {}
            }
        }
        self.poll_slow(locked, cx)
    }

    /// Queues a fresh entry and waits (`recv_fast` said so).
    #[inline(never)]
    fn park(&mut self, mut locked: Locked<'_, T>, cx: &mut Context<'_>) -> Option<Option<T>> {
        let made_at = locked.shared.made_at;
        locked.with(|inner| inner.queue_standalone(&mut self.entry, None, cx.waker()));
        drop(locked);
        gust_trace::record(Wait::ChanRecv { made_at });
        None
    }

    #[inline(never)]
    fn poll_slow(&mut self, mut locked: Locked<'_, T>, cx: &mut Context<'_>) -> Option<Option<T>> {
        let made_at = locked.shared.made_at;
        let mut wakeups = Wakeups::new();
        let res = locked.with(|inner| {
            if let Some(entry) = self.entry.take_if(|e| e.is_selected()) {
                // A sender (value) or close (None) chose us; the entry is out
                // of the queue.
                let v = inner.collect(&entry, &mut wakeups);
                inner.recycle(entry);
                return Some(v);
            }
            let me = self.entry.as_deref().map(Entry::token);
            match inner.try_recv(me, &mut wakeups) {
                Ok(v) => {
                    self.unregister_locked(inner);
                    Some(Some(v))
                }
                Err(TryRecvError::Closed) => {
                    self.unregister_locked(inner);
                    Some(None)
                }
                Err(TryRecvError::Empty) => {
                    let entry = match &mut self.entry {
                        Some(e) => e,
                        None => {
                            let e = inner.standalone_entry(None);
                            inner.recvq.push(&e);
                            self.entry.insert(e)
                        }
                    };
                    // SAFETY: the token is standalone, queued only here, and we
                    // hold this channel's lock (invariant #4).
                    unsafe { entry.token().set_waker(cx.waker(), &mut wakeups) };
                    None
                }
            }
        });
        drop(locked);
        wakeups.wake();
        if res.is_none() {
            gust_trace::record(Wait::ChanRecv { made_at });
        }
        res
    }

    /// Removes our entry, if queued. Lock held.
    pub(crate) fn unregister_locked(&mut self, inner: &mut Inner<T>) {
        if let Some(entry) = self.entry.take() {
            inner.recvq.remove(&entry);
        }
    }

    /// Cancels the operation (drop): removes the entry and gives back a value
    /// that a sender already handed over.
    #[inline]
    pub(crate) fn cancel(&mut self, shared: &Shared<T>) {
        if self.entry.is_some() {
            self.cancel_slow(shared);
        }
    }

    #[inline(never)]
    fn cancel_slow(&mut self, shared: &Shared<T>) {
        let mut wakeups = Wakeups::new();
        shared
            .lock()
            .with(|inner| self.cancel_locked(inner, &mut wakeups));
        wakeups.wake();
    }

    /// `cancel` with the lock held.
    pub(crate) fn cancel_locked(&mut self, inner: &mut Inner<T>, wakeups: &mut Wakeups) {
        if let Some(entry) = self.entry.take() {
            if entry.is_selected() {
                // SAFETY: lock held (invariant #3).
                if let Some(v) = unsafe { entry.swap_slot(None) } {
                    // Still "in flight" until given back: no drained check.
                    inner.in_flight -= 1;
                    inner.give_back(v, wakeups);
                }
            } else {
                inner.recvq.remove(&entry);
            }
        }
    }
}

/// A receive case of `select!`.
impl<T> crate::engine::ChanOp for RecvState<T> {
    type Item = T;
    type Output = Option<T>;
    type Done = Option<T>;

    /// Select: try to receive now, lock held. `me` is the select's token if it
    /// has entries queued.
    fn try_commit_locked(
        &mut self,
        inner: &mut Inner<T>,
        me: Option<&Token>,
        wakeups: &mut Wakeups,
    ) -> Option<Option<T>> {
        match inner.try_recv(me, wakeups) {
            Ok(v) => Some(Some(v)),
            Err(TryRecvError::Closed) => Some(None),
            Err(TryRecvError::Empty) => None,
        }
    }

    /// Select: queue an entry for case `case` of the select owning `token`, if
    /// not queued yet. Lock held.
    fn register_locked(&mut self, inner: &mut Inner<T>, token: &Arc<Token>, case: usize) {
        if self.entry.is_none() {
            let e = OwnedEntry::new(Entry::for_select(token.clone(), case, None));
            inner.recvq.push(&e);
            self.entry = Some(e);
        }
    }

    /// Select: the select is done; if a counterpart chose this case, return
    /// what it handed over (`Some(None)` = closed), and unqueue. Lock held.
    fn finish_locked(
        &mut self,
        inner: &mut Inner<T>,
        chosen: bool,
        wakeups: &mut Wakeups,
    ) -> Option<Option<T>> {
        let entry = self.entry.take()?;
        if chosen && entry.is_selected() {
            Some(inner.collect(&entry, wakeups))
        } else {
            inner.recvq.remove(&entry);
            None
        }
    }

    fn output(&mut self, done: Option<T>) -> Option<T> {
        done
    }

    fn cancel(&mut self, shared: &Shared<T>) {
        // A value a sender already handed over goes back (cancel safety).
        RecvState::cancel(self, shared);
    }
}

/// The part of a `send` operation that survives between polls: the value (in
/// `value` before the entry is queued, in the entry's slot after).
#[derive(Debug)]
pub struct SendState<T> {
    value: Option<T>,
    entry: Option<OwnedEntry<T>>,
}

/// How a send ended.
pub(crate) type SendResult<T> = Result<(), crate::error::SendError<T>>;

/// How a send whose entry a counterpart selected ended, from what is left
/// in the entry's slot: nothing (a receiver took the value), or the value,
/// given back (the channel closed).
fn send_result<T>(left: Option<T>) -> SendResult<T> {
    match left {
        None => Ok(()),
        Some(v) => Err(crate::error::SendError(v)),
    }
}

impl<T> SendState<T> {
    pub(crate) const fn new(value: Option<T>) -> Self {
        Self { value, entry: None }
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.value.is_none() && self.entry.is_none()
    }

    pub(crate) fn set_value(&mut self, value: T) {
        debug_assert!(self.is_idle());
        self.value = Some(value);
    }

    /// Polls a standalone send. `None` = still pending. Always inlined: see
    /// `SendFuture::poll`.
    #[inline(always)]
    pub(crate) fn poll(
        &mut self,
        shared: &Shared<T>,
        cx: &mut Context<'_>,
    ) -> Option<SendResult<T>> {
        if let Some(e) = &self.entry {
            // A receiver took the value and handed the entry back.
            if e.is_handed() {
                return Some(self.complete_handed(shared));
            }
        } else if gust_trace::yield_for_budget(cx) {
            return None;
        }
        let mut locked = shared.lock();
        // The common cases, inline: not queued, and room in the buffer with
        // no receiver waiting, or a receiver waiting.
        if self.entry.is_none() {
            if let Some(v) = self.value.take() {
                match locked.with(|inner| inner.send_fast(v)) {
                    SendFast::Sent(waker) => {
                        drop(locked);
                        if let Some(w) = waker {
                            w.wake();
                        }
                        return Some(Ok(()));
                    }
                    SendFast::Wait(v) => return self.park(locked, v, cx),
                    SendFast::Slow(v) => self.value = Some(v),
                }
            }
        }
        self.poll_slow(locked, cx)
    }

    /// Queues a fresh entry holding `value` and waits (`send_fast` said so).
    #[inline(never)]
    fn park(
        &mut self,
        mut locked: Locked<'_, T>,
        value: T,
        cx: &mut Context<'_>,
    ) -> Option<SendResult<T>> {
        let made_at = locked.shared.made_at;
        locked.with(|inner| inner.queue_standalone(&mut self.entry, Some(value), cx.waker()));
        drop(locked);
        gust_trace::record(Wait::ChanSend { made_at });
        None
    }

    /// A receiver took our value and handed the entry back (invariant #9 of
    /// waiter.rs): the send is done, without waiting for the lock. The entry
    /// becomes the channel's spare if the lock is free at once; else it is
    /// freed. Go's parked sender, woken, finds its `sudog` done the same way.
    #[inline(never)]
    fn complete_handed(&mut self, shared: &Shared<T>) -> SendResult<T> {
        let entry = self.entry.take().expect("checked by the caller");
        // Only a receive that took the value hands an entry back: the value
        // was delivered. The reset needs no lock: the entry is ours alone.
        let entry = Entry::recycle_handed(entry);
        if let Some(mut locked) = shared.try_lock() {
            locked.with(|inner| inner.keep_spare(entry));
        }
        Ok(())
    }

    #[inline(never)]
    fn poll_slow(
        &mut self,
        mut locked: Locked<'_, T>,
        cx: &mut Context<'_>,
    ) -> Option<SendResult<T>> {
        let made_at = locked.shared.made_at;
        let mut wakeups = Wakeups::new();
        let res = locked.with(|inner| {
            if let Some(entry) = self.entry.take_if(|e| e.is_selected()) {
                // SAFETY: lock held (invariant #3).
                let left = unsafe { entry.swap_slot(None) };
                inner.recycle(entry);
                return Some(send_result(left));
            }
            let value = match &self.entry {
                // SAFETY: lock held (invariant #3).
                Some(entry) => unsafe { entry.swap_slot(None) },
                None => self.value.take(),
            }
            .expect("send polled after completion");
            let me = self.entry.as_deref().map(Entry::token);
            match inner.try_send(value, me, &mut wakeups) {
                Ok(()) => {
                    self.unregister_locked(inner);
                    Some(Ok(()))
                }
                Err(TrySendError::Closed(v)) => {
                    self.unregister_locked(inner);
                    Some(Err(crate::error::SendError(v)))
                }
                Err(TrySendError::Full(v)) => {
                    debug_assert!(inner.can_wait_send());
                    match &self.entry {
                        // SAFETY: lock held (invariant #3).
                        Some(entry) => unsafe {
                            entry.swap_slot(Some(v));
                        },
                        None => {
                            let e = inner.standalone_entry(Some(v));
                            inner.sendq.push(&e);
                            self.entry = Some(e);
                        }
                    }
                    let entry = self.entry.as_ref().expect("just registered");
                    // SAFETY: standalone token, queued only here, lock held
                    // (invariant #4).
                    unsafe { entry.token().set_waker(cx.waker(), &mut wakeups) };
                    None
                }
            }
        });
        drop(locked);
        wakeups.wake();
        if res.is_none() {
            gust_trace::record(Wait::ChanSend { made_at });
        }
        res
    }

    /// Removes our entry, if queued, returning the value still in it. Lock held.
    pub(crate) fn unregister_locked(&mut self, inner: &mut Inner<T>) -> Option<T> {
        let entry = self.entry.take()?;
        inner.sendq.remove(&entry);
        // SAFETY: lock held (invariant #3).
        unsafe { entry.swap_slot(None) }
    }

    /// Cancels the send (drop). The value, if not delivered, is returned so
    /// that the caller drops it outside the lock.
    #[inline]
    pub(crate) fn cancel(&mut self, shared: &Shared<T>) -> Option<T> {
        if self.entry.is_none() {
            return self.value.take();
        }
        self.cancel_slow(shared)
    }

    #[inline(never)]
    fn cancel_slow(&mut self, shared: &Shared<T>) -> Option<T> {
        shared.lock().with(|inner| self.unregister_locked(inner))
    }
}

/// A send case of `select!`.
impl<T> crate::engine::ChanOp for SendState<T> {
    type Item = T;
    type Output = SendResult<T>;
    /// Delivered (`true`), or not: then the value is back in `self.value`,
    /// for [`output`](crate::engine::ChanOp::output) to hand back.
    type Done = bool;

    /// Select: try to send now, lock held. `Some` if the case completed.
    fn try_commit_locked(
        &mut self,
        inner: &mut Inner<T>,
        me: Option<&Token>,
        wakeups: &mut Wakeups,
    ) -> Option<bool> {
        let value = match &self.entry {
            // SAFETY: lock held (invariant #3).
            Some(entry) => unsafe { entry.swap_slot(None) },
            None => self.value.take(),
        }
        .expect("select send case without a value");
        match inner.try_send(value, me, wakeups) {
            Ok(()) => Some(true),
            Err(TrySendError::Closed(v)) => {
                self.value = Some(v);
                Some(false)
            }
            Err(TrySendError::Full(v)) => {
                match &self.entry {
                    // SAFETY: lock held (invariant #3).
                    Some(entry) => unsafe {
                        entry.swap_slot(Some(v));
                    },
                    None => self.value = Some(v),
                }
                None
            }
        }
    }

    /// Select: queue an entry for case `case`, if not queued yet. Lock held.
    fn register_locked(&mut self, inner: &mut Inner<T>, token: &Arc<Token>, case: usize) {
        if self.entry.is_none() {
            let e = OwnedEntry::new(Entry::for_select(token.clone(), case, self.value.take()));
            inner.sendq.push(&e);
            self.entry = Some(e);
        }
    }

    /// Select: the select is done; if a counterpart chose this case, return
    /// the outcome; unqueue. A value not delivered stays in `self.value`:
    /// [`output`](crate::engine::ChanOp::output) hands it back if the case
    /// was chosen (a close), else it is dropped with the case. Lock held.
    fn finish_locked(
        &mut self,
        inner: &mut Inner<T>,
        chosen: bool,
        _: &mut Wakeups,
    ) -> Option<bool> {
        let entry = self.entry.take()?;
        let selected = chosen && entry.is_selected();
        if !selected {
            inner.sendq.remove(&entry);
        }
        // SAFETY: lock held (invariant #3).
        let left = unsafe { entry.swap_slot(None) };
        let delivered = left.is_none();
        if left.is_some() {
            // Not `self.value = left` alone: a commit of this same select
            // (`try_commit_locked` finding the channel closed) may have put
            // the value there already, and the entry is then empty.
            self.value = left;
        }
        selected.then_some(delivered)
    }

    fn output(&mut self, delivered: bool) -> SendResult<T> {
        if delivered {
            Ok(())
        } else {
            let v = self
                .value
                .take()
                .expect("a send not delivered keeps its value");
            Err(crate::error::SendError(v))
        }
    }

    fn cancel(&mut self, shared: &Shared<T>) {
        // Unqueue; a value not delivered is dropped here, outside the lock.
        drop(SendState::cancel(self, shared));
        drop(self.value.take());
    }
}
