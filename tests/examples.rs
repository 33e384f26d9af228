//! The example programs, run as a user would run them: real processes, real
//! TCP clients, bad input.
//!
//! `cargo test` builds the examples before it runs the tests; they sit in
//! `target/<profile>/examples/` beside this test's `deps/` folder.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The path of a built example.
fn example(name: &str) -> PathBuf {
    let mut path = std::env::current_exe().expect("the test binary has a path");
    path.pop(); // the test binary
    path.pop(); // deps/
    path.push("examples");
    path.push(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo test` to build examples",
        path.display()
    );
    path
}

fn run(name: &str, args: &[&str]) -> Output {
    Command::new(example(name))
        .args(args)
        .output()
        .expect("the example starts")
}

/// Kills the child when dropped, so a failing test leaves no server behind.
struct Reap(Child);

impl Drop for Reap {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sieve_prints_the_nth_prime() {
    let out = run("sieve", &["100"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("the 100th prime is 541"), "{stdout}");
}

#[test]
fn sieve_rejects_a_bad_n_with_one_line() {
    for bad in ["abc", "0", "-3"] {
        let out = run("sieve", &[bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{bad}: {stderr}");
        assert!(stderr.contains("N must be a positive integer"), "{stderr}");
    }
}

#[test]
fn six_sleepers_sleep_at_the_same_time() {
    let start = Instant::now();
    let out = Command::new(example("sleepers"))
        .env("GUST_SLEEP_MS", "300")
        .output()
        .expect("starts");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(" done after ").count(), 6, "{stdout}");
    // Sequential sleeps would take 1.8 s.
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
}

#[test]
fn nine_senders_are_all_received() {
    let out = run("nine_senders", &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for i in 1..=9 {
        assert!(
            stdout.contains(&format!("hello from goroutine {i}\n")),
            "{stdout}"
        );
    }
}

#[test]
fn pipeline_hashes_a_directory() {
    let dir = std::env::temp_dir().join(format!("gust-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("a.txt"), b"").unwrap();
    std::fs::write(dir.join("sub/b.txt"), b"abc").unwrap();
    let out = run("pipeline", &[dir.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // MD5("") and MD5("abc").
    assert!(
        stdout.contains("d41d8cd98f00b204e9800998ecf8427e"),
        "{stdout}"
    );
    assert!(
        stdout.contains("900150983cd24fb0d6963f7d28e17f72"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
}

#[test]
fn pipeline_rejects_a_missing_directory_with_one_line() {
    let out = run("pipeline", &["/no/such/directory/for/gust"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not a directory"), "{stderr}");
}

#[test]
fn worker_pool_respects_the_limit_and_reports_the_first_error() {
    let ok = run("worker_pool", &[]);
    assert!(ok.status.success(), "{ok:?}");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(stdout.contains("20 of 20 jobs finished"), "{stdout}");
    let failed = run("worker_pool", &["13"]);
    assert_eq!(failed.status.code(), Some(1), "{failed:?}");
    assert!(String::from_utf8_lossy(&failed.stderr).contains("job 13 failed"));
    let bad = run("worker_pool", &["many"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

/// Starts `chat` on a free port and returns it with its address.
fn start_chat() -> (Reap, String) {
    let mut child = Command::new(example("chat"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chat starts");
    let stdout = child.stdout.take().unwrap();
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    (Reap(child), addr)
}

/// A chat client: a connection and a line reader with a read timeout.
struct Client {
    conn: TcpStream,
    lines: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: &str) -> Client {
        let conn = TcpStream::connect(addr).expect("connects");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let lines = BufReader::new(conn.try_clone().unwrap());
        Client { conn, lines }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.lines.read_line(&mut line).expect("a line within 10 s");
        line.trim_end().to_string()
    }

    /// Reads lines until one contains `needle`.
    fn expect(&mut self, needle: &str) -> String {
        for _ in 0..20 {
            let line = self.line();
            if line.contains(needle) {
                return line;
            }
        }
        panic!("no line containing {needle:?}");
    }

    fn say(&mut self, text: &str) {
        writeln!(self.conn, "{text}").unwrap();
    }
}

#[test]
fn chat_broadcasts_between_real_tcp_clients() {
    let (_server, addr) = start_chat();
    // A client is in the broadcaster's set once it sees its own message:
    // its handler sends `entering` before it reads its first line.
    let mut alice = Client::connect(&addr);
    let me = alice.expect("You are ");
    let alice_addr = me.strip_prefix("You are ").unwrap().to_string();
    alice.say("ping");
    alice.expect(&format!("{alice_addr}: ping"));

    let mut bob = Client::connect(&addr);
    let me = bob.expect("You are ");
    let bob_addr = me.strip_prefix("You are ").unwrap().to_string();
    bob.say("pong");
    bob.expect(&format!("{bob_addr}: pong"));
    alice.expect(&format!("{bob_addr} has arrived"));
    alice.expect(&format!("{bob_addr}: pong"));

    alice.say("hello, bob");
    bob.expect(&format!("{alice_addr}: hello, bob"));
    alice.expect(&format!("{alice_addr}: hello, bob"));

    drop(alice);
    bob.expect(&format!("{alice_addr} has left"));
}

#[test]
fn chat_reports_a_port_in_use_with_one_line() {
    let (_server, addr) = start_chat();
    let out = run("chat", &[&addr]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}
