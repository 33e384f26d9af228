//! A quick table without criterion: ns per task for spawn + join of 1M
//! tasks, gust vs tokio vs async-executor, at 1 and 2 workers.
//! `cargo bench -p gust-executor --bench quick`

use std::sync::Arc;
use std::time::Instant;

const N: usize = 1_000_000;
const ROUNDS: usize = 5;

fn best(mut f: impl FnMut() -> f64) -> f64 {
    (0..ROUNDS).map(|_| f()).fold(f64::MAX, f64::min)
}

/// Spawns N tasks from a root task and joins them all; ns per task.
fn gust(workers: usize, from_task: bool) -> f64 {
    let rt = gust_executor::runtime::Builder::new()
        .workers(workers)
        .build()
        .unwrap();
    best(|| {
        let start = Instant::now();
        let body = async {
            let hs: Vec<_> = (0..N).map(|_| gust_executor::spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        };
        if from_task {
            rt.block_on(rt.spawn(body)).unwrap();
        } else {
            rt.block_on(body);
        }
        start.elapsed().as_nanos() as f64 / N as f64
    })
}

fn tokio_mt(workers: usize, from_task: bool) -> f64 {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .unwrap();
    best(|| {
        let start = Instant::now();
        let body = async {
            let hs: Vec<_> = (0..N).map(|_| tokio::spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        };
        if from_task {
            rt.block_on(rt.spawn(body)).unwrap();
        } else {
            rt.block_on(body);
        }
        start.elapsed().as_nanos() as f64 / N as f64
    })
}

fn tokio_ct() -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    best(|| {
        let start = Instant::now();
        rt.block_on(async {
            let hs: Vec<_> = (0..N).map(|_| tokio::spawn(async {})).collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        start.elapsed().as_nanos() as f64 / N as f64
    })
}

fn async_executor(threads: usize, from_task: bool) -> f64 {
    let ex = Arc::new(async_executor::Executor::new());
    let (stop, stopped) = async_channel::bounded::<()>(1);
    let ts: Vec<_> = (0..threads)
        .map(|_| {
            let ex = ex.clone();
            let stopped = stopped.clone();
            std::thread::spawn(move || futures_lite::future::block_on(ex.run(stopped.recv())))
        })
        .collect();
    let r = best(|| {
        let start = Instant::now();
        let ex2 = ex.clone();
        let body = async move {
            let hs: Vec<_> = (0..N).map(|_| ex2.spawn(async {})).collect();
            for h in hs {
                h.await;
            }
        };
        if from_task {
            futures_lite::future::block_on(ex.spawn(body));
        } else {
            futures_lite::future::block_on(body);
        }
        start.elapsed().as_nanos() as f64 / N as f64
    });
    drop(stop);
    for t in ts {
        let _ = t.join().unwrap();
    }
    r
}

fn row(name: &str, f: impl Fn(usize, bool) -> f64) {
    println!(
        "{name:<16} {:>10.0} {:>10.0} {:>10.0} {:>10.0}",
        f(1, true),
        f(2, true),
        f(1, false),
        f(2, false)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` probes with --list
    }
    println!("spawn {N} + join, ns/task (best of {ROUNDS})");
    println!(
        "{:<16} {:>10} {:>10} {:>10} {:>10}",
        "", "task 1w", "task 2w", "outside 1w", "outside 2w"
    );
    let only = std::env::var("ONLY").unwrap_or_default();
    if let Some(w) = only.strip_prefix("gust-task-") {
        println!("gust task {w}w: {:.0}", gust(w.parse().unwrap(), true));
        return;
    }
    if only.is_empty() || only == "gust" {
        row("gust", gust);
    }
    if only.is_empty() || only == "tokio" {
        row("tokio mt", tokio_mt);
        println!("{:<16} {:>10.0}", "tokio ct", tokio_ct());
    }
    if only.is_empty() || only == "ae" {
        row("async-executor", async_executor);
    }
}
