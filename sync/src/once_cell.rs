//! [`OnceCell`]: Go's `sync.Once` / `sync.OnceValue`, async.
//!
//! A caller that waits for another caller's initializer records
//! `Lock::OnceCell` as its task's wait reason (gust-trace), for the task
//! dump. The caller that runs the initializer records nothing of its own:
//! its initializer's waits record theirs. A flag set when this caller's
//! initializer starts tells the two apart.
//!
//! The waker clones of the wait are its own (gust-trace's "Who holds the
//! waker"), those of this caller's initializer are not: it is the user's
//! future, polled inside the wait's poll.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};

use gust_trace::{Lock, Wait, traced};

/// A value initialized once (Go's `sync.Once`, or `sync.OnceValue`): the
/// first [`get_or_init`](OnceCell::get_or_init) runs its initializer, every
/// other caller waits for it and gets the same value. Cancel-safe: if the
/// task running the initializer is dropped mid-way, a waiting caller runs
/// its own initializer instead; nobody waits forever.
///
/// ```
/// use gust_sync::OnceCell;
/// static CONFIG: OnceCell<String> = OnceCell::new();
/// gust_executor::block_on(async {
///     let c = CONFIG.get_or_init(|| async { "loaded".to_string() }).await;
///     assert_eq!(c, "loaded");
///     // Later calls do not run their initializer.
///     let c = CONFIG.get_or_init(|| async { unreachable!() }).await;
///     assert_eq!(c, "loaded");
/// });
/// ```
pub struct OnceCell<T> {
    inner: async_lock::OnceCell<T>,
}

impl<T> OnceCell<T> {
    /// An empty cell.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::<u8>::new();
    /// assert!(c.get().is_none());
    /// ```
    pub const fn new() -> Self {
        Self {
            inner: async_lock::OnceCell::new(),
        }
    }

    /// The value, if initialized.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// gust_executor::block_on(c.get_or_init(|| async { 1 }));
    /// assert_eq!(c.get(), Some(&1));
    /// ```
    pub fn get(&self) -> Option<&T> {
        self.inner.get()
    }

    /// Whether the value is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// assert!(!c.is_initialized());
    /// c.get_or_init_blocking(|| 1);
    /// assert!(c.is_initialized());
    /// ```
    pub fn is_initialized(&self) -> bool {
        self.inner.is_initialized()
    }

    /// The value, mutably, if set: `&mut self` proves nobody else is using
    /// the cell.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = gust_sync::OnceCell::new();
    /// c.get_or_init_blocking(|| 1);
    /// *c.get_mut().unwrap() += 1;
    /// assert_eq!(c.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.get_mut()
    }

    /// Takes the value out, leaving the cell empty (the next
    /// `get_or_init` initializes it again).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut c = gust_sync::OnceCell::new();
    /// c.get_or_init_blocking(|| "old");
    /// assert_eq!(c.take(), Some("old"));
    /// assert_eq!(*c.get_or_init_blocking(|| "new"), "new");
    /// ```
    pub fn take(&mut self) -> Option<T> {
        self.inner.take()
    }

    /// The value; initializes it with `init` first if nobody has (Go's
    /// `once.Do`). Concurrent callers wait for the one initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// let v = gust_executor::block_on(c.get_or_init(|| async { 40 + 2 }));
    /// assert_eq!(*v, 42);
    /// ```
    pub async fn get_or_init<F, Fut>(&self, init: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let initializing = AtomicBool::new(false);
        let init = || {
            initializing.store(true, Ordering::Relaxed);
            not_owned(init())
        };
        wait_for_init(self.inner.get_or_init(init), &initializing).await
    }

    /// Like [`get_or_init`](Self::get_or_init) with a fallible initializer:
    /// an error is returned to this caller and leaves the cell empty, so a
    /// later call tries again.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::<u32>::new();
    /// gust_executor::block_on(async {
    ///     assert!(c.get_or_try_init(|| async { Err("not yet") }).await.is_err());
    ///     assert_eq!(c.get_or_try_init(|| async { Ok::<_, &str>(7) }).await, Ok(&7));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, init: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let initializing = AtomicBool::new(false);
        let init = || {
            initializing.store(true, Ordering::Relaxed);
            not_owned(init())
        };
        wait_for_init(self.inner.get_or_try_init(init), &initializing).await
    }

    /// [`get_or_init`](Self::get_or_init) from a plain thread, with a
    /// blocking initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// assert_eq!(*c.get_or_init_blocking(|| 5), 5);
    /// ```
    pub fn get_or_init_blocking(&self, init: impl FnOnce() -> T) -> &T {
        match self
            .inner
            .get_or_try_init_blocking(|| Ok::<T, std::convert::Infallible>(init()))
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// Sets the value if the cell is empty: `Err(value)` if it was already
    /// set (or is being initialized and ends up set).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// gust_executor::block_on(async {
    ///     assert_eq!(c.set(1).await, Ok(&1));
    ///     assert_eq!(c.set(2).await, Err(2));
    /// });
    /// ```
    pub async fn set(&self, value: T) -> Result<&T, T> {
        // Its own initializer is ready at once: pending only while another
        // caller initializes.
        traced(self.inner.set(value), Wait::Lock(Lock::OnceCell)).await
    }

    /// Sets the value if the cell is empty and nobody is initializing it,
    /// without waiting (tokio's `OnceCell::set`; async-lock's `try_set`):
    /// `Err(value)` gives the value back if the cell is set or another
    /// caller's initializer is running. [`set`](Self::set) waits for that
    /// initializer instead (it may fail and leave the cell empty).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// assert_eq!(c.try_set(1), Ok(()));
    /// assert_eq!(c.try_set(2), Err(2));
    /// assert_eq!(c.get(), Some(&1));
    /// ```
    pub fn try_set(&self, value: T) -> Result<(), T> {
        self.inner.try_set(value)
    }

    /// [`set`](Self::set) from a plain thread, blocking it while another
    /// caller initializes the cell.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// assert_eq!(c.set_blocking("a"), Ok(&"a"));
    /// assert_eq!(c.set_blocking("b"), Err("b"));
    /// ```
    pub fn set_blocking(&self, value: T) -> Result<&T, T> {
        self.inner.set_blocking(value)
    }

    /// Consumes the cell and returns its value, if set.
    ///
    /// # Examples
    ///
    /// ```
    /// let c = gust_sync::OnceCell::new();
    /// c.get_or_init_blocking(|| 'x');
    /// assert_eq!(c.into_inner(), Some('x'));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        self.inner.into_inner()
    }
}

/// Awaits `fut` (an initializing call), recording `Lock::OnceCell` when it
/// is pending while another caller initializes, not while this caller's own
/// initializer (which set `initializing` when it started) runs.
async fn wait_for_init<F: Future>(fut: F, initializing: &AtomicBool) -> F::Output {
    let mut fut = pin!(fut);
    poll_fn(|cx| {
        let poll = gust_trace::owning(|| fut.as_mut().poll(cx));
        // Relaxed: set by this future's own poll (a future is polled by one
        // thread at a time; an executor moving it synchronizes).
        if poll.is_pending() && !initializing.load(Ordering::Relaxed) {
            gust_trace::record(Wait::Lock(Lock::OnceCell));
        }
        poll
    })
    .await
}

/// `fut`, a caller's initializer, polled with its waker clones counted as
/// foreign (module docs).
async fn not_owned<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    poll_fn(|cx| gust_trace::not_owning(|| fut.as_mut().poll(cx))).await
}

impl<T> Default for OnceCell<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}
