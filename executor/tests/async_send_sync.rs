//! Auto-trait assertions for the public types.

#![allow(dead_code)]

use gust_executor::runtime::{Builder, Runtime};
use gust_executor::task::{AbortHandle, JoinSet};
use gust_executor::time::{After, Elapsed, Sleep, Ticker, Timeout, Timer, TimerHandle, TimerWait};
use gust_executor::{JoinError, JoinHandle};
use std::future::Future;

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn unpin<T: Unpin>() {}
fn is_send<T: Send>(_: &T) {}

#[test]
fn public_types() {
    send_sync::<JoinHandle<u32>>();
    send_sync::<JoinError>();
    send_sync::<Runtime>();
    // Usable across `catch_unwind`, as tokio's (found missing from outside).
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Runtime>();
    send_sync::<Builder>();
    send_sync::<Sleep>();
    send_sync::<After>();
    send_sync::<Ticker>();
    send_sync::<TimerHandle>();
    send_sync::<Timer>();
    send_sync::<TimerWait<'static>>();
    send_sync::<Elapsed>();
    send_sync::<Timeout<std::future::Ready<u8>>>();
    send_sync::<JoinSet<u32>>();
    send_sync::<AbortHandle>();
    fn clone<T: Clone>() {}
    clone::<AbortHandle>();
    unpin::<JoinHandle<u32>>();
    unpin::<JoinSet<u32>>();
    unpin::<Sleep>();
    unpin::<After>();
    unpin::<Ticker>();
}

#[test]
fn futures_are_send() {
    is_send(&gust_executor::yield_now());
    let mut set = JoinSet::<u8>::new();
    is_send(&set.join_next());
    is_send(&set.join_next_with_id());
    is_send(&set.shutdown());
    is_send(&JoinSet::<u8>::new().join_all());
    let t = Ticker::new(std::time::Duration::from_secs(1));
    is_send(&t.tick());
    let timer = Timer::new(std::time::Duration::from_secs(1));
    is_send(&timer.wait());
    is_send(&gust_executor::time::sleep(std::time::Duration::ZERO));
    fn returns_send<F: Future + Send>(f: F) -> F {
        f
    }
    is_send(&returns_send(gust_executor::time::timeout(
        std::time::Duration::ZERO,
        async {},
    )));
}
