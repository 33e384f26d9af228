//! Go's `os/signal`: incoming Unix signals delivered to channels.
//!
//! # Design
//!
//! A signal handler may do almost nothing (only async-signal-safe calls),
//! so it does not touch channels. signal-hook's handler writes the signal
//! to a self-pipe, and one thread of ours (`gust-signal`, started by the
//! first [`notify`]) reads the pipe and hands each signal to the channels
//! that asked for it, with `try_send`: a full channel misses it, as in Go
//! ("Package signal will not block sending to c"). Go's runtime has the
//! same shape, a queue filled by the handler and a goroutine that empties
//! it; nothing about signals is on a hot path, so a thread costs nothing
//! that matters, and the channels work on any executor.
//!
//! # Invariants
//!
//! 1. A signal is registered with the OS (signal-hook) the first time this
//!    module is asked about it, and stays registered: signal-hook cannot
//!    take a handler out. Its entry in `Table::signals` is made then and
//!    never removed.
//! 2. What the process does with a registered signal that nobody wants is
//!    decided in the handler by the entry's `run_default` flag (signal-hook's
//!    conditional default, registered before the pipe's action): true
//!    exactly when no subscriber wants the signal, [`ignore`] did not ask
//!    to drop it, the process did not start with it ignored (`SIG_IGN`:
//!    `nohup`, Rust's own SIGPIPE), and nothing in gust holds it (SIGQUIT,
//!    while a runtime prints dumps on it). `Table::settle` recomputes
//!    every flag under the table's lock after every change, so the
//!    default behaviour of Go's `Stop` and `Reset` comes back at once.
//! 3. A channel subscriber is only sent to under the table's lock, so once
//!    [`stop`] (which takes the lock) returns, its channel gets nothing
//!    more (Go's promise).
//!
//! # Beside other handlers
//!
//! "Default" here is the action the process had for the signal before this
//! module touched it, as far as `SIG_IGN` goes: a signal ignored at start
//! stays ignored when nobody wants it, anything else gets the OS default
//! back. A handler another library installed before (the `ctrlc` crate,
//! tokio's signals) still runs, signal-hook chains to it, but once nobody
//! here wants the signal, its default action (the end of the program, for
//! SIGINT) runs too. [`ignore`] drops the signal in the handler instead of
//! setting `SIG_IGN`, so a program this one `exec`s starts with the
//! signal's default. SIGQUIT while a runtime prints dumps on it
//! (`GUST_SIGQUIT_DUMP`) both prints the dump and is relayed; Go prints no
//! dump once SIGQUIT is relayed.

use gust_chan::{Sender, TrySendError};
use signal_hook::consts::signal as sig;
use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A Unix signal (Go's `os.Signal`, `syscall.Signal`).
///
/// Displays as Go prints it (`interrupt`, `terminated`, `hangup`); its
/// `Debug` is the C name (`SIGINT`).
///
/// ```
/// use gust_executor::signal::Signal;
///
/// assert_eq!(Signal::INTERRUPT, Signal::SIGINT); // os.Interrupt
/// assert_eq!(Signal::SIGTERM.to_string(), "terminated");
/// assert_eq!(format!("{:?}", Signal::SIGHUP), "SIGHUP");
/// assert_eq!(Signal::from_raw(Signal::SIGUSR1.as_raw()), Signal::SIGUSR1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(i32);

impl Signal {
    /// Hangup (`syscall.SIGHUP`).
    pub const SIGHUP: Signal = Signal(sig::SIGHUP);
    /// Interrupt, Ctrl-C at a terminal (`syscall.SIGINT`).
    pub const SIGINT: Signal = Signal(sig::SIGINT);
    /// Go's `os.Interrupt`: [`SIGINT`](Signal::SIGINT).
    pub const INTERRUPT: Signal = Signal::SIGINT;
    /// Quit, Ctrl-\ at a terminal (`syscall.SIGQUIT`).
    pub const SIGQUIT: Signal = Signal(sig::SIGQUIT);
    /// Termination request, what `kill` and service managers send first
    /// (`syscall.SIGTERM`).
    pub const SIGTERM: Signal = Signal(sig::SIGTERM);
    /// User-defined signal 1 (`syscall.SIGUSR1`).
    pub const SIGUSR1: Signal = Signal(sig::SIGUSR1);
    /// User-defined signal 2 (`syscall.SIGUSR2`).
    pub const SIGUSR2: Signal = Signal(sig::SIGUSR2);
    /// Write to a pipe or socket nobody reads (`syscall.SIGPIPE`; Rust
    /// programs start with it ignored).
    pub const SIGPIPE: Signal = Signal(sig::SIGPIPE);
    /// Alarm clock (`syscall.SIGALRM`).
    pub const SIGALRM: Signal = Signal(sig::SIGALRM);
    /// A child process stopped or exited (`syscall.SIGCHLD`).
    pub const SIGCHLD: Signal = Signal(sig::SIGCHLD);
    /// Continued after a stop (`syscall.SIGCONT`).
    pub const SIGCONT: Signal = Signal(sig::SIGCONT);
    /// Stop, Ctrl-Z at a terminal (`syscall.SIGTSTP`).
    pub const SIGTSTP: Signal = Signal(sig::SIGTSTP);
    /// Background read from the terminal (`syscall.SIGTTIN`).
    pub const SIGTTIN: Signal = Signal(sig::SIGTTIN);
    /// Background write to the terminal (`syscall.SIGTTOU`).
    pub const SIGTTOU: Signal = Signal(sig::SIGTTOU);
    /// Urgent data on a socket (`syscall.SIGURG`).
    pub const SIGURG: Signal = Signal(sig::SIGURG);
    /// CPU time limit exceeded (`syscall.SIGXCPU`).
    pub const SIGXCPU: Signal = Signal(sig::SIGXCPU);
    /// File size limit exceeded (`syscall.SIGXFSZ`).
    pub const SIGXFSZ: Signal = Signal(sig::SIGXFSZ);
    /// The terminal's window changed size (`syscall.SIGWINCH`).
    pub const SIGWINCH: Signal = Signal(sig::SIGWINCH);
    /// I/O is possible on a descriptor (`syscall.SIGIO`).
    pub const SIGIO: Signal = Signal(sig::SIGIO);

    /// The signals [`notify`] relays when given none (Go's "all incoming
    /// signals"): every signal above. Those that report a fault of the
    /// program itself (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS,
    /// SIGABRT) and those no process can catch (SIGKILL, SIGSTOP) are not
    /// among them; a profiler's SIGPROF and SIGVTALRM neither.
    pub const ALL: &'static [Signal] = &[
        Signal::SIGHUP,
        Signal::SIGINT,
        Signal::SIGQUIT,
        Signal::SIGTERM,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGPIPE,
        Signal::SIGALRM,
        Signal::SIGCHLD,
        Signal::SIGCONT,
        Signal::SIGTSTP,
        Signal::SIGTTIN,
        Signal::SIGTTOU,
        Signal::SIGURG,
        Signal::SIGXCPU,
        Signal::SIGXFSZ,
        Signal::SIGWINCH,
        Signal::SIGIO,
    ];

    /// Kill (`syscall.SIGKILL`): no process can catch it, so [`notify`]
    /// and [`ignore`] refuse it; to send, or to name in a message.
    pub const SIGKILL: Signal = Signal(sig::SIGKILL);
    /// Stop (`syscall.SIGSTOP`): cannot be caught, as
    /// [`SIGKILL`](Signal::SIGKILL).
    pub const SIGSTOP: Signal = Signal(sig::SIGSTOP);
    /// Abort, what `std::process::abort` raises (`syscall.SIGABRT`).
    pub const SIGABRT: Signal = Signal(sig::SIGABRT);
    /// Invalid memory reference (`syscall.SIGSEGV`): a fault of the program
    /// itself, which [`notify`] refuses (relayed, it would come back at once
    /// from the same instruction); so do the next three.
    pub const SIGSEGV: Signal = Signal(sig::SIGSEGV);
    /// Bus error (`syscall.SIGBUS`).
    pub const SIGBUS: Signal = Signal(sig::SIGBUS);
    /// Arithmetic fault (`syscall.SIGFPE`).
    pub const SIGFPE: Signal = Signal(sig::SIGFPE);
    /// Illegal instruction (`syscall.SIGILL`).
    pub const SIGILL: Signal = Signal(sig::SIGILL);

    /// The signal with this number (whether it can be caught is checked by
    /// [`notify`] and [`ignore`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::signal::Signal;
    /// assert_eq!(Signal::from_raw(15), Signal::SIGTERM);
    /// assert_eq!(Signal::from_raw(2).to_string(), "interrupt");
    /// ```
    pub const fn from_raw(signum: i32) -> Signal {
        Signal(signum)
    }

    /// This signal's number.
    ///
    /// # Examples
    ///
    /// ```
    /// use gust_executor::signal::Signal;
    /// assert_eq!(Signal::SIGTERM.as_raw(), 15);
    /// assert_eq!(Signal::INTERRUPT.as_raw(), 2);
    /// ```
    pub const fn as_raw(self) -> i32 {
        self.0
    }

    /// Go's words for it (`syscall.Signal.String`), if it has some.
    fn words(self) -> Option<&'static str> {
        Some(match self.0 {
            sig::SIGHUP => "hangup",
            sig::SIGINT => "interrupt",
            sig::SIGQUIT => "quit",
            sig::SIGTERM => "terminated",
            sig::SIGUSR1 => "user defined signal 1",
            sig::SIGUSR2 => "user defined signal 2",
            sig::SIGPIPE => "broken pipe",
            sig::SIGALRM => "alarm clock",
            sig::SIGCHLD => "child exited",
            sig::SIGCONT => "continued",
            sig::SIGTSTP => "stopped",
            sig::SIGTTIN => "stopped (tty input)",
            sig::SIGTTOU => "stopped (tty output)",
            sig::SIGURG => "urgent I/O condition",
            sig::SIGXCPU => "CPU time limit exceeded",
            sig::SIGXFSZ => "file size limit exceeded",
            sig::SIGWINCH => "window changed",
            sig::SIGIO => "I/O possible",
            sig::SIGKILL => "killed",
            sig::SIGSTOP => "stopped (signal)",
            sig::SIGSEGV => "segmentation fault",
            sig::SIGBUS => "bus error",
            sig::SIGFPE => "floating point exception",
            sig::SIGILL => "illegal instruction",
            sig::SIGABRT => "aborted",
            sig::SIGTRAP => "trace/breakpoint trap",
            _ => return None,
        })
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.words() {
            Some(words) => f.write_str(words),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match signal_hook::low_level::signal_name(self.0) {
            Some(name) => f.write_str(name),
            None => write!(f, "Signal({})", self.0),
        }
    }
}

/// Relays `signals` to `tx` (Go's `signal.Notify(c, sig...)`); no signals
/// means [`Signal::ALL`].
///
/// From then on such a signal no longer does what it did by default
/// (Ctrl-C no longer ends the program): it is sent to every channel that
/// asked for it. Sending never blocks: a channel with no room misses the
/// signal, so give it a buffer (a capacity of 1 is enough for one kind of
/// signal); on a rendezvous channel only a receiver already waiting gets
/// it. Calling `notify` again with the same channel adds signals to its
/// set; several channels each get every signal they asked for. [`stop`]
/// ends the relaying; a channel whose receivers are all gone is dropped
/// from the set by itself. The relaying keeps a clone of `tx`, so the
/// channel does not close by itself while it is subscribed.
///
/// # Errors
///
/// `InvalidInput`, naming the signal, for one no process can catch
/// (SIGKILL, SIGSTOP) or that reports a fault of the program itself
/// (SIGSEGV, SIGBUS, SIGFPE, SIGILL: relayed, it would come back at once
/// from the same instruction), and for a number this module does not know
/// (the real-time signals among them); nothing is changed then. Else an error of the OS, if the
/// handler or the relaying thread cannot be set up.
///
/// ```
/// use gust_executor::signal::{self, Signal};
///
/// gust_executor::block_on(async {
///     let (tx, rx) = gust_chan::chan::<Signal>(1);
///     signal::notify(&tx, &[Signal::SIGUSR1]).unwrap();
///     signal_hook::low_level::raise(Signal::SIGUSR1.as_raw()).unwrap(); // kill -USR1 <pid>
///     assert_eq!(rx.recv().await, Some(Signal::SIGUSR1));
///     signal::stop(&tx);
/// });
/// ```
pub fn notify(tx: &Sender<Signal>, signals: &[Signal]) -> io::Result<()> {
    let signals = chosen(signals)?;
    let mut table = table();
    table.register_all(&signals, false)?;
    let target = Target::Chan(tx.clone());
    match table.subs.iter_mut().find(|sub| sub.to == target) {
        Some(sub) => sub.add(&signals),
        None => {
            let id = table.next_id();
            table.subs.push(Subscriber {
                id,
                to: target,
                signals,
            });
        }
    }
    table.settle();
    Ok(())
}

/// Stops relaying signals to `tx` (Go's `signal.Stop(c)`): once it returns,
/// `tx`'s channel gets no more. A signal that no channel wants any more
/// does again what it did by default (Ctrl-C ends the program). `tx` is
/// matched by channel identity, so any handle of the channel will do;
/// stopping one that was never passed to [`notify`] does nothing.
///
/// ```
/// use gust_executor::signal::{self, Signal};
///
/// let (tx, rx) = gust_chan::chan::<Signal>(1);
/// signal::notify(&tx, &[Signal::SIGUSR2]).unwrap();
/// signal::stop(&tx);
/// assert!(rx.try_recv().is_err());
/// ```
pub fn stop(tx: &Sender<Signal>) {
    let target = Target::Chan(tx.clone());
    let mut table = table();
    table.subs.retain(|sub| sub.to != target);
    table.settle();
}

/// Undoes every [`notify`] and [`ignore`] for `signals`, or for every
/// signal this module was asked about when `signals` is empty (Go's
/// `signal.Reset`): no channel gets them any more, and each does again
/// what it did when the program started.
///
/// ```
/// use gust_executor::signal::{self, Signal};
///
/// let (tx, rx) = gust_chan::chan::<Signal>(1);
/// signal::notify(&tx, &[Signal::SIGWINCH]).unwrap();
/// signal::reset(&[Signal::SIGWINCH]);
/// signal_hook::low_level::raise(Signal::SIGWINCH.as_raw()).unwrap(); // ignored by default
/// # std::thread::sleep(std::time::Duration::from_millis(50));
/// assert!(rx.try_recv().is_err());
/// ```
pub fn reset(signals: &[Signal]) {
    let mut table = table();
    let signals: Vec<Signal> = match signals {
        [] => table.signals.keys().copied().collect(),
        some => some.to_vec(),
    };
    table.forget(&signals);
    for s in &signals {
        if let Some(entry) = table.signals.get_mut(s) {
            entry.ignored = false;
        }
    }
    table.settle();
}

/// Makes the process ignore `signals`, or [`Signal::ALL`] when empty (Go's
/// `signal.Ignore`): no channel gets them any more and they do nothing,
/// until a later [`notify`] or [`reset`].
///
/// # Errors
///
/// As [`notify`]'s.
///
/// ```
/// use gust_executor::signal::{self, Signal};
///
/// signal::ignore(&[Signal::SIGUSR1]).unwrap();
/// assert!(signal::ignored(Signal::SIGUSR1));
/// signal_hook::low_level::raise(Signal::SIGUSR1.as_raw()).unwrap(); // no effect
/// signal::reset(&[Signal::SIGUSR1]);
/// assert!(!signal::ignored(Signal::SIGUSR1));
/// ```
pub fn ignore(signals: &[Signal]) -> io::Result<()> {
    let signals = chosen(signals)?;
    let mut table = table();
    table.register_all(&signals, true)?;
    table.forget(&signals);
    table.settle();
    Ok(())
}

/// Whether `signal` is ignored now: by [`ignore`], or because the process
/// started with it ignored and no channel asks for it (Go's
/// `signal.Ignored`; a program started by `nohup` ignores SIGHUP, every
/// Rust program SIGPIPE).
///
/// ```
/// use gust_executor::signal::{self, Signal};
///
/// assert!(signal::ignored(Signal::SIGPIPE)); // Rust's runtime ignores it
/// assert!(!signal::ignored(Signal::SIGTERM));
/// ```
pub fn ignored(signal: Signal) -> bool {
    let table = table();
    match table.signals.get(&signal) {
        Some(entry) => entry.ignored || (entry.ignored_at_start && !table.wanted(signal)),
        None => disposition_is_ignore(signal),
    }
}

/// Waits for a Ctrl-C (SIGINT), as tokio's `signal::ctrl_c`. SIGINT is
/// relayed from the first poll until the future is dropped or completes;
/// meanwhile it does not end the program.
///
/// # Errors
///
/// As [`notify`]'s.
///
/// ```no_run
/// gust_executor::block_on(async {
///     gust_executor::signal::ctrl_c().await.unwrap();
///     println!("shutting down");
/// });
/// ```
pub async fn ctrl_c() -> io::Result<()> {
    let (tx, rx) = gust_chan::chan(1);
    notify(&tx, &[Signal::SIGINT])?;
    let _stop = StopOnDrop(tx);
    rx.recv().await;
    Ok(())
}

/// [`stop`]s its channel when dropped.
struct StopOnDrop(Sender<Signal>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        stop(&self.0);
    }
}

/// Relays `signals` to `f`, called on the relaying thread with no lock
/// held, until the returned [`Subscription`] is dropped (gust-context's
/// `notify_context` builds on it). No signals means [`Signal::ALL`].
///
/// # Errors
///
/// As [`notify`]'s.
#[doc(hidden)]
pub fn subscribe(
    signals: &[Signal],
    f: impl Fn(Signal) + Send + Sync + 'static,
) -> io::Result<Subscription> {
    let signals = chosen(signals)?;
    let mut table = table();
    table.register_all(&signals, false)?;
    let id = table.next_id();
    table.subs.push(Subscriber {
        id,
        to: Target::Call(Arc::new(f)),
        signals,
    });
    table.settle();
    Ok(Subscription { id })
}

/// What [`subscribe`] returns: dropping it ends the relaying (a call
/// already under way may still finish).
#[doc(hidden)]
#[derive(Debug)]
pub struct Subscription {
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut table = table();
        table.subs.retain(|sub| sub.id != self.id);
        table.settle();
    }
}

/// Keeps `signal`'s default action from coming back while gust itself
/// handles it (the SIGQUIT dump: the program goes on); for good, since
/// the dump's handler stays.
pub(crate) fn hold(signal: Signal) {
    let mut table = table();
    if !table.held.contains(&signal) {
        table.held.push(signal);
    }
    table.settle();
}

/// `signals`, or [`Signal::ALL`] when empty, each checked: one that cannot
/// be relayed is an error naming it.
fn chosen(signals: &[Signal]) -> io::Result<Vec<Signal>> {
    let signals = if signals.is_empty() {
        Signal::ALL
    } else {
        signals
    };
    let mut out = Vec::with_capacity(signals.len());
    for &s in signals {
        let invalid = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("gust::signal: cannot relay {s:?} ({}): {why}", s.0),
            )
        };
        if signal_hook::consts::FORBIDDEN.contains(&s.0) || s.0 == sig::SIGBUS {
            return Err(invalid(
                "the OS does not let a process catch it, or it reports a fault of the program itself",
            ));
        }
        if signal_hook::low_level::signal_name(s.0).is_none() {
            return Err(invalid("not a signal this module knows"));
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// Whether the process's current action for `signal` is `SIG_IGN`.
fn disposition_is_ignore(signal: Signal) -> bool {
    // SAFETY: a zeroed sigaction is a valid out-parameter, and a null new
    // action makes `sigaction` only read the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal.0, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Everything this module knows, under one lock (invariants #1-#3).
struct Table {
    /// Every signal registered with the OS so far (invariant #1).
    signals: BTreeMap<Signal, Entry>,
    /// Who wants which signals.
    subs: Vec<Subscriber>,
    /// Signals whose default action gust itself keeps away ([`hold`]).
    held: Vec<Signal>,
    /// The relaying thread's handle to its signal set; `None` until the
    /// first registration starts it.
    relay: Option<signal_hook::iterator::Handle>,
    /// The last subscriber id handed out.
    last_id: u64,
}

/// A registered signal (invariant #2).
struct Entry {
    /// Read by the signal handler: run the default action.
    run_default: Arc<AtomicBool>,
    /// [`ignore`] asked for it to be dropped.
    ignored: bool,
    /// The process started with it ignored.
    ignored_at_start: bool,
}

struct Subscriber {
    id: u64,
    to: Target,
    signals: Vec<Signal>,
}

impl Subscriber {
    fn add(&mut self, signals: &[Signal]) {
        for s in signals {
            if !self.signals.contains(s) {
                self.signals.push(*s);
            }
        }
    }
}

enum Target {
    Chan(Sender<Signal>),
    Call(Arc<dyn Fn(Signal) + Send + Sync>),
}

impl PartialEq for Target {
    fn eq(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Chan(a), Target::Chan(b)) => a == b,
            (Target::Call(a), Target::Call(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    signals: BTreeMap::new(),
    subs: Vec::new(),
    held: Vec::new(),
    relay: None,
    last_id: 0,
});

fn table() -> MutexGuard<'static, Table> {
    // Nothing under the lock panics halfway through a change.
    TABLE.lock().unwrap_or_else(|e| e.into_inner())
}

impl Table {
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    fn entry(&mut self, signal: Signal) -> &mut Entry {
        self.signals
            .get_mut(&signal)
            .expect("registered before it is used")
    }

    /// Registers `signal` with the OS once (invariant #1): the conditional
    /// default first, so that no instant has the handler installed and
    /// the default missing, then the relaying thread's pipe.
    fn register(&mut self, signal: Signal) -> io::Result<()> {
        if self.signals.contains_key(&signal) {
            return Ok(());
        }
        if self.relay.is_none() {
            self.relay = Some(start_relay()?);
        }
        let ignored_at_start = disposition_is_ignore(signal);
        // What `settle` would say with nobody subscribed yet.
        let default = !ignored_at_start && !self.held.contains(&signal);
        let run_default = Arc::new(AtomicBool::new(default));
        signal_hook::flag::register_conditional_default(signal.0, run_default.clone())?;
        if let Some(relay) = &self.relay {
            relay.add_signal(signal.0)?;
        }
        // Made last: an entry means the signal is fully registered (a
        // failure above leaves at most a conditional default that keeps
        // the signal's default action, and the next call tries again).
        self.signals.insert(
            signal,
            Entry {
                run_default,
                ignored: false,
                ignored_at_start,
            },
        );
        Ok(())
    }

    /// Registers every signal of `signals` and marks each `ignored` or
    /// not ([`ignore`] against [`notify`]); on a failure, the table is left
    /// settled and its marks unchanged.
    fn register_all(&mut self, signals: &[Signal], ignored: bool) -> io::Result<()> {
        for &s in signals {
            if let Err(e) = self.register(s) {
                self.settle();
                return Err(e);
            }
        }
        for s in signals {
            self.entry(*s).ignored = ignored;
        }
        Ok(())
    }

    /// Whether a subscriber wants `signal`.
    fn wanted(&self, signal: Signal) -> bool {
        self.subs.iter().any(|sub| sub.signals.contains(&signal))
    }

    /// Takes `signals` out of every subscriber's set (dropping those left
    /// with none).
    fn forget(&mut self, signals: &[Signal]) {
        for sub in &mut self.subs {
            sub.signals.retain(|s| !signals.contains(s));
        }
        self.subs.retain(|sub| !sub.signals.is_empty());
    }

    /// Recomputes each entry's `run_default` (invariant #2).
    fn settle(&self) {
        for (&signal, entry) in &self.signals {
            let default = !self.wanted(signal)
                && !entry.ignored
                && !entry.ignored_at_start
                && !self.held.contains(&signal);
            // SeqCst: the handler's load (signal-hook's) is SeqCst; a
            // signal after this store sees it.
            entry.run_default.store(default, Ordering::SeqCst);
        }
    }

    /// Hands `signal` to its subscribers (invariant #3); returns the
    /// callbacks to call once the lock is released.
    fn deliver(&mut self, signal: Signal) -> Vec<Arc<dyn Fn(Signal) + Send + Sync>> {
        let mut calls = Vec::new();
        let before = self.subs.len();
        self.subs.retain(|sub| {
            if !sub.signals.contains(&signal) {
                return true;
            }
            match &sub.to {
                // Full: missed, as Go's. Closed: nobody can receive.
                Target::Chan(tx) => !matches!(tx.try_send(signal), Err(TrySendError::Closed(_))),
                Target::Call(f) => {
                    calls.push(f.clone());
                    true
                }
            }
        });
        if self.subs.len() != before {
            self.settle();
        }
        calls
    }
}

/// Starts the thread that reads signal-hook's pipe and relays each signal.
fn start_relay() -> io::Result<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new(std::iter::empty::<i32>())?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("gust-signal".to_owned())
        .spawn(move || {
            for raw in signals.forever() {
                // A waker or callback that panics must not end the relaying
                // (every subscribed signal would then be lost): the panic
                // is reported by the hook and the thread goes on.
                let _ = std::panic::catch_unwind(|| {
                    let calls = table().deliver(Signal(raw));
                    for f in calls {
                        f(Signal(raw));
                    }
                });
            }
        })?;
    Ok(handle)
}
