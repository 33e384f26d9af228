//! The service-toolkit rows (issue 15): a contended mutex, 4 and 16 tasks
//! (gust's `sync::Mutex`, `tokio::sync::Mutex`, `async-lock`'s on smol), and
//! a select over 16 channels built at run time (gust's `Select`, tokio's
//! `StreamMap`, `futures::stream::select_all` over async-channel on smol);
//! Go's `sync.Mutex` and `reflect.Select` are in bench/go.

use super::*;
use futures::StreamExt;

/// A mutex guarding a counter, as the row uses it.
pub(crate) trait Lock: Send + Sync + 'static {
    fn new() -> Self;
    fn incr(&self) -> impl Future<Output = ()> + Send + '_;
    fn get(&self) -> impl Future<Output = u64> + Send + '_;
}

pub(crate) struct GustLock(gust::sync::Mutex<u64>);
pub(crate) struct TokioLock(tokio::sync::Mutex<u64>);
pub(crate) struct AsyncLock(async_lock::Mutex<u64>);

macro_rules! lock_impl {
    ($t:ident, $m:path) => {
        impl Lock for $t {
            fn new() -> Self {
                $t(<$m>::new(0))
            }
            fn incr(&self) -> impl Future<Output = ()> + Send + '_ {
                async move { *self.0.lock().await += 1 }
            }
            fn get(&self) -> impl Future<Output = u64> + Send + '_ {
                async move { *self.0.lock().await }
            }
        }
    };
}
lock_impl!(GustLock, gust::sync::Mutex<u64>);
lock_impl!(TokioLock, tokio::sync::Mutex<u64>);
lock_impl!(AsyncLock, async_lock::Mutex<u64>);

/// `tasks` tasks take turns at one mutex, `n` increments in all (Go's
/// goroutines doing `mu.Lock(); x++; mu.Unlock()`).
pub(crate) async fn w_mutex<E: Exec, L: Lock>(n: u64, tasks: u64) -> Duration {
    let lock = Arc::new(L::new());
    let per = n / tasks;
    let t0 = Instant::now();
    let hs: Vec<_> = (0..tasks)
        .map(|_| {
            let lock = lock.clone();
            E::spawn(async move {
                for _ in 0..per {
                    lock.incr().await;
                }
            })
        })
        .collect();
    for h in hs {
        h.await;
    }
    let el = t0.elapsed();
    assert_eq!(lock.get().await, per * tasks, "mutex: lost increments");
    el
}

/// 16 producers, each on its own bounded(64) channel; one consumer selects
/// over the 16 receivers with a select built at run time until every value
/// is in. Per message.
pub(crate) async fn w_dynselect<E: Exec, S: DynSelect>(n: u64) -> Duration {
    let per = n / 16;
    let t0 = Instant::now();
    let (txs, set) = S::make(16);
    for (p, tx) in txs.into_iter().enumerate() {
        let p = p as u64;
        E::go(async move {
            for i in p * per..(p + 1) * per {
                S::send(&tx, i).await;
            }
        });
    }
    let (c, s) = S::drain(set, 16 * per).await;
    let el = t0.elapsed();
    assert_eq!(
        (c, s),
        (16 * per, tri(16 * per)),
        "dynamic select: wrong count/sum"
    );
    el
}

/// A runtime-sized select over receivers, as the row uses it.
pub(crate) trait DynSelect: 'static {
    type Tx: Send + 'static;
    type Set: Send;
    fn make(k: usize) -> (Vec<Self::Tx>, Self::Set);
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_;
    /// Receives `n` values through the select: (count, sum).
    fn drain(set: Self::Set, n: u64) -> impl Future<Output = (u64, u64)> + Send;
}

pub(crate) struct GustSel;
impl DynSelect for GustSel {
    type Tx = gust::Sender<u64>;
    type Set = Vec<gust::Receiver<u64>>;
    fn make(k: usize) -> (Vec<Self::Tx>, Self::Set) {
        (0..k).map(|_| gust::chan(64)).unzip()
    }
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_ {
        async move { tx.send(v).await.expect("send") }
    }
    fn drain(set: Self::Set, n: u64) -> impl Future<Output = (u64, u64)> + Send {
        async move {
            let mut sel = gust::Select::new();
            for rx in &set {
                sel.recv(rx);
            }
            let (mut c, mut s) = (0, 0);
            while c < n {
                match sel.wait().await {
                    (_, gust::select::Outcome::Recv(Some(v))) => {
                        c += 1;
                        s += v;
                    }
                    // Closed (its producer is done): Go's nil channel.
                    (i, _) => drop(sel.remove(i)),
                }
            }
            (c, s)
        }
    }
}

pub(crate) struct TokioSel;
impl DynSelect for TokioSel {
    type Tx = tokio::sync::mpsc::Sender<u64>;
    type Set = tokio_stream::StreamMap<usize, tokio_stream::wrappers::ReceiverStream<u64>>;
    fn make(k: usize) -> (Vec<Self::Tx>, Self::Set) {
        let mut map = tokio_stream::StreamMap::new();
        let txs = (0..k)
            .map(|i| {
                let (tx, rx) = tokio::sync::mpsc::channel(64);
                map.insert(i, tokio_stream::wrappers::ReceiverStream::new(rx));
                tx
            })
            .collect();
        (txs, map)
    }
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_ {
        async move { tx.send(v).await.expect("send") }
    }
    fn drain(mut set: Self::Set, n: u64) -> impl Future<Output = (u64, u64)> + Send {
        async move {
            let (mut c, mut s) = (0, 0);
            while c < n {
                let (_, v) = set.next().await.expect("stream map ended");
                c += 1;
                s += v;
            }
            (c, s)
        }
    }
}

pub(crate) struct SmolSel;
impl DynSelect for SmolSel {
    type Tx = async_channel::Sender<u64>;
    type Set = futures::stream::SelectAll<std::pin::Pin<Box<async_channel::Receiver<u64>>>>;
    fn make(k: usize) -> (Vec<Self::Tx>, Self::Set) {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..k).map(|_| async_channel::bounded(64)).unzip();
        (
            txs,
            futures::stream::select_all(rxs.into_iter().map(Box::pin)),
        )
    }
    fn send(tx: &Self::Tx, v: u64) -> impl Future<Output = ()> + Send + '_ {
        async move { tx.send(v).await.expect("send") }
    }
    fn drain(mut set: Self::Set, n: u64) -> impl Future<Output = (u64, u64)> + Send {
        async move {
            let (mut c, mut s) = (0, 0);
            while c < n {
                let v = set.next().await.expect("select_all ended");
                c += 1;
                s += v;
            }
            (c, s)
        }
    }
}

/// The rows: `mutex4`, `mutex16`, `dynselect16`.
pub(crate) fn rows<'a>(mutex_n: u64, select_n: u64) -> Vec<Row<'a>> {
    fn lock_cols(tasks: u64) -> Vec<(&'static str, Option<RunnerFn>)> {
        // A plain fn pointer per column: `Work` takes only the size.
        let (g, t, s): (Work, Work, Work) = match tasks {
            4 => (
                |n| Box::pin(w_mutex::<rt_gust::GustExec, GustLock>(n, 4)),
                |n| Box::pin(w_mutex::<rt_tokio::TokioExec<false>, TokioLock>(n, 4)),
                |n| Box::pin(w_mutex::<rt_smol::SmolExec, AsyncLock>(n, 4)),
            ),
            _ => (
                |n| Box::pin(w_mutex::<rt_gust::GustExec, GustLock>(n, 16)),
                |n| Box::pin(w_mutex::<rt_tokio::TokioExec<false>, TokioLock>(n, 16)),
                |n| Box::pin(w_mutex::<rt_smol::SmolExec, AsyncLock>(n, 16)),
            ),
        };
        vec![
            ("gust", Some(bench_for::<rt_gust::GustExec>(g))),
            ("tokio", Some(bench_for::<rt_tokio::TokioExec<false>>(t))),
            ("smol", Some(bench_for::<rt_smol::SmolExec>(s))),
        ]
    }
    vec![
        ("mutex4", mutex_n, mutex_n, lock_cols(4)),
        ("mutex16", mutex_n, mutex_n, lock_cols(16)),
        (
            "dynselect16",
            select_n,
            select_n,
            vec![
                (
                    "gust",
                    Some(bench_for::<rt_gust::GustExec>(|n| {
                        Box::pin(w_dynselect::<rt_gust::GustExec, GustSel>(n))
                    })),
                ),
                (
                    "tokio",
                    Some(bench_for::<rt_tokio::TokioExec<false>>(|n| {
                        Box::pin(w_dynselect::<rt_tokio::TokioExec<false>, TokioSel>(n))
                    })),
                ),
                (
                    "smol",
                    Some(bench_for::<rt_smol::SmolExec>(|n| {
                        Box::pin(w_dynselect::<rt_smol::SmolExec, SmolSel>(n))
                    })),
                ),
            ],
        ),
    ]
}
