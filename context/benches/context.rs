//! WaitGroup and Context side by side with tokio-util's `TaskTracker` and
//! `CancellationToken`, and with the `wg` and `awaitgroup` crates'
//! WaitGroups, on 1 worker and on 2:
//!
//! - `fan_in_100k`: spawn 100k tasks counted by a WaitGroup (a
//!   TaskTracker), each adding its index to a sum, wait for all; time per
//!   task. gust's WaitGroup runs on gust's executor and, to compare the
//!   WaitGroups alone, on tokio's beside `wg::future::WaitGroup` and
//!   `awaitgroup::WaitGroup` (which have no executor of their own).
//! - `cancel_100k_waiters`: 100k tasks wait on one context (token); time
//!   from the cancel to the last waiter's return, per waiter; checks that no
//!   waiter woke before the cancel and that every one woke after it.
//! - `create_cancel_1m_children`: create and cancel child contexts (child
//!   tokens) of one long-lived parent; time per child (one thread).
//!
//! Each runtime workload runs inside a spawned root task (on a worker), as
//! real programs do; timing it from a `block_on` thread would measure the
//! runtime's cross-thread injection path instead.
//!
//! `cargo bench -p gust-context --bench context`. Each workload checks its
//! count or sum, so a fast wrong answer cannot pass. Go's numbers for the
//! same three workloads come from `bench/go` (see bench/README.md).

// `criterion_group!` defines an undocumented `pub fn`.
#![allow(missing_docs)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gust_context::Context;
use gust_waitgroup::WaitGroup;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const TASKS: u64 = 100_000;
const CHILDREN: u64 = 1_000_000;

fn gust_rt(workers: usize) -> gust_executor::runtime::Runtime {
    gust_executor::runtime::Builder::new()
        .workers(workers)
        .build()
        .unwrap()
}

fn tokio_rt(workers: usize) -> tokio::runtime::Runtime {
    if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()
            .unwrap()
    }
}

/// The sum 0 + 1 + ... + (n - 1): the fan-in's checksum.
fn tri(n: u64) -> u64 {
    n * (n - 1) / 2
}

/// Spawns `TASKS` tasks with `spawn`, each adding its index to a sum and
/// then calling the `done` made for it by `add`; `wait` waits for all. Checks
/// the sum; returns the time from `start` to the end of the wait.
/// Spawning is generic (no `Box<dyn Future>`): boxing the task's future
/// changed the executors' costs unevenly (gust's fan-in took 4x as long).
async fn fan_in_with<S: Spawn, D: Send + 'static, W: Future<Output = ()>>(
    start: Instant,
    mut add: impl FnMut() -> D,
    done: fn(D),
    wait: W,
) -> Duration {
    let sum = Arc::new(AtomicU64::new(0));
    for i in 0..TASKS {
        let (sum, d) = (sum.clone(), add());
        S::spawn(async move {
            sum.fetch_add(i, Ordering::Relaxed);
            done(d);
        });
    }
    wait.await;
    let elapsed = start.elapsed();
    assert_eq!(sum.load(Ordering::Relaxed), tri(TASKS), "fan-in: wrong sum");
    elapsed
}

/// Spawns a detached task on the current runtime.
trait Spawn {
    fn spawn(f: impl Future<Output = ()> + Send + 'static);
}

/// gust's executor.
struct GustSpawn;

impl Spawn for GustSpawn {
    fn spawn(f: impl Future<Output = ()> + Send + 'static) {
        drop(gust_executor::spawn(f));
    }
}

/// tokio's.
struct TokioSpawn;

impl Spawn for TokioSpawn {
    fn spawn(f: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(f));
    }
}

fn fan_in(c: &mut Criterion) {
    let mut g = c.benchmark_group("fan_in_100k");
    g.throughput(Throughput::Elements(TASKS));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for workers in [1, 2] {
        let rt = gust_rt(workers);
        g.bench_function(format!("gust_waitgroup/{workers}w"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(rt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let wg = WaitGroup::new();
                        let add = || {
                            wg.add(1);
                            wg.clone()
                        };
                        total += fan_in_with::<GustSpawn, _, _>(
                            Instant::now(),
                            add,
                            |d| d.done(),
                            wg.wait(),
                        )
                        .await;
                    }
                    total
                }))
                .unwrap()
            })
        });
        let trt = tokio_rt(workers);
        g.bench_function(format!("gust_waitgroup_on_tokio/{workers}w"), |b| {
            b.iter_custom(|iters| {
                trt.block_on(trt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let wg = WaitGroup::new();
                        let add = || {
                            wg.add(1);
                            wg.clone()
                        };
                        total += fan_in_with::<TokioSpawn, _, _>(
                            Instant::now(),
                            add,
                            |d| d.done(),
                            wg.wait(),
                        )
                        .await;
                    }
                    total
                }))
                .unwrap()
            })
        });
        g.bench_function(format!("tokio_tasktracker/{workers}w"), |b| {
            b.iter_custom(|iters| {
                trt.block_on(trt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let tracker = TaskTracker::new();
                        let wait = async {
                            tracker.close();
                            tracker.wait().await;
                        };
                        let token = || tracker.token();
                        total += fan_in_with::<TokioSpawn, _, _>(Instant::now(), token, drop, wait)
                            .await;
                    }
                    total
                }))
                .unwrap()
            })
        });
        g.bench_function(format!("wg/{workers}w"), |b| {
            b.iter_custom(|iters| {
                trt.block_on(trt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let wg = wg::future::WaitGroup::new();
                        let done = |d: wg::future::WaitGroup| {
                            d.done();
                        };
                        total += fan_in_with::<TokioSpawn, _, _>(
                            Instant::now(),
                            || wg.add(1),
                            done,
                            wg.wait(),
                        )
                        .await;
                    }
                    total
                }))
                .unwrap()
            })
        });
        g.bench_function(format!("awaitgroup/{workers}w"), |b| {
            b.iter_custom(|iters| {
                trt.block_on(trt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        // `wait` borrows the group mutably, so the workers
                        // (each `worker()` is an `Add(1)`) are made first,
                        // inside the timing.
                        let start = Instant::now();
                        let mut wg = awaitgroup::WaitGroup::new();
                        let workers: Vec<_> = (0..TASKS).map(|_| wg.worker()).collect();
                        let mut workers = workers.into_iter();
                        let add = move || workers.next().expect("one worker per task");
                        let done = awaitgroup::Worker::done;
                        total += fan_in_with::<TokioSpawn, _, _>(start, add, done, wg.wait()).await;
                    }
                    total
                }))
                .unwrap()
            })
        });
    }
    g.finish();
}

fn cancel_waiters(c: &mut Criterion) {
    let mut g = c.benchmark_group("cancel_100k_waiters");
    g.throughput(Throughput::Elements(TASKS));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    for workers in [1, 2] {
        let rt = gust_rt(workers);
        g.bench_function(format!("gust_context/{workers}w"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(rt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (ctx, cancel) = Context::background().with_cancel();
                        let ready = WaitGroup::new();
                        let finished = WaitGroup::new();
                        let woken = Arc::new(AtomicU64::new(0));
                        ready.add(TASKS as usize);
                        for _ in 0..TASKS {
                            let (ctx, ready, woken) = (ctx.clone(), ready.clone(), woken.clone());
                            drop(finished.go(async move {
                                ready.done();
                                ctx.done().await;
                                woken.fetch_add(1, Ordering::Relaxed);
                            }));
                        }
                        ready.wait().await;
                        gust_executor::yield_now().await;
                        assert_eq!(woken.load(Ordering::Relaxed), 0, "a waiter woke early");
                        let start = Instant::now();
                        cancel.cancel();
                        finished.wait().await;
                        total += start.elapsed();
                        assert_eq!(woken.load(Ordering::Relaxed), TASKS, "a waiter missed");
                    }
                    total
                }))
                .unwrap()
            })
        });
        let trt = tokio_rt(workers);
        g.bench_function(format!("tokio_cancellation_token/{workers}w"), |b| {
            b.iter_custom(|iters| {
                trt.block_on(trt.spawn(async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let token = CancellationToken::new();
                        let ready = WaitGroup::new();
                        let tracker = TaskTracker::new();
                        let woken = Arc::new(AtomicU64::new(0));
                        ready.add(TASKS as usize);
                        for _ in 0..TASKS {
                            let (token, ready, woken) =
                                (token.clone(), ready.clone(), woken.clone());
                            drop(tracker.spawn(async move {
                                ready.done();
                                token.cancelled().await;
                                woken.fetch_add(1, Ordering::Relaxed);
                            }));
                        }
                        tracker.close();
                        ready.wait().await;
                        tokio::task::yield_now().await;
                        assert_eq!(woken.load(Ordering::Relaxed), 0, "a waiter woke early");
                        let start = Instant::now();
                        token.cancel();
                        tracker.wait().await;
                        total += start.elapsed();
                        assert_eq!(woken.load(Ordering::Relaxed), TASKS, "a waiter missed");
                    }
                    total
                }))
                .unwrap()
            })
        });
    }
    g.finish();
}

fn create_cancel_children(c: &mut Criterion) {
    let mut g = c.benchmark_group("create_cancel_1m_children");
    g.throughput(Throughput::Elements(CHILDREN));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    g.bench_function("gust_context", |b| {
        let (parent, _cancel) = Context::background().with_cancel();
        b.iter(|| {
            for _ in 0..CHILDREN {
                let (child, cancel) = parent.with_cancel();
                cancel.cancel();
                assert!(child.is_done());
            }
            assert!(!parent.is_done());
        })
    });
    g.bench_function("tokio_cancellation_token", |b| {
        let parent = CancellationToken::new();
        b.iter(|| {
            for _ in 0..CHILDREN {
                let child = parent.child_token();
                child.cancel();
                assert!(child.is_cancelled());
            }
            assert!(!parent.is_cancelled());
        })
    });
    g.finish();
}

criterion_group!(benches, fan_in, cancel_waiters, create_cancel_children);
criterion_main!(benches);
