//! The I/O watch (Go's sysmon polling the netpoller): a source waited on
//! from outside its runtime (a plain thread, another executor) gets its
//! events while every worker of that runtime is held by a task that never
//! yields. Without the watch nothing polls the OS for that runtime until a
//! worker comes back, and these tests hang.

use gust_executor::io::{Direction, Interest, Registration, mio};
use gust_executor::runtime::Builder;
use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Holds the runtime's only worker until `release` is set.
fn hold_the_worker(rt: &gust_executor::runtime::Runtime, release: &Arc<AtomicBool>) {
    let (started_tx, started_rx) = mpsc::channel();
    let release = release.clone();
    rt.spawn(async move {
        started_tx.send(()).unwrap();
        while !release.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
    started_rx.recv().unwrap();
}

/// A one-worker runtime whose worker is held, and a socket pair: `b`
/// registered with that runtime (`reg`), `a` to write to it; setting
/// `release` lets the worker go.
type Held = (
    gust_executor::runtime::Runtime,
    std::os::unix::net::UnixStream,
    mio::net::UnixStream,
    Registration,
    Arc<AtomicBool>,
);

fn held() -> Held {
    let rt = Builder::new().workers(1).build().unwrap();
    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let mut b = mio::net::UnixStream::from_std(b);
    let reg = rt
        .block_on(async { Registration::new(&mut b, Interest::READABLE) })
        .unwrap();
    let release = Arc::new(AtomicBool::new(false));
    hold_the_worker(&rt, &release);
    (rt, a, b, reg, release)
}

#[test]
fn a_read_from_a_plain_thread_completes_while_the_worker_is_held() {
    let (_rt, mut a, mut b, reg, release) = held();

    let (first_tx, first_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4];
        let mut polls = 0;
        let n = futures::executor::block_on(std::future::poll_fn(|cx| {
            let r = reg.poll_io(cx, Direction::Read, || (&b).read(&mut buf));
            polls += 1;
            if polls == 1 {
                first_tx.send(r.is_pending()).unwrap();
            }
            r
        }))
        .unwrap();
        done_tx.send(n).unwrap();
        reg.deregister(&mut b).unwrap();
    });
    assert!(first_rx.recv().unwrap(), "the read's first poll waits");
    a.write_all(b"ping").unwrap();
    let got = done_rx.recv_timeout(Duration::from_secs(10));
    release.store(true, Ordering::SeqCst);
    assert_eq!(
        got,
        Ok(4),
        "the read was not woken while the worker was held"
    );
    reader.join().unwrap();
}

#[test]
fn each_of_many_reads_completes_while_the_worker_is_held() {
    // The watch re-arms: every read after the first waits again, and each
    // is woken within the watch's period, not only the first.
    let (_rt, mut a, mut b, reg, release) = held();

    const ROUNDS: usize = 20;
    let (ack_tx, ack_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for _ in 0..ROUNDS {
            let mut buf = [0u8; 1];
            let n = futures::executor::block_on(std::future::poll_fn(|cx| {
                reg.poll_io(cx, Direction::Read, || (&b).read(&mut buf))
            }))
            .unwrap();
            ack_tx.send((n, buf[0])).unwrap();
        }
        reg.deregister(&mut b).unwrap();
    });
    let mut got = Vec::new();
    for i in 0..ROUNDS as u8 {
        a.write_all(&[i]).unwrap();
        match ack_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(v) => got.push(v),
            Err(_) => break,
        }
    }
    release.store(true, Ordering::SeqCst);
    let want: Vec<_> = (0..ROUNDS as u8).map(|i| (1, i)).collect();
    assert_eq!(got, want, "a read was not woken while the worker was held");
    reader.join().unwrap();
}
