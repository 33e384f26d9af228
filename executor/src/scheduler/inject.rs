//! The injection queue: tasks scheduled from outside the workers (timers,
//! `block_on`, other threads) and the overflow of full local queues.
//!
//! A `VecDeque` under a mutex, with its length mirrored in an atomic so that
//! workers check for work without the lock. Overflow arrives in batches of
//! half a local queue and workers take batches (a fair share) at a time,
//! so the lock is taken once per batch, not once per task (Go's `globrunq`
//! does the same with a linked list).
//!
//! # Invariants
//!
//! 1. `len` equals `queue.len()` whenever the lock is free; it is written
//!    under the lock only.

use crate::task::Runnable;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) struct Inject {
    queue: Mutex<VecDeque<Runnable>>,
    /// Mirror of `queue.len()` (invariant #1).
    len: AtomicUsize,
}

impl Inject {
    pub(crate) fn new() -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    /// Number of queued tasks (racy).
    pub(crate) fn len(&self) -> usize {
        // Acquire: pairs with the Release stores below, so a worker that
        // sees a task counted also sees it in the queue once it locks.
        self.len.load(Ordering::Acquire)
    }

    /// Whether the queue looks empty (racy).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends one task.
    pub(crate) fn push(&self, task: Runnable) {
        let mut q = self.queue.lock().unwrap();
        q.push_back(task);
        self.len.store(q.len(), Ordering::Release);
    }

    /// Appends a batch of tasks under one lock.
    pub(crate) fn push_batch(&self, tasks: impl IntoIterator<Item = Runnable>) {
        let mut q = self.queue.lock().unwrap();
        q.extend(tasks);
        self.len.store(q.len(), Ordering::Release);
    }

    /// Takes the first task, and passes up to `more` others to `f`, all
    /// under one lock (`f` runs under it: it must not touch this queue).
    pub(crate) fn pop_batch(
        &self,
        more: usize,
        f: impl FnOnce(std::collections::vec_deque::Drain<'_, Runnable>),
    ) -> Option<Runnable> {
        if self.is_empty() {
            return None;
        }
        let mut q = self.queue.lock().unwrap();
        let first = q.pop_front();
        let n = more.min(q.len());
        if n > 0 {
            f(q.drain(..n));
        }
        self.len.store(q.len(), Ordering::Release);
        first
    }

    /// Takes the first task.
    pub(crate) fn pop(&self) -> Option<Runnable> {
        self.pop_batch(0, |_| {})
    }
}
