//! Deadline contexts wired to the executor's timers.
//!
//! A deadline node holds exactly one timer, armed with
//! `gust_executor::time::call_at`, which works with no runtime running.
//! The timer's callback holds only a `Weak` reference to the node, so a
//! pending timer never keeps a context alive. When the node ends early (a
//! cancel, or a parent's end), `CancelNode::cancel` takes the timer out of the
//! node and stops it, freeing the timer entry at once rather than at the
//! deadline; when the timer fires first it cancels the node with
//! `DeadlineExceeded` and the cause it was armed with, if any
//! (`with_deadline_cause`; the later `stop` is a cheap no-op).
//!
//! Under `--cfg loom` there are no timers: the models cover the tree only.

use std::time::Instant;

use crate::sync::Arc;
use crate::tree::{CancelNode, Cause};

/// The timer of one deadline node.
#[cfg(not(loom))]
pub(crate) struct Timer(gust_executor::time::TimerHandle);

/// The timer of one deadline node (none under loom).
#[cfg(loom)]
pub(crate) struct Timer(());

impl Timer {
    /// Stops the timer if it has not fired; frees its entry.
    pub(crate) fn stop(self) {
        #[cfg(not(loom))]
        self.0.stop();
    }
}

/// Arms `node`'s deadline timer: at `deadline`, the node is cancelled with
/// `DeadlineExceeded` and `cause` (`None`: the same error). The caller has
/// checked that `deadline` is in the future and that the node is live (if
/// it ends meanwhile, the timer is stopped here).
#[cfg(not(loom))]
pub(crate) fn arm(node: &Arc<CancelNode>, deadline: Instant, cause: Cause) {
    let weak = Arc::downgrade(node);
    // Short, and ours: on the thread that fires the timer.
    let handle = gust_executor::time::call_at(deadline, move || {
        if let Some(node) = weak.upgrade() {
            node.cancel(crate::ContextError::DeadlineExceeded, cause);
        }
    });
    if let Some(timer) = node.set_timer(Timer(handle)) {
        timer.stop();
    }
}

/// No timers under loom.
#[cfg(loom)]
pub(crate) fn arm(node: &Arc<CancelNode>, deadline: Instant, cause: Cause) {
    let _ = (deadline, cause);
    if let Some(timer) = node.set_timer(Timer(())) {
        timer.stop();
    }
}
