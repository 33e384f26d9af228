//! `Semaphore::close` (tokio's): every acquire waiting and every later one
//! fails with an `AcquireError` that says "closed"; permits held, or
//! granted before the close, stay valid and go back as usual. What it must
//! keep: cancel safety (a dropped acquire, refused or not, takes nothing),
//! no lost wake-up (every waiter wakes), and the permit count (a checksum
//! of the permits held under a close racing acquires and releases).

#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gust_sync::{AcquireError, Semaphore};

fn poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Fails instead of hanging when a waiter is never woken.
fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    gust_executor::block_on(gust_executor::time::timeout(Duration::from_secs(20), fut))
        .expect("not within 20 s: a waiter was never woken")
}

/// `Semaphore::close` (tokio's): queued and later acquires fail, naming
/// the close; permits held stay valid; a request granted before the close
/// keeps its grant.
#[test]
fn a_closed_semaphore_refuses_waiters_and_newcomers_but_keeps_held_permits() {
    use gust_sync::Semaphore;
    let sem = Arc::new(Semaphore::new(3));
    let held = sem.try_acquire(2).unwrap();
    let mut big = Box::pin(sem.acquire(3));
    let mut small = Box::pin(sem.acquire(1));
    assert!(poll_once(big.as_mut()).is_pending());
    assert!(poll_once(small.as_mut()).is_pending()); // behind `big`: FIFO
    drop(held);
    // `big` is granted (all 3 free now); `small` still waits behind it.
    assert!(sem.close());
    assert!(!sem.close());
    assert!(sem.is_closed());
    let err = match poll_once(small.as_mut()) {
        Poll::Ready(r) => r.unwrap_err(),
        Poll::Pending => panic!("close wakes every waiter"),
    };
    assert!(err.is_closed());
    assert_eq!(
        err.to_string(),
        "semaphore: acquiring 1 permits from a closed semaphore"
    );
    let granted = match poll_once(big.as_mut()) {
        Poll::Ready(r) => r.expect("granted before the close"),
        Poll::Pending => panic!("granted"),
    };
    assert!(sem.try_acquire(1).is_none());
    assert!(within(sem.acquire(1)).unwrap_err().is_closed());
    assert!(
        within(sem.clone().acquire_owned(1))
            .unwrap_err()
            .is_closed()
    );
    drop(granted);
    assert_eq!(sem.available(), 3);
    // A request above the capacity keeps its own words.
    let sem = Semaphore::new(1);
    assert!(!sem.acquire_blocking(2).unwrap_err().is_closed());
}

/// Tasks parked on `acquire` and `acquire_owned` all wake when the
/// semaphore closes, each with the closed error.
#[test]
fn close_wakes_every_waiting_task() {
    let sem = Arc::new(Semaphore::new(2));
    let held = sem.try_acquire_owned(2).unwrap();
    let parked = Arc::new(AtomicUsize::new(0));
    let errors = within(async {
        let tasks: Vec<_> = (0..32usize)
            .map(|i| {
                let (sem, parked) = (sem.clone(), parked.clone());
                gust_executor::spawn(async move {
                    parked.fetch_add(1, Ordering::SeqCst);
                    let err = if i % 2 == 0 {
                        sem.acquire(1).await.map(drop).unwrap_err()
                    } else {
                        sem.acquire_owned(2).await.map(drop).unwrap_err()
                    };
                    assert!(err.is_closed(), "{err}");
                })
            })
            .collect();
        // Some wait already, the rest come after the close: all fail.
        while parked.load(Ordering::SeqCst) < 8 {
            gust_executor::yield_now().await;
        }
        assert!(sem.close());
        let n = tasks.len();
        for t in tasks {
            t.await.unwrap();
        }
        n
    });
    assert_eq!(errors, 32);
    drop(held);
    assert_eq!((sem.available(), sem.capacity()), (2, 2));
}

/// A waiter refused by the close and dropped before it saw the refusal
/// takes nothing; nor does one granted just before the close and dropped
/// unpolled (its grant goes back).
#[test]
fn dropped_acquires_around_a_close_take_nothing() {
    let sem = Arc::new(Semaphore::new(3));
    let held = sem.try_acquire(3).unwrap();
    let mut granted = Box::pin(sem.acquire(2));
    let mut refused = Box::pin(sem.acquire_owned(3));
    assert!(poll_once(granted.as_mut()).is_pending());
    assert!(poll_once(refused.as_mut()).is_pending());
    drop(held); // `granted` gets 2; `refused` waits for 3
    sem.close();
    drop(refused);
    drop(granted);
    assert_eq!(sem.available(), 3);
    assert!(sem.try_acquire(1).is_none(), "still closed");
}

/// `forget` and `add_permits` still count after a close; acquires still
/// fail.
#[test]
fn forget_and_add_permits_after_a_close_keep_the_count() {
    let sem = Semaphore::new(4);
    let held = sem.try_acquire(2).unwrap();
    sem.close();
    held.forget();
    sem.add_permits(1);
    assert_eq!((sem.capacity(), sem.available()), (3, 3));
    assert!(sem.acquire_blocking(1).unwrap_err().is_closed());
    assert!(sem.try_acquire(1).is_none());
}

/// The error says which problem it is, and the two never compare equal.
#[test]
fn acquire_error_names_the_problem() {
    let sem = Semaphore::new(2);
    let too_many: AcquireError = sem.acquire_blocking(3).unwrap_err();
    assert!(!too_many.is_closed());
    assert_eq!(
        too_many.to_string(),
        "semaphore: acquiring 3 permits from a semaphore of 2"
    );
    sem.close();
    let closed = sem.acquire_blocking(3).unwrap_err();
    assert!(closed.is_closed());
    assert_eq!(
        closed.to_string(),
        "semaphore: acquiring 3 permits from a closed semaphore"
    );
    assert_ne!(closed, too_many);
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(closed);
    assert!(boxed.to_string().contains("closed"));
}

/// The capacity of the stress test's semaphore.
const CAP: usize = 5;

/// Tasks acquire and release varied weights while the semaphore closes
/// midway: never more permits out than the capacity, every acquire either
/// succeeds or fails closed (none hangs), and every permit comes back.
#[test]
fn a_close_racing_acquires_and_releases_loses_no_permit() {
    const TASKS: usize = 40;
    const ROUNDS: usize = 200;
    for round in 0..4 {
        let sem = Arc::new(Semaphore::new(CAP));
        let out = Arc::new(AtomicUsize::new(0));
        let (ok, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        within(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let (sem, out, ok, closed) =
                        (sem.clone(), out.clone(), ok.clone(), closed.clone());
                    gust_executor::spawn(async move {
                        for r in 0..ROUNDS {
                            let k = 1 + (t + r) % CAP;
                            // The permit lives while `hold` counts it out.
                            let res = if r % 2 == 0 {
                                sem.acquire(k).await.map(|p| hold(&out, p.count()))
                            } else {
                                sem.acquire_owned(k).await.map(|p| hold(&out, p.count()))
                            };
                            match res {
                                Ok(()) => {
                                    ok.fetch_add(1, Ordering::SeqCst);
                                }
                                Err(e) => {
                                    assert!(e.is_closed(), "{e}");
                                    closed.fetch_add(1, Ordering::SeqCst);
                                }
                            }
                            gust_executor::yield_now().await;
                        }
                    })
                })
                .collect();
            // Close at a different point each round: after this many grants.
            let target = [1, 500, 2000, 6000][round];
            while ok.load(Ordering::SeqCst) < target {
                gust_executor::time::sleep(Duration::from_micros(50)).await;
            }
            sem.close();
            for t in tasks {
                t.await.unwrap();
            }
        });
        assert_eq!(
            ok.load(Ordering::SeqCst) + closed.load(Ordering::SeqCst),
            TASKS * ROUNDS
        );
        assert!(closed.load(Ordering::SeqCst) > 0);
        assert_eq!(
            out.load(Ordering::SeqCst),
            0,
            "every holder counted itself out"
        );
        assert_eq!(
            (sem.available(), sem.capacity()),
            (CAP, CAP),
            "round {round}"
        );
    }
}

/// Counts `k` permits out while a permit is held (the caller drops it
/// right after), checking that no more than the capacity are ever out.
fn hold(out: &AtomicUsize, k: usize) {
    let now = out.fetch_add(k, Ordering::SeqCst) + k;
    assert!(now <= CAP, "{now} permits out of {CAP}");
    std::thread::yield_now();
    out.fetch_sub(k, Ordering::SeqCst);
}
