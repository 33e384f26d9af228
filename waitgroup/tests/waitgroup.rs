//! WaitGroup behaviour: Go's own tests ported, misuse, `go`, reuse, many
//! waiters, and every kind of caller (gust executor, futures' executor,
//! tokio, plain threads). No sleep is used for synchronisation; timeouts are
//! upper bounds only.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use gust_waitgroup::WaitGroup;

/// An upper bound for anything that should be quick.
const LIMIT: Duration = Duration::from_secs(10);

/// Ported from <https://github.com/golang/go/blob/go1.19/src/sync/waitgroup_test.go>.
mod golang {
    use super::*;

    fn test_wait_group(wg1: &WaitGroup, wg2: &WaitGroup) {
        let n = 16;
        wg1.add(n);
        wg2.add(n);
        let (exited_tx, exited) = mpsc::channel();
        for _ in 0..n {
            let (wg1, wg2, exited_tx) = (wg1.clone(), wg2.clone(), exited_tx.clone());
            thread::spawn(move || {
                wg1.done();
                wg2.wait_blocking();
                exited_tx.send(()).unwrap();
            });
        }
        wg1.wait_blocking();
        for _ in 0..n {
            assert!(
                exited.try_recv().is_err(),
                "WaitGroup released group too soon"
            );
            wg2.done();
        }
        for _ in 0..n {
            // Would block if the barrier failed to release someone.
            exited
                .recv_timeout(LIMIT)
                .expect("a waiter was not released");
        }
    }

    #[test]
    fn wait_group() {
        let wg1 = WaitGroup::new();
        let wg2 = WaitGroup::new();
        // Several rounds: the barrier must come back in a proper state.
        for _ in 0..8 {
            test_wait_group(&wg1, &wg2);
        }
    }

    #[test]
    fn wait_group_misuse() {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.done();
        let msg = panic_message(|| wg.done());
        assert!(msg.contains("negative WaitGroup counter"), "{msg}");
    }

    /// The message of the panic `f` must raise.
    fn panic_message(f: impl FnOnce()) -> String {
        let err = panic::catch_unwind(AssertUnwindSafe(f)).unwrap_err();
        err.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap()
    }

    #[test]
    fn wait_group_race() {
        for _ in 0..if cfg!(miri) { 10 } else { 1000 } {
            let wg = WaitGroup::new();
            let n = Arc::new(AtomicUsize::new(0));
            for _ in 0..2 {
                wg.add(1);
                let (wg, n) = (wg.clone(), n.clone());
                thread::spawn(move || {
                    n.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait_blocking();
            assert_eq!(n.load(Ordering::Relaxed), 2, "spurious wakeup from wait");
        }
    }

    /// Go's `Add` takes a signed delta: `Add(-1)` is `Done`, and one that
    /// takes the counter below zero panics.
    #[test]
    fn wait_group_add_negative() {
        let wg = WaitGroup::new();
        wg.add(3);
        wg.add(-2);
        assert_eq!(wg.count(), 1);
        let wg2 = wg.clone();
        let waiter = thread::spawn(move || wg2.wait_blocking());
        wg.add(-1); // zero: releases the waiter
        waiter.join().unwrap();
        let n: usize = 2; // unsigned counts too, as `add(v.len())`
        wg.add(n);
        wg.add(-2i64);
        let msg = panic_message(|| wg.add(-1));
        assert!(msg.contains("negative WaitGroup counter"), "{msg}");
        assert_eq!(wg.count(), 0);
    }

    /// `add(-k)` is one transition, as Go's one atomic add: a delta past the
    /// counter is refused whole (the counter is left as it was, no waiter is
    /// released), and one that reaches zero releases every waiter at once.
    #[test]
    fn wait_group_add_negative_is_one_step() {
        let wg = WaitGroup::new();
        wg.add(2);
        let msg = panic_message(|| wg.add(-3));
        assert!(msg.contains("negative WaitGroup counter"), "{msg}");
        assert_eq!(wg.count(), 2, "a refused add(-3) must not count down");
        let msg = panic_message(|| wg.add(i64::MIN));
        assert!(msg.contains("negative WaitGroup counter"), "{msg}");
        assert_eq!(wg.count(), 2);
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let wg = wg.clone();
                thread::spawn(move || wg.wait_blocking())
            })
            .collect();
        wg.add(-2);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(wg.count(), 0);
    }

    /// Go 1.25's `WaitGroup.Go` test, on the gust executor.
    #[test]
    fn wait_group_go() {
        let wg = WaitGroup::new();
        let (tx, rx) = mpsc::channel();
        wg.go(async move {
            tx.send(1).unwrap();
        });
        wg.wait_blocking();
        assert_eq!(rx.try_recv().unwrap(), 1);
    }
}

#[test]
fn overflow_panics_with_message() {
    let wg = WaitGroup::new();
    let err = panic::catch_unwind(AssertUnwindSafe(|| wg.add(usize::MAX))).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("overflow"), "{msg}");
    assert_eq!(wg.count(), 0);
}

#[test]
fn add_zero_and_count() {
    let wg = WaitGroup::default();
    wg.add(0);
    assert_eq!(wg.count(), 0);
    wg.add(3);
    let clone = wg.clone();
    clone.done();
    assert_eq!(wg.count(), 2);
    assert!(format!("{wg:?}").contains('2'));
}

#[test]
fn wait_on_zero_returns_at_once() {
    let wg = WaitGroup::new();
    futures::executor::block_on(wg.wait());
    wg.wait_blocking();
}

#[test]
fn go_counts_and_returns_output() {
    let wg = WaitGroup::new();
    let n = 1000;
    let handles: Vec<_> = (0..n).map(|i| wg.go(async move { i * 2 })).collect();
    gust_executor::block_on(async {
        wg.wait().await;
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        assert_eq!(sum, n * (n - 1));
    });
    assert_eq!(wg.count(), 0);
}

#[test]
fn go_done_even_when_task_panics() {
    let wg = WaitGroup::new();
    let h = wg.go(async {
        panic!("boom in a WaitGroup task");
    });
    wg.wait_blocking();
    assert_eq!(wg.count(), 0);
    let err = gust_executor::block_on(h).unwrap_err();
    assert!(err.is_panic());
}

#[test]
fn go_done_when_task_aborted() {
    let wg = WaitGroup::new();
    let h = wg.go(std::future::pending::<()>());
    assert_eq!(wg.count(), 1);
    h.abort();
    wg.wait_blocking();
    assert_eq!(wg.count(), 0);
}

#[test]
fn many_waiters_released_together() {
    let wg = WaitGroup::new();
    wg.add(1);
    let waiters = 200;
    let released = Arc::new(AtomicUsize::new(0));
    let rt_done = WaitGroup::new();
    for _ in 0..waiters {
        let (wg, released) = (wg.clone(), released.clone());
        rt_done.go(async move {
            wg.wait().await;
            released.fetch_add(1, Ordering::Relaxed);
        });
    }
    // Threads too, mixed with the tasks.
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (wg, released) = (wg.clone(), released.clone());
            thread::spawn(move || {
                wg.wait_blocking();
                released.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    assert_eq!(released.load(Ordering::Relaxed), 0);
    wg.done();
    rt_done.wait_blocking();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(released.load(Ordering::Relaxed), waiters + 4);
}

#[test]
fn reuse_many_rounds() {
    let wg = WaitGroup::new();
    for round in 0..50 {
        let n = round % 7 + 1;
        wg.add(n);
        let waiter = {
            let wg = wg.clone();
            thread::spawn(move || wg.wait_blocking())
        };
        for _ in 0..n {
            let wg = wg.clone();
            thread::spawn(move || wg.done());
        }
        wg.wait_blocking();
        waiter.join().unwrap();
    }
}

/// A round-2 `add` while round-1 waiters are still waking: they return
/// (they saw the zero). Waiters that start after the `add` wait for round 2.
#[test]
fn reuse_before_old_waiters_return() {
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    for _ in 0..100 {
        let wg = WaitGroup::new();
        wg.add(1);
        let mut old: Vec<_> = (0..3).map(|_| Box::pin(wg.wait())).collect();
        for w in &mut old {
            assert!(w.as_mut().poll(&mut cx).is_pending()); // registered
        }
        wg.done();
        wg.add(1); // round 2 starts before the old waiters ran again
        let mut new = Box::pin(wg.wait());
        assert!(new.as_mut().poll(&mut cx).is_pending());
        for w in old {
            futures::executor::block_on(w);
        }
        assert!(new.as_mut().poll(&mut cx).is_pending());
        wg.done();
        futures::executor::block_on(new);
    }
}

#[test]
fn dropped_wait_future_loses_nothing() {
    let wg = WaitGroup::new();
    wg.add(1);
    {
        let mut fut = Box::pin(wg.wait());
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    } // dropped while registered
    let other = {
        let wg = wg.clone();
        thread::spawn(move || futures::executor::block_on(wg.wait()))
    };
    wg.done();
    other.join().unwrap();
}

#[test]
fn wait_is_a_select_case() {
    let wg = WaitGroup::new();
    wg.add(1);
    futures::executor::block_on(async {
        futures::select_biased! {
            _ = futures::FutureExt::fuse(wg.wait()) => panic!("released too soon"),
            default => {}
        }
    });
    wg.done();
    futures::executor::block_on(async {
        futures::select_biased! {
            _ = futures::FutureExt::fuse(wg.wait()) => {}
            _ = futures::FutureExt::fuse(std::future::pending::<()>()) => unreachable!(),
        }
    });
}

#[test]
fn under_futures_executor() {
    let wg = WaitGroup::new();
    let pool = futures::executor::ThreadPool::new().unwrap();
    let n = 100;
    wg.add(n);
    for _ in 0..n {
        let wg = wg.clone();
        pool.spawn_ok(async move { wg.done() });
    }
    futures::executor::block_on(wg.wait());
}

#[test]
fn under_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let wg = WaitGroup::new();
        let n = 100;
        wg.add(n);
        let waiters: Vec<_> = (0..10)
            .map(|_| {
                let wg = wg.clone();
                tokio::spawn(async move { wg.wait().await })
            })
            .collect();
        for _ in 0..n {
            let wg = wg.clone();
            tokio::spawn(async move { wg.done() });
        }
        tokio::time::timeout(LIMIT, async {
            wg.wait().await;
            for w in waiters {
                w.await.unwrap();
            }
        })
        .await
        .expect("waiters not released");
    });
}

#[test]
fn wait_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let wg = WaitGroup::new();
    assert_send(&wg.wait());
    let wg2 = wg.clone();
    let h = gust_executor::spawn(async move { wg2.wait().await });
    gust_executor::block_on(h).unwrap();
}

/// Stress: fan-in from many tasks, counted exactly, repeated.
#[test]
fn stress_fan_in() {
    let total = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        let wg = WaitGroup::new();
        for _ in 0..500 {
            let total = total.clone();
            wg.go(async move {
                gust_executor::yield_now().await;
                total.fetch_add(1, Ordering::Relaxed);
            });
        }
        gust_executor::block_on(wg.wait());
    }
    assert_eq!(total.load(Ordering::Relaxed), 20 * 500);
}
