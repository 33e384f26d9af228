//! [`UnixListener`] and [`UnixStream`]: Go's `net.Listen("unix", ..)` and
//! `net.Dial("unix", ..)`.

use crate::listener::Listening;
use crate::read_ahead::{ReadAhead, async_buf_read};
use crate::registered::Registered;
use crate::split::{self, async_rw, async_write, halves};
use futures_core::Stream;
use gust_executor::io::WaitKey;
use gust_executor::io::mio::net as mnet;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

/// A Unix-domain socket listening for connections.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use gust_net::{UnixListener, UnixStream};
/// let dir = std::env::temp_dir().join(format!("gust-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("a.sock");
/// let _ = std::fs::remove_file(&path);
/// gust_executor::block_on(async {
///     let ln = UnixListener::bind(&path)?;
///     let mut c = UnixStream::connect(&path).await?;
///     let (mut s, _) = ln.accept().await?;
///     c.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     s.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct UnixListener {
    io: Listening<mnet::UnixListener>,
    /// The socket file it listens on (`None`: an abstract name, or none).
    path: Option<PathBuf>,
    /// Remove `path` when closed or dropped (Go's `unlink`): set by
    /// [`bind`](UnixListener::bind), cleared once it is done.
    unlink: AtomicBool,
}

impl UnixListener {
    /// Listens on the socket file `path`, which must not exist, with the
    /// system's largest accept queue (`somaxconn`, as Go's). The file is
    /// removed when the listener is [closed](Self::close) or dropped, as
    /// Go's `Close` removes it, so the path binds again (std's and tokio's
    /// listeners leave it; [`set_unlink_on_close`](Self::set_unlink_on_close)
    /// keeps it). On Linux, a path that starts with a NUL byte names an
    /// abstract socket instead (no file; Go writes it `@name`): `"\0name"`.
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
    /// let path = std::env::temp_dir().join(format!("gust-doc-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let ln = gust_net::UnixListener::bind(&path).unwrap();
    /// // The file exists now: a second bind is `AddrInUse`.
    /// let e = gust_net::UnixListener::bind(&path).map(drop).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    /// drop(ln); // removes the file, as Go's `Close`
    /// assert!(!path.exists());
    /// ```
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let ln = Self::from_std(crate::backlog::unix(path.as_ref())?)?;
        ln.unlink.store(ln.path.is_some(), Ordering::Relaxed);
        Ok(ln)
    }

    /// Wraps a std listener. It is made non-blocking here. Its socket file
    /// stays when it is closed (Go's `FileListener`), unless
    /// [`set_unlink_on_close`](Self::set_unlink_on_close) says otherwise.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the runtime's driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-from-std-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let std_ln = std::os::unix::net::UnixListener::bind(&path).unwrap();
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::UnixListener::from_std(std_ln)?;
    ///     let _c = gust_net::UnixStream::connect(&path).await?;
    ///     ln.accept().await?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn from_std(ln: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        ln.set_nonblocking(true)?;
        Self::from_mio(mnet::UnixListener::from_std(ln))
    }

    fn from_mio(ln: mnet::UnixListener) -> io::Result<UnixListener> {
        let path = ln
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(Path::to_path_buf));
        Ok(UnixListener {
            io: Listening::new(ln)?,
            path,
            unlink: AtomicBool::new(false),
        })
    }

    /// Whether closing or dropping the listener removes its socket file
    /// (Go's `SetUnlinkOnClose`): on for a listener made by
    /// [`bind`](Self::bind), off for one from [`from_std`](Self::from_std).
    /// An abstract name has no file.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-unlink-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let ln = gust_net::UnixListener::bind(&path).unwrap();
    /// ln.set_unlink_on_close(false);
    /// drop(ln);
    /// assert!(path.exists()); // kept
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn set_unlink_on_close(&self, unlink: bool) {
        self.unlink.store(unlink, Ordering::Relaxed);
    }

    /// Removes the socket file, once, if asked to.
    fn unlink(&self) {
        // Relaxed: whoever closes or drops sees its own setting; two
        // closers race for the swap, and one removes the file.
        if self.unlink.swap(false, Ordering::Relaxed) {
            if let Some(path) = &self.path {
                let _ = std::fs::remove_file(path);
            }
        }
    }

    /// Waits for a connection. Cancel-safe; errors as
    /// [`TcpListener::accept`](crate::TcpListener::accept).
    ///
    /// # Errors
    ///
    /// What `accept(2)` says (`EMFILE`: the listener goes on).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-accept-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::UnixListener::bind(&path)?;
    ///     let c = gust_net::UnixStream::connect(&path).await?;
    ///     let (s, from) = ln.accept().await?;
    ///     assert!(from.is_unnamed()); // the client did not bind a path
    ///     assert_eq!(s.peer_addr()?.is_unnamed(), c.local_addr()?.is_unnamed());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, peer) = self.io.accept(|ln| ln.accept()).await?;
        Ok((UnixStream::from_mio(s)?, peer))
    }

    /// `accept` as a poll function.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-poll-accept-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::UnixListener::bind(&path)?;
    ///     let _c = gust_net::UnixStream::connect(&path).await?;
    ///     let (_s, _) = std::future::poll_fn(|cx| ln.poll_accept(cx)).await?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        match self.io.poll_accept(cx, |ln| ln.accept()) {
            Poll::Ready(Ok((s, peer))) => Poll::Ready(UnixStream::from_mio(s).map(|s| (s, peer))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The connections as a `Stream` of `io::Result<UnixStream>`: it ends
    /// once the listener is [closed](Self::close), never before.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// let path = std::env::temp_dir().join(format!("gust-doc-incoming-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::UnixListener::bind(&path)?;
    ///     let clients = gust_executor::spawn({
    ///         let path = path.clone();
    ///         async move {
    ///             for _ in 0..3 {
    ///                 drop(gust_net::UnixStream::connect(&path).await?);
    ///             }
    ///             std::io::Result::Ok(())
    ///         }
    ///     });
    ///     let conns: Vec<_> = ln.incoming().take(3).collect().await;
    ///     assert!(conns.iter().all(|c| c.is_ok()));
    ///     clients.await.unwrap()
    /// })
    /// .unwrap();
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { ln: self }
    }

    /// The address it listens on.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-laddr-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let ln = gust_net::UnixListener::bind(&path).unwrap();
    /// assert_eq!(ln.local_addr().unwrap().as_pathname(), Some(path.as_path()));
    /// drop(ln);
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Go's `SetDeadline` on a listener: once `at` has passed, accepts
    /// (waiting ones included) fail with `TimedOut` ("i/o timeout")
    /// until the deadline is moved or cleared (`None`); connections that
    /// arrive meanwhile wait in the queue. `at` is on the clock of
    /// [`gust::time::now`](gust_executor::time::now).
    ///
    /// # Errors
    ///
    /// Once the listener is closed (`NotConnected`, Go's `net.ErrClosed`),
    /// or if its runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let path = std::env::temp_dir().join(format!("gust-doc-accept-deadline-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::UnixListener::bind(&path)?;
    ///     ln.set_deadline(Some(gust_executor::time::now() + Duration::from_millis(5)))?;
    ///     let e = ln.accept().await.map(drop).unwrap_err(); // nobody connects
    ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_deadline(&self, at: Option<Instant>) -> io::Result<()> {
        self.io.set_deadline(at)
    }

    /// Stops listening, from any task, as
    /// [`TcpListener::close`](crate::TcpListener::close) does, and removes
    /// the socket file [`bind`](Self::bind) made, as Go's `Close`.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the listener was closed already.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-close-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let ln = gust_net::UnixListener::bind(&path).unwrap();
    /// ln.close().unwrap();
    /// let e = gust_executor::block_on(ln.accept()).map(drop).unwrap_err();
    /// assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
    /// assert!(!path.exists()); // removed
    /// ```
    pub fn close(&self) -> io::Result<()> {
        self.io.close()?;
        self.unlink();
        Ok(())
    }
}

impl Drop for UnixListener {
    fn drop(&mut self) {
        self.unlink();
    }
}

impl_fd!(UnixListener, UnixStream);

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// The stream of [`UnixListener::incoming`].
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// let dir = std::env::temp_dir().join(format!("gust-doc-inc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("i.sock");
/// let _ = std::fs::remove_file(&path);
/// gust_executor::block_on(async {
///     let ln = gust_net::UnixListener::bind(&path)?;
///     let mut incoming: gust_net::UnixIncoming<'_> = ln.incoming();
///     let c = gust_net::UnixStream::connect(&path).await?;
///     let s = incoming.next().await.expect("never ends")?;
///     assert_eq!(s.local_addr()?.as_pathname(), Some(path.as_path()));
///     c.shutdown(std::net::Shutdown::Both)?;
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    ln: &'a UnixListener,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ln.io.is_closed() {
            return Poll::Ready(None); // closed: the stream ends
        }
        self.ln.poll_accept(cx).map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A Unix-domain stream connection: `AsyncRead`, `AsyncWrite` and
/// `AsyncBufRead`; `&UnixStream` is `AsyncRead`/`AsyncWrite` and reads the
/// socket past what `fill_buf` has read ahead (as
/// [`TcpStream`](crate::TcpStream)).
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// gust_executor::block_on(async {
///     let (mut a, mut b) = gust_net::UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct UnixStream {
    io: split::Shared<mnet::UnixStream>,
    /// Bytes `fill_buf` read and nobody consumed yet, and the place in
    /// the read wait list (`read_ahead.rs`).
    ahead: ReadAhead,
    /// The place in the write wait list (`Registration::poll_ready_keyed`).
    write_key: WaitKey,
}

impl UnixStream {
    /// Connects to the socket file `path`, or, on Linux, to the abstract
    /// socket named by what follows a leading NUL byte (`"\0name"`, as
    /// [`UnixListener::bind`] takes it).
    ///
    /// # Errors
    ///
    /// `NotFound` if there is no such file, `ConnectionRefused` if nothing
    /// listens on it, `InvalidInput` for a path with a NUL byte inside.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-connect-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     // Nothing there yet: an error, not a panic.
    ///     let e = gust_net::UnixStream::connect(&path).await.map(drop).unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    ///     let ln = gust_net::UnixListener::bind(&path)?;
    ///     let _c = gust_net::UnixStream::connect(&path).await?;
    ///     let (_s, _) = ln.accept().await?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let s = UnixStream::from_mio(connect_to(path.as_ref())?)?;
        split::connected(&s.io).await?;
        Ok(s)
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
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// gust_executor::block_on(async {
    ///     let (mut a, mut b) = gust_net::UnixStream::pair()?;
    ///     a.write_all(b"hi").await?;
    ///     let mut buf = [0u8; 2];
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mnet::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// Wraps a connected std stream. It is made non-blocking here.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the runtime's driver.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// gust_executor::block_on(async {
    ///     let mut a = gust_net::UnixStream::from_std(a)?;
    ///     let mut b = gust_net::UnixStream::from_std(b)?;
    ///     a.write_all(b"hi").await?;
    ///     let mut buf = [0u8; 2];
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hi");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        Self::from_mio(mnet::UnixStream::from_std(s))
    }

    fn from_mio(s: mnet::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Arc::new(Registered::new(s)?),
            ahead: ReadAhead::default(),
            write_key: WaitKey::default(),
        })
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let (a, _b) = gust_net::UnixStream::pair()?;
    ///     assert!(a.local_addr()?.is_unnamed()); // a pair has no file
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// What `getpeername(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("gust-doc-peer-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::UnixListener::bind(&path)?;
    ///     let c = gust_net::UnixStream::connect(&path).await?;
    ///     assert_eq!(c.peer_addr()?.as_pathname(), Some(path.as_path()));
    ///     drop(ln);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// `NotConnected` if the connection is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// use std::net::Shutdown;
    /// gust_executor::block_on(async {
    ///     let (a, mut b) = gust_net::UnixStream::pair()?;
    ///     a.shutdown(Shutdown::Write)?;
    ///     let mut rest = Vec::new();
    ///     b.read_to_end(&mut rest).await?; // end of stream: `a` writes no more
    ///     assert!(rest.is_empty());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Splits it into owned halves usable from two tasks (see
    /// [`TcpStream::into_split`](crate::TcpStream::into_split)).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// gust_executor::block_on(async {
    ///     let (a, b) = gust_net::UnixStream::pair()?;
    ///     let (mut r, mut w) = a.into_split();
    ///     let echo = gust_executor::spawn(async move {
    ///         let mut b = b;
    ///         let mut buf = [0u8; 4];
    ///         b.read_exact(&mut buf).await?;
    ///         b.write_all(&buf).await?;
    ///         std::io::Result::Ok(())
    ///     });
    ///     w.write_all(b"ping").await?;
    ///     let mut buf = [0u8; 4];
    ///     r.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"ping");
    ///     echo.await.unwrap()
    /// })
    /// .unwrap();
    /// ```
    pub fn into_split(self) -> (UnixOwnedReadHalf, UnixOwnedWriteHalf) {
        (
            UnixOwnedReadHalf {
                io: self.io.clone(),
                ahead: self.ahead,
            },
            UnixOwnedWriteHalf {
                io: self.io,
                key: self.write_key,
                shutdown_on_drop: true,
            },
        )
    }

    /// The inverse of [`into_split`](Self::into_split), for `reunite`.
    pub(crate) fn from_parts(
        io: split::Shared<mnet::UnixStream>,
        ahead: ReadAhead,
        write_key: WaitKey,
    ) -> UnixStream {
        UnixStream {
            io,
            ahead,
            write_key,
        }
    }
}

async_buf_read!(UnixStream);
async_write!(UnixStream, write_key);
async_rw!(&UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

halves!(
    UnixOwnedReadHalf,
    UnixOwnedWriteHalf,
    UnixReuniteError,
    gust_executor::io::mio::net::UnixStream,
    crate::UnixStream,
    "UnixStream",
    "    let (a, _peer) = gust_net::UnixStream::pair()?;"
);

/// Starts a connection to `path`: a socket file, or, where the path starts
/// with a NUL byte, the abstract name after it (Linux; what
/// [`UnixListener::bind`] binds such a path to).
fn connect_to(path: &Path) -> io::Result<mnet::UnixStream> {
    use std::os::unix::ffi::OsStrExt;
    match path.as_os_str().as_bytes() {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        [0, name @ ..] => {
            use std::os::linux::net::SocketAddrExt;
            mnet::UnixStream::connect_addr(&SocketAddr::from_abstract_name(name)?)
        }
        _ => mnet::UnixStream::connect(path),
    }
}

/// The address of `path`, as [`UnixListener::bind`] takes it: a socket
/// file, or, where the path starts with a NUL byte, the abstract name after
/// it (Linux), whose bytes may be anything. Any other path with a NUL in
/// it is refused, as std refuses it (the kernel would use the part before
/// the NUL).
pub(crate) fn sock_addr(path: &Path) -> io::Result<socket2::SockAddr> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    if bytes.first() != Some(&0) && bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "paths must not contain interior null bytes",
        ));
    }
    socket2::SockAddr::unix(path)
}

crate::deadline::setters!(
    UnixStream,
    "    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let (s, _peer) = gust_net::UnixStream::pair()?;",
    "(&s).read(&mut [0u8; 8])",
    "(&s).write(b\"x\")"
);
