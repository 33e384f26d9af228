//! errgroup: x/sync's tests ported, plus limits, panics and executors.
//!
//! Ported from <https://github.com/golang/sync/blob/master/errgroup/errgroup_test.go>.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gust_context::errgroup::{Group, TaskError};
use gust_context::{Context, ContextError};

#[derive(Debug, Clone, PartialEq)]
struct E(&'static str);

impl fmt::Display for E {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for E {}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    gust_executor::block_on(f)
}

/// The error lists of Go's TestZeroGroup and TestWithContext.
fn cases() -> Vec<Vec<Option<E>>> {
    let err1 = E("errgroup_test: 1");
    let err2 = E("errgroup_test: 2");
    vec![
        vec![],
        vec![None],
        vec![Some(err1.clone())],
        vec![Some(err1.clone()), None],
        vec![Some(err1), None, Some(err2)],
    ]
}

#[test]
fn zero_group() {
    for errs in cases() {
        let g = Group::new();
        for err in errs {
            let e = err.clone();
            g.go(async move { e.map_or(Ok(()), Err) });
            // Go checks Wait after each Go and expects the first error so
            // far; our `wait` hands the error over (it is not Clone), so each
            // wait returns the error of the task started since the last one.
            assert_eq!(block_on(g.wait()).err(), err, "after a go");
        }
    }
}

#[test]
fn first_error_wins() {
    let (g, ctx) = Group::with_context(&Context::background());
    g.go(async { Err(E("first")) });
    block_on(ctx.done()); // the first error is recorded
    g.go(async { Err(E("second")) });
    assert_eq!(block_on(g.wait()), Err(E("first")));
    assert_eq!(ctx.cause().unwrap().to_string(), "first");
}

#[test]
fn with_context() {
    // Go's TestWithContext cases: at most one error each.
    let doom = E("group_test: doomed");
    let cases = [
        vec![],
        vec![None],
        vec![Some(doom.clone())],
        vec![None, Some(doom)],
    ];
    for errs in cases {
        let (g, ctx) = Group::with_context(&Context::background());
        let want = errs.iter().flatten().next().cloned();
        for err in errs {
            g.go(async move { err.map_or(Ok(()), Err) });
        }
        let got = block_on(g.wait()).err();
        assert_eq!(got, want);
        // The context is done after wait, in any case.
        assert!(ctx.is_done(), "context not done after wait");
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        let cause = ctx.cause().unwrap().to_string();
        match want {
            Some(e) => assert_eq!(cause, e.0),
            None => assert_eq!(cause, "context canceled"),
        }
    }
}

#[test]
fn first_error_cancels_context_before_wait() {
    let (g, ctx) = Group::with_context(&Context::background());
    let c = ctx.clone();
    g.go(async move {
        c.done().await; // ended by the other task's error
        Ok(())
    });
    g.go(async { Err(E("boom")) });
    block_on(ctx.done());
    let cause = ctx.cause().unwrap();
    assert_eq!(cause.downcast_ref::<TaskError>().unwrap().message(), "boom");
    assert_eq!(block_on(g.wait()), Err(E("boom")));
}

#[test]
fn go_limit() {
    const LIMIT: usize = 10;
    let g = Group::new();
    g.set_limit(LIMIT);
    let active = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    for _ in 0..=(1 << 10) {
        let (active, peak) = (active.clone(), peak.clone());
        g.go(async move {
            let n = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            if n > LIMIT {
                return Err(format!("saw {n} active tasks; want ≤ {LIMIT}"));
            }
            // Give other tasks a chance to increment `active`.
            gust_executor::yield_now().await;
            active.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        });
    }
    block_on(g.wait()).unwrap();
    assert!(peak.load(Ordering::SeqCst) <= LIMIT);
}

#[test]
fn go_never_blocks_the_caller_past_the_limit() {
    let g = Group::<E>::new();
    g.set_limit(1);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    // The first task holds the only slot until we send.
    let r = rx.clone();
    g.go(async move {
        let _ = gust_executor::spawn_blocking(move || r.lock().unwrap().recv()).await;
        Ok(())
    });
    // These return at once; their tasks wait for the slot.
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        let ran = ran.clone();
        g.go(async move {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
    }
    tx.send(()).unwrap();
    block_on(g.wait()).unwrap();
    assert_eq!(ran.load(Ordering::SeqCst), 5);
}

#[test]
fn try_go() {
    const LIMIT: usize = 10;
    let g = Group::<E>::new();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let blocker = |rx: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>| async move {
        let _ = gust_executor::spawn_blocking(move || rx.lock().unwrap().recv()).await;
        Ok(())
    };
    // Without a limit, try_go always succeeds.
    g.set_limit(usize::MAX);
    assert!(g.try_go(async { Ok(()) }));
    block_on(g.wait()).unwrap();

    g.set_limit(LIMIT);
    for i in 0..LIMIT {
        assert!(
            g.try_go(blocker(rx.clone())),
            "try_go {i} failed under the limit"
        );
    }
    assert!(
        !g.try_go(async { Ok(()) }),
        "try_go succeeded past the limit"
    );
    for _ in 0..LIMIT {
        tx.send(()).unwrap();
    }
    block_on(g.wait()).unwrap();

    g.set_limit(1);
    assert!(g.try_go(blocker(rx.clone())));
    assert!(!g.try_go(async { Ok(()) }));
    tx.send(()).unwrap();
    block_on(g.wait()).unwrap();
    // The slot is free again after wait.
    assert!(g.try_go(async { Err(E("after")) }));
    assert_eq!(block_on(g.wait()), Err(E("after")));
}

/// `go` takes its slot in the caller when one is free (as Go's `Go`
/// does): a `try_go` right after it, before its task has run, finds the
/// limit reached. It took that slot before (100 of 100 runs, found from
/// outside), and its task ran first.
#[test]
fn try_go_sees_the_slot_go_took() {
    for _ in 0..100 {
        block_on(async {
            let g = Group::<E>::new();
            g.set_limit(1);
            let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
            let (open, gate) = futures::channel::oneshot::channel::<()>();
            let r = ran.clone();
            g.go(async move {
                r.lock().unwrap().push("go");
                let _ = gate.await; // holds the slot until opened
                Ok(())
            });
            let r = ran.clone();
            let took = g.try_go(async move {
                r.lock().unwrap().push("try_go");
                Ok(())
            });
            drop(open);
            g.wait().await.unwrap();
            assert!(
                !took,
                "go's slot was free for try_go: ran {:?}",
                ran.lock().unwrap()
            );
            assert_eq!(*ran.lock().unwrap(), ["go"]);
        });
    }
}

#[test]
fn set_limit_while_active_panics() {
    let g = Group::<E>::new();
    g.set_limit(1);
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    assert!(g.try_go(async move {
        let _ = gust_executor::spawn_blocking(move || rx.recv()).await;
        Ok(())
    }));
    let r = panic::catch_unwind(AssertUnwindSafe(|| g.set_limit(2)));
    assert!(r.is_err());
    tx.send(()).unwrap();
    block_on(g.wait()).unwrap();
}

#[test]
fn panic_is_resumed_by_wait() {
    let (g, ctx) = Group::<E>::with_context(&Context::background());
    g.go(async { panic!("task blew up") });
    g.go(async { Ok(()) });
    let r = panic::catch_unwind(AssertUnwindSafe(|| block_on(g.wait())));
    let payload = r.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"task blew up"));
    assert!(ctx.is_done());
    assert!(ctx.cause().unwrap().to_string().contains("panicked"));
}

#[test]
fn tasks_can_add_tasks() {
    let g = Group::<E>::new();
    let n = Arc::new(AtomicUsize::new(0));
    let (g2, n2) = (g.clone(), n.clone());
    g.go(async move {
        for _ in 0..10 {
            let n = n2.clone();
            g2.go(async move {
                n.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
        }
        Ok(())
    });
    block_on(g.wait()).unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 10);
}

#[test]
fn wait_from_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let g = Group::<std::io::Error>::new();
    g.go(async { Err(std::io::Error::other("io")) });
    let err = rt.block_on(g.wait()).unwrap_err();
    assert_eq!(err.to_string(), "io");
}

#[test]
fn group_is_send_sync_and_wait_is_send() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    fn assert_send<T: Send>(_: &T) {}
    let g = Group::<std::io::Error>::default();
    assert_send_sync(&g);
    assert_send(&g.wait());
    assert!(format!("{g:?}").starts_with("Group"));
}

/// Go's `SetLimit` panics only while tasks hold slots of a limit
/// (`len(g.sem) != 0`): with no limit set, tasks running do not stop it,
/// nor does going back to no limit (Go's `SetLimit(-1)`).
#[test]
fn set_limit_panics_only_while_a_limit_has_tasks_running() {
    block_on(async {
        let g = Group::<E>::new();
        let (open, gate) = futures::channel::oneshot::channel::<()>();
        g.go(async move {
            let _ = gate.await;
            Ok(())
        });
        g.set_limit(1); // no limit was set: fine, and the task counts
        assert!(!g.try_go(async { Ok(()) }));
        let err = panic::catch_unwind(AssertUnwindSafe(|| g.set_limit(2))).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("1 tasks"), "{msg}");
        g.set_limit(usize::MAX); // back to no limit: never panics
        assert!(g.try_go(async { Ok(()) }));
        open.send(()).unwrap();
        g.wait().await.unwrap();
    });
}

/// Go's `Go` blocks at the limit, so a loop that checks the group's
/// context before each start stops soon after the first failure (found
/// from outside: with `go`, which never blocks, all 100 were queued and
/// ran). `go_when_free` returns once its task has a slot.
#[test]
fn go_when_free_waits_for_a_slot_like_gos_go() {
    block_on(async {
        let (g, ctx) = Group::<E>::with_context(&Context::background());
        g.set_limit(2);
        let ran = Arc::new(AtomicUsize::new(0));
        let mut launched = 0;
        for i in 0..100 {
            if ctx.is_done() {
                break;
            }
            launched += 1;
            let ran = ran.clone();
            g.go_when_free(async move {
                ran.fetch_add(1, Ordering::SeqCst);
                if i == 3 {
                    return Err(E("job 3 failed"));
                }
                gust_executor::yield_now().await;
                Ok(())
            })
            .await;
        }
        assert_eq!(g.wait().await, Err(E("job 3 failed")));
        assert!(launched < 10, "launched {launched}");
        assert_eq!(ran.load(Ordering::SeqCst), launched);
    });
}

/// `go_when_free` is pending while the limit is reached, returns when a
/// slot frees, and dropped while pending leaves its task queued to run.
#[test]
fn go_when_free_is_pending_until_a_slot_frees() {
    use std::future::Future;
    use std::task::{Context as Cx, Waker};
    block_on(async {
        let g = Group::<E>::new();
        g.set_limit(1);
        let (gate, open) = Context::background().with_cancel();
        g.go(async move {
            gate.done().await;
            Ok(())
        });
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let mut waiting = Box::pin(g.go_when_free(async move {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        let mut cx = Cx::from_waker(Waker::noop());
        assert!(waiting.as_mut().poll(&mut cx).is_pending());
        open.cancel(); // the first task ends: the slot frees
        waiting.await;
        // Dropped while pending: the task still runs in its turn.
        let (gate, open) = Context::background().with_cancel();
        g.go(async move {
            gate.done().await;
            Ok(())
        });
        let r = ran.clone();
        let mut dropped = Box::pin(g.go_when_free(async move {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }));
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
        drop(dropped);
        open.cancel();
        assert_eq!(g.wait().await, Ok(()));
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    });
}
