//! [`Mutex`]: Go's `sync.Mutex`, as a future-based lock.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A mutual-exclusion lock whose `lock` is a future (Go's `sync.Mutex`,
/// owning the data it guards).
///
/// Fairness, as Go's: a locker may take a lock that was just released ahead
/// of the waiters, but a waiter that has waited more than about half a
/// millisecond puts the lock in hand-off mode, and then waiters get it in
/// arrival order (no waiter starves). `lock` is cancel-safe: a dropped
/// `lock` future never holds the lock and passes a wake-up it received on
/// to the next waiter.
///
/// ```
/// use gust_sync::Mutex;
/// let m = Mutex::new(vec![1]);
/// gust_executor::block_on(async {
///     m.lock().await.push(2);
/// });
/// assert_eq!(*m.lock_blocking(), [1, 2]);
/// ```
#[derive(Default)]
pub struct Mutex<T: ?Sized> {
    inner: async_lock::Mutex<T>,
}

/// The guard of a locked [`Mutex`]: the lock is released when it is dropped.
/// `Send` when `T` is, so it may be held across an `.await` in a spawned
/// task.
#[must_use = "the lock is released at once if the guard is not kept"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(crate) inner: async_lock::MutexGuard<'a, T>,
}

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
            inner: async_lock::Mutex::new(value),
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
        self.inner.into_inner()
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
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard {
            inner: self.inner.lock().await,
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
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.inner.try_lock().map(|inner| MutexGuard { inner })
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
        MutexGuard {
            inner: self.inner.lock_blocking(),
        }
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
        self.inner.get_mut()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// The mutex this guard locks.
    pub(crate) fn source(guard: &Self) -> &'a async_lock::Mutex<T> {
        async_lock::MutexGuard::source(&guard.inner)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
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
