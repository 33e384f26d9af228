//! The cooperative I/O budget: a task whose sockets are always ready still
//! lets the others run.
//!
//! A gust socket operation only waits when the OS says `WouldBlock`. So a
//! task that finds its socket ready every time never returns `Pending`: an
//! echo connection whose client, on another core, answers each reply
//! before the server reads again reads, writes and reads again inside one
//! poll, for as long as the client keeps up, and every other task of its
//! worker waits (measured, bench/net's echo server with 50 connections at
//! 1 worker: half the round trips took 150 us, one in a hundred 8 ms, one
//! in a thousand 12 ms, in steps of the kernel's 4 ms tick: the hot
//! connections ran until the OS took a client thread off its core). Go
//! preempts such a goroutine after 10 ms; tokio gives every task poll a
//! budget of 128 operations.
//!
//! Here every poll of a task on a worker ([`budgeted`]) may complete
//! [`BUDGET`] readiness checks of the runtime's I/O driver; past that, a
//! ready source answers `Pending` and wakes the task at once, which puts it
//! at the back of its worker's queue (as `yield_now`), its readiness kept
//! for the next poll. Nothing was done, so the operation stays cancel-safe.
//! Checks that find the source not ready cost nothing. Outside a worker's
//! task poll (a `block_on`, a thread of another executor) there is no
//! budget: nothing else waits behind that poll on that thread.
//!
//! Waits that complete at once without a system call (locks, channels, a
//! sleep already due, a `WaitGroup` at zero, an ended `Context`) take from
//! a budget of their own, gust-trace's `READY_BUDGET` per poll (1,024),
//! given by the same per-poll `enter` that sets the wait slot: they are
//! cheap, so many more of them fit in a poll's fair share. A free lock
//! needs no producer, and a channel that is always ready may be fed from
//! outside the worker (a plain thread, another runtime, the task itself):
//! a task that looped on either kept a lone worker from every other task.

use std::cell::Cell;
use std::task::{Context, Poll};

/// Readiness checks a task poll may complete (each is one system call or
/// more: a read, a write, an accept).
pub(crate) const BUDGET: u32 = 32;

/// `LEFT` outside a budgeted poll.
const UNCONSTRAINED: u32 = u32::MAX;

thread_local! {
    /// What is left of the running poll's budget on this thread.
    static LEFT: Cell<u32> = const { Cell::new(UNCONSTRAINED) };
}

/// Runs `f` (a task's poll) with a fresh budget.
#[inline]
pub(crate) fn budgeted<R>(f: impl FnOnce() -> R) -> R {
    with_left(BUDGET, f)
}

/// Runs `f` (a `block_on`'s poll, which may be nested inside a task's)
/// without a budget: nothing would refill it between its polls.
#[inline]
pub(crate) fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_left(UNCONSTRAINED, f)
}

fn with_left<R>(left: u32, f: impl FnOnce() -> R) -> R {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = LEFT.try_with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(LEFT.try_with(|c| c.replace(left)).unwrap_or(UNCONSTRAINED));
    f()
}

/// Takes one unit for an operation on a ready source; with none left,
/// wakes the task (it goes to the back of the queue) and says `Pending`.
#[inline]
pub(crate) fn poll_proceed(cx: &mut Context<'_>) -> Poll<()> {
    let left = LEFT.try_with(Cell::get).unwrap_or(UNCONSTRAINED);
    if left == UNCONSTRAINED {
        return Poll::Ready(());
    }
    if left == 0 {
        cx.waker().wake_by_ref();
        return Poll::Pending;
    }
    LEFT.with(|c| c.set(left - 1));
    Poll::Ready(())
}
