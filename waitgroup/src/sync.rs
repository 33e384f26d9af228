//! The sync facade: std primitives normally, loom's under `--cfg loom`, so the
//! loom models in `src/loom_tests.rs` check the real code (STYLE habit 12).

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, Ordering};

#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
