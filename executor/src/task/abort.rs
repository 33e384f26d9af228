//! [`AbortHandle`]: aborts a task from anywhere, without its `JoinHandle`
//! (tokio's).
//!
//! A handle keeps a waker of its task, taken from where the runtime keeps
//! one for every task whose future is alive (the runtime's registry, or the
//! blocking pool's list of jobs): the waker keeps the task's allocation,
//! and so its `TaskMeta`, alive for the handle's life, and wakes the task
//! so that its next poll sees the abort flag, as `JoinHandle::abort` does.
//! A task whose future had already ended when the handle was made gets a
//! handle with nothing in it: finished, and nothing to abort.

use std::fmt;
use std::task::Waker;

use super::TaskMeta;
use crate::trace::DONE;

/// Aborts a task without its [`JoinHandle`](super::JoinHandle) (tokio's
/// `AbortHandle`): from [`JoinHandle::abort_handle`](super::JoinHandle::abort_handle).
/// `Clone + Send + Sync`; aborting a task that has finished does nothing.
///
/// ```
/// let h = gust_executor::spawn(std::future::pending::<()>());
/// let abort = h.abort_handle();
/// assert!(!abort.is_finished());
/// abort.abort();
/// assert!(gust_executor::block_on(h).unwrap_err().is_aborted());
/// assert!(abort.is_finished());
/// ```
#[derive(Clone)]
pub struct AbortHandle {
    /// A waker of the task, which keeps its allocation alive, and its
    /// metadata in that allocation; `None` for a task already finished.
    task: Option<(Waker, *const TaskMeta)>,
    id: u64,
}

// SAFETY: a `Waker` is `Send + Sync`, and `TaskMeta` is `Sync`; the pointer
// is only dereferenced while the waker keeps its allocation alive.
unsafe impl Send for AbortHandle {}
// SAFETY: as above: `&self` methods only read `TaskMeta`'s atomics.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// `task`: a live waker of the task and its metadata, if its future is
    /// alive.
    pub(super) fn new(task: Option<(Waker, *const TaskMeta)>, id: u64) -> Self {
        Self { task, id }
    }

    fn meta(&self) -> Option<(&Waker, &TaskMeta)> {
        let (waker, meta) = self.task.as_ref()?;
        // SAFETY: the waker keeps the task's allocation, which holds the
        // metadata, alive (see the field).
        Some((waker, unsafe { &**meta }))
    }

    /// Aborts the task, as [`JoinHandle::abort`](super::JoinHandle::abort):
    /// its future is dropped at its next scheduling point, and its
    /// `JoinHandle` (or `JoinSet`) reports it aborted. A task that has
    /// finished keeps its output; a `spawn_blocking` job that has started
    /// runs to its end.
    ///
    /// ```
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let h = gust_executor::spawn(async move {
    ///     let _tx = tx; // dropped with the future
    ///     std::future::pending::<()>().await
    /// });
    /// let abort = h.abort_handle();
    /// drop(h); // detached: the AbortHandle still reaches it
    /// abort.abort();
    /// assert!(rx.recv().is_err(), "the future was dropped");
    /// ```
    pub fn abort(&self) {
        let Some((waker, meta)) = self.meta() else {
            return;
        };
        if meta.request_abort() {
            waker.wake_by_ref();
        }
    }

    /// Whether the task has finished (completed, panicked, or aborted):
    /// its future has been dropped.
    ///
    /// ```
    /// let h = gust_executor::spawn(async { 1 });
    /// let abort = h.abort_handle();
    /// assert_eq!(gust_executor::block_on(h).unwrap(), 1);
    /// assert!(abort.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.meta()
            .is_none_or(|(_, meta)| meta.trace.state() == DONE)
    }

    /// The task's id, as [`JoinHandle::id`](super::JoinHandle::id).
    ///
    /// ```
    /// let h = gust_executor::spawn(async {});
    /// assert_eq!(h.abort_handle().id(), h.id());
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}
