//! [`Semaphore`]: Go's `x/sync/semaphore.Weighted`, a weighted FIFO
//! semaphore.
//!
//! # Design
//!
//! One mutex guards the count of available permits and the queue of
//! waiters, in arrival order (a `BTreeMap` keyed by a ticket, so a cancelled
//! waiter leaves from the middle in O(log n)). `async-lock`'s semaphore is
//! not used: it is not weighted, and DESIGN.md asks for `x/sync`'s rule.
//!
//! - **Acquire `k`**: granted at once only if nobody waits and `k` permits
//!   are free (a newcomer never overtakes the queue); else it queues.
//! - **Release** (a permit dropped): the permits go back, then waiters are
//!   granted from the head of the queue while the head's request fits. A
//!   head that does not fit blocks everyone behind it, as in `x/sync`: under
//!   load, granting smaller requests behind it could starve a large one
//!   forever.
//! - **Cancel** (a pending `acquire` dropped): a waiter already granted
//!   gives its permits back (and the queue is served again); one still
//!   waiting leaves the queue, and if it was the head the queue is served
//!   again, since the new head may fit.
//! - **Close** (tokio's): every waiting request fails, and so does every
//!   later `acquire`; permits granted or held before stay valid and go
//!   back as usual.
//! - **Forget** (a permit kept for good): the capacity drops by its count.
//!   A queued request above the new capacity can never be met: it is
//!   refused (its `acquire` returns the error a request above the capacity
//!   gets at once), so it does not hold up the queue behind it.
//!
//! Wakers are woken after the lock is released.
//!
//! A pending `acquire` records `Lock::Semaphore` as its task's wait reason
//! (gust-trace), for the task dump and the deadlock detector.
//!
//! # Invariants
//!
//! 1. `available <= capacity`; permits held by granted waiters and live
//!    [`SemaphorePermit`]s plus `available` add up to `capacity`.
//! 2. A waiter is granted at most once, and only from the head of the
//!    waiting (neither granted nor refused) waiters, in ticket order.
//! 3. A waiter stays in the queue until its future takes the grant or the
//!    refusal, or is dropped; the queue never holds a waiter whose future
//!    is gone.
//! 4. No waiting waiter needs more than `capacity` (a request above it is
//!    refused before it queues, and `forget` refuses the ones it leaves
//!    above it).
//! 5. Once `closed` is set it stays set, and no waiter is waiting: `close`
//!    turns every waiting one to `Closed` (granted ones keep their grant,
//!    invariant #1), and no request is granted at once or queued after it.
//!    So `grant` and `refuse_above_capacity` find nobody to serve, and the
//!    permits that come back only add up (#1).

#[cfg(loom)]
use loom::sync::{Mutex, MutexGuard};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
#[cfg(not(loom))]
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A weighted semaphore with FIFO acquisition (Go's `x/sync/semaphore`):
/// [`acquire(k)`](Semaphore::acquire) waits until `k` permits are free and
/// every earlier request has been served; dropping the
/// [`SemaphorePermit`] gives them back. A request for more permits than the
/// semaphore has fails at once with [`AcquireError`] instead of waiting
/// forever.
///
/// ```
/// use std::sync::Arc;
/// use gust_sync::Semaphore;
/// gust_executor::block_on(async {
///     let sem = Arc::new(Semaphore::new(3)); // at most 3 units of work at once
///     let jobs: Vec<_> = (1..=3)
///         .map(|weight| {
///             let sem = sem.clone();
///             gust_executor::spawn(async move {
///                 let _permit = sem.acquire(weight).await.unwrap();
///                 weight * 10
///             })
///         })
///         .collect();
///     let mut sum = 0;
///     for j in jobs {
///         sum += j.await.unwrap();
///     }
///     assert_eq!(sum, 60);
///     assert_eq!(sem.available(), 3);
///     assert!(sem.acquire(4).await.is_err()); // more than it has: an error, not a hang
/// });
/// ```
pub struct Semaphore {
    state: Mutex<State>,
}

struct State {
    /// The permits made with, less those forgotten.
    capacity: usize,
    available: usize,
    /// How many of `waiters` are `Grant::Waiting`: a newcomer may take
    /// free permits at once only when this is zero (granted or refused
    /// waiters that have not yet seen it are no queue to respect).
    waiting: usize,
    next_ticket: u64,
    /// Set by `close`, never cleared (invariant #5).
    closed: bool,
    /// Queued acquires in arrival order (invariants #2, #3).
    waiters: BTreeMap<u64, Waiter>,
}

struct Waiter {
    need: usize,
    grant: Grant,
    waker: Option<Waker>,
}

/// Where a queued request stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    /// In the queue (invariant #2).
    Waiting,
    /// Its permits are set aside for it.
    Granted,
    /// Above the capacity after a `forget` (invariant #4): it fails.
    Refused,
    /// Still waiting when the semaphore was closed (invariant #5): it fails.
    Closed,
}

/// Permits held from a [`Semaphore`]; dropping it releases them.
///
/// # Examples
///
/// ```
/// let sem = gust_sync::Semaphore::new(3);
/// gust_executor::block_on(async {
///     let permit = sem.acquire(2).await.unwrap();
///     assert_eq!(permit.count(), 2);
///     assert_eq!(sem.available(), 1);
///     drop(permit); // both go back
///     assert_eq!(sem.available(), 3);
/// });
/// ```
#[must_use = "the permits are released at once if the permit is not kept"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    count: usize,
}

/// Permits held from a [`Semaphore`] in an `Arc`, owning a reference to it
/// ([`Semaphore::acquire_owned`]): `'static`, so it moves into a spawned
/// task, as Go code acquires in a loop and releases in the goroutine.
/// Dropping it releases them.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(gust_sync::Semaphore::new(2));
/// let permit = sem.try_acquire_owned(2).unwrap();
/// let t = std::thread::spawn(move || drop(permit)); // released there
/// t.join().unwrap();
/// assert_eq!(sem.available(), 2);
/// ```
#[must_use = "the permits are released at once if the permit is not kept"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    count: usize,
}

/// [`Semaphore::acquire`] asked for more permits than the semaphore has,
/// or the semaphore was [closed](Semaphore::close).
///
/// # Examples
///
/// ```
/// let sem = gust_sync::Semaphore::new(2);
/// let err = gust_executor::block_on(sem.acquire(3)).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "semaphore: acquiring 3 permits from a semaphore of 2"
/// );
/// assert_eq!(sem.acquire_blocking(3).unwrap_err(), err);
/// assert_eq!(sem.available(), 2); // a failed acquire takes nothing
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError {
    requested: usize,
    capacity: usize,
    closed: bool,
}

impl AcquireError {
    /// Whether the request failed because the semaphore was closed (else:
    /// it asked for more permits than the semaphore has).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(1);
    /// assert!(!sem.acquire_blocking(2).unwrap_err().is_closed());
    /// sem.close();
    /// assert!(sem.acquire_blocking(1).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.closed {
            return write!(
                f,
                "semaphore: acquiring {} permits from a closed semaphore",
                self.requested
            );
        }
        write!(
            f,
            "semaphore: acquiring {} permits from a semaphore of {}",
            self.requested, self.capacity
        )
    }
}

impl std::error::Error for AcquireError {}

impl Semaphore {
    /// A semaphore of `permits` permits, all free.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(2);
    /// assert_eq!(sem.available(), 2);
    /// ```
    #[cfg(not(loom))]
    pub const fn new(permits: usize) -> Self {
        Self {
            state: Mutex::new(State::new(permits)),
        }
    }

    /// [`new`](Self::new) under loom, whose mutex is not `const`.
    #[cfg(loom)]
    pub fn new(permits: usize) -> Self {
        Self {
            state: Mutex::new(State::new(permits)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under the lock; a poisoned one is still sound.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for `k` permits (Go's `Acquire`): FIFO, so a large request at
    /// the head is not overtaken by smaller ones behind it. `Err` at once if
    /// `k` exceeds the semaphore's capacity. Cancel-safe: a dropped
    /// `acquire` holds nothing, and permits granted to it just before go
    /// back to the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(4);
    /// gust_executor::block_on(async {
    ///     let p = sem.acquire(3).await.unwrap();
    ///     assert_eq!(sem.available(), 1);
    ///     drop(p);
    ///     assert_eq!(sem.available(), 4);
    /// });
    /// ```
    pub fn acquire(&self, k: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            need: k,
            ticket: None,
        }
    }

    /// [`acquire`](Self::acquire), blocking this thread.
    ///
    /// # Errors
    ///
    /// [`AcquireError`] if `k` exceeds the capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(1);
    /// let p = sem.acquire_blocking(1).unwrap();
    /// assert!(sem.try_acquire(1).is_none());
    /// drop(p);
    /// ```
    pub fn acquire_blocking(&self, k: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        gust_trace::block_on_thread(self.acquire(k))
    }

    /// Takes `k` permits if they are free now and nobody waits (Go's
    /// `TryAcquire`); `None` otherwise (also if `k` exceeds the capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(2);
    /// let a = sem.try_acquire(2).unwrap();
    /// assert!(sem.try_acquire(1).is_none());
    /// drop(a);
    /// assert!(sem.try_acquire(1).is_some());
    /// ```
    pub fn try_acquire(&self, k: usize) -> Option<SemaphorePermit<'_>> {
        // `then`, not `then_some`: a permit made when none was taken would
        // release `k` permits as it drops.
        self.try_take(k).then(|| SemaphorePermit {
            sem: self,
            count: k,
        })
    }

    /// [`acquire`](Self::acquire) for a semaphore in an `Arc`: the permit
    /// owns a reference to it, so it may move into a spawned task.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(gust_sync::Semaphore::new(2));
    /// gust_executor::block_on(async {
    ///     let mut tasks = Vec::new();
    ///     for i in 0..4 {
    ///         let permit = sem.acquire_owned(1).await.unwrap(); // waits while 2 run
    ///         tasks.push(gust_executor::spawn(async move {
    ///             let _permit = permit; // released when the task ends
    ///             i * 2
    ///         }));
    ///     }
    ///     let mut sum = 0;
    ///     for t in tasks {
    ///         sum += t.await.unwrap();
    ///     }
    ///     assert_eq!(sum, 12);
    /// });
    /// ```
    pub fn acquire_owned(self: &Arc<Self>, k: usize) -> AcquireOwned {
        AcquireOwned {
            sem: self.clone(),
            need: k,
            ticket: None,
        }
    }

    /// [`try_acquire`](Self::try_acquire) for a semaphore in an `Arc`: the
    /// permit owns a reference to it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(gust_sync::Semaphore::new(1));
    /// let p = sem.try_acquire_owned(1).unwrap();
    /// assert!(sem.try_acquire_owned(1).is_none());
    /// drop(p);
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn try_acquire_owned(self: &Arc<Self>, k: usize) -> Option<OwnedSemaphorePermit> {
        self.try_take(k).then(|| OwnedSemaphorePermit {
            sem: self.clone(),
            count: k,
        })
    }

    /// Takes `k` permits if they are free now and nobody waits.
    fn try_take(&self, k: usize) -> bool {
        let mut st = self.lock();
        let free = !st.closed && st.waiting == 0 && st.available >= k;
        if free {
            st.available -= k;
        }
        free
    }

    /// Closes the semaphore (tokio's `Semaphore::close`): every waiting
    /// `acquire` fails with an [`AcquireError`] for which
    /// [`is_closed`](AcquireError::is_closed) is true, and so does every
    /// later one (`try_acquire` gives `None`). Permits already granted or
    /// held stay valid and are released as usual. Returns `true` for the
    /// call that closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(gust_sync::Semaphore::new(1));
    /// let held = sem.try_acquire(1).unwrap();
    /// let waiter = {
    ///     let sem = sem.clone();
    ///     std::thread::spawn(move || sem.acquire_blocking(1).map(|_| ()))
    /// };
    /// assert!(sem.close()); // before or after the waiter queued: it fails
    /// assert!(waiter.join().unwrap().unwrap_err().is_closed());
    /// assert!(sem.try_acquire(1).is_none());
    /// drop(held); // still released as usual
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn close(&self) -> bool {
        let mut st = self.lock();
        if st.closed {
            return false;
        }
        st.closed = true;
        // Every waiting request ends: none is left waiting (invariant #5).
        let wakers = st.end_waiting(Grant::Closed, |_| true);
        drop(st);
        wake_all(wakers);
        true
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(1);
    /// assert!(!sem.is_closed());
    /// sem.close();
    /// assert!(sem.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Permits free now.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(5);
    /// let _p = sem.try_acquire(2);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.lock().available
    }

    /// The number of permits the semaphore was made with, less those
    /// [forgotten](SemaphorePermit::forget).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(5);
    /// assert_eq!(sem.capacity(), 5);
    /// sem.try_acquire(2).unwrap().forget();
    /// assert_eq!(sem.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// Adds `k` new permits (tokio's `add_permits`): the capacity grows by
    /// `k`, and queued requests are served. For permits acquired, drop
    /// the permit instead (Go's `Release`).
    ///
    /// # Panics
    ///
    /// If the capacity would pass `usize::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(0);
    /// assert!(sem.try_acquire(1).is_none());
    /// sem.add_permits(2);
    /// assert_eq!((sem.capacity(), sem.available()), (2, 2));
    /// assert!(sem.try_acquire(2).is_some());
    /// ```
    pub fn add_permits(&self, k: usize) {
        let mut st = self.lock();
        st.capacity = st
            .capacity
            .checked_add(k)
            .expect("Semaphore::add_permits: the capacity would overflow usize");
        st.available += k;
        let wakers = st.grant();
        drop(st);
        wake_all(wakers);
    }

    /// Gives `k` permits back and serves the queue.
    pub(crate) fn release(&self, k: usize) {
        let mut st = self.lock();
        st.available += k;
        debug_assert!(st.available <= st.capacity, "invariant #1");
        let wakers = st.grant();
        drop(st);
        wake_all(wakers);
    }

    /// `k` permits held are kept for good: the capacity drops by `k`, and
    /// queued requests that no longer fit are refused (invariant #4).
    fn forget(&self, k: usize) {
        let mut st = self.lock();
        st.capacity -= k;
        let mut wakers = st.refuse_above_capacity();
        // The head may have been refused: the next one may fit.
        wakers.extend(st.grant());
        drop(st);
        wake_all(wakers);
    }
}

impl State {
    const fn new(permits: usize) -> Self {
        Self {
            capacity: permits,
            available: permits,
            waiting: 0,
            next_ticket: 0,
            closed: false,
            waiters: BTreeMap::new(),
        }
    }

    /// Grants waiters from the head while the head's request fits
    /// (invariant #2); returns their wakers, to wake after unlocking.
    fn grant(&mut self) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for w in self
            .waiters
            .values_mut()
            .filter(|w| w.grant == Grant::Waiting)
        {
            if w.need > self.available {
                break; // the head blocks the rest: no starvation of large requests
            }
            self.available -= w.need;
            self.waiting -= 1;
            w.grant = Grant::Granted;
            wakers.extend(w.waker.take());
        }
        wakers
    }

    /// Refuses the waiting requests above the capacity (invariant #4);
    /// returns their wakers.
    fn refuse_above_capacity(&mut self) -> Vec<Waker> {
        let capacity = self.capacity;
        self.end_waiting(Grant::Refused, |w| w.need > capacity)
    }

    /// Ends the waiting requests that `which` picks with `outcome`
    /// (refused or closed); returns their wakers.
    fn end_waiting(&mut self, outcome: Grant, which: impl Fn(&Waiter) -> bool) -> Vec<Waker> {
        let mut wakers = Vec::new();
        for w in self.waiters.values_mut() {
            if w.grant == Grant::Waiting && which(w) {
                w.grant = outcome;
                self.waiting -= 1;
                wakers.extend(w.waker.take());
            }
        }
        wakers
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// The future of [`Semaphore::acquire`].
///
/// ```
/// let sem = gust_sync::Semaphore::new(2);
/// let fut = sem.acquire(2);
/// assert_eq!(gust_executor::block_on(fut).unwrap().count(), 2);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    need: usize,
    /// Our place in the queue, once queued.
    ticket: Option<u64>,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let sem = this.sem;
        poll_acquire(sem, this.need, &mut this.ticket, cx)
            .map_ok(|count| SemaphorePermit { sem, count })
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        cancel_acquire(self.sem, self.ticket);
    }
}

/// The future of [`Semaphore::acquire_owned`].
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(gust_sync::Semaphore::new(2));
/// let fut = sem.acquire_owned(2);
/// assert_eq!(gust_executor::block_on(fut).unwrap().count(), 2);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct AcquireOwned {
    sem: Arc<Semaphore>,
    need: usize,
    /// Our place in the queue, once queued.
    ticket: Option<u64>,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        poll_acquire(&this.sem, this.need, &mut this.ticket, cx).map_ok(|count| {
            OwnedSemaphorePermit {
                sem: this.sem.clone(),
                count,
            }
        })
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        cancel_acquire(&self.sem, self.ticket);
    }
}

impl fmt::Debug for AcquireOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcquireOwned")
            .field("permits", &self.need)
            .field("queued", &self.ticket.is_some())
            .finish()
    }
}

/// One poll of a request for `need` permits, queued under `ticket` once it
/// waits: `Ok(need)` once they are ours.
fn poll_acquire(
    sem: &Semaphore,
    need: usize,
    ticket: &mut Option<u64>,
    cx: &mut Context<'_>,
) -> Poll<Result<usize, AcquireError>> {
    let mut st = sem.lock();
    let capacity = st.capacity;
    let refused = |closed| AcquireError {
        requested: need,
        capacity,
        closed,
    };
    match *ticket {
        Some(t) => {
            let w = st.waiters.get(&t).expect("invariant #3");
            let decided = match w.grant {
                Grant::Waiting => None,
                Grant::Granted => Some(Ok(need)),
                Grant::Refused => Some(Err(refused(false))),
                Grant::Closed => Some(Err(refused(true))),
            };
            if let Some(outcome) = decided {
                st.waiters.remove(&t);
                *ticket = None;
                return Poll::Ready(outcome);
            }
            let w = st.waiters.get_mut(&t).expect("invariant #3");
            match &mut w.waker {
                Some(old) if gust_trace::will_wake(old, cx.waker()) => {}
                slot => *slot = Some(gust_trace::own_waker(cx.waker())),
            }
        }
        None => {
            if st.closed || need > st.capacity {
                return Poll::Ready(Err(refused(st.closed)));
            }
            if st.waiting == 0 && st.available >= need {
                if gust_trace::yield_for_budget(cx) {
                    return Poll::Pending;
                }
                st.available -= need;
                return Poll::Ready(Ok(need));
            }
            let t = st.next_ticket;
            st.next_ticket += 1;
            st.waiting += 1;
            st.waiters.insert(
                t,
                Waiter {
                    need,
                    grant: Grant::Waiting,
                    waker: Some(gust_trace::own_waker(cx.waker())),
                },
            );
            *ticket = Some(t);
        }
    }
    drop(st);
    gust_trace::record(gust_trace::Wait::Lock(gust_trace::Lock::Semaphore));
    Poll::Pending
}

/// A request dropped while queued under `ticket` leaves the queue; permits
/// granted to it go back (cancel safety), and if it was the head, the ones
/// behind it are served.
fn cancel_acquire(sem: &Semaphore, ticket: Option<u64>) {
    let Some(ticket) = ticket else { return };
    let mut st = sem.lock();
    let head = st
        .waiters
        .iter()
        .find(|(_, w)| w.grant == Grant::Waiting)
        .map(|(t, _)| *t);
    let me = st.waiters.remove(&ticket).expect("invariant #3");
    let granted = me.grant == Grant::Granted;
    if me.grant == Grant::Waiting {
        st.waiting -= 1;
    }
    if granted {
        st.available += me.need; // the grant goes back (cancel safety)
    }
    let wakers = if granted || head == Some(ticket) {
        st.grant()
    } else {
        Vec::new()
    };
    drop(st);
    wake_all(wakers);
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("permits", &self.need)
            .field("queued", &self.ticket.is_some())
            .finish()
    }
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(3);
    /// assert_eq!(sem.try_acquire(2).unwrap().count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// Keeps the permits taken for good: they never go back, and the
    /// semaphore's [capacity](Semaphore::capacity) drops by as many. A
    /// queued request above the new capacity fails with [`AcquireError`]
    /// (it could never be met, and would hold up the queue).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = gust_sync::Semaphore::new(3);
    /// sem.try_acquire(1).unwrap().forget();
    /// assert_eq!((sem.available(), sem.capacity()), (2, 2));
    /// ```
    pub fn forget(mut self) {
        self.sem.forget(std::mem::take(&mut self.count));
    }
}

impl SemaphorePermit<'_> {
    /// Keeps the permits held with no guard to give them back: the caller
    /// releases them later with `Semaphore::release` (`RwLock`'s owned
    /// guards). Returns how many.
    #[cfg(not(loom))]
    pub(crate) fn detach(mut self) -> usize {
        std::mem::take(&mut self.count)
    }

    /// Gives back all but `keep` of the permits now (`RwLock`'s downgrade;
    /// `RwLock` is not built under loom).
    #[cfg(not(loom))]
    pub(crate) fn release_all_but(&mut self, keep: usize) {
        let back = self.count - keep;
        self.count = keep;
        if back > 0 {
            self.sem.release(back);
        }
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        if self.count > 0 {
            self.sem.release(self.count);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("count", &self.count)
            .finish()
    }
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = std::sync::Arc::new(gust_sync::Semaphore::new(3));
    /// assert_eq!(sem.try_acquire_owned(2).unwrap().count(), 2);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// The semaphore the permits came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(gust_sync::Semaphore::new(3));
    /// let p = sem.try_acquire_owned(1).unwrap();
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits taken for good, as
    /// [`SemaphorePermit::forget`]: the capacity drops by as many.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = std::sync::Arc::new(gust_sync::Semaphore::new(3));
    /// sem.try_acquire_owned(1).unwrap().forget();
    /// assert_eq!((sem.available(), sem.capacity()), (2, 2));
    /// ```
    pub fn forget(mut self) {
        self.sem.forget(std::mem::take(&mut self.count));
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.count > 0 {
            self.sem.release(self.count);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("count", &self.count)
            .finish()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Semaphore")
            .field("capacity", &st.capacity)
            .field("available", &st.available)
            .field("waiters", &st.waiters.len())
            .field("closed", &st.closed)
            .finish()
    }
}
