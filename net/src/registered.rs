//! [`Registered`]: a mio source and its registration with the driver.
//!
//! Every socket type is one of these (streams share one between their two
//! halves through an `Arc`). Dropping it deregisters the source before the
//! source's file descriptor is closed. Every operation that waits goes
//! through it, and so past the source's deadlines (`deadline.rs`).

use crate::deadline::Deadlines;
use gust_executor::io::{Direction, Interest, ReadyEvent, Registration, Source, WaitKey};
use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

pub(crate) struct Registered<S: Source> {
    /// `Some` until dropped (taken to deregister it).
    source: Option<S>,
    reg: Registration,
    deadlines: Deadlines,
}

impl<S: Source> Registered<S> {
    /// Registers `source` for reads and writes with the current runtime.
    pub(crate) fn new(mut source: S) -> io::Result<Self> {
        let reg = Registration::new(&mut source, Interest::READABLE | Interest::WRITABLE)?;
        Ok(Self {
            source: Some(source),
            reg,
            deadlines: Deadlines::default(),
        })
    }

    pub(crate) fn get(&self) -> &S {
        self.source
            .as_ref()
            .expect("gust-net: source used after drop")
    }

    /// Sets (`None`: clears) the deadline of `dir` (`deadline.rs`); an
    /// error if the socket's runtime has shut down (its operations fail
    /// anyway: nothing is left to time out).
    pub(crate) fn set_deadline(
        &self,
        dir: Direction,
        at: Option<std::time::Instant>,
    ) -> io::Result<()> {
        // A read of the cached readiness, only for its shut-down check.
        self.reg.try_ready(dir)?;
        self.deadlines.set(dir, at, &self.reg.wakeup());
        Ok(())
    }

    /// `poll` (an operation in `dir`), unless `dir`'s deadline has passed
    /// (`Deadlines::guard`).
    #[inline]
    pub(crate) fn guard<R>(
        &self,
        dir: Direction,
        poll: impl FnOnce() -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        self.deadlines.guard(dir, poll)
    }

    /// Runs `op` on the source once it is ready in `dir`, again after each
    /// `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let source = self.get();
        self.guard(dir, || self.reg.poll_io(cx, dir, || op(source)))
    }

    /// [`poll_io`](Self::poll_io) for a byte stream's read or write of
    /// `len` bytes: a call that moves fewer (but some) found the socket's
    /// buffer drained (or full), so the readiness is forgotten at once
    /// instead of by a next call that would say `WouldBlock`
    /// (`Registration::clear_drained`).
    ///
    /// `key` is the caller's place in the wait list if it keeps one (an
    /// owned stream or half: `Registration::poll_ready_keyed`), `None` for
    /// a shared `&` stream.
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        key: Option<&mut WaitKey>,
        op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.guard(dir, || self.poll_stream_io_now(cx, dir, len, key, op))
    }

    /// [`poll_stream_io`](Self::poll_stream_io) past the deadline check.
    fn poll_stream_io_now(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut key: Option<&mut WaitKey>,
        mut op: impl FnMut(&S) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let source = self.get();
        loop {
            let ready = match key.as_deref_mut() {
                Some(key) => self.reg.poll_ready_keyed(cx, dir, key),
                None => self.reg.poll_ready(cx, dir),
            };
            let ev = match ready {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match self.settle(ev, len, op(source)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                res => return Poll::Ready(res),
            }
        }
    }

    /// What a byte stream's transfer of `len` bytes after readiness `ev`
    /// tells the driver, passed through: `WouldBlock` forgets the
    /// readiness, and so does a short transfer (the buffer was drained or
    /// filled: the next one would say `WouldBlock`).
    fn settle(&self, ev: ReadyEvent, len: usize, res: io::Result<usize>) -> io::Result<usize> {
        match &res {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.reg.clear_readiness(ev),
            Ok(n) if *n > 0 && *n < len => self.reg.clear_drained(ev),
            _ => {}
        }
        res
    }

    /// One try of a byte stream's read or write of `len` bytes, without
    /// waiting: `WouldBlock` unless the driver has seen the source ready
    /// in `dir`, and, as in [`poll_stream_io`](Self::poll_stream_io), a
    /// `WouldBlock` (or a short transfer) from `op` forgets that
    /// readiness, so the next wait for it waits for an event. Stores no
    /// waker and takes nothing of the task's I/O budget (a poll would: a
    /// task past its budget would read `WouldBlock` with bytes there).
    pub(crate) fn try_stream_io(
        &self,
        dir: Direction,
        len: usize,
        op: impl FnOnce(&S) -> io::Result<usize>,
    ) -> io::Result<usize> {
        self.deadlines.check(dir)?;
        let Some(ev) = self.reg.try_ready(dir)? else {
            return Err(io::ErrorKind::WouldBlock.into());
        };
        self.settle(ev, len, op(self.get()))
    }

    /// `poll_io` as a future. Dropped while it waits, it takes its waker
    /// out of the source's wait list (`Registration::waiter`).
    pub(crate) async fn io<R>(
        &self,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<R>,
    ) -> io::Result<R> {
        let source = self.get();
        let mut waiter = self.reg.waiter(dir);
        poll_fn(|cx| self.guard(dir, || waiter.poll_io(cx, || op(source)))).await
    }

    /// Waits until the source is ready in `dir` (it may still say
    /// `WouldBlock` then: readiness is a hint).
    pub(crate) async fn ready(&self, dir: Direction) -> io::Result<()> {
        self.ready_event(dir).await.map(drop)
    }

    /// Waits for readiness in `dir` and returns the event, to clear after a
    /// `WouldBlock`.
    pub(crate) async fn ready_event(&self, dir: Direction) -> io::Result<ReadyEvent> {
        let mut waiter = self.reg.waiter(dir);
        poll_fn(|cx| self.guard(dir, || waiter.poll_ready(cx))).await
    }

    /// The waiting side of one operation in `dir` (`Registration::waiter`).
    pub(crate) fn waiter(&self, dir: Direction) -> gust_executor::io::Waiter<'_> {
        self.reg.waiter(dir)
    }

    /// Wakes every task waiting in `dir` (`Registration::wake_waiters`).
    pub(crate) fn wake_waiters(&self, dir: Direction) {
        self.reg.wake_waiters(dir);
    }

    /// The owner of `key` goes away: its waker leaves the wait list.
    pub(crate) fn forget(&self, dir: Direction, key: &mut WaitKey) {
        self.reg.forget(dir, key);
    }

    pub(crate) fn clear(&self, ev: ReadyEvent) {
        self.reg.clear_readiness(ev);
    }
}

impl<S: Source> Drop for Registered<S> {
    fn drop(&mut self) {
        if let Some(mut s) = self.source.take() {
            // The fd closes right after; an error changes nothing.
            let _ = self.reg.deregister(&mut s);
        }
    }
}
