//! Faults (issue 6): panics in user code at every place gust runs it, a task
//! aborted in the middle of a send, and a runtime dropped with tasks blocked on
//! every kind of primitive. Each test shows no deadlock (every blocking step
//! is bounded by a thread + `recv_timeout`, never by sleeps), no lost wake-up
//! and no leak (drop counters).

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context as TaskCx, Poll};
use std::time::Duration;

use futures::task::noop_waker;
use gust::{Context, TryRecvError, WaitGroup, chan, select};

const BOUND: Duration = Duration::from_secs(20);

/// Runs `f` on its own thread; fails the test if it has not returned within
/// `BOUND` (a deadlock), re-raises its panic.
fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(());
        r
    });
    match rx.recv_timeout(BOUND) {
        Ok(()) => match t.join().unwrap() {
            Ok(r) => r,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(_) => panic!("deadlock: {what} did not return within {BOUND:?}"),
    }
}

/// Counts its drops; `panics` makes its drop panic (after counting).
struct Tracked {
    id: u64,
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Tracked {
    fn new(id: u64, drops: &Arc<AtomicUsize>) -> Self {
        Tracked {
            id,
            drops: drops.clone(),
            panics: false,
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("Tracked({}) panics in drop", self.id);
        }
    }
}

fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    let waker = noop_waker();
    f.poll(&mut TaskCx::from_waker(&waker))
}

// ---------------------------------------------------------------- Drop panics

#[test]
fn panic_in_drop_of_a_buffered_value() {
    within("dropping a channel whose values panic in Drop", || {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Tracked>(4);
        for id in 0..4 {
            let mut v = Tracked::new(id, &drops);
            v.panics = id == 1;
            tx.try_send(v).map_err(|_| ()).unwrap();
        }
        drop(tx);
        // The last handle frees the channel: the panic propagates to it, and
        // every other buffered value is still dropped.
        let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
        assert!(r.is_err(), "the Drop panic propagates");
        assert_eq!(drops.load(Ordering::SeqCst), 4, "all four values dropped");
    });
}

#[test]
fn panic_in_drop_of_a_cancelled_send_leaves_the_channel_usable() {
    within("a channel after a panicking cancelled send", || {
        let drops = Arc::new(AtomicUsize::new(0));
        for cap in [0usize, 1] {
            let (tx, rx) = chan::<Tracked>(cap);
            if cap == 1 {
                tx.try_send(Tracked::new(100, &drops))
                    .map_err(|_| ())
                    .unwrap();
            }
            let mut v = Tracked::new(1, &drops);
            v.panics = true;
            let mut fut = Box::pin(tx.send(v));
            assert!(poll_once(fut.as_mut()).is_pending());
            let r = catch_unwind(AssertUnwindSafe(move || drop(fut)));
            assert!(r.is_err(), "the Drop panic propagates from the cancel");
            // Not delivered, and the channel (its lock) is fine.
            if cap == 1 {
                assert_eq!(rx.try_recv().unwrap().id, 100);
            }
            assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
            let t = std::thread::spawn({
                let drops = drops.clone();
                move || tx.send_blocking(Tracked::new(2, &drops)).is_ok()
            });
            assert_eq!(rx.recv_blocking().map(|v| v.id), Some(2));
            assert!(t.join().unwrap());
        }
    });
}

// ---------------------------------------------------------------- select

#[test]
fn panic_in_a_select_arm_commits_exactly_one() {
    within("select with a panicking arm", || {
        for _ in 0..50 {
            let (tx1, rx1) = chan::<u32>(1);
            let (tx2, rx2) = chan::<u32>(1);
            let (tx3, rx3) = chan::<u32>(1);
            tx1.try_send(1).unwrap();
            tx2.try_send(2).unwrap();
            let r = catch_unwind(AssertUnwindSafe(|| {
                futures::executor::block_on(async {
                    select! {
                        _ = rx1.recv() => panic!("arm 1"),
                        _ = rx2.recv() => panic!("arm 2"),
                        _ = tx3.send(3) => panic!("arm 3"),
                    }
                })
            }));
            assert!(r.is_err());
            // Exactly one of: rx1 drained, rx2 drained, 3 sent.
            let changes = usize::from(rx1.is_empty())
                + usize::from(rx2.is_empty())
                + usize::from(rx3.len() == 1);
            assert_eq!(changes, 1, "exactly one case committed");
            // Everything still works.
            for (tx, rx) in [(&tx1, &rx1), (&tx2, &rx2), (&tx3, &rx3)] {
                while rx.try_recv().is_ok() {}
                tx.try_send(9).unwrap();
                assert_eq!(rx.try_recv(), Ok(9));
            }
        }
    });
}

/// A future that panics on its `n`th poll, pending before.
struct PanicOnPoll(usize);

impl Future for PanicOnPoll {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, _: &mut TaskCx<'_>) -> Poll<()> {
        self.0 -= 1;
        if self.0 == 0 {
            panic!("PanicOnPoll");
        }
        Poll::Pending
    }
}

#[test]
fn panic_in_a_future_polled_by_select() {
    within("select polling a panicking future", || {
        let drops = Arc::new(AtomicUsize::new(0));
        for nth in [1usize, 2] {
            for _ in 0..20 {
                let (rtx, rrx) = chan::<Tracked>(0); // the select sends here
                let (btx, brx) = chan::<Tracked>(1); // and receives here
                let before = drops.load(Ordering::SeqCst);
                let r = catch_unwind(AssertUnwindSafe(|| {
                    let v = Tracked::new(7, &drops);
                    let mut sel = Box::pin(async {
                        select! {
                            _ = rtx.send(v) => unreachable!("no receiver"),
                            _ = brx.recv() => unreachable!("empty"),
                            _ = PanicOnPoll(nth) => unreachable!(),
                        }
                    });
                    // 1st poll: the channel cases wait in their queues; the
                    // 2nd (if `nth == 2`) panics with them registered.
                    for _ in 0..nth {
                        let _ = poll_once(sel.as_mut());
                    }
                }));
                assert!(r.is_err(), "the future's panic propagates");
                // The offered value was dropped once, never delivered.
                assert_eq!(drops.load(Ordering::SeqCst), before + 1);
                assert!(matches!(rrx.try_recv(), Err(TryRecvError::Empty)));
                // No stale receiver entry: a value sent now is received.
                btx.try_send(Tracked::new(8, &drops))
                    .map_err(|_| ())
                    .unwrap();
                assert_eq!(brx.try_recv().map(|v| v.id).ok(), Some(8));
                // No stale sender entry: a rendezvous still pairs.
                let t = std::thread::spawn({
                    let drops = drops.clone();
                    let rtx = rtx.clone();
                    move || rtx.send_blocking(Tracked::new(9, &drops)).is_ok()
                });
                assert_eq!(rrx.recv_blocking().map(|v| v.id), Some(9));
                assert!(t.join().unwrap());
            }
        }
    });
}

// ---------------------------------------------------------------- tasks

fn runtime() -> gust::runtime::Runtime {
    gust::runtime::Builder::new().workers(2).build().unwrap()
}

#[test]
fn panic_in_a_task_holding_a_waitgroup() {
    within("wg.wait after panicking wg.go tasks", || {
        let rt = runtime();
        rt.block_on(async {
            let wg = WaitGroup::new();
            let ok = Arc::new(AtomicUsize::new(0));
            let mut handles = vec![];
            for i in 0..8 {
                let ok = ok.clone();
                handles.push(wg.go(async move {
                    gust::yield_now().await;
                    if i % 2 == 0 {
                        panic!("task {i} panics holding the WaitGroup");
                    }
                    ok.fetch_add(1, Ordering::SeqCst);
                }));
            }
            wg.wait().await;
            assert_eq!(wg.count(), 0);
            assert_eq!(ok.load(Ordering::SeqCst), 4);
            for (i, h) in handles.into_iter().enumerate() {
                let r = h.await;
                assert_eq!(r.is_err(), i % 2 == 0);
                if let Err(e) = r {
                    assert!(e.is_panic());
                }
            }
        });
    });
}

#[test]
fn panic_in_a_task_holding_a_cancel_func() {
    within(
        "ctx.done after a panicking task dropped its CancelFunc",
        || {
            let rt = runtime();
            rt.block_on(async {
                let (ctx, cancel) = Context::background().with_cancel();
                let (child, _child_cancel) = ctx.with_cancel();
                let waiters: Vec<_> = (0..4)
                    .map(|_| {
                        let c = child.clone();
                        gust::spawn(async move { c.done().await })
                    })
                    .collect();
                let h = gust::spawn(async move {
                    let _cancel = cancel;
                    gust::yield_now().await;
                    panic!("panics holding the CancelFunc");
                });
                assert!(h.await.unwrap_err().is_panic());
                for w in waiters {
                    w.await.unwrap();
                }
                assert_eq!(ctx.err(), Some(gust::context::ContextError::Canceled));
                assert!(child.is_done());
            });
        },
    );
}

#[test]
fn task_aborted_in_the_middle_of_a_rendezvous_send() {
    within("aborting senders", || {
        let rt = runtime();
        let drops = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let (tx, rx) = chan::<Tracked>(0);
            let mut delivered_aborted = 0;
            for round in 0..200u64 {
                let (ready_tx, ready_rx) = chan::<()>(1);
                let tx1 = tx.clone();
                let d = drops.clone();
                let h = gust::spawn(async move {
                    ready_tx.send(()).await.unwrap();
                    tx1.send(Tracked::new(2 * round, &d)).await.is_ok()
                });
                // Half the rounds with a receiver already waiting.
                let waiting = (round % 2 == 1).then(|| {
                    let rx = rx.clone();
                    gust::spawn(async move { rx.recv().await.map(|v| v.id) })
                });
                ready_rx.recv().await.unwrap();
                for _ in 0..(round % 3) {
                    gust::yield_now().await;
                }
                h.abort();
                let sent = match h.await {
                    Ok(sent) => sent, // finished before the abort
                    Err(e) => {
                        assert!(e.is_aborted());
                        false
                    }
                };
                // The next value, from a sender that is not aborted.
                let tx2 = tx.clone();
                let d = drops.clone();
                let next =
                    gust::spawn(
                        async move { tx2.send(Tracked::new(2 * round + 1, &d)).await.is_ok() },
                    );
                let mut got = vec![];
                if let Some(w) = waiting {
                    got.extend(w.await.unwrap());
                }
                // The aborted value is never received after the abort
                // returned (no phantom): the next value is.
                while got.last() != Some(&(2 * round + 1)) {
                    got.push(rx.recv().await.unwrap().id);
                }
                assert!(next.await.unwrap());
                assert!(
                    got == [2 * round + 1]
                        || (got == [2 * round, 2 * round + 1] && waiting_ok(round)),
                    "round {round}: received {got:?} (sent before abort: {sent})"
                );
                if got.len() == 2 {
                    delivered_aborted += 1;
                    assert!(sent || round % 2 == 1);
                } else {
                    assert!(!sent, "a send that reported Ok delivered nothing");
                }
                assert!(matches!(rx.try_recv(), Err(TryRecvError::Empty)));
            }
            eprintln!("aborted sends delivered before the abort: {delivered_aborted}/200");
        });
        drop(rt);
        // Every value dropped exactly once.
        assert_eq!(drops.load(Ordering::SeqCst), 400);
    });
}

/// A value from the aborted sender may only have been received by a receiver
/// that was already waiting when it was sent (odd rounds).
fn waiting_ok(round: u64) -> bool {
    round % 2 == 1
}

// ---------------------------------------------------------------- runtime drop

/// Counts its drop: proves a task's future was dropped.
struct Guard(Arc<AtomicUsize>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn runtime_dropped_with_tasks_blocked_on_every_primitive() {
    let futures_dropped = Arc::new(AtomicUsize::new(0));
    let values_dropped = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = mpsc::channel::<&'static str>();
    let rt = runtime();

    let (send_tx, send_rx) = chan::<Tracked>(0); // a send with no receiver
    let (recv_tx, recv_rx) = chan::<Tracked>(1); // a recv with no value
    let (sel_tx, sel_rx) = chan::<Tracked>(0);
    let wg = WaitGroup::new();
    wg.add(1);
    let (ctx, cancel) = Context::background().with_cancel();

    let mut n = 0;
    let mut spawn = |name: &'static str, fut: Pin<Box<dyn Future<Output = ()> + Send>>| {
        let g = Guard(futures_dropped.clone());
        let st = started_tx.clone();
        n += 1;
        rt.spawn(async move {
            let _g = g;
            st.send(name).unwrap();
            fut.await
        })
    };
    let v = Tracked::new(1, &values_dropped);
    let h1 = spawn(
        "send",
        Box::pin(async move {
            let _ = send_tx.send(v).await;
        }),
    );
    let h2 = spawn(
        "recv",
        Box::pin(async move {
            let _ = recv_rx.recv().await;
        }),
    );
    let v = Tracked::new(2, &values_dropped);
    let ctx2 = ctx.clone();
    let h3 = spawn(
        "select",
        Box::pin(async move {
            select! {
                _ = sel_tx.send(v) => {}
                _ = sel_rx.recv() => {}
                _ = ctx2.done() => {}
            }
        }),
    );
    let wg2 = wg.clone();
    let h4 = spawn(
        "wg.wait",
        Box::pin(async move {
            wg2.wait().await;
        }),
    );
    let ctx3 = ctx.clone();
    let h5 = spawn(
        "ctx.done",
        Box::pin(async move {
            ctx3.done().await;
        }),
    );
    let h6 = spawn(
        "sleep",
        Box::pin(async move {
            gust::time::sleep(Duration::from_secs(3600)).await;
        }),
    );
    for _ in 0..n {
        started_rx.recv_timeout(BOUND).expect("every task started");
    }
    // Every started task is at (or about to reach) its blocking point; the
    // drop must not depend on which.
    let (done_tx, done_rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        drop(rt);
        done_tx.send(()).unwrap();
    });
    done_rx
        .recv_timeout(BOUND)
        .expect("dropping the runtime returned");
    t.join().unwrap();
    assert_eq!(
        futures_dropped.load(Ordering::SeqCst),
        n,
        "every future dropped"
    );
    assert_eq!(
        values_dropped.load(Ordering::SeqCst),
        2,
        "the values of the pending sends dropped exactly once"
    );
    for h in [h1, h2, h3, h4, h5, h6] {
        let r = within("awaiting a dropped task's JoinHandle", move || {
            gust::block_on(h)
        });
        assert!(r.unwrap_err().is_aborted());
    }
    // The primitives outlive the runtime and still work.
    assert!(matches!(send_rx.try_recv(), Err(TryRecvError::Closed)));
    // The receiving task's handle went with its future: no receiver is left,
    // so a send fails with the value handed back.
    match recv_tx.try_send(Tracked::new(3, &values_dropped)) {
        Err(gust::TrySendError::Closed(v)) => assert_eq!(v.id, 3),
        _ => panic!("try_send with no receiver left must fail with Closed"),
    }
    wg.done();
    wg.wait_blocking();
    drop(cancel);
    assert!(ctx.is_done());
    drop(recv_tx);
    assert_eq!(values_dropped.load(Ordering::SeqCst), 3);
}

/// A runtime dropped while another thread keeps waking its tasks: the wakes
/// that reach a task after the runtime shut down drop it, those that race the
/// shutdown either queue it (and the shutdown drops it) or find the runtime
/// drained. The runtime's state must outlive every schedule call that
/// touches it (task.rs, invariant #3), whichever of the two ends last.
#[test]
fn runtime_dropped_while_a_foreign_thread_wakes_its_tasks() {
    within("rounds of runtime drops racing foreign wakes", || {
        for round in 0..200 {
            let dropped = Arc::new(AtomicUsize::new(0));
            let rt = runtime();
            let mut senders = Vec::new();
            for _ in 0..8 {
                let (tx, rx) = chan::<u32>(0);
                senders.push(tx);
                let g = Guard(dropped.clone());
                drop(rt.spawn(async move {
                    let _g = g;
                    while rx.recv().await.is_some() {}
                }));
            }
            // The foreign thread wakes the tasks (each send completes
            // against a parked receiver or parks itself) until the channels
            // report no receiver left.
            let waker = std::thread::spawn(move || {
                let mut live = senders;
                let mut i = 0u32;
                while !live.is_empty() {
                    live.retain(|tx| !matches!(tx.try_send(i), Err(gust::TrySendError::Closed(_))));
                    i = i.wrapping_add(1);
                    if round % 2 == 0 {
                        std::thread::yield_now();
                    }
                }
            });
            drop(rt);
            waker.join().unwrap();
            assert_eq!(
                dropped.load(Ordering::SeqCst),
                8,
                "round {round}: every future dropped"
            );
        }
    });
}
