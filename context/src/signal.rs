//! Go's `signal.NotifyContext`: a context that a Unix signal cancels.
//!
//! The relaying is gust-executor's (`gust_executor::signal`): a callback
//! on its relaying thread cancels the context. The subscription is kept
//! by the context's node as a function run synchronously when the node
//! ends, however it ends (signal, `CancelFunc`, parent), so the signals
//! go back to their default action as soon as the context is done.

use crate::{CancelFunc, Context, ContextError};
use gust_executor::signal::{self, Signal};
use std::error::Error;
use std::fmt;
use std::io;
use std::sync::Arc;

/// A context cancelled when one of `signals` arrives (Go's
/// `signal.NotifyContext`), when the returned [`CancelFunc`] is called or
/// dropped, or when `parent` ends, whichever comes first. No signals means
/// every signal `gust_executor::signal::notify` relays by default.
///
/// While the context is live, those signals are relayed to it instead of
/// doing what they do by default; once it has ended, the next one does
/// its default again (so a second Ctrl-C ends a program stuck in its
/// shutdown). Cancelled by a signal, its [`err`](Context::err) is
/// [`ContextError::Canceled`] and its [`cause`](Context::cause) a
/// [`SignalError`] naming the signal.
///
/// # Errors
///
/// As `gust_executor::signal::notify`'s (a signal that cannot be caught,
/// such as SIGKILL, is `InvalidInput`).
///
/// ```
/// use gust_context::{Context, signal::{SignalError, notify_context}};
/// use gust_executor::signal::Signal;
///
/// gust_executor::block_on(async {
///     let (ctx, _stop) = notify_context(&Context::background(), &[Signal::SIGUSR1]).unwrap();
///     signal_hook::low_level::raise(Signal::SIGUSR1.as_raw()).unwrap(); // kill -USR1 <pid>
///     ctx.done().await;
///     let cause = ctx.cause().unwrap();
///     assert_eq!(cause.to_string(), "user defined signal 1 signal received");
///     assert_eq!(cause.downcast_ref::<SignalError>().unwrap().signal(), Signal::SIGUSR1);
/// });
/// ```
pub fn notify_context(parent: &Context, signals: &[Signal]) -> io::Result<(Context, CancelFunc)> {
    let (ctx, cancel) = parent.with_cancel();
    let node = Arc::downgrade(&cancel.node);
    let subscription = signal::subscribe(signals, move |s| {
        if let Some(node) = node.upgrade() {
            node.cancel(ContextError::Canceled, Some(Arc::new(SignalError(s))));
        }
    })?;
    let unsubscribe = Box::new(move || drop(subscription));
    if let Err(unsubscribe) = cancel.node.register_after_func(unsubscribe) {
        // The parent had ended: so has the context, and nobody will call it.
        unsubscribe();
    }
    Ok((ctx, cancel))
}

/// The cause of a context that [`notify_context`] ended on a signal.
///
/// Displays as `<signal> signal received` (`interrupt signal received`).
///
/// # Examples
///
/// ```
/// use gust_context::{Context, signal::{SignalError, notify_context}};
/// use gust_executor::signal::Signal;
///
/// gust_executor::block_on(async {
///     let (ctx, _stop) = notify_context(&Context::background(), &[Signal::SIGUSR2]).unwrap();
///     signal_hook::low_level::raise(Signal::SIGUSR2.as_raw()).unwrap(); // kill -USR2 <pid>
///     ctx.done().await;
///     let cause = ctx.cause().unwrap();
///     let e: &SignalError = cause.downcast_ref().expect("ended by a signal");
///     assert_eq!(e.to_string(), "user defined signal 2 signal received");
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalError(Signal);

impl SignalError {
    /// The signal that arrived.
    ///
    /// ```
    /// # use gust_context::signal::SignalError;
    /// fn which(cause: &(dyn std::error::Error + 'static)) -> Option<String> {
    ///     cause.downcast_ref::<SignalError>().map(|e| e.signal().to_string())
    /// }
    /// ```
    pub fn signal(&self) -> Signal {
        self.0
    }
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} signal received", self.0)
    }
}

impl Error for SignalError {}
