//! UDP and Unix-domain sockets end to end.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gust_net::{UdpSocket, UnixListener, UnixStream};
use std::sync::Arc;

#[test]
fn udp_ping_pong_from_two_tasks() {
    let rt = gust_executor::runtime::Builder::new()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let addr = server.local_addr().unwrap();
        let s = server.clone();
        let echo = gust_executor::spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..1_000 {
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                s.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(addr).await.unwrap();
        let mut buf = [0u8; 64];
        for i in 0..1_000u32 {
            client.send(&i.to_le_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
        echo.await.unwrap();
    });
}

#[test]
fn udp_peek_and_errors() {
    gust_executor::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.send_to(b"peek", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"peek"[..], a.local_addr().unwrap()));
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peek");
        // `send` without a peer: NotConnected (an error, not a panic).
        assert!(a.send(b"x").await.is_err());
        assert!(a.peer_addr().is_err());
        let taken = a.local_addr().unwrap();
        assert_eq!(
            UdpSocket::bind(taken).await.unwrap_err().kind(),
            std::io::ErrorKind::AddrInUse
        );
    });
}

/// Go's `UnixListener.Close` removes the socket file its `Listen` made,
/// so the same path binds again (a restarted server); so do `close` and
/// the drop here. `set_unlink_on_close(false)` keeps it (Go's
/// `SetUnlinkOnClose`), and a listener made elsewhere (`from_std`, Go's
/// `FileListener`) leaves it.
#[test]
fn unix_listener_removes_its_socket_file() {
    let path = sock_path("unlink.sock");
    let ln = UnixListener::bind(&path).unwrap();
    assert!(path.exists());
    ln.close().unwrap();
    assert!(!path.exists(), "close removes the file");
    drop(ln);
    let ln = UnixListener::bind(&path).expect("the path binds again");
    drop(ln);
    assert!(!path.exists(), "the drop removes the file");
    let ln = UnixListener::bind(&path).unwrap();
    ln.set_unlink_on_close(false);
    drop(ln);
    assert!(path.exists(), "asked to keep it");
    std::fs::remove_file(&path).unwrap();
    let std_ln = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let ln = gust_executor::block_on(async { UnixListener::from_std(std_ln) }).unwrap();
    drop(ln);
    assert!(path.exists(), "not ours to remove");
    std::fs::remove_file(&path).unwrap();
}

fn sock_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gust-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

#[test]
fn unix_echo_and_split() {
    let path = sock_path("echo.sock");
    let rt = gust_executor::runtime::Builder::new()
        .workers(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let ln = UnixListener::bind(&path).unwrap();
        let server = gust_executor::spawn(async move {
            for _ in 0..10 {
                let (s, _) = ln.accept().await.unwrap();
                gust_executor::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    futures::io::copy(&mut r, &mut w).await.unwrap();
                });
            }
        });
        for i in 0..10u8 {
            let mut c = UnixStream::connect(&path).await.unwrap();
            let msg = vec![i; 10_000];
            c.write_all(&msg).await.unwrap();
            c.close().await.unwrap();
            let mut back = Vec::new();
            c.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, msg);
        }
        server.await.unwrap();
    });
    // Errors: no such file; a file that exists already.
    gust_executor::block_on(async {
        let missing = sock_path("missing.sock");
        assert_eq!(
            UnixStream::connect(&missing).await.unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        let _held = UnixListener::bind(&path).unwrap();
        assert_eq!(
            UnixListener::bind(&path).unwrap_err().kind(),
            std::io::ErrorKind::AddrInUse
        );
    });
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// `UnixStream` and its reading half are `AsyncBufRead`: lines off a
/// socket pair, then the rest through the half, after `into_split`, with
/// `copy_buf` (which needs a buffered reader).
#[test]
fn unix_lines_and_copy_buf() {
    use futures::io::AsyncBufReadExt;
    gust_executor::block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"hello\nworld\nand the rest").await.unwrap();
        a.close().await.unwrap();
        let mut line = String::new();
        b.read_line(&mut line).await.unwrap();
        assert_eq!(line, "hello\n");
        let (mut r, _w) = b.into_split();
        let mut out = Vec::new();
        futures::io::copy_buf(&mut r, &mut out).await.unwrap();
        assert_eq!(out, b"world\nand the rest");
    });
}

/// A waker that counts nothing but its own clones (`Arc::strong_count`).
struct Counted;

impl std::task::Wake for Counted {
    fn wake(self: Arc<Self>) {}
}

/// Polls `fut` once with `waker` (it must be waiting), then drops it.
#[track_caller]
fn poll_once_and_drop<F: std::future::Future>(fut: F, waker: &std::task::Waker) {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(waker);
    assert!(
        fut.as_mut().poll(&mut cx).is_pending(),
        "the operation must wait"
    );
}

/// Found from outside: every `recv_from` dropped while it waited left its
/// waker in the socket's wait list until the socket's next event, so a
/// quiet socket with requests timing out on it kept every dead task alive.
#[test]
fn dropped_waits_leave_no_waker_behind() {
    let counted = Arc::new(Counted);
    let waker = std::task::Waker::from(counted.clone());
    gust_executor::block_on(async {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let ln = gust_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = gust_net::TcpStream::connect(ln.local_addr().unwrap())
            .await
            .unwrap();
        let (_s, _) = ln.accept().await.unwrap();
        let mut buf = [0u8; 16];
        for _ in 0..1000 {
            poll_once_and_drop(udp.recv_from(&mut buf), &waker);
            poll_once_and_drop(udp.recv(&mut buf), &waker);
            poll_once_and_drop(ln.accept(), &waker);
            poll_once_and_drop(c.peek(&mut buf), &waker);
            poll_once_and_drop(c.readable(), &waker);
        }
        // Only `waker` itself is left.
        assert_eq!(Arc::strong_count(&counted), 2);
    });
}

/// Found from outside: `connect` could not reach an abstract name that
/// `bind` took ("paths must not contain interior null bytes"), and `bind`
/// of a path with a NUL inside bound the part before it.
#[test]
fn unix_abstract_names_and_nul_bytes() {
    gust_executor::block_on(async {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let name = format!("\0gust-test-abstract-{}", std::process::id());
            let ln = UnixListener::bind(&name).unwrap();
            let mut c = UnixStream::connect(&name).await.unwrap();
            let (mut s, _) = ln.accept().await.unwrap();
            c.write_all(b"hi").await.unwrap();
            let mut buf = [0u8; 2];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"hi");
            let again = UnixListener::bind(&name).map(drop).unwrap_err();
            assert_eq!(again.kind(), std::io::ErrorKind::AddrInUse);
        }
        let dir = sock_path("nul").with_file_name("");
        let inside = dir.join("sock\0tail");
        let e = UnixListener::bind(&inside).map(drop).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        assert!(!dir.join("sock").exists(), "bound the part before the NUL");
        let e = UnixStream::connect(&inside).await.map(drop).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
    });
}

/// An owned stream (or half) keeps its place in the wait lists: polled by
/// one task after another, each dropping its read or write, it leaves one
/// waker, not one per task, and a half dropped takes its own out.
#[test]
fn a_stream_polled_by_many_tasks_keeps_one_waker() {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let wakers: Vec<_> = (0..100).map(|_| Arc::new(Counted)).collect();
    let held = |ws: &[Arc<Counted>]| ws.iter().filter(|w| Arc::strong_count(w) > 1).count();
    gust_executor::block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        let (mut r, mut w) = a.into_split();
        // Fill the socket's send buffer, so that a write waits.
        let chunk = vec![0u8; 1 << 16];
        let mut noop = std::task::Context::from_waker(std::task::Waker::noop());
        while let std::task::Poll::Ready(n) =
            futures::io::AsyncWrite::poll_write(std::pin::Pin::new(&mut w), &mut noop, &chunk)
        {
            n.unwrap();
        }
        let mut buf = [0u8; 16];
        for counted in &wakers {
            let waker = std::task::Waker::from(counted.clone());
            poll_once_and_drop(r.read(&mut buf), &waker);
            // The kernel may make room in the send buffer meanwhile: write
            // until a write waits.
            let mut cx = std::task::Context::from_waker(&waker);
            while std::pin::pin!(w.write(&chunk)).poll(&mut cx).is_ready() {}
        }
        assert_eq!(
            held(&wakers),
            1,
            "the last task's waker, once for both sides"
        );
        drop(r);
        drop(w);
        assert_eq!(held(&wakers), 0);
    });
}

/// `UnixListener::close` from another task ends its accepts, as
/// `TcpListener::close` does.
#[test]
fn unix_listener_close_ends_every_accept() {
    let path = sock_path("close");
    let ln = Arc::new(UnixListener::bind(&path).unwrap());
    let acceptor = {
        let ln = ln.clone();
        std::thread::spawn(move || gust_executor::block_on(ln.accept()).map(drop))
    };
    ln.close().unwrap();
    let e = acceptor.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotConnected, "{e}");
    assert!(ln.close().is_err());
    assert!(gust_executor::block_on(UnixStream::connect(&path)).is_err());
}

/// Go's TestUDPZeroBytePayload and TestUDPZeroByteBuffer: an empty
/// datagram is sent and received as one (0 bytes, from its sender), and a
/// receive into an empty buffer takes a whole datagram (its bytes cut),
/// leaving the next one in place.
#[test]
fn udp_zero_byte_payload_and_buffer() {
    gust_executor::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        for _ in 0..3 {
            assert_eq!(a.send_to(&[], b_addr).await.unwrap(), 0);
            let mut buf = [0u8; 16];
            let (n, from) = b.recv_from(&mut buf).await.unwrap();
            assert_eq!((n, from), (0, a_addr));
        }
        a.send_to(b"cut", b_addr).await.unwrap();
        a.send_to(b"next", b_addr).await.unwrap();
        let (n, from) = b.recv_from(&mut []).await.unwrap();
        assert_eq!((n, from), (0, a_addr));
        let mut buf = [0u8; 16];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next");
    });
}

/// Go's TestUDPReadSizeError: a datagram longer than the buffer fills the
/// buffer with its first bytes, without an error (the rest is dropped),
/// through `recv_from` and, connected, through `recv`.
#[test]
fn udp_datagram_longer_than_the_buffer_is_cut() {
    gust_executor::block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let msg = b"READ SIZE ERROR TEST";
        a.send_to(msg, b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((n, from), (8, a.local_addr().unwrap()));
        assert_eq!(&buf, &msg[..8]);
        b.connect(a.local_addr().unwrap()).await.unwrap();
        a.send_to(msg, b.local_addr().unwrap()).await.unwrap();
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!((n, &buf), (8, &msg[..8].try_into().unwrap()));
    });
}
