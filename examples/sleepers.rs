//! Six goroutines that each sleep five seconds finish in about five seconds,
//! not thirty, because they sleep at the same time; a `WaitGroup` tells `main`
//! when all are done.
//!
//! The Go program this mirrors:
//!
//! ```go
//! var wg sync.WaitGroup
//! for i := 1; i <= 6; i++ {
//!     wg.Add(1)
//!     go func(i int) { defer wg.Done(); time.Sleep(5 * time.Second); fmt.Println("done", i) }(i)
//! }
//! wg.Wait()
//! ```
//!
//! `GUST_SLEEP_MS` shortens the sleep (the tests use it).

use std::time::{Duration, Instant};

use gust::WaitGroup;

fn main() {
    let nap = match std::env::var("GUST_SLEEP_MS") {
        Err(_) => Duration::from_secs(5),
        Ok(v) => match v.parse() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                eprintln!("sleepers: invalid GUST_SLEEP_MS={v:?}: expected milliseconds");
                std::process::exit(2);
            }
        },
    };
    let start = Instant::now();
    gust::block_on(async {
        let wg = WaitGroup::new();
        for i in 1..=6 {
            wg.go(async move {
                gust::time::sleep(nap).await;
                println!("goroutine {i} done after {:.2?}", start.elapsed());
            });
        }
        wg.wait().await;
    });
    println!(
        "six sleeps of {nap:?} each took {:.2?} in all",
        start.elapsed()
    );
}
