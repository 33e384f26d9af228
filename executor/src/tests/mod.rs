//! loom models (`RUSTFLAGS="--cfg loom" cargo test -p gust-executor --release --lib loom`).
//!
//! Tasks are async-task's, whose state machine has its own tests; these
//! models cover what this crate adds: the run queue's push/pop/steal
//! protocol, the idle/park protocol, the wake of the worker in the poller
//! and the I/O watch, and the stand-ins' count.

mod loom_idle;
mod loom_poller;
mod loom_queue;
mod loom_stand_in;
