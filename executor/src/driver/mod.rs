//! The runtime's I/O and timer driver: Go's netpoller, beside the park.
//!
//! # What it is
//!
//! One OS poller per runtime (mio: epoll, kqueue), the runtime's timers
//! (`time/store.rs`), and the sources registered with it (a slab of
//! [`ScheduledIo`], `io.rs`). There is no driver thread (the timer thread
//! polls it only while every worker is held: "The I/O watch" below):
//!
//! - a worker that has nothing to run and is about to park tries to take
//!   the poller ([`Driver::try_poller`]); the one that gets it waits in the
//!   OS poller, with the next timer deadline as its timeout, instead of
//!   on its thread's park. Readiness events and due timers wake their tasks
//!   from that worker, so a woken task of the runtime goes straight onto its
//!   local queue: no thread hop between a socket becoming ready and its task
//!   running. The others park on their threads as before;
//! - a busy worker fires due timers every
//!   [`GLOBAL_QUEUE_INTERVAL`](crate::scheduler::worker::GLOBAL_QUEUE_INTERVAL)
//!   tasks, and at those turns and after each task that yields polls the OS
//!   poller without blocking ([`Driver::maintain`]), when nobody waits in
//!   it: while fewer than a few dozen tasks are queued ahead of what the
//!   events would wake, and at least every few hundred tasks or 10 ms
//!   whatever the queue (`Worker::io_turn`). So I/O and timers cannot starve behind a
//!   busy queue, and a backlog of ready sockets waits in the kernel's
//!   ready list, in order, rather than overflowing the worker's queue. A
//!   task whose sources are always ready yields when its poll has used its
//!   I/O budget (`coop.rs`).
//!
//! # Waking the worker in the poller (no lost wake-up)
//!
//! The idle protocol (`scheduler/idle.rs`) decides *which* parked worker a
//! submitter wakes; this decides *how*: a thread in `epoll_wait` is woken by
//! the poller's waker (an eventfd write), any other by `Thread::unpark`.
//!
//! ```text
//! worker i (poller)                     submitter (Shared::unpark(i))
//! polling := i + 1      (SeqCst)        parked_flag[i] := 0   (idle.rs)
//! fence(SeqCst)                         fence(SeqCst)
//! if !parked_flag[i]: return            if polling == i + 1: wake the poller
//! epoll_wait(next deadline)             else: thread[i].unpark()
//! polling := 0
//! ```
//!
//! The two fences are in one total order. If the worker's comes first, the
//! submitter sees `polling == i + 1` and writes the eventfd; an eventfd
//! written before `epoll_wait` starts makes it return at once (the event
//! sits in the ready list). If the submitter's comes first, the worker sees
//! its flag cleared and does not wait. Either way it does not sleep through
//! the notification. A stale `polling` (the worker already left) costs one
//! spurious eventfd event; a `Thread::unpark` of a worker not in
//! `thread::park` leaves a token that one later park loop re-checks its
//! flag through.
//!
//! Timers inserted earlier than the deadline the poller sleeps until wake it
//! the same way (`store.rs`).
//!
//! # The I/O watch (Go's sysmon, for the poller)
//!
//! Only workers poll the OS, between tasks or where they park. A task that
//! never yields (a computation, a `std::thread::sleep`) holds its worker;
//! if it holds every worker, nothing polls, and a socket of this runtime
//! waited on from elsewhere (a plain thread's `block_on`, a tokio task) is
//! not woken until one comes back. So the timer thread keeps a *watch* on
//! the driver, [`IO_WATCH`] apart, as Go's sysmon polls the network when
//! nobody has for 10 ms: when it fires and no worker has polled since it
//! was armed, nor waits in the poller, it polls without blocking and wakes
//! what is ready. The rule that keeps one armed whenever it may be needed:
//!
//! 1. While sources are registered and no worker waits in the poller, a
//!    watch is pending, or a worker is about to arm one: a wait that
//!    stores a waker arms one unless a worker waits in the poller, a
//!    worker that leaves the poller arms one, and a watch that fires
//!    re-arms itself unless a worker waits in the poller and no poll has
//!    returned since the watch was armed (the runtime is idle; under
//!    virtual time, whenever a worker waits there, as it re-checks every
//!    few milliseconds anyway).
//! 2. A worker waiting in the poller gets the events itself; the watch that
//!    finds one there, and no poll since it was armed, stops, and #1
//!    re-arms it when that worker leaves.
//!    The leaving worker (`polling := 0`, then swaps the flag to armed)
//!    and the firing watch (swaps the flag to clear, then reads `polling`)
//!    meet in the flag's order: if the worker's swap comes first, the
//!    fire's reads from it (AcqRel) and sees `polling` cleared, and
//!    re-arms; if the fire's comes first, the worker's reads it cleared and
//!    arms. Exactly one watch is armed either way (loom model in
//!    `tests/loom_poller.rs`).
//!
//! So an idle runtime, whose worker waits in the poller, keeps no watch
//! (no wake-ups), and a busy one costs the timer thread a wake-up per
//! [`IO_WATCH`]: while the runtime stays active the watch re-arms from the
//! timer thread, so that workers leaving the poller find it armed and do
//! not wake that thread to arm another. A socket waited on from outside
//! while every worker is held is polled within one to two periods (a
//! worker that polled just after the arm makes the first fire skip its
//! poll).
//!
//! The watch's poll holds the poller for a moment, as a busy worker's turn
//! does; a worker that parks then and finds it taken by a poll that does
//! not wait tries again shortly, instead of parking for good with nobody
//! left to wait in the poller (`Worker::park`; found by a review).
//!
//! # Sources
//!
//! A source is registered under a token = slab key + a generation in the
//! upper bits, so an event for a source that was deregistered (and whose
//! slot was reused) while the event sat in a poller's buffer is recognised
//! and dropped. Events are delivered under the slab lock, once per batch;
//! the wakers are called after it is released.

pub(crate) mod io;
pub(crate) mod slot;

use crate::time::clock::Clock;
use crate::time::sets::TimerSets;
use crate::time::{Action, thread_timers};
use io::{Direction, ReadyEvent, ScheduledIo};
use mio::{Events, Interest, Poll as MioPoll, Token};
use slab::Slab;
use slot::{PollerSlot, WatchFlag};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The token of the poller's own waker.
const WAKE_TOKEN: Token = Token(usize::MAX);
/// Low bits of a token: the slab key.
const KEY_BITS: u32 = 24;
const KEY_MASK: usize = (1 << KEY_BITS) - 1;
/// Virtual time: how long the poller waits, in real time, before it checks
/// again whether the clock may jump, when no wake-up told it to.
const VIRTUAL_RECHECK: Duration = Duration::from_millis(5);
/// Events taken per `epoll_wait`.
const EVENTS_CAPACITY: usize = 1024;
/// How long the poller may go unpolled while no worker waits in it before
/// the timer thread polls it (module docs; Go's sysmon: 10 ms).
pub(crate) const IO_WATCH: Duration = Duration::from_millis(10);

/// The poller and its buffers: held by the worker that polls.
struct Core {
    poll: MioPoll,
    events: Events,
    /// Due timers, fired outside the timer lock.
    due: Vec<Action>,
    /// Wakers taken from sources, called outside the slab lock.
    wake: Vec<Waker>,
}

/// One runtime's I/O and timer driver.
pub(crate) struct Driver {
    core: Mutex<Core>,
    registry: mio::Registry,
    waker: Arc<mio::Waker>,
    sources: Mutex<Slab<Arc<ScheduledIo>>>,
    num_sources: AtomicUsize,
    generation: AtomicUsize,
    pub(crate) timers: TimerSets,
    /// Which worker waits in the poller.
    polling: PollerSlot,
    /// An I/O watch is pending on the timer thread (module docs).
    io_watched: WatchFlag,
    /// Polls of the OS poller so far (wrapping): the watch polls only if
    /// no worker has since it was armed.
    polls: AtomicUsize,
    /// Set once by the runtime's shutdown.
    shutdown: AtomicBool,
    /// Virtual time: `block_on` calls of the runtime that are polling or
    /// were woken (`lib.rs`), and `spawn_blocking` jobs submitted from it
    /// and not finished (`blocking.rs`). The clock jumps only when both
    /// are zero.
    pub(crate) block_ons: AtomicUsize,
    pub(crate) blocking_jobs: AtomicUsize,
    /// The runtime's `spawn_blocking` jobs not finished, for the shutdown
    /// wait: as `blocking_jobs`, but never handed to a `block_on`.
    pub(crate) live_jobs: AtomicUsize,
}

impl Driver {
    pub(crate) fn new(workers: usize, clock: crate::time::clock::Clock) -> std::io::Result<Self> {
        let poll = MioPoll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKE_TOKEN)?);
        Ok(Self {
            core: Mutex::new(Core {
                poll,
                events: Events::with_capacity(EVENTS_CAPACITY),
                due: Vec::new(),
                wake: Vec::new(),
            }),
            registry,
            timers: TimerSets::new(workers, &waker, &clock),
            waker,
            sources: Mutex::new(Slab::new()),
            num_sources: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
            polling: PollerSlot::new(),
            io_watched: WatchFlag::new(),
            polls: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            block_ons: AtomicUsize::new(0),
            blocking_jobs: AtomicUsize::new(0),
            live_jobs: AtomicUsize::new(0),
        })
    }

    fn lock_sources(&self) -> MutexGuard<'_, Slab<Arc<ScheduledIo>>> {
        // Nothing panics under it; recover anyway.
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Submitter side of the wake (module docs): `true` if worker `index`
    /// waits in the poller and was woken through it; otherwise the caller
    /// unparks its thread.
    pub(crate) fn wake_poller(&self, index: usize) -> bool {
        if self.polling.is_waiting(index) {
            // An error means the poller's fd is gone: the runtime is being
            // dropped, and its workers have left.
            let _ = self.waker.wake();
            return true;
        }
        false
    }

    /// Whether a worker waits in the poller now (SeqCst: read after a
    /// failed [`try_poller`](Self::try_poller), to tell a waiting holder
    /// from one polling for a moment; `Worker::park`).
    pub(crate) fn poller_waited_in(&self) -> bool {
        self.polling.anyone_now()
    }

    /// Wakes the worker waiting in the poller, if one is.
    pub(crate) fn wake_any_poller(&self) {
        if self.polling.anyone() {
            let _ = self.waker.wake();
        }
    }

    /// Virtual time: something of the runtime went idle (a `block_on`, a
    /// worker); the worker in the poller re-checks whether the clock may
    /// jump.
    pub(crate) fn nudge(&self) {
        if self.timers.clock().is_virtual() {
            let _ = self.waker.wake();
        }
    }

    /// Virtual time: no `block_on` of the runtime can run and no blocking
    /// job of it is pending (the workers are the caller's to check).
    pub(crate) fn outside_idle(&self) -> bool {
        self.block_ons.load(Ordering::SeqCst) == 0 && self.blocking_jobs.load(Ordering::SeqCst) == 0
    }

    /// The poller, if no other worker holds it.
    pub(crate) fn try_poller(&self) -> Option<Poller<'_>> {
        match self.core.try_lock() {
            Ok(core) => Some(Poller { driver: self, core }),
            Err(TryLockError::Poisoned(e)) => Some(Poller {
                driver: self,
                core: e.into_inner(),
            }),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    /// The I/O events that are ready, without blocking, unless another
    /// worker waits in the poller (it gets them); whether it woke any task.
    /// The I/O watch's poll; alone, the turn after a task yielded (no timers,
    /// which a yield-heavy task would pay a lock and a clock read for each
    /// time: `timeouts1m` went 174 -> 210 ns a timeout at 1 worker).
    pub(crate) fn poll_io_now(&self) -> bool {
        self.has_sources()
            && !self.polling.anyone()
            && self
                .try_poller()
                .is_some_and(|mut p| p.poll_io(Some(Duration::ZERO)))
    }

    /// Arms the I/O watch (module docs, rule #1) unless one is pending, no
    /// source is registered, or the runtime has shut down.
    pub(crate) fn watch_io(self: &Arc<Self>) {
        // SeqCst: a worker that has just left the poller (a SeqCst store)
        // reads the count in the same order as a first source's waiter,
        // which counts it in (SeqCst) and then reads `polling` (SeqCst,
        // `poll_ready`): one of the two sees the other, and arms.
        if self.num_sources.load(Ordering::SeqCst) == 0
            || self.is_shutdown()
            || !self.io_watched.arm()
        {
            return;
        }
        let armed_at = self.polls.load(Ordering::Relaxed);
        let driver = Arc::downgrade(self);
        crate::time::store::arm_outside_watch(std::time::Instant::now() + IO_WATCH, move || {
            if let Some(driver) = driver.upgrade() {
                driver.io_watch_fire(armed_at);
            }
        });
    }

    /// The I/O watch, on the timer thread: polls if no worker has since
    /// `armed_at` and none waits in the poller, then re-arms unless one
    /// does (module docs).
    fn io_watch_fire(self: &Arc<Self>, armed_at: usize) {
        self.io_watched.fired();
        if self.is_shutdown() {
            return;
        }
        // Relaxed: a hint (a stale count only moves a poll to the next
        // fire); a worker that polled since has delivered what was ready
        // then.
        let polled = self.polls.load(Ordering::Relaxed) != armed_at;
        if self.polling.anyone_after_fire() {
            if !polled || self.timers.clock().is_virtual() {
                // A worker waits in the poller, and has all along (the
                // runtime is idle), or comes back to it every few
                // milliseconds anyway (virtual time's re-check). Stop; that
                // worker re-arms when it leaves.
                return;
            }
        } else if !polled {
            self.poll_io_now();
        }
        // Re-armed from this thread while the runtime is active: a
        // worker's arm would wake the timer thread once more.
        self.watch_io();
    }

    /// Whether any source is registered (racy: a hint for the busy
    /// worker's turn).
    pub(crate) fn has_sources(&self) -> bool {
        self.num_sources.load(Ordering::Relaxed) > 0
    }

    /// A busy worker's turn (every few dozen tasks): fires due timers, and,
    /// with `io`, takes the I/O events that are ready without blocking,
    /// unless another worker waits in the poller (it gets them).
    ///
    /// Returns whether it woke or ran anything.
    pub(crate) fn maintain(&self, io: bool) -> bool {
        let mut did = false;
        if self.timers.len() > 0 {
            let mut due = Vec::new();
            self.timers
                .take_due_busy(self.timers.clock().now(), &mut due);
            did = !due.is_empty();
            for action in due {
                action.run();
            }
        }
        (io && self.poll_io_now()) || did
    }

    /// Registers `source` for `interest`.
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
        interest: Interest,
    ) -> std::io::Result<Arc<ScheduledIo>> {
        if self.is_shutdown() {
            return Err(gone());
        }
        let mut sources = self.lock_sources();
        let entry = sources.vacant_entry();
        let key = entry.key();
        if key > KEY_MASK {
            return Err(std::io::Error::other(
                "gust: too many I/O sources registered with one runtime (at most 16M)",
            ));
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed);
        let token = (generation << KEY_BITS | key) & !(usize::MAX << (usize::BITS - 1));
        let io = Arc::new(ScheduledIo::new(token));
        self.registry.register(source, Token(token), interest)?;
        entry.insert(io.clone());
        // SeqCst: the I/O watch's rule #1 (`watch_io`).
        self.num_sources.fetch_add(1, Ordering::SeqCst);
        Ok(io)
    }

    /// Frees `io`'s slot (if still there).
    pub(crate) fn remove(&self, io: &ScheduledIo) {
        let mut sources = self.lock_sources();
        let key = io.token & KEY_MASK;
        if sources.get(key).is_some_and(|s| s.token == io.token) {
            let removed = sources.remove(key);
            self.num_sources.fetch_sub(1, Ordering::Relaxed);
            drop(sources);
            drop(removed);
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// The runtime's shutdown, after its workers left: I/O waiters wake and
    /// get an error; timers move to the timer thread.
    pub(crate) fn shutdown(&self) {
        self.shutdown.store(true, Ordering::Release);
        let mut wake = Vec::new();
        for (_, io) in self.lock_sources().iter() {
            io.wake_all(&mut wake);
        }
        for w in wake {
            w.wake();
        }
        self.timers.close(thread_timers);
    }

    /// Ready in `dir`, or the task's waker is stored, under `key` for a
    /// waiter (module docs of `io.rs`). Once the runtime has shut down, an
    /// error, even for a source whose readiness is cached.
    pub(crate) fn poll_ready(
        self: &Arc<Self>,
        io: &ScheduledIo,
        cx: &mut Context<'_>,
        dir: Direction,
        key: Option<&mut u64>,
    ) -> Poll<std::io::Result<ReadyEvent>> {
        if self.is_shutdown() {
            return Poll::Ready(Err(gone()));
        }
        match io.poll_ready(cx, dir, key, || self.is_shutdown()) {
            Poll::Ready(Some(ev)) => {
                // Ready: one unit of the task's budget, or a yield
                // (`coop.rs`); the readiness stays for the next poll.
                std::task::ready!(crate::coop::poll_proceed(cx));
                Poll::Ready(Ok(ev))
            }
            Poll::Ready(None) => Poll::Ready(Err(gone())),
            Poll::Pending => {
                gust_trace::record(gust_trace::Wait::Io);
                // Rule #1 of the I/O watch (module docs); a worker in the
                // poller arms one when it leaves.
                if !self.io_watched.is_armed() && !self.polling.anyone_now() {
                    self.watch_io();
                }
                Poll::Pending
            }
        }
    }

    /// Ready in `dir` now, else `None`; stores no waker and takes nothing
    /// of a task's budget (an operation that does not wait, as `try_read`).
    /// Once the runtime has shut down, an error.
    pub(crate) fn try_ready(
        &self,
        io: &ScheduledIo,
        dir: Direction,
    ) -> std::io::Result<Option<ReadyEvent>> {
        if self.is_shutdown() {
            return Err(gone());
        }
        Ok(io.ready(dir))
    }
}

/// The error of an operation on a source whose runtime has shut down.
fn gone() -> std::io::Error {
    std::io::Error::other("gust: the runtime this I/O source belongs to has shut down")
}

/// The readiness bits a mio event carries.
fn event_bits(ev: &mio::event::Event) -> usize {
    let mut bits = 0;
    if ev.is_readable() {
        bits |= io::READABLE;
    }
    if ev.is_writable() {
        bits |= io::WRITABLE;
    }
    if ev.is_read_closed() {
        bits |= io::READ_CLOSED;
    }
    if ev.is_write_closed() {
        bits |= io::WRITE_CLOSED;
    }
    if ev.is_error() {
        bits |= io::ERROR;
    }
    bits
}

/// The poller, held by one worker.
pub(crate) struct Poller<'a> {
    driver: &'a Driver,
    core: MutexGuard<'a, Core>,
}

impl Poller<'_> {
    /// The parked worker `index`'s wait: unless `still_parked()` says it was
    /// notified meanwhile, fires due timers or waits in the OS poller until
    /// an event, the next deadline or a wake, and delivers what came.
    /// Returns `false` if it did not wait (it was notified).
    ///
    /// On a virtual clock, `runtime_idle()` says whether nothing of the
    /// runtime can run (`clock.rs`): then the clock jumps to the next
    /// deadline instead of waiting for it.
    ///
    /// With no timer pending, `watch()` is the deadlock detector's turn
    /// (`trace/deadlock.rs`): it says how long to wait at most before it
    /// wants another (`None`: no limit).
    pub(crate) fn wait(
        &mut self,
        index: usize,
        still_parked: impl Fn() -> bool,
        runtime_idle: impl Fn() -> bool,
        watch: impl FnOnce() -> Option<Duration>,
    ) -> bool {
        let d = self.driver;
        d.polling.enter(index);
        if !still_parked() {
            d.polling.leave();
            return false;
        }
        let clock = d.timers.clock();
        let now = clock.now();
        let next = d.timers.take_due(now, &mut self.core.due);
        if !self.core.due.is_empty() {
            d.polling.leave();
        } else if !clock.is_virtual() {
            let timeout = match next {
                Some(at) => Some(at.saturating_duration_since(now)),
                None => watch(),
            };
            self.poll_io(timeout);
            // A timer may have come due while we waited.
            d.timers.take_due_busy(clock.now(), &mut self.core.due);
        } else if self.poll_io(Some(Duration::ZERO)) {
            // Virtual time: I/O first; its tasks may set new timers.
        } else if let (Some(at), true) = (next, runtime_idle() && d.outside_idle()) {
            // Nothing can run but a timer: jump to the next deadline (if
            // it is a lower bound, nothing fires; this worker comes back
            // here and jumps again, further).
            if let Clock::Virtual(v) = clock {
                v.advance_to(at);
            }
            d.timers.take_due_busy(clock.now(), &mut self.core.due);
        } else {
            // Something may still run (or nothing ever will): wait for a
            // wake-up; re-check now and then (a blocking job that ends
            // without waking anyone changes the answer silently).
            if next.is_none() {
                // This wait re-checks soon anyway.
                let _ = watch();
            }
            d.polling.enter(index);
            if still_parked() {
                self.poll_io(Some(VIRTUAL_RECHECK));
            } else {
                d.polling.leave();
            }
        }
        d.timers.poller_awake();
        for action in self.core.due.drain(..) {
            action.run();
        }
        true
    }

    /// Waits in the OS poller for at most `timeout` (`None`: no limit) and
    /// delivers the events; returns whether it woke any task.
    fn poll_io(&mut self, timeout: Option<Duration>) -> bool {
        let d = self.driver;
        let core = &mut *self.core;
        let res = core.poll.poll(&mut core.events, timeout);
        d.polling.leave();
        // Relaxed: the I/O watch's hint (`io_watch_fire`).
        d.polls.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = res {
            // EINTR: a signal; the caller's loop comes back. Anything else
            // would be a bug in how the poller is used.
            debug_assert_eq!(e.kind(), std::io::ErrorKind::Interrupted, "poll: {e}");
            return false;
        }
        let sources = d.lock_sources();
        for ev in core.events.iter() {
            let token = ev.token();
            if token == WAKE_TOKEN {
                continue;
            }
            if let Some(io) = sources.get(token.0 & KEY_MASK)
                && io.token == token.0
            {
                io.deliver(event_bits(ev), &mut core.wake);
            }
        }
        drop(sources);
        let woke = !core.wake.is_empty();
        for w in core.wake.drain(..) {
            w.wake();
        }
        woke
    }
}

/// A source registered with a gust runtime's I/O driver: what `gust::net`'s
/// sockets are built on, and what a user's own mio source can use to become
/// a future on gust.
///
/// It is registered with the current runtime (the runtime of the task or
/// `block_on` it is made in; the global runtime outside any), whose workers
/// then wait for its events where they park. Its futures may be polled from
/// any executor.
///
/// # Examples
///
/// ```
/// use gust_executor::io::{Direction, Registration};
/// use std::io::{Read, Write};
///
/// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
/// b.set_nonblocking(true).unwrap();
/// let mut b = mio::net::UnixStream::from_std(b);
/// let reg = Registration::new(&mut b, mio::Interest::READABLE).unwrap();
/// a.write_all(b"hi").unwrap();
/// let mut buf = [0u8; 2];
/// let n = gust_executor::block_on(std::future::poll_fn(|cx| {
///     reg.poll_io(cx, Direction::Read, || (&b).read(&mut buf))
/// }))
/// .unwrap();
/// assert_eq!(&buf[..n], b"hi");
/// reg.deregister(&mut b).unwrap();
/// ```
pub struct Registration {
    driver: Arc<Driver>,
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `source` (a non-blocking mio source) for `interest` with the
    /// current runtime's driver.
    ///
    /// # Errors
    ///
    /// What the OS poller says (for example a source already registered),
    /// or an error if the runtime has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE | Interest::WRITABLE).unwrap();
    /// // Registered already: the poller says so, as an error.
    /// assert!(Registration::new(&mut a, Interest::READABLE).is_err());
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn new(source: &mut impl mio::event::Source, interest: Interest) -> std::io::Result<Self> {
        let driver = crate::runtime::current_driver();
        let io = driver.register(source, interest)?;
        Ok(Self { driver, io })
    }

    /// Ready in `dir` (the returned event goes back to
    /// [`clear_readiness`](Self::clear_readiness) if the operation then says
    /// `WouldBlock`), or `Pending` with the task's waker stored. Several
    /// tasks may wait on one direction; each is woken.
    ///
    /// # Errors
    ///
    /// If the runtime the source is registered with has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::Write;
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// assert!(reg.poll_ready(&mut cx, Direction::Read).is_pending()); // nothing yet
    /// a.write_all(b"x").unwrap();
    /// gust_executor::block_on(std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read))).unwrap();
    /// reg.deregister(&mut b).unwrap();
    /// ```
    pub fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<std::io::Result<ReadyEvent>> {
        self.driver.poll_ready(&self.io, cx, dir, None)
    }

    /// The readiness in `dir` the driver has seen, without waiting: for an
    /// operation that does not wait (tokio's `try_read`). Stores no waker
    /// and, unlike a poll, takes nothing of the task's I/O budget. Give the
    /// event to [`clear_readiness`](Self::clear_readiness) if the
    /// operation then says `WouldBlock`.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::{Read, Write};
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// a.write_all(b"x").unwrap();
    /// // The driver reports the byte once it has polled the OS.
    /// gust_executor::block_on(std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read))).unwrap();
    /// let ev = reg.try_ready(Direction::Read).unwrap().expect("readable");
    /// let mut buf = [0u8; 4];
    /// assert_eq!((&b).read(&mut buf).unwrap(), 1);
    /// assert!((&b).read(&mut buf).is_err()); // WouldBlock: forget it
    /// reg.clear_readiness(ev);
    /// assert!(reg.try_ready(Direction::Read).unwrap().is_none());
    /// reg.deregister(&mut b).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the runtime the source is registered with has shut down.
    pub fn try_ready(&self, dir: Direction) -> std::io::Result<Option<ReadyEvent>> {
        self.driver.try_ready(&self.io, dir)
    }

    /// The waiting side of one operation in `dir`, for a future to hold:
    /// like [`poll_ready`](Self::poll_ready) and [`poll_io`](Self::poll_io),
    /// but the waker it stores goes when the [`Waiter`] is dropped, where
    /// the plain poll functions leave it until the source's next event in
    /// `dir` (`io.rs`, "Who takes a waker out"). Use one per future that
    /// may be dropped while it waits.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::{Read, Write};
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// a.write_all(b"hi").unwrap();
    /// let mut buf = [0u8; 2];
    /// let n = gust_executor::block_on(async {
    ///     let mut waiter = reg.waiter(Direction::Read);
    ///     std::future::poll_fn(|cx| waiter.poll_io(cx, || (&b).read(&mut buf))).await
    /// })
    /// .unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// reg.deregister(&mut b).unwrap();
    /// ```
    pub fn waiter(&self, dir: Direction) -> Waiter<'_> {
        Waiter {
            reg: self,
            dir,
            key: WaitKey::default(),
        }
    }

    /// [`poll_ready`](Self::poll_ready) for a caller that keeps its place
    /// in the wait list itself, where a [`Waiter`] cannot live (a stream's
    /// `poll_read`: the stream keeps the key of its reading side). Polled
    /// again, from any task, it replaces its own entry; give the key to
    /// [`forget`](Self::forget) when the caller goes away.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration, WaitKey};
    /// use std::io::Write;
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// let mut key = WaitKey::default();
    /// b.write_all(b"x").unwrap();
    /// gust_executor::block_on(std::future::poll_fn(|cx| {
    ///     reg.poll_ready_keyed(cx, Direction::Read, &mut key)
    /// }))
    /// .unwrap();
    /// reg.forget(Direction::Read, &mut key);
    /// reg.deregister(&mut a).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// If the runtime the source is registered with has shut down.
    pub fn poll_ready_keyed(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        key: &mut WaitKey,
    ) -> Poll<std::io::Result<ReadyEvent>> {
        self.driver.poll_ready(&self.io, cx, dir, Some(&mut key.0))
    }

    /// Takes the waker stored under `key` in `dir` out of the wait list, if
    /// the driver has not taken it ([`poll_ready_keyed`](Self::poll_ready_keyed)).
    /// A key that never waited, or is forgotten twice, costs nothing.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration, WaitKey};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// let mut key = WaitKey::default();
    /// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// assert!(reg.poll_ready_keyed(&mut cx, Direction::Read, &mut key).is_pending());
    /// reg.forget(Direction::Read, &mut key); // the stored waker goes
    /// reg.forget(Direction::Read, &mut key);
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn forget(&self, dir: Direction, key: &mut WaitKey) {
        self.io.forget(dir, std::mem::take(&mut key.0));
    }

    /// Forgets the readiness `ev` reported, unless an event came since.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::{ErrorKind, Read, Write};
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// a.write_all(b"x").unwrap();
    /// let ready = || std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read));
    /// let ev = gust_executor::block_on(ready()).unwrap();
    /// let mut buf = [0u8; 4];
    /// assert_eq!((&b).read(&mut buf).unwrap(), 1);
    /// let e = (&b).read(&mut buf).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::WouldBlock);
    /// reg.clear_readiness(ev); // the next poll waits for a new event
    /// assert!(reg.try_ready(Direction::Read).unwrap().is_none());
    /// reg.deregister(&mut b).unwrap();
    /// ```
    pub fn clear_readiness(&self, ev: ReadyEvent) {
        self.io.clear(ev);
    }

    /// After a read or write of a byte stream that moved fewer bytes than
    /// asked: the socket's buffer was empty (or full) at that moment, so
    /// the next operation would say `WouldBlock`. Forgets that the source
    /// was readable (or writable), unless an event came since (data that
    /// arrives after the call brings one: the poller is edge-triggered and
    /// reports every arrival); closed and error states are kept. This saves
    /// that system call (tokio's rule). Not for datagram sockets, where a
    /// short read says nothing about the next datagram.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::{Read, Write};
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// a.write_all(b"hi").unwrap();
    /// let ready = || std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Read));
    /// let ev = gust_executor::block_on(ready()).unwrap();
    /// let mut buf = [0u8; 16];
    /// assert_eq!((&b).read(&mut buf).unwrap(), 2); // short: drained
    /// reg.clear_drained(ev);
    /// a.write_all(b"!").unwrap(); // a new event sets it again
    /// gust_executor::block_on(ready()).unwrap();
    /// assert_eq!((&b).read(&mut buf).unwrap(), 1);
    /// reg.deregister(&mut b).unwrap();
    /// ```
    pub fn clear_drained(&self, ev: ReadyEvent) {
        self.io.clear(ev.without_closed());
    }

    /// Runs the non-blocking operation `op` once the source is ready in
    /// `dir`, as often as it says `WouldBlock`; returns its first other
    /// result. Cancel-safe when `op` is: a dropped poll did nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::{Read, Write};
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// let writer = std::thread::spawn(move || a.write_all(b"hi"));
    /// let mut buf = [0u8; 2];
    /// // `read` says `WouldBlock` until the thread has written: it waits.
    /// let n = gust_executor::block_on(std::future::poll_fn(|cx| {
    ///     reg.poll_io(cx, Direction::Read, || (&b).read(&mut buf))
    /// }))
    /// .unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// writer.join().unwrap().unwrap();
    /// reg.deregister(&mut b).unwrap();
    /// ```
    pub fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        op: impl FnMut() -> std::io::Result<R>,
    ) -> Poll<std::io::Result<R>> {
        self.poll_io_as(cx, dir, None, op)
    }

    /// [`poll_io`](Self::poll_io), the waker stored under `key` if given.
    fn poll_io_as<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut key: Option<&mut u64>,
        mut op: impl FnMut() -> std::io::Result<R>,
    ) -> Poll<std::io::Result<R>> {
        loop {
            let ev = match self
                .driver
                .poll_ready(&self.io, cx, dir, key.as_deref_mut())
            {
                Poll::Ready(Ok(ev)) => ev,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                res => return Poll::Ready(res),
            }
        }
    }

    /// Wakes every task waiting in `dir`, with no readiness: each polls
    /// again, and waits again unless something of the caller's changed in
    /// between (a listener closed: `gust_net::TcpListener::close`). Store
    /// that change before calling this; a waiter that checks it after its
    /// poll stored its waker cannot miss both.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::task::Poll;
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// let stop = AtomicBool::new(false);
    /// gust_executor::block_on(async {
    ///     let waiting = std::future::poll_fn(|cx| {
    ///         let r = reg.poll_ready(cx, Direction::Read).map(drop);
    ///         if stop.load(Ordering::SeqCst) { Poll::Ready(()) } else { r }
    ///     });
    ///     let stopper = async {
    ///         stop.store(true, Ordering::SeqCst);
    ///         reg.wake_waiters(Direction::Read);
    ///     };
    ///     futures::join!(waiting, stopper);
    /// });
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn wake_waiters(&self, dir: Direction) {
        wake_waiters_of(&self.io, dir);
    }

    /// A handle that does [`wake_waiters`](Self::wake_waiters) from
    /// anywhere, for as long as it is kept, even after the registration
    /// is gone (it then wakes nobody): for a timer's callback, such as a
    /// socket's deadline.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::time::{Duration, Instant};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// let wakeup = reg.wakeup();
    /// let at = Instant::now() + Duration::from_millis(5);
    /// gust_executor::block_on(std::future::poll_fn(|cx| {
    ///     let _ = reg.poll_ready(cx, Direction::Read); // nothing to read: waits
    ///     if Instant::now() >= at {
    ///         return std::task::Poll::Ready(());
    ///     }
    ///     let wakeup = wakeup.clone();
    ///     std::thread::spawn(move || {
    ///         std::thread::sleep(at.saturating_duration_since(Instant::now()));
    ///         wakeup.wake_waiters(Direction::Read);
    ///     });
    ///     std::task::Poll::Pending
    /// }));
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn wakeup(&self) -> Wakeup {
        Wakeup {
            io: self.io.clone(),
        }
    }

    /// Deregisters `source` (the one this was made for) from the poller: no
    /// more events come for it. Dropping the registration without this
    /// leaves the deregistration to the OS (closing the source's last file
    /// descriptor does it).
    ///
    /// # Errors
    ///
    /// What the OS poller says.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// reg.deregister(&mut a).unwrap();
    /// // Deregistered: a new registration of the same source is allowed.
    /// let again = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// again.deregister(&mut a).unwrap();
    /// ```
    pub fn deregister(&self, source: &mut impl mio::event::Source) -> std::io::Result<()> {
        // The slot is freed when the registration drops (`Drop` below).
        self.driver.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.driver.remove(&self.io);
    }
}

/// One operation waiting on a [`Registration`] in one direction
/// ([`Registration::waiter`]): its stored waker goes when it is dropped.
///
/// ```
/// use gust_executor::io::{Direction, Interest, Registration};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
/// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
/// let mut waiter = reg.waiter(Direction::Read);
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// assert!(waiter.poll_ready(&mut cx).is_pending()); // nothing to read
/// drop(waiter); // takes its waker out of the wait list
/// reg.deregister(&mut a).unwrap();
/// ```
pub struct Waiter<'a> {
    reg: &'a Registration,
    dir: Direction,
    key: WaitKey,
}

/// A caller's place in a source's wait list
/// ([`Registration::poll_ready_keyed`]): none until it first waits. An
/// example is at [`Registration::forget`].
///
/// # Examples
///
/// ```
/// use gust_executor::io::WaitKey;
/// let key = WaitKey::default(); // no place in any wait list yet
/// assert!(format!("{key:?}").starts_with("WaitKey"));
/// ```
#[derive(Debug, Default)]
pub struct WaitKey(u64);

impl Waiter<'_> {
    /// [`Registration::poll_ready`] for this waiter.
    ///
    /// # Errors
    ///
    /// If the runtime the source is registered with has shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::WRITABLE).unwrap();
    /// let mut waiter = reg.waiter(Direction::Write);
    /// // An empty socket buffer: writable once the driver has polled the OS.
    /// gust_executor::block_on(std::future::poll_fn(|cx| waiter.poll_ready(cx))).unwrap();
    /// drop(waiter);
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<ReadyEvent>> {
        self.reg.poll_ready_keyed(cx, self.dir, &mut self.key)
    }

    /// [`Registration::poll_io`] for this waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// use std::io::{Read, Write};
    /// let (mut a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// b.set_nonblocking(true).unwrap();
    /// let mut b = gust_executor::io::mio::net::UnixStream::from_std(b);
    /// let reg = Registration::new(&mut b, Interest::READABLE).unwrap();
    /// let writer = std::thread::spawn(move || a.write_all(b"hi"));
    /// let mut buf = [0u8; 2];
    /// let n = gust_executor::block_on(async {
    ///     let mut waiter = reg.waiter(Direction::Read);
    ///     // `read` says `WouldBlock` until the thread has written: it waits.
    ///     std::future::poll_fn(|cx| waiter.poll_io(cx, || (&b).read(&mut buf))).await
    /// })
    /// .unwrap();
    /// assert_eq!(&buf[..n], b"hi");
    /// writer.join().unwrap().unwrap();
    /// reg.deregister(&mut b).unwrap();
    /// ```
    pub fn poll_io<R>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnMut() -> std::io::Result<R>,
    ) -> Poll<std::io::Result<R>> {
        self.reg.poll_io_as(cx, self.dir, Some(&mut self.key.0), op)
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        self.reg.forget(self.dir, &mut self.key);
    }
}

impl std::fmt::Debug for Waiter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Waiter")
            .field("dir", &self.dir)
            .field("key", &self.key.0)
            .finish_non_exhaustive()
    }
}

/// Wakes the tasks waiting on a [`Registration`], from any thread
/// ([`Registration::wakeup`]).
///
/// ```
/// use gust_executor::io::{Direction, Interest, Registration, Wakeup};
/// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
/// a.set_nonblocking(true).unwrap();
/// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
/// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
/// let wakeup: Wakeup = reg.wakeup();
/// reg.deregister(&mut a).unwrap();
/// drop(reg);
/// wakeup.wake_waiters(Direction::Read); // nobody left: nothing happens
/// ```
#[derive(Clone)]
pub struct Wakeup {
    io: Arc<ScheduledIo>,
}

impl Wakeup {
    /// [`Registration::wake_waiters`], through this handle.
    ///
    /// ```
    /// use gust_executor::io::{Direction, Interest, Registration};
    /// let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// a.set_nonblocking(true).unwrap();
    /// let mut a = gust_executor::io::mio::net::UnixStream::from_std(a);
    /// let reg = Registration::new(&mut a, Interest::READABLE).unwrap();
    /// let wakeup = reg.wakeup();
    /// let mut woken = false;
    /// gust_executor::block_on(std::future::poll_fn(|cx| {
    ///     if woken {
    ///         return std::task::Poll::Ready(());
    ///     }
    ///     assert!(reg.poll_ready(cx, Direction::Read).is_pending());
    ///     woken = true;
    ///     wakeup.wake_waiters(Direction::Read); // wakes this very task
    ///     std::task::Poll::Pending
    /// }));
    /// reg.deregister(&mut a).unwrap();
    /// ```
    pub fn wake_waiters(&self, dir: Direction) {
        wake_waiters_of(&self.io, dir);
    }
}

/// Takes every waker waiting on `io` in `dir` and wakes it, outside the
/// waiters' lock.
fn wake_waiters_of(io: &ScheduledIo, dir: Direction) {
    let mut wake = Vec::new();
    io.take_waiters(dir, &mut wake);
    for w in wake {
        w.wake();
    }
}

impl std::fmt::Debug for Wakeup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeup")
            .field("token", &self.io.token)
            .finish()
    }
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.io.token)
            .finish()
    }
}
