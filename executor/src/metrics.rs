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
    pub fn num_workers(&self) -> usize {
        self.workers.len()
    }

    /// Spawned tasks that have not ended (Go's `runtime.NumGoroutine`).
    pub fn live_tasks(&self) -> usize {
        self.live_tasks
    }

    /// Tasks spawned since the runtime started.
    pub fn spawned_tasks(&self) -> u64 {
        self.spawned
    }

    /// Tasks waiting in the injection queue (spawned or woken from outside
    /// the workers, or overflow).
    pub fn injection_queue_depth(&self) -> usize {
        self.injection_queue_depth
    }

    /// Task polls on all workers.
    pub fn total_polls(&self) -> u64 {
        self.workers.iter().map(|w| w.polls).sum()
    }

    /// Each worker's metrics, by index.
    pub fn workers(&self) -> &[WorkerMetrics] {
        &self.workers
    }
}

impl WorkerMetrics {
    /// Task polls on this worker.
    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// Successful steals by this worker (each takes half of another
    /// worker's queue).
    pub fn steals(&self) -> u64 {
        self.steals
    }

    /// Times this worker parked (with nothing to run).
    pub fn parks(&self) -> u64 {
        self.parks
    }

    /// Time this worker spent out of its park (running tasks or looking
    /// for them), up to its last park.
    pub fn busy_duration(&self) -> Duration {
        self.busy
    }

    /// Tasks in this worker's local run queue.
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
