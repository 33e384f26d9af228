//! The idle/park protocol under loom: a task submitted while workers park
//! is always found (loom reports a deadlock if a worker parks for good).
//!
//! The model follows `Worker::park` and `Shared::push_remote`: the queue is
//! a counter of pending tasks, the workers skip spinning.

use crate::scheduler::idle::Idle;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread::{self, Thread};

struct Model {
    idle: Idle,
    /// Pending tasks (the run queues).
    queue: AtomicUsize,
    /// An I/O event for worker 0, waiting in the poller.
    io: AtomicBool,
    threads: Mutex<Vec<Option<Thread>>>,
}

impl Model {
    fn try_take(&self) -> bool {
        let mut n = self.queue.load(Ordering::Acquire);
        while n > 0 {
            match self
                .queue
                .compare_exchange(n, n - 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => n = actual,
            }
        }
        false
    }

    fn notify(&self) {
        if let Some(i) = self.idle.notify_one() {
            let t = self.threads.lock().unwrap()[i].clone();
            if let Some(t) = t {
                t.unpark();
            }
        }
    }

    fn submit(&self) {
        self.queue.fetch_add(1, Ordering::Release);
        self.notify();
    }

    /// A worker that runs one task and exits.
    fn worker(&self, index: usize) {
        self.threads.lock().unwrap()[index] = Some(thread::current());
        self.work(index, false);
    }

    /// The worker loop from `searching`: runs one task and returns.
    fn work(&self, index: usize, mut searching: bool) {
        loop {
            if self.try_take() {
                if searching && self.idle.transition_from_searching() {
                    self.notify();
                }
                return;
            }
            self.idle.transition_to_parked(index, searching);
            // Like `Shared::has_work`: plain Acquire loads, ordered by the
            // SeqCst fence at the end of `transition_to_parked`.
            if self.queue.load(Ordering::Acquire) > 0 {
                self.idle.unpark_self(index, true);
                searching = true;
                continue;
            }
            while self.idle.flag(index).is_parked() {
                thread::park();
            }
            searching = true;
        }
    }
}

impl Model {
    /// Worker 0 parked in the poller (`Worker::wait_in_poller`): woken by
    /// an I/O event, it leaves the sleeper list counted as unparked but
    /// not searching (unless a notifier took it out first, counted as
    /// searching); then it runs one task from the queue like any worker.
    fn poller_worker(&self) {
        self.threads.lock().unwrap()[0] = Some(thread::current());
        self.idle.transition_to_parked(0, false);
        let searching = if self.queue.load(Ordering::Acquire) > 0 {
            self.idle.unpark_self(0, true)
        } else {
            loop {
                if !self.idle.flag(0).is_parked() {
                    break true; // notified
                }
                if self.io.load(Ordering::Acquire) {
                    // Its own task: runs it without searching.
                    break self.idle.unpark_self(0, false);
                }
                // The wait in the poller; a yield, not a park: loom does
                // not tolerate an unpark (the eventfd's stand-in) arriving
                // while the thread waits for a lock.
                thread::yield_now();
            }
        };
        self.work(0, searching);
    }
}

fn model(workers: usize) -> Arc<Model> {
    Arc::new(Model {
        idle: Idle::new(workers),
        queue: AtomicUsize::new(0),
        io: AtomicBool::new(false),
        threads: Mutex::new(vec![None; workers]),
    })
}

#[test]
fn loom_idle_one_worker_no_lost_wakeup() {
    loom::model(|| {
        let m = model(1);
        let m1 = m.clone();
        let worker = thread::spawn(move || m1.worker(0));
        m.submit();
        worker.join().unwrap();
        assert_eq!(m.queue.load(Ordering::SeqCst), 0);
    });
}

/// Two workers (worker 0 running `worker0`, worker 1 a plain worker) and
/// a submitter thread that runs `prelude`, then submits two tasks: both
/// run, and the counts end with both workers awake and nobody searching.
fn check_two_workers(worker0: fn(&Model), prelude: fn(&Model)) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(move || {
        let m = model(2);
        // The main thread only joins: loom's `join` does not tolerate the
        // stray `unpark` a worker thread may receive after it stopped
        // waiting (std's park token does).
        let m0 = m.clone();
        let first = thread::spawn(move || worker0(&m0));
        let m1 = m.clone();
        let other = thread::spawn(move || m1.worker(1));
        let m2 = m.clone();
        let submitter = thread::spawn(move || {
            prelude(&m2);
            m2.submit();
            m2.submit();
        });
        first.join().unwrap();
        other.join().unwrap();
        submitter.join().unwrap();
        assert_eq!(m.queue.load(Ordering::SeqCst), 0);
        // Both workers ended awake (running), nobody left searching.
        assert_eq!(m.idle.num_unparked(), 2);
        assert_eq!(m.idle.num_searching(), 0);
    });
}

#[test]
fn loom_idle_two_workers_two_tasks() {
    check_two_workers(|m| m.worker(0), |_| {});
}

/// An I/O wake-up is no search (`Worker::wait_in_poller`): worker 0 leaves
/// the sleeper list for an event, counted as unparked but not searching
/// (unless a notifier took it out first), while tasks are submitted and
/// worker 1 parks; both tasks still run, and the counts end consistent.
/// (That the wake-up then wakes nobody is a matter of cost, not of
/// correctness: `net/tests/limits.rs` counts the parks.)
#[test]
fn loom_idle_io_wakeup_is_no_search() {
    check_two_workers(
        |m| m.poller_worker(),
        |m| m.io.store(true, Ordering::Release),
    );
}

/// A searcher that finds work of its own in the poller
/// (`Worker::end_search_for_io`) wakes nobody unless its re-check finds
/// work left: a submitter that skipped its wake because worker 0 searched
/// still gets its task run, by a woken worker 1.
#[test]
fn loom_idle_searcher_with_own_work_leaves_no_task_behind() {
    check_two_workers(
        |m| {
            m.threads.lock().unwrap()[0] = Some(thread::current());
            // (It may find worker 1 searching already, and not search.)
            if m.idle.transition_to_searching()
                // Its poller turn woke a task of its own: it runs that one.
                && m.idle.transition_from_searching_to_own_work()
                && m.queue.load(Ordering::Acquire) > 0
            {
                m.notify();
            }
            m.work(0, false);
        },
        |_| {},
    );
}
