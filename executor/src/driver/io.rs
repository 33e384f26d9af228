//! One registered I/O source: its readiness word and its waiting tasks.
//!
//! # Readiness
//!
//! The OS poller is edge-triggered (mio): an event says "this socket became
//! readable", once. The driver ORs what each event says into the source's
//! readiness word, with a tick that counts events:
//!
//! ```text
//! readiness: AtomicUsize
//!   bits 0..5    READABLE, WRITABLE, READ_CLOSED, WRITE_CLOSED, ERROR
//!   bits 16..32  tick: +1 per event the driver delivers to this source
//! ```
//!
//! An operation (`poll_io`) waits until the word says its direction is
//! ready, tries the system call, and if that says `WouldBlock` clears the
//! bits it saw, but only if the tick has not moved: an event that arrived
//! between the check and the `WouldBlock` must not be erased (tokio's
//! scheme). So the word is a superset of the truth: at worst a task tries
//! a call that says `WouldBlock` once more.
//!
//! # Waiters, and why no wake-up is lost
//!
//! Each direction keeps the wakers of the tasks waiting on it (deduplicated
//! by `will_wake`; a listener may be shared by several accepting tasks).
//! A waiter re-reads the readiness word under the waiters' lock before it
//! stores its waker; the driver updates the word before it takes that lock
//! to take the wakers. Either the waiter's store comes first (the driver
//! takes and wakes it) or the driver's lock comes first (the waiter's re-read
//! sees the new bits). A dropped waiting future leaves its waker behind: at
//! worst one spurious wake-up, then it is gone (the driver takes them all).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

pub(crate) const READABLE: usize = 1;
pub(crate) const WRITABLE: usize = 2;
pub(crate) const READ_CLOSED: usize = 4;
pub(crate) const WRITE_CLOSED: usize = 8;
pub(crate) const ERROR: usize = 16;
const READY_MASK: usize = 0xffff;
const TICK_SHIFT: usize = 16;
const TICK_MASK: usize = 0xffff << TICK_SHIFT;

/// Which half of a source a task waits on.
///
/// # Examples
///
/// ```
/// use gust_executor::io::{Direction, Interest, Registration};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
/// let reg = Registration::new(&mut a, Interest::READABLE | Interest::WRITABLE).unwrap();
/// // A fresh socket can be written to at once.
/// gust_executor::block_on(std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Write))).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Readable (or accept-able, or the peer closed its writing half).
    Read,
    /// Writable (or connected, or the peer is gone).
    Write,
}

impl Direction {
    /// The readiness bits that end a wait in this direction.
    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }
}

/// What [`Registration::poll_ready`](super::Registration::poll_ready) saw:
/// give it back to [`clear_readiness`](super::Registration::clear_readiness)
/// when the operation said `WouldBlock`.
///
/// # Examples
///
/// ```
/// use gust_executor::io::{Direction, Interest, ReadyEvent, Registration};
/// use std::io::Read;
/// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
/// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
/// drop(b); // the peer is gone: readable, at end of stream
/// let ev: ReadyEvent =
///     gust_executor::block_on(std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read))).unwrap();
/// assert_eq!((&a).read(&mut [0u8; 1]).unwrap(), 0);
/// assert!(ev.is_closed());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ReadyEvent {
    pub(crate) bits: usize,
    pub(crate) tick: usize,
}

impl ReadyEvent {
    /// The readable/writable bits only (`Registration::clear_drained`).
    pub(crate) fn without_closed(self) -> Self {
        Self {
            bits: self.bits & (READABLE | WRITABLE),
            ..self
        }
    }

    /// Whether the peer closed the direction this event is for (a read then
    /// returns 0 bytes; a write fails).
    pub fn is_closed(&self) -> bool {
        self.bits & (READ_CLOSED | WRITE_CLOSED) != 0
    }
}

#[derive(Default)]
struct Waiters {
    read: Vec<Waker>,
    write: Vec<Waker>,
}

/// The driver's record of one registered source.
pub(crate) struct ScheduledIo {
    /// The mio token it is registered under (slab key + generation).
    pub(crate) token: usize,
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    pub(crate) fn new(token: usize) -> Self {
        Self {
            token,
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        // Wakers are called outside the lock: it is never poisoned.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Driver: an event with `bits` arrived. Sets them (new tick), then moves
    /// the wakers of every direction they end into `wake`.
    pub(crate) fn deliver(&self, bits: usize, wake: &mut Vec<Waker>) {
        // AcqRel: the waiter's Acquire re-read pairs with it; the waiters'
        // lock below orders it before the waker take (module docs).
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                let tick = ((cur & TICK_MASK) + (1 << TICK_SHIFT)) & TICK_MASK;
                Some(tick | (cur & READY_MASK) | bits)
            });
        let mut w = self.lock();
        if bits & Direction::Read.mask() != 0 {
            wake.append(&mut w.read);
        }
        if bits & Direction::Write.mask() != 0 {
            wake.append(&mut w.write);
        }
    }

    /// Shutdown or deregistration: wakes every waiter (they then see the
    /// error their `poll_ready` reports).
    pub(crate) fn wake_all(&self, wake: &mut Vec<Waker>) {
        let mut w = self.lock();
        wake.append(&mut w.read);
        wake.append(&mut w.write);
    }

    fn ready(&self, dir: Direction) -> Option<ReadyEvent> {
        // Acquire: pairs with the AcqRel update in `deliver`.
        let cur = self.readiness.load(Ordering::Acquire);
        let bits = cur & dir.mask();
        (bits != 0).then_some(ReadyEvent {
            bits,
            tick: cur & TICK_MASK,
        })
    }

    /// Ready in `dir`, or stores the task's waker. `gone` is checked after
    /// the waker is stored (the driver's shutdown sets it, then wakes all).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        gone: impl Fn() -> bool,
    ) -> Poll<Option<ReadyEvent>> {
        if let Some(ev) = self.ready(dir) {
            return Poll::Ready(Some(ev));
        }
        let mut w = self.lock();
        if let Some(ev) = self.ready(dir) {
            return Poll::Ready(Some(ev));
        }
        let list = match dir {
            Direction::Read => &mut w.read,
            Direction::Write => &mut w.write,
        };
        if !list.iter().any(|x| gust_trace::will_wake(x, cx.waker())) {
            list.push(gust_trace::own_waker(cx.waker()));
        }
        drop(w);
        if gone() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// Clears what `ev` saw, unless an event came since (its tick moved).
    pub(crate) fn clear(&self, ev: ReadyEvent) {
        let _ = self
            .readiness
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                (cur & TICK_MASK == ev.tick).then_some(cur & !ev.bits)
            });
    }
}
