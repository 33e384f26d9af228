//! [`Cond`]: Go's `sync.Cond`, on gust's [`Mutex`](crate::Mutex). A pending
//! `wait` records its task's wait reason (gust-trace), for the task dump:
//! `Lock::Cond` while it waits for a notification, then `Lock::Mutex` while
//! it locks the mutex again.

use event_listener::{Event, IntoNotification, Listener};
use gust_trace::{Lock, Wait, traced};

use crate::mutex::MutexGuard;

/// A condition variable (Go's `sync.Cond`): tasks wait, with a [`Mutex`](crate::Mutex)
/// held, until another task signals that the condition they wait for may
/// have changed.
///
/// [`wait`](Cond::wait) releases the mutex and waits, as one step (a
/// notification sent after it released the lock is not missed), then locks
/// again before it returns the guard. As in Go, a wake-up says only that the
/// condition may hold: check it in a loop. Cancel-safe: a `wait` dropped
/// after it was notified passes the notification on to another waiter.
///
/// ```
/// use std::sync::Arc;
/// use gust_sync::{Cond, Mutex};
/// gust_executor::block_on(async {
///     let state = Arc::new((Mutex::new(false), Cond::new()));
///     let s = state.clone();
///     let waiter = gust_executor::spawn(async move {
///         let (m, c) = &*s;
///         let mut ready = m.lock().await;
///         while !*ready {
///             ready = c.wait(ready).await;
///         }
///     });
///     let (m, c) = &*state;
///     *m.lock().await = true;
///     c.notify_all();
///     waiter.await.unwrap();
/// });
/// ```
#[derive(Debug, Default)]
pub struct Cond {
    event: Event,
}

/// Passes a notification on to one more waiter when dropped: held by a
/// notified `wait` while it locks the mutex again, and forgotten once it
/// has.
struct PassOn<'a>(&'a Event);

impl Drop for PassOn<'_> {
    fn drop(&mut self) {
        self.0.notify(1.additional());
    }
}

impl Cond {
    /// A condition variable with no waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::Cond::new();
    /// c.notify_one(); // nobody waits: nothing happens
    /// ```
    pub const fn new() -> Self {
        Self {
            event: Event::new(),
        }
    }

    /// Releases `guard`'s mutex, waits for a notification, and locks the
    /// mutex again (Go's `Wait`). Any mutex may be used, but each waiter
    /// must hold the one that guards the condition.
    ///
    /// # Cancellation
    ///
    /// Dropped before it completes, the wait passes a notification it took
    /// on to another waiter (while it waits for one, or while it relocks).
    /// Once it has completed, its notification is spent: a `select!` that
    /// has this wait as a case and commits another case in the same poll
    /// drops the returned guard, and no other waiter hears of that
    /// notification. Waiters that check their condition in a loop after a
    /// timeout or another wake-up (as Go's `Wait` asks) lose nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gust_sync::{Cond, Mutex};
    /// gust_executor::block_on(async {
    ///     let pair = Arc::new((Mutex::new(0), Cond::new()));
    ///     let p = pair.clone();
    ///     let t = gust_executor::spawn(async move {
    ///         let mut n = p.0.lock().await;
    ///         while *n == 0 {
    ///             n = p.1.wait(n).await;
    ///         }
    ///         *n
    ///     });
    ///     *pair.0.lock().await = 5;
    ///     pair.1.notify_one();
    ///     assert_eq!(t.await.unwrap(), 5);
    /// });
    /// ```
    pub async fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex;
        // Listen before unlocking: a notify sent once the lock is free
        // reaches this listener.
        let listener = self.event.listen();
        drop(guard);
        traced(listener, Wait::Lock(Lock::Cond)).await;
        // Notified: from here until the mutex is ours, a drop hands the
        // notification to another waiter (as the listener's drop does
        // before it fired), or a signal would wake nobody who acts on it.
        let pass_on = PassOn(&self.event);
        let guard = mutex.lock().await;
        std::mem::forget(pass_on);
        guard
    }

    /// [`wait`](Self::wait), blocking this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use gust_sync::{Cond, Mutex};
    /// let pair = Arc::new((Mutex::new(false), Cond::new()));
    /// let p = pair.clone();
    /// let t = std::thread::spawn(move || {
    ///     let mut done = p.0.lock_blocking();
    ///     while !*done {
    ///         done = p.1.wait_blocking(done);
    ///     }
    /// });
    /// *pair.0.lock_blocking() = true;
    /// pair.1.notify_all();
    /// t.join().unwrap();
    /// ```
    pub fn wait_blocking<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = guard.mutex;
        let listener = self.event.listen();
        drop(guard);
        listener.wait();
        mutex.lock_blocking()
    }

    /// Wakes one waiting task, if any (Go's `Signal`).
    ///
    /// # Examples
    ///
    /// ```
    /// gust_sync::Cond::new().notify_one();
    /// ```
    pub fn notify_one(&self) {
        // One more than those already notified: two signals wake two
        // waiters, as in Go.
        self.event.notify(1.additional());
    }

    /// Wakes every waiting task (Go's `Broadcast`).
    ///
    /// # Examples
    ///
    /// ```
    /// gust_sync::Cond::new().notify_all();
    /// ```
    pub fn notify_all(&self) {
        self.event.notify(usize::MAX);
    }
}
