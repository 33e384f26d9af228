//! [`UnixDatagram`]: Go's `net.ListenUnixgram` / `net.DialUnix("unixgram", ..)`.
//!
//! The Unix-domain twin of [`UdpSocket`](crate::UdpSocket), built the same
//! way: one [`Registered`] source, each operation a `Waiter` future on it
//! (cancel-safe; a dropped one takes its waker out). Addresses are paths
//! as [`UnixListener::bind`](crate::UnixListener::bind) takes them: a
//! socket file, or on Linux a leading NUL byte for an abstract name
//! (`unix::sock_addr`). Binding, connecting and `send_to` go through
//! socket2 with that address, since std's and mio's path forms cannot
//! name an abstract socket; receiving goes through mio, which reports the
//! sender as std's `SocketAddr`.

use crate::registered::Registered;
use crate::unix::sock_addr;
use gust_executor::io::Direction;
use gust_executor::io::mio::net as mnet;
use socket2::{Domain, SockRef, Socket, Type};
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

/// A Unix-domain datagram socket. Every method takes `&self`: share it
/// between tasks with an `Arc`. Datagrams keep their boundaries and, unlike
/// UDP's, are neither lost nor reordered: a sender whose peer's queue is
/// full waits.
///
/// # Examples
///
/// ```
/// use gust_net::UnixDatagram;
/// let dir = std::env::temp_dir().join(format!("gust-doc-dgram-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
/// gust_executor::block_on(async {
///     let a = UnixDatagram::bind(&pa)?;
///     let b = UnixDatagram::bind(&pb)?;
///     a.send_to(b"ping", &pb).await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from.as_pathname(), Some(pa.as_path()));
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixDatagram {
    io: Registered<mnet::UnixDatagram>,
}

impl UnixDatagram {
    /// Binds a socket to the socket file `path` (which must not exist; the
    /// file stays after the socket is dropped, as with std), or, on Linux,
    /// to the abstract name after a leading NUL byte (`"\0name"`), as
    /// [`UnixListener::bind`](crate::UnixListener::bind) takes it. Go's
    /// `net.ListenUnixgram`.
    ///
    /// # Errors
    ///
    /// `AddrInUse` if the file (or the abstract name) exists,
    /// `InvalidInput` for a path with a NUL byte inside; what `bind(2)`
    /// says otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-dbind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let s = gust_net::UnixDatagram::bind(&path).unwrap();
    /// assert_eq!(s.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// let taken = gust_net::UnixDatagram::bind(&path).unwrap_err();
    /// assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        let addr = sock_addr(path.as_ref())?;
        let socket = Socket::new(Domain::UNIX, Type::DGRAM, None)?;
        socket.bind(&addr)?;
        Self::from_std(std::os::fd::OwnedFd::from(socket).into())
    }

    /// A socket bound to no address: it can send (to a path, or to the
    /// peer set by [`connect`](Self::connect)) and receive replies only
    /// through a connection, since nobody can name it.
    ///
    /// # Errors
    ///
    /// What `socket(2)` says; a registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gust_net::UnixDatagram::unbound().unwrap();
    /// assert!(s.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn unbound() -> io::Result<UnixDatagram> {
        Self::from_mio(mnet::UnixDatagram::unbound()?)
    }

    /// A connected pair (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// What `socketpair(2)` says; a registration error.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let (a, b) = gust_net::UnixDatagram::pair()?;
    ///     a.send(b"hi").await?;
    ///     let mut buf = [0u8; 4];
    ///     let n = b.recv(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mnet::UnixDatagram::pair()?;
        Ok((Self::from_mio(a)?, Self::from_mio(b)?))
    }

    /// Wraps a std socket. It is made non-blocking here.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the runtime's driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixDatagram::pair().unwrap();
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UnixDatagram::from_std(a).unwrap();
    ///     assert!(s.peer_addr().is_ok());
    /// });
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        s.set_nonblocking(true)?;
        Self::from_mio(mnet::UnixDatagram::from_std(s))
    }

    fn from_mio(s: mnet::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Registered::new(s)?,
        })
    }

    /// Sets the default peer, `path` (a file, or `"\0name"` as
    /// [`bind`](Self::bind) takes it): `send` goes there, and `recv` takes
    /// only its datagrams (Go's `DialUnix("unixgram", ..)`). It does not
    /// wait: a Unix datagram connect is done at once.
    ///
    /// # Errors
    ///
    /// `NotFound` if there is no such file, `ConnectionRefused` if no
    /// socket is bound to it, `InvalidInput` for a path with a NUL byte
    /// inside.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-dconn-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     let server = gust_net::UnixDatagram::bind(&path)?;
    ///     let client = gust_net::UnixDatagram::unbound()?;
    ///     client.connect(&path)?;
    ///     assert_eq!(client.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     client.send(b"hello").await?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = server.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"hello");
    ///     assert!(from.is_unnamed()); // the client is bound to nothing
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let addr = sock_addr(path.as_ref())?;
        SockRef::from(self.io.get()).connect(&addr)
    }

    /// Sends one datagram to `path` (a file, or `"\0name"`); returns the
    /// bytes sent. It waits while the receiver's queue is full.
    /// Cancel-safe: a dropped `send_to` sent nothing.
    ///
    /// # Errors
    ///
    /// `NotFound` if there is no such file, `ConnectionRefused` if no
    /// socket is bound to it any more, `InvalidInput` for a path with a
    /// NUL byte inside; what `sendto(2)` says otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let dir = std::env::temp_dir().join(format!("gust-doc-dsend-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// gust_executor::block_on(async {
    ///     let s = gust_net::UnixDatagram::unbound()?;
    ///     let e = s.send_to(b"x", dir.join("nobody.sock")).await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let addr = sock_addr(path.as_ref())?;
        self.io
            .io(Direction::Write, |s| SockRef::from(s).send_to(buf, &addr))
            .await
    }

    /// Receives one datagram: its length (the part that fit in `buf`; the
    /// rest is dropped, as in Go) and its sender's address (unnamed for an
    /// unbound sender). Cancel-safe: a dropped `recv_from` took no
    /// datagram.
    ///
    /// # Errors
    ///
    /// What `recvfrom(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let (a, b) = gust_net::UnixDatagram::pair()?;
    ///     a.send(b"0123456789").await?;
    ///     let mut buf = [0u8; 4];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(&buf[..n], b"0123"); // cut to fit
    ///     assert!(from.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.io(Direction::Read, |s| s.recv_from(buf)).await
    }

    /// Sends one datagram to the peer set by [`connect`](Self::connect)
    /// (or of [`pair`](Self::pair)). Cancel-safe.
    ///
    /// # Errors
    ///
    /// `NotConnected` without a peer, `ConnectionRefused` once the peer is
    /// gone; what `send(2)` says otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let (a, b) = gust_net::UnixDatagram::pair()?;
    ///     drop(b);
    ///     assert!(a.send(b"anyone?").await.is_err()); // the peer is gone
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the peer set by
    /// [`connect`](Self::connect) (or of [`pair`](Self::pair)), or from
    /// anyone on a socket with no peer. Cancel-safe: a dropped `recv` took
    /// no datagram.
    ///
    /// # Errors
    ///
    /// What `recv(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let (a, b) = gust_net::UnixDatagram::pair()?;
    ///     a.send(b"").await?; // an empty datagram is a datagram
    ///     a.send(b"x").await?;
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(b.recv(&mut buf).await?, 0);
    ///     assert_eq!(b.recv(&mut buf).await?, 1);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.io(Direction::Read, |s| s.recv(buf)).await
    }

    /// The local address (unnamed for an unbound socket or one of a pair).
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use std::os::linux::net::SocketAddrExt;
    /// let name = format!("\0gust-doc-dlocal-{}", std::process::id());
    /// let s = gust_net::UnixDatagram::bind(&name).unwrap();
    /// assert_eq!(s.local_addr().unwrap().as_abstract_name(), Some(&name.as_bytes()[1..]));
    /// # }
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer set by [`connect`](Self::connect) (or of [`pair`](Self::pair)).
    ///
    /// # Errors
    ///
    /// `NotConnected` without one.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = gust_net::UnixDatagram::unbound().unwrap();
    /// assert_eq!(s.peer_addr().unwrap_err().kind(), std::io::ErrorKind::NotConnected);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Shuts down reading, writing or both. A send after writing is shut
    /// down fails with `BrokenPipe`. Shutting reading down does not end
    /// receives: Linux answers a non-blocking receive on it with "would
    /// block", not end of file, so a receive waits on (as Go's and
    /// tokio's do); drop the socket, or stop the receiving task, instead.
    ///
    /// # Errors
    ///
    /// What `shutdown(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Shutdown;
    /// gust_executor::block_on(async {
    ///     let (a, b) = gust_net::UnixDatagram::pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     assert_eq!(a.send(b"x").await.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    ///     b.send(b"still").await?; // `a` still receives
    ///     assert_eq!(a.recv(&mut [0u8; 8]).await?, 5);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Takes the socket's pending error (`SO_ERROR`), if any.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = gust_net::UnixDatagram::pair().unwrap();
    /// assert!(a.take_error().unwrap().is_none());
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }
}

impl_fd!(UnixDatagram);

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

#[allow(dead_code)]
fn assert_send_sync(s: &UnixDatagram) {
    fn check<T: Send + Sync>() {}
    check::<UnixDatagram>();
    fn fut<F: std::future::Future + Send>(_: F) {}
    fut(s.recv(&mut []));
    fut(s.recv_from(&mut []));
    fut(s.send(&[]));
    fut(s.send_to(&[], "x"));
}

crate::deadline::setters!(
    UnixDatagram,
    "    let (s, _peer) = gust_net::UnixDatagram::pair()?;",
    "s.recv(&mut [0u8; 8])",
    "s.send(b\"x\")"
);
