//! `UnixDatagram` end to end with real sockets: socket files, pairs,
//! connected and unbound sockets, abstract names, bad paths, a peer that
//! went away, cancel safety of `recv`/`recv_from`/`send`, use from tokio
//! and from a plain `futures::executor::block_on`.
#![cfg(unix)]

use gust_net::UnixDatagram;
use std::io::ErrorKind;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn rt(workers: usize) -> gust_executor::runtime::Runtime {
    gust_executor::runtime::Builder::new()
        .workers(workers)
        .build()
        .unwrap()
}

/// A fresh path for a socket file in this process's own directory.
fn sock_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gust-net-dgram-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

/// Two sockets bound to files: datagrams both ways, each with its sender's
/// path, boundaries kept; a datagram longer than the buffer is cut.
#[test]
fn bound_sockets_send_to_and_recv_from() {
    let (pa, pb) = (sock_path("a.sock"), sock_path("b.sock"));
    gust_executor::block_on(async {
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(pa.as_path()));
        assert_eq!(a.send_to(b"one", &pb).await.unwrap(), 3);
        assert_eq!(a.send_to(b"two!", &pb).await.unwrap(), 4);
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"one"[..], Some(pa.as_path()))
        );
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"two!");
        b.send_to(b"back", &pa).await.unwrap();
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from.as_pathname()),
            (&b"back"[..], Some(pb.as_path()))
        );
        // Too long for the buffer: the part that fits, the rest dropped.
        a.send_to(b"0123456789", &pb).await.unwrap();
        a.send_to(b"next", &pb).await.unwrap();
        let mut small = [0u8; 4];
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"0123");
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"next");
    });
    let _ = std::fs::remove_file(&pa);
    let _ = std::fs::remove_file(&pb);
}

/// `pair`, `connect` (Go's `DialUnix("unixgram", ..)`), `unbound`.
#[test]
fn pair_connect_and_unbound() {
    let path = sock_path("server.sock");
    gust_executor::block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.send(b"ping").await.unwrap();
        let mut buf = [0u8; 8];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert!(a.peer_addr().unwrap().is_unnamed());
        assert!(b.local_addr().unwrap().is_unnamed());

        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        assert!(client.peer_addr().is_err(), "not connected yet");
        client.connect(&path).unwrap();
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        client.send(b"hello").await.unwrap();
        let (n, from) = server.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert!(from.is_unnamed(), "an unbound sender has no address");
    });
    let _ = std::fs::remove_file(&path);
}

/// Bad input is an `io::Error`, never a panic or a hang.
#[test]
fn errors() {
    let path = sock_path("taken.sock");
    let missing = sock_path("missing.sock");
    gust_executor::block_on(async {
        let _taken = UnixDatagram::bind(&path).unwrap();
        assert_eq!(
            UnixDatagram::bind(&path).map(drop).unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        let s = UnixDatagram::unbound().unwrap();
        assert_eq!(s.connect(&missing).unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            s.send_to(b"x", &missing).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        // `send` with no peer.
        assert!(s.send(b"x").await.is_err());
        assert!(s.peer_addr().is_err());
        // A path with a NUL byte inside: refused, nothing bound or reached.
        let dir = path.parent().unwrap();
        let inside = dir.join("dg\0tail");
        let e = UnixDatagram::bind(&inside).map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(!dir.join("dg").exists(), "bound the part before the NUL");
        let e = s.connect(&inside).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = s.send_to(b"x", &inside).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
    let _ = std::fs::remove_file(&path);
}

/// The peer went away: a send to its file, or on a socket connected to
/// it, fails (ConnectionRefused, as Go reports it); no panic, no hang.
#[test]
fn peer_gone_is_an_error() {
    let path = sock_path("gone.sock");
    gust_executor::block_on(async {
        let server = UnixDatagram::bind(&path).unwrap();
        let client = UnixDatagram::unbound().unwrap();
        client.connect(&path).unwrap();
        client.send(b"first").await.unwrap();
        drop(server);
        let e = client.send(b"late").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
        let e = client.send_to(b"late", &path).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");

        let (a, b) = UnixDatagram::pair().unwrap();
        drop(b);
        assert!(a.send(b"x").await.is_err());
    });
    let _ = std::fs::remove_file(&path);
}

/// `shutdown` of writing: sends fail with `BrokenPipe`, no SIGPIPE; the
/// socket still receives. (A shut-down reading side is not tested: Linux
/// answers a non-blocking receive on it with `EAGAIN`, not end of file, so
/// a receive there waits, as Go's and tokio's do.)
#[test]
fn shutdown_of_writing_fails_sends() {
    gust_executor::block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(
            a.send(b"x").await.unwrap_err().kind(),
            ErrorKind::BrokenPipe
        );
        b.send(b"in").await.unwrap();
        let mut buf = [0u8; 4];
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"in");
    });
}

/// Linux abstract names (`"\0name"`): bind, send_to, connect, as
/// `UnixListener` takes them.
#[cfg(any(target_os = "linux", target_os = "android"))]
#[test]
fn abstract_names() {
    use std::os::linux::net::SocketAddrExt;
    gust_executor::block_on(async {
        let name = format!("\0gust-dgram-abstract-{}", std::process::id());
        let server = UnixDatagram::bind(&name).unwrap();
        assert_eq!(
            server.local_addr().unwrap().as_abstract_name(),
            Some(&name.as_bytes()[1..])
        );
        let again = UnixDatagram::bind(&name).map(drop).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::AddrInUse);
        let client = UnixDatagram::unbound().unwrap();
        client.send_to(b"to", &name).await.unwrap();
        client.connect(&name).unwrap();
        client.send(b"connected").await.unwrap();
        let mut buf = [0u8; 16];
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to");
        let n = server.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");
    });
}

/// Echo of 1,000 numbered datagrams between two tasks on two workers.
#[test]
fn ping_pong_from_two_tasks() {
    let (ps, pc) = (sock_path("pp-server.sock"), sock_path("pp-client.sock"));
    let rt = rt(2);
    rt.block_on(async {
        let server = Arc::new(UnixDatagram::bind(&ps).unwrap());
        let s = server.clone();
        let echo = gust_executor::spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..1_000 {
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                let to = from.as_pathname().unwrap().to_owned();
                s.send_to(&buf[..n], to).await.unwrap();
            }
        });
        let client = UnixDatagram::bind(&pc).unwrap();
        client.connect(&ps).unwrap();
        let mut buf = [0u8; 64];
        for i in 0..1_000u32 {
            client.send(&i.to_le_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
        echo.await.unwrap();
    });
    let _ = std::fs::remove_file(&ps);
    let _ = std::fs::remove_file(&pc);
}

/// A sender faster than its reader fills the reader's queue: its `send`
/// waits for room (the write readiness path) and nothing is lost or
/// reordered.
#[test]
fn send_waits_for_room() {
    const N: u32 = 5_000;
    rt(2).block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let sender = gust_executor::spawn(async move {
            let payload = [0u8; 1024];
            for i in 0..N {
                let mut d = payload;
                d[..4].copy_from_slice(&i.to_le_bytes());
                assert_eq!(a.send(&d).await.unwrap(), d.len());
            }
            a
        });
        let mut buf = [0u8; 2048];
        for i in 0..N {
            if i % 500 == 0 {
                // Let the queue fill up.
                gust_executor::time::sleep(Duration::from_millis(5)).await;
            }
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(n, 1024);
            assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), i);
        }
        drop(sender.await.unwrap());
    });
}

/// Dropping a pending `recv`/`recv_from` takes no datagram: the next
/// receive gets every one, in order.
#[test]
fn cancelled_recv_loses_no_datagram() {
    rt(1).block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let mut buf = [0u8; 16];
        for round in 0..100u8 {
            let r =
                gust_executor::time::timeout(Duration::from_micros(200), b.recv(&mut buf)).await;
            assert!(r.is_err(), "nothing was sent yet");
            let r = gust_executor::time::timeout(Duration::from_micros(200), b.recv_from(&mut buf))
                .await;
            assert!(r.is_err(), "nothing was sent yet");
            a.send(&[round; 3]).await.unwrap();
            let n = b.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[round; 3]);
        }
    });
}

/// A `recv` raced in `select!` against a channel that a busy sender keeps
/// ready, in a loop: every datagram of 20,000 comes out once, in order, at
/// 1 and 2 workers.
#[test]
fn recv_in_select_against_a_busy_channel_loses_no_datagram() {
    const N: u32 = 20_000;
    for workers in [1, 2] {
        rt(workers).block_on(async {
            let (a, b) = UnixDatagram::pair().unwrap();
            let (tick_tx, tick_rx) = gust_chan::chan::<()>(0);
            let ticker =
                gust_executor::spawn(async move { while tick_tx.send(()).await.is_ok() {} });
            let sender = gust_executor::spawn(async move {
                for i in 0..N {
                    a.send(&i.to_le_bytes()).await.unwrap();
                }
                a
            });
            let mut next = 0u32;
            let mut ticks = 0u64;
            let mut buf = [0u8; 8];
            while next < N {
                let got = gust_chan::select! {
                    r = b.recv(&mut buf) => Some(r.unwrap()),
                    _ = tick_rx.recv() => None,
                };
                match got {
                    Some(n) => {
                        assert_eq!(n, 4);
                        assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), next);
                        next += 1;
                    }
                    None => ticks += 1,
                }
            }
            drop(tick_rx);
            ticker.await.unwrap();
            drop(sender.await.unwrap());
            assert!(ticks > 0, "the channel case never won");
        });
    }
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

/// A dropped wait takes its waker out of the socket's wait list at once.
#[test]
fn dropped_waits_leave_no_waker_behind() {
    let counted = Arc::new(Counted);
    let waker = std::task::Waker::from(counted.clone());
    gust_executor::block_on(async {
        let (a, _b) = UnixDatagram::pair().unwrap();
        let mut buf = [0u8; 16];
        for _ in 0..1000 {
            poll_once_and_drop(a.recv(&mut buf), &waker);
            poll_once_and_drop(a.recv_from(&mut buf), &waker);
        }
        assert_eq!(Arc::strong_count(&counted), 2, "only `waker` is left");
    });
}

/// The socket works from tokio's runtime (the global gust runtime's driver
/// delivers its events).
#[test]
fn works_on_tokio() {
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    trt.block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        let echo = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            let n = b.recv(&mut buf).await.unwrap();
            b.send(&buf[..n]).await.unwrap();
        });
        a.send(b"tokio").await.unwrap();
        let mut back = [0u8; 8];
        let n = a.recv(&mut back).await.unwrap();
        assert_eq!(&back[..n], b"tokio");
        echo.await.unwrap();
    });
}

/// And from a plain `futures::executor::block_on`, with the receive
/// waiting for a datagram sent from another thread.
#[test]
fn works_on_futures_executor() {
    let (a, b) = futures::executor::block_on(async { UnixDatagram::pair() }).unwrap();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        futures::executor::block_on(a.send(b"futures")).unwrap();
    });
    let mut buf = [0u8; 16];
    let n = futures::executor::block_on(b.recv(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"futures");
    sender.join().unwrap();
}

/// The socket lends its descriptor, and converts from std's.
#[test]
fn from_std_and_descriptor() {
    use std::os::fd::AsRawFd;
    gust_executor::block_on(async {
        let (x, y) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let a = UnixDatagram::from_std(x).unwrap();
        let b = UnixDatagram::from_std(y).unwrap();
        assert_ne!(a.as_raw_fd(), b.as_raw_fd());
        a.send(b"std").await.unwrap();
        let mut buf = [0u8; 4];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"std");
        assert!(a.take_error().unwrap().is_none());
        assert!(format!("{a:?}").contains("UnixDatagram"));
    });
}

/// Go's TestUnixgramZeroBytePayload and TestUnixgramZeroByteBuffer: an
/// empty datagram arrives as one, and an empty buffer takes a whole
/// datagram, leaving the next one in place.
#[test]
fn zero_byte_payload_and_buffer() {
    rt(1).block_on(async {
        let (a, b) = UnixDatagram::pair().unwrap();
        for _ in 0..3 {
            assert_eq!(a.send(&[]).await.unwrap(), 0);
            let mut buf = [0u8; 16];
            assert_eq!(b.recv(&mut buf).await.unwrap(), 0);
        }
        a.send(b"cut").await.unwrap();
        a.send(b"next").await.unwrap();
        assert_eq!(b.recv(&mut []).await.unwrap(), 0);
        let mut buf = [0u8; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next");
    });
}
