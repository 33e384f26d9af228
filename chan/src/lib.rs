//! Go's channels and `select` for async Rust: the channel half of `gust`.
//!
//! ```
//! use gust_chan::{chan, select};
//! # futures::executor::block_on(async {
//! let (tx, rx) = chan::<u32>(0); // make(chan uint32): rendezvous
//! let t = std::thread::spawn(move || {
//!     for i in 0..3 { tx.send_blocking(i).unwrap(); }
//! }); // tx dropped: the channel closes
//! let mut sum = 0;
//! loop {
//!     select! {
//!         v = rx.recv() => match v {
//!             Some(v) => sum += v,
//!             None => break, // closed and drained
//!         },
//!     }
//! }
//! assert_eq!(sum, 3);
//! t.join().unwrap();
//! # });
//! ```
//!
//! # Go semantics, side by side
//!
//! | Go | gust |
//! |---|---|
//! | `ch := make(chan T, n)` | `let ch = Chan::<T>::new(n)` or `let (tx, rx) = chan::<T>(n)` |
//! | `chan<- T`, `<-chan T` | [`Sender<T>`], [`Receiver<T>`] |
//! | `ch <- v` | `tx.send(v).await?` (`send_blocking` from a thread) |
//! | `v, ok := <-ch` | `let v: Option<T> = rx.recv().await` |
//! | `for v := range ch` | `while let Some(v) = rx.recv().await` (or the `Stream`) |
//! | `close(ch)` | `tx.close()`; also when the last `Sender`/`Chan` drops |
//! | send on a closed channel: panic | `Err(SendError(v))`: the value comes back |
//! | receive on a closed channel | buffered values, then `None` |
//! | nil channel in `select` | a case disabled by `, if false` |
//! | `select { ... default: }` | [`select!`] with `default => ...` |
//! | `len(ch)`, `cap(ch)` | `len()`, `cap()` (`len()` is 0 for rendezvous) |
//!
//! # Guarantees
//!
//! * Exactly one operation of a `select!` commits, also when both ends of a
//!   rendezvous channel are selects; among ready cases the choice is uniform.
//! * Waiting senders and receivers are served first-come, first-served.
//! * Cancel safety: dropping a pending `recv` (or a select with receive
//!   cases) loses no value: a value already handed to it goes back to the
//!   channel, to the next waiting receiver or the front of the buffer. While
//!   such a value is in flight, a closed channel does not yet report "closed
//!   and drained" to other receivers. Dropping a pending `send` never both
//!   delivers and returns the value (it may have been delivered just before
//!   the drop: that is the commit point, as in Go).
//! * `close` wakes every waiting sender (with its value back) and receiver.
//! * A task that loops on a channel that is always ready (fed by a plain
//!   thread, by another runtime, or by the task itself) lets the other tasks
//!   of its worker run: in a gust task, a `send`, `recv`, `closed` or
//!   `select!` (with no `default`; one unit for the whole select, whose
//!   future cases are polled with none) that would complete at once takes
//!   one from the poll's budget of ready waits (`gust_trace::READY_BUDGET`,
//!   1,024), and once it is spent it yields instead (wakes its task,
//!   returns `Pending`, does nothing: cancel-safe). Go preempts such a goroutine; tokio's channels
//!   take from its budget. Outside a gust task's poll (another executor, a
//!   plain thread) there is no budget.
//!
//! # Architecture
//!
//! * `chan.rs`: the channel core (Go's `hchan`): one short lock around the
//!   buffer, the send and receive wait queues and the closed flag; both
//!   flavors (rendezvous, bounded) in one code path.
//! * `waiter.rs`: queue entries (Go's `sudog`) and the per-operation selection
//!   word that makes exactly one operation of a select commit.
//! * `select/`: the select engine (commit protocol essay at its top) and the
//!   `select!` macro.
//! * `handles.rs`: `Chan`, `Sender`, `Receiver`, the `send`/`recv` futures,
//!   `Stream`/`Sink`.
//! * `blocking.rs`: the `_blocking` methods park the calling thread.
//! * `loom.rs`: std vs loom primitives for the loom models.
//!
//! Nothing here depends on an executor: the futures work on any (tokio, smol,
//! `futures::executor`, gust's own) and the `_blocking` methods on plain
//! threads.

mod blocking;
mod chan;
mod engine;
mod error;
mod handles;
mod loom;
mod ring;
mod waiter;

pub use engine::Select;
pub use error::{SendError, TryRecvError, TrySendError};
pub use handles::{Chan, Closed, Receiver, RecvFuture, SendFuture, Sender, chan};

/// [`Select`], a select over cases added at run time (Go's
/// `reflect.Select`), and what it returns. (The `select!` macro has the same
/// name in the macro namespace.)
pub mod select {
    pub use crate::engine::{
        MAX_DYNAMIC_CASES, Outcome, Select, SelectRecv, SelectSend, SelectWait,
    };
}

/// Internals of `select!`; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::chan::{Inner, RecvState, SendState, Shared};
    pub use crate::engine::{
        Case, CaseOutput, ChanCase, ChanOp, FutCase, IntoChanCase, IntoFutCase, Kind, MAX_CASES,
        RawLock, RecvCase, SelectState, SendCase, Token, Wakeups, Wrap, select_case, take_output,
    };
}

#[cfg(test)]
mod tests;
