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
/// A test-and-test-and-set spin lock on one byte: lock is one compare-and-swap
/// when free; unlock is a plain release store. The critical sections are a
/// handful of instructions (chan.rs: no allocation, no user code under the
/// lock), so a contended locker spins with backoff, then yields its thread
/// to the scheduler (which lets a preempted holder run) rather than parking. A parking mutex (parking_lot's, used before) must
/// unlock with a read-modify-write to learn whether anyone sleeps: on the
/// 2-core machine that second atomic was a third of a buffered send's cost
/// (perf on the MPMC benchmark), and kanal and crossbeam-channel's rendezvous
/// flavour make the same choice.
#[cfg(not(loom))]
pub struct RawLock(std::sync::atomic::AtomicBool);

#[cfg(not(loom))]
impl RawLock {
    pub(crate) const fn new() -> Self {
        Self(std::sync::atomic::AtomicBool::new(false))
    }

    #[inline]
    pub(crate) fn lock(&self) {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        // Acquire: what the previous holder wrote under the lock is visible.
        if self
            .0
            .compare_exchange_weak(false, true, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
    }

    #[cold]
    fn lock_contended(&self) {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        // Pauses between looks at the lock: a few short ones (a hand-off
        // between two tasks is a matter of nanoseconds), then long ones, so
        // that under a stream of contended operations (MPMC at 2 workers)
        // the holder's core keeps the line for a run of operations instead
        // of losing it on every one (28 -> 20 ms per 1M messages; kanal's
        // lock backs off the same way). Then yield.
        const BACKOFF: [u32; 8] = [1, 2, 4, 8, 64, 128, 256, 512];
        let mut step = 0;
        loop {
            // Wait for it to look free (reads share the cache line), then try.
            while self.0.load(Relaxed) {
                if let Some(&pauses) = BACKOFF.get(step) {
                    for _ in 0..pauses {
                        std::hint::spin_loop();
                    }
                    step += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .0
                .compare_exchange_weak(false, true, Acquire, Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }

    /// # Safety
    ///
    /// The calling context must hold the lock (locked by `lock` and not yet
    /// unlocked).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        // Release: publishes the critical section to the next holder.
        self.0.store(false, std::sync::atomic::Ordering::Release);
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
