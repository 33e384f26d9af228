//! The README's test file in the style of Go's `testing/synctest`: virtual
//! time and the deadlock detector under `#[gust::test]`.

use gust::time;
use std::time::Duration;

#[gust::test(start_paused = true)]
async fn a_slow_backend_times_out_after_an_hour() {
    let (tx, rx) = gust::chan::<&'static str>(0);
    gust::spawn(async move {
        time::sleep(Duration::from_secs(2 * 3600)).await; // slower than the timeout
        let _ = tx.send("late").await;
    });
    let start = time::now();
    let r = time::timeout(Duration::from_secs(3600), rx.recv()).await;
    assert!(r.is_err());
    assert_eq!(time::now() - start, Duration::from_secs(3600)); // exactly, on the virtual clock
}

#[gust::test]
#[should_panic(expected = "all tasks are asleep - deadlock!")]
async fn a_forgotten_worker_is_reported() {
    let (_tx, rx) = gust::chan::<u32>(0); // nobody ever sends
    rx.recv().await;
}
