//! loom models of the channel protocols. Run with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p gust-chan --release --test loom`
//! (about 5 s after the build; all pass with 4 preemptions too, in about 25 s).
#![cfg(loom)]

use gust_chan::{Chan, SendError, chan, select};
use loom::future::block_on;
use loom::thread;

/// Rendezvous handoff: a blocked sender and a receiver meet exactly once.
#[test]
fn rendezvous_handoff() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let t = thread::spawn(move || block_on(tx.send(7)));
        assert_eq!(block_on(rx.recv()), Some(7));
        assert_eq!(t.join().unwrap(), Ok(()));
        assert_eq!(block_on(rx.recv()), None); // tx dropped: closed
    });
}

/// Bounded: two sends, FIFO, with the second one blocking on a full buffer.
#[test]
fn bounded_fifo_and_full() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(1);
        let t = thread::spawn(move || {
            block_on(tx.send(1)).unwrap();
            block_on(tx.send(2)).unwrap();
        });
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), Some(2));
        t.join().unwrap();
    });
}

/// Select commit, select against select on rendezvous channels: exactly one
/// pair commits, and both sides agree on which.
#[test]
fn select_vs_select_rendezvous() {
    static ITERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    loom::model(|| {
        ITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let a = Chan::<i32>::new(0);
        let b = Chan::<i32>::new(0);
        let (a2, b2) = (a.clone(), b.clone());
        let t = thread::spawn(move || {
            block_on(async {
                select! {
                    r = a2.send(1) => r.map(|()| 1),
                    r = b2.send(2) => r.map(|()| 2),
                }
            })
        });
        let got = block_on(async {
            select! {
                v = a.recv() => v,
                v = b.recv() => v,
            }
        });
        let sent = t.join().unwrap().unwrap();
        assert_eq!(got, Some(sent));
        assert!(a.try_recv().is_err() && b.try_recv().is_err());
    });
    eprintln!(
        "select_vs_select_rendezvous: {} interleavings",
        ITERS.load(std::sync::atomic::Ordering::Relaxed)
    );
}

/// A future that wakes its task once and then pends forever: it makes a
/// select poll again while its entries are queued, and so poll this case
/// in `POLLING` (invariant #8 of the waiter module) while a counterpart
/// may be looking at those entries.
struct WakeOnceThenPend(bool);

impl std::future::Future for WakeOnceThenPend {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if !self.0 {
            self.0 = true;
            cx.waker().wake_by_ref();
        }
        std::task::Poll::Pending
    }
}

/// A select sending `v` on `ch` beside a [`WakeOnceThenPend`] case: whether
/// the send completed.
async fn send_while_polling(ch: &Chan<i32>, v: i32) -> bool {
    select! {
        r = ch.send(v) => r.is_ok(),
        _ = WakeOnceThenPend(false) => false,
    }
}

/// A select receiving on `ch` beside a [`WakeOnceThenPend`] case.
async fn recv_while_polling(ch: &Chan<i32>) -> Option<i32> {
    select! {
        v = ch.recv() => v,
        _ = WakeOnceThenPend(false) => None,
    }
}

/// Two selects on the two ends of a rendezvous channel, each also polling a
/// future case while registered: a counterpart passes a `POLLING` entry by,
/// so each may pass the other by, but the one that finishes polling last
/// tries its channel again and pairs: both complete, with the value.
#[test]
fn polling_selects_still_pair() {
    loom::model(|| {
        let a = Chan::<i32>::new(0);
        let a2 = a.clone();
        let t = thread::spawn(move || block_on(send_while_polling(&a2, 1)));
        let got = block_on(recv_while_polling(&a));
        assert!(t.join().unwrap());
        assert_eq!(got, Some(1));
    });
}

/// A plain send and a plain receive, each against a select on the other
/// end that polls a future case while registered: the plain operation's
/// fast path (chan.rs, `send_fast`/`recv_fast`) takes only a waiting entry
/// at the head of the other queue, so it may find the select's entry busy,
/// go down the full path, pass it by and wait; the select, done polling,
/// tries its channel again and pairs with it. Both complete, with the value,
/// in both directions.
#[test]
fn plain_ops_vs_polling_select_still_pair() {
    loom::model(|| {
        let a = Chan::<i32>::new(0);
        let a2 = a.clone();
        let t = thread::spawn(move || block_on(send_while_polling(&a2, 1)));
        assert_eq!(block_on(a.recv()), Some(1));
        assert!(t.join().unwrap());

        let a2 = a.clone();
        let t = thread::spawn(move || block_on(recv_while_polling(&a2)));
        assert_eq!(block_on(a.send(2)), Ok(()));
        assert_eq!(t.join().unwrap(), Some(2));
    });
}

/// Two counterparts race for one waiting select (cases on two channels):
/// at most one hands over its value, and the select returns exactly that.
#[test]
fn two_senders_race_for_one_select() {
    loom::model(|| {
        let a = Chan::<i32>::new(0);
        let b = Chan::<i32>::new(0);
        let (a2, b2) = (a.clone(), b.clone());
        let waiter = thread::spawn(move || {
            block_on(async {
                select! {
                    v = a2.recv() => v,
                    v = b2.recv() => v,
                }
            })
        });
        let b3 = b.clone();
        let t2 = thread::spawn(move || b3.try_send(2).is_ok());
        let ok1 = a.try_send(1).is_ok();
        let ok2 = t2.join().unwrap();
        assert!(!(ok1 && ok2), "two values handed to one select");
        a.close();
        b.close();
        let got = waiter.join().unwrap();
        match (ok1, ok2) {
            (true, false) => assert_eq!(got, Some(1)),
            (false, true) => assert_eq!(got, Some(2)),
            _ => assert_eq!(got, None),
        }
    });
}

/// Close against a blocked sender: it wakes with its value back.
#[test]
fn close_vs_blocked_send() {
    loom::model(|| {
        let ch = Chan::<i32>::new(0);
        let c1 = ch.clone();
        let s = thread::spawn(move || block_on(c1.send(5)));
        ch.close();
        assert_eq!(s.join().unwrap(), Err(SendError(5)));
    });
}

/// Close against a blocked receiver: it wakes with `None`.
#[test]
fn close_vs_blocked_recv() {
    loom::model(|| {
        let ch = Chan::<i32>::new(1);
        let c1 = ch.clone();
        let r = thread::spawn(move || block_on(c1.recv()));
        ch.close();
        assert_eq!(r.join().unwrap(), None);
    });
}

/// Close racing a rendezvous pair, in a select: either the value is
/// delivered (Ok, Some) or both sides see the close (Err, None); never a mix.
#[test]
fn close_vs_rendezvous_pair() {
    loom::model(|| {
        let ch = Chan::<i32>::new(0);
        let c1 = ch.clone();
        let s = thread::spawn(move || {
            let r = block_on(c1.send(5));
            c1.close();
            r
        });
        let got = block_on(async {
            select! { v = ch.recv() => v }
        });
        let sent = s.join().unwrap();
        match sent {
            Ok(()) => assert_eq!(got, Some(5)),
            Err(e) => panic!("send failed: {e:?}"),
        }
        assert_eq!(block_on(ch.recv()), None);
    });
}

/// Cancel safety: a receive future dropped while a sender races to hand it
/// a value loses nothing: the value is either not sent, or still receivable.
#[test]
fn dropped_recv_loses_nothing() {
    loom::model(|| {
        use std::future::Future;
        use std::task::Context;
        let (tx, rx) = chan::<i32>(0);
        {
            let mut r = Box::pin(rx.recv());
            let waker = futures::task::noop_waker();
            let _ = r.as_mut().poll(&mut Context::from_waker(&waker));
            let t = thread::spawn(move || tx.try_send(3).is_ok());
            let sent = t.join().unwrap();
            drop(r); // never polled again
            if sent {
                assert_eq!(rx.try_recv(), Ok(3));
            }
        }
    });
}

/// The start of the two models below: receiver A (returned, polled once) is
/// handed 4; then receiver B (a thread) receives while another thread closes
/// the channel.
#[allow(clippy::type_complexity)]
fn handed_then_closing(
    ch: &Chan<i32>,
) -> (
    std::pin::Pin<Box<impl std::future::Future<Output = Option<i32>> + '_>>,
    thread::JoinHandle<Option<i32>>,
    thread::JoinHandle<bool>,
) {
    use std::future::Future;
    use std::task::Context;
    let waker = futures::task::noop_waker();
    let mut a = Box::pin(ch.recv());
    assert!(
        a.as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending()
    );
    ch.try_send(4).expect("A waits: the handoff succeeds");
    let c1 = ch.clone();
    let b = thread::spawn(move || block_on(c1.recv()));
    let c2 = ch.clone();
    let closer = thread::spawn(move || c2.close());
    (a, b, closer)
}

/// chan.rs invariant #5: receiver A is handed a value, the channel closes,
/// and receiver B, which may find it closed with that value in flight, waits
/// for it to settle. A collects the value: B is woken with `None`, never
/// left waiting, and never sees the value.
#[test]
fn close_vs_handed_recv() {
    loom::model(|| {
        use std::future::Future;
        use std::task::{Context, Poll};
        let ch = Chan::<i32>::new(0);
        let (mut a, b, closer) = handed_then_closing(&ch);
        let waker = futures::task::noop_waker();
        let a_got = match a.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("A was handed a value"),
        };
        drop(a);
        closer.join().unwrap();
        let b_got = b.join().unwrap();
        assert_eq!((a_got, b_got), (Some(4), None));
    });
}

/// As above, but A is dropped with the value uncollected: it goes back, and
/// B (or, if B saw nothing, the buffer) gets it; never lost, never twice.
#[test]
fn close_vs_dropped_handed_recv() {
    loom::model(|| {
        let ch = Chan::<i32>::new(0);
        let (a, b, closer) = handed_then_closing(&ch);
        drop(a); // never collects: the value goes back
        closer.join().unwrap();
        let b_got = b.join().unwrap();
        assert_eq!(b_got, Some(4));
        assert_eq!(block_on(ch.recv()), None);
    });
}

/// A generic future case (here another channel's receive, wrapped so that it
/// is not a channel case) races a counterpart on a channel case: exactly one
/// wins; a value handed to the losing channel case is not lost.
#[test]
fn future_case_vs_channel_case() {
    loom::model(|| {
        let a = Chan::<i32>::new(0);
        let b = Chan::<i32>::new(1);
        let (a2, b2) = (a.clone(), b.clone());
        let waiter = thread::spawn(move || {
            block_on(async {
                select! {
                    v = a2.recv() => v.map(|v| (0, v)),
                    v = async { b2.recv().await } => v.map(|v| (1, v)),
                }
            })
        });
        let b3 = b.clone();
        let t = thread::spawn(move || b3.try_send(2).is_ok());
        let sent_a = a.try_send(1).is_ok();
        let sent_b = t.join().unwrap();
        assert!(sent_b, "b has room");
        a.close();
        b.close();
        let got = waiter.join().unwrap();
        match got {
            Some((0, 1)) => {
                assert!(sent_a);
                // The future case did not complete: b's value is still there.
                assert_eq!(b.try_recv(), Ok(2));
            }
            Some((1, 2)) => {
                // a's value, if handed over, was given back to `a`.
                if sent_a {
                    assert_eq!(a.try_recv(), Ok(1));
                }
            }
            // a was closed before the select committed; b's receive did not
            // complete (a completed future case wins: invariant #8 of the
            // waiter module), so b's value is still there.
            None => {
                assert!(!sent_a);
                assert_eq!(b.try_recv(), Ok(2));
            }
            other => panic!("unexpected {other:?}"),
        }
    });
}

/// Cancel safety of a select: a pending select dropped while a sender races
/// to hand one of its receive cases a value loses nothing, and its send case
/// (not chosen) never delivers.
#[test]
fn dropped_select_loses_nothing() {
    loom::model(|| {
        use std::future::Future;
        use std::task::Context;
        let a = Chan::<i32>::new(0);
        let b = Chan::<i32>::new(0);
        let (a2, b2) = (a.clone(), b.clone());
        let sender = thread::spawn(move || a2.try_send(1).is_ok());
        let receiver = thread::spawn(move || b2.try_recv().ok());
        {
            let mut sel = Box::pin(async {
                select! {
                    v = a.recv() => v,
                    r = b.send(2) => r.ok().map(|()| 0),
                }
            });
            let waker = futures::task::noop_waker();
            let first = sel.as_mut().poll(&mut Context::from_waker(&waker));
            let sent = sender.join().unwrap();
            let took = receiver.join().unwrap();
            drop(sel);
            match first {
                std::task::Poll::Ready(Some(1)) => assert!(sent && took.is_none()),
                std::task::Poll::Ready(Some(0)) => assert_eq!(took, Some(2)),
                std::task::Poll::Ready(other) => panic!("unexpected {other:?}"),
                std::task::Poll::Pending => {
                    // Whatever the select was handed or took while pending:
                    // at most one case committed, and a handed value is back.
                    if sent && took.is_none() {
                        assert_eq!(a.try_recv(), Ok(1));
                    }
                    if took == Some(2) {
                        assert_eq!(a.try_recv().ok(), None, "two cases committed");
                    }
                }
            }
        }
    });
}

/// Entry reuse (`Entry::recycle`): on a rendezvous channel each side blocks
/// several times, in both directions, so a finished entry of one operation is
/// reset and queued again by a later one (possibly of the other direction).
/// Every value arrives exactly once, in order, and the reset is never seen by
/// a counterpart still holding the old entry.
#[test]
fn recycled_entries_reused() {
    loom::model(|| {
        let (tx, rx) = chan::<i32>(0);
        let (tx2, rx2) = (tx.clone(), rx.clone());
        let t = thread::spawn(move || {
            block_on(async {
                tx2.send(1).await.unwrap();
                assert_eq!(rx2.recv().await, Some(2));
            })
        });
        block_on(async {
            assert_eq!(rx.recv().await, Some(1));
            tx.send(2).await.unwrap();
        });
        t.join().unwrap();
    });
}

/// A select with `default` sees its channels at one instant (Go's
/// TestNonblockSelectRace): `c1` holds a value, and the other thread sends on
/// `c2` before it empties `c1`, so `default` must never be taken. (Under loom
/// cases are tried in source order: `c2` first, the order that would expose
/// channels checked one at a time.)
#[test]
fn default_sees_all_channels_at_once() {
    loom::model(|| {
        let (c1, c2) = (Chan::<i32>::new(1), Chan::<i32>::new(1));
        c1.try_send(1).unwrap();
        let (a, b) = (c1.clone(), c2.clone());
        let t = thread::spawn(move || {
            b.try_send(2).unwrap();
            let _ = a.try_recv();
        });
        let ok = block_on(async {
            select! {
                _ = c2.recv() => true,
                _ = c1.recv() => true,
                default => false,
            }
        });
        t.join().unwrap();
        assert!(ok, "default taken while a case was ready");
    });
}

/// `Select` (the run-time select) sending on two rendezvous channels
/// against a `select!` receiving on both: exactly one value moves, the two
/// sides agree on which, and the other value comes back from `into_unsent`.
#[test]
fn dynamic_select_vs_select_macro() {
    loom::model(|| {
        let a = Chan::<i32>::new(0);
        let b = Chan::<i32>::new(0);
        let (a2, b2) = (a.clone(), b.clone());
        let t = thread::spawn(move || {
            let mut sel = gust_chan::Select::new();
            sel.send(&a2, 1);
            sel.send(&b2, 2);
            let (i, out) = block_on(sel.wait());
            assert_eq!(out, gust_chan::select::Outcome::Send(Ok(())));
            let unsent = sel.into_unsent();
            assert_eq!(unsent.len(), 1);
            (i as i32 + 1, unsent[0].1)
        });
        let got = block_on(async {
            select! {
                v = a.recv() => v,
                v = b.recv() => v,
            }
        })
        .unwrap();
        let (sent, unsent) = t.join().unwrap();
        assert_eq!(got, sent);
        assert_eq!(got + unsent, 3);
    });
}

/// Invariant #9 of waiter.rs: a receiver that takes a blocked sender's value
/// hands the entry back under the lock, and the sender completes without
/// waiting for the lock, recycling the entry as the channel's spare when it
/// gets the lock at once (which the next blocking operation takes) and
/// freeing it otherwise. Two senders on two threads and a receiver on a
/// third: each value arrives once (boxed: a reset or a reuse that lost one
/// would leak it, or free it twice).
#[test]
fn handed_back_sends_recycle_their_entries() {
    loom::model(|| {
        let (tx, rx) = chan::<Box<i32>>(0);
        let tx2 = tx.clone();
        let a = thread::spawn(move || block_on(tx.send(Box::new(1))));
        let b = thread::spawn(move || block_on(tx2.send(Box::new(2))));
        let mut got = [*block_on(rx.recv()).unwrap(), *block_on(rx.recv()).unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
        assert!(a.join().unwrap().is_ok());
        assert!(b.join().unwrap().is_ok());
    });
}

/// A send polled, then polled again and dropped, while another thread takes
/// its value: the value is delivered once, or dropped with the future, never
/// both and never neither (a counted value). When the second poll completes,
/// the value was delivered.
#[test]
fn handed_back_send_vs_drop() {
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicUsize, Ordering};
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    loom::model(|| {
        use std::future::Future;
        use std::task::Context;
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = chan::<Counted>(0);
        let value = Counted(drops.clone());
        let t = thread::spawn(move || {
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            let mut s = Box::pin(tx.send(value));
            assert!(s.as_mut().poll(&mut cx).is_pending());
            let done = s.as_mut().poll(&mut cx);
            drop(s);
            done.is_ready()
        });
        let took = rx.try_recv().ok();
        let completed = t.join().unwrap();
        let delivered = took.is_some();
        drop(took);
        assert_eq!(drops.load(Ordering::Relaxed), 1, "the value exists once");
        if completed {
            assert!(delivered, "a completed send delivered its value");
        }
    });
}
