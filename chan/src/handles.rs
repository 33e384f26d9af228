//! The handles (`Chan`, `Sender`, `Receiver`) and the `send`/`recv` futures.
//!
//! The type system carries Go's channel directions: `Chan<T>` is `chan T`,
//! `Sender<T>` is `chan<- T` (send, close), `Receiver<T>` is `<-chan T`
//! (receive only; a receiver cannot close).
//!
//! The constructors (`chan`, `Chan::new`) are `#[track_caller]`: the channel
//! keeps its caller's location, which a pending `send`/`recv` (future,
//! `Stream`, `Sink`) records as its wait reason for the task dump
//! (`chan.rs`, "Wait reasons").

use std::fmt;
use std::future::Future;
use std::panic::{Location, RefUnwindSafe, UnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_core::stream::FusedStream;
use futures_sink::Sink;

use crate::blocking::block_on;
use crate::chan::{RecvState, SendState, Shared};
use crate::error::{SendError, TryRecvError, TrySendError};
use crate::loom::{Arc, AtomicPtr, Ordering};
use crate::waiter::Entry;

/// Makes a channel of capacity `cap` (0 = rendezvous) and returns its two
/// directional ends: Go's `ch := make(chan T, cap)` split into `chan<- T` and
/// `<-chan T`.
///
/// # Panics
///
/// If a buffer of `cap` values cannot be allocated; the message names `cap`.
///
/// ```
/// let (tx, rx) = gust_chan::chan::<&str>(1);
/// tx.send_blocking("hi").unwrap();
/// assert_eq!(rx.recv_blocking(), Some("hi"));
/// ```
#[track_caller]
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let c = Chan::new(cap);
    (c.sender(), Receiver::from(c))
}

/// A bidirectional channel handle: Go's `chan T`. It counts as both a sending
/// and a receiving handle: the channel closes by itself when the last `Chan`
/// or [`Sender`] is dropped.
///
/// ```
/// use gust_chan::Chan;
/// let ch = Chan::<u32>::new(0); // rendezvous
/// let ch2 = ch.clone();
/// let t = std::thread::spawn(move || ch2.send_blocking(42));
/// assert_eq!(ch.recv_blocking(), Some(42));
/// t.join().unwrap().unwrap();
/// ```
pub struct Chan<T> {
    pub(crate) shared: Arc<Shared<T>>,
}

/// The sending end: Go's `chan<- T`. Also a [`Sink`].
///
/// ```
/// let (tx, rx) = gust_chan::chan::<i32>(2);
/// tx.try_send(1).unwrap();
/// assert!(tx.close());
/// assert_eq!(rx.recv_blocking(), Some(1));
/// assert_eq!(rx.recv_blocking(), None);
/// ```
pub struct Sender<T> {
    pub(crate) shared: Arc<Shared<T>>,
    /// The `Sink`'s send in flight, and whether `poll_close` let go of the
    /// handle; touched only through `&mut self`. Boxed on first use: most
    /// senders never act as a `Sink`, and the state holds a `T`.
    sink: Option<Box<SinkState<T>>>,
}

/// What a [`Sender`] keeps for its `Sink` impl.
#[derive(Debug)]
struct SinkState<T> {
    send: SendState<T>,
    /// `poll_close` counted this handle out (`Shared::drop_sender`): its
    /// drop must not again, and the sink takes no more values.
    closed: bool,
}

/// The receiving end: Go's `<-chan T`. Also a [`Stream`] that ends when the
/// channel is closed and drained.
///
/// ```
/// use futures::StreamExt;
/// let (tx, rx) = gust_chan::chan::<i32>(3);
/// for i in 0..3 { tx.try_send(i).unwrap(); }
/// drop(tx);
/// let all: Vec<i32> = futures::executor::block_on(rx.collect());
/// assert_eq!(all, [0, 1, 2]);
/// ```
pub struct Receiver<T> {
    pub(crate) shared: Arc<Shared<T>>,
    /// The `Stream`'s receive in flight, as [`RecvState::into_raw`]'s
    /// pointer (null: none), so the handle stays two words. `poll_next`
    /// takes it and puts it back through `&mut self`. A `next()` dropped
    /// while pending (a `timeout`, a `select!` that went another way) leaves
    /// it queued in the channel, where a sender may hand it a value: so the
    /// handle's other operations take it back first
    /// ([`Receiver::take_back_stream`]: a value it holds goes back to the
    /// front of the channel), and that value is theirs, in order, and
    /// counted by `len`.
    stream: AtomicPtr<Entry<T>>,
}

// Nothing in a handle is structurally pinned (the Sink's value is never pinned).
impl<T> Unpin for Sender<T> {}
impl<T> Unpin for Receiver<T> {}

// A panic never leaves a channel half-updated: no user code runs under its
// lock (values are moved, never dropped, there), and the lock is released by
// a guard. So a handle used again after a caught panic sees a consistent
// channel, as crossbeam-channel's handles promise.
impl<T> UnwindSafe for Chan<T> {}
impl<T> RefUnwindSafe for Chan<T> {}
impl<T> UnwindSafe for Sender<T> {}
impl<T> RefUnwindSafe for Sender<T> {}
impl<T> UnwindSafe for Receiver<T> {}
impl<T> RefUnwindSafe for Receiver<T> {}

// SAFETY: `sink` is only touched through `&mut self` (never through `&self`),
// so sharing a `&Sender` never shares the `T` inside it; the channel itself is
// `Sync` for `T: Send`.
unsafe impl<T: Send> Sync for Sender<T> {}

// SAFETY: `stream` owns a `RecvState<T>`, which may hold a `T`; through
// `&self` it is only swapped out, whole, by one caller (`take_back_stream`),
// which moves that `T` into the channel: sharing a `&Receiver` moves `T`s
// between threads, which `T: Send` allows, as the channel itself does.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Receiver<T> {}

impl<T> Chan<T> {
    /// Makes a channel of capacity `cap`; 0 makes a rendezvous channel, where a
    /// send completes only when a receiver has taken the value.
    ///
    /// # Panics
    ///
    /// If a buffer of `cap` values cannot be allocated; the message names `cap`.
    ///
    /// ```
    /// let ch = gust_chan::Chan::<u8>::new(4);
    /// assert_eq!(ch.cap(), 4);
    /// ```
    #[track_caller]
    pub fn new(cap: usize) -> Self {
        Self {
            // The caller is where a task dump says the channel was made.
            shared: Arc::new(Shared::new(cap, Location::caller())),
        }
    }

    /// A sending handle to this channel (`chan<- T`).
    ///
    /// ```
    /// let ch = gust_chan::Chan::<u8>::new(1);
    /// ch.sender().try_send(1).unwrap();
    /// assert_eq!(ch.try_recv(), Ok(1));
    /// ```
    pub fn sender(&self) -> Sender<T> {
        self.shared.add_sender();
        Sender::from_shared(self.shared.clone())
    }

    /// A receiving handle to this channel (`<-chan T`).
    ///
    /// ```
    /// let ch = gust_chan::Chan::<u8>::new(1);
    /// ch.try_send(1).unwrap();
    /// assert_eq!(ch.receiver().try_recv(), Ok(1));
    /// ```
    pub fn receiver(&self) -> Receiver<T> {
        self.shared.add_receiver();
        Receiver::from_shared(self.shared.clone())
    }

    /// Sends `value`, waiting while the channel is full (rendezvous: until a
    /// receiver takes it). Fails with the value if the channel is closed or
    /// has no receiving handle left.
    ///
    /// Cancel safety: dropping the future before it completes never both
    /// delivers and returns the value: either it was delivered, or it is
    /// dropped with the future.
    ///
    /// ```
    /// let ch = gust_chan::Chan::new(1);
    /// futures::executor::block_on(async {
    ///     ch.send(5).await.unwrap();
    ///     assert_eq!(ch.recv().await, Some(5));
    /// });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.shared, value)
    }

    /// Sends without waiting: Go's `select { case ch <- v: default: }`.
    ///
    /// ```
    /// let ch = gust_chan::Chan::new(0);
    /// assert!(ch.try_send(1).unwrap_err().is_full()); // nobody waits to receive
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.shared.try_send(value)
    }

    /// Sends from a plain thread, parking it while the channel is full.
    ///
    /// ```
    /// let ch = gust_chan::Chan::new(1);
    /// ch.send_blocking('x').unwrap();
    /// assert_eq!(ch.len(), 1);
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        block_on(self.send(value))
    }

    /// Receives a value, waiting while the channel is empty; `None` once the
    /// channel is closed and drained (Go's `v, ok := <-ch` with `ok == false`).
    ///
    /// Cancel safety: dropping the future loses no value: one already handed
    /// to it goes to the next receiver.
    ///
    /// ```
    /// let ch = gust_chan::Chan::<i32>::new(1);
    /// ch.close();
    /// assert_eq!(futures::executor::block_on(ch.recv()), None);
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.shared)
    }

    /// Receives without waiting.
    ///
    /// ```
    /// use gust_chan::TryRecvError;
    /// let ch = gust_chan::Chan::<i32>::new(1);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.shared.try_recv()
    }

    /// Receives from a plain thread, parking it while the channel is empty.
    ///
    /// ```
    /// let ch = gust_chan::Chan::new(1);
    /// ch.try_send(3).unwrap();
    /// assert_eq!(ch.recv_blocking(), Some(3));
    /// ```
    pub fn recv_blocking(&self) -> Option<T> {
        block_on(self.recv())
    }

    /// Closes the channel: later sends fail with their value, receivers drain
    /// the buffer and then get `None`, and every waiting sender and receiver
    /// wakes at once. Idempotent; `true` if this call closed it.
    ///
    /// ```
    /// let ch = gust_chan::Chan::<()>::new(0);
    /// assert!(ch.close());
    /// assert!(!ch.close());
    /// assert!(ch.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// The number of buffered values, at most `cap()`: always 0 for a
    /// rendezvous channel (Go's `len(ch)`).
    ///
    /// ```
    /// let ch = gust_chan::Chan::new(2);
    /// ch.try_send(1).unwrap();
    /// assert_eq!(ch.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// assert!(gust_chan::Chan::<u8>::new(2).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity the channel was made with.
    ///
    /// ```
    /// assert_eq!(gust_chan::Chan::<u8>::new(0).cap(), 0);
    /// ```
    pub fn cap(&self) -> usize {
        self.shared.cap()
    }

    /// Whether the channel is closed (a snapshot).
    ///
    /// ```
    /// let ch = gust_chan::Chan::<u8>::new(0);
    /// assert!(!ch.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Waits until the channel is closed; see [`Sender::closed`] (a `Chan`
    /// is a receiving handle too, so only a `close` ends the wait).
    ///
    /// ```
    /// let ch = gust_chan::Chan::<u8>::new(0);
    /// let closer = ch.clone();
    /// std::thread::spawn(move || closer.close());
    /// futures::executor::block_on(ch.closed());
    /// assert!(ch.is_closed());
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed::new(&self.shared)
    }
}

impl<T> Sender<T> {
    fn from_shared(shared: Arc<Shared<T>>) -> Self {
        Self { shared, sink: None }
    }

    /// Sends `value`; see [`Chan::send`].
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan(1);
    /// futures::executor::block_on(tx.send(1)).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.shared, value)
    }

    /// Sends without waiting; see [`Chan::try_send`].
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan(1);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.shared.try_send(value)
    }

    /// Sends from a plain thread; see [`Chan::send_blocking`].
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan(1);
    /// tx.send_blocking(1).unwrap();
    /// # drop(rx);
    /// ```
    pub fn send_blocking(&self, value: T) -> Result<(), SendError<T>> {
        block_on(self.send(value))
    }

    /// Closes the channel; see [`Chan::close`].
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<u8>(1);
    /// assert!(tx.close());
    /// assert!(rx.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// The number of buffered values.
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan(1);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan::<u8>(1);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan::<u8>(7);
    /// assert_eq!(tx.cap(), 7);
    /// ```
    pub fn cap(&self) -> usize {
        self.shared.cap()
    }

    /// Whether the channel is closed.
    ///
    /// ```
    /// let (tx, _rx) = gust_chan::chan::<u8>(1);
    /// tx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Waits until a send on this channel can only fail: it has been
    /// closed, or every receiving handle is gone (tokio's
    /// `Sender::closed`). A producer selects on it to stop producing for
    /// nobody. Cancel-safe: dropping it takes its waker out.
    ///
    /// ```
    /// use gust_chan::select;
    ///
    /// futures::executor::block_on(async {
    ///     let (tx, rx) = gust_chan::chan::<u64>(1);
    ///     let producer = async {
    ///         let mut n = 0;
    ///         loop {
    ///             select! {
    ///                 r = tx.send(n) => if r.is_err() { break },
    ///                 _ = tx.closed() => break, // the consumer went away
    ///             }
    ///             n += 1;
    ///         }
    ///     };
    ///     let consumer = async move {
    ///         assert_eq!(rx.recv().await, Some(0));
    ///         drop(rx);
    ///     };
    ///     futures::join!(producer, consumer);
    /// });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed::new(&self.shared)
    }

    /// Has the channel wake `waker` once it is closed or has no receiving
    /// handle left; `true` (and no waker kept) if that is so already. The
    /// waker stays in the channel until that wake-up or the channel's end:
    /// for a sender that registers once, as `gust::time::tick`'s timer
    /// does to stop ticking for nobody. Records no wait in the calling
    /// task.
    #[doc(hidden)]
    pub fn wake_when_closed(&self, waker: &Waker) -> bool {
        let mut key = None;
        let (polled, _) = gust_trace::observe(|| self.shared.poll_closed(&mut key, waker));
        polled.is_ready()
    }
}

/// The future returned by [`Sender::closed`] and [`Chan::closed`]: ready
/// once the channel is closed or has no receiving handle left.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gust_chan::chan::<u8>(1);
/// let receiver = std::thread::spawn(move || drop(rx));
/// let closed: gust_chan::Closed<'_, u8> = tx.closed();
/// futures::executor::block_on(closed); // the receiver is gone: nobody will read
/// receiver.join().unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    /// Our waker's key in the channel, while one is kept there.
    key: Option<u64>,
}

impl<'a, T> Closed<'a, T> {
    fn new(shared: &'a Shared<T>) -> Self {
        Closed { shared, key: None }
    }
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        // A first poll may find the channel closed: it takes from the task
        // poll's budget of ready waits (crate docs, "Guarantees").
        if this.key.is_none() && gust_trace::yield_for_budget(cx) {
            return Poll::Pending;
        }
        this.shared.poll_closed(&mut this.key, cx.waker())
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.shared.forget_closed(key);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed")
            .field("closed", &self.shared.is_closed())
            .finish()
    }
}

impl<T> Receiver<T> {
    fn from_shared(shared: Arc<Shared<T>>) -> Self {
        Self {
            shared,
            stream: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Takes back a receive that a dropped `next()` left queued (see
    /// `stream`): every operation of the handle does this first.
    #[inline]
    pub(crate) fn take_back_stream(&self) {
        // Relaxed: the pointer was last stored through `&mut self`, before
        // this shared borrow existed; the swap below only elects one caller.
        if !self.stream.load(Ordering::Relaxed).is_null() {
            self.take_back_stream_slow();
        }
    }

    #[cold]
    #[inline(never)]
    fn take_back_stream_slow(&self) {
        let ptr = self.stream.swap(std::ptr::null_mut(), Ordering::Relaxed);
        // SAFETY: from `into_raw` (`poll_next`), and ours alone: the swap
        // left null for every other caller.
        unsafe { RecvState::from_raw(ptr) }.cancel(&self.shared);
    }

    /// `f` on the `Stream`'s receive in flight (`&mut self`: nobody else
    /// touches it). The state goes back into the handle even if `f`
    /// unwinds (a waker's `clone` may panic): dropped instead, a queued
    /// entry would be freed while the channel still links it.
    fn with_stream<R>(&mut self, f: impl FnOnce(&mut RecvState<T>, &Shared<T>) -> R) -> R {
        struct PutBack<'a, T> {
            slot: &'a AtomicPtr<Entry<T>>,
            state: Option<RecvState<T>>,
        }
        impl<T> Drop for PutBack<'_, T> {
            fn drop(&mut self) {
                if let Some(state) = self.state.take() {
                    // Relaxed: `&mut self` (see `take_back_stream`).
                    self.slot.store(state.into_raw(), Ordering::Relaxed);
                }
            }
        }
        let mut held = PutBack {
            slot: &self.stream,
            // SAFETY: from `into_raw`, and put back by `held`'s drop.
            state: Some(unsafe { RecvState::from_raw(self.stream.load(Ordering::Relaxed)) }),
        };
        f(
            held.state.as_mut().expect("put back only on drop"),
            &self.shared,
        )
    }

    /// Receives a value; see [`Chan::recv`].
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan(1);
    /// tx.try_send(9).unwrap();
    /// assert_eq!(futures::executor::block_on(rx.recv()), Some(9));
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        self.take_back_stream();
        RecvFuture::new(&self.shared)
    }

    /// Receives without waiting; see [`Chan::try_recv`].
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan(1);
    /// tx.try_send(9).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(9));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.take_back_stream();
        self.shared.try_recv()
    }

    /// Receives from a plain thread; see [`Chan::recv_blocking`].
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<u8>(1);
    /// drop(tx);
    /// assert_eq!(rx.recv_blocking(), None);
    /// ```
    pub fn recv_blocking(&self) -> Option<T> {
        block_on(self.recv())
    }

    /// The values, received from a plain thread until the channel is
    /// closed and drained: Go's `for v := range ch` outside any task
    /// (crossbeam's `iter`). Each `next` blocks as
    /// [`recv_blocking`](Self::recv_blocking) does.
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<u8>(0);
    /// std::thread::spawn(move || {
    ///     for i in 0..3 {
    ///         tx.send_blocking(i).unwrap();
    ///     }
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(|| self.recv_blocking())
    }

    /// The values ready now, without blocking: [`try_recv`](Self::try_recv)
    /// until it finds the channel empty or closed.
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<u8>(4);
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
        std::iter::from_fn(|| self.try_recv().ok())
    }

    /// The number of buffered values.
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan(2);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.take_back_stream();
        self.shared.len()
    }

    /// Whether nothing is buffered.
    ///
    /// ```
    /// let (_tx, rx) = gust_chan::chan::<u8>(2);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    ///
    /// ```
    /// let (_tx, rx) = gust_chan::chan::<u8>(2);
    /// assert_eq!(rx.cap(), 2);
    /// ```
    pub fn cap(&self) -> usize {
        self.shared.cap()
    }

    /// Whether the channel is closed.
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<u8>(2);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }
}

/// Channel identity, as Go's `==` on channel values: two handles are
/// equal (and hash alike) when they are ends of the same channel, whatever
/// their direction, so a handle can key a map or a set (Go's
/// `map[chan T]..`). Values and capacity play no part. (clippy's
/// `mutable_key_type` lint flags such a map, seeing the channel's atomics;
/// the hash is the channel's address, which never changes: allow it.)
///
/// ```
/// use std::collections::HashSet;
/// let a = gust_chan::Chan::<i32>::new(1);
/// let b = gust_chan::Chan::<i32>::new(1);
/// assert!(a == a.clone() && a != b);
/// assert!(a == a.sender() && a.receiver() == a.sender());
/// let subscribers: HashSet<_> = [a.sender(), b.sender(), a.sender()].into_iter().collect();
/// assert_eq!(subscribers.len(), 2);
/// ```
macro_rules! channel_identity {
    ($($a:ident == $b:ident),*) => {$(
        impl<T> PartialEq<$b<T>> for $a<T> {
            fn eq(&self, other: &$b<T>) -> bool {
                std::ptr::eq(&*self.shared, &*other.shared)
            }
        }
    )*};
}

channel_identity!(
    Chan == Chan,
    Chan == Sender,
    Chan == Receiver,
    Sender == Sender,
    Sender == Chan,
    Sender == Receiver,
    Receiver == Receiver,
    Receiver == Chan,
    Receiver == Sender
);

macro_rules! channel_hash {
    ($($t:ident),*) => {$(
        impl<T> Eq for $t<T> {}

        impl<T> std::hash::Hash for $t<T> {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                std::ptr::hash(&*self.shared, state);
            }
        }
    )*};
}

channel_hash!(Chan, Sender, Receiver);

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender();
        self.shared.add_receiver();
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.add_sender();
        Self::from_shared(self.shared.clone())
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.add_receiver();
        Self::from_shared(self.shared.clone())
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        self.shared.drop_sender();
        self.shared.drop_receiver();
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(sink) = &mut self.sink {
            drop(sink.send.cancel(&self.shared));
            if sink.closed {
                return; // counted out by `poll_close`
            }
        }
        self.shared.drop_sender();
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.with_stream(|stream, shared| stream.cancel(shared));
        self.shared.drop_receiver();
    }
}

impl<T> From<Chan<T>> for Sender<T> {
    fn from(c: Chan<T>) -> Self {
        // The Chan's sending count moves to the Sender; its receiving count
        // goes away with it.
        let s = c.sender();
        drop(c);
        s
    }
}

impl<T> From<Chan<T>> for Receiver<T> {
    fn from(c: Chan<T>) -> Self {
        let r = c.receiver();
        drop(c);
        r
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("cap", &self.cap())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("cap", &self.cap())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("cap", &self.cap())
            .finish_non_exhaustive()
    }
}

/// Receives as [`recv`](Receiver::recv) does; `None` once the channel is
/// closed and drained.
///
/// # Cancellation
///
/// The receive in flight lives in the handle (the `Stream` trait has
/// nowhere else to keep it), so a `next()` dropped while pending (a
/// `timeout`, a `select!` that went another way) leaves it queued in the
/// channel until the handle's next operation: a sender may hand it a value
/// meanwhile (on a rendezvous channel, such a send completes). No value is
/// lost: the next `next()`, `recv`, `try_recv`, `len` or select on the
/// handle takes that value first, and dropping the handle gives it back to
/// the channel. In a `select!` or under a timeout, use `recv()`, which
/// leaves nothing behind.
///
/// ```
/// use futures::{FutureExt, StreamExt};
/// let (tx, mut rx) = gust_chan::chan::<i32>(0);
/// assert!(rx.next().now_or_never().is_none()); // dropped while pending
/// tx.try_send(1).unwrap(); // taken by the receive it left queued
/// assert_eq!(rx.try_recv(), Ok(1)); // which the handle hands out first
/// ```
impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self
            .get_mut()
            .with_stream(|stream, shared| stream.poll(shared, cx))
        {
            Some(v) => Poll::Ready(v),
            None => Poll::Pending,
        }
    }
}

/// Terminated once the channel is closed and drained, when `poll_next`
/// returns `None` (and keeps returning it): not while a value given back
/// by a dropped receive, or one in this handle's own receive, remains
/// (on a rendezvous channel `len()` counts neither).
impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.shared.is_drained()
    }
}

impl<T> Sender<T> {
    /// The `Sink`'s state, made on first use.
    fn sink_state(&mut self) -> &mut SinkState<T> {
        self.sink.get_or_insert_with(|| {
            Box::new(SinkState {
                send: SendState::new(None),
                closed: false,
            })
        })
    }

    /// Drives the sink's send in flight, if any.
    fn poll_sink(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let Some(sink) = self.sink.as_mut().filter(|s| !s.send.is_idle()) else {
            return Poll::Ready(Ok(()));
        };
        match sink.send.poll(&self.shared, cx) {
            Some(res) => Poll::Ready(res),
            None => Poll::Pending,
        }
    }
}

/// `start_send` queues one value; `poll_ready`/`poll_flush` drive it into the
/// channel. `poll_close` flushes, then lets go of this handle, as if it were
/// dropped (as `futures::channel::mpsc`'s `Sender` does): the channel closes
/// once no other sending handle is left, so several senders can each
/// `forward` a stream into one channel. Go's `close`, for every sender at
/// once, is [`Sender::close`]. A sink closed this way takes no more values
/// (`start_send` hands them back as a `SendError`; the handle's own `send`
/// still reaches the channel while it is open).
///
/// ```
/// use futures::{SinkExt, StreamExt, stream};
/// let (tx, rx) = gust_chan::chan::<u32>(16);
/// futures::executor::block_on(async {
///     let a = stream::iter(0..3).map(Ok).forward(tx.clone());
///     let b = stream::iter(10..13).map(Ok).forward(tx);
///     let (ra, rb) = futures::join!(a, b); // each closes its own sender
///     ra.unwrap();
///     rb.unwrap();
///     let mut got: Vec<u32> = rx.collect().await; // ends: no sender left
///     got.sort();
///     assert_eq!(got, [0, 1, 2, 10, 11, 12]);
/// });
/// ```
impl<T> Sink<T> for Sender<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_sink(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        let this = self.get_mut();
        let sink = this.sink_state();
        if sink.closed {
            return Err(SendError(item));
        }
        if !sink.send.is_idle() {
            panic!("Sink::start_send called without poll_ready");
        }
        sink.send.set_value(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_sink(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        let res = std::task::ready!(this.poll_sink(cx));
        let sink = this.sink_state();
        if !sink.closed {
            sink.closed = true;
            this.shared.drop_sender();
        }
        Poll::Ready(res)
    }
}

/// The future of [`Chan::recv`]/[`Receiver::recv`]: `Some(value)`, or `None`
/// once the channel is closed and drained. Cancel-safe: dropping it loses no
/// value.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gust_chan::chan::<i32>(1);
/// tx.try_send(9).unwrap();
/// drop(tx);
/// assert_eq!(futures::executor::block_on(rx.recv()), Some(9));
/// assert_eq!(futures::executor::block_on(rx.recv()), None); // closed, drained
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct RecvFuture<'a, T> {
    pub(crate) shared: &'a Shared<T>,
    pub(crate) state: RecvState<T>,
}

// Nothing in a `RecvFuture` is structurally pinned.
impl<T> Unpin for RecvFuture<'_, T> {}

impl<'a, T> RecvFuture<'a, T> {
    fn new(shared: &'a Shared<T>) -> Self {
        Self {
            shared,
            state: RecvState::new(),
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        match this.state.poll(this.shared, cx) {
            Some(v) => Poll::Ready(v),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for RecvFuture<'_, T> {
    fn drop(&mut self) {
        self.state.cancel(self.shared);
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture")
            .field("waiting", &self.state.is_registered())
            .finish()
    }
}

/// The future of [`Chan::send`]/[`Sender::send`]. Dropping it before it
/// completes never both delivers and returns the value.
///
/// # Examples
///
/// ```
/// let (tx, rx) = gust_chan::chan::<i32>(1);
/// futures::executor::block_on(tx.send(4)).unwrap();
/// assert_eq!(rx.try_recv(), Ok(4));
/// drop(rx);
/// let err = futures::executor::block_on(tx.send(5)).unwrap_err();
/// assert_eq!(err.into_inner(), 5);
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SendFuture<'a, T> {
    pub(crate) shared: &'a Shared<T>,
    pub(crate) state: SendState<T>,
}

// Nothing in a `SendFuture` is structurally pinned.
impl<T> Unpin for SendFuture<'_, T> {}

impl<'a, T> SendFuture<'a, T> {
    fn new(shared: &'a Shared<T>, value: T) -> Self {
        Self {
            shared,
            state: SendState::new(Some(value)),
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    // Inline: the buffered fast path is a dozen instructions around one
    // compare-and-swap, and left out of line it cost a call and spills in
    // every sending loop (1,024 buffered sends in a row: 8.0 -> 4.3 ns each).
    // Always: with the budget check in front LLVM stopped inlining it and
    // `SendState::poll` (callgrind, bounded SPSC: 5 instructions more per
    // message).
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match this.state.poll(this.shared, cx) {
            Some(res) => Poll::Ready(res),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        drop(self.state.cancel(self.shared));
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").finish_non_exhaustive()
    }
}
