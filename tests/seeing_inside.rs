//! Seeing inside a running program: the task dump names every task with
//! what it waits on and where it was spawned; the deadlock detector reports
//! Go's "all tasks are asleep - deadlock!" when nothing can wake anything,
//! and stays quiet while a timer, a socket, a plain thread or a blocking
//! job still can.

mod common;

use common::{LONG, rt};
use gust::runtime::{Builder, OnDeadlock, TaskState};
use gust::task;
use std::panic::{AssertUnwindSafe, Location, catch_unwind};
use std::time::{Duration, Instant};

/// Spawns a named task and returns its handle and the line it was spawned
/// on (the caller's: `task::Builder::spawn` is `#[track_caller]`).
#[track_caller]
fn go<F>(name: &str, fut: F) -> (gust::JoinHandle<()>, u32)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let line = Location::caller().line();
    (task::Builder::new().name(name).spawn(fut), line)
}

/// Waits until every task of the dump is waiting (they start at once, but
/// on other workers).
async fn settled() -> gust::runtime::Dump {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let dump = gust::runtime::dump();
        if dump.tasks().iter().all(|t| t.state() == TaskState::Waiting) {
            return dump;
        }
        assert!(Instant::now() < deadline, "tasks never settled:\n{dump}");
        gust::time::sleep(Duration::from_millis(1)).await;
    }
}

#[test]
fn the_dump_names_every_kind_of_wait() {
    let rt = rt(2, OnDeadlock::Off);
    rt.block_on(async {
        let (_keep_tx, rx) = gust::chan::<u8>(0);
        let chan_line = line!() - 1;
        let (full_tx, _keep_rx) = gust::chan::<u8>(1);
        full_tx.try_send(0).unwrap();
        let (_a_tx, a_rx) = gust::chan::<u8>(0);
        let (_b_tx, b_rx) = gust::chan::<u8>(0);
        let wg = gust::WaitGroup::new();
        wg.add(1);
        let (ctx, cancel) = gust::Context::background().with_cancel();
        let mutex = std::sync::Arc::new(gust::sync::Mutex::new(()));
        let held = mutex.lock().await;
        let listener = gust::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (never, never_line) = go("never", std::future::pending());

        let mut expect: Vec<(gust::JoinHandle<()>, u32, &str, String)> = Vec::new();
        let mut add = |(h, line): (gust::JoinHandle<()>, u32), name: &'static str, wait: String| {
            expect.push((h, line, name, wait));
        };
        add(
            go("recv", async move {
                rx.recv().await;
            }),
            "recv",
            "chan receive".into(),
        );
        add(
            go("send", async move {
                let _ = full_tx.send(1).await;
            }),
            "send",
            "chan send".into(),
        );
        add(
            go("select", async move {
                gust::select! {
                    _ = a_rx.recv() => {}
                    _ = b_rx.recv() => {}
                }
            }),
            "select",
            "select (2 cases)".into(),
        );
        add(
            go("sleep", gust::time::sleep(Duration::from_secs(3600))),
            "sleep",
            "sleep".into(),
        );
        add(
            go("timer", async move {
                gust::time::Timer::new(Duration::from_secs(3600))
                    .wait()
                    .await;
            }),
            "timer",
            "timer".into(),
        );
        let wg2 = wg.clone();
        add(
            go("wg", async move { wg2.wait().await }),
            "wg",
            "WaitGroup.wait".into(),
        );
        add(
            go("ctx", async move { ctx.done().await }),
            "ctx",
            "Context.done".into(),
        );
        let m = mutex.clone();
        add(
            go("lock", async move {
                drop(m.lock().await);
            }),
            "lock",
            "lock (Mutex)".into(),
        );
        add(
            go("io", async move {
                let _ = listener.accept().await;
            }),
            "io",
            "I/O".into(),
        );
        // A read through `&TcpStream`, one on an owned read half, and a
        // bare `poll_accept`: the same wait.
        let peer_ln = gust::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = gust::net::TcpStream::connect(peer_ln.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = peer_ln.accept().await.unwrap();
        add(
            go("io-ref", async move {
                use futures::AsyncReadExt;
                let _ = (&client).read(&mut [0u8; 8]).await;
            }),
            "io-ref",
            "I/O".into(),
        );
        let (mut server_r, _server_w) = server.into_split();
        add(
            go("io-half", async move {
                use futures::AsyncReadExt;
                let _ = server_r.read(&mut [0u8; 8]).await;
            }),
            "io-half",
            "I/O".into(),
        );
        add(
            go("io-poll-accept", async move {
                let _ = std::future::poll_fn(|cx| peer_ln.poll_accept(cx)).await;
            }),
            "io-poll-accept",
            "I/O".into(),
        );
        add(
            go("other", futures::future::pending()),
            "other",
            "other future".into(),
        );
        let never_id = settled()
            .await
            .tasks()
            .iter()
            .find(|t| t.name() == Some("never"))
            .unwrap()
            .id();
        add(
            go("join", async move {
                let _ = never.await;
            }),
            "join",
            format!("join (task {never_id})"),
        );

        let dump = settled().await;
        for (_, line, name, wait) in &expect {
            let t = dump
                .tasks()
                .iter()
                .find(|t| t.name() == Some(name))
                .unwrap_or_else(|| panic!("no task {name:?} in\n{dump}"));
            assert_eq!(t.wait(), Some(wait.as_str()), "task {name:?}:\n{dump}");
            assert_eq!(t.spawned_at().file(), file!(), "{name}");
            assert_eq!(t.spawned_at().line(), *line, "{name}");
            assert!(t.waiting_for() < Duration::from_secs(60), "{name}");
        }
        let recv = dump
            .tasks()
            .iter()
            .find(|t| t.name() == Some("recv"))
            .unwrap();
        let made = recv
            .chan_made_at()
            .expect("a channel wait names its channel");
        assert_eq!((made.file(), made.line()), (file!(), chan_line));
        let never = dump
            .tasks()
            .iter()
            .find(|t| t.name() == Some("never"))
            .unwrap();
        assert_eq!(never.spawned_at().line(), never_line);
        // The block_on that takes the dump is running.
        assert_eq!(dump.block_ons().len(), 1);
        assert_eq!(dump.block_ons()[0].state(), TaskState::Running);
        // Go's format: `task N "name" [reason, duration]: spawned at file:line:col`.
        let text = dump.to_string();
        let line = text
            .lines()
            .find(|l| l.contains("\"recv\""))
            .unwrap()
            .to_owned();
        assert!(
            line.starts_with(&format!("task {} \"recv\" [chan receive, ", recv.id())),
            "{line}"
        );
        assert!(
            line.ends_with(&format!("]: spawned at {}", recv.spawned_at())),
            "{line}"
        );
        assert!(text.contains(&format!("    chan made at {made}")), "{text}");

        drop(held);
        wg.done();
        cancel.cancel();
        for (h, ..) in expect {
            h.abort();
        }
    });
}

/// Tasks started by gust's own helpers (`WaitGroup::go`, errgroup's `go`
/// and `try_go`) are spawned at the user's call: the dump's one location
/// points at the program, not at gust's source. (`time::tick`'s channel,
/// made at the caller too, is checked in executor/tests/time_go.rs: its
/// timer outlives the test, which would hold up the deadlock tests here.)
#[test]
fn helper_spawns_point_at_the_caller() {
    let rt = rt(1, OnDeadlock::Off);
    rt.block_on(async {
        let (gate_tx, gate) = gust::chan::<()>(0);
        let wg = gust::WaitGroup::new();
        let g = gust::errgroup::Group::<()>::new();
        let (g1, g2, g3) = (gate.clone(), gate.clone(), gate.clone());
        let wg_line = line!() + 1;
        wg.go(async move {
            let _ = g1.recv().await;
        });
        let go_line = line!() + 1;
        g.go(async move {
            let _ = g2.recv().await;
            Ok(())
        });
        let try_go_line = line!() + 1;
        assert!(g.try_go(async move {
            let _ = g3.recv().await;
            Ok(())
        }));
        let dump = settled().await;
        let mut lines: Vec<u32> = dump
            .tasks()
            .iter()
            .filter(|t| t.wait() == Some("chan receive"))
            .map(|t| {
                assert_eq!(t.spawned_at().file(), file!(), "{dump}");
                t.spawned_at().line()
            })
            .collect();
        lines.sort();
        assert_eq!(lines, [wg_line, go_line, try_go_line], "{dump}");
        drop(gate_tx);
        wg.wait().await;
        g.wait().await.unwrap();
    });
}

/// A wait on a stopped `Timer` or `Ticker` (Go 1.23: `<-t.C` after `Stop`
/// blocks for good) is durable: only another task's `reset` could end it,
/// so with nothing else left it is a deadlock, on the real clock and under
/// virtual time. It was taken for a pending timer and hung in silence.
#[test]
fn waiting_on_a_stopped_timer_is_a_deadlock() {
    for (paused, ticker) in [(false, false), (false, true), (true, false)] {
        let what = format!("paused {paused}, ticker {ticker}");
        let msg = deadlock_report(&what, paused, move || async move {
            if ticker {
                let t = gust::time::Ticker::new(Duration::from_secs(10));
                t.stop();
                t.tick().await;
            } else {
                let t = gust::time::Timer::new(Duration::from_secs(10));
                t.stop();
                t.wait().await;
            }
        });
        assert!(msg.contains("[timer"), "{msg}");
    }
}

/// Runs the future `make` makes as the `block_on` of a 1-worker runtime
/// (on virtual time if `paused`) where a deadlock panics, on a thread of
/// its own, and returns the report; fails after 10 s instead (a detector
/// that missed it would hang the test).
fn deadlock_report<F: std::future::Future>(
    what: &str,
    paused: bool,
    make: impl FnOnce() -> F + Send + 'static,
) -> String {
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = Builder::new()
            .workers(1)
            .on_deadlock(OnDeadlock::Panic)
            .start_paused(paused)
            .build()
            .unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(make());
        }));
        let _ = done.send(r.map_err(|e| e.downcast_ref::<String>().cloned()));
    });
    let msg = outcome
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what}: no report, hung"))
        .expect_err("the wait returned")
        .expect("a formatted message");
    assert!(
        msg.starts_with("all tasks are asleep - deadlock!"),
        "{what}: {msg}"
    );
    msg
}

#[test]
fn a_running_and_a_runnable_task_are_told_apart() {
    let rt = rt(1, OnDeadlock::Off);
    rt.block_on(async {
        let (h, _) = go("queued", async {});
        // The worker may have run it already (then it is gone); if not, it
        // is runnable or running, never waiting.
        let dump = gust::runtime::dump();
        if let Some(t) = dump.tasks().iter().find(|t| t.name() == Some("queued")) {
            assert_ne!(t.state(), TaskState::Waiting);
            assert_eq!(t.wait(), None);
        }
        h.await.unwrap();
        let me = task::Builder::new()
            .name("me")
            .spawn(async {
                let dump = gust::runtime::dump();
                let me = dump
                    .tasks()
                    .iter()
                    .find(|t| t.name() == Some("me"))
                    .unwrap();
                (me.state(), dump.to_string())
            })
            .await
            .unwrap();
        assert_eq!(me.0, TaskState::Running);
        assert!(me.1.contains("\"me\" [running]"), "{}", me.1);
    });
}

/// Two tasks each receive from the other; `block_on` joins them.
async fn two_task_deadlock() {
    let (to_a, a_inbox) = gust::chan::<&'static str>(0);
    let (to_b, b_inbox) = gust::chan::<&'static str>(0);
    let (a, _) = go("a", async move {
        a_inbox.recv().await;
        let _ = to_b.send("from a").await;
    });
    let (b, _) = go("b", async move {
        b_inbox.recv().await;
        let _ = to_a.send("from b").await;
    });
    let _ = a.await;
    let _ = b.await;
}

#[test]
fn a_two_task_deadlock_is_reported_within_a_second() {
    for workers in [1, 2] {
        let rt = rt(workers, OnDeadlock::Panic);
        let start = Instant::now();
        let err = catch_unwind(AssertUnwindSafe(|| rt.block_on(two_task_deadlock())))
            .expect_err("a deadlock panics block_on");
        let took = start.elapsed();
        let msg = err.downcast_ref::<String>().expect("a formatted message");
        assert!(msg.starts_with("all tasks are asleep - deadlock!"), "{msg}");
        assert!(msg.contains("\"a\" [chan receive"), "{msg}");
        assert!(msg.contains("\"b\" [chan receive"), "{msg}");
        assert!(msg.contains("block_on"), "{msg}");
        assert!(took < Duration::from_secs(1), "{workers} workers: {took:?}");
    }
}

#[test]
fn a_block_on_alone_on_a_channel_is_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let (_tx, rx) = gust::chan::<u8>(0);
            rx.recv().await
        })
    }))
    .unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(
        msg.contains("block_on 1") || msg.contains("[chan receive"),
        "{msg}"
    );
    // The runtime is still usable after.
    assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
}

/// A plain thread that does `f` after [`LONG`]: what wakes a program that
/// only seems stuck.
fn long_after<R: Send + 'static>(
    f: impl FnOnce() -> R + Send + 'static,
) -> std::thread::JoinHandle<R> {
    std::thread::spawn(move || {
        std::thread::sleep(LONG);
        f()
    })
}

#[test]
fn a_sleeping_task_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    rt.block_on(async {
        let (tx, rx) = gust::chan::<u8>(0);
        gust::spawn(async move {
            gust::time::sleep(LONG).await;
            tx.send(1).await.unwrap();
        });
        assert_eq!(rx.recv().await, Some(1));
    });
}

#[test]
fn a_context_deadline_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    rt.block_on(async {
        let (ctx, _cancel) = gust::Context::background().with_timeout(LONG);
        gust::spawn(async move { ctx.done().await }).await.unwrap();
    });
}

#[test]
fn a_task_waiting_on_a_socket_is_not_a_deadlock() {
    let rt = rt(2, OnDeadlock::Panic);
    rt.block_on(async {
        let listener = gust::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = gust::spawn(async move { listener.accept().await.map(|_| ()) });
        let client = long_after(move || std::net::TcpStream::connect(addr).unwrap());
        accepted.await.unwrap().unwrap();
        drop(client.join());
    });
}

#[test]
fn a_future_woken_by_a_plain_thread_is_not_a_deadlock() {
    let rt = rt(2, OnDeadlock::Panic);
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<u8>();
        let t = long_after(move || tx.send(7).unwrap());
        // In a task, joined by block_on: the task's wait is "other future".
        assert_eq!(gust::spawn(rx).await.unwrap(), Ok(7));
        t.join().unwrap();
    });
}

/// A gust channel and a future woken by a plain thread, waited on together
/// in a combinator gust cannot see into: the slot says "chan receive", but
/// the thread still holds the task's waker (trace/holders.rs).
#[test]
fn a_foreign_combinator_with_a_thread_woken_future_is_not_a_deadlock() {
    use futures::future::{Either, select};
    for workers in [1, 2] {
        let rt = rt(workers, OnDeadlock::Panic);
        // In a task, the channel first and second.
        for chan_first in [true, false] {
            rt.block_on(async move {
                let (_tx, rx) = gust::chan::<u8>(0);
                let (otx, orx) = futures::channel::oneshot::channel::<u8>();
                let t = long_after(move || otx.send(7).unwrap());
                let got = gust::spawn(async move {
                    let recv = std::pin::pin!(rx.recv());
                    if chan_first {
                        match select(recv, orx).await {
                            Either::Right((v, _)) => v.unwrap(),
                            Either::Left(_) => unreachable!("nobody sends"),
                        }
                    } else {
                        match select(orx, recv).await {
                            Either::Left((v, _)) => v.unwrap(),
                            Either::Right(_) => unreachable!("nobody sends"),
                        }
                    }
                });
                assert_eq!(got.await.unwrap(), 7);
                t.join().unwrap();
            });
        }
        // `join!` in `block_on` itself: one part waits on the channel, the
        // other on the thread and then sends on the channel.
        rt.block_on(async {
            let (tx, rx) = gust::chan::<u8>(0);
            let (otx, orx) = futures::channel::oneshot::channel::<u8>();
            let t = long_after(move || otx.send(8).unwrap());
            let relay = async move { tx.send(orx.await.unwrap()).await.unwrap() };
            let (got, ()) = futures::join!(rx.recv(), relay);
            assert_eq!(got, Some(8));
            t.join().unwrap();
        });
    }
}

/// `tokio::select!` (a macro that polls its branches with the task's own
/// waker) over a gust receive and a tokio oneshot sent from a thread.
#[test]
fn tokio_select_with_a_thread_woken_branch_is_not_a_deadlock() {
    let rt = rt(2, OnDeadlock::Panic);
    rt.block_on(async {
        let (_tx, rx) = gust::chan::<u8>(0);
        let (otx, orx) = tokio::sync::oneshot::channel::<u8>();
        let t = long_after(move || otx.send(5).unwrap());
        let got = gust::spawn(async move {
            tokio::select! {
                _ = rx.recv() => unreachable!("nobody sends"),
                v = orx => v.unwrap(),
            }
        });
        assert_eq!(got.await.unwrap(), 5);
        t.join().unwrap();
    });
}

/// A foreign future that keeps its waker across polls (`will_wake`) in a
/// loop around a foreign combinator: it clones the waker once, in the
/// first round, and still holds it when the channel goes quiet.
#[test]
fn a_loop_around_a_foreign_combinator_is_not_a_deadlock() {
    use futures::future::{Either, select};
    let rt = rt(2, OnDeadlock::Panic);
    rt.block_on(async {
        let (tx, rx) = gust::chan::<u8>(0);
        let (stop_tx, mut stop) = futures::channel::oneshot::channel::<()>();
        let t = long_after(move || stop_tx.send(()).unwrap());
        let sender = {
            let tx = tx.clone();
            gust::spawn(async move {
                for i in 0..3 {
                    tx.send(i).await.unwrap();
                }
            })
        };
        let mut got = Vec::new();
        loop {
            match select(&mut stop, std::pin::pin!(rx.recv())).await {
                Either::Left(_) => break,
                Either::Right((v, _)) => got.push(v.unwrap()),
            }
        }
        assert_eq!(got, [0, 1, 2]);
        sender.await.unwrap();
        drop(tx);
        t.join().unwrap();
    });
}

/// A foreign waker once held and then given back does not hide a later
/// deadlock: the count is of wakers alive, not of wakers ever made.
#[test]
fn a_deadlock_after_a_foreign_combinator_ended_is_reported() {
    use futures::future::{Either, select};
    let rt = rt(2, OnDeadlock::Panic);
    let err = catch_unwind(AssertUnwindSafe(|| {
        rt.block_on(async {
            let task = gust::spawn(async {
                let (_tx, rx) = gust::chan::<u8>(0);
                let (otx, orx) = futures::channel::oneshot::channel::<u8>();
                let t = std::thread::spawn(move || otx.send(1).unwrap());
                match select(std::pin::pin!(rx.recv()), orx).await {
                    Either::Right((v, _)) => assert_eq!(v, Ok(1)),
                    Either::Left(_) => unreachable!("nobody sends"),
                }
                t.join().unwrap();
                two_task_deadlock().await;
            });
            let _ = task.await;
        })
    }))
    .expect_err("the deadlock after the combinator is reported");
    let msg = err.downcast_ref::<String>().expect("a formatted message");
    assert!(msg.starts_with("all tasks are asleep - deadlock!"), "{msg}");
    assert!(msg.contains("\"a\" [chan receive"), "{msg}");
}

#[test]
fn a_blocking_job_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    rt.block_on(async {
        let (tx, rx) = gust::chan::<u8>(0);
        let job = gust::spawn_blocking(move || {
            std::thread::sleep(LONG);
            tx.send_blocking(3).unwrap();
        });
        assert_eq!(
            gust::spawn(async move { rx.recv().await }).await.unwrap(),
            Some(3)
        );
        job.await.unwrap();
    });
}

/// A task of another runtime ends by itself (here, after a busy [`LONG`]
/// on its worker): joining it is not a durable wait for the joiner's
/// runtime, whose detector cannot see that runtime's progress. So
/// `rt.block_on(gust::spawn(..))`, whose task `gust::spawn` puts on the
/// global runtime, is not a deadlock of `rt`, nor is a task of `rt` that
/// joins a task of another runtime.
#[test]
fn joining_a_task_of_another_runtime_is_not_a_deadlock() {
    let busy = || async {
        std::thread::sleep(LONG);
        7
    };
    let other = rt(1, OnDeadlock::Panic);
    let rt = rt(1, OnDeadlock::Panic);
    // The block_on joins.
    assert_eq!(rt.block_on(other.spawn(busy())).unwrap(), 7);
    // A task joins; the block_on joins it.
    let h = other.spawn(busy());
    assert_eq!(rt.block_on(rt.spawn(h)).unwrap().unwrap(), 7);
    // The global runtime's task, from a block_on outside it.
    assert_eq!(rt.block_on(gust::spawn(busy())).unwrap(), 7);
    // The dump says whose the joined task is. The joined task ends when
    // the test lets it, after the dump (not after a time that a loaded
    // machine could let pass before the joiner is seen waiting).
    let (release, released) = std::sync::mpsc::channel::<()>();
    let h = other.spawn(async move {
        let _ = released.recv_timeout(Duration::from_secs(30));
    });
    let joiner = rt.spawn(h);
    let dump = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let dump = gust::runtime::dump();
            if dump.tasks().iter().any(|t| t.state() == TaskState::Waiting) {
                return dump;
            }
            assert!(Instant::now() < deadline, "the joiner never waited");
            gust::yield_now().await;
        }
    });
    let wait = dump.tasks()[0].wait().unwrap().to_string();
    release.send(()).unwrap();
    assert!(
        wait.starts_with("join (task ") && wait.ends_with(" of another runtime)"),
        "{wait}"
    );
    rt.block_on(joiner).unwrap().unwrap();
}

/// A wait on a socket, polled inside a foreign combinator before a channel
/// receive: the channel's durable record does not hide the socket's, made
/// earlier in the same poll (gust-trace's "Composite waits"), so no report.
#[test]
fn a_socket_wait_in_a_foreign_combinator_is_not_a_deadlock() {
    use futures::future::{Either, select};
    for workers in [1, 2] {
        let rt = rt(workers, OnDeadlock::Panic);
        rt.block_on(async {
            let listener = gust::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (_tx, rx) = gust::chan::<u8>(0);
            let client = long_after(move || std::net::TcpStream::connect(addr).unwrap());
            let accept = std::pin::pin!(listener.accept());
            let recv = std::pin::pin!(rx.recv());
            match select(accept, recv).await {
                Either::Left((accepted, _)) => drop(accepted.unwrap()),
                Either::Right(_) => panic!("nobody sends"),
            }
            drop(client.join());
        });
    }
    // The same with a join of a task of another runtime in place of the
    // socket (its join is not durable; the other runtime goes on).
    let other = rt(1, OnDeadlock::Panic);
    let rt = rt(1, OnDeadlock::Panic);
    let h = other.spawn(async {
        std::thread::sleep(LONG);
        7
    });
    rt.block_on(async {
        let (_tx, rx) = gust::chan::<u8>(0);
        let recv = std::pin::pin!(rx.recv());
        match select(h, recv).await {
            Either::Left((joined, _)) => assert_eq!(joined.unwrap(), 7),
            Either::Right(_) => panic!("nobody sends"),
        }
    });
}

#[test]
fn warn_prints_and_waits_on() {
    // A plain thread ends the "deadlock" later: under `Warn` the program
    // goes on and gets its value.
    let rt = rt(1, OnDeadlock::Warn);
    let (tx, rx) = gust::chan::<u8>(0);
    let t = long_after(move || tx.send_blocking(9).unwrap());
    assert_eq!(rt.block_on(async move { rx.recv().await }), Some(9));
    t.join().unwrap();
}

#[gust::test]
#[should_panic(expected = "all tasks are asleep - deadlock!")]
async fn gust_test_panics_on_a_deadlock_by_default() {
    let wg = gust::WaitGroup::new();
    wg.add(1);
    wg.wait().await;
}

#[gust::test(start_paused = true)]
#[should_panic(expected = "all tasks are asleep - deadlock!")]
async fn virtual_time_panics_on_a_deadlock_after_its_timers() {
    // The sleep ends (virtual time jumps); then nothing is left to wake
    // the lock's waiter.
    gust::time::sleep(Duration::from_secs(3600)).await;
    let m = gust::sync::Mutex::new(());
    let g = m.lock().await;
    let (h, _) = go("stuck", async {});
    h.await.unwrap();
    let _never = m.lock().await;
    drop(g);
}

/// Under virtual time a dump says how long a task has waited on the
/// runtime's clock: 2m3s of virtual sleep read as 2m3s, not the real
/// microseconds it took. The dump's text starts with the task's line, Go's
/// first line of a goroutine; the `block_on` call comes after the tasks.
#[gust::test(start_paused = true, workers = 2)]
async fn a_dump_under_virtual_time_reads_the_virtual_clock() {
    let (tx, rx) = gust::chan::<u8>(0);
    let (h, line) = go("fetcher", async move {
        rx.recv().await;
    });
    // Until the task waits, with no virtual time passing (a yield does not
    // let the clock jump): its wait begins at the clock's start, 0 ms.
    let real = Instant::now();
    while gust::runtime::dump().tasks()[0].state() != TaskState::Waiting {
        assert!(
            real.elapsed() < Duration::from_secs(10),
            "the task never waited"
        );
        gust::yield_now().await;
    }
    gust::time::sleep(Duration::from_secs(123)).await;
    let dump = gust::runtime::dump();
    let task = &dump.tasks()[0];
    assert_eq!(task.wait(), Some("chan receive"));
    assert_eq!(task.waiting_for(), Duration::from_secs(123), "{dump}");
    let text = dump.to_string();
    let first = text.lines().next().unwrap();
    let want = format!(
        "task {} \"fetcher\" [chan receive, 2m3s]: spawned at {}:{line}:",
        task.id(),
        file!()
    );
    assert!(
        first.starts_with(&want),
        "{first:?} should start with {want:?}"
    );
    assert!(text.contains("\nblock_on "), "{text}");
    drop(tx);
    h.await.unwrap();
}

/// A receive from `tick(Duration::ZERO)` (Go's nil channel of `Tick(0)`)
/// is asleep for good: reported, as Go reports a goroutine blocked on a
/// nil channel. (Run on a thread of its own: a detector that missed it
/// would hang the test instead of failing it.)
#[test]
fn a_receive_from_a_zero_tick_is_a_deadlock() {
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = rt(1, OnDeadlock::Panic);
        let r = catch_unwind(AssertUnwindSafe(|| {
            rt.block_on(async { gust::time::tick(Duration::ZERO).recv().await })
        }));
        let _ = done.send(r.map_err(|e| e.downcast_ref::<String>().cloned()));
    });
    let msg = outcome
        .recv_timeout(Duration::from_secs(30))
        .expect("no report within 30 s")
        .expect_err("the receive returned")
        .expect("a formatted message");
    assert!(msg.starts_with("all tasks are asleep - deadlock!"), "{msg}");
}

/// A wait due never (`Duration::MAX` means never, DESIGN.md) is no pending
/// timer: nothing can end a sleep, `after`, `Timer` or `Ticker` due never,
/// so a task left waiting on one is asleep for good, and with nothing else
/// left it is a deadlock, on the real clock and under virtual time (the
/// clock has no timer to jump to). A `timeout` due never is its future's
/// wait. Each was taken for a pending timer and hung in silence (found by
/// an outside probe: `sleep(Duration::MAX)` under
/// `#[gust::test(start_paused = true)]`).
#[test]
fn a_wait_due_never_is_a_deadlock() {
    type Wait = fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    let waits: [(&str, &str, Wait); 5] = [
        ("sleep", "[sleep (forever)", || {
            Box::pin(gust::time::sleep(Duration::MAX))
        }),
        ("after", "[sleep (forever)", || {
            Box::pin(async {
                gust::time::after(Duration::MAX).await;
            })
        }),
        ("timer", "[timer", || {
            Box::pin(async {
                gust::time::Timer::new(Duration::MAX).wait().await;
            })
        }),
        ("ticker", "[timer", || {
            Box::pin(async {
                gust::time::Ticker::new(Duration::MAX).tick().await;
            })
        }),
        ("timeout", "[chan receive", || {
            Box::pin(async {
                let (_tx, rx) = gust::chan::<u8>(0);
                let _ = gust::time::timeout(Duration::MAX, rx.recv()).await;
            })
        }),
    ];
    for (what, reason, wait) in waits {
        for paused in [false, true] {
            let label = format!("{what}, paused {paused}");
            let msg = deadlock_report(&label, paused, move || async move {
                let h = gust::spawn(async move { wait().await });
                let _ = h.await;
            });
            assert!(msg.contains(reason), "{label}: {msg}");
        }
    }
}

/// ...but a wait due never beside one that a plain thread ends is not a
/// deadlock (the thread's waker is counted).
#[test]
fn a_wait_due_never_beside_a_thread_woken_future_is_not_a_deadlock() {
    let rt = rt(1, OnDeadlock::Panic);
    rt.block_on(async {
        let (tx, rx) = futures::channel::oneshot::channel::<u8>();
        let _thread = long_after(move || tx.send(3));
        let r = gust::time::timeout(Duration::MAX, rx).await;
        assert_eq!(r.unwrap().unwrap(), 3);
    });
}
