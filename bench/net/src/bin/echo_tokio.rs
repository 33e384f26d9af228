//! Echo server on tokio's multi-thread runtime (WORKERS worker threads).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() -> std::io::Result<()> {
    let addr = gust_netbench::arg_addr("127.0.0.1:0");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gust_netbench::workers())
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ln = tokio::net::TcpListener::bind(&addr).await?;
        gust_netbench::announce(ln.local_addr()?);
        loop {
            let (mut s, _) = match ln.accept().await {
                Ok(c) => c,
                Err(_) => continue,
            };
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
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
            });
        }
    })
}
