//! `OnceCell`'s setters and its fallible initializer: `try_set` (never
//! waits: fails, giving the value back, while the cell is set or being
//! initialized), `set_blocking`, and `get_or_try_init` (an error leaves the
//! cell empty for the next caller). What they must keep: exactly one value
//! wins (a checksum over racing setters: every other value comes back),
//! and cancel safety (a dropped initializer leaves the cell to the next
//! caller; nobody waits forever).

#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gust_sync::OnceCell;

fn is_send_static<T: Send + 'static>(_: &T) {}

fn poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    gust_executor::block_on(gust_executor::time::timeout(Duration::from_secs(20), fut))
        .expect("not within 20 s: a caller waited forever")
}

#[test]
fn try_set_sets_an_empty_cell_once() {
    let c = OnceCell::new();
    assert_eq!(c.try_set(1), Ok(()));
    assert_eq!(c.try_set(2), Err(2));
    assert_eq!(c.get(), Some(&1));
    assert_eq!(c.set_blocking(3), Err(3));
}

/// While another caller's initializer runs, `try_set` fails at once with
/// its value (it does not wait, unlike `set`), and the initializer's value
/// wins. If that initializer is dropped, the cell is empty again and
/// `try_set` succeeds.
#[test]
fn try_set_does_not_wait_for_an_initializer() {
    let c = OnceCell::new();
    let mut init = Box::pin(c.get_or_init(std::future::pending::<String>));
    assert!(poll_once(init.as_mut()).is_pending()); // initializing
    assert_eq!(c.try_set("mine".to_string()), Err("mine".to_string()));
    let mut waiting_set = Box::pin(c.set("waits".to_string()));
    assert!(poll_once(waiting_set.as_mut()).is_pending(), "set waits");
    drop(init); // cancelled: the cell is empty again
    assert_eq!(c.get(), None);
    assert_eq!(c.try_set("second".to_string()), Ok(()));
    let Poll::Ready(r) = poll_once(waiting_set.as_mut()) else {
        panic!("the cell is set: `set` is done");
    };
    assert_eq!(r, Err("waits".to_string()));
}

/// Threads race `try_set` and `set_blocking`: one value wins, and every
/// other comes back to its caller (a checksum).
#[test]
fn racing_setters_one_wins_every_other_value_comes_back() {
    const THREADS: usize = 8;
    for _ in 0..200 {
        let c = Arc::new(OnceCell::new());
        let back = Arc::new(AtomicUsize::new(0));
        let wins = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (1..=THREADS)
            .map(|v| {
                let (c, back, wins) = (c.clone(), back.clone(), wins.clone());
                std::thread::spawn(move || {
                    let r = if v % 2 == 0 {
                        c.try_set(v)
                    } else {
                        c.set_blocking(v).map(drop)
                    };
                    match r {
                        Ok(()) => wins.fetch_add(1, Ordering::SeqCst),
                        Err(v) => back.fetch_add(v, Ordering::SeqCst),
                    };
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let won = *c.get().expect("a setter won");
        assert_eq!(wins.load(Ordering::SeqCst), 1);
        assert_eq!(
            back.load(Ordering::SeqCst) + won,
            THREADS * (THREADS + 1) / 2
        );
    }
}

/// An error leaves the cell empty; the next call runs its own initializer.
#[test]
fn get_or_try_init_error_leaves_the_cell_empty() {
    let c = OnceCell::<u32>::new();
    let calls = AtomicUsize::new(0);
    within(async {
        let r = c
            .get_or_try_init(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<u32, _>("down")
            })
            .await;
        assert_eq!(r, Err("down"));
        assert_eq!(c.get(), None);
        assert!(!c.is_initialized());
        let r = c
            .get_or_try_init(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok::<_, &str>(7)
            })
            .await;
        assert_eq!(r, Ok(&7));
        // Set now: no initializer runs.
        let r = c
            .get_or_try_init(|| async { Err::<u32, &str>("unused") })
            .await;
        assert_eq!(r, Ok(&7));
    });
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Callers waiting on an initializer that fails are not failed with it:
/// one of them runs its own initializer, and all get its value. Their
/// futures are `Send + 'static` (with the cell in an `Arc`), for `spawn`.
#[test]
fn waiters_on_a_failed_initializer_initialize_it_themselves() {
    let c = Arc::new(OnceCell::<usize>::new());
    let inits = Arc::new(AtomicUsize::new(0));
    let values = within(async {
        let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
        let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let first = {
            let (c, started) = (c.clone(), started.clone());
            gust_executor::spawn(async move {
                c.get_or_try_init(|| async move {
                    started.store(true, Ordering::SeqCst);
                    // Fails once the others wait (or have tried).
                    let _ = gust_executor::spawn_blocking(move || gate_rx.recv()).await;
                    Err::<usize, _>("first fails")
                })
                .await
                .copied()
            })
        };
        // The others come while the first initializer runs.
        while !started.load(Ordering::SeqCst) {
            gust_executor::yield_now().await;
        }
        let others: Vec<_> = (0..8)
            .map(|i| {
                let (c, inits) = (c.clone(), inits.clone());
                let fut = async move {
                    c.get_or_try_init(|| async move {
                        inits.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, &str>(100 + i)
                    })
                    .await
                    .copied()
                };
                is_send_static(&fut);
                gust_executor::spawn(fut)
            })
            .collect();
        gust_executor::time::sleep(Duration::from_millis(20)).await;
        gate_tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Err("first fails"));
        let mut values = Vec::new();
        for t in others {
            values.push(
                t.await
                    .unwrap()
                    .expect("a waiter's own initializer succeeds"),
            );
        }
        values
    });
    assert_eq!(inits.load(Ordering::SeqCst), 1, "one initializer ran");
    assert!(values.iter().all(|v| Some(v) == c.get()));
}

/// A dropped `get_or_try_init` that was initializing leaves the cell
/// empty, and a caller waiting on it takes over (nobody waits forever).
#[test]
fn a_dropped_get_or_try_init_hands_the_cell_on() {
    let c = OnceCell::<u8>::new();
    let mut running = Box::pin(c.get_or_try_init(std::future::pending::<Result<u8, ()>>));
    assert!(poll_once(running.as_mut()).is_pending());
    let mut waiting = Box::pin(c.get_or_try_init(|| async { Ok::<_, ()>(9) }));
    assert!(
        poll_once(waiting.as_mut()).is_pending(),
        "waits for the first"
    );
    drop(running);
    let r = within(waiting);
    assert_eq!(r, Ok(&9));
}
