//! A stand-in (executor/src/scheduler/stand_in.rs) runs a one-worker
//! runtime's tasks while its worker blocks in a `_blocking` wait, and
//! leaves once the worker is back: the process's threads come back to what
//! they were. (Its own test binary: it counts this process's threads.)

mod common;

use std::time::{Duration, Instant};

/// Threads of this process named `gust-stand-in`.
fn stand_ins() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter(|t| {
            let comm = t.as_ref().unwrap().path().join("comm");
            std::fs::read_to_string(comm).is_ok_and(|c| c.trim() == "gust-stand-in")
        })
        .count()
}

#[test]
#[cfg(target_os = "linux")]
fn a_stand_in_runs_while_the_worker_blocks_and_leaves_after() {
    common::within(Duration::from_secs(20), "hung", stand_in_comes_and_goes);
}

fn stand_in_comes_and_goes() {
    let rt = gust::runtime::Builder::new().workers(1).build().unwrap();
    let during = rt
        .block_on(rt.spawn(async {
            let (tx, rx) = gust::chan::<usize>(0);
            drop(gust::spawn(async move {
                // Runs on the stand-in: the only worker blocks below.
                tx.send(stand_ins()).await.unwrap();
            }));
            rx.recv_blocking().unwrap()
        }))
        .unwrap();
    assert_eq!(during, 1, "one stand-in ran the sender");
    // The worker is back: the stand-in leaves at its next look (at most
    // its longest nap, 10 ms, later).
    let deadline = Instant::now() + Duration::from_secs(10);
    while stand_ins() > 0 {
        assert!(Instant::now() < deadline, "the stand-in did not leave");
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(rt);
}
