//! The same suite for both flavors: `zero` (rendezvous, cap 0) and `array`
//! (bounded, cap 3). Identical test names per flavor; the few assertions that
//! differ branch on `CAP`.
#![allow(clippy::reversed_empty_ranges, clippy::absurd_extreme_comparisons)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use futures::task::noop_waker_ref;

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    Pin::new(fut).poll(&mut Context::from_waker(noop_waker_ref()))
}

/// Values that count their drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn scale(n: usize) -> usize {
    if cfg!(miri) { n / 100 + 1 } else { n }
}

macro_rules! suite {
    ($flavor:ident, $cap:expr) => {
        mod $flavor {
            use super::*;
            use gust_chan::{Chan, Receiver, SendError, Sender, TryRecvError, TrySendError, chan};

            const CAP: usize = $cap;

            #[test]
            fn smoke() {
                let ch = Chan::new(CAP);
                let c2 = ch.clone();
                let t = thread::spawn(move || c2.send_blocking(7));
                assert_eq!(ch.recv_blocking(), Some(7));
                t.join().unwrap().unwrap();
            }

            #[test]
            fn capacity_and_len() {
                let (tx, rx) = chan::<u8>(CAP);
                assert_eq!(tx.cap(), CAP);
                assert_eq!(rx.cap(), CAP);
                for _ in 0..CAP {
                    tx.try_send(1).unwrap();
                }
                assert_eq!(tx.len(), CAP);
                assert_eq!(rx.len(), CAP);
                assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
                assert_eq!(rx.is_empty(), CAP == 0);
            }

            #[test]
            fn try_recv_empty_then_closed() {
                let (tx, rx) = chan::<u8>(CAP);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
                drop(tx);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
                assert!(rx.is_closed());
            }

            #[test]
            fn try_ops_pair_with_waiters() {
                // Go's non-blocking ops: on a rendezvous channel try_send
                // succeeds while a receiver waits, try_recv while a sender waits.
                let (tx, rx) = chan::<u8>(CAP);
                let mut r = rx.recv();
                assert!(poll_once(&mut r).is_pending());
                tx.try_send(5).unwrap();
                assert_eq!(poll_once(&mut r), Poll::Ready(Some(5)));
                for _ in 0..CAP {
                    tx.try_send(0).unwrap();
                }
                let mut s = tx.send(6);
                assert!(poll_once(&mut s).is_pending());
                for _ in 0..CAP {
                    assert_eq!(rx.try_recv(), Ok(0));
                }
                assert_eq!(rx.try_recv(), Ok(6));
                assert_eq!(poll_once(&mut s), Poll::Ready(Ok(())));
            }

            #[test]
            fn close_semantics() {
                let ch = Chan::<i32>::new(CAP);
                if CAP > 0 {
                    ch.try_send(1).unwrap();
                }
                assert!(ch.close());
                assert!(!ch.close());
                assert!(ch.is_closed());
                assert_eq!(ch.try_send(2), Err(TrySendError::Closed(2)));
                assert_eq!(ch.send_blocking(3), Err(SendError(3)));
                if CAP > 0 {
                    assert_eq!(ch.recv_blocking(), Some(1));
                }
                assert_eq!(ch.recv_blocking(), None);
                assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
            }

            #[test]
            fn last_sender_drop_closes() {
                let (tx, rx) = chan::<i32>(CAP);
                let tx2 = tx.clone();
                drop(tx);
                assert!(!rx.is_closed());
                let t = thread::spawn(move || rx.recv_blocking());
                thread::sleep(Duration::from_millis(10));
                drop(tx2);
                assert_eq!(t.join().unwrap(), None);
            }

            #[test]
            fn chan_counts_as_both_ends() {
                let ch = Chan::<i32>::new(CAP);
                let tx: Sender<i32> = ch.sender();
                let rx: Receiver<i32> = ch.receiver();
                drop(tx);
                assert!(!ch.is_closed(), "the Chan still sends");
                drop(rx);
                assert!(!ch.is_closed());
                let tx = Sender::from(ch);
                assert!(!tx.is_closed());
                // No receiving handle left: sends fail with the value.
                assert_eq!(tx.try_send(1), Err(TrySendError::Closed(1)));
            }

            #[test]
            fn no_receivers_fails_blocked_sender() {
                let (tx, rx) = chan::<i32>(CAP);
                for _ in 0..CAP {
                    tx.try_send(0).unwrap();
                }
                let t = thread::spawn(move || tx.send_blocking(9));
                thread::sleep(Duration::from_millis(10));
                drop(rx);
                assert_eq!(t.join().unwrap(), Err(SendError(9)));
            }

            #[test]
            fn close_wakes_every_waiter() {
                let ch = Chan::<i32>::new(CAP);
                let receivers: Vec<_> = (0..3)
                    .map(|_| {
                        let c = ch.clone();
                        thread::spawn(move || c.recv_blocking())
                    })
                    .collect();
                thread::sleep(Duration::from_millis(10));
                ch.close();
                for r in receivers {
                    assert_eq!(r.join().unwrap(), None);
                }
                let ch = Chan::<i32>::new(CAP);
                for _ in 0..CAP {
                    ch.try_send(0).unwrap();
                }
                let senders: Vec<_> = (0..3)
                    .map(|i| {
                        let c = ch.clone();
                        thread::spawn(move || c.send_blocking(i))
                    })
                    .collect();
                thread::sleep(Duration::from_millis(10));
                ch.close();
                for (i, s) in senders.into_iter().enumerate() {
                    assert_eq!(s.join().unwrap(), Err(SendError(i as i32)));
                }
            }

            #[test]
            fn waiters_are_fifo() {
                let (tx, rx) = chan::<usize>(CAP);
                for _ in 0..CAP {
                    tx.try_send(usize::MAX).unwrap();
                }
                let mut sends: Vec<_> = (0..5).map(|i| tx.send(i)).collect();
                for s in &mut sends {
                    assert!(poll_once(s).is_pending());
                }
                for _ in 0..CAP {
                    assert_eq!(rx.try_recv(), Ok(usize::MAX));
                }
                for i in 0..5 {
                    assert_eq!(rx.try_recv(), Ok(i));
                }
                drop(sends);
                let (tx, rx) = chan::<usize>(CAP);
                let mut recvs: Vec<_> = (0..5).map(|_| rx.recv()).collect();
                for r in &mut recvs {
                    assert!(poll_once(r).is_pending());
                }
                for i in 0..5 {
                    tx.try_send(i).unwrap();
                }
                for (i, r) in recvs.iter_mut().enumerate() {
                    assert_eq!(poll_once(r), Poll::Ready(Some(i)));
                }
            }

            #[test]
            fn spsc_threads() {
                let n = scale(10_000);
                let (tx, rx) = chan::<usize>(CAP);
                let t = thread::spawn(move || {
                    for i in 0..n {
                        tx.send_blocking(i).unwrap();
                    }
                });
                for i in 0..n {
                    assert_eq!(rx.recv_blocking(), Some(i));
                }
                assert_eq!(rx.recv_blocking(), None);
                t.join().unwrap();
            }

            #[test]
            fn mpmc_threads_checksum() {
                let n = scale(2_000);
                let (tx, rx) = chan::<usize>(CAP);
                let total = Arc::new(AtomicUsize::new(0));
                let mut hs = Vec::new();
                for p in 0..4 {
                    let tx = tx.clone();
                    hs.push(thread::spawn(move || {
                        for i in 0..n {
                            tx.send_blocking(p * n + i).unwrap();
                        }
                    }));
                }
                drop(tx);
                for _ in 0..4 {
                    let rx = rx.clone();
                    let total = total.clone();
                    hs.push(thread::spawn(move || {
                        while let Some(v) = rx.recv_blocking() {
                            total.fetch_add(v, Ordering::Relaxed);
                        }
                    }));
                }
                for h in hs {
                    h.join().unwrap();
                }
                let m = 4 * n;
                assert_eq!(total.load(Ordering::Relaxed), m * (m - 1) / 2);
            }

            #[test]
            #[cfg_attr(miri, ignore)]
            fn mpmc_tokio_checksum() {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let n = 2_000usize;
                    let (tx, rx) = chan::<usize>(CAP);
                    let mut hs = Vec::new();
                    for p in 0..4 {
                        let tx = tx.clone();
                        hs.push(tokio::spawn(async move {
                            for i in 0..n {
                                tx.send(p * n + i).await.unwrap();
                            }
                            0
                        }));
                    }
                    drop(tx);
                    for _ in 0..4 {
                        let rx = rx.clone();
                        hs.push(tokio::spawn(async move {
                            let mut sum = 0;
                            while let Some(v) = rx.recv().await {
                                sum += v;
                            }
                            sum
                        }));
                    }
                    let mut total = 0;
                    for h in hs {
                        total += h.await.unwrap();
                    }
                    let m = 4 * n;
                    assert_eq!(total, m * (m - 1) / 2);
                });
            }

            #[test]
            fn mpmc_futures_pool_checksum() {
                let pool = futures::executor::ThreadPool::builder()
                    .pool_size(2)
                    .create()
                    .unwrap();
                let n = scale(2_000);
                let (tx, rx) = chan::<usize>(CAP);
                let (done_tx, done_rx) = chan::<usize>(8);
                for p in 0..4 {
                    let tx = tx.clone();
                    pool.spawn_ok(async move {
                        for i in 0..n {
                            tx.send(p * n + i).await.unwrap();
                        }
                    });
                }
                drop(tx);
                for _ in 0..4 {
                    let rx = rx.clone();
                    let done = done_tx.clone();
                    pool.spawn_ok(async move {
                        let mut sum = 0;
                        while let Some(v) = rx.recv().await {
                            sum += v;
                        }
                        done.send(sum).await.unwrap();
                    });
                }
                drop(done_tx);
                let total: usize =
                    futures::executor::block_on(futures::StreamExt::collect::<Vec<_>>(done_rx))
                        .into_iter()
                        .sum();
                let m = 4 * n;
                assert_eq!(total, m * (m - 1) / 2);
            }

            #[test]
            fn stream_and_sink() {
                use futures::{SinkExt, StreamExt};
                let (mut tx, rx) = chan::<u32>(CAP);
                let t = thread::spawn(move || {
                    futures::executor::block_on(async {
                        for i in 0..10 {
                            tx.feed(i).await.unwrap();
                        }
                        SinkExt::close(&mut tx).await.unwrap();
                    })
                });
                let got: Vec<u32> = futures::executor::block_on(rx.collect());
                assert_eq!(got, (0..10).collect::<Vec<_>>());
                t.join().unwrap();
            }

            #[test]
            fn zero_sized_values() {
                let (tx, rx) = chan::<()>(CAP);
                let t = thread::spawn(move || {
                    for _ in 0..100 {
                        tx.send_blocking(()).unwrap();
                    }
                });
                for _ in 0..100 {
                    assert_eq!(rx.recv_blocking(), Some(()));
                }
                t.join().unwrap();
                let huge = Chan::<()>::new(if CAP == 0 { 0 } else { usize::MAX });
                assert_eq!(huge.cap(), if CAP == 0 { 0 } else { usize::MAX });
            }

            #[test]
            fn large_values() {
                let (tx, rx) = chan::<[u64; 512]>(CAP);
                let t = thread::spawn(move || {
                    for i in 0..8 {
                        tx.send_blocking([i; 512]).unwrap();
                    }
                });
                for i in 0..8 {
                    assert_eq!(rx.recv_blocking().unwrap()[511], i);
                }
                t.join().unwrap();
            }

            #[test]
            fn no_value_leaks_or_double_drops() {
                let drops = Arc::new(AtomicUsize::new(0));
                {
                    let (tx, rx) = chan::<Counted>(CAP);
                    for _ in 0..CAP {
                        tx.try_send(Counted(drops.clone())).unwrap();
                    }
                    let mut s = tx.send(Counted(drops.clone()));
                    assert!(poll_once(&mut s).is_pending());
                    let e = tx.try_send(Counted(drops.clone())).unwrap_err();
                    drop(e);
                    assert_eq!(drops.load(Ordering::SeqCst), 1);
                    drop(s); // cancelled: its value is dropped, not delivered
                    assert_eq!(drops.load(Ordering::SeqCst), 2);
                    drop(rx.try_recv());
                    drop((tx, rx)); // buffered values are dropped with the channel
                }
                assert_eq!(drops.load(Ordering::SeqCst), CAP + 2);
            }

            #[test]
            fn cancelled_recv_gives_value_back() {
                let (tx, rx) = chan::<i32>(CAP);
                let mut r = rx.recv();
                assert!(poll_once(&mut r).is_pending());
                tx.try_send(1).unwrap(); // handed straight to the waiting r
                if CAP > 0 {
                    tx.try_send(2).unwrap();
                }
                drop(r); // never polled again: the value goes back, in front
                assert_eq!(rx.try_recv(), Ok(1));
                if CAP > 0 {
                    assert_eq!(rx.try_recv(), Ok(2));
                }
                // With another receiver waiting, it gets the value directly.
                let mut r1 = rx.recv();
                let mut r2 = rx.recv();
                assert!(poll_once(&mut r1).is_pending());
                assert!(poll_once(&mut r2).is_pending());
                tx.try_send(3).unwrap();
                drop(r1);
                assert_eq!(poll_once(&mut r2), Poll::Ready(Some(3)));
            }

            #[test]
            fn value_in_flight_survives_close() {
                // r1 was handed a value, then the channel closed: r2 must not
                // see "closed and drained" while r1 may still give it back.
                let (tx, rx) = chan::<i32>(CAP);
                let mut r1 = rx.recv();
                assert!(poll_once(&mut r1).is_pending());
                tx.try_send(1).unwrap();
                drop(tx); // closes
                let mut r2 = rx.recv();
                assert!(poll_once(&mut r2).is_pending(), "a value is in flight");
                drop(r1); // gives 1 back, to r2
                assert_eq!(poll_once(&mut r2), Poll::Ready(Some(1)));
                assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
                // And when the holder collects, waiting receivers see None.
                let (tx, rx) = chan::<i32>(CAP);
                let mut r1 = rx.recv();
                assert!(poll_once(&mut r1).is_pending());
                tx.try_send(1).unwrap();
                tx.close();
                let mut r2 = rx.recv();
                assert!(poll_once(&mut r2).is_pending());
                assert_eq!(poll_once(&mut r1), Poll::Ready(Some(1)));
                assert_eq!(poll_once(&mut r2), Poll::Ready(None));
            }

            #[test]
            fn cancelled_send_is_not_delivered() {
                let (tx, rx) = chan::<i32>(CAP);
                for _ in 0..CAP {
                    tx.try_send(0).unwrap();
                }
                let mut s = tx.send(1);
                assert!(poll_once(&mut s).is_pending());
                drop(s);
                for _ in 0..CAP {
                    assert_eq!(rx.try_recv(), Ok(0));
                }
                assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            }

            #[test]
            #[cfg_attr(miri, ignore)] // Miri aborts on a huge allocation attempt
            #[should_panic(expected = "capacity 1152921504606846975")]
            fn unallocatable_capacity_panics() {
                let _ = Chan::<u64>::new(if CAP == 0 {
                    usize::MAX >> 4
                } else {
                    usize::MAX >> 4
                });
            }
        }
    };
}

suite!(zero, 0);
suite!(array, 3);
