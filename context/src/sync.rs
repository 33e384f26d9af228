//! The sync facade: std primitives normally, loom's under `--cfg loom`, so the
//! loom models in `src/loom_tests.rs` check the real tree code (STYLE habit 12).
//!
//! Values (`with_value`) always use `std::sync::Arc`: they need unsized
//! coercion (`Arc<ValueNode<T>>` to `Arc<ValueNode<dyn Any>>`), which loom's
//! `Arc` lacks, and they are immutable, so there is nothing for loom to check.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: every critical section in this crate leaves
/// its node consistent before it can panic (none of them runs user code).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
