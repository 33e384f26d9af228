//! A task that loops on a channel that is always ready lets the other tasks
//! of its worker run.
//!
//! A channel fed from outside the task's worker (a plain thread, another
//! runtime) or by the task itself has a value or room at once, every time:
//! a loop on it never returns `Pending`, and on a runtime of one worker the
//! other tasks (a timer's, a socket's) never ran. Go preempts such a
//! goroutine after 10 ms; tokio's channels take from its cooperative
//! budget. gust's channel waits that complete at once take from the poll's
//! budget of ready waits (`gust_trace::READY_BUDGET`) and yield when it is
//! spent. Each loop test below hung before (a loop of one task, kept on
//! the lone worker: the task it spawned never ran).

use futures::{SinkExt, StreamExt};
use gust::runtime::Builder;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod common;

/// Runs `f` on a thread; fails after 20 s instead of hanging.
fn within(f: impl FnOnce() + Send + 'static) {
    let hung = "the spawned task never ran: the looping task kept the worker";
    common::within(Duration::from_secs(20), hung, f);
}

type Step = Pin<Box<dyn Future<Output = ()> + Send>>;

/// On a runtime of one worker, a task spawns another (which can only run
/// once the first returns `Pending`) and then runs `step` until it has:
/// `step` is always ready.
fn loop_until_the_other_task_runs(step: impl FnMut() -> Step + Send + 'static) {
    within(move || {
        let rt = Builder::new().workers(1).build().unwrap();
        let turns = rt
            .block_on(gust::spawn(async move {
                let mut step = step;
                let ran = Arc::new(AtomicBool::new(false));
                let flag = ran.clone();
                gust::spawn(async move { flag.store(true, Ordering::Relaxed) });
                let mut turns = 0u64;
                while !ran.load(Ordering::Relaxed) {
                    step().await;
                    turns += 1;
                }
                turns
            }))
            .unwrap();
        // At least a budget's worth of ready waits before the yield.
        assert!(turns >= 512, "{turns} turns");
    });
}

#[test]
fn a_receive_loop_on_a_channel_it_refills_yields() {
    let ch = gust::Chan::<u64>::new(4);
    ch.try_send(1).unwrap();
    loop_until_the_other_task_runs(move || {
        let ch = ch.clone();
        Box::pin(async move {
            let v = ch.recv().await.unwrap();
            ch.try_send(v).unwrap();
        })
    });
}

#[test]
fn a_send_loop_on_a_channel_it_drains_yields() {
    let ch = gust::Chan::<u64>::new(4);
    loop_until_the_other_task_runs(move || {
        let ch = ch.clone();
        Box::pin(async move {
            ch.send(7).await.unwrap();
            assert_eq!(ch.try_recv(), Ok(7));
        })
    });
}

#[test]
fn a_select_loop_yields() {
    let (a, b) = (gust::Chan::<u64>::new(1), gust::Chan::<u64>::new(1));
    a.try_send(1).unwrap();
    loop_until_the_other_task_runs(move || {
        let (a, b) = (a.clone(), b.clone());
        Box::pin(async move {
            gust::select! {
                v = a.recv() => a.try_send(v.unwrap()).unwrap(),
                v = b.recv() => b.try_send(v.unwrap()).unwrap(),
            }
        })
    });
}

#[test]
fn a_dynamic_select_loop_yields() {
    let chans: Vec<_> = (0..3).map(|_| gust::Chan::<u64>::new(1)).collect();
    chans[1].try_send(1).unwrap();
    loop_until_the_other_task_runs(move || {
        let chans = chans.clone();
        Box::pin(async move {
            let receivers: Vec<_> = chans.iter().map(|c| c.receiver()).collect();
            let mut sel = gust::Select::new();
            for rx in &receivers {
                sel.recv(rx);
            }
            let (i, outcome) = sel.wait().await;
            let gust::select::Outcome::Recv(Some(v)) = outcome else {
                panic!("a closed channel")
            };
            drop(sel);
            chans[i].try_send(v).unwrap();
        })
    });
}

#[test]
fn a_stream_and_sink_loop_yields() {
    let (tx, rx) = gust::chan::<u64>(4);
    loop_until_the_other_task_runs(move || {
        let (mut tx, mut rx) = (tx.clone(), rx.clone());
        Box::pin(async move {
            // The Sink: poll_ready, start_send, poll_flush.
            SinkExt::send(&mut tx, 3).await.unwrap();
            assert_eq!(rx.next().await, Some(3));
        })
    });
}

#[test]
fn a_loop_of_sleeps_already_due_yields() {
    loop_until_the_other_task_runs(|| {
        Box::pin(async {
            gust::time::sleep(Duration::ZERO).await;
            gust::time::after(Duration::ZERO).await;
        })
    });
}

#[test]
fn a_loop_on_a_waitgroup_at_zero_yields() {
    let wg = gust::WaitGroup::new();
    loop_until_the_other_task_runs(move || {
        let wg = wg.clone();
        Box::pin(async move { wg.wait().await })
    });
}

#[test]
fn a_loop_on_an_ended_context_yields() {
    let ctx = ended_context();
    loop_until_the_other_task_runs(move || {
        let ctx = ctx.clone();
        Box::pin(async move { ctx.done().await })
    });
}

#[test]
fn a_loop_on_a_closed_channels_closed_yields() {
    let (tx, rx) = gust::chan::<u64>(1);
    drop(rx);
    loop_until_the_other_task_runs(move || {
        let tx = tx.clone();
        Box::pin(async move { tx.closed().await })
    });
}

/// Runs `f` in a task of a 1-worker runtime: `f` makes three budgets'
/// worth of ready waits in one poll.
fn in_a_task(f: impl Future<Output = ()> + Send + 'static) {
    within(move || {
        let rt = Builder::new().workers(1).build().unwrap();
        rt.block_on(gust::spawn(f)).unwrap();
    });
}

const PAST_THE_BUDGET: u64 = 3 * 1024;

/// Spends 0, 1 or 2 of the task's budget (by turn), so that the unit that
/// finds it spent falls on every kind of wait of a turn in some turn.
async fn spend(ch: &gust::Chan<u64>, turn: u64) {
    for _ in 0..turn % 3 {
        ch.try_send(turn).unwrap();
        assert_eq!(ch.recv().await, Some(turn));
    }
}

/// A cancelled context.
fn ended_context() -> gust::Context {
    let (ctx, cancel) = gust::Context::background().with_cancel();
    cancel.cancel();
    ctx
}

/// A budget yield is a `Pending` that says nothing of readiness: the
/// futures built of others must not read it as "not ready".
#[test]
fn a_select_with_default_takes_its_ready_future_case_every_time() {
    in_a_task(async {
        let (ctx, ch) = (ended_context(), gust::Chan::<u64>::new(1));
        for i in 0..PAST_THE_BUDGET {
            spend(&ch, i).await;
            gust::select! {
                _ = ctx.done() => {}
                default => panic!("the default arm won over a ready case (turn {i})"),
            }
        }
    });
}

#[test]
fn a_biased_select_takes_its_first_ready_case_every_time() {
    in_a_task(async {
        let (ctx, ch) = (ended_context(), gust::Chan::<u64>::new(1));
        for i in 0..PAST_THE_BUDGET {
            spend(&ch, i).await;
            ch.try_send(i).unwrap();
            gust::select! {
                biased;
                _ = ctx.done() => assert_eq!(ch.try_recv(), Ok(i)),
                v = ch.recv() => panic!("a later case won over the first ({v:?}, turn {i})"),
            }
        }
    });
}

#[test]
fn run_on_an_ended_context_never_polls_its_future() {
    in_a_task(async {
        let ctx = ended_context();
        for i in 0..PAST_THE_BUDGET {
            let r = ctx.run(async move { panic!("polled on an ended context (turn {i})") });
            assert_eq!(r.await, Err::<(), _>(gust::context::ContextError::Canceled));
        }
    });
}

#[test]
fn a_timeout_of_a_ready_receive_is_never_elapsed() {
    in_a_task(async {
        let ch = gust::Chan::<u64>::new(1);
        for i in 0..PAST_THE_BUDGET {
            ch.try_send(i).unwrap();
            let got = gust::time::timeout(Duration::ZERO, ch.recv()).await;
            assert_eq!(got, Ok(Some(i)), "turn {i}");
        }
    });
}

/// `block_on`'s poll has no budget: nothing waits behind it on its thread.
#[test]
fn block_on_has_no_budget() {
    use futures::FutureExt;
    let ch = gust::Chan::<u64>::new(1);
    gust::block_on(async {
        for i in 0..PAST_THE_BUDGET {
            ch.try_send(i).unwrap();
            assert_eq!(ch.recv().now_or_never(), Some(Some(i)), "turn {i}");
        }
    });
}

/// The `_blocking` forms (and another executor's `block_on`) inside a task,
/// past its poll's budget: their loops poll a wait that yielded again at
/// once, so a budget that stayed spent would spin them forever; it starts
/// over instead.
#[test]
fn blocking_forms_inside_a_task_whose_budget_is_spent_complete() {
    within(|| {
        let rt = Builder::new().workers(1).build().unwrap();
        rt.block_on(gust::spawn(async {
            let ch = gust::Chan::<u64>::new(1);
            for i in 0..PAST_THE_BUDGET {
                ch.send_blocking(i).unwrap();
                assert_eq!(ch.recv_blocking(), Some(i));
                futures::executor::block_on(ch.send(i)).unwrap();
                assert_eq!(futures::executor::block_on(ch.recv()), Some(i));
            }
        }))
        .unwrap();
    });
}

/// Outside a gust task (tokio, a plain `block_on`) there is no budget.
#[test]
fn no_budget_outside_a_gust_task() {
    let ch = gust::Chan::<u64>::new(1);
    futures::executor::block_on(async {
        for i in 0..100_000 {
            ch.send(i).await.unwrap();
            assert_eq!(ch.recv().await, Some(i));
        }
    });
}
