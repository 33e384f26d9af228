//! Virtual time's order at a jump of the clock, under load: in a test
//! binary of its own, as its CPU-burning threads would slow the timing
//! checks of tests/virtual_time.rs running beside it.

use gust::runtime::Builder;
use gust::time::{sleep, timeout};
use std::sync::Arc;
use std::time::Duration;

/// Two timers due at the same virtual instant, one of the `block_on`
/// future (a `timeout`) and one of a task (its sleep, which then ends the
/// task the timeout waits on): the tasks woken by a jump of the clock run
/// before the `block_on` future is polled again, so the timeout sees the
/// task's result in every run, also on a loaded machine (two threads spin
/// here beside the runtime). Both ran at once before: `Elapsed` came in up
/// to 13 of 40 runs under load.
#[test]
fn a_jump_runs_the_woken_tasks_before_the_block_on() {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let burners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    let mut elapsed = 0;
    for _ in 0..100 {
        let rt = Builder::new()
            .workers(1)
            .start_paused(true)
            .build()
            .unwrap();
        let r = rt.block_on(async {
            timeout(Duration::from_secs(1), async {
                gust::spawn(async {
                    sleep(Duration::from_secs(1)).await;
                    7
                })
                .await
                .unwrap()
            })
            .await
        });
        if r.is_err() {
            elapsed += 1;
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for b in burners {
        b.join().unwrap();
    }
    assert_eq!(elapsed, 0, "the timeout won {elapsed} of 100 runs");
}
