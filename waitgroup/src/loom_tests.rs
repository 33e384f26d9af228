//! Loom models of the WaitGroup word: `add`/`done`/`wait` racing.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release
//! -p gust-waitgroup --lib loom`.

use loom::cell::UnsafeCell;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

use crate::WaitGroup;

/// Two workers `done` while the main thread waits: the wait returns only
/// after both, and sees their writes (happens-before through `done`).
#[test]
fn loom_done_done_wait() {
    loom::model(|| {
        let wg = WaitGroup::new();
        let cells = Arc::new([UnsafeCell::new(0u32), UnsafeCell::new(0u32)]);
        wg.add(2);
        for i in 0..2 {
            let wg = wg.clone();
            let cells = cells.clone();
            thread::spawn(move || {
                // SAFETY: each worker writes only its own cell, before `done`;
                // the main thread reads only after `wait` returns.
                cells[i].with_mut(|p| unsafe { *p = 1 });
                wg.done();
            });
        }
        block_on(wg.wait());
        for cell in cells.iter() {
            // SAFETY: both writers finished before `wait` returned (the model
            // checks that claim).
            assert_eq!(cell.with(|p| unsafe { *p }), 1);
        }
        assert_eq!(wg.count(), 0);
    });
}

/// Two waiters, one async and one blocking, both released by one `done`.
#[test]
fn loom_two_waiters() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let waiter = {
            let wg = wg.clone();
            thread::spawn(move || block_on(wg.wait()))
        };
        let doer = {
            let wg = wg.clone();
            thread::spawn(move || wg.done())
        };
        wg.wait_blocking();
        waiter.join().unwrap();
        doer.join().unwrap();
    });
}

/// Reuse: a second round (`add` after the first zero) races with a waiter of
/// the first round; the waiter must return, and nobody hangs.
#[test]
fn loom_reuse_while_waking() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(1);
        let waiter = {
            let wg = wg.clone();
            thread::spawn(move || block_on(wg.wait()))
        };
        wg.done();
        wg.add(1);
        let doer = {
            let wg = wg.clone();
            thread::spawn(move || wg.done())
        };
        block_on(wg.wait());
        waiter.join().unwrap();
        doer.join().unwrap();
        assert_eq!(wg.count(), 0);
    });
}

/// A negative `add` is one transition: `add(-2)` racing a `done` and a
/// waiter; the wait returns once, after both, and the counter ends at zero.
#[test]
fn loom_negative_add_with_done() {
    loom::model(|| {
        let wg = WaitGroup::new();
        wg.add(3);
        let subtract = {
            let wg = wg.clone();
            thread::spawn(move || wg.add(-2))
        };
        let doer = {
            let wg = wg.clone();
            thread::spawn(move || wg.done())
        };
        block_on(wg.wait());
        assert_eq!(wg.count(), 0);
        subtract.join().unwrap();
        doer.join().unwrap();
    });
}
