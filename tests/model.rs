//! Model-based tests of the channels (issue 6): random sequences of channel
//! operations, driven from one thread with a no-op waker, checked step by
//! step against a sequential model of Go's `hchan` (buffer + closed flag +
//! FIFO queues of waiting senders and receivers).
//!
//! Every value is a tracked id whose `Drop` records it, so at the end each id
//! is accounted for exactly once: received, handed back in an error, or
//! dropped by the channel machinery (a cancelled send, or a value still
//! buffered when the channel went away), and the model says which.
//!
//! `PROPTEST_CASES` overrides the number of cases (256 by default).

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::task::noop_waker;
use gust::{Receiver, SendError, Sender, TryRecvError, TrySendError, chan, select};
use proptest::prelude::*;

// ---------------------------------------------------------------- values

type Log = Arc<Mutex<Vec<u64>>>;

/// A value with an identity: dropping it while armed records its id in the
/// log (it was dropped by the channel machinery, not consumed by the test).
struct Val {
    id: u64,
    armed: bool,
    log: Log,
}

impl Val {
    fn new(id: u64, log: &Log) -> Self {
        Val {
            id,
            armed: true,
            log: log.clone(),
        }
    }
    /// The test consumed the value: it will not be logged as dropped.
    fn take(mut self) -> u64 {
        self.armed = false;
        self.id
    }
}

impl Drop for Val {
    fn drop(&mut self) {
        if self.armed {
            self.log.lock().unwrap().push(self.id);
        }
    }
}

fn drained(log: &Log) -> Vec<u64> {
    std::mem::take(&mut *log.lock().unwrap())
}

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn poll_once<T>(f: &mut BoxFut<T>) -> Poll<T> {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    f.as_mut().poll(&mut cx)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

// ---------------------------------------------------------------- the model

/// What a waiting operation has been given by a counterpart.
#[derive(Clone, Debug, PartialEq)]
enum Sel {
    /// Still waiting.
    No,
    /// Send: delivered. Recv: handed `Some(id)` (in flight) or `None` (closed).
    Done(Option<u64>),
    /// Send: woken by close / no receivers; the value is still in its slot.
    Back,
    /// Completed (returned `Ready`); holds nothing.
    Finished,
}

#[derive(Debug)]
struct ModelFut {
    /// `Some(id)` for a send, `None` for a recv.
    send: Option<u64>,
    sel: Sel,
}

#[derive(Debug, Default)]
struct Model {
    cap: usize,
    buf: VecDeque<u64>,
    closed: bool,
    rx_gone: bool,
    /// Waiting senders / receivers, oldest first (keys into `futs`).
    sendq: VecDeque<u64>,
    recvq: VecDeque<u64>,
    futs: BTreeMap<u64, ModelFut>,
    in_flight: usize,
    tx_handles: usize,
    rx_handles: usize,
}

#[derive(Debug, PartialEq)]
enum TS {
    Ok,
    Full(u64),
    Closed(u64),
}

#[derive(Debug, PartialEq)]
enum TR {
    Ok(u64),
    Empty,
    Closed,
}

impl Model {
    fn senders(&self) -> usize {
        self.tx_handles + self.futs.values().filter(|f| f.send.is_some()).count()
    }
    fn receivers(&self) -> usize {
        self.rx_handles + self.futs.values().filter(|f| f.send.is_none()).count()
    }

    fn close(&mut self) -> bool {
        if self.closed {
            return false;
        }
        self.closed = true;
        if self.in_flight == 0 {
            for k in std::mem::take(&mut self.recvq) {
                self.futs.get_mut(&k).unwrap().sel = Sel::Done(None);
            }
        }
        for k in std::mem::take(&mut self.sendq) {
            self.futs.get_mut(&k).unwrap().sel = Sel::Back;
        }
        true
    }

    /// What the channel dropped after a handle (or a future holding one)
    /// went away: once no receiving handle is left, nobody can receive what
    /// is buffered, and it is dropped then (crossbeam's `drop_unreceived`),
    /// whether senders are left or not.
    fn freed(&mut self) -> Vec<u64> {
        if self.receivers() == 0 {
            self.buf.drain(..).collect()
        } else {
            vec![]
        }
    }

    fn handles_changed(&mut self) {
        if self.senders() == 0 {
            self.close();
        }
        if self.receivers() == 0 && !self.rx_gone {
            self.rx_gone = true;
            for k in std::mem::take(&mut self.sendq) {
                self.futs.get_mut(&k).unwrap().sel = Sel::Back;
            }
        }
    }

    fn try_send(&mut self, id: u64) -> TS {
        if self.closed || self.rx_gone {
            return TS::Closed(id);
        }
        if let Some(k) = self.recvq.pop_front() {
            self.futs.get_mut(&k).unwrap().sel = Sel::Done(Some(id));
            self.in_flight += 1;
            return TS::Ok;
        }
        if self.buf.len() < self.cap {
            self.buf.push_back(id);
            return TS::Ok;
        }
        TS::Full(id)
    }

    fn take_sender(&mut self) -> Option<u64> {
        let k = self.sendq.pop_front()?;
        let f = self.futs.get_mut(&k).unwrap();
        f.sel = Sel::Done(None);
        f.send
    }

    fn try_recv(&mut self) -> TR {
        if let Some(v) = self.buf.pop_front() {
            if self.buf.len() < self.cap {
                if let Some(w) = self.take_sender() {
                    self.buf.push_back(w);
                }
            }
            return TR::Ok(v);
        }
        if let Some(w) = self.take_sender() {
            return TR::Ok(w);
        }
        if self.closed && self.in_flight == 0 {
            TR::Closed
        } else {
            TR::Empty
        }
    }

    fn give_back(&mut self, id: u64) {
        if let Some(k) = self.recvq.pop_front() {
            self.futs.get_mut(&k).unwrap().sel = Sel::Done(Some(id));
            self.in_flight += 1;
        } else {
            self.buf.push_front(id);
        }
    }

    /// A receiver collected an in-flight value.
    fn collected(&mut self) {
        self.in_flight -= 1;
        if self.closed && self.in_flight == 0 && self.buf.is_empty() {
            for k in std::mem::take(&mut self.recvq) {
                self.futs.get_mut(&k).unwrap().sel = Sel::Done(None);
            }
        }
    }

    /// Polls future `key`. `Some` when it completes: for a send, `Ok(())` as
    /// `Ok(None)` or the value back as `Err(id)`; for a recv, `Ok(value)`.
    fn poll(&mut self, key: u64) -> Option<Result<Option<u64>, u64>> {
        let f = &self.futs[&key];
        let (send, sel) = (f.send, f.sel.clone());
        let queued = self.sendq.contains(&key) || self.recvq.contains(&key);
        let res = match (send, sel) {
            (Some(_), Sel::Done(_)) => Some(Ok(None)),
            (Some(id), Sel::Back) => Some(Err(id)),
            (None, Sel::Done(v)) => {
                if v.is_some() {
                    self.collected();
                }
                Some(Ok(v))
            }
            (None, Sel::Back) | (_, Sel::Finished) => unreachable!(),
            (Some(id), Sel::No) => match self.try_send(id) {
                TS::Ok => Some(Ok(None)),
                TS::Closed(id) => Some(Err(id)),
                TS::Full(_) => {
                    if !queued {
                        self.sendq.push_back(key);
                    }
                    None
                }
            },
            (None, Sel::No) => match self.try_recv() {
                TR::Ok(v) => Some(Ok(Some(v))),
                TR::Closed => Some(Ok(None)),
                TR::Empty => {
                    if !queued {
                        self.recvq.push_back(key);
                    }
                    None
                }
            },
        };
        if res.is_some() {
            self.sendq.retain(|&k| k != key);
            self.recvq.retain(|&k| k != key);
            self.futs.get_mut(&key).unwrap().sel = Sel::Finished;
        }
        res
    }

    /// Drops future `key` (completed or not). Returns the id the drop must
    /// log, if any.
    fn drop_fut(&mut self, key: u64) -> Vec<u64> {
        let f = self.futs.remove(&key).unwrap();
        self.sendq.retain(|&k| k != key);
        self.recvq.retain(|&k| k != key);
        let dropped = match (f.send, f.sel) {
            // A pending send: its value is dropped with it, never delivered.
            (Some(id), Sel::No | Sel::Back) => Some(id),
            (Some(_), Sel::Done(_)) | (_, Sel::Finished) => None,
            (None, Sel::Done(Some(v))) => {
                self.in_flight -= 1;
                self.give_back(v);
                None
            }
            (None, _) => None,
        };
        self.handles_changed();
        dropped.into_iter().chain(self.freed()).collect()
    }
}

// ---------------------------------------------------------------- ops

#[derive(Clone, Debug)]
enum Op {
    Send,
    TrySend,
    Recv,
    TryRecv,
    Close,
    CloneTx,
    DropTx(usize),
    CloneRx,
    DropRx(usize),
    /// Drop pending future `i % n`: cancel it.
    Cancel(usize),
    /// Poll pending future `i % n` again.
    Poll(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Send),
        4 => Just(Op::TrySend),
        4 => Just(Op::Recv),
        4 => Just(Op::TryRecv),
        1 => Just(Op::Close),
        1 => Just(Op::CloneTx),
        1 => any::<usize>().prop_map(Op::DropTx),
        1 => Just(Op::CloneRx),
        1 => any::<usize>().prop_map(Op::DropRx),
        3 => any::<usize>().prop_map(Op::Cancel),
        5 => any::<usize>().prop_map(Op::Poll),
    ]
}

enum Real {
    Send(BoxFut<Result<(), SendError<Val>>>),
    Recv(BoxFut<Option<Val>>),
}

/// Outcome of polling a real future, in model terms.
fn poll_real(f: &mut Real) -> Option<Result<Option<u64>, u64>> {
    match f {
        Real::Send(f) => match poll_once(f) {
            Poll::Pending => None,
            Poll::Ready(Ok(())) => Some(Ok(None)),
            Poll::Ready(Err(SendError(v))) => Some(Err(v.take())),
        },
        Real::Recv(f) => match poll_once(f) {
            Poll::Pending => None,
            Poll::Ready(v) => Some(Ok(v.map(Val::take))),
        },
    }
}

struct Harness {
    m: Model,
    log: Log,
    txs: Vec<Sender<Val>>,
    rxs: Vec<Receiver<Val>>,
    futs: BTreeMap<u64, Real>,
    next_id: u64,
    next_key: u64,
    /// Every id created, and how each was accounted.
    received: Vec<u64>,
    returned: Vec<u64>,
    dropped: Vec<u64>,
}

impl Harness {
    fn new(cap: usize) -> Self {
        let (tx, rx) = chan::<Val>(cap);
        Harness {
            m: Model {
                cap,
                tx_handles: 1,
                rx_handles: 1,
                ..Model::default()
            },
            log: Log::default(),
            txs: vec![tx],
            rxs: vec![rx],
            futs: BTreeMap::new(),
            next_id: 0,
            next_key: 0,
            received: vec![],
            returned: vec![],
            dropped: vec![],
        }
    }

    fn val(&mut self) -> Val {
        self.next_id += 1;
        Val::new(self.next_id, &self.log)
    }

    /// Checks that exactly `expect` was logged as dropped since last time.
    fn check_dropped(&mut self, expect: &[u64], what: &str) {
        let mut got = drained(&self.log);
        got.sort_unstable();
        let mut exp = expect.to_vec();
        exp.sort_unstable();
        assert_eq!(got, exp, "ids dropped by the channel after {what}");
        self.dropped.extend(got);
    }

    fn account(&mut self, r: &Result<Option<u64>, u64>, is_send: bool) {
        match r {
            Ok(Some(v)) => self.received.push(*v),
            Ok(None) => {}
            Err(v) => {
                assert!(is_send);
                self.returned.push(*v)
            }
        }
    }

    fn complete(&mut self, key: u64, r: Result<Option<u64>, u64>) {
        let is_send = matches!(self.futs[&key], Real::Send(_));
        self.account(&r, is_send);
        // The completed future goes away (with the handle it holds).
        drop(self.futs.remove(&key));
        let d = self.m.drop_fut(key);
        self.check_dropped(&d, "dropping a completed future");
    }

    fn step(&mut self, op: &Op) {
        match *op {
            Op::Send | Op::Recv => {
                let key = self.next_key;
                self.next_key += 1;
                let (mut real, send) = if let Op::Send = op {
                    let Some(tx) = self.txs.first().cloned() else {
                        return;
                    };
                    let v = self.val();
                    let id = v.id;
                    (
                        Real::Send(Box::pin(async move { tx.send(v).await })),
                        Some(id),
                    )
                } else {
                    let Some(rx) = self.rxs.first().cloned() else {
                        return;
                    };
                    (Real::Recv(Box::pin(async move { rx.recv().await })), None)
                };
                self.m.futs.insert(key, ModelFut { send, sel: Sel::No });
                let got = poll_real(&mut real);
                let exp = self.m.poll(key);
                assert_eq!(got, exp, "first poll of {op:?} (key {key})");
                self.futs.insert(key, real);
                if let Some(r) = got {
                    self.complete(key, r);
                }
            }
            Op::TrySend => {
                let Some(tx) = self.txs.first() else { return };
                self.next_id += 1;
                let v = Val::new(self.next_id, &self.log);
                let got = match tx.try_send(v) {
                    Ok(()) => TS::Ok,
                    Err(TrySendError::Full(v)) => TS::Full(v.take()),
                    Err(TrySendError::Closed(v)) => TS::Closed(v.take()),
                };
                let exp = self.m.try_send(self.next_id);
                assert_eq!(got, exp, "try_send");
                if let TS::Full(v) | TS::Closed(v) = got {
                    self.returned.push(v);
                }
            }
            Op::TryRecv => {
                let Some(rx) = self.rxs.first() else { return };
                let got = match rx.try_recv() {
                    Ok(v) => TR::Ok(v.take()),
                    Err(TryRecvError::Empty) => TR::Empty,
                    Err(TryRecvError::Closed) => TR::Closed,
                };
                assert_eq!(got, self.m.try_recv(), "try_recv");
                if let TR::Ok(v) = got {
                    self.received.push(v);
                }
            }
            Op::Close => {
                let Some(tx) = self.txs.first() else { return };
                assert_eq!(tx.close(), self.m.close(), "close");
            }
            Op::CloneTx => {
                if let Some(tx) = self.txs.first().cloned() {
                    self.txs.push(tx);
                    self.m.tx_handles += 1;
                }
            }
            Op::CloneRx => {
                if let Some(rx) = self.rxs.first().cloned() {
                    self.rxs.push(rx);
                    self.m.rx_handles += 1;
                }
            }
            Op::DropTx(i) => {
                if !self.txs.is_empty() {
                    let i = i % self.txs.len();
                    drop(self.txs.remove(i));
                    self.m.tx_handles -= 1;
                    self.m.handles_changed();
                    let d = self.m.freed();
                    self.check_dropped(&d, "dropping a handle");
                }
            }
            Op::DropRx(i) => {
                if !self.rxs.is_empty() {
                    let i = i % self.rxs.len();
                    drop(self.rxs.remove(i));
                    self.m.rx_handles -= 1;
                    self.m.handles_changed();
                    let d = self.m.freed();
                    self.check_dropped(&d, "dropping a handle");
                }
            }
            Op::Cancel(i) => {
                if self.futs.is_empty() {
                    return;
                }
                let key = *self.futs.keys().nth(i % self.futs.len()).unwrap();
                drop(self.futs.remove(&key));
                let exp = self.m.drop_fut(key);
                self.check_dropped(&exp, "cancel");
            }
            Op::Poll(i) => {
                if self.futs.is_empty() {
                    return;
                }
                let key = *self.futs.keys().nth(i % self.futs.len()).unwrap();
                let got = poll_real(self.futs.get_mut(&key).unwrap());
                let exp = self.m.poll(key);
                assert_eq!(got, exp, "re-poll of key {key}");
                if let Some(r) = got {
                    self.complete(key, r);
                }
            }
        }
        self.check_dropped(&[], "an operation that drops nothing");
        // Observable state.
        for tx in &self.txs {
            assert_eq!(tx.len(), self.m.buf.len().min(self.m.cap), "len");
            assert_eq!(tx.cap(), self.m.cap, "cap");
            assert_eq!(tx.is_closed(), self.m.closed, "is_closed");
        }
        for rx in &self.rxs {
            assert_eq!(rx.len(), self.m.buf.len().min(self.m.cap), "len");
            assert_eq!(rx.is_closed(), self.m.closed, "is_closed");
        }
    }

    /// Drops everything and checks that every id is accounted exactly once.
    fn finish(mut self) {
        // What the channel still holds: buffered values and the values of
        // sends that are waiting (or woken with their value back).
        let mut left: Vec<u64> = self.m.buf.iter().copied().collect();
        for f in self.m.futs.values() {
            match (f.send, &f.sel) {
                (Some(id), Sel::No | Sel::Back) => left.push(id),
                (None, Sel::Done(Some(v))) => left.push(*v),
                _ => {}
            }
        }
        drop(std::mem::take(&mut self.futs));
        drop(std::mem::take(&mut self.txs));
        drop(std::mem::take(&mut self.rxs));
        self.check_dropped(&left, "dropping every handle");
        let mut all: Vec<u64> = self
            .received
            .iter()
            .chain(&self.returned)
            .chain(&self.dropped)
            .copied()
            .collect();
        all.sort_unstable();
        let expect: Vec<u64> = (1..=self.next_id).collect();
        assert_eq!(all, expect, "every id exactly once");
    }
}

fn run_ops(cap: usize, ops: &[Op]) {
    let mut h = Harness::new(cap);
    for op in ops {
        h.step(op);
    }
    h.finish();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn channel_matches_model(
        cap in prop_oneof![Just(0usize), Just(1), Just(3)],
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        run_ops(cap, &ops);
    }
}

/// A fixed sequence covering a cancelled receiver giving its value back.
#[test]
fn cancelled_receiver_gives_back() {
    for cap in [0, 1, 3] {
        run_ops(
            cap,
            &[
                Op::Recv,
                Op::Recv,
                Op::TrySend,
                Op::Cancel(0),
                Op::Close,
                Op::Poll(0),
                Op::Recv,
            ],
        );
    }
}

// ---------------------------------------------------------------- select

/// What one select case does on its channel.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Off,
    Send,
    Recv,
}

#[derive(Clone, Debug)]
enum SOp {
    /// Start a select over the channels (if none is running) and poll it.
    Select([Kind; 3]),
    PollSelect,
    CancelSelect,
    TrySend(usize),
    TryRecv(usize),
    /// A plain pending recv / send future on channel `i`, polled once.
    Recv(usize),
    Send(usize),
    PollFut(usize),
    CancelFut(usize),
    Close(usize),
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![1 => Just(Kind::Off), 2 => Just(Kind::Send), 2 => Just(Kind::Recv)]
}

fn sop(n: usize) -> impl Strategy<Value = SOp> {
    prop_oneof![
        3 => [kind(), kind(), kind()].prop_map(SOp::Select),
        3 => Just(SOp::PollSelect),
        1 => Just(SOp::CancelSelect),
        3 => (0..n).prop_map(SOp::TrySend),
        3 => (0..n).prop_map(SOp::TryRecv),
        1 => (0..n).prop_map(SOp::Recv),
        1 => (0..n).prop_map(SOp::Send),
        2 => any::<usize>().prop_map(SOp::PollFut),
        1 => any::<usize>().prop_map(SOp::CancelFut),
        1 => (0..n).prop_map(SOp::Close),
    ]
}

#[derive(Debug)]
enum Outcome {
    Sent(usize, Result<(), u64>),
    Recvd(usize, Option<u64>),
}

struct SelRun {
    fut: BoxFut<Outcome>,
    /// The ids offered by its send cases, by channel.
    offered: Vec<(usize, u64)>,
    /// Its recv cases, by channel.
    recvs: Vec<usize>,
}

fn start_select(
    kinds: [Kind; 3],
    txs: &[Sender<Val>],
    rxs: &[Receiver<Val>],
    next_id: &mut u64,
    log: &Log,
) -> SelRun {
    let n = txs.len();
    let mut offered = vec![];
    let mut recvs = vec![];
    let mut vals: [Option<Val>; 3] = [None, None, None];
    let mut s = [false; 3];
    let mut r = [false; 3];
    for i in 0..n {
        match kinds[i] {
            Kind::Off => {}
            Kind::Send => {
                *next_id += 1;
                vals[i] = Some(Val::new(*next_id, log));
                offered.push((i, *next_id));
                s[i] = true;
            }
            Kind::Recv => {
                recvs.push(i);
                r[i] = true;
            }
        }
    }
    let (t0, t1, t2) = (txs[0].clone(), txs[1].clone(), txs[n - 1].clone());
    let (r0, r1, r2) = (rxs[0].clone(), rxs[1].clone(), rxs[n - 1].clone());
    let [mut v0, mut v1, mut v2] = vals;
    let fut = Box::pin(async move {
        select! {
            x = t0.send(v0.take().unwrap()), if s[0] => Outcome::Sent(0, x.map_err(|e| e.0.take())),
            x = t1.send(v1.take().unwrap()), if s[1] => Outcome::Sent(1, x.map_err(|e| e.0.take())),
            x = t2.send(v2.take().unwrap()), if s[2] => Outcome::Sent(2, x.map_err(|e| e.0.take())),
            x = r0.recv(), if r[0] => Outcome::Recvd(0, x.map(Val::take)),
            x = r1.recv(), if r[1] => Outcome::Recvd(1, x.map(Val::take)),
            x = r2.recv(), if r[2] => Outcome::Recvd(2, x.map(Val::take)),
        }
    });
    SelRun {
        fut,
        offered,
        recvs,
    }
}

fn run_select_ops(caps: &[usize], ops: &[SOp]) {
    let n = caps.len();
    let log = Log::default();
    let mut txs = vec![];
    let mut rxs = vec![];
    for &c in caps {
        let (tx, rx) = chan::<Val>(c);
        txs.push(tx);
        rxs.push(rx);
    }
    let mut next_id = 0u64;
    let mut received: Vec<u64> = vec![];
    let mut returned: Vec<u64> = vec![];
    let mut dropped: Vec<u64> = vec![];
    // Ids that must never be received (offered by a send case not chosen, or
    // by a cancelled select / send).
    let mut undelivered: Vec<u64> = vec![];
    let mut sel: Option<SelRun> = None;
    let mut futs: Vec<Real> = vec![];
    let mut selects_done = 0u32;

    let finish_select = |run: SelRun,
                         out: Outcome,
                         log: &Log,
                         received: &mut Vec<u64>,
                         returned: &mut Vec<u64>,
                         dropped: &mut Vec<u64>,
                         undelivered: &mut Vec<u64>| {
        drop(run.fut);
        let mut got = drained(log);
        got.sort_unstable();
        // Exactly one case committed: every other offered value was dropped
        // with the select, undelivered.
        let mut exp: Vec<u64> = match &out {
            Outcome::Sent(i, _) => {
                assert!(run.offered.iter().any(|(c, _)| c == i), "chose a live case");
                run.offered
                    .iter()
                    .filter(|(c, _)| c != i)
                    .map(|&(_, id)| id)
                    .collect()
            }
            Outcome::Recvd(i, _) => {
                assert!(run.recvs.contains(i), "chose a live case");
                run.offered.iter().map(|&(_, id)| id).collect()
            }
        };
        exp.sort_unstable();
        assert_eq!(got, exp, "values of the cases not chosen: {out:?}");
        undelivered.extend(&got);
        dropped.extend(got);
        match out {
            Outcome::Sent(i, Ok(())) => {
                let id = run.offered.iter().find(|(c, _)| *c == i).unwrap().1;
                assert!(!undelivered.contains(&id));
            }
            Outcome::Sent(i, Err(v)) => {
                let id = run.offered.iter().find(|(c, _)| *c == i).unwrap().1;
                assert_eq!(v, id, "the value handed back is the one offered");
                returned.push(v);
            }
            Outcome::Recvd(_, Some(v)) => received.push(v),
            Outcome::Recvd(_, None) => {}
        }
    };

    for op in ops {
        match *op {
            SOp::Select(kinds) => {
                if sel.is_none() && kinds[..n].iter().any(|k| !matches!(k, Kind::Off)) {
                    sel = Some(start_select(kinds, &txs, &rxs, &mut next_id, &log));
                }
                if let Some(run) = sel.as_mut() {
                    if let Poll::Ready(out) = poll_once(&mut run.fut) {
                        let run = sel.take().unwrap();
                        selects_done += 1;
                        finish_select(
                            run,
                            out,
                            &log,
                            &mut received,
                            &mut returned,
                            &mut dropped,
                            &mut undelivered,
                        );
                    }
                }
            }
            SOp::PollSelect => {
                if let Some(run) = sel.as_mut() {
                    if let Poll::Ready(out) = poll_once(&mut run.fut) {
                        let run = sel.take().unwrap();
                        selects_done += 1;
                        finish_select(
                            run,
                            out,
                            &log,
                            &mut received,
                            &mut returned,
                            &mut dropped,
                            &mut undelivered,
                        );
                    }
                }
            }
            SOp::CancelSelect => {
                if let Some(run) = sel.take() {
                    drop(run.fut);
                    // A cancelled select committed nothing: every offered
                    // value is dropped, undelivered.
                    let mut got = drained(&log);
                    got.sort_unstable();
                    // A select completed by a counterpart but not polled yet
                    // committed one case before the cancel: at most one
                    // offer may be missing (delivered); every other is
                    // dropped, undelivered.
                    let offered: Vec<u64> = run.offered.iter().map(|&(_, id)| id).collect();
                    assert!(
                        got.iter().all(|id| offered.contains(id)),
                        "{got:?} {offered:?}"
                    );
                    assert!(
                        got.len() + 1 >= offered.len(),
                        "a cancelled select committed at most one send: dropped {got:?} of {offered:?}"
                    );
                    undelivered.extend(&got);
                    dropped.extend(got);
                }
            }
            SOp::TrySend(i) => {
                next_id += 1;
                match txs[i].try_send(Val::new(next_id, &log)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(v) | TrySendError::Closed(v)) => returned.push(v.take()),
                }
            }
            SOp::TryRecv(i) => {
                if let Ok(v) = rxs[i].try_recv() {
                    received.push(v.take());
                }
            }
            SOp::Send(i) => {
                next_id += 1;
                let v = Val::new(next_id, &log);
                let tx = txs[i].clone();
                futs.push(Real::Send(Box::pin(async move { tx.send(v).await })));
                let last = futs.len() - 1;
                poll_plain(&mut futs, last, &mut received, &mut returned);
            }
            SOp::Recv(i) => {
                let rx = rxs[i].clone();
                futs.push(Real::Recv(Box::pin(async move { rx.recv().await })));
                let last = futs.len() - 1;
                poll_plain(&mut futs, last, &mut received, &mut returned);
            }
            SOp::PollFut(k) => {
                if !futs.is_empty() {
                    let k = k % futs.len();
                    poll_plain(&mut futs, k, &mut received, &mut returned);
                }
            }
            SOp::CancelFut(k) => {
                if !futs.is_empty() {
                    let k = k % futs.len();
                    drop(futs.remove(k));
                    let got = drained(&log);
                    undelivered.extend(&got);
                    dropped.extend(got);
                }
            }
            SOp::Close(i) => {
                txs[i].close();
            }
        }
        let stray = drained(&log);
        assert!(stray.is_empty(), "values dropped unexpectedly: {stray:?}");
        // Nothing undelivered was ever received.
        for id in &received {
            assert!(
                !undelivered.contains(id),
                "undelivered id {id} was received"
            );
        }
    }
    // Drain what is buffered, then drop everything.
    if let Some(run) = sel.take() {
        drop(run.fut);
        let got = drained(&log);
        undelivered.extend(&got);
        dropped.extend(got);
    }
    for f in futs.drain(..) {
        drop(f);
        dropped.extend(drained(&log));
    }
    for rx in &rxs {
        while let Ok(v) = rx.try_recv() {
            received.push(v.take());
        }
    }
    drop(txs);
    drop(rxs);
    dropped.extend(drained(&log));
    for id in &received {
        assert!(
            !undelivered.contains(id),
            "undelivered id {id} was received"
        );
    }
    let mut all: Vec<u64> = received
        .iter()
        .chain(&returned)
        .chain(&dropped)
        .copied()
        .collect();
    all.sort_unstable();
    let expect: Vec<u64> = (1..=next_id).collect();
    assert_eq!(
        all, expect,
        "every id exactly once ({selects_done} selects)"
    );
}

fn poll_plain(futs: &mut Vec<Real>, k: usize, received: &mut Vec<u64>, returned: &mut Vec<u64>) {
    if let Some(r) = poll_real(&mut futs[k]) {
        futs.remove(k);
        match r {
            Ok(Some(v)) => received.push(v),
            Ok(None) => {}
            Err(v) => returned.push(v),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn select_commits_exactly_one(
        caps in proptest::collection::vec(prop_oneof![Just(0usize), Just(1), Just(3)], 2..=3),
        ops in proptest::collection::vec(sop(3), 1..60),
    ) {
        let n = caps.len();
        let ops: Vec<SOp> = ops
            .into_iter()
            .map(|op| match op {
                SOp::TrySend(i) => SOp::TrySend(i % n),
                SOp::TryRecv(i) => SOp::TryRecv(i % n),
                SOp::Recv(i) => SOp::Recv(i % n),
                SOp::Send(i) => SOp::Send(i % n),
                SOp::Close(i) => SOp::Close(i % n),
                op => op,
            })
            .collect();
        run_select_ops(&caps, &ops);
    }
}
