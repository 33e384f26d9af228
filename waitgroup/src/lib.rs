//! `WaitGroup`: Go's `sync.WaitGroup` for async Rust.
//!
//! A `WaitGroup` counts outstanding work. [`WaitGroup::add`] raises the
//! counter, [`WaitGroup::done`] lowers it by one, and [`WaitGroup::wait`] is a
//! future that completes once the counter is zero. Clones share one counter.
//!
//! ```
//! use gust_waitgroup::WaitGroup;
//!
//! let wg = WaitGroup::new();
//! for i in 0..4 {
//!     wg.add(1);
//!     let wg = wg.clone();
//!     std::thread::spawn(move || {
//!         let _ = i * 2; // work
//!         wg.done();
//!     });
//! }
//! wg.wait_blocking(); // or `wg.wait().await` in async code
//! assert_eq!(wg.count(), 0);
//! ```
//!
//! # Design
//!
//! The whole group is one `AtomicU64` (counter | generation | waiters flag,
//! see `state.rs` for the bit layout and its invariants) plus an
//! [`event_listener::Event`] that waiters sleep on. The two sides of the wake
//! protocol:
//!
//! * **the waiter** creates an event listener, *then* registers in the state
//!   word (sets the waiters flag and reads the generation, or sees the counter
//!   at zero and returns), then sleeps on the listener. When woken it checks
//!   that the generation moved on; if not (a wake-up meant for an earlier
//!   generation) it registers again.
//! * **the last `done`** stores counter 0, bumps the generation and clears the
//!   flag in one compare-and-swap, and then notifies *every* listener. When
//!   no waiter had registered it skips the notification: a `done` that does
//!   not end the count, or ends it with nobody waiting, is one uncontended RMW.
//!
//! Because the listener exists before the registration, a notification cannot
//! slip between the two. Because every listener is notified (not one), a
//! dropped `wait` future never swallows a wake-up that another waiter needed,
//! so there is no baton to pass on drop.
//!
//! A `wait` that returns `Pending` records [`gust_trace::Wait::WaitGroup`]
//! (a durable wait) as its task's reason, for gust's goroutine dump and
//! deadlock detector; the fast path (counter already zero) records nothing.
//!
//! # Happens-before
//!
//! Everything a task did before its `done()` happens before `wait()` returns
//! (or `wait_blocking()`), as in Go. `add` publishes nothing.
//!
//! # Rejected alternatives
//!
//! * Go's `counter | waiter count`: a cancelled (dropped) `wait` future would
//!   have to take itself out of the count, racing with the zero-transition;
//!   the flag-plus-generation word needs no cleanup.
//! * A `Mutex<usize>` + `Condvar`: a lock round trip on every `done`, and no
//!   async waiting.

mod state;
mod sync;

#[cfg(all(test, loom))]
mod loom_tests;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use event_listener::{Event, EventListener, Listener};

use crate::state::{State, TransitionToDone, TransitionToWaiting};
use crate::sync::Arc;

/// A counter of outstanding work that can be waited on, like Go's
/// `sync.WaitGroup`.
///
/// Clones share one counter. `WaitGroup` is `Send + Sync`, and its
/// [`wait`](WaitGroup::wait) future is `Send`, so it can be used from any task,
/// on any executor, or from plain threads through
/// [`wait_blocking`](WaitGroup::wait_blocking).
///
/// Unlike Go, the group may be reused (`add` again) while waiters of the
/// previous round are still waking up: they return, and waiters that start
/// after the `add` wait for the next zero.
///
/// ```
/// # futures::executor::block_on(async {
/// use gust_waitgroup::WaitGroup;
///
/// let wg = WaitGroup::new();
/// wg.add(2);
/// wg.done();
/// assert_eq!(wg.count(), 1);
/// wg.done();
/// wg.wait().await; // returns at once: the counter is zero
/// # });
/// ```
#[derive(Clone)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

/// The shared part of a `WaitGroup`. Both fields are touched by every handle,
/// without a lock: `state` only through its RMW transitions, `event` through
/// its own lock.
struct Inner {
    /// Counter, generation and waiters flag (see `state.rs`).
    state: State,
    /// Waiters sleep here; the zero-transition notifies all of them.
    event: Event,
}

impl WaitGroup {
    /// Creates a group with a zero counter.
    ///
    /// ```
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn new() -> Self {
        WaitGroup {
            inner: Arc::new(Inner {
                state: State::new(),
                event: Event::new(),
            }),
        }
    }

    /// Adds `delta` to the counter (Go's `Add`): any primitive integer, so
    /// `wg.add(3)`, `wg.add(items.len())` and `wg.add(-1)` all read as in
    /// Go. A negative delta counts down in one step, as Go's: the counter
    /// reaching zero releases every waiter.
    ///
    /// Call `add` before starting the work it counts, not inside it, or a
    /// waiter may see zero before the work began.
    ///
    /// # Panics
    ///
    /// If the counter would exceed `u32::MAX`, or go below zero: "negative
    /// WaitGroup counter", as Go's. Either way the counter is left unchanged
    /// (Go's is left broken).
    ///
    /// ```
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// wg.add(3);
    /// wg.add(-1);
    /// assert_eq!(wg.count(), 2);
    /// ```
    pub fn add(&self, delta: impl Delta) {
        let d = delta.to_i128();
        if d < 0 {
            // One transition, as Go's one atomic add. A delta past u32::MAX
            // is larger than any counter: refused like any other.
            let transition = match u32::try_from(d.unsigned_abs()) {
                Ok(n) => self.inner.state.sub(n),
                Err(_) => TransitionToDone::Negative,
            };
            if let TransitionToDone::Negative = transition {
                panic!(
                    "sync: negative WaitGroup counter: add({d}) on a counter of {}",
                    self.count()
                );
            }
            self.release_if(transition);
            return;
        }
        if d == 0 {
            return;
        }
        let ok = u32::try_from(d).is_ok_and(|n| self.inner.state.add(n));
        if !ok {
            panic!(
                "gust: WaitGroup counter overflow: add({d}) on a counter of {} (the limit is {})",
                self.count(),
                u32::MAX
            );
        }
    }

    /// Subtracts one from the counter; when it reaches zero every waiter is
    /// released.
    ///
    /// # Panics
    ///
    /// With "negative WaitGroup counter" in the message if the counter is
    /// already zero (more `done` calls than `add`ed); the counter stays zero.
    ///
    /// ```
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// assert_eq!(wg.count(), 0);
    /// ```
    pub fn done(&self) {
        let transition = self.inner.state.done();
        if let TransitionToDone::Negative = transition {
            panic!("sync: negative WaitGroup counter (done() called more often than add())")
        }
        self.release_if(transition);
    }

    /// Notifies every listener if `transition` took the counter to zero with
    /// waiters registered (invariant #3 of the state word).
    fn release_if(&self, transition: TransitionToDone) {
        if let TransitionToDone::ReleaseWaiters = transition {
            self.inner.event.notify(usize::MAX);
        }
    }

    /// The current counter value (a snapshot; other threads may change it).
    ///
    /// ```
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// wg.add(2);
    /// assert_eq!(wg.count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.inner.state.load().counter() as usize
    }

    /// Waits until the counter is zero.
    ///
    /// Any number of tasks may wait at once; all are released by the `done`
    /// that reaches zero. Returns at once if the counter is zero already.
    /// Usable as a `select!` case.
    ///
    /// # Cancellation safety
    ///
    /// Cancel-safe: dropping the future unregisters nothing and loses no
    /// wake-up for other waiters (each waiter is notified on its own).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// wg.add(1);
    /// let wg2 = wg.clone();
    /// std::thread::spawn(move || wg2.done());
    /// wg.wait().await;
    /// assert_eq!(wg.count(), 0);
    /// # });
    /// ```
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            inner: &self.inner,
            waiting: None,
        }
    }

    /// Runs `fut` in a new task on the gust executor, counted by this group
    /// (Go 1.25's `WaitGroup.Go`): `add(1)` now, `done()` when the task ends,
    /// however it ends (returns, panics, is aborted, or is dropped by a
    /// runtime shutdown). Returns the task's `JoinHandle`; dropping it
    /// detaches the task.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// let hits = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..10 {
    ///     let hits = hits.clone();
    ///     wg.go(async move {
    ///         hits.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// }
    /// wg.wait_blocking();
    /// assert_eq!(hits.load(Ordering::Relaxed), 10);
    /// ```
    #[cfg(not(loom))]
    #[track_caller]
    pub fn go<F>(&self, fut: F) -> gust_executor::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.add(1);
        // Made before the task, so that `done` runs even if `spawn` panics
        // or the task is dropped without being polled.
        let guard = DoneGuard(self.clone());
        gust_executor::spawn(async move {
            let _guard = guard;
            fut.await
        })
    }

    /// Blocks the current thread until the counter is zero. For threads, not
    /// for async code (it would block the executor's worker).
    ///
    /// ```
    /// let wg = gust_waitgroup::WaitGroup::new();
    /// wg.add(1);
    /// let wg2 = wg.clone();
    /// std::thread::spawn(move || wg2.done());
    /// wg.wait_blocking();
    /// ```
    pub fn wait_blocking(&self) {
        let inner = &*self.inner;
        // On a runtime's worker (a task blocking): its queued tasks go to
        // the others first (gust-trace's `leave_worker`).
        let mut _left = None;
        loop {
            let Some((generation, listener)) = inner.register() else {
                return;
            };
            _left.get_or_insert_with(gust_trace::leave_worker);
            listener.wait();
            if inner.state.is_released(generation) {
                return;
            }
        }
    }
}

impl Inner {
    /// The waiter's side of the protocol: listener first, then registration
    /// (invariant #3 in `state.rs`). `None` when the counter is zero.
    fn register(&self) -> Option<(u64, EventListener)> {
        // Fast path: no listener allocation when there is nothing to wait for.
        if self.state.load().counter() == 0 {
            return None;
        }
        let listener = self.event.listen();
        match self.state.register() {
            TransitionToWaiting::Complete => None,
            TransitionToWaiting::Registered(generation) => Some((generation, listener)),
        }
    }
}

/// Calls `done` on drop: the end of a task started by [`WaitGroup::go`].
#[cfg(not(loom))]
struct DoneGuard(WaitGroup);

#[cfg(not(loom))]
impl Drop for DoneGuard {
    fn drop(&mut self) {
        self.0.done();
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        WaitGroup::new()
    }
}

/// A [`WaitGroup::add`] delta: any primitive integer (Go's `Add(delta
/// int)`; negative counts down). Sealed.
///
/// # Examples
///
/// ```
/// let wg = gust_waitgroup::WaitGroup::new();
/// let jobs = vec!["a", "b", "c"];
/// wg.add(jobs.len()); // a usize
/// wg.add(-2); // an i32 literal
/// wg.add(1u8);
/// assert_eq!(wg.count(), 2);
/// ```
pub trait Delta: sealed::Sealed + Copy {
    /// The delta, widened.
    #[doc(hidden)]
    fn to_i128(self) -> i128;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! delta {
    ($($t:ty)*) => {$(
        impl sealed::Sealed for $t {}
        impl Delta for $t {
            #[inline]
            fn to_i128(self) -> i128 {
                // Lossless: every primitive integer but u128/i128 fits, and
                // those two are not implemented.
                self as i128
            }
        }
    )*};
}

delta!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize);

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// The future returned by [`WaitGroup::wait`].
///
/// # Examples
///
/// ```
/// let wg = gust_waitgroup::WaitGroup::new();
/// wg.add(1);
/// let worker = {
///     let wg = wg.clone();
///     std::thread::spawn(move || wg.done())
/// };
/// let wait: gust_waitgroup::Wait<'_> = wg.wait();
/// futures::executor::block_on(wait);
/// assert_eq!(wg.count(), 0);
/// worker.join().unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Wait<'a> {
    inner: &'a Inner,
    /// The generation registered in and the listener, once registered.
    waiting: Option<(u64, EventListener)>,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        // A first poll may find the counter at zero: it takes from the gust
        // task poll's budget of ready waits, so a loop on a group at zero
        // lets the worker's other tasks run.
        if this.waiting.is_none() && gust_trace::yield_for_budget(cx) {
            return Poll::Pending;
        }
        loop {
            if let Some((generation, listener)) = &mut this.waiting {
                // The listener keeps the waker for this wait: its own.
                if gust_trace::owning(|| Pin::new(&mut *listener).poll(cx)).is_pending() {
                    gust_trace::record(gust_trace::Wait::WaitGroup);
                    return Poll::Pending;
                }
                let generation = *generation;
                this.waiting = None;
                if this.inner.state.is_released(generation) {
                    return Poll::Ready(());
                }
                // Woken for an earlier generation: register again.
            }
            match this.inner.register() {
                None => return Poll::Ready(()),
                Some(waiting) => this.waiting = Some(waiting),
            }
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("registered", &self.waiting.is_some())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}
    fn assert_send<T: Send>() {}

    #[test]
    fn auto_traits() {
        assert_send_sync::<WaitGroup>();
        assert_send::<Wait<'static>>();
    }

    #[test]
    fn generation_wraps_and_releases() {
        let wg = WaitGroup::new();
        for _ in 0..100 {
            wg.add(1);
            let inner = wg.inner.register();
            assert!(inner.is_some());
            wg.done();
            let (generation, _listener) = inner.unwrap();
            assert!(wg.inner.state.is_released(generation));
        }
    }

    #[test]
    fn overflow_leaves_counter() {
        let wg = WaitGroup::new();
        wg.add(u32::MAX as usize);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.add(1)));
        assert!(r.is_err());
        assert_eq!(wg.count(), u32::MAX as usize);
    }

    #[test]
    fn negative_leaves_counter() {
        let wg = WaitGroup::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wg.done()));
        assert!(r.is_err());
        assert_eq!(wg.count(), 0);
        wg.add(1);
        wg.done();
    }

    #[test]
    fn threads_fan_in() {
        let wg = WaitGroup::new();
        let n = if cfg!(miri) { 4 } else { 16 };
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..3 {
            wg.add(n);
            for _ in 0..n {
                let wg = wg.clone();
                let hits = hits.clone();
                std::thread::spawn(move || {
                    hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait_blocking();
        }
        assert_eq!(hits.load(std::sync::atomic::Ordering::Relaxed), 3 * n);
    }
}
