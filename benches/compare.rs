//! The comparison suite: every workload of DESIGN.md's speed bar, on gust and
//! on its peers, in one run, at 1 worker and at all cores.
//!
//! Run it through `bash bench/run.sh` (which also runs the memory bench and the
//! Go program and writes `bench/results.md` and `bench/results.svg`), or alone
//! with `cargo bench --bench compare`.
//!
//! Peers:
//! - `tokio`: tokio's runtime (`current_thread` at 1 worker, `multi_thread`
//!   with `worker_threads(n)` above), `tokio::sync::mpsc` (capacity 1 where a
//!   rendezvous is asked: tokio has none; MPMC shares the receiver behind a
//!   `tokio::sync::Mutex`), `tokio::select!`, `tokio_util`'s `TaskTracker` as
//!   the WaitGroup and `CancellationToken` as the Context.
//! - `smol`: one `async_executor::Executor` run by `n` threads, `async-channel`
//!   (capacity 1 for a rendezvous), `futures::select!`, and a WaitGroup and a
//!   cancel signal made of an atomic and an `event_listener::Event`.
//! - `flume`, `kanal`: their async channels on tokio's `multi_thread` runtime
//!   with `n` workers (rendezvous = capacity 0 on both), `tokio::select!`,
//!   `TaskTracker`. They have no task or cancel story of their own, so the spawn
//!   and cancel rows have no flume/kanal column.
//! - `wg`, `awaitgroup`: those crates' async WaitGroups on the same tokio
//!   runtime as the `tokio` column, in the WaitGroup fan-in row only.
//!
//! The context row (`children`: create and cancel 1M child contexts of one
//! parent, on the root task's thread) has gust's `Context` and tokio-util's
//! `CancellationToken::child_token`; smol has no context tree.
//!
//! Every workload checks its own result (counts, sums, the last prime) and a
//! wrong answer fails that (workload, runtime) pair: it is written to
//! `$GUST_BENCH_OUT/status.tsv` as `FAIL` and left out of the timing, so a fast
//! wrong answer cannot win, and one broken peer does not stop the run.
//!
//! Each timing is measured inside the root task, from the start of the
//! workload to its checked end, with `iter_custom`; the per-op cost is the
//! criterion estimate divided by the `Throughput::Elements` of the group.
//!
//! Environment:
//! - `GUST_BENCH_WORKERS=1,2,4` worker counts (default `1,<all cores>`);
//! - `GUST_BENCH_ONLY=spawn,sieve` only the workloads whose name contains one
//!   of these; `GUST_BENCH_RUNTIMES=gust,tokio` only these runtimes;
//! - `GUST_BENCH_QUICK=1` sizes / 10 (sieve to 1,000 primes), for a smoke run;
//! - `GUST_BENCH_OUT` where `status.tsv` goes (default `target/gust-bench`);
//! - `GUST_BENCH_TIMEOUT` seconds one iteration may take before the run is
//!   stopped as hung (default 120);
//! - `GUST_BENCH_MEASURE_MS` measurement time per runtime and row (default 1000);
//! - `GUST_BENCH_INTERLEAVE=1` the runtimes of a row take turns instead of
//!   being measured one after the other by criterion (see
//!   [`measure_interleaved`]; `bench/run.sh` sets it);
//! - `GUST_BENCH_PROCESS=1` (with the interleaving; `bench/run.sh` sets it)
//!   each runtime of a row runs in its own child process of this binary,
//!   as a user's program would, and the parent only tells the children
//!   whose turn it is (see [`child`]).

// The trait methods spell out `impl Future + Send` so the workloads can spawn
// them; clippy would have the impls written as `async fn`.
#![allow(clippy::manual_async_fn)]

use std::future::Future;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use futures::FutureExt;

#[path = "rows/timers.rs"]
mod timers;
#[path = "rows/toolbox.rs"]
mod toolbox;

// ---------------------------------------------------------------------------
// Workload sizes.

struct Sizes {
    spawn: u64,
    pingpong: u64,
    spsc: u64,
    spsc_rdv: u64,
    mpmc: u64,
    select: u64,
    sieve_primes: u64,
    sieve_last: u64,
    fanout: u64,
    cancel: u64,
    fanin: u64,
    children: u64,
    mutex: u64,
    dynselect: u64,
    timers: u64,
    timeouts: u64,
}

fn sizes() -> Sizes {
    if std::env::var("GUST_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0") {
        Sizes {
            spawn: 100_000,
            pingpong: 10_000,
            spsc: 100_000,
            spsc_rdv: 10_000,
            mpmc: 100_000,
            select: 40_000,
            sieve_primes: 1_000,
            sieve_last: 7_919,
            fanout: 10_000,
            cancel: 10_000,
            fanin: 10_000,
            children: 100_000,
            mutex: 100_000,
            dynselect: 40_000,
            timers: 10_000,
            timeouts: 100_000,
        }
    } else {
        Sizes {
            spawn: 1_000_000,
            pingpong: 100_000,
            spsc: 1_000_000,
            spsc_rdv: 100_000,
            mpmc: 1_000_000,
            select: 400_000,
            sieve_primes: 4_000,
            sieve_last: 37_813,
            fanout: 100_000,
            cancel: 100_000,
            fanin: 100_000,
            children: 1_000_000,
            mutex: 1_000_000,
            dynselect: 400_000,
            timers: 100_000,
            timeouts: 1_000_000,
        }
    }
}

/// The sum 0 + 1 + ... + (n - 1): every workload's checksum.
fn tri(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

// ---------------------------------------------------------------------------
// What a runtime must offer: run a root task, spawn, detach, yield, a
// WaitGroup and a cancel signal.

trait Exec: Sized + 'static {
    type Handle<T: Send + 'static>: Future<Output = T> + Send + 'static;
    type Group: Group;
    type Cancel: Cancel;
    fn new(workers: usize) -> Self;
    /// Spawns `f` as the root task and blocks this thread until it ends.
    fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T;
    /// Spawns onto the current runtime (called from inside a task).
    fn spawn<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Self::Handle<T>;
    /// `go f()`: spawn and detach.
    fn go(f: impl Future<Output = ()> + Send + 'static);
    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// Go's `sync.WaitGroup` as the workloads use it: `Go(f)` then `Wait()`.
trait Group: Clone + Send + Sync + 'static {
    fn new() -> Self;
    fn go(&self, f: impl Future<Output = ()> + Send + 'static);
    fn wait(&self) -> impl Future<Output = ()> + Send + '_;
}

/// `ctx, cancel := context.WithCancel(...)`; waiters await `<-ctx.Done()`.
trait Cancel: Sized + Send + 'static {
    type Waiter: Clone + Send + Sync + 'static;
    fn new() -> (Self, Self::Waiter);
    fn cancel(self);
    fn wait(w: &Self::Waiter) -> impl Future<Output = ()> + Send + '_;
}

/// A WaitGroup as the fan-in row uses it: `add` is Go's `wg.Add(1)` and
/// returns what the task needs for its `wg.Done()`.
trait Wg: Send + 'static {
    type Done: Send + 'static;
    fn new() -> Self;
    fn add(&mut self) -> Self::Done;
    fn done(d: Self::Done);
    fn wait(&mut self) -> impl Future<Output = ()> + Send + '_;
}

/// A cancellation tree as the `children` row uses it.
trait Tree: Send + 'static {
    fn new() -> Self;
    /// Makes a child of this (long-lived) root, cancels it, and returns
    /// whether the child reports itself cancelled.
    fn child_cancel(&self) -> bool;
    fn is_done(&self) -> bool;
}

/// A channel of `u64`: capacity 0 asks for a rendezvous channel.
trait Ch: 'static {
    type Tx: Clone + Send + Sync + 'static;
    type Rx: Send + 'static;
    /// A receiving end that several consumers share.
    type MRx: Clone + Send + Sync + 'static;
    fn new(cap: usize) -> (Self::Tx, Self::Rx);
    /// `false` when the channel is closed.
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_;
    /// `None` when closed and drained.
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_;
    fn share(rx: Self::Rx) -> Self::MRx;
    fn mrecv(rx: &Self::MRx) -> impl Future<Output = Option<u64>> + Send + '_;
    /// Receives from the 4 channels with a select until all are closed:
    /// returns (messages, sum).
    fn select4(rxs: [Self::Rx; 4]) -> impl Future<Output = (u64, u64)> + Send;
}

// ---------------------------------------------------------------------------
// The workloads. Each returns the time from its start to its checked end.

/// Spawn `n` tasks and join them all.
async fn w_spawn<E: Exec>(n: u64) -> Duration {
    let t0 = Instant::now();
    let mut hs = Vec::with_capacity(n as usize);
    for i in 0..n {
        hs.push(E::spawn(async move { i }));
    }
    let mut sum = 0;
    for h in hs {
        sum += h.await;
    }
    let el = t0.elapsed();
    assert_eq!(sum, tri(n), "spawn: wrong sum of task results");
    el
}

/// Rendezvous ping-pong: the root sends `i`, the echo task sends it back;
/// one op = one round trip.
async fn w_pingpong<E: Exec, C: Ch>(n: u64) -> Duration {
    let (atx, mut arx) = C::new(0);
    let (btx, mut brx) = C::new(0);
    let t0 = Instant::now();
    let echo = E::spawn(async move {
        let mut c = 0u64;
        while let Some(v) = C::recv(&mut arx).await {
            assert!(C::send(&btx, v).await, "pingpong: echo send failed");
            c += 1;
        }
        c
    });
    for i in 0..n {
        assert!(C::send(&atx, i).await, "pingpong: send failed");
        assert_eq!(C::recv(&mut brx).await, Some(i), "pingpong: wrong echo");
    }
    drop(atx);
    assert_eq!(echo.await, n, "pingpong: echo count");
    t0.elapsed()
}

/// One producer, one consumer (the root), `n` messages through capacity `cap`.
async fn w_spsc<E: Exec, C: Ch>(n: u64, cap: usize) -> Duration {
    let (tx, mut rx) = C::new(cap);
    let t0 = Instant::now();
    let prod = E::spawn(async move {
        for i in 0..n {
            assert!(C::send(&tx, i).await, "spsc: send failed");
        }
    });
    let (mut c, mut s) = (0u64, 0u64);
    while let Some(v) = C::recv(&mut rx).await {
        c += 1;
        s += v;
    }
    prod.await;
    let el = t0.elapsed();
    assert_eq!((c, s), (n, tri(n)), "spsc: wrong count/sum");
    el
}

/// 4 producers x 4 consumers over one bounded(1024) channel, `n` messages.
async fn w_mpmc<E: Exec, C: Ch>(n: u64) -> Duration {
    const P: u64 = 4;
    let per = n / P;
    let (tx, rx) = C::new(1024);
    let rx = C::share(rx);
    let t0 = Instant::now();
    let mut cons = Vec::new();
    for _ in 0..4 {
        let rx = rx.clone();
        cons.push(E::spawn(async move {
            let (mut c, mut s) = (0u64, 0u64);
            while let Some(v) = C::mrecv(&rx).await {
                c += 1;
                s += v;
            }
            (c, s)
        }));
    }
    drop(rx);
    for p in 0..P {
        let tx = tx.clone();
        E::go(async move {
            for i in p * per..(p + 1) * per {
                assert!(C::send(&tx, i).await, "mpmc: send failed");
            }
        });
    }
    drop(tx);
    let (mut c, mut s) = (0u64, 0u64);
    for h in cons {
        let (c1, s1) = h.await;
        c += c1;
        s += s1;
    }
    let el = t0.elapsed();
    assert_eq!((c, s), (P * per, tri(P * per)), "mpmc: wrong count/sum");
    el
}

/// One consumer (the root) selecting over 4 bounded(64) channels fed by 4
/// producers; `n` messages in all.
async fn w_select<E: Exec, C: Ch>(n: u64) -> Duration {
    let per = n / 4;
    let t0 = Instant::now();
    let mut rxs = Vec::new();
    for p in 0..4u64 {
        let (tx, rx) = C::new(64);
        rxs.push(rx);
        E::go(async move {
            for i in p * per..(p + 1) * per {
                assert!(C::send(&tx, i).await, "select: send failed");
            }
        });
    }
    let rxs: [C::Rx; 4] = rxs.try_into().ok().expect("4 receivers");
    let (c, s) = C::select4(rxs).await;
    let el = t0.elapsed();
    assert_eq!((c, s), (4 * per, tri(4 * per)), "select: wrong count/sum");
    el
}

/// Go's test/chan/sieve1.go: a generator and a daisy chain of filter tasks
/// over rendezvous channels, to the `primes`-th prime (which must be `last`).
/// The time is to the last prime; the chain is torn down (by dropping the
/// last receiver) outside it.
async fn w_sieve<E: Exec, C: Ch>(primes: u64, last: u64) -> Duration {
    let t0 = Instant::now();
    let (tx, mut rx) = C::new(0);
    let generator = E::spawn(async move {
        let mut i = 2u64;
        while C::send(&tx, i).await {
            i += 1;
        }
    });
    let mut p = 0;
    for _ in 0..primes {
        p = C::recv(&mut rx).await.expect("sieve: chain closed early");
        let (tx1, rx1) = C::new(0);
        let mut inp = rx;
        E::go(async move {
            while let Some(i) = C::recv(&mut inp).await {
                if i % p != 0 && !C::send(&tx1, i).await {
                    break;
                }
            }
        });
        rx = rx1;
    }
    let el = t0.elapsed();
    drop(rx);
    generator.await;
    assert_eq!(p, last, "sieve: wrong last prime");
    el
}

/// Fan-out: `n` tasks each send one value into one bounded(1024) channel; a
/// closer task waits on the WaitGroup and closes the channel; the root drains.
async fn w_fanout<E: Exec, C: Ch>(n: u64) -> Duration {
    let t0 = Instant::now();
    let (tx, mut rx) = C::new(1024);
    let wg = E::Group::new();
    for i in 0..n {
        let tx = tx.clone();
        wg.go(async move {
            assert!(C::send(&tx, i).await, "fanout: send failed");
        });
    }
    let closer = E::spawn(async move {
        wg.wait().await;
        drop(tx); // the last sending handle: closes the channel
    });
    let (mut c, mut s) = (0u64, 0u64);
    while let Some(v) = C::recv(&mut rx).await {
        c += 1;
        s += v;
    }
    closer.await;
    let el = t0.elapsed();
    assert_eq!((c, s), (n, tri(n)), "fanout: wrong count/sum");
    el
}

/// Fan-in: `n` tasks, each adding its index to a sum, counted by a WaitGroup
/// (`Add(1)` before each spawn, `Done()` at each task's end); the root waits.
async fn w_fanin<E: Exec, W: Wg>(n: u64) -> Duration {
    let t0 = Instant::now();
    let mut wg = W::new();
    let sum = Arc::new(AtomicU64::new(0));
    for i in 0..n {
        let (sum, d) = (sum.clone(), wg.add());
        E::go(async move {
            sum.fetch_add(i, Ordering::Relaxed);
            W::done(d);
        });
    }
    wg.wait().await;
    let el = t0.elapsed();
    assert_eq!(sum.load(Ordering::Relaxed), tri(n), "fanin: wrong sum");
    el
}

/// Creates and cancels `n` child contexts of one long-lived parent, one
/// after the other, on the root task; each child must report itself done.
async fn w_children<E: Exec, T: Tree>(n: u64) -> Duration {
    let root = T::new();
    let t0 = Instant::now();
    let mut done = 0u64;
    for _ in 0..n {
        done += u64::from(root.child_cancel());
    }
    let el = t0.elapsed();
    assert_eq!(done, n, "children: a cancelled child is not done");
    assert!(!root.is_done(), "children: the parent ended");
    el
}

/// `n` tasks wait on one context; the time is from the one cancel until the
/// WaitGroup sees every waiter gone.
async fn w_cancel<E: Exec>(n: u64) -> Duration {
    let (cancel, waiter) = <E::Cancel as Cancel>::new();
    let wg = E::Group::new();
    let started = Arc::new(AtomicU64::new(0));
    let exited = Arc::new(AtomicU64::new(0));
    for _ in 0..n {
        let w = waiter.clone();
        let (st, ex) = (started.clone(), exited.clone());
        wg.go(async move {
            st.fetch_add(1, Ordering::Relaxed);
            <E::Cancel as Cancel>::wait(&w).await;
            ex.fetch_add(1, Ordering::Relaxed);
        });
    }
    while started.load(Ordering::Acquire) < n {
        E::yield_now().await;
    }
    for _ in 0..4 {
        E::yield_now().await;
    }
    assert_eq!(
        exited.load(Ordering::Relaxed),
        0,
        "cancel: a waiter ended before the cancel"
    );
    let t0 = Instant::now();
    cancel.cancel();
    wg.wait().await;
    let el = t0.elapsed();
    assert_eq!(
        exited.load(Ordering::Relaxed),
        n,
        "cancel: not every waiter ended"
    );
    el
}

// ---------------------------------------------------------------------------
// gust

mod rt_gust {
    use super::*;

    pub(crate) struct GustExec(gust::runtime::Runtime);

    fn unwrap_join<T>(r: Result<T, gust::JoinError>) -> T {
        r.expect("gust task failed")
    }

    impl Exec for GustExec {
        type Handle<T: Send + 'static> =
            futures::future::Map<gust::JoinHandle<T>, fn(Result<T, gust::JoinError>) -> T>;
        type Group = gust::WaitGroup;
        type Cancel = GustCancel;
        fn new(workers: usize) -> Self {
            GustExec(
                gust::runtime::Builder::new()
                    .workers(workers)
                    .build()
                    .expect("gust runtime"),
            )
        }
        fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
            let h = self.0.spawn(f);
            unwrap_join(self.0.block_on(h))
        }
        fn spawn<T: Send + 'static>(
            f: impl Future<Output = T> + Send + 'static,
        ) -> Self::Handle<T> {
            gust::spawn(f).map(unwrap_join::<T> as fn(_) -> T)
        }
        fn go(f: impl Future<Output = ()> + Send + 'static) {
            drop(gust::spawn(f));
        }
        fn yield_now() -> impl Future<Output = ()> + Send {
            gust::yield_now()
        }
    }

    impl Group for gust::WaitGroup {
        fn new() -> Self {
            gust::WaitGroup::new()
        }
        fn go(&self, f: impl Future<Output = ()> + Send + 'static) {
            // Go's `wg.Add(1); go func() { defer wg.Done(); ... }()`, as the
            // Go side does (DESIGN.md's `wg.go(fut)` does the same in one call).
            self.add(1);
            let wg = self.clone();
            drop(gust::spawn(async move {
                f.await;
                wg.done();
            }));
        }
        fn wait(&self) -> impl Future<Output = ()> + Send + '_ {
            gust::WaitGroup::wait(self)
        }
    }

    /// Go's pattern: `Add(1)` on the group, the clone moved into the task.
    pub(crate) struct GustWg(gust::WaitGroup);
    impl Wg for GustWg {
        type Done = gust::WaitGroup;
        fn new() -> Self {
            GustWg(gust::WaitGroup::new())
        }
        fn add(&mut self) -> gust::WaitGroup {
            self.0.add(1);
            self.0.clone()
        }
        fn done(d: gust::WaitGroup) {
            d.done();
        }
        fn wait(&mut self) -> impl Future<Output = ()> + Send + '_ {
            self.0.wait()
        }
    }

    /// A parent context (and its cancel, kept alive).
    pub(crate) struct GustTree {
        ctx: gust::Context,
        _cancel: gust::CancelFunc,
    }
    impl Tree for GustTree {
        fn new() -> Self {
            let (ctx, _cancel) = gust::Context::background().with_cancel();
            GustTree { ctx, _cancel }
        }
        fn child_cancel(&self) -> bool {
            let (child, cancel) = self.ctx.with_cancel();
            cancel.cancel();
            child.is_done()
        }
        fn is_done(&self) -> bool {
            self.ctx.is_done()
        }
    }

    pub(crate) struct GustCancel(gust::CancelFunc);
    impl Cancel for GustCancel {
        type Waiter = gust::Context;
        fn new() -> (Self, gust::Context) {
            let (ctx, cancel) = gust::Context::background().with_cancel();
            (GustCancel(cancel), ctx)
        }
        fn cancel(self) {
            self.0.cancel();
        }
        fn wait(w: &gust::Context) -> impl Future<Output = ()> + Send + '_ {
            w.done()
        }
    }

    pub(crate) struct GustCh;
    impl Ch for GustCh {
        type Tx = gust::Sender<u64>;
        type Rx = gust::Receiver<u64>;
        type MRx = gust::Receiver<u64>;
        fn new(cap: usize) -> (Self::Tx, Self::Rx) {
            gust::chan::<u64>(cap)
        }
        fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_ {
            async move { tx.send(v).await.is_ok() }
        }
        fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
            rx.recv()
        }
        fn share(rx: Self::Rx) -> Self::MRx {
            rx
        }
        fn mrecv(rx: &Self::MRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            rx.recv()
        }
        fn select4(rxs: [Self::Rx; 4]) -> impl Future<Output = (u64, u64)> + Send {
            async move {
                let [r0, r1, r2, r3] = rxs;
                let mut open = [true; 4];
                let (mut c, mut s) = (0u64, 0u64);
                while open.iter().any(|&o| o) {
                    gust::select! {
                        v = r0.recv(), if open[0] => match v { Some(v) => { c += 1; s += v } None => open[0] = false },
                        v = r1.recv(), if open[1] => match v { Some(v) => { c += 1; s += v } None => open[1] = false },
                        v = r2.recv(), if open[2] => match v { Some(v) => { c += 1; s += v } None => open[2] = false },
                        v = r3.recv(), if open[3] => match v { Some(v) => { c += 1; s += v } None => open[3] = false },
                    }
                }
                (c, s)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// tokio (and tokio as the executor for flume and kanal)

mod rt_tokio {
    use super::*;
    use tokio::sync::mpsc;

    /// `MT = false`: `current_thread` at 1 worker; `MT = true`: always
    /// `multi_thread` (the executor flume and kanal run on).
    pub(crate) struct TokioExec<const MT: bool>(tokio::runtime::Runtime);

    fn unwrap_join<T>(r: Result<T, tokio::task::JoinError>) -> T {
        r.expect("tokio task failed")
    }

    impl<const MT: bool> Exec for TokioExec<MT> {
        type Handle<T: Send + 'static> = futures::future::Map<
            tokio::task::JoinHandle<T>,
            fn(Result<T, tokio::task::JoinError>) -> T,
        >;
        type Group = TokioGroup;
        type Cancel = TokioCancel;
        fn new(workers: usize) -> Self {
            let rt = if workers == 1 && !MT {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
            };
            TokioExec(rt.expect("tokio runtime"))
        }
        fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
            let h = self.0.spawn(f);
            unwrap_join(self.0.block_on(h))
        }
        fn spawn<T: Send + 'static>(
            f: impl Future<Output = T> + Send + 'static,
        ) -> Self::Handle<T> {
            tokio::spawn(f).map(unwrap_join::<T> as fn(_) -> T)
        }
        fn go(f: impl Future<Output = ()> + Send + 'static) {
            drop(tokio::spawn(f));
        }
        fn yield_now() -> impl Future<Output = ()> + Send {
            tokio::task::yield_now()
        }
    }

    /// tokio_util's `TaskTracker`: `spawn` = `wg.Go`, `close` + `wait` = `wg.Wait`.
    #[derive(Clone)]
    pub(crate) struct TokioGroup(tokio_util::task::TaskTracker);
    impl Group for TokioGroup {
        fn new() -> Self {
            TokioGroup(tokio_util::task::TaskTracker::new())
        }
        fn go(&self, f: impl Future<Output = ()> + Send + 'static) {
            drop(self.0.spawn(f));
        }
        fn wait(&self) -> impl Future<Output = ()> + Send + '_ {
            self.0.close();
            self.0.wait()
        }
    }

    /// `TaskTracker` tokens: `token()` is `Add(1)`, dropping it `Done()`;
    /// `close` + `wait` is `Wait()`.
    pub(crate) struct TokioWg(tokio_util::task::TaskTracker);
    impl Wg for TokioWg {
        type Done = tokio_util::task::task_tracker::TaskTrackerToken;
        fn new() -> Self {
            TokioWg(tokio_util::task::TaskTracker::new())
        }
        fn add(&mut self) -> Self::Done {
            self.0.token()
        }
        fn done(d: Self::Done) {
            drop(d);
        }
        fn wait(&mut self) -> impl Future<Output = ()> + Send + '_ {
            self.0.close();
            self.0.wait()
        }
    }

    /// The `wg` crate's async WaitGroup: `add(1)` returns the clone to move.
    pub(crate) struct WgWg(wg::future::WaitGroup);
    impl Wg for WgWg {
        type Done = wg::future::WaitGroup;
        fn new() -> Self {
            WgWg(wg::future::WaitGroup::new())
        }
        fn add(&mut self) -> Self::Done {
            self.0.add(1)
        }
        fn done(d: Self::Done) {
            d.done();
        }
        fn wait(&mut self) -> impl Future<Output = ()> + Send + '_ {
            self.0.wait()
        }
    }

    /// The `awaitgroup` crate: `worker()` is `Add(1)`, `Worker::done` `Done()`.
    pub(crate) struct AwaitGroupWg(awaitgroup::WaitGroup);
    impl Wg for AwaitGroupWg {
        type Done = awaitgroup::Worker;
        fn new() -> Self {
            AwaitGroupWg(awaitgroup::WaitGroup::new())
        }
        fn add(&mut self) -> Self::Done {
            self.0.worker()
        }
        fn done(d: Self::Done) {
            d.done();
        }
        fn wait(&mut self) -> impl Future<Output = ()> + Send + '_ {
            self.0.wait()
        }
    }

    /// A parent token; children by `child_token`.
    pub(crate) struct TokioTree(tokio_util::sync::CancellationToken);
    impl Tree for TokioTree {
        fn new() -> Self {
            TokioTree(tokio_util::sync::CancellationToken::new())
        }
        fn child_cancel(&self) -> bool {
            let child = self.0.child_token();
            child.cancel();
            child.is_cancelled()
        }
        fn is_done(&self) -> bool {
            self.0.is_cancelled()
        }
    }

    pub(crate) struct TokioCancel(tokio_util::sync::CancellationToken);
    impl Cancel for TokioCancel {
        type Waiter = tokio_util::sync::CancellationToken;
        fn new() -> (Self, Self::Waiter) {
            let t = tokio_util::sync::CancellationToken::new();
            (TokioCancel(t.clone()), t)
        }
        fn cancel(self) {
            self.0.cancel();
        }
        fn wait(w: &Self::Waiter) -> impl Future<Output = ()> + Send + '_ {
            w.cancelled()
        }
    }

    pub(crate) struct TokioCh;
    impl Ch for TokioCh {
        type Tx = mpsc::Sender<u64>;
        type Rx = mpsc::Receiver<u64>;
        type MRx = Arc<tokio::sync::Mutex<mpsc::Receiver<u64>>>;
        fn new(cap: usize) -> (Self::Tx, Self::Rx) {
            mpsc::channel(cap.max(1)) // no rendezvous in tokio: capacity 1
        }
        fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_ {
            async move { tx.send(v).await.is_ok() }
        }
        fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
            rx.recv()
        }
        fn share(rx: Self::Rx) -> Self::MRx {
            Arc::new(tokio::sync::Mutex::new(rx))
        }
        fn mrecv(rx: &Self::MRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.lock().await.recv().await }
        }
        fn select4(rxs: [Self::Rx; 4]) -> impl Future<Output = (u64, u64)> + Send {
            async move {
                let [mut r0, mut r1, mut r2, mut r3] = rxs;
                let mut open = [true; 4];
                let (mut c, mut s) = (0u64, 0u64);
                while open.iter().any(|&o| o) {
                    tokio::select! {
                        v = r0.recv(), if open[0] => match v { Some(v) => { c += 1; s += v } None => open[0] = false },
                        v = r1.recv(), if open[1] => match v { Some(v) => { c += 1; s += v } None => open[1] = false },
                        v = r2.recv(), if open[2] => match v { Some(v) => { c += 1; s += v } None => open[2] = false },
                        v = r3.recv(), if open[3] => match v { Some(v) => { c += 1; s += v } None => open[3] = false },
                    }
                }
                (c, s)
            }
        }
    }

    pub(crate) struct FlumeCh;
    impl Ch for FlumeCh {
        type Tx = flume::Sender<u64>;
        type Rx = flume::Receiver<u64>;
        type MRx = flume::Receiver<u64>;
        fn new(cap: usize) -> (Self::Tx, Self::Rx) {
            flume::bounded(cap) // 0 = rendezvous
        }
        fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_ {
            async move { tx.send_async(v).await.is_ok() }
        }
        fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.recv_async().await.ok() }
        }
        fn share(rx: Self::Rx) -> Self::MRx {
            rx
        }
        fn mrecv(rx: &Self::MRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.recv_async().await.ok() }
        }
        fn select4(rxs: [Self::Rx; 4]) -> impl Future<Output = (u64, u64)> + Send {
            async move {
                let [r0, r1, r2, r3] = rxs;
                let mut open = [true; 4];
                let (mut c, mut s) = (0u64, 0u64);
                while open.iter().any(|&o| o) {
                    tokio::select! {
                        v = r0.recv_async(), if open[0] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[0] = false },
                        v = r1.recv_async(), if open[1] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[1] = false },
                        v = r2.recv_async(), if open[2] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[2] = false },
                        v = r3.recv_async(), if open[3] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[3] = false },
                    }
                }
                (c, s)
            }
        }
    }

    pub(crate) struct KanalCh;
    impl Ch for KanalCh {
        type Tx = kanal::AsyncSender<u64>;
        type Rx = kanal::AsyncReceiver<u64>;
        type MRx = kanal::AsyncReceiver<u64>;
        fn new(cap: usize) -> (Self::Tx, Self::Rx) {
            kanal::bounded_async(cap) // 0 = rendezvous
        }
        fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_ {
            async move { tx.send(v).await.is_ok() }
        }
        fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.recv().await.ok() }
        }
        fn share(rx: Self::Rx) -> Self::MRx {
            rx
        }
        fn mrecv(rx: &Self::MRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.recv().await.ok() }
        }
        fn select4(rxs: [Self::Rx; 4]) -> impl Future<Output = (u64, u64)> + Send {
            // kanal has no select; tokio::select! over its receive futures (a
            // dropped receive future may lose a value: the checksum tells).
            async move {
                let [r0, r1, r2, r3] = rxs;
                let mut open = [true; 4];
                let (mut c, mut s) = (0u64, 0u64);
                while open.iter().any(|&o| o) {
                    tokio::select! {
                        v = r0.recv(), if open[0] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[0] = false },
                        v = r1.recv(), if open[1] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[1] = false },
                        v = r2.recv(), if open[2] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[2] = false },
                        v = r3.recv(), if open[3] => match v { Ok(v) => { c += 1; s += v } Err(_) => open[3] = false },
                    }
                }
                (c, s)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// smol: async-executor + async-channel + event-listener

mod rt_smol {
    use super::*;
    use event_listener::Event;

    /// One global executor (like `smol::spawn`'s), run by `n` threads.
    static EX: async_executor::Executor<'static> = async_executor::Executor::new();

    pub(crate) struct SmolExec {
        stop: Option<async_channel::Sender<()>>,
        threads: Vec<std::thread::JoinHandle<()>>,
    }

    impl Drop for SmolExec {
        fn drop(&mut self) {
            drop(self.stop.take());
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        }
    }

    impl Exec for SmolExec {
        type Handle<T: Send + 'static> = async_executor::Task<T>;
        type Group = SmolGroup;
        type Cancel = SmolCancel;
        fn new(workers: usize) -> Self {
            let (stop, stopped) = async_channel::bounded::<()>(1);
            let threads = (0..workers)
                .map(|i| {
                    let stopped = stopped.clone();
                    std::thread::Builder::new()
                        .name(format!("smol-{i}"))
                        .spawn(move || {
                            let _ = futures_lite::future::block_on(EX.run(stopped.recv()));
                        })
                        .expect("smol worker thread")
                })
                .collect();
            SmolExec {
                stop: Some(stop),
                threads,
            }
        }
        fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> T {
            futures_lite::future::block_on(EX.spawn(f))
        }
        fn spawn<T: Send + 'static>(
            f: impl Future<Output = T> + Send + 'static,
        ) -> Self::Handle<T> {
            EX.spawn(f)
        }
        fn go(f: impl Future<Output = ()> + Send + 'static) {
            EX.spawn(f).detach();
        }
        fn yield_now() -> impl Future<Output = ()> + Send {
            futures_lite::future::yield_now()
        }
    }

    /// A WaitGroup: a counter and an `Event` notified when it reaches zero.
    #[derive(Clone)]
    pub(crate) struct SmolGroup(Arc<(AtomicUsize, Event)>);
    impl Group for SmolGroup {
        fn new() -> Self {
            SmolGroup(Arc::new((AtomicUsize::new(0), Event::new())))
        }
        fn go(&self, f: impl Future<Output = ()> + Send + 'static) {
            self.0.0.fetch_add(1, Ordering::SeqCst);
            let g = self.0.clone();
            EX.spawn(async move {
                f.await;
                if g.0.fetch_sub(1, Ordering::SeqCst) == 1 {
                    g.1.notify(usize::MAX);
                }
            })
            .detach();
        }
        fn wait(&self) -> impl Future<Output = ()> + Send + '_ {
            async move {
                loop {
                    if self.0.0.load(Ordering::SeqCst) == 0 {
                        return;
                    }
                    let l = self.0.1.listen();
                    if self.0.0.load(Ordering::SeqCst) == 0 {
                        return;
                    }
                    l.await;
                }
            }
        }
    }

    /// The fan-in's WaitGroup: the same counter and `Event` as [`SmolGroup`].
    pub(crate) struct SmolWg(SmolGroup);
    impl Wg for SmolWg {
        type Done = Arc<(AtomicUsize, Event)>;
        fn new() -> Self {
            SmolWg(<SmolGroup as Group>::new())
        }
        fn add(&mut self) -> Self::Done {
            self.0.0.0.fetch_add(1, Ordering::SeqCst);
            self.0.0.clone()
        }
        fn done(g: Self::Done) {
            if g.0.fetch_sub(1, Ordering::SeqCst) == 1 {
                g.1.notify(usize::MAX);
            }
        }
        fn wait(&mut self) -> impl Future<Output = ()> + Send + '_ {
            Group::wait(&self.0)
        }
    }

    /// A cancel signal: a flag and an `Event` notified once.
    pub(crate) struct SmolCancel(Arc<(AtomicBool, Event)>);
    impl Cancel for SmolCancel {
        type Waiter = Arc<(AtomicBool, Event)>;
        fn new() -> (Self, Self::Waiter) {
            let a = Arc::new((AtomicBool::new(false), Event::new()));
            (SmolCancel(a.clone()), a)
        }
        fn cancel(self) {
            self.0.0.store(true, Ordering::SeqCst);
            self.0.1.notify(usize::MAX);
        }
        fn wait(w: &Self::Waiter) -> impl Future<Output = ()> + Send + '_ {
            async move {
                loop {
                    if w.0.load(Ordering::SeqCst) {
                        return;
                    }
                    let l = w.1.listen();
                    if w.0.load(Ordering::SeqCst) {
                        return;
                    }
                    l.await;
                }
            }
        }
    }

    pub(crate) struct SmolCh;
    impl Ch for SmolCh {
        type Tx = async_channel::Sender<u64>;
        type Rx = async_channel::Receiver<u64>;
        type MRx = async_channel::Receiver<u64>;
        fn new(cap: usize) -> (Self::Tx, Self::Rx) {
            async_channel::bounded(cap.max(1)) // no rendezvous in async-channel: capacity 1
        }
        fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = bool> + Send + '_ {
            async move { tx.send(v).await.is_ok() }
        }
        fn recv(rx: &mut Self::Rx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.recv().await.ok() }
        }
        fn share(rx: Self::Rx) -> Self::MRx {
            rx
        }
        fn mrecv(rx: &Self::MRx) -> impl Future<Output = Option<u64>> + Send + '_ {
            async move { rx.recv().await.ok() }
        }
        fn select4(rxs: [Self::Rx; 4]) -> impl Future<Output = (u64, u64)> + Send {
            use futures::future::{Fuse, FusedFuture as _};
            async move {
                let [r0, r1, r2, r3] = rxs;
                let mut open = [true; 4];
                let (mut c, mut s) = (0u64, 0u64);
                fn arm(
                    r: &async_channel::Receiver<u64>,
                    on: bool,
                ) -> Fuse<async_channel::Recv<'_, u64>> {
                    if on {
                        r.recv().fuse()
                    } else {
                        Fuse::terminated()
                    }
                }
                while open.iter().any(|&o| o) {
                    let f0 = arm(&r0, open[0]);
                    let f1 = arm(&r1, open[1]);
                    let f2 = arm(&r2, open[2]);
                    let f3 = arm(&r3, open[3]);
                    futures::pin_mut!(f0, f1, f2, f3);
                    debug_assert!(
                        !(f0.is_terminated()
                            && f1.is_terminated()
                            && f2.is_terminated()
                            && f3.is_terminated())
                    );
                    let (i, v) = futures::select! {
                        v = f0 => (0, v),
                        v = f1 => (1, v),
                        v = f2 => (2, v),
                        v = f3 => (3, v),
                    };
                    match v {
                        Ok(v) => {
                            c += 1;
                            s += v;
                        }
                        Err(_) => open[i] = false,
                    }
                }
                (c, s)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The driver: groups `<workload>_w<workers>`, one bench per runtime.

struct Ctx {
    workers: Vec<usize>,
    only: Option<Vec<String>>,
    runtimes: Option<Vec<String>>,
    status: Mutex<std::fs::File>,
    measure: Duration,
    /// Runtimes of a row take turns (see [`measure_interleaved`]).
    interleave: bool,
    /// Each runtime of a row runs in its own process (see [`child`]).
    process: bool,
}

/// What the watchdog watches: the bench now running and when its current
/// iteration began.
static CURRENT: Mutex<Option<(String, Instant)>> = Mutex::new(None);

fn start_watchdog() {
    let limit = std::env::var("GUST_BENCH_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(120);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            if let Some((name, t0)) = CURRENT.lock().unwrap().as_ref() {
                if t0.elapsed() > Duration::from_secs(limit) {
                    eprintln!(
                        "gust-bench: {name} ran past {limit} s (GUST_BENCH_TIMEOUT): hung, stopping the run"
                    );
                    std::process::exit(3);
                }
            }
        }
    });
}

fn timed<T>(name: &str, f: impl FnOnce() -> T) -> T {
    *CURRENT.lock().unwrap() = Some((name.to_string(), Instant::now()));
    let r = f();
    *CURRENT.lock().unwrap() = None;
    r
}

impl Ctx {
    fn wants_workload(&self, w: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|x| w.contains(x.as_str())))
    }
    fn wants_runtime(&self, r: &str) -> bool {
        self.runtimes
            .as_ref()
            .is_none_or(|o| o.iter().any(|x| x == r))
    }
    /// A workload failed its check on `rt`: says so on stderr and marks the
    /// pair FAIL.
    fn fail(&self, group: &str, rt: &str, ops: u64, msg: &str) {
        eprintln!("gust-bench: {group}/{rt} FAILED its check: {msg}");
        self.status(group, rt, ops, &format!("FAIL: {msg}"));
    }
    fn status(&self, group: &str, rt: &str, ops: u64, what: &str) {
        let mut f = self.status.lock().unwrap();
        let _ = writeln!(f, "{group}\t{rt}\t{ops}\t{what}");
        let _ = f.flush();
    }
}

/// One criterion bench: builds the runtime (through `new_runner`) and
/// measures the workload. The first iteration to fail its check (a panic)
/// marks the pair FAIL in `status.tsv` (the runner then leaks its runtime)
/// and the remaining iterations are not run.
#[allow(clippy::too_many_arguments)]
fn bench_one(
    c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ctx: &Ctx,
    group: &str,
    rt: &str,
    workers: usize,
    ops: u64,
    new_runner: &RunnerFn,
    arg: u64,
) {
    if !ctx.wants_runtime(rt) {
        return;
    }
    let name = format!("{group}/{rt}");
    let mut run = match new_runner(workers, arg) {
        Ok(run) => run,
        Err(e) => {
            ctx.status(group, rt, ops, &format!("FAIL: {e}"));
            return;
        }
    };
    let mut failed = false;
    c.bench_function(rt, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if failed {
                    total += Duration::from_secs(1);
                    continue;
                }
                match timed(&name, &mut *run) {
                    Ok(d) => total += d,
                    Err(msg) => {
                        ctx.fail(group, rt, ops, &msg);
                        failed = true;
                        total += Duration::from_secs(1);
                    }
                }
            }
            total
        })
    });
    if !failed {
        ctx.status(group, rt, ops, "ok");
    }
}

fn panic_msg(p: &Box<dyn std::any::Any + Send>) -> String {
    let s = if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    };
    let s = s.replace("\\n", " ").replace(['\t', '\n'], " ");
    s.chars().take(300).collect()
}

type Work = fn(u64) -> std::pin::Pin<Box<dyn Future<Output = Duration> + Send>>;

/// Declares the runtime columns of one workload: `$f` names a generic
/// workload taking `<E, C>` (`chan`), `<E>` (`exec`), `<E, W: Wg>` (`wg`) or
/// `<E, T: Tree>` (`tree`). Columns a peer cannot fill are left out (n/a).
macro_rules! works {
    (chan $f:ident $(, $extra:expr)*) => {
        vec![
            ("gust", Some(bench_for::<rt_gust::GustExec>(|n| Box::pin($f::<rt_gust::GustExec, rt_gust::GustCh>(n $(, $extra)*))))),
            ("tokio", Some(bench_for::<rt_tokio::TokioExec<false>>(|n| Box::pin($f::<rt_tokio::TokioExec<false>, rt_tokio::TokioCh>(n $(, $extra)*))))),
            ("smol", Some(bench_for::<rt_smol::SmolExec>(|n| Box::pin($f::<rt_smol::SmolExec, rt_smol::SmolCh>(n $(, $extra)*))))),
            ("flume", Some(bench_for::<rt_tokio::TokioExec<true>>(|n| Box::pin($f::<rt_tokio::TokioExec<true>, rt_tokio::FlumeCh>(n $(, $extra)*))))),
            ("kanal", Some(bench_for::<rt_tokio::TokioExec<true>>(|n| Box::pin($f::<rt_tokio::TokioExec<true>, rt_tokio::KanalCh>(n $(, $extra)*))))),
        ]
    };
    (wg $f:ident) => {
        vec![
            ("gust", Some(bench_for::<rt_gust::GustExec>(|n| Box::pin($f::<rt_gust::GustExec, rt_gust::GustWg>(n))))),
            ("tokio", Some(bench_for::<rt_tokio::TokioExec<false>>(|n| Box::pin($f::<rt_tokio::TokioExec<false>, rt_tokio::TokioWg>(n))))),
            ("smol", Some(bench_for::<rt_smol::SmolExec>(|n| Box::pin($f::<rt_smol::SmolExec, rt_smol::SmolWg>(n))))),
            ("wg", Some(bench_for::<rt_tokio::TokioExec<false>>(|n| Box::pin($f::<rt_tokio::TokioExec<false>, rt_tokio::WgWg>(n))))),
            ("awaitgroup", Some(bench_for::<rt_tokio::TokioExec<false>>(|n| Box::pin($f::<rt_tokio::TokioExec<false>, rt_tokio::AwaitGroupWg>(n))))),
        ]
    };
    (tree $f:ident) => {
        vec![
            ("gust", Some(bench_for::<rt_gust::GustExec>(|n| Box::pin($f::<rt_gust::GustExec, rt_gust::GustTree>(n))))),
            ("tokio", Some(bench_for::<rt_tokio::TokioExec<false>>(|n| Box::pin($f::<rt_tokio::TokioExec<false>, rt_tokio::TokioTree>(n))))),
        ]
    };
    (exec $f:ident) => {
        vec![
            ("gust", Some(bench_for::<rt_gust::GustExec>(|n| Box::pin($f::<rt_gust::GustExec>(n))))),
            ("tokio", Some(bench_for::<rt_tokio::TokioExec<false>>(|n| Box::pin($f::<rt_tokio::TokioExec<false>>(n))))),
            ("smol", Some(bench_for::<rt_smol::SmolExec>(|n| Box::pin($f::<rt_smol::SmolExec>(n))))),
        ]
    };
}

/// A workload's row: name, ops per iteration, argument, its runtimes.
type Row<'a> = (&'a str, u64, u64, Vec<(&'a str, Option<RunnerFn>)>);

/// The column of runtime `E` in a row: builds an `E` and returns its runner
/// (used by both modes). A runtime that fails a check is leaked: it may
/// hold stuck tasks.
fn bench_for<E: Exec>(work: Work) -> RunnerFn {
    Box::new(move |workers, arg| {
        let exec =
            catch_unwind(|| E::new(workers)).map_err(|p| format!("runtime: {}", panic_msg(&p)))?;
        let mut exec = Some(exec);
        Ok(Box::new(move || {
            let e = exec
                .as_ref()
                .expect("a runtime that failed is not run again");
            catch_unwind(AssertUnwindSafe(|| e.run(work(arg)))).map_err(|p| {
                std::mem::forget(exec.take());
                panic_msg(&p)
            })
        }))
    })
}

/// One iteration of a workload on a runtime built for the interleaved mode:
/// its measured time, or the message of the check that failed.
type Runner = Box<dyn FnMut() -> Result<Duration, String>>;

/// Builds a runtime with this many workers and returns its runner for the
/// workload's argument.
type RunnerFn = Box<dyn Fn(usize, u64) -> Result<Runner, String>>;

/// The interleaved mode (`GUST_BENCH_INTERLEAVE=1`, what `bench/run.sh`
/// uses): all the runtimes of one row are built up front and take turns,
/// each running the workload for a slice of about `measure / 20` per turn
/// (at least one iteration), the first runtime of a turn rotating, until each
/// has at least `measure` of samples and 10 of them (a runtime that has them
/// sits out the remaining turns). Every iteration is one sample.
///
/// Why: on a shared 2-vCPU machine the speed of the whole machine shifts
/// between levels for tenths of a second to seconds (the same binary, pinned
/// to one CPU, runs MPMC at 1 worker in 6.4 ms or in 10.9 ms per
/// iteration, for gust and kanal alike). Criterion measures one runtime's
/// samples back to back, so one runtime could be measured in a slow spell
/// and the next in a fast one, and the row's ratio flipped from run to run;
/// taking turns gives every runtime of a row the same mix of spells.
///
/// The samples go where criterion would put them
/// (`$CRITERION_HOME/<group>/<runtime>/new/sample.json`), so `report.py`
/// reads both modes alike.
fn measure_interleaved(
    ctx: &Ctx,
    group: &str,
    ops: u64,
    arg: u64,
    workers: usize,
    rts: &[(&str, Option<RunnerFn>)],
) {
    struct Column<'a> {
        rt: &'a str,
        run: Option<Runner>,
        samples: Vec<Duration>,
    }
    let mut cols: Vec<Column<'_>> = Vec::new();
    for (rt, new_runner) in rts {
        let Some(new_runner) = new_runner else {
            continue;
        };
        if !ctx.wants_runtime(rt) {
            continue;
        }
        let runner = if ctx.process {
            child::spawn(group, rt)
        } else {
            new_runner(workers, arg)
        };
        match runner {
            Ok(run) => cols.push(Column {
                rt,
                run: Some(run),
                samples: Vec::new(),
            }),
            Err(e) => ctx.status(group, rt, ops, &format!("FAIL: {e}")),
        }
    }
    let slice = ctx.measure / 20;
    // 10 samples and `measure` of them; a runtime ten times slower than the
    // measurement time (flume's fan-out at 2 workers: 15 s an iteration)
    // stops at 3.
    let enough = |c: &Column<'_>| {
        let spent = c.samples.iter().sum::<Duration>();
        c.run.is_none()
            || (c.samples.len() >= 10 && spent >= ctx.measure)
            || (c.samples.len() >= 3 && spent >= 10 * ctx.measure)
    };
    // One untimed iteration each first (warm-up: allocator, thread start).
    for turn in 0.. {
        if turn > 0 && cols.iter().all(enough) {
            break;
        }
        let n = cols.len();
        for k in 0..n {
            let c = &mut cols[(turn + k) % n];
            if turn > 0 && enough(c) {
                continue;
            }
            let Some(run) = c.run.as_mut() else { continue };
            // Let the previous runtime's workers go idle (they spin a little
            // before parking) before this one is timed.
            std::thread::sleep(Duration::from_millis(2));
            let name = format!("{group}/{}", c.rt);
            let mut spent = Duration::ZERO;
            loop {
                match timed(&name, &mut *run) {
                    Ok(d) => {
                        spent += d;
                        if turn > 0 {
                            c.samples.push(d);
                        }
                    }
                    Err(msg) => {
                        ctx.fail(group, c.rt, ops, &msg);
                        c.run = None;
                        c.samples.clear();
                        break;
                    }
                }
                if turn == 0 || spent >= slice {
                    break;
                }
            }
        }
    }
    let home = std::env::var("CRITERION_HOME").unwrap_or_else(|_| "target/criterion".into());
    for c in cols {
        if c.run.is_none() {
            continue;
        }
        drop(c.run);
        let mut ns: Vec<f64> = c.samples.iter().map(|d| d.as_nanos() as f64).collect();
        let dir = format!("{home}/{group}/{}/new", c.rt);
        std::fs::create_dir_all(&dir).expect("criterion directory");
        let json = format!(
            "{{\"sampling_mode\":\"Flat\",\"iters\":[{}],\"times\":[{}]}}",
            vec!["1.0"; ns.len()].join(","),
            ns.iter()
                .map(|t| format!("{t:.1}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        std::fs::write(format!("{dir}/sample.json"), json).expect("sample.json");
        ctx.status(group, c.rt, ops, "ok");
        ns.sort_by(f64::total_cmp);
        let q = |f: f64| ns[((ns.len() - 1) as f64 * f).round() as usize];
        println!(
            "{group}/{:<12} time:   [{} {} {}]  (quartiles and median of {} interleaved samples)",
            c.rt,
            human(q(0.25)),
            human(q(0.5)),
            human(q(0.75)),
            ns.len()
        );
    }
}

/// `1234567.0` ns as criterion writes it: `1.2346 ms`.
fn human(ns: f64) -> String {
    let (v, unit) = match ns {
        x if x >= 1e9 => (x / 1e9, "s"),
        x if x >= 1e6 => (x / 1e6, "ms"),
        x if x >= 1e3 => (x / 1e3, "µs"),
        x => (x, "ns"),
    };
    format!("{v:.4} {unit}")
}

fn main() {
    let s = sizes();
    let all = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let workers: Vec<usize> = match std::env::var("GUST_BENCH_WORKERS") {
        Ok(v) if !v.trim().is_empty() => v
            .split(',')
            .map(|x| {
                x.trim()
                    .parse()
                    .expect("GUST_BENCH_WORKERS: a comma-separated list of numbers")
            })
            .collect(),
        _ if all > 1 => vec![1, all],
        _ => vec![1],
    };
    let list = |var: &str| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.split(',')
                    .map(|x| x.trim().to_string())
                    .collect::<Vec<_>>()
            })
    };
    let out = std::env::var("GUST_BENCH_OUT").unwrap_or_else(|_| "target/gust-bench".to_string());
    std::fs::create_dir_all(&out).expect("GUST_BENCH_OUT directory");
    let status = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{out}/status.tsv"))
        .expect("status.tsv");
    let measure = std::env::var("GUST_BENCH_MEASURE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_millis(1000));
    let ctx = Ctx {
        workers,
        only: list("GUST_BENCH_ONLY"),
        runtimes: list("GUST_BENCH_RUNTIMES"),
        status: Mutex::new(status),
        measure,
        interleave: std::env::var("GUST_BENCH_INTERLEAVE").is_ok_and(|v| !v.is_empty() && v != "0"),
        process: std::env::var("GUST_BENCH_PROCESS").is_ok_and(|v| !v.is_empty() && v != "0"),
    };
    start_watchdog();

    // (workload, ops per iteration, argument, runtimes)
    let sieve_last = s.sieve_last;
    let table: Vec<Row<'_>> = vec![
        ("spawn", s.spawn, s.spawn, works!(exec w_spawn)),
        ("pingpong", s.pingpong, s.pingpong, works!(chan w_pingpong)),
        ("spsc_bounded", s.spsc, s.spsc, works!(chan w_spsc, 1024)),
        (
            "spsc_rendezvous",
            s.spsc_rdv,
            s.spsc_rdv,
            works!(chan w_spsc, 0),
        ),
        ("mpmc", s.mpmc, s.mpmc, works!(chan w_mpmc)),
        ("select", s.select, s.select, works!(chan w_select)),
        ("sieve", s.sieve_primes, s.sieve_primes, {
            // the last prime depends on the size: pass it through a static
            SIEVE_LAST.store(sieve_last, Ordering::Relaxed);
            works!(chan w_sieve_sized)
        }),
        ("fanout", s.fanout, s.fanout, works!(chan w_fanout)),
        ("cancel", s.cancel, s.cancel, works!(exec w_cancel)),
        ("fanin", s.fanin, s.fanin, works!(wg w_fanin)),
        ("children", s.children, s.children, works!(tree w_children)),
    ]
    .into_iter()
    .chain(toolbox::rows(s.mutex, s.dynselect))
    .chain(timers::rows(s.timers, s.timeouts))
    .collect();

    if let Some(args) = child::args() {
        child::serve(&table, args);
    }

    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(ctx.measure)
        .configure_from_args();
    for (wl, ops, arg, rts) in &table {
        if !ctx.wants_workload(wl) {
            continue;
        }
        for &w in &ctx.workers {
            let group = format!("{wl}_w{w}");
            if ctx.interleave {
                measure_interleaved(&ctx, &group, *ops, *arg, w, rts);
                continue;
            }
            let mut g = c.benchmark_group(&group);
            g.sampling_mode(SamplingMode::Flat);
            g.throughput(Throughput::Elements(*ops));
            for (rt, f) in rts.iter() {
                if let Some(f) = f {
                    bench_one(&mut g, &ctx, &group, rt, w, *ops, f, *arg);
                }
            }
            g.finish();
        }
    }
    c.final_summary();
}

static SIEVE_LAST: AtomicU64 = AtomicU64::new(0);

/// `w_sieve` with the expected last prime taken from [`SIEVE_LAST`].
async fn w_sieve_sized<E: Exec, C: Ch>(primes: u64) -> Duration {
    w_sieve::<E, C>(primes, SIEVE_LAST.load(Ordering::Relaxed)).await
}

/// Process isolation (`GUST_BENCH_PROCESS=1`): the column of each runtime
/// of a row is a child process of this binary that builds that runtime
/// alone and runs the workload when the parent says so. So no runtime
/// shares its process (allocator arenas, caches warmed by another runtime,
/// parked threads of the other columns) with another, as a user's program
/// runs, while the runtimes of a row still take turns
/// ([`measure_interleaved`] drives a child exactly as an in-process
/// runner: one line per iteration).
///
/// The protocol, one line each way: the parent starts
/// `<this binary> --gust-child <group> <runtime>`; the child answers
/// `ready` (or `fail <why>`), then for each `run` it reads runs one
/// iteration and answers `ok <ns>` or `fail <why>`. It exits when its
/// stdin closes, without dropping its runtime (one that failed a check may
/// hold stuck tasks). The child measures the iteration itself, so the pipe's
/// cost is outside every sample.
mod child {
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

    /// `(group, runtime)` when this process is a child.
    pub(crate) fn args() -> Option<(String, String)> {
        let a: Vec<String> = std::env::args().collect();
        let i = a.iter().position(|x| x == "--gust-child")?;
        Some((a.get(i + 1)?.clone(), a.get(i + 2)?.clone()))
    }

    /// Starts the child for `rt` in `group` and returns its runner.
    pub(crate) fn spawn(group: &str, rt: &str) -> Result<Runner, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(exe)
            .args(["--gust-child", group, rt])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the child process: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut c = Column {
            _child: child,
            stdin,
            stdout,
        };
        match c.read()?.as_str() {
            "ready" => {}
            other => return Err(other.trim_start_matches("fail ").to_string()),
        }
        Ok(Box::new(move || c.run_once()))
    }

    struct Column {
        /// Reaped by the OS when the parent exits; its stdin closing ends it.
        _child: Child,
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
    }

    impl Column {
        fn read(&mut self) -> Result<String, String> {
            let mut line = String::new();
            match self.stdout.read_line(&mut line) {
                Ok(0) => Err("the child process died (see its stderr)".into()),
                Ok(_) => Ok(line.trim_end().to_string()),
                Err(e) => Err(format!("reading the child: {e}")),
            }
        }

        fn run_once(&mut self) -> Result<Duration, String> {
            writeln!(self.stdin, "run").map_err(|e| format!("writing to the child: {e}"))?;
            let line = self.read()?;
            match line.strip_prefix("ok ") {
                Some(ns) => Ok(Duration::from_nanos(
                    ns.parse().map_err(|_| format!("child said {line:?}"))?,
                )),
                None => Err(line.trim_start_matches("fail ").to_string()),
            }
        }
    }

    /// The child's side: builds the runner of `rt` in `group` (a
    /// `<workload>_w<workers>` name) and serves `run` requests. Never returns.
    pub(crate) fn serve(table: &[Row<'_>], (group, rt): (String, String)) -> ! {
        let out = std::io::stdout();
        let mut out = out.lock();
        let mut say = |line: String| {
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        };
        let found = group.rsplit_once("_w").and_then(|(wl, w)| {
            let w: usize = w.parse().ok()?;
            let (_, _, arg, rts) = table.iter().find(|r| r.0 == wl)?;
            let (_, f) = rts.iter().find(|(r, _)| *r == rt)?;
            Some((f.as_ref()?, w, *arg))
        });
        let Some((new_runner, workers, arg)) = found else {
            say(format!("fail no column {rt} in row {group}"));
            std::process::exit(2);
        };
        let mut run = match new_runner(workers, arg) {
            Ok(run) => run,
            Err(e) => {
                say(format!("fail {e}"));
                std::process::exit(2);
            }
        };
        say("ready".into());
        let name = format!("{group}/{rt}");
        for line in std::io::stdin().lock().lines() {
            match line.as_deref() {
                Ok("run") => match timed(&name, &mut *run) {
                    Ok(d) => say(format!("ok {}", d.as_nanos())),
                    Err(msg) => say(format!("fail {msg}")),
                },
                _ => break,
            }
        }
        std::process::exit(0)
    }
}
