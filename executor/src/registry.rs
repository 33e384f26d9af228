//! The live-task registry: a waker of every task whose future is alive, so
//! that a runtime's shutdown can drop futures parked on some waker and in no
//! queue; and the live-task count behind `num_tasks`.
//!
//! # The problem
//!
//! Each spawn inserts an entry and each end of a future removes it. With one
//! lock per shard, two workers split a fan-in (one spawns, the other runs
//! what it steals) and take the spawner's shard lock in turn once per task;
//! and the task's memory, allocated by the spawner, is freed by the other
//! worker, which takes the allocator's lock of the spawner's arena in turn
//! with the spawner's next allocation (glibc frees a chunk into the arena it
//! came from). On the fan-in benchmark at 2 workers (perf, cpu-clock) the
//! shard lock's contended path was 14% of the samples and glibc's arena lock
//! (futex wait/wake) another 25%.
//!
//! # Design: each shard has one owner, and ends from elsewhere are deferred
//!
//! Shard `i < n` belongs to worker `i`: only tasks spawned on that worker
//! insert there. When a task ends
//! - on its shard's owner, or anywhere off the runtime's workers, its entry
//!   is removed at once (the owner's lock is uncontended; off-worker ends are
//!   rare: shutdown, foreign threads);
//! - on another worker, the key goes to that worker's private buffer for the
//!   shard ([`Ends`]); a full buffer, or all of them when the worker runs out
//!   of work, is appended to the shard's `remote` list, one lock per
//!   [`END_BATCH`] tasks. The owner removes those entries ([`Registry::drain`])
//!   when it spawns, every few scheduler ticks, and before it parks.
//!
//! Removing an entry drops its waker, usually the task's last reference: the
//! task's memory is then freed by the thread that allocated it, and the
//! decrement of the runtime's `Arc` that its metadata holds stays on that
//! worker too.
//!
//! A finished task's memory may thus outlive its future for a while. That is
//! bounded: a flush that finds the list at [`REMOTE_MAX`] keys, or the owner
//! parked, drains the shard itself; and after the registry is closed every
//! flush drains at once (invariant #4).
//!
//! # Keys are reused lowest first
//!
//! A shard's entries live in a [`Slots`] (`slots.rs`), not a `slab::Slab`:
//! a slab hands freed keys out last-freed-first, so each batch of spawns
//! inherited the order in which the scheduler had ended the previous batch,
//! and over rounds the removals scattered over the array (a cache miss
//! each). The lowest free key first keeps a batch's keys in spawn order and
//! a stream's keys low and warm. Measured, interleaved, gust alone (medians
//! of 4-6): cancel waiters at 1 worker 24.6 -> 23.6 ms, at 2 workers 21.4 ->
//! 18.4 ms, fan-out at 1 worker 30.4 -> 28.7 ms; spawn + join at 2 workers
//! 175 -> 189 ms (its profile gains glibc's `malloc_consolidate`, +3% of the
//! samples, unexplained), other rows within noise.
//!
//! # An entry is one waker, and the trace is found through it
//!
//! A million live tasks keep a million entries, and each word of an entry
//! costs the spawn-and-join row measurable time. So an entry holds only the
//! task's waker, and dumps find the task's [`TaskTrace`] from it: every
//! waker's data pointer is its task's header (async-task's layout), and the
//! trace sits at the same offset from it in every task of a runtime
//! (`TaskMeta` is the one metadata type). The first insert records that
//! offset; every insert checks its own against it (invariant #5), so a
//! change in async-task's layout fails loudly at the first spawn instead of
//! making dumps read the wrong memory.
//!
//! # Rejected alternatives
//!
//! - Registering a task only when it first returns `Pending` (a task that
//!   ends in its first poll is always in some queue, which shutdown drains):
//!   saves the insert, but the task's memory is still freed by the worker
//!   that ran it, and `abort` has to race with the registration.
//! - A lock-free list of ended keys per shard, pushed once per end: one
//!   shared cache-line write per task again. Batched in the worker first,
//!   the list is written once per [`END_BATCH`] tasks, and a plain lock is
//!   then as cheap and needs no new lock-free protocol.
//!
//! # Invariants
//!
//! 1. Shard `i < n` is inserted into only by worker `i` (spawns on it); shard
//!    `n` by any other thread.
//! 2. A key in a shard's `remote` list, or in some worker's [`Ends`] buffer,
//!    names an entry of that shard whose task's future has been dropped; it is
//!    removed from the slab exactly once, by whoever takes it from `remote`.
//! 3. `spawned[s]` counts the inserts into shard `s`; `ended[t]` the futures
//!    dropped on worker `t` (`t < n`) or on other threads (`t = n`). Their
//!    difference is the number of live tasks.
//! 4. After `close` has set `closed`, no key stays in a `remote` list: `close`
//!    drains every list after setting the flag, and a flush that takes the
//!    lock after that drain reads `closed` under the same lock and drains
//!    itself.
//! 5. For every entry, the trace of its task is at `trace_offset` bytes
//!    from its waker's data pointer, inside the task's allocation (checked
//!    at insert).

use crate::slots::Slots;
use crate::spin::{SpinGuard, SpinMutex};
use crate::trace::TaskTrace;
use crossbeam_utils::CachePadded;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Waker;

/// A worker moves its buffered remote ends of one shard to the shard's
/// `remote` list once this many have gathered.
pub(crate) const END_BATCH: usize = 32;

/// A flush that finds this many keys waiting in a shard's `remote` list
/// drains the shard itself instead of waiting for the owner.
pub(crate) const REMOTE_MAX: usize = 1024;

/// The wakers of a runtime's live tasks, in shards, with deferred removal.
pub(crate) struct Registry {
    shards: Box<[CachePadded<Shard>]>,
    /// Set once at shutdown (invariant #4).
    closed: AtomicBool,
    /// Where a task's trace is, from its waker's data pointer (invariant
    /// #5); set by the first insert.
    trace_offset: OnceLock<usize>,
}

/// One shard (see the module docs for who touches what).
struct Shard {
    /// The entries: locked by the owner (insert, removal of its own ends,
    /// drain), by any drainer, by `abort` lookups and by `close`.
    slab: SpinMutex<Slots<Live>>,
    /// Inserts into this shard (invariant #3); written under `slab`'s lock.
    spawned: AtomicUsize,
    /// Futures dropped on this shard's thread(s) (invariant #3); written by
    /// worker `i` only for `i < n`, by any thread for shard `n`.
    ended: AtomicUsize,
    /// Keys of ends on other workers, waiting for removal (invariant #2). On
    /// its own cache line: other workers write it, once per batch.
    remote: CachePadded<Remote>,
}

struct Remote {
    keys: SpinMutex<Vec<u32>>,
    /// Hint: `keys` may be non-empty. Set under the lock by a flush, cleared
    /// under it by a drain; read without it by owners that skip the lock
    /// when it is clear (a stale read only delays a removal).
    pending: AtomicBool,
}

/// A live task's entry: its waker, which keeps the allocation alive and
/// leads to its trace (module docs, invariant #5).
pub(crate) struct Live {
    waker: Waker,
}

/// A locked shard and the key its next entry gets (from
/// [`Registry::vacant`]).
pub(crate) struct Vacant<'a> {
    slab: SpinGuard<'a, Slots<Live>>,
    key: u32,
    id: u64,
    shard: &'a Shard,
    trace_offset: &'a OnceLock<usize>,
}

impl Vacant<'_> {
    /// The key the entry gets.
    pub(crate) fn key(&self) -> u32 {
        self.key
    }

    /// The id the task gets (unique among the runtime's tasks).
    pub(crate) fn task_id(&self) -> u64 {
        self.id
    }

    /// Inserts the task's waker under the key and unlocks the shard.
    /// `trace` is the task's trace, in the allocation `waker` points to.
    ///
    /// # Panics
    ///
    /// If `trace` is not where every earlier task's trace was, relative to
    /// its waker (invariant #5; async-task's layout would have changed).
    #[inline]
    pub(crate) fn insert(mut self, waker: Waker, trace: &TaskTrace) {
        let offset = std::ptr::from_ref(trace)
            .addr()
            .wrapping_sub(waker.data().addr());
        let expected = *self.trace_offset.get_or_init(|| offset);
        assert_eq!(
            offset, expected,
            "gust: a task's waker no longer points at its header (async-task's layout changed)"
        );
        // The key `vacant` found, still free: the shard stayed locked.
        self.slab.insert_at(self.key as usize, Live { waker });
        let spawned = &self.shard.spawned;
        // Relaxed: a counter written under the lock; `len` orders its reads.
        spawned.store(
            spawned.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }
}

/// A worker's private buffers of remote ends, one per worker shard.
pub(crate) struct Ends(Box<[Vec<u32>]>);

impl Ends {
    /// Empty buffers for `n` worker shards.
    pub(crate) fn new(n: usize) -> Self {
        Self((0..n).map(|_| Vec::new()).collect())
    }
}

impl Registry {
    /// A registry for `n` workers (`n + 1` shards).
    pub(crate) fn new(n: usize) -> Self {
        Self {
            shards: (0..=n)
                .map(|_| {
                    CachePadded::new(Shard {
                        slab: SpinMutex::new(Slots::new()),
                        spawned: AtomicUsize::new(0),
                        ended: AtomicUsize::new(0),
                        remote: CachePadded::new(Remote {
                            keys: SpinMutex::new(Vec::new()),
                            pending: AtomicBool::new(false),
                        }),
                    })
                })
                .collect(),
            closed: AtomicBool::new(false),
            trace_offset: OnceLock::new(),
        }
    }

    /// The shard for spawns from worker `index`, or from other threads
    /// (any `index` past the workers).
    pub(crate) fn shard_for(&self, index: usize) -> usize {
        index.min(self.shards.len() - 1)
    }

    /// Locks `shard` for an insert and returns its next key, or `None` when
    /// the registry is closed (invariant #2 of `task.rs`).
    #[inline]
    pub(crate) fn vacant(&self, shard: usize) -> Option<Vacant<'_>> {
        let s = &self.shards[shard];
        let slab = s.slab.lock();
        // SeqCst: pairs with the store in `close` (after `close` has visited
        // this shard, no entry appears in it).
        if self.closed.load(Ordering::SeqCst) {
            return None;
        }
        let key = u32::try_from(slab.vacant_key()).expect("too many live tasks");
        // Unique in the runtime: the shard's insert count (written under
        // the lock we hold) interleaved over the shards.
        let n = self.shards.len() as u64;
        let id = s.spawned.load(Ordering::Relaxed) as u64 * n + shard as u64 + 1;
        Some(Vacant {
            slab,
            key,
            id,
            shard: s,
            trace_offset: &self.trace_offset,
        })
    }

    /// Counts a future dropped on worker `here`, which must be the calling
    /// thread (invariant #3: one writer, so no RMW).
    #[inline]
    pub(crate) fn count_end_on_worker(&self, here: usize) {
        let ended = &self.shards[here].ended;
        // Release: a `len` that sees this end (Acquire) also sees the insert
        // of the same task, which happened before the task ran.
        ended.store(
            ended.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Release,
        );
    }

    /// Counts a future dropped on a thread that is not a worker of this
    /// runtime.
    pub(crate) fn count_end_elsewhere(&self) {
        let last = self.shards.len() - 1;
        // Release: as in `count_end_on_worker`.
        self.shards[last].ended.fetch_add(1, Ordering::Release);
    }

    /// Removes entry `key` of `shard` now. The waker is dropped outside the
    /// lock: it may be a reference to the task whose future is being
    /// dropped, or its last one.
    pub(crate) fn remove(&self, shard: usize, key: u32) {
        let live = self.shards[shard].slab.lock().try_remove(key as usize);
        drop(live);
    }

    /// Appends a worker's buffered ends of `shard` to the shard's `remote`
    /// list and empties the buffer; drains the shard here if the registry is
    /// closed, the list is long, or `owner_parked`.
    pub(crate) fn flush(&self, ends: &mut Ends, shard: usize, owner_parked: bool) {
        let buf = &mut ends.0[shard];
        if buf.is_empty() {
            return;
        }
        let remote = &self.shards[shard].remote;
        let drain_here = {
            let mut keys = remote.keys.lock();
            keys.extend_from_slice(buf);
            remote.pending.store(true, Ordering::Relaxed);
            // Under the lock (invariant #4): if `close` drained this list
            // before we locked it, its store of `closed` is visible here.
            self.closed.load(Ordering::Relaxed) || keys.len() >= REMOTE_MAX
        };
        buf.clear();
        if drain_here || owner_parked {
            self.drain_now(shard);
        }
    }

    /// Flushes every buffer of `ends` (see [`Registry::flush`]);
    /// `is_parked(i)` tells whether worker `i` is parked.
    pub(crate) fn flush_all(&self, ends: &mut Ends, is_parked: impl Fn(usize) -> bool) {
        for shard in 0..ends.0.len() {
            if !ends.0[shard].is_empty() {
                self.flush(ends, shard, is_parked(shard));
            }
        }
    }

    /// Buffers a remote end of entry `key` of `shard` in `ends`; true when
    /// the buffer is full and the caller should [`flush`](Registry::flush).
    pub(crate) fn defer(ends: &mut Ends, shard: usize, key: u32) -> bool {
        let buf = &mut ends.0[shard];
        buf.push(key);
        buf.len() >= END_BATCH
    }

    /// Removes the entries whose keys wait in `shard`'s `remote` list
    /// (invariant #2), freeing those tasks on this thread, if the `pending`
    /// hint is set.
    #[inline]
    pub(crate) fn drain(&self, shard: usize) {
        if self.shards[shard].remote.pending.load(Ordering::Relaxed) {
            self.drain_now(shard);
        }
    }

    /// [`Registry::drain`] without looking at the hint.
    #[cold]
    fn drain_now(&self, shard: usize) {
        let s = &self.shards[shard];
        let mut keys = {
            let mut keys = s.remote.keys.lock();
            s.remote.pending.store(false, Ordering::Relaxed);
            std::mem::take(&mut *keys)
        };
        if keys.is_empty() {
            return;
        }
        {
            let mut slab = s.slab.lock();
            for &key in &keys {
                // Dropped under the lock: these tasks' futures are gone
                // (invariant #2), so the drop at most frees the allocation
                // and touches no registry; and the caller keeps the runtime
                // alive, so it is never the last `Arc<Shared>` either.
                drop(slab.try_remove(key as usize));
            }
        }
        keys.clear();
        // Give the buffer back for the next flushes, unless a flush since
        // has started a new one.
        let mut cur = s.remote.keys.lock();
        if cur.capacity() == 0 {
            *cur = keys;
        }
    }

    /// Live tasks (invariant #3).
    pub(crate) fn len(&self) -> usize {
        // Ends first (Acquire, pairs with `count_end`): every end counted
        // here has its insert counted by the loads below.
        let ended: usize = self
            .shards
            .iter()
            .map(|s| s.ended.load(Ordering::Acquire))
            .fold(0, usize::wrapping_add);
        // Relaxed: the Acquire loads above already order these after the
        // inserts they need to see.
        let spawned: usize = self
            .shards
            .iter()
            .map(|s| s.spawned.load(Ordering::Relaxed))
            .fold(0, usize::wrapping_add);
        spawned.wrapping_sub(ended)
    }

    /// The waker of entry `key` of `shard` if it is still the entry of the
    /// task whose trace is `trace` (for an `AbortHandle` to keep): an entry
    /// is removed only after its task's trace says `DONE` (`Entry::drop`),
    /// so under the shard's lock a trace not `DONE` means the key is not
    /// reused yet.
    pub(crate) fn get_live(&self, shard: usize, key: u32, trace: &TaskTrace) -> Option<Waker> {
        let slab = self.shards[shard].slab.lock();
        if trace.state() == crate::trace::DONE {
            return None;
        }
        slab.get(key as usize).map(|l| l.waker.clone())
    }

    /// Calls `f` with the trace of every entry (tasks whose future was
    /// dropped included: their state says so), shard by shard, under the
    /// shard's lock.
    pub(crate) fn for_each_trace(&self, mut f: impl FnMut(&TaskTrace)) {
        let Some(&offset) = self.trace_offset.get() else {
            return; // nothing was ever inserted
        };
        for s in self.shards.iter() {
            for (_, live) in s.slab.lock().iter() {
                // SAFETY: the trace is `offset` bytes from the waker's data
                // pointer, inside the task's allocation (invariant #5); the
                // waker keeps that allocation alive while the entry is in
                // the slab, which the lock we hold keeps it in (invariant
                // #2 of `trace/mod.rs`).
                let t = unsafe { &*live.waker.data().byte_add(offset).cast::<TaskTrace>() };
                f(t);
            }
        }
    }

    /// Closes the registry and returns the wakers of all live tasks
    /// (invariant #4; invariant #2 of `task.rs`).
    pub(crate) fn close(&self) -> Vec<Waker> {
        self.closed.store(true, Ordering::SeqCst);
        let mut all = Vec::new();
        for shard in 0..self.shards.len() {
            self.drain_now(shard);
            all.extend(
                self.shards[shard]
                    .slab
                    .lock()
                    .iter()
                    .map(|(_, l)| l.waker.clone()),
            );
        }
        all
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{END_BATCH, Ends, REMOTE_MAX, Registry};
    use crate::trace::{TaskOrigin, TaskTrace};
    use std::panic::Location;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    /// A waker whose live clones `Arc::strong_count` counts, with a trace
    /// beside it as a task has one in its header.
    struct Probe {
        trace: TaskTrace,
    }

    impl Probe {
        fn new(id: u64) -> Arc<Self> {
            let origin = TaskOrigin::new(id, None, Location::caller());
            Arc::new(Self {
                trace: TaskTrace::new(origin),
            })
        }
    }

    impl Wake for Probe {
        fn wake(self: Arc<Self>) {}
    }

    /// Inserts `n` probe wakers into `shard`; returns their keys.
    fn insert(reg: &Registry, shard: usize, probe: &Arc<Probe>, n: usize) -> Vec<u32> {
        (0..n)
            .map(|_| {
                let v = reg.vacant(shard).expect("registry open");
                let key = v.key();
                v.insert(Waker::from(probe.clone()), &probe.trace);
                key
            })
            .collect()
    }

    /// Ends entry `key` of `shard` as worker `here` would.
    fn end_on(reg: &Registry, ends: &mut Ends, here: usize, shard: usize, key: u32) {
        reg.count_end_on_worker(here);
        if Registry::defer(ends, shard, key) {
            reg.flush(ends, shard, false);
        }
    }

    #[test]
    fn each_entry_leads_to_its_tasks_trace() {
        let reg = Registry::new(2);
        let probes: Vec<_> = (1..=3).map(Probe::new).collect();
        for (shard, p) in probes.iter().enumerate() {
            insert(&reg, shard, p, 1);
        }
        let mut ids = Vec::new();
        reg.for_each_trace(|t| ids.push(t.origin.id()));
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    #[should_panic(expected = "no longer points at its header")]
    fn a_trace_elsewhere_than_the_first_is_refused() {
        let reg = Registry::new(1);
        let (a, b) = (Probe::new(1), Probe::new(2));
        insert(&reg, 0, &a, 1);
        // b's waker with a's trace: not at the offset the first insert set.
        let v = reg.vacant(0).expect("registry open");
        v.insert(Waker::from(b.clone()), &a.trace);
    }

    #[test]
    fn deferred_ends_are_removed_by_the_owner() {
        let reg = Registry::new(2);
        let probe = Probe::new(1);
        let n = END_BATCH + 3;
        let keys = insert(&reg, 0, &probe, n);
        assert_eq!(reg.len(), n);
        // Worker 1 ends them all: one full batch goes to shard 0's list, the
        // rest stays in its buffer; nothing is removed yet.
        let mut ends = Ends::new(2);
        for &k in &keys {
            end_on(&reg, &mut ends, 1, 0, k);
        }
        assert_eq!(reg.len(), 0, "ended tasks are not counted as live");
        assert_eq!(Arc::strong_count(&probe), 1 + n);
        // The owner drains the flushed batch.
        reg.drain(0);
        assert_eq!(Arc::strong_count(&probe), 1 + 3);
        // Worker 1 runs out of work: flushes the rest; the owner drains it.
        reg.flush_all(&mut ends, |_| false);
        assert_eq!(Arc::strong_count(&probe), 1 + 3);
        reg.drain(0);
        assert_eq!(Arc::strong_count(&probe), 1);
        // The keys are free again (the lowest is reused first).
        assert_eq!(insert(&reg, 0, &probe, 1)[0], keys[0]);
    }

    #[test]
    fn a_flush_to_a_parked_owner_drains_at_once() {
        let reg = Registry::new(2);
        let probe = Probe::new(1);
        let keys = insert(&reg, 1, &probe, 2);
        let mut ends = Ends::new(2);
        for &k in &keys {
            reg.count_end_on_worker(0);
            assert!(!Registry::defer(&mut ends, 1, k));
        }
        reg.flush_all(&mut ends, |i| i == 1);
        assert_eq!(Arc::strong_count(&probe), 1);
    }

    #[test]
    fn a_long_remote_list_is_drained_by_the_flusher() {
        let reg = Registry::new(2);
        let probe = Probe::new(1);
        let n = if cfg!(miri) {
            REMOTE_MAX
        } else {
            4 * REMOTE_MAX
        };
        let keys = insert(&reg, 0, &probe, n);
        let mut ends = Ends::new(2);
        for &k in &keys {
            end_on(&reg, &mut ends, 1, 0, k);
        }
        // Never more than REMOTE_MAX finished tasks wait for the owner.
        assert!(Arc::strong_count(&probe) - 1 < REMOTE_MAX);
        assert_eq!(reg.len(), 0);
    }

    #[test]
    fn close_removes_deferred_entries_and_returns_the_live_ones() {
        let reg = Registry::new(2);
        let probe = Probe::new(1);
        let ended = insert(&reg, 0, &probe, 3);
        let live = insert(&reg, 0, &probe, 2);
        let mut ends = Ends::new(2);
        for &k in &ended {
            end_on(&reg, &mut ends, 1, 0, k);
        }
        reg.flush_all(&mut ends, |_| false);
        let wakers = reg.close();
        assert_eq!(wakers.len(), live.len());
        drop(wakers);
        assert_eq!(Arc::strong_count(&probe), 1 + live.len());
        assert!(reg.vacant(0).is_none(), "closed: no new entries");
        // A flush after the close (a detached worker) removes at once.
        for &k in &live {
            end_on(&reg, &mut ends, 1, 0, k);
        }
        reg.flush_all(&mut ends, |_| false);
        assert_eq!(Arc::strong_count(&probe), 1);
        assert_eq!(reg.len(), 0);
    }

    #[test]
    fn ends_off_the_workers_count() {
        let reg = Registry::new(1);
        let probe = Probe::new(1);
        let keys = insert(&reg, 1, &probe, 2);
        for &k in &keys {
            reg.count_end_elsewhere();
            reg.remove(1, k);
        }
        assert_eq!(reg.len(), 0);
        assert_eq!(Arc::strong_count(&probe), 1);
    }
}
