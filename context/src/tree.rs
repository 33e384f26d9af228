//! The cancellation tree.
//!
//! Every context made by `with_cancel`, `with_deadline` or `with_timeout` owns
//! one [`CancelNode`]. A node registers in the registry (a `Slab`) of the
//! nearest cancellable ancestor; `with_value` contexts share their parent's
//! node and `background()`/`without_cancel()` contexts have none (they never
//! end). The parent holds its live children strongly (to cancel them), each
//! child holds its parent strongly together with its key in the parent's
//! registry (to unregister). After-funcs (`Context::after_func`) live in the
//! same registry as children.
//!
//! # Invariants
//!
//! 1. A node's `state` goes from `LIVE` to `CANCELED` or `DEADLINE_EXCEEDED`
//!    exactly once, under the node's lock, together with its `cause` and the
//!    taking of its registry and timer. It never goes back.
//! 2. A node is in its parent's registry iff it was registered while the
//!    parent was live and neither has ended since: the parent's cancel takes
//!    the whole registry (invariant #1), a child that ends removes itself.
//!    So a long-lived parent holds only its live children (bounded memory).
//! 3. After a node ended, its registry stays empty: `register_child` and
//!    `register_after_func` check the state under the same lock and refuse.
//!    A child made from an ended parent is created ended, with the parent's
//!    error and cause, and never registered.
//! 4. A key in a registry identifies one entry until that entry is removed,
//!    and only its owner (the child itself, the after-func's handle, or the
//!    parent's cancel taking everything) removes it. Removals also check
//!    identity (`Arc::ptr_eq`) as a second guard.
//! 5. `cancel` returns only after every node that was in the subtree when it
//!    took the first lock has its state set (and its waiters woken), unless
//!    another cancel was already ending part of that subtree (see below).
//!
//! # Cancel algorithm
//!
//! `cancel(node)` marks the node (invariant #1), wakes its waiters, and pushes
//! the children it took onto a work list; it then pops and marks them the same
//! way, iteratively (no recursion, so deep chains cannot overflow the stack).
//! Only the first node unregisters from its parent: the others were taken out
//! of their parent's registry with it. Timers are stopped and after-funcs run
//! at the end, with no lock held.
//!
//! A node that another thread ended first is skipped, together with its
//! subtree, which that thread is ending. So two cancels racing on overlapping
//! subtrees each return once the nodes *they* marked are done; the part the
//! other one marked may still be finishing. Go's `context` has the same
//! window (its `cancel` returns early on an already-cancelled child).
//!
//! # Deadlock safety (lock order)
//!
//! No thread ever holds two node locks at once: registration locks only the
//! parent (the child is built inside that critical section and not locked),
//! marking locks one node at a time, unregistration locks only the parent,
//! and `stop` on an after-func locks only its node. Should code ever need two,
//! the order is parent before child (Go's order). User code (after-funcs) and
//! timer calls run with no lock held; waker calls run under the event's own
//! lock only.
//!
//! # Wake protocol
//!
//! Waiter ([`CancelNode::listen`], then a state check): insert a listener in
//! the node's event, set `listened` (`Release`), SeqCst fence, load the state
//! (`Acquire`); sleep only if the node is live.
//!
//! Canceller ([`CancelNode::cancel`]): store the state (`Release`, under the
//! lock), SeqCst fence, load `listened` (`Acquire`); notify every listener
//! only if it is set.
//!
//! The two fences order the two store-then-load sequences (Dekker): either
//! the waiter's load sees the end, or the canceller's load sees `listened`,
//! and then (Acquire/Release) the listener's insertion happened before the
//! notification. So no wake-up is lost, and a context that nobody ever
//! waited on is cancelled without touching its event (whose first use
//! allocates). The loom model `loom_waiters_wake` checks this protocol: with
//! the canceller's fence removed, it finds the lost wake-up (a deadlock).

use std::error::Error;
use std::mem;
use std::time::Instant;

use event_listener::Event;
use slab::Slab;

use event_listener::EventListener;

use crate::ContextError;
use crate::sync::{Arc, AtomicBool, AtomicU8, Mutex, Ordering, fence, lock};

/// The cause stored in a node: `None` means "the same as the error". A std
/// `Arc` even under loom: it is immutable data, and it is handed to users.
pub(crate) type Cause = Option<std::sync::Arc<dyn Error + Send + Sync>>;

/// A callback registered by `Context::after_func`.
pub(crate) type AfterFn = Box<dyn FnOnce() + Send>;

/// The node is live.
const LIVE: u8 = 0;
/// Ended by a cancel.
const CANCELED: u8 = 1;
/// Ended by its deadline (or an ancestor's).
const DEADLINE_EXCEEDED: u8 = 2;

/// A registry with no entries and more capacity than this is replaced by a
/// fresh one, so a parent that once had many live children gives the memory
/// back (a `Slab` never shrinks by itself).
const SHRINK_ABOVE: usize = 64;

/// One entry of a node's registry.
enum Entry {
    /// A live child.
    Child(Arc<CancelNode>),
    /// A callback to run when this node ends.
    AfterFunc(AfterFn),
}

/// The cancellation state of one `with_cancel`/`with_deadline` context.
pub(crate) struct CancelNode {
    // Immutable after construction (read without the lock).
    /// The parent and this node's key in the parent's registry; `None` when
    /// the node was never registered (no cancellable parent, or the parent
    /// had ended; invariant #3).
    parent: Option<(Arc<CancelNode>, usize)>,
    /// The earlier of this node's own deadline and its parent's.
    deadline: Option<Instant>,

    // Written under `inner`, read without the lock.
    /// `LIVE`, `CANCELED` or `DEADLINE_EXCEEDED` (invariant #1). Stored with
    /// `Release` after `cause`, loaded with `Acquire`.
    state: AtomicU8,

    // Own synchronization.
    /// Waiters of `done()` sleep here; notified once, when the node ends.
    event: Event,
    /// Set (and never cleared) by the first waiter; see "Wake protocol".
    listened: AtomicBool,

    /// Everything else, under the node's lock.
    inner: Mutex<Inner>,
}

/// The fields of a [`CancelNode`] protected by its lock.
struct Inner {
    /// Live children and pending after-funcs (invariants #2 to #4).
    registry: Slab<Entry>,
    /// Set when the node ends (invariant #1).
    cause: Cause,
    /// The deadline timer, until it fires or the node ends.
    timer: Option<crate::timer::Timer>,
}

/// Work collected while marking nodes, done after all locks are released.
#[derive(Default)]
struct Cleanup {
    /// Nodes whose subtree still has to be marked.
    work: Vec<Arc<CancelNode>>,
    /// After-funcs to run.
    funcs: Vec<AfterFn>,
    /// Timers to stop.
    timers: Vec<crate::timer::Timer>,
}

impl CancelNode {
    /// A node with no cancellable parent.
    pub(crate) fn root(deadline: Option<Instant>) -> Arc<CancelNode> {
        Arc::new(CancelNode::new(None, deadline, LIVE, None))
    }

    fn new(
        parent: Option<(Arc<CancelNode>, usize)>,
        deadline: Option<Instant>,
        state: u8,
        cause: Cause,
    ) -> CancelNode {
        CancelNode {
            parent,
            deadline,
            state: AtomicU8::new(state),
            event: Event::new(),
            listened: AtomicBool::new(false),
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
    /// (invariant #3).
    pub(crate) fn child(parent: &Arc<CancelNode>, deadline: Option<Instant>) -> Arc<CancelNode> {
        let mut inner = lock(&parent.inner);
        let state = parent.state.load(Ordering::Relaxed);
        if state != LIVE {
            let cause = inner.cause.clone();
            drop(inner);
            return Arc::new(CancelNode::new(None, deadline, state, cause));
        }
        let entry = inner.registry.vacant_entry();
        let child = Arc::new(CancelNode::new(
            Some((parent.clone(), entry.key())),
            deadline,
            LIVE,
            None,
        ));
        entry.insert(Entry::Child(child.clone()));
        child
    }

    /// The node's deadline (the earlier of its own and its ancestors').
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the node has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Ordering::Acquire) != LIVE
    }

    /// The node's error, once it ended.
    pub(crate) fn err(&self) -> Option<ContextError> {
        match self.state.load(Ordering::Acquire) {
            LIVE => None,
            CANCELED => Some(ContextError::Canceled),
            _ => Some(ContextError::DeadlineExceeded),
        }
    }

    /// The node's cause, once it ended: the cause given, else its error.
    pub(crate) fn cause(&self) -> Option<std::sync::Arc<dyn Error + Send + Sync>> {
        let err = self.err()?;
        let cause = lock(&self.inner).cause.clone();
        Some(cause.unwrap_or_else(|| std::sync::Arc::new(err)))
    }

    /// The waiter's half of the wake protocol: a listener that the end of
    /// the node will notify. The caller must check [`is_done`] after this
    /// and before sleeping on the listener.
    ///
    /// [`is_done`]: CancelNode::is_done
    pub(crate) fn listen(&self) -> EventListener {
        let listener = self.event.listen();
        if !self.listened.load(Ordering::Relaxed) {
            // Release: the insertion above happens before a notify that
            // reads this flag (pairs with the Acquire load in `mark`).
            self.listened.store(true, Ordering::Release);
        }
        // Pairs with the fence in `mark` (see "Wake protocol").
        fence(Ordering::SeqCst);
        listener
    }

    /// Ends this node and its whole subtree with `err` and `cause`; a no-op
    /// if the node has ended already. See "Cancel algorithm".
    pub(crate) fn cancel(&self, err: ContextError, cause: Cause) {
        let state = match err {
            ContextError::Canceled => CANCELED,
            ContextError::DeadlineExceeded => DEADLINE_EXCEEDED,
        };
        if self.is_done() {
            return; // Fast path: dropping the CancelFunc of an ended context.
        }
        let mut cleanup = Cleanup::default();
        if !self.mark(state, &cause, &mut cleanup) {
            return;
        }
        while let Some(node) = cleanup.work.pop() {
            node.mark(state, &cause, &mut cleanup);
        }
        if let Some((parent, key)) = &self.parent {
            parent.unregister_child(*key, self);
        }
        for timer in cleanup.timers {
            timer.stop();
        }
        for f in cleanup.funcs {
            f();
        }
    }

    /// Sets the state (invariant #1), wakes the waiters, and moves the
    /// registry and timer into `cleanup`. `false` if the node had ended.
    fn mark(&self, state: u8, cause: &Cause, cleanup: &mut Cleanup) -> bool {
        let registry = {
            let mut inner = lock(&self.inner);
            if self.state.load(Ordering::Relaxed) != LIVE {
                return false;
            }
            inner.cause = cause.clone();
            // Release: publishes `cause` to lock-free readers of the state
            // (pairs with the Acquire loads in `is_done`/`err`).
            self.state.store(state, Ordering::Release);
            cleanup.timers.extend(inner.timer.take());
            mem::take(&mut inner.registry)
        };
        // Pairs with the fence in `listen` (see "Wake protocol").
        fence(Ordering::SeqCst);
        if self.listened.load(Ordering::Acquire) {
            self.event.notify(usize::MAX);
        }
        for entry in registry {
            match entry {
                (_, Entry::Child(child)) => cleanup.work.push(child),
                (_, Entry::AfterFunc(f)) => cleanup.funcs.push(f),
            }
        }
        true
    }

    /// Removes `child` (at `key`) from this node's registry (invariant #4).
    fn unregister_child(&self, key: usize, child: &CancelNode) {
        let removed = {
            let mut inner = lock(&self.inner);
            let ours = matches!(
                inner.registry.get(key),
                Some(Entry::Child(c)) if std::ptr::eq(&**c, child)
            );
            let removed = ours.then(|| inner.registry.remove(key));
            shrink(&mut inner.registry);
            removed
        };
        // The child's Arc is dropped here, outside the lock.
        drop(removed);
    }

    /// Registers `f` to run when this node ends. Gives `f` back if the node
    /// has ended (invariant #3); else returns its key.
    pub(crate) fn register_after_func(&self, f: AfterFn) -> Result<usize, AfterFn> {
        let mut inner = lock(&self.inner);
        if self.state.load(Ordering::Relaxed) != LIVE {
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
        if self.state.load(Ordering::Relaxed) != LIVE {
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
}

/// Gives back the memory of an empty registry that once was large.
fn shrink(registry: &mut Slab<Entry>) {
    if registry.is_empty() && registry.capacity() > SHRINK_ABOVE {
        *registry = Slab::new();
    }
}

impl Drop for CancelNode {
    /// Drops the chain of ancestors iteratively, so that dropping the last
    /// handle of a very deep chain cannot overflow the stack.
    fn drop(&mut self) {
        let mut next = self.parent.take().map(|(parent, _)| parent);
        while let Some(node) = next {
            // Shared (the usual case, a parent with other handles): one
            // decrement. A stale count is harmless: the last drop of a
            // shared node runs this loop itself.
            if Arc::strong_count(&node) > 1 {
                break;
            }
            next = match Arc::try_unwrap(node) {
                Ok(mut node) => node.parent.take().map(|(parent, _)| parent),
                Err(_) => None,
            };
        }
    }
}
