//! The seeing-inside knobs, each in a child process of this test binary
//! (environment variables and signals are per process): `GUST_DEADLOCK`,
//! `GUST_SIGQUIT_DUMP`, their defaults and their `Builder` settings, and
//! the global runtime's default size.

mod common;

use common::{child, is_child};
use gust_executor::runtime::Builder;
use std::process::{Command, Output};
use std::time::Duration;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A "deadlock" that a plain thread ends after 2 s (far past the
/// detector's 100 ms grace, so that a loaded machine still reports it
/// first): reported, unless the detector is off.
fn block_until_a_plain_thread_sends(rt: &gust_executor::runtime::Runtime) -> Option<u8> {
    let (tx, rx) = gust_chan::chan::<u8>(0);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        let _ = tx.send_blocking(5);
    });
    let got = rt.block_on(async move { rx.recv().await });
    t.join().unwrap();
    got
}

#[test]
fn warn_prints_the_report_once_and_goes_on() {
    warned_once_and_went_on(&child("warn_child", &[("GUST_DEADLOCK", "warn")]));
}

/// What `warn_child` printed under `warn`: the report once, Go's words on
/// a line of their own, and the program went on.
fn warned_once_and_went_on(out: &Output) {
    let (stdout, stderr) = text(out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("got Some(5)"), "{stdout}");
    assert_eq!(
        stderr.matches("all tasks are asleep - deadlock!").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("block_on 1 [chan receive"), "{stderr}");
    // Go's words start the line, as in the panic's message.
    assert!(
        stderr
            .lines()
            .any(|l| l == "all tasks are asleep - deadlock!"),
        "{stderr}"
    );
}

#[test]
fn warn_child() {
    if !is_child("warn_child") {
        return;
    }
    let rt = Builder::new().workers(1).build().unwrap();
    println!("got {:?}", block_until_a_plain_thread_sends(&rt));
}

#[test]
fn the_environment_overrides_the_test_default() {
    let out = child("off_child", &[("GUST_DEADLOCK", "off")]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("got Some(5)"), "{stdout}");
    assert!(!stderr.contains("deadlock"), "{stderr}");
}

#[test]
fn off_child() {
    if !is_child("off_child") {
        return;
    }
    // `#[gust::test]`'s runtime: `panic` unless the environment says.
    let rt = Builder::new().workers(1).__test().build().unwrap();
    println!("got {:?}", block_until_a_plain_thread_sends(&rt));
}

#[test]
fn panic_from_the_environment() {
    let out = child("panic_child", &[("GUST_DEADLOCK", "panic")]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("all tasks are asleep - deadlock!"),
        "{stderr}"
    );
}

#[test]
fn panic_child() {
    if !is_child("panic_child") {
        return;
    }
    let rt = Builder::new().workers(2).build().unwrap();
    println!("got {:?}", block_until_a_plain_thread_sends(&rt));
}

#[test]
fn a_main_that_forgot_its_worker_is_reported() {
    // Go's classic: `func main() { ch := make(chan int); <-ch }`, with
    // nothing spawned (the global runtime was never started).
    let out = child("forgot_worker_child", &[("GUST_DEADLOCK", "panic")]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("all tasks are asleep - deadlock!"),
        "{stderr}"
    );
    assert!(stderr.contains("block_on"), "{stderr}");
    assert!(stderr.contains("[chan receive, "), "{stderr}");
}

#[test]
fn forgot_worker_child() {
    if !is_child("forgot_worker_child") {
        return;
    }
    let (_tx, rx) = gust_chan::chan::<u8>(0);
    gust_executor::block_on(async move { rx.recv().await });
}

#[test]
fn a_bad_value_is_an_error_naming_the_variable() {
    for (var, value) in [("GUST_DEADLOCK", "sometimes"), ("GUST_SIGQUIT_DUMP", "yes")] {
        let out = child("bad_value_child", &[(var, value)]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}{stderr}");
        assert!(
            stdout.contains(&format!("error: gust: invalid {var}=\"{value}\": expected")),
            "{stdout}"
        );
    }
}

#[test]
fn bad_value_child() {
    if !is_child("bad_value_child") {
        return;
    }
    let err = Builder::new().build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    println!("error: {err}");
}

#[cfg(unix)]
#[test]
fn sigquit_prints_every_task_and_the_program_goes_on() {
    let stderr = sigquit_dump_of("sigquit_child", &[("GUST_SIGQUIT_DUMP", "1")]);
    assert!(stderr.contains("\"stuck\" [chan receive, "), "{stderr}");
    assert!(
        stderr.contains("spawned at executor/tests/trace_env.rs:"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn sigquit_child() {
    if !is_child("sigquit_child") {
        return;
    }
    stuck_task_then_sigquit(&Builder::new().workers(1).build().unwrap());
}

/// Runs the child `test` (one that ends in [`stuck_task_then_sigquit`]):
/// it must succeed, go on past the signal and print a dump; returns its
/// stderr.
#[cfg(unix)]
fn sigquit_dump_of(test: &str, env: &[(&str, &str)]) -> String {
    let out = child(test, env);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("still here"), "{stdout}");
    assert!(stderr.contains("SIGQUIT: gust task dump"), "{stderr}");
    stderr
}

/// A task named "stuck" waits on a channel; this process sends itself
/// SIGQUIT, gives the handler time to print, then lets the task end.
#[cfg(unix)]
fn stuck_task_then_sigquit(rt: &gust_executor::runtime::Runtime) {
    stuck_tasks_then_sigquit(&[(rt, "stuck")]);
}

/// [`stuck_task_then_sigquit`] with a task of the given name on each of
/// several runtimes.
#[cfg(unix)]
fn stuck_tasks_then_sigquit(rts: &[(&gust_executor::runtime::Runtime, &str)]) {
    let (tx, rx) = gust_chan::chan::<u8>(0);
    let handles: Vec<_> = rts
        .iter()
        .map(|&(rt, name)| {
            let rx = rx.clone();
            let h = gust_executor::task::Builder::new()
                .name(name)
                .spawn_on(async move { rx.recv().await }, rt);
            // Let it start waiting.
            while rt.dump().tasks().first().and_then(|t| t.wait()).is_none() {
                std::thread::sleep(Duration::from_millis(1));
            }
            (rt, h)
        })
        .collect();
    // Then send ourselves SIGQUIT.
    let status = Command::new("kill")
        .args(["-QUIT", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Time for the handler's thread to print (nothing here can see it
    // done; 2 s leaves room on a loaded machine).
    std::thread::sleep(Duration::from_secs(2));
    drop(tx);
    for (rt, h) in handles {
        assert_eq!(rt.block_on(h).unwrap(), None);
    }
    println!("still here");
}

/// DESIGN.md: SIGQUIT prints *every* runtime's dump: two runtimes, a stuck
/// task on each, both in the one dump, each under its runtime's heading.
#[cfg(unix)]
#[test]
fn sigquit_prints_the_tasks_of_every_runtime() {
    let stderr = sigquit_dump_of("sigquit_two_runtimes_child", &[("GUST_SIGQUIT_DUMP", "1")]);
    assert_eq!(
        stderr.matches("SIGQUIT: gust task dump").count(),
        1,
        "{stderr}"
    );
    for needle in [
        "runtime 0:",
        "runtime 1:",
        "\"stuck a\" [chan receive, ",
        "\"stuck b\" [chan receive, ",
    ] {
        assert!(stderr.contains(needle), "{needle} missing:\n{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn sigquit_two_runtimes_child() {
    if !is_child("sigquit_two_runtimes_child") {
        return;
    }
    let a = Builder::new().workers(1).build().unwrap();
    let b = Builder::new().workers(1).build().unwrap();
    stuck_tasks_then_sigquit(&[(&a, "stuck a"), (&b, "stuck b")]);
}

/// `GUST_WORKERS` sizes every runtime whose `Builder` was not told a
/// worker count, as Go's `GOMAXPROCS` the whole process (found by a trial
/// from outside: only the global runtime read it); a bad value is
/// `build`'s error, naming the variable.
#[test]
fn gust_workers_sizes_every_default_builder() {
    let out = child("workers_child", &[("GUST_WORKERS", "3")]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = child("bad_workers_child", &[("GUST_WORKERS", "lots")]);
    assert!(out.status.success(), "{:?}", text(&out));
}

#[test]
fn workers_child() {
    if !is_child("workers_child") {
        return;
    }
    assert_eq!(Builder::new().build().unwrap().num_workers(), 3);
    assert_eq!(Builder::new().workers(2).build().unwrap().num_workers(), 2);
}

#[test]
fn bad_workers_child() {
    if !is_child("bad_workers_child") {
        return;
    }
    let e = Builder::new().build().unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert!(e.to_string().contains("GUST_WORKERS=\"lots\""), "{e}");
    assert_eq!(Builder::new().workers(1).build().unwrap().num_workers(), 1);
}

/// With neither `GUST_DEADLOCK` nor `Builder::on_deadlock`, a runtime
/// warns (DESIGN.md: "The default is `warn`"): the report once on stderr,
/// and the program goes on when the plain thread sends.
#[test]
fn warn_is_the_default() {
    warned_once_and_went_on(&child("warn_child", &[]));
}

/// Under virtual time the default is `panic`, outside `#[gust::test]` too
/// (DESIGN.md: "`panic` under `#[gust::test]` and virtual time").
#[test]
fn virtual_time_panics_by_default() {
    let out = child("paused_default_child", &[]);
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}{stderr}");
    assert!(
        stderr.contains("all tasks are asleep - deadlock!"),
        "{stderr}"
    );
    assert!(!stdout.contains("got "), "{stdout}");
}

#[test]
fn paused_default_child() {
    if !is_child("paused_default_child") {
        return;
    }
    let rt = Builder::new()
        .workers(1)
        .start_paused(true)
        .build()
        .unwrap();
    println!("got {:?}", block_until_a_plain_thread_sends(&rt));
}

/// `Builder::dump_on_sigquit(true)`, with `GUST_SIGQUIT_DUMP` unset, prints
/// the dump as the variable does, and the program goes on.
#[cfg(unix)]
#[test]
fn the_builder_turns_the_sigquit_dump_on() {
    let stderr = sigquit_dump_of("sigquit_builder_child", &[]);
    assert!(stderr.contains("\"stuck\" [chan receive, "), "{stderr}");
}

#[cfg(unix)]
#[test]
fn sigquit_builder_child() {
    if !is_child("sigquit_builder_child") {
        return;
    }
    let rt = Builder::new()
        .workers(1)
        .dump_on_sigquit(true)
        .build()
        .unwrap();
    stuck_task_then_sigquit(&rt);
}

/// The global runtime has one worker per core when `GUST_WORKERS` is not
/// set (DESIGN.md: "one worker per core ... like `GOMAXPROCS`").
#[test]
fn the_global_runtime_has_one_worker_per_core() {
    let out = child("global_workers_child", &[("GUST_WORKERS", "")]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(text(&out).0.contains("workers ok"), "{:?}", text(&out));
}

#[test]
fn global_workers_child() {
    if !is_child("global_workers_child") {
        return;
    }
    gust_executor::block_on(gust_executor::spawn(async {})).unwrap();
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(gust_executor::runtime::metrics().num_workers(), cores);
    println!("workers ok");
}
