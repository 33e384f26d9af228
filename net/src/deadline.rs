//! Go's deadlines (`SetDeadline`, `SetReadDeadline`, `SetWriteDeadline`):
//! an instant after which a socket's operations in one direction fail with
//! `TimedOut` ("i/o timeout") instead of waiting, those already waiting
//! included, until the deadline is moved or cleared.
//!
//! # How
//!
//! Each direction has a slot: its deadline and a timer that wakes the
//! direction's waiters when the deadline passes. An operation checks its
//! direction's deadline before it polls the source, and again after a poll
//! that stored its waker and returned `Pending` ([`Deadlines::guard`]).
//! Setting a deadline stores it, then wakes the direction's waiters at
//! once if it has passed, or arms the timer to do so when it passes.
//!
//! No wake-up is lost: the setter stores the deadline before its wake-up
//! takes the waiters' lock, and the operation stores its waker under that
//! lock before its second check. If the operation's lock comes first, the
//! wake-up finds its waker; if the setter's comes first, the second check
//! sees the deadline (the lock orders the store before the load). A timer
//! fires at or after its instant on the clock the check reads
//! (`gust_executor::time::now`, virtual under `start_paused`), so the woken
//! operation finds the deadline passed, provided the setter and the
//! operation read the same clock: both on the socket's runtime, or both off
//! any virtual one. (A deadline set from a plain thread on a socket whose
//! runtime runs on a virtual clock is armed on the real clock, and the
//! operation, reading the virtual one, may wait past it.)
//!
//! # Cost
//!
//! A socket without a deadline pays one relaxed load per operation (the
//! `set` bits) and a pointer; the slots are allocated by the first
//! deadline set.

use gust_executor::io::{Direction, Wakeup};
use gust_executor::time::TimerHandle;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Poll;
use std::time::Instant;

/// The deadlines of one socket's two directions.
#[derive(Default)]
pub(crate) struct Deadlines {
    /// Bit `dir` set while that direction has a deadline (written under
    /// `slots`' lock; read without it, module docs).
    set: AtomicU8,
    /// Made by the first deadline set.
    slots: OnceLock<Box<Mutex<[Slot; 2]>>>,
}

#[derive(Default)]
struct Slot {
    at: Option<Instant>,
    /// Wakes the direction's waiters at `at`; stopped when `at` changes.
    timer: Option<TimerHandle>,
}

fn index(dir: Direction) -> usize {
    match dir {
        Direction::Read => 0,
        Direction::Write => 1,
    }
}

/// What an operation past its deadline returns (Go's
/// `os.ErrDeadlineExceeded`, whose text this is).
pub(crate) fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "i/o timeout")
}

impl Deadlines {
    fn slots(&self) -> MutexGuard<'_, [Slot; 2]> {
        self.slots
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (or, with `None`, clears) the deadline of `dir`; `wakeup` wakes
    /// the direction's waiters.
    pub(crate) fn set(&self, dir: Direction, at: Option<Instant>, wakeup: &Wakeup) {
        let i = index(dir);
        let passed = {
            let mut slots = self.slots();
            let slot = &mut slots[i];
            if let Some(t) = slot.timer.take() {
                t.stop();
            }
            slot.at = at;
            let bit = 1 << i;
            // Relaxed: under the lock, which orders it for the checks
            // that matter (module docs).
            if at.is_some() {
                self.set.fetch_or(bit, Ordering::Relaxed);
            } else {
                self.set.fetch_and(!bit, Ordering::Relaxed);
            }
            match at {
                Some(at) if at > gust_executor::time::now() => {
                    let wakeup = wakeup.clone();
                    // `call_at`: a short callback on the firing thread.
                    slot.timer = Some(gust_executor::time::call_at(at, move || {
                        wakeup.wake_waiters(dir)
                    }));
                    false
                }
                Some(_) => true,
                None => false,
            }
        };
        if passed {
            wakeup.wake_waiters(dir);
        }
    }

    /// `Err(TimedOut)` if `dir`'s deadline has passed.
    #[inline]
    pub(crate) fn check(&self, dir: Direction) -> io::Result<()> {
        if self.set.load(Ordering::Relaxed) & (1 << index(dir)) == 0 {
            return Ok(());
        }
        self.check_slow(dir)
    }

    #[cold]
    fn check_slow(&self, dir: Direction) -> io::Result<()> {
        match self.slots()[index(dir)].at {
            Some(at) if gust_executor::time::now() >= at => Err(timed_out()),
            _ => Ok(()),
        }
    }

    /// `poll`, unless `dir`'s deadline has passed, checked before and,
    /// when `poll` returns `Pending`, after it (module docs).
    #[inline]
    pub(crate) fn guard<R>(
        &self,
        dir: Direction,
        poll: impl FnOnce() -> Poll<io::Result<R>>,
    ) -> Poll<io::Result<R>> {
        if let Err(e) = self.check(dir) {
            return Poll::Ready(Err(e));
        }
        match poll() {
            Poll::Pending => match self.check(dir) {
                Err(e) => Poll::Ready(Err(e)),
                Ok(()) => Poll::Pending,
            },
            polled => polled,
        }
    }
}

impl Drop for Deadlines {
    fn drop(&mut self) {
        // Free the timers now rather than when they fire.
        if let Some(slots) = self.slots.get_mut() {
            let slots = slots.get_mut().unwrap_or_else(|e| e.into_inner());
            for slot in slots.iter_mut() {
                if let Some(t) = slot.timer.take() {
                    t.stop();
                }
            }
        }
    }
}

/// Go's three deadline setters on a socket type `$ty` whose `io` is its
/// `Registered` source (or an `Arc` of it). For the doc examples: `$make`
/// makes the socket `s` inside an `async` block returning `io::Result`,
/// `$read` and `$write` are one read and one write on it.
macro_rules! setters {
    ($ty:ident, $make:literal, $read:literal, $write:literal) => {
        impl $ty {
            /// Go's `SetReadDeadline`: once `at` has passed, reads (pending
            /// ones included) fail with `TimedOut` ("i/o timeout") instead
            /// of waiting, until the deadline is moved or cleared (`None`);
            /// what was not read stays for the next read. `at` is on the
            /// clock of [`gust::time::now`](gust_executor::time::now):
            /// under `start_paused`, set it from the socket's runtime (a
            /// task or its `block_on`). To time out one call,
            /// `gust::time::timeout` around it does too.
            ///
            /// # Errors
            ///
            /// If the socket's runtime has shut down (its operations
            /// fail then anyway), as Go's returns an error on a closed
            /// connection.
            ///
            /// # Examples
            ///
            /// ```
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     s.set_read_deadline(Some(gust_executor::time::now()))?;
            #[doc = concat!("    let e = ", $read, ".await.unwrap_err(); // nothing waits")]
            ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
            ///     assert_eq!(e.to_string(), "i/o timeout");
            ///     s.set_read_deadline(None)?;
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn set_read_deadline(&self, at: Option<std::time::Instant>) -> std::io::Result<()> {
                self.io.set_deadline(gust_executor::io::Direction::Read, at)
            }

            /// Go's `SetWriteDeadline`: as
            /// [`set_read_deadline`](Self::set_read_deadline), for writes
            /// (a write waits while the socket's send buffer is full).
            ///
            /// # Errors
            ///
            /// As [`set_read_deadline`](Self::set_read_deadline)'s.
            ///
            /// # Examples
            ///
            /// ```
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     s.set_write_deadline(Some(gust_executor::time::now()))?;
            #[doc = concat!("    let e = ", $write, ".await.unwrap_err();")]
            ///     assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
            ///     s.set_write_deadline(None)?;
            #[doc = concat!("    ", $write, ".await?;")]
            ///     std::io::Result::Ok(())
            /// })
            /// .unwrap();
            /// ```
            pub fn set_write_deadline(
                &self,
                at: Option<std::time::Instant>,
            ) -> std::io::Result<()> {
                self.io
                    .set_deadline(gust_executor::io::Direction::Write, at)
            }

            /// Go's `SetDeadline`: both
            /// [`set_read_deadline`](Self::set_read_deadline) and
            /// [`set_write_deadline`](Self::set_write_deadline). Another
            /// task's `set_deadline(Some(now()))` stops a read or write
            /// that waits (Go's way to unblock a reader).
            ///
            /// # Errors
            ///
            /// As [`set_read_deadline`](Self::set_read_deadline)'s.
            ///
            /// # Examples
            ///
            /// ```
            /// gust_executor::block_on(async {
            #[doc = $make]
            ///     s.set_deadline(Some(gust_executor::time::now()))?;
            #[doc = concat!("    assert!(", $read, ".await.is_err());")]
            #[doc = concat!("    assert!(", $write, ".await.is_err());")]
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
pub(crate) use setters;
