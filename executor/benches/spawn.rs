//! Executor micro-benchmarks, gust side by side with tokio (multi-thread and
//! current-thread) and async-executor, at 1 and 2 workers:
//!
//! - `spawn_join`: a root task spawns 100k empty tasks, then joins them all;
//! - `chained_spawn`: each task spawns the next, 10k deep;
//! - `yield_many`: 16 tasks each yield 1,000 times;
//! - `ping_pong`: two tasks bounce a message 10k times over `async-channel`
//!   (capacity 1; the same channel for every runtime, so this measures the
//!   wake path of the executors; the gust-channel version is in the
//!   workspace's `benches/compare.rs`).
//!
//! `cargo bench -p gust-executor --bench spawn`; times are per element.

// criterion's macros generate undocumented items.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

const SPAWN: usize = 100_000;
const CHAIN: usize = 10_000;
const YIELD_TASKS: usize = 16;
const YIELDS: usize = 1_000;
const PINGS: usize = 10_000;

type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The executor under test: spawn from inside its tasks, run a root task.
trait Exec: Send + Sync + 'static {
    fn spawn_boxed(&self, f: BoxFut) -> BoxFut;
    fn spawn_detached(&self, f: BoxFut) {
        drop(self.spawn_boxed(f));
    }
    fn run(&self, f: BoxFut);
    fn yield_now(&self) -> BoxFut;
}

struct Gust(gust_executor::runtime::Runtime);

impl Exec for Gust {
    fn spawn_boxed(&self, f: BoxFut) -> BoxFut {
        let h = gust_executor::spawn(f);
        Box::pin(async move { h.await.unwrap() })
    }
    fn run(&self, f: BoxFut) {
        self.0.block_on(self.0.spawn(f)).unwrap();
    }
    fn yield_now(&self) -> BoxFut {
        Box::pin(gust_executor::yield_now())
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Exec for Tokio {
    fn spawn_boxed(&self, f: BoxFut) -> BoxFut {
        let h = tokio::spawn(f);
        Box::pin(async move { h.await.unwrap() })
    }
    fn run(&self, f: BoxFut) {
        self.0.block_on(self.0.spawn(f)).unwrap();
    }
    fn yield_now(&self) -> BoxFut {
        Box::pin(tokio::task::yield_now())
    }
}

struct TokioCt(tokio::runtime::Runtime);

impl Exec for TokioCt {
    fn spawn_boxed(&self, f: BoxFut) -> BoxFut {
        let h = tokio::spawn(f);
        Box::pin(async move { h.await.unwrap() })
    }
    fn run(&self, f: BoxFut) {
        self.0.block_on(f);
    }
    fn yield_now(&self) -> BoxFut {
        Box::pin(tokio::task::yield_now())
    }
}

struct Smol {
    ex: Arc<async_executor::Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Smol {
    fn new(n: usize) -> Self {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let threads = (0..n)
            .map(|_| {
                let ex = ex.clone();
                let stopped = stopped.clone();
                std::thread::spawn(move || {
                    let _ = futures_lite::future::block_on(ex.run(stopped.recv()));
                })
            })
            .collect();
        Self {
            ex,
            stop: Some(stop),
            threads,
        }
    }
}

impl Drop for Smol {
    fn drop(&mut self) {
        self.stop.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Exec for Smol {
    fn spawn_boxed(&self, f: BoxFut) -> BoxFut {
        Box::pin(self.ex.spawn(f))
    }
    fn spawn_detached(&self, f: BoxFut) {
        self.ex.spawn(f).detach();
    }
    fn run(&self, f: BoxFut) {
        futures_lite::future::block_on(self.ex.spawn(f));
    }
    fn yield_now(&self) -> BoxFut {
        Box::pin(futures_lite::future::yield_now())
    }
}

fn spawn_join(ex: &Arc<dyn Exec>) {
    let e = ex.clone();
    ex.run(Box::pin(async move {
        let hs: Vec<_> = (0..SPAWN)
            .map(|_| e.spawn_boxed(Box::pin(async {})))
            .collect();
        for h in hs {
            h.await;
        }
    }));
}

fn chain(ex: Arc<dyn Exec>, n: usize, done: async_channel::Sender<()>) -> BoxFut {
    Box::pin(async move {
        if n == 0 {
            done.send(()).await.unwrap();
        } else {
            let next = chain(ex.clone(), n - 1, done);
            ex.spawn_detached(next);
        }
    })
}

fn chained_spawn(ex: &Arc<dyn Exec>) {
    let e = ex.clone();
    ex.run(Box::pin(async move {
        let (tx, rx) = async_channel::bounded(1);
        e.spawn_detached(chain(e.clone(), CHAIN, tx));
        rx.recv().await.unwrap();
    }));
}

fn yield_many(ex: &Arc<dyn Exec>) {
    let e = ex.clone();
    ex.run(Box::pin(async move {
        let hs: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                let e2 = e.clone();
                e.spawn_boxed(Box::pin(async move {
                    for _ in 0..YIELDS {
                        e2.yield_now().await;
                    }
                }))
            })
            .collect();
        for h in hs {
            h.await;
        }
    }));
}

fn ping_pong(ex: &Arc<dyn Exec>) {
    let e = ex.clone();
    ex.run(Box::pin(async move {
        let (ping_tx, ping_rx) = async_channel::bounded::<usize>(1);
        let (pong_tx, pong_rx) = async_channel::bounded::<usize>(1);
        let echo = e.spawn_boxed(Box::pin(async move {
            while let Ok(v) = ping_rx.recv().await {
                pong_tx.send(v).await.unwrap();
            }
        }));
        for i in 0..PINGS {
            ping_tx.send(i).await.unwrap();
            assert_eq!(pong_rx.recv().await.unwrap(), i);
        }
        drop(ping_tx);
        echo.await;
    }));
}

fn runtimes(workers: usize) -> Vec<(&'static str, Arc<dyn Exec>)> {
    let mut v: Vec<(&'static str, Arc<dyn Exec>)> = vec![
        (
            "gust",
            Arc::new(Gust(
                gust_executor::runtime::Builder::new()
                    .workers(workers)
                    .build()
                    .unwrap(),
            )),
        ),
        (
            "tokio_mt",
            Arc::new(Tokio(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .build()
                    .unwrap(),
            )),
        ),
        ("async_executor", Arc::new(Smol::new(workers))),
    ];
    if workers == 1 {
        v.push((
            "tokio_ct",
            Arc::new(TokioCt(
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap(),
            )),
        ));
    }
    v
}

fn bench(c: &mut Criterion) {
    type Workload = fn(&Arc<dyn Exec>);
    let workloads: [(&str, Workload, usize); 4] = [
        ("spawn_join", spawn_join, SPAWN),
        ("chained_spawn", chained_spawn, CHAIN),
        ("yield_many", yield_many, YIELD_TASKS * YIELDS),
        ("ping_pong", ping_pong, PINGS),
    ];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut counts = vec![1];
    if cores > 1 {
        counts.push(cores);
    }
    for workers in counts {
        let rts = runtimes(workers);
        for (name, work, elems) in workloads {
            let mut g = c.benchmark_group(format!("{name}/{workers}w"));
            g.throughput(Throughput::Elements(elems as u64));
            g.sample_size(10);
            g.warm_up_time(Duration::from_millis(300));
            g.measurement_time(Duration::from_secs(2));
            for (rt_name, rt) in &rts {
                g.bench_function(*rt_name, |b| b.iter(|| work(rt)));
            }
            g.finish();
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
