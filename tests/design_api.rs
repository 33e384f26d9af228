//! A conformance map of the contract (/work/shared/DESIGN.md): every call,
//! type, method, path and macro form of its "Public API (the facade
//! `gust`)" and "Public API: the service toolkit" sections, and the API that
//! "Details settled" names, written as DESIGN.md spells them (full paths from
//! `gust::`, the same argument shapes, return types pinned by annotations).
//! If a path or a signature drifts from the contract, this file stops
//! compiling; where a behaviour is cheap to check, it is asserted too.
//!
//! Every test is small and quick. Where a test must wait until other tasks
//! are parked, it runs on a 1-worker runtime with virtual time
//! (`start_paused(true)`) and sleeps there: that clock only moves once
//! nothing of the runtime can run, so such a sleep returns exactly when every
//! task waits, and takes no real time.

use std::time::{Duration, Instant};

/// One test of this binary alone in a child process (`mod environment`).
#[path = "../executor/tests/common/mod.rs"]
mod child_process;

/// A 1-worker runtime on virtual time.
fn paused() -> gust::runtime::Runtime {
    gust::runtime::Builder::new()
        .workers(1)
        .start_paused(true)
        .build()
        .unwrap()
}

/// On a `paused()` runtime: returns once every task of the runtime waits
/// (virtual time only moves then).
async fn settle() {
    gust::time::sleep(Duration::from_millis(1)).await;
}

/// Compile-time checks of auto traits and trait impls.
fn is_send<T: Send>(_: &T) {}
fn is_send_sync<T: Send + Sync>() {}
fn is_error<E: std::error::Error + std::fmt::Debug + std::fmt::Display>() {}

mod executor {
    use super::*;
    use std::any::Any;

    #[test]
    fn spawn_and_block_on() {
        let h: gust::JoinHandle<u32> = gust::spawn(async { 40 + 2 });
        let r: Result<u32, gust::JoinError> = gust::block_on(h);
        assert_eq!(r.unwrap(), 42);
    }

    #[test]
    fn yield_now_and_spawn_blocking() {
        gust::block_on(async {
            gust::yield_now().await;
            let h: gust::JoinHandle<u64> = gust::spawn_blocking(|| (1..=10u64).sum());
            assert_eq!(h.await.unwrap(), 55);
        });
    }

    /// `num_tasks()` counts the live spawned tasks of the current runtime; a
    /// `block_on` future is not a task; `spawn` inside the runtime spawns
    /// onto it.
    #[test]
    fn num_tasks_counts_the_current_runtimes_tasks() -> std::io::Result<()> {
        let rt = gust::runtime::Builder::new().workers(1).build()?;
        rt.block_on(async {
            let n: usize = gust::num_tasks();
            assert_eq!(n, 0, "a block_on future is not a task");
            let (tx, rx) = gust::chan::<()>(0);
            let h = gust::spawn(async move { rx.recv().await });
            assert_eq!(gust::num_tasks(), 1);
            drop(tx);
            assert_eq!(h.await.unwrap(), None);
            // `spawn` inside a task of a runtime spawns onto that runtime.
            let outer = gust::spawn(async {
                let inner: gust::JoinHandle<()> = gust::spawn(std::future::pending());
                Some(inner)
            });
            let inner = outer.await.unwrap().unwrap();
            assert_eq!(gust::num_tasks(), 1);
            inner.abort();
            assert!(inner.await.unwrap_err().is_aborted());
        });
        assert_eq!(rt.num_tasks(), 0);
        Ok(())
    }

    #[test]
    fn join_handle_abort_is_finished_and_join_error() {
        paused().block_on(async {
            let h = gust::spawn(std::future::pending::<()>());
            assert!(!h.is_finished());
            h.abort();
            let e: gust::JoinError = h.await.unwrap_err();
            assert!(e.is_aborted());
            assert!(!e.is_panic());

            let h = gust::spawn(async { 7 });
            settle().await;
            assert!(h.is_finished());
            assert_eq!(h.await.unwrap(), 7);

            let h = gust::spawn(async {
                if true {
                    panic!("boom");
                }
            });
            let e: gust::JoinError = h.await.unwrap_err();
            assert!(e.is_panic());
            assert!(!e.is_aborted());
            let p: Box<dyn Any + Send + 'static> = e.into_panic();
            assert_eq!(p.downcast_ref::<&str>(), Some(&"boom"));
        });
    }

    /// `gust::runtime::{Runtime, Builder}`:
    /// `Builder::new().workers(n).thread_name(s).build()?`, `rt.spawn`,
    /// `rt.block_on`, `rt.shutdown_timeout(d)`.
    #[test]
    fn runtime_builder_spawn_block_on_shutdown() -> std::io::Result<()> {
        use gust::runtime::{Builder, Runtime};
        let rt: Runtime = Builder::new().workers(2).thread_name("design").build()?;
        let h: gust::JoinHandle<Option<String>> =
            rt.spawn(async { std::thread::current().name().map(String::from) });
        let name = rt.block_on(h).unwrap().unwrap();
        assert!(name.starts_with("design"), "{name}");
        let _pending = rt.spawn(std::future::pending::<()>());
        rt.shutdown_timeout(Duration::from_secs(1));
        Ok(())
    }
}

mod time {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn sleep_and_sleep_until() {
        gust::block_on(async {
            let start = Instant::now();
            gust::time::sleep(Duration::from_millis(2)).await;
            assert!(start.elapsed() >= Duration::from_millis(2));
            let instant = Instant::now() + Duration::from_millis(2);
            gust::time::sleep_until(instant).await;
            assert!(Instant::now() >= instant);
        });
    }

    /// `after(d)` is a future of the `Instant` at which it fired, usable as
    /// a `select!` case.
    #[test]
    fn after_yields_the_instant_and_is_a_select_case() {
        gust::block_on(async {
            let start = Instant::now();
            let d = Duration::from_millis(2);
            let at: Instant = gust::time::after(d).await;
            assert!(at >= start + d);
            let (_tx, rx) = gust::chan::<u8>(0);
            let got = gust::select! {
                _ = rx.recv() => None,
                t = gust::time::after(d) => Some(t),
            };
            assert!(got.unwrap() >= start + 2 * d);
        });
    }

    /// The first tick comes one period after creation; `tick()` yields an
    /// `Instant`; a `Ticker` is also a `Stream`.
    #[test]
    fn ticker_tick_and_stream() {
        paused().block_on(async {
            let d = Duration::from_secs(1);
            let t0 = gust::time::now();
            let mut ticker = gust::time::Ticker::new(d);
            let first: Instant = ticker.tick().await;
            assert_eq!(first, t0 + d);
            let second: Option<Instant> = ticker.next().await;
            assert_eq!(second, Some(t0 + 2 * d));
        });
    }

    /// Details settled: a reader that falls behind gets at most one stale
    /// tick, then ticks follow the original schedule.
    #[test]
    fn a_slow_ticker_reader_gets_one_stale_tick() {
        paused().block_on(async {
            let d = Duration::from_secs(1);
            let t0 = gust::time::now();
            let ticker = gust::time::Ticker::new(d);
            gust::time::sleep(d * 3 + d / 2).await;
            let stale = ticker.tick().await;
            assert!(stale <= t0 + 3 * d, "a stale tick: {:?}", stale - t0);
            assert_eq!(gust::time::now(), t0 + 3 * d + d / 2, "at once");
            assert_eq!(ticker.tick().await, t0 + 4 * d);
            assert_eq!(ticker.tick().await, t0 + 5 * d);

            let rx = gust::time::tick(d);
            let t1 = gust::time::now();
            gust::time::sleep(d * 3 + d / 2).await;
            let stale = rx.recv().await.unwrap();
            assert!(stale <= t1 + 3 * d, "a stale tick: {:?}", stale - t1);
            assert_eq!(rx.recv().await, Some(t1 + 4 * d));
            drop(rx);
            gust::time::sleep(d).await; // the ticking stops at the next tick
        });
    }

    #[test]
    fn timeout_ok_and_elapsed() {
        gust::block_on(async {
            let ok: Result<u32, gust::time::Elapsed> =
                gust::time::timeout(Duration::from_secs(5), async { 3 }).await;
            assert_eq!(ok, Ok(3));
            let late: Result<(), gust::time::Elapsed> =
                gust::time::timeout(Duration::from_millis(1), std::future::pending()).await;
            assert!(late.is_err());
        });
    }
}

mod channels {
    use super::*;
    use futures::{SinkExt, StreamExt};

    #[test]
    fn chan_pair_and_chan_handles() {
        let (tx, rx): (gust::Sender<u32>, gust::Receiver<u32>) = gust::chan::<u32>(2);
        assert_eq!((tx.cap(), rx.cap()), (2, 2));
        let ch: gust::Chan<u32> = gust::Chan::<u32>::new(0);
        assert_eq!(ch.cap(), 0, "cap 0 = rendezvous");
        let s: gust::Sender<u32> = ch.sender();
        let r: gust::Receiver<u32> = ch.receiver();
        let s2: gust::Sender<u32> = gust::Sender::from(ch.clone());
        let r2: gust::Receiver<u32> = gust::Receiver::from(ch.clone());
        let s3: gust::Sender<u32> = ch.clone().into();
        let r3: gust::Receiver<u32> = ch.clone().into();
        drop((s, r, s2, r2, s3, r3, tx, rx));
    }

    /// `send`, `try_send`, `send_blocking`, `recv`, `try_recv`,
    /// `recv_blocking`, `close`, `len`, `cap`, `is_closed` on `Chan`.
    #[test]
    fn chan_methods() {
        let ch = gust::Chan::<u32>::new(2);
        gust::block_on(async {
            let r: Result<(), gust::SendError<u32>> = ch.send(1).await;
            r.unwrap();
        });
        let r: Result<(), gust::TrySendError<u32>> = ch.try_send(2);
        r.unwrap();
        assert_eq!((ch.len(), ch.cap()), (2, 2));
        assert_eq!(ch.try_send(3), Err(gust::TrySendError::Full(3)));
        let v: Option<u32> = gust::block_on(ch.recv());
        assert_eq!(v, Some(1));
        let r: Result<(), gust::SendError<u32>> = ch.send_blocking(4);
        r.unwrap();
        let v: Result<u32, gust::TryRecvError> = ch.try_recv();
        assert_eq!(v, Ok(2));
        let v: Option<u32> = ch.recv_blocking();
        assert_eq!(v, Some(4));
        assert_eq!(ch.try_recv(), Err(gust::TryRecvError::Empty));
        assert!(!ch.is_closed());
        let first: bool = ch.close();
        assert!(first);
        assert!(
            !ch.close(),
            "close is idempotent; only the first call closes"
        );
        assert!(ch.is_closed());
        assert_eq!(ch.try_recv(), Err(gust::TryRecvError::Closed));
        assert_eq!(ch.try_send(5), Err(gust::TrySendError::Closed(5)));
        assert_eq!(ch.send_blocking(6), Err(gust::SendError(6)));
        assert_eq!(gust::block_on(ch.send(7)), Err(gust::SendError(7)));
        assert_eq!(gust::block_on(ch.recv()), None);
        assert_eq!(ch.recv_blocking(), None);
    }

    /// The same calls on `Sender` and `Receiver`; `close` is on `Sender`.
    #[test]
    fn sender_and_receiver_methods() {
        let (tx, rx) = gust::chan::<String>(1);
        gust::block_on(async {
            let r: Result<(), gust::SendError<String>> = tx.send("a".into()).await;
            r.unwrap();
            let r: Result<(), gust::TrySendError<String>> = tx.try_send("b".into());
            match r {
                Err(gust::TrySendError::Full(v)) => assert_eq!(v, "b"),
                other => panic!("{other:?}"),
            }
            assert_eq!((tx.len(), rx.len(), tx.cap(), rx.cap()), (1, 1, 1, 1));
            let v: Option<String> = rx.recv().await;
            assert_eq!(v.as_deref(), Some("a"));
            let r: Result<(), gust::SendError<String>> = tx.send_blocking("c".into());
            r.unwrap();
            let v: Result<String, gust::TryRecvError> = rx.try_recv();
            assert_eq!(v.as_deref(), Ok("c"));
            tx.send_blocking("d".into()).unwrap();
            let v: Option<String> = rx.recv_blocking();
            assert_eq!(v.as_deref(), Some("d"));
            assert!(!tx.is_closed() && !rx.is_closed());
            let closed: bool = tx.close();
            assert!(closed);
            assert!(!tx.close());
            assert!(rx.is_closed());
            let gust::SendError(back) = tx.send("e".into()).await.unwrap_err();
            assert_eq!(back, "e");
            match tx.try_send("f".into()) {
                Err(gust::TrySendError::Closed(v)) => assert_eq!(v, "f"),
                other => panic!("{other:?}"),
            }
            assert_eq!(rx.recv().await, None);
        });
    }

    /// `Receiver<T>: Stream<Item = T>`, `Sender<T>: Sink<T>`, all handles
    /// `Clone` (MPMC).
    #[test]
    fn stream_sink_and_clone() {
        gust::block_on(async {
            let (tx, rx) = gust::chan::<u32>(4);
            let mut sink = tx.clone();
            SinkExt::send(&mut sink, 1).await.unwrap();
            let tx2 = tx.clone();
            tx2.send(2).await.unwrap();
            drop((tx, tx2, sink));
            let rx2 = rx.clone();
            let got: Vec<u32> = rx.collect().await;
            assert_eq!(got, [1, 2]);
            assert_eq!(rx2.recv().await, None);
            let ch = gust::Chan::<u8>::new(1);
            let ch2 = ch.clone();
            ch.try_send(9).unwrap();
            assert_eq!(ch2.try_recv(), Ok(9));
        });
    }

    /// The last `Chan`/`Sender` dropped closes the channel; with no
    /// receiving handle left, sends fail with the value.
    #[test]
    fn dropping_handles_closes() {
        let (tx, rx) = gust::chan::<u8>(1);
        drop(tx);
        assert_eq!(rx.try_recv(), Err(gust::TryRecvError::Closed));
        let (tx, rx) = gust::chan::<u8>(1);
        drop(rx);
        assert_eq!(tx.try_send(1), Err(gust::TrySendError::Closed(1)));
        assert_eq!(tx.send_blocking(2), Err(gust::SendError(2)));
    }

    /// Details settled: on a rendezvous channel `try_send` succeeds while a
    /// receiver waits, `try_recv` while a sender waits, and `len()` is 0.
    #[test]
    fn rendezvous_try_ops_pair_with_a_waiter() {
        paused().block_on(async {
            let (tx, rx) = gust::chan::<u32>(0);
            assert_eq!(tx.try_send(1), Err(gust::TrySendError::Full(1)));
            let rx2 = rx.clone();
            let h = gust::spawn(async move { rx2.recv().await });
            settle().await;
            assert_eq!(tx.try_send(2), Ok(()));
            assert_eq!(h.await.unwrap(), Some(2));

            assert_eq!(rx.try_recv(), Err(gust::TryRecvError::Empty));
            let tx2 = tx.clone();
            let h = gust::spawn(async move { tx2.send(3).await });
            settle().await;
            assert_eq!(tx.len(), 0);
            assert_eq!(rx.len(), 0);
            assert_eq!(rx.try_recv(), Ok(3));
            assert_eq!(h.await.unwrap(), Ok(()));
        });
    }

    /// Details settled: with no receiving handle left a blocked send wakes
    /// with `Err(SendError(v))`; with no sending handle left a blocked `recv`
    /// wakes with `None`.
    #[test]
    fn blocked_operations_wake_when_the_other_side_goes() {
        paused().block_on(async {
            let (tx, rx) = gust::chan::<u32>(0);
            let h = gust::spawn(async move { tx.send(5).await });
            settle().await;
            drop(rx);
            assert_eq!(h.await.unwrap(), Err(gust::SendError(5)));

            let (tx, rx) = gust::chan::<u32>(0);
            let h = gust::spawn(async move { rx.recv().await });
            settle().await;
            drop(tx);
            assert_eq!(h.await.unwrap(), None);
        });
    }

    /// Details settled: error types are `Debug + Display + Error`;
    /// `SendError(pub T)` and `TrySendError::{Full(T), Closed(T)}` give the
    /// value back.
    #[test]
    fn error_types() {
        is_error::<gust::SendError<u8>>();
        is_error::<gust::TrySendError<u8>>();
        is_error::<gust::TryRecvError>();
        is_error::<gust::JoinError>();
        is_error::<gust::context::ContextError>();
        is_error::<gust::time::Elapsed>();
        let gust::SendError(v) = gust::SendError(1u8);
        assert_eq!(v, 1);
        let (gust::TrySendError::Full(v) | gust::TrySendError::Closed(v)) =
            gust::TrySendError::Full(2u8);
        assert_eq!(v, 2);
        let _ = [gust::TryRecvError::Empty, gust::TryRecvError::Closed];
    }
}

mod select_macro {
    use super::*;

    /// The handles the cases of `every_case_form` use.
    struct Cases {
        rx: gust::Receiver<u32>,
        tx: gust::Sender<u32>,
        ctx: gust::Context,
        d: Duration,
        rx2: gust::Receiver<u32>,
    }

    /// Every case form, as DESIGN.md writes the block; `return` in an arm
    /// returns from the enclosing function.
    async fn every_case_form(c: &Cases, x: u32, enabled: bool, log: &mut Vec<&'static str>) {
        let Cases {
            rx, tx, ctx, rx2, ..
        } = c;
        let d = c.d;
        gust::select! {
            v = rx.recv() => { let _: Option<u32> = v; log.push("recv"); }
            r = tx.send(x) => { let _: Result<(), gust::SendError<u32>> = r; log.push("send"); }
            _ = ctx.done() => { log.push("done"); return; }
            t = gust::time::after(d) => { let _: Instant = t; log.push("after"); }
            v = rx2.recv(), if enabled => { let _: Option<u32> = v; log.push("rx2"); }
            default => { log.push("default"); }
        }
        log.push("after select");
    }

    #[test]
    fn the_design_block_compiles_and_picks_the_ready_case() {
        gust::block_on(async {
            let (rx_tx, rx) = gust::chan::<u32>(1);
            let (tx, tx_rx) = gust::chan::<u32>(1);
            tx.try_send(0).unwrap(); // full: the send case is not ready
            let (rx2_tx, rx2) = gust::chan::<u32>(1);
            rx2_tx.try_send(9).unwrap();
            let (ctx, cancel) = gust::Context::background().with_cancel();
            let d = Duration::from_secs(3600);
            let c = Cases {
                rx,
                tx,
                ctx,
                d,
                rx2,
            };
            let mut log = Vec::new();

            // Nothing ready (rx2 disabled): default.
            every_case_form(&c, 1, false, &mut log).await;
            assert_eq!(log, ["default", "after select"]);
            assert_eq!(c.rx2.len(), 1, "the disabled case took nothing");

            // Only rx2 ready, and enabled.
            log.clear();
            every_case_form(&c, 1, true, &mut log).await;
            assert_eq!(log, ["rx2", "after select"]);

            // Only rx ready.
            log.clear();
            rx_tx.try_send(5).unwrap();
            every_case_form(&c, 1, true, &mut log).await;
            assert_eq!(log, ["recv", "after select"]);

            // Only the send ready.
            log.clear();
            assert_eq!(tx_rx.try_recv(), Ok(0));
            every_case_form(&c, 7, true, &mut log).await;
            assert_eq!(log, ["send", "after select"]);
            assert_eq!(tx_rx.try_recv(), Ok(7));
            c.tx.try_send(0).unwrap();

            // Only ctx.done() ready: its arm returns.
            log.clear();
            cancel.cancel();
            every_case_form(&c, 1, true, &mut log).await;
            assert_eq!(log, ["done"]);
        });
    }

    /// Details settled: a case disabled by `, if false` is not evaluated.
    #[test]
    fn a_disabled_case_is_not_evaluated() {
        let (tx, _rx) = gust::chan::<u32>(1);
        let mut evaluated = false;
        let r = gust::block_on(async {
            gust::select! {
                r = { evaluated = true; tx.send(1) }, if false => r.is_ok(),
                default => false,
            }
        });
        assert!(!r);
        assert!(!evaluated);
        assert_eq!(tx.len(), 0);
    }

    /// It is an expression; `break`, `continue` and `?` act on the enclosing
    /// code; a refutable pattern disables its case when it does not match;
    /// `biased;` polls in source order.
    #[test]
    fn expression_control_flow_patterns_and_biased() {
        fn run() -> Result<u32, String> {
            gust::block_on(async {
                let (tx, rx) = gust::chan::<u32>(4);
                for i in 1..=3 {
                    tx.try_send(i).unwrap();
                }
                drop(tx);
                let mut sum = 0;
                loop {
                    gust::select! {
                        v = rx.recv() => match v {
                            Some(2) => continue,
                            Some(v) => sum += v,
                            None => break,
                        },
                    }
                }
                // `continue` skipped 2, `break` left the loop.
                assert_eq!(sum, 4);
                let (etx, erx) = gust::chan::<Result<u32, String>>(1);
                etx.try_send(Err("bad".into())).unwrap();
                let n: u32 = gust::select! {
                    v = erx.recv() => v.unwrap()?,
                };
                Ok(sum + n)
            })
        }
        assert_eq!(run(), Err("bad".to_string()));

        gust::block_on(async {
            let (tx, rx) = gust::chan::<u32>(1);
            drop(tx);
            let got = gust::select! {
                Some(v) = rx.recv() => v,
                default => 0,
            };
            assert_eq!(
                got, 0,
                "a None does not match Some(v): the case is disabled"
            );

            let (a_tx, a_rx) = gust::chan::<u32>(1);
            let (b_tx, b_rx) = gust::chan::<u32>(1);
            for _ in 0..20 {
                a_tx.try_send(1).unwrap();
                b_tx.try_send(2).unwrap();
                let first = gust::select! {
                    biased;
                    v = a_rx.recv() => v,
                    v = b_rx.recv() => v,
                };
                assert_eq!(first, Some(1));
                assert_eq!(b_rx.try_recv(), Ok(2));
            }
        });
    }
}

mod waitgroup {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn add_done_wait_count() {
        let wg = gust::WaitGroup::new();
        wg.add(2);
        let n: usize = wg.count();
        assert_eq!(n, 2);
        let wg2 = wg.clone();
        let t = std::thread::spawn(move || {
            wg2.done();
            wg2.done();
        });
        gust::block_on(wg.wait());
        t.join().unwrap();
        assert_eq!(wg.count(), 0);
        wg.add(1);
        wg.done();
        wg.wait_blocking();
        // A counter that would go negative panics with a message saying so.
        let p = std::panic::catch_unwind(|| wg.done()).unwrap_err();
        let msg = p.downcast_ref::<&str>().map(|s| s.to_string());
        let msg = msg.or_else(|| p.downcast_ref::<String>().cloned()).unwrap();
        assert!(msg.contains("negative"), "{msg}");
    }

    /// `go`: add(1) + spawn + done when the future ends, even if it panics.
    #[test]
    fn go_counts_and_survives_panics() {
        gust::block_on(async {
            let wg = gust::WaitGroup::new();
            let hits = Arc::new(AtomicUsize::new(0));
            for _ in 0..4 {
                let hits = hits.clone();
                wg.go(async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                });
            }
            wg.go(async {
                if true {
                    panic!("a task of the group panics");
                }
            });
            wg.wait().await;
            assert_eq!(hits.load(Ordering::SeqCst), 4);
            assert_eq!(wg.count(), 0);
        });
    }
}

mod context {
    use super::*;
    use std::error::Error;
    use std::sync::Arc;

    #[test]
    fn background_and_with_cancel() {
        let ctx = gust::Context::background();
        assert!(!ctx.is_done());
        assert_eq!(ctx.err(), None);
        assert_eq!(ctx.deadline(), None);
        let parent = ctx.clone();
        let (ctx, cancel): (gust::Context, gust::CancelFunc) = parent.with_cancel();
        let (grandchild, _keep) = ctx.with_cancel();
        let cause: Option<Arc<dyn Error + Send + Sync>> = ctx.cause();
        assert!(cause.is_none(), "cause() is None while the context is live");
        cancel.cancel();
        // `cancel()` has cancelled every descendant when it returns.
        assert!(ctx.is_done() && grandchild.is_done());
        let err: Option<gust::context::ContextError> = ctx.err();
        assert_eq!(err, Some(gust::context::ContextError::Canceled));
        assert_eq!(
            grandchild.err(),
            Some(gust::context::ContextError::Canceled)
        );
        let cause = ctx.cause().unwrap();
        assert_eq!(
            cause.downcast_ref::<gust::context::ContextError>(),
            Some(&gust::context::ContextError::Canceled),
            "no cause given: the same error as err()"
        );
        assert!(
            !parent.is_done(),
            "cancelling a child never touches its parent"
        );
        gust::block_on(ctx.done());
        // A child made from an ended parent is ended at once.
        let (late, _c) = ctx.with_cancel();
        assert!(late.is_done());
    }

    #[test]
    fn cancel_with_cause_and_drop_cancels() {
        let parent = gust::Context::background();
        let (ctx, cancel) = parent.with_cancel();
        let child = ctx.with_value(1u8);
        cancel.cancel_with_cause("shutting down");
        assert_eq!(ctx.err(), Some(gust::context::ContextError::Canceled));
        assert_eq!(ctx.cause().unwrap().to_string(), "shutting down");
        assert_eq!(child.cause().unwrap().to_string(), "shutting down");

        let (ctx, cancel) = parent.with_cancel();
        drop(cancel);
        assert!(ctx.is_done(), "dropping a CancelFunc cancels");
    }

    #[test]
    fn with_timeout_and_with_deadline() {
        paused().block_on(async {
            let parent = gust::Context::background();
            let d = Duration::from_secs(60);
            let t0 = gust::time::now();
            let (ctx, _cancel) = parent.with_timeout(d);
            assert_eq!(ctx.deadline(), Some(t0 + d));
            ctx.done().await;
            assert_eq!(gust::time::now(), t0 + d);
            assert_eq!(
                ctx.err(),
                Some(gust::context::ContextError::DeadlineExceeded)
            );

            let instant = gust::time::now() + d;
            let (ctx, _cancel) = parent.with_deadline(instant);
            assert_eq!(ctx.deadline(), Some(instant));
            let (child, _c) = ctx.with_deadline(instant + d);
            assert_eq!(child.deadline(), Some(instant), "the earlier deadline");
            child.done().await;
            assert_eq!(gust::time::now(), instant);
        });
    }

    #[derive(Debug, PartialEq)]
    struct RequestId(u64);

    #[test]
    fn with_value_is_keyed_by_type() {
        let parent = gust::Context::background();
        let ctx: gust::Context = parent.with_value(RequestId(7));
        let ctx = ctx.with_value("user");
        let v: Option<&RequestId> = ctx.value::<RequestId>();
        assert_eq!(v, Some(&RequestId(7)));
        assert_eq!(ctx.value::<&str>(), Some(&"user"));
        assert_eq!(ctx.value::<u32>(), None);
        assert_eq!(parent.value::<RequestId>(), None);
    }

    #[test]
    fn run_until_the_context_ends() {
        gust::block_on(async {
            let (ctx, cancel) = gust::Context::background().with_cancel();
            let r: Result<u32, gust::context::ContextError> = ctx.run(async { 5 }).await;
            assert_eq!(r, Ok(5));
            cancel.cancel();
            let r: Result<(), gust::context::ContextError> = ctx.run(std::future::pending()).await;
            assert_eq!(r, Err(gust::context::ContextError::Canceled));
        });
    }
}

mod errgroup {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The first error cancels the group's context (with it as the cause)
    /// and is what `wait` returns.
    #[test]
    fn with_context_first_error_cancels() {
        gust::block_on(async {
            let parent = gust::Context::background();
            let (g, ctx) = gust::errgroup::Group::with_context(&parent);
            let ctx2 = ctx.clone();
            g.go(async move {
                ctx2.done().await;
                Ok::<_, String>(())
            });
            g.go(async move { Err::<(), _>("first".to_string()) });
            let r: Result<(), String> = g.wait().await;
            assert_eq!(r, Err("first".to_string()));
            assert!(ctx.is_done());
            assert_eq!(ctx.cause().unwrap().to_string(), "first");
            assert!(!parent.is_done());
        });
    }

    /// `Group::new()`, `set_limit`, `try_go` returns false past the limit,
    /// `go` never blocks the caller, and the context of a group is cancelled
    /// when `wait` returns.
    #[test]
    fn new_set_limit_try_go() {
        let rt = super::paused();
        rt.block_on(async {
            let g = gust::errgroup::Group::<String>::new();
            g.set_limit(1);
            let (tx, rx) = gust::chan::<()>(0);
            assert!(g.try_go(async move {
                rx.recv().await;
                Ok(())
            }));
            assert!(!g.try_go(async { Ok(()) }), "past the limit");
            let ran = Arc::new(AtomicBool::new(false));
            let ran2 = ran.clone();
            g.go(async move {
                ran2.store(true, Ordering::SeqCst);
                Ok(())
            });
            // Every task has had its chance to run (virtual time moves only
            // once none can): the second still waits for a free slot.
            super::settle().await;
            assert!(!ran.load(Ordering::SeqCst), "it waits for a free slot");
            drop(tx);
            assert_eq!(g.wait().await, Ok(()));
            assert!(ran.load(Ordering::SeqCst));

            let (g, ctx) =
                gust::errgroup::Group::<String>::with_context(&gust::Context::background());
            g.go(async { Ok(()) });
            g.wait().await.unwrap();
            assert!(ctx.is_done(), "cancelled when wait returns");
        });
    }
}

mod net {
    use futures::StreamExt;
    use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use std::net::SocketAddr;

    #[test]
    fn tcp_listener_stream_split() -> std::io::Result<()> {
        gust::block_on(async {
            let ln = gust::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr: SocketAddr = ln.local_addr()?;
            let client = gust::spawn(async move {
                let s = gust::net::TcpStream::connect(addr).await?;
                assert_eq!(s.peer_addr()?, addr);
                s.set_nodelay(true)?;
                let (mut r, mut w) = s.into_split();
                w.write_all(b"ping\n").await?;
                let mut line = String::new();
                r.read_line(&mut line).await?; // AsyncBufRead, as DESIGN.md says

                std::io::Result::Ok(line)
            });
            let (stream, peer): (gust::net::TcpStream, SocketAddr) = ln.accept().await?;
            assert_eq!(peer.ip(), addr.ip());
            let (mut r, mut w) = stream.into_split();
            let mut buf = [0u8; 5];
            r.read_exact(&mut buf).await?;
            w.write_all(&buf).await?;
            assert_eq!(client.await.unwrap()?, "ping\n");

            // `incoming()` is a Stream of accepted connections.
            let connect = gust::spawn(gust::net::TcpStream::connect(addr));
            let mut incoming = ln.incoming();
            let s: std::io::Result<gust::net::TcpStream> = incoming.next().await.unwrap();
            s?;
            connect.await.unwrap()?;
            Ok(())
        })
    }

    #[test]
    fn udp_socket() -> std::io::Result<()> {
        gust::block_on(async {
            let a = gust::net::UdpSocket::bind("127.0.0.1:0").await?;
            let b = gust::net::UdpSocket::bind("127.0.0.1:0").await?;
            let b_addr = b.local_addr()?;
            a.send_to(b"hi", b_addr).await?;
            let mut buf = [0u8; 8];
            let (n, from): (usize, SocketAddr) = b.recv_from(&mut buf).await?;
            assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr()?));
            a.connect(b_addr).await?;
            b.connect(a.local_addr()?).await?;
            a.send(b"yo").await?;
            let n: usize = b.recv(&mut buf).await?;
            assert_eq!(&buf[..n], b"yo");
            Ok(())
        })
    }

    #[cfg(unix)]
    #[test]
    fn unix_listener_and_stream() -> std::io::Result<()> {
        use gust::net::{UnixListener, UnixStream};
        let path =
            std::env::temp_dir().join(format!("gust-design-api-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let ln = UnixListener::bind(&path)?;
        let r = gust::block_on(async {
            let p = path.clone();
            let client = gust::spawn(async move {
                let mut s = UnixStream::connect(p).await?;
                s.write_all(b"unix").await?;
                std::io::Result::Ok(())
            });
            let (mut s, _addr) = ln.accept().await?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await?;
            client.await.unwrap()?;
            assert_eq!(buf, b"unix");
            Ok(())
        });
        let _ = std::fs::remove_file(&path);
        r
    }
}

mod sync {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn mutex() {
        gust::block_on(async {
            let m = gust::sync::Mutex::new(1);
            let mut g = m.lock().await;
            *g += 1;
            assert!(m.try_lock().is_none(), "held");
            drop(g);
            assert_eq!(*m.try_lock().unwrap(), 2);
            *m.lock_blocking() += 1;
            assert_eq!(*m.lock().await, 3);
        });
    }

    #[test]
    fn rwlock() {
        gust::block_on(async {
            let rw = gust::sync::RwLock::new(1);
            let r1 = rw.read().await;
            let r2 = rw.try_read().unwrap();
            assert_eq!(*r1 + *r2, 2);
            assert!(rw.try_write().is_none(), "readers hold it");
            drop((r1, r2));
            *rw.write().await += 1;
            *rw.try_write().unwrap() += 1;
            *rw.write_blocking() += 1;
            assert_eq!(*rw.read_blocking(), 4);
        });
    }

    #[test]
    fn semaphore() {
        gust::block_on(async {
            let sem = gust::sync::Semaphore::new(3);
            let p: Result<gust::sync::SemaphorePermit, gust::sync::AcquireError> =
                sem.acquire(2).await;
            let p = p.unwrap();
            let n: usize = sem.available();
            assert_eq!(n, 1);
            let q: Option<gust::sync::SemaphorePermit> = sem.try_acquire(2);
            assert!(q.is_none());
            drop(p);
            assert_eq!(sem.available(), 3, "drop(permit) releases");
            assert!(sem.try_acquire(3).is_some());
            // `k` above the capacity is an error at once, not a hang.
            let e: Result<_, gust::sync::AcquireError> = sem.acquire(4).await;
            assert!(e.is_err());
        });
    }

    #[test]
    fn once_cell() {
        gust::block_on(async {
            let once = gust::sync::OnceCell::new();
            assert_eq!(once.get(), None);
            let v: &u32 = once.get_or_init(|| async { 5 }).await;
            assert_eq!(*v, 5);
            let v = once.get_or_init(|| async { 6 }).await;
            assert_eq!(*v, 5, "initialised once");
            let got: Option<&u32> = once.get();
            assert_eq!(got, Some(&5));
        });
    }

    #[test]
    fn cond() {
        paused().block_on(async {
            let m = Arc::new(gust::sync::Mutex::new(0u32));
            let cond = Arc::new(gust::sync::Cond::new());
            let mut waiters = Vec::new();
            for _ in 0..2 {
                let (m, cond) = (m.clone(), cond.clone());
                waiters.push(gust::spawn(async move {
                    let mut g = m.lock().await;
                    while *g == 0 {
                        g = cond.wait(g).await;
                    }
                    *g
                }));
            }
            settle().await;
            *m.lock().await = 1;
            cond.notify_one();
            settle().await;
            let finished = waiters.iter().filter(|h| h.is_finished()).count();
            assert_eq!(finished, 1, "notify_one wakes one waiter");
            cond.notify_all();
            for h in waiters {
                assert_eq!(h.await.unwrap(), 1);
            }
        });
    }

    #[test]
    fn barrier_wait_is_true_for_exactly_one() {
        gust::block_on(async {
            let b = Arc::new(gust::sync::Barrier::new(3));
            let hs: Vec<_> = (0..3)
                .map(|_| {
                    let b = b.clone();
                    gust::spawn(async move { b.wait().await })
                })
                .collect();
            let mut leaders = 0;
            for h in hs {
                let leader: bool = h.await.unwrap();
                leaders += usize::from(leader);
            }
            assert_eq!(leaders, 1);
        });
    }
}

mod timers {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn timer_wait_stop_reset() {
        paused().block_on(async {
            let d = Duration::from_secs(5);
            let t0 = gust::time::now();
            #[allow(unused_mut)] // DESIGN.md's spelling; the methods take `&self`
            let mut t = gust::time::Timer::new(d);
            let at: Instant = t.wait().await;
            assert_eq!(at, t0 + d);
            let was_pending: bool = t.reset(d);
            assert!(!was_pending, "it had fired");
            assert!(t.stop(), "true while pending");
            assert!(!t.stop());
            assert!(!t.reset(d));
            // A select! case: `at = t.wait() => ..`
            let (_tx, rx) = gust::chan::<u8>(0);
            let fired = gust::select! {
                at = t.wait() => Some(at),
                _ = rx.recv() => None,
            };
            assert_eq!(fired, Some(t0 + 2 * d));
        });
    }

    #[test]
    fn after_func_handle() {
        paused().block_on(async {
            let fired = Arc::new(AtomicBool::new(false));
            let f = fired.clone();
            let h: gust::time::TimerHandle =
                gust::time::after_func(Duration::from_secs(1), move || {
                    f.store(true, Ordering::SeqCst)
                });
            let was_pending: bool = h.reset(Duration::from_secs(2));
            assert!(was_pending);
            gust::time::sleep(Duration::from_secs(3)).await;
            assert!(fired.load(Ordering::SeqCst));
            assert!(!h.stop(), "it had fired");

            let called = Arc::new(AtomicBool::new(false));
            let c = called.clone();
            let h = gust::time::after_func(Duration::from_secs(1), move || {
                c.store(true, Ordering::SeqCst)
            });
            assert!(h.stop(), "true while pending");
            gust::time::sleep(Duration::from_secs(2)).await;
            assert!(
                !called.load(Ordering::SeqCst),
                "a stopped timer never calls"
            );
        });
    }

    #[test]
    fn tick_channel_and_ticker_reset_stop() {
        paused().block_on(async {
            let d = Duration::from_secs(1);
            let t0 = gust::time::now();
            let rx: gust::Receiver<Instant> = gust::time::tick(d);
            assert_eq!(rx.recv().await, Some(t0 + d));
            assert_eq!(rx.cap(), 1, "a slow reader misses ticks (capacity 1)");
            // The ticking stops at the first tick after the receiver is gone:
            // let it happen here, so no timer outlives this runtime.
            drop(rx);
            gust::time::sleep(d).await;

            let ticker = gust::time::Ticker::new(d);
            let t1 = gust::time::now();
            ticker.reset(2 * d);
            assert_eq!(ticker.tick().await, t1 + 2 * d);
            ticker.stop();
            let r = gust::time::timeout(10 * d, ticker.tick()).await;
            assert!(r.is_err(), "a stopped ticker does not tick");
        });
    }
}

mod dynamic_select {
    use gust::select::Outcome;

    #[test]
    fn select_recv_send_wait() {
        gust::block_on(async {
            let (tx, rx) = gust::chan::<u32>(1);
            let (full_tx, _full_rx) = gust::chan::<u32>(1);
            full_tx.try_send(0).unwrap();
            tx.try_send(1).unwrap();

            let mut sel = gust::Select::new();
            let i: usize = sel.recv(&rx);
            let j: usize = sel.send(&full_tx, 2);
            assert_ne!(i, j);
            let (k, o): (usize, gust::select::Outcome<u32>) = sel.wait().await;
            assert_eq!((k, o), (i, Outcome::Recv(Some(1))));
            let unsent: Vec<(usize, u32)> = sel.into_unsent();
            assert_eq!(unsent, [(j, 2)], "the value of the send case not chosen");

            let mut sel = gust::Select::new();
            let j = sel.send(&tx, 3);
            let r: Option<(usize, Outcome<u32>)> = sel.try_select();
            assert_eq!(r, Some((j, Outcome::Send(Ok(())))));
            assert_eq!(rx.try_recv(), Ok(3));
        });
    }

    #[test]
    fn try_select_is_none_when_nothing_is_ready() {
        let (_tx, rx) = gust::chan::<u32>(0);
        let mut sel = gust::Select::new();
        sel.recv(&rx);
        assert_eq!(sel.try_select(), None);
        drop(sel);
        let closed = gust::Chan::<u32>::new(1);
        closed.close();
        let mut sel = gust::Select::new();
        let j = sel.send(&closed, 4);
        assert_eq!(
            sel.try_select(),
            Some((j, Outcome::Send(Err(gust::SendError(4)))))
        );
        assert!(sel.into_unsent().is_empty());
    }
}

mod seeing_inside {
    use super::*;
    use gust::runtime::TaskState;

    #[test]
    fn named_tasks_and_the_dump() {
        paused().block_on(async {
            let (_tx, rx) = gust::chan::<u8>(0);
            let fut = async move {
                rx.recv().await;
            };
            let line = line!() + 1;
            let h: gust::JoinHandle<()> = gust::task::Builder::new().name("fetcher").spawn(fut);
            settle().await;
            let dump: gust::runtime::Dump = gust::runtime::dump();
            let tasks: &[gust::runtime::TaskInfo] = gust::runtime::Dump::tasks(&dump);
            assert_eq!(tasks.len(), 1);
            let info = &tasks[0];
            let id: u64 = info.id();
            let name: Option<&str> = info.name();
            assert_eq!(name, Some("fetcher"));
            let at: &std::panic::Location<'_> = info.spawned_at();
            assert_eq!((at.file(), at.line()), (file!(), line));
            let state: TaskState = info.state();
            assert_eq!(state, TaskState::Waiting);
            let wait: Option<&str> = info.wait();
            assert_eq!(wait, Some("chan receive"));
            let _waited: Duration = info.waiting_for();
            let text = dump.to_string();
            let head = format!("task {id} \"fetcher\" [chan receive, ");
            let tail = format!("]: spawned at {}:{}:", file!(), line);
            let first = text
                .lines()
                .find(|l| l.starts_with(&head))
                .unwrap_or_else(|| panic!("{text}"));
            assert!(first.contains(&tail), "{first}");
            h.abort();
        });
    }

    /// The wait reasons, in DESIGN.md's words.
    #[test]
    fn wait_reasons() {
        paused().block_on(async {
            let named = |name: &str| gust::task::Builder::new().name(name);
            let (_keep_tx, rx) = gust::chan::<u8>(0);
            let (full_tx, _keep_rx) = gust::chan::<u8>(1);
            full_tx.try_send(0).unwrap();
            let (_a_tx, a_rx) = gust::chan::<u8>(0);
            let (_b_tx, b_rx) = gust::chan::<u8>(0);
            let wg = gust::WaitGroup::new();
            wg.add(1);
            let (ctx, _cancel) = gust::Context::background().with_cancel();
            let m = std::sync::Arc::new(gust::sync::Mutex::new(()));
            let held = m.lock().await;
            let ln = gust::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let hour = Duration::from_secs(3600);
            let never = named("never").spawn(std::future::pending::<()>());
            let mut hs = vec![
                named("recv").spawn(async move {
                    rx.recv().await;
                }),
                named("send").spawn(async move {
                    let _ = full_tx.send(1).await;
                }),
                named("select").spawn(async move {
                    gust::select! {
                        _ = a_rx.recv() => {}
                        _ = b_rx.recv() => {}
                    }
                }),
                named("sleep").spawn(gust::time::sleep(hour)),
                named("timer").spawn(async move {
                    gust::time::Timer::new(hour).wait().await;
                }),
                named("wg").spawn({
                    let wg = wg.clone();
                    async move { wg.wait().await }
                }),
                named("ctx").spawn(async move { ctx.done().await }),
                named("lock").spawn({
                    let m = m.clone();
                    async move { drop(m.lock().await) }
                }),
                named("io").spawn(async move {
                    let _ = ln.accept().await;
                }),
                named("other").spawn(futures::future::pending::<()>()),
            ];
            settle().await;
            let never_id = gust::runtime::dump()
                .tasks()
                .iter()
                .find(|t| t.name() == Some("never"))
                .unwrap()
                .id();
            hs.push(named("join").spawn(async move {
                let _ = never.await;
            }));
            settle().await;
            let dump = gust::runtime::dump();
            let reason = |name: &str| {
                let t = dump.tasks().iter().find(|t| t.name() == Some(name));
                t.and_then(|t| t.wait()).map(str::to_owned)
            };
            let expect = [
                ("recv", "chan receive".to_string()),
                ("send", "chan send".to_string()),
                ("select", "select (2 cases)".to_string()),
                ("sleep", "sleep".to_string()),
                ("timer", "timer".to_string()),
                ("wg", "WaitGroup.wait".to_string()),
                ("ctx", "Context.done".to_string()),
                ("lock", "lock (Mutex)".to_string()),
                ("io", "I/O".to_string()),
                ("other", "other future".to_string()),
                ("join", format!("join (task {never_id})")),
            ];
            for (name, wait) in expect {
                assert_eq!(reason(name).as_deref(), Some(&*wait), "{name}:\n{dump}");
            }
            drop(held);
            for h in hs {
                h.abort();
            }
        });
    }

    /// `TaskState { Running, Runnable, Waiting }`: a task sees itself
    /// running, and one spawned behind it on the only worker runnable.
    #[test]
    fn task_states() {
        paused().block_on(async {
            let h = gust::spawn(async {
                let other = gust::spawn(async {});
                let me = gust::runtime::dump();
                other.abort();
                me.tasks().iter().map(|t| t.state()).collect::<Vec<_>>()
            });
            let mut states = h.await.unwrap();
            states.sort_by_key(|s| *s as u8);
            assert_eq!(states, [TaskState::Running, TaskState::Runnable]);
            let _ = TaskState::Waiting;
        });
    }

    /// `Builder::on_deadlock`, `Builder::unhandled_panic`,
    /// `Builder::dump_on_sigquit(true)`; Go's deadlock message.
    #[test]
    fn runtime_knobs_and_the_deadlock_report() {
        use gust::runtime::{Builder, OnDeadlock, UnhandledPanic};
        let rt = Builder::new()
            .workers(1)
            .on_deadlock(OnDeadlock::Panic)
            .unhandled_panic(UnhandledPanic::Report)
            .dump_on_sigquit(true)
            .build()
            .unwrap();
        let (_tx, rx) = gust::chan::<u8>(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(rx.recv())));
        let p = r.unwrap_err();
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        assert!(msg.contains("all tasks are asleep - deadlock!"), "{msg}");
        let _ = [OnDeadlock::Warn, OnDeadlock::Off];
        let _ = UnhandledPanic::Exit;
    }
}

/// `GUST_DEADLOCK=panic` and `GUST_PANIC=exit`, each in a child process:
/// this test binary, running one of its tests alone (the executor tests'
/// helper, which clears gust's other knobs).
mod environment {
    use super::*;

    use super::child_process::{child, is_child};

    /// Run by `gust_deadlock_panic`.
    #[test]
    fn child_deadlocks() {
        if !is_child("environment::child_deadlocks") {
            return;
        }
        let rt = gust::runtime::Builder::new().build().unwrap();
        let (_tx, rx) = gust::chan::<u8>(0);
        rt.block_on(rx.recv());
    }

    #[test]
    fn gust_deadlock_panic() {
        let out = child(
            "environment::child_deadlocks",
            &[("GUST_DEADLOCK", "panic")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains("all tasks are asleep - deadlock!"), "{err}");
    }

    /// Run by `gust_panic_exit`.
    #[test]
    fn child_panics_unjoined() {
        if !is_child("environment::child_panics_unjoined") {
            return;
        }
        let rt = gust::runtime::Builder::new().build().unwrap();
        rt.block_on(async {
            drop(gust::spawn(async {
                if true {
                    panic!("nobody joins this task");
                }
            }));
            // Only reached (and the child ends with 0) if the panic did not
            // end the process.
            gust::time::sleep(Duration::from_secs(10)).await;
        });
    }

    #[test]
    fn gust_panic_exit() {
        let out = child(
            "environment::child_panics_unjoined",
            &[("GUST_PANIC", "exit")],
        );
        assert_eq!(out.status.code(), Some(2), "{out:?}");
    }
}

mod virtual_time {
    use super::*;

    #[test]
    fn start_paused_and_now() {
        let rt = gust::runtime::Builder::new()
            .start_paused(true)
            .build()
            .unwrap();
        let real = Instant::now();
        rt.block_on(async {
            let t0: Instant = gust::time::now();
            let r =
                gust::time::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
            assert!(r.is_err());
            assert_eq!(gust::time::now() - t0, Duration::from_secs(3600));
        });
        // Far less than the hour (tests/virtual_time.rs holds the 50 ms
        // bar, with retries for a loaded machine).
        assert!(real.elapsed() < Duration::from_secs(10));
    }
}

mod macros {
    use super::*;

    #[gust::main]
    async fn main_on_the_global_runtime() -> u32 {
        gust::spawn(async { 1 }).await.unwrap()
    }

    #[gust::main(workers = 2)]
    async fn main_with_workers() -> u32 {
        gust::spawn(async { 2 }).await.unwrap()
    }

    #[test]
    fn gust_main() {
        assert_eq!(main_on_the_global_runtime() + main_with_workers(), 3);
    }

    #[gust::test]
    async fn gust_test() {
        assert_eq!(gust::num_tasks(), 0, "a fresh runtime");
        gust::yield_now().await;
    }

    #[gust::test(workers = 2)]
    async fn gust_test_workers() {
        assert_eq!(gust::spawn(async { 3 }).await.unwrap(), 3);
    }

    #[gust::test(start_paused = true)]
    async fn gust_test_start_paused() {
        let t0 = gust::time::now();
        gust::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(gust::time::now() - t0, Duration::from_secs(3600));
    }

    #[gust::test(workers = 2, start_paused = true)]
    async fn gust_test_workers_and_start_paused() {
        let t0 = gust::time::now();
        let at = gust::time::after(Duration::from_secs(60)).await;
        assert_eq!(at, t0 + Duration::from_secs(60));
    }
}

/// Details settled: the handles are `Send + Sync`, and the futures of
/// `send`, `recv`, `wait`, `done` and `select!` are `Send`.
mod auto_traits {
    use super::*;

    fn is_join_handle<T, F: Future<Output = Result<T, gust::JoinError>>>(_: &F) {}
    fn is_stream<T, S: futures::Stream<Item = T>>(_: &S) {}
    fn is_sink<T, S: futures::Sink<T>>(_: &S) {}
    fn is_clone<T: Clone>() {}
    fn is_read_write<
        T: futures::io::AsyncRead + futures::io::AsyncWrite + futures::io::AsyncBufRead,
    >() {
    }
    fn is_display<T: std::fmt::Display>() {}

    /// `JoinHandle<T>: Future<Output = Result<T, JoinError>>`,
    /// `Receiver<T>: Stream<Item = T>`, `Sender<T>: Sink<T>`, all handles
    /// `Clone`, `Ticker` and `incoming()` are streams, sockets are
    /// futures-io `AsyncRead`/`AsyncWrite`/`AsyncBufRead`, `Dump` is `Display`.
    #[test]
    fn trait_impls() {
        let h = gust::spawn(async { 1u8 });
        is_join_handle::<u8, _>(&h);
        let (tx, rx) = gust::chan::<u8>(1);
        is_stream::<u8, _>(&rx);
        is_sink::<u8, _>(&tx);
        is_clone::<gust::Chan<u8>>();
        is_clone::<gust::Sender<u8>>();
        is_clone::<gust::Receiver<u8>>();
        is_clone::<gust::WaitGroup>();
        is_clone::<gust::Context>();
        is_read_write::<gust::net::TcpStream>();
        #[cfg(unix)]
        is_read_write::<gust::net::UnixStream>();
        is_display::<gust::runtime::Dump>();
        gust::block_on(async {
            let ticker = gust::time::Ticker::new(Duration::from_secs(1));
            is_stream::<Instant, _>(&ticker);
            let ln = gust::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            is_stream::<std::io::Result<gust::net::TcpStream>, _>(&ln.incoming());
            assert_eq!(h.await.unwrap(), 1);
        });
    }

    /// `Send` but not `Sync`.
    struct NotSync(std::cell::Cell<u8>);

    #[test]
    fn handles_are_send_and_sync() {
        is_send_sync::<gust::Chan<NotSync>>();
        is_send_sync::<gust::Sender<NotSync>>();
        is_send_sync::<gust::Receiver<NotSync>>();
        is_send_sync::<gust::Chan<String>>();
        is_send_sync::<gust::WaitGroup>();
        is_send_sync::<gust::Context>();
        is_send_sync::<gust::CancelFunc>();
        is_send_sync::<gust::JoinHandle<String>>();
    }

    #[test]
    fn futures_are_send() {
        let ch = gust::Chan::<NotSync>::new(1);
        let (tx, rx) = gust::chan::<NotSync>(1);
        is_send(&ch.send(NotSync(Default::default())));
        is_send(&ch.recv());
        is_send(&tx.send(NotSync(Default::default())));
        is_send(&rx.recv());
        let wg = gust::WaitGroup::new();
        is_send(&wg.wait());
        let ctx = gust::Context::background();
        is_send(&ctx.done());
        let fut = async {
            gust::select! {
                v = rx.recv() => v.map(|n| n.0.get()),
                r = tx.send(NotSync(Default::default())) => r.ok().map(|()| 0),
                _ = ctx.done() => None,
                _ = gust::time::after(Duration::from_millis(1)) => None,
                default => None,
            }
        };
        is_send(&fut);
        drop(fut);
        // ... so they run inside `spawn`.
        let (tx, rx) = gust::chan::<String>(1);
        let h = gust::spawn(async move {
            gust::select! {
                r = tx.send("x".into()) => r.is_ok(),
            }
        });
        assert!(gust::block_on(h).unwrap());
        assert_eq!(rx.try_recv().as_deref(), Ok("x"));
    }
}
