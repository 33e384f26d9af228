//! `select!` with generic future cases (yields, sleeps, joins) racing
//! channel cases, on 2 workers, against senders of every kind (`send`,
//! `try_send`, `select!` send cases that also race a future, a dynamic
//! `Select` with two send cases): every value is received exactly once,
//! and every future case that completed had its output consumed by its
//! arm (a select never drops a completed future's output for a channel
//! case chosen by a counterpart). Built on an outside tester's stress
//! crate; run against gust-chan from before the `POLLING` state of a
//! select's token (chan/src/waiter.rs, invariant #8), it failed in 3 of 3
//! runs (one or both scenarios dropped future outputs).

// As a user crate that forbids unsafe code: select!'s expansion compiles
// there.
#![forbid(unsafe_code)]

use gust::select::Outcome;
use gust::{Receiver, Select, Sender, TrySendError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

type BoxFut = Pin<Box<dyn Future<Output = u64> + Send>>;

/// Completions counted inside the futures, and outputs seen by the arms.
#[derive(Default)]
struct Outputs {
    produced: AtomicU64,
    produced_sum: AtomicU64,
    consumed: AtomicU64,
    consumed_sum: AtomicU64,
}

impl Outputs {
    /// A future that completes after a few yields, a short sleep, or the
    /// join of a task, and counts its completion as it completes.
    fn future(self: &Arc<Self>, rng: &mut fastrand::Rng) -> BoxFut {
        let this = self.clone();
        let (kind, k) = (rng.u8(..3), rng.u64(1..6));
        Box::pin(async move {
            let v = match kind {
                0 => {
                    for _ in 0..k {
                        gust::yield_now().await;
                    }
                    k
                }
                1 => {
                    gust::time::sleep(Duration::from_micros(k * 7)).await;
                    k
                }
                _ => gust::spawn(async move { k + 7 }).await.unwrap(),
            };
            this.produced.fetch_add(1, SeqCst);
            this.produced_sum.fetch_add(v, SeqCst);
            v
        })
    }

    fn consume(&self, v: u64) {
        self.consumed.fetch_add(1, SeqCst);
        self.consumed_sum.fetch_add(v, SeqCst);
    }
}

/// Each value of `0..n` must be received once.
struct Seen(Vec<AtomicU8>);

impl Seen {
    fn mark(&self, v: u64) {
        let before = self.0[v as usize].fetch_add(1, SeqCst);
        assert_eq!(before, 0, "value {v} received twice");
    }
}

async fn receiver(
    a: Receiver<u64>,
    b: Receiver<u64>,
    seen: Arc<Seen>,
    out: Arc<Outputs>,
    seed: u64,
) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        let f = out.future(&mut rng);
        gust::select! {
            v = a.recv(), if a_open => match v {
                Some(v) => seen.mark(v),
                None => a_open = false,
            },
            v = b.recv(), if b_open => match v {
                Some(v) => seen.mark(v),
                None => b_open = false,
            },
            v = f => out.consume(v),
        }
    }
}

async fn sender(kind: u64, values: Vec<u64>, a: Sender<u64>, b: Sender<u64>, out: Arc<Outputs>) {
    let mut rng = fastrand::Rng::with_seed(kind * 77 + 1);
    match kind {
        0 => {
            for v in values {
                let tx = if rng.bool() { &a } else { &b };
                tx.send(v).await.unwrap();
            }
        }
        1 => {
            for mut v in values {
                let tx = if rng.bool() { &a } else { &b };
                loop {
                    match tx.try_send(v) {
                        Ok(()) => break,
                        Err(TrySendError::Full(back)) => {
                            v = back;
                            gust::yield_now().await;
                        }
                        Err(e) => panic!("try_send: {e:?}"),
                    }
                }
            }
        }
        2 => {
            // A send case that loses to the future must not deliver.
            for v in values {
                let to_a = rng.bool();
                loop {
                    let f = out.future(&mut rng);
                    let sent = gust::select! {
                        r = a.send(v), if to_a => r.is_ok(),
                        r = b.send(v), if !to_a => r.is_ok(),
                        o = f => {
                            out.consume(o);
                            false
                        }
                    };
                    if sent {
                        break;
                    }
                }
            }
        }
        _ => {
            // A dynamic Select of two send cases: the unsent value comes back.
            let mut queue: std::collections::VecDeque<u64> = values.into();
            while let Some(v1) = queue.pop_front() {
                let mut sel = Select::new();
                sel.send(&a, v1);
                if let Some(v2) = queue.pop_front() {
                    sel.send(&b, v2);
                }
                let (_, outcome) = sel.wait().await;
                assert!(matches!(outcome, Outcome::Send(Ok(()))));
                queue.extend(sel.into_unsent().into_iter().map(|(_, v)| v));
            }
        }
    }
}

fn scenario(cap_b: usize, n: u64) {
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = gust::runtime::Builder::new().workers(2).build().unwrap();
        let result = rt.block_on(async move {
            let seen = Arc::new(Seen((0..n).map(|_| AtomicU8::new(0)).collect()));
            let out = Arc::new(Outputs::default());
            let (a_tx, a_rx) = gust::chan::<u64>(0);
            let (b_tx, b_rx) = gust::chan::<u64>(cap_b);
            let mut tasks = Vec::new();
            for r in 0..3 {
                let (a, b, s, o) = (a_rx.clone(), b_rx.clone(), seen.clone(), out.clone());
                tasks.push(gust::spawn(receiver(a, b, s, o, r)));
            }
            drop((a_rx, b_rx));
            for kind in 0..4 {
                let values = (0..n).filter(|v| v % 4 == kind).collect();
                let (a, b, o) = (a_tx.clone(), b_tx.clone(), out.clone());
                tasks.push(gust::spawn(sender(kind, values, a, b, o)));
            }
            drop((a_tx, b_tx));
            for t in tasks {
                t.await.unwrap();
            }
            (seen, out)
        });
        let _ = done_tx.send(result);
    });
    let (seen, out) = done
        .recv_timeout(Duration::from_secs(60))
        .expect("hung (or a task panicked)");
    let missing = seen.0.iter().filter(|s| s.load(SeqCst) == 0).count();
    assert_eq!(missing, 0, "cap {cap_b}: {missing} values never received");
    let produced = (out.produced.load(SeqCst), out.produced_sum.load(SeqCst));
    let consumed = (out.consumed.load(SeqCst), out.consumed_sum.load(SeqCst));
    assert_eq!(
        produced, consumed,
        "cap {cap_b}: future outputs (count, sum) dropped"
    );
}

#[test]
fn rendezvous_channels() {
    scenario(0, 40_000);
}

#[test]
fn a_rendezvous_and_a_bounded_channel() {
    scenario(3, 40_000);
}
