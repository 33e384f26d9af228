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

use crate::task::{JoinHandle, Runnable, spawn_blocking_task};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Most blocking threads at a time.
pub(crate) const MAX_THREADS: usize = 512;

/// How long an idle blocking thread waits for a job before it exits.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// A queued job, and what keeps its runtime's virtual clock still until it
/// has run (`None` for a job from outside any runtime).
struct Job {
    task: Runnable,
    holds_clock: Option<HoldsClock>,
}

/// One count in the runtime driver's `blocking_jobs`: the virtual clock
/// does not jump while any is alive (`driver/mod.rs`).
struct HoldsClock(std::sync::Arc<crate::driver::Driver>);

impl HoldsClock {
    fn new(driver: std::sync::Arc<crate::driver::Driver>) -> Self {
        driver.blocking_jobs.fetch_add(1, Ordering::SeqCst);
        Self(driver)
    }
}

impl Drop for HoldsClock {
    fn drop(&mut self) {
        self.0.blocking_jobs.fetch_sub(1, Ordering::SeqCst);
        self.0.nudge();
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
    // `spawn` inside `f` spawns onto the caller's runtime, as it would in
    // the caller.
    match crate::runtime::current_explicit() {
        Some(shared) => {
            // Virtual time stands still until the job has run (counted from
            // submission: a queued job will run), and is released only after
            // its task completed, so that whoever awaits it is woken (and
            // counted runnable) first. Released inside the job instead, the
            // clock could jump between the job's end and that wake-up.
            let holds_clock = Mutex::new(Some(HoldsClock::new(shared.driver.clone())));
            spawn_blocking_task(
                move || {
                    let _enter = crate::runtime::enter(shared);
                    f()
                },
                // A blocking task is scheduled once: its future is ready at
                // its first poll.
                move |r| pool().submit(r, holds_clock.lock().unwrap().take()),
            )
        }
        None => spawn_blocking_task(f, |r| pool().submit(r, None)),
    }
}

impl Pool {
    fn submit(&'static self, task: Runnable, holds_clock: Option<HoldsClock>) {
        let mut st = self.state.lock().unwrap();
        st.queue.push_back(Job { task, holds_clock });
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
                // The task catches its own panics.
                job.task.run();
                // After the task completed and woke its awaiter.
                drop(job.holds_clock);
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
