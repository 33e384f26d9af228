//! A task that takes a free lock in a loop (each `lock().await` ready at
//! once, so its poll never returns) lets the tasks that would contend for
//! it run: lock waits that complete at once take from the poll's budget
//! (`gust_trace::READY_BUDGET`) and yield when it is spent. On a runtime of
//! one worker the contender could not even start waiting before, and the
//! program hung (found by an outside port of tokio's sync tests: tokio's
//! locks take from its cooperative budget; Go preempts the goroutine).
#![cfg(not(loom))]

use gust_executor::runtime::Builder;
use gust_sync::{Mutex, RwLock, Semaphore};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs `f` on a thread; fails after 20 s instead of hanging.
fn within(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the contender never ran: the relocking task kept the worker");
}

/// One worker: a task relocks a free lock until another task has had it.
fn hog_then_contender<L: Send + Sync + 'static>(
    lock: L,
    take: impl Fn(&L) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>
    + Send
    + Sync
    + Copy
    + 'static,
) {
    within(move || {
        let rt = Builder::new().workers(1).build().unwrap();
        rt.block_on(async move {
            let lock = Arc::new(lock);
            let done = Arc::new(AtomicBool::new(false));
            let hog = {
                let (lock, done) = (lock.clone(), done.clone());
                gust_executor::spawn(async move {
                    let mut n = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        take(&lock).await;
                        n += 1;
                    }
                    n
                })
            };
            let contender = {
                let (lock, done) = (lock.clone(), done.clone());
                gust_executor::spawn(async move {
                    take(&lock).await;
                    done.store(true, Ordering::Relaxed);
                })
            };
            contender.await.unwrap();
            let relocks = hog.await.unwrap();
            assert!(relocks >= 1, "the hog ran first");
        });
    });
}

#[test]
fn a_relocking_task_lets_a_mutex_contender_run() {
    hog_then_contender(Mutex::new(()), |m| {
        Box::pin(async move {
            drop(m.lock().await);
        })
    });
}

#[test]
fn a_relocking_task_lets_an_rwlock_contender_run() {
    hog_then_contender(RwLock::new(()), |l| {
        Box::pin(async move {
            drop(l.write().await);
        })
    });
}

#[test]
fn a_reacquiring_task_lets_a_semaphore_contender_run() {
    hog_then_contender(Semaphore::new(1), |s| {
        Box::pin(async move {
            drop(s.acquire(1).await.unwrap());
        })
    });
}

/// Outside a gust task's poll (another executor, a plain `block_on` of
/// another crate) there is no budget: ready locks never yield.
#[test]
fn no_budget_outside_a_gust_task() {
    let m = Mutex::new(0u64);
    futures::executor::block_on(async {
        for _ in 0..100_000 {
            *m.lock().await += 1;
        }
    });
    assert_eq!(*m.try_lock().unwrap(), 100_000);
}

/// A `_blocking` lock (or another executor's `block_on`) inside a gust
/// task's poll, past the poll's budget: such a loop polls a wait that
/// yielded again at once, so a budget that stayed spent made it spin
/// forever (the test hung); a spent budget starts over instead, and the
/// loop goes on after one yield.
#[test]
fn blocking_locks_inside_a_task_whose_budget_is_spent_complete() {
    within(|| {
        let rt = Builder::new().workers(1).build().unwrap();
        rt.block_on(async {
            gust_executor::spawn(async {
                let m = Mutex::new(0u64);
                let rw = RwLock::new(0u64);
                let sem = Semaphore::new(1);
                // Three times the budget, in one poll of the task.
                for _ in 0..3 * gust_trace::READY_BUDGET {
                    *m.lock_blocking() += 1;
                    *rw.write_blocking() += 1;
                    drop(rw.read_blocking());
                    drop(sem.acquire_blocking(1).unwrap());
                    *futures::executor::block_on(m.lock()) += 1;
                }
                assert_eq!(
                    *m.try_lock().unwrap(),
                    6 * u64::from(gust_trace::READY_BUDGET)
                );
            })
            .await
            .unwrap();
        });
    });
}
