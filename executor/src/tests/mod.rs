//! loom models (`RUSTFLAGS="--cfg loom" cargo test -p gust-executor --release --lib loom`).
//!
//! Tasks are async-task's, whose state machine has its own tests; these
//! models cover what this crate adds: the run queue's push/pop/steal
//! protocol and the idle/park protocol.

mod loom_idle;
mod loom_poller;
mod loom_queue;
