//! TCP end to end with real sockets: echo, many connections at once, split
//! halves, cancel safety of accept/read/write, use from tokio, bad input.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gust_executor::runtime::Builder;
use gust_net::{TcpListener, TcpStream};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::Duration;

fn rt(workers: usize) -> gust_executor::runtime::Runtime {
    Builder::new().workers(workers).build().unwrap()
}

/// A task per connection echoes; 100 clients each send 1,000 lines and
/// check every byte back, at 1 and 2 workers.
#[test]
fn echo_100_clients() {
    for workers in [1, 2] {
        let rt = rt(workers);
        rt.block_on(async {
            let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = ln.local_addr().unwrap();
            gust_executor::spawn(async move {
                loop {
                    let (s, _) = ln.accept().await.unwrap();
                    gust_executor::spawn(async move {
                        let (mut r, mut w) = s.into_split();
                        futures::io::copy(&mut r, &mut w).await.unwrap();
                    });
                }
            });
            let clients: Vec<_> = (0..100u32)
                .map(|c| {
                    gust_executor::spawn(async move {
                        let mut s = TcpStream::connect(addr).await.unwrap();
                        s.set_nodelay(true).unwrap();
                        let mut sum = 0u64;
                        for i in 0..1_000u32 {
                            let msg = (c * 1_000_000 + i).to_le_bytes();
                            s.write_all(&msg).await.unwrap();
                            let mut back = [0u8; 4];
                            s.read_exact(&mut back).await.unwrap();
                            assert_eq!(back, msg);
                            sum += u64::from(u32::from_le_bytes(back));
                        }
                        sum
                    })
                })
                .collect();
            let mut total = 0u64;
            for c in clients {
                total += c.await.unwrap();
            }
            let want: u64 = (0..100u64)
                .map(|c| (0..1_000u64).map(|i| c * 1_000_000 + i).sum::<u64>())
                .sum();
            assert_eq!(total, want, "workers = {workers}");
        });
    }
}

/// A megabyte each way through one connection at once, from two tasks per
/// side (owned halves), checked byte for byte.
#[test]
fn full_duplex_megabyte() {
    let rt = rt(2);
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + i / 251) as u8).collect();
        let mut tasks = Vec::new();
        for stream in [c, s] {
            let (mut r, mut w) = stream.into_split();
            let out = data.clone();
            tasks.push(gust_executor::spawn(async move {
                w.write_all(&out).await.unwrap();
                w.close().await.unwrap();
                Vec::new()
            }));
            tasks.push(gust_executor::spawn(async move {
                let mut got = Vec::new();
                r.read_to_end(&mut got).await.unwrap();
                got
            }));
        }
        for (i, t) in tasks.into_iter().enumerate() {
            let got = t.await.unwrap();
            if i % 2 == 1 {
                assert!(
                    got == data,
                    "reader {i} got {} bytes, not the same",
                    got.len()
                );
            }
        }
    });
}

/// Dropping a pending read loses nothing: the next read gets every byte.
#[test]
fn cancelled_read_loses_no_data() {
    let rt = rt(1);
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = ln.accept().await.unwrap();
        let mut buf = [0u8; 16];
        for round in 0..100u8 {
            // A read that times out (nothing sent yet) is dropped pending.
            let r =
                gust_executor::time::timeout(Duration::from_micros(200), s.read(&mut buf)).await;
            assert!(r.is_err(), "nothing was sent yet");
            c.write_all(&[round; 16]).await.unwrap();
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [round; 16]);
        }
    });
}

/// Dropping a pending accept takes no connection.
#[test]
fn cancelled_accept_loses_no_connection() {
    let rt = rt(1);
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        for _ in 0..50 {
            let r = gust_executor::time::timeout(Duration::from_micros(100), ln.accept()).await;
            assert!(r.is_err());
            let c = TcpStream::connect(addr).await.unwrap();
            let (s, peer) = ln.accept().await.unwrap();
            assert_eq!(peer, c.local_addr().unwrap());
            drop((c, s));
        }
    });
}

/// A write that stays pending (the peer does not read, the buffers are
/// full) and is dropped wrote nothing the peer sees half of: the peer
/// reads exactly the bytes of the writes that completed, in order.
#[test]
fn cancelled_write_loses_no_data() {
    let rt = rt(1);
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = ln.accept().await.unwrap();
        let chunk = [0xabu8; 4096];
        let mut written = 0usize;
        // One `write` at a time (not `write_all`): it writes some bytes or
        // none. A timeout means pending: the buffers are full; it is dropped.
        while let Ok(n) =
            gust_executor::time::timeout(Duration::from_millis(20), c.write(&chunk)).await
        {
            written += n.unwrap();
        }
        assert!(written > 0);
        c.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        s.read_to_end(&mut got).await.unwrap();
        assert_eq!(got.len(), written);
        assert!(got.iter().all(|&b| b == 0xab));
    });
}

/// Several tasks accepting on one listener: every connection goes to one.
#[test]
fn shared_listener_accepts() {
    let rt = rt(2);
    rt.block_on(async {
        let ln = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = ln.local_addr().unwrap();
        let acceptors: Vec<_> = (0..4)
            .map(|_| {
                let ln = ln.clone();
                gust_executor::spawn(async move {
                    let mut n = 0;
                    while let Ok(Ok((mut s, _))) =
                        gust_executor::time::timeout(Duration::from_millis(500), ln.accept()).await
                    {
                        let mut b = [0u8; 1];
                        s.read_exact(&mut b).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        for _ in 0..200 {
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"x").await.unwrap();
        }
        let mut total = 0;
        for a in acceptors {
            total += a.await.unwrap();
        }
        assert_eq!(total, 200);
    });
}

/// The sockets work from tokio's runtime (the global gust runtime's driver
/// delivers their events).
#[test]
fn works_on_tokio() {
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    trt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = ln.accept().await.unwrap();
            let mut buf = vec![0u8; 5];
            s.read_exact(&mut buf).await.unwrap();
            s.write_all(&buf).await.unwrap();
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"tokio").await.unwrap();
        let mut back = [0u8; 5];
        c.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"tokio");
        server.await.unwrap();
    });
}

/// And from a plain `futures::executor::block_on`.
#[test]
fn works_on_futures_executor() {
    futures::executor::block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = ln.accept().await.unwrap();
        c.write_all(b"hi").await.unwrap();
        let mut b = [0u8; 2];
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"hi");
    });
}

#[test]
fn address_in_use_and_refused() {
    gust_executor::block_on(async {
        let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = a.local_addr().unwrap();
        assert_eq!(
            TcpListener::bind(addr).await.unwrap_err().kind(),
            ErrorKind::AddrInUse
        );
        drop(a);
        let e = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
        // A host name that does not resolve: an error, not a panic.
        assert!(TcpStream::connect("no-such-host.invalid:80").await.is_err());
        // Not an address at all.
        let e = TcpListener::bind("not an address").await.unwrap_err();
        assert!(!e.to_string().is_empty());
    });
}

/// A peer that resets the connection: the read gets `ConnectionReset`.
#[test]
fn reset_connection_is_an_error() {
    gust_executor::block_on(async {
        let std_ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_ln.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).await.unwrap();
        let (peer, _) = std_ln.accept().unwrap();
        // Unread data at close makes the kernel send a RST.
        c.write_all(b"unread").await.unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drop(peer);
        let mut buf = [0u8; 8];
        let mut saw_error = false;
        for _ in 0..3 {
            match c.read(&mut buf).await {
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::ConnectionReset);
                    saw_error = true;
                    break;
                }
                Ok(0) => break,
                Ok(_) => {}
            }
        }
        assert!(saw_error, "expected ConnectionReset");
    });
}

/// A peer that vanishes while we write: an error (EPIPE or reset), no
/// panic, no hang, no SIGPIPE.
#[test]
fn peer_vanishing_mid_write_is_an_error() {
    gust_executor::block_on(async {
        let std_ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(std_ln.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = std_ln.accept().unwrap();
        let mut one = [0u8; 1];
        let reader = std::thread::spawn(move || {
            // Read a little, then vanish.
            peer.read_exact(&mut one).unwrap();
            drop(peer);
        });
        let chunk = vec![7u8; 1 << 16];
        let mut err = None;
        for _ in 0..10_000 {
            if let Err(e) = c.write_all(&chunk).await {
                err = Some(e);
                break;
            }
        }
        reader.join().unwrap();
        let e = err.expect("the write never failed");
        assert!(
            matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
            "{e:?}"
        );
    });
}

/// EOF after the peer shuts down writing; our writes still work.
#[test]
fn half_close() {
    gust_executor::block_on(async {
        let std_ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(std_ln.local_addr().unwrap())
            .await
            .unwrap();
        let (mut peer, _) = std_ln.accept().unwrap();
        peer.shutdown(Shutdown::Write).unwrap();
        let mut buf = [0u8; 4];
        assert_eq!(c.read(&mut buf).await.unwrap(), 0);
        c.write_all(b"late").await.unwrap();
        let mut got = [0u8; 4];
        peer.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"late");
        let _ = peer.write(b"");
    });
}
