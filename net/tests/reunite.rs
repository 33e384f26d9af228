//! `reunite`: owned halves back into one stream (tokio's), for TCP and
//! Unix streams; mismatched halves come back in the error.

use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use gust_net::{ReuniteError, TcpListener, TcpStream};
use std::error::Error;

/// Both ends of a fresh loopback connection: (client, server).
async fn connected() -> (TcpStream, TcpStream) {
    let ln = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(ln.local_addr().unwrap()).await.unwrap();
    let (s, _) = ln.accept().await.unwrap();
    (c, s)
}

/// The halves of one stream make it whole again: it reads and writes on,
/// the writing direction was not shut down by the writing half going
/// away, and the bytes read ahead by `fill_buf` come back first.
#[test]
fn tcp_reunite_gives_the_stream_back() {
    gust_executor::block_on(async {
        let (mut c, mut s) = connected().await;
        c.write_all(b"line\nrest").await.unwrap();
        let mut line = String::new();
        s.read_line(&mut line).await.unwrap(); // may read "rest" ahead
        assert_eq!(line, "line\n");
        let local = s.local_addr().unwrap();
        let (r, w) = s.into_split();
        let mut s = r.reunite(w).unwrap();
        assert_eq!(s.local_addr().unwrap(), local);
        let mut rest = [0u8; 4];
        s.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"rest");
        // Still open for writing: the peer gets these bytes, not EOF.
        s.write_all(b"still here").await.unwrap();
        let mut got = [0u8; 10];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"still here");
        // And splits again.
        let (r, w) = s.into_split();
        drop(r.reunite(w).unwrap());
    });
}

/// Halves of two different streams: an error that gives both back,
/// says what went wrong, and is an `Error`; the right pairs then reunite.
#[test]
fn tcp_reunite_of_mismatched_halves_is_an_error() {
    gust_executor::block_on(async {
        let (c1, _s1) = connected().await;
        let (c2, _s2) = connected().await;
        let (r1, w1) = c1.into_split();
        let (r2, w2) = c2.into_split();
        let e: ReuniteError = r1.reunite(w2).unwrap_err();
        assert!(e.to_string().contains("not from the same"), "{e}");
        assert!(format!("{e:?}").contains("ReuniteError"));
        let as_error: &dyn Error = &e;
        assert!(as_error.source().is_none());
        let ReuniteError(r1, w2) = e;
        let mut a = r1.reunite(w1).unwrap();
        let b = r2.reunite(w2).unwrap();
        // `a` is c1 again: it talks to s1.
        a.write_all(b"x").await.unwrap();
        assert_ne!(a.local_addr().unwrap(), b.local_addr().unwrap());
    });
}

/// The same for the Unix stream halves.
#[cfg(unix)]
#[test]
fn unix_reunite() {
    use gust_net::{UnixReuniteError, UnixStream};
    gust_executor::block_on(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (r, w) = a.into_split();
        let mut a = r.reunite(w).unwrap();
        a.write_all(b"whole").await.unwrap();
        let mut got = [0u8; 5];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"whole");
        b.write_all(b"back").await.unwrap();
        a.read_exact(&mut got[..4]).await.unwrap();
        assert_eq!(&got[..4], b"back");

        let (x, _y) = UnixStream::pair().unwrap();
        let (ra, wa) = a.into_split();
        let (rx, wx) = x.into_split();
        let e: UnixReuniteError = ra.reunite(wx).unwrap_err();
        assert!(e.to_string().contains("not from the same"), "{e}");
        let _: &dyn Error = &e;
        let UnixReuniteError(ra, wx) = e;
        drop(ra.reunite(wa).unwrap());
        drop(rx.reunite(wx).unwrap());
    });
}
