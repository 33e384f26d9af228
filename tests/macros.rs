//! `#[gust::main]` and `#[gust::test]`, as users write them.

use std::sync::atomic::{AtomicUsize, Ordering};

#[gust::test]
async fn a_test_on_a_fresh_runtime() {
    let h = gust::spawn(async { 40 + 2 });
    assert_eq!(h.await.unwrap(), 42);
    assert_eq!(
        gust::num_tasks(),
        0,
        "a fresh runtime: only this test's tasks"
    );
}

#[gust::test(workers = 2)]
async fn two_workers_run_in_parallel() {
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let hs: Vec<_> = (0..2)
        .map(|_| {
            gust::spawn(async {
                STARTED.fetch_add(1, Ordering::SeqCst);
                // Both tasks must be running at once to get past this.
                let t = std::time::Instant::now();
                while STARTED.load(Ordering::SeqCst) < 2 {
                    assert!(t.elapsed().as_secs() < 30, "the second worker never ran");
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

#[gust::test]
async fn a_test_may_return_a_result() -> Result<(), String> {
    let (tx, rx) = gust::chan::<&'static str>(1);
    tx.send("ok").await.map_err(|e| e.to_string())?;
    assert_eq!(rx.recv().await, Some("ok"));
    Ok(())
}

#[gust::test]
async fn the_body_need_not_be_send() {
    let rc = std::rc::Rc::new(5);
    gust::yield_now().await;
    assert_eq!(*rc, 5);
}

/// `#[gust::main]` on a function other than `main` (what the macro expands
/// to is an ordinary `fn`).
#[gust::main(workers = 1)]
async fn entry() -> usize {
    gust::spawn(async { 7 }).await.unwrap()
}

#[gust::main]
async fn entry_on_the_global_runtime() -> usize {
    gust::spawn(async { 8 }).await.unwrap()
}

#[test]
fn main_attribute_runs_the_body() {
    assert_eq!(entry(), 7);
    assert_eq!(entry_on_the_global_runtime(), 8);
}
