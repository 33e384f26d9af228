//! Timers kept by the runtime (the runtime's I/O driver fires them): a
//! deadline still ends a task that never yields, and timers outlive the
//! runtime they were made on.

use gust::runtime::Builder;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every worker busy in a loop that never yields: the context's deadline
/// still fires (the timer thread's watch, `time/store.rs`), within the
/// watch's grace of 5 ms (checked loosely: under 1 s).
#[test]
fn a_deadline_ends_tasks_that_never_yield() {
    for workers in [1, 2] {
        let rt = Builder::new().workers(workers).build().unwrap();
        let hogs: Vec<_> = (0..workers)
            .map(|_| {
                rt.spawn(async {
                    let start = Instant::now();
                    let (ctx, _cancel) =
                        gust::Context::background().with_timeout(Duration::from_millis(20));
                    while !ctx.is_done() {
                        std::hint::spin_loop();
                    }
                    start.elapsed()
                })
            })
            .collect();
        for h in hogs {
            let took = rt.block_on(h).unwrap();
            assert!(took >= Duration::from_millis(20));
            assert!(took < Duration::from_secs(1), "{workers} workers: {took:?}");
        }
    }
}

/// The same for an `after_func` callback.
#[test]
fn after_func_fires_while_every_worker_is_busy() {
    let rt = Builder::new().workers(1).build().unwrap();
    let h = rt.spawn(async {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _t = gust::time::after_func(Duration::from_millis(10), move || {
            f.store(true, Ordering::SeqCst)
        });
        while !flag.load(Ordering::SeqCst) {
            std::hint::spin_loop();
        }
    });
    rt.block_on(h).unwrap();
}

/// A sleep made on a runtime that is then dropped still completes (it moves
/// to the timer thread), and so does an `after_func`; `stop` still reaches
/// a moved callback.
#[test]
fn timers_outlive_their_runtime() {
    let rt = Builder::new().workers(1).build().unwrap();
    let (mut sleep, fired, stopped) = rt.block_on(async {
        // Registered with the runtime by a first poll inside it.
        let mut sleep = Box::pin(gust::time::sleep(Duration::from_millis(30)));
        assert!(futures::poll!(sleep.as_mut()).is_pending());
        let fired = Arc::new(AtomicBool::new(false));
        let f = fired.clone();
        let t1 = gust::time::after_func(Duration::from_millis(30), move || {
            f.store(true, Ordering::SeqCst)
        });
        let t2 = gust::time::after_func(Duration::from_millis(30), || panic!("stopped"));
        drop(t1);
        (sleep, fired, t2)
    });
    let start = Instant::now();
    drop(rt);
    assert!(stopped.stop(), "the moved callback is still pending");
    futures::executor::block_on(sleep.as_mut());
    assert!(start.elapsed() < Duration::from_secs(5));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !fired.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the moved after_func never ran");
        std::thread::sleep(Duration::from_millis(1));
    }
}
