//! Error types. Every error that carries a value gives it back.

use std::error::Error;
use std::fmt;

/// A send failed because the channel is closed, or no receiving handle is left.
///
/// Go panics on a send to a closed channel; gust hands the value back instead.
///
/// ```
/// let (tx, rx) = gust_chan::chan::<i32>(1);
/// tx.close();
/// let err = tx.send_blocking(7).unwrap_err();
/// assert_eq!(err.0, 7);
/// # drop(rx);
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<String>(1);
    /// drop(rx);
    /// let err = tx.send_blocking("hi".to_string()).unwrap_err();
    /// assert_eq!(err.into_inner(), "hi");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> Error for SendError<T> {}

/// A non-blocking send failed; the value comes back in either variant.
///
/// ```
/// use gust_chan::TrySendError;
/// let (tx, rx) = gust_chan::chan::<i32>(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The buffer is full (or, on a rendezvous channel, no receiver is waiting).
    Full(T),
    /// The channel is closed, or no receiving handle is left.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan::<i32>(0);
    /// // A rendezvous channel with no receiver waiting: `Full`.
    /// let err = tx.try_send(5).unwrap_err();
    /// assert_eq!(err.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(v) | Self::Closed(v) => v,
        }
    }

    /// Whether the send failed because the channel was full.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan::<i32>(1);
    /// tx.try_send(1).unwrap();
    /// let err = tx.try_send(2).unwrap_err();
    /// assert!(err.is_full());
    /// assert!(!err.is_closed());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the send failed because the channel was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan::<i32>(1);
    /// tx.close();
    /// let err = tx.try_send(1).unwrap_err();
    /// assert!(err.is_closed());
    /// assert!(!err.is_full());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("sending on a full channel"),
            Self::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(err: SendError<T>) -> Self {
        Self::Closed(err.0)
    }
}

/// A non-blocking receive found nothing.
///
/// ```
/// use gust_chan::TryRecvError;
/// let (tx, rx) = gust_chan::chan::<i32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy, Hash)]
pub enum TryRecvError {
    /// Nothing is buffered and no sender is waiting.
    Empty,
    /// The channel is closed and drained.
    Closed,
}

impl TryRecvError {
    /// Whether the channel was empty (and open, or closed with a value on
    /// its way).
    ///
    /// ```
    /// let (_tx, rx) = gust_chan::chan::<i32>(1);
    /// assert!(rx.try_recv().unwrap_err().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        matches!(self, Self::Empty)
    }

    /// Whether the channel is closed and drained: no value will ever come.
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<i32>(1);
    /// drop(tx);
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("receiving on an empty channel"),
            Self::Closed => f.write_str("receiving on a closed and empty channel"),
        }
    }
}

impl Error for TryRecvError {}
