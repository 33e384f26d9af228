//! The deadlock detector and what lives outside every runtime: a blocking
//! job started outside any runtime, an `after_func` callback or a `tick`
//! channel made outside any runtime may each wake a runtime's task, so
//! they hold its detector off (`executor/src/trace/deadlock.rs`). In a
//! test binary of its own: these counts are process-wide, and the
//! deadlock tests of `seeing_inside.rs` time their reports.

mod common;

use common::{LONG, rt};
use gust::runtime::OnDeadlock;

/// What wakes a runtime may live outside it: a blocking job started
/// outside any runtime, an `after_func` callback or a `tick` channel made
/// outside any runtime (on the process-wide timer thread). None of these
/// programs is deadlocked; a true deadlock after them is reported.
#[test]
fn gust_work_outside_the_runtime_holds_the_detector_off() {
    gust_work_outside_the_runtime_is_not_a_deadlock();
    a_deadlock_is_reported_after_the_outside_work_ends();
}

fn gust_work_outside_the_runtime_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    // A blocking job from outside any runtime.
    let (tx, rx) = gust::chan::<u8>(0);
    let job = gust::spawn_blocking(move || {
        std::thread::sleep(LONG);
        tx.send_blocking(1).unwrap();
    });
    assert_eq!(rt.block_on(rx.recv()), Some(1));
    rt.block_on(job).unwrap();
    // An `after_func` made outside any runtime.
    let (tx, rx) = gust::chan::<u8>(1);
    let _timer = gust::time::after_func(LONG, move || tx.try_send(2).unwrap());
    assert_eq!(rt.block_on(rx.recv()), Some(2));
    // A `tick` channel made outside, beside a channel nobody sends on.
    let ticks = gust::time::tick(LONG);
    let (_tx, rx) = gust::chan::<u8>(0);
    rt.block_on(async move {
        gust::select! {
            _ = rx.recv() => panic!("nobody sends"),
            t = ticks.recv() => assert!(t.is_some()),
        }
    });
}

/// A true deadlock is still reported once the outside work is gone. (One
/// test with the one above: run beside it, its outside work would hold
/// this report off too.)
fn a_deadlock_is_reported_after_the_outside_work_ends() {
    let rt = rt(1, OnDeadlock::Panic);
    let _job = gust::spawn_blocking(|| std::thread::sleep(LONG));
    let start = std::time::Instant::now();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async {
            let (_tx, rx) = gust::chan::<u8>(0);
            rx.recv().await
        })
    }))
    .expect_err("a deadlock panics block_on");
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.starts_with("all tasks are asleep - deadlock!"), "{msg}");
    let took = start.elapsed();
    // Held off while the job ran; reported once it ended (the upper
    // bound only says "then, not much later": room for a loaded machine).
    assert!(
        took >= LONG && took < LONG + std::time::Duration::from_secs(5),
        "{took:?}"
    );
}
