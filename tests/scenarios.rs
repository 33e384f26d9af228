//! Cross-crate scenarios written against the facade, as users write them:
//! pipelines, fan-in and fan-out, cancellation trees, and the auto traits
//! users rely on to move handles between tasks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gust::{Chan, Context, JoinHandle, Receiver, Sender, WaitGroup, chan, select};

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>(_: &T) {}

#[test]
fn handles_are_send_and_sync() {
    assert_send_sync::<Chan<String>>();
    assert_send_sync::<Sender<String>>();
    assert_send_sync::<Receiver<String>>();
    assert_send_sync::<WaitGroup>();
    assert_send_sync::<Context>();
    assert_send_sync::<gust::CancelFunc>();
    assert_send_sync::<JoinHandle<String>>();
    assert_send_sync::<gust::JoinError>();
}

#[test]
fn the_futures_users_await_are_send() {
    let ch = Chan::<String>::new(0);
    let wg = WaitGroup::new();
    let ctx = Context::background();
    assert_send(&ch.recv());
    assert_send(&ch.send(String::new()));
    assert_send(&wg.wait());
    assert_send(&ctx.done());
    let select = async {
        select! {
            v = ch.recv() => v.is_some(),
            _ = ctx.done() => false,
            _ = wg.wait() => false,
        }
    };
    assert_send(&select);
}

#[test]
fn error_types_are_errors() {
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<gust::SendError<u8>>();
    is_error::<gust::TrySendError<u8>>();
    is_error::<gust::TryRecvError>();
    is_error::<gust::JoinError>();
    is_error::<gust::context::ContextError>();
    is_error::<gust::time::Elapsed>();
}

/// gen -> square -> merge(fan-in of 4 squarers) -> sum, the Go blog's pipeline.
#[test]
fn pipeline_fan_out_fan_in() {
    let sum = gust::block_on(async {
        let (src_tx, src_rx) = chan::<u64>(0);
        gust::spawn(async move {
            for i in 1..=1000 {
                src_tx.send(i).await.unwrap();
            }
        });
        let (out_tx, out_rx) = chan::<u64>(16);
        for _ in 0..4 {
            let (rx, tx) = (src_rx.clone(), out_tx.clone());
            gust::spawn(async move {
                while let Some(v) = rx.recv().await {
                    tx.send(v * v).await.unwrap();
                }
            });
        }
        drop((src_rx, out_tx));
        let mut sum = 0;
        while let Some(v) = out_rx.recv().await {
            sum += v;
        }
        sum
    });
    assert_eq!(sum, (1..=1000u64).map(|i| i * i).sum());
}

/// Cancelling the root of a tree stops every worker selecting on its own leaf.
#[test]
fn cancelling_a_tree_stops_every_worker() {
    let stopped = Arc::new(AtomicUsize::new(0));
    gust::block_on(async {
        let (root, cancel) = Context::background().with_cancel();
        let wg = WaitGroup::new();
        let (work_tx, work_rx) = chan::<u32>(0);
        for i in 0..32 {
            let (mid, _keep) = root.with_cancel();
            let (leaf, _keep_leaf) = mid.with_timeout(Duration::from_secs(60));
            let (rx, stopped) = (work_rx.clone(), stopped.clone());
            wg.go(async move {
                let _guards = (_keep, _keep_leaf);
                loop {
                    select! {
                        v = rx.recv() => assert!(v.is_some(), "worker {i}: channel closed early"),
                        _ = leaf.done() => break,
                    }
                }
                assert_eq!(leaf.err(), Some(gust::context::ContextError::Canceled));
                stopped.fetch_add(1, Ordering::SeqCst);
            });
        }
        for v in 0..100 {
            work_tx.send(v).await.unwrap();
        }
        cancel.cancel();
        wg.wait().await;
    });
    assert_eq!(stopped.load(Ordering::SeqCst), 32);
}

/// A select loop with a ticker, a quit channel and a context, Go's
/// `for { select { ... } }` shape, with break and continue acting on the loop.
#[test]
fn for_select_loop_with_break_and_continue() {
    let seen = gust::block_on(async {
        let (tx, rx) = chan::<u32>(8);
        let (quit_tx, quit_rx) = chan::<()>(0);
        gust::spawn(async move {
            for i in 0..10 {
                tx.send(i).await.unwrap();
            }
            quit_tx.send(()).await.unwrap();
        });
        let mut seen = Vec::new();
        loop {
            select! {
                v = rx.recv() => {
                    let Some(v) = v else { continue };
                    if v % 2 == 1 {
                        continue;
                    }
                    seen.push(v);
                }
                _ = quit_rx.recv() => break,
            }
        }
        // Anything still buffered when quit won the race.
        while let Ok(v) = rx.try_recv() {
            if v % 2 == 0 {
                seen.push(v);
            }
        }
        seen
    });
    assert_eq!(seen, vec![0, 2, 4, 6, 8]);
}

/// `?` inside a select arm returns from the enclosing function.
#[test]
fn question_mark_in_an_arm_returns_from_the_function() {
    async fn first(rx: &Receiver<u32>) -> Result<u32, String> {
        let v = select! {
            v = rx.recv() => v.ok_or_else(|| "closed".to_string())?,
        };
        Ok(v + 1)
    }
    gust::block_on(async {
        let (tx, rx) = chan::<u32>(1);
        tx.send(41).await.unwrap();
        assert_eq!(first(&rx).await, Ok(42));
        drop(tx);
        assert_eq!(first(&rx).await, Err("closed".to_string()));
    });
}

/// The channels and contexts run on tokio too.
#[test]
fn channels_and_contexts_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let total = rt.block_on(async {
        let (ctx, cancel) = Context::background().with_cancel();
        let (tx, rx) = chan::<u64>(0);
        let producer = tokio::spawn(async move {
            for i in 0..1000 {
                tx.send(i).await.unwrap();
            }
            cancel.cancel();
        });
        let mut total = 0;
        loop {
            select! {
                v = rx.recv() => match v { Some(v) => total += v, None => break },
                _ = ctx.done() => {
                    while let Ok(v) = rx.try_recv() { total += v; }
                    break;
                }
            }
        }
        producer.await.unwrap();
        total
    });
    assert_eq!(total, (0..1000).sum());
}
