//! Executor-only ping-pong: two tasks hand a counter back and forth over a
//! minimal hand-written cell (a mutex-protected value + waker), so the cost
//! is the executor's wake/schedule/poll path, not a channel's. Also a chain
//! of tasks (sieve-like: each stage forwards to the next). ns per round trip
//! / per hop, median of 7 runs; gust vs tokio (multi-thread), driven the
//! same way for both: from a spawned root task ("task") and from
//! `block_on` ("block_on"). `PP_N` sets the round trips (default 200000);
//! `PP_ONLY=task` or `PP_ONLY=block_on` runs one mode only.
//! `cargo bench -p gust-executor --bench pingpong`

use std::future::{Future, poll_fn};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Instant;

/// Round trips per run (`PP_N` overrides).
static N_: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn n() -> u64 {
    *N_.get_or_init(|| {
        std::env::var("PP_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000)
    })
}
const RUNS: usize = 7;

/// A one-value mailbox: `put` stores and wakes the reader; `take` waits.
#[derive(Default)]
struct Cell(Mutex<(Option<u64>, Option<Waker>)>);

impl Cell {
    fn put(&self, v: u64) {
        let w = {
            let mut g = self.0.lock().unwrap();
            g.0 = Some(v);
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }

    fn take(&self) -> impl Future<Output = u64> + '_ {
        poll_fn(|cx| {
            let mut g = self.0.lock().unwrap();
            match g.0.take() {
                Some(v) => Poll::Ready(v),
                None => {
                    match &mut g.1 {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        slot => *slot = Some(cx.waker().clone()),
                    }
                    Poll::Pending
                }
            }
        })
    }
}

trait Rt {
    fn run(&self, f: impl Future<Output = ()> + Send + 'static);
    fn go(f: impl Future<Output = ()> + Send + 'static);
}

struct Gust(gust_executor::runtime::Runtime, bool);
impl Rt for Gust {
    fn run(&self, f: impl Future<Output = ()> + Send + 'static) {
        if self.1 {
            self.0.block_on(f);
        } else {
            self.0.block_on(self.0.spawn(f)).unwrap();
        }
    }
    fn go(f: impl Future<Output = ()> + Send + 'static) {
        drop(gust_executor::spawn(f));
    }
}

struct Tokio(tokio::runtime::Runtime, bool);
impl Rt for Tokio {
    fn run(&self, f: impl Future<Output = ()> + Send + 'static) {
        if self.1 {
            self.0.block_on(f);
        } else {
            self.0.block_on(self.0.spawn(f)).unwrap();
        }
    }
    fn go(f: impl Future<Output = ()> + Send + 'static) {
        drop(tokio::spawn(f));
    }
}

async fn pingpong<R: Rt>() {
    let a = Arc::new(Cell::default());
    let b = Arc::new(Cell::default());
    let (a2, b2) = (a.clone(), b.clone());
    R::go(async move {
        loop {
            let v = a2.take().await;
            b2.put(v + 1);
            if v + 1 >= 2 * n() {
                return;
            }
        }
    });
    let mut v = 0;
    while v < 2 * n() {
        a.put(v);
        v = b.take().await;
    }
}

const STAGES: usize = 8;

async fn chain<R: Rt>() {
    let cells: Vec<Arc<Cell>> = (0..=STAGES).map(|_| Arc::new(Cell::default())).collect();
    let back: Vec<Arc<Cell>> = (0..=STAGES).map(|_| Arc::new(Cell::default())).collect();
    for i in 0..STAGES {
        let (inp, out) = (cells[i].clone(), cells[i + 1].clone());
        let (ack_in, ack_out) = (back[i + 1].clone(), back[i].clone());
        R::go(async move {
            loop {
                let v = inp.take().await;
                out.put(v);
                ack_in.take().await; // rendezvous: wait for the next stage
                ack_out.put(0);
                if v == u64::MAX {
                    return;
                }
            }
        });
    }
    let (first, last, ack_first, ack_last) = (
        cells[0].clone(),
        cells[STAGES].clone(),
        back[0].clone(),
        back[STAGES].clone(),
    );
    for i in 0..n() / 8 {
        first.put(if i + 1 == n() / 8 { u64::MAX } else { i });
        last.take().await;
        ack_last.put(0);
        ack_first.take().await;
    }
}

fn measure(mut f: impl FnMut()) -> f64 {
    let mut v: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as f64
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[RUNS / 2]
}

fn main() {
    let only = std::env::var("PP_ONLY").unwrap_or_default();
    for outside in [false, true] {
        if only.contains("block_on") && !outside || only.contains("task") && outside {
            continue;
        }
        for workers in [1, 2] {
            let g = Gust(
                gust_executor::runtime::Builder::new()
                    .workers(workers)
                    .build()
                    .unwrap(),
                outside,
            );
            let t = Tokio(
                if workers == 1 && !outside && only.contains("ct") {
                    tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap()
                } else {
                    tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(workers)
                        .build()
                        .unwrap()
                },
                outside,
            );
            let where_ = if outside { "block_on" } else { "task" };
            let gp = measure(|| g.run(pingpong::<Gust>())) / n() as f64;
            let tp = measure(|| t.run(pingpong::<Tokio>())) / n() as f64;
            let gc = measure(|| g.run(chain::<Gust>())) / (n() / 8 * STAGES as u64) as f64;
            let tc = measure(|| t.run(chain::<Tokio>())) / (n() / 8 * STAGES as u64) as f64;
            println!(
                "{where_:8} {workers}w  pingpong ns/rt: gust {gp:7.0} tokio {tp:7.0} | chain ns/hop: gust {gc:7.0} tokio {tc:7.0}"
            );
        }
    }
}
