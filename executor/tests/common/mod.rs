//! One test of this binary run alone in a child process, for what is per
//! process: environment variables, signals, the exit status.

use std::process::{Command, Output};

/// Names the test a child process runs (its own `if !is_child(..)` guard
/// lets every other test of the child return at once).
pub(crate) const CHILD: &str = "GUST_EXECUTOR_TEST_CHILD";

/// Runs test `test` of this binary in a child process with `env` set and
/// gust's other knobs (`GUST_DEADLOCK`, `GUST_SIGQUIT_DUMP`, `GUST_PANIC`)
/// cleared, and returns what it did.
pub(crate) fn child(test: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD, test)
        .env_remove("GUST_DEADLOCK")
        .env_remove("GUST_SIGQUIT_DUMP")
        .env_remove("GUST_PANIC");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// Whether this process is the child that runs `test`.
pub(crate) fn is_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == test)
}
