//! Wait reasons (gust-trace): a pending `done()` records `Wait::Context`
//! (or `Wait::Timer` under a deadline), `run` records one reason for the
//! whole, and errgroup's `wait` records its WaitGroup's.

#![cfg(not(loom))]

use std::future::Future;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Duration;

use gust_context::Context;
use gust_context::errgroup::Group;
use gust_trace::{Wait, WaitSlot};

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut cx = TaskContext::from_waker(Waker::noop());
    pin!(fut).poll(&mut cx)
}

/// A future that records `wait` and stays pending, as a gust wait does.
fn recording(wait: Wait) -> impl Future<Output = ()> {
    std::future::poll_fn(move |_| {
        gust_trace::record(wait);
        Poll::Pending
    })
}

#[test]
fn pending_done_records_context() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.done()).is_pending());
    assert_eq!(slot.get(), Some(Wait::Context { deadline: false }));
}

#[test]
fn never_ending_done_records_context() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(Context::background().done()).is_pending());
    assert_eq!(slot.get(), Some(Wait::Context { deadline: false }));
}

#[test]
fn done_under_a_deadline_is_not_durable() {
    let (parent, _c1) = Context::background().with_timeout(Duration::from_secs(3600));
    let (ctx, _c2) = parent.with_cancel(); // the deadline is an ancestor's
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.done()).is_pending());
    assert_eq!(slot.get(), Some(Wait::Context { deadline: true }));
}

#[test]
fn ended_done_records_nothing() {
    let (ctx, cancel) = Context::background().with_cancel();
    cancel.cancel();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.done()).is_ready());
    assert_eq!(slot.get(), None);
}

#[test]
fn run_of_a_foreign_future_records_nothing() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.run(std::future::pending::<()>())).is_pending());
    assert_eq!(slot.get(), None);
}

#[test]
fn run_of_a_durable_wait_is_durable() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.run(recording(Wait::WaitGroup))).is_pending());
    assert_eq!(slot.get(), Some(Wait::WaitGroup));

    // The same with a real WaitGroup.
    slot.clear();
    let wg = gust_waitgroup::WaitGroup::new();
    wg.add(1);
    assert!(poll_once(ctx.run(wg.wait())).is_pending());
    assert_eq!(slot.get(), Some(Wait::WaitGroup));
    wg.done();
}

#[test]
fn run_of_a_sleep_is_not_durable() {
    let (ctx, _cancel) = Context::background().with_cancel();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.run(recording(Wait::Sleep))).is_pending());
    assert_eq!(slot.get(), Some(Wait::Sleep));
    assert!(!slot.get().unwrap().is_durable());
}

#[test]
fn run_under_a_deadline_is_not_durable() {
    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_secs(3600));
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(ctx.run(recording(Wait::WaitGroup))).is_pending());
    assert_eq!(slot.get(), Some(Wait::Context { deadline: true }));
}

#[test]
fn run_that_completes_or_ends_records_nothing() {
    let (ctx, cancel) = Context::background().with_cancel();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert_eq!(poll_once(ctx.run(async { 1 })), Poll::Ready(Ok(1)));
    assert_eq!(slot.get(), None);
    cancel.cancel();
    assert!(poll_once(ctx.run(recording(Wait::WaitGroup))).is_ready());
    assert_eq!(slot.get(), None);
}

#[test]
fn pending_group_wait_records_waitgroup() {
    let g = Group::<()>::new();
    let (ctx, cancel) = Context::background().with_cancel();
    g.go(async move {
        ctx.done().await;
        Ok(())
    });
    {
        let slot = WaitSlot::new();
        // SAFETY: the guard drops in this scope, before the slot, in order.
        let _current = unsafe { gust_trace::enter(&slot) };
        assert!(poll_once(g.wait()).is_pending());
        assert_eq!(slot.get(), Some(Wait::WaitGroup));
    }
    cancel.cancel();
    assert_eq!(gust_executor::block_on(g.wait()), Ok(()));
}
