//! The dump: every live task of a runtime and what it waits on, printed as
//! Go prints its goroutines.

use super::{DONE, RUNNABLE, RUNNING, TaskTrace, go_duration};
use crate::block_on::Unparker;
use crate::scheduler::Shared;
use gust_trace::Wait;
use std::fmt;
use std::panic::Location;
use std::time::Duration;

/// What a task is doing when the dump is taken.
///
/// ```
/// use gust_executor::runtime::TaskState;
/// assert_ne!(TaskState::Running, TaskState::Waiting);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Being polled now.
    Running,
    /// Woken, in a run queue.
    Runnable,
    /// Waiting to be woken; [`TaskInfo::wait`] says on what.
    Waiting,
}

/// One task (or `block_on` future) in a [`Dump`].
///
/// # Examples
///
/// ```
/// use gust_executor::runtime::{Runtime, TaskState};
/// use gust_executor::task::Builder;
///
/// let rt = Runtime::new().unwrap();
/// let (tx, rx) = gust_chan::chan::<()>(0);
/// let h = rt.block_on(async move {
///     let h = Builder::new().name("waiter").spawn(async move { rx.recv().await });
///     while gust_executor::runtime::dump().tasks()[0].state() != TaskState::Waiting {
///         gust_executor::yield_now().await;
///     }
///     let dump = gust_executor::runtime::dump();
///     let task = &dump.tasks()[0];
///     assert_eq!(task.name(), Some("waiter"));
///     assert_eq!(task.wait(), Some("chan receive"));
///     assert!(task.spawned_at().file().ends_with(".rs"));
///     assert!(task.id() > 0);
///     h
/// });
/// drop(tx);
/// rt.block_on(h).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct TaskInfo {
    id: u64,
    name: Option<String>,
    spawned_at: &'static Location<'static>,
    state: TaskState,
    wait: Option<String>,
    chan_made_at: Option<&'static Location<'static>>,
    waiting_for: Duration,
    durable: bool,
}

impl TaskInfo {
    fn new(
        id: u64,
        name: Option<String>,
        spawned_at: &'static Location<'static>,
        state: TaskState,
        wait: Option<Wait>,
        waiting_for: Duration,
        foreign_holders: u64,
    ) -> Self {
        let waiting = state == TaskState::Waiting;
        Self {
            id,
            name,
            spawned_at,
            state,
            wait: waiting
                .then(|| wait.map_or_else(|| "other future".to_owned(), |w| w.to_string())),
            chan_made_at: wait.and_then(|w| w.chan_made_at()).filter(|_| waiting),
            waiting_for: if waiting { waiting_for } else { Duration::ZERO },
            durable: waiting && super::waits_durably(wait, foreign_holders),
        }
    }

    /// The task's id, unique among the tasks of its runtime (a `block_on`
    /// has its own sequence).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let a = rt.spawn(std::future::pending::<()>());
    /// let b = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.dump();
    /// let ids: Vec<u64> = dump.tasks().iter().map(|t| t.id()).collect();
    /// assert_eq!(ids.len(), 2);
    /// assert!(ids[0] < ids[1]); // listed by id, and no two alike
    /// a.abort();
    /// b.abort();
    /// ```
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The name given with [`task::Builder::name`](crate::task::Builder::name).
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::task::Builder;
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let named = Builder::new().name("fetcher").spawn_on(std::future::pending::<()>(), &rt);
    /// let unnamed = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.dump();
    /// let names: Vec<Option<&str>> = dump.tasks().iter().map(|t| t.name()).collect();
    /// assert_eq!(names, [Some("fetcher"), None]);
    /// named.abort();
    /// unnamed.abort();
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Where the task was spawned (or `block_on` was called).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let line = line!() + 1;
    /// let h = rt.spawn(std::future::pending::<()>());
    /// let dump = rt.dump();
    /// let at = dump.tasks()[0].spawned_at();
    /// assert_eq!((at.file(), at.line()), (file!(), line));
    /// h.abort();
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// Running, runnable or waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::runtime::TaskState;
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let h = rt.spawn(async {
    ///     let dump = gust_executor::runtime::dump();
    ///     dump.tasks().iter().map(|t| t.state()).collect::<Vec<_>>()
    /// });
    /// // The only task is the one that took the dump, while it ran.
    /// assert_eq!(rt.block_on(h).unwrap(), [TaskState::Running]);
    /// ```
    pub fn state(&self) -> TaskState {
        self.state
    }

    /// What a waiting task waits on, in the words of Go's dump: `chan
    /// receive`, `chan send`, `select (N cases)`, `sleep`, `timer`,
    /// `WaitGroup.wait`, `Context.done`, `lock (Mutex)` (or `RwLock`,
    /// `Semaphore`, `Cond`, `Barrier`, `OnceCell`), `join (task N)` (`join
    /// (task N of another runtime)`), `JoinSet.join_next (N tasks)`, `I/O`,
    /// or `other future` (a future
    /// gust cannot see into). `None` when not waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let (tx, rx) = gust_chan::chan::<()>(0);
    /// let h = rt.spawn(async move { rx.recv().await });
    /// // `None` until a worker has polled the task and it waits.
    /// let wait = loop {
    ///     if let Some(w) = rt.dump().tasks()[0].wait() {
    ///         break w.to_owned();
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!(wait, "chan receive");
    /// drop(tx);
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn wait(&self) -> Option<&str> {
        self.wait.as_deref()
    }

    /// For a channel wait: where the channel was made.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let line = line!() + 1;
    /// let (tx, rx) = gust_chan::chan::<()>(0);
    /// let h = rt.spawn(async move { rx.recv().await });
    /// let made_at = loop {
    ///     if let Some(at) = rt.dump().tasks()[0].chan_made_at() {
    ///         break at;
    ///     }
    ///     std::thread::yield_now();
    /// };
    /// assert_eq!((made_at.file(), made_at.line()), (file!(), line));
    /// drop(tx);
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn chan_made_at(&self) -> Option<&'static Location<'static>> {
        self.chan_made_at
    }

    /// How long the current wait has lasted (zero when not waiting;
    /// measured to a few milliseconds), on the runtime's clock: virtual
    /// time under `start_paused`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let started = Instant::now();
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let (tx, rx) = gust_chan::chan::<()>(0);
    /// let h = rt.spawn(async move { rx.recv().await });
    /// let waited = loop {
    ///     let dump = rt.dump();
    ///     let task = &dump.tasks()[0];
    ///     if task.wait().is_some() {
    ///         break task.waiting_for();
    ///     }
    ///     assert_eq!(task.waiting_for(), Duration::ZERO); // not waiting (yet)
    ///     std::thread::yield_now();
    /// };
    /// // Not longer than the runtime has lived (the clock counts whole ms).
    /// assert!(waited <= started.elapsed() + Duration::from_millis(1));
    /// drop(tx);
    /// rt.block_on(h).unwrap();
    /// ```
    pub fn waiting_for(&self) -> Duration {
        self.waiting_for
    }
}

impl fmt::Display for TaskInfo {
    /// Go's first line of a goroutine: `task 7 "fetcher" [chan receive,
    /// 2m3s]: spawned at src/main.rs:42:5`, and the channel's creation site
    /// on a second line for channel waits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, "task", "spawned at")
    }
}

impl TaskInfo {
    fn write(&self, f: &mut fmt::Formatter<'_>, what: &str, at: &str) -> fmt::Result {
        write!(f, "{what} {}", self.id)?;
        if let Some(name) = &self.name {
            write!(f, " {name:?}")?;
        }
        match (self.state, &self.wait) {
            (TaskState::Waiting, Some(wait)) => {
                write!(f, " [{wait}, {}]", go_duration(self.waiting_for))?
            }
            (TaskState::Running, _) => f.write_str(" [running]")?,
            _ => f.write_str(" [runnable]")?,
        }
        write!(f, ": {at} {}", self.spawned_at)?;
        if let Some(made) = self.chan_made_at {
            write!(f, "\n    chan made at {made}")?;
        }
        Ok(())
    }
}

/// Every live task of a runtime, and its `block_on` calls in progress: Go's
/// goroutine dump (`runtime.Stack` with all goroutines, or SIGQUIT).
///
/// `Display` prints one block per task, by id, then one per `block_on`
/// call (Go's goroutine blocks; a `block_on` is not a task, and is listed
/// after them):
///
/// ```text
/// task 2 "fetcher" [chan receive, 2m3s]: spawned at src/main.rs:42:5
///     chan made at src/main.rs:40:13
///
/// block_on 1 [join (task 2), 3s]: called at src/main.rs:9:5
/// ```
///
/// # Examples
///
/// ```
/// let dump = gust_executor::block_on(async {
///     let _h = gust_executor::spawn(std::future::pending::<()>());
///     gust_executor::runtime::dump()
/// });
/// assert!(dump.tasks().len() >= 1);
/// print!("{dump}");
/// ```
#[derive(Debug, Clone)]
pub struct Dump {
    tasks: Vec<TaskInfo>,
    block_ons: Vec<TaskInfo>,
}

impl Dump {
    /// The live spawned tasks, by id.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// let pending = rt.spawn(std::future::pending::<()>());
    /// rt.block_on(rt.spawn(async {})).unwrap();
    /// assert_eq!(rt.dump().tasks().len(), 1); // an ended task is not listed
    /// pending.abort();
    /// ```
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// The runtime's `block_on` calls in progress (not tasks: `num_tasks`
    /// does not count them), by id.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = gust_executor::runtime::Runtime::new().unwrap();
    /// assert!(rt.dump().block_ons().is_empty());
    /// let line = line!() + 1;
    /// let dump = rt.block_on(async { gust_executor::runtime::dump() });
    /// assert_eq!(dump.block_ons().len(), 1); // the call that took it
    /// assert_eq!(dump.block_ons()[0].spawned_at().line(), line);
    /// assert!(dump.tasks().is_empty());
    /// ```
    pub fn block_ons(&self) -> &[TaskInfo] {
        &self.block_ons
    }

    /// The dump of `shared`'s tasks and `block_on` calls.
    pub(crate) fn collect(shared: &Shared) -> Dump {
        // The runtime's clock, as its waits were stamped (`trace/mod.rs`).
        let now = shared.driver.timers.clock().stamp();
        let mut tasks = Vec::new();
        shared.registry.for_each_trace(|t| {
            if let Some(info) = task_info(t, now) {
                tasks.push(info);
            }
        });
        tasks.sort_by_key(|t| t.id);
        let mut block_ons: Vec<TaskInfo> = shared
            .block_ons
            .lock()
            .iter()
            .map(|(_, b)| block_on_info(b, now))
            .collect();
        block_ons.sort_by_key(|t| t.id);
        Dump { tasks, block_ons }
    }

    /// Whether some task or `block_on` runs or is runnable.
    pub(crate) fn any_runnable(&self) -> bool {
        self.all().any(|t| t.state != TaskState::Waiting)
    }

    /// Whether everything waits on what only another of them can end.
    pub(crate) fn all_durably_blocked(&self) -> bool {
        self.all().all(|t| t.durable)
    }

    fn all(&self) -> impl Iterator<Item = &TaskInfo> {
        self.block_ons.iter().chain(&self.tasks)
    }
}

fn task_info(t: &TaskTrace, now: u64) -> Option<TaskInfo> {
    // First: a foreign waker wakes before its count drops (gust-trace's
    // holders.rs, invariant #2), so a count read as zero here is followed by a state
    // that shows the wake-up.
    let foreign = gust_trace::foreign_holders(t.origin.foreign());
    let state = match t.state() {
        DONE => return None,
        RUNNING => TaskState::Running,
        RUNNABLE => TaskState::Runnable,
        _ => TaskState::Waiting,
    };
    Some(TaskInfo::new(
        t.origin.id(),
        t.origin.name().map(str::to_owned),
        t.origin.spawned_at(),
        state,
        t.wait.get(),
        t.waited(now),
        foreign,
    ))
}

fn block_on_info(b: &Unparker, now: u64) -> TaskInfo {
    // First, as in `task_info`.
    let foreign = gust_trace::foreign_holders(&b.foreign);
    let state = if b.is_runnable() {
        TaskState::Running
    } else {
        TaskState::Waiting
    };
    TaskInfo::new(
        b.id,
        None,
        b.called_at,
        state,
        b.wait.get(),
        b.waited(now),
        foreign,
    )
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.tasks {
            writeln!(f, "{t}\n")?;
        }
        for b in &self.block_ons {
            b.write(f, "block_on", "called at")?;
            f.write_str("\n\n")?;
        }
        Ok(())
    }
}
