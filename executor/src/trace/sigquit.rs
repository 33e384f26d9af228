//! SIGQUIT prints the dump of every runtime that asked for it (Go prints
//! all goroutines on SIGQUIT; it then exits, gust goes on).
//!
//! signal-hook turns the signal into a wake-up of one thread of ours (its
//! iterator: a self-pipe written by an async-signal-safe handler), which
//! collects the dumps; the handler itself does nothing else. Runtimes are
//! listed weakly: a dropped runtime drops out of the list.

use crate::scheduler::Shared;
use std::io;
use std::sync::{Arc, Mutex, Weak};

/// The environment variable that makes SIGQUIT print every runtime's dump
/// (`1`; `0` or unset: not): see
/// [`Builder::dump_on_sigquit`](crate::runtime::Builder::dump_on_sigquit).
///
/// ```
/// assert_eq!(gust_executor::runtime::SIGQUIT_DUMP_ENV, "GUST_SIGQUIT_DUMP");
/// ```
pub const SIGQUIT_DUMP_ENV: &str = "GUST_SIGQUIT_DUMP";

/// The runtimes whose dumps SIGQUIT prints.
static WATCHED: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Whether [`SIGQUIT_DUMP_ENV`] asks for dumps.
pub(crate) fn from_env() -> io::Result<bool> {
    let bad = |v: &dyn std::fmt::Debug| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("gust: invalid {SIGQUIT_DUMP_ENV}={v:?}: expected `1` or `0`"),
        )
    };
    match std::env::var(SIGQUIT_DUMP_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(false),
        Err(std::env::VarError::NotUnicode(v)) => Err(bad(&v)),
        Ok(v) => match v.trim() {
            "1" | "true" => Ok(true),
            "0" | "false" | "" => Ok(false),
            _ => Err(bad(&v)),
        },
    }
}

/// Adds `shared` to the runtimes SIGQUIT dumps; the first call starts the
/// signal thread.
pub(crate) fn watch(shared: &Arc<Shared>) {
    let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    watched.retain(|w| w.strong_count() > 0);
    watched.push(Arc::downgrade(shared));
    drop(watched);
    start();
}

#[cfg(unix)]
fn start() {
    use std::sync::OnceLock;
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        // A `gust::signal::stop` of the last channel relaying SIGQUIT must
        // not bring back its default action (the end of the program).
        crate::signal::hold(crate::signal::Signal::SIGQUIT);
        let mut signals = match signal_hook::iterator::Signals::new([signal_hook::consts::SIGQUIT])
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("gust: cannot watch SIGQUIT for dumps: {e}");
                return;
            }
        };
        let spawned = std::thread::Builder::new()
            .name("gust-sigquit".to_owned())
            .spawn(move || {
                for _ in signals.forever() {
                    print_dumps();
                }
            });
        if let Err(e) = spawned {
            eprintln!("gust: cannot start the SIGQUIT thread: {e}");
        }
    });
}

#[cfg(not(unix))]
fn start() {}

/// Prints the dump of every watched runtime to stderr, in one write.
#[cfg_attr(not(unix), allow(dead_code))]
fn print_dumps() {
    let runtimes: Vec<Arc<Shared>> = WATCHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    let mut out = String::from("SIGQUIT: gust task dump\n\n");
    for (i, shared) in runtimes.iter().enumerate() {
        let dump = super::dump::Dump::collect(shared);
        out.push_str(&format!("runtime {i}:\n\n{dump}"));
    }
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}
