//! `Context`: Go's `context` package for async Rust: a tree of cancellation
//! scopes with deadlines, causes and request-scoped values; plus
//! [`errgroup`], Go's `golang.org/x/sync/errgroup`.
//!
//! ```
//! # #[cfg(not(loom))] {
//! use gust_context::{Context, ContextError};
//!
//! let root = Context::background();
//! let (parent, cancel) = root.with_cancel();
//! let (child, _cancel_child) = parent.with_cancel();
//! assert!(!child.is_done());
//! cancel.cancel(); // ends `parent` and, before returning, `child`
//! assert_eq!(child.err(), Some(ContextError::Canceled));
//! # }
//! ```
//!
//! # Usage rules (Go's, adapted)
//!
//! * Pass a `Context` to the functions that should stop when it ends; clone it
//!   freely (a clone is two reference-count increments).
//! * Keep the [`CancelFunc`] for as long as the work runs: **dropping it
//!   cancels the context** (Go's `defer cancel()`, done by RAII). So bind it:
//!   `let (ctx, _cancel) = parent.with_cancel();`, not `let (ctx, _) = ...`,
//!   which drops (and so fires) it at once.
//! * Cancelling a context ends it and all its descendants, with its error and
//!   cause; it never touches its parent or siblings.
//! * A context that ended stays ended: `err()`, `cause()` and `done()` are
//!   stable from then on.
//!
//! # Design
//!
//! A `Context` is `{ cancellation node, value chain }`, both optional and
//! reference-counted. `with_value` adds a value node and shares the
//! cancellation node; `with_cancel`/`with_deadline` add a cancellation node
//! registered with the parent's; `background()` and `without_cancel()` have
//! none. The tree, its invariants, the cancel algorithm and the lock order are
//! described in `tree.rs`; deadlines in `timer.rs`.
//!
//! Operations and their cost: `is_done`/`err` are one atomic load;
//! `done().await` on a live context stores its task's waker in the
//! context's waiter slab under one lock (no allocation of its own);
//! `with_cancel` is one allocation and one lock of the parent; cancelling a
//! context that has no children, after-funcs or timer is one
//! compare-and-swap plus one lock of the parent (to unregister), and one
//! lock of its own if anyone waited on `done()`; a cancel wakes every waiter
//! and ends every descendant before it returns.
//!
//! A pending `done()` records why its task waits, for gust's goroutine dump
//! and deadlock detector (gust-trace): [`gust_trace::Wait::Context`],
//! durable for a context with no deadline on its chain, not durable with one
//! (it ends by itself). `run(fut)` records one reason for the whole: the
//! inner future's, durable only if both sides are (see [`Run`]).
//!
//! Everything but deadlines works on any executor and from plain threads
//! ([`Context::done_blocking`]); deadline timers run on the gust executor's
//! timer (which needs no runtime to be started).

mod sync;
mod timer;
mod tree;

#[cfg(not(loom))]
pub mod errgroup;
#[cfg(all(unix, not(loom)))]
pub mod signal;

#[cfg(all(test, loom))]
mod loom_tests;

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc as StdArc;
use std::task::{self, Poll};
use std::time::{Duration, Instant};

use crate::sync::{Arc, AtomicBool, Ordering};

/// The current time on the current runtime's clock (virtual under
/// `start_paused`), so deadlines made in a runtime follow it.
#[cfg(not(loom))]
fn now() -> Instant {
    gust_executor::time::now()
}

/// The current time (no runtime under loom).
#[cfg(loom)]
fn now() -> Instant {
    Instant::now()
}
use crate::tree::{CancelNode, Cause};

/// Why a context ended (Go's `context.Canceled` and
/// `context.DeadlineExceeded`).
///
/// ```
/// use gust_context::ContextError;
/// assert_eq!(ContextError::Canceled.to_string(), "context canceled");
/// assert_eq!(ContextError::DeadlineExceeded.to_string(), "context deadline exceeded");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextError {
    /// The context (or an ancestor) was cancelled.
    Canceled,
    /// The context's deadline (or an ancestor's) passed.
    DeadlineExceeded,
}

impl fmt::Display for ContextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContextError::Canceled => "context canceled",
            ContextError::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl Error for ContextError {}

/// A value stored by [`Context::with_value`], linked to the values above it.
struct ValueNode<T: ?Sized> {
    /// The next value up the chain.
    parent: Option<StdArc<ValueNode<dyn Any + Send + Sync>>>,
    /// The value; its type is its key.
    value: T,
}

impl<T: ?Sized> Drop for ValueNode<T> {
    /// Unlinks the chain iteratively, so that dropping a very deep chain of
    /// values cannot overflow the stack.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(mut node) = next {
            // Sole owner: take its parent before it drops (no recursion).
            next = StdArc::get_mut(&mut node).and_then(|n| n.parent.take());
        }
    }
}

/// A cancellation scope with an optional deadline and request-scoped values,
/// like Go's `context.Context`.
///
/// `Context` is `Clone` (cheap), `Send` and `Sync`; its [`done`](Context::done)
/// future is `Send` and usable as a `select!` case. See the [crate docs](crate)
/// for the usage rules.
///
/// ```
/// # futures::executor::block_on(async {
/// use gust_context::Context;
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let worker = {
///     let ctx = ctx.clone();
///     std::thread::spawn(move || ctx.done_blocking())
/// };
/// cancel.cancel();
/// worker.join().unwrap();
/// ctx.done().await; // ended: returns at once
/// # });
/// ```
#[derive(Clone)]
pub struct Context {
    /// The nearest cancellation node (own or ancestor's); `None`: never ends.
    node: Option<Arc<CancelNode>>,
    /// The nearest value; `None`: no values.
    values: Option<StdArc<ValueNode<dyn Any + Send + Sync>>>,
}

impl Context {
    /// The root context: never ends, has no deadline and no values (Go's
    /// `context.Background()`). Costs nothing.
    ///
    /// ```
    /// let ctx = gust_context::Context::background();
    /// assert!(!ctx.is_done());
    /// assert_eq!(ctx.err(), None);
    /// assert_eq!(ctx.deadline(), None);
    /// ```
    pub fn background() -> Context {
        Context {
            node: None,
            values: None,
        }
    }

    /// A child that ends when `cancel` is called or dropped, or when this
    /// context ends, whichever comes first. A child of an ended context is
    /// ended at once, with its parent's error and cause.
    ///
    /// ```
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// drop(cancel); // dropping cancels
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// ```
    pub fn with_cancel(&self) -> (Context, CancelFunc) {
        self.with_node(self.deadline())
    }

    /// A child that also ends at `deadline` (with
    /// [`ContextError::DeadlineExceeded`]). Its deadline is the earlier of
    /// `deadline` and this context's. The context holds one timer, stopped
    /// (and freed) if the context ends earlier.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, _cancel) = Context::background().with_deadline(Instant::now());
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded)); // already passed
    ///
    /// let far = Instant::now() + Duration::from_secs(3600);
    /// let (ctx, _cancel) = Context::background().with_deadline(far);
    /// assert_eq!(ctx.deadline(), Some(far));
    /// ```
    pub fn with_deadline(&self, deadline: Instant) -> (Context, CancelFunc) {
        self.with_deadline_and(deadline, None)
    }

    /// [`with_deadline`](Context::with_deadline), with `cause` as what
    /// [`cause`](Context::cause) returns once the deadline has passed (Go's
    /// `WithDeadlineCause`); `err` is still
    /// [`ContextError::DeadlineExceeded`]. A `cancel` before the deadline
    /// ends it with [`ContextError::Canceled`] and no such cause, and when
    /// this context's own deadline comes first or at the same time, that
    /// one ends the child, with this context's cause (`cause` is then
    /// never used; Go does so for an earlier deadline, and for an equal
    /// one either cause may win there).
    ///
    /// ```
    /// use std::time::Instant;
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, _cancel) =
    ///     Context::background().with_deadline_cause(Instant::now(), "the batch window closed");
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "the batch window closed");
    /// ```
    pub fn with_deadline_cause(
        &self,
        deadline: Instant,
        cause: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> (Context, CancelFunc) {
        self.with_deadline_and(deadline, Some(StdArc::from(cause.into())))
    }

    /// `with_deadline`, ending with `cause` (`None`: the same error as `err`).
    fn with_deadline_and(&self, deadline: Instant, cause: Cause) -> (Context, CancelFunc) {
        if self.deadline().is_some_and(|d| d <= deadline) {
            // The parent's deadline comes first: it will end us anyway.
            return self.with_cancel();
        }
        let (ctx, cancel) = self.with_node(Some(deadline));
        if !cancel.node.is_done() {
            if deadline <= now() {
                cancel.node.cancel(ContextError::DeadlineExceeded, cause);
            } else {
                timer::arm(&cancel.node, deadline, cause);
            }
        }
        (ctx, cancel)
    }

    /// `with_deadline(now + timeout)`. A timeout too large to represent
    /// (such as `Duration::MAX`) means no deadline.
    ///
    /// ```
    /// # #[cfg(not(loom))] {
    /// use std::time::Duration;
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(1));
    /// ctx.done_blocking();
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// # }
    /// ```
    pub fn with_timeout(&self, timeout: Duration) -> (Context, CancelFunc) {
        self.with_timeout_and(timeout, None)
    }

    /// `with_deadline_cause(now + timeout, cause)` (Go's
    /// `WithTimeoutCause`). A timeout too large to represent means no
    /// deadline, and `cause` is never used.
    ///
    /// ```
    /// # #[cfg(not(loom))] {
    /// use std::time::Duration;
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, _cancel) =
    ///     Context::background().with_timeout_cause(Duration::from_millis(1), "the backend was slow");
    /// ctx.done_blocking();
    /// assert_eq!(ctx.err(), Some(ContextError::DeadlineExceeded));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "the backend was slow");
    /// # }
    /// ```
    pub fn with_timeout_cause(
        &self,
        timeout: Duration,
        cause: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> (Context, CancelFunc) {
        self.with_timeout_and(timeout, Some(StdArc::from(cause.into())))
    }

    /// `with_timeout`, ending with `cause` (`None`: the same error as `err`).
    fn with_timeout_and(&self, timeout: Duration, cause: Cause) -> (Context, CancelFunc) {
        match now().checked_add(timeout) {
            Some(deadline) => self.with_deadline_and(deadline, cause),
            None => self.with_cancel(),
        }
    }

    /// Registers a new cancellation node under this context's.
    fn with_node(&self, own_deadline: Option<Instant>) -> (Context, CancelFunc) {
        let deadline = match (own_deadline, self.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let node = match &self.node {
            Some(parent) => CancelNode::child(parent, deadline),
            None => CancelNode::root(deadline),
        };
        let ctx = Context {
            node: Some(node.clone()),
            values: self.values.clone(),
        };
        (ctx, CancelFunc { node })
    }

    /// A child carrying `value`, found by [`value::<T>()`](Context::value)
    /// on it and its descendants (the type is the key, so use a newtype per
    /// meaning). Shares this context's cancellation.
    ///
    /// ```
    /// use gust_context::Context;
    ///
    /// struct RequestId(u64);
    /// let ctx = Context::background().with_value(RequestId(7));
    /// assert_eq!(ctx.value::<RequestId>().map(|r| r.0), Some(7));
    /// assert!(ctx.value::<String>().is_none());
    /// ```
    pub fn with_value<T: Any + Send + Sync>(&self, value: T) -> Context {
        let node: StdArc<ValueNode<dyn Any + Send + Sync>> = StdArc::new(ValueNode {
            parent: self.values.clone(),
            value,
        });
        Context {
            node: self.node.clone(),
            values: Some(node),
        }
    }

    /// The value of type `T` stored by the nearest `with_value` on this
    /// context's chain, if any.
    ///
    /// ```
    /// use gust_context::Context;
    ///
    /// let ctx = Context::background().with_value(1u32).with_value(2u32);
    /// assert_eq!(ctx.value::<u32>(), Some(&2)); // the nearest wins
    /// ```
    pub fn value<T: Any + Send + Sync>(&self) -> Option<&T> {
        let mut next = self.values.as_deref();
        while let Some(node) = next {
            if let Some(v) = node.value.downcast_ref::<T>() {
                return Some(v);
            }
            next = node.parent.as_deref();
        }
        None
    }

    /// A context with this one's values that never ends, has no deadline,
    /// and is not ended by this one (Go 1.21's `context.WithoutCancel`).
    ///
    /// ```
    /// use gust_context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_value(5u8).with_cancel();
    /// let detached = ctx.without_cancel();
    /// cancel.cancel();
    /// assert!(ctx.is_done());
    /// assert!(!detached.is_done());
    /// assert_eq!(detached.value::<u8>(), Some(&5));
    /// ```
    pub fn without_cancel(&self) -> Context {
        Context {
            node: None,
            values: self.values.clone(),
        }
    }

    /// A future that completes when this context ends; pending forever for
    /// one that never ends (like receiving from Go's nil `Done()` channel).
    /// Any number of tasks may wait; one cancel wakes them all.
    ///
    /// # Cancellation safety
    ///
    /// Cancel-safe: dropping it loses nothing.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use gust_context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// std::thread::spawn(move || cancel.cancel());
    /// ctx.done().await;
    /// assert!(ctx.is_done());
    /// # });
    /// ```
    pub fn done(&self) -> Done<'_> {
        Done {
            node: self.node.as_deref(),
            key: None,
        }
    }

    /// Blocks this thread until the context ends (forever, for one that never
    /// ends). For threads, not for async code.
    ///
    /// ```
    /// use gust_context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// std::thread::spawn(move || cancel.cancel());
    /// ctx.done_blocking();
    /// ```
    pub fn done_blocking(&self) {
        // On a runtime's worker (a task blocking), its queued tasks go to
        // the others before the thread parks (gust-trace).
        gust_trace::block_on_thread(self.done());
    }

    /// Whether the context has ended.
    ///
    /// ```
    /// let (ctx, cancel) = gust_context::Context::background().with_cancel();
    /// assert!(!ctx.is_done());
    /// cancel.cancel();
    /// assert!(ctx.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.node.as_deref().is_some_and(CancelNode::is_done)
    }

    /// `None` while the context is live; then why it ended.
    ///
    /// ```
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.err(), None);
    /// cancel.cancel();
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// ```
    pub fn err(&self) -> Option<ContextError> {
        self.node.as_deref().and_then(CancelNode::err)
    }

    /// `None` while the context is live; then the cause given to
    /// [`CancelFunc::cancel_with_cause`] (its own or an ancestor's), else the
    /// same error as [`err`](Context::err) (Go's `context.Cause`).
    ///
    /// ```
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// cancel.cancel_with_cause("shutting down");
    /// assert_eq!(ctx.err(), Some(ContextError::Canceled));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "shutting down");
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// cancel.cancel();
    /// let cause = ctx.cause().unwrap();
    /// assert_eq!(cause.downcast_ref::<ContextError>(), Some(&ContextError::Canceled));
    /// ```
    pub fn cause(&self) -> Option<StdArc<dyn Error + Send + Sync>> {
        self.node.as_deref().and_then(CancelNode::cause)
    }

    /// The time at which this context ends by itself: the earliest deadline
    /// on its chain, if any.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gust_context::Context;
    ///
    /// let soon = Instant::now() + Duration::from_secs(60);
    /// let (parent, _c1) = Context::background().with_deadline(soon);
    /// let (child, _c2) = parent.with_deadline(soon + Duration::from_secs(60));
    /// assert_eq!(child.deadline(), Some(soon)); // the parent's comes first
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.node.as_deref().and_then(CancelNode::deadline)
    }

    /// Runs `fut` until it completes (`Ok`) or this context ends first (`Err`
    /// with the context's error; `fut` is dropped). If the context has
    /// already ended, `fut` is not polled.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use gust_context::{Context, ContextError};
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// assert_eq!(ctx.run(async { 1 }).await, Ok(1));
    /// cancel.cancel();
    /// assert_eq!(ctx.run(async { 2 }).await, Err(ContextError::Canceled));
    /// # });
    /// ```
    pub fn run<F: Future>(&self, fut: F) -> Run<'_, F> {
        Run {
            fut,
            done: self.done(),
        }
    }

    /// Arranges for `f` to be called once this context ends (Go 1.21's
    /// `context.AfterFunc`), in a thread of its own (Go: "in its own
    /// goroutine"; gust's blocking pool, as
    /// [`spawn_blocking`](gust_executor::spawn_blocking)), so `f` may block
    /// and the `cancel` that ends the context does not wait for it. If the
    /// context has ended already, `f` is started at once. Calls for several
    /// contexts are independent.
    ///
    /// The returned handle's [`stop`](AfterFuncHandle::stop) unregisters `f`:
    /// `true` if that kept it from being started. Dropping the handle does
    /// **not** unregister it.
    ///
    /// ```
    /// use std::sync::mpsc;
    /// use gust_context::Context;
    ///
    /// let (ctx, cancel) = Context::background().with_cancel();
    /// let (tx, rx) = mpsc::channel();
    /// let stop = ctx.after_func(move || tx.send("ended").unwrap());
    /// cancel.cancel();
    /// assert_eq!(rx.recv().unwrap(), "ended");
    /// assert!(!stop.stop()); // too late: it was started
    /// ```
    pub fn after_func(&self, f: impl FnOnce() + Send + 'static) -> AfterFuncHandle {
        let handle = |node, key| AfterFuncHandle {
            node,
            key,
            stopped: AtomicBool::new(false),
        };
        let Some(node) = &self.node else {
            // Never ends: f never runs; stop() still reports "stopped it".
            return handle(None, 0);
        };
        let f = Box::new(move || start_in_own_thread(f));
        match node.register_after_func(f) {
            Ok(key) => handle(Some(node.clone()), key),
            Err(f) => {
                f();
                let h = handle(None, 0);
                h.stopped.store(true, Ordering::Relaxed);
                h
            }
        }
    }
}

/// Starts an `after_func` callback in a thread of its own, on gust's
/// blocking pool (Go: "in its own goroutine").
#[cfg(not(loom))]
fn start_in_own_thread(f: impl FnOnce() + Send + 'static) {
    drop(gust_executor::spawn_blocking(f));
}

/// Under loom (no executor): on the thread that ends the context.
#[cfg(loom)]
fn start_in_own_thread(f: impl FnOnce() + Send + 'static) {
    f();
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("cancellable", &self.node.is_some())
            .field("err", &self.err())
            .field("deadline", &self.deadline())
            .field("has_values", &self.values.is_some())
            .finish()
    }
}

impl Default for Context {
    /// [`Context::background()`].
    fn default() -> Self {
        Context::background()
    }
}

/// Ends its context (Go's `context.CancelFunc`, plus `CancelCauseFunc`).
///
/// Calling it more than once is harmless; only the first call has an
/// effect. **Dropping it cancels** (the RAII form of Go's `defer cancel()`):
/// keep it alive as long as the work should run.
///
/// ```
/// use gust_context::{Context, ContextError};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// {
///     let _cancel = cancel; // `defer cancel()`
/// }
/// assert_eq!(ctx.err(), Some(ContextError::Canceled));
/// ```
#[must_use = "dropping a CancelFunc cancels its context at once; bind it: `let (ctx, _cancel) = ...`"]
pub struct CancelFunc {
    node: Arc<CancelNode>,
}

impl CancelFunc {
    /// Ends the context and, before returning, every descendant, with
    /// [`ContextError::Canceled`] (cause: the same). No effect if the
    /// context has ended already.
    ///
    /// ```
    /// let (ctx, cancel) = gust_context::Context::background().with_cancel();
    /// let (child, _c) = ctx.with_cancel();
    /// cancel.cancel();
    /// assert!(child.is_done());
    /// ```
    pub fn cancel(&self) {
        self.node.cancel(ContextError::Canceled, None);
    }

    /// Like [`cancel`](CancelFunc::cancel), with `cause` as the cause that
    /// [`Context::cause`] returns on the context and its descendants (Go's
    /// `WithCancelCause`). Takes any error, or a `&str`/`String` message.
    ///
    /// ```
    /// let (ctx, cancel) = gust_context::Context::background().with_cancel();
    /// cancel.cancel_with_cause(std::io::Error::other("disk full"));
    /// assert_eq!(ctx.cause().unwrap().to_string(), "disk full");
    /// ```
    pub fn cancel_with_cause(&self, cause: impl Into<Box<dyn Error + Send + Sync>>) {
        let cause: StdArc<dyn Error + Send + Sync> = StdArc::from(cause.into());
        self.node.cancel(ContextError::Canceled, Some(cause));
    }
}

impl Drop for CancelFunc {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelFunc")
            .field("done", &self.node.is_done())
            .finish()
    }
}

/// The handle returned by [`Context::after_func`].
///
/// # Examples
///
/// ```
/// use std::sync::mpsc;
/// use gust_context::{AfterFuncHandle, Context};
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let (tx, rx) = mpsc::channel();
/// let handle: AfterFuncHandle = ctx.after_func(move || tx.send("called").unwrap());
/// assert!(rx.try_recv().is_err()); // not before the context ends
/// cancel.cancel();
/// assert_eq!(rx.recv().unwrap(), "called"); // in a thread of its own
/// assert!(!handle.stop()); // it was started: too late to stop
/// ```
pub struct AfterFuncHandle {
    /// The node `f` is registered with; `None` when it never was.
    node: Option<Arc<CancelNode>>,
    /// `f`'s key in the node's registry.
    key: usize,
    /// Set by the first `stop` (or when `f` already ran at registration), so
    /// the key is asked about once (tree.rs invariant #4).
    stopped: AtomicBool,
}

impl AfterFuncHandle {
    /// Unregisters the function: `true` if this call stopped it from ever
    /// running, `false` if it already ran (or started), or was stopped
    /// before (Go's `stop func() bool`).
    ///
    /// ```
    /// let (ctx, cancel) = gust_context::Context::background().with_cancel();
    /// let handle = ctx.after_func(|| unreachable!());
    /// assert!(handle.stop());
    /// assert!(!handle.stop());
    /// cancel.cancel(); // the function does not run
    /// ```
    pub fn stop(&self) -> bool {
        if self.stopped.swap(true, Ordering::Relaxed) {
            return false;
        }
        match &self.node {
            Some(node) => node.unregister_after_func(self.key),
            None => true,
        }
    }
}

impl fmt::Debug for AfterFuncHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFuncHandle").finish_non_exhaustive()
    }
}

/// The future returned by [`Context::done`].
///
/// # Examples
///
/// ```
/// use gust_context::Context;
///
/// let (ctx, cancel) = Context::background().with_cancel();
/// let waiter = {
///     let ctx = ctx.clone();
///     std::thread::spawn(move || futures::executor::block_on(ctx.done()))
/// };
/// cancel.cancel();
/// waiter.join().unwrap();
/// assert!(ctx.is_done());
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Done<'a> {
    /// `None`: the context never ends.
    node: Option<&'a CancelNode>,
    /// This waiter's key in the node's waiters, from its first pending poll
    /// until it is woken ready or dropped (tree.rs "Wake protocol").
    key: Option<usize>,
}

impl Future for Done<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let Some(node) = this.node else {
            gust_trace::record(gust_trace::Wait::Context { deadline: false });
            return Poll::Pending;
        };
        // A first poll may find the context ended: it takes from the gust
        // task poll's budget of ready waits, so a loop on an ended context
        // lets the worker's other tasks run.
        if this.key.is_none() && gust_trace::yield_for_budget(cx) {
            return Poll::Pending;
        }
        match node.poll_done(&mut this.key, cx.waker()) {
            Poll::Ready(()) => {
                this.key = None; // tree.rs invariant #7: nothing to remove
                Poll::Ready(())
            }
            Poll::Pending => {
                gust_trace::record(wait_reason(node));
                Poll::Pending
            }
        }
    }
}

impl Drop for Done<'_> {
    /// A waiter dropped while pending takes its waker out of the node, so a
    /// long-lived context polled in a loop (`select!` on `done()`) does not
    /// grow.
    fn drop(&mut self) {
        if let (Some(node), Some(key)) = (self.node, self.key.take()) {
            node.forget_done(key);
        }
    }
}

/// What a pending `done()` on `node` waits on: `Context.done`, durable
/// unless a deadline on the chain ends the context by itself.
fn wait_reason(node: &CancelNode) -> gust_trace::Wait {
    gust_trace::Wait::Context {
        deadline: node.deadline().is_some(),
    }
}

impl fmt::Debug for Done<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done").finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`Context::run`].
    ///
    /// Pending, it records one wait reason for the whole (gust-trace): the
    /// inner future's when both it and the context's wait are durable; the
    /// non-durable one when either is not (a sleep inside); and nothing when the inner future records nothing (a
    /// future gust cannot see into, so the task must not look durably
    /// blocked).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use gust_context::{Context, ContextError};
    ///
    /// gust_executor::block_on(async {
    ///     let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(5));
    ///     let never = std::future::pending::<()>();
    ///     assert_eq!(ctx.run(never).await, Err(ContextError::DeadlineExceeded));
    /// });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Run<'a, F> {
        #[pin]
        fut: F,
        done: Done<'a>,
    }
}

impl<F: Future> Future for Run<'_, F> {
    type Output = Result<F::Output, ContextError>;

    fn poll(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The context first: once it has ended, `fut` is not polled again.
        // Each side is polled under `observe`, so that the reason recorded
        // is the whole's, decided below (crate docs of gust-trace).
        // With no budget: a `done` that yielded would let `fut` run on an
        // ended context.
        let (done, on_done) =
            gust_trace::observe(|| gust_trace::unbudgeted(|| Pin::new(&mut *this.done).poll(cx)));
        if done.is_ready() {
            let err = this.done.node.and_then(CancelNode::err);
            return Poll::Ready(Err(err.unwrap_or(ContextError::Canceled)));
        }
        let (out, on_fut) = gust_trace::observe(|| this.fut.poll(cx));
        if out.is_pending() {
            if let Some(wait) = run_reason(on_done, on_fut) {
                gust_trace::record(wait);
            }
        }
        out.map(Ok)
    }
}

/// The reason of a pending [`Run`], from what its two sides recorded:
/// `None` (record nothing) when the inner future recorded nothing; else the
/// inner future's reason, unless it is durable and the context's is not.
fn run_reason(
    on_done: Option<gust_trace::Wait>,
    on_fut: Option<gust_trace::Wait>,
) -> Option<gust_trace::Wait> {
    match (on_done, on_fut?) {
        (Some(done), fut) if fut.is_durable() && !done.is_durable() => Some(done),
        (_, fut) => Some(fut),
    }
}

impl<F> fmt::Debug for Run<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Run").finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn auto_traits() {
        assert_send_sync::<Context>();
        assert_send_sync::<CancelFunc>();
        assert_send_sync::<AfterFuncHandle>();
        assert_send::<Done<'static>>();
        assert_send::<Run<'static, std::future::Ready<()>>>();
    }

    fn registry_len(ctx: &Context) -> usize {
        ctx.node.as_ref().unwrap().registry_len()
    }

    /// Go's TestCancelRemoves, on the registry itself.
    #[test]
    fn cancel_removes_child() {
        let (ctx, _cancel) = Context::background().with_cancel();
        assert_eq!(registry_len(&ctx), 0);
        let (_child, cancel) = ctx.with_cancel();
        assert_eq!(registry_len(&ctx), 1);
        cancel.cancel();
        assert_eq!(registry_len(&ctx), 0);

        let f = ctx.after_func(|| {});
        assert_eq!(registry_len(&ctx), 1);
        assert!(f.stop());
        assert_eq!(registry_len(&ctx), 0);

        // Values share the node; their children register with it.
        let v = ctx.with_value(1u8);
        let (_child, cancel) = v.with_cancel();
        assert_eq!(registry_len(&ctx), 1);
        drop(cancel);
        assert_eq!(registry_len(&ctx), 0);
    }

    #[test]
    fn many_children_registry_shrinks() {
        let (ctx, _cancel) = Context::background().with_cancel();
        let n = if cfg!(miri) { 100 } else { 10_000 };
        let children: Vec<_> = (0..n).map(|_| ctx.with_cancel()).collect();
        assert_eq!(registry_len(&ctx), n);
        drop(children);
        assert_eq!(registry_len(&ctx), 0);
        let cap = lock_cap(&ctx);
        assert!(cap <= 64, "registry kept capacity {cap}");
    }

    fn lock_cap(ctx: &Context) -> usize {
        ctx.node.as_ref().unwrap().registry_capacity()
    }

    fn waiters(ctx: &Context) -> (usize, usize) {
        ctx.node.as_ref().unwrap().waiters_len_and_capacity()
    }

    /// A waker that counts its wake-ups.
    struct CountingWaker(std::sync::atomic::AtomicUsize);

    impl task::Wake for CountingWaker {
        fn wake(self: StdArc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (StdArc<CountingWaker>, task::Waker) {
        let count = StdArc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
        (count.clone(), task::Waker::from(count))
    }

    /// A `done()` dropped while pending takes its waker out of the node, and
    /// a long-lived context's waiter slab gives its memory back once empty
    /// (the `select!` on `done()` in a loop).
    #[test]
    fn dropped_done_leaves_no_waiter() {
        let (ctx, _cancel) = Context::background().with_cancel();
        let waker = futures::task::noop_waker();
        let mut cx = task::Context::from_waker(&waker);
        let n = if cfg!(miri) { 100 } else { 10_000 };
        let mut pending: Vec<_> = (0..n).map(|_| Box::pin(ctx.done())).collect();
        for done in &mut pending {
            assert!(done.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(waiters(&ctx).0, n);
        drop(pending);
        let (len, cap) = waiters(&ctx);
        assert_eq!(len, 0);
        assert!(cap <= 64, "the waiter slab kept capacity {cap}");
        // A waiter that never was pending registers nothing.
        drop(ctx.done());
        assert_eq!(waiters(&ctx).0, 0);
    }

    /// Polled again with another waker, a pending `done()` is woken through
    /// the new one only, once.
    #[test]
    fn done_wakes_the_latest_waker() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (first, first_waker) = counting_waker();
        let (second, second_waker) = counting_waker();
        let mut done = Box::pin(ctx.done());
        let poll = |done: &mut Pin<Box<Done<'_>>>, w: &task::Waker| {
            done.as_mut().poll(&mut task::Context::from_waker(w))
        };
        assert!(poll(&mut done, &first_waker).is_pending());
        assert!(poll(&mut done, &second_waker).is_pending());
        assert_eq!(waiters(&ctx).0, 1, "a re-poll registers once");
        cancel.cancel();
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
        assert!(poll(&mut done, &second_waker).is_ready());
        assert_eq!(waiters(&ctx).0, 0, "the end took the waiters");
    }

    /// A pending `done()` dropped after the end, unpolled, and another
    /// polled after it: nothing is touched twice.
    #[test]
    fn done_dropped_after_the_end() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (woken, waker) = counting_waker();
        let mut cx = task::Context::from_waker(&waker);
        let mut a = Box::pin(ctx.done());
        let mut b = Box::pin(ctx.done());
        assert!(a.as_mut().poll(&mut cx).is_pending());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        drop(cancel);
        assert_eq!(woken.0.load(Ordering::SeqCst), 2);
        drop(a);
        assert!(b.as_mut().poll(&mut cx).is_ready());
        drop(b);
        assert_eq!(waiters(&ctx).0, 0);
        // A fresh waiter on the ended context is ready at once.
        assert!(Box::pin(ctx.done()).as_mut().poll(&mut cx).is_ready());
    }

    /// Waiters on threads, half of them dropped while pending, race the
    /// cancel: every waiter that stays wakes, none is left registered.
    #[test]
    fn threads_done_dropped_vs_cancel() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let (ctx, cancel) = Context::background().with_cancel();
            let threads: Vec<_> = (0..4)
                .map(|i| {
                    let ctx = ctx.clone();
                    std::thread::spawn(move || {
                        if i % 2 == 0 {
                            ctx.done_blocking();
                        } else {
                            let waker = futures::task::noop_waker();
                            let mut done = Box::pin(ctx.done());
                            let _ = done.as_mut().poll(&mut task::Context::from_waker(&waker));
                        }
                    })
                })
                .collect();
            cancel.cancel();
            for t in threads {
                t.join().unwrap();
            }
            assert_eq!(waiters(&ctx).0, 0);
        }
    }

    /// Children created on two threads while a third cancels the parent:
    /// every child ends, and the parent keeps no entry (tree.rs #2, #3).
    #[test]
    fn threads_cancel_vs_create() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let (parent, cancel) = Context::background().with_cancel();
            let creators: Vec<_> = (0..2)
                .map(|_| {
                    let parent = parent.clone();
                    std::thread::spawn(move || {
                        (0..5).map(|_| parent.with_cancel()).collect::<Vec<_>>()
                    })
                })
                .collect();
            let waiter = {
                let parent = parent.clone();
                std::thread::spawn(move || futures::executor::block_on(parent.done()))
            };
            cancel.cancel_with_cause("stop");
            for c in creators {
                for (child, _cancel) in c.join().unwrap() {
                    assert_eq!(child.err(), Some(ContextError::Canceled));
                    assert_eq!(child.cause().unwrap().to_string(), "stop");
                }
            }
            waiter.join().unwrap();
            assert_eq!(registry_len(&parent), 0);
        }
    }

    /// Leaves end themselves (lock-free) and are freed at once on other
    /// threads while the parent's cancel takes them from its registry
    /// (tree.rs invariant #6; under Miri, a use after free would be caught).
    #[test]
    fn threads_leaf_cancel_and_free_vs_parent_cancel() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let (parent, cancel) = Context::background().with_cancel();
            let enders: Vec<_> = (0..2)
                .map(|_| {
                    let children: Vec<_> = (0..5).map(|_| parent.with_cancel()).collect();
                    std::thread::spawn(move || {
                        for (child, cancel) in children {
                            cancel.cancel();
                            assert!(child.is_done());
                        }
                    })
                })
                .collect();
            cancel.cancel();
            for t in enders {
                t.join().unwrap();
            }
            assert_eq!(registry_len(&parent), 0);
        }
    }

    /// `stop` racing the cancel: the function runs exactly when `stop` lost.
    /// (It runs on the blocking pool, perhaps after `cancel` returned: a
    /// lost `stop` waits for it; a won one proves it can never run.)
    #[test]
    fn after_func_stop_vs_cancel() {
        let rounds = if cfg!(miri) { 3 } else { 200 };
        for _ in 0..rounds {
            let (ctx, cancel) = Context::background().with_cancel();
            let (ran, runs) = std::sync::mpsc::channel();
            let handle = ctx.after_func(move || ran.send(()).unwrap());
            let t = std::thread::spawn(move || cancel.cancel());
            let stopped = handle.stop();
            t.join().unwrap();
            let limit = std::time::Duration::from_secs(10);
            let gone = |r| matches!(r, Err(std::sync::mpsc::RecvTimeoutError::Disconnected));
            if !stopped {
                runs.recv_timeout(limit)
                    .expect("the function runs when stop lost");
            }
            // Either way it is gone now (dropped unrun, or run once), and
            // the sender with it.
            assert!(
                gone(runs.recv_timeout(limit)),
                "stopped yet ran, or ran twice"
            );
        }
    }

    #[test]
    fn deep_value_chain_drops_without_overflow() {
        let n = if cfg!(miri) { 1_000 } else { 200_000 };
        let mut ctx = Context::background();
        for i in 0..n {
            ctx = ctx.with_value(i);
        }
        assert_eq!(ctx.value::<i32>(), Some(&(n - 1)));
        let keep = ctx.clone();
        drop(ctx);
        assert_eq!(keep.value::<i32>(), Some(&(n - 1)));
        drop(keep);
    }

    #[test]
    fn deep_chain_drops_without_overflow() {
        let n = if cfg!(miri) { 1_000 } else { 200_000 };
        let (mut ctx, first) = Context::background().with_cancel();
        let mut cancels = vec![first];
        for _ in 0..n {
            let (c, cancel) = ctx.with_cancel();
            ctx = c;
            cancels.push(cancel);
        }
        cancels[0].cancel();
        assert!(ctx.is_done());
        drop(cancels);
        drop(ctx);
    }
}
