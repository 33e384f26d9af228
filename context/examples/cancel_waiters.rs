//! Times one cancel waking 100k tasks that wait on one context, split into
//! the `cancel()` call (the wake loop) and the drain (until every woken task
//! has finished). `cargo run --release -p gust-context --example cancel_waiters [workers]`.

use std::time::Instant;

use gust_context::Context;
use gust_waitgroup::WaitGroup;

fn main() {
    let workers: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let rt = gust_executor::runtime::Builder::new()
        .workers(workers)
        .build()
        .unwrap();
    const N: usize = 100_000;
    let root = rt.spawn(async move {
        for round in 0..5 {
            let (ctx, cancel) = Context::background().with_cancel();
            let ready = WaitGroup::new();
            let finished = WaitGroup::new();
            ready.add(N);
            for _ in 0..N {
                let (ctx, ready) = (ctx.clone(), ready.clone());
                drop(finished.go(async move {
                    ready.done();
                    ctx.done().await;
                }));
            }
            ready.wait().await;
            gust_executor::yield_now().await;
            let start = Instant::now();
            cancel.cancel();
            let woke = start.elapsed();
            finished.wait().await;
            let all = start.elapsed();
            println!(
                "round {round}: {workers}w cancel() {:.0} ns/waiter, until all finished {:.0} ns/waiter",
                woke.as_nanos() as f64 / N as f64,
                all.as_nanos() as f64 / N as f64
            );
        }
    });
    rt.block_on(root).unwrap();
}
