//! A task that calls a `_blocking` wait on something a task it has just
//! spawned (or woken) will do: the spawned task sat in the blocked
//! worker's LIFO slot, which no other worker takes, and the wait never
//! ended, at any worker count (found by a trial from outside). The
//! `_blocking` waits now leave the worker first, as `gust::block_on` does
//! (gust-trace's `leave_worker`). A task should `.await`; these must still
//! not hang, where another worker can help and, on one worker (or with
//! every worker blocked), where a stand-in runs the runtime's tasks
//! meanwhile (executor/src/scheduler/stand_in.rs): they hung there before.

mod common;

use gust::runtime::Builder;
use std::time::Duration;

/// Runs `body` as a task of a runtime of `workers` workers, with a 20 s
/// watchdog.
fn in_task(workers: usize, what: &'static str, body: impl FnOnce() + Send + 'static) {
    common::within(Duration::from_secs(20), what, move || {
        let rt = Builder::new().workers(workers).build().unwrap();
        rt.block_on(rt.spawn(async move { body() })).unwrap();
    });
}

/// [`in_task`] at 1 and 2 workers.
fn in_tasks(what: &'static str, body: impl Fn() + Send + Sync + Clone + 'static) {
    for workers in [1, 2] {
        in_task(workers, what, body.clone());
    }
}

#[test]
fn recv_blocking_on_a_just_spawned_sender() {
    for workers in [1, 2, 4] {
        in_task(workers, "recv_blocking hung", || {
            let (tx, rx) = gust::chan::<u32>(0);
            drop(gust::spawn(async move { tx.send(5).await.unwrap() }));
            assert_eq!(rx.recv_blocking(), Some(5));
        });
    }
}

#[test]
fn send_blocking_to_a_just_spawned_receiver() {
    in_tasks("send_blocking hung", || {
        let (tx, rx) = gust::chan::<u32>(0);
        let h = gust::spawn(async move { rx.recv().await });
        tx.send_blocking(7).unwrap();
        assert_eq!(gust::block_on(h).unwrap(), Some(7));
    });
}

#[test]
fn wait_blocking_on_a_just_spawned_task() {
    in_tasks("WaitGroup::wait_blocking hung", || {
        let wg = gust::WaitGroup::new();
        wg.go(async {});
        wg.wait_blocking();
    });
}

#[test]
fn lock_blocking_held_by_a_just_spawned_task() {
    in_tasks("Mutex::lock_blocking hung", || {
        let m = std::sync::Arc::new(gust::sync::Mutex::new(0));
        let g = m.try_lock_owned().unwrap();
        // The holder unlocks once it runs.
        drop(gust::spawn(async move { drop(g) }));
        *m.lock_blocking() += 1;
    });
}

#[test]
fn done_blocking_on_a_just_spawned_cancel() {
    in_tasks("Context::done_blocking hung", || {
        let (ctx, cancel) = gust::Context::background().with_cancel();
        drop(gust::spawn(async move { cancel.cancel() }));
        ctx.done_blocking();
    });
}

/// After the wait, the thread is its worker again: what the task spawns
/// next runs on its runtime, and the task goes on.
#[test]
fn the_worker_comes_back_after_the_wait() {
    in_tasks("the task did not go on", || {
        let (tx, rx) = gust::chan::<u32>(1);
        drop(gust::spawn(async move { tx.send(1).await.unwrap() }));
        assert_eq!(rx.recv_blocking(), Some(1));
        let h = gust::spawn(async { 2 });
        assert_eq!(gust::block_on(h).unwrap(), 2);
    });
}

/// `gust::block_on` inside a task of a one-worker runtime, on another task
/// of that runtime.
#[test]
fn block_on_a_task_of_the_same_one_worker_runtime() {
    in_task(1, "block_on in a task hung", || {
        let h = gust::spawn(async {
            gust::time::sleep(Duration::from_millis(1)).await;
            3
        });
        assert_eq!(gust::block_on(h).unwrap(), 3);
    });
}

/// Blocking inside blocking: the task the stand-in runs blocks too, on a
/// task a second stand-in must run; each wait ends, in order.
#[test]
fn nested_blocking_waits_on_one_worker() {
    in_task(1, "nested blocking waits hung", || {
        let (tx1, rx1) = gust::chan::<u32>(0);
        let (tx2, rx2) = gust::chan::<u32>(0);
        drop(gust::spawn(async move {
            drop(gust::spawn(async move {
                tx2.send(2).await.unwrap();
                tx1.send(1).await.unwrap();
            }));
            assert_eq!(rx2.recv_blocking(), Some(2));
        }));
        assert_eq!(rx1.recv_blocking(), Some(1));
    });
}

/// Every worker blocked at two workers: both block on what a third task
/// sends.
#[test]
fn every_worker_blocked_at_two_workers() {
    in_task(2, "two blocked workers hung", || {
        let (tx, rx) = gust::chan::<u32>(0);
        let rx2 = rx.clone();
        // The other task blocks on its worker, this one on its own; the
        // sender runs wherever it can.
        let other = gust::spawn(async move { rx2.recv_blocking() });
        drop(gust::spawn(async move {
            tx.send(1).await.unwrap();
            tx.send(2).await.unwrap();
        }));
        let mine = rx.recv_blocking().unwrap();
        let theirs = gust::block_on(other).unwrap().unwrap();
        assert_eq!(mine + theirs, 3);
    });
}

/// The stand-in steals half of a blocked worker's queue: what it did not
/// run at once must stay reachable when the task it runs blocks it too
/// (found by a review: the sender sat in the first stand-in's own queue
/// while that stand-in blocked on it).
#[test]
fn tasks_a_stand_in_stole_stay_reachable_when_it_blocks() {
    in_task(1, "a stolen task was out of reach", || {
        let (tx, rx) = gust::chan::<u32>(0);
        let sender = gust::spawn(async move { tx.send(1).await.unwrap() });
        let blocker = gust::spawn(async move { rx.recv_blocking() });
        let other = gust::spawn(async { 3 });
        assert_eq!(gust::block_on(blocker).unwrap(), Some(1));
        gust::block_on(sender).unwrap();
        assert_eq!(gust::block_on(other).unwrap(), 3);
    });
}

/// A stand-in that always finds a task still fires the runtime's timers
/// (found by a review: a task yielding in a loop kept it from them).
#[test]
fn a_busy_stand_in_fires_timers() {
    in_task(1, "a timer never fired on the stand-in", || {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spinning = stop.clone();
        let spinner = gust::spawn(async move {
            while !spinning.load(std::sync::atomic::Ordering::SeqCst) {
                gust::yield_now().await;
            }
        });
        let sleeper = gust::spawn(async {
            gust::time::sleep(Duration::from_millis(5)).await;
            1
        });
        assert_eq!(gust::block_on(sleeper).unwrap(), 1);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        gust::block_on(spinner).unwrap();
    });
}
