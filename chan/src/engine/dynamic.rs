//! [`Select`]: a select over a set of channel operations built at run time
//! (Go's `reflect.Select`, crossbeam's `Select`).
//!
//! # Design
//!
//! The cases are the very [`ChanCase`]s that `select!` expands to, in a
//! `Vec`, and one wait runs the same engine ([`SelectState::poll`]), so every
//! guarantee carries over unchanged: exactly one case commits, a `Select`
//! pairs with a `select!` (or another `Select`) across a rendezvous channel,
//! ready cases are chosen uniformly, and a dropped wait commits nothing new.
//! The engine's per-case arrays live on the stack for a size known at
//! compile time: a wait of up to [`MAX_CASES`] cases pads the case list
//! with disabled cases up to the next size of 1, 2, 4, 8, 16, 32 or 64 (a
//! disabled case costs one look per poll) and runs the instance of that
//! size, as a `select!` would; a larger select (up to Go's limit,
//! [`MAX_DYNAMIC_CASES`], 65,536) runs the same engine with its arrays on
//! the heap, allocated for each poll.
//!
//! Between waits a receive case stays armed (it holds no value), so a loop
//! of waits serves every channel in turn (remove the case of a closed
//! channel: it is ready at every wait, as in Go); a send case that
//! committed is spent (its value was delivered, or came back in the
//! outcome) and is not chosen again. The values of the send cases that never committed go back
//! to the caller through [`Select::into_unsent`], or are dropped with the
//! `Select`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::{
    Case, CaseOutput, ChanCase, DEFAULT, Kind, MAX_CASES, MAX_DYNAMIC_CASES, RawLock, SelectState,
    Token,
};
use crate::chan::{RecvState, SendState, Shared};
use crate::error::SendError;
use crate::handles::{Chan, Receiver, Sender};
use crate::loom::Arc;
use crate::waiter::Wakeups;

/// How the chosen case of a [`Select`] completed.
///
/// # Examples
///
/// ```
/// use gust_chan::{Chan, Select, select::Outcome};
/// let (a, b) = (Chan::<u32>::new(1), Chan::<u32>::new(1));
/// b.try_send(7).unwrap();
/// let mut sel = Select::new();
/// let ra = sel.recv(&a);
/// let sa = sel.send(&a, 1);
/// let rb = sel.recv(&b);
/// // `a` is empty and has room, `b` holds 7: the send on `a` or the
/// // receive on `b` commits, chosen at random.
/// match sel.try_select().expect("two cases are ready") {
///     (i, Outcome::Send(Ok(()))) => assert_eq!(i, sa),
///     (i, Outcome::Recv(Some(7))) => assert_eq!(i, rb),
///     other => unreachable!("{other:?}, not {ra}"),
/// }
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    /// A receive case: the value, or `None` once the channel is closed and
    /// drained.
    Recv(Option<T>),
    /// A send case: delivered, or the value handed back because the channel
    /// is closed (or has no receiver left).
    Send(Result<(), SendError<T>>),
}

impl<T> Outcome<T> {
    /// The received value, for a receive case.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_chan::select::Outcome;
    /// assert_eq!(Outcome::Recv(Some(3)).into_recv(), Some(Some(3)));
    /// assert_eq!(Outcome::<i32>::Send(Ok(())).into_recv(), None);
    /// ```
    pub fn into_recv(self) -> Option<Option<T>> {
        match self {
            Outcome::Recv(v) => Some(v),
            Outcome::Send(_) => None,
        }
    }
}

/// A select over channel operations added at run time: Go's
/// `reflect.Select`. Every case moves values of one type `T`.
///
/// [`recv`](Select::recv) and [`send`](Select::send) add a case and return
/// its index; [`wait`](Select::wait) completes exactly one of them and says
/// which, and how; [`try_select`](Select::try_select) is Go's `default`.
/// Everything `select!` guarantees holds: exactly one case commits, the
/// choice among ready cases is uniform, it pairs with a `select!` or another
/// `Select` on the other side of a rendezvous channel, and a dropped wait
/// commits nothing new.
///
/// ```
/// use gust_chan::{Select, chan, select::Outcome};
/// # futures::executor::block_on(async {
/// let chans: Vec<_> = (0..5).map(|_| chan::<usize>(1)).collect();
/// chans[3].0.try_send(30).unwrap();
/// let mut sel = Select::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// let (i, outcome) = sel.wait().await;
/// assert_eq!((i, outcome), (3, Outcome::Recv(Some(30))));
/// # });
/// ```
pub struct Select<'a, T> {
    /// `None`: a send case that committed (spent).
    cases: Vec<Option<DynCase<'a, T>>>,
}

/// A receive or send case (the two `ChanCase` types in one).
enum DynCase<'a, T> {
    Recv(ChanCase<'a, RecvState<T>>),
    Send(ChanCase<'a, SendState<T>>),
}

/// Handles a [`Select`] can receive from: [`Receiver`] and [`Chan`].
///
/// # Examples
///
/// ```
/// use gust_chan::{Chan, Select, chan};
/// let c = Chan::<i32>::new(1);
/// let (tx, rx) = chan::<i32>(1);
/// c.try_send(1).unwrap();
/// let mut sel = Select::new();
/// sel.recv(&c); // a `Chan`
/// sel.recv(&rx); // a `Receiver`
/// let (i, _) = sel.try_select().unwrap();
/// assert_eq!(i, 0);
/// drop(tx);
/// ```
pub trait SelectRecv<T>: sealed::Sealed {
    #[doc(hidden)]
    fn __shared(&self) -> &Shared<T>;
}

/// Handles a [`Select`] can send on: [`Sender`] and [`Chan`].
///
/// # Examples
///
/// ```
/// use gust_chan::{Chan, Select, chan};
/// let c = Chan::<i32>::new(0); // nobody receives: not ready
/// let (tx, _rx) = chan::<i32>(1);
/// let mut sel = Select::new();
/// sel.send(&c, 1); // a `Chan`
/// sel.send(&tx, 2); // a `Sender`
/// let (i, _) = sel.try_select().unwrap();
/// assert_eq!(i, 1);
/// assert_eq!(sel.into_unsent(), vec![(0, 1)]);
/// ```
pub trait SelectSend<T>: sealed::Sealed {
    #[doc(hidden)]
    fn __shared(&self) -> &Shared<T>;
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for crate::Chan<T> {}
    impl<T> Sealed for crate::Sender<T> {}
    impl<T> Sealed for crate::Receiver<T> {}
}

impl<T> SelectRecv<T> for Receiver<T> {
    fn __shared(&self) -> &Shared<T> {
        self.take_back_stream();
        &self.shared
    }
}

impl<T> SelectRecv<T> for Chan<T> {
    fn __shared(&self) -> &Shared<T> {
        &self.shared
    }
}

impl<T> SelectSend<T> for Sender<T> {
    fn __shared(&self) -> &Shared<T> {
        &self.shared
    }
}

impl<T> SelectSend<T> for Chan<T> {
    fn __shared(&self) -> &Shared<T> {
        &self.shared
    }
}

impl<'a, T> Select<'a, T> {
    /// A select with no cases (waiting on it waits forever, as Go's
    /// `select {}`).
    ///
    /// # Examples
    ///
    /// ```
    /// let sel = gust_chan::Select::<u8>::new();
    /// assert!(sel.is_empty());
    /// ```
    pub fn new() -> Self {
        Self { cases: Vec::new() }
    }

    fn push(&mut self, case: DynCase<'a, T>) -> usize {
        assert!(
            self.cases.len() < MAX_DYNAMIC_CASES,
            "Select: too many cases (at most {MAX_DYNAMIC_CASES}, as Go's reflect.Select)"
        );
        self.cases.push(Some(case));
        self.cases.len() - 1
    }

    /// Adds a receive case on `rx` (a [`Receiver`] or a [`Chan`]); returns
    /// its index.
    ///
    /// # Panics
    ///
    /// Past 65,536 cases ([`MAX_DYNAMIC_CASES`], Go's limit).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<i32>(1);
    /// let mut sel = gust_chan::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// # drop(tx);
    /// ```
    pub fn recv(&mut self, rx: &'a impl SelectRecv<T>) -> usize {
        self.push(DynCase::Recv(ChanCase {
            shared: rx.__shared(),
            op: RecvState::new(),
            out: None,
        }))
    }

    /// Adds a case sending `value` on `tx` (a [`Sender`] or a [`Chan`]);
    /// returns its index. If another case is chosen, the value is not
    /// delivered: [`into_unsent`](Self::into_unsent) gives it back.
    ///
    /// # Panics
    ///
    /// Past 65,536 cases ([`MAX_DYNAMIC_CASES`], Go's limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_chan::{Select, chan, select::Outcome};
    /// let (tx, rx) = chan::<i32>(1);
    /// let mut sel = Select::new();
    /// let i = sel.send(&tx, 7);
    /// assert_eq!(sel.try_select(), Some((i, Outcome::Send(Ok(())))));
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// ```
    pub fn send(&mut self, tx: &'a impl SelectSend<T>, value: T) -> usize {
        self.push(DynCase::Send(ChanCase {
            shared: tx.__shared(),
            op: SendState::new(Some(value)),
            out: None,
        }))
    }

    /// Disables case `index` for good, as a nil channel in Go's select (say
    /// for a receive case whose channel is closed: it would be ready, with
    /// `None`, at every wait). Returns the value of a send case that never
    /// committed. Indices of the other cases do not change.
    ///
    /// # Panics
    ///
    /// If `index` is not a case of this select.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_chan::{Select, chan, select::Outcome};
    /// let (tx1, rx1) = chan::<i32>(1);
    /// let (tx2, rx2) = chan::<i32>(1);
    /// drop(tx1); // closed
    /// tx2.try_send(5).unwrap();
    /// let mut sel = Select::new();
    /// let closed = sel.recv(&rx1);
    /// sel.recv(&rx2);
    /// sel.remove(closed);
    /// assert_eq!(sel.wait_blocking(), (1, Outcome::Recv(Some(5))));
    /// ```
    pub fn remove(&mut self, index: usize) -> Option<T> {
        assert!(
            index < self.cases.len(),
            "Select::remove: no case {index} (the select has {})",
            self.cases.len()
        );
        match self.cases[index].take() {
            Some(DynCase::Send(mut c)) => c.op.cancel(c.shared),
            Some(DynCase::Recv(_)) | None => None,
        }
    }

    /// The number of cases added.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<i32>(1);
    /// let mut sel = gust_chan::Select::new();
    /// sel.recv(&rx);
    /// sel.send(&tx, 1);
    /// assert_eq!(sel.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether no case was added.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(gust_chan::Select::<()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Waits until one case completes: its index and how it completed.
    /// Cancel-safe: a wait dropped before it completes commits nothing (a
    /// value a sender had already handed to a receive case goes back to its
    /// channel; unsent values stay for the next wait or
    /// [`into_unsent`](Self::into_unsent)).
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_chan::{Select, chan, select::Outcome};
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = chan::<&str>(0); // rendezvous
    /// let t = std::thread::spawn(move || tx.send_blocking("hi"));
    /// let mut sel = Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.wait().await, (0, Outcome::Recv(Some("hi"))));
    /// t.join().unwrap().unwrap();
    /// # });
    /// ```
    pub fn wait(&mut self) -> SelectWait<'_, 'a, T> {
        SelectWait {
            sel: self,
            state: SelectState::new(false, false),
            done: false,
        }
    }

    /// [`wait`](Self::wait), blocking this thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_chan::{Select, chan, select::Outcome};
    /// let (tx, rx) = chan::<i32>(1);
    /// tx.try_send(4).unwrap();
    /// let mut sel = Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.wait_blocking(), (0, Outcome::Recv(Some(4))));
    /// ```
    pub fn wait_blocking(&mut self) -> (usize, Outcome<T>) {
        crate::blocking::block_on(self.wait())
    }

    /// Completes a case that is ready now, or returns `None` if none is (Go's
    /// `reflect.Select` with a `SelectDefault` case).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = gust_chan::chan::<i32>(1);
    /// let mut sel = gust_chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.try_select(), None);
    /// # drop(tx);
    /// ```
    pub fn try_select(&mut self) -> Option<(usize, Outcome<T>)> {
        let mut state = SelectState::new(true, false);
        let mut cx = Context::from_waker(Waker::noop());
        match poll_cases(&mut state, &mut self.cases, &mut cx) {
            Poll::Ready(DEFAULT) | Poll::Pending => None,
            Poll::Ready(i) => Some((i, self.take(i))),
        }
    }

    /// The values of the send cases that never committed, with their
    /// indices, in index order.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_chan::{Select, chan};
    /// let (a_tx, a_rx) = chan::<i32>(1);
    /// let (b_tx, b_rx) = chan::<i32>(0); // nobody receives
    /// let mut sel = Select::new();
    /// sel.send(&a_tx, 1);
    /// sel.send(&b_tx, 2);
    /// assert_eq!(sel.try_select().unwrap().0, 0);
    /// assert_eq!(sel.into_unsent(), [(1, 2)]);
    /// # drop((a_rx, b_rx));
    /// ```
    pub fn into_unsent(mut self) -> Vec<(usize, T)> {
        let mut unsent = Vec::new();
        for (i, case) in self.cases.iter_mut().enumerate() {
            if let Some(DynCase::Send(c)) = case {
                if let Some(v) = c.op.cancel(c.shared) {
                    unsent.push((i, v));
                }
            }
        }
        unsent
    }

    /// The outcome of case `i`, which committed; a send case is spent.
    fn take(&mut self, i: usize) -> Outcome<T> {
        match &mut self.cases[i] {
            Some(DynCase::Recv(c)) => Outcome::Recv(Pin::new(c).take_output()),
            Some(DynCase::Send(c)) => {
                let out = Pin::new(c).take_output();
                self.cases[i] = None;
                Outcome::Send(out)
            }
            None => unreachable!("a spent case was chosen"),
        }
    }

    /// A wait was dropped before it completed: unqueue every case, keeping
    /// the send cases' values (a value a counterpart already took was
    /// delivered: that case is spent).
    fn unregister_all(&mut self) {
        for case in &mut self.cases {
            match case {
                Some(DynCase::Recv(c)) => c.op.cancel(c.shared),
                Some(DynCase::Send(c)) => match c.op.cancel(c.shared) {
                    Some(v) => c.op.set_value(v),
                    None => *case = None,
                },
                None => {}
            }
        }
    }
}

impl<T> Default for Select<'_, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Select<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("cases", &self.cases.len())
            .finish_non_exhaustive()
    }
}

/// Polls the engine over `cases`, padded with disabled cases to the next
/// array size the engine is instantiated for.
fn poll_cases<T>(
    state: &mut SelectState,
    cases: &mut [Option<DynCase<'_, T>>],
    cx: &mut Context<'_>,
) -> Poll<usize> {
    match cases.len() {
        0..=1 => poll_padded::<1, T>(state, cases, cx),
        2 => poll_padded::<2, T>(state, cases, cx),
        3..=4 => poll_padded::<4, T>(state, cases, cx),
        5..=8 => poll_padded::<8, T>(state, cases, cx),
        9..=16 => poll_padded::<16, T>(state, cases, cx),
        17..=32 => poll_padded::<32, T>(state, cases, cx),
        33..=MAX_CASES => poll_padded::<64, T>(state, cases, cx),
        _ => {
            let mut cases: Vec<Pin<&mut dyn Case>> = cases
                .iter_mut()
                .map(|c| Pin::new(c) as Pin<&mut dyn Case>)
                .collect();
            state.poll_slice(&mut cases, cx)
        }
    }
}

fn poll_padded<const N: usize, T>(
    state: &mut SelectState,
    cases: &mut [Option<DynCase<'_, T>>],
    cx: &mut Context<'_>,
) -> Poll<usize> {
    let mut pads = [Padding; N];
    let mut cases = cases.iter_mut();
    let mut pads = pads.iter_mut();
    let arr: [Pin<&mut dyn Case>; N] = std::array::from_fn(|_| match cases.next() {
        Some(c) => Pin::new(c) as Pin<&mut dyn Case>,
        None => Pin::new(pads.next().expect("N >= len")) as Pin<&mut dyn Case>,
    });
    state.poll(arr, cx)
}

/// A disabled case that fills the engine's array up to its size: zero-sized,
/// so a padded wait costs nothing to build or drop.
#[derive(Clone, Copy)]
struct Padding;

impl Case for Padding {
    fn describe(&self) -> (Kind, Option<&RawLock>) {
        (Kind::Disabled, None)
    }

    fn poll_future(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        unreachable!("padding is disabled")
    }

    fn try_alone(self: Pin<&mut Self>, _: &mut Context<'_>, _: &mut Wakeups) -> bool {
        false
    }

    unsafe fn try_commit(self: Pin<&mut Self>, _: Option<&Token>, _: &mut Wakeups) -> bool {
        unreachable!("padding is disabled")
    }

    unsafe fn register(self: Pin<&mut Self>, _: &Arc<Token>, _: usize) {}

    unsafe fn finish(self: Pin<&mut Self>, _: bool, _: &mut Wakeups) {}

    fn waits_durably(&self) -> bool {
        true
    }
}

/// The future of [`Select::wait`].
///
/// ```
/// use gust_chan::{Select, chan, select::Outcome};
/// let (tx, rx) = chan::<u8>(1);
/// tx.try_send(1).unwrap();
/// let mut sel = Select::new();
/// sel.recv(&rx);
/// let fut = sel.wait();
/// assert_eq!(futures::executor::block_on(fut), (0, Outcome::Recv(Some(1))));
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct SelectWait<'s, 'a, T> {
    sel: &'s mut Select<'a, T>,
    state: SelectState,
    done: bool,
}

impl<T> Future for SelectWait<'_, '_, T> {
    type Output = (usize, Outcome<T>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let i = std::task::ready!(poll_cases(&mut this.state, &mut this.sel.cases, cx));
        this.done = true;
        Poll::Ready((i, this.sel.take(i)))
    }
}

impl<T> Drop for SelectWait<'_, '_, T> {
    fn drop(&mut self) {
        if !self.done {
            self.sel.unregister_all();
        }
    }
}

impl<T> fmt::Debug for SelectWait<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectWait").finish_non_exhaustive()
    }
}

impl<T> Case for DynCase<'_, T> {
    fn describe(&self) -> (Kind, Option<&RawLock>) {
        match self {
            DynCase::Recv(c) => c.describe(),
            DynCase::Send(c) => c.describe(),
        }
    }

    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.get_mut() {
            DynCase::Recv(c) => Pin::new(c).poll_future(cx),
            DynCase::Send(c) => Pin::new(c).poll_future(cx),
        }
    }

    fn try_alone(self: Pin<&mut Self>, cx: &mut Context<'_>, w: &mut Wakeups) -> bool {
        match self.get_mut() {
            DynCase::Recv(c) => Pin::new(c).try_alone(cx, w),
            DynCase::Send(c) => Pin::new(c).try_alone(cx, w),
        }
    }

    unsafe fn try_commit(self: Pin<&mut Self>, me: Option<&Token>, w: &mut Wakeups) -> bool {
        // SAFETY: forwarded contract.
        unsafe {
            match self.get_mut() {
                DynCase::Recv(c) => Pin::new(c).try_commit(me, w),
                DynCase::Send(c) => Pin::new(c).try_commit(me, w),
            }
        }
    }

    unsafe fn register(self: Pin<&mut Self>, token: &Arc<Token>, case: usize) {
        // SAFETY: forwarded contract.
        unsafe {
            match self.get_mut() {
                DynCase::Recv(c) => Pin::new(c).register(token, case),
                DynCase::Send(c) => Pin::new(c).register(token, case),
            }
        }
    }

    unsafe fn finish(self: Pin<&mut Self>, chosen: bool, w: &mut Wakeups) {
        // SAFETY: forwarded contract.
        unsafe {
            match self.get_mut() {
                DynCase::Recv(c) => Pin::new(c).finish(chosen, w),
                DynCase::Send(c) => Pin::new(c).finish(chosen, w),
            }
        }
    }

    fn waits_durably(&self) -> bool {
        // Channel cases only.
        true
    }
}
