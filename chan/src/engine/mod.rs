//! The `select!` engine: exactly one case commits.
//!
//! # The problem
//!
//! A `select!` waits on several operations at once and must commit exactly one
//! of them. Channel cases are two-sided: a send case of one select may pair
//! with a receive case of another select on a rendezvous channel, and then
//! *both* selects commit in one step, or neither does. Any other future is a
//! case too (a timer, `ctx.done()`, a `JoinHandle`), and it completes on its
//! own, outside any channel.
//!
//! # The design: Go's, adapted to polling
//!
//! We follow Go's `runtime/select.go` (lock every channel of the select, then
//! pass 1 / pass 2 / pass 3), with crossbeam's per-waiter selection word for
//! the race between counterparts on *different* channels:
//!
//! * Each select owns one [`Token`]: an atomic selection word, `WAITING`, then
//!   exactly once either `SELECTED(case)` (a counterpart chose a case) or
//!   `CLAIMED` (the select took itself). Every queued entry of the select
//!   points at the token (`waiter.rs`, invariants #1 and #2).
//! * A counterpart that finds an entry in a channel queue CASes the entry's
//!   token `WAITING -> SELECTED(case)` *while holding that channel's lock*, and
//!   moves the value in the same critical section. Of two counterparts on two
//!   channels racing for one select, the first CAS wins; the loser skips the
//!   stale entry (Go's `dequeue` skipping a select that won elsewhere).
//! * The select itself never races for its own token while it scans its
//!   channel cases: it holds *all* its channels' locks (in address order, each
//!   once, as Go's `sellock`), and every counterpart that could select it needs
//!   one of those locks. So while the select scans, its token cannot change.
//!
//! # One poll, as comment headings below
//!
//! 1. **Poll order**: a uniformly random permutation of the enabled cases
//!    (Fisher-Yates; a random rotation would favour the case after a run of
//!    unready ones).
//! 2. **Lock order**: channel cases sorted by lock address, duplicates locked
//!    once.
//! 3. **Pass 1 (anything ready?)**: walk the permutation. A channel case tries
//!    its operation (skipping our own queued entries: a select never pairs
//!    with itself); the first that succeeds commits. A generic future case is
//!    polled with no lock held (user code never runs under a channel lock);
//!    if it is ready and entries of ours are queued, the select claims its
//!    own token (`WAITING -> CLAIMED`); if that CAS fails, a counterpart chose
//!    a channel case meanwhile: that case wins and the future's output is
//!    dropped.
//!    - *Fresh* (nothing of ours queued: the first poll): no counterpart can
//!      choose us, so each channel case is tried under its own channel's lock
//!      alone. A ready case costs one lock, not one per channel. Not so with
//!      a `default` arm: a select that may give up must see all its channels
//!      at one instant (Go's `TestNonblockSelectRace`), so it tries them
//!      under all their locks.
//!    - *Registered* (we were woken): if a counterpart chose a case, go to
//!      pass 3 at once (**pass 0**). Otherwise the channel cases are tried
//!      under all the select's locks, and pass 0 is re-checked whenever the
//!      locks are (re)taken after polling a future.
//!
//!    Before the select waits, the channel cases are tried once more under
//!    the very locks that pass 2 registers under: a counterpart that queued
//!    while those locks were free (after we tried its channel) would
//!    otherwise be missed, and both would wait forever.
//! 4. **Default**: nothing was ready and there is a `default` arm: take it.
//!    A select with a default never queues, so there is nothing to undo.
//! 5. **Pass 2 (enqueue)**: queue an entry for every channel case not already
//!    queued, in the random poll order (entries stay queued across polls,
//!    which keeps FIFO position), store the waker (under all locks,
//!    `waiter.rs` invariant #4), unlock, return `Pending`.
//! 6. **Pass 3 (dequeue)**: when the select finishes, remove every entry it
//!    still has queued. If a counterpart chose us, the token is final and no
//!    other entry can be chosen: each channel is locked alone. If we chose a
//!    case ourselves while registered, the token is still `WAITING`: the
//!    entries are removed under all the locks, before any counterpart can
//!    reach them.
//!
//! # Cancellation
//!
//! Dropping a pending select first claims its token (no case can be chosen
//! from then on), then each case removes its entry. A receive case that a
//! sender had already chosen gives its value back to the channel (next waiting
//! receiver, else the front of the buffer); a send case that was chosen has
//! delivered, one that was not keeps its value and drops it. So a dropped
//! select commits at most one channel operation, loses no value, and a send it
//! did not commit is never delivered.
//!
//! # Wait reason
//!
//! When the select as a whole returns `Pending`, it records one
//! `gust_trace::Wait::Select { cases, durable }` for the task dump and the
//! deadlock detector ([`SelectState::poll`] through `record_wait`, on the
//! pending path only): `cases` counts the enabled cases, and `durable` holds
//! if every one of them waits durably. A channel case always does, and it
//! records nothing itself (the engine drives its operation through
//! [`ChanOp`], not through the standalone polls that record). A generic
//! future case is polled under `gust_trace::observe`, which leaves the
//! task's slot as it was and hands back what the future recorded; the case
//! keeps whether that was a durable wait. A future that recorded nothing
//! (one gust cannot see into) is not durable. With every case disabled and
//! no `default` the select waits forever: `Select { cases: 0, durable: true }`.
//! A select with `default` never waits and records nothing.
//!
//! # Rejected alternatives
//!
//! * crossbeam's "register, then abort and retry if a peer is ready": under
//!   polling both sides of a rendezvous pair can be mid-poll at once, each
//!   seeing the other's token busy, and both go to sleep: a lost pairing.
//!   Holding all the select's locks while it scans makes that impossible: the
//!   two scans of the shared channel are serialized by its lock, and the later
//!   one sees the earlier one's entry `WAITING`.
//! * Dequeue-and-requeue on every poll (Go's goroutine model): simpler, but
//!   loses FIFO position on spurious wake-ups and costs an allocation per poll.

mod dynamic;
mod macros;

pub use dynamic::{Outcome, Select, SelectRecv, SelectSend, SelectWait};

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use gust_trace::Wait;
use pin_project_lite::pin_project;

use crate::chan::{Inner, RecvState, SendState, Shared};
use crate::handles::{RecvFuture, SendFuture};
use crate::loom::Arc;
pub use crate::loom::RawLock;
use crate::waiter::Selection;
pub use crate::waiter::{Token, Wakeups};

/// The most cases one `select!` may have.
pub const MAX_CASES: usize = 64;

/// The most cases one [`Select`] may have: Go's `reflect.Select` limit.
///
/// # Examples
///
/// ```
/// use gust_chan::{Chan, Select, select::{MAX_DYNAMIC_CASES, Outcome}};
/// let c = Chan::<u32>::new(1);
/// let mut sel = Select::new();
/// for _ in 0..1_000 {
///     sel.recv(&c); // far past select!'s 64 cases
/// }
/// assert!(sel.len() <= MAX_DYNAMIC_CASES);
/// c.try_send(7).unwrap();
/// let (_, out) = sel.try_select().unwrap();
/// assert_eq!(out, Outcome::Recv(Some(7)));
/// ```
pub const MAX_DYNAMIC_CASES: usize = 1 << 16;

/// The index `SelectState::poll` returns when the `default` arm is taken.
pub(crate) const DEFAULT: usize = usize::MAX;

/// What kind of case a [`Case`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Disabled by `, if false` (Go's nil channel): never chosen.
    Disabled,
    /// A channel send or receive: takes part in the commit protocol.
    Channel,
    /// Any other future: wins if it completes while the select is undecided.
    Future,
}

/// One case of a `select!`, type-erased.
///
/// The `unsafe` methods must be called with the lock returned by
/// [`Case::describe`] held (and, for `register`, with the locks of all the
/// select's channel cases held).
pub trait Case {
    /// Which kind of case this is, and its channel lock for a channel case:
    /// one dynamic call per case and poll.
    fn describe(&self) -> (Kind, Option<&RawLock>);

    /// Polls a generic future case; on `Ready` its output is stored.
    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Pass 1 of a select with nothing queued and no `default`: tries this
    /// case on its own (a channel case under its own channel's lock, which
    /// it takes and releases; a future case by polling it). `true` if it
    /// completed (its output is stored); `false` if not, or if disabled.
    fn try_alone(self: Pin<&mut Self>, cx: &mut Context<'_>, wakeups: &mut Wakeups) -> bool;

    /// Tries to complete a channel case now; on success the output is stored.
    ///
    /// # Safety
    ///
    /// The channel lock is held. `me` is the select's token if it has entries
    /// queued.
    unsafe fn try_commit(self: Pin<&mut Self>, me: Option<&Token>, wakeups: &mut Wakeups) -> bool;

    /// Queues an entry for this case (if not queued yet).
    ///
    /// # Safety
    ///
    /// The locks of all the select's channel cases are held.
    unsafe fn register(self: Pin<&mut Self>, token: &Arc<Token>, case: usize);

    /// The select is done: unqueue; if a counterpart chose this case
    /// (`chosen`), store what it handed over as the output.
    ///
    /// # Safety
    ///
    /// The channel lock is held.
    unsafe fn finish(self: Pin<&mut Self>, chosen: bool, wakeups: &mut Wakeups);

    /// Whether this case, pending in this poll, waits durably (`gust_trace`):
    /// a channel case always; a future case if its last poll recorded a
    /// durable wait. Asked only when the select returns `Pending` and a wait
    /// is being traced.
    fn waits_durably(&self) -> bool;
}

/// How a case hands its output to the arm.
pub trait CaseOutput {
    /// The value bound by the arm's pattern.
    type Output;

    /// Takes the stored output (the macro then matches the arm's pattern
    /// against it).
    fn take_output(self: Pin<&mut Self>) -> Self::Output;
}

/// What differs between a receive case and a send case: the channel
/// operation, driven through the locked calls of `chan.rs`. Implemented by
/// `RecvState` and `SendState`, the state a `recv`/`send` keeps across polls.
///
/// The element type is an associated type, not a parameter: the state
/// determines it. With a parameter, the compiler's proof that a `select!`
/// future is `Send` (which erases lifetimes) had to show
/// `RecvState<&'a str>: ChanOp<&'b str>` for any two lifetimes, and
/// `select!` on a `chan::<&'static str>` did not compile inside `spawn`.
pub trait ChanOp {
    /// The channel's element type.
    type Item;
    /// What the case's arm binds.
    type Output;
    /// How the case ended, kept until its output is taken: as little as the
    /// output needs beside the state (a send that failed keeps its value
    /// in the state, not a second time here).
    type Done;

    /// Tries to complete the operation now (lock held).
    fn try_commit_locked(
        &mut self,
        inner: &mut Inner<Self::Item>,
        me: Option<&Token>,
        wakeups: &mut Wakeups,
    ) -> Option<Self::Done>;

    /// Queues an entry for case `case` of the select owning `token`, if not
    /// queued yet (lock held).
    fn register_locked(&mut self, inner: &mut Inner<Self::Item>, token: &Arc<Token>, case: usize);

    /// The select is done: unqueue; if a counterpart chose this case, what it
    /// handed over (lock held).
    fn finish_locked(
        &mut self,
        inner: &mut Inner<Self::Item>,
        chosen: bool,
        wakeups: &mut Wakeups,
    ) -> Option<Self::Done>;

    /// The output of the operation that ended as `done`.
    fn output(&mut self, done: Self::Done) -> Self::Output;

    /// The case is dropped: undo what is queued, give back or drop what was
    /// not delivered (takes the lock itself).
    fn cancel(&mut self, shared: &Shared<Self::Item>);
}

/// A channel case: `v = rx.recv()` ([`RecvCase`]) or `r = tx.send(v)`
/// ([`SendCase`]).
pub struct ChanCase<'a, Op: ChanOp> {
    shared: &'a Shared<Op::Item>,
    op: Op,
    out: Option<Op::Done>,
}

/// A receive case: `v = rx.recv()`.
pub type RecvCase<'a, T> = ChanCase<'a, RecvState<T>>;

/// A send case: `r = tx.send(v)`.
pub type SendCase<'a, T> = ChanCase<'a, SendState<T>>;

// Nothing is structurally pinned.
impl<Op: ChanOp> Unpin for ChanCase<'_, Op> {}

pin_project! {
    /// Any other future as a case. No channel case can be chosen while it is
    /// polled (invariant #8 of the waiter module), so an output it produced
    /// is never dropped.
    pub struct FutCase<F: Future> {
        #[pin]
        fut: F,
        out: Option<F::Output>,
        // Its last `Pending` poll recorded a durable wait (`gust_trace`).
        durable: bool,
    }
}

impl<Op: ChanOp> fmt::Debug for ChanCase<'_, Op> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChanCase")
    }
}

impl<Op: ChanOp> Case for ChanCase<'_, Op> {
    fn describe(&self) -> (Kind, Option<&RawLock>) {
        (Kind::Channel, Some(&self.shared.lock))
    }

    fn poll_future(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        unreachable!("a channel case is not polled as a future")
    }

    #[inline]
    fn try_alone(self: Pin<&mut Self>, _: &mut Context<'_>, w: &mut Wakeups) -> bool {
        let lock = &self.shared.lock;
        lock.lock_eager();
        // SAFETY: the case's channel lock is held; nothing of ours is queued
        // (no token yet).
        let ready = unsafe { self.try_commit(None, w) };
        // SAFETY: locked just above.
        unsafe { lock.unlock() };
        ready
    }

    unsafe fn try_commit(self: Pin<&mut Self>, me: Option<&Token>, w: &mut Wakeups) -> bool {
        let this = self.get_mut();
        if this.out.is_some() {
            // A send delivered before the select started (`__gust_into_case`).
            return true;
        }
        // SAFETY: the lock is held (caller's contract); no re-entry.
        this.out = unsafe {
            this.shared
                .with_inner(|inner| this.op.try_commit_locked(inner, me, w))
        };
        this.out.is_some()
    }

    unsafe fn register(self: Pin<&mut Self>, token: &Arc<Token>, case: usize) {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract).
        unsafe {
            this.shared
                .with_inner(|inner| this.op.register_locked(inner, token, case));
        }
    }

    unsafe fn finish(self: Pin<&mut Self>, chosen: bool, w: &mut Wakeups) {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract).
        let out = unsafe {
            this.shared
                .with_inner(|inner| this.op.finish_locked(inner, chosen, w))
        };
        if out.is_some() {
            this.out = out;
        }
    }

    fn waits_durably(&self) -> bool {
        true
    }
}

impl<Op: ChanOp> CaseOutput for ChanCase<'_, Op> {
    type Output = Op::Output;

    fn take_output(self: Pin<&mut Self>) -> Op::Output {
        let this = self.get_mut();
        let done = this.out.take().expect("select: case has no output");
        this.op.output(done)
    }
}

impl<Op: ChanOp> Drop for ChanCase<'_, Op> {
    fn drop(&mut self) {
        // Cancel safety: a value a sender already handed to a receive case
        // goes back; a send case's undelivered value is dropped here,
        // outside the lock; a plain queued entry is removed.
        self.op.cancel(self.shared);
    }
}

impl<F: Future> Case for FutCase<F> {
    fn describe(&self) -> (Kind, Option<&RawLock>) {
        (Kind::Future, None)
    }

    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // What the future records is this case's wait, not the task's: the
        // select records one wait for the whole (module docs, "Wait reason").
        let fut = this.fut;
        let (res, seen) = gust_trace::observe(|| fut.poll(cx));
        match res {
            Poll::Ready(v) => {
                *this.out = Some(v);
                Poll::Ready(())
            }
            Poll::Pending => {
                *this.durable = seen.is_some_and(|w| w.is_durable());
                Poll::Pending
            }
        }
    }

    fn try_alone(self: Pin<&mut Self>, cx: &mut Context<'_>, _: &mut Wakeups) -> bool {
        self.poll_future(cx).is_ready()
    }

    unsafe fn try_commit(self: Pin<&mut Self>, _: Option<&Token>, _: &mut Wakeups) -> bool {
        unreachable!("a future case has no channel")
    }

    unsafe fn register(self: Pin<&mut Self>, _: &Arc<Token>, _: usize) {}

    unsafe fn finish(self: Pin<&mut Self>, _: bool, _: &mut Wakeups) {}

    fn waits_durably(&self) -> bool {
        self.durable
    }
}

impl<F: Future> CaseOutput for FutCase<F> {
    type Output = F::Output;

    fn take_output(self: Pin<&mut Self>) -> F::Output {
        self.project()
            .out
            .take()
            .expect("select: case has no output")
    }
}

/// `Option<C>`: `None` is a case disabled by its `, if` guard.
impl<C: Case> Case for Option<C> {
    #[inline]
    fn describe(&self) -> (Kind, Option<&RawLock>) {
        match self {
            Some(c) => c.describe(),
            None => (Kind::Disabled, None),
        }
    }

    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.as_pin_mut().expect("disabled case").poll_future(cx)
    }

    #[inline]
    fn try_alone(self: Pin<&mut Self>, cx: &mut Context<'_>, w: &mut Wakeups) -> bool {
        match self.as_pin_mut() {
            Some(c) => c.try_alone(cx, w),
            None => false,
        }
    }

    unsafe fn try_commit(self: Pin<&mut Self>, me: Option<&Token>, w: &mut Wakeups) -> bool {
        // SAFETY: forwarded contract.
        unsafe { self.as_pin_mut().expect("disabled case").try_commit(me, w) }
    }

    unsafe fn register(self: Pin<&mut Self>, token: &Arc<Token>, case: usize) {
        if let Some(c) = self.as_pin_mut() {
            // SAFETY: forwarded contract.
            unsafe { c.register(token, case) }
        }
    }

    unsafe fn finish(self: Pin<&mut Self>, chosen: bool, w: &mut Wakeups) {
        if let Some(c) = self.as_pin_mut() {
            // SAFETY: forwarded contract.
            unsafe { c.finish(chosen, w) }
        }
    }

    fn waits_durably(&self) -> bool {
        // A disabled case is not counted (`record_wait` skips it).
        self.as_ref().is_none_or(C::waits_durably)
    }
}

/// Takes the output of the chosen case (used by the macro's expansion).
pub fn take_output<C: CaseOutput>(case: Pin<&mut Option<C>>) -> C::Output {
    case.as_pin_mut()
        .expect("select: the chosen case is disabled")
        .take_output()
}

/// Wraps a case expression for autoref-specialized dispatch, on the
/// expression `Wrap::new(f).__gust_into_case()`: method resolution tries
/// the receiver by value first, where channel futures become channel cases
/// ([`IntoChanCase`], consuming the `Wrap`), then by `&`, where anything
/// else that is a future becomes a [`FutCase`] ([`IntoFutCase`], taking the
/// future out of the cell), then by `&mut`, where what is not a future
/// falls through to [`Wrap::__gust_into_case`] (after [`select_case`] has
/// reported it).
///
/// The macro evaluates each case expression as (part of) the scrutinee of
/// a `match` that spans the whole select, so that its temporaries live as
/// long as the select does, and moves the future into a `match` arm, where
/// it is wrapped and converted: the `Wrap` is a temporary of that arm and
/// ends with it, so a future case is stored once, in its `FutCase`.
pub struct Wrap<F>(pub Cell<Option<F>>);

impl<F> fmt::Debug for Wrap<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wrap").finish_non_exhaustive()
    }
}

/// What a `select!` case expression must be: a future (channel operations
/// are futures too). Only a bound: its message is the diagnostic for a case
/// that is not a future, at the user's expression (see [`select_case`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a future: a select! case must be a future or a channel operation",
    label = "not a future",
    note = "a case is `pattern = rx.recv() => ...`, `pattern = tx.send(value) => ...` or `pattern = future => ...`"
)]
pub trait SelectCase {}

impl<F: Future> SelectCase for F {}

impl<F> Wrap<F> {
    /// Wraps a case expression (checked by [`select_case`] first).
    #[inline]
    pub fn new(case: F) -> Self {
        Wrap(Cell::new(Some(case)))
    }

    /// Method resolution's last resort, for a case that is not a future
    /// ([`select_case`] has already reported it; [`IntoFutCase`] does not apply): a
    /// placeholder case whose output type is the expression's, so that the
    /// rest of the expansion type-checks and the user sees that one error,
    /// not a second one about this dispatch. Never called by a program that
    /// compiles.
    pub fn __gust_into_case(&mut self) -> FutCase<std::future::Pending<F>> {
        FutCase {
            fut: std::future::pending(),
            out: None,
            durable: false,
        }
    }
}

/// A case expression, checked: the bound's message is the diagnostic for a
/// case that is not a future, at the user's expression (the argument).
#[inline]
pub fn select_case<F: SelectCase>(case: F) -> F {
    case
}

/// Dispatch for channel operations (see [`Wrap`]).
pub trait IntoChanCase {
    /// The case type.
    type Case;
    /// Converts.
    fn __gust_into_case(self) -> Self::Case;
}

/// Dispatch for any other future (see [`Wrap`]).
pub trait IntoFutCase {
    /// The case type.
    type Case;
    /// Converts.
    fn __gust_into_case(self) -> Self::Case;
}

impl<'a, T> IntoChanCase for Wrap<RecvFuture<'a, T>> {
    type Case = RecvCase<'a, T>;

    #[inline]
    fn __gust_into_case(self) -> RecvCase<'a, T> {
        // The future's own state is dropped with it: a future polled before
        // it became a case is cancelled first (giving back any value it was
        // handed), and the case starts afresh.
        let fut = self.0.into_inner().expect("case converted twice");
        ChanCase {
            shared: fut.shared,
            op: RecvState::new(),
            out: None,
        }
    }
}

impl<'a, T> IntoChanCase for Wrap<SendFuture<'a, T>> {
    type Case = SendCase<'a, T>;

    #[inline]
    fn __gust_into_case(self) -> SendCase<'a, T> {
        let mut fut = self.0.into_inner().expect("case converted twice");
        // A future polled before it became a case is unqueued first. If its
        // value was already delivered, the case is complete from the start.
        let value = fut.state.cancel(fut.shared);
        let out = if value.is_none() { Some(true) } else { None };
        ChanCase {
            shared: fut.shared,
            op: SendState::new(value),
            out,
        }
    }
}

impl<F: Future> IntoFutCase for &Wrap<F> {
    type Case = FutCase<F>;

    #[inline]
    fn __gust_into_case(self) -> FutCase<F> {
        FutCase {
            fut: self.0.take().expect("case converted twice"),
            out: None,
            durable: false,
        }
    }
}

/// The select's own state across polls.
#[derive(Debug)]
pub struct SelectState {
    /// Created when the select first queues entries.
    token: Option<Arc<Token>>,
    /// Whether entries are queued (pass 2 ran).
    registered: bool,
    has_default: bool,
    /// `biased;`: cases are tried in source order, not at random.
    biased: bool,
    done: bool,
}

/// Where one poll keeps its per-case arrays: on the stack for a size known
/// at compile time ([`Inline`], `select!`), or on the heap ([`Heap`], a
/// [`Select`] of more cases than a `select!` may have). The engine is
/// generic over it, so the `select!` instances are what they would be if
/// written for arrays alone.
trait Arrays {
    /// An array of `T`, one per case.
    type Of<T>: AsRef<[T]> + AsMut<[T]>;

    /// A case's number in the per-case arrays: `u8` for the up to 64 cases
    /// of a `select!` (measured: `u16` there cost select over 4 3% of its
    /// instructions), `u16` for the up to [`MAX_DYNAMIC_CASES`] of a
    /// `Select`.
    type Ix: Copy + Into<usize>;

    /// Case `i`'s number (`i` below the number of cases).
    fn ix(i: usize) -> Self::Ix;

    /// `n` (the number of cases) copies of `v`.
    fn filled<T: Copy>(n: usize, v: T) -> Self::Of<T>;

    /// `0, 1, ..., n - 1`: the source order of `n` cases.
    fn source_order(n: usize) -> Self::Of<Self::Ix>;
}

/// Arrays of `N` elements, on the stack.
struct Inline<const N: usize>;

impl<const N: usize> Arrays for Inline<N> {
    type Of<T> = [T; N];
    type Ix = u8;

    #[inline]
    fn ix(i: usize) -> u8 {
        // `i < N <= MAX_CASES`: fits.
        i as u8
    }

    #[inline]
    fn filled<T: Copy>(n: usize, v: T) -> [T; N] {
        debug_assert_eq!(n, N);
        [v; N]
    }

    #[inline]
    fn source_order(n: usize) -> [u8; N] {
        debug_assert_eq!(n, N);
        std::array::from_fn(Self::ix)
    }
}

/// Vectors, allocated for each poll.
struct Heap;

impl Arrays for Heap {
    type Of<T> = Vec<T>;
    type Ix = u16;

    fn ix(i: usize) -> u16 {
        // `i < n <= MAX_DYNAMIC_CASES = 2^16`: fits.
        i as u16
    }

    fn filled<T: Copy>(n: usize, v: T) -> Vec<T> {
        vec![v; n]
    }

    fn source_order(n: usize) -> Vec<u16> {
        (0..n).map(Self::ix).collect()
    }
}

/// What one poll knows about the cases, read once (the case methods are
/// dynamic calls): kinds, lock addresses, poll order and lock order.
struct Plan<A: Arrays> {
    kinds: A::Of<Kind>,
    /// The channel lock of each channel case (null otherwise).
    locks: A::Of<*const RawLock>,
    /// Poll order (1.): a uniformly random permutation of the enabled cases.
    order: A::Of<A::Ix>,
    n_enabled: usize,
    /// Lock order (2.): the channel cases, sorted by lock address when
    /// `sorted` (only a poll that takes all the locks needs the order).
    by_addr: A::Of<A::Ix>,
    n_locks: usize,
    sorted: bool,
}

/// A uniformly random permutation of the cases (1. Poll order), drawn
/// lazily: forward Fisher-Yates, position `k` fixed only when pass 1 first
/// asks for it, so a select whose first tried case is ready draws one
/// position, not `n - 1` (the whole permutation is drawn only for the
/// [`Plan`]). Each position takes one multiplication from a 64-bit random
/// word (Lemire's multiply-shift; the low half of the product is the unused
/// randomness, and a word serves several draws while their bounds multiply
/// to at most 2^32, so the bias stays below 2^-32): one thread-local draw
/// for up to 12 positions. A random rotation would be cheaper still, but it
/// favours the case after a run of unready ones. `biased;` and loom use the
/// source order: loom needs determinism, and the models explore the
/// interleavings instead.
struct Shuffle<A: Arrays> {
    order: A::Of<A::Ix>,
    /// Positions `..drawn` are final.
    drawn: usize,
    word: u64,
    /// Product of the bounds drawn from `word`.
    spent: u64,
}

impl<A: Arrays> Shuffle<A> {
    /// Over `n` cases.
    #[inline]
    fn new(n: usize, biased: bool) -> Self {
        Self {
            order: A::source_order(n),
            drawn: if biased || cfg!(loom) { n } else { 0 },
            word: 0,
            spent: u64::MAX,
        }
    }

    /// The number of cases.
    #[inline]
    fn len(&self) -> usize {
        self.order.as_ref().len()
    }

    /// Fixes the next position.
    #[inline]
    fn draw(&mut self) {
        let k = self.drawn;
        let bound = (self.len() - k) as u64;
        if bound > 1 {
            self.spent = self.spent.saturating_mul(bound);
            if self.spent > 1 << 32 {
                self.word = fastrand::u64(..);
                self.spent = bound;
            }
            let m = u128::from(self.word) * u128::from(bound);
            self.word = m as u64;
            self.order.as_mut().swap(k, k + (m >> 64) as usize);
        }
        self.drawn += 1;
    }

    /// The case at position `k` of the poll order.
    #[inline]
    fn at(&mut self, k: usize) -> usize {
        while self.drawn <= k {
            self.draw();
        }
        self.order.as_ref()[k].into()
    }

    /// The whole permutation.
    fn all(&mut self) -> &[A::Ix] {
        while self.drawn < self.len() {
            self.draw();
        }
        self.order.as_ref()
    }
}

/// A whole uniformly random permutation (the unit tests' view of [`Shuffle`]).
#[cfg(test)]
fn shuffled<const N: usize>() -> [u8; N] {
    let mut s = Shuffle::<Inline<N>>::new(N, false);
    s.all();
    s.order
}

impl<A: Arrays> Plan<A> {
    /// Reads the cases; `perm` is the poll order over all the cases (the
    /// disabled ones are left out: a uniform permutation of all the cases
    /// keeps the enabled ones in uniform random order).
    fn new(cases: &[Pin<&mut dyn Case>], perm: &[A::Ix]) -> Self {
        let n = cases.len();
        let mut plan = Plan::<A> {
            kinds: A::filled(n, Kind::Disabled),
            locks: A::filled(n, std::ptr::null()),
            order: A::filled(n, A::ix(0)),
            n_enabled: 0,
            by_addr: A::filled(n, A::ix(0)),
            n_locks: 0,
            sorted: false,
        };
        let (kinds, locks, by_addr) = (
            plan.kinds.as_mut(),
            plan.locks.as_mut(),
            plan.by_addr.as_mut(),
        );
        for (i, case) in cases.iter().enumerate() {
            let (kind, lock) = case.describe();
            kinds[i] = kind;
            if kind == Kind::Channel {
                locks[i] = lock.expect("a channel case has a lock");
                by_addr[plan.n_locks] = A::ix(i);
                plan.n_locks += 1;
            }
        }
        let order = plan.order.as_mut();
        for &i in perm {
            if kinds[i.into()] != Kind::Disabled {
                order[plan.n_enabled] = i;
                plan.n_enabled += 1;
            }
        }
        plan
    }

    /// The enabled cases in poll order.
    fn order(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.as_ref()[..self.n_enabled]
            .iter()
            .map(|&i| i.into())
    }

    /// The channel cases in poll order.
    fn channel_cases(&self) -> impl Iterator<Item = usize> + '_ {
        let kinds = self.kinds.as_ref();
        self.order().filter(move |&i| kinds[i] == Kind::Channel)
    }

    fn lock_of(&self, i: usize) -> &RawLock {
        // SAFETY: `locks[i]` was taken from case `i`, which the caller's
        // `cases` borrows for the whole poll, so the channel is alive.
        unsafe { &*self.locks.as_ref()[i] }
    }

    /// Sorts the lock order; needed before `lock_all`.
    fn sort_locks(&mut self) {
        if !self.sorted {
            let locks = self.locks.as_ref();
            self.by_addr.as_mut()[..self.n_locks].sort_unstable_by_key(|&i| locks[i.into()]);
            self.sorted = true;
        }
    }

    /// Locks every channel of the select, in address order, each once.
    fn lock_all(&self) {
        debug_assert!(self.sorted, "lock_all before sort_locks");
        let mut prev = std::ptr::null();
        for &i in &self.by_addr.as_ref()[..self.n_locks] {
            let l = self.locks.as_ref()[i.into()];
            if l != prev {
                self.lock_of(i.into()).lock_eager();
                prev = l;
            }
        }
    }

    /// Pass 1 over the channel cases alone, in poll order: the first that
    /// commits. `me` is the select's token if it has entries queued.
    ///
    /// # Safety
    ///
    /// All the select's channel locks are held (`lock_all`).
    unsafe fn try_channels(
        &self,
        cases: &mut [Pin<&mut dyn Case>],
        me: Option<&Token>,
        wakeups: &mut Wakeups,
    ) -> Option<usize> {
        self.channel_cases()
            // SAFETY: every channel lock is held (this function's contract).
            .find(|&i| unsafe { cases[i].as_mut().try_commit(me, wakeups) })
    }

    /// Unlocks what `lock_all` locked.
    ///
    /// # Safety
    ///
    /// `lock_all` was called and not undone.
    unsafe fn unlock_all(&self) {
        let mut prev = std::ptr::null();
        for &i in self.by_addr.as_ref()[..self.n_locks].iter().rev() {
            let l = self.locks.as_ref()[i.into()];
            if l != prev {
                // SAFETY: locked by `lock_all` (contract).
                unsafe { self.lock_of(i.into()).unlock() };
                prev = l;
            }
        }
    }
}

impl SelectState {
    /// A fresh select; `has_default` if it has a `default` arm, `biased` if
    /// its cases are tried in source order (`biased;`) instead of at random.
    pub fn new(has_default: bool, biased: bool) -> Self {
        Self {
            token: None,
            registered: false,
            has_default,
            biased,
            done: false,
        }
    }

    /// The same select over again, after a refutable pattern rejected the
    /// case that completed (the macro disables that case first).
    pub fn restart(&mut self) {
        *self = Self::new(self.has_default, self.biased);
    }

    /// Polls the select over `cases`: `Ready(i)` when case `i` committed (its
    /// output is stored in it), `Ready(DEFAULT)` for the default arm.
    ///
    /// # Panics
    ///
    /// Past [`MAX_CASES`] cases, or if polled again after `Ready`.
    pub fn poll<const N: usize>(
        &mut self,
        mut cases: [Pin<&mut dyn Case>; N],
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        assert!(N <= MAX_CASES, "select: more than {MAX_CASES} cases");
        self.poll_in::<Inline<N>>(&mut cases, cx)
    }

    /// [`poll`](Self::poll) over any number of cases up to
    /// [`MAX_DYNAMIC_CASES`], with the per-case arrays on the heap: the wait
    /// of a [`Select`] of more than [`MAX_CASES`] cases.
    pub(crate) fn poll_slice(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        assert!(
            cases.len() <= MAX_DYNAMIC_CASES,
            "select: more than {MAX_DYNAMIC_CASES} cases"
        );
        self.poll_in::<Heap>(cases, cx)
    }

    fn poll_in<A: Arrays>(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        assert!(!self.done, "select polled after completion");
        // A fresh blocking select that may complete at once takes from the
        // poll's budget (crate docs, "Guarantees"); one with `default` never
        // yields: it is Go's non-blocking select.
        if !self.registered && !self.has_default && gust_trace::yield_for_budget(cx) {
            return Poll::Pending;
        }
        // That unit is the whole select's: its future cases are polled
        // with no budget, so that none of them yields while ready (a
        // `default`, or a lower case under `biased;`, would win instead).
        gust_trace::unbudgeted(|| self.poll_cases::<A>(cases, cx))
    }

    fn poll_cases<A: Arrays>(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        cx: &mut Context<'_>,
    ) -> Poll<usize> {
        let mut perm = Shuffle::<A>::new(cases.len(), self.biased);
        let mut wakeups = Wakeups::new();
        let res = if self.registered {
            let mut plan = Plan::<A>::new(cases, perm.all());
            self.poll_registered(cases, &mut plan, cx, &mut wakeups)
        } else {
            self.poll_fresh(cases, &mut perm, cx, &mut wakeups)
        };
        // No lock is held here (each path unlocks before it returns).
        wakeups.wake();
        self.done = res.is_ready();
        res
    }

    /// A poll with nothing of ours queued (the first poll, or a later one of
    /// a select that waits only on futures).
    ///
    /// Pass 1 runs one channel at a time, each case under its own channel's
    /// lock only: with no entry of ours queued, no counterpart can choose us,
    /// so each try stands alone, and the common case (a case is ready) costs
    /// one lock instead of all of them, and one dynamic call per case tried
    /// ([`Case::try_alone`]; the [`Plan`] is only read when nothing was
    /// ready). Then all the locks are taken, the channel cases tried once
    /// more under them (a counterpart may have queued on a channel after we
    /// tried it), and the entries queued under those same locks (pass 2).
    fn poll_fresh<A: Arrays>(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        perm: &mut Shuffle<A>,
        cx: &mut Context<'_>,
        wakeups: &mut Wakeups,
    ) -> Poll<usize> {
        if self.has_default {
            let mut plan = Plan::<A>::new(cases, perm.all());
            return Self::poll_once(cases, &mut plan, cx, wakeups);
        }
        // 3. Pass 1, case by case (disabled cases answer `false`), drawing
        // the poll order as it goes.
        for k in 0..perm.len() {
            let i = perm.at(k);
            if cases[i].as_mut().try_alone(cx, wakeups) {
                return Poll::Ready(i);
            }
        }
        let plan = &mut Plan::<A>::new(cases, perm.all());
        if plan.n_locks == 0 {
            // Only futures (or nothing): they hold our waker.
            record_wait(cases, plan);
            return Poll::Pending;
        }
        plan.sort_locks();
        plan.lock_all();
        // Pass 1 again, under the locks pass 2 registers under.
        // SAFETY: all the select's channel locks are held.
        if let Some(i) = unsafe { plan.try_channels(cases, None, wakeups) } {
            // SAFETY: locked above.
            unsafe { plan.unlock_all() };
            return Poll::Ready(i);
        }
        self.enqueue(cases, plan, cx, wakeups);
        // SAFETY: locked above.
        unsafe { plan.unlock_all() };
        record_wait(cases, plan);
        Poll::Pending
    }

    /// The one poll of a select with a `default` arm. It never waits, so its
    /// pass 1 must see all its channels at one instant, as Go's does (Go's
    /// `TestNonblockSelectRace`: with `c1` ready, a select over `c1` and `c2`
    /// must not take `default` while another goroutine sends on `c2` and
    /// then empties `c1`; tried one at a time, `c2` could be seen before the
    /// send and `c1` after the receive). So the channel cases are tried
    /// under all the select's locks, released only to poll a future case.
    fn poll_once<A: Arrays>(
        cases: &mut [Pin<&mut dyn Case>],
        plan: &mut Plan<A>,
        cx: &mut Context<'_>,
        wakeups: &mut Wakeups,
    ) -> Poll<usize> {
        plan.sort_locks();
        let mut locked = false;
        let mut chosen = DEFAULT;
        for i in plan.order() {
            match plan.kinds.as_ref()[i] {
                Kind::Channel => {
                    if !locked {
                        plan.lock_all();
                        locked = true;
                    }
                    // SAFETY: all the select's channel locks are held.
                    if unsafe { cases[i].as_mut().try_commit(None, wakeups) } {
                        chosen = i;
                        break;
                    }
                }
                Kind::Future => {
                    if locked {
                        // SAFETY: locked above.
                        unsafe { plan.unlock_all() };
                        locked = false;
                    }
                    if cases[i].as_mut().poll_future(cx).is_ready() {
                        chosen = i;
                        break;
                    }
                }
                Kind::Disabled => unreachable!("disabled cases are not in the poll order"),
            }
        }
        if locked {
            // SAFETY: locked above.
            unsafe { plan.unlock_all() };
        }
        // 4. Default, if nothing was ready.
        Poll::Ready(chosen)
    }

    /// A poll with entries of ours queued: we were woken.
    fn poll_registered<A: Arrays>(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        plan: &mut Plan<A>,
        cx: &mut Context<'_>,
        wakeups: &mut Wakeups,
    ) -> Poll<usize> {
        // The usual wake-up: a counterpart chose a case. The token is final,
        // so nobody can choose another of our entries any more: pass 3 may
        // take the channels one at a time.
        if let Some(k) = selection(self.token.as_deref()) {
            self.finish_each(cases, plan, k, wakeups);
            return Poll::Ready(k);
        }

        plan.sort_locks();
        let mut locked = false;
        // Whether the locks were released (to poll a future) after a channel
        // case was tried: then what that try saw may be out of date.
        let mut stale = false;
        let mut chosen: Option<(usize, bool)> = None; // (case, chosen by a counterpart)
        let me = self.token.as_deref();

        for i in plan.order() {
            match plan.kinds.as_ref()[i] {
                Kind::Channel => {
                    if !locked {
                        plan.lock_all();
                        locked = true;
                        // Pass 0: chosen by a counterpart meanwhile?
                        if let Some(k) = selection(me) {
                            chosen = Some((k, true));
                            break;
                        }
                    }
                    // Pass 1: try the operation, skipping our own entries.
                    // SAFETY: all the select's channel locks are held.
                    if unsafe { cases[i].as_mut().try_commit(me, wakeups) } {
                        chosen = Some((i, false));
                        break;
                    }
                }
                Kind::Future => {
                    if locked {
                        // SAFETY: we locked them above.
                        unsafe { plan.unlock_all() };
                        locked = false;
                        stale = true;
                        wakeups.wake();
                    }
                    // No counterpart may choose a channel case while the
                    // future runs, or one of the two outcomes would be
                    // dropped (invariant #8 of waiter.rs).
                    let token = me.expect("registered");
                    if !token.begin_polling() {
                        let k = selection(me).expect("chosen by a counterpart");
                        chosen = Some((k, true));
                        break;
                    }
                    let polling = Polling(token);
                    let ready = cases[i].as_mut().poll_future(cx).is_ready();
                    polling.end(ready);
                    if ready {
                        chosen = Some((i, false));
                        break;
                    }
                }
                Kind::Disabled => unreachable!("disabled cases are not in the poll order"),
            }
        }

        let (index, by_peer) = match chosen {
            Some(c) => c,
            None => {
                if !locked {
                    plan.lock_all();
                    locked = true;
                }
                let mut found = selection(me).map(|k| (k, true));
                if found.is_none() && stale {
                    // Pass 1 again, channel cases only, under the locks we
                    // stay registered under: while they were released, a
                    // counterpart may have queued on a channel we had already
                    // tried. Waiting on that stale view could leave two
                    // compatible waiters queued on one channel, forever.
                    // SAFETY: all the select's channel locks are held.
                    found = unsafe { plan.try_channels(cases, me, wakeups) }.map(|i| (i, false));
                }
                match found {
                    Some(c) => c,
                    None => {
                        // Still waiting: every entry is queued already
                        // (`enqueue` skips those); refresh the waker.
                        self.enqueue(cases, plan, cx, wakeups);
                        // SAFETY: locked above.
                        unsafe { plan.unlock_all() };
                        record_wait(cases, plan);
                        return Poll::Pending;
                    }
                }
            }
        };

        // Pass 3 under all locks: unless a counterpart chose us, the token is
        // still `WAITING`, and no other entry of ours may be chosen before
        // it is unqueued.
        if !locked {
            plan.lock_all();
        }
        for &i in &plan.by_addr.as_ref()[..plan.n_locks] {
            let i: usize = i.into();
            // SAFETY: all locks held.
            unsafe { cases[i].as_mut().finish(by_peer && i == index, wakeups) };
        }
        self.registered = false;
        // SAFETY: locked above.
        unsafe { plan.unlock_all() };
        Poll::Ready(index)
    }

    /// Pass 2 (5.): queue an entry for every channel case not queued yet, in the
    /// random poll order (so that, as in Go, a select's cases on one channel
    /// queue in random order), and store the waker. All locks held.
    fn enqueue<A: Arrays>(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        plan: &Plan<A>,
        cx: &mut Context<'_>,
        wakeups: &mut Wakeups,
    ) {
        let token = self.token.get_or_insert_with(|| Arc::new(Token::new()));
        for i in plan.channel_cases() {
            // SAFETY: all the select's channel locks are held (caller).
            unsafe { cases[i].as_mut().register(token, i) };
        }
        // SAFETY: all the locks of the channels where the token is queued
        // are held (waiter.rs invariant #4).
        unsafe { token.set_waker(cx.waker(), wakeups) };
        self.registered = true;
    }

    /// Pass 3 (6.) when a counterpart chose case `chosen` (the token is final):
    /// each channel case unqueues under its own lock; the chosen one collects
    /// what it was handed.
    fn finish_each<A: Arrays>(
        &mut self,
        cases: &mut [Pin<&mut dyn Case>],
        plan: &Plan<A>,
        chosen: usize,
        wakeups: &mut Wakeups,
    ) {
        for &i in &plan.by_addr.as_ref()[..plan.n_locks] {
            let i: usize = i.into();
            let lock = plan.lock_of(i);
            lock.lock_eager();
            // SAFETY: the case's lock is held; the token is final, so no
            // other lock is needed (`Case::finish` touches one channel).
            unsafe { cases[i].as_mut().finish(i == chosen, wakeups) };
            // SAFETY: locked just above.
            unsafe { lock.unlock() };
        }
        self.registered = false;
    }
}

/// Records why a select that returns `Pending` waits (module docs, "Wait
/// reason"): its enabled cases, and whether each waits durably. Every
/// enabled future case was polled in this poll (a pending poll tries them
/// all), so their `durable` flags are fresh. Out of line and skipped when no
/// task is traced: the pending path pays one thread-local read.
#[inline(never)]
fn record_wait<A: Arrays>(cases: &[Pin<&mut dyn Case>], plan: &Plan<A>) {
    if !gust_trace::is_traced() {
        return;
    }
    let durable = plan
        .order()
        .all(|i| plan.kinds.as_ref()[i] == Kind::Channel || cases[i].waits_durably());
    gust_trace::record(Wait::Select {
        // At most `MAX_DYNAMIC_CASES`.
        cases: plan.n_enabled as u32,
        durable,
    });
}

/// The case a counterpart selected on `token`, if any.
fn selection(token: Option<&Token>) -> Option<usize> {
    match token?.selection() {
        Selection::Selected(k) => Some(k),
        Selection::Waiting | Selection::Claimed | Selection::Polling => None,
    }
}

/// A token in `POLLING` while a future case is polled: [`end`](Self::end)
/// claims it or puts it back to `WAITING`; dropped by an unwinding poll, it
/// puts it back (the select's drop then claims it).
struct Polling<'a>(&'a Token);

impl Polling<'_> {
    fn end(self, claim: bool) {
        self.0.end_polling(claim);
        std::mem::forget(self);
    }
}

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.end_polling(false);
    }
}

impl Drop for SelectState {
    fn drop(&mut self) {
        // Cancellation: from now on no case can be chosen; the cases' drops
        // then unqueue (and give back a value already handed over).
        if self.registered {
            if let Some(t) = &self.token {
                let _ = t.try_claim();
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::shuffled;

    /// Every permutation of `0..N` comes out of `shuffled` equally often:
    /// a chi-squared test over `draws` permutations (p < 0.001 fails).
    /// The thread's generator is seeded, so a run is reproducible: unseeded,
    /// four tests at p = 0.001 failed a CI run now and then (N = 5 once,
    /// chi-squared 178.3).
    fn uniform<const N: usize>(draws: usize, critical: f64) {
        fastrand::seed(0x5eed + N as u64);
        let mut counts = std::collections::HashMap::<[u8; N], usize>::new();
        for _ in 0..draws {
            *counts.entry(shuffled::<N>()).or_default() += 1;
        }
        let kinds: usize = (1..=N).product();
        assert_eq!(
            counts.len(),
            kinds,
            "some permutation of {N} never came out"
        );
        let expected = draws as f64 / kinds as f64;
        let chi2: f64 = counts
            .values()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        assert!(
            chi2 < critical,
            "N = {N}: chi-squared {chi2:.1} >= {critical}"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "statistics: too slow under Miri")]
    fn shuffled_is_uniform() {
        // Critical values of chi-squared at p = 0.001 for N! - 1 degrees of
        // freedom: 1, 5, 23, 119.
        uniform::<2>(20_000, 10.83);
        uniform::<3>(60_000, 20.52);
        uniform::<4>(120_000, 49.73);
        uniform::<5>(240_000, 173.6);
    }

    /// Past 12 cases one random word does not cover all the draws: each
    /// position still takes each case about equally often.
    #[test]
    #[cfg_attr(miri, ignore = "statistics: too slow under Miri")]
    fn shuffled_many_cases_positions_even() {
        const N: usize = 20;
        const DRAWS: usize = 40_000;
        let mut counts = [[0usize; N]; N]; // [position][case]
        for _ in 0..DRAWS {
            let p = shuffled::<N>();
            let mut seen = [false; N];
            for (pos, &case) in p.iter().enumerate() {
                assert!(!seen[case as usize], "a case appears twice: {p:?}");
                seen[case as usize] = true;
                counts[pos][case as usize] += 1;
            }
        }
        let expected = (DRAWS / N) as f64;
        for row in &counts {
            for &c in row {
                // 2000 expected, standard deviation ~44: 6 sigma.
                assert!((c as f64 - expected).abs() < 270.0, "{counts:?}");
            }
        }
    }
}
