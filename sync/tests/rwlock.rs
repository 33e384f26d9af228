//! `RwLock` fairness, Go's `sync.RWMutex` rules: readers that a writer
//! kept waiting get in when it unlocks, before a writer that came after
//! them; a writer waits behind the requests before it, not forever behind
//! writers that re-lock at once. (Found from outside: the lock wrapped
//! async-lock's, which let a re-locking writer starve a reader, 4 of 4
//! runs, and a writer among writers that never yield, 2 of 2.)

#![cfg(not(loom))]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use gust_executor::runtime::{Builder, Runtime};
use gust_sync::RwLock;

fn poll<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(std::task::Waker::noop()))
}

fn rt() -> Runtime {
    Builder::new().workers(2).build().unwrap()
}

#[test]
fn readers_a_writer_kept_waiting_get_in_before_a_later_writer() {
    let rw = RwLock::new(0);
    let w1 = rw.try_write().unwrap();
    let mut r = pin!(rw.read());
    assert!(poll(r.as_mut()).is_pending());
    let mut w2 = pin!(rw.write());
    assert!(poll(w2.as_mut()).is_pending());
    drop(w1);
    // The later writer polled first still waits for the reader.
    assert!(poll(w2.as_mut()).is_pending());
    let Poll::Ready(g) = poll(r.as_mut()) else {
        panic!("the reader waits behind a writer that came after it")
    };
    assert!(poll(w2.as_mut()).is_pending());
    drop(g);
    assert!(poll(w2.as_mut()).is_ready());
}

#[test]
fn a_reader_is_not_starved_by_a_writer_that_relocks_at_once() {
    // Go's TestMutexFairness, for RLock.
    rt().block_on(async {
        let rw = Arc::new(RwLock::new(()));
        let stop = Arc::new(AtomicBool::new(false));
        let (rw2, stop2) = (rw.clone(), stop.clone());
        let hog = gust_executor::spawn(async move {
            while !stop2.load(Ordering::Relaxed) {
                let g = rw2.write().await;
                gust_executor::time::sleep(Duration::from_micros(100)).await;
                drop(g); // and relock at once
            }
        });
        let rw3 = rw.clone();
        let reader = gust_executor::spawn(async move {
            for _ in 0..10 {
                gust_executor::time::sleep(Duration::from_micros(100)).await;
                drop(rw3.read().await);
            }
        });
        let done = gust_executor::time::timeout(Duration::from_secs(10), reader).await;
        stop.store(true, Ordering::Relaxed);
        hog.await.unwrap();
        assert!(done.is_ok(), "10 reads did not get in within 10 s");
    });
}

#[test]
fn a_writer_is_not_starved_by_writers_that_never_yield() {
    rt().block_on(async {
        let rw = Arc::new(RwLock::new(()));
        let turns = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let churners: Vec<_> = (0..2)
            .map(|_| {
                let (rw, turns, stop) = (rw.clone(), turns.clone(), stop.clone());
                gust_executor::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let g = rw.write().await;
                        turns.fetch_add(1, Ordering::SeqCst);
                        let t = Instant::now();
                        while t.elapsed() < Duration::from_micros(20) {}
                        drop(g);
                    }
                })
            })
            .collect();
        let mut worst = 0;
        for _ in 0..20 {
            let before = turns.load(Ordering::SeqCst);
            let g = gust_executor::time::timeout(Duration::from_secs(10), rw.write()).await;
            assert!(g.is_ok(), "a writer waited 10 s");
            worst = worst.max(turns.load(Ordering::SeqCst) - before);
        }
        stop.store(true, Ordering::Relaxed);
        for c in churners {
            c.await.unwrap();
        }
        // FIFO: the two churners, each once, at most.
        assert!(worst <= 2, "a writer waited {worst} turns of others");
    });
}
