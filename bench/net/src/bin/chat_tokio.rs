//! Chat server on tokio: a reader task per client sends each line to one hub
//! task; the hub broadcasts it to every client's writer task through a bounded
//! per-client queue (full: the line is dropped for that client, like Go's
//! non-blocking send).

use std::sync::Arc;

use gust_netbench::{CLIENT_QUEUE, HUB_QUEUE, WRITE_BATCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

enum Msg {
    Join(u64, mpsc::Sender<Arc<str>>),
    Leave(u64),
    Line(Arc<str>),
}

async fn hub(mut inbox: mpsc::Receiver<Msg>) {
    let mut clients: Vec<(u64, mpsc::Sender<Arc<str>>)> = Vec::new();
    while let Some(m) = inbox.recv().await {
        match m {
            Msg::Join(id, tx) => clients.push((id, tx)),
            Msg::Leave(id) => clients.retain(|(i, _)| *i != id),
            Msg::Line(line) => clients.retain(|(_, tx)| match tx.try_send(line.clone()) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }),
        }
    }
}

fn main() -> std::io::Result<()> {
    let addr = gust_netbench::arg_addr("127.0.0.1:0");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gust_netbench::workers())
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ln = tokio::net::TcpListener::bind(&addr).await?;
        gust_netbench::announce(ln.local_addr()?);
        let (hub_tx, hub_rx) = mpsc::channel(HUB_QUEUE);
        tokio::spawn(hub(hub_rx));
        let mut next_id = 0u64;
        loop {
            let (s, _) = match ln.accept().await {
                Ok(c) => c,
                Err(_) => continue,
            };
            let _ = s.set_nodelay(true);
            next_id += 1;
            let id = next_id;
            let (mut r, mut w) = s.into_split();
            let (tx, mut rx) = mpsc::channel::<Arc<str>>(CLIENT_QUEUE);
            if hub_tx.send(Msg::Join(id, tx)).await.is_err() {
                continue;
            }
            // Writer: drain the queue into one buffer per write.
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(WRITE_BATCH);
                while let Some(line) = rx.recv().await {
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
            });
            // Reader: lines to the hub.
            let hub = hub_tx.clone();
            tokio::spawn(async move {
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
            });
        }
    })
}
