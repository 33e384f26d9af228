//! The chat server of "The Go Programming Language", section 8.10: a task
//! per connection, and one broadcaster task whose select loop owns the set of
//! clients (no locks: the broadcaster's loop is the only code that touches it).
//!
//! ```sh
//! cargo run --release --example chat -- 127.0.0.1:8000
//! # then, in other terminals: nc 127.0.0.1 8000
//! ```
//!
//! It prints `listening on ADDR` once it accepts connections (port 0 picks a
//! free port, which the line names).
//!
//! # Bad clients
//!
//! A line is at most [`MAX_LINE`] bytes (64 KiB, Go's
//! `bufio.MaxScanTokenSize`, which the book's `bufio.Scanner` enforces). The
//! reader keeps at most that much plus one read of a partial line, so a
//! client that sends 10 MB without a newline costs the server at most
//! 68 KiB of buffered input, not 10 MB: it is told
//! `error: line longer than 65536 bytes; disconnecting` and disconnected. A line that is not UTF-8 gets
//! `error: invalid UTF-8; disconnecting` and a disconnect too (rather than
//! replacing the bad bytes with U+FFFD: a client that sends binary is not a
//! chat client, and mangling its bytes silently would hide that from it).
//! Other clients are unaffected either way.
//!
//! A client that does not read its messages has a queue of [`QUEUE`] of
//! them; once it is full, the broadcaster skips that client's messages
//! instead of waiting for it (the book's exercise 8.15): waiting, one
//! stalled client would stall everyone.
//!
//! A client that leaves, or is disconnected, has [`LINGER`] for what is
//! still queued for it to go out; then its writer stops, so a client that
//! reads nothing cannot hold a connection open.
//!
//! A disconnect is orderly: the error line is the last line the client
//! gets, after the messages already queued for it; the writer then shuts
//! the write side down (the client reads the line, then EOF), and the
//! handler discards what the client still sends for up to [`LINGER`] before
//! it closes the socket. Closing at once with unread input would send a
//! reset, which can destroy the error line before the client reads it (Go's
//! `net/http` does the same dance in `closeWriteAndWait`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use gust::net::{OwnedReadHalf, OwnedWriteHalf, TcpListener};
use gust::{Receiver, Sender, chan, select};

/// The longest line a client may send, without its `\n` (Go's
/// `bufio.MaxScanTokenSize`).
const MAX_LINE: usize = 64 * 1024;

/// How many messages wait for a client's writer before the broadcaster
/// skips that client's messages.
const QUEUE: usize = 16;

/// How much one read asks for.
const CHUNK: usize = 4 * 1024;

/// How long a client that is being disconnected gets to stop sending (and
/// to read its error line) before its socket is closed.
const LINGER: Duration = Duration::from_secs(2);

/// An outgoing message channel of one client, with the client's id.
struct Client {
    id: u64,
    tx: Sender<String>,
}

/// The broadcaster: owns the set of clients; a message goes to every one.
async fn broadcaster(
    entering: Receiver<Client>,
    leaving: Receiver<u64>,
    messages: Receiver<String>,
) {
    let mut clients: HashMap<u64, Sender<String>> = HashMap::new();
    loop {
        select! {
            msg = messages.recv() => {
                let Some(msg) = msg else { return };
                for tx in clients.values() {
                    // A full queue: the client does not read, and it misses
                    // this message rather than stall the others. A client
                    // that has gone away is removed through `leaving`.
                    let _ = tx.try_send(msg.clone());
                }
            }
            cli = entering.recv() => {
                let Some(cli) = cli else { return };
                clients.insert(cli.id, cli.tx);
            }
            id = leaving.recv() => {
                let Some(id) = id else { return };
                // Dropping the last sender closes the client's channel,
                // which ends its writer task.
                clients.remove(&id);
            }
        }
    }
}

/// Writes every message sent to this client to its connection. Returning
/// drops `conn`, which shuts the write side down: the client reads EOF.
async fn client_writer(mut conn: OwnedWriteHalf, rx: Receiver<String>) {
    while let Some(msg) = rx.recv().await {
        if conn.write_all(format!("{msg}\n").as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Why a client is disconnected.
enum Bad {
    TooLong,
    NotUtf8,
}

impl Bad {
    fn message(&self) -> String {
        match self {
            Bad::TooLong => format!("error: line longer than {MAX_LINE} bytes; disconnecting"),
            Bad::NotUtf8 => "error: invalid UTF-8; disconnecting".to_string(),
        }
    }
}

/// Splits a byte stream into lines of at most [`MAX_LINE`] bytes, as Go's
/// `bufio.Scanner` with `ScanLines` does: the `\n` (and a `\r` before it) is
/// not part of the line, and a last line without `\n` still counts.
///
/// Invariant: `buf[..scanned]` holds no `\n`, and `scanned <= MAX_LINE + 1`
/// (a line and its `\r`) between calls, so `buf` never grows past
/// `MAX_LINE + 1 + CHUNK` bytes.
struct LineReader {
    conn: OwnedReadHalf,
    buf: Vec<u8>,
    /// How much of the front of `buf` is known to hold no `\n`.
    scanned: usize,
    eof: bool,
}

impl LineReader {
    fn new(conn: OwnedReadHalf) -> LineReader {
        LineReader {
            conn,
            buf: Vec::with_capacity(CHUNK),
            scanned: 0,
            eof: false,
        }
    }

    /// The next line; `Ok(None)` at EOF or on a read error (the client is
    /// gone either way).
    async fn next_line(&mut self) -> Result<Option<String>, Bad> {
        loop {
            if let Some(i) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
                let end = self.scanned + i;
                let rest = self.buf.split_off(end + 1);
                let mut line = std::mem::replace(&mut self.buf, rest);
                self.scanned = 0;
                line.truncate(end);
                return Self::finish(line).map(Some);
            }
            self.scanned = self.buf.len();
            if self.scanned > MAX_LINE + 1 {
                return Err(Bad::TooLong);
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                self.scanned = 0;
                return Self::finish(std::mem::take(&mut self.buf)).map(Some);
            }
            let len = self.buf.len();
            self.buf.resize(len + CHUNK, 0);
            match self.conn.read(&mut self.buf[len..]).await {
                Ok(0) | Err(_) => {
                    self.buf.truncate(len);
                    self.eof = true;
                }
                Ok(n) => self.buf.truncate(len + n),
            }
        }
    }

    fn finish(mut line: Vec<u8>) -> Result<String, Bad> {
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.len() > MAX_LINE {
            return Err(Bad::TooLong);
        }
        String::from_utf8(line).map_err(|_| Bad::NotUtf8)
    }

    /// Discards what the client still sends until it closes its side or
    /// [`LINGER`] passes, then drops the socket.
    async fn linger(mut self) {
        let mut sink = [0u8; CHUNK];
        let _ = gust::time::timeout(LINGER, async {
            while let Ok(n) = self.conn.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

/// Serves one connection until the peer closes it or misbehaves.
async fn handle_conn(
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    id: u64,
    who: SocketAddr,
    entering: Sender<Client>,
    leaving: Sender<u64>,
    messages: Sender<String>,
) {
    let (tx, rx) = chan::<String>(QUEUE);
    let writer = gust::spawn(client_writer(writer, rx));
    let _ = tx.send(format!("You are {who}")).await;
    let _ = messages.send(format!("{who} has arrived")).await;
    let _ = entering.send(Client { id, tx: tx.clone() }).await;

    let mut lines = LineReader::new(reader);
    let bad = loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                let _ = messages.send(format!("{who}: {line}")).await;
            }
            Ok(None) => break None,
            Err(bad) => break Some(bad),
        }
    };
    let _ = leaving.send(id).await;
    let _ = messages.send(format!("{who} has left")).await;
    // The broadcaster has dropped its sender (it took `leaving`), so the
    // error line is the last this client gets, after the messages already
    // on their way to it. A client that reads nothing keeps its queue and
    // socket full: the line and the rest of the queue get [`LINGER`] to
    // go out, then the writer is stopped (found from outside: the send of
    // the error line waited on the full queue for good, and the socket
    // stayed open).
    let mut writer = writer;
    let goodbye = async {
        if let Some(bad) = &bad {
            let _ = tx.send(bad.message()).await;
        }
        drop(tx); // the last sender: the writer ends once it has written all
        let _ = (&mut writer).await;
    };
    if gust::time::timeout(LINGER, goodbye).await.is_err() {
        writer.abort();
    }
    if bad.is_some() {
        lines.linger().await;
    }
}

async fn serve(listener: TcpListener) -> std::io::Result<()> {
    let (entering_tx, entering_rx) = chan::<Client>(0);
    let (leaving_tx, leaving_rx) = chan::<u64>(0);
    let (messages_tx, messages_rx) = chan::<String>(0);
    gust::spawn(broadcaster(entering_rx, leaving_rx, messages_rx));
    let mut next_id = 0;
    loop {
        let (conn, who) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("chat: accept failed: {e}");
                // Out of file descriptors, say: pause, as Go's http.Server
                // does, rather than spin.
                gust::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        next_id += 1;
        let (reader, writer) = conn.into_split();
        gust::spawn(handle_conn(
            reader,
            writer,
            next_id,
            who,
            entering_tx.clone(),
            leaving_tx.clone(),
            messages_tx.clone(),
        ));
    }
}

fn main() -> ExitCode {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8000".to_string());
    // As Go's `net.Listen` takes it: `host:port` (`localhost:8000`, a name
    // resolved), or `:port` for every interface.
    let addr = match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr,
    };
    if addr
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        eprintln!("chat: {addr:?} is not an address like 127.0.0.1:8000 or :8000");
        return ExitCode::from(2);
    }
    gust::block_on(async move {
        let listener = match TcpListener::bind(addr.as_str()).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("chat: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match listener.local_addr() {
            Ok(local) => println!("listening on {local}"),
            Err(e) => {
                eprintln!("chat: {e}");
                return ExitCode::FAILURE;
            }
        }
        match serve(listener).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chat: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
