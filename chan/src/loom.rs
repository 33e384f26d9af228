//! The sync facade: std primitives normally, loom's under `--cfg loom`.
//!
//! Every atomic, `Arc`, `UnsafeCell` and lock in this crate comes from here, so
//! the loom models in `tests/loom.rs` (and `select::tests`) explore the real
//! protocol code, not a copy of it.

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicUsize, Ordering};

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
/// to the scheduler (which lets a preempted holder run) rather than parking. A
/// parking mutex (parking_lot's, used before) must unlock with a
/// read-modify-write to learn whether anyone sleeps: on the 2-core machine
/// that second atomic was a third of a buffered send's cost (perf on the MPMC
/// benchmark), and kanal and crossbeam-channel's rendezvous flavour make the
/// same choice.
///
/// # Backoff
///
/// A `pause` costs about 25 ns on the 2-core AMD machine (12 ns on an
/// Intel Xeon), the length of a whole critical section. Two policies:
///
/// - `lock`, for plain sends and receives: four looks one
///   pause apart, then randomized long pauses (1.6 to 4.8 us: 64 to 191
///   pauses where they were tuned, counted per CPU by `long_pause_unit`),
///   each followed by a few looks. Under a stream of contended operations (MPMC at 2 workers) the
///   holder's core then keeps the line for a run of operations instead of
///   losing it on every one; the randomness keeps two waiters from moving in
///   step. MPMC 4x4 at 2 workers, medians of 3: 19.4 -> 14.1 ms per 1M.
/// - `lock_eager`, for `select!`: looks after 1, 2,
///   4 and 8 pauses before the long ones. A select is one consumer against
///   many plain operations; with the plain policy it lost 19% (select over 4
///   channels at 2 workers), as it waited out long pauses while a producer's
///   send was a few nanoseconds from done.
///
/// After 16 long pauses without the lock the thread yields between looks.
#[cfg(not(loom))]
pub struct RawLock(std::sync::atomic::AtomicBool);

/// A cheap per-thread pseudo-random number (xorshift), to spread the long
/// pauses of threads contending for one lock.
#[cfg(not(loom))]
fn backoff_random() -> u32 {
    use std::cell::Cell;
    thread_local!(static STATE: Cell<u32> = const { Cell::new(0) });
    STATE.with(|s| {
        let mut x = s.get();
        if x == 0 {
            // Seed from this thread's stack address: distinct per thread.
            x = (&raw const x as usize as u32) | 1;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.set(x);
        x
    })
}

/// The shortest long pause, in `pause` instructions: [`LONG_PAUSE_NS`]
/// on this CPU, measured on first use. A `pause` takes 25 ns on the AMD
/// machine the policy was tuned on and 12 ns on an Intel Xeon, so a count
/// tuned on one waited half as long on the other (MPMC 4x4 at 2 workers on
/// the Xeon, three single-row runs each: 34.5-35.5 ms per 1M with 64
/// pauses against kanal's 29.5-30.6; 31.3-32.2 with 128; 32.2-32.5
/// measured, about 133, against kanal's 30.6-33.6 in the same runs).
#[cfg(not(loom))]
fn long_pause_unit() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    static UNIT: AtomicU32 = AtomicU32::new(0);
    let unit = UNIT.load(Relaxed);
    if unit != 0 {
        return unit;
    }
    // The fastest of three timings of 256 pauses (a preemption in one of
    // them only makes it slower). Racing threads each store their own
    // measurement; any of them will do.
    const SAMPLE: u32 = 256;
    let fastest = (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            for _ in 0..SAMPLE {
                std::hint::spin_loop();
            }
            t.elapsed().as_nanos().max(1)
        })
        .min()
        .unwrap_or(1);
    let unit = (LONG_PAUSE_NS * u128::from(SAMPLE) / fastest).clamp(16, 4096) as u32;
    UNIT.store(unit, Relaxed);
    unit
}

/// How long the shortest long pause of a contended lock lasts; each is
/// one to three times this, at random.
#[cfg(not(loom))]
const LONG_PAUSE_NS: u128 = 1_600;

#[cfg(not(loom))]
impl RawLock {
    pub(crate) const fn new() -> Self {
        Self(std::sync::atomic::AtomicBool::new(false))
    }

    /// Locks, for a plain send or receive (see the type's docs).
    #[inline]
    pub(crate) fn lock(&self) {
        if !self.try_lock() {
            self.lock_contended(false);
        }
    }

    /// Locks, for `select!` (see the type's docs).
    #[inline]
    pub(crate) fn lock_eager(&self) {
        if !self.try_lock() {
            self.lock_contended(true);
        }
    }

    /// Locks if the lock is free now. (Strong: a weak compare-and-swap
    /// may fail on a free lock, which `lock` would only retry, but a caller
    /// that gives up on failure, as a handed-back send's recycling does,
    /// would give up for nothing.)
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        use std::sync::atomic::Ordering::{Acquire, Relaxed};
        // Acquire: what the previous holder wrote under the lock is visible.
        self.0
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_ok()
    }

    #[cold]
    fn lock_contended(&self, eager: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let pause = |n: u32| {
            for _ in 0..n {
                std::hint::spin_loop();
            }
        };
        // Look (a read shares the cache line with the holder), then try.
        let look = || !self.0.load(Relaxed) && self.try_lock();
        for k in 0..4 {
            pause(if eager { 1 << k } else { 1 });
            if look() {
                return;
            }
        }
        let unit = long_pause_unit();
        let mut rounds = 0u32;
        loop {
            pause(unit + backoff_random() % (2 * unit));
            for _ in 0..8 {
                if look() {
                    return;
                }
            }
            rounds += 1;
            if rounds > 16 {
                std::thread::yield_now();
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

    pub(crate) fn lock_eager(&self) {
        self.lock();
    }

    pub(crate) fn try_lock(&self) -> bool {
        let mut locked = self.locked.lock().unwrap();
        !std::mem::replace(&mut *locked, true)
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
