//! The waiter protocols of [`Barrier`] (barrier.rs) and [`Cond`] (cond.rs)
//! on the real types: races between a wake-up and a cancelled wait, and
//! stress runs with a checksum. Every wait that could hang has a deadline,
//! so a lost wake-up fails the test instead of hanging it; nothing sleeps to
//! order events (the two sides of a race leave a spinning [`StartLine`]
//! together, and a spin of a varying length shifts one against the other).
//!
//! # Why threads here and not loom
//!
//! barrier.rs and cond.rs are not built under `--cfg loom` (lib.rs), and as
//! written they cannot be: `Barrier::new` and `Cond::new` are `const fn`s
//! over `event_listener::Event::new`, which is not `const` in
//! event-listener's loom build; the barrier keeps its count and round in a
//! `std::sync::Mutex` and a std `AtomicU64`, which loom does not see; and
//! `Cond` relocks gust's `Mutex`, which is not built under loom either. So
//! the protocols are checked at two levels:
//!
//! - tests/loom.rs models them at the level loom reaches: a copy of
//!   `Barrier::wait`'s steps over loom types, and `Cond`'s
//!   listen / notify / drop steps over event-listener's loom build. Those
//!   models see every interleaving of two or three waiters, but only of the
//!   copy;
//! - this file runs the real types. Each race here is between two steps
//!   that take one lock (a barrier arrival and a cancelled arrival's
//!   take-back: the barrier's mutex; a notification and a dropped
//!   listener: event-listener's list lock), so every interleaving of the
//!   two is one of their two orders. The unit tests (src/tests.rs) and
//!   tests/golang.rs check each order deterministically; the race tests
//!   here check, over thousands of runs with shifted timing, that the real
//!   code is that atomic. `Cond::wait`'s listen-before-unlock is checked
//!   deterministically (a waker that notifies from inside the unlock); the
//!   barrier's unlocked `released` check before it listens only under load,
//!   by the rounds tests: a copy without its second check hangs there in
//!   most runs (and always in the loom model).
//!
//! `a_wait_dropped_while_relocking_passes_the_notification_on` found a gap
//! in cond.rs (a `wait` dropped while it relocked the mutex kept its
//! notification), since fixed.

#![cfg(not(loom))]

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::task::{ArcWake, noop_waker_ref};
use gust_sync::{Barrier, Cond, Mutex};

/// How long a stress run may take before a missing wake-up is reported.
const DEADLINE: Duration = Duration::from_secs(60);

/// Runs of each race: enough for both orders of its two sides to come up
/// many times, with every shift of [`spin`] (0..64 on each side).
const RACES: usize = 4096;

/// A waker that counts the wake-ups it gets.
#[derive(Default)]
struct WakeCount(AtomicUsize);

impl ArcWake for WakeCount {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl WakeCount {
    fn woken(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Polls `fut` once with `waker`.
fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    poll_with(fut, noop_waker_ref())
}

/// Lets the two sides of a race start together: each arrives and spins
/// until both have (a blocking barrier would start the side it wakes tens
/// of microseconds late, and decide most races by that alone).
#[derive(Default)]
struct StartLine(AtomicUsize);

impl StartLine {
    fn arrive_and_wait(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut spins = 0u32;
        while self.0.load(Ordering::SeqCst) < 2 {
            spins += 1;
            if spins % 1024 == 0 {
                std::thread::yield_now(); // the other side may not be running
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// Spins `n` rounds: shifts one side of a race against the other.
fn spin(n: usize) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

/// Waits until `n` threads have reported on `done`, failing after
/// [`DEADLINE`] with `what` (a thread that never reports lost a wake-up).
fn await_reports(done: &mpsc::Receiver<()>, n: usize, what: &str) {
    for reported in 0..n {
        if done.recv_timeout(DEADLINE).is_err() {
            panic!("{what}: {reported} of {n} threads done after {DEADLINE:?}: a lost wake-up");
        }
    }
}

/// Checks that `b` (of 2) has no arrival counted: a lone waiter waits, and
/// the second one is its round's leader.
fn assert_no_arrival_counted(b: &Barrier) {
    let mut lone = Box::pin(b.wait());
    assert!(
        poll_once(lone.as_mut()).is_pending(),
        "a stale arrival released a lone waiter"
    );
    let mut second = pin!(b.wait());
    assert_eq!(poll_once(second.as_mut()), Poll::Ready(true));
    assert_eq!(poll_once(lone.as_mut()), Poll::Ready(false));
}

mod barrier {
    use super::*;

    /// `n` threads, round after round: in each round every thread has
    /// arrived before any leaves (the round's checksum is whole), and
    /// exactly one is the leader.
    #[test]
    fn threads_leave_a_round_only_when_all_arrived_one_leader_each() {
        const THREADS: usize = 4;
        const ROUNDS: usize = 10_000;
        let b = Arc::new(Barrier::new(THREADS));
        // Round r's sum of (thread index + 1) over its arrivals.
        let sums: Arc<Vec<AtomicUsize>> =
            Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
        let leaders: Arc<Vec<AtomicUsize>> =
            Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
        let (done, reports) = mpsc::channel();
        for t in 0..THREADS {
            let (b, sums, leaders, done) = (b.clone(), sums.clone(), leaders.clone(), done.clone());
            std::thread::spawn(move || {
                for r in 0..ROUNDS {
                    sums[r].fetch_add(t + 1, Ordering::SeqCst);
                    let leader = b.wait_blocking();
                    assert_eq!(
                        sums[r].load(Ordering::SeqCst),
                        THREADS * (THREADS + 1) / 2,
                        "round {r} released thread {t} before every thread arrived"
                    );
                    if leader {
                        leaders[r].fetch_add(1, Ordering::SeqCst);
                    }
                }
                done.send(()).unwrap();
            });
        }
        await_reports(&reports, THREADS, "barrier threads");
        for r in 0..ROUNDS {
            assert_eq!(leaders[r].load(Ordering::SeqCst), 1, "round {r}'s leaders");
        }
    }

    /// More tasks than workers, round after round, on gust's runtime: the
    /// same checks as the threads' test.
    #[test]
    fn tasks_leave_a_round_only_when_all_arrived_one_leader_each() {
        const TASKS: usize = 8;
        const ROUNDS: usize = 10_000;
        let rt = gust_executor::runtime::Builder::new()
            .workers(2)
            .build()
            .unwrap();
        let b = Arc::new(Barrier::new(TASKS));
        let sums: Arc<Vec<AtomicUsize>> =
            Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
        let leaders = Arc::new(AtomicUsize::new(0));
        let (done, reports) = mpsc::channel();
        for t in 0..TASKS {
            let (b, sums, leaders, done) = (b.clone(), sums.clone(), leaders.clone(), done.clone());
            rt.spawn(async move {
                for r in 0..ROUNDS {
                    sums[r].fetch_add(t + 1, Ordering::SeqCst);
                    if b.wait().await {
                        leaders.fetch_add(1, Ordering::SeqCst);
                    }
                    assert_eq!(
                        sums[r].load(Ordering::SeqCst),
                        TASKS * (TASKS + 1) / 2,
                        "round {r} released task {t} early"
                    );
                }
                done.send(()).unwrap();
            });
        }
        await_reports(&reports, TASKS, "barrier tasks");
        assert_eq!(
            leaders.load(Ordering::SeqCst),
            ROUNDS,
            "one leader per round"
        );
    }

    /// A wait that arrives and is dropped (cancelled) while a second one
    /// arrives, on another thread: whichever order the two took, the
    /// barrier is left consistent: either a round of the two ended (and the
    /// drop took nothing back), or the dropped arrival was taken back and
    /// the second waits alone.
    #[test]
    fn a_cancel_racing_the_last_arrival_counts_once() {
        let mut seen = [0usize; 3];
        for i in 0..RACES {
            let b = Barrier::new(2);
            let start = StartLine::default();
            let mut second = Box::pin(b.wait());
            let (first_poll, second_poll) = std::thread::scope(|s| {
                let cancelled = s.spawn(|| {
                    let mut first = Box::pin(b.wait());
                    start.arrive_and_wait();
                    let polled = poll_once(first.as_mut());
                    spin(i % 64);
                    drop(first); // cancelled (or done, if it led)
                    polled
                });
                start.arrive_and_wait();
                spin(i / 64 % 64);
                let polled = poll_once(second.as_mut());
                (cancelled.join().unwrap(), polled)
            });
            match (first_poll, second_poll) {
                // The first led: the second was released with it (and saw it
                // in its own poll, or sees it now).
                (Poll::Ready(true), Poll::Pending | Poll::Ready(false)) => {
                    seen[0] += 1;
                    if second_poll.is_pending() {
                        assert_eq!(poll_once(second.as_mut()), Poll::Ready(false));
                    }
                }
                // The second led: the first had arrived, and its round
                // ended before its drop, which took nothing back (the
                // first saw the end in its own poll, or did not yet).
                (Poll::Pending | Poll::Ready(false), Poll::Ready(true)) => seen[1] += 1,
                // The first was dropped before the second arrived: its
                // arrival was taken back, and the second waits alone.
                (Poll::Pending, Poll::Pending) => {
                    seen[2] += 1;
                    let mut third = pin!(b.wait());
                    assert_eq!(
                        poll_once(third.as_mut()),
                        Poll::Ready(true),
                        "the cancelled arrival was taken back twice"
                    );
                    assert_eq!(poll_once(second.as_mut()), Poll::Ready(false));
                }
                other => panic!("run {i}: impossible outcome {other:?}"),
            }
            assert_no_arrival_counted(&b);
        }
        eprintln!("outcomes (first led, second led, first taken back): {seen:?}");
    }
}

mod cond {
    use super::*;

    /// Registers a `Cond::wait` on `c` with `m` (polled once: it listens
    /// and unlocks), woken through `waker`.
    fn waiting<'a>(
        m: &'a Mutex<u64>,
        c: &'a Cond,
        waker: &Waker,
    ) -> Pin<Box<impl Future<Output = gust_sync::MutexGuard<'a, u64>> + Send + 'a>> {
        let mut w = Box::pin(c.wait(m.lock_blocking()));
        assert!(poll_with(w.as_mut(), waker).is_pending());
        w
    }

    /// `notify_one` on one thread while another drops a waiting `wait`
    /// (cancelled): the other waiter is woken, whichever came first (after
    /// the notification, the dropped wait passes it on).
    #[test]
    fn notify_one_racing_a_dropped_wait_wakes_the_other() {
        let noop = noop_waker_ref();
        for i in 0..RACES {
            let m = Mutex::new(0);
            let c = Cond::new();
            let count = Arc::new(WakeCount::default());
            let other_waker = futures::task::waker(count.clone());
            let dropped = waiting(&m, &c, noop); // first in line
            let mut other = waiting(&m, &c, &other_waker);
            let start = StartLine::default();
            std::thread::scope(|s| {
                s.spawn(|| {
                    start.arrive_and_wait();
                    spin(i % 64);
                    drop(dropped);
                });
                start.arrive_and_wait();
                spin(i / 64 % 64);
                c.notify_one();
            });
            assert_eq!(
                count.woken(),
                1,
                "run {i}: the notification went with the dropped wait"
            );
            assert!(poll_once(other.as_mut()).is_ready());
        }
    }

    /// A waker that runs its function when woken.
    struct WakeFn<F>(F);

    impl<F: Fn() + Send + Sync + 'static> ArcWake for WakeFn<F> {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            (arc_self.0)();
        }
    }

    /// A notification sent the moment `wait` unlocks the mutex reaches
    /// that wait: it listens before it unlocks. The notifier is a lock
    /// waiting for the mutex, whose waker, woken by the unlock inside
    /// `wait`'s first poll, calls `notify_all` there and then: the earliest
    /// a notifier on another thread could, which a race of threads hits
    /// only rarely.
    #[test]
    fn a_notification_sent_as_wait_unlocks_reaches_it() {
        let state = Arc::new((Mutex::new(0u64), Cond::new()));
        let (m, c) = &*state;
        let notified = Arc::new(AtomicBool::new(false));
        let notifier = {
            let (state, notified) = (state.clone(), notified.clone());
            futures::task::waker(Arc::new(WakeFn(move || {
                state.1.notify_all();
                notified.store(true, Ordering::SeqCst);
            })))
        };
        let guard = m.lock_blocking();
        let mut locking = Box::pin(m.lock());
        assert!(poll_with(locking.as_mut(), &notifier).is_pending());
        let mut wait = Box::pin(c.wait(guard));
        let first = poll_once(wait.as_mut()).is_ready();
        assert!(
            notified.load(Ordering::SeqCst),
            "the unlock in wait did not wake the waiting locker at once (this test's premise)"
        );
        drop(locking); // the notifier does not take the lock
        assert!(
            first || poll_once(wait.as_mut()).is_ready(),
            "the notification sent as wait unlocked did not reach it"
        );
    }

    /// Waiters check a flag under the mutex and wait while it is unset; a
    /// setter sets it and calls `notify_all` while they are still arriving:
    /// every waiter gets out (a waiter listens before it unlocks, so a
    /// notification sent after it checked reaches it).
    #[test]
    fn notify_all_racing_arrivals_releases_every_waiter() {
        const WAITERS: usize = 3;
        for i in 0..200 {
            let state = Arc::new((Mutex::new(0u64), Cond::new()));
            let (done, reports) = mpsc::channel();
            let start = Arc::new(std::sync::Barrier::new(WAITERS + 1));
            for _ in 0..WAITERS {
                let (state, done, start) = (state.clone(), done.clone(), start.clone());
                std::thread::spawn(move || {
                    let (m, c) = &*state;
                    start.wait();
                    let mut set = m.lock_blocking();
                    while *set == 0 {
                        set = c.wait_blocking(set);
                    }
                    drop(set);
                    done.send(()).unwrap();
                });
            }
            let (m, c) = &*state;
            start.wait();
            spin(i * 8);
            *m.lock_blocking() = 1;
            c.notify_all();
            await_reports(&reports, WAITERS, "notify_all");
        }
    }

    /// Go's producer/consumer on a `Cond`, with cancelled waits on the side:
    /// producers push numbers and `notify_one`; consumers take one number
    /// per check and wait while the queue is empty; other threads keep
    /// starting a wait and dropping it (a `select!` that went another way),
    /// racing every notification. Every number is consumed once (the sum
    /// checks it), and every consumer gets its stop marker: a notification
    /// swallowed by a dropped wait would leave a consumer asleep by a full
    /// queue (then the deadline fails the test).
    #[test]
    fn producers_consumers_and_cancelled_waits_lose_nothing() {
        const PRODUCERS: u64 = 2;
        const PER_PRODUCER: u64 = 5_000;
        const CONSUMERS: usize = 3;
        const CANCELLERS: usize = 2;
        // The queue: `Some(n)` numbers, then a `None` stop marker per consumer.
        let state = Arc::new((Mutex::new(Vec::<Option<u64>>::new()), Cond::new()));
        let consumed = Arc::new(AtomicU64::new(0));
        let taken = Arc::new(AtomicU64::new(0));
        let stop_cancelling = Arc::new(AtomicBool::new(false));
        let (done, reports) = mpsc::channel();
        for _ in 0..CONSUMERS {
            let (state, consumed, taken, done) =
                (state.clone(), consumed.clone(), taken.clone(), done.clone());
            std::thread::spawn(move || {
                let (m, c) = &*state;
                loop {
                    let mut q = m.lock_blocking();
                    while q.is_empty() {
                        q = c.wait_blocking(q);
                    }
                    // FIFO: the stop markers come after every number.
                    let Some(n) = q.remove(0) else { break };
                    drop(q);
                    consumed.fetch_add(n, Ordering::SeqCst);
                    taken.fetch_add(1, Ordering::SeqCst);
                }
                done.send(()).unwrap();
            });
        }
        let cancellers: Vec<_> = (0..CANCELLERS)
            .map(|_| {
                let (state, stop) = (state.clone(), stop_cancelling.clone());
                std::thread::spawn(move || {
                    let (m, c) = &*state;
                    let (mut cancelled, mut completed) = (0u64, 0u64);
                    while !stop.load(Ordering::SeqCst) {
                        let mut w = pin!(c.wait(m.lock_blocking()));
                        // Listening (or relocking); notified or not,
                        // dropped: its notification must go to a consumer.
                        if let Poll::Ready(guard) = poll_once(w.as_mut()) {
                            // Completed at once (notified between its
                            // listen and its poll, the mutex free): the
                            // notification is this thread's, as a Go
                            // waiter's once `Wait` returns, and a waiter
                            // that leaves the queue alone signals again.
                            drop(guard);
                            c.notify_one();
                            completed += 1;
                        } else {
                            cancelled += 1;
                        }
                    }
                    (cancelled, completed)
                })
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let state = state.clone();
                std::thread::spawn(move || {
                    let (m, c) = &*state;
                    for k in 1..=PER_PRODUCER {
                        m.lock_blocking().push(Some(p * PER_PRODUCER + k));
                        c.notify_one();
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let (m, c) = &*state;
        for _ in 0..CONSUMERS {
            m.lock_blocking().push(None);
            c.notify_one();
        }
        await_reports(&reports, CONSUMERS, "consumers");
        stop_cancelling.store(true, Ordering::SeqCst);
        let (cancelled, completed) = cancellers
            .into_iter()
            .map(|t| t.join().unwrap())
            .fold((0, 0), |(c, d), (c1, d1)| (c + c1, d + d1));
        let n = PRODUCERS * PER_PRODUCER;
        assert_eq!(taken.load(Ordering::SeqCst), n);
        assert_eq!(consumed.load(Ordering::SeqCst), n * (n + 1) / 2, "checksum");
        assert!(m.lock_blocking().is_empty());
        eprintln!("{cancelled} waits cancelled during the run, {completed} completed at once");
    }

    /// A `wait` that was notified and is dropped while it locks the mutex
    /// again (a `select!` or `timeout` that went another way) passes the
    /// notification on, as one dropped before its listener fired does:
    /// else the other waiter would sleep on, although one `notify_one` was
    /// sent for it to see. (Found by this test: the listener's drop passed
    /// it on, the mutex lock future's drop did not.)
    #[test]
    fn a_wait_dropped_while_relocking_passes_the_notification_on() {
        let m = Mutex::new(0);
        let c = Cond::new();
        let noop = noop_waker_ref();
        let mut relocking = waiting(&m, &c, noop); // first in line
        let count = Arc::new(WakeCount::default());
        let mut other = waiting(&m, &c, &futures::task::waker(count.clone()));
        let held = m.lock_blocking();
        c.notify_one();
        assert!(
            poll_once(relocking.as_mut()).is_pending(),
            "notified: now it waits for the mutex"
        );
        drop(relocking);
        drop(held);
        assert!(
            count.woken() == 1 && poll_once(other.as_mut()).is_ready(),
            "the notification was lost with the wait dropped while relocking"
        );
    }
}

/// `Mutex`: the order in which parked lockers get the lock.
mod mutex {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex as StdMutex;

    /// A waker that queues its task's index when woken: a run queue.
    struct Queue {
        index: usize,
        run: Arc<StdMutex<VecDeque<usize>>>,
    }

    impl ArcWake for Queue {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            let mut run = arc_self.run.lock().unwrap();
            if !run.contains(&arc_self.index) {
                run.push_back(arc_self.index);
            }
        }
    }

    /// Lockers that parked one after another, each past Go's 1 ms, get the
    /// lock in the order they parked (DESIGN.md: "a waiter that has waited
    /// more than about 1 ms gets the lock handed to it in FIFO order"),
    /// each taking it and unlocking at once, whichever order an executor
    /// runs woken tasks in: the oldest woken first, or the newest (as a
    /// worker's LIFO slot does). (Found by a check from outside: a locker
    /// that took the lock passed its unused notification on to the next
    /// one, so two were woken at a time and the one run first won: 0, 2, 1
    /// with three tasks at 2 workers, 0, 1, 3, 4, 2 with five at 1.)
    #[test]
    fn long_waiters_lock_in_the_order_they_parked() {
        for newest_first in [false, true] {
            let order = lock_order(5, newest_first);
            assert_eq!(
                order,
                [0, 1, 2, 3, 4],
                "newest woken run first: {newest_first}"
            );
        }
    }

    /// Parks `n` lockers in turn behind a held lock, waits past 1 ms,
    /// unlocks, and runs the woken ones (each locks, notes its index and
    /// unlocks) until none is woken; returns the indices in locking order.
    fn lock_order(n: usize, newest_first: bool) -> Vec<usize> {
        let m = Mutex::new(Vec::new());
        let held = m.lock_blocking();
        let run = Arc::new(StdMutex::new(VecDeque::new()));
        let mut lockers: Vec<_> = (0..n).map(|_| Some(Box::pin(m.lock()))).collect();
        let wakers: Vec<Waker> = (0..n)
            .map(|index| {
                let run = run.clone();
                futures::task::waker(Arc::new(Queue { index, run }))
            })
            .collect();
        for (locker, waker) in lockers.iter_mut().zip(&wakers) {
            let locker = locker.as_mut().unwrap().as_mut();
            assert!(poll_with(locker, waker).is_pending(), "the lock is held");
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
            if let Poll::Ready(mut guard) = poll_with(locker.as_mut(), &wakers[i]) {
                guard.push(i);
                drop(guard);
                lockers[i] = None;
            }
        }
        assert!(
            lockers.iter().all(Option::is_none),
            "a locker was left waiting with nobody woken"
        );
        drop(lockers);
        m.into_inner()
    }
}
