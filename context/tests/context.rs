//! Context behaviour: Go's `context` tests ported (x_test.go and the Go 1.20+
//! cause/after_func/without_cancel tests), plus executor independence.
//! No sleep is used for synchronisation; timeouts are upper bounds only.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use gust_context::{CancelFunc, Context, ContextError};

/// Go's `shortDuration`: a deadline that should pass during the test.
const SHORT: Duration = Duration::from_millis(1);
/// Go's `veryLongDuration`: a deadline that never passes during the test;
/// also the upper bound on any wait.
const VERY_LONG: Duration = Duration::from_secs(1000);
/// Upper bound for waits that should be quick.
const LIMIT: Duration = Duration::from_secs(10);

/// Waits (from a helper thread) for `ctx` to end, at most `LIMIT`.
fn wait_done(ctx: &Context) -> bool {
    let (tx, rx) = mpsc::channel();
    let c = ctx.clone();
    thread::spawn(move || {
        c.done_blocking();
        let _ = tx.send(());
    });
    rx.recv_timeout(LIMIT).is_ok()
}

/// Whether `done()` completes at once (Go's `select { case <-c.Done(): default: }`).
fn done_now(ctx: &Context) -> bool {
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    let mut fut = std::pin::pin!(ctx.done());
    fut.as_mut().poll(&mut cx).is_ready()
}

/// Ported from <https://github.com/golang/go/blob/go1.19/src/context/context_test.go>
/// (the `XTest*` functions that x_test.go runs), adapted: Go's `otherContext`
/// wrapper (a foreign Context implementation) has no Rust counterpart, so
/// those cases use a `with_value` layer, which also shares its parent's
/// cancellation without being a cancel node.
mod golang {
    use super::*;

    #[test]
    fn background() {
        let c = Context::background();
        assert!(!done_now(&c), "<-c.Done() == it should block");
        assert_eq!(c.err(), None);
        assert_eq!(c.deadline(), None);
        assert!(c.cause().is_none());
        assert!(format!("{c:?}").starts_with("Context"));
        let d = Context::default();
        assert!(!d.is_done());
    }

    #[test]
    fn with_cancel() {
        let (c1, cancel) = Context::background().with_cancel();
        let o = c1.with_value("other");
        let (c2, _cancel2) = o.with_cancel();
        let contexts = [&c1, &o, &c2];
        for (i, c) in contexts.iter().enumerate() {
            assert!(!done_now(c), "<-c[{i}].Done() should block");
            assert_eq!(c.err(), None, "c[{i}].err()");
        }
        cancel.cancel();
        // No sleep: cancel() has ended every descendant when it returns.
        for (i, c) in contexts.iter().enumerate() {
            assert!(done_now(c), "<-c[{i}].Done() blocked");
            assert_eq!(c.err(), Some(ContextError::Canceled), "c[{i}].err()");
        }
    }

    #[test]
    fn parent_finishes_child() {
        // Context tree:
        // parent -> cancel_child
        // parent -> value_child -> timer_child
        // parent -> after_func
        let (parent, cancel) = Context::background().with_cancel();
        let (cancel_child, _stop) = parent.with_cancel();
        let value_child = parent.with_value("value");
        let (timer_child, _stop2) = value_child.with_timeout(VERY_LONG);
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let after = parent.after_func(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });

        for c in [&parent, &cancel_child, &value_child, &timer_child] {
            assert!(!done_now(c));
            assert_eq!(c.err(), None);
        }

        cancel.cancel();

        for c in [&parent, &cancel_child, &value_child, &timer_child] {
            assert!(done_now(c), "child not done after parent cancel");
            assert_eq!(c.err(), Some(ContextError::Canceled));
        }
        assert!(!after.stop(), "after_func not started");
        let limit = Instant::now() + LIMIT;
        while ran.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < limit, "after_func not run");
            thread::yield_now();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 1, "after_func run twice");

        // A child made from an ended parent is ended at once.
        let (child, _c) = parent.with_cancel();
        assert!(done_now(&child));
        assert_eq!(child.err(), Some(ContextError::Canceled));
    }

    #[test]
    fn child_finishes_first() {
        let (cancelable, stop) = Context::background().with_cancel();
        let parents: [(Context, Option<CancelFunc>); 2] =
            [(Context::background(), None), (cancelable, Some(stop))];
        for (parent, cancel_parent) in parents {
            let (child, cancel_child) = parent.with_cancel();
            cancel_child.cancel();
            assert!(done_now(&child));
            assert_eq!(child.err(), Some(ContextError::Canceled));
            assert!(!done_now(&parent), "cancelling a child ended its parent");
            assert_eq!(parent.err(), None);
            if let Some(cancel) = cancel_parent {
                cancel.cancel();
                assert!(done_now(&parent));
                assert_eq!(parent.err(), Some(ContextError::Canceled));
                assert_eq!(child.err(), Some(ContextError::Canceled));
            }
        }
    }

    fn test_deadline(c: &Context, name: &str) {
        assert!(wait_done(c), "{name}: context not timed out");
        assert_eq!(c.err(), Some(ContextError::DeadlineExceeded), "{name}");
    }

    #[test]
    fn deadline() {
        let (c, _c1) = Context::background().with_deadline(Instant::now() + SHORT);
        assert!(format!("{c:?}").contains("deadline: Some"));
        test_deadline(&c, "WithDeadline");

        let (c, _c2) = Context::background().with_deadline(Instant::now() + SHORT);
        let o = c.with_value(1u8);
        test_deadline(&o, "WithDeadline+otherContext");

        let (c, _c3) = Context::background().with_deadline(Instant::now() + SHORT);
        let o = c.with_value(1u8);
        let (c, _c4) = o.with_deadline(Instant::now() + VERY_LONG);
        test_deadline(&c, "WithDeadline+otherContext+WithDeadline");

        let (c, _c5) = Context::background().with_deadline(Instant::now() - SHORT);
        test_deadline(&c, "WithDeadline+inthepast");

        let (c, _c6) = Context::background().with_deadline(Instant::now());
        test_deadline(&c, "WithDeadline+now");
    }

    #[test]
    fn timeout() {
        let (c, _c1) = Context::background().with_timeout(SHORT);
        test_deadline(&c, "WithTimeout");

        let (c, _c2) = Context::background().with_timeout(SHORT);
        let o = c.with_value(1u8);
        test_deadline(&o, "WithTimeout+otherContext");

        let (c, _c3) = Context::background().with_timeout(SHORT);
        let o = c.with_value(1u8);
        let (c, _c4) = o.with_timeout(VERY_LONG);
        test_deadline(&c, "WithTimeout+otherContext+WithTimeout");
    }

    #[test]
    fn canceled_timeout() {
        let (c, _c1) = Context::background().with_timeout(Duration::from_secs(1));
        let o = c.with_value(1u8);
        let (c, cancel) = o.with_timeout(Duration::from_secs(2));
        cancel.cancel();
        // No sleep: the cancel is synchronous.
        assert!(done_now(&c), "<-c.Done() blocked");
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }

    #[derive(Debug)]
    struct K1(Option<&'static str>);
    #[derive(Debug)]
    struct K2(Option<&'static str>);
    #[derive(Debug)]
    struct K3(Option<&'static str>);

    #[test]
    fn values() {
        fn check(c: &Context, nm: &str, v1: &str, v2: &str, v3: &str) {
            let get1 = c.value::<K1>().and_then(|k| k.0).unwrap_or("");
            let get2 = c.value::<K2>().and_then(|k| k.0).unwrap_or("");
            let get3 = c.value::<K3>().and_then(|k| k.0).unwrap_or("");
            assert_eq!((get1, get2, get3), (v1, v2, v3), "{nm}");
        }
        let c0 = Context::background();
        check(&c0, "c0", "", "", "");
        let c1 = Context::background().with_value(K1(Some("c1k1")));
        check(&c1, "c1", "c1k1", "", "");
        let c2 = c1.with_value(K2(Some("c2k2")));
        check(&c2, "c2", "c1k1", "c2k2", "");
        let c3 = c2.with_value(K3(Some("c3k3")));
        check(&c3, "c3", "c1k1", "c2k2", "c3k3");
        let c4 = c3.with_value(K1(None));
        check(&c4, "c4", "", "c2k2", "c3k3");

        // Values cross cancellation layers in both directions.
        let (o1, _c) = Context::background()
            .with_value(K1(Some("c1k1")))
            .with_cancel();
        check(&o1, "o1", "c1k1", "", "");
        let o2 = o1.with_value(K2(Some("o2k2")));
        check(&o2, "o2", "c1k1", "o2k2", "");
        let (o3, _c3) = c4.with_timeout(VERY_LONG);
        check(&o3, "o3", "", "c2k2", "c3k3");
        let o4 = o3.with_value(K3(None));
        check(&o4, "o4", "", "c2k2", "");
    }

    #[test]
    fn simultaneous_cancels() {
        let (root, cancel) = Context::background().with_cancel();
        let mut m: Vec<(Context, CancelFunc)> = vec![(root.clone(), cancel)];
        let mut q = vec![root];
        // A tree of contexts, breadth first, four children each.
        let mut qi = 0;
        while qi < q.len() && m.len() < 100 {
            let parent = q[qi].clone();
            qi += 1;
            for _ in 0..4 {
                let (ctx, cancel) = parent.with_cancel();
                m.push((ctx.clone(), cancel));
                q.push(ctx);
            }
        }
        // Start all the cancels, in an order shuffled by the thread scheduler.
        let mut contexts = Vec::new();
        let mut threads = Vec::new();
        for (ctx, cancel) in m {
            contexts.push(ctx);
            threads.push(thread::spawn(move || cancel.cancel()));
        }
        // Wait on all the contexts (in reverse order, for variety).
        for ctx in contexts.iter().rev() {
            assert!(wait_done(ctx), "timed out waiting for <-ctx.Done()");
        }
        // Wait for all the cancel functions to return.
        for t in threads {
            t.join().unwrap();
        }
    }

    #[test]
    fn interlocked_cancels() {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (child, cancel_child) = parent.with_cancel();
        let t = {
            let parent = parent.clone();
            thread::spawn(move || {
                parent.done_blocking();
                cancel_child.cancel();
            })
        };
        cancel_parent.cancel();
        assert!(wait_done(&child), "timed out waiting for child.Done()");
        t.join().unwrap();
    }

    /// A tiny deterministic generator (Go uses math/rand with a seed).
    struct Lcg(u64);
    impl Lcg {
        fn intn(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    /// A value whose identity is its address (Go's `*value` keys).
    struct Layer(Vec<Arc<u8>>);

    fn test_layers(seed: u64, test_timeout: bool) {
        let mut r = Lcg(seed);
        const MIN_LAYERS: usize = 30;
        let mut vals: Vec<Arc<u8>> = Vec::new();
        let mut cancels: Vec<CancelFunc> = Vec::new();
        let mut num_timers = 0;
        let mut ctx = Context::background();
        let mut i = 0;
        while i < MIN_LAYERS || num_timers == 0 || cancels.is_empty() || vals.is_empty() {
            match r.intn(3) {
                0 => {
                    // Go keys each value by its own pointer; we key by type,
                    // so each layer stores the whole list so far.
                    vals.push(Arc::new(i as u8));
                    ctx = ctx.with_value(Layer(vals.clone()));
                }
                1 => {
                    let (c, cancel) = ctx.with_cancel();
                    ctx = c;
                    cancels.push(cancel);
                }
                _ => {
                    let d = if test_timeout { SHORT } else { VERY_LONG };
                    let (c, cancel) = ctx.with_timeout(d);
                    ctx = c;
                    cancels.push(cancel);
                    num_timers += 1;
                }
            }
            i += 1;
        }
        let check_values = |when: &str| {
            let got = &ctx.value::<Layer>().expect("values lost").0;
            assert_eq!(got.len(), vals.len(), "seed={seed}: {when}");
            for (a, b) in got.iter().zip(&vals) {
                assert!(Arc::ptr_eq(a, b), "seed={seed}: {when}: wrong value");
            }
        };
        if !test_timeout {
            assert!(
                !done_now(&ctx),
                "seed={seed}: ctx should not be canceled yet"
            );
        }
        check_values("before cancel");
        if test_timeout {
            assert!(wait_done(&ctx), "seed={seed}: ctx should have timed out");
            check_values("after timeout");
        } else {
            let cancel = &cancels[r.intn(cancels.len() as u64) as usize];
            cancel.cancel();
            assert!(done_now(&ctx), "seed={seed}: ctx should be canceled");
            check_values("after cancel");
        }
    }

    #[test]
    fn layers_cancel() {
        for seed in 1..20 {
            test_layers(seed, false);
        }
    }

    #[test]
    fn layers_timeout() {
        for seed in 1..5 {
            test_layers(seed, true);
        }
    }

    #[test]
    fn with_cancel_canceled_parent() {
        let (parent, pcancel) = Context::background().with_cancel();
        pcancel.cancel();
        let (c, _c) = parent.with_cancel();
        assert!(done_now(&c), "child not done immediately upon construction");
        assert_eq!(c.err(), Some(ContextError::Canceled));
    }

    #[test]
    fn deadline_exceeded_display() {
        let e: Box<dyn Error> = Box::new(ContextError::DeadlineExceeded);
        assert_eq!(e.to_string(), "context deadline exceeded");
        assert_eq!(ContextError::Canceled.to_string(), "context canceled");
    }
}

/// Go 1.20's `TestCause` (context.Cause, WithCancelCause), adapted.
mod cause {
    use super::*;

    #[derive(Debug)]
    struct MyErr(&'static str);
    impl fmt::Display for MyErr {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for MyErr {}

    fn cause_str(ctx: &Context) -> Option<String> {
        ctx.cause().map(|c| c.to_string())
    }

    #[test]
    fn background_has_none() {
        let c = Context::background();
        assert_eq!(c.err(), None);
        assert!(c.cause().is_none());
    }

    #[test]
    fn with_cancel_cause_is_err() {
        let (c, cancel) = Context::background().with_cancel();
        assert!(c.cause().is_none(), "live context has a cause");
        cancel.cancel();
        assert_eq!(c.err(), Some(ContextError::Canceled));
        let cause = c.cause().unwrap();
        assert_eq!(
            cause.downcast_ref::<ContextError>(),
            Some(&ContextError::Canceled)
        );
    }

    #[test]
    fn with_cancel_cause() {
        let (c, cancel) = Context::background().with_cancel();
        cancel.cancel_with_cause(MyErr("cause"));
        assert_eq!(c.err(), Some(ContextError::Canceled));
        let cause = c.cause().unwrap();
        assert_eq!(cause.downcast_ref::<MyErr>().unwrap().0, "cause");
    }

    #[test]
    fn nested_child_first() {
        let (parent, cancel1) = Context::background().with_cancel();
        let (child, cancel2) = parent.with_cancel();
        cancel2.cancel_with_cause(MyErr("child cause"));
        cancel1.cancel_with_cause(MyErr("parent cause"));
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&child).as_deref(), Some("child cause"));
        assert_eq!(cause_str(&parent).as_deref(), Some("parent cause"));
    }

    #[test]
    fn nested_parent_first() {
        let (parent, cancel1) = Context::background().with_cancel();
        let (child, cancel2) = parent.with_cancel();
        cancel1.cancel_with_cause(MyErr("parent cause"));
        cancel2.cancel_with_cause(MyErr("child cause"));
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&child).as_deref(), Some("parent cause"));
    }

    #[test]
    fn deadline_cause_is_deadline_exceeded() {
        let (c, _cancel) = Context::background().with_timeout(SHORT);
        assert!(wait_done(&c));
        let cause = c.cause().unwrap();
        assert_eq!(
            cause.downcast_ref::<ContextError>(),
            Some(&ContextError::DeadlineExceeded)
        );
    }

    #[test]
    fn timeout_canceled_first() {
        let (c, cancel) = Context::background().with_timeout(VERY_LONG);
        cancel.cancel();
        assert_eq!(c.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&c).as_deref(), Some("context canceled"));
    }

    #[test]
    fn parent_timeout_child_inherits() {
        let (parent, _c1) = Context::background().with_timeout(SHORT);
        let (child, _c2) = parent.with_cancel();
        assert!(wait_done(&child));
        assert_eq!(child.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(
            cause_str(&child).as_deref(),
            Some("context deadline exceeded")
        );
    }

    #[test]
    fn value_layer_shares_cause() {
        let (c, cancel) = Context::background().with_cancel();
        let v = c.with_value(3u16);
        cancel.cancel_with_cause("by message");
        assert_eq!(v.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&v).as_deref(), Some("by message"));
    }

    // Go 1.21's WithDeadlineCause / WithTimeoutCause (TestCause's cases).

    /// "WithTimeoutCause": the deadline passes; `err` says so, `cause`
    /// gives the cause.
    #[test]
    fn timeout_cause() {
        let (c, cancel) =
            Context::background().with_timeout_cause(Duration::ZERO, MyErr("too slow"));
        cancel.cancel();
        assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(cause_str(&c).as_deref(), Some("too slow"));
        // And when the timer ends it.
        let (c, _cancel) = Context::background().with_timeout_cause(SHORT, MyErr("too slow"));
        assert!(wait_done(&c));
        assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(cause_str(&c).as_deref(), Some("too slow"));
        let (c, _cancel) = Context::background()
            .with_deadline_cause(Instant::now() + SHORT, MyErr("window closed"));
        assert!(wait_done(&c));
        assert_eq!(cause_str(&c).as_deref(), Some("window closed"));
    }

    /// "WithTimeoutCause canceled": cancelled before the deadline, the
    /// context is `Canceled`, and the cause given for the deadline is not
    /// used.
    #[test]
    fn timeout_cause_canceled() {
        let (c, cancel) = Context::background().with_timeout_cause(VERY_LONG, MyErr("too slow"));
        cancel.cancel();
        assert_eq!(c.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&c).as_deref(), Some("context canceled"));
    }

    /// "WithTimeoutCause stacked": a deadline child of a cancel-with-cause
    /// parent, ended by its deadline before the parent is cancelled.
    #[test]
    fn timeout_cause_stacked() {
        let (p, cancel) = Context::background().with_cancel();
        let (c, _c) = p.with_timeout_cause(Duration::ZERO, MyErr("too slow"));
        cancel.cancel_with_cause(MyErr("finished early"));
        assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(cause_str(&c).as_deref(), Some("too slow"));
        assert_eq!(cause_str(&p).as_deref(), Some("finished early"));
    }

    /// "WithTimeoutCause stacked canceled": the parent ended first; the
    /// child is born ended, with the parent's error and cause.
    #[test]
    fn timeout_cause_stacked_canceled() {
        let (p, cancel) = Context::background().with_cancel();
        cancel.cancel_with_cause(MyErr("finished early"));
        let (c, _c) = p.with_timeout_cause(Duration::ZERO, MyErr("too slow"));
        assert_eq!(c.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&c).as_deref(), Some("finished early"));
    }

    /// A parent's earlier deadline ends the child, with the parent's cause
    /// (Go returns `WithCancel(parent)` then).
    #[test]
    fn the_parents_earlier_deadline_brings_its_cause() {
        let (p, _c1) = Context::background().with_timeout_cause(SHORT, MyErr("parent's"));
        let (c, _c2) = p.with_timeout_cause(VERY_LONG, MyErr("child's"));
        assert!(wait_done(&c));
        assert_eq!(c.err(), Some(ContextError::DeadlineExceeded));
        assert_eq!(cause_str(&c).as_deref(), Some("parent's"));
        // A timeout too large to represent: no deadline, cause unused.
        let (c, cancel) = Context::background().with_timeout_cause(Duration::MAX, MyErr("never"));
        assert_eq!(c.deadline(), None);
        cancel.cancel();
        assert_eq!(cause_str(&c).as_deref(), Some("context canceled"));
    }

    #[test]
    fn child_of_ended_parent_gets_cause() {
        let (p, cancel) = Context::background().with_cancel();
        cancel.cancel_with_cause(String::from("gone"));
        let (c, _c) = p.with_cancel();
        assert_eq!(cause_str(&c).as_deref(), Some("gone"));
        let (d, _c) = p.with_timeout(VERY_LONG);
        assert_eq!(d.err(), Some(ContextError::Canceled));
        assert_eq!(cause_str(&d).as_deref(), Some("gone"));
    }
}

/// Go 1.21's AfterFunc tests, adapted.
mod after_func {
    use super::*;

    /// Counts the calls of the callbacks it makes, which run in threads of
    /// their own (Go: "in its own goroutine").
    struct Calls {
        n: Arc<AtomicUsize>,
        tx: mpsc::Sender<()>,
        rx: mpsc::Receiver<()>,
    }

    impl Calls {
        fn new() -> Self {
            let (tx, rx) = mpsc::channel();
            let n = Arc::new(AtomicUsize::new(0));
            Self { n, tx, rx }
        }

        fn callback(&self) -> impl FnOnce() + Send + 'static {
            let (n, tx) = (self.n.clone(), self.tx.clone());
            move || {
                n.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(());
            }
        }

        /// Waits for `k` more calls.
        fn wait(&self, k: usize) {
            for i in 0..k {
                self.rx
                    .recv_timeout(LIMIT)
                    .unwrap_or_else(|_| panic!("AfterFunc call {} of {k} did not come", i + 1));
            }
        }

        /// No further call comes within a moment.
        fn no_more(&self) {
            assert!(
                self.rx.recv_timeout(Duration::from_millis(50)).is_err(),
                "called once too often"
            );
        }

        fn count(&self) -> usize {
            self.n.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn called_after_cancel() {
        let (ctx, cancel) = Context::background().with_cancel();
        let calls = Calls::new();
        let stop = ctx.after_func(calls.callback());
        assert_eq!(calls.count(), 0, "called before the context ended");
        cancel.cancel();
        calls.wait(1);
        cancel.cancel();
        calls.no_more();
        assert!(!stop.stop(), "stop() = true after the function ran");
    }

    #[test]
    fn called_after_timeout() {
        let (ctx, _cancel) = Context::background().with_timeout(SHORT);
        let calls = Calls::new();
        let _stop = ctx.after_func(calls.callback());
        calls.wait(1);
    }

    /// Go's TestAfterFuncCalledAsynchronously: `f` runs in its own
    /// goroutine, so one that waits for the code after `cancel()` does not
    /// stop `cancel()` from returning. (Found by a check from outside:
    /// `cancel()` ran `f` itself and never returned.)
    #[test]
    fn called_asynchronously() {
        let (ctx, cancel) = Context::background().with_cancel();
        let (release, released) = mpsc::channel::<()>();
        let calls = Calls::new();
        let done = calls.callback();
        let _stop = ctx.after_func(move || {
            released.recv().unwrap();
            done();
        });
        let (cancelled, returned) = mpsc::channel();
        let canceller = thread::spawn(move || {
            cancel.cancel();
            cancelled.send(()).unwrap();
        });
        returned
            .recv_timeout(LIMIT)
            .expect("cancel() waited for the AfterFunc callback");
        release.send(()).unwrap();
        calls.wait(1);
        canceller.join().unwrap();
    }

    #[test]
    fn called_immediately() {
        let (ctx, cancel) = Context::background().with_cancel();
        cancel.cancel();
        let calls = Calls::new();
        let stop = ctx.after_func(calls.callback());
        calls.wait(1);
        assert!(!stop.stop(), "stop() = true after the function ran");
    }

    #[test]
    fn not_called_after_stop() {
        let (ctx, cancel) = Context::background().with_cancel();
        let calls = Calls::new();
        let stop = ctx.after_func(calls.callback());
        assert!(stop.stop(), "stop() = false, want true");
        cancel.cancel();
        calls.no_more();
        assert_eq!(calls.count(), 0);
        assert!(!stop.stop(), "second stop() = true, want false");
    }

    #[test]
    fn stop_after_run_is_false() {
        let (ctx, cancel) = Context::background().with_cancel();
        let calls = Calls::new();
        let stop = ctx.after_func(calls.callback());
        cancel.cancel();
        assert!(!stop.stop());
        calls.wait(1);
    }

    #[test]
    fn on_parent_cancel_and_never_for_background() {
        let (parent, cancel) = Context::background().with_cancel();
        let (child, _c) = parent.with_cancel();
        let calls = Calls::new();
        let _s = child.with_value(1u8).after_func(calls.callback());
        let never = Calls::new();
        let s2 = Context::background().after_func(never.callback());
        cancel.cancel();
        calls.wait(1);
        assert_eq!(never.count(), 0);
        assert!(s2.stop());
        assert!(!s2.stop());
    }

    #[test]
    fn many_registered_and_stopped() {
        let (ctx, cancel) = Context::background().with_cancel();
        let calls = Calls::new();
        let handles: Vec<_> = (0..100).map(|_| ctx.after_func(calls.callback())).collect();
        for h in handles.iter().step_by(2) {
            assert!(h.stop());
        }
        cancel.cancel();
        calls.wait(50);
        calls.no_more();
        assert_eq!(calls.count(), 50);
    }
}

/// Go 1.21's WithoutCancel test.
#[test]
fn without_cancel() {
    #[derive(PartialEq, Debug)]
    struct Key(&'static str);
    let (ctx, cancel) = Context::background()
        .with_value(Key("value"))
        .with_timeout(VERY_LONG);
    let detached = ctx.without_cancel();
    cancel.cancel();
    assert!(ctx.is_done());
    assert!(!detached.is_done());
    assert!(!done_now(&detached));
    assert_eq!(detached.err(), None);
    assert!(detached.cause().is_none());
    assert_eq!(detached.deadline(), None);
    assert_eq!(detached.value::<Key>(), Some(&Key("value")));
    // Its children are independent of the original's end.
    let (child, _c) = detached.with_cancel();
    assert!(!child.is_done());
}

#[test]
fn deadline_is_min_of_own_and_parent() {
    let now = Instant::now();
    let (p, _c1) = Context::background().with_deadline(now + Duration::from_secs(100));
    let (c, _c2) = p.with_deadline(now + Duration::from_secs(200));
    assert_eq!(c.deadline(), Some(now + Duration::from_secs(100)));
    let (c, _c3) = p.with_deadline(now + Duration::from_secs(50));
    assert_eq!(c.deadline(), Some(now + Duration::from_secs(50)));
    let (c, _c4) = p.with_cancel();
    assert_eq!(c.deadline(), Some(now + Duration::from_secs(100)));
    assert_eq!(c.with_value(1u8).deadline(), p.deadline());
    let (c, _c5) = Context::background().with_timeout(Duration::MAX);
    assert_eq!(c.deadline(), None);
}

#[test]
fn cancelling_child_never_touches_parent_or_siblings() {
    let (parent, _pc) = Context::background().with_cancel();
    let (a, ca) = parent.with_cancel();
    let (b, _cb) = parent.with_cancel();
    let (a1, _ca1) = a.with_cancel();
    ca.cancel_with_cause("a only");
    assert!(a.is_done() && a1.is_done());
    assert!(!parent.is_done() && !b.is_done());
    assert_eq!(a1.cause().unwrap().to_string(), "a only");
}

#[test]
fn dropping_cancel_func_cancels() {
    let (ctx, cancel) = Context::background().with_cancel();
    let (child, _c) = ctx.with_cancel();
    drop(cancel);
    assert_eq!(ctx.err(), Some(ContextError::Canceled));
    assert!(child.is_done());
}

#[test]
fn run_completes_or_is_cancelled() {
    futures::executor::block_on(async {
        let (ctx, cancel) = Context::background().with_cancel();
        assert_eq!(ctx.run(async { 5 }).await, Ok(5));
        let pending = ctx.run(std::future::pending::<()>());
        let t = thread::spawn(move || cancel.cancel());
        assert_eq!(pending.await, Err(ContextError::Canceled));
        t.join().unwrap();
        let (ctx, _c) = Context::background().with_timeout(SHORT);
        assert_eq!(
            ctx.run(std::future::pending::<()>()).await,
            Err(ContextError::DeadlineExceeded)
        );
    });
}

/// Many waiters on one context, on several executors, woken by one cancel.
#[test]
fn many_waiters_woken_by_one_cancel() {
    let (ctx, cancel) = Context::background().with_cancel();
    let woken = Arc::new(AtomicUsize::new(0));
    let n = 1000;
    let wg = gust_waitgroup::WaitGroup::new();
    for _ in 0..n {
        let (ctx, woken) = (ctx.clone(), woken.clone());
        wg.go(async move {
            ctx.done().await;
            woken.fetch_add(1, Ordering::Relaxed);
        });
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let tokio_tasks: Vec<_> = (0..100)
        .map(|_| {
            let (ctx, woken) = (ctx.clone(), woken.clone());
            rt.spawn(async move {
                ctx.done().await;
                woken.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (ctx, woken) = (ctx.clone(), woken.clone());
            thread::spawn(move || {
                ctx.done_blocking();
                woken.fetch_add(1, Ordering::Relaxed);
            })
        })
        .collect();
    assert_eq!(woken.load(Ordering::Relaxed), 0);
    cancel.cancel();
    wg.wait_blocking();
    rt.block_on(async {
        for t in tokio_tasks {
            t.await.unwrap();
        }
    });
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(woken.load(Ordering::Relaxed), n + 104);
}

#[test]
fn done_is_a_select_case_and_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (ctx, cancel) = Context::background().with_cancel();
    assert_send(&ctx.done());
    futures::executor::block_on(async {
        futures::select_biased! {
            _ = futures::FutureExt::fuse(ctx.done()) => panic!("done too soon"),
            default => {}
        }
    });
    cancel.cancel();
    let c2 = ctx.clone();
    gust_executor::block_on(gust_executor::spawn(async move { c2.done().await })).unwrap();
}

#[test]
fn deep_tree_cancel_ends_every_descendant() {
    let (root, cancel) = Context::background().with_cancel();
    let mut all = Vec::new();
    let mut frontier = vec![root.clone()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for p in &frontier {
            for _ in 0..5 {
                let (c, cf) = p.with_cancel();
                next.push(c.clone());
                all.push((c, cf));
            }
        }
        frontier = next;
    }
    cancel.cancel_with_cause("root");
    for (c, _) in &all {
        assert_eq!(c.err(), Some(ContextError::Canceled));
        assert_eq!(c.cause().unwrap().to_string(), "root");
    }
}

/// Found from outside (a Go program ported): a task woken by a parent's
/// `done()` saw a child still live, in 10-16 of 20 runs (Go: never). A
/// waiter of any node wakes only once the whole subtree has ended.
#[test]
fn a_waiter_woken_by_cancel_sees_every_descendant_ended() {
    for _ in 0..50 {
        let (root, cancel) = Context::background().with_cancel();
        let mut all = Vec::new();
        let mut frontier = vec![root.clone()];
        for _ in 0..3 {
            let mut next = Vec::new();
            for p in &frontier {
                for _ in 0..12 {
                    let (c, cf) = p.with_cancel();
                    next.push(c.clone());
                    all.push((c, cf));
                }
            }
            frontier = next;
        }
        let leaves = frontier;
        let (tx, rx) = mpsc::channel();
        let (waiting_tx, waiting_rx) = mpsc::channel();
        let waiter = {
            let root = root.clone();
            thread::spawn(move || {
                // Polled once (its waker stored: it will be woken, not
                // find the context ended on a later poll), then waits.
                let mut done = Box::pin(root.done());
                futures::executor::block_on(std::future::poll_fn(|cx| {
                    let r = done.as_mut().poll(cx);
                    if r.is_pending() {
                        let _ = waiting_tx.send(());
                    }
                    r
                }));
                let live = leaves.iter().filter(|c| c.err().is_none()).count();
                tx.send(live).unwrap();
            })
        };
        waiting_rx.recv_timeout(LIMIT).unwrap();
        cancel.cancel();
        assert_eq!(
            rx.recv_timeout(LIMIT).unwrap(),
            0,
            "descendants live after done()"
        );
        waiter.join().unwrap();
        drop(all);
    }
}
