//! The cancellation tree.
//!
//! Every context made by `with_cancel`, `with_deadline` or `with_timeout` owns
//! one [`CancelNode`]. A node registers in the registry (a `Slab`) of the
//! nearest cancellable ancestor; `with_value` contexts share their parent's
//! node and `background()`/`without_cancel()` contexts have none (they never
//! end). Each child holds its parent strongly together with its key in the
//! parent's registry (to unregister); the parent holds only a non-owning
//! pointer to each live child (invariant #6), which it turns into a strong
//! reference, under its lock, when it ends and takes them all. After-funcs
//! (`Context::after_func`) live in the same registry as children.
//!
//! # The state word
//!
//! ```text
//!   bit 3          bit 2      bits 1..0
//! | HAS_ENTRIES  | LISTENED | END: 00 live, 01 canceled, 10 deadline exceeded |
//! ```
//!
//! * `END` goes from `00` to `01` or `10` exactly once (invariant #1).
//! * `LISTENED` is set (and never cleared) by the first waiter of `done()`,
//!   under the waiters' lock; the node's end takes that lock (to wake the
//!   waiters) only if it is set (see "Wake protocol"), so ending a node
//!   nobody waited on costs no lock for its waiters.
//! * `HAS_ENTRIES` is set (and never cleared), under the node's lock, by the
//!   first registration of a child, an after-func or a timer. Once it is set,
//!   ending the node takes the lock (to take what is registered); before, a
//!   cancel without a cause ends the node with one compare-and-swap and no
//!   lock: the common leaf (a request's context with no children) costs one
//!   atomic read-modify-write to end.
//!
//! # Invariants
//!
//! 1. A node's `END` bits go from live to ended exactly once, by a
//!    compare-and-swap on the state word, and never go back. The end happens
//!    under the node's lock, together with the setting of its `cause` and
//!    the taking of its registry and timer, unless `HAS_ENTRIES` is clear and
//!    the end has no cause: then the compare-and-swap alone ends it, and its
//!    `cause` stays `None`. So once `HAS_ENTRIES` is set, every end takes
//!    the lock.
//! 2. A node is in its parent's registry iff it was registered while the
//!    parent was live and neither has ended since: the parent's end takes the
//!    whole registry (invariant #1), a child that ends removes itself.
//!    So a long-lived parent holds only its live children (bounded memory).
//! 3. After a node ended, its registry stays empty: registration (children,
//!    after-funcs, timer) sets `HAS_ENTRIES` and reads the state under the
//!    lock, and refuses an ended node. A child made from an ended parent is
//!    created ended, with the parent's error and cause, and never registered.
//! 4. A key in a registry identifies one entry until that entry is removed,
//!    and only its owner (the child itself, the after-func's handle, or the
//!    parent's end taking everything) removes it. Removals also check
//!    identity (the child's address) as a second guard.
//! 5. `cancel` returns only after every node that was in the subtree when it
//!    ended the first node has its state set (and its waiters woken), unless
//!    another cancel was already ending part of that subtree (see below).
//! 6. A registered child is alive: its memory is freed only when its last
//!    `Arc` goes, and one of those is held by its `CancelFunc`, whose drop
//!    (or the timer callback's upgraded `Weak`, or the parent's end) removes
//!    it from the registry first, under the parent's lock. So the parent may
//!    turn a registry pointer into an `Arc` while it holds its lock.
//! 7. A waiter's key is in `waiters` from its insertion until its owner
//!    removes it or the node's end takes the slab; no key is inserted after
//!    the end (the insertion reads the state under the waiters' lock). So a
//!    key may be indexed only under that lock with the node seen live.
//!
//! # Cancel algorithm
//!
//! `cancel(node)` ends the node (invariant #1), takes what was registered,
//! unregisters it from its parent, wakes its waiters, and pushes the children
//! it took onto a work list; it then pops, ends and wakes them the same way,
//! iteratively (no recursion, so deep chains cannot overflow the stack). Only
//! the first node unregisters from its parent: the others were taken out of
//! their parent's registry with it. Timers are stopped and after-funcs run at
//! the end, with no lock held.
//!
//! A node that another thread ended first is skipped, together with its
//! subtree, which that thread is ending. So two cancels racing on overlapping
//! subtrees each return once the nodes *they* ended are done; the part the
//! other one ended may still be finishing. Go's `context` has the same window
//! (its `cancel` returns early on an already-cancelled child).
//!
//! # Deadlock safety (lock order)
//!
//! No thread ever holds two node locks at once: registration locks only the
//! parent (the child is not locked), ending locks at most the node being
//! ended, unregistration locks only the parent, and `stop` on an after-func
//! locks only its node. Should code ever need two, the order is parent before
//! child (Go's order). A node's waiters' lock is taken with no other lock
//! held, and nothing else is taken under it. User code (after-funcs), timer
//! calls, waker calls and waker drops run with no lock held (a waker is only
//! cloned under the waiters' lock).
//!
//! # Wake protocol
//!
//! A pending `done()` keeps its task's waker in the node's `waiters` (a
//! `Slab` under its own lock, so waiters never contend with children for
//! `inner`), under a key it holds: no allocation per waiter, and the
//! end wakes every waiter without any of them touching a lock again.
//!
//! Waiter ([`CancelNode::poll_done`]): under the waiters' lock, read the
//! state, setting `LISTENED` with a `fetch_or` if it is not set yet; if the
//! node is live, insert (or update) the waker and sleep, else return ready.
//!
//! Canceller ([`CancelNode::end`], then [`CancelNode::wake`]): the
//! compare-and-swap that ends the node returns the state it replaced; only
//! if `LISTENED` was set in it, take the whole slab under the waiters' lock
//! and wake every waker after unlocking.
//!
//! The first waiter's `fetch_or` and the end's compare-and-swap are two
//! read-modify-writes of one word, so one reads the other: if the waiter's
//! comes first, the canceller sees `LISTENED` and takes the lock after the
//! waiter released it (the waiter held it across its `fetch_or`), so it finds
//! the waker; otherwise the waiter sees the end and does not sleep. A later
//! waiter finds `LISTENED` set, so any end after it takes the lock; the lock
//! orders the two: either the waiter's critical section comes first (its
//! waker is taken) or the end's drain does, and then the waiter's read of the
//! state, under the same lock, sees the end. So no wake-up is lost. The loom
//! models `loom_waiters_wake` and `loom_leaf_waiter_wakes` check it.
//!
//! A `cancel` ends its whole subtree before it wakes anyone: every node's
//! end comes first, then the wakes (of the nodes whose end saw
//! `LISTENED`), so a task woken by any node's `done()` finds that node's
//! descendants ended too, as a Go program expects after `<-ctx.Done()`.
//!
//! Keys (invariant #7): a key handed to a waiter stays in the slab while the
//! node is live, and only that waiter removes it ([`CancelNode::forget_done`],
//! which checks the state under the lock). Once the node has ended, nothing
//! is inserted any more and the end takes (or is about to take) the slab
//! whole, so a waiter forgets its key without touching the lock: at worst
//! the end wakes its task once more, spuriously.

use std::error::Error;
use std::mem;
use std::ptr::NonNull;
use std::time::Instant;

use std::task::{Poll, Waker};

use slab::Slab;

use crate::ContextError;
use crate::sync::{Arc, AtomicU8, AtomicUsize, Mutex, MutexGuard, Ordering, lock};

/// The cause stored in a node: `None` means "the same as the error". A std
/// `Arc` even under loom: it is immutable data, and it is handed to users.
pub(crate) type Cause = Option<std::sync::Arc<dyn Error + Send + Sync>>;

/// A callback registered by `Context::after_func`.
pub(crate) type AfterFn = Box<dyn FnOnce() + Send>;

/// `END` bits (mask): `00` while the node is live.
const END: u8 = 0b0011;
/// `END` value: ended by a cancel.
const CANCELED: u8 = 0b0001;
/// `END` value: ended by its deadline (or an ancestor's).
const DEADLINE_EXCEEDED: u8 = 0b0010;
/// A waiter has registered in the node's `waiters` (see "Wake protocol").
const LISTENED: u8 = 0b0100;
/// Something was registered under the node's lock: ending it takes the lock.
const HAS_ENTRIES: u8 = 0b1000;

/// A registry with no entries and more capacity than this is replaced by a
/// fresh one, so a parent that once had many live children gives the memory
/// back (a `Slab` never shrinks by itself).
const SHRINK_ABOVE: usize = 64;

/// One value of a node's state word (see "The state word").
#[derive(Clone, Copy)]
struct Snapshot(u8);

impl Snapshot {
    /// Whether the node is live.
    fn is_live(self) -> bool {
        self.0 & END == 0
    }

    /// The node's error, once it ended.
    fn err(self) -> Option<ContextError> {
        match self.0 & END {
            0 => None,
            CANCELED => Some(ContextError::Canceled),
            _ => Some(ContextError::DeadlineExceeded),
        }
    }

    /// Whether a waiter has listened.
    fn listened(self) -> bool {
        self.0 & LISTENED != 0
    }

    /// Whether ending the node must take its lock.
    fn has_entries(self) -> bool {
        self.0 & HAS_ENTRIES != 0
    }
}

/// The `END` bits for `err`.
fn end_bits(err: ContextError) -> u8 {
    match err {
        ContextError::Canceled => CANCELED,
        ContextError::DeadlineExceeded => DEADLINE_EXCEEDED,
    }
}

/// The outcome of [`CancelNode::end_leaf`].
#[must_use]
enum Leaf {
    /// This call ended the node; the state it replaced.
    Ended(Snapshot),
    /// Another call ended it first.
    AlreadyEnded,
    /// Something is registered: ending it takes the lock.
    HasEntries,
}

/// A non-owning pointer to a registered child (invariant #6).
struct ChildRef(NonNull<CancelNode>);

// SAFETY: a `ChildRef` is only a pointer to a `CancelNode`, which is `Send`
// and `Sync`; it is dereferenced only under the owning registry's lock, while
// invariant #6 keeps the child alive.
unsafe impl Send for ChildRef {}

/// One entry of a node's registry.
enum Entry {
    /// A live child.
    Child(ChildRef),
    /// A callback to run when this node ends.
    AfterFunc(AfterFn),
}

/// The cancellation state of one `with_cancel`/`with_deadline` context.
pub(crate) struct CancelNode {
    // Immutable after construction (read without the lock).
    /// The parent; `None` when the node has no cancellable parent, or the
    /// parent had ended when it was made (invariant #3).
    parent: Option<Arc<CancelNode>>,
    /// This node's key in the parent's registry (meaningless without one).
    /// Written once by `child` and read by `unregister`, both under the
    /// parent's lock (so `Relaxed`).
    key: AtomicUsize,
    /// The earlier of this node's own deadline and its parent's.
    deadline: Option<Instant>,

    // Read-modify-written by anyone; see "The state word".
    /// `END`, `LISTENED` and `HAS_ENTRIES` bits.
    state: AtomicU8,

    // Under their own lock (never held with another).
    /// The wakers of pending `done()` futures, keyed by the key each holds
    /// (invariant #7); taken whole by the node's end ("Wake protocol").
    waiters: Mutex<Slab<Waker>>,

    /// Everything else, under the node's lock.
    inner: Mutex<Inner>,
}

/// The fields of a [`CancelNode`] protected by its lock.
struct Inner {
    /// Live children and pending after-funcs (invariants #2 to #4, #6).
    registry: Slab<Entry>,
    /// Set when the node ends under its lock (invariant #1); stays `None`
    /// when it ends without it.
    cause: Cause,
    /// The deadline timer, until it fires or the node ends.
    timer: Option<crate::timer::Timer>,
}

/// Work collected while ending nodes, done after all locks are released.
#[derive(Default)]
struct Cleanup {
    /// Nodes whose subtree still has to be ended.
    work: Vec<Arc<CancelNode>>,
    /// After-funcs to run.
    funcs: Vec<AfterFn>,
    /// Timers to stop.
    timers: Vec<crate::timer::Timer>,
}

impl CancelNode {
    /// A node with no cancellable parent.
    pub(crate) fn root(deadline: Option<Instant>) -> Arc<CancelNode> {
        Arc::new(CancelNode::new(None, deadline, 0, None))
    }

    /// A node under `parent` (registered by the caller, or never) in state
    /// `state` with `cause`.
    fn new(
        parent: Option<Arc<CancelNode>>,
        deadline: Option<Instant>,
        state: u8,
        cause: Cause,
    ) -> CancelNode {
        CancelNode {
            parent,
            key: AtomicUsize::new(0),
            deadline,
            state: AtomicU8::new(state),
            waiters: Mutex::new(Slab::new()),
            inner: Mutex::new(Inner {
                registry: Slab::new(),
                cause,
                timer: None,
            }),
        }
    }

    /// Makes a child of `parent` whose own deadline is `deadline` (already
    /// the earlier of the two). The child is registered, or, if the parent
    /// has ended, created ended with the parent's error and cause
    /// (invariant #3). One allocation (two if the parent has ended), made
    /// before the parent's lock, which is held for the registration only.
    pub(crate) fn child(parent: &Arc<CancelNode>, deadline: Option<Instant>) -> Arc<CancelNode> {
        let child = Arc::new(CancelNode::new(Some(parent.clone()), deadline, 0, None));
        // `as_ptr` (not `&*child`): the pointer keeps the provenance of the
        // whole allocation, which `Arc::from_raw` needs in `end`.
        let ptr = NonNull::new(Arc::as_ptr(&child).cast_mut()).expect("an Arc is not null");
        let mut inner = lock(&parent.inner);
        let state = parent.set_has_entries();
        if let Some(err) = state.err() {
            let cause = inner.cause.clone();
            drop(inner);
            // `child` was never registered: dropping it only lets go of
            // `parent`.
            return Arc::new(CancelNode::new(None, deadline, end_bits(err), cause));
        }
        let key = inner.registry.insert(Entry::Child(ChildRef(ptr)));
        // Relaxed: read only under the parent's lock, held here.
        child.key.store(key, Ordering::Relaxed);
        child
    }

    /// Sets `HAS_ENTRIES` (under the node's lock: the caller holds it, and
    /// registers something unless the node has ended) and returns the state.
    /// Once the bit is set, every end takes the lock (invariant #1), so the
    /// state read here cannot change to ended before the caller unlocks.
    fn set_has_entries(&self) -> Snapshot {
        // Acquire: an end under the lock was published by the unlock the
        // caller synchronized with; a lock-free end (no cause) has nothing
        // else to publish.
        let state = Snapshot(self.state.load(Ordering::Acquire));
        if state.has_entries() {
            return state;
        }
        // A read-modify-write, so that it and a lock-free end's
        // compare-and-swap read one another: either the end sees the bit
        // (and takes the lock) or this sees the end.
        Snapshot(self.state.fetch_or(HAS_ENTRIES, Ordering::AcqRel) | HAS_ENTRIES)
    }

    /// The node's deadline (the earlier of its own and its ancestors').
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the node has ended.
    pub(crate) fn is_done(&self) -> bool {
        !self.snapshot().is_live()
    }

    /// The node's error, once it ended.
    pub(crate) fn err(&self) -> Option<ContextError> {
        self.snapshot().err()
    }

    /// The state word (`Acquire`: pairs with the `AcqRel` compare-and-swap
    /// in `end`).
    fn snapshot(&self) -> Snapshot {
        Snapshot(self.state.load(Ordering::Acquire))
    }

    /// The node's cause, once it ended: the cause given, else its error.
    pub(crate) fn cause(&self) -> Option<std::sync::Arc<dyn Error + Send + Sync>> {
        let err = self.err()?;
        // An end under the lock released it after writing the cause; one
        // without the lock wrote none (invariant #1).
        let cause = lock(&self.inner).cause.clone();
        Some(cause.unwrap_or_else(|| std::sync::Arc::new(err)))
    }

    /// Polls a `done()` waiter (the waiter's half of the wake protocol):
    /// `Ready` once the node has ended; else registers `waker` (or updates
    /// the one registered under `*key`) and returns `Pending`. On `Ready`
    /// the caller forgets `*key` without calling
    /// [`forget_done`](CancelNode::forget_done) (invariant #7).
    pub(crate) fn poll_done(&self, key: &mut Option<usize>, waker: &Waker) -> Poll<()> {
        if self.is_done() {
            return Poll::Ready(());
        }
        let mut waiters = lock(&self.waiters);
        // Acquire: pairs with the end's compare-and-swap, as `snapshot`
        // (the caller then reads `err`/`cause`).
        let mut state = Snapshot(self.state.load(Ordering::Acquire));
        if !state.listened() {
            // AcqRel: a read-modify-write so that it and the end's
            // compare-and-swap read one another ("Wake protocol"); the lock
            // orders the insertion below before the end's drain.
            state = Snapshot(self.state.fetch_or(LISTENED, Ordering::AcqRel));
        }
        if !state.is_live() {
            return Poll::Ready(());
        }
        let replaced = match *key {
            // Live under the lock: the key is still ours (invariant #7).
            Some(k) if gust_trace::will_wake(&waiters[k], waker) => None,
            Some(k) => Some(mem::replace(&mut waiters[k], gust_trace::own_waker(waker))),
            None => {
                *key = Some(waiters.insert(gust_trace::own_waker(waker)));
                None
            }
        };
        drop(waiters);
        // Dropped with no lock held: a waker's drop may run foreign code.
        drop(replaced);
        Poll::Pending
    }

    /// Removes the waker registered under `key` by a `done()` that is
    /// dropped before the node ended (invariant #7).
    pub(crate) fn forget_done(&self, key: usize) {
        if self.is_done() {
            return; // The end took, or is about to take, the whole slab.
        }
        let removed = {
            let mut waiters = lock(&self.waiters);
            let removed = self.snapshot().is_live().then(|| waiters.remove(key));
            shrink(&mut waiters);
            removed
        };
        // Dropped with no lock held: a waker's drop may run foreign code.
        drop(removed);
    }

    /// Ends this node and its whole subtree with `err` and `cause`; a no-op
    /// if the node has ended already. See "Cancel algorithm".
    pub(crate) fn cancel(&self, err: ContextError, cause: Cause) {
        if self.is_done() {
            return; // Fast path: dropping the CancelFunc of an ended context.
        }
        let end = end_bits(err);
        if cause.is_none() {
            // A leaf (nothing registered): no lock, no cleanup.
            match self.end_leaf(end) {
                Leaf::Ended(old) => {
                    self.unregister();
                    self.wake(old);
                    return;
                }
                Leaf::AlreadyEnded => return,
                Leaf::HasEntries => {}
            }
        }
        let mut cleanup = Cleanup::default();
        let Some(old) = self.end(end, &cause, &mut cleanup) else {
            return;
        };
        self.unregister();
        // The whole subtree ends before anyone is woken: a task woken by
        // this node's `done()` finds every descendant ended (found from
        // outside: one woken by a parent read its child live in half the
        // runs; Go's window is as small as its lock makes it).
        let mut woken = Vec::new();
        while let Some(node) = cleanup.work.pop() {
            if let Some(old) = node.end(end, &cause, &mut cleanup)
                && old.listened()
            {
                woken.push((node, old));
            }
        }
        self.wake(old);
        for (node, old) in woken {
            node.wake(old);
        }
        for timer in cleanup.timers {
            timer.stop();
        }
        for f in cleanup.funcs {
            f();
        }
    }

    /// Ends this node (invariant #1) and moves what was registered into
    /// `cleanup`. Returns the state it replaced, or `None` if the node had
    /// ended. The caller then calls [`wake`](CancelNode::wake) with it.
    fn end(&self, end: u8, cause: &Cause, cleanup: &mut Cleanup) -> Option<Snapshot> {
        if cause.is_none() {
            match self.end_leaf(end) {
                Leaf::Ended(old) => return Some(old),
                Leaf::AlreadyEnded => return None,
                Leaf::HasEntries => {}
            }
        }
        let mut inner = lock(&self.inner);
        let mut state = self.snapshot();
        let old = loop {
            if !state.is_live() {
                return None;
            }
            match self.try_end(state, end) {
                Ok(old) => break old,
                Err(now) => state = now,
            }
        };
        inner.cause = cause.clone();
        cleanup.timers.extend(inner.timer.take());
        for (_, entry) in mem::take(&mut inner.registry) {
            match entry {
                Entry::Child(ChildRef(ptr)) => {
                    let ptr = ptr.as_ptr().cast_const();
                    // SAFETY: `ptr` came from `Arc::as_ptr` in `child`, and
                    // the child is alive: it was still registered, and it
                    // leaves the registry only under the lock held here
                    // before its last `Arc` can go (invariant #6). The new
                    // strong reference is the one `from_raw` takes over.
                    let child = unsafe {
                        Arc::increment_strong_count(ptr);
                        Arc::from_raw(ptr)
                    };
                    cleanup.work.push(child);
                }
                Entry::AfterFunc(f) => cleanup.funcs.push(f),
            }
        }
        Some(old)
    }

    /// Ends a node that has nothing registered, with no cause: one
    /// compare-and-swap, no lock (invariant #1).
    fn end_leaf(&self, end: u8) -> Leaf {
        let mut state = self.snapshot();
        while state.is_live() && !state.has_entries() {
            match self.try_end(state, end) {
                Ok(old) => return Leaf::Ended(old),
                Err(now) => state = now,
            }
        }
        if state.is_live() {
            Leaf::HasEntries
        } else {
            Leaf::AlreadyEnded
        }
    }

    /// Removes this node from its parent's registry, if it has a parent.
    /// Called by the `cancel` that ended it, before anything that could run
    /// foreign code (wakers, after-funcs): invariant #6.
    fn unregister(&self) {
        if let Some(parent) = &self.parent {
            let inner = lock(&parent.inner);
            // Relaxed: written under this same lock (see `key`).
            let key = self.key.load(Ordering::Relaxed);
            parent.unregister_child(inner, key, self);
        }
    }

    /// One attempt to move the state from `state` (live) to ended with
    /// `end`: `Ok` with the state it replaced, or `Err` with the current one.
    fn try_end(&self, state: Snapshot, end: u8) -> Result<Snapshot, Snapshot> {
        // AcqRel: Acquire pairs with the `fetch_or(LISTENED)` in
        // `poll_done`; Release pairs with the Acquire loads of the state
        // (`is_done`, `err`, and registration's `set_has_entries`).
        self.state
            .compare_exchange(state.0, state.0 | end, Ordering::AcqRel, Ordering::Acquire)
            .map(Snapshot)
            .map_err(Snapshot)
    }

    /// Wakes the waiters of a node whose end replaced state `old`, if any
    /// registered (see "Wake protocol"): takes them all under the waiters'
    /// lock, and wakes them after releasing it.
    fn wake(&self, old: Snapshot) {
        if old.listened() {
            let wakers = mem::take(&mut *lock(&self.waiters));
            for (_, waker) in wakers {
                waker.wake();
            }
        }
    }

    /// Removes `child` (at `key`) from this node's registry (invariant #4);
    /// `inner` is this node's lock.
    fn unregister_child(&self, mut inner: MutexGuard<'_, Inner>, key: usize, child: &CancelNode) {
        let ours = matches!(
            inner.registry.get(key),
            Some(Entry::Child(ChildRef(c))) if std::ptr::eq(c.as_ptr(), child)
        );
        if ours {
            inner.registry.remove(key);
            shrink(&mut inner.registry);
        }
    }

    /// Registers `f` to run when this node ends. Gives `f` back if the node
    /// has ended (invariant #3); else returns its key.
    pub(crate) fn register_after_func(&self, f: AfterFn) -> Result<usize, AfterFn> {
        let mut inner = lock(&self.inner);
        if !self.set_has_entries().is_live() {
            return Err(f);
        }
        Ok(inner.registry.insert(Entry::AfterFunc(f)))
    }

    /// Removes the after-func at `key`: `true` if it was still pending (it
    /// will never run), `false` if the node ended and took it (invariant #4;
    /// the caller guarantees it asks once per key).
    pub(crate) fn unregister_after_func(&self, key: usize) -> bool {
        let removed = {
            let mut inner = lock(&self.inner);
            let ours = matches!(inner.registry.get(key), Some(Entry::AfterFunc(_)));
            let removed = ours.then(|| inner.registry.remove(key));
            shrink(&mut inner.registry);
            removed
        };
        removed.is_some()
    }

    /// Stores the deadline timer; if the node has ended already, gives it
    /// back so the caller stops it (nobody else would).
    pub(crate) fn set_timer(&self, timer: crate::timer::Timer) -> Option<crate::timer::Timer> {
        let mut inner = lock(&self.inner);
        if !self.set_has_entries().is_live() {
            return Some(timer);
        }
        inner.timer = Some(timer);
        None
    }

    /// How many children and after-funcs are registered (tests).
    #[cfg(test)]
    pub(crate) fn registry_len(&self) -> usize {
        lock(&self.inner).registry.len()
    }

    /// The registry's capacity (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn registry_capacity(&self) -> usize {
        lock(&self.inner).registry.capacity()
    }

    /// How many `done()` wakers are registered, and the slab's capacity
    /// (tests).
    #[cfg(test)]
    pub(crate) fn waiters_len_and_capacity(&self) -> (usize, usize) {
        let waiters = lock(&self.waiters);
        (waiters.len(), waiters.capacity())
    }
}

/// Gives back the memory of an empty registry (or waiter slab) that once
/// was large.
fn shrink<T>(slab: &mut Slab<T>) {
    if slab.is_empty() && slab.capacity() > SHRINK_ABOVE {
        *slab = Slab::new();
    }
}

impl Drop for CancelNode {
    /// Drops the chain of ancestors iteratively, so that dropping the last
    /// handle of a very deep chain cannot overflow the stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(node) = next {
            // Shared (the usual case, a parent with other handles): one
            // decrement. A stale count is harmless: the last drop of a
            // shared node runs this loop itself.
            if Arc::strong_count(&node) > 1 {
                break;
            }
            next = match Arc::try_unwrap(node) {
                Ok(mut node) => node.parent.take(),
                Err(_) => None,
            };
        }
    }
}
