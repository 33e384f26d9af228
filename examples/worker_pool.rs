//! A worker pool with `errgroup`: 20 jobs, at most 4 running at once
//! (`set_limit`), each checking the group's context; the first failing job
//! cancels the others, and `wait` returns its error.
//!
//! ```sh
//! cargo run --release --example worker_pool            # all jobs succeed
//! cargo run --release --example worker_pool -- 13      # job 13 fails
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use gust::{Context, errgroup, select};

/// How many jobs run at once.
const LIMIT: usize = 4;
/// How many jobs there are.
const JOBS: u32 = 20;

#[derive(Debug)]
struct JobFailed(u32);

impl std::fmt::Display for JobFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {} failed", self.0)
    }
}

impl std::error::Error for JobFailed {}

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    let failing = match arg.as_deref().map(str::parse::<u32>) {
        None => None,
        Some(Ok(n)) if n < JOBS => Some(n),
        _ => {
            let arg = arg.unwrap_or_default();
            eprintln!("worker_pool: the failing job must be a number below {JOBS}, got {arg:?}");
            return ExitCode::from(2);
        }
    };
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let result = gust::block_on(async {
        let (group, ctx) = errgroup::Group::with_context(&Context::background());
        group.set_limit(LIMIT);
        for job in 0..JOBS {
            let (ctx, running, most, finished) =
                (ctx.clone(), running.clone(), most.clone(), finished.clone());
            group.go(async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                let outcome = select! {
                    _ = gust::time::sleep(Duration::from_millis(20)) => {
                        if Some(job) == failing { Err(JobFailed(job)) } else { Ok(()) }
                    }
                    _ = ctx.done() => Ok(()), // cancelled: another job failed
                };
                running.fetch_sub(1, Ordering::SeqCst);
                if outcome.is_ok() && !ctx.is_done() {
                    finished.fetch_add(1, Ordering::SeqCst);
                }
                outcome
            });
        }
        group.wait().await
    });
    println!(
        "{} of {JOBS} jobs finished; at most {} ran at once (limit {LIMIT})",
        finished.load(Ordering::SeqCst),
        most.load(Ordering::SeqCst)
    );
    match result {
        Ok(()) => {
            println!("all jobs succeeded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("worker_pool: {e}");
            ExitCode::FAILURE
        }
    }
}
