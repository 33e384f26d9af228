//! # gust: Go's concurrency model, in async Rust
//!
//! `go f()`, `make(chan T)`, `select`, `sync.WaitGroup` and
//! `context.Context`, with Go's semantics, as futures that run on a fast
//! multi-threaded work-stealing executor. The channels, `WaitGroup` and
//! `Context` do not need gust's executor: they work on tokio, smol,
//! `futures::executor`, and from plain threads through their `_blocking`
//! methods.
//!
//! ```
//! use gust::{WaitGroup, chan, select};
//! use std::time::Duration;
//!
//! gust::block_on(async {
//!     let (tx, rx) = chan::<u32>(0); // make(chan uint32)
//!     let wg = WaitGroup::new();
//!     for i in 0..3 {
//!         let tx = tx.clone();
//!         wg.go(async move { tx.send(i).await.unwrap() }); // wg.Go(func() { ch <- i })
//!     }
//!     drop(tx);
//!     let mut sum = 0;
//!     loop {
//!         select! {
//!             v = rx.recv() => match v {
//!                 Some(v) => sum += v,
//!                 None => break, // closed: every sender is gone
//!             },
//!             _ = gust::time::after(Duration::from_secs(5)) => panic!("timed out"),
//!         }
//!     }
//!     wg.wait().await;
//!     assert_eq!(sum, 3);
//! });
//! ```
//!
//! ## From Go to gust
//!
//! | Go | gust |
//! |---|---|
//! | `go f()` | [`spawn(f())`](spawn) (returns a [`JoinHandle`]; dropping it detaches) |
//! | `make(chan T)` / `make(chan T, n)` | [`Chan::<T>::new(0)`](Chan) / `Chan::new(n)`, or [`chan::<T>(n)`](fn@chan) for a `(Sender, Receiver)` pair |
//! | `chan<- T` / `<-chan T` | [`Sender<T>`] / [`Receiver<T>`] (`chan.sender()`, `chan.receiver()`) |
//! | `ch <- v` | `ch.send(v).await?` (hands `v` back in the error when closed) |
//! | `v, ok := <-ch` | `let v: Option<T> = ch.recv().await` (`None` = closed and drained) |
//! | `for v := range ch` | `while let Some(v) = ch.recv().await`, or `Receiver` as a `Stream` |
//! | `close(ch)` | `ch.close()` (idempotent; also when the last sender is dropped) |
//! | `select { case ...: default: }` | [`select!`] with `default =>`; a nil channel is `, if false` |
//! | `time.Sleep`, `time.After`, `time.NewTicker` | [`time::sleep`], [`time::after`], [`time::Ticker`] |
//! | `time.NewTimer`, `Stop`, `Reset`, `time.Tick` | [`time::Timer`] (Go 1.23: no stale value), [`time::tick`] |
//! | `sync.Mutex`, `RWMutex`, `Once`, `Cond`; `x/sync/semaphore` | [`sync::Mutex`], [`sync::RwLock`], [`sync::OnceCell`], [`sync::Cond`]; [`sync::Semaphore`] |
//! | `reflect.Select` | [`Select`] (cases added at run time) |
//! | `sync.WaitGroup` (`Add`, `Done`, `Wait`, `Go`) | [`WaitGroup`] (`add`, `done`, `wait().await`, `go`) |
//! | `context.WithCancel`, `WithTimeout`, `WithDeadline`, `WithValue` | [`Context::with_cancel`] and friends |
//! | `context.Cause`, `WithCancelCause` | [`Context::cause`], [`CancelFunc::cancel_with_cause`] |
//! | `defer cancel()` | dropping the [`CancelFunc`] cancels |
//! | `errgroup.WithContext`, `g.Go`, `g.SetLimit`, `g.Wait` | [`errgroup::Group`] |
//! | a `WaitGroup` and a results channel; (tokio) `JoinSet`, `AbortHandle` | [`task::JoinSet`] (results as tasks finish), [`JoinHandle::abort_handle`] |
//! | `runtime.NumGoroutine()` | [`num_tasks()`] |
//! | `GOMAXPROCS` | the `GUST_WORKERS` environment variable, or [`runtime::Builder::workers`] |
//! | all goroutines' stacks (`runtime.Stack`, SIGQUIT) | [`runtime::dump()`] (what each task waits on, in Go's format); `GUST_SIGQUIT_DUMP=1` |
//! | "all goroutines are asleep - deadlock!" | the same report, [`runtime::OnDeadlock`] / `GUST_DEADLOCK` (a panic under `#[gust::test]`) |
//! | a named goroutine (pprof labels) | [`task::Builder::name`] |
//!
//! ## Semantics
//!
//! - **Close.** `close` is idempotent and returns `true` only for the call
//!   that closed. After it, sends fail with the value handed back, receivers
//!   drain what is buffered and then get `None`, and every blocked sender and
//!   receiver wakes at once. The last `Chan`/`Sender` dropped closes the
//!   channel; with no receiving handle left, sends fail at once with the value.
//! - **Rendezvous and bounded.** With capacity 0 a send completes only when a
//!   receiver has taken the value; with capacity n the channel is FIFO and a
//!   send waits while it is full. Waiting senders and receivers are served
//!   first come, first served.
//! - **`select!`.** Case expressions are evaluated once, in source order,
//!   before waiting (a case disabled by `, if false` is not evaluated).
//!   Exactly one arm runs and exactly one channel operation commits, also when
//!   a select sending on a rendezvous channel pairs with a select receiving on
//!   it; a value offered by a send case that was not chosen is never
//!   delivered. `default` makes it non-blocking; all cases disabled and no
//!   default waits forever, as Go's does.
//! - **Fairness.** Among the cases ready at the same time (channel and future
//!   cases alike) each is chosen with equal probability: every poll walks the
//!   cases in a fresh uniformly random order.
//! - **Cancel safety.** Every future here may be dropped: a dropped pending
//!   `recv` loses no value (one already handed to it goes back to the
//!   channel), a dropped pending `send` never both delivers and returns its
//!   value, and a dropped `select!` commits nothing it had not committed.
//! - **Panics.** A panicking task does not take a worker down: the panic goes
//!   to its [`JoinHandle`] (`JoinError::is_panic`, `into_panic`) and the panic
//!   hook prints it once. `WaitGroup::go` calls `done` even when the future
//!   panics; a [`CancelFunc`] dropped during unwinding cancels its context. A
//!   `WaitGroup` counter that would go negative panics with a message saying
//!   so, and a channel capacity that cannot be allocated panics naming it.
//!
//! ## Where gust differs from Go, on purpose
//!
//! - A send on a closed channel returns `Err(SendError(v))` with the value
//!   instead of panicking: a library should not bring a service down, and the
//!   value is never lost.
//! - A channel closes by itself when its last sending handle is dropped, so
//!   `for range` loops end without an explicit `close`.
//! - A send to a channel whose every receiving handle is gone fails at once
//!   (Go would block forever).
//! - A [`CancelFunc`] cancels its context when dropped: the `defer cancel()`
//!   Go vets for is automatic.
//! - Context values are keyed by their type, not by an arbitrary key.
//!
//! ## `#[gust::main]` and `#[gust::test]`
//!
//! An `async fn` as a program's `main` (on the global runtime, or on one of
//! its own with `workers = N`) or as a test (on a fresh runtime, 1 worker
//! unless `workers = N`). The body is the runtime's `block_on` future, so it
//! need not be `Send`.
//!
//! ```
//! #[gust::main]
//! async fn main() {
//!     let answer = gust::spawn(async { 6 * 7 }).await.unwrap();
//!     assert_eq!(answer, 42);
//! }
//! ```
//!
//! Mistakes are errors at the attribute:
//!
//! ```compile_fail
//! #[gust::main]
//! fn main() {} // error: #[gust::main] goes on an `async fn`
//! ```
//!
//! ```compile_fail
//! #[gust::test(workers = 0)] // error: `workers` must be an integer from 1 to 32767
//! async fn t() {}
//! # fn main() {}
//! ```
//!
//! A crate that renamed its gust dependency (`g = { package = "gust", .. }`
//! in Cargo.toml) says so with `crate = "g"`, as with tokio's attributes:
//!
//! ```
//! use gust as g; // (here a `use` alias stands for the renamed dependency)
//!
//! #[g::main(crate = "g")]
//! async fn main() {
//!     assert_eq!(g::spawn(async { 1 }).await.unwrap(), 1);
//! }
//! ```
//!
//! Under `#[gust::test]` a deadlock (the body and every task waiting on
//! what only another of them could end) fails the test with Go's message
//! and the task dump, instead of hanging.
//!
//! `#[gust::test(start_paused = true)]` runs the test on virtual time: the
//! runtime's clock stands still while anything of it can run, and jumps to
//! the next timer when nothing can, so timeouts take no real time:
//!
//! ```
//! use std::time::Duration;
//!
//! // As a test: #[gust::test(start_paused = true)] async fn an_hour() { .. }
//! #[gust::main(start_paused = true)]
//! async fn main() {
//!     let start = gust::time::now();
//!     let r = gust::time::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
//!     assert!(r.is_err());
//!     assert_eq!(gust::time::now() - start, Duration::from_secs(3600));
//! }
//! ```
//!
//! ## Crates
//!
//! The facade re-exports seven crates: `gust-executor` (runtime, tasks,
//! timers), `gust-chan` (channels, `select!` and [`Select`]),
//! `gust-waitgroup`, `gust-context` (with `errgroup`), `gust-sync`,
//! `gust-macros` (`#[gust::main]`, `#[gust::test]`) and `gust-net`.

pub use gust_chan::{
    Chan, Receiver, Select, SendError, Sender, TryRecvError, TrySendError, chan, select,
};
pub use gust_context::{CancelFunc, Context, errgroup};
pub use gust_executor::{
    JoinError, JoinHandle, block_on, num_tasks, runtime, spawn, spawn_blocking, task, time,
    yield_now,
};
pub use gust_macros::{main, test};
pub use gust_waitgroup::WaitGroup;

/// The named future types of channel operations, for code that stores or
/// names them: [`RecvFuture`](chan::RecvFuture) (`recv()`),
/// [`SendFuture`](chan::SendFuture) (`send(v)`), [`Closed`](chan::Closed)
/// (`closed()`). (The module shares its name with the function
/// [`chan()`](fn@chan); each is found where it is used.)
///
/// ```
/// let (tx, rx) = gust::chan::<u8>(1);
/// let send: gust::chan::SendFuture<'_, u8> = tx.send(1);
/// gust::block_on(send).unwrap();
/// let recv: gust::chan::RecvFuture<'_, u8> = rx.recv();
/// assert_eq!(gust::block_on(recv), Some(1));
/// ```
pub mod chan {
    pub use gust_chan::{Closed, RecvFuture, SendFuture};
}

/// Go's `sync` package (and `x/sync/semaphore`): [`Mutex`](sync::Mutex),
/// [`RwLock`](sync::RwLock), [`Semaphore`](sync::Semaphore),
/// [`OnceCell`](sync::OnceCell), [`Cond`](sync::Cond),
/// [`Barrier`](sync::Barrier). `WaitGroup` is at the crate root.
pub mod sync {
    pub use gust_sync::*;
}

/// Go's `net` package on the runtime's own I/O driver:
/// [`TcpListener`](net::TcpListener), [`TcpStream`](net::TcpStream),
/// [`UdpSocket`](net::UdpSocket) and, on Unix,
/// [`UnixListener`](net::UnixListener), [`UnixStream`](net::UnixStream) and
/// [`UnixDatagram`](net::UnixDatagram).
pub mod net {
    pub use gust_net::*;
}

/// The runtime's I/O driver, for mio sources of your own
/// ([`Registration`](io::Registration)).
pub mod io {
    pub use gust_executor::io::*;
}

/// Go's `os/signal` (Unix): [`notify`](signal::notify) relays signals to
/// a channel, [`notify_context`](signal::notify_context) cancels a
/// [`Context`] on one, [`ctrl_c`](signal::ctrl_c) waits for a Ctrl-C.
///
/// ```no_run
/// use gust::signal::{self, Signal};
///
/// #[gust::main]
/// async fn main() {
///     // ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
///     let (ctx, _stop) =
///         signal::notify_context(&gust::Context::background(), &[Signal::INTERRUPT, Signal::SIGTERM])
///             .expect("signals");
///     gust::select! {
///         _ = ctx.done() => println!("{}; shutting down", ctx.cause().unwrap()),
///         _ = gust::time::sleep(std::time::Duration::from_secs(60)) => println!("done"),
///     }
/// }
/// ```
#[cfg(unix)]
pub mod signal {
    pub use gust_context::signal::{SignalError, notify_context};
    pub use gust_executor::signal::*;
}

/// Go's `context` package: the error type and the rest of the context API.
pub mod context {
    pub use gust_context::*;
}

/// The README's Rust examples, compiled and run as doctests (so that the
/// first thing a user reads cannot go stale).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
