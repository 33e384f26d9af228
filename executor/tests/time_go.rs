//! Go's timers, ported from Go's time/sleep_test.go and time/tick_test.go
//! (TestAfterStop, TestReset, TestStopResult/TestResetResult, the Go 1.23
//! no-stale-value cases of TestTimerChan, TestTicker, TestTickerResetLtZero-
//! Duration, TestTick, TestTimerModifiedEarlier, TestAdjustTimers,
//! TestAfterFunc, TestTimerStopStress, TestAfterQueuing): `Timer` (stop/reset), `TimerHandle::reset`,
//! `time::tick` and `Ticker::reset/stop` shared by several tasks.
//!
//! Go's tests use real time; so do these, with margins for a loaded 2-core
//! machine: "never early" and "never a stale value" are exact, "on time" is
//! only checked loosely.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::task::Poll;
use std::time::{Duration, Instant};

use gust_executor::time::{Ticker, Timer, after, after_func, sleep, tick, timeout};
use gust_executor::{block_on, spawn};

/// A wait that must not complete within `d`.
fn pends_for<F: std::future::Future>(d: Duration, f: F) -> bool {
    block_on(timeout(d, f)).is_err()
}

/// Go's TestAfterStop: timers stopped before they fire never deliver.
#[test]
fn after_stop() {
    let _keep = after_func(Duration::from_millis(100), || {});
    let t0 = Timer::new(Duration::from_millis(50));
    let fired = Arc::new(AtomicUsize::new(0));
    let f = fired.clone();
    let t1 = after_func(Duration::from_millis(150), move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    assert!(t0.stop(), "failed to stop event 0");
    assert!(t1.stop(), "failed to stop event 1");
    block_on(after(Duration::from_millis(200)));
    assert!(
        pends_for(Duration::from_millis(1), t0.wait()),
        "event 0 was not stopped"
    );
    assert_eq!(fired.load(Ordering::SeqCst), 0, "event 1 was not stopped");
    assert!(!t1.stop(), "stop returned true twice");
}

/// Go's TestReset, with Go 1.23's results.
#[test]
fn reset() {
    let d = Duration::from_millis(25);
    let t0 = Timer::new(2 * d);
    std::thread::sleep(d);
    let reset_at = Instant::now();
    assert!(t0.reset(3 * d), "resetting an unfired timer returned false");
    let got = t0.wait_blocking();
    assert!(got >= reset_at + 3 * d, "timer fired early");
    assert!(
        !t0.reset(Duration::from_millis(50)),
        "resetting an expired, received timer returned true"
    );
}

/// Go 1.23: a timer that fired but whose value nobody received is still
/// pending; stop returns true and the value is discarded (no stale value).
#[test]
fn stop_after_fire_discards_the_value() {
    let t = Timer::new(Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(20)); // it has fired
    assert!(t.stop(), "a fired, unreceived timer is still pending");
    assert!(!t.stop());
    assert!(
        pends_for(Duration::from_millis(30), t.wait()),
        "stale value"
    );
}

/// Go 1.23: reset after the fire, before the receive: the old value is
/// discarded; the next wait gets the new schedule's value.
#[test]
fn reset_after_fire_discards_the_value() {
    let t = Timer::new(Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(20));
    let reset_at = Instant::now();
    assert!(t.reset(Duration::from_millis(30)));
    let got = t.wait_blocking();
    assert!(got >= reset_at + Duration::from_millis(30), "stale value");
}

/// A stopped timer pends until reset; Duration::MAX never fires but is
/// pending until stopped.
#[test]
fn stopped_and_never_timers() {
    let t = Timer::new(Duration::MAX);
    assert!(pends_for(Duration::from_millis(10), t.wait()));
    assert!(t.stop());
    assert!(!t.reset(Duration::from_millis(1)));
    t.wait_blocking();
    assert_eq!(t.deadline(), None);
}

/// Go's TestStopResult/TestResetResult: two timers raced in a select; the
/// loser is stopped (or reset far away) and, when that says it was not
/// pending, its value must be there to receive. With Go 1.23's semantics
/// stop always wins here (the loser's value was not received), so nothing
/// ever blocks: the test fails by hanging (caught by the timeout).
#[test]
fn stop_reset_result_race() {
    for test_stop in [true, false] {
        let hs: Vec<_> = (0..if cfg!(miri) { 2 } else { 50 })
            .map(|_| {
                spawn(async move {
                    for _ in 0..20 {
                        let t1 = Timer::new(Duration::from_millis(1));
                        let t2 = Timer::new(Duration::from_millis(1));
                        let stop_or_reset = |t: &Timer| {
                            if test_stop {
                                t.stop()
                            } else {
                                t.reset(Duration::from_secs(3600))
                            }
                        };
                        gust_chan::select! {
                            _ = t1.wait() => if !stop_or_reset(&t2) { t2.wait().await; },
                            _ = t2.wait() => if !stop_or_reset(&t1) { t1.wait().await; },
                        }
                    }
                })
            })
            .collect();
        block_on(timeout(Duration::from_secs(60), async {
            for h in hs {
                h.await.unwrap();
            }
        }))
        .expect("a stopped or reset timer's value was lost: a wait hung");
    }
}

/// Stop and reset racing the fire from another thread: every arm is
/// received at most once and never before its deadline.
#[test]
fn stop_reset_race_stress() {
    let t = Arc::new(Timer::new(Duration::from_micros(50)));
    let received = Arc::new(AtomicUsize::new(0));
    let waiter = {
        let (t, received) = (t.clone(), received.clone());
        std::thread::spawn(move || {
            for _ in 0..if cfg!(miri) { 2 } else { 200 } {
                if let Ok(at) = block_on(timeout(Duration::from_millis(5), t.wait())) {
                    assert!(at <= Instant::now());
                    received.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
    };
    let mut pending_when_stopped = 0;
    for i in 0..if cfg!(miri) { 2 } else { 400 } {
        if i % 2 == 0 {
            pending_when_stopped += usize::from(t.stop());
        } else {
            t.reset(Duration::from_micros(50));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    waiter.join().unwrap();
    t.stop();
    // Each reset arms one value: received or stopped while pending, never both.
    let arms = if cfg!(miri) { 1 } else { 200 } + 1; // + the initial arm
    assert!(received.load(Ordering::SeqCst) + pending_when_stopped <= arms);
}

/// A timer as a select! case, reset from the arm of another case.
#[test]
fn timer_in_select() {
    block_on(async {
        let (tx, rx) = gust_chan::chan::<u32>(1);
        let t = Timer::new(Duration::from_secs(3600));
        tx.try_send(1).unwrap();
        let mut events = Vec::new();
        for _ in 0..2 {
            gust_chan::select! {
                v = rx.recv() => {
                    events.push(v.unwrap());
                    assert!(t.reset(Duration::from_millis(2)));
                }
                _ = t.wait() => events.push(0),
            }
        }
        assert_eq!(events, [1, 0]);
    });
}

/// Several tasks wait on one timer: exactly one receives its value.
#[test]
fn one_value_for_many_waiters() {
    let t = Arc::new(Timer::new(Duration::from_millis(5)));
    let got = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let (t, got) = (t.clone(), got.clone());
            spawn(async move {
                if timeout(Duration::from_millis(200), t.wait()).await.is_ok() {
                    got.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in hs {
        block_on(h).unwrap();
    }
    assert_eq!(got.load(Ordering::SeqCst), 1);
}

/// `TimerHandle::reset` moves a pending callback (it runs once, at the new
/// time), re-arms a stopped one, and cannot re-run one that ran.
#[test]
fn after_func_reset() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = after_func(Duration::from_secs(3600), move || {
        r.fetch_add(1, Ordering::SeqCst);
        tx.send(Instant::now()).unwrap();
    });
    assert!(h.stop());
    assert!(
        !h.reset(Duration::from_millis(10)),
        "a stopped timer is not pending"
    );
    assert!(h.reset(Duration::from_millis(20)), "re-armed: pending");
    let at = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(at >= start + Duration::from_millis(20));
    assert!(!h.reset(Duration::from_millis(1)));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

/// Go's TestTicker (reduced): ticks come on schedule, reset changes the
/// period, stop ends them.
#[test]
fn ticker_reset_and_stop() {
    let ticker = Ticker::new(Duration::from_secs(3600));
    let start = Instant::now();
    ticker.reset(Duration::from_millis(5));
    let t1 = block_on(ticker.tick());
    assert!(t1 >= start + Duration::from_millis(5));
    let t2 = block_on(ticker.tick());
    assert_eq!((t2 - t1).as_nanos() % 5_000_000, 0, "off schedule");
    ticker.stop();
    assert!(
        pends_for(Duration::from_millis(30), ticker.tick()),
        "tick after stop"
    );
    ticker.reset(Duration::from_millis(2));
    block_on(ticker.tick());
}

/// As in Go, one task resets a ticker that another task waits on (`reset`
/// takes `&self`): the waiter gets the first tick of the new schedule.
#[test]
fn ticker_reset_by_another_task_while_one_waits() {
    let ticker = Arc::new(Ticker::new(Duration::from_secs(3600)));
    let (waiting_tx, waiting_rx) = std::sync::mpsc::channel();
    let waiter = spawn({
        let ticker = ticker.clone();
        async move {
            let mut tick = std::pin::pin!(ticker.tick());
            // Poll once, so that the task waits on the ticker before the
            // reset, then say so.
            let first = std::future::poll_fn(|cx| Poll::Ready(tick.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "a tick of the one-hour schedule");
            waiting_tx.send(()).unwrap();
            tick.await
        }
    });
    waiting_rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let start = Instant::now();
    ticker.reset(Duration::from_millis(3));
    assert_eq!(ticker.period(), Duration::from_millis(3));
    let due = block_on(timeout(Duration::from_secs(30), waiter))
        .expect("the reset's first tick reaches the waiting task")
        .unwrap();
    assert!(
        due >= start + Duration::from_millis(3),
        "a tick before the new period"
    );
}

/// Go's TestTickerResetLtZeroDuration: a zero period panics.
#[test]
#[should_panic(expected = "non-zero")]
fn ticker_reset_zero_panics() {
    Ticker::new(Duration::from_secs(1)).reset(Duration::ZERO);
}

/// Go 1.23: a tick nobody received is discarded by stop.
#[test]
fn ticker_stop_discards_a_stale_tick() {
    let ticker = Ticker::new(Duration::from_millis(1));
    std::thread::sleep(Duration::from_millis(20)); // a tick waits
    ticker.stop();
    assert!(pends_for(Duration::from_millis(20), ticker.tick()));
}

/// Several tasks share one ticker: every tick goes to exactly one of them.
#[test]
fn ticker_shared_by_tasks() {
    let ticker = Arc::new(Ticker::new(Duration::from_millis(2)));
    let total = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..3)
        .map(|_| {
            let (ticker, total) = (ticker.clone(), total.clone());
            spawn(async move {
                let mut seen = Vec::new();
                while total.fetch_add(1, Ordering::SeqCst) < 30 {
                    seen.push(ticker.tick().await);
                }
                seen
            })
        })
        .collect();
    let mut all: Vec<Instant> = hs.into_iter().flat_map(|h| block_on(h).unwrap()).collect();
    let n = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), n, "a tick was received twice");
    assert!(n >= 30);
}

/// Go's TestTick: `tick` is a channel any task may read; a slow reader
/// misses ticks (one stale tick, then the schedule), and the ticking stops
/// once every receiver is gone.
#[test]
fn tick_channel() {
    let period = Duration::from_millis(2);
    let ticks = tick(period);
    let t1 = ticks.recv_blocking().unwrap();
    std::thread::sleep(50 * period); // fall behind, by far more than a late tick
    let stale = ticks.recv_blocking().unwrap();
    let next = ticks.recv_blocking().unwrap();
    assert!(stale > t1 && next > stale);
    assert_eq!(
        (next - t1).as_nanos() % period.as_nanos(),
        0,
        "off schedule"
    );
    assert!(next > stale + period, "missed ticks were queued");
    let other = ticks.clone();
    block_on(async {
        let a = ticks.recv().await.unwrap();
        let b = other.recv().await.unwrap();
        assert!(b > a);
    });
}

/// Go's TestTick: `Tick(d)` for `d <= 0` is a nil channel, which never
/// delivers (and is never closed).
#[test]
fn tick_zero_never_ticks() {
    for period in [Duration::ZERO, Duration::MAX] {
        let never = tick(period);
        assert!(pends_for(Duration::from_millis(50), never.recv()));
        assert_eq!(never.try_recv(), Err(gust_chan::TryRecvError::Empty));
        assert!(!never.is_closed());
    }
}

/// Go's TestAfterTimes: `After(10ms)` read 500 ms later yields a time near
/// start + 10 ms, not start + 500 ms.
/// `Timer` alike: its value is when it was due, however late it is read.
#[test]
fn after_and_timer_yield_when_they_fired_not_when_read() {
    let start = Instant::now();
    let c = after(Duration::from_millis(10));
    let t = Timer::new(Duration::from_millis(10));
    std::thread::sleep(Duration::from_millis(300));
    let fired = block_on(c);
    let timer_fired = block_on(t.wait());
    for (what, at) in [("after", fired), ("Timer", timer_fired)] {
        assert!(at >= start + Duration::from_millis(10), "{what}: early");
        assert!(
            at < start + Duration::from_millis(300),
            "{what}: the time it was read, not when it fired"
        );
    }
}

/// Go's TestSleepZeroDeadlock, in spirit: many zero and tiny timers on the
/// runtime complete.
#[test]
fn zero_timers_complete() {
    let hs: Vec<_> = (0..100)
        .map(|i| {
            spawn(async move {
                let t = Timer::new(Duration::from_micros(i % 3));
                t.wait().await;
                sleep(Duration::ZERO).await;
            })
        })
        .collect();
    for h in hs {
        block_on(h).unwrap();
    }
}

/// Go's `AfterFunc` calls `f` "in its own goroutine": a callback that
/// blocks (here until another timer's callback releases it, as in Go's
/// `TestAfterFunc`, whose `f` sleeps a second) holds up no other timer.
/// (Found by a check from outside: callbacks ran on the thread that fired
/// them, so a 20 ms sleep behind a slow callback took 804 ms, and this
/// test hung.)
#[test]
fn after_func_runs_in_its_own_thread() {
    let (release, released) = mpsc::channel::<()>();
    let (done, finished) = mpsc::channel();
    let _waits = after_func(Duration::ZERO, move || {
        released.recv().unwrap();
        done.send(()).unwrap();
    });
    let _releases = after_func(Duration::from_millis(5), move || release.send(()).unwrap());
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the waiting callback held up the timer that releases it");
    // And a sleep is not held up by a callback that blocks.
    let _slow = after_func(Duration::ZERO, || {
        std::thread::sleep(Duration::from_secs(3))
    });
    std::thread::sleep(Duration::from_millis(5));
    let start = Instant::now();
    block_on(sleep(Duration::from_millis(20)));
    assert!(
        start.elapsed() < Duration::from_millis(2_500),
        "a 20 ms sleep waited for a callback: {:?}",
        start.elapsed()
    );
}

/// Go's `select { case v := <-ch: ...; case <-t.C: ... }`: when the channel
/// case wins, the timer's fire stays in `t.C`, so `t.Stop()` reports it
/// pending (Go 1.23). A `t.wait()` case that completed in the poll a sender
/// chose the channel case in used to be dropped with the fire: `stop` then
/// said nothing was pending, and a later `wait` never returned. The sender
/// spins until about the timer's deadline, so the two race every time.
#[test]
fn timer_fire_is_kept_when_a_channel_case_wins() {
    let rt = gust_executor::runtime::Builder::new()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (mut lost, mut recv_won) = (0, 0);
        for i in 0..5_000u64 {
            let (tx, rx) = gust_chan::chan::<u64>(0);
            let d = Duration::from_micros(20 + i % 40);
            let t = Timer::new(d);
            let sender = spawn(async move {
                let start = Instant::now();
                while start.elapsed() < d {
                    std::hint::spin_loop();
                }
                let _ = tx.send(i).await;
            });
            gust_chan::select! {
                _ = rx.recv() => {
                    recv_won += 1;
                    if !t.stop() {
                        lost += 1;
                    }
                }
                _ = t.wait() => drop(rx),
            }
            sender.await.unwrap();
        }
        assert_eq!(lost, 0, "fires dropped ({recv_won} channel wins)");
    });
}

/// `Duration::MAX` means never (DESIGN.md): `tick(MAX)` is a channel that
/// never ticks and stays open, as Go's `time.Tick` of a huge period. It
/// used to come back closed (its sender dropped, as no tick could be armed).
#[test]
fn tick_of_duration_max_never_ticks() {
    let ticks = tick(Duration::MAX);
    let got = block_on(timeout(Duration::from_millis(30), ticks.recv()));
    assert!(got.is_err(), "got {got:?}: a tick or a closed channel");
    assert!(!ticks.is_closed());
}

/// `time::tick` is `#[track_caller]`: a task waiting on its channel shows,
/// in the dump, the line of the `tick` call as where the channel was made
/// (not gust's source).
#[test]
fn a_tick_channel_is_made_at_the_caller() {
    let rt = gust_executor::runtime::Builder::new()
        .workers(1)
        .build()
        .unwrap();
    rt.block_on(async {
        let ticks = tick(Duration::from_secs(3600));
        let line = line!() - 1;
        let reader = spawn(async move {
            let _ = ticks.recv().await;
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let made = loop {
            let dump = gust_executor::runtime::dump();
            if let Some(made) = dump.tasks().first().and_then(|t| t.chan_made_at()) {
                break made;
            }
            assert!(
                Instant::now() < deadline,
                "the reader never waited:\n{dump}"
            );
            sleep(Duration::from_millis(1)).await;
        };
        assert_eq!((made.file(), made.line()), (file!(), line));
        reader.abort();
    });
}

/// Go's TestTimerModifiedEarlier: an hour-long timer stopped and reset to
/// "now" ten times in a row (moved earlier each time) fires promptly.
#[test]
fn timer_modified_earlier() {
    for _ in 0..200 {
        let t = Timer::new(Duration::from_secs(3600));
        for _ in 0..10 {
            // Go 1.23: no drain after a `false` stop.
            t.stop();
            t.reset(Duration::ZERO);
        }
        let now = Instant::now();
        let fired = block_on(timeout(Duration::from_secs(10), t.wait()));
        assert!(fired.is_ok(), "deadline expired");
        assert!(
            now.elapsed() < Duration::from_secs(8),
            "timer took too long"
        );
    }
}

/// Go's TestAdjustTimers: 100 timers, stepped in a random order through
/// fire at once, wait, three long resets each stopped, a reset to zero
/// and its wait: a reset of an idle timer returns false, a stop of a
/// pending one true, and the short timers fire within 750 ms.
#[test]
fn adjust_timers() {
    const N: usize = 100;
    // xorshift64: a fixed sequence, reproducible.
    let mut x: u64 = 0x5eed_7173_9e37_79b9;
    let mut below = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut timers: Vec<Option<Timer>> = (0..N).map(|_| None).collect();
    let mut states = [0u8; N];
    let mut indices: Vec<usize> = (0..N).collect();
    for k in (1..N).rev() {
        indices.swap(k, below(k + 1));
    }
    while !indices.is_empty() {
        let ii = below(indices.len());
        let i = indices[ii];
        let state = states[i];
        states[i] += 1;
        let timer = &mut timers[i];
        match state {
            0 => *timer = Some(Timer::new(Duration::ZERO)),
            1 => {
                timer.as_ref().unwrap().wait_blocking(); // idle now
            }
            2 | 4 | 6 => {
                let d = Duration::from_secs(60 * u64::from(state / 2));
                assert!(
                    !timer.as_ref().unwrap().reset(d),
                    "timer {i} state {state}: reset of an idle timer returned true"
                );
            }
            3 | 5 | 7 => assert!(
                timer.as_ref().unwrap().stop(),
                "timer {i} state {state}: stop of a pending timer returned false"
            ),
            8 => assert!(
                !timer.as_ref().unwrap().reset(Duration::ZERO),
                "timer {i}: reset of a stopped timer returned true"
            ),
            9 => {
                let now = Instant::now();
                timer.as_ref().unwrap().wait_blocking();
                let took = now.elapsed();
                assert!(
                    took < Duration::from_millis(750),
                    "timer {i} took {took:?} to complete"
                );
            }
            _ => {
                indices.swap_remove(ii);
            }
        }
    }
}

/// Go's TestAfterFunc: a callback that schedules the next one with
/// `after_func(0)` and then blocks its thread (Go's test sleeps 1 s; 100
/// ms here) runs ten times over; the chain ends.
#[test]
fn after_func_chain() {
    fn step(left: Arc<AtomicUsize>, done: mpsc::Sender<()>) {
        if left.fetch_sub(1, Ordering::SeqCst) > 0 {
            let (l, d) = (left.clone(), done.clone());
            drop(after_func(Duration::ZERO, move || step(l, d)));
            std::thread::sleep(Duration::from_millis(100));
        } else {
            let _ = done.send(());
        }
    }
    let (tx, rx) = mpsc::channel();
    let left = Arc::new(AtomicUsize::new(10));
    drop(after_func(Duration::ZERO, move || step(left, tx)));
    assert!(
        rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "the chain of after_func callbacks did not end"
    );
}

/// Go's TestTimerStopStress: 100 tasks each stop their own `after_func`
/// (2 s) after 1 s; none fires.
#[test]
fn timer_stop_stress() {
    let fired = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..100)
        .map(|_| {
            let fired = fired.clone();
            spawn(async move {
                let t = after_func(Duration::from_secs(2), move || {
                    fired.fetch_add(1, Ordering::SeqCst);
                });
                sleep(Duration::from_secs(1)).await;
                t.stop()
            })
        })
        .collect();
    for h in hs {
        assert!(
            block_on(h).unwrap(),
            "stop after 1 s of a 2 s timer returned false"
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fired.load(Ordering::SeqCst), 0, "a stopped timer fired");
}

/// Go's TestAfterQueuing: `after(slot × delta)` awaited by a task per slot
/// (ties included) reports in deadline order, each within
/// [target − delta/2, target + 10 delta] of the start, each report the
/// `Instant` its `after` fired at. As Go's, retried with a longer delta
/// on a loaded machine.
#[test]
fn after_queuing() {
    const SLOTS: [u32; 13] = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0];
    fn attempt(delta: Duration) -> Result<(), String> {
        let (tx, rx) = mpsc::channel::<(u32, Instant)>();
        let t0 = Instant::now();
        for slot in SLOTS {
            let tx = tx.clone();
            let fired = after(delta * slot);
            drop(spawn(async move {
                let _ = tx.send((slot, fired.await));
            }));
        }
        let got: Vec<_> = (0..SLOTS.len()).map(|_| rx.recv().unwrap()).collect();
        if got.windows(2).any(|w| w[1].0 < w[0].0) {
            return Err(format!("out of order: {got:?}"));
        }
        for (slot, at) in got {
            let dt = at - t0;
            let target = delta * slot;
            if dt + delta / 2 < target || dt > target + delta * 10 {
                return Err(format!("after({target:?}) fired at {dt:?}"));
            }
        }
        Ok(())
    }
    let mut errors = Vec::new();
    for delta in [20, 40, 80, 160].map(Duration::from_millis) {
        match attempt(delta) {
            Ok(()) => return,
            Err(e) => errors.push(e),
        }
    }
    panic!("{errors:?}");
}
