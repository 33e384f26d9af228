//! Who a task is, in two words of its header: its id, and its name and
//! spawn site packed into one tagged pointer. The id's word also counts
//! the task's foreign wakers, in its high bits (gust-trace's "Who holds
//! the waker").
//!
//! # Why a tagged pointer
//!
//! Every spawn writes these, and a million live tasks keep a million of
//! them: each word here is 8 MB of memory written and read again on the
//! spawn-and-join benchmark. Most tasks have no name, so the word is the
//! `&'static Location` of the spawn itself; a named task's word points to a
//! boxed [`Named`] (name and site) with the low bit set. `Location` and
//! `Named` are both aligned to at least 2 (checked below), so that bit is
//! free in either pointer.
//!
//! The rejected alternatives: an `Option<Box<str>>` beside the location
//! (16 bytes more per task: the task's allocation left glibc's fast size
//! classes, +85 instructions per spawn), or the origin in the task's
//! registry entry (the entry grew from 16 to 56 bytes and the
//! spawn-and-join row slowed by 13%).

use std::marker::PhantomData;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

/// The id's bits of [`TaskOrigin`]'s word (gust-trace counts foreign
/// wakers in the bits above).
const ID_MASK: u64 = (1 << gust_trace::FOREIGN_SHIFT) - 1;

/// A named task's name and spawn site (the boxed case of [`TaskOrigin`]).
struct Named {
    name: Box<str>,
    spawned_at: &'static Location<'static>,
}

/// The tag bit: set when the pointer is a `Box<Named>`.
const NAMED: usize = 1;

const _: () = assert!(align_of::<Location<'static>>() > NAMED);
const _: () = assert!(align_of::<Named>() > NAMED);

/// A task's id, and its name and spawn site (module docs). Written once,
/// before the task is shared (but for the count in the id's word); read
/// by dumps.
pub(crate) struct TaskOrigin {
    /// The id (the low 44 bits, written once) and the count
    /// of foreign wakers (the bits above, gust-trace's `foreign_holders`).
    word: AtomicU64,
    /// `&'static Location` (tag clear) or `Box<Named>` (tag set), owned.
    site: *const (),
    _owns: PhantomData<Box<Named>>,
}

// SAFETY: `site` is a shared `'static` location or an owned `Box<Named>`,
// both `Send + Sync`, and never written after construction; `word` is
// atomic.
unsafe impl Send for TaskOrigin {}
// SAFETY: as above: shared access reads `site` and reads or atomically
// updates `word`.
unsafe impl Sync for TaskOrigin {}

impl TaskOrigin {
    /// The origin of task `id`, named `name`, spawned at `spawned_at`.
    #[inline]
    pub(crate) fn new(
        id: u64,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
    ) -> Self {
        let site = match name {
            None => std::ptr::from_ref(spawned_at).cast(),
            Some(name) => Box::into_raw(Box::new(Named { name, spawned_at }))
                .cast::<()>()
                .map_addr(|a| a | NAMED)
                .cast_const(),
        };
        Self {
            word: AtomicU64::new(id & ID_MASK),
            site,
            _owns: PhantomData,
        }
    }

    /// The task's id (0 for blocking-pool jobs, which dumps do not list),
    /// of 44 bits (ids wrap after 17.6 trillion tasks of one runtime).
    pub(crate) fn id(&self) -> u64 {
        // Relaxed: the id was written before the task was shared.
        self.word.load(Ordering::Relaxed) & ID_MASK
    }

    /// The word whose high bits count the task's foreign wakers
    /// (gust-trace's `Polled`).
    pub(crate) fn foreign(&self) -> &AtomicU64 {
        &self.word
    }

    /// The name given to `task::Builder`, if any.
    pub(crate) fn name(&self) -> Option<&str> {
        self.named().map(|n| &*n.name)
    }

    /// Where the task was spawned.
    pub(crate) fn spawned_at(&self) -> &'static Location<'static> {
        match self.named() {
            Some(n) => n.spawned_at,
            // SAFETY: with the tag clear, `site` came from a
            // `&'static Location` (`new`).
            None => unsafe { &*self.site.cast::<Location<'static>>() },
        }
    }

    /// The boxed [`Named`], if the tag says there is one.
    #[inline]
    fn named_ptr(&self) -> Option<*mut Named> {
        (self.site.addr() & NAMED != 0).then(|| {
            self.site
                .map_addr(|a| a & !NAMED)
                .cast::<Named>()
                .cast_mut()
        })
    }

    fn named(&self) -> Option<&Named> {
        // SAFETY: with the tag set, `site` is a `Box<Named>` turned into a
        // raw pointer (`new`) with the tag added; it lives until `drop`, and
        // we hold `&self`.
        self.named_ptr().map(|p| unsafe { &*p })
    }
}

impl Drop for TaskOrigin {
    #[inline]
    fn drop(&mut self) {
        if let Some(named) = self.named_ptr() {
            // SAFETY: with the tag set, `site` owns a `Box<Named>` (`new`),
            // freed here, once.
            drop(unsafe { Box::from_raw(named) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TaskOrigin;
    use std::panic::Location;

    #[test]
    fn unnamed_and_named_origins_read_back() {
        let here = Location::caller();
        let a = TaskOrigin::new(7, None, here);
        assert_eq!((a.id(), a.name(), a.spawned_at()), (7, None, here));
        let b = TaskOrigin::new(8, Some("fetcher".into()), here);
        assert_eq!(
            (b.id(), b.name(), b.spawned_at()),
            (8, Some("fetcher"), here)
        );
        assert_eq!(size_of::<TaskOrigin>(), 16);
    }
}
