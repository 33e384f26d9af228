//! `#[gust::main]` and `#[gust::test]`: an `async fn` as a program's `main`
//! or as a test, run on a gust runtime. Use them through the `gust` facade.
//!
//! ```text
//! #[gust::main]                  // fn main on the global runtime (GUST_WORKERS)
//! #[gust::main(workers = 4)]     // on a runtime of its own with 4 workers
//! #[gust::test]                  // a test on a fresh runtime of 1 worker
//! #[gust::test(workers = 2)]
//! #[gust::test(start_paused = true)]  // virtual time: sleeps take no real time
//! #[gust::main(start_paused = true)]  // a whole program on virtual time (a simulation)
//! #[gust::test(crate = "g")]     // gust renamed in Cargo.toml (`g = { package = "gust", .. }`)
//! ```
//!
//! A mistake in the arguments or the function is one error at the user's
//! tokens: an unknown or repeated argument, `workers` not an integer from 1
//! to 32,767 (a runtime's most), `start_paused` without `= true`/`false`,
//! `crate` not a path in a string, a function that is not `async` or takes
//! arguments, a second test attribute (`#[test]` beside `#[gust::test]`
//! would run the test twice) (tests/ui pins each).
//!
//! The body runs as the runtime's `block_on` future (as `#[tokio::main]`
//! does): it may hold what is not `Send`, and `spawn` inside it spawns onto
//! that runtime. A `main` or test may return what the plain function may
//! (`()`, a `Result`).

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{quote, quote_spanned};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, ItemFn, Lit, Meta, Token, UnOp};

/// What the attribute's arguments say.
struct Config {
    workers: Option<Expr>,
    start_paused: Option<Expr>,
    /// The path of the gust facade (`crate = "..."`; `::gust` if not given).
    krate: Option<syn::Path>,
}

/// The most workers a runtime takes (gust-executor's limit).
const MAX_WORKERS: usize = (1 << 15) - 1;

fn parse_config(args: TokenStream, which: &str) -> Result<Config, syn::Error> {
    let expected = "expected `workers = N`, `start_paused = true` or `crate = \"path\"`";
    let list = Punctuated::<Meta, Token![,]>::parse_terminated
        .parse(args)
        .map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("#[gust::{which}]: cannot read the arguments ({e}); {expected}"),
            )
        })?;
    let mut config = Config {
        workers: None,
        start_paused: None,
        krate: None,
    };
    for meta in list {
        let name = meta
            .path()
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        let known = matches!(name.as_str(), "workers" | "start_paused" | "crate");
        let nv = match meta {
            Meta::NameValue(nv) if known => nv,
            Meta::Path(p) if known => {
                let example = match name.as_str() {
                    "workers" => "workers = 2",
                    "start_paused" => "start_paused = true",
                    _ => "crate = \"gust\"",
                };
                return Err(syn::Error::new(
                    p.span(),
                    format!("#[gust::{which}]: `{name}` takes a value: `{example}`"),
                ));
            }
            other => {
                return Err(syn::Error::new(
                    other.path().span(),
                    format!("#[gust::{which}]: unknown argument; {expected}"),
                ));
            }
        };
        let given = match name.as_str() {
            "workers" => {
                check_workers(&nv.value, which)?;
                config.workers.replace(nv.value).is_some()
            }
            "start_paused" => {
                check_start_paused(&nv.value, which)?;
                config.start_paused.replace(nv.value).is_some()
            }
            _ => {
                let path = crate_path(&nv.value, which)?;
                config.krate.replace(path).is_some()
            }
        };
        if given {
            return Err(syn::Error::new(
                nv.path.span(),
                format!("#[gust::{which}]: `{name}` is given twice"),
            ));
        }
    }
    Ok(config)
}

/// `workers = N`: a literal must be an integer from 1 to [`MAX_WORKERS`];
/// any other expression (a constant) is left to the type checker and the
/// runtime's builder.
fn check_workers(value: &Expr, which: &str) -> Result<(), syn::Error> {
    let in_range = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(n), ..
        }) => n
            .base10_parse::<usize>()
            .is_ok_and(|n| (1..=MAX_WORKERS).contains(&n)),
        Expr::Lit(_)
        | Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), ..
        }) => false,
        _ => true,
    };
    if in_range {
        Ok(())
    } else {
        // `new_spanned`: the whole expression (`-1`) where the compiler
        // joins spans; stable rustc points at its first token.
        Err(syn::Error::new_spanned(
            value,
            format!(
                "#[gust::{which}]: `workers` must be an integer from 1 to {MAX_WORKERS} \
                 (the number of worker threads)"
            ),
        ))
    }
}

/// `crate = "path"`: the path the expansion names the facade by, for a
/// crate that renamed the `gust` dependency (tokio's `crate` argument).
fn crate_path(value: &Expr, which: &str) -> Result<syn::Path, syn::Error> {
    let error = || {
        syn::Error::new_spanned(
            value,
            format!(
                "#[gust::{which}]: `crate` takes the facade's path in a string: `crate = \"g\"`"
            ),
        )
    };
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => s.parse::<syn::Path>().map_err(|_| error()),
        _ => Err(error()),
    }
}

/// `start_paused = B`: a literal must be `true` or `false`.
fn check_start_paused(value: &Expr, which: &str) -> Result<(), syn::Error> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(_), ..
        }) => Ok(()),
        Expr::Lit(_) => Err(syn::Error::new(
            value.span(),
            format!("#[gust::{which}]: `start_paused` is `true` or `false`"),
        )),
        _ => Ok(()),
    }
}

/// Whether `attr` is the built-in `#[test]` (bare, or through a prelude
/// path as the expansion writes it).
fn is_test_attribute(attr: &syn::Attribute) -> bool {
    let Meta::Path(path) = &attr.meta else {
        return false;
    };
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match names.as_slice() {
        [test] => test == "test" && path.leading_colon.is_none(),
        [root, prelude, _, test] => {
            (root == "core" || root == "std") && prelude == "prelude" && test == "test"
        }
        _ => false,
    }
}

/// `#[gust::test]` adds `#[test]`: a second one would register the test
/// twice (tokio rejects it too).
fn check_no_test_attribute(f: &ItemFn) -> Result<(), syn::Error> {
    match f.attrs.iter().find(|a| is_test_attribute(a)) {
        Some(attr) => Err(syn::Error::new_spanned(
            attr,
            "#[gust::test]: a second test attribute; `#[gust::test]` is the test \
             attribute already (remove this `#[test]`)",
        )),
        None => Ok(()),
    }
}

fn check_async(f: &ItemFn, which: &str) -> Result<(), syn::Error> {
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(
            f.sig.fn_token.span(),
            format!("#[gust::{which}] goes on an `async fn`"),
        ));
    }
    if !f.sig.inputs.is_empty() {
        return Err(syn::Error::new(
            f.sig.inputs.span(),
            format!("#[gust::{which}]: the function takes no arguments"),
        ));
    }
    Ok(())
}

/// Runs `async fn main` on gust: on the global runtime, or with
/// `workers = N` on a runtime of its own with `N` workers.
///
/// ```
/// #[gust::main]
/// async fn main() {
///     let h = gust::spawn(async { 1 + 1 });
///     assert_eq!(h.await.unwrap(), 2);
/// }
/// ```
///
/// A `main` that returns a `Result`, on a runtime of 2 workers:
///
/// ```
/// #[gust::main(workers = 2)]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let (tx, rx) = gust::chan::<u32>(0);
///     gust::spawn(async move { tx.send(7).await });
///     assert_eq!(rx.recv().await, Some(7));
///     Ok(())
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item.clone(), "main").unwrap_or_else(|e| with_stub(e, item, "main"))
}

/// Runs an `async fn` test on a fresh gust runtime (1 worker unless
/// `workers = N`; `start_paused = true` for virtual time), dropped when the
/// test ends. A deadlock (every task and the test's body asleep for good)
/// fails the test with Go's "all tasks are asleep - deadlock!" and the task
/// dump, unless `GUST_DEADLOCK` says otherwise.
///
/// ```
/// #[gust::test(workers = 2)]
/// async fn adds() {
///     assert_eq!(gust::spawn(async { 2 }).await.unwrap(), 2);
/// }
///
/// // An hour of virtual time, in microseconds of real time.
/// #[gust::test(start_paused = true)]
/// async fn times_out() {
///     let slow = gust::time::sleep(std::time::Duration::from_secs(7200));
///     let r = gust::time::timeout(std::time::Duration::from_secs(3600), slow).await;
///     assert!(r.is_err());
/// }
/// # fn main() {} // (a doctest compiles tests but runs only `main`)
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item.clone(), "test").unwrap_or_else(|e| with_stub(e, item, "test"))
}

/// The error, and in place of the function a stub with its name: without
/// one, a `main` that failed to expand would add "`main` function not
/// found" to the real error (and a test, "cannot find function").
fn with_stub(e: syn::Error, item: TokenStream, which: &str) -> TokenStream {
    let error = e.to_compile_error();
    let stub = syn::parse::<ItemFn>(item).ok().map(|f| {
        let (vis, ident) = (&f.vis, &f.sig.ident);
        let allow = (which == "test").then(|| quote! { #[allow(dead_code)] });
        quote! { #allow #vis fn #ident() {} }
    });
    quote! { #error #stub }.into()
}

fn expand(args: TokenStream, item: TokenStream, which: &str) -> Result<TokenStream, syn::Error> {
    let config = parse_config(args, which)?;
    let mut f: ItemFn = syn::parse(item).map_err(|e| {
        syn::Error::new(e.span(), format!("#[gust::{which}] goes on an `async fn`"))
    })?;
    check_async(&f, which)?;
    if which == "test" {
        check_no_test_attribute(&f)?;
    }
    f.sig.asyncness = None;
    let body = &f.block;
    let span = body.span();
    let gust = match &config.krate {
        Some(path) => quote! { #path },
        None => quote! { ::gust },
    };
    let run = match (which, &config.workers, &config.start_paused) {
        ("main", None, None) => quote_spanned! {span=> #gust::block_on(async move #body) },
        (_, workers, paused) => {
            let workers = workers
                .clone()
                .unwrap_or_else(|| syn::parse_quote_spanned!(Span::call_site()=> 1));
            let paused = paused
                .clone()
                .unwrap_or_else(|| syn::parse_quote_spanned!(Span::call_site()=> false));
            // Tests: a deadlock panics (unless GUST_DEADLOCK says otherwise).
            let test = (which == "test").then(|| quote! { .__test() });
            // The build's error becomes a panic in gust, not in the
            // user's function (which may deny `clippy::expect_used`), and
            // reads as the global runtime's does.
            quote_spanned! {span=>
                #gust::runtime::Builder::new()
                    .workers(#workers)
                    .start_paused(#paused)
                    #test
                    .__build_for_attribute()
                    .block_on(async move #body)
            }
        }
    };
    let attrs = &f.attrs;
    let vis = &f.vis;
    let sig = &f.sig;
    let test_attr = if which == "test" {
        quote! { #[::core::prelude::v1::test] }
    } else {
        quote! {}
    };
    Ok(quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            #run
        }
    }
    .into())
}
