//! A program that deadlocks on purpose, to show gust's report: two tasks
//! each wait to receive from the other, and `main` waits for both.
//!
//! ```text
//! cargo run --example deadlock
//! ```
//!
//! gust notices that every task and `main` wait on something only another
//! of them could end, and says so Go's way, with the task dump:
//!
//! ```text
//! thread 'main' panicked at examples/deadlock.rs:...:
//! all tasks are asleep - deadlock!
//!
//! task 1 "ping" [chan receive, 100ms]: spawned at examples/deadlock.rs:...
//!     chan made at examples/deadlock.rs:...
//! ...
//! block_on 1 [join (task 1), 100ms]: called at examples/deadlock.rs:...
//! ```
//!
//! `GUST_DEADLOCK=warn` prints the same and waits on; `off` waits silently.

use gust::runtime::OnDeadlock;

fn main() {
    let on_deadlock = match std::env::var(gust::runtime::DEADLOCK_ENV) {
        Ok(_) => None, // the environment decides
        Err(_) => Some(OnDeadlock::Panic),
    };
    let mut builder = gust::runtime::Builder::new().workers(2);
    if let Some(d) = on_deadlock {
        builder = builder.on_deadlock(d);
    }
    let rt = match builder.build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("deadlock: {e}");
            std::process::exit(2);
        }
    };
    rt.block_on(async {
        let (to_ping, ping_inbox) = gust::chan::<&'static str>(0);
        let (to_pong, pong_inbox) = gust::chan::<&'static str>(0);
        // Each waits for the other to speak first: nobody ever does.
        let ping = gust::task::Builder::new().name("ping").spawn(async move {
            let msg = ping_inbox.recv().await;
            to_pong.send("ping").await.ok();
            msg
        });
        let pong = gust::task::Builder::new().name("pong").spawn(async move {
            let msg = pong_inbox.recv().await;
            to_ping.send("pong").await.ok();
            msg
        });
        println!("ping got {:?}", ping.await);
        println!("pong got {:?}", pong.await);
    });
}
