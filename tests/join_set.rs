//! `gust::task::JoinSet` (tokio's): results in the order tasks finish,
//! failures, abort and detach, cancel safety of `join_next`, and what the
//! dump and the deadlock detector make of a task waiting in one.

mod common;

use common::{LONG, rt};
use futures::{Stream, StreamExt};
use gust::runtime::{OnDeadlock, TaskState};
use gust::task::JoinSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[test]
fn results_come_in_the_order_tasks_finish() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut gates = Vec::new();
        for i in 0..5u32 {
            let (open, gate) = gust::chan::<()>(0);
            gates.push(open);
            set.spawn(async move {
                gate.recv().await;
                i
            });
        }
        assert_eq!(set.len(), 5);
        // Open the gates last to first: the results come back that way.
        for (i, open) in gates.into_iter().enumerate().rev() {
            open.send(()).await.unwrap();
            assert_eq!(set.join_next().await.unwrap().unwrap(), i as u32);
            assert_eq!(set.len(), i);
        }
        assert!(set.is_empty());
        assert!(set.join_next().await.is_none());
    });
}

#[test]
fn a_panic_and_an_abort_are_join_errors_and_the_rest_goes_on() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom") });
        set.spawn(async { 1u8 });
        let mut panics = 0;
        let mut ok = 0;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(v) => ok += v,
                Err(e) => {
                    assert!(e.is_panic());
                    assert_eq!(*e.into_panic().downcast::<&str>().unwrap(), "boom");
                    panics += 1;
                }
            }
        }
        assert_eq!((panics, ok), (1, 1));

        // Aborted while waiting; one that finished first keeps its output.
        let done = gust::spawn(async { 9u8 });
        while !done.is_finished() {
            gust::yield_now().await;
        }
        set.insert(done);
        set.spawn(std::future::pending());
        set.abort_all();
        let mut got = Vec::new();
        while let Some(r) = set.join_next().await {
            got.push(r.map_err(|e| e.is_aborted()));
        }
        got.sort();
        assert_eq!(got, [Ok(9), Err(true)]);
    });
}

#[test]
fn join_next_with_id_names_the_task_also_when_it_failed() {
    let rt = rt(1, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::<()>::new();
        let h = gust::spawn(async { panic!("with id") });
        let id = h.id();
        set.insert(h);
        let (got, r) = set.join_next_with_id().await.unwrap();
        assert_eq!(got, id);
        assert!(r.unwrap_err().is_panic());
    });
}

/// A task of the set holds a `Sender`; when the task's future is dropped
/// the channel closes, which the test sees as `None`.
fn held(set: &mut JoinSet<()>) -> gust::Receiver<()> {
    let (tx, rx) = gust::chan::<()>(0);
    set.spawn(async move {
        let _tx = tx;
        std::future::pending::<()>().await
    });
    rx
}

#[test]
fn dropping_the_set_aborts_its_tasks() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let rxs: Vec<_> = (0..10).map(|_| held(&mut set)).collect();
        drop(set);
        for rx in rxs {
            assert_eq!(rx.recv().await, None, "the task's future was dropped");
        }
    });
}

#[test]
fn detach_all_lets_the_tasks_run_on() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let (tx, rx) = gust::chan::<u32>(0);
        let mut set = JoinSet::new();
        for i in 0..3 {
            let tx = tx.clone();
            set.spawn(async move { tx.send(i).await.unwrap() });
        }
        drop(tx);
        set.detach_all();
        assert!(set.is_empty());
        drop(set);
        let mut got: Vec<u32> = rx.collect().await;
        got.sort();
        assert_eq!(got, [0, 1, 2]);
    });
}

#[test]
fn shutdown_waits_until_every_task_has_ended() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let rxs: Vec<_> = (0..20).map(|_| held(&mut set)).collect();
        set.shutdown().await;
        assert!(set.is_empty());
        for rx in rxs {
            // Ended, not only told to: the channel is closed already.
            assert_eq!(rx.try_recv(), Err(gust::TryRecvError::Closed));
        }
    });
}

/// Dropping a pending `join_next` (a `select!` that takes another case)
/// takes nothing out of the set: every result is still joined after.
#[test]
fn join_next_is_cancel_safe() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (go_tx, go_rx) = gust::chan::<()>(0);
        for i in 0..100u64 {
            let go_rx = go_rx.clone();
            set.spawn(async move {
                // The first 50 wait for the test's go; the rest end now.
                if i < 50 {
                    go_rx.recv().await;
                }
                i
            });
        }
        drop(go_rx);
        let mut sum = 0;
        let mut cancelled = 0;
        for round in 0.. {
            if round == 200 {
                go_tx.close();
            }
            gust::select! {
                r = set.join_next() => match r {
                    Some(r) => sum += r.unwrap(),
                    None => break,
                },
                _ = gust::yield_now() => cancelled += 1,
            }
        }
        assert_eq!(sum, (0..100).sum::<u64>());
        assert!(cancelled > 0, "no join_next was ever dropped");
    });
}

#[test]
fn join_all_gives_every_output_and_resumes_a_panic() {
    let rt = rt(2, OnDeadlock::Off);
    let set: JoinSet<u64> = rt.block_on(async { (0..1000u64).map(|i| async move { i }).collect() });
    let out = rt.block_on(set.join_all());
    assert_eq!(out.len(), 1000);
    assert_eq!(out.iter().sum::<u64>(), (0..1000).sum::<u64>());

    let ran = Arc::new(AtomicUsize::new(0));
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let mut set = JoinSet::new();
            set.spawn(async { panic!("the payload") });
            let ran = ran.clone();
            set.spawn(async move {
                gust::time::sleep(Duration::from_secs(60)).await;
                ran.fetch_add(1, Ordering::SeqCst);
            });
            set.join_all().await
        })
    }))
    .unwrap_err();
    assert_eq!(*err.downcast::<&str>().unwrap(), "the payload");
    // The other task was aborted with the set: its runtime has no task left.
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt.handle().num_tasks() > 0 {
        assert!(
            Instant::now() < deadline,
            "the sleeping task was not aborted"
        );
        std::thread::yield_now();
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn a_set_is_a_stream_and_extends() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        set.extend((0..3u8).map(|i| async move { i }));
        set.spawn_blocking(|| 3);
        set.spawn_on(async { 4 }, &gust::runtime::Handle::current());
        assert_eq!(set.size_hint(), (5, Some(5)));
        let mut got: Vec<u8> = (&mut set).map(Result::unwrap).collect().await;
        got.sort();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        // Ended while empty, and goes on when a task is added.
        set.spawn(async { 5 });
        assert_eq!(set.next().await.unwrap().unwrap(), 5);
    });
}

/// 10,000 tasks on 2 workers, each joined once: nothing lost, nothing
/// twice.
#[test]
fn ten_thousand_tasks_join_once_each() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        for i in 0..10_000u64 {
            set.spawn(async move {
                if i % 3 == 0 {
                    gust::yield_now().await;
                }
                i
            });
        }
        let mut seen = vec![false; 10_000];
        while let Some((_, r)) = set.join_next_with_id().await {
            let i = r.unwrap() as usize;
            assert!(!seen[i], "{i} joined twice");
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
    });
}

#[test]
fn try_join_next_never_waits() {
    let rt = rt(1, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        assert!(set.try_join_next().is_none());
        let (open, gate) = gust::chan::<()>(0);
        set.spawn(async move {
            gate.recv().await;
            7
        });
        assert!(set.try_join_next().is_none());
        open.send(()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let v = loop {
            if let Some(r) = set.try_join_next() {
                break r.unwrap();
            }
            assert!(Instant::now() < deadline);
            gust::yield_now().await;
        };
        assert_eq!(v, 7);
    });
}

/// The dump says "JoinSet.join_next (2 tasks)" for a task waiting in one.
#[test]
fn the_dump_names_a_join_set_wait() {
    let rt = rt(2, OnDeadlock::Off);
    let (open, gate) = gust::chan::<()>(0);
    let waiter = rt.spawn(async move {
        let mut set = JoinSet::new();
        for _ in 0..2 {
            let gate = gate.clone();
            set.spawn(async move {
                gate.recv().await;
            });
        }
        while set.join_next().await.is_some() {}
    });
    let wait = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let dump = gust::runtime::dump();
            if dump.tasks().len() == 3
                && dump.tasks().iter().all(|t| t.state() == TaskState::Waiting)
            {
                let waiter = dump.tasks().iter().find(|t| t.id() == waiter.id()).unwrap();
                return waiter.wait().unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "never settled:\n{dump}");
            gust::time::sleep(Duration::from_millis(1)).await;
        }
    });
    assert_eq!(wait, "JoinSet.join_next (2 tasks)");
    open.close();
    rt.block_on(waiter).unwrap();
}

/// Every member blocked on a channel nobody sends on, the joiner in
/// `join_next`: nothing can wake anything, and the detector says so.
#[test]
fn a_join_set_of_stuck_tasks_is_a_deadlock() {
    for workers in [1, 2] {
        let rt = rt(workers, OnDeadlock::Panic);
        let start = Instant::now();
        let err = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async {
                // A plain thread closes the channel after 10 s: a detector
                // that missed the deadlock fails the test then, not hangs it.
                let (late, rx) = gust::chan::<()>(0);
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_secs(10));
                    late.close();
                });
                let mut set = JoinSet::new();
                for _ in 0..3 {
                    let rx = rx.clone();
                    set.spawn(async move {
                        rx.recv().await;
                    });
                }
                set.join_next().await
            })
        }))
        .expect_err("a deadlock panics block_on");
        let msg = err.downcast_ref::<String>().expect("a formatted message");
        assert!(msg.starts_with("all tasks are asleep - deadlock!"), "{msg}");
        assert!(msg.contains("JoinSet.join_next (3 tasks)"), "{msg}");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{workers} workers"
        );
    }
}

/// A member that is a blocking job, or a task of another runtime, ends
/// without this runtime: no report while the set waits on it.
#[test]
fn a_join_set_with_a_blocking_job_or_a_stranger_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    let out = rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn_blocking(|| {
            std::thread::sleep(LONG);
            1
        });
        set.spawn(std::future::pending());
        let first = set.join_next().await.unwrap().unwrap();
        set.abort_all();
        first
    });
    assert_eq!(out, 1);

    let other = common::rt(1, OnDeadlock::Panic);
    let out = rt.block_on(async {
        let mut set = JoinSet::new();
        set.spawn_on(
            async {
                std::thread::sleep(LONG);
                2
            },
            &other.handle(),
        );
        set.join_next().await.unwrap().unwrap()
    });
    assert_eq!(out, 2);
}

/// One member waits durably (a channel) and makes `home` this runtime; the
/// other is a task of another runtime, sleeping on its worker: it ends by
/// itself, so the set's wait is not durable and nothing is reported.
#[test]
fn a_durable_member_beside_a_stranger_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    let other = common::rt(1, OnDeadlock::Off);
    let other_handle = other.handle();
    let out = rt.block_on(async move {
        let (tx, rx) = gust::chan::<u8>(0);
        let mut set = JoinSet::new();
        set.spawn(async move { rx.recv().await.unwrap() });
        set.spawn_on(
            async move {
                std::thread::sleep(LONG);
                tx.send_blocking(1).unwrap();
                2
            },
            &other_handle,
        );
        let mut sum = 0;
        while let Some(r) = set.join_next().await {
            sum += r.unwrap();
        }
        sum
    });
    assert_eq!(out, 3);
}

/// A set of another runtime's tasks, joined from this runtime's
/// `block_on`: this runtime's detector cannot see them end, so no report.
#[test]
fn a_set_of_another_runtimes_tasks_is_not_a_deadlock_here() {
    let rt = rt(1, OnDeadlock::Panic);
    let other = common::rt(1, OnDeadlock::Off);
    let (tx, rx) = gust::chan::<u8>(0);
    let mut set = JoinSet::new();
    set.spawn_on(async move { rx.recv().await.unwrap() }, &other.handle());
    let sender = std::thread::spawn(move || {
        std::thread::sleep(LONG);
        tx.send_blocking(4).unwrap();
    });
    assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 4);
    sender.join().unwrap();
}

#[test]
fn try_join_next_then_a_join_next_that_waits() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let (open, gate) = gust::chan::<()>(0);
        set.spawn(async move {
            gate.recv().await;
            9
        });
        assert!(set.try_join_next().is_none());
        gust::spawn(async move {
            gust::time::sleep(Duration::from_millis(20)).await;
            open.send(()).await.unwrap();
        });
        assert_eq!(set.join_next().await.unwrap().unwrap(), 9);
    });
}

#[test]
#[should_panic(expected = "already awaited to its end")]
fn inserting_an_awaited_handle_panics() {
    let rt = rt(1, OnDeadlock::Off);
    rt.block_on(async {
        let mut h = gust::spawn(async { 1 });
        assert_eq!((&mut h).await.unwrap(), 1);
        JoinSet::new().insert(h);
    });
}

/// Tasks added by `extend` are spawned, for the dump, where `extend` was
/// called.
#[test]
fn extend_spawns_at_the_callers_line() {
    let rt = rt(1, OnDeadlock::Off);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let line = line!() + 1;
        set.extend((0..2).map(|_| std::future::pending::<()>()));
        let dump = gust::runtime::dump();
        assert_eq!(dump.tasks().len(), 2);
        for t in dump.tasks() {
            assert_eq!(t.spawned_at().file(), file!(), "{dump}");
            assert_eq!(t.spawned_at().line(), line, "{dump}");
        }
        set.shutdown().await;
    });
}
