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

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;

use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncBufReadExt, AsyncWriteExt, StreamExt, io::BufReader};
use gust::{Receiver, Sender, chan, select};

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
                    // A client that has gone away is removed through `leaving`.
                    let _ = tx.send(msg.clone()).await;
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

/// Writes every message sent to this client to its connection.
async fn client_writer(mut conn: TcpStream, rx: Receiver<String>) {
    while let Some(msg) = rx.recv().await {
        if conn.write_all(format!("{msg}\n").as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Serves one connection until the peer closes it.
async fn handle_conn(
    conn: TcpStream,
    id: u64,
    who: SocketAddr,
    entering: Sender<Client>,
    leaving: Sender<u64>,
    messages: Sender<String>,
) {
    let (tx, rx) = chan::<String>(16);
    gust::spawn(client_writer(conn.clone(), rx));
    let _ = tx.send(format!("You are {who}")).await;
    let _ = messages.send(format!("{who} has arrived")).await;
    let _ = entering.send(Client { id, tx }).await;

    let mut lines = BufReader::new(conn).lines();
    while let Some(Ok(line)) = lines.next().await {
        let _ = messages.send(format!("{who}: {line}")).await;
    }
    let _ = leaving.send(id).await;
    let _ = messages.send(format!("{who} has left")).await;
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
                continue;
            }
        };
        next_id += 1;
        gust::spawn(handle_conn(
            conn,
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
    let addr: SocketAddr = match addr.parse() {
        Ok(a) => a,
        Err(_) => {
            eprintln!("chat: {addr:?} is not an address like 127.0.0.1:8000");
            return ExitCode::from(2);
        }
    };
    gust::block_on(async move {
        let listener = match TcpListener::bind(addr).await {
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
