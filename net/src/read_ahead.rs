//! The read-ahead buffer that makes a stream `AsyncBufRead` (DESIGN.md:
//! streams are futures-io `AsyncRead`/`AsyncWrite`/`AsyncBufRead`).
//!
//! A stream owns a [`ReadAhead`], empty and unallocated until the first
//! `poll_fill_buf`. Then it holds up to [`CAPACITY`] bytes read from the
//! socket that the caller has not consumed yet.
//!
//! # Invariants
//!
//! 1. `pos <= filled <= data.len()`; the bytes `data[pos..filled]` came
//!    from the socket before any byte the socket still holds.
//! 2. Every read of the stream itself (`poll_read`, `poll_read_vectored`,
//!    `poll_fill_buf`) takes those bytes before it reads the socket again,
//!    so the stream's bytes come out in order, however reads and
//!    `fill_buf`/`consume` are mixed; `peek` and `readable` look at them
//!    first too. (Reads through `&TcpStream` go to the socket, past them:
//!    a shared reference cannot take them out of the buffer; the bytes
//!    `fill_buf` returned belong to the stream that returned them, as a
//!    `bufio.Reader`'s belong to it and not to its `net.Conn`.)
//! 3. `into_split` moves the buffer to the reading half, bytes and all.
//!
//! A program that never calls `fill_buf` pays one branch per read and 32
//! bytes per stream; the buffer is allocated on first use and kept. (The
//! reader's place in the read wait list lives here too, 8 bytes: a
//! `ReadAhead` is what every owned reader has, and it moves to the
//! reading half with the bytes.)

use crate::registered::Registered;
use crate::split::{self, ByteStream};
use gust_executor::io::WaitKey;
use std::io::{self, IoSliceMut};
use std::task::{Context, Poll, ready};

/// How many bytes one `poll_fill_buf` may read from the socket (what
/// `futures::io::BufReader` and std's `BufReader` take by default).
pub(crate) const CAPACITY: usize = 8 * 1024;

/// Bytes read from the socket and not yet consumed (module docs).
#[derive(Default)]
pub(crate) struct ReadAhead {
    /// Empty (no allocation) until the first fill; then [`CAPACITY`] long.
    data: Box<[u8]>,
    /// The first byte not yet consumed (invariant #1).
    pos: usize,
    /// One past the last byte read into `data` (invariant #1).
    filled: usize,
    /// The reader's place in the source's read wait list
    /// (`Registration::poll_ready_keyed`): a reader polled by another task
    /// replaces its waker there instead of adding one.
    pub(crate) key: WaitKey,
}

impl ReadAhead {
    /// The bytes read ahead and not consumed.
    pub(crate) fn pending(&self) -> &[u8] {
        &self.data[self.pos..self.filled]
    }

    /// Copies as many of the bytes read ahead as fit into `buf`, without
    /// consuming them; how many.
    pub(crate) fn copy_to(&self, buf: &mut [u8]) -> usize {
        let n = self.pending().len().min(buf.len());
        buf[..n].copy_from_slice(&self.pending()[..n]);
        n
    }

    /// `poll_read` of a stream with this buffer: the bytes read ahead first
    /// (invariant #2), else the socket.
    pub(crate) fn poll_read<S: ByteStream>(
        &mut self,
        io: &Registered<S>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.pos == self.filled {
            return split::poll_read(io, cx, buf, Some(&mut self.key));
        }
        let n = self.copy_to(buf);
        self.consume(n);
        Poll::Ready(Ok(n))
    }

    /// `poll_read_vectored` of a stream with this buffer (as
    /// [`poll_read`](Self::poll_read)).
    pub(crate) fn poll_read_vectored<S: ByteStream>(
        &mut self,
        io: &Registered<S>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.pos == self.filled {
            return split::poll_read_vectored(io, cx, bufs, Some(&mut self.key));
        }
        let mut total = 0;
        for buf in bufs {
            let n = self.copy_to(buf);
            self.consume(n);
            total += n;
            if self.pos == self.filled {
                break;
            }
        }
        Poll::Ready(Ok(total))
    }

    /// `poll_fill_buf`: the bytes read ahead, or, when there are none, what
    /// one read of the socket gives (empty at end of stream).
    pub(crate) fn poll_fill_buf<S: ByteStream>(
        &mut self,
        io: &Registered<S>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<&[u8]>> {
        if self.pos == self.filled {
            if self.data.is_empty() {
                self.data = vec![0; CAPACITY].into_boxed_slice();
            }
            // Nothing is pending, so the whole buffer may be overwritten;
            // a read that fails or waits leaves it empty.
            let n = ready!(split::poll_read(
                io,
                cx,
                &mut self.data,
                Some(&mut self.key)
            ))?;
            self.pos = 0;
            self.filled = n;
        }
        Poll::Ready(Ok(self.pending()))
    }

    /// `consume`: `amt` bytes of the last `poll_fill_buf` are used (more
    /// than it returned counts as all of them, as std's `BufReader` does).
    pub(crate) fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

/// Implements `AsyncRead` and `AsyncBufRead` for `$t` (a stream or its
/// reading half), whose `Registered` source is `self.io` and whose
/// [`ReadAhead`] is `self.ahead`.
macro_rules! async_buf_read {
    ($t:ty) => {
        impl futures_io::AsyncRead for $t {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                this.ahead.poll_read(&this.io, cx, buf)
            }
            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                let this = self.get_mut();
                this.ahead.poll_read_vectored(&this.io, cx, bufs)
            }
        }

        impl futures_io::AsyncBufRead for $t {
            fn poll_fill_buf(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<&[u8]>> {
                let this = self.get_mut();
                this.ahead.poll_fill_buf(&this.io, cx)
            }
            fn consume(self: std::pin::Pin<&mut Self>, amt: usize) {
                self.get_mut().ahead.consume(amt);
            }
        }
    };
}
pub(crate) use async_buf_read;

#[cfg(test)]
mod tests {
    use super::*;

    fn with(bytes: &[u8]) -> ReadAhead {
        let mut data = vec![0; CAPACITY].into_boxed_slice();
        data[..bytes.len()].copy_from_slice(bytes);
        ReadAhead {
            data,
            pos: 0,
            filled: bytes.len(),
            key: WaitKey::default(),
        }
    }

    #[test]
    fn consume_never_passes_what_was_filled() {
        let mut a = with(b"abc");
        a.consume(2);
        assert_eq!(a.pending(), b"c");
        a.consume(10);
        assert_eq!(a.pending(), b"");
        assert_eq!((a.pos, a.filled), (3, 3));
    }

    #[test]
    fn an_unused_buffer_allocates_nothing() {
        let a = ReadAhead::default();
        assert!(a.data.is_empty());
        assert_eq!(a.pending(), b"");
        assert_eq!(std::mem::size_of::<ReadAhead>(), 40);
    }
}
