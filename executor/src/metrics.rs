//! [`RuntimeMetrics`]: what a runtime has done, read from any thread
//! (tokio's stable runtime metrics, Go's `runtime/metrics` in part).
//!
//! Each worker keeps its own counters on its own cache line and is their
//! only writer: a plain load and store per event, no read-modify-write, so
//! counting costs the hot paths next to nothing (a poll: one add to a word
//! the worker owns). Readers see each counter's latest value, not one
//! consistent snapshot of all of them.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One worker's counters (written by that worker only).
#[derive(Default)]
pub(crate) struct WorkerStats {
    polls: AtomicU64,
    steals: AtomicU64,
    parks: AtomicU64,
    spawns: AtomicU64,
    busy_nanos: AtomicU64,
}

fn bump(c: &AtomicU64, by: u64) {
    // Relaxed load + store: the owner is the only writer.
    c.store(
        c.load(Ordering::Relaxed).wrapping_add(by),
        Ordering::Relaxed,
    );
}

impl WorkerStats {
    /// Polls so far.
    pub(crate) fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }
    pub(crate) fn polled(&self) {
        bump(&self.polls, 1);
    }
    pub(crate) fn stole(&self) {
        bump(&self.steals, 1);
    }
    pub(crate) fn parked(&self) {
        bump(&self.parks, 1);
    }
    pub(crate) fn spawned(&self) {
        bump(&self.spawns, 1);
    }
    pub(crate) fn busy(&self, d: Duration) {
        bump(
            &self.busy_nanos,
            u64::try_from(d.as_nanos()).unwrap_or(u64::MAX),
        );
    }
}

/// Counters of every worker, and of spawns from other threads.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) workers: Box<[CachePadded<WorkerStats>]>,
    /// Spawns from threads that are not workers (any thread: an RMW).
    pub(crate) external_spawns: AtomicU64,
}

impl Stats {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            workers: (0..n)
                .map(|_| CachePadded::new(WorkerStats::default()))
                .collect(),
            external_spawns: AtomicU64::new(0),
        }
    }
}

/// A runtime's metrics at one moment; see [`Runtime::metrics`].
///
/// [`Runtime::metrics`]: crate::runtime::Runtime::metrics
///
/// # Examples
///
/// ```
/// let rt = gust_executor::runtime::Builder::new().workers(2).build().unwrap();
/// rt.block_on(async {
///     for _ in 0..10 {
///         gust_executor::spawn(async {}).await.unwrap();
///     }
/// });
/// let m = rt.metrics();
/// assert_eq!(m.num_workers(), 2);
/// assert_eq!(m.spawned_tasks(), 10);
/// assert!(m.total_polls() >= 10);
/// assert_eq!(m.live_tasks(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct RuntimeMetrics {
    pub(crate) live_tasks: usize,
    pub(crate) spawned: u64,
    pub(crate) injection_queue_depth: usize,
    pub(crate) workers: Vec<WorkerMetrics>,
}

/// One worker's share of [`RuntimeMetrics`].
///
/// # Examples
///
/// ```
/// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
/// rt.block_on(rt.spawn(async {})).unwrap();
/// let m = rt.metrics();
/// let w: &gust_executor::runtime::WorkerMetrics = &m.workers()[0];
/// assert!(w.polls() >= 1);
/// assert!(w.local_queue_depth() <= 1);
/// println!("steals {}, parks {}, busy {:?}", w.steals(), w.parks(), w.busy_duration());
/// ```
#[derive(Debug, Clone)]
pub struct WorkerMetrics {
    pub(crate) polls: u64,
    pub(crate) steals: u64,
    pub(crate) parks: u64,
    pub(crate) busy: Duration,
    pub(crate) local_queue_depth: usize,
}

impl RuntimeMetrics {
    /// Number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(3).build().unwrap();
    /// assert_eq!(rt.metrics().num_workers(), 3);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.workers.len()
    }

    /// Spawned tasks that have not ended (Go's `runtime.NumGoroutine`).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let pending = rt.spawn(std::future::pending::<()>());
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.metrics().live_tasks(), 1); // the ended task is not counted
    /// pending.abort();
    /// ```
    pub fn live_tasks(&self) -> usize {
        self.live_tasks
    }

    /// Tasks spawned since the runtime started.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let outer = rt.spawn(async {
    ///     // Two more, spawned from a worker.
    ///     let a = gust_executor::spawn(async {});
    ///     let b = gust_executor::spawn(async {});
    ///     a.await.unwrap();
    ///     b.await.unwrap();
    /// });
    /// rt.block_on(outer).unwrap();
    /// assert_eq!(rt.metrics().spawned_tasks(), 3); // ended ones too
    /// ```
    pub fn spawned_tasks(&self) -> u64 {
        self.spawned
    }

    /// Tasks waiting in the injection queue (spawned or woken from outside
    /// the workers, or overflow).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// // Keep the only worker busy (only for the example: a real task
    /// // never blocks its worker's thread).
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, released) = mpsc::channel::<()>();
    /// let busy = rt.spawn(async move {
    ///     started_tx.send(()).unwrap();
    ///     released.recv().unwrap();
    /// });
    /// started.recv().unwrap();
    /// // Spawned from outside the workers: they wait in the injection queue.
    /// let queued: Vec<_> = (0..3).map(|_| rt.spawn(async {})).collect();
    /// assert_eq!(rt.metrics().injection_queue_depth(), 3);
    /// release.send(()).unwrap();
    /// rt.block_on(busy).unwrap();
    /// for h in queued {
    ///     rt.block_on(h).unwrap();
    /// }
    /// assert_eq!(rt.metrics().injection_queue_depth(), 0);
    /// ```
    pub fn injection_queue_depth(&self) -> usize {
        self.injection_queue_depth
    }

    /// Task polls on all workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(2).build().unwrap();
    /// rt.block_on(async {
    ///     for _ in 0..5 {
    ///         gust_executor::spawn(async {}).await.unwrap();
    ///     }
    /// });
    /// let m = rt.metrics();
    /// assert!(m.total_polls() >= 5);
    /// assert_eq!(m.total_polls(), m.workers().iter().map(|w| w.polls()).sum::<u64>());
    /// ```
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// Each worker's metrics, by index.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(2).build().unwrap();
    /// let m = rt.metrics();
    /// assert_eq!(m.workers().len(), 2);
    /// assert_eq!(m.workers().len(), m.num_workers());
    /// ```
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }
}

impl WorkerMetrics {
    /// Task polls on this worker.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.spawn(async {
    ///     for _ in 0..3 {
    ///         gust_executor::yield_now().await; // each yield: one more poll
    ///     }
    /// });
    /// rt.block_on(h).unwrap();
    /// assert!(rt.metrics().workers()[0].polls() >= 4);
    /// ```
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Successful steals by this worker (each takes half of another
    /// worker's queue).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// rt.block_on(async {
    ///     let tasks: Vec<_> = (0..8).map(|_| gust_executor::spawn(async {})).collect();
    ///     for t in tasks {
    ///         t.await.unwrap();
    ///     }
    /// });
    /// // One worker: nobody to steal from.
    /// assert_eq!(rt.metrics().workers()[0].steals(), 0);
    /// ```
    pub fn steals(&self) -> u64 {
        self.steals
    }

    /// Times this worker parked (with nothing to run).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let before = rt.block_on(rt.spawn(async {
    ///     // Read while the worker runs this task: it is not parked.
    ///     gust_executor::runtime::metrics().workers()[0].parks()
    /// }))
    /// .unwrap();
    /// // Nothing left to run: the worker parks again.
    /// let start = Instant::now();
    /// while rt.metrics().workers()[0].parks() == before {
    ///     assert!(start.elapsed() < Duration::from_secs(10), "an idle worker parks");
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn parks(&self) -> u64 {
        self.parks
    }

    /// Time this worker spent out of its park (running tasks or looking
    /// for them), up to its last park.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let parks = rt.block_on(rt.spawn(async {
    ///     let work = Instant::now();
    ///     while work.elapsed() < Duration::from_millis(5) {
    ///         std::hint::spin_loop(); // 5 ms of computing, in one poll
    ///     }
    ///     gust_executor::runtime::metrics().workers()[0].parks()
    /// }))
    /// .unwrap();
    /// // The busy time is counted when the worker parks next.
    /// let start = Instant::now();
    /// while rt.metrics().workers()[0].parks() == parks {
    ///     assert!(start.elapsed() < Duration::from_secs(10), "an idle worker parks");
    ///     std::thread::yield_now();
    /// }
    /// // Read on the worker itself, which wrote it when it parked.
    /// let busy = rt.block_on(rt.spawn(async {
    ///     gust_executor::runtime::metrics().workers()[0].busy_duration()
    /// }));
    /// assert!(busy.unwrap() >= Duration::from_millis(5));
    /// ```
    pub fn busy_duration(&self) -> Duration {
        self.busy
    }

    /// Tasks in this worker's local run queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let depth = rt.block_on(rt.spawn(async {
    ///     // Spawned from the worker: queued on it, and not run before this
    ///     // task's poll ends.
    ///     let tasks: Vec<_> = (0..3).map(|_| gust_executor::spawn(async {})).collect();
    ///     let depth = gust_executor::runtime::metrics().workers()[0].local_queue_depth();
    ///     for t in tasks {
    ///         t.await.unwrap();
    ///     }
    ///     depth
    /// }))
    /// .unwrap();
    /// // One of them may wait in the worker's LIFO slot, which is not counted.
    /// assert!(depth >= 2);
    /// ```
    pub fn local_queue_depth(&self) -> usize {
        self.local_queue_depth
    }
}

/// Reads `stats` (the `Shared` parts are passed by the caller).
pub(crate) fn read(
    stats: &Stats,
    live_tasks: usize,
    injection_queue_depth: usize,
    local_depths: impl Iterator<Item = usize>,
) -> RuntimeMetrics {
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let workers: Vec<WorkerMetrics> = stats
        .workers
        .iter()
        .zip(local_depths)
        .map(|(w, depth)| WorkerMetrics {
            polls: load(&w.polls),
            steals: load(&w.steals),
            parks: load(&w.parks),
            busy: Duration::from_nanos(load(&w.busy_nanos)),
            local_queue_depth: depth,
        })
        .collect();
    let spawned =
        stats.workers.iter().map(|w| load(&w.spawns)).sum::<u64>() + load(&stats.external_spawns);
    RuntimeMetrics {
        live_tasks,
        spawned,
        injection_queue_depth,
        workers,
    }
}
