//! The example programs, run as a user would run them: real processes, real
//! TCP clients, bad input.
//!
//! `cargo test` builds the examples before it runs the tests; they sit in
//! `target/<profile>/examples/` beside this test's `deps/` folder.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
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
    // Found from outside: a huge N panicked ("capacity overflow") or
    // aborted (an allocation of 800 GB) instead.
    for bad in ["abc", "0", "-3", "100000000000", "18446744073709551615"] {
        let out = run("sieve", &[bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{bad}: {stderr}");
        assert!(
            stderr.contains("N must be an integer from 1 to"),
            "{stderr}"
        );
    }
}

/// Found from outside: these panicked (`soak -1`, `nan`, `inf`), printed
/// Rust's `Some(..)` (`worker_pool`), or were ignored (`GUST_SLEEP_MS`).
#[test]
fn examples_reject_bad_arguments_with_one_line() {
    for bad in ["-1", "nan", "inf", "99999999999999999999", "0"] {
        let out = run("soak", &[bad]);
        assert_eq!(out.status.code(), Some(1), "soak {bad}: {out:?}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("bad SECONDS argument"),
            "soak {bad}: {stdout}"
        );
    }
    let out = run("worker_pool", &["20"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.ends_with("got \"20\"\n"), "{stderr}");
    let out = Command::new(example("sleepers"))
        .env("GUST_SLEEP_MS", "abc")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("invalid GUST_SLEEP_MS=\"abc\""), "{stderr}");
}

#[test]
fn six_sleepers_sleep_at_the_same_time() {
    let start = Instant::now();
    let out = Command::new(example("sleepers"))
        .env("GUST_SLEEP_MS", "1000")
        // One worker: sleeps that held their worker would take 6 s.
        .env("GUST_WORKERS", "1")
        .output()
        .expect("starts");
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(" done after ").count(), 6, "{stdout}");
    // Sequential sleeps would take 6 s; the bound leaves room for the
    // process's start on a loaded machine.
    assert!(elapsed < Duration::from_secs(4), "took {elapsed:?}");
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
fn the_tour_runs_every_step_to_its_end() {
    let out = run("tour", &[]);
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("tour finished in"), "{stdout}");
}

/// The deadlock example, by default: `block_on` panics with Go's words and
/// the dump, naming both tasks, what they wait on and where they were
/// spawned.
#[test]
fn deadlock_is_reported_with_the_dump() {
    let start = Instant::now();
    let out = Command::new(example("deadlock"))
        .env_remove("GUST_DEADLOCK")
        .output()
        .expect("starts");
    assert!(
        !out.status.success(),
        "a deadlock ends the program: {out:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5), "reported late");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("all tasks are asleep - deadlock!"),
        "{stderr}"
    );
    for task in ["\"ping\" [chan receive", "\"pong\" [chan receive"] {
        assert!(stderr.contains(task), "{task}: {stderr}");
    }
    assert!(
        stderr.contains("spawned at examples/deadlock.rs:"),
        "{stderr}"
    );
    assert!(stderr.contains("block_on 1 [join (task "), "{stderr}");
}

/// `GUST_DEADLOCK=warn`: the same report on stderr, once, and the program
/// waits on (killed here after the report).
#[test]
fn deadlock_warn_prints_once_and_waits_on() {
    let mut child = Reap(
        Command::new(example("deadlock"))
            .env("GUST_DEADLOCK", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts"),
    );
    // stderr line by line, from a thread, so that a missing report fails
    // the test after a while instead of hanging it.
    let stderr = BufReader::new(child.0.stderr.take().expect("piped"));
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    const HEADLINE: &str = "all tasks are asleep - deadlock!";
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains(HEADLINE)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no report within 10 s; stderr so far: {seen:?}"),
        }
    }
    // The detector looks again every 100 ms or so: a second report would
    // come within this window.
    let window = Instant::now() + Duration::from_millis(500);
    while let Ok(line) = lines.recv_timeout(window.saturating_duration_since(Instant::now())) {
        seen.push(line);
    }
    assert!(
        child.0.try_wait().expect("waits").is_none(),
        "warn must not end the program"
    );
    let reports = seen.iter().filter(|l| l.contains(HEADLINE)).count();
    assert_eq!(reports, 1, "reported more than once: {seen:?}");
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

/// Starts example `name` on a free port (`127.0.0.1:0` then `args`) and
/// returns it with what its first line says after "listening on ".
fn start_listening(name: &str, args: &[&str], stderr: Stdio) -> (Reap, String) {
    let mut child = Command::new(example(name))
        .arg("127.0.0.1:0")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
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

/// Starts `chat` on a free port and returns it with its address.
fn start_chat() -> (Reap, String) {
    start_listening("chat", &[], Stdio::piped())
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

impl Client {
    /// Reads lines until EOF and returns them; fails on a read error (a
    /// reset instead of an orderly close) or after 10 s.
    fn rest(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            match self.lines.read_line(&mut line) {
                Ok(0) => return lines,
                Ok(_) => lines.push(line.trim_end().to_string()),
                Err(e) => panic!("read error after {lines:?}: {e}"),
            }
        }
    }
}

#[test]
fn chat_disconnects_a_line_longer_than_64_kib_and_goes_on() {
    let (_server, addr) = start_chat();
    let mut alice = Client::connect(&addr);
    let me = alice.expect("You are ");
    let alice_addr = me.strip_prefix("You are ").unwrap().to_string();
    alice.say("ping");
    alice.expect(&format!("{alice_addr}: ping"));

    // A line of exactly 64 KiB is fine (Go's bufio.MaxScanTokenSize).
    let long = "a".repeat(64 * 1024);
    alice.say(&long);
    let got = alice.expect(&format!("{alice_addr}: aaaa"));
    assert_eq!(got, format!("{alice_addr}: {long}"));
    // And with a `\r\n` ending, whose `\r` is not part of the line.
    let long = "b".repeat(64 * 1024);
    alice
        .conn
        .write_all(format!("{long}\r\n").as_bytes())
        .unwrap();
    let got = alice.expect(&format!("{alice_addr}: bbbb"));
    assert_eq!(got, format!("{alice_addr}: {long}"));

    let mut mallory = Client::connect(&addr);
    let me = mallory.expect("You are ");
    let mallory_addr = me.strip_prefix("You are ").unwrap().to_string();
    mallory.say("hi");
    mallory.expect(&format!("{mallory_addr}: hi"));
    // 100 KB and no newline.
    mallory.conn.write_all(&vec![b'x'; 100_000]).unwrap();
    let rest = mallory.rest();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("error: line longer than 65536 bytes; disconnecting"),
        "{rest:?}"
    );
    alice.expect(&format!("{mallory_addr} has left"));

    // Everyone else chats on.
    let mut bob = Client::connect(&addr);
    let me = bob.expect("You are ");
    let bob_addr = me.strip_prefix("You are ").unwrap().to_string();
    bob.say("still here?");
    bob.expect(&format!("{bob_addr}: still here?"));
    alice.expect(&format!("{bob_addr}: still here?"));
    alice.say("yes");
    bob.expect(&format!("{alice_addr}: yes"));
}

#[test]
fn chat_tells_a_client_that_sends_invalid_utf8() {
    let (_server, addr) = start_chat();
    let mut alice = Client::connect(&addr);
    let me = alice.expect("You are ");
    let alice_addr = me.strip_prefix("You are ").unwrap().to_string();

    let mut mallory = Client::connect(&addr);
    let me = mallory.expect("You are ");
    let mallory_addr = me.strip_prefix("You are ").unwrap().to_string();
    alice.expect(&format!("{mallory_addr} has arrived"));
    mallory.conn.write_all(b"caf\xc3 \xff\xfe\n").unwrap();
    let rest = mallory.rest();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("error: invalid UTF-8; disconnecting"),
        "{rest:?}"
    );
    alice.expect(&format!("{mallory_addr} has left"));
    alice.say("ok");
    alice.expect(&format!("{alice_addr}: ok"));
}

/// One client that never reads (Go book, exercise 8.15): once its queue
/// and socket are full, the broadcaster skips its messages instead of
/// waiting, so everyone else chats on. Before, the broadcaster blocked on
/// its full queue and nobody got another line.
#[test]
fn chat_goes_on_past_a_client_that_never_reads() {
    let (_server, addr) = start_chat();
    let mut alice = Client::connect(&addr);
    let me = alice.expect("You are ");
    let alice_addr = me.strip_prefix("You are ").unwrap().to_string();
    let mut bob = Client::connect(&addr);
    bob.expect("You are ");
    alice.expect("has arrived");

    // Mallory: a receive buffer of a few KiB, never read.
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let to: std::net::SocketAddr = addr.parse().unwrap();
    sock.connect(&to.into()).unwrap();
    let mallory = TcpStream::from(sock);
    alice.expect("has arrived");

    // Alice floods (12 MB, far past mallory's queue of 16 lines and the
    // socket buffers), then says "done" every 50 ms until bob has seen it.
    let mut conn = alice.conn.try_clone().unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let flood = std::thread::spawn(move || {
        let line = format!("{}\n", "f".repeat(60_000));
        for _ in 0..200 {
            if conn.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if conn.write_all(b"done\n").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    // Bob reads everything (lines of a slow reader may be skipped too);
    // "done" must come within the read timeout (10 s).
    let done = format!("{alice_addr}: done");
    loop {
        let line = bob.line();
        if line == done {
            break;
        }
        assert!(line.ends_with('f') || line.contains("has"), "{line:.80}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
    drop(mallory);
}

/// A client that never reads, flooded, then sends a bad line: the others
/// are told it left at once, and its connection ends. (Found from outside:
/// once the client's queue and socket were full, the error line waited on
/// the queue for good, before anyone was told, and the connection stayed
/// open until the client closed it: here bob waited 10 s for "has left".)
#[test]
fn chat_disconnects_a_bad_client_that_never_reads() {
    let (_server, addr) = start_chat();
    let mut alice = Client::connect(&addr);
    alice.expect("You are ");
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let to: std::net::SocketAddr = addr.parse().unwrap();
    sock.connect(&to.into()).unwrap();
    let mut mallory = TcpStream::from(sock);
    let arrived = alice.expect("has arrived");
    let mallory_addr = arrived.strip_suffix(" has arrived").unwrap().to_string();
    // Fill mallory's queue and socket: alice floods 12k lines, then says
    // "done" every 50 ms until bob has seen it (the broadcaster has then
    // offered mallory the whole flood).
    let mut bob = Client::connect(&addr);
    bob.expect("You are ");
    let mut conn = alice.conn.try_clone().unwrap();
    let mut drain = alice.conn.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut sink = vec![0u8; 1 << 16];
        while std::io::Read::read(&mut drain, &mut sink).is_ok_and(|n| n > 0) {}
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let flood = std::thread::spawn(move || {
        let line = format!("{}\n", "f".repeat(1000));
        for _ in 0..10_000 {
            conn.write_all(line.as_bytes()).unwrap();
        }
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            conn.write_all(b"done\n").unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    while !bob.line().ends_with(": done") {}
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
    mallory.write_all(b"\xff bad\n").unwrap();
    // Told to the others at once; the socket closed within the linger
    // times (2 s for the queue, 2 s for what mallory still sends).
    let started = std::time::Instant::now();
    while !bob.line().contains(&format!("{mallory_addr} has left")) {}
    mallory
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut sink = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut mallory, &mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!(
                "mallory's connection still open after {:?}: {e}",
                started.elapsed()
            ),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

/// Starts `http` on a free port with `args` and returns it with its base URL.
fn start_http(args: &[&str]) -> (Reap, String) {
    let (child, url) = start_listening("http", args, Stdio::inherit());
    assert!(url.starts_with("http://"), "{url}");
    (child, url)
}

/// A blocking HTTP client that returns 4xx/5xx responses rather than errors.
fn http_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

fn http_get(agent: &ureq::Agent, url: &str) -> (u16, String) {
    let mut resp = agent.get(url).call().expect("a response");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().expect("a body"))
}

#[test]
fn http_serves_100_concurrent_requests_from_a_real_client() {
    const THREADS: usize = 20;
    let (_server, url) = start_http(&[]);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(THREADS + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let url = url.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let agent = http_agent();
                barrier.wait();
                // 1: twenty 400 ms sleeps at once.
                let started = Instant::now();
                let (status, body) = http_get(&agent, &format!("{url}/sleep?ms=400"));
                let slept = Instant::now();
                assert_eq!((status, body.as_str()), (200, "slept 400 ms\n"));
                assert!(slept - started >= Duration::from_millis(400));
                // 2: hello.
                let (status, body) = http_get(&agent, &format!("{url}/"));
                assert_eq!((status, body.as_str()), (200, "hello from gust\n"));
                // 3: a 100 KB echo, different for every thread.
                let sent: Vec<u8> = (0..100_000).map(|j| (i * 7 + j * 13) as u8).collect();
                let mut resp = agent
                    .post(format!("{url}/echo"))
                    .send(&sent[..])
                    .expect("a response");
                assert_eq!(resp.status().as_u16(), 200);
                let back = resp.body_mut().read_to_vec().expect("a body");
                assert!(back == sent, "thread {i}: echo differs");
                // 4: HEAD as GET, without the body (found from outside: 404).
                let resp = agent.head(format!("{url}/")).call().expect("a response");
                assert_eq!(resp.status().as_u16(), 200);
                let len = resp
                    .headers()
                    .get("content-length")
                    .map(|v| v.to_str().unwrap().to_owned());
                assert_eq!(len.as_deref(), Some("16"));
                // 5: not found.
                let (status, _) = http_get(&agent, &format!("{url}/no/such/page"));
                assert_eq!(status, 404);
                // 6: a method the route does not take.
                let mut resp = agent.post(format!("{url}/")).send("x").expect("a response");
                assert_eq!(resp.status().as_u16(), 404);
                let _ = resp.body_mut().read_to_string();
                slept
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let slept: Vec<Instant> = threads
        .into_iter()
        .map(|t| t.join().expect("every request succeeds"))
        .collect();
    let last = slept.into_iter().max().unwrap();
    // One after another, the sleeps would take 20 × 400 ms = 8 s, and one
    // per worker at a time 4 s; the bound leaves room for a loaded machine.
    let span = last - start;
    assert!(span < Duration::from_secs(3), "20 sleeps took {span:?}");
}

#[test]
fn http_rejects_bad_sleeps_and_exits_after_n_requests() {
    let (mut server, url) = start_http(&["--requests", "3"]);
    let agent = http_agent();
    assert_eq!(http_get(&agent, &format!("{url}/sleep?ms=abc")).0, 400);
    assert_eq!(http_get(&agent, &format!("{url}/sleep?ms=600000")).0, 400);
    // The third: its answer arrives whole, then the server exits 0 even
    // though this client keeps its connection open.
    let (status, body) = http_get(&agent, &format!("{url}/"));
    assert_eq!((status, body.as_str()), (200, "hello from gust\n"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(Instant::now() < deadline, "still running after 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn http_rejects_bad_arguments_with_one_line() {
    for bad in [
        &["nonsense"][..],
        &["127.0.0.1:0", "--requests", "0"],
        &["127.0.0.1:0", "--requests"],
    ] {
        let out = run("http", bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{bad:?}: {stderr}");
    }
}
