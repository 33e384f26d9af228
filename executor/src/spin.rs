//! A small spin mutex for the live-task registry's shards.
//!
//! A shard is locked for a slab insert (at spawn, around the task's
//! allocation), a remove, or a batch of removals handed back by another
//! worker (`registry.rs`). Its owner takes it almost always alone now; when
//! the spawning worker and the one finishing stolen tasks took the same
//! shard lock once per task, `std::sync::Mutex` parked and woke threads
//! through futex system calls (perf on the fan-in benchmark at 2 workers:
//! 10% of the cycles in its contended path, plus the syscalls), each costing
//! more than the critical section. Here a waiter spins with exponential
//! backoff, then yields its thread (letting a preempted holder run); unlock
//! is a plain release store.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};

/// A mutex that spins, then yields, instead of parking.
pub(crate) struct SpinMutex<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reached through a guard, and only one guard
// exists at a time (the `locked` flag); so sharing the mutex moves `T`
// between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for SpinMutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for SpinMutex<T> {}

impl<T> SpinMutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks, spinning (then yielding) while another thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        // Acquire: the previous holder's writes are visible to us.
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { mutex: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut step = 0u32;
        loop {
            // Test before test-and-set: waiters share the line while it is held.
            while self.locked.load(Ordering::Relaxed) {
                if step < 7 {
                    for _ in 0..1u32 << step {
                        std::hint::spin_loop();
                    }
                    step += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

/// Access to a locked [`SpinMutex`]; unlocks on drop.
pub(crate) struct SpinGuard<'a, T> {
    mutex: &'a SpinMutex<T>,
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock: no other access exists.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only one.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: publishes our writes to the next holder.
        self.mutex.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::SpinMutex;
    use std::sync::Arc;

    #[test]
    fn counts_under_contention() {
        let m = Arc::new(SpinMutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 50 } else { 10_000 } {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*m.lock(), if cfg!(miri) { 200 } else { 40_000 });
    }
}
