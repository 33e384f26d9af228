//! `select!` as Rust users write it (tokio's conventions): refutable
//! patterns disable their case when they do not match, and `biased;` tries
//! the cases in source order.

use std::future::{pending, ready};
use std::pin::pin;
use std::task::Poll;

use futures::executor::block_on;
use futures::task::noop_waker_ref;
use gust_chan::{SendError, chan, select};

/// `Some(v) = rx.recv()`: a closed channel's `None` does not match, so the
/// case is disabled and the select goes on with the others. The receive
/// that returned `None` consumed nothing.
#[test]
fn closed_channel_disables_a_some_pattern() {
    block_on(async {
        let (tx, rx) = chan::<i32>(1);
        let (tx2, rx2) = chan::<i32>(1);
        drop(tx);
        tx2.try_send(5).unwrap();
        for _ in 0..50 {
            let got = select! {
                Some(v) = rx.recv() => v,
                Some(v) = rx2.recv() => v * 10,
            };
            assert_eq!(got, 50);
            tx2.try_send(5).unwrap();
        }
    });
}

/// Every case rejected and a `default`: the default runs.
#[test]
fn all_rejected_runs_default() {
    block_on(async {
        let (tx, rx) = chan::<i32>(1);
        drop(tx);
        let got = select! {
            Some(v) = rx.recv() => v,
            default => -1,
        };
        assert_eq!(got, -1);
    });
}

/// Every case rejected and no `default`: the select waits, as with every
/// case disabled (Go's nil channels), until another case completes.
#[test]
fn all_rejected_without_default_waits() {
    let (tx, rx) = chan::<i32>(1);
    drop(tx);
    let (tx2, rx2) = chan::<i32>(1);
    let mut fut = pin!(async {
        select! {
            Some(v) = rx.recv() => v,
            Some(v) = rx2.recv(), if false => v,
            Ok(v) = ready(Err::<i32, ()>(())) => v,
        }
    });
    let mut cx = std::task::Context::from_waker(noop_waker_ref());
    for _ in 0..3 {
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    drop(tx2);
    assert!(fut.as_mut().poll(&mut cx).is_pending());
}

/// A value pattern that rejects what was received: the value stays
/// consumed (as tokio's `select!` drops it), the case is disabled, and
/// another case wins.
#[test]
fn rejected_value_is_consumed_and_the_case_disabled() {
    block_on(async {
        let (tx, rx) = chan::<i32>(4);
        let (tx2, rx2) = chan::<i32>(4);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        tx2.try_send(7).unwrap();
        let got = select! {
            biased;
            Some(2) = rx.recv() => "two",
            Some(v) = rx2.recv() => if v == 7 { "rx2" } else { "?" },
        };
        assert_eq!(got, "rx2");
        assert_eq!(rx.try_recv(), Ok(2), "1 was received and rejected");
    });
}

/// Patterns with `mut`, `ref`, nested groups, or-patterns and slices.
#[test]
fn patterns_of_every_shape() {
    block_on(async {
        let (tx, rx) = chan::<(i32, String)>(1);
        tx.try_send((1, "a".into())).unwrap();
        let got = select! {
            Some((n, mut s)) = rx.recv() => { s.push('!'); (n, s) }
        };
        assert_eq!(got, (1, "a!".to_string()));

        let (tx, rx) = chan::<Option<[u8; 3]>>(2);
        tx.try_send(Some([1, 2, 3])).unwrap();
        let got = select! {
            Some(Some([first, .., ref last])) = rx.recv() => u32::from(first) + u32::from(*last),
        };
        assert_eq!(got, 4);

        let (tx, rx) = chan::<u8>(1);
        tx.try_send(3).unwrap();
        let got = select! {
            Some(1 | 3) = rx.recv() => true,
            default => false,
        };
        assert!(got);

        struct P {
            x: i32,
            y: Vec<i32>,
        }
        let (tx, rx) = chan::<P>(1);
        tx.try_send(P { x: 1, y: vec![2] }).unwrap();
        let got = select! {
            Some(P { x: 1, mut y }) = rx.recv() => { y.push(3); y }
        };
        assert_eq!(got, [2, 3]);
    });
}

/// A send case's pattern: `Ok(())` is rejected when the channel is closed
/// (the value comes back in the `Err` and is dropped with it).
#[test]
fn send_case_patterns() {
    block_on(async {
        let (tx, rx) = chan::<i32>(1);
        drop(rx);
        let got = select! {
            Ok(()) = tx.send(1) => "sent",
            default => "closed",
        };
        assert_eq!(got, "closed");
        let got = select! {
            Err(SendError(v)) = tx.send(2) => v,
        };
        assert_eq!(got, 2);
    });
}

/// A future case rejected by its pattern is disabled; its output is dropped.
#[test]
fn future_case_patterns() {
    block_on(async {
        let got = select! {
            Some(v) = ready(None::<i32>) => v,
            Ok(v) = ready(Ok::<i32, ()>(4)) => v * 2,
        };
        assert_eq!(got, 8);
    });
}

/// `biased;` tries the cases in source order: with all ready, the first
/// always wins; a disabled or unready first case passes to the next.
#[test]
fn biased_polls_in_source_order() {
    block_on(async {
        let (tx1, rx1) = chan::<i32>(1000);
        let (tx2, rx2) = chan::<i32>(1000);
        for i in 0..500 {
            tx1.try_send(i).unwrap();
            tx2.try_send(i).unwrap();
        }
        for i in 0..500 {
            let got = select! {
                biased;
                v = rx1.recv() => (1, v),
                v = rx2.recv() => (2, v),
            };
            assert_eq!(got, (1, Some(i)));
        }
        let got = select! {
            biased;
            v = rx1.recv() => (1, v.unwrap()),
            v = rx2.recv() => (2, v.unwrap()),
        };
        assert_eq!(got, (2, 0), "rx1 is empty");
        let got = select! {
            biased;
            _ = pending::<()>() => 0,
            v = rx2.recv(), if false => v.unwrap(),
            v = rx2.recv() => v.unwrap(),
            default => -1,
        };
        assert_eq!(got, 1);
    });
}

/// Without `biased;` the same select spreads over both cases.
#[test]
fn unbiased_spreads() {
    block_on(async {
        let (tx1, rx1) = chan::<i32>(1000);
        let (tx2, rx2) = chan::<i32>(1000);
        for i in 0..500 {
            tx1.try_send(i).unwrap();
            tx2.try_send(i).unwrap();
        }
        let mut firsts = 0;
        for _ in 0..400 {
            select! {
                _ = rx1.recv() => firsts += 1,
                _ = rx2.recv() => {}
            }
        }
        // Binomial(400, 1/2): below 120 or above 280 has probability ~1e-16.
        assert!((120..=280).contains(&firsts), "{firsts}");
    });
}

/// A select's future may be polled and left pending, then complete later.
#[test]
fn pattern_select_pends_then_completes() {
    let (tx, rx) = chan::<i32>(0);
    let mut fut = pin!(async {
        select! {
            Some(v) = rx.recv() => v,
        }
    });
    let mut cx = std::task::Context::from_waker(noop_waker_ref());
    assert!(fut.as_mut().poll(&mut cx).is_pending());
    assert!(tx.try_send(9).is_ok());
    assert_eq!(fut.as_mut().poll(&mut cx), Poll::Ready(9));
}
