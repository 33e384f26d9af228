//! gust-trace: what a waiting task waits on.
//!
//! Go's scheduler knows why every goroutine is parked (`waitReason`: "chan
//! receive", "select", "sleep", ...): the goroutine dump prints it, and the
//! deadlock detector uses it. gust's waits live in crates that do not depend
//! on the executor (the channels, WaitGroup, Context, sync work on any
//! executor), so the executor cannot see them directly. This crate is the
//! meeting point, and nothing more:
//!
//! - the executor gives each task a [`WaitSlot`] and, while it polls the
//!   task, makes that slot the thread's current one ([`enter`]);
//! - every gust wait, when its `poll` returns `Pending`, [`record`]s its
//!   [`Wait`] into the current slot: one thread-local read and one store,
//!   no allocation, no lock; outside a gust task (another executor, a plain
//!   thread) there is no current slot and the call does nothing;
//! - a poll that records nothing is waiting on some other future ("other
//!   future"), which gust cannot see into.
//!
//! # Composite waits
//!
//! The last record of a poll wins, except that a durable wait never
//! hides one that is not (see "Durable waits") recorded earlier in the
//! same poll: a foreign combinator (`futures::future::select`, `join!`)
//! that polls a socket and then a channel waits on both, and the socket's
//! readiness may wake the task. (Missed on the safe side: a foreign
//! combinator that returns in the poll that dropped such a part leaves its
//! record until the task's next poll.) A combinator that waits on several
//! things at once (`select!`, `Select`, `Context::run`) polls each part
//! under [`observe`], which hands back what the part recorded and leaves
//! the slot as it was, and then records one [`Wait`] for the whole, e.g.
//! [`Wait::Select`] with `durable` false when any case waits on a timer, on
//! I/O, or on a future gust cannot see into.
//!
//! # Durable waits
//!
//! A wait is *durable* when only another gust task (or a `block_on`) can end
//! it: a channel operation, a select of durable cases, `WaitGroup::wait`,
//! `Context::done`, a lock, a join of a task of the waiter's own runtime
//! (one of another runtime ends as that runtime goes on), a `JoinSet` of
//! such tasks only, and a sleep or timer due never (no timer is pending:
//! as a nil channel). Sleeps, timers
//! and I/O end by themselves; other futures may be woken by anything. The
//! deadlock detector reports only when every task and `block_on` of a
//! runtime waits durably.
//!
//! # Who holds the waker
//!
//! A wait reason says what a poll waited on, not who can end the wait: a
//! foreign combinator (`futures::future::select`, `join!`, `tokio::select!`)
//! may poll a gust channel receive and a future of another crate with the
//! same waker, and the slot then holds "chan receive" while a plain thread
//! could still wake the task through the other future. So an executor
//! polls with a waker of this crate's ([`Polled`]) whose clones are
//! counted unless a gust wait makes them for itself: a gust wait keeps the
//! task's real waker ([`own_waker`], [`real_waker`], [`will_wake`]), and
//! [`owning`] marks the polls of another crate's wait that gust builds on
//! (event-listener, async-lock), which clone inside. A task is durably
//! blocked only while no foreign clone is alive ([`foreign_holders`]). A
//! gust wait that forgot to mark its clone costs only a report (its task
//! reads as woken from outside while it waits there), never a false one.
//! The module `holders.rs` has the design.
//!
//! # Invariants
//!
//! 1. A slot is written only by the thread that polls its task (the
//!    current slot is per thread, set for the duration of one poll), and
//!    read by anyone (a dump): it is one atomic word, so a reader sees one
//!    whole wait.
//! 2. [`enter`] restores the previous current slot when its guard drops, so
//!    a `block_on` nested inside a task's poll records into its own slot
//!    and the task's is current again after.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

mod blocking;
mod holders;

pub use blocking::{LeftWorker, block_on_thread, leave_worker, set_leave_hooks};
pub use holders::{FOREIGN_SHIFT, Polled, foreign_holders, own_waker, real_waker, will_wake};

/// What a task or `block_on` waits on. `Display` gives the words of Go's
/// goroutine dump (`chan receive`, `select (3 cases)`, `sleep`, ...).
///
/// ```
/// use gust_trace::{Lock, Wait};
/// assert_eq!(Wait::Lock(Lock::Mutex).to_string(), "lock (Mutex)");
/// assert!(Wait::WaitGroup.is_durable());
/// assert!(!Wait::Sleep.is_durable());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// A channel receive; `made_at` is where the channel was made.
    ChanRecv {
        /// Where the channel was made.
        made_at: &'static Location<'static>,
    },
    /// A channel send; `made_at` is where the channel was made.
    ChanSend {
        /// Where the channel was made.
        made_at: &'static Location<'static>,
    },
    /// A `select!` or `Select` over `cases` enabled cases; `durable` if
    /// every case waits durably (see the crate docs).
    Select {
        /// Enabled cases.
        cases: u32,
        /// Every case waits durably.
        durable: bool,
    },
    /// `sleep`, `sleep_until`, `after`, a `timeout`'s deadline.
    Sleep,
    /// A sleep due never (`Duration::MAX`, or past the end of `Instant`):
    /// no timer is pending, and nothing but the end of the wait's future
    /// ends it, so it is durable (as a nil channel).
    SleepForever,
    /// A `Timer` or `Ticker`; `stopped` if no fire will come by itself
    /// (stopped, a timer whose value was received, or one due never): then
    /// only another task's `reset` can end the wait, which is durable (Go
    /// 1.23's `<-t.C` after `Stop`).
    Timer {
        /// No fire will come by itself.
        stopped: bool,
    },
    /// `WaitGroup::wait`.
    WaitGroup,
    /// `Context::done`; `deadline` if the context has a deadline (then it
    /// ends by itself: not durable).
    Context {
        /// A deadline on the context's chain.
        deadline: bool,
    },
    /// A lock of `gust::sync`.
    Lock(Lock),
    /// A `JoinHandle`: waits for the task with this id. A task of another
    /// runtime (`other_runtime`) ends without the waiter's runtime: not
    /// durable.
    Join {
        /// The id of the task joined (unique in its runtime).
        task: u64,
        /// The task runs on another runtime than the waiter.
        other_runtime: bool,
    },
    /// A `JoinSet`'s `join_next` over `tasks` unfinished members;
    /// `durable` if every one is a task of the waiter's runtime (not a
    /// `spawn_blocking` job, nor a task of another runtime).
    JoinSet {
        /// Tasks in the set (its `len`, saturating).
        tasks: u32,
        /// Every member is a task of the waiter's runtime.
        durable: bool,
    },
    /// A socket or other I/O source of the runtime's driver.
    Io,
}

/// Which lock a [`Wait::Lock`] waits on.
///
/// # Examples
///
/// ```
/// use gust_trace::{Lock, Wait};
/// let wait = Wait::Lock(Lock::Cond);
/// assert_eq!(wait.to_string(), "lock (Cond)");
/// assert!(wait.is_durable()); // only another task ends a lock wait
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lock {
    /// `Mutex::lock`.
    Mutex,
    /// `RwLock::read` or `RwLock::write`.
    RwLock,
    /// `Semaphore::acquire`.
    Semaphore,
    /// `Cond::wait`.
    Cond,
    /// `Barrier::wait`.
    Barrier,
    /// `OnceCell::get_or_init` while another caller initializes.
    OnceCell,
}

impl Lock {
    const ALL: [Lock; 6] = [
        Lock::Mutex,
        Lock::RwLock,
        Lock::Semaphore,
        Lock::Cond,
        Lock::Barrier,
        Lock::OnceCell,
    ];

    fn name(self) -> &'static str {
        match self {
            Lock::Mutex => "Mutex",
            Lock::RwLock => "RwLock",
            Lock::Semaphore => "Semaphore",
            Lock::Cond => "Cond",
            Lock::Barrier => "Barrier",
            Lock::OnceCell => "OnceCell",
        }
    }
}

impl Wait {
    /// Whether only another gust task can end this wait (crate docs).
    ///
    /// ```
    /// use gust_trace::Wait;
    /// assert!(Wait::Context { deadline: false }.is_durable());
    /// assert!(!Wait::Context { deadline: true }.is_durable());
    /// assert!(Wait::Timer { stopped: true }.is_durable()); // only a reset ends it
    /// assert!(!Wait::Timer { stopped: false }.is_durable());
    /// assert!(!Wait::Io.is_durable());
    /// assert!(Wait::SleepForever.is_durable()); // no timer is pending
    /// assert!(!Wait::Select { cases: 2, durable: false }.is_durable());
    /// ```
    pub fn is_durable(&self) -> bool {
        match self {
            Wait::ChanRecv { .. }
            | Wait::ChanSend { .. }
            | Wait::WaitGroup
            | Wait::Context { deadline: false }
            | Wait::Timer { stopped: true }
            | Wait::SleepForever
            | Wait::Lock(_)
            | Wait::Join {
                other_runtime: false,
                ..
            } => true,
            Wait::Select { durable, .. } | Wait::JoinSet { durable, .. } => *durable,
            Wait::Join {
                other_runtime: true,
                ..
            } => false,
            Wait::Sleep
            | Wait::Timer { stopped: false }
            | Wait::Io
            | Wait::Context { deadline: true } => false,
        }
    }

    /// Where the channel of a channel wait was made.
    ///
    /// ```
    /// use gust_trace::Wait;
    /// let here = std::panic::Location::caller();
    /// assert_eq!(Wait::ChanRecv { made_at: here }.chan_made_at(), Some(here));
    /// assert_eq!(Wait::Sleep.chan_made_at(), None);
    /// ```
    pub fn chan_made_at(&self) -> Option<&'static Location<'static>> {
        match self {
            Wait::ChanRecv { made_at } | Wait::ChanSend { made_at } => Some(made_at),
            _ => None,
        }
    }

    /// Packs into one word (see [`WaitSlot`]).
    fn pack(self) -> u64 {
        let other = |kind: u64, aux: u64| TAG_OTHER | kind << 2 | aux << 8;
        match self {
            Wait::ChanRecv { made_at } => location_bits(made_at) | TAG_RECV,
            Wait::ChanSend { made_at } => location_bits(made_at) | TAG_SEND,
            Wait::Select { cases, durable } => {
                other(K_SELECT, u64::from(cases) << 1 | u64::from(durable))
            }
            Wait::Sleep => other(K_SLEEP, 0),
            Wait::SleepForever => other(K_SLEEP, 1),
            Wait::Timer { stopped } => other(K_TIMER, u64::from(stopped)),
            Wait::WaitGroup => other(K_WAITGROUP, 0),
            Wait::Context { deadline } => other(K_CONTEXT, u64::from(deadline)),
            Wait::Lock(l) => other(K_LOCK, l as u64),
            Wait::Join {
                task,
                other_runtime,
            } => other(K_JOIN, task << 1 | u64::from(other_runtime)),
            Wait::JoinSet { tasks, durable } => {
                other(K_JOINSET, u64::from(tasks) << 1 | u64::from(durable))
            }
            Wait::Io => other(K_IO, 0),
        }
    }

    fn unpack(word: u64) -> Option<Wait> {
        let made_at = || {
            let addr = usize::try_from(word & !TAG_MASK).ok()?;
            // SAFETY: the address came from a `&'static Location` in `pack`
            // (`location_bits` exposed its provenance); only the tag bits,
            // which its alignment leaves zero, were added.
            unsafe { ptr::with_exposed_provenance::<Location<'static>>(addr).as_ref() }
        };
        let aux = word >> 8;
        Some(match word & TAG_MASK {
            TAG_RECV => Wait::ChanRecv {
                made_at: made_at()?,
            },
            TAG_SEND => Wait::ChanSend {
                made_at: made_at()?,
            },
            TAG_OTHER => match word >> 2 & 0x3f {
                K_SELECT => Wait::Select {
                    cases: (aux >> 1) as u32,
                    durable: aux & 1 != 0,
                },
                K_SLEEP if aux != 0 => Wait::SleepForever,
                K_SLEEP => Wait::Sleep,
                K_TIMER => Wait::Timer { stopped: aux != 0 },
                K_WAITGROUP => Wait::WaitGroup,
                K_CONTEXT => Wait::Context { deadline: aux != 0 },
                K_LOCK => Wait::Lock(*Lock::ALL.get(aux as usize)?),
                K_JOIN => Wait::Join {
                    task: aux >> 1,
                    other_runtime: aux & 1 != 0,
                },
                K_JOINSET => Wait::JoinSet {
                    tasks: (aux >> 1) as u32,
                    durable: aux & 1 != 0,
                },
                K_IO => Wait::Io,
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// A location's address as slot bits (its alignment leaves the tag bits
/// zero).
fn location_bits(at: &'static Location<'static>) -> u64 {
    let addr = (at as *const Location<'static>).expose_provenance() as u64;
    debug_assert_eq!(addr & TAG_MASK, 0);
    addr
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::ChanRecv { .. } => f.write_str("chan receive"),
            Wait::ChanSend { .. } => f.write_str("chan send"),
            Wait::Select { cases: 1, .. } => f.write_str("select (1 case)"),
            Wait::Select { cases, .. } => write!(f, "select ({cases} cases)"),
            Wait::Sleep => f.write_str("sleep"),
            Wait::SleepForever => f.write_str("sleep (forever)"),
            Wait::Timer { stopped: false } => f.write_str("timer"),
            Wait::Timer { stopped: true } => f.write_str("timer (stopped)"),
            Wait::WaitGroup => f.write_str("WaitGroup.wait"),
            Wait::Context { .. } => f.write_str("Context.done"),
            Wait::Lock(l) => write!(f, "lock ({})", l.name()),
            Wait::Join {
                task,
                other_runtime: false,
            } => write!(f, "join (task {task})"),
            Wait::Join {
                task,
                other_runtime: true,
            } => write!(f, "join (task {task} of another runtime)"),
            Wait::JoinSet { tasks: 1, .. } => f.write_str("JoinSet.join_next (1 task)"),
            Wait::JoinSet { tasks, .. } => write!(f, "JoinSet.join_next ({tasks} tasks)"),
            Wait::Io => f.write_str("I/O"),
        }
    }
}

// A slot's word: 0 is "nothing recorded"; else the low two bits are a tag:
// a channel receive or send (the rest: the address of the channel's
// creation site, whose alignment leaves these bits zero), or another wait
// (bits 2-7: its kind; bits 8-63: its data).
const K_NONE: u64 = 0;
const TAG_MASK: u64 = 0b11;
const TAG_RECV: u64 = 1;
const TAG_SEND: u64 = 2;
const TAG_OTHER: u64 = 3;
const K_SELECT: u64 = 1;
const K_SLEEP: u64 = 2;
const K_TIMER: u64 = 3;
const K_WAITGROUP: u64 = 4;
const K_CONTEXT: u64 = 5;
const K_LOCK: u64 = 6;
const K_JOIN: u64 = 7;
const K_IO: u64 = 8;
const K_JOINSET: u64 = 9;

/// Whether the wait packed in `word` (not 0) is not durable: `record`'s
/// check when a poll records a second wait (out of line: the common first
/// record only compares the word with 0).
#[inline(never)]
fn word_is_not_durable(word: u64) -> bool {
    Wait::unpack(word).is_some_and(|w| !w.is_durable())
}

// The tags need two zero bits at the bottom of every location's address.
const _: () = assert!(std::mem::align_of::<Location<'static>>() >= 4);

/// Where one task (or `block_on`) keeps its [`Wait`]: written by the thread
/// polling it, read by anyone (invariant #1).
///
/// ```
/// use gust_trace::{Wait, WaitSlot};
/// let slot = WaitSlot::new();
/// {
///     // SAFETY: the guard drops in this scope, before the slot, in order.
///     let _current = unsafe { gust_trace::enter(&slot) };
///     gust_trace::record(Wait::Sleep);
/// }
/// assert_eq!(slot.get(), Some(Wait::Sleep));
/// slot.clear();
/// assert_eq!(slot.get(), None);
/// ```
#[derive(Debug, Default)]
pub struct WaitSlot {
    /// The packed [`Wait`] (see the constants above), or 0.
    word: AtomicU64,
}

impl WaitSlot {
    /// An empty slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_trace::WaitSlot;
    /// static SLOT: WaitSlot = WaitSlot::new(); // const: fit for a static
    /// assert_eq!(SLOT.get(), None);
    /// ```
    pub const fn new() -> Self {
        Self {
            word: AtomicU64::new(K_NONE),
        }
    }

    /// What was recorded last, or `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_trace::{Wait, WaitSlot};
    /// let slot = WaitSlot::new();
    /// assert_eq!(slot.get(), None);
    /// let join = Wait::Join { task: 7, other_runtime: false };
    /// slot.set(join);
    /// assert_eq!(slot.get(), Some(join));
    /// ```
    pub fn get(&self) -> Option<Wait> {
        // Relaxed: a dump's snapshot; no other memory depends on it.
        match self.word.load(Ordering::Relaxed) {
            K_NONE => None,
            word => Wait::unpack(word),
        }
    }

    /// Forgets what was recorded (the executor, before each poll).
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_trace::{Wait, WaitSlot};
    /// let slot = WaitSlot::new();
    /// slot.set(Wait::Io);
    /// slot.clear();
    /// assert_eq!(slot.get(), None);
    /// ```
    #[inline]
    pub fn clear(&self) {
        self.word.store(K_NONE, Ordering::Relaxed);
    }

    /// Records `wait` here: one store.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_trace::{Lock, Wait, WaitSlot};
    /// let slot = WaitSlot::new();
    /// slot.set(Wait::Sleep);
    /// slot.set(Wait::Lock(Lock::Mutex)); // the last record wins
    /// assert_eq!(slot.get(), Some(Wait::Lock(Lock::Mutex)));
    /// ```
    #[inline]
    pub fn set(&self, wait: Wait) {
        self.word.store(wait.pack(), Ordering::Relaxed);
    }

    #[inline]
    fn raw(&self) -> u64 {
        self.word.load(Ordering::Relaxed)
    }

    fn set_raw(&self, word: u64) {
        self.word.store(word, Ordering::Relaxed);
    }
}

thread_local! {
    /// The slot of what this thread polls now, or null.
    static CURRENT: Cell<*const WaitSlot> = const { Cell::new(ptr::null()) };
    /// Whether a waker cloned now is a gust wait's own (crate docs).
    static OWNING: Cell<bool> = const { Cell::new(false) };
    /// One more than what is left of the current poll's [`READY_BUDGET`];
    /// 0 outside a poll that [`enter`] began (no budget).
    static READY_LEFT: Cell<u32> = const { Cell::new(0) };
    /// How many budget yields this thread has made ([`budget_yields`]).
    static BUDGET_YIELDS: Cell<u32> = const { Cell::new(0) };
}

/// How many waits that were ready at once one poll of a gust task may
/// complete ([`take_ready`]) before such a wait yields instead.
///
/// A lock that is free is taken without waiting, and a channel fed from
/// outside the task's worker (a plain thread, another runtime, the task
/// itself) has a value or room at once (so do a sleep already due, a
/// `WaitGroup` at zero, an ended `Context`), so a task that loops on one
/// never returns `Pending`, and on a runtime of one worker every other task
/// of it waits forever (Go preempts such a goroutine after 10 ms; tokio's
/// locks, channels and timers take from its cooperative budget, 128 per
/// poll). 1,024 ready waits are a few microseconds.
///
/// ```
/// let slot = gust_trace::WaitSlot::new();
/// // SAFETY: the guard drops in this scope, before the slot.
/// let _in_poll = unsafe { gust_trace::enter(&slot) };
/// let ready = (0..).take_while(|_| gust_trace::take_ready()).count();
/// assert_eq!(ready, gust_trace::READY_BUDGET as usize);
/// ```
pub const READY_BUDGET: u32 = 1024;

/// Takes one from the current poll's budget of ready waits
/// ([`READY_BUDGET`]): `false` once it is spent, and then the wait should
/// wake its task and return `Pending` (a yield: it is polled again after
/// the tasks already queued). Outside a poll that [`enter`] began (another
/// executor's, a plain thread's) there is no budget: always `true`.
///
/// A `false` starts the budget over. The poll normally ends there, but a
/// wait may be polled by a loop nested in the task's poll (a `_blocking`
/// method, `futures::executor::block_on`), which polls it again at once:
/// it then goes on, one yield later, instead of yielding forever.
///
/// ```
/// // Outside a gust task: no budget.
/// assert!((0..10_000).all(|_| gust_trace::take_ready()));
/// let slot = gust_trace::WaitSlot::new();
/// // SAFETY: the guard drops in this scope, before the slot.
/// let _in_poll = unsafe { gust_trace::enter(&slot) };
/// let n = gust_trace::READY_BUDGET as usize;
/// let taken: Vec<bool> = (0..2 * n + 2).map(|_| gust_trace::take_ready()).collect();
/// // The budget's worth, a `false`, then a fresh budget.
/// assert!(taken[..n].iter().all(|&t| t) && !taken[n]);
/// assert!(taken[n + 1..2 * n + 1].iter().all(|&t| t) && !taken[2 * n + 1]);
/// ```
#[inline]
pub fn take_ready() -> bool {
    READY_LEFT
        .try_with(|left| {
            let n = left.get();
            if n > 1 {
                left.set(n - 1);
                return true;
            }
            if n == 0 {
                return true; // no budget
            }
            left.set(READY_BUDGET + 1);
            false
        })
        .unwrap_or(true)
}

/// For a wait about to complete without waiting: takes one from the poll's
/// budget ([`take_ready`]) and answers `false`; once the budget is spent,
/// wakes the task and answers `true`, and the wait returns `Pending`
/// having done nothing (so it stays cancel-safe): a yield, polled again
/// after the tasks already queued.
///
/// ```
/// use std::task::{Context, Waker};
/// let cx = Context::from_waker(Waker::noop());
/// assert!(!gust_trace::yield_for_budget(&cx)); // outside a gust task: never
/// ```
#[inline]
pub fn yield_for_budget(cx: &std::task::Context<'_>) -> bool {
    if take_ready() {
        return false;
    }
    budget_yield(cx);
    true
}

/// The budget's yield, out of the way of the ready paths it guards (which
/// are inlined into every send and receive loop).
#[cold]
#[inline(never)]
fn budget_yield(cx: &std::task::Context<'_>) {
    let _ = BUDGET_YIELDS.try_with(|n| n.set(n.get().wrapping_add(1)));
    cx.waker().wake_by_ref();
}

/// How many times a wait on this thread has yielded for the budget
/// ([`yield_for_budget`]), wrapping: a future made of parts compares it
/// before and after polling one, to tell a part that yielded (and will be
/// polled again at once) from one that waits. A `timeout` whose future
/// yielded does not then report its deadline as passed.
///
/// ```
/// use std::task::{Context, Waker};
/// let slot = gust_trace::WaitSlot::new();
/// // SAFETY: the guard drops in this scope, before the slot.
/// let _in_poll = unsafe { gust_trace::enter(&slot) };
/// let cx = Context::from_waker(Waker::noop());
/// let before = gust_trace::budget_yields();
/// while !gust_trace::yield_for_budget(&cx) {}
/// assert_eq!(gust_trace::budget_yields(), before.wrapping_add(1));
/// ```
#[inline]
pub fn budget_yields() -> u32 {
    BUDGET_YIELDS.try_with(Cell::get).unwrap_or(0)
}

/// Runs `f` with no budget of ready waits: for the parts of a wait that
/// has taken its one unit for the whole (a `select!` polling its future
/// cases: a case that yielded would make a `default` or a lower case win
/// although it was ready), and for a poll that nothing else waits behind
/// (a `block_on`'s). The enclosing budget is back when `f` returns.
///
/// ```
/// let slot = gust_trace::WaitSlot::new();
/// // SAFETY: the guard drops in this scope, before the slot.
/// let _in_poll = unsafe { gust_trace::enter(&slot) };
/// assert!(gust_trace::unbudgeted(|| (0..5_000).all(|_| gust_trace::take_ready())));
/// assert!(!(0..5_000).all(|_| gust_trace::take_ready())); // the budget is back
/// ```
#[inline]
pub fn unbudgeted<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = READY_LEFT.try_with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(READY_LEFT.try_with(|c| c.replace(0)).unwrap_or(0));
    f()
}

/// Makes `slot` this thread's current slot until the guard drops (then the
/// previous one is current again, invariant #2), and gives the poll a fresh
/// [`READY_BUDGET`]. For executors.
///
/// # Safety
///
/// The guard is dropped (not forgotten), and guards of one thread are
/// dropped in the reverse order of their `enter`: else the thread's
/// current slot may be left pointing to a slot that is gone, which the
/// next [`record`] writes to.
///
/// # Examples
///
/// ```
/// use gust_trace::{Wait, WaitSlot};
/// let slot = WaitSlot::new();
/// gust_trace::record(Wait::Io); // no slot is current: nothing recorded
/// {
///     // SAFETY: the guard drops at the end of this block, before `slot`.
///     let _entered = unsafe { gust_trace::enter(&slot) };
///     gust_trace::record(Wait::Io);
/// }
/// assert_eq!(slot.get(), Some(Wait::Io));
/// ```
#[inline]
pub unsafe fn enter(slot: &WaitSlot) -> Entered<'_> {
    let prev = CURRENT.with(|c| c.replace(slot));
    let prev_ready = READY_LEFT.with(|c| c.replace(READY_BUDGET + 1));
    Entered {
        prev,
        prev_ready,
        _slot: std::marker::PhantomData,
    }
}

/// The guard of [`enter`].
///
/// # Examples
///
/// ```
/// use gust_trace::{Wait, WaitSlot};
/// let (outer, inner) = (WaitSlot::new(), WaitSlot::new());
/// // SAFETY: both guards drop in this scope, before the slots, inner first.
/// let _outer = unsafe { gust_trace::enter(&outer) };
/// {
///     // SAFETY: as above.
///     let _inner = unsafe { gust_trace::enter(&inner) };
///     gust_trace::record(Wait::Io);
/// } // `_inner` dropped: `outer` is current again
/// gust_trace::record(Wait::Timer { stopped: false });
/// assert_eq!(inner.get(), Some(Wait::Io));
/// assert_eq!(outer.get(), Some(Wait::Timer { stopped: false }));
/// ```
#[derive(Debug)]
#[must_use = "the slot is current only while the guard lives"]
pub struct Entered<'a> {
    prev: *const WaitSlot,
    /// The enclosing poll's [`READY_BUDGET`] left, back on drop.
    prev_ready: u32,
    _slot: std::marker::PhantomData<&'a WaitSlot>,
}

impl Drop for Entered<'_> {
    #[inline]
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
        READY_LEFT.with(|c| c.set(self.prev_ready));
    }
}

/// Runs `f`, the poll of a wait of another crate that a gust wait is made
/// of (an event-listener, an async-lock future, an async-task handle), with
/// every waker clone made in it counted as the gust wait's own.
///
/// ```
/// assert!(!gust_trace::cloning_own());
/// assert!(gust_trace::owning(gust_trace::cloning_own));
/// assert!(!gust_trace::cloning_own());
/// ```
#[inline]
pub fn owning<R>(f: impl FnOnce() -> R) -> R {
    with_owning(true, f)
}

/// Runs `f`, the poll of a user's future inside a gust wait's [`owning`]
/// part (an initializer that `OnceCell` runs), with its waker clones
/// counted as foreign again.
///
/// ```
/// assert!(!gust_trace::owning(|| gust_trace::not_owning(gust_trace::cloning_own)));
/// ```
#[inline]
pub fn not_owning<R>(f: impl FnOnce() -> R) -> R {
    with_owning(false, f)
}

/// Runs `f` with [`cloning_own`] answering `own`, then restores it (also
/// when `f` panics).
#[inline]
fn with_owning<R>(own: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        #[inline]
        fn drop(&mut self) {
            let _ = OWNING.try_with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OWNING.try_with(|o| o.replace(own)).unwrap_or(false));
    f()
}

/// Whether a waker clone made now is a gust wait's own ([`owning`]): the
/// polled waker's `clone` asks it ([`Polled`]), and so may an executor
/// with wakers of its own.
///
/// ```
/// assert!(!gust_trace::cloning_own());
/// gust_trace::owning(|| assert!(gust_trace::cloning_own()));
/// ```
#[inline]
pub fn cloning_own() -> bool {
    OWNING.try_with(Cell::get).unwrap_or(false)
}

/// Calls `f` with the current slot, if there is one.
#[inline(always)]
fn with_current<R>(f: impl FnOnce(&WaitSlot) -> R) -> Option<R> {
    let slot = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: a non-null current slot is borrowed by a live `Entered` guard
    // on this thread's stack (`enter`), which resets it before the borrow
    // ends.
    unsafe { slot.as_ref() }.map(f)
}

/// Records that what is being polled now waits on `wait` (call it when
/// returning `Pending`). Does nothing outside a gust task or `block_on`.
///
/// ```
/// // Outside any gust task: nothing to record into, nothing happens.
/// gust_trace::record(gust_trace::Wait::WaitGroup);
/// ```
#[inline]
pub fn record(wait: Wait) {
    with_current(|slot| {
        // A durable wait never hides one that is not, recorded earlier in
        // the same poll (crate docs, "Composite waits").
        if wait.is_durable() {
            let cur = slot.raw();
            if cur != K_NONE && word_is_not_durable(cur) {
                return;
            }
        }
        slot.set(wait);
    });
}

/// Polls `fut` to its end, recording `wait` each time it returns `Pending`:
/// the wait reason of a future that records none of its own (one from
/// another crate, as the async-lock and event-listener waits under
/// gust-sync). A wait that completes in its first poll records nothing.
/// `fut`'s waker clones are the wait's own ([`owning`]): only for futures
/// that a gust wait is made of, never a user's.
///
/// ```
/// use gust_trace::{Lock, Wait, WaitSlot};
/// use std::future::Future;
/// let slot = WaitSlot::new();
/// // SAFETY: the guard drops in this scope, before the slot, in order.
/// let _current = unsafe { gust_trace::enter(&slot) };
/// let wait = Wait::Lock(Lock::Mutex);
/// let mut fut = std::pin::pin!(gust_trace::traced(std::future::pending::<()>(), wait));
/// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// assert!(fut.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(slot.get(), Some(wait));
/// ```
pub async fn traced<F: Future>(fut: F, wait: Wait) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        let poll = owning(|| fut.as_mut().poll(cx));
        if poll.is_pending() {
            record(wait);
        }
        poll
    })
    .await
}

/// Runs `f` (the poll of one part of a composite wait) and returns what it
/// recorded, leaving the current slot as it was before (crate docs). With
/// no current slot, `f` runs and the answer is `None`.
///
/// ```
/// use gust_trace::{Wait, WaitSlot};
/// let slot = WaitSlot::new();
/// // SAFETY: the guard drops in this scope, before the slot, in order.
/// let _current = unsafe { gust_trace::enter(&slot) };
/// gust_trace::record(Wait::WaitGroup);
/// let ((), inner) = gust_trace::observe(|| gust_trace::record(Wait::Io));
/// assert_eq!(inner, Some(Wait::Io));
/// assert_eq!(slot.get(), Some(Wait::WaitGroup));
/// ```
#[inline]
pub fn observe<R>(f: impl FnOnce() -> R) -> (R, Option<Wait>) {
    let saved = with_current(|slot| {
        let saved = slot.raw();
        slot.clear();
        saved
    });
    let r = f();
    let seen = saved.and_then(|saved| {
        with_current(|slot| {
            let seen = slot.get();
            slot.set_raw(saved);
            seen
        })
        .flatten()
    });
    (r, seen)
}

/// Whether a wait is going on in a gust task or `block_on` (so recording is
/// worth its cost, e.g. building a location).
///
/// ```
/// assert!(!gust_trace::is_traced());
/// ```
#[inline]
pub fn is_traced() -> bool {
    with_current(|_| ()).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wait_round_trips() {
        let here = Location::caller();
        let waits = [
            Wait::ChanRecv { made_at: here },
            Wait::ChanSend { made_at: here },
            Wait::Select {
                cases: 7,
                durable: true,
            },
            Wait::Select {
                cases: u32::MAX,
                durable: false,
            },
            Wait::Sleep,
            Wait::Timer { stopped: false },
            Wait::Timer { stopped: true },
            Wait::WaitGroup,
            Wait::Context { deadline: false },
            Wait::Context { deadline: true },
            Wait::Join {
                task: 1 << 40,
                other_runtime: false,
            },
            Wait::Join {
                task: (1 << 44) - 1,
                other_runtime: true,
            },
            Wait::JoinSet {
                tasks: u32::MAX,
                durable: true,
            },
            Wait::JoinSet {
                tasks: 3,
                durable: false,
            },
            Wait::Io,
        ]
        .into_iter()
        .chain(Lock::ALL.map(Wait::Lock));
        let slot = WaitSlot::new();
        for w in waits {
            slot.set(w);
            assert_eq!(slot.get(), Some(w));
            assert_eq!(word_is_not_durable(slot.raw()), !w.is_durable(), "{w:?}");
        }
    }

    #[test]
    fn a_durable_record_does_not_hide_one_that_is_not() {
        let here = Location::caller();
        let slot = WaitSlot::new();
        // SAFETY: the guard drops in this scope, before the slot.
        let _current = unsafe { enter(&slot) };
        // A socket, then a channel, in one poll: the socket stays.
        record(Wait::Io);
        record(Wait::ChanRecv { made_at: here });
        assert_eq!(slot.get(), Some(Wait::Io));
        // The other way round, the socket replaces the channel.
        slot.clear();
        record(Wait::ChanRecv { made_at: here });
        record(Wait::Io);
        assert_eq!(slot.get(), Some(Wait::Io));
        // Durable after durable, and not after not: the last wins.
        slot.clear();
        record(Wait::WaitGroup);
        record(Wait::ChanSend { made_at: here });
        assert_eq!(slot.get(), Some(Wait::ChanSend { made_at: here }));
        record(Wait::Sleep);
        record(Wait::Timer { stopped: false });
        assert_eq!(slot.get(), Some(Wait::Timer { stopped: false }));
    }

    #[test]
    fn nested_enter_restores_the_outer_slot() {
        let outer = WaitSlot::new();
        let inner = WaitSlot::new();
        // SAFETY: both guards drop in this scope, inner first.
        let _o = unsafe { enter(&outer) };
        {
            // SAFETY: as above.
            let _i = unsafe { enter(&inner) };
            record(Wait::Io);
        }
        record(Wait::Timer { stopped: false });
        assert_eq!(inner.get(), Some(Wait::Io));
        assert_eq!(outer.get(), Some(Wait::Timer { stopped: false }));
    }

    #[test]
    fn observe_without_a_slot_sees_nothing() {
        let ((), seen) = observe(|| record(Wait::Io));
        assert_eq!(seen, None);
    }

    #[test]
    fn display_uses_go_words() {
        let here = Location::caller();
        assert_eq!(Wait::ChanRecv { made_at: here }.to_string(), "chan receive");
        assert_eq!(Wait::ChanSend { made_at: here }.to_string(), "chan send");
        let sel = Wait::Select {
            cases: 3,
            durable: true,
        };
        assert_eq!(sel.to_string(), "select (3 cases)");
        let join = |other_runtime| Wait::Join {
            task: 9,
            other_runtime,
        };
        assert_eq!(join(false).to_string(), "join (task 9)");
        assert_eq!(join(true).to_string(), "join (task 9 of another runtime)");
        assert!(join(false).is_durable() && !join(true).is_durable());
        assert_eq!(Wait::Context { deadline: true }.to_string(), "Context.done");
        assert_eq!(Wait::WaitGroup.to_string(), "WaitGroup.wait");
        let set = |tasks, durable| Wait::JoinSet { tasks, durable };
        assert_eq!(set(1, true).to_string(), "JoinSet.join_next (1 task)");
        assert_eq!(set(4, false).to_string(), "JoinSet.join_next (4 tasks)");
        assert!(set(4, true).is_durable() && !set(4, false).is_durable());
    }
}
