//! # gust-net: Go's `net`, on the gust runtime's own I/O driver
//!
//! TCP ([`TcpListener`], [`TcpStream`]), UDP ([`UdpSocket`]) and, on Unix,
//! [`UnixListener`] and [`UnixStream`]. Streams are futures-io
//! `AsyncRead`/`AsyncWrite` (wrap one in `futures::io::BufReader` for
//! `AsyncBufRead`), and split into owned halves that two tasks can use at
//! once.
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
//! # Errors and cancellation
//!
//! Every failure is an `io::Error`, never a panic: an address in use, a
//! refused or reset connection, a peer that vanished mid-write (`EPIPE`;
//! Rust programs ignore `SIGPIPE`), running out of file descriptors on
//! `accept` (the error is returned and the listener goes on: retry after a
//! pause, as Go's `http.Server` does). Every future is cancel-safe: a read,
//! write or accept that is dropped before it completes did nothing, so the
//! next read gets every byte.

mod backlog;
mod registered;
mod resolve;
mod split;
mod tcp;
mod udp;
#[cfg(unix)]
mod unix;

pub use split::{OwnedReadHalf, OwnedWriteHalf};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixIncoming, UnixListener, UnixOwnedReadHalf, UnixOwnedWriteHalf, UnixStream};
