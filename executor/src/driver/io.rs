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
//! Each direction keeps the wakers of the tasks waiting on it (a listener
//! may be shared by several accepting tasks, a socket by several
//! receiving ones). A waiter re-reads the readiness word under the
//! waiters' lock before it stores its waker; the driver updates the word
//! before it takes that lock to take the wakers. Either the waiter's store
//! comes first (the driver takes and wakes it) or the driver's lock comes
//! first (the waiter's re-read sees the new bits).
//!
//! # Who takes a waker out
//!
//! The driver takes every waker of a direction when an event for it comes.
//! On a socket that stays quiet, that may be never, so a waiter that goes
//! away while waiting must take its own waker out, or a server whose
//! requests time out on one quiet socket keeps every dead task's waker
//! (and through it the task's memory) alive: found from outside, 10,000
//! dropped `recv_from`s left 10,000 wakers, and each round of 20k timed-out
//! requests took longer than the last. So an entry carries a key:
//!
//! - a [`Waiter`](super::Waiter) (the future of one operation: `accept`,
//!   `recv_from`, `connect`...) gets a key from the source the first time it
//!   stores a waker, replaces its own entry's waker when polled again (a
//!   future may move between tasks), and removes its entry when dropped;
//! - an owned stream or half keeps a key for each side in itself
//!   ([`WaitKey`](super::WaitKey): `poll_read` and `poll_write` replace
//!   their side's entry, whichever task polls) and takes its entries out
//!   when dropped;
//! - a poll function with nothing to hold a key (`poll_read` of a shared
//!   `&TcpStream`, `poll_accept`, `Registration::poll_ready`) stores an
//!   entry of key 0, deduplicated by `will_wake`: a task polling again
//!   does not add one, and the driver's next event for the direction
//!   takes it.
//!
//! A waiter that completed without waiting has key 0 and takes no lock when
//! it is dropped.

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
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// let ready = || std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read));
    /// drop(b); // the peer hangs up
    /// assert!(gust_executor::block_on(ready()).unwrap().is_closed());
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn is_closed(&self) -> bool {
        self.bits & (READ_CLOSED | WRITE_CLOSED) != 0
    }
}

/// A stored waker and whose it is: [`ANONYMOUS`] or a waiter's key
/// (module docs, "Who takes a waker out").
struct Entry {
    key: u64,
    waker: Waker,
}

/// The key of entries that a poll function stored (no waiter to remove them).
pub(crate) const ANONYMOUS: u64 = 0;

struct Waiters {
    read: Vec<Entry>,
    write: Vec<Entry>,
    /// The next waiter's key (from 1: [`ANONYMOUS`] is 0).
    next_key: u64,
}

impl Waiters {
    fn list(&mut self, dir: Direction) -> &mut Vec<Entry> {
        match dir {
            Direction::Read => &mut self.read,
            Direction::Write => &mut self.write,
        }
    }
}

/// Moves the wakers of `list` into `wake`.
fn take_all(list: &mut Vec<Entry>, wake: &mut Vec<Waker>) {
    wake.extend(list.drain(..).map(|e| e.waker));
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
            waiters: Mutex::new(Waiters {
                read: Vec::new(),
                write: Vec::new(),
                next_key: 1,
            }),
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
            take_all(&mut w.read, wake);
        }
        if bits & Direction::Write.mask() != 0 {
            take_all(&mut w.write, wake);
        }
    }

    /// Moves the wakers waiting in `dir` into `wake` (their owners poll
    /// again: `Registration::wake_waiters`).
    pub(crate) fn take_waiters(&self, dir: Direction, wake: &mut Vec<Waker>) {
        take_all(self.lock().list(dir), wake);
    }

    /// Shutdown or deregistration: wakes every waiter (they then see the
    /// error their `poll_ready` reports).
    pub(crate) fn wake_all(&self, wake: &mut Vec<Waker>) {
        let mut w = self.lock();
        take_all(&mut w.read, wake);
        take_all(&mut w.write, wake);
    }

    pub(crate) fn ready(&self, dir: Direction) -> Option<ReadyEvent> {
        // Acquire: pairs with the AcqRel update in `deliver`.
        let cur = self.readiness.load(Ordering::Acquire);
        let bits = cur & dir.mask();
        (bits != 0).then_some(ReadyEvent {
            bits,
            tick: cur & TICK_MASK,
        })
    }

    /// Ready in `dir`, or stores the task's waker: under `*key` if it is a
    /// waiter's (a fresh key if it is still 0), else ([`None`]) as an
    /// anonymous entry. `gone` is checked after the waker is stored (the
    /// driver's shutdown sets it, then wakes all).
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        key: Option<&mut u64>,
        gone: impl Fn() -> bool,
    ) -> Poll<Option<ReadyEvent>> {
        if let Some(ev) = self.ready(dir) {
            return Poll::Ready(Some(ev));
        }
        let mut w = self.lock();
        if let Some(ev) = self.ready(dir) {
            return Poll::Ready(Some(ev));
        }
        let mut replaced = None;
        match key {
            None => {
                let list = w.list(dir);
                let known = list
                    .iter()
                    .any(|e| e.key == ANONYMOUS && gust_trace::will_wake(&e.waker, cx.waker()));
                if !known {
                    let waker = gust_trace::own_waker(cx.waker());
                    list.push(Entry {
                        key: ANONYMOUS,
                        waker,
                    });
                }
            }
            Some(key) => {
                if *key == ANONYMOUS {
                    *key = w.next_key;
                    w.next_key += 1;
                }
                let key = *key;
                let list = w.list(dir);
                match list.iter_mut().find(|e| e.key == key) {
                    Some(e) if gust_trace::will_wake(&e.waker, cx.waker()) => {}
                    // Polled by another task now: the old waker goes (after
                    // the lock: a waker's drop may run a task's drop).
                    Some(e) => {
                        replaced = Some(std::mem::replace(
                            &mut e.waker,
                            gust_trace::own_waker(cx.waker()),
                        ))
                    }
                    None => list.push(Entry {
                        key,
                        waker: gust_trace::own_waker(cx.waker()),
                    }),
                }
            }
        }
        drop(w);
        drop(replaced);
        if gone() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }

    /// A waiter with `key` went away: its entry goes, if the driver has not
    /// taken it (module docs, "Who takes a waker out").
    pub(crate) fn forget(&self, dir: Direction, key: u64) {
        if key == ANONYMOUS {
            return; // it never stored a waker
        }
        let mut w = self.lock();
        let list = w.list(dir);
        let entry = list
            .iter()
            .position(|e| e.key == key)
            .map(|i| list.swap_remove(i));
        drop(w);
        // After the lock: dropping a waker may drop a task.
        drop(entry);
    }

    /// How many wakers wait in `dir` (tests).
    #[cfg(test)]
    pub(crate) fn waiting(&self, dir: Direction) -> usize {
        self.lock().list(dir).len()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    struct Nop;

    impl std::task::Wake for Nop {
        fn wake(self: Arc<Self>) {}
    }

    fn waker() -> Waker {
        Waker::from(Arc::new(Nop))
    }

    fn wait(io: &ScheduledIo, w: &Waker, key: Option<&mut u64>) {
        let mut cx = Context::from_waker(w);
        assert!(
            io.poll_ready(&mut cx, Direction::Read, key, || false)
                .is_pending()
        );
    }

    #[test]
    fn a_waiter_keeps_one_entry_and_takes_it_out() {
        let io = ScheduledIo::new(0);
        let (a, b) = (waker(), waker());
        let mut key = ANONYMOUS;
        wait(&io, &a, Some(&mut key));
        assert_ne!(key, ANONYMOUS);
        wait(&io, &a, Some(&mut key));
        wait(&io, &b, Some(&mut key)); // moved to another task: replaced
        assert_eq!(io.waiting(Direction::Read), 1);
        let mut other = ANONYMOUS;
        wait(&io, &a, Some(&mut other));
        assert_eq!(io.waiting(Direction::Read), 2);
        io.forget(Direction::Read, key);
        assert_eq!(io.waiting(Direction::Read), 1);
        io.forget(Direction::Read, key); // twice: nothing more
        io.forget(Direction::Read, ANONYMOUS); // never waited: no entry of its own
        assert_eq!(io.waiting(Direction::Read), 1);
        io.forget(Direction::Read, other);
        assert_eq!(io.waiting(Direction::Read), 0);
    }

    #[test]
    // Miri gives a vtable a new address at each use, so `will_wake` cannot
    // tell a waker from its clone there.
    #[cfg_attr(miri, ignore)]
    fn a_task_polling_again_adds_no_anonymous_entry() {
        let io = ScheduledIo::new(0);
        let a = waker();
        wait(&io, &a, None);
        wait(&io, &a, None);
        assert_eq!(io.waiting(Direction::Read), 1);
    }

    #[test]
    fn the_driver_takes_every_entry_of_a_direction() {
        let io = ScheduledIo::new(0);
        let (a, b) = (waker(), waker());
        wait(&io, &a, None);
        wait(&io, &b, None);
        let mut key = ANONYMOUS;
        wait(&io, &b, Some(&mut key));
        assert_eq!(io.waiting(Direction::Read), 3);
        let mut woken = Vec::new();
        io.deliver(WRITABLE, &mut woken);
        assert!(woken.is_empty(), "a write event leaves readers waiting");
        io.deliver(READABLE, &mut woken);
        assert_eq!((woken.len(), io.waiting(Direction::Read)), (3, 0));
        // The waiter's entry went with the event; forgetting it is a no-op,
        // and polled again (not ready: cleared) it stores one under its key.
        io.forget(Direction::Read, key);
        let ev = io.ready(Direction::Read).unwrap();
        io.clear(ev);
        wait(&io, &b, Some(&mut key));
        assert_eq!(io.waiting(Direction::Read), 1);
    }
}
