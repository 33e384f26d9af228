//! The timer rows: 100k timers firing (throughput and lateness) and 1M
//! timeouts created and cancelled, on gust (`gust::time`), tokio
//! (`tokio::time`, its runtime built with `enable_all`) and smol (async-io's
//! `Timer`, driven by async-io's own "async-io" thread, as the bench's smol
//! workers run `futures_lite::future::block_on`); Go's `time.Sleep` and
//! `time.NewTimer` + `Stop` are in bench/go.
//!
//! `timers100k`: the root spawns 100,000 tasks, yielding after every 1,000 so
//! the spawned ones get to register their timers at 1 worker too. Task `i`
//! sleeps until `t0 + 1 ms + i × 200 ns` (so all the deadlines fall in a
//! 20 ms window, 5M a second), then records its lateness, `now - deadline`.
//! The time is from `t0` to the moment the last timer fired (its wake-up,
//! not its join), per timer: it cannot be below 210 ns, and it is above that
//! by as much as the runtime fell behind. The lateness of every iteration
//! (p50, p99, max over its 100k timers) is appended to
//! `$GUST_BENCH_OUT/lateness.tsv` (`timers100k <workers> <runtime> p50_us
//! p99_us max_us`), which `bench/report.py` turns into a lateness table. A
//! timer that fires before its deadline fails the row.
//!
//! `timeouts1m`: 8 tasks, each awaiting 125,000 times a 10 s timeout around
//! a `yield_now()` (pending on its first poll, ready on its second): the
//! timer is registered on the first poll and cancelled when the inner future
//! wins. Per timeout; a timeout that fires fails the row.

use super::*;

/// Deadlines of `timers100k` are this far apart: 100k of them in 20 ms.
const SPACING_NS: u64 = 200;
/// The root yields after spawning this many timer tasks.
const BATCH: u64 = 1_000;
/// The tasks of `timeouts1m`.
const TIMEOUT_TASKS: u64 = 8;

/// A runtime's timers, as the rows use them.
pub(crate) trait Timers: 'static {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send;
    /// `f` under a 10 s timeout: `true` when `f` finished first.
    fn timeout<F: Future<Output = ()> + Send>(f: F) -> impl Future<Output = bool> + Send;
}

pub(crate) struct GustTimers;
impl Timers for GustTimers {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        gust::time::sleep_until(deadline)
    }
    fn timeout<F: Future<Output = ()> + Send>(f: F) -> impl Future<Output = bool> + Send {
        async move {
            gust::time::timeout(Duration::from_secs(10), f)
                .await
                .is_ok()
        }
    }
}

pub(crate) struct TokioTimers;
impl Timers for TokioTimers {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        tokio::time::sleep_until(tokio::time::Instant::from_std(deadline))
    }
    fn timeout<F: Future<Output = ()> + Send>(f: F) -> impl Future<Output = bool> + Send {
        async move {
            tokio::time::timeout(Duration::from_secs(10), f)
                .await
                .is_ok()
        }
    }
}

pub(crate) struct SmolTimers;
impl Timers for SmolTimers {
    fn sleep_until(deadline: Instant) -> impl Future<Output = ()> + Send {
        async move {
            async_io::Timer::at(deadline).await;
        }
    }
    fn timeout<F: Future<Output = ()> + Send>(f: F) -> impl Future<Output = bool> + Send {
        futures_lite::future::or(
            async move {
                f.await;
                true
            },
            async {
                async_io::Timer::after(Duration::from_secs(10)).await;
                false
            },
        )
    }
}

/// `n` tasks, each sleeping until its own deadline (spread over
/// `n × 200 ns` from 1 ms after the start); the time is to the last wake-up.
pub(crate) async fn w_timers<E: Exec, T: Timers>(n: u64) -> Duration {
    let t0 = Instant::now();
    let base = t0 + Duration::from_millis(1);
    let mut hs = Vec::with_capacity(n as usize);
    for i in 0..n {
        let deadline = base + Duration::from_nanos(i * SPACING_NS);
        hs.push(E::spawn(async move {
            T::sleep_until(deadline).await;
            let woke = Instant::now();
            (deadline, woke)
        }));
        if (i + 1) % BATCH == 0 {
            E::yield_now().await;
        }
    }
    let mut late = Vec::with_capacity(n as usize);
    let mut last = t0;
    for h in hs {
        let (deadline, woke) = h.await;
        let l = woke.checked_duration_since(deadline);
        assert!(l.is_some(), "timers: a sleep ended before its deadline");
        late.push(l.unwrap_or_default());
        last = last.max(woke);
    }
    let el = last - t0;
    assert_eq!(late.len() as u64, n, "timers: lost timers");
    record_lateness(late);
    el
}

/// Appends this iteration's lateness (p50, p99, max, in µs) to
/// `$GUST_BENCH_OUT/lateness.tsv`, with the workers and runtime read from
/// the name of the iteration being timed (`<row>_w<workers>/<runtime>`).
fn record_lateness(mut late: Vec<Duration>) {
    if late.is_empty() {
        return;
    }
    late.sort_unstable();
    let q = |f: f64| late[((late.len() - 1) as f64 * f).round() as usize].as_secs_f64() * 1e6;
    let name = CURRENT
        .lock()
        .unwrap()
        .as_ref()
        .map(|(n, _)| n.clone())
        .unwrap_or_default();
    let (group, rt) = name.rsplit_once('/').unwrap_or((name.as_str(), "?"));
    let (row, w) = group.rsplit_once("_w").unwrap_or((group, "?"));
    let line = format!(
        "{row}\t{w}\t{rt}\t{:.1}\t{:.1}\t{:.1}\n",
        q(0.5),
        q(0.99),
        q(1.0)
    );
    let out = std::env::var("GUST_BENCH_OUT").unwrap_or_else(|_| "target/gust-bench".to_string());
    let _ = std::fs::create_dir_all(&out);
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(format!("{out}/lateness.tsv"))
    {
        // One write per line: the columns' processes share the file.
        let _ = f.write_all(line.as_bytes());
    }
}

/// `n` timeouts around a one-yield future, over 8 tasks; none may fire.
pub(crate) async fn w_timeouts<E: Exec, T: Timers>(n: u64) -> Duration {
    let per = n / TIMEOUT_TASKS;
    let t0 = Instant::now();
    let hs: Vec<_> = (0..TIMEOUT_TASKS)
        .map(|_| {
            E::spawn(async move {
                let mut ok = 0u64;
                for _ in 0..per {
                    ok += u64::from(T::timeout(E::yield_now()).await);
                }
                ok
            })
        })
        .collect();
    let mut ok = 0;
    for h in hs {
        ok += h.await;
    }
    let el = t0.elapsed();
    assert_eq!(ok, per * TIMEOUT_TASKS, "timeouts: a 10 s timeout fired");
    el
}

/// The two rows, `timers_n` timers and `timeouts_n` timeouts per iteration.
pub(crate) fn rows<'a>(timers_n: u64, timeouts_n: u64) -> Vec<Row<'a>> {
    use rt_gust::GustExec as G;
    use rt_smol::SmolExec as S;
    use rt_tokio::TokioExec as T;
    vec![
        (
            "timers100k",
            timers_n,
            timers_n,
            vec![
                (
                    "gust",
                    Some(bench_for::<G>(|n| Box::pin(w_timers::<G, GustTimers>(n)))),
                ),
                (
                    "tokio",
                    Some(bench_for::<T<false>>(|n| {
                        Box::pin(w_timers::<T<false>, TokioTimers>(n))
                    })),
                ),
                (
                    "smol",
                    Some(bench_for::<S>(|n| Box::pin(w_timers::<S, SmolTimers>(n)))),
                ),
            ],
        ),
        (
            "timeouts1m",
            timeouts_n,
            timeouts_n,
            vec![
                (
                    "gust",
                    Some(bench_for::<G>(|n| Box::pin(w_timeouts::<G, GustTimers>(n)))),
                ),
                (
                    "tokio",
                    Some(bench_for::<T<false>>(|n| {
                        Box::pin(w_timeouts::<T<false>, TokioTimers>(n))
                    })),
                ),
                (
                    "smol",
                    Some(bench_for::<S>(|n| Box::pin(w_timeouts::<S, SmolTimers>(n)))),
                ),
            ],
        ),
    ]
}
