//! Running a channel future to completion on a plain thread (`_blocking`):
//! gust-trace's loop, shared by every gust `_blocking` wait.

/// Under loom, loom's own `block_on` (its threads cannot `park`).
#[cfg(loom)]
pub(crate) fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    loom::future::block_on(fut)
}

#[cfg(not(loom))]
pub(crate) use gust_trace::block_on_thread as block_on;
