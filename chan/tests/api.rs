//! The public API's shape: auto traits, `Send` futures, error traits.

use std::error::Error;
use std::fmt::{Debug, Display};

use gust_chan::{Chan, Receiver, SendError, Sender, TryRecvError, TrySendError, chan, select};

fn is_send<T: Send>(_: &T) {}
fn is_send_sync<T: Send + Sync>() {}
fn is_clone<T: Clone>() {}
fn is_error<E: Error + Debug + Display>() {}

/// A type that is `Send` but not `Sync`.
struct NotSync(std::cell::Cell<u8>);

#[test]
fn handles_are_send_sync_clone() {
    is_send_sync::<Chan<NotSync>>();
    is_send_sync::<Sender<NotSync>>();
    is_send_sync::<Receiver<NotSync>>();
    is_clone::<Chan<NotSync>>();
    is_clone::<Sender<NotSync>>();
    is_clone::<Receiver<NotSync>>();
}

#[test]
fn futures_are_send() {
    let ch = Chan::<NotSync>::new(0);
    let (tx, rx) = chan::<NotSync>(1);
    is_send(&ch.recv());
    is_send(&ch.send(NotSync(Default::default())));
    is_send(&tx.send(NotSync(Default::default())));
    is_send(&rx.recv());
    let fut = async {
        select! {
            v = rx.recv() => v.map(|n| n.0.get()),
            r = tx.send(NotSync(Default::default())) => r.map(|()| 0).ok(),
            _ = async {} => None,
            default => None,
        }
    };
    is_send(&fut);
}

#[test]
fn errors_implement_error() {
    is_error::<SendError<NotSync>>();
    is_error::<TrySendError<NotSync>>();
    is_error::<TryRecvError>();
    assert_eq!(SendError(1).to_string(), "sending on a closed channel");
    assert_eq!(
        TrySendError::Full(1).to_string(),
        "sending on a full channel"
    );
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receiving on a closed and empty channel"
    );
    assert_eq!(TrySendError::Closed(5).into_inner(), 5);
}

#[test]
fn directions_convert() {
    let ch = Chan::<u8>::new(1);
    let tx: Sender<u8> = ch.clone().into();
    let rx: Receiver<u8> = ch.into();
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}

fn is_unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}

/// Handles can be used inside `catch_unwind` without `AssertUnwindSafe`: a
/// panic never leaves a channel half-updated (no user code runs under its
/// lock), as crossbeam-channel's handles promise too.
#[test]
fn handles_are_unwind_safe() {
    is_unwind_safe::<Chan<NotSync>>();
    is_unwind_safe::<Sender<NotSync>>();
    is_unwind_safe::<Receiver<NotSync>>();
    let (tx, rx) = chan::<u8>(1);
    let r = std::panic::catch_unwind(|| {
        tx.try_send(7).unwrap();
        panic!("after the send");
    });
    assert!(r.is_err());
    assert_eq!(rx.try_recv(), Ok(7));
}

/// Counts drops of its values.
struct DropCounter(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// crossbeam-channel's `drop_unreceived`: once the last receiving handle is
/// gone nobody can receive what is buffered, so it is dropped then, not when
/// the last sender goes.
#[test]
fn buffered_values_drop_with_the_last_receiver() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    for cap in [1, 4, 100] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<DropCounter>(cap);
        let rx2 = rx.clone();
        for _ in 0..cap {
            tx.try_send(DropCounter(drops.clone()))
                .unwrap_or_else(|_| panic!("room"));
        }
        drop(rx);
        assert_eq!(drops.load(Ordering::Relaxed), 0, "a receiver is left");
        drop(rx2);
        assert_eq!(drops.load(Ordering::Relaxed), cap, "cap {cap}");
        assert_eq!(tx.len(), 0);
        // A later send fails and hands its value back.
        match tx.try_send(DropCounter(drops.clone())) {
            Err(TrySendError::Closed(v)) => drop(v),
            _ => panic!("send without receivers must fail"),
        }
        assert_eq!(drops.load(Ordering::Relaxed), cap + 1);
        drop(tx);
        assert_eq!(drops.load(Ordering::Relaxed), cap + 1);
    }
    // A `Chan` is both ends: its values go when the last handle goes.
    let drops = Arc::new(AtomicUsize::new(0));
    let ch = Chan::<DropCounter>::new(2);
    let tx: Sender<DropCounter> = ch.sender();
    ch.try_send(DropCounter(drops.clone()))
        .unwrap_or_else(|_| panic!("room"));
    drop(ch);
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    drop(tx);
}

/// A buffered value whose `Drop` panics: the panic comes out of the last
/// receiver's drop, and the values behind it are still dropped.
#[test]
fn a_panicking_buffered_drop_comes_out_of_the_last_receiver() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    struct Bomb(bool, Arc<AtomicUsize>);
    impl Drop for Bomb {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
            if self.0 {
                panic!("bomb");
            }
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = chan::<Bomb>(3);
    for bomb in [true, false, false] {
        tx.try_send(Bomb(bomb, drops.clone()))
            .unwrap_or_else(|_| panic!("room"));
    }
    let r = std::panic::catch_unwind(move || drop(rx));
    assert!(r.is_err());
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    assert!(matches!(
        tx.try_send(Bomb(false, drops.clone())),
        Err(TrySendError::Closed(_))
    ));
}

/// The `Stream`'s receive in flight lives in the `Receiver` (`poll_next`
/// has nowhere else to keep it). A `next()` dropped while pending (a
/// `timeout`, a `select!` that went another way, `now_or_never`) leaves
/// it queued: a value sent meanwhile goes into the handle. The handle's
/// other operations take such a receive back first, so that value is
/// theirs, in order, and counted (found by a check from outside: it was
/// hidden from `recv`, `try_recv` and `len` until the next `poll_next`).
mod dropped_next {
    use futures::{FutureExt, StreamExt};
    use gust_chan::{TryRecvError, TrySendError, chan};

    #[test]
    fn a_value_sent_into_it_comes_out_of_try_recv() {
        for cap in [0, 1] {
            let (tx, mut rx) = chan::<i32>(cap);
            assert!(rx.next().now_or_never().is_none());
            // The receive left queued takes it (the one case that still
            // looks like a waiting receiver to a sender).
            tx.try_send(1).unwrap();
            assert_eq!(rx.try_recv(), Ok(1), "cap {cap}");
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "cap {cap}");
        }
    }

    #[test]
    fn a_value_sent_into_it_comes_out_of_recv_first() {
        let (tx, mut rx) = chan::<i32>(2);
        assert!(rx.next().now_or_never().is_none());
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert_eq!(rx.recv().now_or_never(), Some(Some(1)));
        assert_eq!(rx.recv().now_or_never(), Some(Some(2)));
    }

    #[test]
    fn a_value_sent_into_it_is_counted_by_len() {
        let (tx, mut rx) = chan::<i32>(1);
        assert!(rx.next().now_or_never().is_none());
        tx.try_send(1).unwrap();
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.recv_blocking(), Some(1));
    }

    #[test]
    fn once_the_handle_is_used_a_rendezvous_send_finds_no_receiver() {
        let (tx, mut rx) = chan::<i32>(0);
        assert!(rx.next().now_or_never().is_none());
        assert!(rx.is_empty());
        assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    }

    #[test]
    fn a_select_on_the_handle_sees_it() {
        let (tx, mut rx) = chan::<i32>(0);
        let (_tx2, rx2) = chan::<i32>(0);
        assert!(rx.next().now_or_never().is_none());
        tx.try_send(7).unwrap();
        let got = async {
            gust_chan::select! {
                v = rx2.recv() => ("rx2", v),
                v = rx.recv() => ("rx", v),
            }
        };
        assert_eq!(got.now_or_never(), Some(("rx", Some(7))));
    }

    #[test]
    fn the_stream_is_fused() {
        use futures::stream::FusedStream;
        let (tx, mut rx) = chan::<i32>(1);
        tx.try_send(1).unwrap();
        drop(tx);
        assert!(!rx.is_terminated());
        assert_eq!(rx.next().now_or_never(), Some(Some(1)));
        assert_eq!(rx.next().now_or_never(), Some(None));
        assert!(rx.is_terminated());
    }

    /// A rendezvous channel's `len()` is always 0, so a closed channel
    /// with a value given back by a dropped receive (or waiting in the
    /// handle's own stream receive) is not terminated: `next()` still
    /// yields it, and `futures::select!` must not skip it.
    #[test]
    fn the_stream_is_not_terminated_while_a_given_back_value_remains() {
        use futures::stream::FusedStream;
        let (tx, rx) = chan::<i32>(0);
        let mut rx2 = rx.clone();
        let mut handed = Box::pin(rx.recv());
        assert!(handed.as_mut().now_or_never().is_none());
        tx.try_send(7).unwrap(); // into the waiting receive's slot
        drop(handed); // given back to the channel
        drop(tx);
        assert!(!rx2.is_terminated());
        let got = futures::executor::block_on(async {
            futures::select_biased! { v = rx2.next() => v, default => None }
        });
        assert_eq!(got, Some(7));
        assert_eq!(rx2.next().now_or_never(), Some(None));
        assert!(rx2.is_terminated());
    }

    #[test]
    fn the_stream_is_not_terminated_while_its_own_receive_holds_a_value() {
        use futures::stream::FusedStream;
        let (tx, mut rx) = chan::<i32>(0);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(rx.poll_next_unpin(&mut cx).is_pending());
        tx.try_send(7).unwrap(); // into the stream's receive
        drop(tx);
        assert!(!rx.is_terminated());
        assert_eq!(rx.next().now_or_never(), Some(Some(7)));
        assert_eq!(rx.next().now_or_never(), Some(None));
        assert!(rx.is_terminated());
    }
}

/// Go compares channel values (`ch == other`, `map[chan T]..`): found
/// from outside, porting a Go pub/sub program that removed a subscriber
/// by its channel. Handles are equal when they are ends of one channel.
#[test]
// The hash is the channel's address, which never changes; clippy sees the
// channel's atomics behind the `Arc` and cannot know that.
#[allow(clippy::mutable_key_type)]
fn handles_compare_and_hash_by_channel() {
    use std::collections::HashMap;
    let (tx1, rx1) = gust_chan::chan::<u8>(1);
    let (tx2, _rx2) = gust_chan::chan::<u8>(1);
    assert_eq!(tx1, tx1.clone());
    assert_ne!(tx1, tx2);
    assert_eq!(tx1, rx1);
    assert_eq!(rx1, tx1);
    assert_eq!(rx1, rx1.clone());
    let c = gust_chan::Chan::<u8>::new(0);
    assert!(c == c.sender() && c.receiver() == c && c != tx1);
    let mut drops: HashMap<gust_chan::Sender<u8>, u32> = HashMap::new();
    *drops.entry(tx1.clone()).or_default() += 1;
    *drops.entry(tx2.clone()).or_default() += 1;
    *drops.entry(tx1.clone()).or_default() += 1;
    assert_eq!((drops.len(), drops[&tx1], drops[&tx2]), (2, 2, 1));
    drops.remove(&tx1);
    assert_eq!(drops.len(), 1);
}

/// A waker that counts its wakes (its `Arc`'s count tells how many
/// clones are kept).
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counting_waker() -> (std::sync::Arc<CountingWaker>, std::task::Waker) {
    let counter = std::sync::Arc::new(CountingWaker(std::sync::atomic::AtomicUsize::new(0)));
    let waker = std::task::Waker::from(counter.clone());
    (counter, waker)
}

fn poll_once<F: std::future::Future + Unpin>(f: &mut F, waker: &std::task::Waker) -> bool {
    let mut cx = std::task::Context::from_waker(waker);
    std::pin::Pin::new(f).poll(&mut cx).is_ready()
}

#[test]
fn sender_closed_waits_for_the_last_receiver_or_a_close() {
    // The last receiving handle going wakes every waiting `closed`.
    let (tx, rx) = chan::<u8>(1);
    let rx2 = rx.clone();
    let (counter, waker) = counting_waker();
    let mut a = tx.closed();
    let mut b = tx.closed();
    assert!(!poll_once(&mut a, &waker));
    assert!(!poll_once(&mut b, &waker));
    drop(rx);
    assert!(!poll_once(&mut a, &waker), "a receiver is left");
    drop(rx2);
    assert_eq!(counter.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(poll_once(&mut a, &waker));
    assert!(poll_once(&mut b, &waker));
    assert!(poll_once(&mut tx.closed(), &waker), "ready at once after");

    // A close wakes it too; a `Chan` is a receiving handle, so only a
    // close ends its wait.
    let ch = Chan::<String>::new(0);
    let tx = ch.sender();
    let mut c = tx.closed();
    let mut d = ch.closed();
    assert!(!poll_once(&mut c, &waker));
    assert!(!poll_once(&mut d, &waker));
    let ch2 = ch.clone();
    let closer = std::thread::spawn(move || ch2.close());
    futures::executor::block_on(async {
        c.await;
        d.await;
    });
    assert!(closer.join().unwrap());
}

#[test]
fn a_dropped_sender_closed_leaves_no_waker_behind() {
    let (tx, _rx) = chan::<u8>(0);
    let (counter, waker) = counting_waker();
    for _ in 0..1000 {
        let mut f = tx.closed();
        assert!(!poll_once(&mut f, &waker));
        assert!(!poll_once(&mut f, &waker), "polled again: one waker kept");
        assert_eq!(std::sync::Arc::strong_count(&counter), 3);
    }
    assert_eq!(std::sync::Arc::strong_count(&counter), 2);
    let f = tx.closed();
    is_send(&f);
}

#[test]
fn sender_closed_ends_a_producer_whose_consumer_left() {
    let (tx, rx) = chan::<u64>(4);
    let producer = std::thread::spawn(move || {
        futures::executor::block_on(async {
            let mut sent = 0u64;
            loop {
                select! {
                    r = tx.send(sent) => match r {
                        Ok(()) => sent += 1,
                        Err(_) => return sent,
                    },
                    _ = tx.closed() => return sent,
                }
            }
        })
    });
    for want in 0..10 {
        assert_eq!(rx.recv_blocking(), Some(want));
    }
    drop(rx);
    let sent = producer.join().unwrap();
    assert!((10..=14).contains(&sent), "{sent}");
}

/// `Sink::poll_close` lets go of one sending handle, as
/// `futures::channel::mpsc`'s does: two producers that each `forward` a
/// stream into clones of one sender deliver everything (closing the
/// channel for all, Go's `close`, lost the second producer's values: an
/// outside trial received 10-134 of 9,910), and the channel closes when
/// the last sender is closed or dropped.
#[test]
fn sink_close_lets_go_of_one_sender() {
    use futures::{SinkExt, StreamExt, stream};
    let (tx, rx) = gust_chan::chan::<u32>(16);
    let a = std::thread::spawn({
        let tx = tx.clone();
        move || futures::executor::block_on(stream::iter(0..10).map(Ok).forward(tx))
    });
    let b = std::thread::spawn(move || {
        futures::executor::block_on(stream::iter(100..10_000).map(Ok).forward(tx))
    });
    let got: Vec<u32> = futures::executor::block_on(rx.collect());
    a.join().unwrap().unwrap();
    b.join().unwrap().unwrap();
    assert_eq!(got.len(), 10 + 9_900, "every value of both producers");
    let sum: u64 = got.iter().map(|&v| u64::from(v)).sum();
    assert_eq!(sum, (0..10u64).sum::<u64>() + (100..10_000u64).sum::<u64>());

    // A closed sink takes no more values; its drop counts nothing twice.
    let (mut tx, rx) = gust_chan::chan::<u32>(4);
    let other = tx.clone();
    futures::executor::block_on(async {
        tx.send(1).await.unwrap();
        SinkExt::close(&mut tx).await.unwrap();
        SinkExt::close(&mut tx).await.unwrap(); // twice: still one sender out
        assert_eq!(SinkExt::send(&mut tx, 2).await.unwrap_err().0, 2);
    });
    drop(tx);
    assert!(!rx.is_closed(), "`other` still sends");
    other.try_send(3).unwrap();
    drop(other);
    assert!(rx.is_closed());
    assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 3]);
}
