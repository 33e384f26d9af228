//! Runs the soak example (`examples/soak.rs`) for a few seconds: the
//! exactly-once, task-leak and memory checks of issue 6, in `cargo test`.
//! `cargo test` builds the examples into `target/<profile>/examples/`; when
//! only this test was asked for (`--test soak`), it builds the example first.

use std::path::PathBuf;
use std::process::Command;

fn soak_binary() -> PathBuf {
    let mut p = std::env::current_exe().unwrap(); // target/<profile>/deps/soak-<hash>
    p.pop();
    p.pop();
    p.push("examples");
    p.push(format!("soak{}", std::env::consts::EXE_SUFFIX));
    if !p.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--example", "soak", "-p", "gust"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let st = cmd.status().expect("running cargo build --example soak");
        assert!(st.success(), "cargo build --example soak failed");
    }
    assert!(p.exists(), "no soak binary at {}", p.display());
    p
}

#[test]
fn soak_three_seconds() {
    let secs = std::env::var("GUST_SOAK_SECS").unwrap_or_else(|_| "3".into());
    let out = Command::new(soak_binary())
        .arg(&secs)
        .output()
        .expect("running the soak example");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "soak failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("soak: ok"), "{stdout}");
    assert!(stdout.contains("exactly-once (count, sum, xor of hashed ids): ok"));
}
