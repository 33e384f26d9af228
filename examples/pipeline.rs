//! "Go Concurrency Patterns: Pipelines and cancellation" (the Go blog), the
//! bounded-parallelism version: MD5 of every regular file under a directory.
//!
//! One task walks the tree and sends paths down a channel; a fixed number of
//! digester tasks read paths, hash the files and send results; `main` collects
//! them and prints them sorted. The first error (an unreadable file, a
//! vanished directory) or Ctrl-C cancels the pipeline's context, and every
//! stage stops promptly: the walker and the digesters all select on
//! `ctx.done()`.
//!
//! ```sh
//! cargo run --release --example pipeline -- ./src
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gust::{CancelFunc, Context, Receiver, Sender, WaitGroup, chan, select};
use md5::{Digest, Md5};

/// How many files are hashed at once.
const DIGESTERS: usize = 8;

type Outcome = Result<(PathBuf, [u8; 16]), String>;

/// Sends the path of every regular file under `root` on `paths`, stopping
/// early when `ctx` ends. Runs on the blocking pool: `read_dir` blocks.
fn walk(ctx: &Context, root: &Path, paths: &Sender<PathBuf>) -> Result<(), String> {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot stat {}: {e}", entry.path().display()))?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                let path = entry.path();
                // The blocking equivalent of
                // select { case paths <- path: case <-ctx.Done(): return }
                if ctx.is_done() || paths.send_blocking(path).is_err() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Hashes the files named on `paths` until it closes or `ctx` ends.
async fn digester(ctx: Context, paths: Receiver<PathBuf>, results: Sender<Outcome>) {
    loop {
        let path = select! {
            p = paths.recv() => match p {
                Some(p) => p,
                None => return,
            },
            _ = ctx.done() => return,
        };
        let outcome = gust::spawn_blocking(move || match std::fs::read(&path) {
            Ok(data) => Ok((path, Md5::digest(&data).into())),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        })
        .await
        .unwrap_or_else(|e| Err(format!("digester failed: {e}")));
        select! {
            r = results.send(outcome) => if r.is_err() { return },
            _ = ctx.done() => return,
        }
    }
}

/// Runs the pipeline over `root`; returns the digests sorted by path.
async fn md5_all(ctx: Context, cancel: CancelFunc, root: PathBuf) -> Result<Vec<Outcome>, String> {
    let (path_tx, path_rx) = chan::<PathBuf>(0);
    let (result_tx, result_rx) = chan::<Outcome>(0);

    let walker = {
        let ctx = ctx.clone();
        gust::spawn_blocking(move || walk(&ctx, &root, &path_tx))
    };

    let wg = WaitGroup::new();
    for _ in 0..DIGESTERS {
        wg.go(digester(ctx.clone(), path_rx.clone(), result_tx.clone()));
    }
    drop((path_rx, result_tx));
    // Like Go's `go func() { wg.Wait(); close(c) }()`: the results channel
    // closes when the last digester drops its sender.

    let mut outcomes = Vec::new();
    while let Some(outcome) = result_rx.recv().await {
        if let Err(e) = &outcome {
            cancel.cancel();
            return Err(e.clone());
        }
        outcomes.push(outcome);
    }
    wg.wait().await;
    match walker.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(e) => return Err(format!("walker failed: {e}")),
    }
    if let Some(err) = ctx.err() {
        return Err(format!("interrupted ({err})"));
    }
    outcomes.sort_by(|a, b| a.as_ref().unwrap().0.cmp(&b.as_ref().unwrap().0));
    Ok(outcomes)
}

/// A context that Ctrl-C (SIGINT) cancels.
#[cfg(unix)]
fn interrupt_context() -> std::io::Result<(Context, CancelFunc)> {
    gust::signal::notify_context(&Context::background(), &[gust::signal::Signal::INTERRUPT])
}

/// Elsewhere, a context only the pipeline's own errors cancel.
#[cfg(not(unix))]
fn interrupt_context() -> std::io::Result<(Context, CancelFunc)> {
    Ok(Context::background().with_cancel())
}

fn main() -> ExitCode {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("pipeline: usage: pipeline DIRECTORY");
        return ExitCode::from(2);
    };
    if !root.is_dir() {
        eprintln!("pipeline: {} is not a directory", root.display());
        return ExitCode::from(2);
    }
    // Ctrl-C cancels the whole pipeline (Go's signal.NotifyContext); once
    // it has, a second Ctrl-C ends the program at once.
    let (ctx, _stop) = match interrupt_context() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("pipeline: cannot watch for Ctrl-C: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (run_ctx, run_cancel) = ctx.with_cancel();
    match gust::block_on(md5_all(run_ctx, run_cancel, root)) {
        Ok(outcomes) => {
            for (path, sum) in outcomes.into_iter().flatten() {
                let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
                println!("{hex}  {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pipeline: {e}");
            ExitCode::FAILURE
        }
    }
}
