//! The run queue under loom: no value lost or duplicated under any
//! interleaving of the owner's push/pop and a thief's steal (capacity 4, so
//! the full ring, overflow and wrap-around are reachable).

use crate::scheduler::queue::{self, CAPACITY};
use loom::sync::{Arc, Mutex};
use loom::thread;

/// Collects every value seen and checks each of `0..n` exactly once.
fn check(mut seen: Vec<usize>, n: usize) {
    seen.sort_unstable();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
}

#[test]
fn loom_queue_push_pop_steal() {
    loom::model(|| {
        let (local, steal) = queue::new::<usize>();
        let th = thread::spawn(move || {
            let (thief, _) = queue::new::<usize>();
            let mut got = Vec::new();
            if let Some(v) = steal.steal_into(&thief) {
                got.push(v);
            }
            while let Some(v) = thief.pop() {
                got.push(v);
            }
            got
        });
        let mut seen = Vec::new();
        for i in 0..3 {
            local.push_back(i, |_| unreachable!("3 values fit in 4 slots"));
        }
        if let Some(v) = local.pop() {
            seen.push(v);
        }
        seen.extend(th.join().unwrap());
        while let Some(v) = local.pop() {
            seen.push(v);
        }
        check(seen, 3);
    });
}

#[test]
fn loom_queue_overflow_while_stealing() {
    loom::model(|| {
        let (local, steal) = queue::new::<usize>();
        let overflow = Arc::new(Mutex::new(Vec::new()));
        let n = CAPACITY as usize + 2;
        // Fill to capacity first.
        for i in 0..CAPACITY as usize {
            local.push_back(i, |_| unreachable!());
        }
        let th = thread::spawn(move || {
            let (thief, _) = queue::new::<usize>();
            let mut got = Vec::new();
            if let Some(v) = steal.steal_into(&thief) {
                got.push(v);
            }
            while let Some(v) = thief.pop() {
                got.push(v);
            }
            got
        });
        for i in CAPACITY as usize..n {
            let o = overflow.clone();
            local.push_back(i, move |batch| o.lock().unwrap().extend(batch));
        }
        let mut seen = th.join().unwrap();
        while let Some(v) = local.pop() {
            seen.push(v);
        }
        seen.extend(overflow.lock().unwrap().drain(..));
        check(seen, n);
    });
}

#[test]
fn loom_queue_wrap_around_while_stealing() {
    loom::model(|| {
        // Positions cross u32::MAX during the run.
        let (local, steal) = queue::new_at::<usize>(u32::MAX - 1);
        for i in 0..3 {
            local.push_back(i, |_| unreachable!());
        }
        let th = thread::spawn(move || {
            let (thief, _) = queue::new_at::<usize>(u32::MAX);
            let mut got = Vec::new();
            if let Some(v) = steal.steal_into(&thief) {
                got.push(v);
            }
            while let Some(v) = thief.pop() {
                got.push(v);
            }
            got
        });
        let overflow = Arc::new(Mutex::new(Vec::new()));
        let o = overflow.clone();
        local.push_back(3, move |batch| o.lock().unwrap().extend(batch));
        let mut seen = Vec::new();
        seen.extend(local.pop());
        seen.extend(th.join().unwrap());
        while let Some(v) = local.pop() {
            seen.push(v);
        }
        seen.extend(overflow.lock().unwrap().drain(..));
        check(seen, 4);
    });
}

#[test]
fn loom_queue_two_thieves() {
    loom::model(|| {
        let (local, steal) = queue::new::<usize>();
        for i in 0..3 {
            local.push_back(i, |_| unreachable!());
        }
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                thread::spawn(move || {
                    let (thief, _) = queue::new::<usize>();
                    let mut got = Vec::new();
                    if let Some(v) = steal.steal_into(&thief) {
                        got.push(v);
                    }
                    while let Some(v) = thief.pop() {
                        got.push(v);
                    }
                    got
                })
            })
            .collect();
        let mut seen = Vec::new();
        for t in thieves {
            seen.extend(t.join().unwrap());
        }
        while let Some(v) = local.pop() {
            seen.push(v);
        }
        check(seen, 3);
    });
}
