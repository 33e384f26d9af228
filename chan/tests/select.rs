//! `select!` semantics: readiness, default, disabled cases, expression and
//! control flow, send cases, fairness (statistical bounds), generic future
//! cases, and rendezvous select-vs-select pairing.

use std::cell::Cell;
use std::future::{Future, pending, ready};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::executor::block_on;
use futures::task::noop_waker_ref;
use gust_chan::{Chan, SendError, TryRecvError, chan, select};

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(noop_waker_ref()))
}

fn scale(n: usize) -> usize {
    if cfg!(miri) { n / 50 + 1 } else { n }
}

#[test]
fn ready_recv_case() {
    let (tx, rx) = chan::<i32>(1);
    let (_tx2, rx2) = chan::<i32>(1);
    tx.try_send(4).unwrap();
    let v = block_on(async {
        select! {
            v = rx.recv() => v,
            v = rx2.recv() => v.map(|x| x + 100),
        }
    });
    assert_eq!(v, Some(4));
}

#[test]
fn default_when_nothing_ready() {
    let (_tx, rx) = chan::<i32>(0);
    let got = block_on(async {
        select! {
            _ = rx.recv() => "recv",
            default => "default",
        }
    });
    assert_eq!(got, "default");
    // A ready case beats default.
    let (tx, rx) = chan::<i32>(1);
    tx.try_send(1).unwrap();
    let got = block_on(async {
        select! {
            _ = rx.recv() => "recv",
            default => { "default" }
        }
    });
    assert_eq!(got, "recv");
}

#[test]
fn only_default() {
    let x = block_on(async {
        select! { default => 5 }
    });
    assert_eq!(x, 5);
}

#[test]
fn disabled_case_not_evaluated_nor_chosen() {
    let (tx, rx) = chan::<i32>(1);
    tx.try_send(1).unwrap();
    let evaluated = Cell::new(false);
    let got = block_on(async {
        select! {
            v = { evaluated.set(true); rx.recv() }, if false => v,
            default => None,
        }
    });
    assert_eq!(got, None);
    assert!(!evaluated.get());
    assert_eq!(rx.try_recv(), Ok(1), "the disabled case took nothing");
}

#[test]
fn all_disabled_without_default_waits_forever() {
    let (tx, rx) = chan::<i32>(1);
    tx.try_send(1).unwrap();
    let mut fut = Box::pin(async {
        select! {
            v = rx.recv(), if false => v,
        }
    });
    for _ in 0..3 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    let mut empty = Box::pin(async {
        select! {}
    });
    assert!(poll_once(empty.as_mut()).is_pending());
}

#[test]
fn cases_evaluated_once_in_source_order() {
    let log = std::cell::RefCell::new(Vec::new());
    let (tx, rx) = chan::<i32>(1);
    tx.try_send(0).unwrap();
    block_on(async {
        select! {
            _ = { log.borrow_mut().push(1); rx.recv() } => {}
            _ = { log.borrow_mut().push(2); pending::<()>() }, if { log.borrow_mut().push(3); true } => {}
            _ = { log.borrow_mut().push(4); pending::<()>() } => {}
        }
    });
    assert_eq!(*log.borrow(), [1, 3, 2, 4]);
}

#[test]
fn is_an_expression_with_control_flow() {
    fn run() -> Result<i32, String> {
        block_on(async {
            let (tx, rx) = chan::<i32>(8);
            for i in 1..=5 {
                tx.try_send(i).unwrap();
            }
            tx.close();
            let mut sum = 0;
            loop {
                let v = select! {
                    v = rx.recv() => match v {
                        Some(3) => continue,
                        Some(v) => v,
                        None => break,
                    },
                };
                sum += v;
            }
            let r: Result<i32, String> = Err("boom".into());
            let (_t, never) = chan::<i32>(0);
            select! {
                _ = never.recv() => {}
                default => { let _ = r?; }
            }
            Ok(sum)
        })
    }
    assert_eq!(run(), Err("boom".to_string()));
    fn early_return() -> i32 {
        block_on(async {
            let (tx, rx) = chan::<i32>(1);
            tx.try_send(9).unwrap();
            loop {
                select! {
                    v = rx.recv() => return v.unwrap(),
                    default => {}
                }
            }
        })
    }
    assert_eq!(early_return(), 9);
}

#[test]
fn body_may_use_what_cases_borrowed() {
    let (tx, rx) = chan::<i32>(1);
    tx.try_send(1).unwrap();
    block_on(async {
        select! {
            v = rx.recv() => { drop(rx); assert_eq!(v, Some(1)); }
        }
    });
}

#[test]
fn send_case_commits_and_unchosen_send_does_not_deliver() {
    let (tx1, rx1) = chan::<i32>(1);
    let (tx2, rx2) = chan::<i32>(0);
    let r = block_on(async {
        select! {
            r = tx1.send(1) => r.map(|()| 1),
            r = tx2.send(2) => r.map(|()| 2), // nobody receives on rx2
        }
    });
    assert_eq!(r, Ok(1));
    assert_eq!(rx1.try_recv(), Ok(1));
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn send_case_on_closed_channel_returns_value() {
    let (tx, rx) = chan::<String>(0);
    drop(rx);
    let r = block_on(async {
        select! {
            r = tx.send("v".to_string()) => r,
        }
    });
    assert_eq!(r, Err(SendError("v".to_string())));
}

#[test]
fn recv_case_sees_close() {
    let (tx, rx) = chan::<i32>(0);
    let t = thread::spawn(move || {
        block_on(async {
            select! {
                v = rx.recv() => v,
            }
        })
    });
    thread::sleep(Duration::from_millis(10));
    tx.close();
    assert_eq!(t.join().unwrap(), None);
}

#[test]
fn self_select_does_not_pair_with_itself() {
    // A select sending and receiving on the same rendezvous channel must not
    // pair with itself (Go: TestSelfSelect).
    let ch = Chan::<i32>::new(0);
    let mut fut = Box::pin(async {
        select! {
            r = ch.send(1) => r.map(|()| -1).unwrap_or(-2),
            v = ch.recv() => v.unwrap_or(-3),
        }
    });
    for _ in 0..3 {
        assert!(poll_once(fut.as_mut()).is_pending());
    }
    // Someone else can complete either side.
    ch.try_send(5)
        .unwrap_or_else(|_| panic!("the select waits to receive"));
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready(5));
}

/// Counts how often each case wins over `n` selects on always-ready cases.
fn tally(n: usize, mut pick: impl FnMut() -> usize, k: usize) -> Vec<usize> {
    let mut counts = vec![0; k];
    for _ in 0..n {
        counts[pick()] += 1;
    }
    counts
}

/// Asserts each count is within 6 standard deviations of n*p.
fn assert_uniform(counts: &[usize], p: f64) {
    let n: usize = counts.iter().sum();
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    for &c in counts {
        assert!(
            (c as f64 - mean).abs() < 6.0 * sd + 1.0,
            "counts {counts:?} not uniform (p = {p})"
        );
    }
}

#[test]
fn fairness_between_ready_channels() {
    let n = scale(20_000);
    let (tx1, rx1) = chan::<()>(1);
    let (tx2, rx2) = chan::<()>(1);
    let (tx3, rx3) = chan::<()>(1);
    let counts = tally(
        n,
        || {
            let _ = tx1.try_send(());
            let _ = tx2.try_send(());
            let _ = tx3.try_send(());
            block_on(async {
                select! {
                    _ = rx1.recv() => 0,
                    _ = rx2.recv() => 1,
                    _ = rx3.recv() => 2,
                }
            })
        },
        3,
    );
    assert_uniform(&counts, 1.0 / 3.0);
}

#[test]
fn fairness_is_a_permutation_not_a_rotation() {
    // Case 0 is never ready; a random rotation would pick case 1 two times in
    // three. A uniform permutation picks 1 and 2 equally.
    let n = scale(20_000);
    let (_tx0, rx0) = chan::<()>(0);
    let (tx1, rx1) = chan::<()>(1);
    let (tx2, rx2) = chan::<()>(1);
    let counts = tally(
        n,
        || {
            let _ = tx1.try_send(());
            let _ = tx2.try_send(());
            block_on(async {
                select! {
                    _ = rx0.recv() => 0,
                    _ = rx1.recv() => 0,
                    _ = rx2.recv() => 1,
                }
            })
        },
        2,
    );
    assert_uniform(&counts, 0.5);
}

#[test]
fn fairness_covers_future_cases() {
    let n = scale(20_000);
    let (tx, rx) = chan::<()>(1);
    let counts = tally(
        n,
        || {
            let _ = tx.try_send(());
            block_on(async {
                select! {
                    _ = rx.recv() => 0,
                    _ = ready(()) => 1,
                    _ = async {} => 2,
                }
            })
        },
        3,
    );
    assert_uniform(&counts, 1.0 / 3.0);
}

#[test]
fn fairness_between_send_and_recv_cases() {
    let n = scale(20_000);
    let (tx, rx) = chan::<()>(1);
    let (tx2, rx2) = chan::<()>(1);
    let counts = tally(
        n,
        || {
            let _ = rx2.try_recv();
            let _ = tx.try_send(());
            block_on(async {
                select! {
                    _ = rx.recv() => 0,
                    _ = tx2.send(()) => 1,
                }
            })
        },
        2,
    );
    assert_uniform(&counts, 0.5);
}

#[test]
#[cfg_attr(miri, ignore)]
fn future_case_timeout_wins_when_nothing_else() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_tx, rx) = chan::<i32>(0);
        let got = select! {
            _ = rx.recv() => "recv",
            _ = tokio::time::sleep(Duration::from_millis(5)) => "timeout",
        };
        assert_eq!(got, "timeout");
    });
}

#[test]
#[cfg_attr(miri, ignore)]
fn select_future_is_send_and_runs_in_spawn() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = chan::<u64>(0);
        let (tx2, rx2) = chan::<u64>(0);
        let h = tokio::spawn(async move {
            let mut got = 0;
            for _ in 0..100 {
                select! {
                    v = rx.recv() => got += v.unwrap(),
                    v = rx2.recv() => got += v.unwrap(),
                    _ = tokio::time::sleep(Duration::from_secs(10)) => panic!("stuck"),
                }
            }
            got
        });
        for i in 0..100u64 {
            if i % 2 == 0 {
                tx.send(i).await.unwrap()
            } else {
                tx2.send(i).await.unwrap()
            }
        }
        assert_eq!(h.await.unwrap(), 4950);
    });
}

#[test]
fn rendezvous_select_vs_select() {
    // Both sides of each rendezvous channel are selects (Go:
    // test/chan/doubleselect.go in miniature).
    let n = scale(5_000);
    let a = Chan::<usize>::new(0);
    let b = Chan::<usize>::new(0);
    let (a2, b2) = (a.clone(), b.clone());
    let sender = thread::spawn(move || {
        block_on(async {
            for i in 0..n {
                select! {
                    r = a2.send(i) => r.unwrap(),
                    r = b2.send(i) => r.unwrap(),
                }
            }
            a2.close();
        })
    });
    let sum = Arc::new(AtomicUsize::new(0));
    let mut receivers = Vec::new();
    for _ in 0..2 {
        let (a, b, sum) = (a.clone(), b.clone(), sum.clone());
        receivers.push(thread::spawn(move || {
            block_on(async {
                let mut count = 0;
                loop {
                    select! {
                        v = a.recv() => match v {
                            Some(v) => { sum.fetch_add(v, Ordering::Relaxed); count += 1; }
                            None => break,
                        },
                        v = b.recv() => { sum.fetch_add(v.unwrap(), Ordering::Relaxed); count += 1; }
                    }
                }
                count
            })
        }));
    }
    sender.join().unwrap();
    let count: usize = receivers.into_iter().map(|r| r.join().unwrap()).sum();
    assert_eq!(count, n);
    assert_eq!(sum.load(Ordering::Relaxed), n * (n - 1) / 2);
}

#[test]
fn dropped_select_gives_back_a_handed_value() {
    let (tx, rx) = chan::<i32>(0);
    let (_tx2, rx2) = chan::<i32>(0);
    let mut fut = Box::pin(async {
        select! {
            v = rx.recv() => v,
            v = rx2.recv() => v,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    tx.try_send(7).unwrap(); // the waiting select is chosen and handed 7
    drop(fut); // but never polled again
    assert_eq!(rx.try_recv(), Ok(7), "the value went back to the channel");
}

#[test]
fn dropped_select_never_delivers_unchosen_send() {
    let (tx, rx) = chan::<i32>(0);
    let (tx2, rx2) = chan::<i32>(0);
    let mut fut = Box::pin(async {
        select! {
            r = tx.send(1) => r,
            r = tx2.send(2) => r,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(fut);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn duplicate_channel_cases() {
    // Go: TestSelectDuplicateChannel. The same channel in two cases.
    let ch = Chan::<i32>::new(0);
    let c2 = ch.clone();
    let t = thread::spawn(move || {
        block_on(async {
            select! {
                v = c2.recv() => v,
                v = c2.recv() => v,
            }
        })
    });
    ch.send_blocking(3).unwrap();
    assert_eq!(t.join().unwrap(), Some(3));
}

#[test]
fn counterpart_queued_while_a_future_case_runs_is_not_missed() {
    // The future case queues a send on the channel the recv case watches,
    // while the select has its locks released to poll it. In either poll
    // order the select must find that sender before it queues itself.
    let ch = Chan::<i32>::new(0);
    for _ in 0..64 {
        let mut fut = Box::pin(async {
            select! {
                v = ch.recv() => v,
                _ = async { ch.send(7).await.unwrap() } => None,
            }
        });
        assert_eq!(poll_once(fut.as_mut()), Poll::Ready(Some(7)));
    }
}

#[test]
fn futures_polled_before_becoming_cases() {
    // A recv future that was already waiting (and was even handed a value)
    // becomes a fresh case without losing that value.
    let (tx, rx) = chan::<i32>(0);
    let mut r = rx.recv();
    assert!(poll_once(Pin::new(&mut r)).is_pending());
    tx.try_send(1).unwrap();
    let got = block_on(async {
        select! { v = r => v }
    });
    assert_eq!(got, Some(1));
    // A send future whose value was already delivered completes at once.
    let (tx, rx) = chan::<i32>(0);
    let mut s = tx.send(2);
    assert!(poll_once(Pin::new(&mut s)).is_pending());
    assert_eq!(rx.try_recv(), Ok(2));
    let r = block_on(async {
        select! { r = s => r }
    });
    assert_eq!(r, Ok(()));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "not sent twice");
    // One that was waiting, not yet delivered, is re-offered.
    let mut s = tx.send(3);
    assert!(poll_once(Pin::new(&mut s)).is_pending());
    std::thread::scope(|sc| {
        let t = sc.spawn(move || {
            block_on(async {
                select! { r = s => r }
            })
        });
        assert_eq!(rx.recv_blocking(), Some(3));
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}

/// A select with `default` sees all its channels at one instant (Go's
/// TestNonblockSelectRace, in a tight loop on two long-lived threads): `c1`
/// holds a value when the select starts, and the other thread sends on `c2`
/// before it empties `c1`, so at every instant one case is ready and
/// `default` must never be taken. Checking the channels one at a time (`c2`
/// before the send, `c1` after the receive) would take it.
#[test]
fn default_sees_all_channels_at_once() {
    let n = scale(50_000);
    let (c1, c2) = (Chan::<u32>::new(1), Chan::<u32>::new(1));
    let (go, went) = chan::<()>(1);
    let (report, reports) = chan::<bool>(1);
    let (a, b) = (c1.clone(), c2.clone());
    let selector = thread::spawn(move || {
        while went.recv_blocking().is_some() {
            let ok = block_on(async {
                select! {
                    _ = a.recv() => true,
                    _ = b.recv() => true,
                    default => false,
                }
            });
            report.send_blocking(ok).unwrap();
        }
    });
    for i in 0..n {
        c1.try_send(1).unwrap();
        go.send_blocking(()).unwrap();
        c2.try_send(1).unwrap();
        let _ = c1.try_recv();
        assert!(
            reports.recv_blocking().unwrap(),
            "iteration {i}: default taken while a case was ready"
        );
        let _ = c1.try_recv();
        let _ = c2.try_recv();
    }
    drop(go);
    selector.join().unwrap();
}

/// A generic future case that completes while a counterpart tries a channel
/// case of the same select: one of the two commits, never both. Here the
/// future's second poll (the select is then waiting, its receive case queued)
/// makes another thread `try_send` to that receive case before it returns
/// `Ready`. That send must not complete (the select is busy polling: no
/// receiver is waiting at that instant), or the future's output would be
/// dropped: a read's bytes, a timer's fire, a task's result lost. Go has
/// the same rule for free (its select holds the channel locks while it runs).
#[test]
fn future_case_output_is_never_dropped_for_a_channel_case() {
    struct SendsThenReady<'a> {
        ch: &'a Chan<i32>,
        polls: u32,
        sent: &'a Cell<bool>,
        produced: &'a Cell<bool>,
    }
    impl Future for SendsThenReady<'_> {
        type Output = i32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
            self.polls += 1;
            if self.polls == 1 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let ch = self.ch.clone();
            let sent = thread::spawn(move || ch.try_send(1).is_ok())
                .join()
                .unwrap();
            self.sent.set(sent);
            self.produced.set(true);
            Poll::Ready(42)
        }
    }
    for _ in 0..scale(32) {
        let ch = Chan::<i32>::new(0);
        let (sent, produced) = (Cell::new(false), Cell::new(false));
        let got = block_on(async {
            select! {
                v = ch.recv() => ("recv", v),
                v = (SendsThenReady { ch: &ch, polls: 0, sent: &sent, produced: &produced }) => ("future", Some(v)),
            }
        });
        match got {
            ("future", Some(42)) => assert!(!sent.get(), "a value sent to the select was lost"),
            ("recv", Some(1)) => assert!(!produced.get(), "the future's output was dropped"),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A future case costs the enclosing future its size once, in its case.
/// (While the `Wrap` it was moved out of lived to the select's end, it
/// took its size twice: 2,072 bytes for a 1 KiB future.)
#[test]
fn future_case_stored_once() {
    let (_tx, rx) = chan::<u8>(1);
    let big = || async {
        let buf = [1u8; 1024];
        pending::<()>().await;
        buf[0]
    };
    assert!(std::mem::size_of_val(&big()) >= 1024);
    let without = async {
        select! { v = rx.recv() => v }
    };
    let with = async {
        select! {
            v = rx.recv() => v,
            v = big() => Some(v),
        }
    };
    let grew = std::mem::size_of_val(&with) - std::mem::size_of_val(&without);
    assert!(
        grew < 1024 + 256,
        "a 1 KiB future case grew the select by {grew} bytes"
    );
    let guarded = async {
        select! {
            v = rx.recv() => v,
            v = big(), if rx.is_empty() => Some(v),
        }
    };
    let grew = std::mem::size_of_val(&guarded) - std::mem::size_of_val(&without);
    assert!(
        grew < 1024 + 256,
        "a guarded 1 KiB future case grew the select by {grew} bytes"
    );
}

/// A send case keeps its value once: in its state until a receiver takes it,
/// and the output of a send that failed hands that same value back (it took
/// the value's size twice while the output had room for a `SendError` of its
/// own: 2,104 bytes for a 1 KiB value).
#[test]
fn send_case_value_stored_once() {
    let (_tx, rx) = chan::<u8>(1);
    let (big_tx, big_rx) = chan::<[u8; 1024]>(0);
    let without = async {
        select! { v = rx.recv() => v }
    };
    let with = async {
        select! {
            v = rx.recv() => v,
            r = big_tx.send([7; 1024]) => r.err().map(|e| e.0[0]),
        }
    };
    let grew = std::mem::size_of_val(&with) - std::mem::size_of_val(&without);
    assert!(
        grew < 1024 + 256,
        "a send case of 1 KiB grew the select by {grew} bytes"
    );
    drop(with);
    // The value comes back whole from a send case that the close chose.
    drop(big_rx);
    let back = block_on(async {
        select! {
            r = big_tx.send([7; 1024]) => r.unwrap_err().0,
        }
    });
    assert_eq!(back, [7; 1024]);
    // And from one that waited, queued, when the last receiver went.
    let (tx, rx) = chan::<[u8; 1024]>(0);
    let mut fut = Box::pin(async {
        select! {
            r = tx.send([9; 1024]) => r.unwrap_err().0,
        }
    });
    assert!(poll_once(fut.as_mut()).is_pending());
    drop(rx);
    assert_eq!(poll_once(fut.as_mut()), Poll::Ready([9; 1024]));
}

/// A send case whose channel closes while the select, registered, polls a
/// future case: `close` unlinks the entry of a polling select without
/// choosing it, the select's next look at its channel cases finds the
/// channel closed and the value back, and the arm gets that value (found by
/// a review of the first version of `ChanOp::Done`, whose end of the select
/// then dropped the value and panicked).
#[test]
fn send_case_closed_while_polling_a_future_case() {
    let c = Chan::<String>::new(0);
    let polls = Cell::new(0);
    let closer = std::future::poll_fn(|cx| {
        polls.set(polls.get() + 1);
        match polls.get() {
            1 => cx.waker().wake_by_ref(), // polled again, registered
            2 => {
                c.close();
            }
            _ => {}
        }
        Poll::<()>::Pending
    });
    let got = block_on(async {
        select! {
            r = c.send("v".to_string()) => r,
            _ = closer => unreachable!("the closer never completes"),
        }
    });
    assert_eq!(got, Err(SendError("v".to_string())));
}
