//! Timers: never early, about on time, Duration::MAX, cancellation, after,
//! timeout, Ticker, after_func; on gust, on futures::executor, on threads.

use futures::StreamExt;
use gust_executor::time::{
    __pending_timers, Ticker, after, after_func, after_func_at, sleep, sleep_until, timeout,
};
use gust_executor::{block_on, spawn};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SAMPLES: u32 = if cfg!(miri) { 5 } else { 200 };

#[test]
fn sleep_never_early_many_samples() {
    let hs: Vec<_> = (0..SAMPLES)
        .map(|i| {
            spawn(async move {
                let d = Duration::from_micros(u64::from(i % 50) * 100);
                let start = Instant::now();
                sleep(d).await;
                start.elapsed().checked_sub(d).expect("timer fired early")
            })
        })
        .collect();
    let mut late = Vec::new();
    for h in hs {
        late.push(block_on(h).unwrap());
    }
    late.sort();
    let median = late[late.len() / 2];
    let p90 = late[late.len() * 9 / 10];
    eprintln!("timer lateness: median {median:?}, p90 {p90:?}");
    // About a millisecond on a quiet machine; the bound leaves room for a
    // loaded CI machine (never early is the hard property, checked above).
    assert!(
        median < Duration::from_millis(25),
        "median lateness {median:?}"
    );
}

#[test]
fn sleep_until_and_after_on_plain_thread() {
    let start = Instant::now();
    block_on(sleep_until(start + Duration::from_millis(3)));
    assert!(start.elapsed() >= Duration::from_millis(3));
    let fired = block_on(after(Duration::from_millis(2)));
    assert!(fired >= start + Duration::from_millis(5));
}

#[test]
fn works_on_futures_executor() {
    let start = Instant::now();
    futures::executor::block_on(async {
        sleep(Duration::from_millis(5)).await;
    });
    assert!(start.elapsed() >= Duration::from_millis(5));
}

#[test]
fn duration_max_never_fires_and_does_not_overflow() {
    let r = block_on(timeout(Duration::from_millis(5), sleep(Duration::MAX)));
    assert!(r.is_err());
    let e = r.unwrap_err();
    assert_eq!(e.to_string(), "deadline has elapsed");
    let _: &dyn std::error::Error = &e;
    assert!(block_on(timeout(Duration::MAX, async { 1 })).is_ok());
    assert!(sleep(Duration::MAX).deadline().is_none());
    let t = after_func(Duration::MAX, || unreachable!());
    assert!(t.stop());
    assert!(!t.stop());
}

#[test]
fn dropped_timer_frees_its_entry() {
    // Other tests share the driver: use a far deadline we can recognise.
    let before = __pending_timers();
    let mut s = Box::pin(sleep(Duration::from_secs(3600)));
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(s.as_mut().poll(&mut cx).is_pending());
    assert!(__pending_timers() > before || __pending_timers() >= 1);
    drop(s);
    // Timeout future dropped before its deadline frees the entry too.
    let mut t = Box::pin(timeout(
        Duration::from_secs(3600),
        std::future::pending::<()>(),
    ));
    assert!(t.as_mut().poll(&mut cx).is_pending());
    drop(t);
    let start = Instant::now();
    while __pending_timers() > before {
        assert!(start.elapsed() < Duration::from_secs(5), "entries leaked");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn timeout_passes_output() {
    assert_eq!(
        block_on(timeout(Duration::from_secs(5), async { 7 })),
        Ok(7)
    );
}

#[test]
fn ticker_first_tick_after_one_period_and_schedule() {
    let period = Duration::from_millis(5);
    let start = Instant::now();
    let t = Ticker::new(period);
    let t1 = block_on(t.tick());
    assert!(t1 >= start + period);
    assert!(Instant::now() >= t1);
    let t2 = block_on(t.tick());
    // One period later, or a whole number of periods if this reader was
    // descheduled past a tick (then it skipped, as Go's ticker does).
    assert!(t2 > t1);
    assert_eq!((t2 - t1).as_nanos() % period.as_nanos(), 0);
}

#[test]
fn ticker_slow_reader_gets_one_stale_tick() {
    let period = Duration::from_millis(10);
    let t = Ticker::new(period);
    let first_due = block_on(t.tick());
    std::thread::sleep(period * 5 + period / 2); // miss ~5 ticks
    let before_stale = Instant::now();
    let stale = block_on(t.tick());
    let after_stale = Instant::now();
    let on_grid = |i: Instant| (i - first_due).as_nanos() % period.as_nanos() == 0;
    // One stale tick, at once: due in the past, on the original grid.
    assert!(stale > first_due && stale <= before_stale && on_grid(stale));
    assert!(
        after_stale - before_stale < period * 4,
        "the stale tick waited"
    );
    // Then the original schedule: the next tick is the first grid point
    // after the stale one was delivered (the missed ones are dropped).
    let next = block_on(t.tick());
    assert!(on_grid(next));
    assert!(next > before_stale, "a second stale tick");
    assert!(next - after_stale <= period);
}

#[test]
fn ticker_is_a_stream() {
    let mut t = Ticker::new(Duration::from_millis(1));
    let ticks: Vec<Instant> = block_on(async { (&mut t).take(3).collect().await });
    assert_eq!(ticks.len(), 3);
    assert!(ticks.windows(2).all(|w| w[0] < w[1]));
}

#[test]
#[should_panic(expected = "non-zero")]
fn ticker_zero_period_panics() {
    let _ = Ticker::new(Duration::ZERO);
}

#[test]
fn after_func_runs_once_not_early() {
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let d = Duration::from_millis(10);
    let h = after_func(d, move || tx.send(Instant::now()).unwrap());
    let at = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(at >= start + d);
    assert!(!h.stop(), "already fired");
    assert!(rx.recv_timeout(Duration::from_millis(20)).is_err());
}

#[test]
fn after_func_stop_prevents_call_and_drop_does_not_stop() {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let h = after_func_at(Instant::now() + Duration::from_millis(20), move || {
        c.fetch_add(1, Ordering::SeqCst);
    });
    assert!(h.stop());
    assert!(!h.stop());
    let c = count.clone();
    {
        // Dropping the handle (end of scope) does not stop the timer.
        let _handle = after_func(Duration::from_millis(5), move || {
            c.fetch_add(10, Ordering::SeqCst);
        });
    }
    // Waits for the kept timer's call (not a fixed sleep: the timer
    // thread may be late on a loaded machine), then past the stopped one's
    // deadline: it never adds its 1.
    let deadline = Instant::now() + Duration::from_secs(5);
    while count.load(Ordering::SeqCst) < 10 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(count.load(Ordering::SeqCst), 10);
}

#[test]
fn after_func_panic_does_not_kill_the_driver() {
    let _ = after_func(Duration::ZERO, || panic!("callback panic"));
    std::thread::sleep(Duration::from_millis(5));
    let start = Instant::now();
    block_on(sleep(Duration::from_millis(2)));
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[test]
fn timers_inside_runtime_tasks() {
    let rt = gust_executor::runtime::Builder::new()
        .workers(2)
        .build()
        .unwrap();
    let start = Instant::now();
    rt.block_on(async {
        let hs: Vec<_> = (0..100)
            .map(|i| spawn(async move { sleep(Duration::from_millis(i % 10)).await }))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert!(start.elapsed() >= Duration::from_millis(9));
}

#[test]
fn works_on_tokio() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let start = Instant::now();
    let fired = rt.block_on(async {
        sleep(Duration::from_millis(3)).await;
        after(Duration::from_millis(2)).await
    });
    assert!(fired >= start + Duration::from_millis(5));
}

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + Unpin>(f: &mut F) -> std::task::Poll<F::Output> {
    let waker = futures::task::noop_waker();
    std::pin::Pin::new(f).poll(&mut std::task::Context::from_waker(&waker))
}

#[test]
fn a_zero_or_past_deadline_is_ready_on_the_first_poll() {
    // Go's time.Sleep(0) returns at once; so do gust's zero and past
    // deadlines, on a runtime and off it, without a trip through a timer set.
    let rt = gust_executor::runtime::Builder::new()
        .workers(1)
        .build()
        .unwrap();
    for on_runtime in [false, true] {
        let check = move || {
            assert!(poll_once(&mut sleep(Duration::ZERO)).is_ready());
            let past = Instant::now() - Duration::from_millis(1);
            assert!(poll_once(&mut sleep_until(past)).is_ready());
            assert!(poll_once(&mut sleep_until(Instant::now())).is_ready());
            let mut t = timeout(Duration::ZERO, std::future::pending::<()>());
            assert!(matches!(
                poll_once(&mut Box::pin(&mut t)),
                std::task::Poll::Ready(Err(_))
            ));
        };
        if on_runtime {
            rt.block_on(rt.spawn(async move { check() })).unwrap();
        } else {
            check();
        }
    }
}

#[test]
fn a_sleep_first_polled_after_its_deadline_completes_soon_and_never_early() {
    // A `sleep(d)` of at least a millisecond registers on its first poll
    // without reading the clock again; if that poll comes after the
    // deadline, the runtime fires it at its next turn.
    let rt = gust_executor::runtime::Builder::new()
        .workers(2)
        .build()
        .unwrap();
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let waited = rt.block_on(rt.spawn(async {
            let start = Instant::now();
            let s = sleep(Duration::from_millis(2));
            std::thread::sleep(Duration::from_millis(3)); // past it, unpolled
            let polled = Instant::now();
            s.await;
            assert!(start.elapsed() >= Duration::from_millis(2), "early");
            polled.elapsed()
        }));
        let waited = waited.unwrap();
        assert!(
            waited < Duration::from_millis(500),
            "took {waited:?} after its first poll"
        );
    }
    // Off any runtime (the timer thread's set) as well.
    let s = sleep(Duration::from_millis(2));
    std::thread::sleep(Duration::from_millis(3));
    block_on(s);
}
