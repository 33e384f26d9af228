//! A gust `_blocking` wait on a runtime's worker thread: a task that calls
//! `recv_blocking`, `lock_blocking`, `wait_blocking` or `done_blocking`.
//!
//! The thread parks until the wait ends. Were it still a worker, the task
//! it just spawned or woke (in its LIFO slot or its queue) would wait for
//! the `_blocking` call to return, and a wait for that very task would
//! never end, whatever the number of workers (found from outside: a task
//! that spawns a sender and then `recv_blocking`s hung at 1, 2 and 4
//! workers). So before a `_blocking` wait parks, the worker gives its
//! queued tasks to the others and the thread stops being a worker until
//! the wait returns, as `gust::block_on` does. The crates whose waits
//! block do not depend on the executor, so the executor installs that step
//! here ([`set_leave_hooks`]) and the waits call [`leave_worker`] before
//! they first park. On a thread that is no worker it does nothing.
//!
//! When nobody else is left to run the task waited for (one worker, or
//! every worker blocked), the executor starts a stand-in thread that runs
//! the runtime's tasks meanwhile (gust-executor's `scheduler/stand_in.rs`);
//! still, a task should `.await`, not block.
//!
//! [`block_on_thread`] is the one loop those waits share (gust-chan's and
//! gust-sync's `_blocking` forms, `Context::done_blocking`).

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// The executor's two steps: leave the worker (a token for the way back,
/// null if the thread is no worker), and come back.
struct Hooks {
    leave: fn() -> *mut (),
    back: fn(*mut ()),
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Installs the executor's steps (once per process; later calls change
/// nothing).
#[doc(hidden)]
pub fn set_leave_hooks(leave: fn() -> *mut (), back: fn(*mut ())) {
    let _ = HOOKS.set(Hooks { leave, back });
}

/// Before a `_blocking` wait parks its thread: on a worker of a gust
/// runtime, hands the worker's queued tasks to the other workers and makes
/// the thread no worker until the returned guard drops (module docs); on
/// any other thread, nothing. Plumbing between gust's crates: the guard
/// must drop on this thread, before anything made after it (a local of
/// the wait's own stack frame), or the worker it restores may be gone.
#[doc(hidden)]
///
/// ```
/// // A plain thread is no worker: nothing to leave.
/// let left = gust_trace::leave_worker();
/// assert!(!left.left());
/// ```
pub fn leave_worker() -> LeftWorker {
    LeftWorker(HOOKS.get().map_or(std::ptr::null_mut(), |h| (h.leave)()))
}

/// What [`leave_worker`] returns: the thread is a worker again when it
/// drops.
///
/// ```
/// let left: gust_trace::LeftWorker = gust_trace::leave_worker();
/// drop(left);
/// ```
#[must_use = "the thread is a worker again when this drops"]
#[derive(Debug)]
#[doc(hidden)]
pub struct LeftWorker(*mut ());

impl LeftWorker {
    /// Whether the thread was a worker and left, or is a stand-in counted
    /// as blocked (`false` on other threads).
    ///
    /// ```
    /// assert!(!gust_trace::leave_worker().left());
    /// ```
    pub fn left(&self) -> bool {
        !self.0.is_null()
    }
}

impl Drop for LeftWorker {
    fn drop(&mut self) {
        if let (false, Some(h)) = (self.0.is_null(), HOOKS.get()) {
            (h.back)(self.0);
        }
    }
}

/// Runs `fut` to completion on this thread, parking it between polls: the
/// body of every gust `_blocking` wait. Before it first parks it leaves the
/// worker ([`leave_worker`]), so a task that blocks lets the others run.
/// One waker per thread, cached, so a wait allocates nothing after the
/// thread's first. Plumbing between gust's crates (`gust::block_on` is the
/// user's).
///
/// ```
/// let (tx, rx) = std::sync::mpsc::channel();
/// std::thread::spawn(move || tx.send(7).unwrap());
/// let got = gust_trace::block_on_thread(std::future::poll_fn(|cx| {
///     cx.waker().wake_by_ref(); // a real wait would store the waker
///     match rx.try_recv() {
///         Ok(v) => std::task::Poll::Ready(v),
///         Err(_) => std::task::Poll::Pending,
///     }
/// }));
/// assert_eq!(got, 7);
/// ```
#[doc(hidden)]
pub fn block_on_thread<F: Future>(fut: F) -> F::Output {
    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(Unpark(thread::current())));
    }
    let run = |waker: &Waker| {
        let mut fut = pin!(fut);
        let mut cx = Context::from_waker(waker);
        let mut _left = None;
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            _left.get_or_insert_with(leave_worker);
            // A spurious unpark (or a token left by an earlier wake) only
            // costs one extra poll.
            thread::park();
        }
    };
    // From a thread-local's destructor, after the cached waker's: a waker
    // of its own (`with` would panic there).
    let mut run = Some(run);
    match WAKER.try_with(|waker| (run.take().expect("once"))(waker)) {
        Ok(out) => out,
        Err(_) => (run.take().expect("not run"))(&Waker::from(Arc::new(Unpark(thread::current())))),
    }
}

/// The waker of [`block_on_thread`]: unparks its thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::block_on_thread;
    use std::cell::RefCell;
    use std::sync::mpsc;

    /// A `_blocking` wait from a thread-local's destructor that runs after
    /// the cached waker's (destructors run in reverse order of first use)
    /// gets a waker of its own (found by a review: `with` panicked there).
    #[test]
    fn block_on_thread_in_a_thread_local_destructor() {
        struct Late(mpsc::Sender<u32>);
        impl Drop for Late {
            fn drop(&mut self) {
                let _ = self.0.send(block_on_thread(async { 5 }));
            }
        }
        thread_local! {
            static LATE: RefCell<Option<Late>> = const { RefCell::new(None) };
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            LATE.with(|l| *l.borrow_mut() = Some(Late(tx)));
            assert_eq!(block_on_thread(async { 1 }), 1);
        })
        .join()
        .unwrap();
        assert_eq!(rx.recv(), Ok(5));
    }
}
