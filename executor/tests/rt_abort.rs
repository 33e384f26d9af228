//! `AbortHandle` (tokio's): aborting a task without its `JoinHandle`, from
//! another thread, after the handle is dropped or awaited; what it says of
//! a finished task; a `spawn_blocking` job; one task of a `JoinSet`.

use gust_executor::runtime::{Builder, Runtime};
use gust_executor::task::{AbortHandle, JoinSet};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn rt(workers: usize) -> Runtime {
    Builder::new().workers(workers).build().unwrap()
}

/// A task that waits forever, holding `tx`: its future's drop closes it.
fn pending_holding(rt: &Runtime, tx: mpsc::Sender<()>) -> gust_executor::JoinHandle<()> {
    rt.spawn(async move {
        let _tx = tx;
        std::future::pending::<()>().await
    })
}

#[test]
fn aborts_from_another_thread() {
    for workers in [1, 2] {
        let rt = rt(workers);
        let (tx, rx) = mpsc::channel();
        let h = pending_holding(&rt, tx);
        let abort = h.abort_handle();
        assert_eq!(abort.id(), h.id());
        assert!(!abort.is_finished());
        std::thread::spawn(move || abort.abort()).join().unwrap();
        assert!(rt.block_on(h).unwrap_err().is_aborted());
        assert!(rx.recv().is_err(), "the future was dropped");
    }
}

#[test]
fn aborts_a_detached_task_and_tells_when_it_ended() {
    let rt = rt(2);
    let (tx, rx) = mpsc::channel();
    let h = pending_holding(&rt, tx);
    let abort = h.abort_handle();
    let again = abort.clone();
    drop(h);
    assert!(!again.is_finished());
    abort.abort();
    assert!(rx.recv().is_err(), "the future was dropped");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !again.is_finished() {
        assert!(Instant::now() < deadline, "never finished");
        std::thread::yield_now();
    }
    again.abort(); // a finished task: nothing happens
}

#[test]
fn a_finished_task_keeps_its_output() {
    let rt = rt(1);
    let h = rt.spawn(async { 7 });
    let abort = h.abort_handle();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !h.is_finished() {
        assert!(Instant::now() < deadline);
        std::thread::yield_now();
    }
    abort.abort();
    assert!(abort.is_finished());
    assert_eq!(rt.block_on(h).unwrap(), 7);
    // A handle made after the end: finished, nothing to abort.
    let h = rt.spawn(async { 8 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    let late = h.abort_handle();
    assert!(late.is_finished());
    late.abort();
    assert_eq!(rt.block_on(h).unwrap(), 8);
}

/// A blocking job that has started runs to its end (as tokio's).
#[test]
fn a_started_blocking_job_runs_to_its_end() {
    let rt = rt(1);
    let (started_tx, started) = mpsc::channel();
    let (go_tx, go) = mpsc::channel::<()>();
    let h = rt.spawn_blocking(move || {
        started_tx.send(()).unwrap();
        go.recv().unwrap();
        5
    });
    let abort = h.abort_handle();
    started.recv().unwrap();
    abort.abort();
    assert!(!abort.is_finished());
    go_tx.send(()).unwrap();
    assert_eq!(rt.block_on(h).unwrap(), 5);
    assert!(abort.is_finished());
}

#[test]
fn aborts_one_task_of_a_join_set() {
    let rt = rt(2);
    rt.block_on(async {
        let mut set = JoinSet::new();
        let mut aborts: Vec<AbortHandle> = Vec::new();
        let (go_tx, go_rx) = gust_chan::chan::<()>(0);
        for i in 0..4u32 {
            let go_rx = go_rx.clone();
            aborts.push(set.spawn(async move {
                go_rx.recv().await;
                i
            }));
        }
        aborts[2].abort();
        go_tx.close();
        let mut ok = Vec::new();
        let mut aborted = Vec::new();
        while let Some((id, r)) = set.join_next_with_id().await {
            match r {
                Ok(i) => ok.push(i),
                Err(e) => {
                    assert!(e.is_aborted());
                    aborted.push(id);
                }
            }
        }
        ok.sort();
        assert_eq!(ok, [0, 1, 3]);
        assert_eq!(aborted, [aborts[2].id()]);
        assert!(aborts.iter().all(AbortHandle::is_finished));
    });
}

/// Many tasks spawned, aborted through their handles from a plain thread
/// while they run and end: every one ends, aborted or with its output.
#[test]
fn abort_handles_race_with_ends() {
    let rt = rt(2);
    for _ in 0..20 {
        let hs: Vec<_> = (0..200u32)
            .map(|i| {
                rt.spawn(async move {
                    for _ in 0..(i % 5) {
                        gust_executor::yield_now().await;
                    }
                    i
                })
            })
            .collect();
        let aborts: Vec<AbortHandle> = hs.iter().map(|h| h.abort_handle()).collect();
        let t = std::thread::spawn(move || {
            for a in aborts.iter().step_by(2) {
                a.abort();
            }
            aborts
        });
        for (i, h) in hs.into_iter().enumerate() {
            match rt.block_on(h) {
                Ok(v) => assert_eq!(v, i as u32),
                Err(e) => assert!(e.is_aborted() && i % 2 == 0, "task {i}: {e}"),
            }
        }
        let aborts = t.join().unwrap();
        assert!(aborts.iter().all(AbortHandle::is_finished));
    }
}
