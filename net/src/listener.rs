//! [`Listening`]: a listener's source and whether it was closed, so that
//! any task can stop the others' accepts (Go's `ln.Close()`).
//!
//! `close` sets `closed`, shuts the socket down (Linux then resets the
//! connections not yet accepted and refuses new ones) and wakes every task
//! waiting to accept. An accept checks `closed` before each try, and again
//! when its poll stored its waker: the close stores the flag before its
//! wake-up takes the waiters' lock, and the accept stores its waker under
//! that lock before its second check, so either the wake-up finds the
//! waker or the check finds the flag (the driver's own argument, `io.rs`).
//!
//! The descriptor, and with it the port, is released when the listener is
//! dropped, not by `close`: another thread may be inside `accept(2)` on it
//! while `close` runs, and a descriptor closed under that call could be
//! reused by a new socket, which the call would then accept from (Go keeps
//! a reference count on the descriptor for this; ownership does it here).

use crate::registered::Registered;
use gust_executor::io::{Direction, Source};
use std::future::poll_fn;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

pub(crate) struct Listening<S: Source> {
    io: Registered<S>,
    /// Set once by `close` (SeqCst with the accepts' loads: module docs).
    closed: AtomicBool,
}

impl<S: Source> Listening<S> {
    pub(crate) fn new(source: S) -> io::Result<Self> {
        Ok(Self {
            io: Registered::new(source)?,
            closed: AtomicBool::new(false),
        })
    }

    pub(crate) fn get(&self) -> &S {
        self.io.get()
    }

    /// Sets (`None`: clears) the deadline of accepts (`deadline.rs`); an
    /// error once the listener is closed (Go's) or its runtime shut down.
    pub(crate) fn set_deadline(&self, at: Option<std::time::Instant>) -> io::Result<()> {
        if self.is_closed() {
            return Err(closed());
        }
        self.io.set_deadline(Direction::Read, at)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Accepts with `op` once the listener is readable; an error once it
    /// is closed. Dropped while it waits, it takes its waker out.
    pub(crate) async fn accept<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let source = self.io.get();
        let mut waiter = self.io.waiter(Direction::Read);
        poll_fn(|cx| {
            self.unless_closed(|| {
                self.io
                    .guard(Direction::Read, || waiter.poll_io(cx, || op(source)))
            })
        })
        .await
    }

    /// [`accept`](Self::accept) as a poll function.
    pub(crate) fn poll_accept<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.unless_closed(|| self.io.poll_io(cx, Direction::Read, op))
    }

    /// `poll`, between the two checks of `closed` (module docs).
    fn unless_closed<R>(&self, poll: impl FnOnce() -> Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if self.is_closed() {
            return Poll::Ready(Err(closed()));
        }
        match poll() {
            Poll::Pending if self.is_closed() => Poll::Ready(Err(closed())),
            polled => polled,
        }
    }

    /// Closes the listener (module docs): the socket is shut down, so the
    /// kernel stops listening. Closing twice is an error, as in Go.
    pub(crate) fn close(&self) -> io::Result<()>
    where
        for<'s> socket2::SockRef<'s>: From<&'s S>,
    {
        if self.closed.swap(true, Ordering::SeqCst) {
            return Err(closed());
        }
        // A kernel that does not shut listeners down keeps queueing
        // connections until the drop; the accepts end either way.
        let _ = socket2::SockRef::from(self.io.get()).shutdown(std::net::Shutdown::Both);
        self.io.wake_waiters(Direction::Read);
        Ok(())
    }
}

/// What an accept on a closed listener says (Go's `net.ErrClosed`).
pub(crate) fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "use of closed network connection (the listener was closed)",
    )
}
