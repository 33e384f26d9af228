//! Running a channel future to completion on a plain thread (`_blocking`).
//!
//! The thread parks; the waker unparks it. One waker per thread, cached in a
//! thread-local, so a blocking call allocates nothing after the first.

#![cfg_attr(loom, allow(dead_code, unused_imports))]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

/// Under loom, loom's own `block_on` (its threads cannot `park`).
#[cfg(loom)]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    loom::future::block_on(fut)
}

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(not(loom))]
thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
}

/// Polls `fut` on this thread, parking between polls.
#[cfg(not(loom))]
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        // On a runtime's worker (a task blocking): the worker's queued
        // tasks go to the others before the thread parks (gust-trace's
        // `leave_worker`).
        let mut _left = None;
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            _left.get_or_insert_with(gust_trace::leave_worker);
            // A spurious unpark (or a token left by an earlier wake) only
            // costs one extra poll.
            thread::park();
        }
    })
}
