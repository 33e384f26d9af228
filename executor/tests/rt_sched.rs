//! Scheduling behaviour: ping-pong on one worker, blocking calls, yield,
//! idle CPU, GUST_WORKERS.

use gust_executor::runtime::Builder;
use gust_executor::{spawn, spawn_blocking, yield_now};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// A tiny single-slot channel made of std and wakers.
struct Slot<T> {
    inner: Mutex<(Option<T>, Option<Waker>)>,
}

impl<T> Slot<T> {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new((None, None)),
        })
    }

    fn send(&self, v: T) {
        let mut g = self.inner.lock().unwrap();
        assert!(g.0.is_none());
        g.0 = Some(v);
        if let Some(w) = g.1.take() {
            drop(g);
            w.wake();
        }
    }

    fn recv(self: &Arc<Self>) -> Recv<T> {
        Recv(self.clone())
    }
}

struct Recv<T>(Arc<Slot<T>>);

impl<T> Future for Recv<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut g = self.0.inner.lock().unwrap();
        match g.0.take() {
            Some(v) => Poll::Ready(v),
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[test]
fn ping_pong_one_worker() {
    let rt = Builder::new().workers(1).build().unwrap();
    const ROUNDS: u32 = if cfg!(miri) { 50 } else { 20_000 };
    let ping = Slot::new();
    let pong = Slot::new();
    let (ping2, pong2) = (ping.clone(), pong.clone());
    let a = rt.spawn(async move {
        for i in 0..ROUNDS {
            ping2.send(i);
            assert_eq!(pong2.recv().await, i);
        }
    });
    let b = rt.spawn(async move {
        for _ in 0..ROUNDS {
            let v = ping.recv().await;
            pong.send(v);
        }
    });
    rt.block_on(async {
        a.await.unwrap();
        b.await.unwrap();
    });
}

#[test]
fn spawn_blocking_does_not_stall_the_worker() {
    // Ordered, not timed: the blocking job waits until the worker has run
    // 100 tasks; had the job taken the worker, those tasks could not run
    // until it gave up, and it would say so.
    let rt = Builder::new().workers(1).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let blocking = spawn_blocking(move || rx.recv_timeout(Duration::from_secs(30)).is_ok());
        // Meanwhile, the single worker keeps running tasks.
        for _ in 0..100 {
            spawn(async { yield_now().await }).await.unwrap();
        }
        tx.send(()).unwrap();
        assert!(
            blocking.await.unwrap(),
            "the tasks ran only after the blocking job gave up"
        );
    });
}

#[test]
fn spawn_blocking_panics_and_many_at_once() {
    let err = gust_executor::block_on(spawn_blocking(|| panic!("blocking boom"))).unwrap_err();
    assert!(err.is_panic());
    // They run in parallel, not one after another: each job waits until
    // all eight have started (ordered, not timed; one after another, the
    // first would wait for the others in vain).
    const JOBS: usize = 8;
    let started = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..JOBS)
        .map(|_| {
            let started = started.clone();
            spawn_blocking(move || {
                started.fetch_add(1, Ordering::SeqCst);
                let deadline = Instant::now() + Duration::from_secs(30);
                while started.load(Ordering::SeqCst) < JOBS {
                    if Instant::now() > deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                true
            })
        })
        .collect();
    for h in hs {
        assert!(
            gust_executor::block_on(h).unwrap(),
            "the blocking jobs did not all run at once"
        );
    }
}

#[test]
fn yield_now_lets_others_run() {
    let rt = Builder::new().workers(1).build().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let f2 = flag.clone();
    rt.block_on(async move {
        let spinner = spawn(async move {
            let mut n = 0u64;
            while !f2.load(Ordering::SeqCst) {
                yield_now().await;
                n += 1;
            }
            n
        });
        let setter = spawn(async move { flag.store(true, Ordering::SeqCst) });
        setter.await.unwrap();
        assert!(spinner.await.unwrap() >= 1);
    });
}

#[test]
fn wakes_from_foreign_threads() {
    let rt = Builder::new().workers(2).build().unwrap();
    let n = 1000;
    let count = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let slot = Slot::<u32>::new();
            let s2 = slot.clone();
            let count = count.clone();
            let h = rt.spawn(async move {
                slot.recv().await;
                count.fetch_add(1, Ordering::SeqCst);
            });
            std::thread::spawn(move || s2.send(1));
            h
        })
        .collect();
    rt.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(count.load(Ordering::SeqCst), n);
}

#[test]
#[cfg_attr(miri, ignore)]
fn idle_runtime_burns_no_cpu() {
    // A thread name of its own: other tests' runtimes run alongside.
    let rt = Builder::new()
        .workers(2)
        .thread_name("idle-test")
        .build()
        .unwrap();
    // Some work first, then idle.
    rt.block_on(async {
        for _ in 0..1000 {
            spawn(async {}).await.unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(100)); // let the workers park
    // Other tests of this binary run in parallel; measure only the workers'
    // threads through /proc/self/task/*/stat (utime + stime, 100 Hz ticks).
    let worker_ticks = || -> u64 {
        let mut sum = 0;
        for e in std::fs::read_dir("/proc/self/task").unwrap() {
            let p = e.unwrap().path();
            let Ok(comm) = std::fs::read_to_string(p.join("comm")) else {
                continue;
            };
            if !comm.starts_with("idle-test") {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(p.join("stat")) else {
                continue;
            };
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            sum += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        }
        sum
    };
    let before = worker_ticks();
    std::thread::sleep(Duration::from_secs(1));
    let used = worker_ticks() - before;
    // 1% of a core over 1 s is 1 tick at 100 Hz.
    assert!(used <= 1, "idle workers used {used} ticks in 1 s");
}

#[test]
#[cfg_attr(miri, ignore)]
fn bad_gust_workers_fails_naming_it() {
    if std::env::var_os("GUST_CHILD").is_some() {
        // In the child: start the global runtime.
        let _ = gust_executor::block_on(spawn(async {}));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["bad_gust_workers_fails_naming_it", "--exact", "--nocapture"])
        .env("GUST_CHILD", "1")
        .env("GUST_WORKERS", "abc")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "child succeeded: {stdout}");
    assert!(
        stderr.contains("GUST_WORKERS") || stdout.contains("GUST_WORKERS"),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains("\"abc\"") || stdout.contains("\"abc\""),
        "{stderr}"
    );
}

/// Two tasks that can only finish while both run at once: each waits for
/// the other to arrive, blocking its worker thread.
fn rendezvous_pair(arrived: &Arc<AtomicUsize>) -> impl Future<Output = bool> + Send + 'static {
    let arrived = arrived.clone();
    async move {
        arrived.fetch_add(1, Ordering::SeqCst);
        let start = Instant::now();
        while arrived.load(Ordering::SeqCst) < 2 {
            if start.elapsed() > Duration::from_secs(5) {
                return false;
            }
            std::thread::yield_now();
        }
        true
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn both_workers_run_in_parallel() {
    let rt = Builder::new().workers(2).build().unwrap();
    // Spawned from outside (injection queue + wake).
    let arrived = Arc::new(AtomicUsize::new(0));
    let a = rt.spawn(rendezvous_pair(&arrived));
    let b = rt.spawn(rendezvous_pair(&arrived));
    assert!(rt.block_on(a).unwrap() && rt.block_on(b).unwrap());
    // Spawned from a task (LIFO slot + local queue, stolen by the other
    // worker), repeatedly, so the workers park and wake in between.
    for _ in 0..20 {
        let arrived = Arc::new(AtomicUsize::new(0));
        let ok = rt.block_on(rt.spawn(async move {
            let a = spawn(rendezvous_pair(&arrived));
            let b = spawn(rendezvous_pair(&arrived));
            a.await.unwrap() && b.await.unwrap()
        }));
        assert!(ok.unwrap());
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A future that is woken from another thread while it runs, many times:
/// it must never be polled twice at once, and a wake while running must
/// lead to one more poll.
struct NoOverlap {
    in_poll: Arc<AtomicBool>,
    polls: u32,
    waker_tx: std::sync::mpsc::Sender<Waker>,
}

impl Future for NoOverlap {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        assert!(
            !self.in_poll.swap(true, Ordering::SeqCst),
            "polled twice at once"
        );
        self.polls += 1;
        let _ = self.waker_tx.send(cx.waker().clone());
        // Stay in poll a moment so that the wake lands while running.
        for _ in 0..200 {
            std::hint::spin_loop();
        }
        self.in_poll.store(false, Ordering::SeqCst);
        if self.polls == 2_000 {
            Poll::Ready(self.polls)
        } else {
            Poll::Pending
        }
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn woken_while_running_is_polled_again_never_concurrently() {
    let rt = Builder::new().workers(2).build().unwrap();
    let (waker_tx, waker_rx) = std::sync::mpsc::channel::<Waker>();
    let waker_thread = std::thread::spawn(move || {
        for w in waker_rx {
            w.wake_by_ref();
            w.wake();
        }
    });
    let h = rt.spawn(NoOverlap {
        in_poll: Arc::new(AtomicBool::new(false)),
        polls: 0,
        waker_tx,
    });
    assert_eq!(rt.block_on(h).unwrap(), 2_000);
    waker_thread.join().unwrap();
}

#[test]
fn spawn_inside_spawn_blocking_uses_the_callers_runtime() {
    let rt = Builder::new()
        .workers(1)
        .thread_name("sb-rt")
        .build()
        .unwrap();
    let name = rt.block_on(async {
        spawn_blocking(|| spawn(async { std::thread::current().name().map(String::from) }))
            .await
            .unwrap()
            .await
            .unwrap()
    });
    assert_eq!(name.as_deref(), Some("sb-rt-0"));
}

#[test]
fn busy_yielding_task_does_not_starve_the_injection_queue() {
    let rt = Builder::new().workers(1).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let spinner = rt.spawn(async move {
        while !s2.load(Ordering::SeqCst) {
            yield_now().await;
        }
    });
    // Spawned from outside while the only worker is busy yielding.
    let start = Instant::now();
    let h = rt.spawn(async { Instant::now() });
    let ran_at = rt.block_on(h).unwrap();
    assert!(ran_at - start < Duration::from_secs(1));
    stop.store(true, Ordering::SeqCst);
    rt.block_on(spinner).unwrap();
}

/// A future that counts its polls.
struct CountPolls<F>(Pin<Box<F>>, Arc<AtomicUsize>);

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.as_mut().poll(cx)
    }
}

/// A task that finishes wakes its joiner at the back of the queue, not in
/// the LIFO slot: joining many tasks then does not cost a poll (and a waker
/// registration and a wake) of the joiner per task.
#[test]
fn joiner_woken_by_finishing_tasks_is_not_polled_per_task() {
    const TASKS: usize = if cfg!(miri) { 40 } else { 2_000 };
    let rt = Builder::new().workers(1).build().unwrap();
    let polls = Arc::new(AtomicUsize::new(0));
    let root = CountPolls(
        Box::pin(async {
            let hs: Vec<_> = (0..TASKS).map(|i| spawn(async move { i })).collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await.unwrap();
            }
            sum
        }),
        polls.clone(),
    );
    assert_eq!(
        rt.block_on(rt.spawn(root)).unwrap(),
        TASKS * (TASKS - 1) / 2
    );
    let polls = polls.load(Ordering::Relaxed);
    assert!(
        polls <= TASKS / 4,
        "joiner polled {polls} times for {TASKS} tasks"
    );
}
