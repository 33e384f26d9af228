//! [`Barrier`]: `n` tasks wait for each other. A pending `wait` records
//! `Lock::Barrier` as its task's wait reason (gust-trace), for the task dump.
//!
//! # Protocol
//!
//! The count of arrivals and the round number live under one mutex; the
//! round number is also kept in an atomic, which waiters poll. A `wait`
//! arrives (count + 1) on its first poll. The `n`-th arrival starts a new
//! round (count := 0, round + 1, under the lock) and wakes every listener:
//! it is the leader. The others listen until the round number moves. A
//! waiter dropped while its round has not ended takes its arrival back
//! (count - 1, under the lock, if the round is still its own), so a
//! cancelled `wait` never counts (async-lock's `Barrier`, used before, kept
//! a dropped arrival: the next round then released one task early).
//!
//! Invariants:
//! 1. `count < n` between calls (the `n`-th arrival resets it under the
//!    same lock hold).
//! 2. `round` only grows (wrapping), written under the lock; `released`
//!    is stored after `round` and before the notification.

use event_listener::Event;
use gust_trace::{Lock, Wait, traced};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Lets `n` tasks wait until all `n` have arrived, then releases them all
/// at once; reusable, round after round. Exactly one caller of each round
/// gets `true` from [`wait`](Barrier::wait) (the leader), the others
/// `false`. Go has no barrier type; it is the `sync.WaitGroup` that each
/// round of a phased computation would otherwise need. Cancel-safe: a
/// dropped `wait` does not count as arrived.
///
/// ```
/// use std::sync::Arc;
/// use gust_sync::Barrier;
/// gust_executor::block_on(async {
///     let b = Arc::new(Barrier::new(3));
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let b = b.clone();
///             gust_executor::spawn(async move { b.wait().await })
///         })
///         .collect();
///     let mut leaders = 0;
///     for t in tasks {
///         leaders += usize::from(t.await.unwrap());
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
#[derive(Debug)]
pub struct Barrier {
    n: usize,
    /// (arrivals in this round, round number).
    state: Mutex<(usize, u64)>,
    /// The round number, for waiters to poll without the lock.
    released: AtomicU64,
    /// Listeners of the current round.
    event: Event,
}

impl Barrier {
    /// A barrier for `n` tasks (`0` acts as `1`, as std's).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = gust_sync::Barrier::new(1);
    /// assert!(gust_executor::block_on(b.wait())); // alone: the leader
    /// ```
    pub const fn new(n: usize) -> Self {
        Self {
            n: if n == 0 { 1 } else { n },
            state: Mutex::new((0, 0)),
            released: AtomicU64::new(0),
            event: Event::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, u64)> {
        // Nothing panics under it; recover anyway.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `n` tasks are waiting; `true` for one of them (the
    /// leader) in each round. Cancel-safe: dropped before its round ends,
    /// it takes its arrival back.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = gust_sync::Barrier::new(1);
    /// gust_executor::block_on(async {
    ///     assert!(b.wait().await);
    ///     assert!(b.wait().await); // a new round
    /// });
    /// ```
    pub async fn wait(&self) -> bool {
        let round = {
            let mut st = self.lock();
            st.0 += 1;
            if st.0 < self.n {
                st.1
            } else {
                // The n-th arrival: a new round (invariants #1, #2).
                st.0 = 0;
                st.1 = st.1.wrapping_add(1);
                // Release: pairs with the Acquire loads of the waiters.
                self.released.store(st.1, Ordering::Release);
                drop(st);
                self.event.notify(usize::MAX);
                return true;
            }
        };
        // Takes the arrival back if dropped before the round ends.
        struct Arrival<'a> {
            barrier: &'a Barrier,
            round: u64,
            done: bool,
        }
        impl Drop for Arrival<'_> {
            fn drop(&mut self) {
                if !self.done {
                    let mut st = self.barrier.lock();
                    if st.1 == self.round {
                        st.0 -= 1;
                    }
                }
            }
        }
        let mut arrival = Arrival {
            barrier: self,
            round,
            done: false,
        };
        let ended = || self.released.load(Ordering::Acquire) != round;
        while !ended() {
            let listener = self.event.listen();
            if ended() {
                break;
            }
            traced(listener, Wait::Lock(Lock::Barrier)).await;
        }
        arrival.done = true;
        false
    }

    /// [`wait`](Self::wait), blocking this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(gust_sync::Barrier::new(2));
    /// let b2 = b.clone();
    /// let t = std::thread::spawn(move || b2.wait_blocking());
    /// let me = b.wait_blocking();
    /// assert!(me ^ t.join().unwrap()); // exactly one leader
    /// ```
    pub fn wait_blocking(&self) -> bool {
        gust_trace::block_on_thread(self.wait())
    }
}
