//! Memory per idle task: 1M tasks, each parked on a receive from its own
//! rendezvous channel (gust `chan(0)`; tokio `mpsc::channel(1)`, tokio has no
//! rendezvous; smol `async_channel::bounded(1)`; kanal `bounded_async(0)` and
//! flume `bounded(0)` on tokio), while the root task holds every sender.
//!
//! Each runtime runs in its own child process (this binary re-executed with
//! `--child <runtime>`), so peaks do not mix. The child reads `VmRSS` and
//! `VmHWM` from `/proc/self/status` before spawning (runtime already built)
//! and once every task has parked, and prints one line:
//!
//! ```text
//! memory<TAB><runtime><TAB><tasks><TAB><RSS growth bytes per task><TAB><peak growth bytes per task>
//! ```
//!
//! The growth includes the channel and the sender the root keeps for each task,
//! as Go's side (a goroutine blocked on `<-ch`, the channel kept in a slice)
//! does. Run with `cargo bench --bench memory`; `GUST_MEM_TASKS` overrides
//! the 1M, `GUST_BENCH_RUNTIMES=gust,tokio` picks runtimes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const RUNTIMES: [&str; 5] = ["gust", "tokio", "smol", "kanal", "flume"];

/// (VmRSS, VmHWM) in bytes, from /proc/self/status.
fn rss() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn tasks() -> usize {
    std::env::var("GUST_MEM_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Spawns `n` tasks with `spawn`, each parked on `recv` of its own channel;
/// waits (yielding) until all have started, then a little more so each has
/// registered its waker; returns the measurement, then lets them all go.
async fn park_all<Tx: Send + 'static, F: Future<Output = ()> + Send + 'static>(
    n: usize,
    before: (u64, u64),
    mk: impl Fn(Arc<AtomicUsize>) -> (Tx, F),
    spawn: impl Fn(F),
    yield_now: impl Fn() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>,
) -> (u64, u64) {
    let started = Arc::new(AtomicUsize::new(0));
    let mut txs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, fut) = mk(started.clone());
        txs.push(tx);
        spawn(fut);
    }
    while started.load(Ordering::Acquire) < n {
        yield_now().await;
    }
    for _ in 0..16 {
        yield_now().await;
    }
    std::thread::sleep(Duration::from_millis(50));
    let after = rss();
    let r = (
        after.0.saturating_sub(before.0),
        after.1.saturating_sub(before.1),
    );
    drop(txs);
    r
}

fn child(rt: &str) {
    let n = tasks();
    let w = workers();
    let (grow, peak) = match rt {
        "gust" => {
            let rt = gust::runtime::Builder::new()
                .workers(w)
                .build()
                .expect("gust runtime");
            let before = rss();
            let h = rt.spawn(park_all(
                n,
                before,
                |s| {
                    let (tx, rx) = gust::chan::<u64>(0);
                    (tx, async move {
                        s.fetch_add(1, Ordering::Release);
                        let _ = rx.recv().await;
                    })
                },
                |f| drop(gust::spawn(f)),
                || Box::pin(gust::yield_now()),
            ));
            rt.block_on(h).expect("gust root task")
        }
        "tokio" | "kanal" | "flume" => {
            let trt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(w)
                .build()
                .expect("tokio runtime");
            let before = rss();
            let y = || -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> {
                Box::pin(tokio::task::yield_now())
            };
            let h = match rt {
                "tokio" => trt.spawn(park_all(
                    n,
                    before,
                    |s| {
                        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1);
                        (tx, async move {
                            s.fetch_add(1, Ordering::Release);
                            let _ = rx.recv().await;
                        })
                    },
                    |f| drop(tokio::spawn(f)),
                    y,
                )),
                "kanal" => trt.spawn(park_all(
                    n,
                    before,
                    |s| {
                        let (tx, rx) = kanal::bounded_async::<u64>(0);
                        (tx, async move {
                            s.fetch_add(1, Ordering::Release);
                            let _ = rx.recv().await;
                        })
                    },
                    |f| drop(tokio::spawn(f)),
                    y,
                )),
                _ => trt.spawn(park_all(
                    n,
                    before,
                    |s| {
                        let (tx, rx) = flume::bounded::<u64>(0);
                        (tx, async move {
                            s.fetch_add(1, Ordering::Release);
                            let _ = rx.recv_async().await;
                        })
                    },
                    |f| drop(tokio::spawn(f)),
                    y,
                )),
            };
            trt.block_on(h).expect("tokio root task")
        }
        "smol" => {
            let ex: &'static async_executor::Executor<'static> =
                Box::leak(Box::new(async_executor::Executor::new()));
            for _ in 0..w {
                std::thread::spawn(move || {
                    futures_lite::future::block_on(ex.run(futures_lite::future::pending::<()>()))
                });
            }
            let before = rss();
            let h = ex.spawn(park_all(
                n,
                before,
                |s| {
                    let (tx, rx) = async_channel::bounded::<u64>(1);
                    (tx, async move {
                        s.fetch_add(1, Ordering::Release);
                        let _ = rx.recv().await;
                    })
                },
                |f| ex.spawn(f).detach(),
                || Box::pin(futures_lite::future::yield_now()),
            ));
            futures_lite::future::block_on(h)
        }
        other => panic!("unknown runtime {other}"),
    };
    println!(
        "memory\t{rt}\t{n}\t{}\t{}",
        grow / n as u64,
        peak / n as u64
    );
    // Exit at once: tearing down 1M tasks is not what is measured.
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

/// Memory of one idle channel: `n` rendezvous channels (capacity 1 where the
/// crate has no rendezvous), both ends kept, no task; prints
/// `chanmem<TAB><crate><TAB><n><TAB><RSS growth bytes per channel>`.
fn chan_child(rt: &str) {
    let n = tasks();
    let before = rss().0;
    fn keep<T>(n: usize, make: impl Fn() -> T) -> Vec<T> {
        (0..n).map(|_| make()).collect()
    }
    let grow = match rt {
        "gust" => {
            let v = keep(n, || gust::chan::<u64>(0));
            let g = rss().0 - before;
            std::hint::black_box(&v);
            g
        }
        "tokio" => {
            let v = keep(n, || tokio::sync::mpsc::channel::<u64>(1));
            let g = rss().0 - before;
            std::hint::black_box(&v);
            g
        }
        "smol" => {
            let v = keep(n, || async_channel::bounded::<u64>(1));
            let g = rss().0 - before;
            std::hint::black_box(&v);
            g
        }
        "kanal" => {
            let v = keep(n, || kanal::bounded_async::<u64>(0));
            let g = rss().0 - before;
            std::hint::black_box(&v);
            g
        }
        "flume" => {
            let v = keep(n, || flume::bounded::<u64>(0));
            let g = rss().0 - before;
            std::hint::black_box(&v);
            g
        }
        other => panic!("unknown channel crate {other}"),
    };
    println!("chanmem\t{rt}\t{n}\t{}", grow / n as u64);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    std::process::exit(0);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(args.get(i + 1).expect("--child RUNTIME"));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--chan-child") {
        chan_child(args.get(i + 1).expect("--chan-child CRATE"));
        return;
    }
    let only: Option<Vec<String>> = std::env::var("GUST_BENCH_RUNTIMES")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let exe = std::env::current_exe().expect("current_exe");
    for rt in RUNTIMES {
        if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == rt)) {
            continue;
        }
        let out = std::process::Command::new(&exe)
            .arg("--child")
            .arg(rt)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let s = String::from_utf8_lossy(&o.stdout);
                match s.lines().find(|l| l.starts_with("memory\t")) {
                    Some(l) => println!("{l}"),
                    None => println!("memory\t{rt}\t0\tFAIL\tFAIL"),
                }
            }
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let last = err
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" | ");
                eprintln!("memory: {rt} failed ({}): {last}", o.status);
                println!("memory\t{rt}\t0\tFAIL\tFAIL");
            }
            Err(e) => {
                eprintln!("memory: {rt}: cannot run the child: {e}");
                println!("memory\t{rt}\t0\tFAIL\tFAIL");
            }
        }
        let out = std::process::Command::new(&exe)
            .arg("--chan-child")
            .arg(rt)
            .output();
        match out {
            Ok(o) if o.status.success() => {
                let s = String::from_utf8_lossy(&o.stdout);
                match s.lines().find(|l| l.starts_with("chanmem\t")) {
                    Some(l) => println!("{l}"),
                    None => println!("chanmem\t{rt}\t0\tFAIL"),
                }
            }
            _ => {
                eprintln!("memory: {rt}: the channel-memory child failed");
                println!("chanmem\t{rt}\t0\tFAIL");
            }
        }
    }
}
