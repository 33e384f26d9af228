//! [`RwLock`]: Go's `sync.RWMutex`, as future-based locks. A pending `read`
//! or `write` records `Lock::RwLock` as its task's wait reason (gust-trace),
//! for the task dump.

use std::fmt;
use std::ops::{Deref, DerefMut};

use gust_trace::{Lock, Wait, traced};

/// A reader-writer lock (Go's `sync.RWMutex`, owning its data): many
/// readers or one writer. Writer-preferring, as Go's: once a writer waits,
/// readers that arrive after it wait too, so a stream of readers cannot
/// starve a writer. Every wait is cancel-safe.
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
#[derive(Default)]
pub struct RwLock<T: ?Sized> {
    inner: async_lock::RwLock<T>,
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
    inner: async_lock::RwLockReadGuard<'a, T>,
}

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
    inner: async_lock::RwLockWriteGuard<'a, T>,
}

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
            inner: async_lock::RwLock::new(value),
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
        self.inner.into_inner()
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
        RwLockReadGuard {
            inner: traced(self.inner.read(), Wait::Lock(Lock::RwLock)).await,
        }
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
        RwLockWriteGuard {
            inner: traced(self.inner.write(), Wait::Lock(Lock::RwLock)).await,
        }
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
        self.inner.try_read().map(|inner| RwLockReadGuard { inner })
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
        self.inner
            .try_write()
            .map(|inner| RwLockWriteGuard { inner })
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
        RwLockReadGuard {
            inner: self.inner.read_blocking(),
        }
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
        RwLockWriteGuard {
            inner: self.inner.write_blocking(),
        }
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
        self.inner.get_mut()
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
        RwLockReadGuard {
            inner: async_lock::RwLockWriteGuard::downgrade(guard.inner),
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.inner
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
