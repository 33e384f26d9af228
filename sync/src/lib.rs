//! # gust-sync: Go's `sync` for async Rust
//!
//! [`Mutex`], [`RwLock`], a weighted FIFO [`Semaphore`] (Go's
//! `x/sync/semaphore`), [`OnceCell`] (`sync.Once` with a value), [`Cond`]
//! and [`Barrier`]. Every wait is a future that works on any executor
//! (gust, tokio, smol, `futures::executor`), with a `_blocking` form for
//! plain threads, and every wait is cancel-safe: a dropped `lock`, `read`,
//! `write`, `acquire` or `wait` never holds, leaks or loses a permit or a
//! wake-up. Guards are `Send` when `T` is, so they may be held across an
//! `.await` inside `spawn` (std's guards may not).
//!
//! | Go | gust |
//! |---|---|
//! | `sync.Mutex` `Lock`/`TryLock`/`Unlock` | [`Mutex::lock`]`.await`, [`Mutex::try_lock`], drop the guard |
//! | `sync.RWMutex` `RLock`/`Lock` | [`RwLock::read`]`.await`, [`RwLock::write`]`.await` |
//! | `semaphore.NewWeighted(n)`, `Acquire(ctx, k)`, `TryAcquire`, `Release` | [`Semaphore::new`], [`Semaphore::acquire`]`(k).await`, [`Semaphore::try_acquire`], drop the permit |
//! | `sync.Once`, `sync.OnceValue` | [`OnceCell::get_or_init`] |
//! | `sync.Cond` `Wait`/`Signal`/`Broadcast` | [`Cond::wait`]`(guard).await`, [`Cond::notify_one`], [`Cond::notify_all`] |
//! | (none; `sync.WaitGroup` per round) | [`Barrier::wait`] |
//!
//! Forms that tokio's (and async-lock's) users reach for, on the same
//! locks and queues:
//!
//! | tokio | gust |
//! |---|---|
//! | `Arc<Mutex<T>>`: `lock_owned().await`, `try_lock_owned()`, `blocking_lock_owned()` | [`Mutex::lock_owned`]`.await`, [`Mutex::try_lock_owned`], [`Mutex::lock_owned_blocking`] → [`OwnedMutexGuard`] (`'static`) |
//! | `Arc<RwLock<T>>`: `read_owned().await`, `write_owned().await`, `try_*_owned()` | [`RwLock::read_owned`], [`RwLock::write_owned`], `try_`/`_blocking` forms → [`OwnedRwLockReadGuard`], [`OwnedRwLockWriteGuard`] |
//! | `Semaphore::close()`, `is_closed()`, `AcquireError` | [`Semaphore::close`], [`Semaphore::is_closed`]; [`AcquireError::is_closed`] tells it from a request above the capacity |
//! | `OnceCell::set(v)`, `get_or_try_init` | [`OnceCell::try_set`] (never waits), [`OnceCell::set`]`.await` (waits for a running initializer), [`OnceCell::get_or_try_init`] |
//!
//! ## Wait reasons
//!
//! Every wait that returns `Pending` records what it waits on
//! ([`gust_trace::Wait::Lock`], with the [`gust_trace::Lock`] kind) into the
//! current gust task's slot, for gust's goroutine dump and deadlock
//! detector; these waits are durable (only another task ends them). An
//! uncontended lock completes in its first poll and records nothing; outside
//! a gust task recording costs one thread-local read.
//!
//! ## Fairness
//!
//! As Go's `sync.Mutex`, [`Mutex`] lets a newly arriving locker take a lock
//! that was just released (throughput), but a waiter that has waited more
//! than 1 ms switches the lock to hand-off mode: no other locker takes it
//! until that waiter has had its turn.
//! [`RwLock`] serves readers and writers in arrival order (Go's rules):
//! once a writer waits, new readers wait behind it, and the readers it
//! kept waiting get in when it unlocks, before a writer that came after
//! them, so neither starves. [`Semaphore`] is strictly FIFO: a large
//! request at the head of the queue is not overtaken by small ones.
//!
//! A lock or permit granted without waiting takes one from the gust task
//! poll's budget of ready waits ([`gust_trace::READY_BUDGET`]); once that is
//! spent, the task yields instead (woken at once and `Pending`, nothing
//! taken), so a task that takes a free lock in a loop lets the tasks that
//! would contend for it run, even on a runtime of one worker, where they
//! could not even start waiting before (Go preempts such a goroutine;
//! tokio's locks take from its budget). Outside a gust task's poll there is
//! no budget.
//!
//! ## A panic while a lock is held
//!
//! There is no poisoning, as in Go and in tokio's and async-lock's locks
//! (std's `Mutex` poisons): a guard dropped by a panic releases the lock
//! like any other drop, and the value stays as the panicking code left it,
//! half-updated perhaps. A program that must not see such a value catches
//! the panic where it can restore it, or lets it end the task that owns the
//! data.
//!
//! ```
//! use std::panic::{AssertUnwindSafe, catch_unwind};
//! let m = gust_sync::Mutex::new(5);
//! let r = catch_unwind(AssertUnwindSafe(|| {
//!     let mut g = m.lock_blocking();
//!     *g = 6;
//!     panic!("midway");
//! }));
//! assert!(r.is_err());
//! assert_eq!(*m.try_lock().expect("released by the unwind"), 6);
//! ```
//!
//! ```
//! use std::sync::Arc;
//! use gust_sync::Mutex;
//! gust_executor::block_on(async {
//!     let counter = Arc::new(Mutex::new(0));
//!     let tasks: Vec<_> = (0..10)
//!         .map(|_| {
//!             let counter = counter.clone();
//!             gust_executor::spawn(async move {
//!                 let mut n = counter.lock().await;
//!                 gust_executor::yield_now().await; // a guard may be held across .await
//!                 *n += 1;
//!             })
//!         })
//!         .collect();
//!     for t in tasks {
//!         t.await.unwrap();
//!     }
//!     assert_eq!(*counter.lock().await, 10);
//! });
//! ```

// Under `--cfg loom` only the semaphore and the mutex's lock word are built
// (tests/loom.rs models them); `RwLock` is built on the semaphore,
// `OnceCell` wraps async-lock, and the barrier is a count under a std
// mutex and an event-listener event.
#[cfg(not(loom))]
mod barrier;
#[cfg(not(loom))]
mod cond;
#[cfg(not(loom))]
mod mutex;
mod mutex_state;
#[cfg(not(loom))]
mod once_cell;
#[cfg(not(loom))]
mod rwlock;
mod semaphore;

#[cfg(not(loom))]
pub use barrier::Barrier;
#[cfg(not(loom))]
pub use cond::Cond;
#[cfg(not(loom))]
pub use mutex::{Mutex, MutexGuard, MutexLock, OwnedMutexGuard};
#[cfg(not(loom))]
pub use once_cell::OnceCell;
#[cfg(not(loom))]
pub use rwlock::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{
    Acquire, AcquireError, AcquireOwned, OwnedSemaphorePermit, Semaphore, SemaphorePermit,
};

#[cfg(all(test, not(loom)))]
mod tests;
