//! Virtual time (`start_paused`): the clock stands still while anything of
//! the runtime can run and jumps to the next timer when nothing can.

mod common;

use gust::runtime::Builder;
use gust::time::{Ticker, Timer, now, sleep, timeout};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn paused(workers: usize) -> gust::runtime::Runtime {
    Builder::new()
        .workers(workers)
        .start_paused(true)
        .build()
        .unwrap()
}

/// A one-hour timeout finishes in well under 50 ms of real time. The
/// clock jumps once every worker has parked, and under a loaded machine
/// (the test harness runs this binary's tests side by side) a worker may
/// wait for a core longer than that: the best of 3 tries is judged.
#[test]
fn an_hour_long_timeout_takes_no_real_time() {
    for workers in [1, 2] {
        let mut tries = Vec::new();
        for _ in 0..3 {
            let rt = paused(workers);
            let real = Instant::now();
            let (r, waited) = rt.block_on(async {
                let t0 = now();
                let r = timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
                (r, now() - t0)
            });
            assert!(r.is_err());
            assert_eq!(waited, Duration::from_secs(3600));
            tries.push(real.elapsed());
            if tries[tries.len() - 1] < Duration::from_millis(50) {
                break;
            }
        }
        assert!(
            tries[tries.len() - 1] < Duration::from_millis(50),
            "{workers} workers, every try: {tries:?}"
        );
    }
}

#[gust::test(start_paused = true)]
async fn the_attribute_runs_on_virtual_time() {
    let real = Instant::now();
    let t0 = now();
    sleep(Duration::from_secs(86_400)).await;
    assert_eq!(now() - t0, Duration::from_secs(86_400));
    assert!(real.elapsed() < Duration::from_secs(1));
}

/// The clock does not move while a task runs, however long it runs.
#[test]
fn the_clock_stands_still_while_a_task_runs() {
    let rt = paused(1);
    let (a, b) = rt
        .block_on(rt.spawn(async {
            let a = now();
            let spin = Instant::now();
            while spin.elapsed() < Duration::from_millis(20) {
                std::hint::spin_loop();
            }
            (a, now())
        }))
        .unwrap();
    assert_eq!(a, b);
}

/// Nor while a `spawn_blocking` job runs: a task's hour-long sleep ends
/// after the job, and the job's 30 real milliseconds do not move the clock.
#[test]
fn a_blocking_job_holds_the_clock() {
    let rt = paused(1);
    let order = rt.block_on(async {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = log.clone();
        let sleeper = gust::spawn(async move {
            sleep(Duration::from_secs(3600)).await;
            l.lock().unwrap().push("slept");
        });
        let l = log.clone();
        let t0 = now();
        gust::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(30));
            l.lock().unwrap().push("blocking done");
        })
        .await
        .unwrap();
        assert_eq!(now(), t0, "the clock moved while the job ran");
        sleeper.await.unwrap();
        log.lock().unwrap().clone()
    });
    assert_eq!(order, ["blocking done", "slept"]);
}

/// A Go-style program (a ticker, a timer, timeouts, sleeping workers
/// reporting on a channel) gives the same events at the same virtual times
/// in 100 runs.
#[test]
fn a_ticker_and_timeout_program_is_deterministic() {
    fn run() -> Vec<(String, u128)> {
        let rt = paused(1);
        rt.block_on(async {
            let t0 = now();
            let at = move || (now() - t0).as_millis();
            let mut events = Vec::new();
            let (tx, rx) = gust::chan::<(usize, u128)>(0);
            for w in 0..3usize {
                let tx = tx.clone();
                gust::spawn(async move {
                    for i in 0..3u64 {
                        sleep(Duration::from_millis(70 * (w as u64 + 1) + 10 * i)).await;
                        tx.send((w, (now() - t0).as_millis())).await.unwrap();
                    }
                });
            }
            drop(tx);
            let ticker = Ticker::new(Duration::from_millis(100));
            let timer = Timer::new(Duration::from_millis(455));
            let (ctx, _cancel) =
                gust::Context::background().with_timeout(Duration::from_millis(950));
            let mut workers_done = false;
            loop {
                gust::select! {
                    t = ticker.tick() => events.push(("tick".into(), (t - t0).as_millis())),
                    v = rx.recv(), if !workers_done => match v {
                        Some((w, ms)) => events.push((format!("worker {w}"), ms)),
                        None => { workers_done = true; events.push(("workers done".into(), at())) }
                    },
                    _ = timer.wait() => {
                        events.push(("timer".into(), at()));
                        timer.reset(Duration::from_millis(1000));
                    },
                    _ = ctx.done() => { events.push(("deadline".into(), at())); break }
                }
            }
            events
        })
    }
    let first = run();
    assert!(first.len() > 10, "{first:?}");
    assert_eq!(first.last().unwrap(), &("deadline".to_string(), 950));
    for i in 1..100 {
        assert_eq!(run(), first, "run {i} differs");
    }
}

/// A sleep, timeout or `after` made outside any runtime and first polled in
/// a paused one moves to its virtual clock with the time it had left, so
/// `rt.block_on(sleep(1h))` takes an hour of virtual time and no real time,
/// as `rt.block_on(async { sleep(1h).await })` does. (On a thread, so that
/// a regression fails the test instead of sleeping for hours.)
#[test]
fn a_sleep_made_outside_moves_to_the_virtual_clock() {
    const HOUR: Duration = Duration::from_secs(3600);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = paused(2);
        let t0 = rt.block_on(async { now() });
        rt.block_on(sleep(HOUR));
        let t1 = rt.block_on(async { now() });
        assert_eq!(t1 - t0, HOUR);
        let r = rt.block_on(gust::time::timeout(HOUR, std::future::pending::<()>()));
        assert!(r.is_err());
        // `after` yields the instant it fired at, on the virtual clock;
        // a zero one made outside too.
        assert_eq!(rt.block_on(gust::time::after(HOUR)) - t1, 2 * HOUR);
        assert_eq!(
            rt.block_on(gust::time::after(Duration::ZERO)) - t1,
            2 * HOUR
        );
        // Awaited in a task of the runtime.
        let s = sleep(HOUR);
        rt.block_on(rt.spawn(s)).unwrap();
        assert_eq!(rt.block_on(async { now() }) - t1, 3 * HOUR);
        // Reset before its first poll: still moves.
        let mut s = sleep(Duration::MAX);
        s.reset(Instant::now() + HOUR);
        rt.block_on(s);
        let t2 = rt.block_on(async { now() });
        let slept = t2 - t1 - 3 * HOUR;
        assert!(slept >= HOUR - Duration::from_secs(1), "{slept:?}");
        assert!(slept <= HOUR, "{slept:?}");
        // A deadline made outside: what was left of it when it was made.
        rt.block_on(gust::time::sleep_until(Instant::now() + HOUR));
        let slept = rt.block_on(async { now() }) - t2;
        assert!(slept >= HOUR - Duration::from_secs(1), "{slept:?}");
        assert!(slept <= HOUR, "{slept:?}");
        // Reset inside the runtime before its first poll: the new deadline
        // is an instant on the runtime's clock.
        let mut s = sleep(Duration::MAX);
        let t3 = rt.block_on(async { now() });
        let t4 = rt.block_on(async move {
            s.reset(now() + HOUR);
            s.await;
            now()
        });
        assert_eq!(t4 - t3, HOUR);
        tx.send(()).unwrap();
    });
    let real = Instant::now();
    rx.recv_timeout(Duration::from_secs(30))
        .expect("sleeps made outside the paused runtime took real time (or failed: see above)");
    assert!(
        real.elapsed() < Duration::from_secs(5),
        "{:?}",
        real.elapsed()
    );
}

/// The same on a runtime with the real clock: a sleep made outside keeps
/// real time.
#[test]
fn a_sleep_made_outside_a_real_runtime_keeps_real_time() {
    let rt = gust::runtime::Builder::new().workers(1).build().unwrap();
    let s = sleep(Duration::from_millis(20));
    let real = Instant::now();
    rt.block_on(s);
    let took = real.elapsed();
    assert!(took >= Duration::from_millis(20), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

/// A sleep shorter than the time the runtime took to build completes: its
/// timer set's fired-through mark counts from the virtual clock's own start,
/// so the pop that fires it publishes a mark past its deadline. (Counted
/// from the real time the set was built, that pop published nothing, and
/// the woken sleep, re-polled with the same waker, stayed pending: the
/// deadlock detector then reported the runtime.)
#[test]
fn a_sleep_shorter_than_the_runtime_build_completes() {
    for workers in [1, 2] {
        for d in [
            Duration::from_nanos(1),
            Duration::from_micros(1),
            Duration::from_micros(500),
            Duration::from_millis(2),
        ] {
            // On a thread, so that a hang fails the test instead.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let rt = paused(workers);
                let slept = rt
                    .block_on(rt.spawn(async move {
                        let t0 = now();
                        sleep(d).await;
                        now() - t0
                    }))
                    .unwrap();
                let rt = paused(workers);
                rt.block_on(async move { gust::time::sleep_until(now() + d).await });
                tx.send(slept).unwrap();
            });
            let slept = rx
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("a {d:?} sleep at {workers} workers never completed"));
            assert!(slept >= d, "{d:?}: slept {slept:?}");
        }
    }
}

/// A runtime keeps a timer set per worker and one for its `block_on`
/// threads; the virtual clock still jumps to the earliest deadline of all
/// of them, so sleeps made on different workers and in `block_on` end in
/// deadline order.
#[test]
fn sleeps_from_every_worker_and_block_on_end_in_deadline_order() {
    let rt = paused(2);
    let log = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let t0 = now();
        let mut hs = Vec::new();
        for i in (0..40u64).rev() {
            let log = log.clone();
            hs.push(gust::spawn(async move {
                sleep(Duration::from_millis(10 * i + 5)).await;
                log.lock().unwrap().push(i);
            }));
        }
        // The block_on's own sleeps, between the tasks' deadlines.
        for i in 0..4u64 {
            gust::time::sleep_until(t0 + Duration::from_millis(100 * i + 1)).await;
            log.lock().unwrap().push(1000 + i);
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let log = log.lock().unwrap().clone();
    let mut by_deadline: Vec<(u64, u64)> = log
        .iter()
        .map(|&e| {
            if e >= 1000 {
                (100 * (e - 1000) + 1, e)
            } else {
                (10 * e + 5, e)
            }
        })
        .collect();
    by_deadline.sort();
    let expected: Vec<u64> = by_deadline.into_iter().map(|(_, e)| e).collect();
    assert_eq!(log, expected);
}

/// A `spawn_blocking` job holds the clock still while it runs, but not
/// while it waits in gust's `block_on` (counted as that `block_on` then):
/// a job that sleeps 10 s of virtual time ends, at once, after exactly
/// 10 s of it. It hung before (the job held the clock that its own sleep
/// waited on).
#[test]
fn a_blocking_job_may_wait_on_a_virtual_timer() {
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = paused(1);
        let waited = rt.block_on(async {
            let t0 = now();
            gust::spawn_blocking(|| gust::block_on(sleep(Duration::from_secs(10))))
                .await
                .unwrap();
            now() - t0
        });
        let _ = done_tx.send(waited);
    });
    let waited = done
        .recv_timeout(Duration::from_secs(10))
        .expect("the job's sleep never ended");
    assert_eq!(waited, Duration::from_secs(10));
}

/// A wait of weeks reads as weeks in the dump (stamps were 32-bit
/// milliseconds: a wait past 24.8 days read as 0ms).
#[test]
fn a_dump_shows_a_wait_of_thirty_days() {
    let rt = Builder::new()
        .workers(1)
        .start_paused(true)
        .on_deadlock(gust::runtime::OnDeadlock::Off)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = gust::chan::<u8>(0);
        let h = gust::task::Builder::new()
            .name("waiter")
            .spawn(async move { rx.recv().await });
        while gust::runtime::dump().tasks()[0].state() != gust::runtime::TaskState::Waiting {
            gust::yield_now().await;
        }
        let month = Duration::from_secs(30 * 86_400);
        sleep(month).await;
        let dump = gust::runtime::dump();
        assert_eq!(dump.tasks()[0].waiting_for(), month);
        assert!(
            dump.to_string().contains("[chan receive, 720h0m0s]"),
            "{dump}"
        );
        drop(tx);
        assert_eq!(h.await.unwrap(), None);
    });
}

/// Runs `f` on a thread; fails after 10 s instead of hanging.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    common::within(Duration::from_secs(10), "still waiting", f)
}

/// A sleep made on a paused runtime and awaited elsewhere while that
/// runtime lives follows its clock (it jumps, the sleep ends at once); once
/// the runtime is gone, its clock runs in real time from where it stood,
/// so the sleep takes at most the virtual time it had left. (It hung
/// everywhere before: registered off its runtime, with a virtual deadline.)
#[test]
fn a_virtual_sleep_awaited_off_its_runtime_completes() {
    let took = within(|| {
        let a = paused(1);
        // Made in `a` (returned in an `Option`: a future itself).
        let s = a.block_on(async { Some(sleep(Duration::from_secs(3600))) });
        let s = s.unwrap();
        let real = Instant::now();
        futures::executor::block_on(s);
        real.elapsed()
    });
    assert!(took < Duration::from_secs(5), "{took:?}");
    let took = within(|| {
        let a = paused(1);
        let s = a.block_on(async { Some(sleep(Duration::from_millis(100))) });
        let s = s.unwrap();
        let b = Builder::new().workers(1).build().unwrap();
        let real = Instant::now();
        b.block_on(s);
        real.elapsed()
    });
    assert!(took < Duration::from_secs(5), "{took:?}");
    let took = within(|| {
        let a = paused(1);
        let s = a.block_on(async {
            let mut s = Box::pin(sleep(Duration::from_millis(100)));
            assert!(futures::poll!(&mut s).is_pending()); // registered in `a`
            Some(s)
        });
        let s = s.unwrap();
        drop(a);
        let real = Instant::now();
        futures::executor::block_on(s);
        real.elapsed()
    });
    assert!(took < Duration::from_secs(5), "{took:?}");
}

/// A `Timer` and a Context deadline made on a paused runtime after a jump
/// of an hour, used after the runtime is dropped: they fire within the
/// virtual time they had left (1 s; at once if the idle runtime jumped to
/// them before it shut down), not after the hour the jump skipped (they
/// moved to the timer thread with their virtual deadline).
#[test]
fn virtual_timers_outlive_their_runtime_with_the_time_they_had_left() {
    let took = within(|| {
        let rt = paused(1);
        let t = rt.block_on(async {
            sleep(Duration::from_secs(3600)).await;
            Timer::new(Duration::from_secs(1))
        });
        drop(rt);
        let real = Instant::now();
        t.wait_blocking();
        real.elapsed()
    });
    assert!(took < Duration::from_secs(5), "{took:?}");
    let took = within(|| {
        let rt = paused(1);
        let (ctx, cancel) = rt.block_on(async {
            sleep(Duration::from_secs(3600)).await;
            gust::Context::background().with_timeout(Duration::from_secs(1))
        });
        drop(rt);
        let real = Instant::now();
        futures::executor::block_on(ctx.done());
        drop(cancel);
        (real.elapsed(), ctx.err())
    });
    assert_eq!(took.1, Some(gust::context::ContextError::DeadlineExceeded));
    assert!(took.0 < Duration::from_secs(5), "{took:?}");
}

/// The virtual clock counts 584 years of nanoseconds (twice Go's longest
/// `Duration`): a sleep of 570 years ends exactly then, and one due past
/// that reach is due never, as `Duration::MAX` is: with nothing else left
/// it is reported as a deadlock. Before, the clock jumped toward it without
/// getting there, with one core spinning, and the test hung (found from
/// outside: `sleep(Duration::from_millis(u64::MAX))` under
/// `start_paused`).
#[test]
fn a_sleep_past_the_clocks_reach_is_due_never() {
    let rt = paused(1);
    let (slept, r) = rt.block_on(async {
        let t0 = now();
        let long = Duration::from_secs(18_000_000_000); // 570 years
        sleep(long).await;
        let slept = now() - t0;
        // Past the reach, under a timeout that is not: the timeout wins.
        let t1 = now();
        let r = timeout(Duration::from_secs(1), sleep(Duration::from_secs(1 << 36))).await;
        assert_eq!(now() - t1, Duration::from_secs(1));
        (slept, r)
    });
    assert_eq!(slept, Duration::from_secs(18_000_000_000));
    assert!(r.is_err());

    type Wait = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    let waits: [(&str, Wait); 4] = [
        ("sleep 2179 years", || {
            Box::pin(sleep(Duration::from_secs(1 << 36)))
        }),
        ("sleep u64::MAX ms", || {
            Box::pin(sleep(Duration::from_millis(u64::MAX)))
        }),
        ("timer", || {
            Box::pin(async {
                Timer::new(Duration::from_secs(1 << 36)).wait().await;
            })
        }),
        ("ticker", || {
            Box::pin(async {
                Ticker::new(Duration::from_secs(1 << 36)).tick().await;
            })
        }),
    ];
    for (what, wait) in waits {
        let msg = within(move || {
            let rt = Builder::new()
                .workers(1)
                .start_paused(true)
                .on_deadlock(gust::runtime::OnDeadlock::Panic)
                .build()
                .unwrap();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(wait())))
                .map_err(|e| e.downcast_ref::<String>().cloned())
        })
        .expect_err(what)
        .expect("a formatted message");
        assert!(
            msg.starts_with("all tasks are asleep - deadlock!"),
            "{what}: {msg}"
        );
    }
}
