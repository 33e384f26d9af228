//! Echo server on gust (`gust::net`, WORKERS runtime workers).

use futures_lite::{AsyncReadExt, AsyncWriteExt};

fn main() -> std::io::Result<()> {
    let addr = gust_netbench::arg_addr("127.0.0.1:0");
    let rt = gust::runtime::Builder::new()
        .workers(gust_netbench::workers())
        .build()?;
    rt.block_on(async move {
        let ln = gust::net::TcpListener::bind(addr.as_str()).await?;
        gust_netbench::announce(ln.local_addr()?);
        loop {
            let (mut s, _) = match ln.accept().await {
                Ok(c) => c,
                Err(_) => continue,
            };
            let _ = s.set_nodelay(true);
            gust::spawn(async move {
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
