//! # gust-net: Go's `net`, on the gust runtime's own I/O driver
//!
//! TCP ([`TcpListener`], [`TcpStream`]), UDP ([`UdpSocket`]) and, on Unix,
//! [`UnixListener`], [`UnixStream`] and [`UnixDatagram`]. Streams are
//! futures-io `AsyncRead`/`AsyncWrite`/`AsyncBufRead` (read a line
//! straight off a stream, as from Go's `bufio.Reader` over a `net.Conn`),
//! and split into owned halves that two tasks can use at once (and that
//! `reunite` makes whole again).
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use gust_net::{TcpListener, TcpStream};
//!
//! gust_executor::block_on(async {
//!     let ln = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = ln.local_addr()?;
//!     let server = gust_executor::spawn(async move {
//!         let (mut s, _peer) = ln.accept().await?;
//!         let mut buf = [0u8; 5];
//!         s.read_exact(&mut buf).await?;
//!         s.write_all(&buf).await?; // echo
//!         std::io::Result::Ok(())
//!     });
//!     let mut c = TcpStream::connect(addr).await?;
//!     c.write_all(b"hello").await?;
//!     let mut back = [0u8; 5];
//!     c.read_exact(&mut back).await?;
//!     assert_eq!(&back, b"hello");
//!     server.await.unwrap()
//! })
//! .unwrap();
//! ```
//!
//! # How it runs
//!
//! Each socket is registered with the I/O driver of the runtime it is made
//! on (the runtime of the task or `block_on` that creates it; the global
//! runtime outside any). That runtime's workers wait for its events where
//! they park, as Go's netpoller does: a worker with nothing to run waits in
//! the OS poller, and the task a readiness event wakes runs on that worker,
//! with no helper thread in between. The futures can be polled from any
//! executor (tokio, `futures::executor`, `block_on`): the runtime's workers
//! still deliver the events.
//!
//! # Deadlines
//!
//! As Go's `SetDeadline`, `SetReadDeadline` and `SetWriteDeadline`: every
//! socket type (and either owned half) takes an instant after which its
//! reads, writes or accepts, those already waiting included, fail with
//! `TimedOut` ("i/o timeout") until the deadline is moved or cleared, so
//! one task can stop another's blocked read. To time out a single call,
//! `gust::time::timeout` around it does the same.
//!
//! ```
//! use futures::io::AsyncReadExt;
//! use std::time::Duration;
//! gust_executor::block_on(async {
//!     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
//!     let s = std::sync::Arc::new(gust_net::TcpStream::connect(ln.local_addr()?).await?);
//!     let reader = gust_executor::spawn({
//!         let s = s.clone();
//!         async move { (&*s).read(&mut [0u8; 8]).await }
//!     });
//!     // Another task stops the waiting read: Go's `conn.SetDeadline(time.Now())`.
//!     gust_executor::time::sleep(Duration::from_millis(1)).await;
//!     s.set_deadline(Some(gust_executor::time::now()))?;
//!     let e = reader.await.unwrap().unwrap_err();
//!     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! # Errors and cancellation
//!
//! Every failure is an `io::Error`, never a panic: an address in use, a
//! refused or reset connection, a peer that vanished mid-write (`EPIPE`;
//! Rust programs ignore `SIGPIPE`), running out of file descriptors on
//! `accept` (the error is returned and the listener goes on: retry after a
//! pause, as Go's `http.Server` does). Every future is cancel-safe: a read,
//! write or accept that is dropped before it completes did nothing, so the
//! next read gets every byte.
//!
//! # File descriptors
//!
//! On Unix every socket type is `AsRawFd` and `AsFd`, as std's and
//! tokio's are: for socket options gust does not wrap (with `socket2`'s
//! `SockRef`, or `libc`), or for passing a descriptor on. The socket stays
//! registered with the driver: do not close it, and do not change its
//! blocking mode.
//!
//! ```
//! # #[cfg(unix)] {
//! use std::os::fd::AsRawFd;
//! let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = ln.local_addr().unwrap();
//! let ours = gust_executor::block_on(gust_net::TcpListener::bind(("127.0.0.1", 0))).unwrap();
//! assert!(ours.as_raw_fd() >= 0);
//! assert_ne!(ours.as_raw_fd(), ln.as_raw_fd());
//! let sock = socket2::SockRef::from(&ours);
//! assert_eq!(sock.local_addr().unwrap().as_socket(), Some(ours.local_addr().unwrap()));
//! # let _ = addr;
//! # }
//! ```

/// `AsRawFd` and `AsFd` for socket types whose `io` field derefs to a
/// `Registered` source (crate docs, "File descriptors").
macro_rules! impl_fd {
    ($($ty:ty),* $(,)?) => {$(
        #[cfg(unix)]
        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.io.get())
            }
        }
        #[cfg(unix)]
        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.get())
            }
        }
    )*};
}

mod backlog;
mod deadline;
mod listener;
mod read_ahead;
mod registered;
mod resolve;
mod split;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;
#[cfg(unix)]
mod unix_datagram;

pub use resolve::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{
    UnixIncoming, UnixListener, UnixOwnedReadHalf, UnixOwnedWriteHalf, UnixReuniteError, UnixStream,
};
#[cfg(unix)]
pub use unix_datagram::UnixDatagram;
