//! Times creating and cancelling 1M child contexts of one parent, next to
//! tokio-util's child tokens. `cargo run --release -p gust-context --example children`.

use std::time::Instant;

use gust_context::Context;
use tokio_util::sync::CancellationToken;

fn main() {
    const N: u32 = 1_000_000;
    for _ in 0..3 {
        let (parent, _cancel) = Context::background().with_cancel();
        let start = Instant::now();
        for _ in 0..N {
            let (child, cancel) = parent.with_cancel();
            cancel.cancel();
            assert!(child.is_done());
        }
        let gust = start.elapsed().as_nanos() as f64 / f64::from(N);
        let token = CancellationToken::new();
        let start = Instant::now();
        for _ in 0..N {
            let child = token.child_token();
            child.cancel();
            assert!(child.is_cancelled());
        }
        let tokio = start.elapsed().as_nanos() as f64 / f64::from(N);
        println!("create+cancel child: gust {gust:.0} ns, tokio-util {tokio:.0} ns");
    }
}
