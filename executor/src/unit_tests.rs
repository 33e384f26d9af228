//! Unit tests of the whole runtime, small enough for Miri.

use crate::runtime::Builder;
use crate::time::{sleep, timeout};
use crate::{block_on, spawn, spawn_blocking, yield_now};
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const N: u64 = if cfg!(miri) { 50 } else { 10_000 };

#[test]
fn spawn_join_two_workers() {
    let rt = Builder::new().workers(2).build().unwrap();
    let sum = rt.block_on(async {
        let hs: Vec<_> = (0..N).map(|i| spawn(async move { i })).collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, N * (N - 1) / 2);
}

#[test]
fn nested_spawns_and_yields() {
    let rt = Builder::new().workers(2).build().unwrap();
    let n = rt.block_on(rt.spawn(async {
        let hs: Vec<_> = (0..N)
            .map(|i| {
                spawn(async move {
                    yield_now().await;
                    i % 2
                })
            })
            .collect();
        let mut n = 0;
        for h in hs {
            n += h.await.unwrap();
        }
        n
    }));
    assert_eq!(n.unwrap(), N / 2);
}

#[test]
fn panic_abort_and_drop() {
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = Builder::new().workers(1).build().unwrap();
    assert!(
        rt.block_on(rt.spawn(async { panic!("x") }))
            .unwrap_err()
            .is_panic()
    );
    let d = D(drops.clone());
    let h = rt.spawn(async move {
        let _d = d;
        pending::<()>().await
    });
    h.abort();
    assert!(rt.block_on(h).unwrap_err().is_aborted());
    for _ in 0..3 {
        let d = D(drops.clone());
        rt.spawn(async move {
            let _d = d;
            pending::<()>().await
        });
    }
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

/// Starts the process-wide timer and blocking threads, which outlive the
/// test harness's main thread; Miri reports those as an error unless told
/// otherwise, so under Miri run it with
/// `MIRIFLAGS=-Zmiri-ignore-leaks cargo +nightly miri test -p gust-executor --lib -- --include-ignored`.
#[test]
#[cfg_attr(miri, ignore)]
fn timers_and_blocking() {
    block_on(async {
        sleep(Duration::from_millis(1)).await;
        assert!(
            timeout(Duration::from_millis(1), pending::<()>())
                .await
                .is_err()
        );
        assert_eq!(spawn_blocking(|| 3).await.unwrap(), 3);
    });
}

/// Wakers held by another thread outlive the runtime: waking them while it
/// shuts down, or after, must neither touch freed runtime state nor leak the
/// tasks (Miri checks both).
#[test]
fn foreign_wakes_around_runtime_drop() {
    use std::sync::Mutex;
    use std::task::{Poll, Waker};
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let dropped = Arc::new(AtomicUsize::new(0));
    struct Count(Arc<AtomicUsize>);
    impl Drop for Count {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let rt = Builder::new().workers(1).build().unwrap();
    for _ in 0..4 {
        let (w, c) = (wakers.clone(), Count(dropped.clone()));
        drop(rt.spawn(std::future::poll_fn(move |cx| {
            let _c = &c;
            w.lock().unwrap().push(cx.waker().clone());
            Poll::<()>::Pending
        })));
    }
    while wakers.lock().unwrap().len() < 4 {
        std::thread::yield_now();
    }
    // Two wakes race the drop on another thread; two come after it.
    let early: Vec<Waker> = wakers.lock().unwrap().drain(..2).collect();
    let t = std::thread::spawn(move || early.into_iter().for_each(Waker::wake));
    drop(rt);
    t.join().unwrap();
    assert_eq!(dropped.load(Ordering::SeqCst), 4, "every future dropped");
    // The tasks are gone but their allocations live on in the wakers; the
    // last wake frees the last task, and with it the runtime's state.
    let late: Vec<Waker> = std::mem::take(&mut *wakers.lock().unwrap());
    late.into_iter().for_each(Waker::wake);
}

/// A dump reads each task's trace through its registry entry's waker
/// (registry.rs, invariant #5): names, ids and spawn sites of real tasks.
#[test]
fn dump_reads_every_tasks_trace() {
    let rt = Builder::new().workers(1).build().unwrap();
    let here = std::panic::Location::caller().file();
    let dump = rt.block_on(async {
        let named = crate::task::Builder::new()
            .name("named")
            .spawn(pending::<()>());
        let unnamed = spawn(pending::<()>());
        yield_now().await;
        let dump = crate::runtime::dump();
        named.abort();
        unnamed.abort();
        dump
    });
    let mut tasks: Vec<_> = dump
        .tasks()
        .iter()
        .map(|t| (t.name(), t.spawned_at().file()))
        .collect();
    tasks.sort();
    assert_eq!(tasks, [(None, here), (Some("named"), here)]);
}

/// On a lone worker, a task that spawns (or wakes) two tasks in one poll
/// gives neither the LIFO slot: both run after the tasks already queued, in
/// spawn order (`scheduler/mod.rs`, "Where tasks live"). With the slot, the
/// last one spawned would run first: `t, b, c, a`.
#[test]
fn a_broadcaster_on_a_lone_worker_gives_no_wakee_the_slot() {
    use std::sync::Mutex;
    let rt = Builder::new().workers(1).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let push = |log: &Arc<Mutex<Vec<&'static str>>>, what| log.lock().unwrap().push(what);
    let root = {
        let log = log.clone();
        async move {
            let c = spawn({
                let log = log.clone();
                async move { push(&log, "c") }
            });
            let t = spawn({
                let log = log.clone();
                async move {
                    push(&log, "t");
                    let a = spawn({
                        let log = log.clone();
                        async move { push(&log, "a") }
                    });
                    let b = spawn({
                        let log = log.clone();
                        async move { push(&log, "b") }
                    });
                    (a, b)
                }
            });
            (c, t)
        }
    };
    rt.block_on(async {
        let (c, t) = rt.spawn(root).await.unwrap();
        c.await.unwrap();
        let (a, b) = t.await.unwrap();
        a.await.unwrap();
        b.await.unwrap();
    });
    assert_eq!(*log.lock().unwrap(), ["c", "t", "a", "b"]);
}

/// With several workers, a task that spawns (or wakes) more than two tasks
/// in one poll keeps the LIFO slot for none of them: with the other worker
/// held by a task that never yields (so nothing is stolen), four tasks
/// spawned in one poll run in spawn order. (With the slot for the last,
/// as before: `d, a, b, c`.)
#[test]
fn a_broadcaster_on_several_workers_gives_no_wakee_the_slot() {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicBool;
    let rt = Builder::new().workers(2).build().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let hogging = Arc::new(AtomicBool::new(false));
    let hog = rt.spawn({
        let (log, hogging) = (log.clone(), hogging.clone());
        async move {
            hogging.store(true, Ordering::SeqCst);
            while log.lock().unwrap().len() < 4 {
                std::hint::spin_loop();
            }
        }
    });
    while !hogging.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let root = {
        let log = log.clone();
        async move {
            ["a", "b", "c", "d"].map(|name| {
                let log = log.clone();
                spawn(async move { log.lock().unwrap().push(name) })
            })
        }
    };
    rt.block_on(async {
        for h in rt.spawn(root).await.unwrap() {
            h.await.unwrap();
        }
        hog.await.unwrap();
    });
    assert_eq!(*log.lock().unwrap(), ["a", "b", "c", "d"]);
}

/// `yield_now` puts the task behind every task that is ready, those that
/// overflowed a full local queue into the injection queue included. (A
/// task that spawned four queues' worth and yielded came back after the
/// newest half queue; the rest ran one per 61 ticks behind it.)
#[test]
fn a_yield_runs_after_every_ready_task_even_the_overflow() {
    let rt = Builder::new().workers(1).build().unwrap();
    let n = 4 * crate::scheduler::queue::CAPACITY as usize;
    let ran = Arc::new(AtomicUsize::new(0));
    let root = {
        let ran = ran.clone();
        async move {
            for _ in 0..n {
                let ran = ran.clone();
                spawn(async move {
                    ran.fetch_add(1, Ordering::Relaxed);
                });
            }
            yield_now().await;
            ran.load(Ordering::Relaxed)
        }
    };
    assert_eq!(rt.block_on(rt.spawn(root)).unwrap(), n);
}

/// Go's timers on a runtime's own timers (fired by its workers): a stop or
/// reset racing the firing callback on another worker never lets a value
/// of the old schedule through (Go 1.23), and a ticker shared by two tasks
/// hands each tick to one of them. A runtime's timer set keeps a watch on
/// the process-wide timer thread, which outlives the test: `ci/miri.sh`
/// runs it with `-Zmiri-ignore-leaks`, as `timers_and_blocking`.
#[test]
#[cfg_attr(miri, ignore)]
fn timers_stop_and_reset_race_their_callbacks() {
    use crate::time::{Ticker, Timer};
    let rt = Builder::new().workers(2).build().unwrap();
    let rounds = if cfg!(miri) { 3 } else { 200 };
    rt.block_on(async move {
        for i in 0..rounds {
            let t = Arc::new(Timer::new(Duration::from_micros(50)));
            // Let the deadline come close, then stop it from another task
            // while a worker may be firing it.
            sleep(Duration::from_micros(i % 100)).await;
            let stopper = t.clone();
            // A fired value nobody received still counts as pending.
            let stopped = spawn(async move { stopper.stop() }).await.unwrap();
            assert!(stopped, "round {i}: an unreceived timer is pending");
            // Its value, fired or not, is gone for good.
            assert!(timeout(Duration::from_millis(2), t.wait()).await.is_err());
            // A reset re-arms it: one value, from the new schedule.
            let reset_at = crate::time::now();
            assert!(!t.reset(Duration::from_micros(10)), "stopped: not pending");
            let at = t.wait().await;
            assert!(
                at >= reset_at + Duration::from_micros(10),
                "round {i}: early"
            );
            assert!(!t.stop(), "its value was received: not pending");
        }
        let ticker = Arc::new(Ticker::new(Duration::from_micros(100)));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let ticker = ticker.clone();
                spawn(async move {
                    let mut ticks = Vec::new();
                    for _ in 0..3 {
                        ticks.push(ticker.tick().await);
                    }
                    ticks
                })
            })
            .collect();
        let mut ticks = Vec::new();
        for r in readers {
            ticks.extend(r.await.unwrap());
        }
        ticker.stop();
        // Each tick (named by the instant it was due) went to one reader.
        ticks.sort();
        ticks.dedup();
        assert_eq!(ticks.len(), 6, "a tick was handed to both readers");
    });
    drop(rt);
}

/// `TaskMeta` stays at the 48 bytes its docs promise (a larger one moves a
/// small task's allocation out of glibc's fast size classes).
#[test]
fn task_meta_is_48_bytes() {
    assert_eq!(std::mem::size_of::<crate::task::TaskMeta>(), 48);
}

/// `AbortHandle`s outliving their `JoinHandle`s, their tasks and their
/// runtime, and a `JoinSet` dropped with tasks in it (Miri checks the
/// handle's pointer into the task).
#[test]
fn abort_handles_and_join_sets_outlive_what_they_point_at() {
    let rt = Builder::new().workers(2).build().unwrap();
    let pending_task = rt.spawn(pending::<()>());
    let stuck = pending_task.abort_handle();
    drop(pending_task);
    let done = rt.spawn(async { 1 });
    let finished = done.abort_handle();
    assert_eq!(rt.block_on(done).unwrap(), 1);
    assert!(finished.is_finished());
    finished.abort();
    let set_aborts = rt.block_on(async {
        let mut set = crate::task::JoinSet::new();
        let a = set.spawn(pending::<u8>());
        let b = set.spawn(async { 2u8 });
        assert_eq!(set.join_next().await.unwrap().unwrap(), 2);
        (a, b) // the set drops here, aborting `a`'s task
    });
    let (a, b) = set_aborts;
    assert!(b.is_finished());
    stuck.abort();
    drop(rt); // ends what is left; the handles keep only memory
    assert!(a.is_finished() && stuck.is_finished());
    a.abort();
    stuck.abort();
}
