//! Stress with checksums: nothing lost, nothing duplicated, under random
//! cancellation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gust_chan::{Chan, chan, select};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A random short timeout, as a select case that cancels the others: one
/// time in eight already expired (cancels operations before they queue),
/// otherwise a timer (cancels queued ones).
async fn random_timeout() {
    if fastrand::u8(..8) != 0 {
        tokio::time::sleep(Duration::from_micros(fastrand::u64(0..1_500))).await;
    }
}

/// 8 tasks loop a select sending on 3 rendezvous channels, 8 tasks loop a
/// select receiving on them, both with random timeouts as a fourth case that
/// cancels the channel operations. Every value sent (`Ok`) is received exactly
/// once; a value whose send timed out is retried, so every value ends up
/// received exactly once.
#[test]
#[cfg_attr(miri, ignore)]
fn select_send_recv_with_timeouts_checksum() {
    const SENDERS: usize = 8;
    const RECEIVERS: usize = 8;
    const PER_SENDER: usize = 1_500;
    let timeouts = Arc::new(AtomicUsize::new(0));
    rt().block_on(async {
        let chans: Arc<[Chan<usize>; 3]> = Arc::new([Chan::new(0), Chan::new(0), Chan::new(0)]);
        let mut senders = Vec::new();
        for s in 0..SENDERS {
            let (chans, timeouts) = (chans.clone(), timeouts.clone());
            senders.push(tokio::spawn(async move {
                for i in 0..PER_SENDER {
                    let v = s * PER_SENDER + i;
                    loop {
                        let sent = select! {
                            r = chans[0].send(v) => { r.unwrap(); true }
                            r = chans[1].send(v) => { r.unwrap(); true }
                            r = chans[2].send(v) => { r.unwrap(); true }
                            _ = random_timeout() => false,
                        };
                        if sent {
                            break;
                        }
                        timeouts.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        let mut receivers = Vec::new();
        for _ in 0..RECEIVERS {
            let (chans, timeouts) = (chans.clone(), timeouts.clone());
            receivers.push(tokio::spawn(async move {
                let mut got = Vec::new();
                let mut open = [true; 3];
                while open.iter().any(|&o| o) {
                    select! {
                        v = chans[0].recv(), if open[0] => match v { Some(v) => got.push(v), None => open[0] = false },
                        v = chans[1].recv(), if open[1] => match v { Some(v) => got.push(v), None => open[1] = false },
                        v = chans[2].recv(), if open[2] => match v { Some(v) => got.push(v), None => open[2] = false },
                        _ = random_timeout() => { timeouts.fetch_add(1, Ordering::Relaxed); }
                    }
                }
                got
            }));
        }
        for s in senders {
            s.await.unwrap();
        }
        for c in chans.iter() {
            c.close();
        }
        let mut all = Vec::new();
        for r in receivers {
            all.extend(r.await.unwrap());
        }
        all.sort_unstable();
        let want: Vec<usize> = (0..SENDERS * PER_SENDER).collect();
        assert_eq!(all.len(), want.len(), "lost or duplicated values");
        assert_eq!(all, want);
    });
    assert!(
        timeouts.load(Ordering::Relaxed) > 0,
        "no operation was ever cancelled"
    );
}

/// Standalone `recv`/`send` futures dropped at random points (tokio's
/// `timeout`), on both flavors: the multiset received equals the multiset
/// whose send returned `Ok`.
#[test]
#[cfg_attr(miri, ignore)]
fn dropped_futures_lose_nothing() {
    for cap in [0, 2] {
        rt().block_on(async {
            let (tx, rx) = chan::<usize>(cap);
            let mut senders = Vec::new();
            for s in 0..4 {
                let tx = tx.clone();
                senders.push(tokio::spawn(async move {
                    let (mut sent, mut maybe) = (Vec::new(), Vec::new());
                    for i in 0..1_000 {
                        let v = s * 1_000 + i;
                        let d = Duration::from_micros(fastrand::u64(0..300));
                        match tokio::time::timeout(d, tx.send(v)).await {
                            Ok(r) => {
                                r.unwrap();
                                sent.push(v);
                            }
                            // Dropped: delivered or not, but never both
                            // delivered and returned.
                            Err(_) => maybe.push(v),
                        }
                    }
                    (sent, maybe)
                }));
            }
            drop(tx);
            let mut receivers = Vec::new();
            for _ in 0..4 {
                let rx = rx.clone();
                receivers.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let d = Duration::from_micros(fastrand::u64(0..300));
                        match tokio::time::timeout(d, rx.recv()).await {
                            Ok(Some(v)) => got.push(v),
                            Ok(None) => return got,
                            Err(_) => {}
                        }
                    }
                }));
            }
            let (mut sent, mut maybe) = (Vec::new(), std::collections::HashSet::new());
            for s in senders {
                let (ok, dropped) = s.await.unwrap();
                sent.extend(ok);
                maybe.extend(dropped);
            }
            let mut got = Vec::new();
            for r in receivers {
                got.extend(r.await.unwrap());
            }
            got.sort_unstable();
            let n = got.len();
            got.dedup();
            assert_eq!(n, got.len(), "cap {cap}: a value was received twice");
            // Every Ok send was received; anything else received was a send
            // dropped after it committed.
            let got_set: std::collections::HashSet<usize> = got.iter().copied().collect();
            let lost: Vec<_> = sent.iter().filter(|v| !got_set.contains(v)).collect();
            assert!(lost.is_empty(), "cap {cap}: lost {lost:?}");
            let sent_set: std::collections::HashSet<usize> = sent.iter().copied().collect();
            assert!(
                got.iter()
                    .all(|v| sent_set.contains(v) || maybe.contains(v)),
                "cap {cap}: phantom value"
            );
        });
    }
}

/// From plain threads: blocking sends against selects with a `default` that
/// spin, and a closer; checks the sum.
#[test]
#[cfg_attr(miri, ignore)]
fn blocking_threads_vs_nonblocking_selects() {
    let a = Chan::<u64>::new(0);
    let b = Chan::<u64>::new(1);
    let n = 5_000u64;
    let senders: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .map(|c| {
            std::thread::spawn(move || {
                for i in 0..n {
                    c.send_blocking(i).unwrap();
                }
            })
        })
        .collect();
    let sum = std::thread::spawn(move || {
        futures::executor::block_on(async {
            let mut sum = 0;
            let mut count = 0;
            while count < 2 * n {
                select! {
                    v = a.recv() => { sum += v.unwrap(); count += 1; }
                    v = b.recv() => { sum += v.unwrap(); count += 1; }
                    default => std::thread::yield_now(),
                }
            }
            sum
        })
    });
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(sum.join().unwrap(), n * (n - 1));
}
