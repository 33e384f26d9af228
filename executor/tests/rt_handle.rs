//! `runtime::Handle` and `EnterGuard` (tokio's): spawning onto a runtime
//! one does not own, from plain threads and from other runtimes' tasks.

use gust_executor::runtime::{Builder, Handle, Runtime};
use gust_executor::{block_on, spawn};

fn named(name: &str) -> Runtime {
    Builder::new().workers(1).thread_name(name).build().unwrap()
}

/// The name of the worker thread a task spawned here runs on.
fn spawned_thread_name() -> gust_executor::JoinHandle<Option<String>> {
    spawn(async { std::thread::current().name().map(String::from) })
}

#[test]
fn a_handle_spawns_onto_its_runtime_from_a_plain_thread() {
    let rt = named("handled");
    let handle = rt.handle();
    let h = std::thread::spawn(move || {
        handle.spawn(async { std::thread::current().name().map(String::from) })
    })
    .join()
    .unwrap();
    assert_eq!(block_on(h).unwrap().as_deref(), Some("handled-0"));
}

#[test]
fn a_handle_spawns_onto_its_runtime_from_another_runtimes_task() {
    let mine = named("mine");
    let other = named("other");
    let handle = mine.handle();
    let name = other.block_on(other.spawn(async move {
        handle
            .spawn(async { std::thread::current().name().map(String::from) })
            .await
            .unwrap()
    }));
    assert_eq!(name.unwrap().as_deref(), Some("mine-0"));
    assert_eq!(mine.metrics().spawned_tasks(), 1);
}

#[test]
fn current_is_the_runtime_of_the_task_or_block_on_else_the_global_one() {
    let rt = named("cur");
    let from_task = rt.block_on(rt.spawn(async { Handle::current() })).unwrap();
    assert_eq!(from_task, rt.handle());
    assert_eq!(rt.block_on(async { Handle::current() }), rt.handle());
    let global = Handle::current();
    assert_ne!(global, rt.handle());
    assert_eq!(global, Handle::current());
    assert_eq!(block_on(async { Handle::current() }), global);
}

#[test]
fn enter_makes_a_runtime_current_until_the_guard_drops_and_guards_nest() {
    let a = named("enter-a");
    let b = named("enter-b");
    let global = Handle::current();
    {
        let _ga = a.enter();
        assert_eq!(Handle::current(), a.handle());
        let in_a = spawned_thread_name();
        {
            let hb = b.handle();
            let _gb = hb.enter();
            assert_eq!(Handle::current(), b.handle());
            let in_b = spawned_thread_name();
            assert_eq!(block_on(in_b).unwrap().as_deref(), Some("enter-b-0"));
        }
        assert_eq!(Handle::current(), a.handle());
        assert_eq!(block_on(in_a).unwrap().as_deref(), Some("enter-a-0"));
    }
    assert_eq!(Handle::current(), global);
}

#[test]
fn a_handle_outlives_its_runtime_and_spawns_nothing_then() {
    let rt = named("gone");
    let handle = rt.handle();
    assert!(!handle.is_shutdown());
    drop(rt);
    assert!(handle.is_shutdown());
    let h = handle.spawn(async { 1 });
    assert!(block_on(h).unwrap_err().is_aborted());
    // Nor blocking jobs: the job never runs (it ran, found from outside).
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let job = handle.spawn_blocking({
        let ran = ran.clone();
        move || ran.store(true, std::sync::atomic::Ordering::SeqCst)
    });
    assert!(block_on(job).unwrap_err().is_aborted());
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(handle.num_tasks(), 0);
}

/// Dropping a runtime waits for its `spawn_blocking` jobs to return, as
/// tokio's does (it returned at once, and a program whose `main` then
/// ended lost the job's work: found from outside); `shutdown_timeout`
/// waits for them up to its timeout and leaves the rest running.
#[test]
fn dropping_a_runtime_waits_for_its_blocking_jobs() {
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::time::{Duration, Instant};
    let rt = named("drop-waits");
    let done = std::sync::Arc::new(AtomicBool::new(false));
    drop(rt.spawn_blocking({
        let done = done.clone();
        move || {
            std::thread::sleep(Duration::from_millis(200));
            done.store(true, SeqCst);
        }
    }));
    drop(rt);
    assert!(done.load(SeqCst), "the drop returned before the job did");

    let rt = named("timeout");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    drop(rt.spawn_blocking(move || rx.recv())); // runs until `tx` goes
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(50));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(50), "did not wait: {took:?}");
    assert!(
        took < Duration::from_secs(5),
        "waited past the timeout: {took:?}"
    );
    drop(tx); // the detached job ends
}

#[test]
fn handle_block_on_and_spawn_blocking_run_for_its_runtime() {
    let rt = named("hb");
    let handle = rt.handle();
    let name = std::thread::spawn(move || {
        let job = handle.spawn_blocking(spawned_thread_name);
        handle.block_on(async move { job.await.unwrap().await.unwrap() })
    })
    .join()
    .unwrap();
    assert_eq!(name.as_deref(), Some("hb-0"));
}

#[test]
fn handles_are_send_sync_clone_and_compare_by_runtime() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Handle>();
    let rt = named("eq");
    let (h1, h2) = (rt.handle(), rt.handle().clone());
    assert_eq!(h1, h2);
    assert_eq!(h1.num_workers(), 1);
    assert!(format!("{h1:?}").contains("workers: 1"));
}

#[test]
fn enter_guards_dropped_out_of_order_panic_naming_the_mistake() {
    let a = named("order-a");
    let b = named("order-b");
    let ga = a.enter();
    let gb = b.enter();
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(ga))).unwrap_err();
    let msg = err
        .downcast_ref::<&str>()
        .copied()
        .unwrap_or_default()
        .to_owned()
        + err.downcast_ref::<String>().map_or("", |s| s);
    assert!(msg.contains("dropped out of order"), "{msg}");
    // `ga` restored what was current before it (nothing); `gb` would now
    // find another runtime current than its own and panic too.
    assert_ne!(Handle::current(), b.handle());
    std::mem::forget(gb);
}

#[test]
fn a_handle_after_shutdown_runs_no_blocking_job_and_drops_what_block_on_spawns() {
    let rt = named("after");
    let handle = rt.handle();
    drop(rt);
    // As tokio's `spawn_blocking_after_shutdown_fails`.
    let job = handle.spawn_blocking(|| spawn(async { 1 }));
    assert!(block_on(job).unwrap_err().is_aborted());
    // A `block_on` of the dead runtime runs; what it spawns is dropped.
    let spawned = handle.block_on(async {
        let h = spawn(async { 2 });
        Some(h)
    });
    let spawned = spawned.unwrap();
    assert!(block_on(spawned).unwrap_err().is_aborted());
}

/// A future dropped at shutdown whose `Drop` starts a blocking job (a
/// cleanup; a context's `after_func` run by a dropped `CancelFunc` takes
/// the same path): the job runs, off the runtime that is shutting down,
/// while `Handle::spawn_blocking` on that runtime says aborted (found by
/// a review of the refusal).
#[test]
fn a_cleanup_job_started_during_shutdown_runs() {
    struct Cleanup(std::sync::mpsc::Sender<()>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let tx = self.0.clone();
            drop(gust_executor::spawn_blocking(move || tx.send(()).unwrap()));
        }
    }
    let rt = named("cleanup");
    let (tx, rx) = std::sync::mpsc::channel();
    let cleanup = Cleanup(tx);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move {
        let _cleanup = cleanup;
        started_tx.send(()).unwrap();
        // Always runnable: at shutdown it sits in its worker's queue, and
        // that worker drops it, its runtime current.
        loop {
            gust_executor::yield_now().await;
        }
    }));
    started_rx.recv().unwrap();
    drop(rt);
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .expect("the cleanup job never ran");
}
