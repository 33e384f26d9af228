//! `#[gust::main]` and `#[gust::test]`, as users write them.

use std::sync::atomic::{AtomicUsize, Ordering};

/// One test of this binary alone in a child process (`mod runtime_error`).
#[path = "../executor/tests/common/mod.rs"]
mod child_process;

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

/// `crate = "..."`: a crate that renamed its gust dependency
/// (`g = { package = "gust", .. }`) names the facade's path, and the
/// expansion uses it (here the path is a `use` alias).
mod renamed_facade {
    use gust as g;

    #[g::test(crate = "g")]
    async fn a_test_through_the_renamed_path() {
        assert_eq!(g::spawn(async { 3 }).await.unwrap(), 3);
    }

    #[g::main(workers = 1, crate = "g")]
    async fn entry() -> u8 {
        4
    }

    #[g::main(crate = "g")]
    async fn entry_on_the_global_runtime() -> u8 {
        5
    }

    #[test]
    fn main_through_the_renamed_path() {
        assert_eq!(entry(), 4);
        assert_eq!(entry_on_the_global_runtime(), 5);
    }
}

/// The expansion puts no `expect`, `unwrap` or `panic!` in the user's
/// function: a crate that denies these restriction lints still builds
/// (CI's clippy stage checks this module).
#[deny(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
mod lint_clean {
    #[gust::test(workers = 2)]
    async fn with_workers() {}

    #[gust::test(start_paused = true)]
    async fn on_virtual_time() {}

    #[gust::main(workers = 1)]
    async fn entry() {}

    #[test]
    fn main_with_workers() {
        entry();
    }
}

/// A runtime the attribute cannot start: its error reads as the global
/// runtime's does, naming the setting at fault (not `Debug` of an
/// `io::Error`).
mod runtime_error {
    use super::child_process::{child, is_child};

    #[gust::main(workers = 1)]
    async fn entry() {}

    /// Run by `a_bad_setting_is_named_in_words`.
    #[test]
    fn child_starts_a_runtime() {
        if is_child("runtime_error::child_starts_a_runtime") {
            entry();
        }
    }

    #[test]
    fn a_bad_setting_is_named_in_words() {
        let out = child(
            "runtime_error::child_starts_a_runtime",
            &[("GUST_PANIC", "bogus")],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("gust: cannot start the runtime: invalid GUST_PANIC=\"bogus\""),
            "{err}"
        );
        assert!(!err.contains("Custom {"), "{err}");
    }
}
