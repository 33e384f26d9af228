//! `gust::signal`, Go's `os/signal`: ported from Go's
//! src/os/signal/signal_test.go (TestSignal, TestStop, TestIgnored,
//! TestNotifyContext*) and its documented promises.
//!
//! Signals and their actions are per process, and several of these tests
//! end their process by a signal's default action: each runs alone in a
//! child process of this test binary (`in_child`), and the parent checks
//! what the child printed and how it ended.
#![cfg(unix)]

use gust::signal::{self, Signal, SignalError};
use gust::{Context, context::ContextError};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

const CHILD: &str = "GUST_SIGNAL_TEST_CHILD";

/// Runs `body` in a child process that runs only `test`, and returns
/// that child's output; in the child, runs `body` and returns `None`.
fn in_child(test: &str, body: impl FnOnce()) -> Option<Output> {
    match std::env::var(CHILD) {
        Ok(name) if name == test => {
            body();
            None
        }
        Ok(_) => None, // a child running another test
        Err(_) => Some(run_child(test)),
    }
}

/// How long a child may run before it is killed (SIGKILL), so that a
/// signal that never comes fails the test instead of hanging it.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

fn run_child(test: &str) -> Output {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD, test)
        .env_remove("GUST_SIGQUIT_DUMP")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        // Disconnected: the child has ended (and its pid may be reused).
        if finished.recv_timeout(CHILD_LIMIT) == Err(RecvTimeoutError::Timeout) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    drop(done);
    watchdog.join().unwrap();
    out
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The child ran to its end.
fn assert_finished(out: &Output) {
    assert!(out.status.success(), "{}", text(out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("child finished"),
        "{}",
        text(out)
    );
}

/// The child was ended by `signal`'s default action after printing
/// `last` (and not after it printed anything past it).
fn assert_killed_by(out: &Output, signal: Signal, last: &str) {
    assert_eq!(out.status.signal(), Some(signal.as_raw()), "{}", text(out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(last), "{}", text(out));
    assert!(!stdout.contains("survived"), "{}", text(out));
}

fn raise(s: Signal) {
    signal_hook::low_level::raise(s.as_raw()).unwrap();
}

/// Receives within 5 s (a signal that should come), or panics.
fn recv_soon(rx: &gust::Receiver<Signal>) -> Signal {
    gust::block_on(gust::time::timeout(Duration::from_secs(5), rx.recv()))
        .expect("no signal within 5 s")
        .expect("channel closed")
}

/// Nothing arrives within 100 ms (a signal that should not come: the
/// relaying thread would have sent it by then on any machine we run on).
fn assert_quiet(rx: &gust::Receiver<Signal>) {
    let got = gust::block_on(gust::time::timeout(Duration::from_millis(100), rx.recv()));
    assert!(got.is_err(), "unexpected {got:?}");
}

fn finished() {
    println!("child finished");
}

/// Go's TestSignal: each channel gets the signals it asked for, and a
/// second `notify` with the same channel adds to its set.
#[test]
fn notify_relays_each_signal_to_every_channel_that_asked() {
    let Some(out) = in_child(
        "notify_relays_each_signal_to_every_channel_that_asked",
        || {
            let (a, ra) = gust::chan::<Signal>(1);
            let (b, rb) = gust::chan::<Signal>(1);
            signal::notify(&a, &[Signal::SIGUSR1]).unwrap();
            signal::notify(&b, &[Signal::SIGUSR1]).unwrap();
            signal::notify(&b, &[Signal::SIGUSR2]).unwrap();
            raise(Signal::SIGUSR1);
            assert_eq!(recv_soon(&ra), Signal::SIGUSR1);
            assert_eq!(recv_soon(&rb), Signal::SIGUSR1);
            raise(Signal::SIGUSR2);
            assert_eq!(recv_soon(&rb), Signal::SIGUSR2);
            assert_quiet(&ra);
            finished();
        },
    ) else {
        return;
    };
    assert_finished(&out);
}

/// No signals means all of `Signal::ALL` (Go's `Notify(c)`).
#[test]
fn notify_with_no_signals_relays_every_one() {
    let Some(out) = in_child("notify_with_no_signals_relays_every_one", || {
        let (a, ra) = gust::chan::<Signal>(4);
        signal::notify(&a, &[]).unwrap();
        for s in [
            Signal::SIGHUP,
            Signal::SIGWINCH,
            Signal::SIGTERM,
            Signal::SIGCHLD,
        ] {
            raise(s);
            assert_eq!(recv_soon(&ra), s);
        }
        finished();
    }) else {
        return;
    };
    assert_finished(&out);
}

/// Sending never blocks: a full channel misses the signal, and the others
/// still get theirs.
#[test]
fn a_full_channel_misses_signals_without_holding_up_the_others() {
    let Some(out) = in_child(
        "a_full_channel_misses_signals_without_holding_up_the_others",
        || {
            let (full, rfull) = gust::chan::<Signal>(1);
            let (witness, rwitness) = gust::chan::<Signal>(16);
            signal::notify(&full, &[Signal::SIGUSR1]).unwrap();
            signal::notify(&witness, &[Signal::SIGUSR1]).unwrap();
            for _ in 0..3 {
                raise(Signal::SIGUSR1);
                assert_eq!(recv_soon(&rwitness), Signal::SIGUSR1);
            }
            assert_eq!(rfull.len(), 1);
            assert_eq!(rfull.try_recv(), Ok(Signal::SIGUSR1));
            finished();
        },
    ) else {
        return;
    };
    assert_finished(&out);
}

/// Go's TestStop: after `stop` the channel gets nothing more; the signal
/// goes on to the channels still asking, and once none is left it does
/// its default again (SIGUSR1 ends the process).
#[test]
fn stop_ends_the_relaying_and_the_default_comes_back_with_the_last() {
    let Some(out) = in_child(
        "stop_ends_the_relaying_and_the_default_comes_back_with_the_last",
        || {
            let (a, ra) = gust::chan::<Signal>(1);
            let (b, rb) = gust::chan::<Signal>(1);
            signal::notify(&a, &[Signal::SIGUSR1]).unwrap();
            signal::notify(&b, &[Signal::SIGUSR1]).unwrap();
            signal::stop(&a);
            raise(Signal::SIGUSR1);
            assert_eq!(recv_soon(&rb), Signal::SIGUSR1);
            assert_quiet(&ra);
            // Any handle of the channel stops it: identity, not the handle.
            let b_again = rb.clone();
            drop(b_again);
            signal::stop(&b);
            println!("stopped both");
            raise(Signal::SIGUSR1);
            // The default action ends the process inside `raise`.
            println!("survived");
        },
    ) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGUSR1, "stopped both");
}

/// Go's Reset: no channel gets the signal any more, and it does its
/// default again.
#[test]
fn reset_undoes_every_notify() {
    let Some(out) = in_child("reset_undoes_every_notify", || {
        let (a, _ra) = gust::chan::<Signal>(1);
        signal::notify(&a, &[Signal::SIGTERM, Signal::SIGUSR2]).unwrap();
        signal::reset(&[Signal::SIGTERM]);
        raise(Signal::SIGUSR2); // still relayed, the process goes on
        println!("reset");
        raise(Signal::SIGTERM);
        println!("survived");
    }) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGTERM, "reset");
}

/// Go's TestIgnored and Ignore: an ignored signal does nothing and is
/// relayed to nobody; a later `notify` relays it again.
#[test]
fn ignore_drops_a_signal_until_notify_asks_for_it_again() {
    let Some(out) = in_child(
        "ignore_drops_a_signal_until_notify_asks_for_it_again",
        || {
            let (a, ra) = gust::chan::<Signal>(1);
            signal::notify(&a, &[Signal::SIGUSR1]).unwrap();
            assert!(!signal::ignored(Signal::SIGUSR1));
            signal::ignore(&[Signal::SIGUSR1]).unwrap();
            assert!(signal::ignored(Signal::SIGUSR1));
            raise(Signal::SIGUSR1); // would end the process if not ignored
            assert_quiet(&ra);
            signal::notify(&a, &[Signal::SIGUSR1]).unwrap();
            assert!(!signal::ignored(Signal::SIGUSR1));
            raise(Signal::SIGUSR1);
            assert_eq!(recv_soon(&ra), Signal::SIGUSR1);
            finished();
        },
    ) else {
        return;
    };
    assert_finished(&out);
}

/// A signal the process started with ignored (`nohup`'s SIGHUP; Rust's
/// SIGPIPE) is reported ignored, is relayed while a channel asks, and is
/// ignored again, not given its default, once none does.
#[test]
fn a_signal_ignored_at_start_stays_ignored_when_nobody_asks() {
    let Some(out) = in_child(
        "a_signal_ignored_at_start_stays_ignored_when_nobody_asks",
        || {
            assert!(signal::ignored(Signal::SIGPIPE));
            let (a, ra) = gust::chan::<Signal>(1);
            signal::notify(&a, &[Signal::SIGPIPE]).unwrap();
            assert!(!signal::ignored(Signal::SIGPIPE));
            raise(Signal::SIGPIPE);
            assert_eq!(recv_soon(&ra), Signal::SIGPIPE);
            signal::stop(&a);
            assert!(signal::ignored(Signal::SIGPIPE));
            raise(Signal::SIGPIPE); // SIGPIPE's default would end the process
            finished();
        },
    ) else {
        return;
    };
    assert_finished(&out);
}

/// A channel whose receivers are all gone is dropped from the set at the
/// next signal (nobody can receive it), and the default comes back.
#[test]
fn a_channel_nobody_can_receive_from_is_dropped() {
    let Some(out) = in_child("a_channel_nobody_can_receive_from_is_dropped", || {
        let (a, ra) = gust::chan::<Signal>(1);
        signal::notify(&a, &[Signal::SIGUSR2]).unwrap();
        drop(ra);
        raise(Signal::SIGUSR2); // relayed to a closed channel: the process goes on
        println!("first relayed");
        // The relaying thread drops the channel when it meets it; the
        // next SIGUSR2 then ends the process.
        loop {
            std::thread::sleep(Duration::from_millis(10));
            raise(Signal::SIGUSR2);
        }
    }) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGUSR2, "first relayed");
}

/// A signal that cannot be relayed is an error naming it, and changes
/// nothing (checked in this process: nothing is registered).
#[test]
fn signals_that_cannot_be_caught_are_an_error_naming_them() {
    let (a, _ra) = gust::chan::<Signal>(1);
    for (bad, name) in [
        (Signal::SIGKILL, "SIGKILL"),
        (Signal::SIGSTOP, "SIGSTOP"),
        (Signal::SIGSEGV, "SIGSEGV"),
        (Signal::SIGBUS, "SIGBUS"),
        (Signal::SIGFPE, "SIGFPE"),
        (Signal::SIGILL, "SIGILL"),
        (
            Signal::from_raw(signal_hook::consts::signal::SIGKILL),
            "SIGKILL",
        ),
    ] {
        let err = signal::notify(&a, &[Signal::SIGUSR1, bad]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(name), "{err}");
        let err = signal::ignore(&[bad]).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = signal::notify(&a, &[Signal::from_raw(12345)]).unwrap_err();
    assert!(err.to_string().contains("12345"), "{err}");
    // Nothing was registered: SIGUSR1 still has its default.
    assert!(!signal::ignored(Signal::SIGUSR1));
}

#[test]
fn signals_print_as_go_prints_them() {
    assert_eq!(Signal::INTERRUPT.to_string(), "interrupt");
    assert_eq!(Signal::SIGTERM.to_string(), "terminated");
    assert_eq!(Signal::SIGHUP.to_string(), "hangup");
    assert_eq!(Signal::SIGUSR2.to_string(), "user defined signal 2");
    assert_eq!(format!("{:?}", Signal::SIGWINCH), "SIGWINCH");
    assert_eq!(Signal::from_raw(200).to_string(), "signal 200");
}

/// Go's TestNotifyContextNotifications: the context ends on the signal,
/// with Canceled and a cause naming it; it then stops relaying, so the
/// next one does its default.
#[test]
fn notify_context_ends_on_the_signal_and_names_it() {
    let Some(out) = in_child("notify_context_ends_on_the_signal_and_names_it", || {
        gust::block_on(async {
            let (ctx, _stop) =
                signal::notify_context(&Context::background(), &[Signal::SIGUSR1]).unwrap();
            assert!(!ctx.is_done());
            raise(Signal::SIGUSR1);
            gust::time::timeout(Duration::from_secs(5), ctx.done())
                .await
                .expect("the signal ends the context");
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
            let cause = ctx.cause().unwrap();
            assert_eq!(cause.to_string(), "user defined signal 1 signal received");
            assert_eq!(
                cause.downcast_ref::<SignalError>().unwrap().signal(),
                Signal::SIGUSR1
            );
        });
        println!("context ended");
        raise(Signal::SIGUSR1);
        println!("survived");
    }) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGUSR1, "context ended");
}

/// Go's TestNotifyContextStop: calling the stop function ends the context
/// (Canceled, no signal cause) and gives the signal its default back.
#[test]
fn notify_context_stop_ends_it_and_brings_the_default_back() {
    let Some(out) = in_child(
        "notify_context_stop_ends_it_and_brings_the_default_back",
        || {
            let (ctx, stop) =
                signal::notify_context(&Context::background(), &[Signal::SIGUSR2]).unwrap();
            stop.cancel();
            assert_eq!(ctx.err(), Some(ContextError::Canceled));
            assert!(ctx.cause().unwrap().downcast_ref::<SignalError>().is_none());
            println!("stopped");
            raise(Signal::SIGUSR2);
            println!("survived");
        },
    ) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGUSR2, "stopped");
}

/// Go's TestNotifyContextCancelParent and ...PrematureCancelParent: a
/// parent that ends (before or after) ends the context with the parent's
/// error, and the signal is not kept from its default.
#[test]
fn notify_context_follows_its_parent() {
    let Some(out) = in_child("notify_context_follows_its_parent", || {
        let (parent, cancel_parent) = Context::background().with_cancel();
        let (ctx, _stop) = signal::notify_context(&parent, &[Signal::SIGUSR1]).unwrap();
        drop(cancel_parent);
        assert_eq!(ctx.err(), Some(ContextError::Canceled));
        let (ended, cancel) = Context::background().with_cancel();
        cancel.cancel_with_cause("parent's own cause");
        let (early, _stop_early) = signal::notify_context(&ended, &[Signal::SIGUSR1]).unwrap();
        assert_eq!(early.cause().unwrap().to_string(), "parent's own cause");
        println!("parents ended");
        raise(Signal::SIGUSR1);
        println!("survived");
    }) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGUSR1, "parents ended");
}

/// The dump on SIGQUIT (`GUST_SIGQUIT_DUMP=1`) keeps the program going:
/// stopping the last channel that relayed SIGQUIT does not bring back
/// SIGQUIT's default (the end of the program).
#[test]
fn sigquit_stays_a_dump_after_its_relaying_stops() {
    let Some(out) = in_child("sigquit_stays_a_dump_after_its_relaying_stops", || {
        let rt = gust::runtime::Builder::new()
            .workers(1)
            .dump_on_sigquit(true)
            .build()
            .unwrap();
        let (a, ra) = gust::chan::<Signal>(1);
        signal::notify(&a, &[Signal::SIGQUIT]).unwrap();
        raise(Signal::SIGQUIT);
        assert_eq!(recv_soon(&ra), Signal::SIGQUIT);
        signal::stop(&a);
        raise(Signal::SIGQUIT);
        drop(rt);
        finished();
    }) else {
        return;
    };
    assert_finished(&out);
}

/// `ctrl_c` waits for SIGINT; once it has returned,
/// Ctrl-C ends the program again.
#[test]
fn ctrl_c_returns_on_sigint_and_then_lets_it_end_the_program() {
    let Some(out) = in_child(
        "ctrl_c_returns_on_sigint_and_then_lets_it_end_the_program",
        || {
            gust::block_on(async {
                let mut wait = std::pin::pin!(signal::ctrl_c());
                // SIGINT is relayed from the first poll on.
                assert!(futures::poll!(&mut wait).is_pending());
                raise(Signal::SIGINT);
                gust::time::timeout(Duration::from_secs(5), wait)
                    .await
                    .expect("ctrl_c returns on SIGINT")
                    .unwrap();
            });
            println!("got ctrl-c");
            raise(Signal::SIGINT);
            println!("survived");
        },
    ) else {
        return;
    };
    assert_killed_by(&out, Signal::SIGINT, "got ctrl-c");
}
