//! Chat server on smol's pieces (async-executor run by WORKERS threads,
//! async-net, async-channel): a reader task per client sends each line to one
//! hub task; the hub broadcasts it to every client's writer task through a
//! bounded per-client queue (full: the line is dropped for that client).

use std::sync::Arc;

use async_channel::{Receiver, Sender, TrySendError};
use async_executor::Executor;
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};
use gust_netbench::{CLIENT_QUEUE, HUB_QUEUE, WRITE_BATCH};

enum Msg {
    Join(u64, Sender<Arc<str>>),
    Leave(u64),
    Line(Arc<str>),
}

async fn hub(inbox: Receiver<Msg>) {
    let mut clients: Vec<(u64, Sender<Arc<str>>)> = Vec::new();
    while let Ok(m) = inbox.recv().await {
        match m {
            Msg::Join(id, tx) => clients.push((id, tx)),
            Msg::Leave(id) => clients.retain(|(i, _)| *i != id),
            Msg::Line(line) => clients.retain(|(_, tx)| match tx.try_send(line.clone()) {
                Ok(()) | Err(TrySendError::Full(_)) => true,
                Err(TrySendError::Closed(_)) => false,
            }),
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = gust_netbench::arg_addr("127.0.0.1:0");
    let ex = Arc::new(Executor::new());
    // The main thread runs the executor too: WORKERS threads in all.
    for i in 1..gust_netbench::workers() {
        let ex = ex.clone();
        std::thread::Builder::new()
            .name(format!("smol-{i}"))
            .spawn(move || async_io::block_on(ex.run(future::pending::<()>())))?;
    }
    let ex2 = ex.clone();
    async_io::block_on(ex.run(async move {
        let ln = async_net::TcpListener::bind(addr.as_str()).await?;
        gust_netbench::announce(ln.local_addr()?);
        let (hub_tx, hub_rx) = async_channel::bounded(HUB_QUEUE);
        ex2.spawn(hub(hub_rx)).detach();
        let mut next_id = 0u64;
        loop {
            let (s, _) = match ln.accept().await {
                Ok(c) => c,
                Err(_) => continue,
            };
            let _ = s.set_nodelay(true);
            next_id += 1;
            let id = next_id;
            let mut r = s.clone();
            let mut w = s;
            let (tx, rx) = async_channel::bounded::<Arc<str>>(CLIENT_QUEUE);
            if hub_tx.send(Msg::Join(id, tx)).await.is_err() {
                continue;
            }
            // Writer: drain the queue into one buffer per write.
            ex2.spawn(async move {
                let mut out = Vec::with_capacity(WRITE_BATCH);
                while let Ok(line) = rx.recv().await {
                    out.extend_from_slice(line.as_bytes());
                    while out.len() < WRITE_BATCH {
                        match rx.try_recv() {
                            Ok(l) => out.extend_from_slice(l.as_bytes()),
                            Err(_) => break,
                        }
                    }
                    if w.write_all(&out).await.is_err() {
                        return;
                    }
                    out.clear();
                }
            })
            .detach();
            // Reader: lines to the hub.
            let hub = hub_tx.clone();
            ex2.spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut pending = Vec::new();
                let mut lines = Vec::new();
                loop {
                    let n = match r.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    let ok = gust_netbench::split_lines(&mut pending, &buf[..n], |l| lines.push(l));
                    for l in lines.drain(..) {
                        let _ = hub.send(Msg::Line(l)).await;
                    }
                    if !ok {
                        break;
                    }
                }
                let _ = hub.send(Msg::Leave(id)).await;
            })
            .detach();
        }
    }))
}
