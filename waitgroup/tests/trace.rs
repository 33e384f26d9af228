//! Wait reasons (gust-trace): a pending `wait` records `Wait::WaitGroup`
//! into the current task's slot; one that completes at once records nothing.

#![cfg(not(loom))]

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use gust_trace::{Wait, WaitSlot};
use gust_waitgroup::WaitGroup;

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    pin!(fut).poll(&mut cx)
}

#[test]
fn pending_wait_records_waitgroup() {
    let wg = WaitGroup::new();
    wg.add(1);
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(wg.wait()).is_pending());
    assert_eq!(slot.get(), Some(Wait::WaitGroup));
    assert!(slot.get().unwrap().is_durable());
    wg.done();
}

#[test]
fn zero_counter_records_nothing() {
    let wg = WaitGroup::new();
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    assert!(poll_once(wg.wait()).is_ready());
    assert_eq!(slot.get(), None);
}

#[test]
fn released_wait_records_nothing_more() {
    let wg = WaitGroup::new();
    wg.add(1);
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _current = unsafe { gust_trace::enter(&slot) };
    let mut cx = Context::from_waker(Waker::noop());
    let mut wait = pin!(wg.wait());
    assert!(wait.as_mut().poll(&mut cx).is_pending());
    slot.clear(); // as the executor does before each poll
    wg.done();
    assert!(wait.as_mut().poll(&mut cx).is_ready());
    assert_eq!(slot.get(), None);
}

#[test]
fn outside_a_task_nothing_is_recorded() {
    let wg = WaitGroup::new();
    wg.add(1);
    assert!(poll_once(wg.wait()).is_pending());
    wg.done();
}
