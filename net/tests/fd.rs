//! Every socket type lends its file descriptor (`AsRawFd`, `AsFd`), as
//! std's and tokio's do: the descriptor is the socket's own (its address
//! reads back through it) and options set through it stick.
#![cfg(unix)]

use gust_net::{TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream};
use socket2::SockRef;
use std::os::fd::{AsFd, AsRawFd};

#[test]
fn each_socket_lends_its_own_descriptor() {
    gust_executor::block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        assert_eq!(
            SockRef::from(&ln).local_addr().unwrap().as_socket(),
            Some(addr)
        );

        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = ln.accept().await.unwrap();
        let sock = SockRef::from(&client);
        assert_eq!(sock.peer_addr().unwrap().as_socket(), Some(addr));
        sock.set_keepalive(true).unwrap();
        assert!(SockRef::from(&client).keepalive().unwrap());
        assert_eq!(client.as_fd().as_raw_fd(), client.as_raw_fd());
        assert_ne!(client.as_raw_fd(), server.as_raw_fd());

        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        assert_eq!(
            SockRef::from(&udp).local_addr().unwrap().as_socket(),
            Some(udp.local_addr().unwrap())
        );

        let dir = std::env::temp_dir().join(format!("gust-fd-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let uln = UnixListener::bind(&dir).unwrap();
        let path = SockRef::from(&uln).local_addr().unwrap();
        assert_eq!(path.as_pathname(), Some(dir.as_path()));
        let us = UnixStream::connect(&dir).await.unwrap();
        let peer = SockRef::from(&us).peer_addr().unwrap();
        assert_eq!(peer.as_pathname(), Some(dir.as_path()));
        drop(uln);
        let _ = std::fs::remove_file(&dir);
    });
}
