//! [`TcpListener`] and [`TcpStream`]: Go's `net.Listen("tcp", ..)` and
//! `net.Dial("tcp", ..)`.

use crate::listener::Listening;
use crate::read_ahead::{ReadAhead, async_buf_read};
use crate::registered::Registered;
use crate::resolve::{ToSocketAddrs, each, resolve};
use crate::split::{self, OwnedReadHalf, OwnedWriteHalf, async_rw, async_write};
use futures_core::Stream;
use gust_executor::io::mio::net as mnet;
use gust_executor::io::{Direction, WaitKey};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Go's keep-alive idle time and probe interval (`net.Dialer.KeepAlive`'s
/// default), what [`TcpStream::set_keepalive`] takes zero for.
const GO_KEEPALIVE: Duration = Duration::from_secs(15);

/// A TCP socket listening for connections (Go's `net.Listener`).
///
/// # Examples
///
/// ```
/// use gust_net::{TcpListener, TcpStream};
/// gust_executor::block_on(async {
///     let ln = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = ln.local_addr()?;
///     let c = TcpStream::connect(addr).await?;
///     let (s, peer) = ln.accept().await?;
///     assert_eq!(peer, c.local_addr()?);
///     assert_eq!(s.peer_addr()?, c.local_addr()?);
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpListener {
    io: Listening<mnet::TcpListener>,
}

impl TcpListener {
    /// Listens on `addr` (`"127.0.0.1:8080"`, `"[::]:0"`, a `SocketAddr`,
    /// `("localhost", 80)`...); port 0 picks a free port. With several
    /// addresses, the first that binds wins. `SO_REUSEADDR` is set, as Go
    /// and tokio do, and the accept queue is the system's largest
    /// (`somaxconn`, as Go's; std's and mio's 128 reset connections of a
    /// burst that the server had not accepted yet).
    ///
    /// # Errors
    ///
    /// `AddrInUse` for a taken port, `AddrNotAvailable` for an address not
    /// on this host, `PermissionDenied` for a privileged port, a lookup
    /// error for an unknown host.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let a = gust_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let taken = a.local_addr().unwrap();
    ///     let err = gust_net::TcpListener::bind(taken).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    /// });
    /// ```
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        let addrs = resolve(&addr).await?;
        each(addrs, |a| async move {
            TcpListener::from_std(crate::backlog::tcp(a)?)
        })
        .await
    }

    /// Wraps a listener made with std (or socket2), for options this type
    /// does not offer. It is made non-blocking here.
    ///
    /// # Errors
    ///
    /// If it cannot be registered with the runtime's driver.
    ///
    /// # Examples
    ///
    /// ```
    /// let std_ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::from_std(std_ln).unwrap();
    ///     assert!(ln.local_addr().unwrap().port() > 0);
    /// });
    /// ```
    pub fn from_std(ln: std::net::TcpListener) -> io::Result<TcpListener> {
        ln.set_nonblocking(true)?;
        Self::from_mio(mnet::TcpListener::from_std(ln))
    }

    fn from_mio(ln: mnet::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Listening::new(ln)?,
        })
    }

    /// Waits for a connection: the stream and the peer's address (Go's
    /// `Accept`). Several tasks may accept on one listener (through an
    /// `Arc` or `&`); each connection goes to one of them.
    ///
    /// Cancel-safe: a dropped `accept` took no connection.
    ///
    /// # Errors
    ///
    /// What `accept(2)` says, for example `EMFILE` when the process is out of
    /// file descriptors: the listener is still good, and the pending
    /// connection waits in the backlog; try again after a pause. Once the
    /// listener is [closed](Self::close), `NotConnected` ("use of closed
    /// network connection").
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = ln.local_addr()?;
    ///     let client = gust_executor::spawn(async move { gust_net::TcpStream::connect(addr).await });
    ///     let (_stream, peer) = ln.accept().await?;
    ///     assert_eq!(peer, client.await.unwrap()?.local_addr()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, peer) = self.io.accept(|ln| ln.accept()).await?;
        Ok((TcpStream::from_mio(s)?, peer))
    }

    /// `accept` as a poll function (for `Stream` and hand-written futures).
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept).
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let _c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (s, _) = std::future::poll_fn(|cx| ln.poll_accept(cx)).await?;
    ///     assert!(s.peer_addr().is_ok());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        match self.io.poll_accept(cx, |ln| ln.accept()) {
            Poll::Ready(Ok((s, peer))) => Poll::Ready(TcpStream::from_mio(s).map(|s| (s, peer))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The connections as a `Stream` of `io::Result<TcpStream>`: it ends
    /// once the listener is [closed](Self::close), and not before (an
    /// error item, such as `EMFILE`, does not end it).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let _c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let mut incoming = ln.incoming();
    ///     let s = incoming.next().await.unwrap()?;
    ///     assert!(s.peer_addr().is_ok());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { ln: self }
    }

    /// The address it listens on (with the port picked for port 0).
    ///
    /// # Errors
    ///
    /// What `getsockname(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert_ne!(ln.local_addr().unwrap().port(), 0);
    /// });
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Sets the IP time-to-live of accepted connections' packets.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     ln.set_ttl(42).unwrap();
    ///     assert_eq!(ln.ttl().unwrap(), 42);
    /// });
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// The IP time-to-live; see [`set_ttl`](Self::set_ttl).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     assert!(ln.ttl()? > 0); // the system's default, 64 on Linux
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
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
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     ln.set_deadline(Some(gust_executor::time::now() + Duration::from_millis(5)))?;
    ///     let e = ln.accept().await.map(drop).unwrap_err(); // nobody connects
    ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    ///     ln.set_deadline(None)?;
    ///     let _c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     ln.accept().await?;
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_deadline(&self, at: Option<Instant>) -> io::Result<()> {
        self.io.set_deadline(at)
    }

    /// Stops listening, as Go's `ln.Close()`, from any task: every
    /// `accept` waiting now, and every later one, fails with
    /// `NotConnected` ("use of closed network connection"), and
    /// [`incoming`](Self::incoming) ends; connections not yet accepted are
    /// reset and new ones refused. The descriptor, and with it the port,
    /// is released when the listener is dropped (an accept may be inside
    /// its system call on another thread).
    ///
    /// # Errors
    ///
    /// `NotConnected` if the listener was closed already (Go's second
    /// `Close` fails too).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// gust_executor::block_on(async {
    ///     let ln = Arc::new(gust_net::TcpListener::bind("127.0.0.1:0").await?);
    ///     let server = {
    ///         let ln = ln.clone();
    ///         gust_executor::spawn(async move {
    ///             // Go's accept loop: it ends when another task closes the listener.
    ///             while let Ok((_conn, _peer)) = ln.accept().await {}
    ///         })
    ///     };
    ///     ln.close()?;
    ///     server.await.unwrap();
    ///     assert!(ln.close().is_err());
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn close(&self) -> io::Result<()> {
        self.io.close()
    }
}

impl_fd!(TcpListener, TcpStream);

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .finish()
    }
}

/// The stream of [`TcpListener::incoming`].
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// gust_executor::block_on(async {
///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
///     let addr = ln.local_addr()?;
///     let mut incoming: gust_net::Incoming<'_> = ln.incoming();
///     let _c = gust_net::TcpStream::connect(addr).await?;
///     let s = incoming.next().await.expect("never ends")?;
///     assert_eq!(s.local_addr()?, addr);
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    ln: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ln.io.is_closed() {
            return Poll::Ready(None); // closed: the stream ends
        }
        self.ln.poll_accept(cx).map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A TCP connection (Go's `net.TCPConn`): futures-io `AsyncRead`,
/// `AsyncWrite` and `AsyncBufRead`. Dropping it closes the connection.
///
/// `&TcpStream` is `AsyncRead` and `AsyncWrite` too (tasks may share one
/// stream); it reads the socket itself, past any bytes that `fill_buf` on
/// the stream has read ahead and not yet handed out, which only the stream
/// (or its reading half) returns, in order: read through one or the other
/// (`peek` and `readable` see the bytes read ahead).
///
/// `fill_buf` and the plain reads are cancel-safe. futures'
/// `read_line` is not: dropped halfway (a `select!` case, a `timeout`),
/// it drops the part of the line it had taken. Where a line read may be
/// cancelled, `read_until(b'\n', &mut buf)` into a `Vec` that outlives it
/// keeps every byte.
///
/// # Examples
///
/// ```
/// use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
/// gust_executor::block_on(async {
///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
///     let mut c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
///     let (mut s, _) = ln.accept().await?;
///     c.write_all(b"HELO gust\nrest").await?;
///     // A line, as Go's bufio.Reader.ReadString('\n') reads one...
///     let mut line = String::new();
///     s.read_line(&mut line).await?;
///     assert_eq!(line, "HELO gust\n");
///     // ...and plain reads go on after it.
///     let mut rest = [0u8; 4];
///     s.read_exact(&mut rest).await?;
///     assert_eq!(&rest, b"rest");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
///
/// ```
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// gust_executor::block_on(async {
///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
///     let mut c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
///     let (mut s, _) = ln.accept().await?;
///     c.write_all(b"hi").await?;
///     c.close().await?; // shut down writing: the server reads EOF after "hi"
///     let mut got = String::new();
///     s.read_to_string(&mut got).await?;
///     assert_eq!(got, "hi");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct TcpStream {
    io: split::Shared<mnet::TcpStream>,
    /// Bytes `fill_buf` read and nobody consumed yet, and the place in
    /// the read wait list (`read_ahead.rs`).
    ahead: ReadAhead,
    /// The place in the write wait list (`Registration::poll_ready_keyed`).
    write_key: WaitKey,
}

impl TcpStream {
    /// Connects to `addr` (Go's `net.Dial("tcp", addr)`); with several
    /// addresses, tries each in turn and returns the first connection.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when nothing listens there, a lookup error for an
    /// unknown host, what `connect(2)` says otherwise (the last address's
    /// error when all fail).
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     // A port nobody listens on: bind one, note it, close it.
    ///     let addr = gust_net::TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    ///     let err = gust_net::TcpStream::connect(addr).await.unwrap_err();
    ///     assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let addrs = resolve(&addr).await?;
        each(addrs, connect_one).await
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
    /// let ln = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let std_stream = std::net::TcpStream::connect(ln.local_addr().unwrap()).unwrap();
    /// gust_executor::block_on(async {
    ///     let s = gust_net::TcpStream::from_std(std_stream).unwrap();
    ///     assert_eq!(s.peer_addr().unwrap(), ln.local_addr().unwrap());
    /// });
    /// ```
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        Self::from_mio(mnet::TcpStream::from_std(s))
    }

    fn from_mio(s: mnet::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Arc::new(Registered::new(s)?),
            ahead: ReadAhead::default(),
            write_key: WaitKey::default(),
        })
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (conn, from) = ln.accept().await?;
    ///     assert_eq!(s.peer_addr()?, ln.local_addr()?);
    ///     assert_eq!(conn.peer_addr()?, from);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
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
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (_conn, from) = ln.accept().await?;
    ///     assert_eq!(s.local_addr()?, from);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Sets `TCP_NODELAY` (Go sets it by default; so does this crate not:
    /// call it for request/response protocols).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     s.set_nodelay(true)?;
    ///     assert!(s.nodelay()?);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     assert!(!s.nodelay()?); // off until set, unlike Go
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     s.set_ttl(9)?;
    ///     assert_eq!(s.ttl()?, 9);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     s.set_ttl(9)?;
    ///     assert_eq!(s.ttl()?, 9);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
    }

    /// Sets `SO_LINGER` (Go's `SetLinger`): `None`, the default, lets the
    /// kernel send what is left in the background after the stream is
    /// dropped; `Some(Duration::ZERO)` discards it and resets the
    /// connection at once; a longer time makes the close wait up to that
    /// long for the data to go. That wait happens inside the drop, on the
    /// thread that drops the stream (a runtime worker, in a task): prefer
    /// `None` or zero.
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     assert_eq!(s.linger()?, None);
    ///     s.set_linger(Some(Duration::ZERO))?; // drop = reset, not FIN
    ///     assert_eq!(s.linger()?, Some(Duration::ZERO));
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get()).set_linger(linger)
    }

    /// `SO_LINGER`; see [`set_linger`](Self::set_linger).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     s.set_linger(Some(Duration::from_secs(1)))?;
    ///     assert_eq!(s.linger()?, Some(Duration::from_secs(1)));
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        socket2::SockRef::from(self.io.get()).linger()
    }

    /// TCP keep-alive, Go's `SetKeepAlive` and `SetKeepAlivePeriod`:
    /// `Some(period)` turns it on, probing a connection idle for `period`
    /// every `period` (rounded up to whole seconds, as Go does; zero means
    /// Go's default, 15 s) until the system's probe count (9 on Linux)
    /// goes unanswered, after which reads and writes fail; `None` turns it
    /// off. Off until set, as std's and tokio's streams (Go turns it on at
    /// 15 s for every connection it dials or accepts).
    ///
    /// # Errors
    ///
    /// What `setsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     s.set_keepalive(Some(Duration::from_secs(30)))?;
    ///     assert_eq!(s.keepalive()?, Some(Duration::from_secs(30)));
    ///     s.set_keepalive(None)?;
    ///     assert_eq!(s.keepalive()?, None);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn set_keepalive(&self, period: Option<Duration>) -> io::Result<()> {
        let sock = socket2::SockRef::from(self.io.get());
        let Some(period) = period else {
            return sock.set_keepalive(false);
        };
        let period = match period {
            Duration::ZERO => GO_KEEPALIVE,
            // Whole seconds, rounded up: the options count in seconds.
            d => Duration::from_secs(d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))),
        };
        let params = socket2::TcpKeepalive::new().with_time(period);
        #[cfg(any(
            target_os = "android",
            target_os = "dragonfly",
            target_os = "freebsd",
            target_os = "fuchsia",
            target_os = "illumos",
            target_os = "ios",
            target_os = "linux",
            target_os = "macos",
            target_os = "netbsd",
            target_os = "windows",
        ))]
        let params = params.with_interval(period);
        sock.set_tcp_keepalive(&params)
    }

    /// The keep-alive idle time if keep-alive is on (`SO_KEEPALIVE`,
    /// `TCP_KEEPIDLE`); see [`set_keepalive`](Self::set_keepalive).
    ///
    /// # Errors
    ///
    /// What `getsockopt(2)` says.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     assert_eq!(s.keepalive()?, None); // off until set
    ///     s.set_keepalive(Some(Duration::ZERO))?; // Go's default
    ///     assert_eq!(s.keepalive()?, Some(Duration::from_secs(15)));
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn keepalive(&self) -> io::Result<Option<Duration>> {
        let sock = socket2::SockRef::from(self.io.get());
        if !sock.keepalive()? {
            return Ok(None);
        }
        #[cfg(not(any(windows, target_os = "haiku", target_os = "openbsd")))]
        return sock.tcp_keepalive_time().map(Some);
        #[cfg(any(windows, target_os = "haiku", target_os = "openbsd"))]
        return Ok(Some(GO_KEEPALIVE));
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
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     assert!(s.take_error()?.is_none()); // a healthy connection
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }

    /// Shuts down reading, writing or both (Go's `CloseRead`/`CloseWrite`).
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
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (mut s, _) = ln.accept().await?;
    ///     c.shutdown(Shutdown::Write)?;
    ///     let mut buf = [0u8; 1];
    ///     assert_eq!(s.read(&mut buf).await?, 0); // EOF
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Receives bytes without taking them: the next read of the stream
    /// returns them. Bytes that `fill_buf` has read ahead come first (only
    /// those, when there are any), then the socket's. An empty `buf` gets
    /// `Ok(0)` at once, as an empty read does.
    ///
    /// # Errors
    ///
    /// As a read.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (mut s, _) = ln.accept().await?;
    ///     c.write_all(b"GET\nbody").await?;
    ///     let mut line = String::new();
    ///     s.read_line(&mut line).await?; // may read "body" ahead too
    ///     let mut head = [0u8; 4];
    ///     let n = s.peek(&mut head).await?;
    ///     assert_eq!(&head[..n], &b"body"[..n]);
    ///     let mut body = [0u8; 4];
    ///     s.read_exact(&mut body).await?;
    ///     assert_eq!(&body, b"body");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.ahead.pending().is_empty() {
            return Ok(self.ahead.copy_to(buf));
        }
        self.io.io(Direction::Read, |s| s.peek(buf)).await
    }

    /// Waits until the stream is readable (a read may still find nothing):
    /// at once while `fill_buf` has read bytes ahead that are not consumed.
    ///
    /// # Errors
    ///
    /// If the runtime the stream belongs to has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::AsyncWriteExt;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut client = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (conn, _) = ln.accept().await?;
    ///     client.write_all(b"hi").await?;
    ///     conn.readable().await?;
    ///     let mut buf = [0u8; 8];
    ///     // Readiness can be spurious: a reader loops on `WouldBlock`.
    ///     let n = loop {
    ///         match conn.try_read(&mut buf) {
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => conn.readable().await?,
    ///             r => break r?,
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"hi");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn readable(&self) -> io::Result<()> {
        if !self.ahead.pending().is_empty() {
            return Ok(());
        }
        self.io.ready(Direction::Read).await
    }

    /// Waits until the stream is writable.
    ///
    /// # Errors
    ///
    /// If the runtime the stream belongs to has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     s.writable().await?;
    ///     let n = loop {
    ///         match s.try_write(b"hello") {
    ///             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => s.writable().await?,
    ///             r => break r?,
    ///         }
    ///     };
    ///     assert_eq!(n, 5);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn writable(&self) -> io::Result<()> {
        self.io.ready(Direction::Write).await
    }

    /// Reads what the socket holds now, without waiting (tokio's
    /// `try_read`): the bytes read (`Ok(0)`: end of stream, or an empty
    /// `buf`), or `WouldBlock` when nothing is there. Pair it with
    /// [`readable`](Self::readable): a `WouldBlock` makes the driver forget
    /// that the stream was readable, so `readable` then waits for new
    /// bytes instead of returning at once.
    ///
    /// It reads the socket as reads through `&TcpStream` do, past bytes
    /// that `fill_buf` on the stream has read ahead (they stay for the
    /// stream's own reads, and `readable` returns at once while there are
    /// any): do not mix the two.
    ///
    /// # Errors
    ///
    /// `WouldBlock` as above; what `read(2)` says (`ConnectionReset`...);
    /// an error if the runtime the stream belongs to has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncWriteExt;
    /// use std::io::ErrorKind;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let mut c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (s, _) = ln.accept().await?;
    ///     let mut buf = [0u8; 16];
    ///     assert_eq!(s.try_read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     c.write_all(b"hello").await?;
    ///     let n = loop {
    ///         s.readable().await?;
    ///         match s.try_read(&mut buf) {
    ///             Ok(n) => break n,
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     };
    ///     assert_eq!(&buf[..n], b"hello");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        split::try_read(&self.io, buf)
    }

    /// Writes what fits in the socket's send buffer now, without waiting
    /// (tokio's `try_write`): the bytes written (`Ok(0)` for an empty
    /// `buf`), or `WouldBlock` when the buffer is full, after which
    /// [`writable`](Self::writable) waits for room.
    ///
    /// # Errors
    ///
    /// `WouldBlock` as above; what `write(2)` says (`BrokenPipe`,
    /// `ConnectionReset`...); an error if the runtime the stream belongs
    /// to has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::AsyncReadExt;
    /// use std::io::ErrorKind;
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (mut s, _) = ln.accept().await?;
    ///     let mut rest: &[u8] = b"hello";
    ///     while !rest.is_empty() {
    ///         c.writable().await?;
    ///         match c.try_write(rest) {
    ///             Ok(n) => rest = &rest[n..],
    ///             Err(e) if e.kind() == ErrorKind::WouldBlock => continue,
    ///             Err(e) => return Err(e),
    ///         }
    ///     }
    ///     let mut buf = [0u8; 5];
    ///     s.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"hello");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        split::try_write(&self.io, buf)
    }

    /// Splits it into owned reading and writing halves, usable from two
    /// tasks (Go's two goroutines on one `net.Conn`). Dropping the writing
    /// half shuts writing down; the connection closes when both are gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// gust_executor::block_on(async {
    ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
    ///     let c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
    ///     let (s, _) = ln.accept().await?;
    ///     let (mut r, mut w) = s.into_split();
    ///     let echo = gust_executor::spawn(async move { futures::io::copy(&mut r, &mut w).await });
    ///     let (mut cr, mut cw) = c.into_split();
    ///     cw.write_all(b"abc").await?;
    ///     drop(cw);
    ///     let mut back = Vec::new();
    ///     cr.read_to_end(&mut back).await?;
    ///     assert_eq!(back, b"abc");
    ///     assert_eq!(echo.await.unwrap()?, 3);
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                io: self.io.clone(),
                ahead: self.ahead,
            },
            OwnedWriteHalf {
                io: self.io,
                key: self.write_key,
                shutdown_on_drop: true,
            },
        )
    }

    /// The inverse of [`into_split`](Self::into_split), for `reunite`.
    pub(crate) fn from_parts(
        io: split::Shared<mnet::TcpStream>,
        ahead: ReadAhead,
        write_key: WaitKey,
    ) -> TcpStream {
        TcpStream {
            io,
            ahead,
            write_key,
        }
    }
}

async fn connect_one(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::from_mio(mnet::TcpStream::connect(addr)?)?;
    split::connected(&s.io).await?;
    Ok(s)
}

async_buf_read!(TcpStream);
async_write!(TcpStream, write_key);
async_rw!(&TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .finish()
    }
}

#[allow(dead_code)]
fn assert_send_sync(ln: &TcpListener, s: &TcpStream) {
    fn check<T: Send + Sync>() {}
    check::<TcpListener>();
    check::<TcpStream>();
    check::<OwnedReadHalf>();
    check::<OwnedWriteHalf>();
    check::<crate::ReuniteError>();
    fn fut<F: Future + Send>(_: F) {}
    fut(ln.accept());
    fut(s.peek(&mut []));
    fut(TcpStream::connect("127.0.0.1:1"));
    fut(TcpListener::bind("127.0.0.1:0"));
}

macro_rules! half_addrs {
    ($($half:ty),*) => {$(
        impl $half {
            /// The remote address of the connection.
            ///
            /// # Errors
            ///
            /// `NotConnected` once the connection is gone.
            ///
            /// # Examples
            ///
            /// ```
            /// gust_executor::block_on(async {
            ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
            ///     let (r, _w) = gust_net::TcpStream::connect(ln.local_addr()?).await?.into_split();
            ///     assert_eq!(r.peer_addr()?, ln.local_addr()?);
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                self.io.get().peer_addr()
            }

            /// The local address of the connection.
            ///
            /// # Errors
            ///
            /// What `getsockname(2)` says.
            ///
            /// # Examples
            ///
            /// ```
            /// gust_executor::block_on(async {
            ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
            ///     let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;
            ///     let (local, peer) = (s.local_addr()?, s.peer_addr()?);
            ///     let (r, w) = s.into_split();
            ///     assert_eq!((r.local_addr()?, r.peer_addr()?), (local, peer));
            ///     assert_eq!((w.local_addr()?, w.peer_addr()?), (local, peer));
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                self.io.get().local_addr()
            }
        }
    )*};
}

half_addrs!(crate::OwnedReadHalf, crate::OwnedWriteHalf);

crate::deadline::setters!(
    TcpStream,
    "    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let ln = gust_net::TcpListener::bind(\"127.0.0.1:0\").await?;
    let s = gust_net::TcpStream::connect(ln.local_addr()?).await?;",
    "(&s).read(&mut [0u8; 8])",
    "(&s).write(b\"x\")"
);
