//! loom models of the weighted semaphore's waiter protocol (semaphore.rs):
//! a release racing a queued acquire, and a release racing the cancel of a
//! queued acquire. In every interleaving the acquire completes (no lost
//! wake-up) or, cancelled, leaves every permit free (no leaked grant).
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p gust-sync --test loom`
//! (ci/loom.sh).

#![cfg(loom)]

use std::pin::pin;
use std::task::{Context, Poll};

use futures::task::noop_waker_ref;
use gust_sync::Semaphore;
use loom::sync::Arc;
use loom::thread;

/// A holder releases while another thread waits for the permit: the waiter
/// is always woken (its waker is never lost between queueing and release)
/// and then finds the permit granted. The waiter parks until woken, so a
/// lost wake-up shows as a deadlock that loom reports.
#[test]
fn release_wakes_queued_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire(1).unwrap();
        let s2 = sem.clone();
        let t = thread::spawn(move || {
            let flag = std::sync::Arc::new(Unpark(thread::current()));
            let waker = futures::task::waker(flag);
            let mut cx = Context::from_waker(&waker);
            let mut fut = pin!(s2.acquire(1));
            loop {
                if let Poll::Ready(p) = fut.as_mut().poll(&mut cx) {
                    assert_eq!(p.unwrap().count(), 1);
                    return;
                }
                thread::park();
            }
        });
        drop(held);
        t.join().unwrap();
        assert_eq!(sem.available(), 1);
    });
}

/// A waker that unparks a loom thread.
struct Unpark(thread::Thread);

impl futures::task::ArcWake for Unpark {
    fn wake_by_ref(arc_self: &std::sync::Arc<Self>) {
        arc_self.0.unpark();
    }
}

/// A queued acquire is cancelled while the holder releases: granted or not
/// when it is dropped, every permit ends up free.
#[test]
fn cancel_racing_release_leaks_nothing() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = sem.try_acquire(2).unwrap();
        let s2 = sem.clone();
        let t = thread::spawn(move || {
            let mut fut = pin!(s2.acquire(2));
            let mut cx = Context::from_waker(noop_waker_ref());
            if let Poll::Ready(p) = fut.as_mut().poll(&mut cx) {
                drop(p.unwrap());
            }
            // dropped here: pending (queued or granted) or done
        });
        drop(held);
        t.join().unwrap();
        assert_eq!(sem.available(), 2);
    });
}
