//! `GUST_PANIC=exit` (`UnhandledPanic::Exit`): a panic in a task nobody
//! joins ends the process with status 2 after the panic message, as in Go;
//! a joined panic does not. Run as child processes of this test binary.

mod common;

use common::{child, is_child};
use std::time::Duration;

#[test]
fn a_detached_panic_exits_2() {
    let out = child("detached_panic_child", &[("GUST_PANIC", "exit")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("boom in a detached task"), "{stderr}");
    assert!(stderr.contains("nobody joined"), "{stderr}");
}

#[test]
fn detached_panic_child() {
    if !is_child("detached_panic_child") {
        return;
    }
    drop(gust_executor::spawn(async {
        panic!("boom in a detached task")
    }));
    std::thread::sleep(Duration::from_secs(10));
    // Not reached: the process exited.
}

#[test]
fn a_joined_panic_does_not_exit() {
    let out = child("joined_panic_child", &[("GUST_PANIC", "exit")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("joined: ok"), "{stdout}");
}

#[test]
fn joined_panic_child() {
    if !is_child("joined_panic_child") {
        return;
    }
    let err =
        gust_executor::block_on(gust_executor::spawn(async { panic!("joined") })).unwrap_err();
    assert!(err.is_panic());
    println!("joined: ok");
}

#[test]
fn report_is_the_default() {
    let out = child("report_child", &[("GUST_PANIC", "report")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("went on: ok"), "{stdout}");
}

#[test]
fn report_child() {
    if !is_child("report_child") {
        return;
    }
    let rt = gust_executor::runtime::Builder::new()
        .workers(1)
        .build()
        .unwrap();
    drop(rt.spawn(async { panic!("reported, then forgotten") }));
    assert_eq!(rt.block_on(rt.spawn(async { 7 })).unwrap(), 7);
    drop(rt);
    println!("went on: ok");
}

#[test]
fn a_bad_value_is_an_error_naming_the_variable() {
    if std::env::var(common::CHILD).is_ok() {
        return;
    }
    // The variable is read by `build` (not set here: other tests of this
    // binary run in parallel); check the parser through a child instead.
    let out = child("bad_value_child", &[("GUST_PANIC", "sometimes")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("GUST_PANIC=\"sometimes\""), "{stdout}");
}

#[test]
fn bad_value_child() {
    if !is_child("bad_value_child") {
        return;
    }
    let err = gust_executor::runtime::Builder::new().build().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    println!("{err}");
}

/// A `spawn_blocking` job whose handle was dropped is a detached `go f()`
/// too (Go has only goroutines): its panic exits 2 under `GUST_PANIC=exit`,
/// as does one in an `after_func` callback (Go's `AfterFunc` runs `f` in
/// a goroutine of its own). It exited 0 and the program went on.
#[test]
fn a_detached_blocking_job_panic_exits_2() {
    for which in ["job", "after_func"] {
        let out = child(
            "detached_blocking_panic_child",
            &[("GUST_PANIC", "exit"), ("WHICH", which)],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{which}: stderr: {stderr}");
        assert!(stderr.contains("boom in a detached"), "{stderr}");
        assert!(stderr.contains("nobody joined"), "{stderr}");
    }
}

#[test]
fn detached_blocking_panic_child() {
    if !is_child("detached_blocking_panic_child") {
        return;
    }
    if std::env::var("WHICH").as_deref() == Ok("job") {
        drop(gust_executor::spawn_blocking(|| {
            panic!("boom in a detached blocking job")
        }));
    } else {
        let _t = gust_executor::time::after_func(Duration::from_millis(1), || {
            panic!("boom in a detached after_func callback")
        });
    }
    std::thread::sleep(Duration::from_secs(10));
    // Not reached: the process exited.
}

/// With `GUST_PANIC` unset, a panic nobody joins is printed on stderr and
/// the runtime goes on (DESIGN.md's default).
#[test]
fn unset_reports_on_stderr_and_goes_on() {
    let out = child("report_child", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("went on: ok"), "{stdout}");
    assert!(stderr.contains("reported, then forgotten"), "{stderr}");
}

/// `Builder::unhandled_panic(UnhandledPanic::Exit)`, with `GUST_PANIC`
/// unset: status 2, as the variable's `exit`.
#[test]
fn the_builder_setting_exits_2() {
    let out = child("builder_exit_child", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("boom on a runtime told to exit"),
        "{stderr}"
    );
}

#[test]
fn builder_exit_child() {
    if !is_child("builder_exit_child") {
        return;
    }
    let rt = gust_executor::runtime::Builder::new()
        .workers(1)
        .unhandled_panic(gust_executor::runtime::UnhandledPanic::Exit)
        .build()
        .unwrap();
    drop(rt.spawn(async { panic!("boom on a runtime told to exit") }));
    std::thread::sleep(Duration::from_secs(10));
    // Not reached: the process exited.
}
