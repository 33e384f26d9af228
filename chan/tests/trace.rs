//! Wait reasons (`gust_trace`): what a pending channel operation or select
//! records into the current task's slot, and that nothing else does.
//!
//! Each test makes a slot current (as gust's executor does around a task's
//! poll), polls once with a no-op waker and reads the slot.

use std::future::{Future, pending};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use futures::{Sink, Stream};
use gust_chan::{Chan, Select, chan, select};
use gust_trace::{Wait, WaitSlot};

fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

/// A future that records `.0` and stays pending: what a gust wait (a
/// `WaitGroup`, a sleep) looks like to the trace.
struct Records(Wait);

impl Future for Records {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        gust_trace::record(self.0);
        Poll::Pending
    }
}

/// What a select of a receive and `case` records on its first two polls.
fn select_recv_and(case: impl Future<Output = ()>) -> [Option<Wait>; 2] {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx, rx) = chan::<i32>(1);
    let mut fut = pin!(async {
        select! {
            v = rx.recv() => v,
            _ = case => None,
        }
    });
    [(), ()].map(|()| {
        assert!(poll_once(fut.as_mut()).is_pending());
        slot.get()
    })
}

fn select_wait(cases: u32, durable: bool) -> Option<Wait> {
    Some(Wait::Select { cases, durable })
}

#[test]
fn recv_on_empty_channel_records_chan_recv_with_creation_site() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let ((tx, rx), line) = (chan::<i32>(1), line!());
    assert!(poll_once(pin!(rx.recv())).is_pending());
    let Some(Wait::ChanRecv { made_at }) = slot.get() else {
        panic!("expected ChanRecv, got {:?}", slot.get());
    };
    assert_eq!(made_at.line(), line);
    assert_eq!(made_at.file(), file!());
    drop(tx);
}

#[test]
fn chan_new_records_its_caller() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (ch, line) = (Chan::<i32>::new(0), line!());
    assert!(poll_once(pin!(ch.recv())).is_pending());
    let made_at = slot
        .get()
        .and_then(|w| w.chan_made_at())
        .expect("a chan wait");
    assert_eq!((made_at.file(), made_at.line()), (file!(), line));
}

#[test]
fn send_on_full_channel_records_chan_send() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let ((tx, rx), line) = (chan::<i32>(1), line!());
    tx.try_send(1).unwrap();
    assert!(poll_once(pin!(tx.send(2))).is_pending());
    let Some(Wait::ChanSend { made_at }) = slot.get() else {
        panic!("expected ChanSend, got {:?}", slot.get());
    };
    assert_eq!(made_at.line(), line);
    drop(rx);
}

#[test]
fn rendezvous_send_without_receiver_records_chan_send() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let ((tx, rx), line) = (chan::<i32>(0), line!());
    assert!(poll_once(pin!(tx.send(1))).is_pending());
    assert!(matches!(slot.get(), Some(Wait::ChanSend { made_at }) if made_at.line() == line));
    drop(rx);
}

#[test]
fn receiver_stream_records_chan_recv() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let ((tx, mut rx), line) = (chan::<i32>(1), line!());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut rx).poll_next(&mut cx).is_pending());
    assert!(matches!(slot.get(), Some(Wait::ChanRecv { made_at }) if made_at.line() == line));
    drop(tx);
}

#[test]
fn sender_sink_records_chan_send() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let ((mut tx, rx), line) = (chan::<i32>(0), line!());
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut tx).poll_ready(&mut cx).is_ready());
    assert_eq!(slot.get(), None);
    Pin::new(&mut tx).start_send(1).unwrap();
    assert!(Pin::new(&mut tx).poll_flush(&mut cx).is_pending());
    assert!(matches!(slot.get(), Some(Wait::ChanSend { made_at }) if made_at.line() == line));
    drop(rx);
}

#[test]
fn ops_that_complete_at_once_leave_the_slot_untouched() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (tx, rx) = chan::<i32>(1);
    assert_eq!(poll_once(pin!(tx.send(1))), Poll::Ready(Ok(())));
    assert_eq!(slot.get(), None);
    assert_eq!(poll_once(pin!(rx.recv())), Poll::Ready(Some(1)));
    assert_eq!(slot.get(), None);
    // An earlier record stays as it was.
    gust_trace::record(Wait::Io);
    assert_eq!(poll_once(pin!(tx.send(2))), Poll::Ready(Ok(())));
    assert_eq!(poll_once(pin!(rx.recv())), Poll::Ready(Some(2)));
    drop(tx);
    assert_eq!(poll_once(pin!(rx.recv())), Poll::Ready(None));
    assert_eq!(slot.get(), Some(Wait::Io));
}

#[test]
fn no_slot_no_record() {
    // Outside a traced task the operations still work and record nowhere.
    let (tx, rx) = chan::<i32>(0);
    assert!(poll_once(pin!(rx.recv())).is_pending());
    assert!(!gust_trace::is_traced());
    drop(tx);
}

#[test]
fn select_over_two_empty_channels_is_durable() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx1, rx1) = chan::<i32>(1);
    let (_tx2, rx2) = chan::<i32>(0);
    let mut fut = pin!(async {
        select! {
            v = rx1.recv() => v,
            v = rx2.recv() => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, true));
    // Polled again while registered: the same record, not a channel's.
    slot.clear();
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, true));
}

#[test]
fn select_with_send_and_recv_cases_is_durable() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (tx1, _rx1) = chan::<i32>(0);
    let (_tx2, rx2) = chan::<i32>(0);
    let mut fut = pin!(async {
        select! {
            r = tx1.send(1) => r.is_ok(),
            v = rx2.recv() => v.is_some(),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, true));
}

#[test]
fn select_with_a_foreign_future_is_not_durable() {
    // Also once registered (the channel case queued).
    let not_durable = select_wait(2, false);
    assert_eq!(select_recv_and(pending::<()>()), [not_durable; 2]);
}

#[test]
fn select_with_a_future_recording_a_durable_wait_is_durable() {
    assert_eq!(
        select_recv_and(Records(Wait::WaitGroup)),
        [select_wait(2, true); 2]
    );
}

#[test]
fn select_with_a_future_recording_a_sleep_is_not_durable() {
    assert_eq!(
        select_recv_and(Records(Wait::Sleep)),
        [select_wait(2, false); 2]
    );
}

#[test]
fn select_of_futures_only() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let mut fut = pin!(async {
        select! {
            _ = Records(Wait::WaitGroup) => 1,
            _ = Records(Wait::WaitGroup) => 2,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, true));
}

#[test]
fn channel_op_inside_a_future_case_counts_as_durable() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx1, rx1) = chan::<i32>(1);
    let (_tx2, rx2) = chan::<i32>(1);
    let mut fut = pin!(async {
        select! {
            v = rx1.recv() => v,
            v = async { rx2.recv().await } => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, true));
}

#[test]
fn nested_select_passes_its_durability_up() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx1, rx1) = chan::<i32>(1);
    let (_tx2, rx2) = chan::<i32>(1);
    let mut fut = pin!(async {
        select! {
            v = rx1.recv() => v,
            v = async {
                select! {
                    v = rx2.recv() => v,
                    _ = pending::<()>() => None,
                }
            } => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, false));
}

#[test]
fn disabled_cases_are_not_counted() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx1, rx1) = chan::<i32>(1);
    let (_tx2, rx2) = chan::<i32>(1);
    let off = std::hint::black_box(false);
    let mut fut = pin!(async {
        select! {
            v = rx1.recv() => v,
            v = rx2.recv(), if off => v,
            _ = pending::<()>(), if off => None,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(1, true));
}

#[test]
fn select_with_every_case_disabled_waits_forever_durably() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx, rx) = chan::<i32>(1);
    let off = std::hint::black_box(false);
    let mut fut = pin!(async {
        select! {
            v = rx.recv(), if off => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(0, true));

    slot.clear();
    let mut empty = pin!(async {
        select! {}
    });
    assert!(poll_once(empty.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(0, true));
}

#[test]
fn select_that_completes_records_nothing() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (tx1, rx1) = chan::<i32>(1);
    let (_tx2, rx2) = chan::<i32>(1);
    tx1.try_send(5).unwrap();
    let fut = pin!(async {
        select! {
            v = rx1.recv() => v,
            v = rx2.recv() => v,
            _ = Records(Wait::WaitGroup) => None,
        }
    });
    assert_eq!(poll_once(fut), Poll::Ready(Some(5)));
    assert_eq!(slot.get(), None);

    // An earlier record stays as it was.
    gust_trace::record(Wait::Io);
    tx1.try_send(6).unwrap();
    let fut = pin!(async {
        select! {
            v = rx1.recv() => v,
            _ = Records(Wait::Sleep) => None,
        }
    });
    assert_eq!(poll_once(fut), Poll::Ready(Some(6)));
    assert_eq!(slot.get(), Some(Wait::Io));
}

#[test]
fn select_with_default_records_nothing() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (_tx, rx) = chan::<i32>(1);
    let fut = pin!(async {
        select! {
            v = rx.recv() => v,
            _ = Records(Wait::WaitGroup) => None,
            default => Some(-1),
        }
    });
    assert_eq!(poll_once(fut), Poll::Ready(Some(-1)));
    assert_eq!(slot.get(), None);
}

#[test]
fn select_woken_by_a_counterpart_records_nothing_new() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let (tx, rx) = chan::<i32>(0);
    let (_tx2, rx2) = chan::<i32>(0);
    let mut fut = pin!(async {
        select! {
            v = rx.recv() => v,
            v = rx2.recv() => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(slot.get(), select_wait(2, true));
    tx.try_send(7).unwrap(); // hands the value to the queued case
    slot.clear();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Some(7)));
    assert_eq!(slot.get(), None);
}

#[test]
fn dynamic_select_records_select() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let chans: Vec<_> = (0..3).map(|_| chan::<i32>(0)).collect();
    let mut sel = Select::new();
    for (_, rx) in &chans {
        sel.recv(rx);
    }
    sel.send(&chans[0].0, 1);
    let removed = sel.recv(&chans[1].1);
    sel.remove(removed);
    {
        let mut wait = pin!(sel.wait());
        assert!(poll_once(wait.as_mut()).is_pending());
        assert_eq!(slot.get(), select_wait(4, true));
        slot.clear();
        assert!(poll_once(wait.as_mut()).is_pending());
        assert_eq!(slot.get(), select_wait(4, true));
    }
    // `try_select` never waits.
    slot.clear();
    assert_eq!(sel.try_select(), None);
    assert_eq!(slot.get(), None);
}

#[test]
fn empty_dynamic_select_waits_forever_durably() {
    let slot = WaitSlot::new();
    // SAFETY: the guard drops in this scope, before the slot, in order.
    let _g = unsafe { gust_trace::enter(&slot) };
    let mut sel = Select::<i32>::new();
    assert!(poll_once(pin!(sel.wait())).is_pending());
    assert_eq!(slot.get(), select_wait(0, true));
}
