//! The byte-stream machinery shared by [`TcpStream`](crate::TcpStream) and
//! `UnixStream`: `AsyncRead`/`AsyncWrite` over a registered source, and the
//! owned halves of [`into_split`](crate::TcpStream::into_split). (A stream
//! and its reading half are `AsyncBufRead` too: `read_ahead.rs`.)
//!
//! A stream and its halves share one [`Registered`] source through an
//! `Arc`; reads wait on its read readiness and writes on its write
//! readiness, so a reading task and a writing task never wake each other.
//! Several tasks may read (or write) one `&TcpStream` at once; each is
//! woken on readiness, and the bytes go to whichever reads first. Such
//! reads go to the socket, past bytes the stream's `fill_buf` has read
//! ahead (`read_ahead.rs`): read a stream through `&` or through itself.

use crate::registered::Registered;
use gust_executor::io::{Direction, Source, WaitKey};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A mio byte stream (TCP or Unix).
pub(crate) trait ByteStream: Source + Send + Sync + 'static {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize>;
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
    /// The pending socket error (`SO_ERROR`), taken.
    fn take_error(&self) -> io::Result<Option<io::Error>>;
    /// `Ok` once connected; `NotConnected` while a connect is in progress.
    fn check_connected(&self) -> io::Result<()>;
}

macro_rules! byte_stream {
    ($t:ty) => {
        impl ByteStream for $t {
            fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                <&$t as Read>::read(&mut &*self, buf)
            }
            fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
                <&$t as Read>::read_vectored(&mut &*self, bufs)
            }
            fn write(&self, buf: &[u8]) -> io::Result<usize> {
                <&$t as Write>::write(&mut &*self, buf)
            }
            fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
                <&$t as Write>::write_vectored(&mut &*self, bufs)
            }
            fn shutdown(&self, how: Shutdown) -> io::Result<()> {
                <$t>::shutdown(self, how)
            }
            fn take_error(&self) -> io::Result<Option<io::Error>> {
                <$t>::take_error(self)
            }
            fn check_connected(&self) -> io::Result<()> {
                <$t>::peer_addr(self).map(drop)
            }
        }
    };
}

byte_stream!(gust_executor::io::mio::net::TcpStream);
#[cfg(unix)]
byte_stream!(gust_executor::io::mio::net::UnixStream);

pub(crate) type Shared<S> = Arc<Registered<S>>;

pub(crate) fn poll_read<S: ByteStream>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
    key: Option<&mut WaitKey>,
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    io.poll_stream_io(cx, Direction::Read, buf.len(), key, |s| s.read(buf))
}

pub(crate) fn poll_read_vectored<S: ByteStream>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
    key: Option<&mut WaitKey>,
) -> Poll<io::Result<usize>> {
    let len = bufs.iter().map(|b| b.len()).sum();
    if len == 0 {
        return Poll::Ready(Ok(0)); // as `poll_read` of an empty buffer
    }
    io.poll_stream_io(cx, Direction::Read, len, key, |s| s.read_vectored(bufs))
}

pub(crate) fn poll_write<S: ByteStream>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    buf: &[u8],
    key: Option<&mut WaitKey>,
) -> Poll<io::Result<usize>> {
    if buf.is_empty() {
        return Poll::Ready(Ok(0));
    }
    io.poll_stream_io(cx, Direction::Write, buf.len(), key, |s| s.write(buf))
}

pub(crate) fn poll_write_vectored<S: ByteStream>(
    io: &Registered<S>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
    key: Option<&mut WaitKey>,
) -> Poll<io::Result<usize>> {
    let len = bufs.iter().map(|b| b.len()).sum();
    if len == 0 {
        return Poll::Ready(Ok(0)); // as `poll_write` of an empty buffer
    }
    io.poll_stream_io(cx, Direction::Write, len, key, |s| s.write_vectored(bufs))
}

/// `try_read`: one read of the socket without waiting (`WouldBlock` when
/// it is not ready); an empty `buf` gets `Ok(0)` at once, as `poll_read`'s.
pub(crate) fn try_read<S: ByteStream>(io: &Registered<S>, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    io.try_stream_io(Direction::Read, buf.len(), |s| s.read(buf))
}

/// `try_write`: one write to the socket without waiting (as `try_read`).
pub(crate) fn try_write<S: ByteStream>(io: &Registered<S>, buf: &[u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    io.try_stream_io(Direction::Write, buf.len(), |s| s.write(buf))
}

/// Waits until a non-blocking `connect` has finished. mio's rule: wait for
/// writability, then ask for the socket's error; a socket neither failed nor
/// connected yet waits again.
pub(crate) async fn connected<S: ByteStream>(io: &Registered<S>) -> io::Result<()> {
    loop {
        let ev = io.ready_event(Direction::Write).await?;
        if let Some(e) = io.get().take_error()? {
            return Err(e);
        }
        match io.get().check_connected() {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => io.clear(ev),
            Err(e) => return Err(e),
        }
    }
}

/// `poll_close`: shuts the writing direction down (the peer reads EOF).
/// A socket the peer already dropped is closed enough.
pub(crate) fn close<S: ByteStream>(io: &Registered<S>) -> Poll<io::Result<()>> {
    match io.get().shutdown(Shutdown::Write) {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Poll::Ready(Ok(())),
        r => Poll::Ready(r),
    }
}

/// Implements `AsyncRead` + `AsyncWrite` for `$t` (a stream, or `&` one),
/// whose `Registered` source is its field `io`.
macro_rules! async_rw {
    ($t:ty) => {
        $crate::split::async_read!($t);
        $crate::split::async_write!($t);
    };
}
pub(crate) use async_rw;

/// The deadline setters of a stream's half: the connection's deadlines,
/// shared by both halves (Go's one `net.Conn`), so either half may stop
/// the other's waiting operation.
macro_rules! deadlines {
    ($half:ident, $stream:literal, $make:literal) => {
        impl $half {
            #[doc = concat!("Go's `SetReadDeadline` on the connection (both halves' reads): see [`", $stream, "::set_read_deadline`](crate::", $stream, "::set_read_deadline).")]
            ///
            /// # Errors
            ///
            /// If the socket's runtime has shut down.
            ///
            /// # Examples
            ///
            /// ```
            /// use futures::io::AsyncReadExt;
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     let (mut r, w) = a.into_split();
            ///     w.set_read_deadline(Some(gust_executor::time::now()))?; // either half
            ///     let e = r.read(&mut [0u8; 4]).await.unwrap_err();
            ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
            ///     r.set_read_deadline(None)?;
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn set_read_deadline(&self, at: Option<std::time::Instant>) -> std::io::Result<()> {
                self.io.set_deadline(gust_executor::io::Direction::Read, at)
            }

            #[doc = concat!("Go's `SetWriteDeadline` on the connection (both halves' writes): see [`", $stream, "::set_write_deadline`](crate::", $stream, "::set_write_deadline).")]
            ///
            /// # Errors
            ///
            /// If the socket's runtime has shut down.
            ///
            /// # Examples
            ///
            /// ```
            /// use futures::io::AsyncWriteExt;
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     let (r, mut w) = a.into_split();
            ///     r.set_write_deadline(Some(gust_executor::time::now()))?; // either half
            ///     let e = w.write(b"late").await.unwrap_err();
            ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn set_write_deadline(&self, at: Option<std::time::Instant>) -> std::io::Result<()> {
                self.io.set_deadline(gust_executor::io::Direction::Write, at)
            }

            #[doc = concat!("Go's `SetDeadline` on the connection: both of the above (see [`", $stream, "::set_deadline`](crate::", $stream, "::set_deadline)).")]
            ///
            /// # Errors
            ///
            /// If the socket's runtime has shut down.
            ///
            /// # Examples
            ///
            /// ```
            /// use futures::io::{AsyncReadExt, AsyncWriteExt};
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     let (mut r, mut w) = a.into_split();
            ///     w.set_deadline(Some(gust_executor::time::now()))?;
            ///     assert!(r.read(&mut [0u8; 1]).await.is_err());
            ///     assert!(w.write(b"x").await.is_err());
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn set_deadline(&self, at: Option<std::time::Instant>) -> std::io::Result<()> {
                self.set_read_deadline(at)?;
                self.set_write_deadline(at)
            }
        }
    };
}
pub(crate) use deadlines;

/// Defines the owned read and write halves of a stream type `$stream_ty`
/// (named `$stream` in docs), and the error of a `reunite` of halves of
/// two streams, `$err`. `$make` is doc-example code that makes a stream
/// `a` of that type inside an `async` block returning `io::Result`.
/// The stream type has `from_parts(io, ahead, write_key)`, the inverse of
/// its `into_split`.
macro_rules! halves {
    ($read:ident, $write:ident, $err:ident, $source:ty, $stream_ty:ty, $stream:literal, $make:literal) => {
        #[doc = concat!("The reading half of a [`", $stream, "`](crate::", $stream, "), from `into_split`: `AsyncRead` and")]
        /// `AsyncBufRead`, usable from another task than the writing half.
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
        ///     let (mut cr, mut cw) = c.into_split();
        ///     cw.write_all(b"ping").await?;
        ///     let mut buf = [0u8; 4];
        ///     r.read_exact(&mut buf).await?;
        ///     w.write_all(&buf).await?;
        ///     cr.read_exact(&mut buf).await?;
        ///     assert_eq!(&buf, b"ping");
        ///     std::io::Result::Ok(())
        /// })
        /// .unwrap();
        /// ```
        pub struct $read {
            pub(crate) io: $crate::split::Shared<$source>,
            /// The stream's read-ahead, moved here by `into_split`.
            pub(crate) ahead: $crate::read_ahead::ReadAhead,
        }

        #[doc = concat!("The writing half of a [`", $stream, "`](crate::", $stream, "), from `into_split`: `AsyncWrite`.")]
        /// Dropping it (or `close`) shuts the writing direction down, so
        /// the peer reads end-of-stream; the reading half goes on.
        ///
        /// # Examples
        ///
        /// ```
        /// use futures::io::{AsyncReadExt, AsyncWriteExt};
        /// gust_executor::block_on(async {
        ///     let ln = gust_net::TcpListener::bind("127.0.0.1:0").await?;
        ///     let c = gust_net::TcpStream::connect(ln.local_addr()?).await?;
        ///     let (mut s, _) = ln.accept().await?;
        ///     let (_r, mut w) = c.into_split();
        ///     w.write_all(b"bye").await?;
        ///     drop(w); // the server reads "bye", then EOF
        ///     let mut all = Vec::new();
        ///     s.read_to_end(&mut all).await?;
        ///     assert_eq!(all, b"bye");
        ///     std::io::Result::Ok(())
        /// })
        /// .unwrap();
        /// ```
        pub struct $write {
            pub(crate) io: $crate::split::Shared<$source>,
            /// Its place in the source's write wait list.
            pub(crate) key: gust_executor::io::WaitKey,
            /// Whether dropping it shuts writing down: `true` but in a
            /// `reunite`, where the stream goes on.
            pub(crate) shutdown_on_drop: bool,
        }

        impl $read {
            #[doc = concat!("Puts the halves of one [`", $stream, "`](crate::", $stream, ") back together (tokio's `reunite`): the")]
            /// stream that [`into_split`] made them from, with the bytes
            /// the reading half had read ahead, its writing direction
            /// still open.
            ///
            #[doc = concat!("[`into_split`]: crate::", $stream, "::into_split")]
            ///
            /// # Errors
            ///
            /// If the halves are of two different streams: both come back
            #[doc = concat!("in the [`", stringify!($err), "`].")]
            ///
            /// # Examples
            ///
            /// ```
            /// use futures::io::AsyncWriteExt;
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     let (r, w) = a.into_split();
            ///     // ... the halves in two tasks, then back in one:
            ///     let mut a = r.reunite(w).expect("halves of one stream");
            ///     assert!(a.peer_addr().is_ok());
            ///     a.write_all(b"whole again").await?;
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn reunite(mut self, mut other: $write) -> Result<$stream_ty, $err> {
                if !std::sync::Arc::ptr_eq(&self.io, &other.io) {
                    return Err($err(self, other));
                }
                // The halves' drops then do nothing: their keys are
                // empty (`forget` of an empty key is free) and the
                // writing half shuts nothing down.
                other.shutdown_on_drop = false;
                let ahead = std::mem::take(&mut self.ahead);
                let write_key = std::mem::take(&mut other.key);
                Ok(<$stream_ty>::from_parts(self.io.clone(), ahead, write_key))
            }
        }

        $crate::split::deadlines!($read, $stream, $make);
        $crate::split::deadlines!($write, $stream, $make);

        #[doc = concat!("The error of [`", stringify!($read), "::reunite`] with the halves of two different")]
        #[doc = concat!("[`", $stream, "`](crate::", $stream, ")s: both halves, given back.")]
        ///
        /// # Examples
        ///
        /// ```
        /// gust_executor::block_on(async {
        #[doc = concat!("    let first = {\n", $make, "\n    a\n    };")]
        #[doc = concat!("    let second = {\n", $make, "\n    a\n    };")]
        ///     let (r1, w1) = first.into_split();
        ///     let (r2, w2) = second.into_split();
        #[doc = concat!("    let err: gust_net::", stringify!($err), " = r1.reunite(w2).unwrap_err();")]
        ///     assert_eq!(err.to_string(), "tried to reunite halves that are not from the same socket");
        #[doc = concat!("    let gust_net::", stringify!($err), "(r1, w2) = err; // both halves back")]
        ///     let _first = r1.reunite(w1).unwrap();
        ///     let _second = r2.reunite(w2).unwrap();
        ///     std::io::Result::Ok(())
        /// })
        /// .unwrap();
        /// ```
        #[derive(Debug)]
        pub struct $err(pub $read, pub $write);

        impl std::fmt::Display for $err {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same socket")
            }
        }

        impl std::error::Error for $err {}

        $crate::read_ahead::async_buf_read!($read);
        $crate::split::async_write!($write, key);

        impl Drop for $read {
            fn drop(&mut self) {
                // The writing half may live on: leave no waker behind.
                self.io.forget(gust_executor::io::Direction::Read, &mut self.ahead.key);
            }
        }

        impl Drop for $write {
            fn drop(&mut self) {
                self.io.forget(gust_executor::io::Direction::Write, &mut self.key);
                if self.shutdown_on_drop {
                    let _ = $crate::split::close(&self.io);
                }
            }
        }

        impl std::fmt::Debug for $read {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($read)).finish_non_exhaustive()
            }
        }

        impl std::fmt::Debug for $write {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($write)).finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use halves;

/// Implements `AsyncRead` for `$t`, whose `Registered` source is `self.io`.
macro_rules! async_read {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::split::poll_read(&self.io, cx, buf, None)
            }
            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::split::poll_read_vectored(&self.io, cx, bufs, None)
            }
        }
    };
}
pub(crate) use async_read;

/// Implements `AsyncWrite` for `$t`, whose `Registered` source is `self.io`;
/// with `$key`, an owned writer that keeps its place in the source's write
/// wait list in that field (`Registration::poll_ready_keyed`).
macro_rules! async_write {
    ($t:ty) => {
        $crate::split::async_write!($t, |this| None);
    };
    ($t:ty, $key:ident) => {
        $crate::split::async_write!($t, |this| Some(&mut this.$key));
    };
    ($t:ty, |$this:ident| $key:expr) => {
        impl futures_io::AsyncWrite for $t {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = self.get_mut();
                $crate::split::poll_write(&$this.io, cx, buf, $key)
            }
            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let $this = self.get_mut();
                $crate::split::poll_write_vectored(&$this.io, cx, bufs, $key)
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                // Writes go straight to the socket: nothing is buffered.
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::split::close(&self.io)
            }
        }
    };
}
pub(crate) use async_write;

// The TCP halves.
halves!(
    OwnedReadHalf,
    OwnedWriteHalf,
    ReuniteError,
    gust_executor::io::mio::net::TcpStream,
    crate::TcpStream,
    "TcpStream",
    "    let ln = gust_net::TcpListener::bind(\"127.0.0.1:0\").await?;
    let a = gust_net::TcpStream::connect(ln.local_addr()?).await?;"
);
