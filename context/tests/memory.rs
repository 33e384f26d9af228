//! A long-lived parent with many short-lived children does not grow: each
//! child unregisters when it ends, and a deadline child frees its timer when
//! cancelled early. One test in its own process, so that no other test's
//! allocations disturb the resident-set measurement.

use std::time::Duration;

use gust_context::Context;

/// The resident set size of this process, in KiB (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn one_million_short_lived_children_do_not_grow_the_parent() {
    let (parent, _cancel) = Context::background().with_cancel();
    let churn = |n: usize| {
        for _ in 0..n {
            let (child, cancel) = parent.with_cancel();
            cancel.cancel();
            drop(child);
        }
    };
    // Warm up allocator caches, then measure.
    churn(10_000);
    let before = rss_kib();
    churn(1_000_000);
    // Children that live a while, then end by drop of their CancelFunc.
    for _ in 0..100 {
        let batch: Vec<_> = (0..1000).map(|_| parent.with_cancel()).collect();
        drop(batch);
    }
    let after = rss_kib();
    if let (Some(before), Some(after)) = (before, after) {
        let grew = after.saturating_sub(before);
        assert!(grew < 4 * 1024, "1M children grew RSS by {grew} KiB");
        eprintln!("RSS before {before} KiB, after {after} KiB, grew {grew} KiB");
    }
    assert!(!parent.is_done());

    // Deadline children cancelled early stop their timers: the executor's
    // timer table goes back to where it was.
    let timers_before = gust_executor::time::__pending_timers();
    for _ in 0..100_000 {
        let (_child, cancel) = parent.with_timeout(Duration::from_secs(3600));
        drop(cancel);
    }
    let held: Vec<_> = (0..1000)
        .map(|_| parent.with_timeout(Duration::from_secs(3600)))
        .collect();
    assert_eq!(
        gust_executor::time::__pending_timers(),
        timers_before + 1000,
        "one timer per live deadline context"
    );
    drop(held);
    assert_eq!(gust_executor::time::__pending_timers(), timers_before);
    if let (Some(before), Some(after)) = (before, rss_kib()) {
        let grew = after.saturating_sub(before);
        assert!(grew < 4 * 1024, "deadline children grew RSS by {grew} KiB");
    }
}
