//! Helpers shared by the TCP test files (`tcp.rs`, `deadline.rs`); each
//! compiles this module on its own.
#![allow(dead_code)]

use gust_executor::runtime::{Builder, Runtime};
use gust_net::{TcpListener, TcpStream};

/// A runtime of `workers` workers.
pub(crate) fn rt(workers: usize) -> Runtime {
    Builder::new().workers(workers).build().unwrap()
}

/// Both ends of a fresh loopback connection: (client, server).
pub(crate) async fn connected() -> (TcpStream, TcpStream) {
    let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    let (s, _) = ln.accept().await.unwrap();
    (c, s)
}
