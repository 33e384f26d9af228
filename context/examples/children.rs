//! Times creating and cancelling 1M child contexts of one parent, next to
//! tokio-util's child tokens.
//!
//! `cargo run --release -p gust-context --example children [gust|tokio] [n]`:
//! with no argument both, three rounds of 1M; with one, that one only (for
//! profilers: `valgrind --tool=callgrind .../children gust 100000`).

use std::time::Instant;

use gust_context::Context;
use tokio_util::sync::CancellationToken;

fn gust(n: u32) -> f64 {
    let (parent, _cancel) = Context::background().with_cancel();
    let start = Instant::now();
    for _ in 0..n {
        let (child, cancel) = parent.with_cancel();
        cancel.cancel();
        assert!(child.is_done());
    }
    assert!(!parent.is_done());
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn tokio(n: u32) -> f64 {
    let token = CancellationToken::new();
    let start = Instant::now();
    for _ in 0..n {
        let child = token.child_token();
        child.cancel();
        assert!(child.is_cancelled());
    }
    assert!(!token.is_cancelled());
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let n = args
        .next()
        .map_or(1_000_000, |s| s.parse().expect("n: a number"));
    match which.as_str() {
        "gust" => println!("create+cancel child: gust {:.1} ns", gust(n)),
        "tokio" => println!("create+cancel child: tokio-util {:.1} ns", tokio(n)),
        _ => {
            for _ in 0..3 {
                let (g, t) = (gust(n), tokio(n));
                println!("create+cancel child: gust {g:.1} ns, tokio-util {t:.1} ns");
            }
        }
    }
}
