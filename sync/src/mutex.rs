//! [`Mutex`]: Go's `sync.Mutex`, as a future-based lock (the lock word and
//! its wait protocol are in `mutex_state.rs`). A pending `lock` records
//! `Lock::Mutex` as its task's wait reason (gust-trace), for the task dump.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::mutex_state::{Lock, RawMutex};

/// A mutual-exclusion lock whose `lock` is a future (Go's `sync.Mutex`,
/// owning the data it guards).
///
/// Fairness, as Go's: a locker may take a lock that was just released ahead
/// of the waiters, but a waiter that has waited more than 1 ms puts the lock
/// in hand-off mode, and then gets it before any newcomer (no waiter
/// starves). Uncontended, `lock` and unlock are one atomic read-modify-write
/// each, as Go's. `lock` is cancel-safe: a dropped `lock` future never
/// holds the lock and passes a wake-up it received on to another waiter.
///
/// ```
/// use gust_sync::Mutex;
/// let m = Mutex::new(vec![1]);
/// gust_executor::block_on(async {
///     m.lock().await.push(2);
/// });
/// assert_eq!(*m.lock_blocking(), [1, 2]);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and one guard exists at
// a time (the lock word's LOCKED bit, mutex_state.rs invariant #3): sharing
// the mutex moves access to `T` between threads, which `T: Send` allows.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// The guard of a locked [`Mutex`]: the lock is released when it is dropped.
/// `Send` when `T` is, so it may be held across an `.await` in a spawned
/// task.
///
/// # Examples
///
/// ```
/// let m = gust_sync::Mutex::new(vec![1]);
/// {
///     let mut guard = m.try_lock().unwrap();
///     guard.push(2); // the value, through the guard
///     assert!(m.try_lock().is_none()); // held while the guard lives
/// }
/// assert_eq!(*m.try_lock().unwrap(), [1, 2]); // dropped: unlocked
/// ```
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) mutex: &'a Mutex<T>,
}

// SAFETY: the guard gives `&mut T` on whichever thread holds it: `T: Send`.
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: a shared guard gives `&T` to every thread that shares it.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding `value`.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gust_sync::Mutex::new(5);
    /// assert_eq!(*m.try_lock().unwrap(), 5);
    /// ```
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gust_sync::Mutex::new(String::from("x"));
    /// assert_eq!(m.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, waiting while another holder has it (Go's `Lock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gust_sync::Mutex::new(1);
    /// gust_executor::block_on(async {
    ///     *m.lock().await += 1;
    ///     assert_eq!(*m.lock().await, 2);
    /// });
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexLock<'_, T> {
        MutexLock {
            mutex: self,
            slow: None,
        }
    }

    /// Locks if the lock is free now (Go's `TryLock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gust_sync::Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // `then`, not `then_some`: a guard built eagerly would unlock on drop.
        self.raw.try_lock().then(|| MutexGuard { mutex: self })
    }

    /// Locks, blocking this thread while another holder has it. Do not call
    /// it from async code: it would block the executor's thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gust_sync::Mutex::new(1);
    /// *m.lock_blocking() += 1;
    /// assert_eq!(*m.lock_blocking(), 2);
    /// ```
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        gust_trace::block_on_thread(self.lock())
    }

    /// Locks a mutex in an `Arc`, for a guard that owns a clone of the
    /// `Arc` (tokio's `lock_owned`): the guard is `'static`, so it can move
    /// into a spawned task, go to another thread or live in a struct; it
    /// unlocks wherever it is dropped. The future keeps its own clone too
    /// (it does not borrow `self`), and is `Send` when `T` is.
    ///
    /// The same lock as [`lock`](Mutex::lock): the same fairness (the
    /// hand-off to a waiter past 1 ms) and the same cancel safety (a
    /// dropped future holds nothing and passes on a wake-up it received).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(gust_sync::Mutex::new(0));
    /// gust_executor::block_on(async {
    ///     let mut guard = m.lock_owned().await;
    ///     // The guard goes to another task, which unlocks by dropping it.
    ///     gust_executor::spawn(async move { *guard += 1 }).await.unwrap();
    /// });
    /// assert_eq!(*m.lock_blocking(), 1);
    /// ```
    pub fn lock_owned(self: &Arc<Self>) -> impl Future<Output = OwnedMutexGuard<T>> + use<T> {
        let mutex = self.clone();
        async move {
            // The guard's unlock becomes the owned guard's: forgetting it
            // keeps the lock held, and no await comes in between.
            std::mem::forget(mutex.lock().await);
            OwnedMutexGuard { mutex }
        }
    }

    /// [`try_lock`](Mutex::try_lock) for a guard that owns a clone of the
    /// `Arc` (cloned only if it locks).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(gust_sync::Mutex::new(()));
    /// let g = m.try_lock_owned().unwrap();
    /// assert!(m.try_lock_owned().is_none());
    /// drop(g);
    /// assert!(m.try_lock_owned().is_some());
    /// ```
    pub fn try_lock_owned(self: &Arc<Self>) -> Option<OwnedMutexGuard<T>> {
        // `then`, not `then_some`: a guard built eagerly would unlock on drop.
        self.raw.try_lock().then(|| OwnedMutexGuard {
            mutex: self.clone(),
        })
    }

    /// [`lock_owned`](Mutex::lock_owned), blocking this thread (as
    /// [`lock_blocking`](Mutex::lock_blocking): not from async code).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let m = Arc::new(gust_sync::Mutex::new(1));
    /// let mut g = m.lock_owned_blocking();
    /// std::thread::spawn(move || *g += 1).join().unwrap(); // unlocks there
    /// assert_eq!(*m.lock_blocking(), 2);
    /// ```
    pub fn lock_owned_blocking(self: &Arc<Self>) -> OwnedMutexGuard<T> {
        gust_trace::block_on_thread(self.lock_owned())
    }

    /// A mutable reference to the value, with no locking: `&mut self`
    /// proves nobody else holds the mutex.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut m = gust_sync::Mutex::new(1);
    /// *m.get_mut() = 3;
    /// assert_eq!(*m.lock_blocking(), 3);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

/// The future of [`Mutex::lock`]. Cancel-safe: dropped before it
/// completes, it holds nothing and passes on a wake-up it received.
///
/// ```
/// use gust_sync::{Mutex, MutexLock};
/// let m = Mutex::new(1);
/// let fut: MutexLock<'_, i32> = m.lock();
/// assert_eq!(*gust_executor::block_on(fut), 1);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct MutexLock<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// The waiting part, once the fast path failed.
    slow: Option<Lock<'a>>,
}

impl<'a, T: ?Sized> Future for MutexLock<'a, T> {
    type Output = MutexGuard<'a, T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<MutexGuard<'a, T>> {
        let this = self.get_mut();
        let mutex = this.mutex;
        let slow = match &mut this.slow {
            Some(slow) => slow,
            None => {
                if gust_trace::yield_for_budget(cx) {
                    return Poll::Pending;
                }
                if mutex.raw.try_lock() {
                    return Poll::Ready(MutexGuard { mutex });
                }
                this.slow.insert(mutex.raw.lock())
            }
        };
        // The slow path's listener keeps the waker for this lock: its own.
        match gust_trace::owning(|| Pin::new(slow).poll(cx)) {
            Poll::Ready(()) => {
                this.slow = None;
                Poll::Ready(MutexGuard { mutex })
            }
            Poll::Pending => {
                gust_trace::record(gust_trace::Wait::Lock(gust_trace::Lock::Mutex));
                Poll::Pending
            }
        }
    }
}

impl<T: ?Sized> fmt::Debug for MutexLock<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MutexLock")
            .field("waiting", &self.slow.is_some())
            .finish()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold the lock: no other guard exists.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, and `&mut self` is the only way in.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.try_lock() {
            Some(g) => f.debug_struct("Mutex").field("value", &&*g).finish(),
            None => f.debug_struct("Mutex").field("value", &"<locked>").finish(),
        }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

/// The guard of [`Mutex::lock_owned`]: as [`MutexGuard`], holding an
/// `Arc` of the mutex instead of a borrow, so it is `'static`. The lock is
/// released when it is dropped.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use gust_sync::{Mutex, OwnedMutexGuard};
///
/// struct Held {
///     guard: OwnedMutexGuard<Vec<u8>>, // no lifetime to carry
/// }
/// let m = Arc::new(Mutex::new(vec![]));
/// let mut held = Held { guard: m.try_lock_owned().unwrap() };
/// held.guard.push(1);
/// assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&held.guard), &m));
/// drop(held);
/// assert_eq!(*m.lock_blocking(), [1]);
/// ```
///
/// Shared between threads only when `T` is `Send` and `Sync` (its `Arc`
/// can be reached through [`OwnedMutexGuard::mutex`]):
///
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// // `std::sync::MutexGuard` is `Sync` but not `Send`.
/// sync::<gust_sync::OwnedMutexGuard<std::sync::MutexGuard<'static, ()>>>();
/// ```
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct OwnedMutexGuard<T: ?Sized> {
    /// Held locked by this guard (its LOCKED bit), unlocked by its drop
    /// through the same `RawMutex::unlock` as `MutexGuard`'s.
    mutex: Arc<Mutex<T>>,
}

// SAFETY: as `MutexGuard`'s: the guard gives `&mut T` on whichever thread
// holds it, and dropping it there may drop the last `Arc`, so the `T`
// there: `T: Send` covers both.
unsafe impl<T: ?Sized + Send> Send for OwnedMutexGuard<T> {}
// SAFETY: a shared guard gives `&T` to every thread that shares it
// (`T: Sync`), and `OwnedMutexGuard::mutex` gives them the `Arc`, which
// they may clone, lock and drop on their own thread (`T: Send`, as tokio's).
unsafe impl<T: ?Sized + Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard holds locked (an associated function, as the
    /// guard derefs to `T`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gust_sync::{Mutex, OwnedMutexGuard};
    /// let m = Arc::new(Mutex::new(1));
    /// let g = m.try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&g), &m));
    /// ```
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.mutex
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    #[inline]
    fn drop(&mut self) {
        self.mutex.raw.unlock();
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold the lock: no other guard exists.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, and `&mut self` is the only way in.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
