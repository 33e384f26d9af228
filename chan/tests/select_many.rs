//! `select!` with many cases: 64 cases (the cap) compile under the default
//! `#![recursion_limit]` (128), as Go's `select` and tokio's `select!` need
//! no attribute. The selects are written out case by case on purpose: a
//! macro generating them would add recursion depth of its own.
//!
//! Cases rotate through patterns of 1 to 4 token trees (`v`, `Some(v)`,
//! `v @ Some(_)`, `Option::Some(v)`) and three of 9
//! (`::core::option::Option::Some(v)`), bodies
//! with and without a trailing comma, and mix receive, send, guarded and
//! generic future cases.

use std::future::pending;

use futures::executor::block_on;
use gust_chan::{Receiver, Sender, chan, select};

/// A future case: ready with `v` when `on`, else never.
async fn maybe(on: bool, v: usize) -> usize {
    if on { v } else { pending().await }
}

fn channels(n: usize) -> Vec<(Sender<usize>, Receiver<usize>)> {
    (0..n).map(|_| chan::<usize>(1)).collect()
}

/// 64 cases, exactly one of them ready: the select takes that one. Cases 10,
/// 20 and 30 send on a full channel (ready once it is drained), case 50 has
/// a guard and case 60 is a generic future.
#[test]
fn sixty_four_cases_take_the_ready_one() {
    block_on(async {
        for target in [0, 1, 4, 10, 20, 23, 24, 30, 41, 50, 60, 62, 63] {
            let c = channels(64);
            for i in [10, 20, 30] {
                if i != target {
                    c[i].0.try_send(1000).unwrap(); // full: the send waits
                }
            }
            if ![10, 20, 30, 60].contains(&target) {
                c[target].0.try_send(target).unwrap();
            }
            let on = true;
            let got: usize = select! {
                v = c[0].1.recv() => { assert_eq!(v.unwrap(), 0); 0 }
                Some(v) = c[1].1.recv() => { assert_eq!(v, 1); 1 },
                Some(mut v) = c[2].1.recv() => { v += 0; assert_eq!(v, 2); 2 }
                v @ Some(_) = c[3].1.recv() => { assert_eq!(v.unwrap(), 3); 3 }
                Option::Some(v) = c[4].1.recv() => { assert_eq!(v, 4); 4 },
                ::core::option::Option::Some(v) = c[5].1.recv() => { assert_eq!(v, 5); 5 },
                Some(v) = c[6].1.recv() => { assert_eq!(v, 6); 6 }
                Some(mut v) = c[7].1.recv() => { v += 0; assert_eq!(v, 7); 7 }
                v @ Some(_) = c[8].1.recv() => { assert_eq!(v.unwrap(), 8); 8 },
                Option::Some(v) = c[9].1.recv() => { assert_eq!(v, 9); 9 }
                r = c[10].0.send(10) => { r.unwrap(); 10 }
                Some(v) = c[11].1.recv() => { assert_eq!(v, 11); 11 },
                Some(mut v) = c[12].1.recv() => { v += 0; assert_eq!(v, 12); 12 }
                v @ Some(_) = c[13].1.recv() => { assert_eq!(v.unwrap(), 13); 13 },
                Option::Some(v) = c[14].1.recv() => { assert_eq!(v, 14); 14 },
                v = c[15].1.recv() => { assert_eq!(v.unwrap(), 15); 15 }
                Some(v) = c[16].1.recv() => { assert_eq!(v, 16); 16 },
                Some(mut v) = c[17].1.recv() => { v += 0; assert_eq!(v, 17); 17 }
                v @ Some(_) = c[18].1.recv() => { assert_eq!(v.unwrap(), 18); 18 }
                Option::Some(v) = c[19].1.recv() => { assert_eq!(v, 19); 19 },
                r = c[20].0.send(20) => { r.unwrap(); 20 }
                Some(v) = c[21].1.recv() => { assert_eq!(v, 21); 21 }
                Some(mut v) = c[22].1.recv() => { v += 0; assert_eq!(v, 22); 22 }
                v @ Some(_) = c[23].1.recv() => { assert_eq!(v.unwrap(), 23); 23 },
                Option::Some(v) = c[24].1.recv() => { assert_eq!(v, 24); 24 }
                ::core::option::Option::Some(v) = c[25].1.recv() => { assert_eq!(v, 25); 25 },
                Some(v) = c[26].1.recv() => { assert_eq!(v, 26); 26 },
                Some(mut v) = c[27].1.recv() => { v += 0; assert_eq!(v, 27); 27 }
                v @ Some(_) = c[28].1.recv() => { assert_eq!(v.unwrap(), 28); 28 },
                Option::Some(v) = c[29].1.recv() => { assert_eq!(v, 29); 29 },
                r = c[30].0.send(30) => { r.unwrap(); 30 }
                Some(v) = c[31].1.recv() => { assert_eq!(v, 31); 31 },
                Some(mut v) = c[32].1.recv() => { v += 0; assert_eq!(v, 32); 32 }
                v @ Some(_) = c[33].1.recv() => { assert_eq!(v.unwrap(), 33); 33 }
                Option::Some(v) = c[34].1.recv() => { assert_eq!(v, 34); 34 },
                v = c[35].1.recv() => { assert_eq!(v.unwrap(), 35); 35 },
                Some(v) = c[36].1.recv() => { assert_eq!(v, 36); 36 }
                Some(mut v) = c[37].1.recv() => { v += 0; assert_eq!(v, 37); 37 }
                v @ Some(_) = c[38].1.recv() => { assert_eq!(v.unwrap(), 38); 38 },
                Option::Some(v) = c[39].1.recv() => { assert_eq!(v, 39); 39 }
                v = c[40].1.recv() => { assert_eq!(v.unwrap(), 40); 40 },
                Some(v) = c[41].1.recv() => { assert_eq!(v, 41); 41 },
                Some(mut v) = c[42].1.recv() => { v += 0; assert_eq!(v, 42); 42 }
                v @ Some(_) = c[43].1.recv() => { assert_eq!(v.unwrap(), 43); 43 },
                Option::Some(v) = c[44].1.recv() => { assert_eq!(v, 44); 44 },
                ::core::option::Option::Some(v) = c[45].1.recv() => { assert_eq!(v, 45); 45 }
                Some(v) = c[46].1.recv() => { assert_eq!(v, 46); 46 },
                Some(mut v) = c[47].1.recv() => { v += 0; assert_eq!(v, 47); 47 }
                v @ Some(_) = c[48].1.recv() => { assert_eq!(v.unwrap(), 48); 48 }
                Option::Some(v) = c[49].1.recv() => { assert_eq!(v, 49); 49 },
                v = c[50].1.recv(), if on => { assert_eq!(v.unwrap(), 50); 50 },
                Some(v) = c[51].1.recv() => { assert_eq!(v, 51); 51 }
                Some(mut v) = c[52].1.recv() => { v += 0; assert_eq!(v, 52); 52 }
                v @ Some(_) = c[53].1.recv() => { assert_eq!(v.unwrap(), 53); 53 },
                Option::Some(v) = c[54].1.recv() => { assert_eq!(v, 54); 54 }
                v = c[55].1.recv() => { assert_eq!(v.unwrap(), 55); 55 },
                Some(v) = c[56].1.recv() => { assert_eq!(v, 56); 56 },
                Some(mut v) = c[57].1.recv() => { v += 0; assert_eq!(v, 57); 57 }
                v @ Some(_) = c[58].1.recv() => { assert_eq!(v.unwrap(), 58); 58 },
                Option::Some(v) = c[59].1.recv() => { assert_eq!(v, 59); 59 },
                v = maybe(target == 60, 60) => v,
                Some(v) = c[61].1.recv() => { assert_eq!(v, 61); 61 },
                Some(mut v) = c[62].1.recv() => { v += 0; assert_eq!(v, 62); 62 }
                v @ Some(_) = c[63].1.recv() => { assert_eq!(v.unwrap(), 63); 63 }
            };
            assert_eq!(got, target);
            if [10, 20, 30].contains(&target) {
                assert_eq!(c[target].1.try_recv(), Ok(target));
            }
        }
    });
}

/// `biased;`, 63 cases and a `default`: nothing ready takes the default (a
/// closed channel's `None` is rejected by `Some(v)`, a guarded-off case is
/// not evaluated); with every channel ready, the first case wins.
#[test]
fn sixty_three_cases_and_default() {
    block_on(async {
        for (fill, on, want) in [(false, false, 99), (false, true, 99), (true, false, 0)] {
            let c = channels(63);
            drop(c[0].0.clone()); // keep c[0] open; c[1] is closed below
            let (tx1, rx1) = chan::<usize>(1);
            drop(tx1);
            if fill {
                for (i, (tx, _)) in c.iter().enumerate() {
                    tx.try_send(i).unwrap();
                }
            }
            let got: usize = select! {
                biased;
                v = c[0].1.recv() => { v.unwrap() }
                Some(v) = rx1.recv() => v + 1000,
                v = c[2].1.recv(), if on => v.unwrap(),
                v = c[3].1.recv() => v.unwrap(),
                Some(v) = c[4].1.recv() => { v }
                Some(mut v) = c[5].1.recv() => { v += 0; v }
                v = c[6].1.recv() => { v.unwrap() }
                Some(v) = c[7].1.recv() => v,
                Some(mut v) = c[8].1.recv() => { v += 0; v }
                v = c[9].1.recv() => v.unwrap(),
                Some(v) = c[10].1.recv() => { v }
                Some(mut v) = c[11].1.recv() => { v += 0; v }
                v = c[12].1.recv() => { v.unwrap() }
                Some(v) = c[13].1.recv() => v,
                Some(mut v) = c[14].1.recv() => { v += 0; v }
                v = c[15].1.recv() => v.unwrap(),
                Some(v) = c[16].1.recv() => { v }
                Some(mut v) = c[17].1.recv() => { v += 0; v }
                v = c[18].1.recv() => { v.unwrap() }
                Some(v) = c[19].1.recv() => v,
                Some(mut v) = c[20].1.recv() => { v += 0; v }
                v = c[21].1.recv() => v.unwrap(),
                Some(v) = c[22].1.recv() => { v }
                Some(mut v) = c[23].1.recv() => { v += 0; v }
                v = c[24].1.recv() => { v.unwrap() }
                Some(v) = c[25].1.recv() => v,
                Some(mut v) = c[26].1.recv() => { v += 0; v }
                v = c[27].1.recv() => v.unwrap(),
                Some(v) = c[28].1.recv() => { v }
                Some(mut v) = c[29].1.recv() => { v += 0; v }
                v = c[30].1.recv() => { v.unwrap() }
                Some(v) = c[31].1.recv() => v,
                Some(mut v) = c[32].1.recv() => { v += 0; v }
                v = c[33].1.recv() => v.unwrap(),
                Some(v) = c[34].1.recv() => { v }
                Some(mut v) = c[35].1.recv() => { v += 0; v }
                v = c[36].1.recv() => { v.unwrap() }
                Some(v) = c[37].1.recv() => v,
                Some(mut v) = c[38].1.recv() => { v += 0; v }
                v = c[39].1.recv() => v.unwrap(),
                Some(v) = c[40].1.recv() => { v }
                Some(mut v) = c[41].1.recv() => { v += 0; v }
                v = c[42].1.recv() => { v.unwrap() }
                Some(v) = c[43].1.recv() => v,
                Some(mut v) = c[44].1.recv() => { v += 0; v }
                v = c[45].1.recv() => v.unwrap(),
                Some(v) = c[46].1.recv() => { v }
                Some(mut v) = c[47].1.recv() => { v += 0; v }
                v = c[48].1.recv() => { v.unwrap() }
                Some(v) = c[49].1.recv() => v,
                Some(mut v) = c[50].1.recv() => { v += 0; v }
                v = c[51].1.recv() => v.unwrap(),
                Some(v) = c[52].1.recv() => { v }
                Some(mut v) = c[53].1.recv() => { v += 0; v }
                v = c[54].1.recv() => { v.unwrap() }
                Some(v) = c[55].1.recv() => v,
                Some(mut v) = c[56].1.recv() => { v += 0; v }
                v = c[57].1.recv() => v.unwrap(),
                Some(v) = c[58].1.recv() => { v }
                Some(mut v) = c[59].1.recv() => { v += 0; v }
                v = c[60].1.recv() => { v.unwrap() }
                Some(v) = c[61].1.recv() => v,
                Some(mut v) = c[62].1.recv() => { v += 0; v }
                default => 99,
            };
            assert_eq!(got, want);
            // The guarded-off case consumed nothing.
            assert_eq!(c[2].1.try_recv().is_ok(), fill);
        }
    });
}
