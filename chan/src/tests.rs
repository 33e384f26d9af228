//! Unit tests (run under Miri too): small, deterministic, single- and
//! two-threaded.

use crate::{Chan, TryRecvError, TrySendError, chan, select};
use futures::executor::block_on;
use std::thread;

#[test]
fn buffered_fifo() {
    let (tx, rx) = chan(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    for i in 0..3 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn rendezvous_threads() {
    let ch = Chan::new(0);
    let c2 = ch.clone();
    let t = thread::spawn(move || {
        for i in 0..10 {
            c2.send_blocking(i).unwrap();
        }
    });
    for i in 0..10 {
        assert_eq!(ch.recv_blocking(), Some(i));
    }
    t.join().unwrap();
}

#[test]
fn close_wakes_receiver() {
    let (tx, rx) = chan::<i32>(0);
    let t = thread::spawn(move || rx.recv_blocking());
    tx.close();
    assert_eq!(t.join().unwrap(), None);
}

#[test]
fn select_send_recv_pair() {
    let a = Chan::<i32>::new(0);
    let b = a.clone();
    let t = thread::spawn(move || {
        block_on(async {
            select! {
                r = b.send(7) => r.unwrap(),
            }
        })
    });
    let v = block_on(async {
        select! {
            v = a.recv() => v,
        }
    });
    assert_eq!(v, Some(7));
    t.join().unwrap();
}

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

#[test]
fn select_future_case_and_claim() {
    let (tx, rx) = chan::<i32>(0);
    let (ftx, frx) = chan::<()>(1);
    let mut fut = Box::pin(async {
        select! {
            v = rx.recv() => v,
            _ = async { frx.recv().await } => Some(-1),
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    ftx.try_send(()).unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Some(-1)));
    drop(fut);
    // The select's recv entry is gone: a try_send finds nobody waiting.
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
}

#[test]
fn select_chosen_by_counterpart_then_dropped_gives_back() {
    let (tx, rx) = chan::<String>(0);
    let (_tx2, rx2) = chan::<String>(0);
    let mut fut = Box::pin(async {
        select! {
            v = rx.recv() => v,
            v = rx2.recv() => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    tx.try_send("x".into()).unwrap();
    drop(fut);
    assert_eq!(rx.try_recv().as_deref(), Ok("x"));
}

#[test]
fn select_send_case_dropped_keeps_value_out() {
    let (tx, rx) = chan::<Box<i32>>(0);
    let mut fut = Box::pin(async {
        select! { r = tx.send(Box::new(1)) => r }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(fut);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn select_wakes_on_close_and_default() {
    let (tx, rx) = chan::<i32>(0);
    let got = block_on(async {
        select! { v = rx.recv() => v, default => Some(9) }
    });
    assert_eq!(got, Some(9));
    let t = thread::spawn(move || {
        block_on(async {
            select! { v = rx.recv() => v }
        })
    });
    tx.close();
    assert_eq!(t.join().unwrap(), None);
}

#[test]
fn stream_and_sink_roundtrip() {
    use futures::{SinkExt, StreamExt};
    let (mut tx, mut rx) = chan::<u8>(1);
    block_on(async {
        tx.send(1).await.unwrap();
        assert_eq!(rx.next().await, Some(1));
        SinkExt::close(&mut tx).await.unwrap();
        assert_eq!(rx.next().await, None);
    });
}

/// A `next()` dropped while pending: the handle's next operation takes
/// its receive back (and the value a sender handed it), through `&self`
/// (`Receiver::take_back_stream`); a handle dropped with one frees it.
#[test]
fn dropped_next_is_taken_back() {
    use futures::StreamExt;
    let (tx, mut rx) = chan::<Box<u8>>(0);
    assert!(poll_once(std::pin::pin!(rx.next())).is_pending());
    tx.try_send(Box::new(1)).unwrap();
    let shared = &rx;
    thread::scope(|s| {
        let got = s.spawn(|| shared.try_recv()).join().unwrap();
        assert_eq!(got.as_deref(), Ok(&1));
    });
    assert!(poll_once(std::pin::pin!(rx.next())).is_pending());
    tx.try_send(Box::new(2)).unwrap();
    drop(rx); // the value goes back to the channel, and drops with it
    drop(tx);
}

/// A waker whose `clone` panics, met by `poll_next` as it queues its
/// receive: the receive stays in the handle (not freed while the channel
/// links it), and the handle's drop takes it out (Miri checks the memory).
#[test]
fn a_panicking_waker_leaves_the_stream_whole() {
    use futures::Stream;
    use std::task::{RawWaker, RawWakerVTable, Waker};
    fn clone(_: *const ()) -> RawWaker {
        panic!("clone")
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: the vtable's functions ignore the data pointer.
    let waker = unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) };
    let (tx, mut rx) = chan::<Box<u8>>(0);
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::pin::Pin::new(&mut rx).poll_next(&mut Context::from_waker(&waker))
    }));
    assert!(polled.is_err(), "the clone panicked");
    tx.try_send(Box::new(1)).unwrap(); // into the receive left queued
    assert_eq!(rx.try_recv().as_deref(), Ok(&1));
    drop(rx);
}

#[test]
fn receiver_drop_fails_blocked_sender() {
    let (tx, rx) = chan::<i32>(0);
    let t = thread::spawn(move || tx.send_blocking(4));
    thread::sleep(std::time::Duration::from_millis(5));
    drop(rx);
    assert_eq!(t.join().unwrap(), Err(crate::SendError(4)));
}

#[test]
fn in_flight_value_given_back_after_close() {
    let (tx, rx) = chan::<i32>(0);
    let mut r1 = Box::pin(rx.recv());
    assert!(poll_once(r1.as_mut()).is_pending());
    tx.try_send(1).unwrap();
    drop(tx);
    let mut r2 = Box::pin(rx.recv());
    assert!(poll_once(r2.as_mut()).is_pending());
    drop(r1);
    assert_eq!(poll_once(r2.as_mut()), Poll::Ready(Some(1)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

/// A value given back by a dropped receiver waits for the next one, and
/// `len()` stays within `cap()` (0 for a rendezvous channel), as in Go.
#[test]
fn given_back_value_not_counted_by_len() {
    let ch = Chan::<String>::new(0);
    let mut r1 = Box::pin(ch.recv());
    assert!(poll_once(r1.as_mut()).is_pending());
    ch.try_send("v".to_string()).unwrap();
    drop(r1); // handed the value, dropped before collecting it: gives it back
    assert_eq!(ch.len(), 0);
    assert_eq!(ch.try_recv().as_deref(), Ok("v"));
}

#[test]
fn select_rechecks_channels_after_polling_a_future() {
    let ch = Chan::<i32>::new(0);
    for _ in 0..8 {
        let mut fut = Box::pin(async {
            select! {
                v = ch.recv() => v,
                _ = async { ch.send(7).await.unwrap() } => None,
            }
        });
        assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Some(7)));
    }
}

/// A standalone receive or send with no entry queued takes its fast path
/// only from a waiting entry at the head of the other queue: a select's
/// entry there whose owner is polling a future case (busy, invariant #8 of
/// waiter.rs) sends it down the full path, which passes that entry by and
/// pairs with the standalone operation queued behind it; the select's own
/// value is neither delivered nor lost.
#[test]
fn fast_path_passes_a_busy_head() {
    let ch = Chan::<Box<i32>>::new(0);
    // A select offering 1 polls a future case that, with the select's send
    // entry at the head of `sendq` (queued by the select's first poll),
    // queues a plain send of 2 behind it and then receives: it must get 2.
    let mut parked_send = Box::pin(ch.send(Box::new(2)));
    let mut polls = 0;
    let mut sel = Box::pin(async {
        select! {
            _ = ch.send(Box::new(1)) => None,
            v = std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 1 {
                    return Poll::Pending;
                }
                assert!(parked_send.as_mut().poll(cx).is_pending());
                let mut recv = Box::pin(ch.recv());
                recv.as_mut().poll(cx)
            }) => v,
        }
    });
    assert!(poll_once(sel.as_mut()).is_pending());
    let Poll::Ready(got) = poll_once(sel.as_mut()) else {
        panic!("the receive did not pair with the plain send behind the busy select");
    };
    drop(sel);
    assert_eq!(got.as_deref(), Some(&2));
    assert_eq!(poll_once(parked_send.as_mut()), Poll::Ready(Ok(())));
    assert_eq!(
        ch.try_recv(),
        Err(TryRecvError::Empty),
        "1 was not delivered"
    );

    // The other direction: a select receiving polls a future case that
    // queues a plain receive behind its recv entry, then sends 3.
    let mut parked_recv = Box::pin(ch.recv());
    let mut polls = 0;
    let mut sel = Box::pin(async {
        select! {
            v = ch.recv() => v.map(|_| false),
            r = std::future::poll_fn(|cx| {
                polls += 1;
                if polls == 1 {
                    return Poll::Pending;
                }
                assert!(parked_recv.as_mut().poll(cx).is_pending());
                let mut send = Box::pin(ch.send(Box::new(3)));
                send.as_mut().poll(cx).map(|r| r.is_ok())
            }) => Some(r),
        }
    });
    assert!(poll_once(sel.as_mut()).is_pending());
    let Poll::Ready(sent) = poll_once(sel.as_mut()) else {
        panic!("the send did not pair with the plain receive behind the busy select");
    };
    drop(sel);
    assert_eq!(sent, Some(true));
    assert_eq!(
        poll_once(parked_recv.as_mut()).map(|v| v.as_deref().copied()),
        Poll::Ready(Some(3))
    );
    assert_eq!(
        ch.try_send(Box::new(4)),
        Err(TrySendError::Full(Box::new(4))),
        "the select's receive is gone"
    );
}

/// A finished standalone entry is kept as the channel's spare and reused by
/// the next blocking operation, of either direction (`Entry::recycle`); a
/// send whose entry a receiver handed back (invariant #9 of waiter.rs)
/// completes without waiting for the lock and keeps it as the spare when the
/// lock is free, and frees it when it is not; heap values make Miri check
/// that nothing leaks or is read after a reset.
#[test]
fn recycled_entry_reused_both_directions() {
    let (tx, rx) = chan::<String>(0);
    let spare = |tx: &crate::Sender<String>| tx.shared.lock().with(|inner| inner.spare.is_some());
    let mut r = Box::pin(rx.recv());
    assert!(poll_once(r.as_mut()).is_pending()); // queues a fresh entry
    tx.try_send("a".to_owned()).unwrap(); // selects it
    assert_eq!(poll_once(r.as_mut()), Poll::Ready(Some("a".to_owned())));
    assert!(spare(&tx), "the finished recv entry became the spare");
    drop(r);
    let mut s = Box::pin(tx.send("b".to_owned()));
    assert!(poll_once(s.as_mut()).is_pending()); // queues the spare
    assert!(!spare(&tx));
    assert_eq!(rx.try_recv(), Ok("b".to_owned())); // hands the entry back
    assert_eq!(poll_once(s.as_mut()), Poll::Ready(Ok(())));
    assert!(spare(&tx), "the handed-back send entry became the spare");
    drop(s);
    let mut r = Box::pin(rx.recv());
    assert!(poll_once(r.as_mut()).is_pending()); // queues the spare again
    assert!(!spare(&tx));
    drop(r); // cancelled while queued
    let mut s = Box::pin(tx.send("c".to_owned()));
    assert!(poll_once(s.as_mut()).is_pending());
    drop(s); // cancelled with its value in the entry
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Handed back, then dropped before it was polled again: the value was
    // delivered once, and the entry is freed with the future.
    let mut s = Box::pin(tx.send("d".to_owned()));
    assert!(poll_once(s.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok("d".to_owned()));
    drop(s);
    // A refill of a buffer hands back too.
    let (tx, rx) = chan::<String>(1);
    tx.try_send("e".to_owned()).unwrap();
    let mut s = Box::pin(tx.send("f".to_owned()));
    assert!(poll_once(s.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok("e".to_owned())); // refills from `s`
    assert_eq!(poll_once(s.as_mut()), Poll::Ready(Ok(())));
    assert!(spare(&tx));
    assert_eq!(rx.try_recv(), Ok("f".to_owned()));
    // With the lock held elsewhere, a handed-back send completes anyway
    // (without waiting for it) and frees its entry.
    let (tx, rx) = chan::<String>(0);
    let mut s = Box::pin(tx.send("g".to_owned()));
    assert!(poll_once(s.as_mut()).is_pending());
    assert_eq!(rx.try_recv(), Ok("g".to_owned()));
    let held = tx.shared.lock();
    assert_eq!(poll_once(s.as_mut()), Poll::Ready(Ok(())));
    assert!(
        tx.shared.try_lock().is_none(),
        "the holder still holds the lock"
    );
    drop(held);
    assert!(!spare(&tx));
}

/// The last receiver's drop frees the buffered values (with their heap
/// memory: Miri reports a leak otherwise), and a sender waiting on the full
/// channel gets its value back.
#[test]
fn last_receiver_drops_the_buffer() {
    let (tx, rx) = chan::<Box<u64>>(2);
    tx.try_send(Box::new(1)).unwrap();
    tx.try_send(Box::new(2)).unwrap();
    let tx2 = tx.clone();
    let blocked = thread::spawn(move || tx2.send_blocking(Box::new(3)));
    // Blocked on the full channel or not yet: either way its send fails
    // with the value once no receiver is left.
    drop(rx);
    assert_eq!(tx.len(), 0);
    assert_eq!(blocked.join().unwrap().map_err(|e| *e.0), Err(3));
    assert!(matches!(
        tx.try_send(Box::new(4)),
        Err(TrySendError::Closed(_))
    ));
}

/// The run-time `Select` across threads, under Miri too: a send case and a
/// receive case, each pairing with a blocking counterpart.
#[test]
fn dynamic_select_threads() {
    use crate::select::Outcome;
    let a = Chan::<Box<u32>>::new(0);
    let b = Chan::<Box<u32>>::new(0);
    let a2 = a.clone();
    let t = thread::spawn(move || a2.send_blocking(Box::new(1)));
    let mut sel = crate::Select::new();
    sel.recv(&a);
    sel.send(&b, Box::new(2));
    let (i, out) = sel.wait_blocking();
    assert_eq!((i, out), (0, Outcome::Recv(Some(Box::new(1)))));
    assert_eq!(sel.into_unsent(), [(1, Box::new(2))]);
    t.join().unwrap().unwrap();
}

/// A `Select` past 64 cases (its engine's arrays on the heap): a receive
/// waits registered on 70 channels until a thread sends on the last one;
/// an unsent boxed value comes back, none leaks.
#[test]
fn dynamic_select_on_the_heap() {
    use crate::select::Outcome;
    let chans: Vec<Chan<Box<u32>>> = (0..70).map(|_| Chan::new(0)).collect();
    let last = chans[69].clone();
    let t = thread::spawn(move || last.send_blocking(Box::new(69)));
    let mut sel = crate::Select::new();
    for c in &chans[1..] {
        sel.recv(c);
    }
    let send = sel.send(&chans[0], Box::new(0));
    let (i, out) = sel.wait_blocking();
    assert_eq!((i, out), (68, Outcome::Recv(Some(Box::new(69)))));
    assert_eq!(sel.into_unsent(), [(send, Box::new(0))]);
    t.join().unwrap().unwrap();
}

/// Future cases that borrow their own locals across an `.await` (moved
/// into their `FutCase` before the first poll, pinned there from then on)
/// survive pending polls and the one that completes, guarded or not; each
/// is dropped once by the time the select returns; a disabled one is never
/// made; and one whose refutable pattern fails is dropped when its case is
/// disabled, before the select goes on.
#[test]
fn future_case_self_referential() {
    use std::cell::Cell;
    struct Counted<'a>(&'a Cell<u32>);
    impl Drop for Counted<'_> {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Cell::new(0);
    let (tx, rx) = chan::<u32>(1);
    let (_gtx, grx) = chan::<u32>(1);
    let self_ref = |ch: &crate::Receiver<u32>, drops| {
        let ch = ch.clone();
        async move {
            let _counted = Counted(drops);
            let local = [7u32; 4];
            let first = &local[0];
            let v = ch.recv().await.expect("sender alive");
            *first + v
        }
    };
    let mut fut = Box::pin(async {
        let on = true;
        select! {
            v = self_ref(&grx, &drops), if on => v,
            v = self_ref(&rx, &drops) => v,
            _ = async { unreachable!("disabled") }, if !on => 0,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(drops.get(), 0);
    tx.try_send(5).unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(12));
    assert_eq!(drops.get(), 2, "both future cases dropped, once each");
    drop(fut);
    assert_eq!(drops.get(), 2);

    drops.set(0);
    let mut fut = Box::pin(async {
        select! {
            Some(v) = async {
                let _counted = Counted(&drops);
                None::<u32>
            } => v,
            v = rx.recv() => v.unwrap() + 100,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    assert_eq!(drops.get(), 1, "dropped when its pattern disabled it");
    tx.try_send(1).unwrap();
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(101));
    assert_eq!(drops.get(), 1);
}
