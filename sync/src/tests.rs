//! Unit tests, small enough for Miri: the semaphore's queue, and each
//! wrapper's wait and wake-up on a plain thread.

use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::executor::block_on;
use futures::task::noop_waker_ref;

use crate::{Barrier, Cond, Mutex, OnceCell, RwLock, Semaphore};

fn cx() -> Context<'static> {
    Context::from_waker(noop_waker_ref())
}

#[test]
fn semaphore_serves_the_queue_in_order() {
    let sem = Semaphore::new(3);
    let held = sem.try_acquire(3).unwrap();
    let mut a = Box::pin(sem.acquire(2));
    let mut b = Box::pin(sem.acquire(1));
    let mut c = Box::pin(sem.acquire(3));
    for f in [&mut a, &mut b, &mut c] {
        assert!(f.as_mut().poll(&mut cx()).is_pending());
    }
    assert!(sem.try_acquire(1).is_none(), "no barging past the queue");
    drop(held);
    let pa = match a.as_mut().poll(&mut cx()) {
        Poll::Ready(p) => p.unwrap(),
        Poll::Pending => panic!("the head fits"),
    };
    let pb = match b.as_mut().poll(&mut cx()) {
        Poll::Ready(p) => p.unwrap(),
        Poll::Pending => panic!("the second fits too"),
    };
    assert!(c.as_mut().poll(&mut cx()).is_pending());
    drop(pa);
    assert!(c.as_mut().poll(&mut cx()).is_pending(), "needs all 3");
    drop(pb);
    assert!(matches!(c.as_mut().poll(&mut cx()), Poll::Ready(Ok(_))));
    drop(c);
    assert_eq!(sem.available(), 3);
}

#[test]
fn semaphore_head_blocks_smaller_requests_behind_it() {
    let sem = Semaphore::new(2);
    let one = sem.try_acquire(1).unwrap();
    let mut big = Box::pin(sem.acquire(2));
    assert!(big.as_mut().poll(&mut cx()).is_pending());
    let mut small = Box::pin(sem.acquire(1));
    assert!(small.as_mut().poll(&mut cx()).is_pending(), "FIFO");
    drop(one);
    let Poll::Ready(Ok(two)) = big.as_mut().poll(&mut cx()) else {
        panic!("the head fits now")
    };
    assert!(small.as_mut().poll(&mut cx()).is_pending());
    drop(two);
    assert!(matches!(small.as_mut().poll(&mut cx()), Poll::Ready(Ok(_))));
}

#[test]
fn semaphore_threads() {
    let sem = Arc::new(Semaphore::new(2));
    let ts: Vec<_> = (0..3)
        .map(|_| {
            let sem = sem.clone();
            std::thread::spawn(move || {
                for _ in 0..if cfg!(miri) { 5 } else { 100 } {
                    let _p = sem.acquire_blocking(1).unwrap();
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    assert_eq!(sem.available(), 2);
}

#[test]
fn mutex_and_rwlock_threads() {
    let m = Arc::new(Mutex::new(0));
    let l = Arc::new(RwLock::new(0));
    let ts: Vec<_> = (0..2)
        .map(|_| {
            let (m, l) = (m.clone(), l.clone());
            std::thread::spawn(move || {
                for _ in 0..if cfg!(miri) { 5 } else { 100 } {
                    *m.lock_blocking() += 1;
                    *l.write_blocking() += 1;
                    let _ = *l.read_blocking();
                }
            })
        })
        .collect();
    for t in ts {
        t.join().unwrap();
    }
    let n = if cfg!(miri) { 10 } else { 200 };
    assert_eq!(*m.lock_blocking(), n);
    assert_eq!(*l.read_blocking(), n);
}

#[test]
fn rwlock_downgrade_lets_queued_readers_in_and_keeps_writers_out() {
    let l = RwLock::new(String::from("a"));
    {
        let mut w = l.try_write().unwrap();
        let mut read = pin!(l.read());
        assert!(read.as_mut().poll(&mut cx()).is_pending());
        w.push('b');
        let d = crate::RwLockWriteGuard::downgrade(w);
        let Poll::Ready(r) = read.as_mut().poll(&mut cx()) else {
            panic!("the queued reader is let in")
        };
        assert_eq!((d.as_str(), r.as_str()), ("ab", "ab"));
        assert!(l.try_write().is_none());
    }
    l.try_write().unwrap().push('c');
    assert_eq!(l.into_inner(), "abc");
}

#[test]
fn cond_wakes_a_waiting_thread() {
    let pair = Arc::new((Mutex::new(false), Cond::new()));
    let p = pair.clone();
    let t = std::thread::spawn(move || {
        let mut g = p.0.lock_blocking();
        while !*g {
            g = p.1.wait_blocking(g);
        }
    });
    *pair.0.lock_blocking() = true;
    pair.1.notify_all();
    t.join().unwrap();
}

#[test]
fn once_cell_and_barrier() {
    let cell = OnceCell::new();
    assert_eq!(*block_on(cell.get_or_init(|| async { 3 })), 3);
    let b = Arc::new(Barrier::new(2));
    let b2 = b.clone();
    let t = std::thread::spawn(move || b2.wait_blocking());
    let leader = b.wait_blocking();
    assert!(leader ^ t.join().unwrap());
}

#[test]
fn dropped_lock_future_passes_the_lock_on() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let mut waiting = Box::pin(m.lock());
    assert!(waiting.as_mut().poll(&mut cx()).is_pending());
    drop(waiting);
    drop(g);
    let mut again = pin!(m.lock());
    assert!(again.as_mut().poll(&mut cx()).is_ready());
}

/// A failed `try_lock` leaves the lock held (a guard built for nothing
/// would unlock it when dropped).
#[test]
fn failed_try_lock_keeps_the_lock() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    assert!(m.try_lock().is_none());
    assert!(m.try_lock().is_none(), "the failed try_lock unlocked it");
    drop(g);
    assert!(m.try_lock().is_some());
}

/// A `Barrier::wait` dropped before its round ends takes its arrival back:
/// the next round still needs `n` live waiters (it released one early when
/// the barrier was async-lock's).
#[test]
fn dropped_barrier_wait_does_not_count() {
    let b = Barrier::new(2);
    let mut first = Box::pin(b.wait());
    assert!(
        first.as_mut().poll(&mut cx()).is_pending(),
        "1 of 2 arrived"
    );
    drop(first);
    let mut second = Box::pin(b.wait());
    assert!(
        second.as_mut().poll(&mut cx()).is_pending(),
        "the dropped wait counted as arrived"
    );
    let mut third = pin!(b.wait());
    assert_eq!(
        third.as_mut().poll(&mut cx()),
        Poll::Ready(true),
        "the leader"
    );
    assert_eq!(second.as_mut().poll(&mut cx()), Poll::Ready(false));
    // A wait dropped after its round ended changes nothing.
    let mut late = Box::pin(b.wait());
    assert!(late.as_mut().poll(&mut cx()).is_pending());
    let mut lead = pin!(b.wait());
    assert_eq!(lead.as_mut().poll(&mut cx()), Poll::Ready(true));
    drop(late);
    let mut next = Box::pin(b.wait());
    assert!(
        next.as_mut().poll(&mut cx()).is_pending(),
        "a new round of 2"
    );
}
