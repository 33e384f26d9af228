//! Running a future to completion on a plain thread (the `_blocking`
//! forms): the thread parks, the waker unparks it.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `fut` on this thread, parking it between polls.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    // On a runtime's worker (a task blocking): the worker's queued tasks
    // go to the others before the thread parks (gust-trace's
    // `leave_worker`).
    let mut _left = None;
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        _left.get_or_insert_with(gust_trace::leave_worker);
        std::thread::park();
    }
}
