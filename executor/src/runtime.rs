//! Runtimes: [`Builder`], [`Runtime`], the global runtime, and which runtime
//! `spawn` uses.
//!
//! # Which runtime
//!
//! `spawn` (and `num_tasks`) use, in order: the runtime of the worker thread
//! it is called on; the runtime whose [`Runtime::block_on`] is running on
//! this thread; the global runtime, started on first use with one worker per
//! core or `GUST_WORKERS` workers (Go's `GOMAXPROCS`).
//!
//! # Shutdown (drop or [`Runtime::shutdown_timeout`])
//!
//! 1. Set `shutdown`.
//! 2. Unpark every worker; each leaves its loop after the task it is running
//!    and drops the tasks in its LIFO slot and local queue (tasks woken
//!    meanwhile go to the injection queue).
//! 3. Join the worker threads and the stand-ins (`scheduler/stand_in.rs`),
//!    up to the timeout, if any (a worker still busy then is detached and
//!    drops its tasks when it gets back).
//! 4. Close the task registry (no new entries; the entries of tasks that
//!    ended on another worker than their spawner's are removed now) and
//!    wake every live task: tasks parked on some waker land in the
//!    injection queue.
//! 5. Set `drained`, so that the schedule function drops tasks from now on,
//!    and drain the injection queue, dropping every task there (on this
//!    thread, not inside some other thread's `wake`).
//!
//! 6. Wait for the runtime's `spawn_blocking` jobs to return, up to the
//!    timeout, if any (as tokio's; a job still running then is detached).
//!    Not from one of those jobs, nor from a worker of the runtime (a task
//!    dropping its own runtime): it would wait for itself.
//!
//! After step 5 no future of the runtime is left, except those running on a
//! detached worker (step 3), which are dropped when their poll returns.

mod handle;

use crate::block_on::GLOBAL_BLOCK_ONS;
pub use crate::metrics::{RuntimeMetrics, WorkerMetrics};
use crate::scheduler::{Shared, worker};
use crate::task::{JoinHandle, spawn_on};
use crate::time::clock::{Clock, VirtualClock};
use crate::trace::deadlock::Detector;
pub use crate::trace::deadlock::{DEADLOCK_ENV, OnDeadlock};
pub use crate::trace::dump::{Dump, TaskInfo, TaskState};
use crate::trace::sigquit;
pub use crate::trace::sigquit::SIGQUIT_DUMP_ENV;
pub use handle::{EnterGuard, Handle};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable that sets the global runtime's worker count
/// (Go's `GOMAXPROCS`): a positive integer; anything else makes the first
/// use of the global runtime panic with a message naming the variable.
///
/// ```
/// assert_eq!(gust_executor::runtime::WORKERS_ENV, "GUST_WORKERS");
/// ```
pub const WORKERS_ENV: &str = "GUST_WORKERS";

thread_local! {
    /// The runtime whose `block_on` runs on this thread, if any.
    static ENTERED: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
}

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global runtime, started on first use.
///
/// # Panics
///
/// If `GUST_WORKERS` is set to something other than a positive integer, or
/// the worker threads cannot be started.
pub(crate) fn global() -> &'static Runtime {
    GLOBAL.get_or_init(|| {
        let workers =
            workers_from_env(std::env::var(WORKERS_ENV)).unwrap_or_else(|why| panic!("{why}"));
        let mut builder = Builder::new().workers(workers);
        builder.global = true;
        builder
            .build()
            .unwrap_or_else(|e| cannot_start("the global runtime", &e))
    })
}

/// Panics saying which runtime could not start and why, in the error's
/// words (which begin with "gust: " already: not twice).
#[cold]
#[track_caller]
fn cannot_start(which: &str, error: &io::Error) -> ! {
    let why = error.to_string();
    let why = why.strip_prefix("gust: ").unwrap_or(&why);
    panic!("gust: cannot start {which}: {why}")
}

/// Whether the global runtime ends the process on a panic nobody joins:
/// its own setting once started, else what `GUST_PANIC` says (read once;
/// a bad value is reported when the global runtime starts, and reads as
/// `report` here).
pub(crate) fn global_exits_on_panic() -> bool {
    if let Some(rt) = GLOBAL.get() {
        return rt.shared.exit_on_unhandled_panic;
    }
    static FROM_ENV: OnceLock<bool> = OnceLock::new();
    *FROM_ENV.get_or_init(|| matches!(UnhandledPanic::from_env(), Ok(Some(UnhandledPanic::Exit))))
}

/// The most worker threads a runtime may have (its registry shards are
/// numbered in 15 bits).
const MAX_WORKERS: usize = (1 << 15) - 1;

/// The worker count `GUST_WORKERS` asks for (one per core when unset or
/// empty), or why the value is not one.
fn workers_from_env(var: Result<String, std::env::VarError>) -> Result<usize, String> {
    match var {
        Err(std::env::VarError::NotPresent) => Ok(default_workers()),
        // Set but empty (`GUST_WORKERS= prog`): as unset, as Go reads an
        // empty GOMAXPROCS (found from outside: an error).
        Ok(v) if v.trim().is_empty() => Ok(default_workers()),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(n),
            _ => Err(format!(
                "gust: invalid {WORKERS_ENV}={v:?}: expected a positive integer up to \
                 {MAX_WORKERS} (the number of worker threads), e.g. {WORKERS_ENV}=4"
            )),
        },
        Err(std::env::VarError::NotUnicode(v)) => Err(format!(
            "gust: invalid {WORKERS_ENV}={v:?}: expected a positive integer"
        )),
    }
}

fn default_workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get())
}

/// Calls `f` with the current runtime (see the module docs) and the
/// registry shard to use from this thread.
pub(crate) fn with_current<R>(f: impl FnOnce(&Arc<Shared>, usize) -> R) -> R {
    worker::with_current(|w| match w {
        Some((shared, index)) => f(shared, index),
        None => {
            let entered = ENTERED.try_with(|e| e.borrow().clone()).ok().flatten();
            let shared = match &entered {
                Some(shared) => shared,
                None => &global().shared,
            };
            f(shared, shared.num_workers())
        }
    })
}

fn metrics_of(shared: &Shared) -> RuntimeMetrics {
    crate::metrics::read(
        &shared.stats,
        shared.registry.len(),
        shared.inject.len(),
        shared.steal.iter().map(|s| s.len()),
    )
}

/// Every live task of the current runtime (the global one outside any) and
/// its `block_on` calls in progress, with what each waits on: Go's
/// goroutine dump. See [`Dump`].
///
/// # Examples
///
/// ```
/// use gust_executor::runtime::{self, TaskState};
///
/// gust_executor::block_on(async {
///     let h = gust_executor::task::Builder::new()
///         .name("sleeper")
///         .spawn(gust_executor::time::sleep(std::time::Duration::from_secs(60)));
///     loop {
///         let dump = runtime::dump();
///         let t = dump.tasks().iter().find(|t| t.name() == Some("sleeper")).unwrap();
///         if t.state() == TaskState::Waiting {
///             assert_eq!(t.wait(), Some("sleep"));
///             break;
///         }
///         gust_executor::yield_now().await;
///     }
///     h.abort();
/// });
/// ```
pub fn dump() -> Dump {
    with_current(|shared, _| Dump::collect(shared))
}

/// A `block_on` outside any runtime went to sleep (`durable`: on a wait
/// only another gust task could end): the global runtime may be deadlocked
/// now. If nothing started it yet and the wait is durable, it is started,
/// so that its detector watches (see `block_on.rs`).
pub(crate) fn nudge_global_deadlock_watch(durable: bool) {
    let rt = match GLOBAL.get() {
        Some(rt) => rt,
        None if durable && !matches!(OnDeadlock::from_env(), Ok(Some(OnDeadlock::Off))) => global(),
        None => return,
    };
    rt.shared.nudge_deadlock_watch();
}

/// The metrics of the current runtime (the global one outside any); see
/// [`Runtime::metrics`].
///
/// # Examples
///
/// ```
/// gust_executor::block_on(gust_executor::spawn(async {})).unwrap();
/// assert!(gust_executor::runtime::metrics().spawned_tasks() >= 1);
/// ```
pub fn metrics() -> RuntimeMetrics {
    with_current(|shared, _| metrics_of(shared))
}

/// The I/O driver of the current runtime (the global one outside any).
pub(crate) fn current_driver() -> Arc<crate::driver::Driver> {
    with_current(|shared, _| shared.driver.clone())
}

/// Calls `f` with this thread's runtime and registry shard, if it has one
/// (a worker's, or that of a `block_on` inside a runtime); never starts the
/// global runtime.
fn with_explicit<R>(f: impl FnOnce(&Arc<Shared>, usize) -> R) -> Option<R> {
    worker::with_current(|w| match w {
        Some((shared, index)) => Some(f(shared, index)),
        None => ENTERED
            .try_with(|e| e.borrow().as_ref().map(|s| f(s, s.num_workers())))
            .ok()
            .flatten(),
    })
}

/// The current runtime's clock as a wait stamp (`trace/mod.rs`), if this
/// thread has a runtime.
pub(crate) fn current_stamp() -> Option<u64> {
    with_explicit(|shared, _| shared.driver.timers.clock().stamp())
}

/// The clock of the current runtime, if this thread has one (never starts
/// the global runtime, whose clock is real).
pub(crate) fn current_clock() -> Option<Clock> {
    with_explicit(|shared, _| shared.driver.timers.clock().clone())
}

/// The timers of the current runtime for this thread, if it has one (never
/// starts the global runtime): its worker's set, or the set of the
/// runtime's other threads for a `block_on`.
pub(crate) fn current_timers() -> Option<Arc<crate::time::store::Timers>> {
    with_explicit(|shared, index| shared.driver.timers.for_thread(index).clone())
}

/// Pending timers of the current runtime, all its sets (0 off any runtime;
/// tests).
pub(crate) fn current_pending_timers() -> usize {
    with_explicit(|shared, _| shared.driver.timers.len()).unwrap_or(0)
}

/// Spawns onto `shared` from any thread; the task's registry entry goes
/// to the calling worker's shard when it is one of `shared`'s, else to the
/// shard of spawns from outside.
fn spawn_named_on<F>(
    shared: &Arc<Shared>,
    fut: F,
    name: Option<Box<str>>,
    at: &'static std::panic::Location<'static>,
) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let shard = worker::with_current(|w| match w {
        Some((current, index)) if Arc::ptr_eq(current, shared) => index,
        _ => shared.num_workers(),
    });
    spawn_on(shared, shard, fut, name, at)
}

/// Makes `shared` this thread's current runtime until the guard drops.
pub(crate) fn enter(shared: Arc<Shared>) -> Enter {
    let prev = ENTERED.with(|e| e.borrow_mut().replace(shared));
    Enter(prev)
}

/// Whether `shared` is the runtime entered on this thread (`enter`).
pub(crate) fn is_entered(shared: &Arc<Shared>) -> bool {
    ENTERED
        .try_with(|e| e.borrow().as_ref().is_some_and(|s| Arc::ptr_eq(s, shared)))
        .unwrap_or(false)
}

/// Restores the previous current runtime on drop.
pub(crate) struct Enter(Option<Arc<Shared>>);

impl Drop for Enter {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = ENTERED.try_with(|e| *e.borrow_mut() = prev);
    }
}

/// The current runtime, if this thread has one (never starts the global
/// runtime).
pub(crate) fn current_explicit() -> Option<Arc<Shared>> {
    with_explicit(|shared, _| shared.clone())
}

/// Calls `f` with the current runtime (the global one outside any), if
/// there is one yet: never starts the global runtime.
fn with_current_if_started<R>(f: impl Fn(&Arc<Shared>) -> R) -> Option<R> {
    with_explicit(|shared, _| f(shared)).or_else(|| GLOBAL.get().map(|rt| f(&rt.shared)))
}

/// Whether `shared` is the current runtime (the global one outside any),
/// without starting the global one.
pub(crate) fn is_current(shared: *const Shared) -> bool {
    with_current_if_started(|s| std::ptr::eq(Arc::as_ptr(s), shared)).unwrap_or(false)
}

/// Whether the runtime at address `addr` (a `Shared`'s) is the current one
/// (the global one outside any), without starting the global one.
pub(crate) fn is_current_addr(addr: usize) -> bool {
    with_current_if_started(|s| Arc::as_ptr(s).addr() == addr).unwrap_or(false)
}

/// Live tasks of the current runtime; 0 when there is none yet.
pub(crate) fn current_num_tasks() -> usize {
    with_current_if_started(|shared| shared.registry.len()).unwrap_or(0)
}

/// Configures and starts a [`Runtime`].
///
/// ```
/// let rt = gust_executor::runtime::Builder::new()
///     .workers(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
/// ```
#[must_use = "a Builder does nothing until build() is called"]
#[derive(Debug, Clone)]
pub struct Builder {
    /// `None`: `GUST_WORKERS`, else one per core (read by `build`).
    workers: Option<usize>,
    thread_name: String,
    unhandled_panic: Option<UnhandledPanic>,
    start_paused: bool,
    on_deadlock: Option<OnDeadlock>,
    /// `#[gust::test]`: a deadlock panics unless told otherwise.
    test: bool,
    dump_on_sigquit: Option<bool>,
    /// The global runtime: its `block_on` list is the static one.
    global: bool,
}

/// The environment variable that chooses what a panic in a task nobody
/// joins does (Go's behaviour or gust's default): `exit` or `report`; see
/// [`UnhandledPanic`].
///
/// ```
/// assert_eq!(gust_executor::runtime::PANIC_ENV, "GUST_PANIC");
/// ```
pub const PANIC_ENV: &str = "GUST_PANIC";

/// What a panic in a task that nobody joins does: one whose
/// [`JoinHandle`] was dropped (detached, as `go f()`),
/// or is dropped without being awaited. A `spawn_blocking` job submitted
/// from the runtime (and an `after_func` callback, which runs as one)
/// counts as such a task; outside any runtime, the global runtime's
/// setting (`GUST_PANIC`) applies.
///
/// # Examples
///
/// ```
/// use gust_executor::runtime::{Builder, UnhandledPanic};
/// let rt = Builder::new().workers(1).unhandled_panic(UnhandledPanic::Report).build().unwrap();
/// drop(rt.spawn(async { panic!("printed by the panic hook; the runtime goes on") }));
/// assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnhandledPanic {
    /// The panic hook prints the panic (as for any thread) and the runtime
    /// goes on. The default.
    Report,
    /// Go's behaviour: after the panic hook's message, the process exits
    /// with status 2 (`GUST_PANIC=exit`).
    Exit,
}

impl UnhandledPanic {
    /// The choice of [`PANIC_ENV`], if set.
    pub(crate) fn from_env() -> io::Result<Option<Self>> {
        match std::env::var(PANIC_ENV) {
            Err(std::env::VarError::NotPresent) => Ok(None),
            Ok(v) if v.trim().eq_ignore_ascii_case("exit") => Ok(Some(UnhandledPanic::Exit)),
            Ok(v) if v.trim().eq_ignore_ascii_case("report") || v.trim().is_empty() => {
                Ok(Some(UnhandledPanic::Report))
            }
            Ok(v) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("gust: invalid {PANIC_ENV}={v:?}: expected `exit` or `report`"),
            )),
            Err(e) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("gust: invalid {PANIC_ENV}: {e}"),
            )),
        }
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// One worker per core, or `GUST_WORKERS` when set (as Go's
    /// `GOMAXPROCS` applies to the whole process), threads named
    /// `gust-worker-N`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().build().unwrap();
    /// assert!(rt.num_workers() >= 1);
    /// ```
    pub fn new() -> Self {
        Self {
            workers: None,
            thread_name: "gust-worker".to_owned(),
            unhandled_panic: None,
            start_paused: false,
            on_deadlock: None,
            test: false,
            dump_on_sigquit: None,
            global: false,
        }
    }

    /// Number of worker threads (Go's `GOMAXPROCS`); must be at least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(3).build().unwrap();
    /// assert_eq!(rt.num_workers(), 3);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }

    /// Prefix of the worker threads' names (`{name}-{index}`). (While every
    /// worker is blocked in a `_blocking` wait or a `block_on`, the
    /// runtime's tasks run on a stand-in thread named `gust-stand-in`.)
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new()
    ///     .workers(1)
    ///     .thread_name("pool")
    ///     .build()
    ///     .unwrap();
    /// let name = rt.block_on(rt.spawn(async {
    ///     std::thread::current().name().map(String::from)
    /// }));
    /// assert_eq!(name.unwrap().as_deref(), Some("pool-0"));
    /// ```
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// What a panic in a task nobody joins does ([`UnhandledPanic`]); by
    /// default what [`PANIC_ENV`] says, else [`UnhandledPanic::Report`].
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::runtime::{Builder, UnhandledPanic};
    /// // Joined panics are the caller's to handle under either choice.
    /// let rt = Builder::new().unhandled_panic(UnhandledPanic::Exit).build().unwrap();
    /// let err = rt.block_on(rt.spawn(async { panic!("joined") })).unwrap_err();
    /// assert!(err.is_panic());
    /// ```
    pub fn unhandled_panic(mut self, what: UnhandledPanic) -> Self {
        self.unhandled_panic = Some(what);
        self
    }

    /// Virtual time (tokio's `start_paused`, Go's `testing/synctest`): the
    /// runtime's clock stands still while any of its tasks, its `block_on`
    /// or a `spawn_blocking` job it started can run, and when none can it
    /// jumps to the earliest pending timer and fires it. Sleeps, timers,
    /// tickers, `timeout` and context deadlines made in the runtime follow
    /// it, and [`time::now`](crate::time::now) reads it. A test of a
    /// one-hour timeout then takes microseconds, and sees the same order of
    /// events every run. A `sleep`, `sleep_until`, `timeout` or `after`
    /// made outside any runtime (as in `rt.block_on(sleep(d))`) moves to
    /// this clock when first polled here, with the time it had left; the
    /// task dump's waiting times are on this clock too.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use gust_executor::runtime::Builder;
    /// let rt = Builder::new().workers(1).start_paused(true).build().unwrap();
    /// let real = Instant::now();
    /// let r = rt.block_on(async {
    ///     // Made inside the runtime: on its clock.
    ///     gust_executor::time::timeout(Duration::from_secs(3600), std::future::pending::<()>()).await
    /// });
    /// assert!(r.is_err()); // timed out, after an hour of virtual time
    /// assert!(real.elapsed() < Duration::from_secs(5));
    /// ```
    pub fn start_paused(mut self, paused: bool) -> Self {
        self.start_paused = paused;
        self
    }

    /// What the runtime does when all its tasks and `block_on` futures are
    /// asleep for good: see [`OnDeadlock`]. Overrides `GUST_DEADLOCK`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::runtime::{Builder, OnDeadlock};
    /// let rt = Builder::new().on_deadlock(OnDeadlock::Off).build().unwrap();
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// ```
    pub fn on_deadlock(mut self, what: OnDeadlock) -> Self {
        self.on_deadlock = Some(what);
        self
    }

    /// On Unix, SIGQUIT (Ctrl-\\) prints this runtime's dump to stderr and
    /// the program goes on (Go prints its goroutines and exits). Also set
    /// for every runtime by `GUST_SIGQUIT_DUMP=1` ([`SIGQUIT_DUMP_ENV`]).
    /// Elsewhere it does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().dump_on_sigquit(true).build().unwrap();
    /// assert_eq!(rt.block_on(async { 1 }), 1);
    /// ```
    pub fn dump_on_sigquit(mut self, on: bool) -> Self {
        self.dump_on_sigquit = Some(on);
        self
    }

    /// `#[gust::test]`'s runtime: a deadlock panics unless `GUST_DEADLOCK`
    /// or [`Builder::on_deadlock`] say otherwise.
    #[doc(hidden)]
    pub fn __test(mut self) -> Self {
        self.test = true;
        self
    }

    /// `#[gust::main]`'s and `#[gust::test]`'s runtime: built, or a panic
    /// that says why not, located at the attribute's function (with no
    /// `expect` or `panic!` in that function, which may deny clippy's
    /// lints against them).
    #[doc(hidden)]
    #[track_caller]
    pub fn __build_for_attribute(self) -> Runtime {
        match self.build() {
            Ok(runtime) => runtime,
            Err(e) => cannot_start("the runtime", &e),
        }
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for `workers(0)` or more than 32,767 workers, a bad
    /// `GUST_WORKERS` (when `workers` was not given) or another of gust's
    /// environment variables, or a thread name with a NUL byte; or the
    /// error of a thread that could not be spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::runtime::Builder;
    ///
    /// let rt = Builder::new().workers(2).build().unwrap();
    /// assert_eq!(rt.block_on(rt.spawn(async { 6 * 7 })).unwrap(), 42);
    ///
    /// let err = Builder::new().workers(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn build(&self) -> io::Result<Runtime> {
        let workers = match self.workers {
            Some(n) => n,
            None => workers_from_env(std::env::var(WORKERS_ENV))
                .map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why))?,
        };
        if self.thread_name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "gust runtime: thread_name({:?}): a thread name cannot hold a NUL byte",
                    self.thread_name
                ),
            ));
        }
        if workers == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "gust runtime: workers(0): a runtime needs at least one worker thread",
            ));
        }
        if workers > MAX_WORKERS {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "gust runtime: workers({workers}): too many worker threads (at most {MAX_WORKERS})"
                ),
            ));
        }
        let unhandled_panic = match self.unhandled_panic {
            Some(p) => p,
            None => UnhandledPanic::from_env()?.unwrap_or(UnhandledPanic::Report),
        };
        let clock = if self.start_paused {
            Clock::Virtual(Arc::new(VirtualClock::new()))
        } else {
            Clock::Real
        };
        let on_deadlock = match self.on_deadlock {
            Some(d) => d,
            None => OnDeadlock::from_env()?.unwrap_or(if self.start_paused || self.test {
                OnDeadlock::Panic
            } else {
                OnDeadlock::Warn
            }),
        };
        let dump_on_sigquit = match self.dump_on_sigquit {
            Some(on) => on,
            None => sigquit::from_env()?,
        };
        // A task's `_blocking` wait leaves its worker first (gust-trace).
        gust_trace::set_leave_hooks(worker::leave_hook, worker::back_hook);
        let (mut shared, locals) = Shared::new(workers, clock)?;
        shared.exit_on_unhandled_panic = unhandled_panic == UnhandledPanic::Exit;
        shared.detector = Detector::new(on_deadlock);
        if self.global {
            shared.block_ons = GLOBAL_BLOCK_ONS.clone();
        }
        let mut rt = Runtime {
            shared: Arc::new(shared),
            threads: Vec::with_capacity(workers),
        };
        for (index, local) in locals.into_iter().enumerate() {
            let shared = rt.shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name))
                .spawn(move || worker::run_worker(shared, index, local));
            match spawned {
                Ok(t) => rt.threads.push(t),
                // Dropping `rt` shuts down the workers already started.
                Err(e) => return Err(e),
            }
        }
        if dump_on_sigquit {
            sigquit::watch(&rt.shared);
        }
        Ok(rt)
    }
}

/// A multi-threaded work-stealing runtime: a set of worker threads that run
/// spawned tasks.
///
/// Dropping it shuts it down: every unfinished task's future is dropped and
/// the worker threads are joined, and its `spawn_blocking` jobs are waited
/// for, as tokio's (see [`shutdown_timeout`] to bound the wait).
///
/// ```
/// use gust_executor::runtime::Runtime;
///
/// let rt = Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     // `spawn` inside `block_on` spawns onto `rt`.
///     let hs: Vec<_> = (0..10u64).map(|i| gust_executor::spawn(async move { i })).collect();
///     let mut sum = 0;
///     for h in hs {
///         sum += h.await.unwrap();
///     }
///     sum
/// });
/// assert_eq!(sum, 45);
/// ```
///
/// [`shutdown_timeout`]: Runtime::shutdown_timeout
pub struct Runtime {
    shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Runtime {
    /// A runtime with the default [`Builder`] settings.
    ///
    /// # Errors
    ///
    /// If a worker thread cannot be spawned.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    /// ```
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// Spawns `fut` onto this runtime. See [`crate::spawn`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.spawn(async { 2 + 2 });
    /// assert_eq!(rt.block_on(h).unwrap(), 4);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_named(fut, None, std::panic::Location::caller())
    }

    /// Runs `f` on the blocking pool for this runtime, from any thread or
    /// task (a task of another runtime too): the job counts as this
    /// runtime's (its virtual clock waits for it; its deadlock detector
    /// sees it), and `spawn` inside `f` spawns onto this runtime. See
    /// [`crate::spawn_blocking`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.spawn_blocking(|| {
    ///     // On the pool's thread, this runtime is the current one.
    ///     gust_executor::spawn(async { std::thread::current().name().map(String::from) })
    /// });
    /// let inner = rt.block_on(h).unwrap();
    /// assert_eq!(rt.block_on(inner).unwrap().as_deref(), Some("gust-worker-0"));
    /// ```
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        crate::blocking::spawn_blocking_for(Some(self.shared.clone()), f)
    }

    /// [`Runtime::spawn`] with a name and spawn site (`task::Builder`).
    pub(crate) fn spawn_named<F>(
        &self,
        fut: F,
        name: Option<Box<str>>,
        at: &'static std::panic::Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_named_on(&self.shared, fut, name, at)
    }

    /// Runs `fut` to completion on the calling thread; `spawn` inside it
    /// spawns onto this runtime, even when the caller is a task of another
    /// one. See [`crate::block_on`].
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let name = rt.block_on(async {
    ///     gust_executor::spawn(async { std::thread::current().name().map(String::from) })
    ///         .await
    ///         .unwrap()
    /// });
    /// assert_eq!(name.as_deref(), Some("gust-worker-0"));
    /// ```
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        crate::block_on::block_on(Some(self.shared.clone()), fut)
    }

    /// Live spawned tasks of this runtime.
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.num_tasks(), 1);
    /// drop(rt); // drops the pending task
    /// assert!(gust_executor::block_on(h).unwrap_err().is_aborted());
    /// ```
    pub fn num_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// What the runtime has done so far: live and spawned tasks, polls,
    /// steals and parks per worker, each worker's busy time and queue
    /// depth, the injection queue's depth. See [`RuntimeMetrics`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(1).build().unwrap();
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// let m = rt.metrics();
    /// assert_eq!(m.spawned_tasks(), 1);
    /// assert!(m.workers()[0].polls() >= 1);
    /// ```
    pub fn metrics(&self) -> RuntimeMetrics {
        metrics_of(&self.shared)
    }

    /// This runtime's tasks and `block_on` calls; see [`dump`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// assert_eq!(rt.dump().tasks().len(), 1);
    /// h.abort();
    /// ```
    pub fn dump(&self) -> Dump {
        Dump::collect(&self.shared)
    }

    /// Number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Builder::new().workers(2).build().unwrap();
    /// assert_eq!(rt.num_workers(), 2);
    /// ```
    pub fn num_workers(&self) -> usize {
        self.shared.num_workers()
    }

    /// Shuts the runtime down, waiting at most `timeout` for its workers to
    /// finish the tasks they are running and for its `spawn_blocking` jobs
    /// to return; workers still busy then are detached, and drop their
    /// tasks when they get back, and jobs still running run on. Unfinished
    /// tasks are dropped.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// rt.spawn(std::future::pending::<()>());
    /// rt.shutdown_timeout(Duration::from_secs(1));
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if self.shared.is_shutdown() {
            return; // `shutdown_timeout`, then the drop
        }
        // Steps 1-2.
        self.shared.begin_shutdown();
        // Step 3.
        let deadline = timeout.and_then(|d| Instant::now().checked_add(d));
        let me = thread::current().id();
        let on_own_worker = self.threads.iter().any(|t| t.thread().id() == me)
            || crate::scheduler::stand_in::is_stand_in_of(&self.shared);
        // Its stand-ins (`scheduler/stand_in.rs`) leave their loop as the
        // workers do, and are joined with them.
        let stand_ins = self.shared.stand_ins.take_threads();
        for t in self.threads.drain(..).chain(stand_ins) {
            if t.thread().id() == me {
                // Dropped by one of its own tasks: it exits after this poll.
                continue;
            }
            if let Some(deadline) = deadline {
                while !t.is_finished() && Instant::now() < deadline {
                    thread::sleep(Duration::from_millis(1));
                }
                if !t.is_finished() {
                    continue; // detached
                }
            }
            let _ = t.join();
        }
        // Step 4: I/O waiters get an error, timers move to the timer thread.
        self.shared.driver.shutdown();
        for waker in self.shared.registry.close() {
            waker.wake();
        }
        // Step 5.
        self.shared.finish_shutdown();
        // Step 6.
        if !on_own_worker && !crate::blocking::runs_job_of(&self.shared.driver) {
            self.wait_for_blocking_jobs(deadline);
        }
    }

    /// Waits until every `spawn_blocking` job of this runtime has run (as
    /// tokio's runtime does), up to `deadline` if any. Jobs are few and
    /// this runs once, so it looks every millisecond at most.
    fn wait_for_blocking_jobs(&self, deadline: Option<Instant>) {
        let mut pause = Duration::from_micros(20);
        // SeqCst: as the count's writers (`blocking.rs`).
        while self
            .shared
            .driver
            .live_jobs
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
        {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return; // they run on, detached
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(1));
        }
    }
}

// A panic while the runtime is in use leaves it consistent: its shared
// state is atomics and locks that recover from poisoning, so a `&Runtime`
// or `Runtime` may cross `catch_unwind` (as tokio's).
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workers", &self.num_workers())
            .field("tasks", &self.num_tasks())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_env_parsing() {
        assert_eq!(workers_from_env(Ok("3".into())), Ok(3));
        assert_eq!(workers_from_env(Ok(" 2 ".into())), Ok(2));
        assert_eq!(workers_from_env(Ok(" ".into())), Ok(default_workers()));
        let msg = workers_from_env(Ok("abc".into())).unwrap_err();
        assert!(msg.contains("GUST_WORKERS"), "{msg}");
        assert!(workers_from_env(Ok("0".into())).is_err());
        let msg = workers_from_env(Ok("100000".into())).unwrap_err();
        assert!(
            msg.contains("GUST_WORKERS") && msg.contains("32767"),
            "{msg}"
        );
        assert_eq!(workers_from_env(Ok("32767".into())), Ok(32767));
    }

    /// A thread name with a NUL byte is an error of `build`, not a panic
    /// of the thread spawn (found by a trial from outside).
    #[test]
    fn thread_name_with_nul_is_an_error() {
        let e = Builder::new()
            .workers(1)
            .thread_name("a\0b")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("NUL"), "{e}");
    }

    /// A future whose drop panics, in an aborted task and in one left at
    /// shutdown: the panic is caught (async-task would abort the process),
    /// and the first goes to the `JoinHandle` (`TaskFuture`).
    #[test]
    fn a_future_that_panics_when_dropped() {
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("drop-panic");
            }
        }
        let rt = Builder::new().workers(1).build().unwrap();
        let aborted = rt.spawn(async {
            let _p = PanicsOnDrop;
            std::future::pending::<()>().await
        });
        let left = rt.spawn(async {
            let _p = PanicsOnDrop;
            std::future::pending::<()>().await
        });
        // Both polled once (they hold the value), the first then aborted.
        rt.block_on(async {
            while rt.metrics().workers()[0].polls() < 2 {
                crate::yield_now().await;
            }
        });
        aborted.abort();
        assert!(crate::block_on(aborted).unwrap_err().is_panic());
        drop(rt);
        assert!(crate::block_on(left).unwrap_err().is_aborted());
    }

    #[test]
    fn zero_workers_is_an_error() {
        let err = Builder::new().workers(0).build().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
