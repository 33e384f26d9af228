//! The concurrent prime sieve of Go's `test/chan/sieve1.go`: a generator task
//! feeds 2, 3, 4, ... into a chain of filter tasks, one per prime found, each
//! connected to the next by a rendezvous channel.
//!
//! ```sh
//! cargo run --release --example sieve -- 1000    # print the first 1000 primes' last
//! ```

use std::process::ExitCode;

use gust::{Receiver, Sender, chan};

/// Sends 2, 3, 4, ... until the receiving side goes away.
async fn generate(tx: Sender<u64>) {
    let mut i = 2;
    while tx.send(i).await.is_ok() {
        i += 1;
    }
}

/// Copies the values from `rx` to `tx`, dropping those divisible by `prime`.
async fn filter(rx: Receiver<u64>, tx: Sender<u64>, prime: u64) {
    while let Some(i) = rx.recv().await {
        if i % prime != 0 && tx.send(i).await.is_err() {
            return;
        }
    }
}

/// Returns the first `n` primes, computed by a chain of `n` filter tasks.
async fn sieve(n: usize) -> Vec<u64> {
    let (tx, mut rx) = chan::<u64>(0);
    gust::spawn(generate(tx));
    let mut primes = Vec::with_capacity(n);
    for _ in 0..n {
        let prime = rx.recv().await.expect("the generator never stops");
        primes.push(prime);
        let (tx1, rx1) = chan::<u64>(0);
        gust::spawn(filter(rx, tx1, prime));
        rx = rx1;
    }
    // Dropping `rx` here makes the last filter's send fail, which ends it,
    // which ends the one before it, and so on back to the generator.
    primes
}

/// The largest N taken: a task and a channel per prime (about 500 bytes),
/// so 10M primes is some 5 GB, and the chain's last values take hours.
const MAX_N: usize = 10_000_000;

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let n = match arg.as_deref().map(str::parse::<usize>) {
        None => 100,
        Some(Ok(n)) if (1..=MAX_N).contains(&n) => n,
        _ => {
            eprintln!(
                "sieve: N must be an integer from 1 to {MAX_N}, got {:?}; usage: sieve [N]",
                arg.unwrap_or_default()
            );
            return ExitCode::from(2);
        }
    };
    let start = std::time::Instant::now();
    let primes = gust::block_on(sieve(n));
    let elapsed = start.elapsed();
    println!(
        "the {n}th prime is {} ({:.1?}, {:.1?} per prime)",
        primes[n - 1],
        elapsed,
        elapsed / n as u32
    );
    ExitCode::SUCCESS
}
