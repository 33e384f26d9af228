//! The sync facade: std primitives normally, loom's under `--cfg loom`.
//!
//! Every atomic, `Arc`, `UnsafeCell` and lock in this crate comes from here, so
//! the loom models in `tests/loom.rs` (and `select::tests`) explore the real
//! protocol code, not a copy of it.

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

/// `UnsafeCell` with loom's closure API (`with`/`with_mut`), so loom can check
/// every access for races.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a raw pointer to the contents.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// The channel lock: a raw mutex, locked and unlocked without a guard so that
/// `select!` can hold the locks of all its channels at once (in address order).
///
/// Normally parking_lot's `RawMutex` (a byte; spins briefly, then parks).
#[cfg(not(any(loom, miri)))]
pub struct RawLock(parking_lot::RawMutex);

#[cfg(not(any(loom, miri)))]
impl RawLock {
    pub(crate) const fn new() -> Self {
        Self(<parking_lot::RawMutex as lock_api::RawMutex>::INIT)
    }

    #[inline]
    pub(crate) fn lock(&self) {
        lock_api::RawMutex::lock(&self.0);
    }

    /// # Safety
    ///
    /// The calling context must hold the lock (locked by `lock` and not yet
    /// unlocked).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        // SAFETY: forwarded from this function's contract.
        unsafe { lock_api::RawMutex::unlock(&self.0) };
    }
}

/// The channel lock under Miri: a yielding spin lock on std atomics
/// (parking_lot's integer-to-pointer casts would blunt Miri's checks).
#[cfg(all(miri, not(loom)))]
pub struct RawLock(std::sync::atomic::AtomicBool);

#[cfg(all(miri, not(loom)))]
impl RawLock {
    pub(crate) const fn new() -> Self {
        Self(std::sync::atomic::AtomicBool::new(false))
    }

    pub(crate) fn lock(&self) {
        while self
            .0
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::thread::yield_now();
        }
    }

    /// # Safety
    ///
    /// The calling context must hold the lock.
    pub(crate) unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The channel lock under loom: a flag under loom's `Mutex`, waited on with
/// its `Condvar` (a spin lock would multiply loom's branches).
#[cfg(loom)]
pub struct RawLock {
    locked: loom::sync::Mutex<bool>,
    unlocked: loom::sync::Condvar,
}

#[cfg(loom)]
impl RawLock {
    pub(crate) fn new() -> Self {
        Self {
            locked: loom::sync::Mutex::new(false),
            unlocked: loom::sync::Condvar::new(),
        }
    }

    pub(crate) fn lock(&self) {
        let mut locked = self.locked.lock().unwrap();
        while *locked {
            locked = self.unlocked.wait(locked).unwrap();
        }
        *locked = true;
    }

    /// # Safety
    ///
    /// The calling context must hold the lock.
    pub(crate) unsafe fn unlock(&self) {
        *self.locked.lock().unwrap() = false;
        self.unlocked.notify_one();
    }
}

impl std::fmt::Debug for RawLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawLock")
    }
}
