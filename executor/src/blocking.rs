//! The blocking-thread pool behind [`spawn_blocking`](crate::spawn_blocking).
//!
//! One process-wide elastic pool: a job goes to an idle thread if there is
//! one, else to a new thread, up to [`MAX_THREADS`]; past that, jobs wait in
//! the queue. A thread idle for [`KEEP_ALIVE`] exits. Jobs are async-task
//! tasks (so `spawn_blocking` returns the same [`JoinHandle`] as `spawn`)
//! whose schedule function submits them here.
//!
//! # Invariants (all fields under the `state` lock)
//!
//! 1. `idle` counts threads waiting on the condvar; `notified <= idle` counts
//!    those already promised a job by a `notify_one`, so a job is handed to a
//!    new thread unless an idle thread is free to take it.
//! 2. Every queued job is eventually run: it was queued either with a
//!    notified idle thread, a new thread, or `threads == MAX_THREADS` busy
//!    threads, each of which looks at the queue before waiting.

use crate::scheduler::Shared;
use crate::task::{JoinHandle, Runnable, spawn_blocking_task};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Most blocking threads at a time.
pub(crate) const MAX_THREADS: usize = 512;

/// How long an idle blocking thread waits for a job before it exits.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A queued job, and its count until it has run.
struct Job {
    task: Runnable,
    counted: Option<Counted>,
}

/// Blocking jobs submitted from outside any runtime and not finished: a
/// runtime's deadlock detector waits for them, since any may wake one of
/// its tasks (`trace/deadlock.rs`; a job of a runtime counts in its
/// driver's `blocking_jobs` instead).
static OUTSIDE_JOBS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The driver whose `blocking_jobs` counts the job this thread runs
    /// (a pool thread, during a job of a runtime; null otherwise): a
    /// `block_on` in the job hands that count over to its own while it
    /// runs (`block_on.rs`). Only compared, never dereferenced; the job's
    /// `Counted` keeps the driver alive while it is set.
    static JOB_OF: std::cell::Cell<*const crate::driver::Driver> =
        const { std::cell::Cell::new(std::ptr::null()) };
}

/// Whether this thread runs a blocking job counted by `driver`.
pub(crate) fn runs_job_of(driver: &crate::driver::Driver) -> bool {
    JOB_OF
        .try_with(|j| std::ptr::eq(j.get(), driver))
        .unwrap_or(false)
}

/// [`OUTSIDE_JOBS`] now.
pub(crate) fn outside_jobs() -> usize {
    OUTSIDE_JOBS.load(Ordering::SeqCst)
}

/// One count of a pending job, from submission until after it has run:
/// in its runtime driver's `blocking_jobs` (the virtual clock does not
/// jump while any is alive, `driver/mod.rs`; the deadlock detector waits),
/// or, for a job from outside any runtime, in [`OUTSIDE_JOBS`].
struct Counted(Option<std::sync::Arc<crate::driver::Driver>>);

impl Counted {
    fn new(driver: Option<std::sync::Arc<crate::driver::Driver>>) -> Self {
        // SeqCst, here and in `drop`: read by the detector and the clock
        // after the workers parked.
        match &driver {
            Some(d) => {
                d.live_jobs.fetch_add(1, Ordering::SeqCst);
                d.blocking_jobs.fetch_add(1, Ordering::SeqCst)
            }
            None => OUTSIDE_JOBS.fetch_add(1, Ordering::SeqCst),
        };
        Self(driver)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        match &self.0 {
            Some(d) => {
                d.blocking_jobs.fetch_sub(1, Ordering::SeqCst);
                d.live_jobs.fetch_sub(1, Ordering::SeqCst);
                d.nudge();
            }
            None => {
                OUTSIDE_JOBS.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
    notified: usize,
}

#[derive(Default)]
struct Pool {
    state: Mutex<State>,
    cond: Condvar,
}

static POOL: OnceLock<Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(Pool::default)
}

/// Runs `f` on the blocking pool.
pub(crate) fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // The current runtime shut down (a task's future dropped at shutdown
    // that spawns in its `Drop`, a context's `after_func` run by a dropped
    // `CancelFunc`): the job runs as one from outside any runtime, as it
    // did before `Handle::spawn_blocking` learnt to refuse such jobs.
    spawn_blocking_for(
        crate::runtime::current_explicit().filter(|s| !s.is_shutdown()),
        f,
    )
}

/// [`spawn_blocking`] for the runtime `explicit` (`None`: none, as off any
/// runtime): counted by it, and `spawn` inside `f` spawns onto it.
pub(crate) fn spawn_blocking_for<F, T>(explicit: Option<Arc<Shared>>, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // Counted from submission (a queued job will run) until after its task
    // completed, so that whoever awaits it is woken (and counted runnable)
    // first: a virtual clock stands still until then (released inside the
    // job instead, it could jump between the job's end and that wake-up),
    // and the deadlock detectors wait.
    let counted = Mutex::new(Some(Counted::new(
        explicit.as_ref().map(|s| s.driver.clone()),
    )));
    // A blocking task is scheduled once: its future is ready at its first
    // poll.
    // A runtime shut down takes no more jobs: the job is dropped unrun and
    // its handle says it was aborted, as for `Runtime::spawn`.
    let of = explicit.clone();
    let submit = move |r: Runnable| {
        let counted = counted.lock().unwrap().take();
        if of.as_ref().is_some_and(|s| s.is_shutdown()) {
            drop((r, counted));
            return;
        }
        pool().submit(r, counted);
    };
    // A job nobody joins is a detached `go f()`: its panic ends the process
    // where the submitter's runtime says so (outside any: `GUST_PANIC`, as
    // the global runtime reads it).
    let exit_on_panic = match &explicit {
        Some(shared) => shared.exit_on_unhandled_panic,
        None => crate::runtime::global_exits_on_panic(),
    };
    match explicit {
        // `spawn` inside `f` spawns onto the caller's runtime, as it would
        // in the caller.
        Some(shared) => spawn_blocking_task(
            move || {
                let _enter = crate::runtime::enter(shared);
                f()
            },
            exit_on_panic,
            submit,
        ),
        None => spawn_blocking_task(f, exit_on_panic, submit),
    }
}

impl Pool {
    fn submit(&'static self, task: Runnable, counted: Option<Counted>) {
        let mut st = self.state.lock().unwrap();
        st.queue.push_back(Job { task, counted });
        if st.idle > st.notified {
            st.notified += 1;
            drop(st);
            self.cond.notify_one();
        } else if st.threads < MAX_THREADS {
            st.threads += 1;
            drop(st);
            let spawned = std::thread::Builder::new()
                .name("gust-blocking".to_owned())
                .spawn(move || self.run());
            if let Err(e) = spawned {
                let mut st = self.state.lock().unwrap();
                st.threads -= 1;
                if st.threads == 0 {
                    drop(st);
                    panic!("gust: cannot start a blocking thread: {e}");
                }
            }
        }
    }

    fn run(&self) {
        let mut st = self.state.lock().unwrap();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                let driver = match job.counted.as_ref().and_then(|c| c.0.as_ref()) {
                    Some(d) => std::sync::Arc::as_ptr(d),
                    None => std::ptr::null(),
                };
                let _ = JOB_OF.try_with(|j| j.set(driver));
                // The task catches its own panics.
                job.task.run();
                let _ = JOB_OF.try_with(|j| j.set(std::ptr::null()));
                // After the task completed and woke its awaiter.
                drop(job.counted);
                st = self.state.lock().unwrap();
                continue;
            }
            st.idle += 1;
            let (guard, res) = self.cond.wait_timeout(st, KEEP_ALIVE).unwrap();
            st = guard;
            st.idle -= 1;
            if st.notified > 0 {
                st.notified -= 1;
            } else if res.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}
