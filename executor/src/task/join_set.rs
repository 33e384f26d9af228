//! [`JoinSet`]: a set of spawned tasks, joined in the order they finish
//! (tokio's `JoinSet`).
//!
//! # Design
//!
//! The set is a `FuturesUnordered` of its members' [`JoinHandle`]s: a
//! member's completion wakes only its own entry in the set's ready queue
//! (and the task waiting in `join_next`), and a poll of the set polls only
//! the members woken since the last one (each new member once, at the
//! first poll after it was added). So `join_next` costs what one join
//! costs, whatever the set's size, and members that are not finished are
//! not touched.
//!
//! Dropping the set aborts every member it still holds, as tokio's does:
//! a set is a scope of tasks, and a task nobody can join any more is one
//! nobody wants. [`JoinSet::detach_all`] lets them run on instead.
//!
//! # Seeing inside
//!
//! A task in `join_next` records [`Wait::JoinSet`] (the dump prints
//! "JoinSet.join_next (n tasks)"). The wait is durable, so that the
//! deadlock detector may count it, only while every member is a task of
//! the runtime the waiter runs on: a `spawn_blocking` job, or a task of
//! another runtime, finishes without this runtime's tasks, and one such
//! member makes the wait not durable (`strangers` below). The set keeps the
//! waiter's real waker, not the counted one a task is polled with
//! (gust-trace's "Who holds the waker"): only a member's completion wakes
//! it through that waker, and the members' own tasks say whether they can
//! still finish.
//!
//! # Invariants
//!
//! 1. `home` is the runtime of the first task (not `spawn_blocking` job)
//!    added since the set was last empty, 0 until there is one; `strangers`
//!    is the number of members that are `spawn_blocking` jobs or tasks of
//!    another runtime than `home`. (Members added before `home` was set
//!    are blocking jobs, strangers under any `home`; a handle already
//!    awaited to its end is refused by `insert`.)

use std::fmt;
use std::future::Future;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};
use gust_trace::Wait;

use super::{AbortHandle, JoinError, JoinHandle};

/// A set of spawned tasks whose results are taken in the order the tasks
/// finish (tokio's `JoinSet`): `spawn` adds a task, `join_next` waits for
/// the next one to finish. Dropping the set aborts the tasks still in it.
///
/// Go has no such type (a `WaitGroup` and a channel, or an `errgroup`, do
/// the same there); it is here for async Rust code that collects the
/// results of many tasks.
///
/// Unlike tokio's: task ids are `u64`s unique within one runtime (a
/// `spawn_blocking` job's is 0); a `JoinError` carries no id (use
/// [`join_next_with_id`](Self::join_next_with_id)); and under
/// `GUST_PANIC=exit` (`UnhandledPanic::Exit`) a member that panicked and is
/// dropped unjoined, with the set or by `detach_all`, ends the process, as
/// any panic nobody joins does there.
///
/// ```
/// use gust_executor::task::JoinSet;
///
/// gust_executor::block_on(async {
///     let mut set = JoinSet::new();
///     for i in 0..10u64 {
///         set.spawn(async move { i * i });
///     }
///     let mut sum = 0;
///     while let Some(r) = set.join_next().await {
///         sum += r.unwrap();
///     }
///     assert_eq!(sum, 285);
/// });
/// ```
///
/// # Cancellation safety
///
/// `join_next` and `join_next_with_id` are cancel-safe: a dropped one takes
/// no result out of the set.
pub struct JoinSet<T> {
    members: FuturesUnordered<Member<T>>,
    /// The runtime of the members (invariant #1), as an address.
    home: usize,
    /// Members not of `home` (invariant #1).
    strangers: usize,
}

/// A member: its handle, and whether it was counted in `strangers`.
struct Member<T> {
    handle: JoinHandle<T>,
    stranger: bool,
}

impl<T> Future for Member<T> {
    /// The task's id, whether the member was a stranger, its result.
    type Output = (u64, bool, Result<T, JoinError>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let id = this.handle.id();
        let stranger = this.stranger;
        Pin::new(&mut this.handle)
            .poll(cx)
            .map(|r| (id, stranger, r))
    }
}

impl<T> JoinSet<T> {
    /// An empty set.
    ///
    /// ```
    /// let set = gust_executor::task::JoinSet::<()>::new();
    /// assert!(set.is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            members: FuturesUnordered::new(),
            home: 0,
            strangers: 0,
        }
    }

    /// The number of tasks in the set: spawned or inserted, and not yet
    /// joined (a task that has finished stays in until `join_next` takes
    /// its result).
    ///
    /// ```
    /// let mut set = gust_executor::task::JoinSet::new();
    /// set.spawn(async {});
    /// assert_eq!(set.len(), 1);
    /// # gust_executor::block_on(set.join_next());
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the set holds no task.
    ///
    /// ```
    /// let mut set = gust_executor::task::JoinSet::new();
    /// assert!(set.is_empty());
    /// set.spawn(async {});
    /// assert!(!set.is_empty());
    /// # gust_executor::block_on(set.join_next());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds a task spawned elsewhere, e.g. a named one from
    /// [`Builder`](super::Builder): the set joins it as its own (and
    /// aborts it when dropped).
    ///
    /// ```
    /// use gust_executor::task::{Builder, JoinSet};
    ///
    /// let mut set = JoinSet::new();
    /// set.insert(Builder::new().name("fetch").spawn(async { 7 }));
    /// assert_eq!(gust_executor::block_on(set.join_next()).unwrap().unwrap(), 7);
    /// ```
    ///
    /// # Panics
    ///
    /// If `handle` was already awaited to its end (it has no result left
    /// to give).
    pub fn insert(&mut self, handle: JoinHandle<T>) {
        assert!(
            !handle.is_consumed(),
            "JoinSet::insert: the JoinHandle was already awaited to its end"
        );
        let runtime = handle.runtime_addr();
        if self.home == 0 {
            self.home = runtime;
        }
        // A blocking job (runtime 0) is always a stranger (invariant #1).
        let stranger = runtime == 0 || runtime != self.home;
        self.strangers += usize::from(stranger);
        self.members.push(Member { handle, stranger });
    }

    /// Waits for the next task to finish and gives its result; `None` when
    /// the set is empty. Results come in the order the tasks finish.
    /// Cancel-safe.
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    ///
    /// gust_executor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(async { panic!("boom") });
    ///     let err = set.join_next().await.unwrap().unwrap_err();
    ///     assert!(err.is_panic());
    ///     assert!(set.join_next().await.is_none());
    /// });
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](Self::join_next), with the finished task's id
    /// ([`JoinHandle::id`]), also for a task that failed. Ids are unique
    /// within a runtime only, and every `spawn_blocking` job's is 0: a set
    /// with members of several runtimes, or jobs, can hold equal ids.
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    ///
    /// gust_executor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     let h = gust_executor::spawn(async { "done" });
    ///     let id = h.id();
    ///     set.insert(h);
    ///     let (got, r) = set.join_next_with_id().await.unwrap();
    ///     assert_eq!((got, r.unwrap()), (id, "done"));
    /// });
    /// ```
    pub async fn join_next_with_id(&mut self) -> Option<(u64, Result<T, JoinError>)> {
        std::future::poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The result of a task that has finished, if one has; never waits.
    ///
    /// ```
    /// let mut set = gust_executor::task::JoinSet::new();
    /// let h = gust_executor::spawn(async { 1 });
    /// while !h.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// set.insert(h);
    /// assert_eq!(set.try_join_next().unwrap().unwrap(), 1);
    /// assert!(set.try_join_next().is_none());
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        // `FuturesUnordered` may stop a poll early, waking itself, to let
        // other tasks run: poll again while it says so, at most once per
        // member, so that a finished member is always reached.
        let woke = Arc::new(WokeFlag(AtomicBool::new(false)));
        let waker = Waker::from(woke.clone());
        let mut cx = Context::from_waker(&waker);
        for _ in 0..=self.len() {
            // Not a wait: whatever the members' polls record is dropped.
            let (polled, _) = gust_trace::observe(|| self.poll_members(&mut cx));
            match polled {
                Poll::Ready(Some((_, r))) => return Some(r),
                Poll::Ready(None) => return None,
                Poll::Pending if !woke.0.swap(false, Ordering::Relaxed) => return None,
                Poll::Pending => {}
            }
        }
        None
    }

    /// The poll behind [`join_next`](Self::join_next), for hand-written
    /// futures: `Ready(None)` when the set is empty.
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    /// let mut set = JoinSet::new();
    /// set.spawn(async { 3 });
    /// let got = gust_executor::block_on(std::future::poll_fn(|cx| set.poll_join_next(cx)));
    /// assert_eq!(got.unwrap().unwrap(), 3);
    /// ```
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx)
            .map(|next| next.map(|(_, r)| r))
    }

    /// The poll behind [`join_next_with_id`](Self::join_next_with_id).
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    /// let mut set = JoinSet::<()>::new();
    /// let polled = gust_executor::block_on(std::future::poll_fn(|cx| set.poll_join_next_with_id(cx)));
    /// assert!(polled.is_none()); // empty
    /// ```
    pub fn poll_join_next_with_id(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<(u64, Result<T, JoinError>)>> {
        // The members' own join waits are seen and replaced by the set's.
        let (polled, _) = gust_trace::observe(|| self.poll_members(cx));
        if polled.is_pending() && gust_trace::is_traced() {
            gust_trace::record(Wait::JoinSet {
                tasks: u32::try_from(self.len()).unwrap_or(u32::MAX),
                durable: self.strangers == 0 && crate::runtime::is_current_addr(self.home),
            });
        }
        polled
    }

    /// Polls the members once; takes a finished one out.
    fn poll_members(&mut self, cx: &mut Context<'_>) -> Poll<Option<(u64, Result<T, JoinError>)>> {
        // The set keeps the waiter's real waker: only a member's completion
        // wakes it (module docs, "Seeing inside"). (Kept across polls, it
        // also spares a clone per poll.)
        let mut real = Context::from_waker(gust_trace::real_waker(cx.waker()));
        match self.members.poll_next_unpin(&mut real) {
            Poll::Ready(Some((id, stranger, r))) => {
                self.strangers -= usize::from(stranger);
                if self.members.is_empty() {
                    self.home = 0;
                }
                Poll::Ready(Some((id, r)))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Waits for every task and gives their outputs, in the order they
    /// finished.
    ///
    /// # Panics
    ///
    /// If a task panicked, with that task's panic (the tasks left are
    /// aborted as the set drops); if a task was aborted, with a message
    /// saying so. To handle failures, call `join_next` in a loop instead.
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    ///
    /// let set: JoinSet<u32> = (1..=4).map(|i| async move { i * 10 }).collect();
    /// let mut out = gust_executor::block_on(set.join_all());
    /// out.sort();
    /// assert_eq!(out, [10, 20, 30, 40]);
    /// ```
    pub async fn join_all(mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len());
        while let Some(r) = self.join_next().await {
            match r {
                Ok(v) => out.push(v),
                Err(e) if e.is_panic() => resume_unwind(e.into_panic()),
                Err(e) => panic!("JoinSet::join_all: a task of the set: {e}"),
            }
        }
        out
    }

    /// Aborts every task in the set ([`JoinHandle::abort`]); they stay in
    /// it, and `join_next` gives their results (aborted, or the output of
    /// one that had already finished).
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    ///
    /// gust_executor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     set.spawn(std::future::pending::<()>());
    ///     set.abort_all();
    ///     assert!(set.join_next().await.unwrap().unwrap_err().is_aborted());
    /// });
    /// ```
    pub fn abort_all(&mut self) {
        for m in self.members.iter() {
            m.handle.abort();
        }
    }

    /// Takes every task out of the set without aborting it: they run on,
    /// detached, as after dropping their `JoinHandle`s.
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let mut set = JoinSet::new();
    /// set.spawn(async move { tx.send("ran").unwrap() });
    /// set.detach_all();
    /// drop(set);
    /// assert_eq!(rx.recv().unwrap(), "ran");
    /// ```
    pub fn detach_all(&mut self) {
        self.members.clear();
        self.home = 0;
        self.strangers = 0;
    }

    /// Aborts every task and waits until each has ended; the set is empty
    /// after.
    ///
    /// ```
    /// use gust_executor::task::JoinSet;
    ///
    /// gust_executor::block_on(async {
    ///     let mut set = JoinSet::new();
    ///     for _ in 0..3 {
    ///         set.spawn(std::future::pending::<()>());
    ///     }
    ///     set.shutdown().await;
    ///     assert!(set.is_empty());
    /// });
    /// ```
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }
}

impl<T: Send + 'static> JoinSet<T> {
    /// Spawns `fut` on the current runtime (as [`spawn`](crate::spawn))
    /// and adds it to the set; the [`AbortHandle`] aborts that one task.
    ///
    /// ```
    /// let mut set = gust_executor::task::JoinSet::new();
    /// set.spawn(async { "hi" });
    /// assert_eq!(gust_executor::block_on(set.join_next()).unwrap().unwrap(), "hi");
    /// ```
    #[track_caller]
    pub fn spawn<F>(&mut self, fut: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert_returning_abort(crate::spawn(fut))
    }

    /// Adds `handle` and returns an [`AbortHandle`] of its task.
    fn insert_returning_abort(&mut self, handle: JoinHandle<T>) -> AbortHandle {
        let abort = handle.abort_handle();
        self.insert(handle);
        abort
    }

    /// Spawns `fut` on the runtime of `handle` and adds it to the set.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let mut set = gust_executor::task::JoinSet::new();
    /// set.spawn_on(async { 3 }, &rt.handle());
    /// assert_eq!(rt.block_on(set.join_next()).unwrap().unwrap(), 3);
    /// ```
    #[track_caller]
    pub fn spawn_on<F>(&mut self, fut: F, handle: &crate::runtime::Handle) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
    {
        self.insert_returning_abort(handle.spawn(fut))
    }

    /// Runs `f` on the blocking pool ([`spawn_blocking`](crate::spawn_blocking))
    /// and adds the job to the set. Aborting it only prevents a job that has
    /// not started.
    ///
    /// ```
    /// let mut set = gust_executor::task::JoinSet::new();
    /// set.spawn_blocking(|| 2 + 2);
    /// assert_eq!(gust_executor::block_on(set.join_next()).unwrap().unwrap(), 4);
    /// ```
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
    {
        self.insert_returning_abort(crate::spawn_blocking(f))
    }
}

/// Tells `try_join_next` that `FuturesUnordered` woke itself.
struct WokeFlag(AtomicBool);

impl Wake for WokeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl<T> Drop for JoinSet<T> {
    /// Aborts the tasks still in the set (module docs).
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl<T> Default for JoinSet<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("len", &self.len()).finish()
    }
}

/// The results of the tasks, as they finish; the stream ends (`None`)
/// whenever the set is empty, and goes on if tasks are added after.
///
/// ```
/// use futures::StreamExt;
/// use gust_executor::task::JoinSet;
///
/// let set: JoinSet<u8> = (0..3).map(|i| async move { i }).collect();
/// let mut got: Vec<u8> = gust_executor::block_on(set.map(Result::unwrap).collect());
/// got.sort();
/// assert_eq!(got, [0, 1, 2]);
/// ```
impl<T> Stream for JoinSet<T> {
    type Item = Result<T, JoinError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_join_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

/// Spawns each future on the current runtime, into a new set.
impl<T, F> FromIterator<F> for JoinSet<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = Self::new();
        set.extend(iter);
        set
    }
}

/// Spawns each future on the current runtime, into the set.
impl<T, F> Extend<F> for JoinSet<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    // The tasks' spawn site in dumps: the caller of `extend` (of
    // `from_iter`, that is inside `collect`).
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for fut in iter {
            self.insert(crate::spawn(fut));
        }
    }
}
