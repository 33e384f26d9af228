//! loom models of the waiter protocols of gust-sync.
//!
//! The weighted semaphore (semaphore.rs), on the real type: a release
//! racing a queued acquire, a release racing the cancel of a queued
//! acquire, and a close racing a queued acquire (and a release). In every
//! interleaving the acquire completes (no lost wake-up), granted or
//! refused, or, cancelled, leaves every permit free (no leaked grant).
//!
//! `Barrier` and `Cond` (modules `barrier` and `cond` below), on copies
//! of their steps: barrier.rs and cond.rs are not built under `--cfg loom`
//! and cannot be as written (their `const fn new` calls
//! `event_listener::Event::new`, which is not `const` in event-listener's
//! loom build; the barrier's count and round sit in a std `Mutex` and
//! `AtomicU64`; `Cond` relocks gust's `Mutex`). So each
//! module copies its file's protocol, step for step, over loom's `Mutex`
//! and atomics and event-listener's loom build (which loom sees into): the
//! models check the protocol in every interleaving, not the file's code,
//! and a change to a protocol must be copied here. (Not modelled: `Cond`'s
//! pass-on of a notification by a wait dropped while it relocks, as the
//! copy relocks a blocking loom `Mutex`; tests/waiters.rs checks it on the
//! real type.) tests/waiters.rs runs the same races on the real types,
//! under threads.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p gust-sync --test loom`
//! (ci/loom.sh).

#![cfg(loom)]

use std::future::Future;
use std::pin::{Pin, pin};
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
            let p = park_until_ready(s2.acquire(1));
            assert_eq!(p.unwrap().count(), 1);
        });
        drop(held);
        t.join().unwrap();
        assert_eq!(sem.available(), 1);
    });
}

/// Polls `fut` on this loom thread, parking until its waker unparks it: a
/// lost wake-up shows as a deadlock that loom reports.
fn park_until_ready<F: Future>(fut: F) -> F::Output {
    let flag = std::sync::Arc::new(Unpark(thread::current()));
    let waker = futures::task::waker(flag);
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        thread::park();
    }
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

/// A permit is forgotten while another thread waits for more than will be
/// left: the waiter always wakes (refused, or granted if it came first and
/// fit), never sleeps on; the capacity ends one lower.
#[test]
fn forget_refuses_a_queued_acquire_that_no_longer_fits() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = sem.try_acquire(1).unwrap();
        let s2 = sem.clone();
        let t = thread::spawn(move || {
            // Refused: the one permit left cannot make two.
            assert!(park_until_ready(s2.acquire(2)).is_err());
        });
        held.forget();
        t.join().unwrap();
        assert_eq!((sem.capacity(), sem.available()), (1, 1));
    });
}

/// The semaphore closes while another thread waits on it: the waiter
/// always wakes (its waker is never lost between queueing and the close),
/// refused as closed whether it queued before the close or came after;
/// the permit held stays valid and goes back.
#[test]
fn close_wakes_a_queued_acquire() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire(1).unwrap();
        let s2 = sem.clone();
        let t = thread::spawn(move || {
            let err = park_until_ready(s2.acquire(1)).unwrap_err();
            assert!(err.is_closed());
        });
        assert!(sem.close());
        t.join().unwrap();
        drop(held);
        assert_eq!((sem.available(), sem.capacity()), (1, 1));
    });
}

/// A close races a release while a third thread waits: the waiter wakes,
/// granted (the release came first) or refused as closed; either way every
/// permit ends up free and nobody sleeps on.
#[test]
fn close_racing_release_loses_no_permit_and_no_waiter() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.try_acquire(1).unwrap();
        let s2 = sem.clone();
        let waiter = thread::spawn(move || match park_until_ready(s2.acquire(1)) {
            Ok(p) => drop(p),
            Err(e) => assert!(e.is_closed()),
        });
        let s3 = sem.clone();
        let closer = thread::spawn(move || assert!(s3.close()));
        drop(held);
        waiter.join().unwrap();
        closer.join().unwrap();
        assert!(sem.is_closed());
        assert_eq!(sem.available(), 1);
    });
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(noop_waker_ref()))
}

/// barrier.rs's protocol (see its top comment): the count of arrivals and
/// the round number under one mutex, the round number again in an atomic
/// that waiters poll, and an event that the leader notifies.
mod barrier {
    use super::*;
    use event_listener::Event;
    use loom::sync::Mutex;
    use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    /// `gust_sync::Barrier`'s fields, over loom types.
    struct Barrier {
        n: usize,
        /// (arrivals in this round, round number).
        state: Mutex<(usize, u64)>,
        /// The round number, for waiters to poll without the lock.
        released: AtomicU64,
        event: Event,
    }

    impl Barrier {
        fn new(n: usize) -> Self {
            Self {
                n,
                state: Mutex::new((0, 0)),
                released: AtomicU64::new(0),
                event: Event::new(),
            }
        }

        /// `Barrier::wait`, step for step (`traced` left out: it only
        /// records the wait reason).
        async fn wait(&self) -> bool {
            let round = {
                let mut st = self.state.lock().unwrap();
                st.0 += 1;
                if st.0 < self.n {
                    st.1
                } else {
                    st.0 = 0;
                    st.1 = st.1.wrapping_add(1);
                    self.released.store(st.1, Ordering::Release);
                    drop(st);
                    self.event.notify(usize::MAX);
                    return true;
                }
            };
            struct Arrival<'a> {
                barrier: &'a Barrier,
                round: u64,
                done: bool,
            }
            impl Drop for Arrival<'_> {
                fn drop(&mut self) {
                    if !self.done {
                        let mut st = self.barrier.state.lock().unwrap();
                        if st.1 == self.round {
                            st.0 -= 1;
                        }
                    }
                }
            }
            let mut arrival = Arrival {
                barrier: self,
                round,
                done: false,
            };
            let ended = || self.released.load(Ordering::Acquire) != round;
            while !ended() {
                let listener = self.event.listen();
                if ended() {
                    break;
                }
                listener.await;
            }
            arrival.done = true;
            false
        }
    }

    /// Two waiters of a barrier of 2: both are released (a lost wake-up
    /// is a deadlock, which loom reports) and exactly one leads.
    #[test]
    fn two_waiters_one_leader_both_released() {
        loom::model(|| {
            let b = Arc::new(Barrier::new(2));
            let b2 = b.clone();
            let t = thread::spawn(move || loom::future::block_on(b2.wait()));
            let here = loom::future::block_on(b.wait());
            let there = t.join().unwrap();
            assert!(here ^ there, "one leader: {here} {there}");
        });
    }

    /// Checks that `b` (of 2) counts no arrival: a lone waiter waits, and
    /// the next one leads and releases it.
    fn assert_no_arrival_counted(b: &Barrier) {
        let mut lone = Box::pin(b.wait());
        assert!(
            poll_once(lone.as_mut()).is_pending(),
            "a stale arrival released a lone waiter"
        );
        let mut second = Box::pin(b.wait());
        assert_eq!(poll_once(second.as_mut()), Poll::Ready(true));
        assert_eq!(poll_once(lone.as_mut()), Poll::Ready(false));
    }

    /// A wait arrives and is dropped (cancelled) on one thread while a
    /// second arrives on another. A wait dropped before the second arrived
    /// does not count (the second waits); one dropped after it changes
    /// nothing; either way the barrier is left with the right count.
    #[test]
    fn a_cancelled_wait_does_not_count() {
        loom::model(|| {
            let b = Arc::new(Barrier::new(2));
            let gone = Arc::new(AtomicBool::new(false));
            let (b2, gone2) = (b.clone(), gone.clone());
            let t = thread::spawn(move || {
                let mut first = Box::pin(b2.wait());
                let polled = poll_once(first.as_mut());
                drop(first); // cancelled (or done)
                gone2.store(true, Ordering::Release);
                polled
            });
            let first_gone = gone.load(Ordering::Acquire);
            let mut second = Box::pin(b.wait());
            let second_poll = poll_once(second.as_mut());
            let first_poll = t.join().unwrap();
            if first_gone && first_poll.is_pending() {
                assert!(second_poll.is_pending(), "a cancelled wait counted");
            }
            match (first_poll, second_poll) {
                // The first led and released the second (which saw it in its
                // own poll, or sees it now).
                (Poll::Ready(true), Poll::Pending | Poll::Ready(false)) => {
                    if second_poll.is_pending() {
                        assert_eq!(poll_once(second.as_mut()), Poll::Ready(false));
                    }
                }
                // The second led; the first's drop took nothing back.
                (Poll::Pending | Poll::Ready(false), Poll::Ready(true)) => {}
                // The first's arrival was taken back: the second waits
                // alone, until a third arrives.
                (Poll::Pending, Poll::Pending) => {
                    let mut third = Box::pin(b.wait());
                    assert_eq!(poll_once(third.as_mut()), Poll::Ready(true));
                    assert_eq!(poll_once(second.as_mut()), Poll::Ready(false));
                }
                other => panic!("impossible outcome {other:?}"),
            }
            assert_no_arrival_counted(&b);
        });
    }
}

/// cond.rs's protocol: `wait` listens before it unlocks, then waits for
/// the listener and locks again; `notify_one` is one notification more
/// than those already sent; a dropped listener that was notified passes
/// its notification on (event-listener's drop).
mod cond {
    use super::*;
    use event_listener::{Event, IntoNotification};
    use loom::sync::{Mutex, MutexGuard};

    /// `gust_sync::Cond`, over event-listener's loom build.
    #[derive(Default)]
    struct Cond {
        event: Event,
    }

    impl Cond {
        /// `Cond::wait`, step for step, relocking a loom `Mutex` (gust's is
        /// not built under loom; `traced` only records the wait reason).
        async fn wait<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            mutex: &'a Mutex<T>,
        ) -> MutexGuard<'a, T> {
            let listener = self.event.listen();
            drop(guard);
            listener.await;
            mutex.lock().unwrap()
        }

        fn notify_one(&self) {
            self.event.notify(1.additional());
        }

        fn notify_all(&self) {
            self.event.notify(usize::MAX);
        }
    }

    /// `notify_one` on one thread while the first of two waits is dropped
    /// (cancelled) on another: the second wait is woken, whichever came
    /// first (a lost notification is a deadlock, which loom reports).
    #[test]
    fn notify_one_racing_a_dropped_wait_wakes_the_other() {
        loom::model(|| {
            let m = Mutex::new(0);
            let c = Arc::new(Cond::default());
            let mut first = Box::pin(c.wait(m.lock().unwrap(), &m));
            assert!(poll_once(first.as_mut()).is_pending());
            let mut second = Box::pin(c.wait(m.lock().unwrap(), &m));
            assert!(poll_once(second.as_mut()).is_pending());
            let c2 = c.clone();
            let t = thread::spawn(move || c2.notify_one());
            drop(first);
            *loom::future::block_on(second.as_mut()) += 1;
            t.join().unwrap();
            assert_eq!(*m.lock().unwrap(), 1);
        });
    }

    /// Waiters check a flag under the mutex and wait while it is unset,
    /// while another thread sets it and notifies: every waiter gets out (it
    /// listens before it unlocks, so a notification sent after its check
    /// reaches it). With `notify_one` for one waiter, `notify_all` for two.
    fn flag_set_and_notified_releases(waiters: usize, notify: fn(&Cond)) {
        loom::model(move || {
            let state = Arc::new((Mutex::new(false), Cond::default()));
            let ts: Vec<_> = (0..waiters)
                .map(|_| {
                    let state = state.clone();
                    thread::spawn(move || {
                        let (m, c) = &*state;
                        let mut set = m.lock().unwrap();
                        while !*set {
                            set = loom::future::block_on(c.wait(set, m));
                        }
                    })
                })
                .collect();
            let (m, c) = &*state;
            *m.lock().unwrap() = true;
            notify(c);
            for t in ts {
                t.join().unwrap();
            }
        });
    }

    #[test]
    fn notify_one_after_the_check_reaches_the_waiter() {
        flag_set_and_notified_releases(1, Cond::notify_one);
    }

    #[test]
    fn notify_all_releases_every_waiter() {
        flag_set_and_notified_releases(2, Cond::notify_all);
    }
}
