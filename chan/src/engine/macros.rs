//! The `select!` macro: stages, and diagnostics for malformed input.
//!
//! Stage 1 (`@parse`) reads the arms into a normalized list
//! `((var Type index) [pattern tokens] (future) (guard?) (body))`, giving
//! each case the next name of a fixed list of 64 (a variable, a type
//! parameter, its index literal), collecting the `default` arm apart and
//! reporting malformed input with a targeted `compile_error!`. A pattern is
//! kept as its tokens (up to the first `=`), not as a `pat` fragment, so
//! that `@clean` can copy it without `mut`/`ref` to test it by reference
//! (tokio does the same with a procedural macro).
//! Stage 2 (`@emit`) expands to: evaluate every case expression in source order
//! (disabled ones not at all) as the scrutinee of a `match` whose arm is
//! the whole wait, so that temporaries in them live as long as the select
//! (`ch.clone().recv()`, as in `ch.clone().recv().await`), pin them on the
//! stack, run the engine
//! (`SelectState::poll`) inside `poll_fn`, test the chosen case's output
//! against its pattern (on a mismatch: disable the case, restart the engine),
//! move it into a local enum, drop the cases, and `match` on the enum
//! *outside* the future,
//! with the arm bodies inlined: so `break`, `continue`, `return` and `?` in a
//! body act on the enclosing code, and the bodies may use what the cases
//! borrowed.
//!
//! Expansion depth: rustc counts nested macro calls against
//! `#![recursion_limit]` (128 by default), and stage 1 calls itself once per
//! step, so its steps add up over the cases. It takes a whole case in one
//! step when the pattern is at most 4 token trees (`v`, `Some(v)`,
//! `Msg::Data(x)`); a longer pattern costs one more step per 4 token trees
//! past the fourth. Stage 2's helpers (`@clean`, `@enabled`, ...) are called side
//! by side, once per case: their depth does not grow with the number of
//! cases (`@clean`'s grows with the pattern's tokens). Measured: 64 cases
//! with patterns of 1 to 4 token trees compile at a limit of 75, the
//! 64-case select of `tests/select_many.rs` (three 9-token-tree patterns) at
//! 86. The earlier parser (a token at a time, then a numbering pass) took 5
//! levels per `v = rx.recv()` case: 24 cases overflowed the default.
//!
//! Diagnostics point at the user's tokens where `macro_rules!` allows it:
//! the user's expressions, patterns and bodies are passed through unchanged
//! (a case that is not a future fails `select_case`'s bound, with
//! `SelectCase`'s message, at the case expression). `compile_error!` can only
//! point at the whole `select!`, so its messages quote the faulty case. The
//! UI tests (`tests/ui/`, `tests/ui.rs`) pin where each error points.

/// Waits on several channel operations and futures; runs the arm of the one
/// that completes first. Go's `select`, as an expression.
///
/// ```
/// use gust_chan::{chan, select};
/// # futures::executor::block_on(async {
/// let (tx1, rx1) = chan::<i32>(1);
/// let (tx2, rx2) = chan::<&str>(1);
/// tx2.try_send("two").unwrap();
/// let got = select! {
///     v = rx1.recv() => format!("rx1 {v:?}"),
///     v = rx2.recv() => format!("rx2 {v:?}"),
/// };
/// assert_eq!(got, "rx2 Some(\"two\")");
/// # drop(tx1);
/// # });
/// ```
///
/// # Syntax
///
/// ```text
/// select! {
///     biased;                            // optional, first: source order
///     pattern = future => body,          // a case
///     pattern = future, if guard => body, // disabled when `guard` is false
///     default => body,                   // taken at once when nothing is ready
/// }
/// ```
///
/// A case is `rx.recv()` / `chan.recv()` (the pattern binds `Option<T>`,
/// `None` once the channel is closed and drained), `tx.send(v)` /
/// `chan.send(v)` (binds `Result<(), SendError<T>>`), or any other future
/// (binds its output). Bodies are expressions; a block body needs no
/// trailing comma.
///
/// # Patterns
///
/// A pattern may be refutable, as in tokio's `select!`: when what a case
/// completed with does not match, that case is disabled and the select goes
/// on with the others (with `default`, the default runs if nothing else is
/// ready; without one and with every case disabled, it waits, as for
/// disabled cases). So `Some(v) = rx.recv()` stops listening on a channel
/// once it is closed and drained; that `recv` consumed nothing. A case that
/// completed stays completed: a value received and then rejected by a
/// narrower pattern (`Some(0) = rx.recv()` receiving `Some(5)`) is dropped,
/// and so is the `SendError` of a send case whose `Ok(())` did not match.
///
/// ```
/// use gust_chan::{chan, select};
/// # futures::executor::block_on(async {
/// let (tx, rx) = chan::<i32>(1);
/// let (tx2, rx2) = chan::<i32>(1);
/// drop(tx); // closed: `None` does not match `Some(v)`
/// tx2.try_send(2).unwrap();
/// let got = select! {
///     Some(v) = rx.recv() => v,
///     Some(v) = rx2.recv() => v * 10,
/// };
/// assert_eq!(got, 20);
/// # });
/// ```
///
/// # `biased;`
///
/// Written first, `biased;` makes each poll try the cases in source order
/// instead of a random one: the first ready case wins. Use it for
/// priorities (a shutdown signal before work); it gives up Go's fairness.
///
/// ```
/// use gust_chan::{chan, select};
/// # futures::executor::block_on(async {
/// let (tx1, rx1) = chan::<i32>(1);
/// let (tx2, rx2) = chan::<i32>(1);
/// tx1.try_send(1).unwrap();
/// tx2.try_send(2).unwrap();
/// let got = select! {
///     biased;
///     v = rx1.recv() => v,
///     v = rx2.recv() => v,
/// };
/// assert_eq!(got, Some(1));
/// # });
/// ```
///
/// # Algorithm
///
/// Every guard, then every enabled case expression, is evaluated once, in
/// source order, before anything waits; a case whose guard is false is not
/// evaluated (its values are not moved). Then, each time the select is
/// polled, the enabled cases are tried in a uniformly random order; the first
/// that is ready commits and its arm runs. If none is and there is a
/// `default`, the default arm runs. Otherwise the select waits in every
/// channel queue at once; the first counterpart to arrive completes exactly
/// one case (for a send case: the value is delivered exactly when that case is
/// the one chosen). See the engine's design notes (`engine/mod.rs`) for the
/// commit protocol.
///
/// Temporaries in a case expression live until the select is done, as they
/// would in the same expression `.await`ed: `v = ch.clone().recv()` or
/// `v = server.requests().recv()` (a method returning a handle) are cases.
/// In a case with a guard (`, if cond`) they end with the guard's `if`:
/// bind such a handle to a name first.
///
/// # Fairness
///
/// Among cases ready at the same poll, each is chosen with equal probability,
/// channel and future cases alike (unless `biased;`).
///
/// # Disabled cases and `select! {}`
///
/// With every case disabled and no `default` (or with no case at all), the
/// select waits forever, as Go's does.
///
/// # Cancellation
///
/// Dropping a pending select commits nothing new: a value that a sender
/// already handed to one of its receive cases goes back to the channel, and a
/// send case that was not chosen never delivers its value (it is dropped).
///
/// A generic future case (a socket read, a timer, a `JoinHandle`) is never
/// dropped with its output: while the select polls it, no counterpart can
/// choose one of its channel cases (a sender or receiver meanwhile passes the
/// select by, as it would a Go select that is running, and the select looks
/// again before it waits; a `try_send` in that instant finds no receiver
/// there), so a future that completes always wins. Write
/// channel operations as cases themselves (`v = rx.recv()`), not wrapped in
/// another future (`v = async { rx.recv().await }`): a wrapped one waits
/// on its own, outside the select's exactly-once protocol, so it may commit
/// while the select is waiting and another case then win.
///
/// # Limits and diagnostics
///
/// At most 64 cases, with no `#![recursion_limit]` needed: each case costs
/// one level of macro expansion depth when its pattern is at most 4 token
/// trees (`v`, `Some(v)`, `Msg::Data(x)`), one more per 4 token trees past
/// that (`::core::option::Option::Some(v)`, 9, costs 3), and 64 short cases
/// take 75 of the default 128. Malformed input gets a targeted error:
///
/// ```compile_fail
/// # async fn f(rx: gust_chan::Receiver<i32>) {
/// gust_chan::select! {
///     default => 1,
///     default => 2, // error: more than one `default` arm
/// };
/// # }
/// ```
///
/// ```compile_fail
/// # async fn f(rx: gust_chan::Receiver<i32>) {
/// gust_chan::select! {
///     v = rx.recv(), // error: expected `=> body` after the case expression
/// };
/// # }
/// ```
///
/// ```compile_fail
/// # async fn f(rx: gust_chan::Receiver<i32>) {
/// gust_chan::select! {
///     rx.recv() => {} // error: expected `pattern = future => body`
/// };
/// # }
/// ```
///
/// Direction is in the types: a `Receiver` cannot send or close.
///
/// ```compile_fail
/// let (_tx, rx) = gust_chan::chan::<i32>(1);
/// rx.close();
/// ```
#[macro_export]
macro_rules! select {
    // ---- Stage 1: parse and number the arms. ----------------------------
    // The state: `$cfg` is `(biased)`, `true` or `false`; then the cases
    // parsed so far, each `((var Type index) [pattern tokens] (future)
    // (guard, or nothing) (body))`; the `default` body, if any, in `[]`;
    // the names not given out yet (a fixed list of 64: the cap); the
    // pattern tokens munched so far for the case at hand (`[]` between
    // cases); the input left.
    //
    // Each step must add as little as it can to the expansion depth (the
    // `recursion_limit`, 128 by default, counts nested macro calls, and this
    // stage calls itself once per step): a case whose pattern is at most 4
    // token trees (`v`, `Some(v)`, `mut v`, `Msg::Data(x)`) is taken whole
    // in one step, so 64 cases cost 64 levels; a longer pattern first costs
    // a step per 4 token trees past the fourth.
    (@parse $cfg:tt $cases:tt $default:tt $names:tt []) => {
        $crate::select!(@emit $cfg $cases $default)
    };
    (@parse $cfg:tt $cases:tt [] $names:tt [] default => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases [$body] $names [] $($rest)*)
    };
    (@parse $cfg:tt $cases:tt [] $names:tt [] default => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases [$body] $names [] $($rest)*)
    };
    (@parse $cfg:tt $cases:tt [] $names:tt [] default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $cfg $cases [$body] $names [] $($($rest)*)?)
    };
    (@parse $cfg:tt $cases:tt [$($d:tt)+] $names:tt [] default $($rest:tt)*) => {
        ::core::compile_error!("select!: more than one `default` arm")
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [] default $($rest:tt)*) => {
        ::core::compile_error!("select!: expected `default => body`")
    };
    // tokio's `else` arm (taken when every case is disabled) has no Go
    // counterpart; its word for the arm users mean is `default`.
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [] else => $($rest:tt)*) => {
        ::core::compile_error!(
            "select!: `else => body` is tokio's; write Go's `default => body` (taken at once when no case is ready)"
        )
    };
    (@parse (false) [] [] $names:tt [] biased; $($rest:tt)*) => {
        $crate::select!(@parse (true) [] [] $names [] $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [] biased; $($rest:tt)*) => {
        ::core::compile_error!("select!: `biased;` must come first")
    };
    (@parse $cfg:tt $cases:tt $default:tt [] [] $($rest:tt)+) => {
        ::core::compile_error!("select!: at most 64 cases")
    };
    // The pattern is its tokens up to the first `=` (a pattern has none),
    // kept as tokens so that a cleaned copy can test it (see `@clean`).
    // Found the `=` after munching: what follows is not `future => body`
    // (the rules below would have taken it), so `@case` names the mistake.
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)+] = $($rest:tt)*) => {
        $crate::select!(@case [$($p)+] $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] => $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `pattern = future => body`, found `",
            ::core::stringify!($($p)*),
            " => ...`; to ignore the output, write `_ = ",
            ::core::stringify!($($p)*),
            " => ...`",
        ))
    };
    // A whole case in one step: the pattern's last 1 to 4 token trees
    // (after those munched so far), `= future`, an optional `, if guard`,
    // `=> body` and the comma after it (optional after a block or at the
    // end). The shortest pattern is tried first: it ends at the first `=`.
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt = $f:expr $(, if $c:expr)? => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt = $f:expr $(, if $c:expr)? => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt = $f:expr $(, if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($($rest)*)?)
    };
    // A malformed case whose pattern ends here (at an `=` or `=>`): the
    // rules for longer patterns must not take that `=` as part of theirs.
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt = $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1] = $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt => $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1] => $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt = $f:expr $(, if $c:expr)? => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt = $f:expr $(, if $c:expr)? => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt = $f:expr $(, if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($($rest)*)?)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt $p2:tt = $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1 $p2] = $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt $p2:tt => $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1 $p2] => $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt $p3:tt = $f:expr $(, if $c:expr)? => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2 $p3] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt $p3:tt = $f:expr $(, if $c:expr)? => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2 $p3] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt $p3:tt = $f:expr $(, if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2 $p3] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($($rest)*)?)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt $p2:tt $p3:tt = $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1 $p2 $p3] = $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt $p2:tt $p3:tt => $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1 $p2 $p3] => $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $f:expr $(, if $c:expr)? => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2 $p3 $p4] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $f:expr $(, if $c:expr)? => $body:block $($rest:tt)*) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2 $p3 $p4] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($rest)*)
    };
    (@parse $cfg:tt [$($cases:tt)*] $default:tt [$n:tt $($names:tt)*] [$($pre:tt)*]
        $p1:tt $p2:tt $p3:tt $p4:tt = $f:expr $(, if $c:expr)? => $body:expr $(, $($rest:tt)*)?) => {
        $crate::select!(@parse $cfg [$($cases)* ($n [$($pre)* $p1 $p2 $p3 $p4] ($f) ($($c)?) ($body))] $default [$($names)*] [] $($($rest)*)?)
    };
    // None of these: a longer pattern, munched four token trees at a time
    // (none of them is an `=` or `=>`: the rules above took those), or
    // fewer than four left.
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $p1:tt $p2:tt $p3:tt $p4:tt $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $p1 $p2 $p3 $p4] $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*] $t:tt $($rest:tt)*) => {
        $crate::select!(@parse $cfg $cases $default $names [$($p)* $t] $($rest)*)
    };
    (@parse $cfg:tt $cases:tt $default:tt $names:tt [$($p:tt)*]) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `pattern = future => body`, `pattern = future, if guard => body` or `default => body`, found `",
            ::core::stringify!($($p)*),
            "`",
        ))
    };
    // Errors after `pattern =`. The message quotes the case:
    // `compile_error!` can only point at the whole `select!`.
    (@case [$($p:tt)+] $f:expr, if $($rest:tt)*) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `, if guard => body` after the case `",
            ::core::stringify!($($p)+ = $f),
            "`",
        ))
    };
    (@case [$($p:tt)+] $f:expr $(, $($rest:tt)*)?) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `=> body` after the case `",
            ::core::stringify!($($p)+ = $f),
            "`",
        ))
    };
    (@case [$($p:tt)+] $($rest:tt)*) => {
        $crate::select!(@bad_case [$($p)+ =] $($rest)*)
    };
    // Anything else (no future, `->` for `=>`, ...): quote the case, up to
    // the next comma.
    (@bad_case [$($case:tt)*] $(, $($rest:tt)*)?) => {
        ::core::compile_error!(::core::concat!(
            "select!: expected `pattern = future => body`, found `",
            ::core::stringify!($($case)*),
            "`",
        ))
    };
    (@bad_case [$($case:tt)*] $t:tt $($rest:tt)*) => {
        $crate::select!(@bad_case [$($case)* $t] $($rest)*)
    };

    // ---- Stage 2: emit. -------------------------------------------------
    (@emit ($biased:tt) [$( (($v:ident $t:ident $i:tt) [$($p:tt)+] ($f:expr) ($($c:expr)?) $body:tt) )*] [$($default:tt)?]) => {{
        #[allow(non_camel_case_types, dead_code)]
        enum __GustSelectOut<$($t,)*> {
            $($t($t),)*
            __GustDefault,
        }
        let __gust_out = {
            #[allow(unused_imports)]
            use $crate::__private::{IntoChanCase as _, IntoFutCase as _};
            // The case expressions are the scrutinee of a `match` whose arm
            // is the whole wait: temporaries in them (`ch.clone().recv()`,
            // `chan.receiver().recv()`) live until the select is done, as
            // they would in `ch.clone().recv().await`. (A guarded case's
            // expression sits in an `if` block, whose temporaries end with
            // it.)
            match ($(::core::pin::pin!($crate::select!(@enabled ($($c)?) $f)),)*) {
            ($(mut $v,)*) => {
            let mut __gust_state = $crate::__private::SelectState::new(
                $crate::select!(@has_default $($default)?),
                $biased,
            );
            ::core::future::poll_fn(|__gust_cx| loop {
                let __gust_index = ::core::task::ready!(__gust_state.poll(
                    [$($v.as_mut() as ::core::pin::Pin<&mut dyn $crate::__private::Case>),*],
                    __gust_cx,
                ));
                // The chosen case's output, tested against its pattern. A
                // refutable pattern that does not match disables its case
                // (what completed stays consumed, as tokio's select! does),
                // and the select goes on with the others. The test runs on a
                // reference, with `mut`/`ref` taken out of the pattern.
                match __gust_index {
                    $( $i => {
                        let __gust_value = $crate::__private::take_output($v.as_mut());
                        #[allow(unused_variables, unused_parens, unreachable_patterns, clippy::match_single_binding)]
                        let __gust_matches = match &__gust_value {
                            $crate::select!(@clean [$($p)+] () [] [] $($p)+) => true,
                            _ => false,
                        };
                        if __gust_matches {
                            return ::core::task::Poll::Ready(__GustSelectOut::$t(__gust_value));
                        }
                        $v.set(::core::option::Option::None);
                    } )*
                    _ => return ::core::task::Poll::Ready(__GustSelectOut::__GustDefault),
                }
                // (Unreachable in a select with no cases.)
                #[allow(unreachable_code)]
                __gust_state.restart();
            })
            .await
            }
            }
        };
        #[allow(unreachable_patterns, clippy::let_unit_value)]
        match __gust_out {
            $( __GustSelectOut::$t($($p)+) => $body, )*
            __GustSelectOut::__GustDefault => $crate::select!(@default_body $($default)?),
            _ => ::core::unreachable!("select!: the pattern was tested before"),
        }
    }};
    // A case's future, made into a case: `Some` when enabled; with a
    // guard, evaluated only when the guard holds.
    (@enabled () $f:expr) => {
        // The future is moved out of the scrutinee (whose temporaries, the
        // user's, live on) into an arm, a temporary scope of its own: the
        // `Wrap` and the `&` that dispatch borrows end there, so the
        // enclosing future keeps no room for them (a `Wrap` borrowed until
        // the select ends took a future case's size a second time).
        match $crate::__private::select_case($f) {
            __gust_case => ::core::option::Option::Some(
                $crate::__private::Wrap::new(__gust_case).__gust_into_case(),
            ),
        }
    };
    (@enabled ($c:expr) $f:expr) => {
        if $c {
            $crate::select!(@enabled () $f)
        } else {
            ::core::option::Option::None
        }
    };
    (@has_default) => { false };
    (@has_default $d:tt) => { true };
    (@default_body) => { ::core::unreachable!("select!: no default arm") };
    (@default_body $d:tt) => { $d };

    // ---- The pattern test: `mut` and `ref` taken out, groups walked with
    // an explicit stack (a macro call in a pattern must expand to a whole
    // pattern, so the inside of a group cannot be a nested call). A pattern
    // with neither is given back as the user's own tokens, so that a type
    // error in it points at them: a rebuilt group gets a span in this macro
    // (the whole `select!` in a diagnostic). `$orig` is the pattern as
    // written, `$dirty` `()` until a `mut` or `ref` is taken out. --------
    (@clean [$($orig:tt)*] () [] [$($out:tt)*]) => { $($orig)* };
    (@clean $orig:tt $dirty:tt [] [$($out:tt)*]) => { $($out)* };
    (@clean $orig:tt $dirty:tt $stack:tt [$($out:tt)*] mut $($rest:tt)*) => {
        $crate::select!(@clean $orig (dirty) $stack [$($out)*] $($rest)*)
    };
    (@clean $orig:tt $dirty:tt $stack:tt [$($out:tt)*] ref $($rest:tt)*) => {
        $crate::select!(@clean $orig (dirty) $stack [$($out)*] $($rest)*)
    };
    (@clean $orig:tt $dirty:tt [$($stack:tt)*] [$($out:tt)*] ($($g:tt)*) $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty [([$($out)*] paren) $($stack)*] [] $($g)* __gust_group_end $($rest)*)
    };
    (@clean $orig:tt $dirty:tt [$($stack:tt)*] [$($out:tt)*] [$($g:tt)*] $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty [([$($out)*] bracket) $($stack)*] [] $($g)* __gust_group_end $($rest)*)
    };
    (@clean $orig:tt $dirty:tt [$($stack:tt)*] [$($out:tt)*] {$($g:tt)*} $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty [([$($out)*] brace) $($stack)*] [] $($g)* __gust_group_end $($rest)*)
    };
    (@clean $orig:tt $dirty:tt [([$($prev:tt)*] paren) $($stack:tt)*] [$($out:tt)*] __gust_group_end $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty [$($stack)*] [$($prev)* ($($out)*)] $($rest)*)
    };
    (@clean $orig:tt $dirty:tt [([$($prev:tt)*] bracket) $($stack:tt)*] [$($out:tt)*] __gust_group_end $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty [$($stack)*] [$($prev)* [$($out)*]] $($rest)*)
    };
    (@clean $orig:tt $dirty:tt [([$($prev:tt)*] brace) $($stack:tt)*] [$($out:tt)*] __gust_group_end $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty [$($stack)*] [$($prev)* {$($out)*}] $($rest)*)
    };
    (@clean $orig:tt $dirty:tt $stack:tt [$($out:tt)*] $t:tt $($rest:tt)*) => {
        $crate::select!(@clean $orig $dirty $stack [$($out)* $t] $($rest)*)
    };

    // ---- Entry. ---------------------------------------------------------
    // The names: a variable, a type parameter and the index of each case.
    ($($tokens:tt)*) => {
        $crate::select!(@parse (false) [] [] [(__c0 __T0 0) (__c1 __T1 1) (__c2 __T2 2) (__c3 __T3 3) (__c4 __T4 4) (__c5 __T5 5) (__c6 __T6 6) (__c7 __T7 7) (__c8 __T8 8) (__c9 __T9 9) (__c10 __T10 10) (__c11 __T11 11) (__c12 __T12 12) (__c13 __T13 13) (__c14 __T14 14) (__c15 __T15 15) (__c16 __T16 16) (__c17 __T17 17) (__c18 __T18 18) (__c19 __T19 19) (__c20 __T20 20) (__c21 __T21 21) (__c22 __T22 22) (__c23 __T23 23) (__c24 __T24 24) (__c25 __T25 25) (__c26 __T26 26) (__c27 __T27 27) (__c28 __T28 28) (__c29 __T29 29) (__c30 __T30 30) (__c31 __T31 31) (__c32 __T32 32) (__c33 __T33 33) (__c34 __T34 34) (__c35 __T35 35) (__c36 __T36 36) (__c37 __T37 37) (__c38 __T38 38) (__c39 __T39 39) (__c40 __T40 40) (__c41 __T41 41) (__c42 __T42 42) (__c43 __T43 43) (__c44 __T44 44) (__c45 __T45 45) (__c46 __T46 46) (__c47 __T47 47) (__c48 __T48 48) (__c49 __T49 49) (__c50 __T50 50) (__c51 __T51 51) (__c52 __T52 52) (__c53 __T53 53) (__c54 __T54 54) (__c55 __T55 55) (__c56 __T56 56) (__c57 __T57 57) (__c58 __T58 58) (__c59 __T59 59) (__c60 __T60 60) (__c61 __T61 61) (__c62 __T62 62) (__c63 __T63 63)] [] $($tokens)*)
    };
}
