//! The one load generator used against every server.
//!
//! `loadgen --addr HOST:PORT --mode echo|chat --conns N --secs S --warmup W --size 64 [--threads T]`
//!
//! T (default 2) OS threads, each a tokio current_thread runtime driving its
//! share of the N connections. Every connection is a closed loop:
//! * echo: write `size` bytes, read exactly `size` bytes back.
//! * chat: send one line `"<id> <seq> xxx…\n"` (`size` bytes with the newline),
//!   then read lines, discarding the other clients', until its own line comes
//!   back from the server's broadcast.
//!
//! Only round trips that start after the warm-up and end before the deadline
//! are counted. Prints
//! `RESULT mode=.. conns=N rps=.. p50_us=.. p90_us=.. p99_us=.. p999_us=.. max_us=.. errors=.. samples=..`
//! (run.sh keeps rps, p50 and p99; the rest is for looking at a tail, as is
//! `LOADGEN_SLOW_US`, below).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use gust_netbench::arg_value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone)]
struct Cfg {
    addr: String,
    chat: bool,
    conns: usize,
    secs: f64,
    warmup: f64,
    size: usize,
    threads: usize,
}

/// A chat client gives up on a round trip after this long (its own line was
/// dropped by a full queue, say), counts an error and sends the next one.
const CHAT_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Default)]
struct Outcome {
    lat_ns: Vec<u64>,
    errors: u64,
    /// Chat round trips slower than `LOADGEN_SLOW_US`: (start, since the
    /// measured window's start, and latency, both in ns; client id).
    slow: Vec<(u64, u64, usize)>,
}

/// `LOADGEN_SLOW_US`: list every chat round trip slower than this on
/// stderr (`SLOW t_us lat_us client`), to see whether a tail comes in
/// spells that hit every client (the server) or the clients of one
/// loadgen thread (that thread; see README.md, "Caveats").
fn slow_threshold_ns() -> Option<u64> {
    std::env::var("LOADGEN_SLOW_US")
        .ok()?
        .parse::<u64>()
        .ok()
        .map(|us| us * 1000)
}

impl Outcome {
    /// Adds another thread's or client's outcome to this one.
    fn add(&mut self, other: Outcome) {
        self.lat_ns.extend(other.lat_ns);
        self.errors += other.errors;
        self.slow.extend(other.slow);
    }
}

fn parse<T: std::str::FromStr>(name: &str, default: T) -> T {
    match arg_value(name) {
        None => default,
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("loadgen: bad value for {name}: {v}");
            std::process::exit(2)
        }),
    }
}

fn main() {
    let mode = arg_value("--mode").unwrap_or_else(|| "echo".into());
    let cfg = Cfg {
        addr: arg_value("--addr").unwrap_or_else(|| {
            eprintln!("loadgen: --addr HOST:PORT is required");
            std::process::exit(2)
        }),
        chat: match mode.as_str() {
            "echo" => false,
            "chat" => true,
            m => {
                eprintln!("loadgen: --mode must be echo or chat, not {m}");
                std::process::exit(2)
            }
        },
        conns: parse("--conns", 1usize).max(1),
        secs: parse("--secs", 5.0f64),
        warmup: parse("--warmup", 1.0f64),
        size: parse("--size", 64usize).max(16),
        threads: parse("--threads", 2usize).max(1),
    };
    let threads = cfg.threads.min(cfg.conns);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let cfg = cfg.clone();
            let barrier = barrier.clone();
            std::thread::Builder::new()
                .name(format!("loadgen-{t}"))
                .spawn(move || run_thread(t, threads, &cfg, &barrier))
                .expect("spawn loadgen thread")
        })
        .collect();
    let mut all = Outcome::default();
    for h in handles {
        all.add(h.join().expect("loadgen thread panicked"));
    }
    all.slow.sort_unstable();
    for (t, lat, id) in &all.slow {
        eprintln!("SLOW {} {} {id}", t / 1000, lat / 1000);
    }
    all.lat_ns.sort_unstable();
    let n = all.lat_ns.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let i = ((n as f64 * p) as usize).min(n - 1);
        all.lat_ns[i] as f64 / 1000.0
    };
    println!(
        "RESULT mode={} conns={} rps={:.0} p50_us={:.1} p90_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} errors={} samples={}",
        mode,
        cfg.conns,
        n as f64 / cfg.secs,
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(0.999),
        pct(1.0),
        all.errors,
        n
    );
}

fn run_thread(t: usize, threads: usize, cfg: &Cfg, barrier: &Barrier) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ids: Vec<usize> = (t..cfg.conns).step_by(threads).collect();
    // Connect one by one (a burst of 500 connects can overflow a small backlog).
    let (streams, errors) = rt.block_on(async {
        let mut streams = Vec::with_capacity(ids.len());
        let mut errors = 0u64;
        for &id in &ids {
            match TcpStream::connect(&cfg.addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    streams.push((id, s));
                }
                Err(e) => {
                    eprintln!("loadgen: connect {}: {e}", cfg.addr);
                    errors += 1;
                }
            }
        }
        (streams, errors)
    });
    // Every client of every thread is connected before anyone sends.
    barrier.wait();
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(cfg.warmup);
    let end = measure_from + Duration::from_secs_f64(cfg.secs);
    let mut out = rt.block_on(async {
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|(id, s)| {
                let size = cfg.size;
                if cfg.chat {
                    tokio::spawn(chat_client(id, s, size, measure_from, end))
                } else {
                    tokio::spawn(echo_client(s, size, measure_from, end))
                }
            })
            .collect();
        let mut out = Outcome::default();
        for task in tasks {
            match task.await {
                Ok(o) => out.add(o),
                Err(_) => out.errors += 1,
            }
        }
        out
    });
    out.errors += errors;
    out
}

async fn echo_client(
    mut s: TcpStream,
    size: usize,
    measure_from: Instant,
    end: Instant,
) -> Outcome {
    let msg = vec![b'x'; size];
    let mut buf = vec![0u8; size];
    let mut out = Outcome::default();
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        if let Err(e) = async {
            s.write_all(&msg).await?;
            s.read_exact(&mut buf).await.map(|_| ())
        }
        .await
        {
            eprintln!("loadgen: echo: {e}");
            out.errors += 1;
            break;
        }
        let t1 = Instant::now();
        if t0 >= measure_from && t1 <= end {
            out.lat_ns.push((t1 - t0).as_nanos() as u64);
        }
    }
    out
}

async fn chat_client(
    id: usize,
    mut s: TcpStream,
    size: usize,
    measure_from: Instant,
    end: Instant,
) -> Outcome {
    let mut out = Outcome::default();
    let slow = slow_threshold_ns();
    // Received bytes; `rpos..rbuf.len()` is not yet parsed.
    let mut rbuf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut rpos = 0usize;
    let mut line = Vec::with_capacity(size);
    let mut seq = 0u64;
    'outer: loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        seq += 1;
        line.clear();
        use std::io::Write;
        let _ = write!(line, "{id} {seq} ");
        let prefix_len = line.len();
        while line.len() + 1 < size {
            line.push(b'x');
        }
        line.push(b'\n');
        if let Err(e) = s.write_all(&line).await {
            eprintln!("loadgen: chat write: {e}");
            out.errors += 1;
            break;
        }
        let prefix = &line[..prefix_len];
        let deadline = t0 + CHAT_TIMEOUT;
        // Read lines (the others' are discarded) until our own comes back.
        loop {
            let mut found = false;
            while let Some(i) = rbuf[rpos..].iter().position(|&b| b == b'\n') {
                let l = &rbuf[rpos..rpos + i + 1];
                rpos += i + 1;
                if l.starts_with(prefix) {
                    found = true;
                    break;
                }
            }
            if rpos == rbuf.len() {
                rbuf.clear();
                rpos = 0;
            } else if rpos > 32 * 1024 {
                rbuf.drain(..rpos);
                rpos = 0;
            }
            if found {
                let t1 = Instant::now();
                if t0 >= measure_from && t1 <= end {
                    let lat = (t1 - t0).as_nanos() as u64;
                    out.lat_ns.push(lat);
                    if slow.is_some_and(|min| lat >= min) {
                        let at = (t0 - measure_from).as_nanos() as u64;
                        out.slow.push((at, lat, id));
                    }
                }
                break;
            }
            let len = rbuf.len();
            if rbuf.capacity() - len < 16 * 1024 {
                rbuf.reserve(64 * 1024);
            }
            let cap = rbuf.capacity();
            rbuf.resize(cap, 0);
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            let res = tokio::time::timeout(left, s.read(&mut rbuf[len..])).await;
            match res {
                Ok(Ok(0)) => {
                    rbuf.truncate(len);
                    eprintln!("loadgen: chat: server closed the connection");
                    out.errors += 1;
                    break 'outer;
                }
                Ok(Ok(n)) => rbuf.truncate(len + n),
                Ok(Err(e)) => {
                    rbuf.truncate(len);
                    eprintln!("loadgen: chat read: {e}");
                    out.errors += 1;
                    break 'outer;
                }
                Err(_) => {
                    rbuf.truncate(len);
                    // Own line lost (or very late): count it, go on with the next.
                    if Instant::now() < end {
                        out.errors += 1;
                    }
                    continue 'outer;
                }
            }
        }
    }
    out
}
