//! `Runtime::metrics`: the counters move as the runtime works.

use gust_executor::runtime::Builder;
use std::time::Duration;

#[test]
fn metrics_count_spawns_polls_parks_and_busy_time() {
    let rt = Builder::new().workers(2).build().unwrap();
    let before = rt.metrics();
    assert_eq!(before.num_workers(), 2);
    assert_eq!(before.spawned_tasks(), 0);
    rt.block_on(async {
        let hs: Vec<_> = (0..1_000)
            .map(|i| {
                gust_executor::spawn(async move {
                    gust_executor::yield_now().await;
                    i
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        // Spawns from a task count on its worker.
        gust_executor::spawn(async { gust_executor::spawn(async {}).await.unwrap() })
            .await
            .unwrap();
    });
    // Let the workers park.
    std::thread::sleep(Duration::from_millis(100));
    let m = rt.metrics();
    assert_eq!(m.spawned_tasks(), 1_002);
    assert_eq!(m.live_tasks(), 0);
    assert!(m.total_polls() >= 2_000, "{m:?}"); // each task yields once
    assert!(
        m.workers().iter().map(|w| w.parks()).sum::<u64>() >= 1,
        "{m:?}"
    );
    assert!(
        m.workers()
            .iter()
            .any(|w| w.busy_duration() > Duration::ZERO),
        "{m:?}"
    );
    assert_eq!(m.injection_queue_depth(), 0);
    assert!(m.workers().iter().all(|w| w.local_queue_depth() == 0));
}

#[test]
fn live_tasks_and_queue_depth() {
    let rt = Builder::new().workers(1).build().unwrap();
    let hs: Vec<_> = (0..10)
        .map(|_| rt.spawn(std::future::pending::<()>()))
        .collect();
    let m = rt.metrics();
    assert_eq!(m.live_tasks(), 10);
    assert_eq!(m.spawned_tasks(), 10);
    for h in &hs {
        h.abort();
    }
    for h in hs {
        assert!(rt.block_on(h).unwrap_err().is_aborted());
    }
    assert_eq!(rt.metrics().live_tasks(), 0);
}
