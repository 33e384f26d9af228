//! Shared helpers for the network benchmark servers and the load generator.

use std::io::Write;

/// Value of `--addr` on the command line, or `default`.
pub fn arg_addr(default: &str) -> String {
    arg_value("--addr").unwrap_or_else(|| default.to_string())
}

/// The value after `name` on the command line (`--name value` or `--name=value`).
pub fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        if args[i] == name {
            return args.get(i + 1).cloned();
        }
        if let Some(v) = args[i].strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
            return Some(v.to_string());
        }
        i += 1;
    }
    None
}

/// Worker threads: env `WORKERS`, default the number of CPUs.
pub fn workers() -> usize {
    std::env::var("WORKERS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Prints `LISTENING <addr>` on stdout and flushes, so run.sh can read the port.
pub fn announce(addr: std::net::SocketAddr) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "LISTENING {addr}");
    let _ = out.flush();
}

/// Longest chat line a server accepts (a longer one closes the connection).
pub const MAX_LINE: usize = 64 * 1024;
/// Per-client outgoing queue of the chat servers, in lines (full: the line is dropped).
pub const CLIENT_QUEUE: usize = 1024;
/// Capacity of the chat hub's inbox.
pub const HUB_QUEUE: usize = 1024;

/// Splits `data` (just read) into complete lines, carrying a partial line in
/// `pending`; calls `emit` with each line, newline included. Returns false when
/// a line grows past [`MAX_LINE`] (the caller closes the connection).
pub fn split_lines(
    pending: &mut Vec<u8>,
    mut data: &[u8],
    mut emit: impl FnMut(std::sync::Arc<str>),
) -> bool {
    while let Some(i) = data.iter().position(|&b| b == b'\n') {
        let (head, rest) = data.split_at(i + 1);
        data = rest;
        if pending.is_empty() {
            emit(to_line(head));
        } else {
            pending.extend_from_slice(head);
            emit(to_line(pending));
            pending.clear();
        }
    }
    pending.extend_from_slice(data);
    pending.len() <= MAX_LINE
}

fn to_line(b: &[u8]) -> std::sync::Arc<str> {
    match std::str::from_utf8(b) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(b).as_ref().into(),
    }
}

/// Most bytes a chat writer gathers from its queue into one write.
pub const WRITE_BATCH: usize = 64 * 1024;
