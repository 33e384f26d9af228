//! [`Barrier`]: `n` tasks wait for each other. A pending `wait` records
//! `Lock::Barrier` as its task's wait reason (gust-trace), for the task dump.

use gust_trace::{Lock, Wait, traced};

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
    inner: async_lock::Barrier,
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
            inner: async_lock::Barrier::new(n),
        }
    }

    /// Waits until `n` tasks are waiting; `true` for one of them (the
    /// leader) in each round.
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
        traced(self.inner.wait(), Wait::Lock(Lock::Barrier))
            .await
            .is_leader()
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
        self.inner.wait_blocking().is_leader()
    }
}
