//! The wake of a worker waiting in the OS poller, under stress with real
//! threads (the loom model `tests/loom_poller.rs` covers the protocol; this
//! covers the real poller and eventfd): tasks spawned from a plain thread,
//! woken by a timer, and woken by a socket, while the workers go idle
//! between rounds. A lost wake-up shows as a round that does not finish
//! within 10 s.

use gust_executor::io::{Direction, Interest, Registration};
use gust_executor::runtime::Builder;
use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn spawn_from_a_thread_always_runs() {
    for workers in [1, 2] {
        let rt = Builder::new().workers(workers).build().unwrap();
        let (tx, rx) = mpsc::channel();
        for round in 0..20_000u64 {
            let tx = tx.clone();
            rt.spawn(async move { tx.send(round).unwrap() });
            assert_eq!(
                rx.recv_timeout(LIMIT),
                Ok(round),
                "round {round}, {workers} workers"
            );
            if round % 1_000 == 0 {
                // Now and then, let every worker reach the poller first.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

#[test]
fn timer_wakes_always_arrive() {
    for workers in [1, 2] {
        let rt = Builder::new().workers(workers).build().unwrap();
        let (tx, rx) = mpsc::channel();
        for round in 0..2_000u64 {
            let tx = tx.clone();
            rt.spawn(async move {
                gust_executor::time::sleep(Duration::from_micros(round % 300)).await;
                tx.send(round).unwrap();
            });
            assert_eq!(
                rx.recv_timeout(LIMIT),
                Ok(round),
                "round {round}, {workers} workers"
            );
        }
    }
}

#[test]
fn socket_wakes_always_arrive() {
    for workers in [1, 2] {
        let rt = Builder::new().workers(workers).build().unwrap();
        let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = rt.spawn(async move {
            let mut b = mio::net::UnixStream::from_std(b);
            let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
            let mut total = 0u64;
            let mut buf = [0u8; 64];
            loop {
                let n = std::future::poll_fn(|cx| {
                    reg.poll_io(cx, Direction::Read, || (&b).read(&mut buf))
                })
                .await
                .unwrap();
                if n == 0 {
                    break;
                }
                for &x in &buf[..n] {
                    total += u64::from(x);
                    tx.send(()).unwrap();
                }
            }
            reg.deregister(&mut b).unwrap();
            total
        });
        let mut want = 0u64;
        for round in 0..20_000u64 {
            let x = (round % 251) as u8;
            a.write_all(&[x]).unwrap();
            want += u64::from(x);
            assert_eq!(
                rx.recv_timeout(LIMIT),
                Ok(()),
                "round {round}, {workers} workers"
            );
        }
        drop(a);
        assert_eq!(rt.block_on(reader).unwrap(), want);
    }
}
