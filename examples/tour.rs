//! A tour of gust: every feature in one short run, each step printing what it
//! shows. `cargo run --release --example tour`.

use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use gust::context::ContextError;
use gust::select::Outcome;
use gust::sync::{Mutex, Semaphore};
use gust::time::{Ticker, Timer, after, sleep, timeout};
use gust::{Chan, Context, Select, TrySendError, WaitGroup, chan, errgroup, select};

fn step(title: &str) {
    let at = START.get().map(Instant::elapsed).unwrap_or_default();
    println!("\n== {title} (at {at:.1?})");
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

async fn goroutines() {
    step("go f(): spawn, JoinHandle, abort, panics");
    let handle = gust::spawn(async { 6 * 7 });
    println!("spawned task returned {}", handle.await.unwrap());

    let forever = gust::spawn(std::future::pending::<()>());
    forever.abort();
    let err = forever.await.unwrap_err();
    println!("aborted task: is_aborted() = {}", err.is_aborted());

    let boom = gust::spawn(async { panic!("a task panicked (this is the tour, not a bug)") });
    let err = boom.await.unwrap_err();
    println!(
        "panicking task: is_panic() = {}; the runtime serves on",
        err.is_panic()
    );

    let blocking = gust::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(20));
        "done on the blocking pool"
    });
    println!("spawn_blocking: {}", blocking.await.unwrap());
    println!("num_tasks() = {} (runtime.NumGoroutine)", gust::num_tasks());
}

async fn channels() {
    step("make(chan T): rendezvous, buffered, close, directional ends");
    let (tx, rx) = chan::<&str>(0);
    gust::spawn(async move {
        tx.send("handed over at a rendezvous").await.unwrap();
    });
    println!("received: {:?}", rx.recv().await);
    println!(
        "after the last sender left: {:?} (v, ok := <-ch gives ok = false)",
        rx.recv().await
    );

    let ch = Chan::<i32>::new(3);
    for i in 1..=3 {
        ch.try_send(i).unwrap();
    }
    match ch.try_send(4) {
        Err(TrySendError::Full(v)) => println!("buffer full: try_send handed {v} back"),
        other => println!("unexpected: {other:?}"),
    }
    println!("len = {}, cap = {}", ch.len(), ch.cap());
    println!("close() = {}, again = {}", ch.close(), ch.close());
    let mut drained = Vec::new();
    while let Some(v) = ch.recv().await {
        drained.push(v);
    }
    println!("drained after close: {drained:?}");
    match ch.send(5).await {
        Err(err) => println!("send on closed channel hands the value back: {}", err.0),
        Ok(()) => println!("unexpected: send on a closed channel succeeded"),
    }

    let ch = Chan::<u8>::new(1);
    let (only_send, only_recv) = (ch.sender(), ch.receiver()); // chan<- T, <-chan T
    only_send.send(1).await.unwrap();
    println!("directional ends: {:?}", only_recv.recv().await);
}

async fn selecting() {
    step("select: send and receive cases, default, nil channels, time.After");
    let (tx_a, rx_a) = chan::<u32>(1);
    let (tx_b, rx_b) = chan::<u32>(0);
    tx_a.send(1).await.unwrap();

    let got = select! {
        v = rx_a.recv() => format!("received {v:?} from a"),
        v = rx_b.recv() => format!("received {v:?} from b"),
        default => "nothing ready".to_string(),
    };
    println!("select with default: {got}");

    let got = select! {
        v = rx_a.recv() => format!("received {v:?} from a"),
        default => "nothing ready".to_string(),
    };
    println!("select with default again: {got}");

    let receiver = gust::spawn(async move { rx_b.recv().await });
    let outcome = select! {
        r = tx_b.send(7) => format!("sent on the rendezvous channel: {r:?}"),
        _ = after(Duration::from_secs(5)) => "timed out".to_string(),
    };
    println!("{outcome}; the receiver got {:?}", receiver.await.unwrap());

    let nil_channel_enabled = false;
    let start = Instant::now();
    let outcome = select! {
        v = rx_a.recv(), if nil_channel_enabled => format!("impossible: {v:?}"),
        t = after(Duration::from_millis(50)) => format!("time.After fired after {:?}", t - start),
    };
    println!("a disabled (nil) case is never chosen: {outcome}");

    // Uniform choice among ready cases.
    let (tx1, rx1) = chan::<()>(1000);
    let (tx2, rx2) = chan::<()>(1000);
    let mut counts = [0; 2];
    for _ in 0..1000 {
        let _ = tx1.try_send(());
        let _ = tx2.try_send(());
        select! {
            _ = rx1.recv() => counts[0] += 1,
            _ = rx2.recv() => counts[1] += 1,
        }
    }
    println!("1000 selects with both cases ready chose {counts:?}");

    // A loop over select reads like Go's for { select { ... } }. The data
    // channel is a rendezvous, so every value is taken before quit is sent.
    let (tx, rx) = chan::<u32>(0);
    let (quit_tx, quit_rx) = chan::<()>(0);
    gust::spawn(async move {
        for i in 0..4 {
            tx.send(i).await.unwrap();
        }
        quit_tx.send(()).await.unwrap();
    });
    let mut sum = 0;
    loop {
        select! {
            v = rx.recv() => sum += v.unwrap_or(0),
            _ = quit_rx.recv() => break,
        }
    }
    println!("for-select loop summed {sum} before quit");
}

async fn timers() {
    step("time: Sleep, Ticker, timeout, Timer with Go 1.23 Stop/Reset");
    let start = Instant::now();
    sleep(Duration::from_millis(30)).await;
    println!("slept {:?} (never less than asked)", start.elapsed());

    let ticker = Ticker::new(Duration::from_millis(20));
    for i in 1..=3 {
        let t = ticker.tick().await;
        println!("tick {i} at {:?}", t - start);
    }

    let slow = timeout(Duration::from_millis(10), sleep(Duration::from_secs(10))).await;
    println!("timeout(10ms, 10s sleep) = {slow:?}");

    let timer = Timer::new(Duration::from_secs(3600));
    println!("Timer.Stop on a pending timer = {}", timer.stop());
    println!(
        "Timer.Reset(5ms) on a stopped timer = {} (it was not pending)",
        timer.reset(Duration::from_millis(5))
    );
    let fired = timer.wait().await;
    println!("the timer fired {:?} after the start", fired - start);
}

async fn toolbox() {
    step("sync.Mutex, a weighted semaphore, reflect.Select, refutable patterns");
    let counter = Arc::new(Mutex::new(0));
    let wg = WaitGroup::new();
    for _ in 0..8 {
        let counter = counter.clone();
        wg.go(async move {
            for _ in 0..1000 {
                let mut n = counter.lock().await;
                *n += 1;
            }
        });
    }
    wg.wait().await;
    println!(
        "8 tasks x 1000 increments under a Mutex = {}",
        *counter.lock().await
    );

    let sem = Semaphore::new(3);
    let big = sem.acquire(3).await.unwrap();
    println!(
        "Semaphore(3): holding 3, try_acquire(1) = {}; acquire(4) = {:?}",
        sem.try_acquire(1).is_some(),
        sem.acquire(4).await.map(|p| p.count())
    );
    drop(big);

    let chans: Vec<Chan<usize>> = (0..5).map(|_| Chan::new(1)).collect();
    chans[3].try_send(30).unwrap();
    let mut sel = Select::new();
    for c in &chans {
        sel.recv(c);
    }
    match sel.wait().await {
        (i, Outcome::Recv(v)) => {
            println!("Select over 5 channels built at run time: case {i} got {v:?}")
        }
        (i, other) => println!("unexpected: case {i} {other:?}"),
    }

    let (tx, closed) = chan::<i32>(1);
    drop(tx);
    let (tx2, rx2) = chan::<i32>(1);
    tx2.try_send(7).unwrap();
    let got = select! {
        Some(v) = closed.recv() => format!("closed channel gave {v}"),
        Some(v) = rx2.recv() => format!("`Some(v) = closed.recv()` was skipped; got {v}"),
    };
    println!("{got}");
}

async fn waitgroups() {
    step("sync.WaitGroup: Add/Done/Wait and wg.Go");
    let wg = WaitGroup::new();
    let total = Arc::new(AtomicUsize::new(0));
    for i in 1..=10 {
        let total = total.clone();
        wg.go(async move {
            total.fetch_add(i, Ordering::Relaxed);
        });
    }
    wg.add(1);
    let done = wg.clone();
    std::thread::spawn(move || done.done());
    wg.wait().await;
    println!(
        "10 tasks and a thread done; sum = {}",
        total.load(Ordering::Relaxed)
    );
}

#[derive(Debug)]
struct Overheated;

impl fmt::Display for Overheated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the reactor overheated")
    }
}

impl Error for Overheated {}

#[derive(Debug, Clone, Copy)]
struct RequestId(u64);

async fn contexts() {
    step("context: cancel, timeout, values, cause");
    let root = Context::background().with_value(RequestId(42));
    let (ctx, cancel) = root.with_cancel();
    let child = ctx.with_value("child value");
    let waiter = gust::spawn({
        let child = child.clone();
        async move {
            child.done().await;
            child.err()
        }
    });
    cancel.cancel_with_cause(Overheated);
    println!(
        "child saw {:?}; cause: {}",
        waiter.await.unwrap(),
        child.cause().unwrap()
    );
    println!(
        "the request id seen through the tree: {:?}",
        child.value::<RequestId>().map(|id| id.0)
    );

    let (ctx, _cancel) = Context::background().with_timeout(Duration::from_millis(30));
    let result = ctx.run(sleep(Duration::from_secs(10))).await;
    println!("run(10s sleep) under a 30 ms timeout: {result:?}");
    assert_eq!(result, Err(ContextError::DeadlineExceeded));
}

async fn errgroups() {
    step("errgroup: the first error cancels the group, SetLimit bounds it");
    let (group, ctx) = errgroup::Group::with_context(&Context::background());
    group.set_limit(2);
    for i in 0..6u32 {
        let ctx = ctx.clone();
        group.go(async move {
            if i == 3 {
                return Err(format!("job {i} failed"));
            }
            select! {
                _ = ctx.done() => Ok(()),
                _ = sleep(Duration::from_millis(5)) => Ok(()),
            }
        });
    }
    println!(
        "wait() = {:?}; the group's context is done: {}",
        group.wait().await,
        ctx.is_done()
    );
}

fn main() {
    let start = *START.get_or_init(Instant::now);
    gust::block_on(async {
        goroutines().await;
        channels().await;
        selecting().await;
        timers().await;
        toolbox().await;
        waitgroups().await;
        contexts().await;
        errgroups().await;
    });
    println!("\ntour finished in {:.2?}", start.elapsed());
}
