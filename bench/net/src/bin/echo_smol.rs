//! Echo server on smol's pieces: one `async_executor::Executor` run by WORKERS
//! threads (each `async_io::block_on(ex.run(pending))`), async-net sockets.

use std::sync::Arc;

use async_executor::Executor;
use futures_lite::{AsyncReadExt, AsyncWriteExt, future};

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
        loop {
            let (mut s, _) = match ln.accept().await {
                Ok(c) => c,
                Err(_) => continue,
            };
            let _ = s.set_nodelay(true);
            ex2.spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            })
            .detach();
        }
    }))
}
