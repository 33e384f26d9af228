//! Go's deadlines on sockets (`SetDeadline`, `SetReadDeadline`,
//! `SetWriteDeadline`), ported from the scenarios of Go's
//! net/timeout_test.go: a passed deadline fails operations, waiting ones
//! included, with "i/o timeout" and loses no data; moving or clearing it
//! lets them go on.

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gust_executor::runtime::Builder;
use gust_executor::time::now;
use gust_net::{TcpListener, TcpStream, UdpSocket};
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::{connected, rt};

fn is_timeout(e: &std::io::Error) -> bool {
    e.kind() == ErrorKind::TimedOut && e.to_string() == "i/o timeout"
}

/// A read past its deadline fails at once, and so does every read after,
/// bytes there or not, until the deadline is cleared; the bytes are then
/// all there (TestReadTimeout).
#[test]
fn passed_read_deadline_fails_reads_and_loses_nothing() {
    rt(1).block_on(async {
        let (mut c, mut s) = connected().await;
        c.set_read_deadline(Some(now() - Duration::from_millis(1)))
            .unwrap();
        let e = c.read(&mut [0u8; 4]).await.unwrap_err();
        assert!(is_timeout(&e), "{e}");
        s.write_all(b"data").await.unwrap();
        let e = c.read(&mut [0u8; 4]).await.unwrap_err();
        assert!(is_timeout(&e), "bytes there, deadline passed: {e}");
        c.set_read_deadline(None).unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"data");
    });
}

/// A deadline that passes while a read waits ends the read, about on time
/// (TestReadTimeoutFluctuation); a read with a later deadline gets the
/// bytes that come first.
#[test]
fn waiting_read_ends_at_its_deadline() {
    for workers in [1, 2] {
        rt(workers).block_on(async {
            let (mut c, mut s) = connected().await;
            let start = Instant::now();
            c.set_read_deadline(Some(now() + Duration::from_millis(20)))
                .unwrap();
            let e = c.read(&mut [0u8; 4]).await.unwrap_err();
            let took = start.elapsed();
            assert!(is_timeout(&e), "{e}");
            assert!(took >= Duration::from_millis(20), "early: {took:?}");
            assert!(took < Duration::from_secs(5), "late: {took:?}");
            c.set_read_deadline(Some(now() + Duration::from_secs(30)))
                .unwrap();
            s.write_all(b"x").await.unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).await.unwrap();
        });
    }
}

/// Another task's `set_deadline(now)` ends a read that waits with no
/// deadline (Go's way to stop a blocked reader), on a shared `&` stream
/// and on a reading half (set through the writing half); moving the
/// deadline to the future while a read waits keeps it waiting.
#[test]
fn another_task_stops_a_waiting_read() {
    for workers in [1, 2] {
        rt(workers).block_on(async {
            let (c, mut s) = connected().await;
            let c = Arc::new(c);
            let reader = gust_executor::spawn({
                let c = c.clone();
                async move { (&*c).read(&mut [0u8; 4]).await }
            });
            // Moved far out while the read waits: it goes on waiting.
            c.set_read_deadline(Some(now() + Duration::from_secs(3600)))
                .unwrap();
            gust_executor::time::sleep(Duration::from_millis(5)).await;
            assert!(!reader.is_finished());
            c.set_deadline(Some(now())).unwrap();
            let e = reader.await.unwrap().unwrap_err();
            assert!(is_timeout(&e), "{e}");
            // The halves share the connection's deadlines: the writing
            // half stops a read waiting on the reading half.
            let c = Arc::into_inner(c).unwrap();
            c.set_deadline(None).unwrap();
            let (mut r, w) = c.into_split();
            let reader = gust_executor::spawn(async move {
                let res = r.read(&mut [0u8; 4]).await;
                (r, res)
            });
            gust_executor::time::sleep(Duration::from_millis(5)).await;
            assert!(!reader.is_finished());
            w.set_read_deadline(Some(now())).unwrap();
            let (mut r, res) = reader.await.unwrap();
            assert!(is_timeout(&res.unwrap_err()));
            s.write_all(b"go").await.unwrap();
            w.set_read_deadline(None).unwrap();
            let mut buf = [0u8; 2];
            r.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"go");
        });
    }
}

/// A writer whose peer does not read fills the socket's buffers and then
/// waits; its deadline ends the wait, and a cleared deadline lets the
/// rest through once the peer reads (TestWriteTimeout).
#[test]
fn write_deadline_ends_a_blocked_writer() {
    rt(2).block_on(async {
        let (mut c, s) = connected().await;
        c.set_write_deadline(Some(now() + Duration::from_millis(50)))
            .unwrap();
        let chunk = vec![7u8; 64 * 1024];
        let mut sent = 0usize;
        let e = loop {
            match c.write(&chunk).await {
                Ok(n) => sent += n,
                Err(e) => break e,
            }
        };
        assert!(is_timeout(&e), "{e}");
        assert!(sent > 0);
        c.set_write_deadline(None).unwrap();
        let reader = gust_executor::spawn(async move {
            let mut s = s;
            let mut got = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            while got < sent + 3 {
                let n = s.read(&mut buf).await.unwrap();
                assert!(n > 0, "end of stream after {got}");
                got += n;
            }
            got
        });
        c.write_all(b"end").await.unwrap();
        assert_eq!(
            reader.await.unwrap(),
            sent + 3,
            "every byte written arrives once"
        );
    });
}

/// A listener's deadline ends its accepts; a connection that came stays
/// queued for the accept after the deadline is cleared (TestAcceptTimeout).
#[test]
fn accept_deadline() {
    rt(1).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ln.set_deadline(Some(now() + Duration::from_millis(10)))
            .unwrap();
        let e = ln.accept().await.map(drop).unwrap_err();
        assert!(is_timeout(&e), "{e}");
        let _c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
        let e = ln.accept().await.map(drop).unwrap_err();
        assert!(is_timeout(&e), "still passed: {e}");
        ln.set_deadline(None).unwrap();
        ln.accept().await.unwrap();
    });
}

/// UDP: a receive past its deadline fails; the datagram stays queued.
#[test]
fn udp_receive_deadline() {
    rt(1).block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        b.set_read_deadline(Some(now() + Duration::from_millis(10)))
            .unwrap();
        let e = b.recv_from(&mut [0u8; 8]).await.unwrap_err();
        assert!(is_timeout(&e), "{e}");
        a.send_to(b"hi", b.local_addr().unwrap()).await.unwrap();
        b.set_read_deadline(None).unwrap();
        let mut buf = [0u8; 8];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hi");
    });
}

/// Under virtual time the deadline is on the runtime's clock: an hour's
/// read deadline passes at once when nothing else can run.
#[test]
fn deadline_on_the_virtual_clock() {
    let rt = Builder::new()
        .workers(1)
        .start_paused(true)
        .build()
        .unwrap();
    let real = Instant::now();
    rt.block_on(async {
        let (mut c, _s) = connected().await;
        let start = now();
        c.set_read_deadline(Some(start + Duration::from_secs(3600)))
            .unwrap();
        let e = c.read(&mut [0u8; 4]).await.unwrap_err();
        assert!(is_timeout(&e), "{e}");
        assert!(now() >= start + Duration::from_secs(3600));
    });
    assert!(
        real.elapsed() < Duration::from_secs(10),
        "{:?}",
        real.elapsed()
    );
}

/// The race the deadline's wake-up must win: a deadline set from another
/// thread at any moment of a read's poll (before it stored its waker,
/// while, after) still ends the read. 5,000 rounds at 2 workers, the
/// setter a spinning thread that waits a varying few microseconds after
/// the read is spawned; a lost wake-up hangs a round (the watchdog fails
/// it). Without the check after a `Pending` poll (`Deadlines::guard`) it
/// hung within the first thousand rounds.
#[test]
fn deadline_set_during_a_poll_is_never_lost() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let (tx, rx) = std::sync::mpsc::channel();
    // The rounds run on a thread of their own, so that a hang fails the
    // test here instead of hanging it.
    std::thread::spawn(move || {
        let rt = rt(2);
        rt.block_on(async {
            let (c, _s) = connected().await;
            let c = Arc::new(c);
            // `go`: the round whose deadline the setter sets next
            // (`usize::MAX`: stop); `done`: the last round it set.
            let go = Arc::new(AtomicUsize::new(0));
            let done = Arc::new(AtomicUsize::new(0));
            let setter = std::thread::spawn({
                let (c, go, done) = (c.clone(), go.clone(), done.clone());
                move || {
                    let (mut last, mut idle) = (0, 0u32);
                    loop {
                        let round = go.load(SeqCst);
                        if round == usize::MAX {
                            return;
                        }
                        if round == last {
                            // Spin (to set the deadline within nanoseconds
                            // of the spawn), then yield (a loaded machine).
                            idle += 1;
                            if idle < 20_000 {
                                std::hint::spin_loop();
                            } else {
                                std::thread::yield_now();
                            }
                            continue;
                        }
                        idle = 0;
                        for _ in 0..(round * 37) % 4096 {
                            std::hint::spin_loop();
                        }
                        c.set_read_deadline(Some(now())).unwrap();
                        done.store(round, SeqCst);
                        last = round;
                    }
                }
            });
            for round in 1..=5000 {
                c.set_read_deadline(None).unwrap();
                let reader = gust_executor::spawn({
                    let c = c.clone();
                    async move { (&*c).read(&mut [0u8; 1]).await }
                });
                go.store(round, SeqCst);
                let e = reader.await.unwrap().unwrap_err();
                assert!(is_timeout(&e), "{e}");
                while done.load(SeqCst) != round {
                    gust_executor::yield_now().await;
                }
            }
            go.store(usize::MAX, SeqCst);
            setter.join().unwrap();
        });
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the rounds failed (above), or a read missed its deadline's wake-up");
}

/// Setting a deadline says when it cannot matter, as Go's `SetDeadline`
/// returns an error: on a closed listener ("use of closed network
/// connection"), and on a socket whose runtime has shut down.
#[test]
fn setting_a_deadline_on_a_closed_listener_or_a_gone_runtime_is_an_error() {
    let rt1 = rt(1);
    let (ln, c) = rt1.block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ln.set_deadline(Some(now())).unwrap();
        let (c, _s) = connected().await;
        c.set_deadline(Some(now())).unwrap();
        (ln, c)
    });
    ln.close().unwrap();
    let e = ln.set_deadline(None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotConnected, "{e}");
    drop(rt1);
    let e = c.set_read_deadline(None).unwrap_err();
    assert!(e.to_string().contains("shut down"), "{e}");
    assert!(c.set_deadline(Some(now())).is_err());
}

/// Go's TestVariousDeadlines: deadlines from a nanosecond to 100 ms, three
/// connections each, on a peer that sends nothing: the read ends with
/// "i/o timeout", never before its deadline and never hanging.
#[test]
fn various_deadlines() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        // The server holds every connection open until its client closes.
        let server = gust_executor::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = ln.accept().await {
                held.push(gust_executor::spawn(async move {
                    let mut s = s;
                    let _ = s.read(&mut [0u8; 1]).await;
                }));
                if held.len() == 3 * 13 {
                    break;
                }
            }
            for h in held {
                h.await.unwrap();
            }
        });
        let ns = Duration::from_nanos;
        let us = Duration::from_micros;
        let ms = Duration::from_millis;
        for timeout in [
            ns(1),
            ns(50),
            ns(750),
            us(1),
            us(5),
            us(50),
            us(250),
            ms(1),
            ms(5),
            ms(20),
            ms(50),
            ms(75),
            ms(100),
        ] {
            for run in 0..3 {
                let mut c = TcpStream::connect(addr).await.unwrap();
                let t0 = Instant::now();
                c.set_deadline(Some(t0 + timeout)).unwrap();
                let mut sink = Vec::new();
                let e =
                    gust_executor::time::timeout(Duration::from_secs(30), c.read_to_end(&mut sink))
                        .await
                        .unwrap_or_else(|_| panic!("{timeout:?} run {run}: the read hung"))
                        .unwrap_err();
                let took = t0.elapsed();
                assert!(is_timeout(&e), "{timeout:?} run {run}: {e}");
                assert!(took >= timeout, "{timeout:?} run {run}: early, {took:?}");
                assert!(sink.is_empty());
            }
        }
        server.await.unwrap();
    });
}

/// Go's TestReadWriteProlongedTimeout: a reader and a writer that each
/// push their deadline an hour out before every operation on an echoed
/// connection never see a timeout; the reader ends at the peer's EOF.
#[test]
fn prolonged_deadlines_never_fire() {
    rt(2).block_on(async {
        let (c, s) = connected().await;
        let echo = gust_executor::spawn(async move {
            let (mut r, mut w) = s.into_split();
            futures::io::copy(&mut r, &mut w).await.unwrap();
        });
        let (mut r, mut w) = c.into_split();
        let reader = gust_executor::spawn(async move {
            let mut got = 0usize;
            loop {
                r.set_read_deadline(Some(now() + Duration::from_secs(3600)))
                    .unwrap();
                match r.read(&mut [0u8; 1]).await {
                    Ok(0) => return got,
                    Ok(n) => got += n,
                    Err(e) => panic!("read: {e}"),
                }
            }
        });
        for _ in 0..1000 {
            w.set_write_deadline(Some(now() + Duration::from_secs(3600)))
                .unwrap();
            w.write_all(&[7]).await.unwrap();
        }
        w.close().await.unwrap();
        assert_eq!(reader.await.unwrap(), 1000);
        echo.await.unwrap();
    });
}

/// Go's Test{Read,Write,Accept}TimeoutMustNotReturn: a deadline set far
/// out, or set and then cleared, leaves the operation waiting.
#[test]
fn far_or_cleared_deadlines_do_not_return() {
    rt(1).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        ln.set_deadline(Some(now() + Duration::from_millis(1)))
            .unwrap();
        ln.set_deadline(None).unwrap();
        let accept = gust_executor::time::timeout(Duration::from_millis(150), ln.accept()).await;
        assert!(accept.is_err(), "accept returned: {accept:?}");

        let (c, _s) = connected().await;
        c.set_deadline(Some(now() + Duration::from_secs(3600)))
            .unwrap();
        c.set_write_deadline(Some(now() + Duration::from_millis(1)))
            .unwrap();
        c.set_read_deadline(None).unwrap();
        let read =
            gust_executor::time::timeout(Duration::from_millis(150), (&c).read(&mut [0u8; 1]))
                .await;
        assert!(read.is_err(), "read returned: {read:?}");
    });
}

/// Go's TestConcurrentSetDeadline: 8 tasks set the read and write
/// deadlines of the same 10 connections, each moving them steadily
/// earlier, 100 times over: no crash, no hang.
#[test]
fn concurrent_set_deadline() {
    rt(2).block_on(async {
        let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = ln.local_addr().unwrap();
        let mut conns = Vec::new();
        let mut peers = Vec::new();
        for _ in 0..10 {
            conns.push(TcpStream::connect(addr).await.unwrap());
            peers.push(ln.accept().await.unwrap().0);
        }
        let conns = Arc::new(conns);
        let t0 = now();
        let setters: Vec<_> = (0..8u64)
            .map(|i| {
                let conns = conns.clone();
                gust_executor::spawn(async move {
                    for j in (1..=100u64).rev() {
                        for (k, c) in conns.iter().enumerate() {
                            let s = Duration::from_secs(i * j * k as u64);
                            c.set_read_deadline(Some(t0 + Duration::from_secs(7200) + s))
                                .unwrap();
                            c.set_write_deadline(Some(t0 + Duration::from_secs(3600) + s))
                                .unwrap();
                        }
                    }
                })
            })
            .collect();
        for h in setters {
            gust_executor::time::timeout(Duration::from_secs(30), h)
                .await
                .expect("a setter hung")
                .unwrap();
        }
    });
}

/// Go's TestReadWriteDeadlineRace: one task moves both deadlines 2 µs
/// out every 2 µs while another reads and a third writes, 1,000 times
/// each: every operation returns (with data, or "i/o timeout").
#[test]
fn read_write_deadline_race() {
    const N: usize = 1000;
    rt(2).block_on(async {
        let (c, s) = connected().await;
        // The peer takes what is written and sends nothing.
        let sink = gust_executor::spawn(async move {
            let mut s = s;
            let mut buf = [0u8; 256];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        });
        let c = Arc::new(c);
        let setter = gust_executor::spawn({
            let c = c.clone();
            async move {
                for _ in 0..N {
                    c.set_read_deadline(Some(now() + Duration::from_micros(2)))
                        .unwrap();
                    c.set_write_deadline(Some(now() + Duration::from_micros(2)))
                        .unwrap();
                    gust_executor::time::sleep(Duration::from_micros(2)).await;
                }
            }
        });
        let reader = gust_executor::spawn({
            let c = c.clone();
            async move {
                for _ in 0..N {
                    if let Err(e) = (&*c).read(&mut [0u8; 1]).await {
                        assert!(is_timeout(&e), "{e}");
                    }
                }
            }
        });
        let writer = gust_executor::spawn({
            let c = c.clone();
            async move {
                for _ in 0..N {
                    if let Err(e) = (&*c).write(&[1u8]).await {
                        assert!(is_timeout(&e), "{e}");
                    }
                }
            }
        });
        for h in [setter, reader, writer] {
            gust_executor::time::timeout(Duration::from_secs(60), h)
                .await
                .expect("an operation hung")
                .unwrap();
        }
        c.shutdown(std::net::Shutdown::Both).unwrap();
        sink.await.unwrap();
    });
}
