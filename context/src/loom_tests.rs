//! Loom models of the cancellation tree: cancel racing child creation (with
//! and without a cause, so through the locked and the lock-free end), a
//! child's own cancel racing its parent's (with the child freed at once:
//! tree.rs invariant #6), and waiters racing the cancel (the wake protocol,
//! for a node with children and for a leaf; a waiter dropped while the
//! cancel runs).
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release
//! -p gust-context --lib loom`.

use std::future::Future;

use loom::future::block_on;
use loom::thread;

use crate::{Context, ContextError};

/// A child created while its parent is being cancelled ends either way
/// (tree.rs invariants #2 and #3), and the parent keeps no entry for it.
#[test]
fn loom_cancel_vs_child_creation() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let creator = {
            let parent = parent.clone();
            thread::spawn(move || parent.with_cancel())
        };
        cancel.cancel();
        let (child, child_cancel) = creator.join().unwrap();
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(parent.node.as_ref().unwrap().registry_len(), 0);
        drop(child_cancel);
    });
}

/// A child's own cancel races its parent's: the child ends once, the
/// grandchild ends, and the parent's registry is empty afterwards.
#[test]
fn loom_child_cancel_vs_parent_cancel() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let (child, child_cancel) = parent.with_cancel();
        let (grandchild, _gc_cancel) = child.with_cancel();
        let t = thread::spawn(move || child_cancel.cancel_with_cause("child"));
        cancel.cancel();
        t.join().unwrap();
        assert!(child.is_done());
        assert!(grandchild.is_done());
        assert_eq!(parent.node.as_ref().unwrap().registry_len(), 0);
        // Whoever won, the grandchild carries the same cause as the child.
        let (a, b) = (child.cause().unwrap(), grandchild.cause().unwrap());
        assert_eq!(a.to_string(), b.to_string());
    });
}

/// A waiter on `done()` and a waiter on a child's `done()` both wake.
#[test]
fn loom_waiters_wake() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let (child, _child_cancel) = parent.with_cancel();
        let w = thread::spawn(move || block_on(child.done()));
        let t = thread::spawn(move || cancel.cancel());
        block_on(parent.done());
        w.join().unwrap();
        t.join().unwrap();
    });
}

/// `stop` on an after-func races the cancel: the function runs exactly
/// when `stop` lost (tree.rs invariant #4).
#[test]
fn loom_after_func_stop_vs_cancel() {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering};

    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        let handle = ctx.after_func(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let t = thread::spawn(move || cancel.cancel());
        let stopped = handle.stop();
        t.join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), usize::from(!stopped));
    });
}

/// A waiter on a child created concurrently with the parent's cancel wakes.
#[test]
fn loom_waiter_on_new_child_vs_cancel() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let p = parent.clone();
        let w = thread::spawn(move || {
            let (child, _c) = p.with_cancel();
            block_on(child.done());
            child.err()
        });
        cancel.cancel();
        assert_eq!(w.join().unwrap(), Some(ContextError::Canceled));
    });
}

/// A cause given to a parent reaches a child created concurrently: either
/// the parent's end takes the child (locked end, invariant #1), or the
/// registration sees the end and copies the cause (invariant #3).
#[test]
fn loom_cancel_with_cause_vs_child_creation() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let creator = {
            let parent = parent.clone();
            thread::spawn(move || parent.with_cancel())
        };
        cancel.cancel_with_cause("stop");
        let (child, child_cancel) = creator.join().unwrap();
        assert_eq!(child.err(), Some(ContextError::Canceled));
        assert_eq!(child.cause().unwrap().to_string(), "stop");
        assert_eq!(parent.node.as_ref().unwrap().registry_len(), 0);
        drop(child_cancel);
    });
}

/// A leaf ends itself (lock-free) and is freed at once, while its parent's
/// end takes it from the registry: the parent never touches freed memory
/// (tree.rs invariant #6; loom's `Arc` panics on a stale pointer), and the
/// leaf ends once.
#[test]
fn loom_leaf_cancel_and_free_vs_parent_cancel() {
    loom::model(|| {
        let (parent, cancel) = Context::background().with_cancel();
        let (child, child_cancel) = parent.with_cancel();
        let t = thread::spawn(move || {
            child_cancel.cancel();
            assert!(child.is_done());
            drop(child);
            drop(child_cancel); // the last handle: frees the node
        });
        cancel.cancel();
        t.join().unwrap();
        assert_eq!(parent.node.as_ref().unwrap().registry_len(), 0);
    });
}

/// A waiter on a leaf (whose end is one compare-and-swap, no lock) wakes.
#[test]
fn loom_leaf_waiter_wakes() {
    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let w = {
            let ctx = ctx.clone();
            thread::spawn(move || block_on(ctx.done()))
        };
        cancel.cancel();
        w.join().unwrap();
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
    });
}

/// A `done()` polled once and dropped while the cancel runs: either its
/// drop takes its waker out, or the end takes the whole slab; never both
/// (tree.rs invariant #7), and nothing is left registered.
#[test]
fn loom_done_dropped_vs_cancel() {
    loom::model(|| {
        let (ctx, cancel) = Context::background().with_cancel();
        let w = {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let waker = futures::task::noop_waker();
                let mut done = Box::pin(ctx.done());
                let first = done
                    .as_mut()
                    .poll(&mut std::task::Context::from_waker(&waker));
                drop(done);
                first.is_ready()
            })
        };
        cancel.cancel();
        w.join().unwrap();
        assert_eq!(ctx.node.as_ref().unwrap().waiters_len_and_capacity().0, 0);
    });
}
