//! Spawning, joining, detaching, aborting, panics, num_tasks.

use gust_executor::runtime::{Builder, Runtime};
use gust_executor::{JoinError, block_on, num_tasks, spawn, yield_now};
use std::future::pending;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn rt(workers: usize) -> Runtime {
    Builder::new().workers(workers).build().unwrap()
}

#[test]
fn spawn_100k_and_join() {
    for workers in [1, 2] {
        let rt = rt(workers);
        let sum = rt.block_on(async {
            let hs: Vec<_> = (0..100_000u64).map(|i| spawn(async move { i })).collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        });
        assert_eq!(sum, 99_999 * 100_000 / 2);
    }
}

#[test]
fn spawn_from_tasks_100k() {
    let rt = rt(2);
    let n = rt.block_on(async {
        spawn(async {
            let hs: Vec<_> = (0..100_000u64)
                .map(|i| spawn(async move { i % 2 }))
                .collect();
            let mut n = 0;
            for h in hs {
                n += h.await.unwrap();
            }
            n
        })
        .await
        .unwrap()
    });
    assert_eq!(n, 50_000);
}

#[test]
fn global_runtime_spawn() {
    let h = spawn(async { 5 });
    assert_eq!(block_on(h).unwrap(), 5);
}

#[test]
fn detach_on_drop() {
    let rt = rt(1);
    let (tx, rx) = mpsc::channel();
    drop(rt.spawn(async move {
        yield_now().await;
        tx.send(1).unwrap();
    }));
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
}

struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn abort_drops_future() {
    let rt = rt(1);
    let drops = Arc::new(AtomicUsize::new(0));
    let d = DropCount(drops.clone());
    let h = rt.spawn(async move {
        let _d = d;
        pending::<()>().await
    });
    let id = h.id();
    h.abort();
    let err: JoinError = rt.block_on(h).unwrap_err();
    assert!(err.is_aborted() && !err.is_panic());
    assert_eq!(err.id(), id);
    assert_eq!(format!("{err:?}"), format!("Aborted({id})"));
    let start = Instant::now();
    while drops.load(Ordering::SeqCst) == 0 {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
    assert_eq!(err.to_string(), format!("task {id} was aborted"));
}

#[test]
fn abort_finished_keeps_output() {
    let rt = rt(1);
    let h = rt.spawn(async { 3 });
    while !h.is_finished() {
        std::thread::yield_now();
    }
    h.abort();
    assert_eq!(rt.block_on(h).unwrap(), 3);
}

#[test]
fn panic_goes_to_join_handle_and_worker_survives() {
    let rt = rt(1);
    let n = std::hint::black_box(1);
    let h = rt.spawn(async move { panic!("boom {n}") });
    let id = h.id();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.to_string(), format!("task {id} panicked: boom 1"));
    assert_eq!(format!("{err:?}"), format!("Panic({id}, \"boom 1\")"));
    assert_eq!(*err.into_panic().downcast::<String>().unwrap(), "boom 1");
    // Detached panicking task, then the same worker still serves.
    drop(rt.spawn(async { panic!("detached") }));
    assert_eq!(rt.block_on(rt.spawn(async { 9 })).unwrap(), 9);
}

#[test]
fn runtime_drop_drops_pending_futures() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = rt(2);
    let (_tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::future::FutureExt::shared(rx);
    let mut hs = Vec::new();
    for _ in 0..100 {
        let d = DropCount(drops.clone());
        let rx = rx.clone();
        hs.push(rt.spawn(async move {
            let _d = d;
            let _ = rx.await;
        }));
    }
    for _ in 0..100 {
        let d = DropCount(drops.clone());
        rt.spawn(async move {
            let _d = d;
            pending::<()>().await
        });
    }
    let start = Instant::now();
    while rt.num_tasks() != 200 {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
    drop(rt);
    assert_eq!(drops.load(Ordering::SeqCst), 200);
    for h in hs {
        assert!(block_on(h).unwrap_err().is_aborted());
    }
}

#[test]
fn shutdown_timeout_with_a_busy_worker() {
    let rt = rt(1);
    let (tx, rx) = mpsc::channel::<()>();
    rt.spawn(async move {
        // Blocks the worker until the test ends the wait.
        let _ = rx.recv_timeout(Duration::from_secs(5));
    });
    std::thread::sleep(Duration::from_millis(20));
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(50));
    assert!(start.elapsed() < Duration::from_secs(2));
    drop(tx);
}

#[test]
fn num_tasks_up_and_down() {
    let rt = rt(2);
    assert_eq!(rt.num_tasks(), 0);
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let rx = futures::future::FutureExt::shared(rx);
    let hs: Vec<_> = (0..10)
        .map(|_| {
            let rx = rx.clone();
            rt.spawn(async move {
                let _ = rx.await;
            })
        })
        .collect();
    assert_eq!(rt.num_tasks(), 10);
    assert_eq!(rt.block_on(async { num_tasks() }), 10);
    tx.send(()).unwrap();
    for h in hs {
        rt.block_on(h).unwrap();
    }
    let start = Instant::now();
    while rt.num_tasks() != 0 {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
}

#[test]
fn spawn_inside_task_uses_same_runtime() {
    let rt = rt(1);
    let name = rt.block_on(rt.spawn(async {
        spawn(async { std::thread::current().name().map(str::to_owned) })
            .await
            .unwrap()
    }));
    assert_eq!(name.unwrap().as_deref(), Some("gust-worker-0"));
}

#[test]
fn thread_name() {
    let rt = Builder::new()
        .workers(1)
        .thread_name("custom")
        .build()
        .unwrap();
    let name = rt.block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }));
    assert_eq!(name.unwrap().as_deref(), Some("custom-0"));
}

#[test]
fn zero_workers_is_error() {
    assert!(Builder::new().workers(0).build().is_err());
}

#[test]
fn block_on_inside_a_task_does_not_strand_its_lifo_task() {
    let rt = rt(2);
    let v = rt.block_on(rt.spawn(async {
        // The spawned task lands in this worker's LIFO slot; `block_on`
        // must make it stealable before blocking the worker.
        block_on(spawn(async { 11 })).unwrap()
    }));
    assert_eq!(v.unwrap(), 11);
}

/// Runs `f` on a thread and waits at most 10 s for it: a stranded task
/// fails the test instead of hanging it.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("stranded: still waiting after 10 s")
}

#[test]
fn block_on_inside_a_task_does_not_strand_what_it_spawns() {
    let v = within(|| {
        let rt = rt(2);
        rt.block_on(rt.spawn(async {
            // Spawned while this worker is blocked in `block_on`: the task
            // must go where the runtime's other worker finds it.
            block_on(async { spawn(async { 11 }).await.unwrap() })
        }))
        .unwrap()
    });
    assert_eq!(v, 11);
}

#[test]
fn block_on_inside_a_task_does_not_strand_what_it_wakes() {
    let v = within(|| {
        let rt = rt(2);
        rt.block_on(rt.spawn(async {
            let waiter = spawn(async move {
                // Parked on a future woken from the blocked worker.
                let mut first = true;
                std::future::poll_fn(|cx| {
                    if std::mem::take(&mut first) {
                        WAKER.lock().unwrap().replace(cx.waker().clone());
                        std::task::Poll::Pending
                    } else {
                        std::task::Poll::Ready(7)
                    }
                })
                .await
            });
            while WAKER.lock().unwrap().is_none() {
                yield_now().await;
            }
            block_on(async {
                // Woken from this (blocked) worker's thread.
                WAKER.lock().unwrap().take().unwrap().wake();
                waiter.await.unwrap()
            })
        }))
        .unwrap()
    });
    assert_eq!(v, 7);
}

static WAKER: std::sync::Mutex<Option<std::task::Waker>> = std::sync::Mutex::new(None);

#[test]
fn runtime_block_on_inside_another_runtimes_task_spawns_onto_its_own() {
    let name = within(|| {
        let a = Arc::new(
            Builder::new()
                .workers(1)
                .thread_name("rt-a")
                .build()
                .unwrap(),
        );
        let b = Builder::new()
            .workers(2)
            .thread_name("rt-b")
            .build()
            .unwrap();
        let a2 = a.clone();
        let h = b.spawn(async move {
            a2.block_on(async {
                assert_eq!(num_tasks(), 0, "num_tasks counts `a`'s tasks");
                spawn(async { std::thread::current().name().unwrap().to_string() })
                    .await
                    .unwrap()
            })
        });
        b.block_on(h).unwrap()
    });
    assert!(name.starts_with("rt-a"), "ran on {name}");
}

#[test]
fn runtime_drop_while_busy_stress() {
    const ROUNDS: usize = if cfg!(miri) { 2 } else { 50 };
    let drops = Arc::new(AtomicUsize::new(0));
    for _ in 0..ROUNDS {
        let rt = rt(2);
        for i in 0..100 {
            let d = DropCount(drops.clone());
            rt.spawn(async move {
                let _d = d;
                for _ in 0..i % 7 {
                    yield_now().await;
                }
                if i % 3 == 0 {
                    pending::<()>().await;
                }
                // Tasks that spawn while the runtime shuts down.
                drop(spawn(async {}));
            });
        }
        drop(rt);
    }
    assert_eq!(drops.load(Ordering::SeqCst), ROUNDS * 100);
}

#[test]
fn cross_worker_wake_chain_checksum() {
    // 64 tasks in a ring pass a token 10k times; each hop wakes the next
    // task, often on the other worker.
    use futures::channel::mpsc;
    use futures::{SinkExt, StreamExt};
    let rt = rt(2);
    const TASKS: usize = 64;
    const HOPS: u64 = 10_000;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..TASKS).map(|_| mpsc::channel::<u64>(1)).unzip();
    let mut handles = Vec::new();
    for (i, mut rx) in rxs.into_iter().enumerate() {
        let mut next = txs[(i + 1) % TASKS].clone();
        handles.push(rt.spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.next().await {
                sum += v;
                if v == HOPS {
                    break;
                }
                if next.send(v + 1).await.is_err() {
                    break;
                }
            }
            sum
        }));
    }
    let mut first = txs[0].clone();
    drop(txs);
    rt.block_on(async move { first.send(1).await.unwrap() });
    let total: u64 = rt.block_on(async {
        let mut t = 0;
        for h in handles.drain(..) {
            t += h.await.unwrap();
        }
        t
    });
    // The task that saw HOPS stops; its successors then see their channel
    // close, one after another, so every task ends. Each token value was
    // seen exactly once.
    assert_eq!(total, HOPS * (HOPS + 1) / 2);
}

#[test]
fn runtime_drop_with_drops_that_wake_other_tasks() {
    for _ in 0..if cfg!(miri) { 2 } else { 50 } {
        let drops = Arc::new(AtomicUsize::new(0));
        let rt = rt(2);
        for _ in 0..20 {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            let (da, db) = (DropCount(drops.clone()), DropCount(drops.clone()));
            rt.spawn(async move {
                let _d = db;
                let _ = rx.await; // woken when the other task's future drops
                pending::<()>().await
            });
            rt.spawn(async move {
                let _d = da;
                let _tx = tx;
                pending::<()>().await
            });
        }
        drop(rt);
        assert_eq!(drops.load(Ordering::SeqCst), 40);
    }
}

/// A value whose drop panics (a future holding one panics when dropped).
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("drop-panic");
    }
}

#[test]
fn abort_of_a_task_whose_future_panics_when_dropped_is_a_panic() {
    let rt = rt(1);
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let h = rt.spawn(async move {
        let _p = PanicsOnDrop;
        s.store(1, Ordering::SeqCst);
        pending::<()>().await
    });
    while started.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    assert!(err.is_panic(), "{err:?}");
    assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "drop-panic");
    // The worker and the runtime go on.
    assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
}

#[test]
fn dropping_a_runtime_with_a_future_that_panics_when_dropped() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let rt = rt(1);
    let d = DropCount(dropped.clone());
    let started = Arc::new(AtomicUsize::new(0));
    let s = started.clone();
    let h = rt.spawn(async move {
        let _p = PanicsOnDrop;
        let _d = d;
        s.store(1, Ordering::SeqCst);
        pending::<()>().await
    });
    let never = rt.spawn(async {
        let _p = PanicsOnDrop;
        pending::<()>().await
    });
    while started.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    // The panics are printed; the process goes on, and the other values
    // in the futures are dropped all the same.
    drop(rt);
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(block_on(h).unwrap_err().is_aborted());
    assert!(block_on(never).unwrap_err().is_aborted());
}

#[test]
fn a_future_that_panics_when_dropped_after_completing_keeps_its_output() {
    struct ReadyThenPanicsOnDrop(#[allow(dead_code)] PanicsOnDrop);
    impl std::future::Future for ReadyThenPanicsOnDrop {
        type Output = u32;
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<u32> {
            std::task::Poll::Ready(5)
        }
    }
    let rt = rt(1);
    let h = rt.spawn(ReadyThenPanicsOnDrop(PanicsOnDrop));
    assert_eq!(rt.block_on(h).unwrap(), 5);
    assert_eq!(rt.block_on(rt.spawn(async { 4 })).unwrap(), 4);
}

/// `rt.spawn_blocking` from a task of another runtime: the job is `rt`'s,
/// so what it spawns goes to `rt` (the free `spawn_blocking` there would
/// take the caller's runtime).
#[test]
fn runtime_spawn_blocking_belongs_to_that_runtime() {
    let a = Builder::new()
        .workers(1)
        .thread_name("rt-a")
        .build()
        .unwrap();
    let b = Arc::new(
        Builder::new()
            .workers(1)
            .thread_name("rt-b")
            .build()
            .unwrap(),
    );
    let b2 = b.clone();
    let inner = a
        .block_on(a.spawn(async move {
            b2.spawn_blocking(|| spawn(async { std::thread::current().name().map(String::from) }))
                .await
        }))
        .unwrap()
        .unwrap();
    let name = b.block_on(inner).unwrap().unwrap();
    assert!(name.starts_with("rt-b"), "{name}");
}

/// `Debug` of a `JoinHandle` names its task (as tokio's shows its id), so
/// a printed handle can be found in `runtime::dump()`.
#[test]
fn a_join_handle_debug_shows_its_id() {
    let h = gust_executor::spawn(std::future::pending::<()>());
    let text = format!("{h:?}");
    assert_eq!(
        text,
        format!("JoinHandle {{ id: {}, finished: false }}", h.id())
    );
    h.abort();
}

/// A payload that is not a string, and a blocking job (no id); and
/// `into_panic` on an aborted task blames its caller (as tokio's).
#[test]
fn join_error_words_and_into_panic_caller() {
    let rt = rt(1);
    let h = rt.spawn(async { std::panic::panic_any(5_u8) });
    let id = h.id();
    let err = rt.block_on(h).unwrap_err();
    assert_eq!(err.to_string(), format!("task {id} panicked"));
    assert_eq!(format!("{err:?}"), format!("Panic({id}, ..)"));
    let job = rt.spawn_blocking(|| panic!("in a job"));
    let err = rt.block_on(job).unwrap_err();
    assert_eq!(
        (err.id(), err.to_string()),
        (0, "task panicked: in a job".to_string())
    );
    let h = rt.spawn(std::future::pending::<()>());
    h.abort();
    let err = rt.block_on(h).unwrap_err();
    // The hook is the process's: it records (on this thread only) for the
    // length of one call.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| (l.file().to_string(), l.line()));
        PANICKED_AT.with(|p| *p.borrow_mut() = at);
    }));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| err.into_panic()));
    let line = line!() - 1;
    drop(std::panic::take_hook());
    std::panic::set_hook(prev);
    assert!(caught.is_err());
    assert_eq!(
        PANICKED_AT.with(|p| p.take()),
        Some((file!().to_string(), line))
    );
}

thread_local! {
    static PANICKED_AT: std::cell::RefCell<Option<(String, u32)>> =
        const { std::cell::RefCell::new(None) };
}

/// The names of this process's threads that start with `prefix` (Linux:
/// `/proc/self/task/*/comm`).
#[cfg(target_os = "linux")]
fn threads_named(prefix: &str) -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_owned())
        .filter(|name| name.starts_with(prefix))
        .collect()
}

/// Dropping a runtime, or shutting it down, joins its worker threads
/// (DESIGN.md: "drops every unfinished task's future ... and joins its
/// threads"): none is left once the call returns.
#[cfg(target_os = "linux")]
#[test]
fn drop_and_shutdown_join_the_worker_threads() {
    for (name, shutdown) in [("gust-t-drop", false), ("gust-t-shut", true)] {
        let rt = Builder::new().workers(3).thread_name(name).build().unwrap();
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
        // Each thread names itself as it starts.
        let start = Instant::now();
        while threads_named(name).len() < 3 {
            assert!(start.elapsed() < Duration::from_secs(10), "{name}");
            std::thread::sleep(Duration::from_millis(1));
        }
        if shutdown {
            rt.shutdown_timeout(Duration::from_secs(5));
        } else {
            drop(rt);
        }
        assert_eq!(threads_named(name), Vec::<String>::new(), "{name}");
    }
}

/// `shutdown_timeout` drops the futures of the tasks still unfinished,
/// parked ones and queued ones alike.
#[test]
fn shutdown_timeout_drops_unfinished_futures() {
    let drops = Arc::new(AtomicUsize::new(0));
    let rt = rt(2);
    for _ in 0..50 {
        let d = DropCount(drops.clone());
        rt.spawn(async move {
            let _d = d;
            pending::<()>().await
        });
    }
    let start = Instant::now();
    while rt.num_tasks() != 50 {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::yield_now();
    }
    rt.shutdown_timeout(Duration::from_secs(5));
    assert_eq!(drops.load(Ordering::SeqCst), 50);
}
