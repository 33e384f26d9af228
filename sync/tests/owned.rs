//! Owned guards (tokio's `lock_owned`, `read_owned`, `write_owned`): the
//! same locks, with guards that hold an `Arc` and so move into spawned
//! tasks. What they must keep: mutual exclusion (a checksum over many
//! tasks), release on drop wherever the guard ends up, cancel safety of
//! the pending futures, and the reader/writer rules.

use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gust_sync::{Mutex, OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

fn is_send_static<T: Send + 'static>(_: &T) {}

fn poll_once<F: std::future::Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Fails instead of hanging when a lock is never released.
fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    gust_executor::block_on(gust_executor::time::timeout(Duration::from_secs(10), fut))
        .expect("not within 10 s: a lock was never released")
}

#[test]
fn owned_mutex_guards_in_many_tasks_keep_mutual_exclusion() {
    const TASKS: u64 = 200;
    const ROUNDS: u64 = 50;
    let m = Arc::new(Mutex::new((0u64, 0u64)));
    within(async {
        let mut hs = Vec::new();
        for t in 0..TASKS {
            let m = m.clone();
            hs.push(gust_executor::spawn(async move {
                for r in 0..ROUNDS {
                    let mut g = m.lock_owned().await;
                    // Two holders at once would lose updates across the yield.
                    let (sum, count) = *g;
                    gust_executor::yield_now().await;
                    *g = (sum + t * ROUNDS + r, count + 1);
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    let n = TASKS * ROUNDS;
    assert_eq!(*m.lock_blocking(), (n * (n - 1) / 2, n));
}

#[test]
fn an_owned_mutex_guard_unlocks_where_it_is_dropped() {
    let m = Arc::new(Mutex::new(Vec::new()));
    within(async {
        let mut g = m.lock_owned().await;
        is_send_static(&g);
        g.push(1);
        let waiter = {
            let m = m.clone();
            gust_executor::spawn(async move { m.lock().await.len() })
        };
        // The guard moves to a plain thread and is dropped there.
        std::thread::spawn(move || {
            g.push(2);
            drop(g);
        })
        .join()
        .unwrap();
        assert_eq!(waiter.await.unwrap(), 2);
    });
    assert!(Arc::ptr_eq(
        OwnedMutexGuard::mutex(&m.try_lock_owned().unwrap()),
        &m
    ));
}

#[test]
fn a_dropped_lock_owned_holds_nothing() {
    let m = Arc::new(Mutex::new(0));
    let held = m.try_lock_owned().unwrap();
    let mut pending = Box::pin(m.lock_owned());
    assert!(poll_once(pending.as_mut()).is_pending());
    drop(held);
    drop(pending); // may have been handed the lock: passes it on
    assert!(m.try_lock_owned().is_some());
    let mut pending = Box::pin(m.lock_owned());
    let guard = match poll_once(pending.as_mut()) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("the lock is free"),
    };
    assert!(m.try_lock().is_none());
    drop(guard);
    assert!(m.try_lock().is_some());
}

#[test]
fn owned_read_guards_share_and_owned_write_guards_exclude() {
    let l = Arc::new(RwLock::new(1));
    let r1 = l.try_read_owned().unwrap();
    let r2 = l.try_read_owned().unwrap();
    is_send_static(&r1);
    assert_eq!(*r1 + *r2, 2);
    assert!(l.try_write_owned().is_none());
    // A writer queued behind the readers keeps new readers out (Go's rule).
    let mut writer = Box::pin(l.write_owned());
    assert!(poll_once(writer.as_mut()).is_pending());
    assert!(l.try_read_owned().is_none());
    drop((r1, r2));
    let mut w = match poll_once(writer.as_mut()) {
        Poll::Ready(w) => w,
        Poll::Pending => panic!("the readers left"),
    };
    is_send_static(&w);
    *w = 5;
    assert!(l.try_read_owned().is_none());
    let r = OwnedRwLockWriteGuard::downgrade(w);
    assert_eq!(*r, 5);
    assert!(l.try_read_owned().is_some());
    assert!(l.try_write_owned().is_none());
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&r), &l));
    drop(r);
    assert!(l.try_write_owned().is_some());
}

#[test]
fn a_dropped_write_owned_gives_back_what_it_was_granted() {
    let l = Arc::new(RwLock::new(()));
    let r = l.try_read_owned().unwrap();
    let mut writer = Box::pin(l.write_owned());
    assert!(poll_once(writer.as_mut()).is_pending());
    drop(r); // the writer is granted every permit...
    drop(writer); // ...and, dropped, gives them back
    assert!(l.try_write_owned().is_some());
    assert!(l.try_read_owned().is_some());
}

#[test]
fn owned_rwlock_guards_in_many_tasks_keep_the_invariant() {
    // Writers keep a == b; readers must never see them differ.
    let l = Arc::new(RwLock::new((0u64, 0u64)));
    within(async {
        let mut hs = Vec::new();
        for i in 0..64u64 {
            let l = l.clone();
            hs.push(gust_executor::spawn(async move {
                for _ in 0..50 {
                    if i % 4 == 0 {
                        let mut w = l.write_owned().await;
                        w.0 += 1;
                        gust_executor::yield_now().await;
                        w.1 += 1;
                    } else {
                        let r = l.read_owned().await;
                        assert_eq!(r.0, r.1);
                        gust_executor::yield_now().await;
                        assert_eq!(r.0, r.1);
                    }
                }
            }));
        }
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(*l.read_blocking(), (16 * 50, 16 * 50));
}

/// The futures are `Send + 'static` too: called on a borrowed `Arc`, they
/// keep a clone, not the borrow, so they outlive it and go to `spawn`.
#[test]
fn owned_futures_outlive_the_borrowed_arc_and_go_to_spawn() {
    let m = Arc::new(Mutex::new(1));
    let l = Arc::new(RwLock::new(2));
    let (lock, read, write) = {
        let (m, l) = (m.clone(), l.clone());
        (m.lock_owned(), l.read_owned(), l.write_owned())
        // `m` and `l` (these clones) end here; the futures live on.
    };
    is_send_static(&lock);
    is_send_static(&read);
    is_send_static(&write);
    let sum = within(async {
        let a = gust_executor::spawn(async move { *lock.await });
        let b = gust_executor::spawn(async move { *read.await });
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let mut w = gust_executor::spawn(write).await.unwrap();
        *w += 1;
        a + b + *w
    });
    assert_eq!(sum, 6);
    assert_eq!(*l.read_blocking(), 3);
    assert_eq!(
        Arc::strong_count(&m),
        1,
        "every guard and future gave its Arc back"
    );
    assert_eq!(Arc::strong_count(&l), 1);
}

/// `lock_owned_blocking` on plain threads and `lock_owned` in tasks share
/// one lock: a checksum over both, with the guard held across a yield.
#[test]
fn owned_guards_from_threads_and_tasks_exclude_each_other() {
    const THREADS: u64 = 4;
    const TASKS: u64 = 16;
    const ROUNDS: u64 = 200;
    let m = Arc::new(Mutex::new((0u64, 0u64)));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    let mut g = m.lock_owned_blocking();
                    let (sum, count) = *g;
                    std::thread::yield_now();
                    *g = (sum + r, count + 1);
                }
            })
        })
        .collect();
    within(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let m = m.clone();
                gust_executor::spawn(async move {
                    for r in 0..ROUNDS {
                        let mut g = m.lock_owned().await;
                        let (sum, count) = *g;
                        gust_executor::yield_now().await;
                        *g = (sum + r, count + 1);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    for t in threads {
        t.join().unwrap();
    }
    let n = THREADS + TASKS;
    assert_eq!(
        *m.lock_blocking(),
        (n * ROUNDS * (ROUNDS - 1) / 2, n * ROUNDS)
    );
}

/// The owned guard unlocks through the same hand-off path as `MutexGuard`:
/// lockers that parked one after another, each past Go's 1 ms, get the
/// lock in the order they parked, whichever order the woken run in
/// (tests/waiters.rs's `long_waiters_lock_in_the_order_they_parked`, with
/// owned guards on both sides).
#[test]
fn owned_lockers_waiting_past_1ms_lock_in_the_order_they_parked() {
    use std::collections::VecDeque;
    use std::sync::Mutex as StdMutex;

    struct Queue {
        index: usize,
        run: Arc<StdMutex<VecDeque<usize>>>,
    }
    impl futures::task::ArcWake for Queue {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            let mut run = arc_self.run.lock().unwrap();
            if !run.contains(&arc_self.index) {
                run.push_back(arc_self.index);
            }
        }
    }

    for newest_first in [false, true] {
        const N: usize = 5;
        let m = Arc::new(Mutex::new(Vec::new()));
        let held = m.lock_owned_blocking();
        let run = Arc::new(StdMutex::new(VecDeque::new()));
        let mut lockers: Vec<_> = (0..N).map(|_| Some(Box::pin(m.lock_owned()))).collect();
        let wakers: Vec<Waker> = (0..N)
            .map(|index| {
                let run = run.clone();
                futures::task::waker(Arc::new(Queue { index, run }))
            })
            .collect();
        for (locker, waker) in lockers.iter_mut().zip(&wakers) {
            let f = locker.as_mut().unwrap().as_mut();
            assert!(f.poll(&mut Context::from_waker(waker)).is_pending());
        }
        // Past Go's starvation threshold (a duration, not an ordering).
        std::thread::sleep(Duration::from_millis(2));
        drop(held);
        loop {
            let next = if newest_first {
                run.lock().unwrap().pop_back()
            } else {
                run.lock().unwrap().pop_front()
            };
            let Some(i) = next else { break };
            let Some(locker) = lockers[i].as_mut() else {
                continue;
            };
            if let Poll::Ready(mut guard) =
                locker.as_mut().poll(&mut Context::from_waker(&wakers[i]))
            {
                guard.push(i);
                drop(guard);
                lockers[i] = None;
            }
        }
        assert!(
            lockers.iter().all(Option::is_none),
            "a locker was left waiting"
        );
        assert_eq!(
            *m.lock_blocking(),
            [0, 1, 2, 3, 4],
            "newest first: {newest_first}"
        );
    }
}

/// A `read_owned` queued behind a writer, dropped, leaves the queue: the
/// writer still gets in when the reader before it leaves, and the reader
/// behind the dropped one after the writer.
#[test]
fn a_dropped_read_owned_leaves_the_queue() {
    let l = Arc::new(RwLock::new(0));
    let r = l.try_read_owned().unwrap();
    let mut writer = Box::pin(l.write_owned());
    let mut dropped = Box::pin(l.read_owned());
    let mut reader = Box::pin(l.read_owned());
    assert!(poll_once(writer.as_mut()).is_pending());
    assert!(poll_once(dropped.as_mut()).is_pending());
    assert!(poll_once(reader.as_mut()).is_pending());
    drop(dropped);
    drop(r);
    let Poll::Ready(mut w) = poll_once(writer.as_mut()) else {
        panic!("the reader before the writer left");
    };
    *w = 1;
    assert!(poll_once(reader.as_mut()).is_pending());
    drop(w);
    let Poll::Ready(r) = poll_once(reader.as_mut()) else {
        panic!("the writer left");
    };
    assert_eq!(*r, 1);
    drop(r);
    assert!(l.try_write_owned().is_some(), "nothing held");
}

/// The `_blocking` forms, from plain threads: a writer thread waits for a
/// reader guard that another thread drops.
#[test]
fn owned_rwlock_guards_from_plain_threads() {
    let l = Arc::new(RwLock::new(Vec::new()));
    let r = l.read_owned_blocking();
    is_send_static(&r);
    let writer = {
        let l = l.clone();
        std::thread::spawn(move || l.write_owned_blocking().push(1))
    };
    std::thread::spawn(move || drop(r)).join().unwrap();
    writer.join().unwrap();
    assert_eq!(*l.read_owned_blocking(), [1]);
}

/// The auto traits, as tokio's owned guards: `OwnedMutexGuard<T>` is
/// `Send` for `T: Send` (a `Cell` may be locked from any thread) and
/// `Sync` for `T: Send + Sync`; the owned `RwLock` guards are both for
/// `T: Send + Sync`. (The negatives are `compile_fail` doctests on the
/// types.)
#[test]
fn owned_guards_are_send_and_sync_where_tokios_are() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send + 'static>() {}
    send::<OwnedMutexGuard<std::cell::Cell<u8>>>();
    send_sync::<OwnedMutexGuard<Vec<u8>>>();
    send_sync::<OwnedRwLockReadGuard<Vec<u8>>>();
    send_sync::<OwnedRwLockWriteGuard<Vec<u8>>>();
    send_sync::<OwnedMutexGuard<str>>();
}
