//! `select!` compiles and runs for every element type a channel accepts, in
//! every future `spawn` accepts: `&'static str` (the first channel a Go
//! programmer writes), boxed trait objects, and types that borrow with a
//! non-'static lifetime.

// As a user crate that forbids unsafe code: select!'s expansion compiles
// there.
#![forbid(unsafe_code)]

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

/// A case on a temporary handle (`chan.receiver().recv()`,
/// `ch.clone().recv()`, `tx.clone().send(v)`) compiles, in `spawn` too, and
/// the temporary lives until the select is done, as it would in
/// `chan.receiver().recv().await`: here it is the only receiving handle,
/// and a sender that comes while the select waits finds it (before, such a
/// case did not compile: "temporary value dropped while borrowed").
#[test]
fn cases_on_temporary_handles() {
    gust::block_on(async {
        let ch = Chan::<&'static str>::new(0);
        let tx = ch.sender();
        let only_receiver = move || ch.receiver();
        let h = gust::spawn(async move {
            select! {
                v = only_receiver().recv() => v,
            }
        });
        // Rendezvous: completes only if the select's temporary receiver is
        // still there to take the value.
        tx.send("hi").await.unwrap();
        assert_eq!(h.await.unwrap(), Some("hi"));

        let (tx, rx) = chan::<u8>(1);
        let h = gust::spawn(async move {
            select! {
                r = tx.clone().send(5) => r.is_ok(),
            }
        });
        assert!(h.await.unwrap());
        let got = select! {
            v = rx.clone().recv() => v,
            default => None,
        };
        assert_eq!(got, Some(5));
        // With a guard the expression sits in an `if` block: bind the
        // handle first there. An unguarded case beside it is unaffected.
        let (_tx, rx) = chan::<u8>(1);
        let rx2 = rx.clone();
        let got = select! {
            v = rx2.recv(), if true => v,
            v = rx.clone().recv() => v,
            default => Some(0),
        };
        assert_eq!(got, Some(0), "both empty and open: the default");
    });
}
