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
//! 3. **Pass 0 (already chosen?)**: with the locks held, if a counterpart
//!    selected us since the last poll, finish that case (take the value it
//!    handed over).
//! 4. **Pass 1 (anything ready?)**: walk the permutation. A channel case tries
//!    its operation under the locks (skipping our own queued entries: a select
//!    never pairs with itself); the first that succeeds commits. A generic
//!    future case is polled with the locks *released* (user code never runs
//!    under a channel lock); if it is ready, the select claims its own token
//!    (`WAITING -> CLAIMED`). If that CAS fails, a counterpart chose a channel
//!    case meanwhile: that case wins and the future's output is dropped. Then
//!    the locks are retaken and pass 0 is re-checked before continuing.
//!    Because of that release, the channel cases are tried once more, under
//!    the very locks that pass 2 registers under, before the select queues:
//!    otherwise a counterpart that queued while the locks were free would be
//!    missed, and both would wait forever.
//! 5. **Default**: nothing was ready and there is a `default` arm: take it.
//!    A select with a default never queues, so there is nothing to undo.
//! 6. **Pass 2 (enqueue)**: queue an entry for every channel case not already
//!    queued, in the random poll order (entries stay queued across polls,
//!    which keeps FIFO position),
//!    store the waker (under all locks, `waiter.rs` invariant #4), unlock,
//!    return `Pending`.
//! 7. **Pass 3 (dequeue)**: when the select finishes, by whatever path, remove
//!    every entry it still has queued, under all locks.
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

mod macros;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::chan::{RecvState, SendResult, SendState, Shared};
use crate::handles::{RecvFuture, SendFuture};
use crate::loom::Arc;
pub use crate::loom::RawLock;
use crate::waiter::Selection;
pub use crate::waiter::{Token, Wakeups};

/// The most cases one `select!` may have.
pub const MAX_CASES: usize = 64;

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
/// The `unsafe` methods must be called with the lock returned by [`Case::lock`]
/// held (and, for `register`, with the locks of all the select's channel
/// cases held).
pub trait Case {
    /// Which kind of case this is.
    fn kind(&self) -> Kind;

    /// The channel lock, for a channel case.
    fn lock(&self) -> Option<&RawLock>;

    /// Polls a generic future case; on `Ready` its output is stored.
    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;

    /// Drops a stored output (the case lost the race for the token).
    fn discard_output(self: Pin<&mut Self>);

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
}

/// How a case hands its output to the arm.
pub trait CaseOutput {
    /// The value bound by the arm's pattern.
    type Output;

    /// Takes the stored output.
    fn take_output(self: Pin<&mut Self>) -> Self::Output;
}

/// A receive case: `v = rx.recv()`.
pub struct RecvCase<'a, T> {
    shared: &'a Shared<T>,
    state: RecvState<T>,
    out: Option<Option<T>>,
}

// Nothing is structurally pinned.
impl<T> Unpin for RecvCase<'_, T> {}

/// A send case: `r = tx.send(v)`.
pub struct SendCase<'a, T> {
    shared: &'a Shared<T>,
    state: SendState<T>,
    out: Option<SendResult<T>>,
}

// Nothing is structurally pinned.
impl<T> Unpin for SendCase<'_, T> {}

pin_project! {
    /// Any other future as a case. If the select was decided by a channel case
    /// while this future completed, its output is dropped.
    pub struct FutCase<F: Future> {
        #[pin]
        fut: F,
        out: Option<F::Output>,
    }
}

impl<T> fmt::Debug for RecvCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecvCase")
    }
}

impl<T> fmt::Debug for SendCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendCase")
    }
}

impl<T> Case for RecvCase<'_, T> {
    fn kind(&self) -> Kind {
        Kind::Channel
    }

    fn lock(&self) -> Option<&RawLock> {
        Some(&self.shared.lock)
    }

    fn poll_future(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        unreachable!("a channel case is not polled as a future")
    }

    fn discard_output(self: Pin<&mut Self>) {}

    unsafe fn try_commit(self: Pin<&mut Self>, me: Option<&Token>, w: &mut Wakeups) -> bool {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract); no re-entry.
        let out = unsafe {
            this.shared
                .with_inner(|inner| this.state.try_commit_locked(inner, me, w))
        };
        this.out = out;
        this.out.is_some()
    }

    unsafe fn register(self: Pin<&mut Self>, token: &Arc<Token>, case: usize) {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract).
        unsafe {
            this.shared
                .with_inner(|inner| this.state.register_locked(inner, token, case));
        }
    }

    unsafe fn finish(self: Pin<&mut Self>, chosen: bool, w: &mut Wakeups) {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract).
        let out = unsafe {
            this.shared
                .with_inner(|inner| this.state.finish_locked(inner, chosen, w))
        };
        if out.is_some() {
            this.out = out;
        }
    }
}

impl<T> CaseOutput for RecvCase<'_, T> {
    type Output = Option<T>;

    fn take_output(self: Pin<&mut Self>) -> Option<T> {
        self.get_mut()
            .out
            .take()
            .expect("select: case has no output")
    }
}

impl<T> Drop for RecvCase<'_, T> {
    fn drop(&mut self) {
        // A value a sender already handed to this case goes back (cancel
        // safety); a plain queued entry is removed.
        self.state.cancel(self.shared);
    }
}

impl<T> Case for SendCase<'_, T> {
    fn kind(&self) -> Kind {
        Kind::Channel
    }

    fn lock(&self) -> Option<&RawLock> {
        Some(&self.shared.lock)
    }

    fn poll_future(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        unreachable!("a channel case is not polled as a future")
    }

    fn discard_output(self: Pin<&mut Self>) {}

    unsafe fn try_commit(self: Pin<&mut Self>, me: Option<&Token>, w: &mut Wakeups) -> bool {
        let this = self.get_mut();
        if this.out.is_some() {
            // Delivered before the select started (see `__gust_into_case`).
            return true;
        }
        // SAFETY: the lock is held (caller's contract).
        let out = unsafe {
            this.shared
                .with_inner(|inner| this.state.try_commit_locked(inner, me, w))
        };
        this.out = out;
        this.out.is_some()
    }

    unsafe fn register(self: Pin<&mut Self>, token: &Arc<Token>, case: usize) {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract).
        unsafe {
            this.shared
                .with_inner(|inner| this.state.register_locked(inner, token, case));
        }
    }

    unsafe fn finish(self: Pin<&mut Self>, chosen: bool, _: &mut Wakeups) {
        let this = self.get_mut();
        // SAFETY: the lock is held (caller's contract).
        let out = unsafe {
            this.shared
                .with_inner(|inner| this.state.finish_locked(inner, chosen))
        };
        if out.is_some() {
            this.out = out;
        }
    }
}

impl<T> CaseOutput for SendCase<'_, T> {
    type Output = Result<(), crate::SendError<T>>;

    fn take_output(self: Pin<&mut Self>) -> Self::Output {
        self.get_mut()
            .out
            .take()
            .expect("select: case has no output")
    }
}

impl<T> Drop for SendCase<'_, T> {
    fn drop(&mut self) {
        // Unqueue; a value not delivered is dropped here, outside the lock.
        drop(self.state.cancel(self.shared));
        drop(self.state.take_value());
    }
}

impl<F: Future> Case for FutCase<F> {
    fn kind(&self) -> Kind {
        Kind::Future
    }

    fn lock(&self) -> Option<&RawLock> {
        None
    }

    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        match this.fut.poll(cx) {
            Poll::Ready(v) => {
                *this.out = Some(v);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn discard_output(self: Pin<&mut Self>) {
        *self.project().out = None;
    }

    unsafe fn try_commit(self: Pin<&mut Self>, _: Option<&Token>, _: &mut Wakeups) -> bool {
        unreachable!("a future case has no channel")
    }

    unsafe fn register(self: Pin<&mut Self>, _: &Arc<Token>, _: usize) {}

    unsafe fn finish(self: Pin<&mut Self>, _: bool, _: &mut Wakeups) {}
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
    fn kind(&self) -> Kind {
        match self {
            Some(c) => c.kind(),
            None => Kind::Disabled,
        }
    }

    fn lock(&self) -> Option<&RawLock> {
        self.as_ref().and_then(C::lock)
    }

    fn poll_future(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.as_pin_mut().expect("disabled case").poll_future(cx)
    }

    fn discard_output(self: Pin<&mut Self>) {
        if let Some(c) = self.as_pin_mut() {
            c.discard_output();
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
}

/// Takes the output of the chosen case (used by the macro's expansion).
pub fn take_output<C: CaseOutput>(case: Pin<&mut Option<C>>) -> C::Output {
    case.as_pin_mut()
        .expect("select: the chosen case is disabled")
        .take_output()
}

/// Wraps a case expression for autoref-specialized dispatch: channel futures
/// become channel cases ([`IntoChanCase`], found first by method resolution),
/// anything else that is a future becomes a [`FutCase`] ([`IntoFutCase`]).
#[derive(Debug)]
pub struct Wrap<F>(pub Option<F>);

/// Dispatch for channel operations (see [`Wrap`]).
pub trait IntoChanCase {
    /// The case type.
    type Case;
    /// Converts.
    fn __gust_into_case(&mut self) -> Self::Case;
}

/// Dispatch for any other future (see [`Wrap`]).
pub trait IntoFutCase {
    /// The case type.
    type Case;
    /// Converts.
    fn __gust_into_case(&mut self) -> Self::Case;
}

impl<'a, T> IntoChanCase for Wrap<RecvFuture<'a, T>> {
    type Case = RecvCase<'a, T>;

    fn __gust_into_case(&mut self) -> RecvCase<'a, T> {
        // The future's own state is dropped with it: a future polled before
        // it became a case is cancelled first (giving back any value it was
        // handed), and the case starts afresh.
        let fut = self.0.take().expect("case converted twice");
        RecvCase {
            shared: fut.shared,
            state: RecvState::new(),
            out: None,
        }
    }
}

impl<'a, T> IntoChanCase for Wrap<SendFuture<'a, T>> {
    type Case = SendCase<'a, T>;

    fn __gust_into_case(&mut self) -> SendCase<'a, T> {
        let mut fut = self.0.take().expect("case converted twice");
        // A future polled before it became a case is unqueued first. If its
        // value was already delivered, the case is complete from the start.
        let value = fut.state.cancel(fut.shared);
        let out = if value.is_none() { Some(Ok(())) } else { None };
        SendCase {
            shared: fut.shared,
            state: SendState::new(value),
            out,
        }
    }
}

impl<F: Future> IntoFutCase for &mut Wrap<F> {
    type Case = FutCase<F>;

    fn __gust_into_case(&mut self) -> FutCase<F> {
        FutCase {
            fut: self.0.take().expect("case converted twice"),
            out: None,
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
    done: bool,
}

/// A small stack buffer of case indices.
type Indices = [u8; MAX_CASES];

impl SelectState {
    /// A fresh select; `has_default` if it has a `default` arm.
    pub fn new(has_default: bool) -> Self {
        Self {
            token: None,
            registered: false,
            has_default,
            done: false,
        }
    }

    /// Polls the select over `cases`: `Ready(i)` when case `i` committed (its
    /// output is stored in it), `Ready(DEFAULT)` for the default arm.
    pub fn poll(&mut self, cases: &mut [Pin<&mut dyn Case>], cx: &mut Context<'_>) -> Poll<usize> {
        assert!(!self.done, "select polled after completion");
        assert!(
            cases.len() <= MAX_CASES,
            "select: more than {MAX_CASES} cases"
        );

        // 1. Poll order: uniform random permutation of the enabled cases.
        let mut order: Indices = [0; MAX_CASES];
        let mut n_enabled = 0;
        // 2. Lock order: channel cases by lock address.
        let mut locks: Indices = [0; MAX_CASES];
        let mut n_locks = 0;
        // Each case's kind and lock address, read once (they are dyn calls).
        let mut kinds = [Kind::Disabled; MAX_CASES];
        let mut addrs = [0usize; MAX_CASES];
        for (i, case) in cases.iter().enumerate() {
            kinds[i] = case.kind();
            match kinds[i] {
                Kind::Disabled => continue,
                Kind::Channel => {
                    locks[n_locks] = i as u8;
                    n_locks += 1;
                    addrs[i] = case.lock().map_or(0, |l| l as *const RawLock as usize);
                }
                Kind::Future => {}
            }
            order[n_enabled] = i as u8;
            n_enabled += 1;
        }
        // (Under loom the order is fixed: loom needs determinism, and the
        // models explore the interleavings instead.)
        #[cfg(not(loom))]
        for i in (1..n_enabled).rev() {
            order.swap(i, fastrand::usize(..=i));
        }
        locks[..n_locks].sort_unstable_by_key(|&i| addrs[i as usize]);

        let mut wakeups = Wakeups::new();
        let mut locked = false;
        // Whether the locks were released (to poll a future) after a channel
        // case was tried: then what that try saw may be out of date.
        let mut stale = false;
        let mut chosen: Option<(usize, bool)> = None; // (case, chosen by a counterpart)

        for &i in &order[..n_enabled] {
            let i = i as usize;
            match kinds[i] {
                Kind::Channel => {
                    if !locked {
                        lock_all(cases, &locks[..n_locks]);
                        locked = true;
                        // 3. Pass 0: chosen by a counterpart meanwhile?
                        if let Some(k) = self.selected_case() {
                            chosen = Some((k, true));
                            break;
                        }
                    }
                    // 4. Pass 1: try the operation.
                    let me = self
                        .registered
                        .then(|| &**self.token.as_ref().expect("token"));
                    // SAFETY: all the select's channel locks are held.
                    if unsafe { cases[i].as_mut().try_commit(me, &mut wakeups) } {
                        chosen = Some((i, false));
                        break;
                    }
                }
                Kind::Future => {
                    if locked {
                        // SAFETY: we locked them above.
                        unsafe { unlock_all(cases, &locks[..n_locks]) };
                        locked = false;
                        stale = true;
                        wakeups.wake();
                    }
                    if let Some(k) = self.selected_case() {
                        chosen = Some((k, true));
                        break;
                    }
                    if cases[i].as_mut().poll_future(cx).is_ready() {
                        match &self.token {
                            Some(t) if self.registered && !t.try_claim() => {
                                // A counterpart won: the future's output is dropped.
                                cases[i].as_mut().discard_output();
                                let k = self.selected_case().expect("lost the claim");
                                chosen = Some((k, true));
                            }
                            _ => chosen = Some((i, false)),
                        }
                        break;
                    }
                }
                Kind::Disabled => unreachable!(),
            }
        }

        let (index, by_peer) = match chosen {
            Some(c) => c,
            None if self.has_default => (DEFAULT, false),
            None if n_locks == 0 => {
                // Only futures (or nothing): they hold our waker.
                return Poll::Pending;
            }
            None => {
                if !locked {
                    lock_all(cases, &locks[..n_locks]);
                    locked = true;
                }
                let mut found = self.selected_case().map(|k| (k, true));
                if found.is_none() && stale {
                    // Pass 1 again, channel cases only, under the locks we
                    // will register under: while they were released, a
                    // counterpart may have queued on a channel we had already
                    // tried. Registering on that stale view could leave two
                    // compatible waiters queued on one channel, forever.
                    let me = self
                        .registered
                        .then(|| &**self.token.as_ref().expect("token"));
                    for &i in &order[..n_enabled] {
                        let i = i as usize;
                        if kinds[i] != Kind::Channel {
                            continue;
                        }
                        // SAFETY: all the select's channel locks are held.
                        if unsafe { cases[i].as_mut().try_commit(me, &mut wakeups) } {
                            found = Some((i, false));
                            break;
                        }
                    }
                }
                match found {
                    Some(c) => c,
                    None => {
                        // 6. Pass 2: enqueue on every channel case, in the
                        // random poll order (so that, as in Go, a select's
                        // cases on one channel queue in random order); store
                        // the waker.
                        let token = self.token.get_or_insert_with(|| Arc::new(Token::new()));
                        for &i in &order[..n_enabled] {
                            let i = i as usize;
                            if kinds[i] == Kind::Channel {
                                // SAFETY: all the select's channel locks are held.
                                unsafe { cases[i].as_mut().register(token, i) };
                            }
                        }
                        // SAFETY: all the locks of the channels where the token
                        // is queued are held (waiter.rs invariant #4).
                        unsafe { token.set_waker(cx.waker(), &mut wakeups) };
                        self.registered = true;
                        // SAFETY: locked above.
                        unsafe { unlock_all(cases, &locks[..n_locks]) };
                        wakeups.wake();
                        return Poll::Pending;
                    }
                }
            }
        };

        // 7. Pass 3: dequeue everywhere; the case a counterpart chose collects
        // what it was handed.
        if self.registered {
            if !locked {
                lock_all(cases, &locks[..n_locks]);
                locked = true;
            }
            for &i in &locks[..n_locks] {
                let i = i as usize;
                // SAFETY: all locks held.
                unsafe {
                    cases[i]
                        .as_mut()
                        .finish(by_peer && i == index, &mut wakeups)
                };
            }
            self.registered = false;
        }
        if locked {
            // SAFETY: locked above.
            unsafe { unlock_all(cases, &locks[..n_locks]) };
        }
        wakeups.wake();
        self.done = true;
        Poll::Ready(index)
    }

    /// The case a counterpart selected, if any.
    fn selected_case(&self) -> Option<usize> {
        if !self.registered {
            return None;
        }
        match self.token.as_ref()?.selection() {
            Selection::Selected(k) => Some(k),
            Selection::Waiting | Selection::Claimed => None,
        }
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

/// Locks the channel locks of `cases[locks[..]]` in (sorted) address order,
/// each once.
fn lock_all(cases: &[Pin<&mut dyn Case>], locks: &[u8]) {
    let mut prev: *const RawLock = std::ptr::null();
    for &i in locks {
        let l = cases[i as usize].lock().expect("channel case");
        if !std::ptr::eq(l, prev) {
            l.lock();
            prev = l;
        }
    }
}

/// Unlocks what `lock_all` locked.
///
/// # Safety
///
/// `lock_all(cases, locks)` was called and not undone.
unsafe fn unlock_all(cases: &[Pin<&mut dyn Case>], locks: &[u8]) {
    let mut prev: *const RawLock = std::ptr::null();
    for &i in locks.iter().rev() {
        let l = cases[i as usize].lock().expect("channel case");
        if !std::ptr::eq(l, prev) {
            // SAFETY: locked by lock_all (contract).
            unsafe { l.unlock() };
            prev = l;
        }
    }
}
