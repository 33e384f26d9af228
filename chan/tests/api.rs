//! The public API's shape: auto traits, `Send` futures, error traits.

use std::error::Error;
use std::fmt::{Debug, Display};

use gust_chan::{Chan, Receiver, SendError, Sender, TryRecvError, TrySendError, chan, select};

fn is_send<T: Send>(_: &T) {}
fn is_send_sync<T: Send + Sync>() {}
fn is_clone<T: Clone>() {}
fn is_error<E: Error + Debug + Display>() {}

/// A type that is `Send` but not `Sync`.
struct NotSync(std::cell::Cell<u8>);

#[test]
fn handles_are_send_sync_clone() {
    is_send_sync::<Chan<NotSync>>();
    is_send_sync::<Sender<NotSync>>();
    is_send_sync::<Receiver<NotSync>>();
    is_clone::<Chan<NotSync>>();
    is_clone::<Sender<NotSync>>();
    is_clone::<Receiver<NotSync>>();
}

#[test]
fn futures_are_send() {
    let ch = Chan::<NotSync>::new(0);
    let (tx, rx) = chan::<NotSync>(1);
    is_send(&ch.recv());
    is_send(&ch.send(NotSync(Default::default())));
    is_send(&tx.send(NotSync(Default::default())));
    is_send(&rx.recv());
    let fut = async {
        select! {
            v = rx.recv() => v.map(|n| n.0.get()),
            r = tx.send(NotSync(Default::default())) => r.map(|()| 0).ok(),
            _ = async {} => None,
            default => None,
        }
    };
    is_send(&fut);
}

#[test]
fn errors_implement_error() {
    is_error::<SendError<NotSync>>();
    is_error::<TrySendError<NotSync>>();
    is_error::<TryRecvError>();
    assert_eq!(SendError(1).to_string(), "sending on a closed channel");
    assert_eq!(
        TrySendError::Full(1).to_string(),
        "sending on a full channel"
    );
    assert_eq!(
        TryRecvError::Closed.to_string(),
        "receiving on a closed and empty channel"
    );
    assert_eq!(TrySendError::Closed(5).into_inner(), 5);
}

#[test]
fn directions_convert() {
    let ch = Chan::<u8>::new(1);
    let tx: Sender<u8> = ch.clone().into();
    let rx: Receiver<u8> = ch.into();
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}
