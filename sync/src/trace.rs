//! Wait reasons for gust's goroutine dump and deadlock detector
//! (gust-trace), for the types that wrap async-lock and event-listener: the
//! wrapped future is polled here, and each `Pending` it returns records the
//! lock waited on. A wait that completes in its first poll (the uncontended
//! path) records nothing.

use std::future::{Future, poll_fn};
use std::pin::pin;

use gust_trace::{Lock, Wait};

/// Awaits `fut`, recording `Wait::Lock(lock)` whenever it returns `Pending`.
pub(crate) async fn traced<F: Future>(fut: F, lock: Lock) -> F::Output {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        let poll = fut.as_mut().poll(cx);
        if poll.is_pending() {
            gust_trace::record(Wait::Lock(lock));
        }
        poll
    })
    .await
}
