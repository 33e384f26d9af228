//! `select!` compiles and runs for every element type a channel accepts, in
//! every future `spawn` accepts: `&'static str` (the first channel a Go
//! programmer writes), boxed trait objects, and types that borrow with a
//! non-'static lifetime.

use std::any::Any;

use gust::{Chan, chan, select};

#[test]
fn static_str_channels_in_spawn() {
    gust::block_on(async {
        let (tx, rx) = chan::<&'static str>(1);
        let (tx0, rx0) = chan::<&'static str>(0);
        let h = gust::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..2 {
                select! {
                    v = rx.recv() => got.push(v.unwrap()),
                    v = rx0.recv() => got.push(v.unwrap()),
                }
            }
            got.sort_unstable();
            got
        });
        let h2 = gust::spawn(async move {
            select! {
                r = tx.send("ping") => r.unwrap(),
            }
            select! {
                r = tx0.send("pong") => r.unwrap(),
                default => tx0.send("pong").await.unwrap(),
            }
        });
        h2.await.unwrap();
        assert_eq!(h.await.unwrap(), ["ping", "pong"]);
    });
}

#[test]
fn boxed_trait_objects_in_spawn() {
    gust::block_on(async {
        let ch = Chan::<Box<dyn Any + Send>>::new(1);
        let ch2 = ch.clone();
        let h = gust::spawn(async move {
            select! {
                r = ch2.send(Box::new(7u32)) => r.is_ok(),
            }
        });
        assert!(h.await.unwrap());
        let got = gust::spawn(async move {
            select! {
                v = ch.recv() => *v.unwrap().downcast::<u32>().unwrap(),
            }
        });
        assert_eq!(got.await.unwrap(), 7);
    });
}

/// A borrowed element type: the future is not 'static, so it runs in
/// `block_on` rather than `spawn`.
#[test]
fn borrowed_lifetimes() {
    let words = [String::from("a"), String::from("b")];
    gust::block_on(async {
        let (tx, rx) = chan::<&str>(2);
        for w in &words {
            select! {
                r = tx.send(w.as_str()) => r.unwrap(),
            }
        }
        let mut got = Vec::new();
        for _ in 0..2 {
            select! {
                v = rx.recv() => got.push(v.unwrap()),
                default => unreachable!("two values are buffered"),
            }
        }
        assert_eq!(got, ["a", "b"]);
    });
}
