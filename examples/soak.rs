//! Soak test (issue 6): for a given duration, producers, consumers and mixed
//! selects run over rendezvous and bounded channels, with random
//! cancellations (select timeouts, dropped send/recv futures), contexts
//! cancelled at random and tasks aborted. At the end it checks:
//!
//! - exactly-once: every value produced was received exactly once or handed
//!   back / never delivered. Each value is a unique `u64` id in a `Msg` whose
//!   `Drop` records it as *undelivered* (a send that failed, a select send
//!   case not chosen, a cancelled send, a value left buffered), while a
//!   consumer records it as *received* and forgets it. So
//!   `produced == received + undelivered` in count, in the wrapping sum and in
//!   the xor of a hash of the ids: a lost value, a duplicate or a value both
//!   delivered and handed back breaks it;
//! - no task leaked: `gust::num_tasks()` is back to its starting value;
//! - memory flat: VmRSS after warm-up and at the end (Linux).
//!
//! ```text
//! cargo run --release --example soak -- [SECONDS]   # default 10
//! ```
//!
//! Prints messages per second and each check; exits non-zero with one
//! `soak: FAIL: ...` line on any failure.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gust::{Context, Receiver, SendError, Sender, TrySendError, chan, select};

// ---------------------------------------------------------------- ledger

/// count, wrapping sum and xor of `mix(id)` for one category of values.
struct Totals {
    count: AtomicU64,
    sum: AtomicU64,
    xor: AtomicU64,
}

impl Totals {
    const fn new() -> Self {
        Totals {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            xor: AtomicU64::new(0),
        }
    }
    fn add(&self, id: u64) {
        let h = mix(id);
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(h, Relaxed);
        self.xor.fetch_xor(h, Relaxed);
    }
    fn get(&self) -> (u64, u64, u64) {
        (
            self.count.load(Relaxed),
            self.sum.load(Relaxed),
            self.xor.load(Relaxed),
        )
    }
}

static PRODUCED: Totals = Totals::new();
static RECEIVED: Totals = Totals::new();
static UNDELIVERED: Totals = Totals::new();
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);
static ABORTS: AtomicU64 = AtomicU64::new(0);
static SPAWNED: AtomicU64 = AtomicU64::new(0);
static EARLY_CANCELS: AtomicU64 = AtomicU64::new(0);

/// splitmix64: ids hashed so that sum and xor catch swaps and duplicates.
fn mix(id: u64) -> u64 {
    let mut z = id.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Per-task accumulator, flushed into the global totals when dropped (also
/// when its task is aborted: the future, and so this, is dropped).
struct Acc {
    to: &'static Totals,
    count: u64,
    sum: u64,
    xor: u64,
}

impl Acc {
    fn new(to: &'static Totals) -> Self {
        Acc {
            to,
            count: 0,
            sum: 0,
            xor: 0,
        }
    }
    fn add(&mut self, id: u64) {
        let h = mix(id);
        self.count += 1;
        self.sum = self.sum.wrapping_add(h);
        self.xor ^= h;
    }
}

impl Drop for Acc {
    fn drop(&mut self) {
        self.to.count.fetch_add(self.count, Relaxed);
        self.to.sum.fetch_add(self.sum, Relaxed);
        self.to.xor.fetch_xor(self.xor, Relaxed);
    }
}

/// A message: a unique id. Dropped = not delivered.
struct Msg(u64);

impl Drop for Msg {
    fn drop(&mut self) {
        UNDELIVERED.add(self.0);
    }
}

/// A consumer's end of the ledger.
struct Sink(Acc);

impl Sink {
    fn new() -> Self {
        Sink(Acc::new(&RECEIVED))
    }
    fn take(&mut self, m: Msg) {
        self.0.add(m.0);
        std::mem::forget(m);
    }
}

/// A producer's id generator: blocks of ids, each id counted as produced.
struct Gen {
    next: u64,
    end: u64,
    acc: Acc,
}

impl Gen {
    const BLOCK: u64 = 1 << 12;
    fn new() -> Self {
        Gen {
            next: 0,
            end: 0,
            acc: Acc::new(&PRODUCED),
        }
    }
    fn msg(&mut self) -> Msg {
        if self.next == self.end {
            self.next = NEXT_BLOCK.fetch_add(Self::BLOCK, Relaxed);
            self.end = self.next + Self::BLOCK;
        }
        let id = self.next;
        self.next += 1;
        self.acc.add(id);
        Msg(id)
    }
}

// ---------------------------------------------------------------- workers

fn short() -> Duration {
    Duration::from_micros(fastrand::u64(0..2_000))
}

type Ends = Vec<(Sender<Msg>, Receiver<Msg>)>;

fn two(ends: &Ends) -> (usize, usize) {
    let a = fastrand::usize(..ends.len());
    let b = (a + 1 + fastrand::usize(..ends.len() - 1)) % ends.len();
    (a, b)
}

async fn producer(ctx: Context, ends: Ends) {
    let (a, b) = two(&ends);
    let (txa, txb) = (ends[a].0.clone(), ends[b].0.clone());
    drop(ends);
    let mut g = Gen::new();
    // Sometimes cancel our own context early and leave.
    let (ctx, cancel) = ctx.with_cancel();
    let give_up_after = fastrand::u32(50..100_000);
    for i in 0.. {
        if i == give_up_after {
            EARLY_CANCELS.fetch_add(1, Relaxed);
            cancel.cancel();
        }
        if ctx.is_done() {
            break;
        }
        match fastrand::u8(0..5) {
            // A select with two send cases: the value of the case not
            // chosen is dropped (undelivered).
            0 | 1 => select! {
                r = txa.send(g.msg()) => drop(r),
                r = txb.send(g.msg()) => drop(r),
                _ = ctx.done() => break,
                _ = gust::time::after(short()) => {}
            },
            // A send future dropped by a timeout.
            2 => {
                if let Ok(Err(SendError(m))) = gust::time::timeout(short(), txa.send(g.msg())).await
                {
                    drop(m);
                }
            }
            3 => match txb.try_send(g.msg()) {
                Err(TrySendError::Full(m) | TrySendError::Closed(m)) => {
                    drop(m);
                    gust::yield_now().await;
                }
                Ok(()) => {}
            },
            _ => select! {
                r = txa.send(g.msg()) => drop(r),
                _ = ctx.done() => break,
            },
        }
    }
}

async fn consumer(ctx: Context, ends: Ends) {
    let (a, b) = two(&ends);
    let (rxa, rxb) = (ends[a].1.clone(), ends[b].1.clone());
    drop(ends);
    let mut sink = Sink::new();
    loop {
        match fastrand::u8(0..4) {
            0 | 1 => select! {
                v = rxa.recv() => if let Some(m) = v { sink.take(m) },
                v = rxb.recv() => if let Some(m) = v { sink.take(m) },
                _ = ctx.done() => break,
                _ = gust::time::after(short()) => {}
            },
            // A recv future dropped by a timeout: no value lost.
            2 => {
                if let Ok(Some(m)) = gust::time::timeout(short(), rxb.recv()).await {
                    sink.take(m);
                }
            }
            _ => {
                if let Ok(m) = rxa.try_recv() {
                    sink.take(m);
                } else {
                    gust::yield_now().await;
                }
            }
        }
        if ctx.is_done() {
            break;
        }
        // Every sender gone and nothing left: the driver drains the rest.
        if rxa.is_closed() && rxb.is_closed() && rxa.is_empty() && rxb.is_empty() {
            break;
        }
    }
}

/// Selects over a send and a recv at once (exactly one commits).
async fn mixer(ctx: Context, ends: Ends) {
    let (a, b) = two(&ends);
    let (rx, tx) = (ends[a].1.clone(), ends[b].0.clone());
    drop(ends);
    let mut g = Gen::new();
    let mut sink = Sink::new();
    while !ctx.is_done() {
        select! {
            v = rx.recv() => if let Some(m) = v { sink.take(m) },
            r = tx.send(g.msg()) => drop(r),
            _ = ctx.done() => break,
            _ = gust::time::after(short()) => {}
        }
    }
}

/// One epoch: fresh channels and context, workers, chaos; waits for all.
async fn epoch(root: &Context) -> Result<(), String> {
    let mut ends: Ends = vec![];
    for cap in [0, 0, 1, 16] {
        ends.push(chan::<Msg>(cap));
    }
    let (ctx, cancel) = root.with_timeout(Duration::from_millis(fastrand::u64(20..200)));
    let mut handles = vec![];
    let mut spawn = |h| {
        SPAWNED.fetch_add(1, Relaxed);
        handles.push(h);
    };
    for _ in 0..3 {
        spawn(gust::spawn(producer(ctx.clone(), ends.clone())));
        spawn(gust::spawn(consumer(ctx.clone(), ends.clone())));
    }
    for _ in 0..2 {
        spawn(gust::spawn(mixer(ctx.clone(), ends.clone())));
    }
    // Chaos: the CancelFunc lives in a task that cancels at a random time,
    // or is itself aborted (dropping the CancelFunc cancels).
    let chaos = gust::spawn(async move {
        gust::time::sleep(Duration::from_millis(fastrand::u64(5..300))).await;
        if fastrand::bool() {
            EARLY_CANCELS.fetch_add(1, Relaxed);
        }
        cancel.cancel();
    });
    SPAWNED.fetch_add(1, Relaxed);
    // The driver keeps only receivers to drain at the end; dropping the
    // senders here lets the channels close when the producers are gone.
    let rxs: Vec<Receiver<Msg>> = ends.iter().map(|(_, rx)| rx.clone()).collect();
    drop(ends);
    // Abort a few workers at random moments.
    for _ in 0..fastrand::usize(0..4) {
        gust::time::sleep(Duration::from_millis(fastrand::u64(0..30))).await;
        handles[fastrand::usize(..handles.len())].abort();
    }
    if fastrand::u8(0..4) == 0 {
        chaos.abort();
    }
    handles.push(chaos);
    for h in handles {
        match h.await {
            Ok(()) => {}
            Err(e) if e.is_aborted() => {
                ABORTS.fetch_add(1, Relaxed);
            }
            Err(e) => return Err(format!("a worker failed: {e}")),
        }
    }
    // Drain what is left buffered: received, like any other.
    let mut sink = Sink::new();
    for rx in &rxs {
        while let Ok(m) = rx.try_recv() {
            sink.take(m);
        }
    }
    Ok(())
}

fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fail(msg: &str) -> ! {
    println!("soak: FAIL: {msg}");
    std::process::exit(1);
}

fn main() {
    let duration = match std::env::args().nth(1) {
        None => Duration::from_secs(10),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|secs| *secs > 0.0)
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
            .unwrap_or_else(|| fail(&format!("bad SECONDS argument {s:?}: a positive number"))),
    };
    let warm_up = (duration / 4).max(Duration::from_millis(500)).min(duration);
    let tasks_at_start = gust::num_tasks();

    // Watchdog: every epoch reports; none for 30 s is a deadlock.
    let (beat_tx, beat_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        loop {
            match beat_rx.recv_timeout(Duration::from_secs(30)) {
                Ok(()) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    fail("deadlock: no epoch finished for 30 s")
                }
            }
        }
    });

    let start = Instant::now();
    let lanes = 2;
    let (rss_warm, epochs) = gust::block_on(async move {
        let root = Context::background();
        let mut lane_handles = vec![];
        for _ in 0..lanes {
            let root = root.clone();
            let beat = beat_tx.clone();
            lane_handles.push(gust::spawn(async move {
                let mut n = 0u64;
                while start.elapsed() < duration {
                    epoch(&root).await?;
                    n += 1;
                    let _ = beat.send(());
                }
                Ok::<u64, String>(n)
            }));
        }
        drop(beat_tx);
        gust::time::sleep_until(start + warm_up).await;
        let rss_warm = rss_kib();
        let mut epochs = 0;
        for h in lane_handles {
            match h.await {
                Ok(Ok(n)) => epochs += n,
                Ok(Err(e)) => fail(&e),
                Err(e) => fail(&format!("a lane task failed: {e}")),
            }
        }
        (rss_warm, epochs)
    });
    let elapsed = start.elapsed();
    watchdog.join().unwrap();

    // Tasks: wait (bounded) for the last ones to be unregistered.
    let mut tasks = gust::num_tasks();
    let t = Instant::now();
    while tasks != tasks_at_start && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
        tasks = gust::num_tasks();
    }
    let rss_end = rss_kib();

    let p = PRODUCED.get();
    let r = RECEIVED.get();
    let u = UNDELIVERED.get();
    let rate = r.0 as f64 / elapsed.as_secs_f64();
    println!(
        "soak: {:.1} s, {epochs} epochs, {} tasks spawned, {} aborted, {} early cancels",
        elapsed.as_secs_f64(),
        SPAWNED.load(Relaxed),
        ABORTS.load(Relaxed),
        EARLY_CANCELS.load(Relaxed),
    );
    println!(
        "soak: produced {}, received {}, handed back / never delivered {}: {rate:.0} msgs/s received",
        p.0, r.0, u.0
    );
    let once = p.0 == r.0 + u.0 && p.1 == r.1.wrapping_add(u.1) && p.2 == r.2 ^ u.2;
    println!(
        "soak: check exactly-once (count, sum, xor of hashed ids): {}",
        if once { "ok" } else { "FAILED" }
    );
    println!("soak: check num_tasks back to {tasks_at_start}: {tasks}");
    let rss_ok = match (rss_warm, rss_end) {
        (Some(w), Some(e)) => {
            let bound = w + (w / 2).max(32 * 1024);
            println!("soak: check RSS after warm-up {w} KiB, at end {e} KiB (bound {bound} KiB)");
            e <= bound
        }
        _ => {
            println!("soak: RSS not available (no /proc/self/status): not checked");
            true
        }
    };
    if !once {
        fail(&format!(
            "exactly-once broken: produced {p:?} != received {r:?} + undelivered {u:?}"
        ));
    }
    if r.0 == 0 {
        fail("no message was received");
    }
    if tasks != tasks_at_start {
        fail(&format!(
            "task leak: num_tasks() is {tasks}, was {tasks_at_start} at start"
        ));
    }
    if !rss_ok {
        fail("memory grew beyond its bound after warm-up");
    }
    println!("soak: ok");
}
