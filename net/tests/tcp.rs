//! TCP end to end with real sockets: echo, many connections at once, split
//! halves, cancel safety of accept/read/write, use from tokio, bad input.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gust_net::{TcpListener, TcpStream};
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

mod common;

use common::{connected, rt};

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
        let (c, s) = connected().await;
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
        let (mut c, mut s) = connected().await;
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

/// A read raced in `select!` against a channel that a busy sender keeps
/// ready (Go's `for { select { case <-tick: ...; default read } }` shape,
/// tokio's `select!` over `read` and `recv`): the read's bytes are never
/// dropped for the channel case, in either poll order. 200,000 bytes
/// written one at a time, checked in order, at 1 and 2 workers.
#[test]
fn read_in_select_against_a_busy_channel_loses_no_bytes() {
    const N: usize = 200_000;
    for (workers, cap) in [(1, 0), (2, 0), (2, 1)] {
        let rt = rt(workers);
        let got = rt.block_on(async move {
            let (mut c, mut s) = connected().await;
            let (tick_tx, tick_rx) = gust_chan::chan::<()>(cap);
            let ticker =
                gust_executor::spawn(async move { while tick_tx.send(()).await.is_ok() {} });
            let writer = gust_executor::spawn(async move {
                for i in 0..N {
                    c.write_all(&[i as u8]).await.unwrap();
                    if i % 64 == 0 {
                        gust_executor::yield_now().await;
                    }
                }
                c.close().await.unwrap();
            });
            let (mut got, mut ticks) = (0usize, 0u64);
            let mut buf = [0u8; 16];
            loop {
                gust_chan::select! {
                    n = s.read(&mut buf) => {
                        let n = n.unwrap();
                        if n == 0 {
                            break;
                        }
                        for (k, b) in buf[..n].iter().enumerate() {
                            assert_eq!(*b, (got + k) as u8, "byte {} out of order", got + k);
                        }
                        got += n;
                    }
                    _ = tick_rx.recv() => ticks += 1,
                }
            }
            drop(tick_rx);
            ticker.await.unwrap();
            writer.await.unwrap();
            assert!(
                ticks > 0,
                "the channel case never won: the race was not run"
            );
            got
        });
        assert_eq!(
            got,
            N,
            "{} bytes lost at {workers} workers, cap {cap}",
            N - got
        );
    }
}

/// Empty reads and writes, plain or vectored, and an empty `peek` return
/// `Ok(0)` at once: with nothing to read, and with the send buffer full
/// (the vectored forms and `peek` used to wait for readiness).
#[test]
fn empty_reads_and_writes_return_at_once() {
    use futures::FutureExt;
    use std::io::{IoSlice, IoSliceMut};
    rt(1).block_on(async {
        let (mut c, mut s) = connected().await;
        assert_eq!(s.read(&mut []).now_or_never().unwrap().unwrap(), 0);
        let mut empty: [IoSliceMut<'_>; 1] = [IoSliceMut::new(&mut [])];
        assert_eq!(
            s.read_vectored(&mut empty).now_or_never().unwrap().unwrap(),
            0
        );
        assert_eq!(s.read_vectored(&mut []).now_or_never().unwrap().unwrap(), 0);
        assert_eq!(s.peek(&mut []).now_or_never().unwrap().unwrap(), 0);
        let chunk = vec![0u8; 1 << 16];
        while let Some(r) = c.write(&chunk).now_or_never() {
            r.unwrap(); // until the send buffer is full
        }
        assert_eq!(c.write(&[]).now_or_never().unwrap().unwrap(), 0);
        let empty = [IoSlice::new(&[])];
        assert_eq!(c.write_vectored(&empty).now_or_never().unwrap().unwrap(), 0);
        assert_eq!(c.write_vectored(&[]).now_or_never().unwrap().unwrap(), 0);
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
        let (mut c, mut s) = connected().await;
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
        let (mut c, mut s) = connected().await;
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

/// A task whose socket is always ready still lets the others run (the
/// runtime's cooperative I/O budget): on one worker, a reader with 16 KiB
/// waiting in its socket, read a byte at a time, wakes a second task after
/// its first byte; that task gets its turn long before the reader has
/// drained the socket, and the reader, back after its yield, still gets
/// every byte.
#[test]
fn a_socket_that_stays_ready_does_not_starve_other_tasks() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    const BYTES: usize = 16 * 1024;
    let rt = rt(1);
    let (reads_before, total) = rt.block_on(async {
        let (mut c, mut s) = connected().await;
        let data: Vec<u8> = (0..BYTES).map(|i| i as u8).collect();
        c.write_all(&data).await.unwrap();
        c.flush().await.unwrap();
        // Every byte sits in `s`'s receive buffer before the reader starts.
        let mut first = [0u8; 1];
        s.read_exact(&mut first).await.unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let (go_tx, go_rx) = futures::channel::oneshot::channel::<()>();
        let other = gust_executor::spawn({
            let flag = flag.clone();
            async move {
                go_rx.await.unwrap();
                flag.store(true, Ordering::SeqCst);
            }
        });
        let reader = gust_executor::spawn(async move {
            let mut go_tx = Some(go_tx);
            let mut got = vec![first[0]];
            let mut reads_before = None;
            let mut byte = [0u8; 1];
            while got.len() < BYTES {
                s.read_exact(&mut byte).await.unwrap();
                got.push(byte[0]);
                if let Some(tx) = go_tx.take() {
                    tx.send(()).unwrap();
                }
                if reads_before.is_none() && flag.load(Ordering::SeqCst) {
                    reads_before = Some(got.len() - 1);
                }
            }
            assert_eq!(got, data, "every byte, in order");
            (reads_before, got.len())
        });
        other.await.unwrap();
        reader.await.unwrap()
    });
    assert_eq!(total, BYTES);
    let reads_before = reads_before.expect("the other task ran before the socket was drained");
    assert!(
        reads_before < 1_000,
        "the other task waited for {reads_before} reads of a ready socket"
    );
}

/// A `block_on` inside a task does its I/O without the task's budget (it
/// would never be refilled between the `block_on`'s polls): 2,000 one-byte
/// reads complete. (Two workers: the other one waits in the poller while
/// this one blocks.)
#[test]
fn block_on_inside_a_task_is_not_budgeted() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = rt(2);
        let n = rt.block_on(async {
            gust_executor::spawn(async {
                gust_executor::block_on(async {
                    let (mut c, mut s) = connected().await;
                    c.write_all(&[7u8; 2_000]).await.unwrap();
                    let mut byte = [0u8; 1];
                    let mut n = 0;
                    while n < 2_000 {
                        s.read_exact(&mut byte).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .await
            .unwrap()
        });
        let _ = done_tx.send(n);
    });
    let n = done_rx
        .recv_timeout(Duration::from_secs(20))
        .expect("a budgeted block_on spins forever");
    assert_eq!(n, 2_000);
}

/// A task that yields hands its worker to the tasks its socket events
/// wake at once, not after a few dozen turns: on one worker, a task spins
/// on `yield_now` until a reader has got its byte; once the byte is sent,
/// the reader runs within a few of those yields (a yield is followed by a
/// turn of the I/O driver).
#[test]
fn a_yield_lets_ready_sockets_in() {
    let yields = yields_until_a_ready_read(1, Duration::ZERO, 1_000_000);
    assert!(
        yields < 10,
        "the reader waited {yields} yields of a spinning task"
    );
}

/// On one worker: `spinners` tasks loop on `yield_now`, each first keeping
/// the worker busy for `busy`, while a reader waits for a byte; once the
/// byte is sent, counts the spinners' yields until the reader has it. The
/// spinners give up after `give_up` yields in all (a test fails instead of
/// hanging).
fn yields_until_a_ready_read(spinners: usize, busy: Duration, give_up: u64) -> u64 {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let rt = rt(1);
    rt.block_on(async {
        let (mut c, mut s) = connected().await;
        let sent = Arc::new(AtomicBool::new(false));
        let got = Arc::new(AtomicBool::new(false));
        let after_send = Arc::new(AtomicU64::new(0));
        let reader = gust_executor::spawn({
            let got = got.clone();
            async move {
                let mut byte = [0u8; 1];
                s.read_exact(&mut byte).await.unwrap();
                got.store(true, Ordering::SeqCst);
            }
        });
        let spinners: Vec<_> = (0..spinners)
            .map(|_| {
                let (sent, got, after_send) = (sent.clone(), got.clone(), after_send.clone());
                gust_executor::spawn(async move {
                    while !got.load(Ordering::SeqCst)
                        && after_send.load(Ordering::Relaxed) < give_up
                    {
                        if sent.load(Ordering::SeqCst) {
                            after_send.fetch_add(1, Ordering::Relaxed);
                        }
                        let start = Instant::now();
                        while start.elapsed() < busy {
                            std::hint::spin_loop();
                        }
                        gust_executor::yield_now().await;
                    }
                })
            })
            .collect();
        c.write_all(&[1]).await.unwrap();
        sent.store(true, Ordering::SeqCst);
        for h in spinners {
            h.await.unwrap();
        }
        reader.await.unwrap();
        after_send.load(Ordering::Relaxed)
    })
}

/// A busy worker takes I/O events only while few tasks are queued ahead of
/// them (the backlog waits in the kernel's ready list, in order), but not
/// never: with 100 tasks spinning on `yield_now` (a queue that never gets
/// short), a reader whose byte has arrived still runs within a few hundred
/// polls (the worker's forced I/O turn), not after the spinners give up.
#[test]
fn a_long_queue_still_lets_ready_sockets_in() {
    let yields = yields_until_a_ready_read(100, Duration::ZERO, 1_000_000);
    assert!(
        yields < 5_000,
        "the reader waited {yields} yields of 100 spinning tasks"
    );
}

/// The forced I/O turn also comes by time: with 40 tasks that each keep the
/// worker for 100 us per poll (a few hundred ticks would take tens of
/// milliseconds), a reader whose byte has arrived runs at the first of the
/// worker's periodic turns that finds 10 ms gone since its last I/O turn:
/// within about two such periods of yields (61 ticks each, 6 ms here) plus
/// the queue ahead of it, not after hundreds.
#[test]
fn long_polls_still_let_ready_sockets_in() {
    let yields = yields_until_a_ready_read(40, Duration::from_micros(100), 5_000);
    assert!(
        yields < 300,
        "the reader waited {yields} yields of tasks that each ran 100 us"
    );
}

/// `TcpStream` is `AsyncBufRead` (DESIGN.md): lines read straight off it,
/// as Go reads them through a `bufio.Reader`, with plain reads, vectored
/// reads and `fill_buf` mixed in any order, and every byte once, in order.
#[test]
fn lines_and_reads_mixed_come_out_in_order() {
    use futures::io::AsyncBufReadExt;
    let rt = rt(1);
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (mut s, _) = ln.accept().await.unwrap();
        // More than one buffer's worth, so fills happen mid-line too.
        let mut sent = Vec::new();
        for i in 0..2_000u32 {
            sent.extend_from_slice(
                format!("line {i} {}\n", "x".repeat(i as usize % 37)).as_bytes(),
            );
        }
        let writer = gust_executor::spawn(async move {
            c.write_all(&sent).await.unwrap();
            c.close().await.unwrap();
            sent
        });
        let mut got = Vec::new();
        let mut round = 0u32;
        loop {
            round += 1;
            let n = match round % 4 {
                // A line.
                0 => s.read_until(b'\n', &mut got).await.unwrap(),
                // A plain read of a few bytes.
                1 => {
                    let mut b = [0u8; 7];
                    let n = s.read(&mut b).await.unwrap();
                    got.extend_from_slice(&b[..n]);
                    n
                }
                // A vectored read over two small buffers.
                2 => {
                    let (mut a, mut b) = ([0u8; 3], [0u8; 5]);
                    let mut bufs = [
                        std::io::IoSliceMut::new(&mut a),
                        std::io::IoSliceMut::new(&mut b),
                    ];
                    let n = s.read_vectored(&mut bufs).await.unwrap();
                    got.extend_from_slice(&a[..n.min(3)]);
                    got.extend_from_slice(&b[..n.saturating_sub(3)]);
                    n
                }
                // Part of what fill_buf holds.
                _ => {
                    let buf = s.fill_buf().await.unwrap();
                    let n = buf.len().min(11);
                    got.extend_from_slice(&buf[..n]);
                    s.consume_unpin(n);
                    n
                }
            };
            if n == 0 {
                break;
            }
        }
        assert!(got == writer.await.unwrap(), "the bytes differ");
        // The lines API on a fresh stream, as a Go scanner reads.
        let mut c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        c.write_all(b"one\ntwo\nthree").await.unwrap();
        drop(c);
        use futures::StreamExt;
        let lines: Vec<String> = s.lines().map(Result::unwrap).collect().await;
        assert_eq!(lines, ["one", "two", "three"]);
    });
}

/// `into_split` hands the bytes `fill_buf` read ahead to the reading half;
/// `peek` and `readable` see them before it.
#[test]
fn split_keeps_the_bytes_read_ahead() {
    use futures::io::AsyncBufReadExt;
    let rt = rt(1);
    rt.block_on(async {
        let (mut c, mut s) = connected().await;
        c.write_all(b"first\nsecond\n").await.unwrap();
        let mut line = String::new();
        s.read_line(&mut line).await.unwrap();
        assert_eq!(line, "first\n");
        // "second\n" read ahead, not consumed (already there, or read now).
        assert_eq!(s.fill_buf().await.unwrap(), b"second\n");
        // peek and readable see it; nothing more is coming from the socket.
        let mut head = [0u8; 16];
        let n = s.peek(&mut head).await.unwrap();
        assert_eq!(&head[..n], b"second\n");
        gust_executor::time::timeout(Duration::from_secs(10), s.readable())
            .await
            .expect("readable at once: bytes are read ahead")
            .unwrap();
        // The half has them.
        let (mut r, _w) = s.into_split();
        drop(c);
        let mut rest = String::new();
        r.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "second\n");
    });
}

/// A `fill_buf` dropped while it waits (on an empty buffer: the only
/// place it can wait) loses nothing: the next read gets every byte.
#[test]
fn cancelled_fill_buf_loses_no_data() {
    use futures::io::AsyncBufReadExt;
    let rt = rt(1);
    rt.block_on(async {
        let (mut c, mut s) = connected().await;
        for round in 0..50u8 {
            let r = gust_executor::time::timeout(Duration::from_micros(200), s.fill_buf()).await;
            assert!(r.is_err(), "nothing was sent yet");
            c.write_all(&[round; 16]).await.unwrap();
            let mut buf = [0u8; 16];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, [round; 16]);
        }
    });
}

/// A socket outlives its runtime only to fail: every operation, a write
/// to a socket whose writability the driver had cached included (found
/// from outside: that one succeeded), says the runtime is gone.
#[test]
fn operations_after_the_runtime_shut_down_fail() {
    let rt = rt(1);
    let ((mut c, mut s), ln) = rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let (s, _) = ln.accept().await.unwrap();
        ((c, s), ln)
    });
    rt.block_on(async { c.write_all(b"x").await.unwrap() }); // writability cached
    drop(rt);
    futures::executor::block_on(async {
        let gone = |r: std::io::Result<()>| {
            let e = r.expect_err("an operation on a socket of a runtime that shut down");
            assert!(e.to_string().contains("has shut down"), "{e}");
        };
        gone(c.write_all(b"y").await);
        gone(s.read_exact(&mut [0u8; 1]).await);
        gone(ln.accept().await.map(drop));
        gone(c.readable().await);
    });
}

/// Go's `ln.Close()` from another task: every accept, waiting or later,
/// fails, `incoming` ends, a connection left in the backlog is reset and a
/// new one refused (found from outside: a Go echo server's shutdown had no
/// way to end an accept loop but a select on a quit channel).
#[test]
fn close_ends_every_accept_from_another_task() {
    let rt = rt(2);
    rt.block_on(async {
        let ln = std::sync::Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
        let addr = ln.local_addr().unwrap();
        let acceptors: Vec<_> = (0..3)
            .map(|_| {
                let ln = ln.clone();
                gust_executor::spawn(async move { ln.accept().await.map(drop) })
            })
            .collect();
        let streamer = {
            let ln = ln.clone();
            gust_executor::spawn(async move {
                use futures::StreamExt;
                let mut n = 0;
                let mut incoming = ln.incoming();
                while let Some(conn) = incoming.next().await {
                    conn.unwrap();
                    n += 1;
                }
                n
            })
        };
        ln.close().unwrap();
        for a in acceptors {
            let e = a.await.unwrap().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NotConnected, "{e}");
            assert!(
                e.to_string().contains("use of closed network connection"),
                "{e}"
            );
        }
        assert_eq!(streamer.await.unwrap(), 0);
        let e = ln.accept().await.map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotConnected);
        assert_eq!(ln.close().unwrap_err().kind(), ErrorKind::NotConnected);
        // Nothing listens any more.
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "connected to a closed listener"
        );
    });
}

/// A connection the kernel took before `close`, never accepted, is reset.
#[test]
fn close_resets_a_connection_left_in_the_backlog() {
    let rt = rt(1);
    rt.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        ln.close().unwrap();
        let mut buf = [0u8; 1];
        match c.read(&mut buf).await {
            Ok(0) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
            Ok(n) => panic!("read {n} bytes from a listener that closed"),
        }
    });
}

/// A waker that counts nothing but its own clones (`Arc::strong_count`).
struct Counted;

impl std::task::Wake for Counted {
    fn wake(self: std::sync::Arc<Self>) {}
}

/// Whether `fut` waits when polled once (it is dropped after).
fn waits<F: std::future::Future>(fut: F) -> bool {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    fut.as_mut().poll(&mut cx).is_pending()
}

/// `try_read`: `WouldBlock` with nothing to read, the bytes once they
/// came, and after a `WouldBlock` the stream is not taken for readable any
/// more (the driver's cached readiness was cleared), so `readable` waits
/// for the next arrival instead of spinning.
#[test]
fn try_read_clears_readiness_on_would_block() {
    rt(1).block_on(async {
        let (mut c, s) = connected().await;
        let mut buf = [0u8; 16];
        assert_eq!(
            s.try_read(&mut buf).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        assert_eq!(s.try_read(&mut []).unwrap(), 0, "an empty buffer: Ok(0)");
        for round in 0..50u8 {
            c.write_all(&[round; 3]).await.unwrap();
            let mut got = Vec::new();
            while got.len() < 3 {
                s.readable().await.unwrap();
                match s.try_read(&mut buf) {
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(got, [round; 3]);
            // Drained: WouldBlock, and the readiness is gone with it.
            assert_eq!(
                s.try_read(&mut buf).unwrap_err().kind(),
                ErrorKind::WouldBlock
            );
            assert!(waits(s.readable()), "readable after WouldBlock: a spin");
        }
        // The peer goes: EOF.
        drop(c);
        s.readable().await.unwrap();
        assert_eq!(s.try_read(&mut buf).unwrap(), 0);
    });
}

/// `try_read` in a task that has used up its I/O budget (its readiness
/// polls now yield): the bytes there, not a spurious `WouldBlock` (a
/// `try_` operation does not wait, so it takes no budget).
#[test]
fn try_read_past_the_io_budget_still_reads() {
    let rt = rt(1);
    let task = rt.spawn(async {
        let (mut c, s) = connected().await;
        c.write_all(b"x").await.unwrap();
        s.readable().await.unwrap();
        // Ready polls spend the task's budget until one yields instead.
        let exhausted =
            (0..1_000).any(|_| futures::FutureExt::now_or_never(s.readable()).is_none());
        assert!(exhausted, "the budget never ran out");
        let mut buf = [0u8; 4];
        assert_eq!(s.try_read(&mut buf).unwrap(), 1);
        assert_eq!(&buf[..1], b"x");
        assert_eq!(c.try_write(b"y").unwrap(), 1);
    });
    rt.block_on(task).unwrap();
}

/// `try_write`: bytes go out at once while there is room; with the send
/// buffer full, `WouldBlock`, `writable` waits, and once the peer has read
/// everything, writing goes on; every byte arrives, in order.
#[test]
fn try_write_until_would_block() {
    rt(2).block_on(async {
        let (c, mut s) = connected().await;
        assert_eq!(c.try_write(b"").unwrap(), 0);
        let chunk: Vec<u8> = (0..1 << 16).map(|i: u32| i as u8).collect();
        let mut sent = 0usize;
        loop {
            match c.try_write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            assert!(sent < 1 << 30, "the send buffer never filled");
        }
        assert!(waits(c.writable()), "writable right after WouldBlock");
        let reader = gust_executor::spawn(async move {
            let mut all = vec![0u8; sent + 5];
            s.read_exact(&mut all).await.unwrap();
            all
        });
        let mut rest: &[u8] = b"tail!";
        while !rest.is_empty() {
            c.writable().await.unwrap();
            match c.try_write(rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
        }
        let all = reader.await.unwrap();
        for (i, b) in all[..sent].iter().enumerate() {
            assert_eq!(*b, (i % (1 << 16)) as u8, "byte {i}");
        }
        assert_eq!(&all[sent..], b"tail!");
    });
}

/// `try_read` on a stream whose peer reset it: the error, not a hang.
#[test]
fn try_read_and_write_report_errors() {
    rt(1).block_on(async {
        let (c, s) = connected().await;
        c.set_linger(Some(Duration::ZERO)).unwrap();
        drop(c); // SO_LINGER 0: the kernel sends a RST
        s.readable().await.unwrap();
        let e = s.try_read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
        assert!(s.try_write(b"x").is_err());
    });
}

/// `set_linger`/`linger` and `ttl` round-trip through the socket.
#[test]
fn linger_and_ttl() {
    rt(1).block_on(async {
        let (c, _s) = connected().await;
        assert_eq!(c.linger().unwrap(), None);
        c.set_linger(Some(Duration::from_secs(3))).unwrap();
        assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(3)));
        c.set_linger(None).unwrap();
        assert_eq!(c.linger().unwrap(), None);
        c.set_ttl(17).unwrap();
        assert_eq!(c.ttl().unwrap(), 17);
    });
}

/// `set_keepalive`/`keepalive` (Go's `SetKeepAlive` and
/// `SetKeepAlivePeriod`): off by default; on with the period as idle time
/// and probe interval, rounded up to whole seconds as Go does; zero is Go's
/// default of 15 s; off again. On an accepted stream too.
#[test]
fn keepalive_round_trips() {
    rt(1).block_on(async {
        let (c, s) = connected().await;
        assert_eq!(c.keepalive().unwrap(), None);
        c.set_keepalive(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(c.keepalive().unwrap(), Some(Duration::from_secs(30)));
        let sock = socket2::SockRef::from(&c);
        assert_eq!(
            sock.tcp_keepalive_interval().unwrap(),
            Duration::from_secs(30)
        );
        c.set_keepalive(Some(Duration::from_millis(1500))).unwrap();
        assert_eq!(c.keepalive().unwrap(), Some(Duration::from_secs(2)));
        c.set_keepalive(Some(Duration::ZERO)).unwrap();
        assert_eq!(c.keepalive().unwrap(), Some(Duration::from_secs(15)));
        c.set_keepalive(None).unwrap();
        assert_eq!(c.keepalive().unwrap(), None);
        assert!(!sock.keepalive().unwrap());
        s.set_keepalive(Some(Duration::from_secs(1))).unwrap();
        assert_eq!(s.keepalive().unwrap(), Some(Duration::from_secs(1)));
    });
}

/// A `try_read` that found nothing leaves no waker behind.
#[test]
fn try_read_leaves_no_waker_behind() {
    let counted = std::sync::Arc::new(Counted);
    let waker = std::task::Waker::from(counted.clone());
    rt(1).block_on(async {
        let (_c, s) = connected().await;
        let mut buf = [0u8; 4];
        let mut cx = std::task::Context::from_waker(&waker);
        for _ in 0..100 {
            let mut r = std::pin::pin!(async {
                let e = s.try_read(&mut buf).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::WouldBlock);
            });
            assert!(r.as_mut().poll(&mut cx).is_ready());
        }
    });
    assert_eq!(std::sync::Arc::strong_count(&counted), 2);
}

/// Go's `":port"` (and `net.JoinHostPort("", port)`): an empty host binds
/// every interface, dual-stack where the host has IPv6 (Go's
/// `Listen("tcp", ":0")` gives `[::]:port`), and dials the local system.
#[test]
fn empty_host_binds_everywhere_and_dials_the_local_system() {
    rt(1).block_on(async {
        let ln = TcpListener::bind(":0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        assert!(addr.ip().is_unspecified(), "{addr}");
        let port = addr.port();
        let c = TcpStream::connect(format!(":{port}")).await.unwrap();
        let (_s, from) = ln.accept().await.unwrap();
        assert_eq!(c.local_addr().unwrap().port(), from.port());
        // IPv4 clients reach a dual-stack listener too.
        let v4 = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        ln.accept().await.unwrap();
        drop(v4);
        let by_pair = TcpListener::bind(("", 0)).await.unwrap();
        assert!(by_pair.local_addr().unwrap().ip().is_unspecified());
        let u = gust_net::UdpSocket::bind(":0").await.unwrap();
        assert!(u.local_addr().unwrap().ip().is_unspecified());
        // An IPv4 socket sends to `":port"` too (its family's address).
        let v4 = gust_net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = format!(":{}", u.local_addr().unwrap().port());
        assert_eq!(v4.send_to(b"hi", to.as_str()).await.unwrap(), 2);
        let mut buf = [0u8; 4];
        let (n, _) = u.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hi");
        // Not a port: an error naming the input, not a lookup of ":x".
        let e = TcpListener::bind(":x").await.map(drop).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

/// Go's TestCloseRead and TestCloseUnblocksRead: `shutdown(Read)` makes
/// the next read return end of stream, and a read already waiting (from
/// another task, on a shared stream) is woken by a `shutdown(Both)` from
/// this one: end of stream, not a hang.
#[test]
fn shutdown_ends_reads_waiting_or_not() {
    for workers in [1, 2] {
        rt(workers).block_on(async {
            let (mut c, _s) = connected().await;
            c.shutdown(Shutdown::Read).unwrap();
            assert_eq!(c.read(&mut [0u8; 4]).await.unwrap(), 0);

            let (c, _s) = connected().await;
            let c = std::sync::Arc::new(c);
            let reader = gust_executor::spawn({
                let c = c.clone();
                async move { (&*c).read(&mut [0u8; 4]).await }
            });
            gust_executor::time::sleep(Duration::from_millis(5)).await;
            assert!(!reader.is_finished());
            c.shutdown(Shutdown::Both).unwrap();
            let got = gust_executor::time::timeout(Duration::from_secs(10), reader)
                .await
                .expect("a read waiting on a shut-down stream was not woken");
            assert_eq!(got.unwrap().unwrap(), 0);
        });
    }
}
