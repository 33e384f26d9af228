//! test/chan/select2.go: 100,000 selects that each lose a receive case on
//! a channel that is never ready must not grow the program's memory (each
//! select's entry on that channel is unlinked when it completes). Its own
//! test binary: a counting global allocator measures the live bytes.

#![cfg(not(miri))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use gust_chan::{Chan, select};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to `System`, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 100_000;

/// A plain thread sends `N` values on `c` while this thread selects
/// between `c` and `dummy`, `N` times.
fn round(c: &Chan<i32>, dummy: &Chan<i32>) {
    let tx = c.sender();
    let sender = std::thread::spawn(move || {
        for _ in 0..N {
            tx.send_blocking(1).unwrap();
        }
    });
    futures::executor::block_on(async {
        for _ in 0..N {
            select! {
                _ = c.recv() => {}
                _ = dummy.recv() => panic!("dummy"),
            }
        }
    });
    sender.join().unwrap();
}

#[test]
fn selects_that_lose_a_case_do_not_grow_memory() {
    let c = Chan::<i32>::new(0);
    let dummy = Chan::<i32>::new(0);
    round(&c, &dummy);
    let alloc = LIVE.load(Ordering::SeqCst);
    round(&c, &dummy);
    let grown = LIVE.load(Ordering::SeqCst) - alloc;
    // Go's bound: 110,000 bytes for the second 100,000 selects.
    assert!(
        grown <= 110_000,
        "too much memory for 100,000 selects: {grown} bytes"
    );
}
