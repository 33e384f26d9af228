//! [`RwLock`]: Go's `sync.RWMutex`, as future-based locks.
//!
//! # Design
//!
//! The lock is a weighted FIFO [`Semaphore`] of [`READERS`] permits beside
//! the value: a reader takes one permit, a writer all of them. The
//! semaphore's queue gives Go's fairness rules with no code of its own:
//!
//! - a writer waits for the readers in, then holds everything;
//! - a request never overtakes one queued before it, so readers that
//!   arrive while a writer waits queue behind it (writers do not starve),
//!   and readers a writer kept waiting are granted when it unlocks, before
//!   a writer that queued after them (readers do not starve either: Go's
//!   `Unlock` releases every reader blocked on it);
//! - writers take turns in arrival order, however fast each re-locks.
//!
//! Cancel safety is the semaphore's: a dropped `read`/`write` leaves the
//! queue, or gives back permits granted to it. A pending `read` or `write`
//! records `Lock::RwLock` as its task's wait reason (gust-trace), for the
//! task dump and the deadlock detector.
//!
//! The owned guards (`read_owned`, `write_owned`: tokio's) wait in the
//! same queue, through the same `acquire`; once granted, the permits are
//! detached from their `SemaphorePermit` with no await in between (so no
//! cancel can come between), and the guard, holding an `Arc` of the lock,
//! gives them back through the same `release` when dropped.
//!
//! Rejected: async-lock's `RwLock`, used before. Its readers and writers
//! race for the lock when a writer unlocks, so a writer that re-locks at
//! once kept a reader out for seconds, and a writer waited behind writers
//! that never yield (found from outside, 4 of 4 and 2 of 2 runs). Its
//! uncontended `read` is one atomic operation, where this one takes the
//! semaphore's mutex twice: a `read().await` and its drop measured 53 ns
//! against async-lock's 33, a `write().await` and its drop 53 ns against
//! 111 (`futures::executor`, 2M in a row, 3 rounds). No benchmark row
//! reads an `RwLock`, and DESIGN.md asks that no waiter starve.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use gust_trace::{Lock, Wait, traced};

use crate::semaphore::{Semaphore, SemaphorePermit};

/// The permits of an [`RwLock`]'s semaphore: as many readers may hold the
/// lock at once (Go's `rwmutexMaxReaders`); a writer takes them all.
const READERS: usize = 1 << 30;

/// A reader-writer lock (Go's `sync.RWMutex`, owning its data): many
/// readers or one writer, served in arrival order (a reader that arrives
/// while a writer waits queues behind it; readers a writer kept waiting
/// get in when it unlocks, before a writer that came after them), so
/// neither readers nor writers starve. Every wait is cancel-safe.
///
/// ```
/// use gust_sync::RwLock;
/// let lock = RwLock::new(1);
/// gust_executor::block_on(async {
///     {
///         let (a, b) = (lock.read().await, lock.read().await);
///         assert_eq!(*a + *b, 2);
///     }
///     *lock.write().await += 1;
/// });
/// assert_eq!(*lock.read_blocking(), 2);
/// ```
pub struct RwLock<T: ?Sized> {
    /// [`READERS`] permits: one per reader, all of them for a writer.
    permits: Semaphore,
    /// Read through a guard only: shared under a reader's permit,
    /// exclusive under a writer's.
    value: UnsafeCell<T>,
}

// SAFETY: the lock owns its value; sending it sends the value.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: through `&RwLock`, readers on several threads share `&T` (hence
// `T: Sync`) and a writer on any of them gets `&mut T` (hence `T: Send`);
// the permits order every access (the semaphore's mutex).
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Shared access to an [`RwLock`]'s value; released on drop.
///
/// # Examples
///
/// ```
/// let lock = gust_sync::RwLock::new(1);
/// let a = lock.try_read().unwrap();
/// let b = lock.try_read().unwrap(); // readers share the lock
/// assert_eq!(*a + *b, 2);
/// assert!(lock.try_write().is_none()); // no writer while a reader holds it
/// drop((a, b));
/// assert!(lock.try_write().is_some());
/// ```
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// One permit, given back on drop.
    _permit: SemaphorePermit<'a>,
}

// SAFETY: a read guard only hands out `&T`: moving it to another thread
// shares the value with that thread (as async-lock's and tokio's).
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

/// Exclusive access to an [`RwLock`]'s value; released on drop.
///
/// # Examples
///
/// ```
/// let lock = gust_sync::RwLock::new(vec![1]);
/// let mut w = lock.try_write().unwrap();
/// w.push(2);
/// assert!(lock.try_read().is_none()); // exclusive: not even a reader
/// drop(w);
/// assert_eq!(*lock.try_read().unwrap(), [1, 2]);
/// ```
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    /// Every permit, given back on drop.
    permit: SemaphorePermit<'a>,
}

// SAFETY: a write guard hands out `&mut T` on the thread that holds it
// (`T: Send`) and `&T` through a shared borrow (`T: Sync`).
unsafe impl<T: ?Sized + Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: `&RwLockWriteGuard` gives only `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<T> RwLock<T> {
    /// A new unlocked lock holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(0u8);
    /// assert_eq!(*l.try_read().unwrap(), 0);
    /// ```
    pub const fn new(value: T) -> Self {
        Self {
            permits: Semaphore::new(READERS),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(gust_sync::RwLock::new(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Shared access, waiting while a writer holds or waits for the lock
    /// (Go's `RLock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(3);
    /// assert_eq!(*gust_executor::block_on(l.read()), 3);
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let permit = traced(self.permits.acquire(1), Wait::Lock(Lock::RwLock)).await;
        self.read_guard(permit.expect("one permit is within the capacity"))
    }

    /// Exclusive access, waiting for readers and writers to leave (Go's
    /// `Lock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(3);
    /// gust_executor::block_on(async { *l.write().await = 4 });
    /// assert_eq!(*l.read_blocking(), 4);
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        let permit = traced(self.permits.acquire(READERS), Wait::Lock(Lock::RwLock)).await;
        self.write_guard(permit.expect("the capacity is never forgotten"))
    }

    /// Shared access if it is free now (Go's `TryRLock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(());
    /// let w = l.try_write().unwrap();
    /// assert!(l.try_read().is_none());
    /// drop(w);
    /// assert!(l.try_read().is_some());
    /// ```
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.permits.try_acquire(1).map(|p| self.read_guard(p))
    }

    /// Exclusive access if it is free now (Go's `TryLock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(());
    /// let r = l.try_read().unwrap();
    /// assert!(l.try_write().is_none());
    /// drop(r);
    /// assert!(l.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.permits
            .try_acquire(READERS)
            .map(|p| self.write_guard(p))
    }

    /// [`read`](Self::read), blocking this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(1);
    /// assert_eq!(*l.read_blocking(), 1);
    /// ```
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        let permit = self.permits.acquire_blocking(1);
        self.read_guard(permit.expect("one permit is within the capacity"))
    }

    /// [`write`](Self::write), blocking this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let l = gust_sync::RwLock::new(1);
    /// *l.write_blocking() = 2;
    /// assert_eq!(*l.read_blocking(), 2);
    /// ```
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        let permit = self.permits.acquire_blocking(READERS);
        self.write_guard(permit.expect("the capacity is never forgotten"))
    }

    /// A mutable reference to the value, with no locking.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut l = gust_sync::RwLock::new(1);
    /// *l.get_mut() = 2;
    /// assert_eq!(l.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// [`read`](RwLock::read) on a lock in an `Arc`, for a guard that owns
    /// a clone of the `Arc` (tokio's `read_owned`): `'static`, so it can
    /// move into a spawned task, go to another thread or live in a struct.
    /// The future keeps its own clone (it does not borrow `self`). The same
    /// queue as `read`: the same fairness and cancel safety.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(gust_sync::RwLock::new(5));
    /// let n = gust_executor::block_on(async {
    ///     let g = l.read_owned().await;
    ///     gust_executor::spawn(async move { *g + 1 }).await.unwrap()
    /// });
    /// assert_eq!(n, 6);
    /// ```
    pub fn read_owned(self: &Arc<Self>) -> impl Future<Output = OwnedRwLockReadGuard<T>> + use<T> {
        let lock = self.clone();
        async move {
            let permit = traced(lock.permits.acquire(1), Wait::Lock(Lock::RwLock)).await;
            // The permit's release becomes the guard's (no await between).
            permit.expect("one permit is within the capacity").detach();
            OwnedRwLockReadGuard { lock }
        }
    }

    /// [`write`](RwLock::write) on a lock in an `Arc`, for a guard that
    /// owns a clone of the `Arc` (tokio's `write_owned`); as
    /// [`read_owned`](RwLock::read_owned).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(gust_sync::RwLock::new(5));
    /// gust_executor::block_on(async {
    ///     let mut g = l.write_owned().await;
    ///     gust_executor::spawn(async move { *g = 7 }).await.unwrap();
    /// });
    /// assert_eq!(*l.read_blocking(), 7);
    /// ```
    pub fn write_owned(
        self: &Arc<Self>,
    ) -> impl Future<Output = OwnedRwLockWriteGuard<T>> + use<T> {
        let lock = self.clone();
        async move {
            let permit = traced(lock.permits.acquire(READERS), Wait::Lock(Lock::RwLock)).await;
            // The permits' release becomes the guard's (no await between).
            permit.expect("the capacity is never forgotten").detach();
            OwnedRwLockWriteGuard { lock }
        }
    }

    /// [`try_read`](RwLock::try_read) for a guard that owns a clone of the
    /// `Arc` (cloned only on success).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(gust_sync::RwLock::new(()));
    /// let r = l.try_read_owned().unwrap();
    /// assert!(l.try_write_owned().is_none());
    /// drop(r);
    /// assert!(l.try_write_owned().is_some());
    /// ```
    pub fn try_read_owned(self: &Arc<Self>) -> Option<OwnedRwLockReadGuard<T>> {
        self.permits.try_acquire(1)?.detach();
        Some(OwnedRwLockReadGuard { lock: self.clone() })
    }

    /// [`try_write`](RwLock::try_write) for a guard that owns a clone of
    /// the `Arc` (cloned only on success).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(gust_sync::RwLock::new(0));
    /// let mut w = l.try_write_owned().unwrap();
    /// *w = 1;
    /// assert!(l.try_read_owned().is_none());
    /// drop(w);
    /// assert_eq!(*l.try_read_owned().unwrap(), 1);
    /// ```
    pub fn try_write_owned(self: &Arc<Self>) -> Option<OwnedRwLockWriteGuard<T>> {
        self.permits.try_acquire(READERS)?.detach();
        Some(OwnedRwLockWriteGuard { lock: self.clone() })
    }

    /// [`read_owned`](RwLock::read_owned), blocking this thread (not from
    /// async code).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(gust_sync::RwLock::new(1));
    /// let r = l.read_owned_blocking();
    /// assert_eq!(std::thread::spawn(move || *r).join().unwrap(), 1);
    /// ```
    pub fn read_owned_blocking(self: &Arc<Self>) -> OwnedRwLockReadGuard<T> {
        gust_trace::block_on_thread(self.read_owned())
    }

    /// [`write_owned`](RwLock::write_owned), blocking this thread (not from
    /// async code).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let l = Arc::new(gust_sync::RwLock::new(1));
    /// let mut w = l.write_owned_blocking();
    /// std::thread::spawn(move || *w += 1).join().unwrap(); // unlocks there
    /// assert_eq!(*l.read_blocking(), 2);
    /// ```
    pub fn write_owned_blocking(self: &Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        gust_trace::block_on_thread(self.write_owned())
    }

    fn read_guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> RwLockReadGuard<'a, T> {
        debug_assert_eq!(permit.count(), 1);
        RwLockReadGuard {
            lock: self,
            _permit: permit,
        }
    }

    fn write_guard<'a>(&'a self, permit: SemaphorePermit<'a>) -> RwLockWriteGuard<'a, T> {
        debug_assert_eq!(permit.count(), READERS);
        RwLockWriteGuard { lock: self, permit }
    }
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access without letting a writer in
    /// between (tokio's and async-lock's `downgrade`; Go's `RWMutex` has
    /// none): other readers may join at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_sync::{RwLock, RwLockWriteGuard};
    /// let lock = RwLock::new(1);
    /// let mut w = lock.try_write().unwrap();
    /// *w = 2;
    /// let r = RwLockWriteGuard::downgrade(w);
    /// assert_eq!(*r, 2);
    /// assert_eq!(*lock.try_read().unwrap(), 2); // readers join
    /// assert!(lock.try_write().is_none());
    /// ```
    pub fn downgrade(guard: Self) -> RwLockReadGuard<'a, T> {
        let Self { lock, mut permit } = guard;
        // All but one permit go back: the readers queued are served (a
        // writer at the head of the queue waits for this reader to leave).
        permit.release_all_but(1);
        lock.read_guard(permit)
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds a reader's permit: no writer holds the
        // lock until it is dropped, so `&T` may be shared.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit: nobody else reads or
        // writes until it is dropped.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_read() {
            Some(g) => f.debug_struct("RwLock").field("value", &&*g).finish(),
            None => f
                .debug_struct("RwLock")
                .field("value", &"<locked>")
                .finish(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The guard of [`RwLock::read_owned`]: as [`RwLockReadGuard`], holding an
/// `Arc` of the lock, so it is `'static`; released on drop.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use gust_sync::{OwnedRwLockReadGuard, RwLock};
/// let l = Arc::new(RwLock::new(1));
/// let guards: Vec<OwnedRwLockReadGuard<i32>> =
///     (0..3).map(|_| l.try_read_owned().unwrap()).collect();
/// assert_eq!(guards.iter().map(|g| **g).sum::<i32>(), 3);
/// assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&guards[0]), &l));
/// ```
///
/// `Send` and `Sync` only when `T` is both (it owns an `Arc` of the lock,
/// as tokio's):
///
/// ```compile_fail
/// fn send<T: Send>() {}
/// // `Cell` is `Send` but not `Sync`.
/// send::<gust_sync::OwnedRwLockReadGuard<std::cell::Cell<u8>>>();
/// ```
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedRwLockReadGuard<T: ?Sized> {
    /// Holds one of its permits, given back on drop.
    lock: Arc<RwLock<T>>,
}

// SAFETY: it hands out `&T` (`T: Sync`, as `RwLockReadGuard`'s), and it
// owns an `Arc` of the lock: dropped on another thread it may drop the
// `T` there, and `rwlock()` lets that thread clone the `Arc` and write
// (`T: Send`, as tokio's).
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockReadGuard<T> {}
// SAFETY: as above: a shared guard gives `&T` and, through `rwlock()`, the
// `Arc`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockReadGuard<T> {}

/// The guard of [`RwLock::write_owned`]: as [`RwLockWriteGuard`], holding
/// an `Arc` of the lock, so it is `'static`; released on drop.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use gust_sync::{OwnedRwLockWriteGuard, RwLock};
/// let l = Arc::new(RwLock::new(vec![1]));
/// let mut w = l.try_write_owned().unwrap();
/// w.push(2);
/// let r = OwnedRwLockWriteGuard::downgrade(w); // no writer can get in between
/// assert_eq!(*r, [1, 2]);
/// assert!(l.try_read_owned().is_some());
/// assert!(l.try_write_owned().is_none());
/// ```
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    /// Holds every permit, given back on drop.
    lock: Arc<RwLock<T>>,
}

// SAFETY: as `RwLockWriteGuard`'s (`&mut T` on the holder's thread, `&T`
// through a shared borrow), and the `Arc` it owns, as the read guard's.
unsafe impl<T: ?Sized + Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: a shared guard gives `&T` and, through `rwlock()`, the `Arc`.
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// The lock this guard reads (an associated function, as the guard
    /// derefs to `T`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gust_sync::{OwnedRwLockReadGuard, RwLock};
    /// let l = Arc::new(RwLock::new(1));
    /// let r = l.try_read_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &l));
    /// ```
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// The lock this guard writes (an associated function, as the guard
    /// derefs to `T`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gust_sync::{OwnedRwLockWriteGuard, RwLock};
    /// let l = Arc::new(RwLock::new(1));
    /// let w = l.try_write_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&w), &l));
    /// ```
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Turns the write guard into a read guard without unlocking: readers
    /// queued are let in, writers stay out (as
    /// [`RwLockWriteGuard::downgrade`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gust_sync::{OwnedRwLockWriteGuard, RwLock};
    /// let l = Arc::new(RwLock::new(0));
    /// let mut w = l.try_write_owned().unwrap();
    /// *w = 1;
    /// let r = OwnedRwLockWriteGuard::downgrade(w);
    /// assert_eq!(*l.try_read_owned().unwrap(), 1); // readers get in
    /// assert!(l.try_write_owned().is_none()); // writers do not
    /// drop(r);
    /// assert!(l.try_write_owned().is_some());
    /// ```
    pub fn downgrade(guard: Self) -> OwnedRwLockReadGuard<T> {
        let guard = std::mem::ManuallyDrop::new(guard);
        // SAFETY: `guard` is never used or dropped again; its `Arc` moves
        // into the read guard, which owns the one permit kept.
        let lock = unsafe { std::ptr::read(&guard.lock) };
        lock.permits.release(READERS - 1);
        OwnedRwLockReadGuard { lock }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.permits.release(1);
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.permits.release(READERS);
    }
}

impl<T: ?Sized> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds a reader's permit (see RwLockReadGuard).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit (see RwLockWriteGuard).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
