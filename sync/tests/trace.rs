//! Wait reasons (gust-trace): each contended wait records its
//! `Wait::Lock(..)` into the current task's slot when it returns `Pending`;
//! the uncontended paths record nothing.

#![cfg(not(loom))]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use gust_sync::{Barrier, Cond, Mutex, OnceCell, RwLock, Semaphore};
use gust_trace::{Lock, Wait, WaitSlot};

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(fut).poll(&mut cx)
}

/// Polls `fut` once under a fresh slot and returns what it recorded.
fn recorded<F: Future>(fut: F) -> (Poll<F::Output>, Option<Wait>) {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    let poll = poll_once(fut);
    (poll, slot.get())
}

/// A future that records `wait` and stays pending, as a gust wait does.
fn recording(wait: Wait) -> impl Future<Output = ()> {
    std::future::poll_fn(move |_| {
        gust_trace::record(wait);
        Poll::Pending
    })
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn mutex_lock() {
    let m = Mutex::new(0);
    let (poll, wait) = recorded(m.lock());
    assert!(poll.is_ready());
    assert_eq!(wait, None, "uncontended");
    drop(poll); // the guard
    let _held = m.try_lock().unwrap();
    let (poll, wait) = recorded(m.lock());
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::Mutex)));
    assert!(wait.unwrap().is_durable());
}

#[test]
fn rwlock_read_and_write() {
    let l = RwLock::new(0);
    assert_eq!(recorded(l.read()).1, None, "uncontended read");
    assert_eq!(recorded(l.write()).1, None, "uncontended write");
    {
        let _w = l.try_write().unwrap();
        let (poll, wait) = recorded(l.read());
        assert!(poll.is_pending());
        assert_eq!(wait, Some(Wait::Lock(Lock::RwLock)));
    }
    let _r = l.try_read().unwrap();
    let (poll, wait) = recorded(l.write());
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::RwLock)));
}

#[test]
fn semaphore_acquire() {
    let sem = Semaphore::new(2);
    let (poll, wait) = recorded(sem.acquire(2));
    assert!(poll.is_ready());
    assert_eq!(wait, None, "uncontended");
    drop(poll); // the permit
    let (poll, wait) = recorded(sem.acquire(3));
    assert!(matches!(poll, Poll::Ready(Err(_))));
    assert_eq!(wait, None, "over capacity: an error, not a wait");
    let _held = sem.try_acquire(1).unwrap();
    let (poll, wait) = recorded(sem.acquire(2));
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::Semaphore)));
}

#[test]
fn cond_wait_then_relock() {
    let m = Mutex::new(());
    let c = Cond::new();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    let mut cx = Context::from_waker(Waker::noop());
    let mut wait = pin!(c.wait(m.try_lock().unwrap()));
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    assert_eq!(slot.get(), Some(Wait::Lock(Lock::Cond)));
    // Notified while another holds the mutex: it now waits for the mutex.
    let held = m.try_lock().unwrap();
    c.notify_one();
    slot.clear();
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    assert_eq!(slot.get(), Some(Wait::Lock(Lock::Mutex)));
    drop(held);
    slot.clear();
    assert!(wait.as_mut().poll(&mut cx).is_ready());
    assert_eq!(slot.get(), None);
}

#[test]
fn barrier_wait() {
    let alone = Barrier::new(1);
    let (poll, wait) = recorded(alone.wait());
    assert_eq!(poll, Poll::Ready(true));
    assert_eq!(wait, None, "alone: no wait");
    let pair = Barrier::new(2);
    let (poll, wait) = recorded(pair.wait());
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::Barrier)));
}

#[test]
fn once_cell_waits_for_another_initializer() {
    let cell = OnceCell::<u32>::new();
    let mut cx = Context::from_waker(Waker::noop());

    // The initializer's caller records only what its initializer records:
    // nothing for a future gust cannot see into...
    let first_slot = WaitSlot::new();
    let mut first = pin!(cell.get_or_init(|| async {
        std::future::pending::<()>().await;
        1
    }));
    {
        // SAFETY: the guard drops in this scope, before the slot, in order.
        let _current = unsafe { gust_trace::enter(&first_slot) };
        assert!(first.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(first_slot.get(), None);

    // ...while the others wait for it.
    let (poll, wait) = recorded(cell.get_or_init(|| async { 2 }));
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::OnceCell)));
    let (poll, wait) = recorded(cell.get_or_try_init(|| async { Ok::<_, ()>(2) }));
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::OnceCell)));
    let (poll, wait) = recorded(cell.set(3));
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Lock(Lock::OnceCell)));
}

#[test]
fn once_cell_initializer_records_its_own_wait() {
    let cell = OnceCell::<u32>::new();
    let (poll, wait) = recorded(cell.get_or_init(|| async {
        recording(Wait::Sleep).await;
        1
    }));
    assert!(poll.is_pending());
    assert_eq!(wait, Some(Wait::Sleep));
}

#[test]
fn once_cell_initialized_records_nothing() {
    let cell = OnceCell::new();
    let (poll, wait) = recorded(cell.get_or_init(|| async { 1 }));
    assert_eq!(poll, Poll::Ready(&1));
    assert_eq!(wait, None, "its own initializer, ready at once");
    let (poll, wait) = recorded(cell.get_or_init(|| async { 2 }));
    assert_eq!(poll, Poll::Ready(&1));
    assert_eq!(wait, None);
}

#[test]
fn traced_futures_stay_send() {
    let (m, l, b, c) = (Mutex::new(0), RwLock::new(0), Barrier::new(1), Cond::new());
    let cell = OnceCell::<u32>::new();
    assert_send(&m.lock());
    assert_send(&l.read());
    assert_send(&l.write());
    assert_send(&b.wait());
    assert_send(&c.wait(m.try_lock().unwrap()));
    assert_send(&cell.get_or_init(|| async { 1 }));
    assert_send(&cell.get_or_try_init(|| async { Ok::<_, ()>(1) }));
    assert_send(&cell.set(1));
}
