//! A worker thread: its run loop, LIFO slot, search and park.
//!
//! See `scheduler/mod.rs` for the design and `idle.rs` for the park protocol.
//! Everything in [`Worker`] is touched only by its own thread: the run loop,
//! and the schedule function when a task running on this worker wakes or
//! spawns another (through the thread-local [`CURRENT`] pointer).

use super::Shared;
use super::queue::{self, Local};
use super::stand_in::StandIns;
use crate::registry::{Ends, Registry};
use crate::task::Runnable;
use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Every this many ticks a worker takes from the injection queue first, so
/// that tasks from outside are not starved by a busy local queue (Go: 61).
pub(crate) const GLOBAL_QUEUE_INTERVAL: u32 = 61;

/// At most this many tasks in a row from the LIFO slot; then the slot's task
/// goes to the back of the local queue.
pub(crate) const LIFO_STREAK_MAX: u32 = 16;

/// A task that has woken (or spawned) this many tasks in one poll is a
/// broadcaster: its further wakees all go to the back of the queue
/// (`schedule_local`), on a lone worker (`[0]`) and with several (`[1]`).
/// A hub broadcasting a line to 10 writers at 2 workers, with the slot for
/// every wakee (each pushing the previous one out and waking a thief): each
/// writer ran at once and wrote one line per `sendto`.
pub(crate) const BROADCASTER: [u32; 2] = [1, 2];

/// A busy worker takes I/O events only while fewer tasks than this are
/// queued ahead of them, in its local queue and its share of the injection
/// queue ([`Worker::io_turn`])...
const IO_BACKLOG: usize = 32;
/// How long a parking worker waits before it tries again for the OS
/// poller, while a poll that does not wait holds it (`Worker::park`).
const POLLER_RETRY: std::time::Duration = std::time::Duration::from_micros(50);
/// ...or once in this many ticks (a few hundred tasks) at least...
const IO_STARVE: u32 = 8 * GLOBAL_QUEUE_INTERVAL;
/// ...and at the first turn this long after the last (tasks that each run
/// long make few ticks; Go's sysmon polls the network after 10 ms). Not
/// shorter: at 1 ms the forced turns came every few hundred microseconds
/// on echo-500 and its p99 went back from 7.3-8.0 to 13.3-14.3 ms.
const IO_STARVE_TIME: std::time::Duration = std::time::Duration::from_millis(10);

/// A searching worker makes this many passes over the other queues before
/// it parks. A pass is a steal attempt on every other worker and the
/// injection queue, [`SPINS_PER_ROUND`] spin hints and a `yield_now` (about
/// a microsecond); the total stays around the cost of one futex wake
/// (~63 us here), which is what parking too early would cost the next
/// submitter, and yields the core to other threads meanwhile.
pub(crate) const SPIN_ROUNDS: u32 = 64;

/// A search also ends, and the worker parks, once it has lasted this long
/// (checked after each `yield_now`). On a quiet machine the
/// [`SPIN_ROUNDS`] passes take about 150-200 us and this does not cut them
/// short; on a machine with more runnable threads than cores, each
/// `yield_now` hands the core over for a whole time slice (milliseconds),
/// and 64 of them kept a worker out of its park for 100-200 ms: a virtual
/// clock, which jumps only once every worker has parked, took that long
/// to run an hour-long timeout (seen under a parallel test run).
const SEARCH_TIME: std::time::Duration = std::time::Duration::from_micros(250);

/// `spin_loop` hints between two search passes.
pub(crate) const SPINS_PER_ROUND: u32 = 64;

/// For this many search passes after its last steal from a short queue
/// (fewer than [`BACKLOG`] tasks), a thief takes only from a victim holding
/// at least [`BACKLOG`] queued tasks (8 passes are about 8 us of
/// searching). A short queue on a busy worker is most often the wakees of
/// its running task (the ones it pushed out of the LIFO slot by waking the
/// next), which that worker runs soon, on the cache that holds the channel
/// buffers they share with their waker; stolen a few at a time, each runs
/// beside its waker and both pay for those cache lines, and a producer
/// stolen the moment its consumer made room sends one value per wake
/// instead of a buffer's worth (Go's thieves leave a running P's `runnext`
/// alone for ~3 us, for the same reason).
///
/// The count is of search passes, and runs on across searches: work found
/// in the injection queue or the driver, or a steal from a backlog, does
/// not restart it; only a steal from a short queue does, unless the tasks
/// it took proved heavy ([`WORTH_STEALING`]). So a worker that
/// has searched that long since (one woken from its park, say) steals at
/// once, and a task queued behind one that never yields waits at most 8
/// passes of a searching worker per halving of its queue (each steal takes
/// half): 8 for a lone task, about 48 for the last of 63, still less than
/// the futex wake (~63 us) of a parked worker.
///
/// Measured at 2 workers, gust alone, interleaved processes (a test
/// program's select over k channels, each fed by its own task, 400k
/// messages): with 16 producers, 195k steals with no such rule, 90k
/// leaving only lone tasks alone (41-47 ms), 770 with this one (19-24 ms;
/// one worker takes 26); with 32 and 64 producers, 58-64 -> 22-33 and
/// 72-78 -> 34-46 ms. A backlog of 16 instead of 64: 20, 36-45 and 54-73
/// ms; no early steals at all: 20-25, 20-29 and 31-44 ms, but the prime
/// sieve row 531-684 ms against 423-595 and select over 4 26-36 against
/// 25-31.
pub(crate) const PATIENT_PASSES: u32 = 8;

/// The queue length from which a thief steals without waiting out
/// [`PATIENT_PASSES`]: a quarter of the ring, more than a running task
/// wakes in one go unless it is a broadcaster or a spawner.
pub(crate) const BACKLOG: u32 = queue::CAPACITY / 4;

/// Patience is for cheap wakees. When a steal made without patience (most
/// often from a short queue) kept the thief busy this long per task taken,
/// the tasks were worth taking at once, and the thief's next search skips
/// the [`PATIENT_PASSES`]. What is timed runs from the steal to the next
/// search: the stolen tasks' polls and what they woke here, but also
/// injection batches, driver turns and time the OS took the thread off
/// its core, so a busy machine can make cheap wakees look heavy (then the
/// thief is merely eager, as without the patience rule). A producer stolen from its consumer's queue sends
/// what fits in its channel and blocks (well under a microsecond); a chat
/// server's writer, woken by the hub that broadcasts a line to every
/// client, writes to its socket (several microseconds of syscall), and
/// leaving it behind the hub's long poll only made the replies later.
/// Measured at 2 workers (bench/net, chat servers, 3 interleaved reps of
/// 3 s): chat-10 p99 996-1,081 -> 277-772 us and 980-1,168 -> 767-853 us
/// in two runs, chat-50 4.5-5.1 -> 3.1 ms and 4.8-5.0 -> 4.4-4.8 ms,
/// throughput and the echo rows within noise; the run-time select over 16
/// (which the patience is for) 17.6 ms in 22 of 25 processes either way.
pub(crate) const WORTH_STEALING: Duration = Duration::from_micros(2);

thread_local! {
    /// The worker running on this thread, or null.
    static CURRENT: Cell<*const Worker> = const { Cell::new(ptr::null()) };
}

/// One worker's private state (all fields: its thread only).
pub(crate) struct Worker {
    shared: Arc<Shared>,
    index: usize,
    /// Owner side of this worker's queue.
    local: Local<Runnable>,
    /// Go's `runnext`.
    lifo: Cell<Option<Runnable>>,
    /// Tasks run from the LIFO slot in a row.
    lifo_streak: Cell<u32>,
    /// Tasks the running task has woken or spawned in this poll (through
    /// `schedule_local`'s slot path; saturating): past [`BROADCASTER`] of
    /// them, it is a broadcaster, and none of its wakees gets the slot.
    wakes: Cell<u32>,
    /// Whether `idle` counts this worker as searching.
    searching: Cell<bool>,
    /// Search passes made since this worker last stole from another
    /// worker's short queue (across searches: work found elsewhere in
    /// between does not reset it), or [`PATIENT_PASSES`] after a steal
    /// worth making ([`WORTH_STEALING`]); below [`PATIENT_PASSES`] it
    /// steals only from a victim holding at least [`BACKLOG`] tasks.
    passes_since_steal: Cell<u32>,
    /// When this worker last stole from a short queue, and how many tasks
    /// it took, until its next search weighs them ([`WORTH_STEALING`]).
    stole: Cell<Option<(Instant, u32)>>,
    /// Set while the running task finishes: its future returned `Ready`
    /// and `Runnable::run` has not returned yet (output stored, future
    /// dropped, `JoinHandle` awaiter woken). Tasks woken then go to the back
    /// of the local queue, not to the LIFO slot (see `schedule_local`).
    completing: Cell<bool>,
    /// When this worker last left its park (busy time, `metrics.rs`).
    busy_since: Cell<std::time::Instant>,
    /// Set while this worker delivers I/O events and fires timers: the
    /// tasks they wake go to the back of the local queue, in the order
    /// the events came, not through the LIFO slot (which would run the
    /// last of a batch of 500 ready connections first, and the first last).
    driving: Cell<bool>,
    /// Set when a task yielded (`yield_now`, or its I/O budget ran out:
    /// `coop.rs`): the next task is looked for after a turn of the OS
    /// poller (not the timers), so
    /// that the tasks its sockets' events wake queue up before it comes
    /// back.
    yielded: Cell<bool>,
    tick: Cell<u32>,
    /// The tick (and, when known, the time) of this worker's last busy
    /// turn of the OS poller (`io_turn`).
    last_io: Cell<(u32, std::time::Instant)>,
    /// xorshift state for picking steal victims.
    rng: Cell<u32>,
    /// Registry entries of tasks that ended here but were spawned on another
    /// worker, not yet handed to that worker (see `registry.rs`).
    ends: RefCell<Ends>,
}

/// If this thread is a worker of `shared`, schedules `runnable` on it and
/// returns `None`; otherwise hands `runnable` back.
#[inline]
pub(crate) fn try_schedule_local(
    shared: &Shared,
    runnable: Runnable,
    yielded: bool,
) -> Option<Runnable> {
    let worker = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    if worker.is_null() {
        return Some(runnable);
    }
    // SAFETY: `CURRENT` is non-null only while `Worker::run` executes on
    // this thread with `worker` borrowed on its stack (see `run_worker`).
    let worker = unsafe { &*worker };
    if !ptr::eq(&*worker.shared, shared) {
        return Some(runnable);
    }
    worker.schedule_local(runnable, yielded);
    None
}

/// Calls `f` with the runtime and index of the worker running on this
/// thread, or with `None` on any other thread.
pub(crate) fn with_current<R>(f: impl FnOnce(Option<(&Arc<Shared>, usize)>) -> R) -> R {
    let worker = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    if worker.is_null() {
        return f(None);
    }
    // SAFETY: as in `try_schedule_local`.
    let worker = unsafe { &*worker };
    f(Some((&worker.shared, worker.index)))
}

/// Called when the future of a task of `shared` is dropped: removes its
/// registry entry (`shard`, `key`) now, or defers the removal to the
/// shard's owner when this thread is another worker of `shared` (see
/// `registry.rs`).
#[inline]
pub(crate) fn entry_ended(shared: &Shared, shard: usize, key: u32) {
    let worker = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    // SAFETY: as in `try_schedule_local`.
    let worker = (!worker.is_null()).then(|| unsafe { &*worker });
    let registry = &shared.registry;
    match worker {
        Some(w) if ptr::eq(&*w.shared, shared) => {
            registry.count_end_on_worker(w.index);
            if shard == w.index || shard >= shared.num_workers() {
                registry.remove(shard, key);
            } else if Registry::defer(&mut w.ends.borrow_mut(), shard, key) {
                let parked = shared.idle.flag(shard).is_parked();
                registry.flush(&mut w.ends.borrow_mut(), shard, parked);
            }
        }
        _ => {
            registry.count_end_elsewhere();
            registry.remove(shard, key);
        }
    }
}

/// Called by a task's future when it returns `Ready` (or is aborted): on a
/// worker thread, marks the rest of this `Runnable::run` as the task's
/// completion (see `Worker::completing`).
pub(crate) fn task_completing() {
    let worker = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    if worker.is_null() {
        return;
    }
    // SAFETY: as in `try_schedule_local`.
    let worker = unsafe { &*worker };
    worker.completing.set(true);
}

/// Before a worker's thread blocks (in `block_on`): makes the task in its
/// LIFO slot stealable, asks for help, and leaves the thread until the
/// guard drops. Meanwhile the thread is no worker: what it spawns or wakes
/// goes to its runtime's injection queue, where the other workers find it
/// (on the blocked worker's own slot or queue, nobody would run it until
/// the `block_on` returned: a wait for it would never end), and a
/// `Runtime::block_on` of another runtime is that runtime's alone.
///
/// The thread is counted as a blocked runner (`stand_in.rs`) only by
/// [`Left::block`], before it parks: a `block_on` whose future is ready at
/// once starts no stand-in.
pub(crate) fn leave_for_blocking() -> Left {
    let worker = CURRENT.try_with(Cell::get).unwrap_or(ptr::null());
    if worker.is_null() {
        return Left {
            worker,
            runtime: None,
            blocked: Blocked::No,
        };
    }
    // SAFETY: as in `try_schedule_local`; and the worker outlives this
    // guard, which restores `CURRENT` on this thread's stack above it.
    let w = unsafe { &*worker };
    if let Some(task) = w.lifo.take() {
        w.push_back(task);
    }
    w.shared.notify_one();
    CURRENT.set(ptr::null());
    Left {
        worker,
        runtime: Some(w.shared.clone()),
        blocked: Blocked::No,
    }
}

/// `gust_trace::leave_worker`'s first step, for the `_blocking` waits of
/// the crates that do not depend on the executor (called before their
/// first park): [`leave_for_blocking`] and [`Left::block`], the worker's
/// runtime entered meanwhile (what the wait spawns goes there, as from
/// `block_on`); null if the thread is neither a worker nor a stand-in.
pub(crate) fn leave_hook() -> *mut () {
    let mut left = leave_for_blocking();
    left.block();
    if left.is_nothing() {
        return ptr::null_mut();
    }
    let enter = left.runtime().map(crate::runtime::enter);
    Box::into_raw(Box::new((enter, left))).cast()
}

/// `gust_trace::leave_worker`'s way back: the thread is the worker again.
pub(crate) fn back_hook(token: *mut ()) {
    // SAFETY: `token` came from `leave_hook` (non-null) and is given back
    // once, on the same thread (`LeftWorker` is neither `Send` nor `Clone`).
    // The tuple drops in order: the runtime left, then the worker back.
    drop(unsafe { Box::from_raw(token.cast::<(Option<crate::runtime::Enter>, Left)>()) });
}

/// The worker a blocking thread left ([`leave_for_blocking`]), back in
/// `CURRENT` on drop.
pub(crate) struct Left {
    worker: *const Worker,
    /// The runtime of the worker left.
    runtime: Option<Arc<Shared>>,
    /// Whether, and as what, this thread is counted as a blocked runner
    /// (`stand_in.rs`), until the drop.
    blocked: Blocked,
}

enum Blocked {
    No,
    /// As a runner of `Left::runtime`.
    Worker,
    /// Held for its drop, which counts the stand-in out.
    StandIn(#[allow(dead_code)] super::stand_in::StandInBlocked),
}

impl Left {
    /// The runtime of the worker the thread left, if it was one.
    pub(crate) fn runtime(&self) -> Option<Arc<Shared>> {
        self.runtime.clone()
    }

    /// The thread is about to park: counts it as a blocked runner of the
    /// worker's runtime, or of the runtime it stands in for (once, however
    /// often called), which starts a stand-in if it was the last runner
    /// free (`stand_in.rs`, rule #1).
    pub(crate) fn block(&mut self) {
        if !matches!(self.blocked, Blocked::No) {
            return;
        }
        if let Some(shared) = &self.runtime {
            StandIns::block(shared);
            self.blocked = Blocked::Worker;
        } else if let Some(stand_in) = super::stand_in::block_stand_in() {
            self.blocked = Blocked::StandIn(stand_in);
        }
    }

    /// The thread was no worker and is not counted: nothing to undo.
    fn is_nothing(&self) -> bool {
        self.worker.is_null() && matches!(self.blocked, Blocked::No)
    }
}

impl Drop for Left {
    fn drop(&mut self) {
        // Counted out first (a stand-in's guard drops with it).
        if let (Blocked::Worker, Some(shared)) = (
            std::mem::replace(&mut self.blocked, Blocked::No),
            &self.runtime,
        ) {
            shared.stand_ins.unblock();
        }
        if !self.worker.is_null() {
            let _ = CURRENT.try_with(|c| c.set(self.worker));
        }
    }
}

/// Body of worker thread `index`: runs until the runtime shuts down.
pub(crate) fn run_worker(shared: Arc<Shared>, index: usize, local: Local<Runnable>) {
    let _ = shared.threads[index].set(std::thread::current());
    let shared_workers = shared.num_workers();
    let worker = Worker {
        shared,
        index,
        local,
        lifo: Cell::new(None),
        lifo_streak: Cell::new(0),
        wakes: Cell::new(0),
        searching: Cell::new(false),
        passes_since_steal: Cell::new(0),
        stole: Cell::new(None),
        completing: Cell::new(false),
        driving: Cell::new(false),
        yielded: Cell::new(false),
        busy_since: Cell::new(std::time::Instant::now()),
        tick: Cell::new(0),
        last_io: Cell::new((0, std::time::Instant::now())),
        rng: Cell::new((index as u32).wrapping_mul(0x9E37_79B9) | 1),
        ends: RefCell::new(Ends::new(shared_workers)),
    };
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CURRENT.set(ptr::null());
        }
    }
    CURRENT.set(&worker);
    let reset = Reset;
    worker.run();
    // Shutdown: drop what is left here, with `CURRENT` still set, so that
    // tasks woken by those drops land in this worker's queues and are
    // dropped by this same loop.
    loop {
        if let Some(r) = worker.lifo.take() {
            drop(r);
        } else if let Some(r) = worker.local.pop() {
            drop(r);
        } else {
            break;
        }
    }
    // Hand the entries of tasks that ended here to their owners; the
    // shutdown's registry `close` (step 4) removes them.
    worker.flush_ends();
    drop(reset);
}

impl Worker {
    fn run(&self) {
        while !self.shared.is_shutdown() {
            match self.next_task().or_else(|| {
                // Out of local work: hand the entries of tasks that ended
                // here to their owners before looking elsewhere.
                self.flush_ends();
                self.search()
            }) {
                Some(task) => {
                    if self.searching.get() {
                        self.end_search();
                    }
                    self.run_task(task);
                }
                None => self.park(),
            }
        }
    }

    /// A searching worker found work (anywhere: a worker woken by a
    /// notification is counted as searching, and may find its task in its
    /// own queues first). Stops counting as a searcher; if it was the last
    /// one, wakes another so that the rest of the work it came from gets
    /// picked up.
    fn end_search(&self) {
        self.searching.set(false);
        if self.shared.idle.transition_from_searching() {
            self.shared.notify_one();
        }
    }

    /// A searching worker found work of its own in the OS poller (the
    /// tasks of its events, queued here): stops counting as a searcher and,
    /// if it was the last one, wakes another only when work is left for it
    /// (tokio's rule for I/O wake-ups, as in `wait_in_poller`). The last
    /// searcher's wake is for the rest of a burst; after one socket's event
    /// there is none, and the woken worker only searched in vain.
    fn end_search_for_io(&self) {
        self.searching.set(false);
        // Either a submitter saw no searcher and wakes a worker itself, or
        // its push is seen by the re-check (`idle.rs`).
        let last = self.shared.idle.transition_from_searching_to_own_work();
        self.after_own_io(last && self.shared.has_work());
    }

    /// After this worker took work of its own from the OS poller, not
    /// counted as a searcher: wakes another worker if `work_left`, else
    /// leaves the timers to the timer thread's watch, since nobody takes
    /// the poller after it for now (`Timers::watch_unattended`).
    fn after_own_io(&self, work_left: bool) {
        if work_left {
            self.shared.notify_one();
        } else {
            self.shared.driver.timers.watch_unattended();
        }
    }

    fn stats(&self) -> &crate::metrics::WorkerStats {
        &self.shared.stats.workers[self.index]
    }

    fn run_task(&self, task: Runnable) {
        self.stats().polled();
        self.wakes.set(0);
        // The task's future catches its own panics (`TaskFuture`); this only
        // guards against a panicking `Drop` of a future or output.
        let _ = catch_unwind(AssertUnwindSafe(|| crate::coop::budgeted(|| task.run())));
        self.completing.set(false);
    }

    /// Schedules a task spawned or woken by the task running on this worker.
    fn schedule_local(&self, runnable: Runnable, yielded: bool) {
        if yielded {
            self.yielded.set(true);
            // `yield_now`: to the back, behind everything else that is ready.
            // No wake: this worker comes back to it soon.
            // (Not after shutdown: its drain of the injection queue may
            // have passed, while the local queue is dropped when this
            // worker exits.)
            if self.shared.inject.is_empty() || self.shared.is_shutdown() {
                self.push_back(runnable);
            } else {
                // Behind the injection queue too (Go's `Gosched` puts the
                // goroutine on the global queue): what overflowed there
                // runs first. Otherwise a task that spawns a batch and
                // yields, round after round, would find its queue's older
                // half moved to the injection queue each time and come
                // back before it (one task of it per 61 ticks): 71% of the
                // 100k-timers row's tasks got their first poll only after
                // the spawner had spawned them all.
                self.shared.inject.push(runnable);
            }
            return;
        }
        if self.driving.get() {
            // Woken by the I/O driver or a timer (see `driving`).
            self.push_back(runnable);
            return;
        }
        if self.completing.get() {
            // Woken by a task that finishes (typically its `JoinHandle`'s
            // awaiter): to the back. A joiner usually joins many tasks; in
            // the LIFO slot it would run after every one of them, find the
            // next one unfinished, and wait again: a poll, a waker
            // registration and a wake per task, where at the back it finds
            // most of them done. The finishing task is gone, so there is no
            // cache to keep warm for the hand-off either.
            self.push_back(runnable);
            if self.shared.num_workers() > 1 {
                self.shared.notify_one();
            }
            return;
        }
        let alone = self.shared.num_workers() == 1;
        let wakes = self.wakes.get();
        self.wakes.set(wakes.saturating_add(1));
        if wakes >= BROADCASTER[usize::from(!alone)] {
            // A broadcaster (a hub waking every subscriber; on a lone
            // worker, also a filter waking its sender and its receiver):
            // none of its wakees goes first; all go to the back in wake
            // order, behind the tasks already ready, so each runs later
            // with more work queued. (With the slot, a chat hub's last
            // subscriber ran at once on every line, a write per line; the
            // prime sieve's values ran depth-first down the chain.) With
            // several workers a task that wakes two keeps the slot for the
            // second: it keeps one wakee here while the other is stolen.
            if let Some(first) = self.lifo.take() {
                self.push_back(first);
            }
            self.push_back(runnable);
            if !alone {
                self.shared.notify_one();
            }
            return;
        }
        // Go's `runnext`: the latest wakee runs next, on a warm cache.
        if let Some(prev) = self.lifo.replace(Some(runnable)) {
            self.push_back(prev);
            // `prev` is stealable now: get help if nobody is looking. (Alone,
            // there is nobody to ask, and this worker is awake.)
            if !alone {
                self.shared.notify_one();
            }
        }
    }

    fn push_back(&self, runnable: Runnable) {
        self.local
            .push_back(runnable, |batch| self.shared.inject.push_batch(batch));
    }

    /// Moves every buffered remote end to its shard's owner (see
    /// `registry.rs`).
    fn flush_ends(&self) {
        let idle = &self.shared.idle;
        self.shared
            .registry
            .flush_all(&mut self.ends.borrow_mut(), |i| idle.flag(i).is_parked());
    }

    fn next_task(&self) -> Option<Runnable> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if self.yielded.replace(false)
            && tick % GLOBAL_QUEUE_INTERVAL != 0
            && self.shared.driver.has_sources()
            && self.io_turn(tick, None)
            && self.driving(|| self.shared.driver.poll_io_now())
            && self.shared.num_workers() > 1
        {
            self.shared.notify_one();
        }
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            // Entries of this worker's tasks that ended elsewhere: freed
            // here, where they were allocated.
            self.shared.registry.drain(self.index);
            let now = self.read_clock();
            // I/O events and due timers, unless a parked worker waits in
            // the poller (`driver/mod.rs`): what they wake lands here.
            self.maintain(self.io_turn(tick, Some(now)));
            if let Some(r) = self.shared.inject.pop() {
                return Some(r);
            }
        }
        if let Some(r) = self.lifo.take() {
            let streak = self.lifo_streak.get();
            if streak < LIFO_STREAK_MAX {
                self.lifo_streak.set(streak + 1);
                return Some(r);
            }
            self.push_back(r);
        }
        self.lifo_streak.set(0);
        if let Some(r) = self.local.pop() {
            return Some(r);
        }
        self.pop_inject_batch()
    }

    /// Takes one task from the injection queue to run now, plus a fair share
    /// of the rest into the local queue.
    fn pop_inject_batch(&self) -> Option<Runnable> {
        let inject = &self.shared.inject;
        if inject.is_empty() {
            return None;
        }
        let share = (inject.len() / self.shared.num_workers()).min(queue::CAPACITY as usize / 2);
        // Straight into the local ring under the injection lock: no
        // intermediate vector, one `tail` store for the batch. `room` counts
        // a steal in progress, so the batch fits (it only grows meanwhile).
        let room = self.local.room() as usize;
        inject.pop_batch(share.min(room), |batch| self.local.extend(batch))
    }

    /// Looks for work in other workers' queues and the injection queue,
    /// spinning a little, counted as searching; `None` means: park.
    fn search(&self) -> Option<Runnable> {
        if let Some((at, n)) = self.stole.take() {
            // What the last steal from a short queue kept this worker busy
            // for, per task: long polls (I/O, real work) were worth taking
            // at once, so no patience before the next.
            if at.elapsed() >= WORTH_STEALING * n {
                self.passes_since_steal.set(PATIENT_PASSES);
            }
        }
        if !self.searching.get() {
            if !self.shared.idle.transition_to_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let give_up = Instant::now() + SEARCH_TIME;
        for _ in 0..SPIN_ROUNDS {
            let passes = self.passes_since_steal.get();
            self.passes_since_steal.set(passes.saturating_add(1));
            if let Some(task) = self.steal_once(passes < PATIENT_PASSES) {
                return Some(task);
            }
            if self.shared.is_shutdown() {
                return None;
            }
            // I/O and timers too (Go's spinning M polls the network): what
            // they wake lands in this worker's queues.
            if self.maintain(true)
                && let Some(task) = self.lifo.take().or_else(|| self.local.pop())
            {
                self.end_search_for_io();
                return Some(task);
            }
            for _ in 0..SPINS_PER_ROUND {
                std::hint::spin_loop();
            }
            std::thread::yield_now();
            if Instant::now() >= give_up {
                break;
            }
        }
        None
    }

    /// One steal pass: from a victim holding any task, or only a backlog
    /// when `patient` (see [`PATIENT_PASSES`]); else from the injection
    /// queue.
    fn steal_once(&self, patient: bool) -> Option<Runnable> {
        let min = if patient { BACKLOG } else { 1 };
        let n = self.shared.num_workers();
        let start = self.next_rand() as usize % n;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            if let Some(task) = self.shared.steal[victim].steal_into_min(&self.local, min) {
                if !patient {
                    // Perhaps from a short queue: patience again.
                    self.passes_since_steal.set(0);
                    let n = self.local.len() + 1;
                    self.stole.set(Some((Instant::now(), n)));
                }
                self.stats().stole();
                return Some(task);
            }
        }
        self.pop_inject_batch()
    }

    /// Runs `f` (a driver call) with the tasks it wakes queued in order.
    fn driving<R>(&self, f: impl FnOnce() -> R) -> R {
        self.driving.set(true);
        let r = f();
        self.driving.set(false);
        r
    }

    /// The driver's busy-worker turn (`Driver::maintain`); what it wakes
    /// is queued here, and, with other workers, one is told there is work.
    fn maintain(&self, io: bool) -> bool {
        let woke = self.driving(|| self.shared.driver.maintain(io));
        if woke && self.shared.num_workers() > 1 {
            self.shared.notify_one();
        }
        woke
    }

    /// Whether a busy worker takes the OS poller's ready events now: only
    /// when the tasks ahead of them are few (its local queue and its share
    /// of the injection queue; Go's scheduler polls the network when it
    /// finds nothing else to run), or when it has not for [`IO_STARVE`]
    /// ticks or [`IO_STARVE_TIME`] (by `now`, when the caller read the
    /// clock). So the backlog waits in the kernel's ready list, which is
    /// FIFO, and events are not taken faster than their tasks run. Taken
    /// at every turn, 500 busy connections on one worker overflowed the
    /// local queue, and the older half of it waited in the injection queue
    /// (one task per 61 ticks) while newer events went ahead: echo-500's
    /// p99 was 20-25 ms at a p50 of 1.7 ms; now 7.5-10 ms (bench/net).
    fn io_turn(&self, tick: u32, now: Option<std::time::Instant>) -> bool {
        let (last_tick, last_at) = self.last_io.get();
        let ahead = || {
            let share = self.shared.inject.len() / self.shared.num_workers();
            self.local.len() as usize + share
        };
        let due = tick.wrapping_sub(last_tick) >= IO_STARVE
            || now.is_some_and(|now| now.saturating_duration_since(last_at) >= IO_STARVE_TIME)
            || ahead() < IO_BACKLOG;
        if due {
            self.last_io.set((tick, now.unwrap_or(last_at)));
        }
        due
    }

    fn lifo_holds_task(&self) -> bool {
        let task = self.lifo.take();
        let some = task.is_some();
        self.lifo.set(task);
        some
    }

    fn next_rand(&self) -> u32 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng.set(x);
        x
    }

    /// Reads the real clock, and leaves the reading where this thread's
    /// later work looks first: the note that sleeps check their deadlines
    /// against (`time::clock::saw`) and the stamp dumps give waits
    /// (`trace::refresh_coarse_clock`).
    fn read_clock(&self) -> std::time::Instant {
        let now = std::time::Instant::now();
        crate::time::clock::saw(now);
        crate::trace::refresh_coarse_clock(self.shared.driver.timers.clock(), now);
        now
    }

    /// The parked worker's wait in the OS poller (`Driver`): I/O events
    /// and due timers wake their tasks from here, onto this worker's queues.
    /// Returns whether the worker is counted as searching: not when it
    /// woke for work of its own from the poller (tokio's rule: an I/O
    /// wake-up is no search, so the worker wakes nobody when it runs the
    /// task, unless the poller queued more than one); yes when a notifier
    /// woke it (invariant #3 of `idle.rs`).
    fn wait_in_poller(
        &self,
        mut poller: crate::driver::Poller<'_>,
        still_parked: impl Fn() -> bool + Copy,
    ) -> bool {
        let mut searching = true;
        let idle = &self.shared.idle;
        let shared = &self.shared;
        let runtime_idle = || shared.is_idle();
        let watch = || {
            if shared.is_idle() {
                crate::trace::deadlock::watch(shared)
            } else {
                None
            }
        };
        while self.driving(|| poller.wait(self.index, still_parked, runtime_idle, watch)) {
            if self.lifo_holds_task() || self.shared.has_work() {
                // Work came from the poller: leave the sleeper list (or find
                // a notifier already took us out). Counted as searching,
                // this worker would wake another when it ran the first
                // task, as the last searcher; on a ping-pong over one
                // socket at 2 workers that was a futex wake per request,
                // and the woken worker searched in vain for 250 us each
                // time, on a core the clients needed.
                let own = self.lifo_holds_task() || self.local.len() > 0;
                searching = idle.unpark_self(self.index, !own);
                if !searching {
                    // More than this worker runs at once: get help.
                    self.after_own_io(self.local.len() > 1 && self.shared.num_workers() > 1);
                }
                break;
            }
        }
        drop(poller);
        // Nobody may wait in the poller now: the I/O watch takes over (rule
        // #1 in driver/mod.rs), unless the runtime is shutting down.
        if !self.shared.is_shutdown() {
            self.shared.driver.watch_io();
        }
        searching
    }

    /// Parks until notified (sleeper side of the protocol in `idle.rs`).
    fn park(&self) {
        let stats = self.stats();
        stats.parked();
        stats.busy(self.busy_since.get().elapsed());
        struct Resume<'a>(&'a Worker);
        impl Drop for Resume<'_> {
            fn drop(&mut self) {
                self.0.busy_since.set(self.0.read_clock());
            }
        }
        let _resume = Resume(self);
        let idle = &self.shared.idle;
        self.shared.registry.drain(self.index);
        let searching = self.searching.replace(false);
        idle.transition_to_parked(self.index, searching);
        // Step 3: re-check every queue, after the SeqCst fence that ends
        // `transition_to_parked`.
        if self.shared.has_work() || self.shared.is_shutdown() {
            self.searching.set(idle.unpark_self(self.index, true));
            return;
        }
        let still_parked = || idle.flag(self.index).is_parked() && !self.shared.is_shutdown();
        let mut nudged = false;
        let mut searching = true;
        loop {
            if let Some(poller) = self.shared.driver.try_poller() {
                searching = self.wait_in_poller(poller, still_parked);
                break;
            }
            if !nudged {
                nudged = true;
                // Virtual time: the worker in the poller may now jump the
                // clock.
                self.shared.driver.nudge();
                // And it may find a deadlock.
                self.shared.nudge_deadlock_watch();
            }
            if !still_parked() {
                break;
            }
            if self.shared.driver.poller_waited_in() {
                // Another worker waits in the poller: it gets the events
                // and the timers; this one waits for a notification.
                std::thread::park();
            } else {
                // Held for a moment by a poll that does not wait (a busy
                // worker's turn, the timer thread's I/O watch, a
                // stand-in): were this worker to park for good, nobody
                // might be left to wait in the poller once it is let go
                // (found by a review: the I/O watch's poll against the
                // last worker parking). Take it when it is free.
                std::thread::park_timeout(POLLER_RETRY);
            }
            if !still_parked() {
                break; // notified: to work, without the poller
            }
        }
        // Invariant #3 of idle.rs: the notifier counted us as searching
        // (or the poller gave this worker work of its own).
        self.searching.set(searching);
    }
}
