//! `#[gust::main]` and `#[gust::test]`: an `async fn` as a program's `main`
//! or as a test, run on a gust runtime. Use them through the `gust` facade.
//!
//! ```text
//! #[gust::main]                  // fn main on the global runtime (GUST_WORKERS)
//! #[gust::main(workers = 4)]     // on a runtime of its own with 4 workers
//! #[gust::test]                  // a test on a fresh runtime of 1 worker
//! #[gust::test(workers = 2)]
//! #[gust::test(start_paused = true)]  // virtual time: sleeps take no real time
//! ```
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
use syn::{Expr, ExprLit, ItemFn, Lit, MetaNameValue, Token};

/// What the attribute's arguments say.
struct Config {
    workers: Option<Expr>,
    start_paused: Option<Expr>,
}

fn parse_config(args: TokenStream, which: &str) -> Result<Config, syn::Error> {
    let list = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse(args)?;
    let mut config = Config {
        workers: None,
        start_paused: None,
    };
    for nv in list {
        let name = nv
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        match name.as_str() {
            "workers" => {
                if let Expr::Lit(ExprLit {
                    lit: Lit::Int(n), ..
                }) = &nv.value
                {
                    if n.base10_parse::<usize>()? == 0 {
                        return Err(syn::Error::new(n.span(), "`workers` must be at least 1"));
                    }
                }
                config.workers = Some(nv.value);
            }
            "start_paused" => config.start_paused = Some(nv.value),
            _ => {
                return Err(syn::Error::new(
                    nv.path.span(),
                    format!(
                        "#[gust::{which}]: unknown argument; expected `workers = N` or `start_paused = true`"
                    ),
                ));
            }
        }
    }
    Ok(config)
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
/// ```ignore
/// #[gust::main]
/// async fn main() {
///     let h = gust::spawn(async { 1 + 1 });
///     assert_eq!(h.await.unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "main").unwrap_or_else(|e| e.to_compile_error().into())
}

/// Runs an `async fn` test on a fresh gust runtime (1 worker unless
/// `workers = N`; `start_paused = true` for virtual time), dropped when the
/// test ends. A deadlock (every task and the test's body asleep for good)
/// fails the test with Go's "all tasks are asleep - deadlock!" and the task
/// dump, unless `GUST_DEADLOCK` says otherwise.
///
/// ```ignore
/// #[gust::test(workers = 2)]
/// async fn adds() {
///     assert_eq!(gust::spawn(async { 2 }).await.unwrap(), 2);
/// }
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(args, item, "test").unwrap_or_else(|e| e.to_compile_error().into())
}

fn expand(args: TokenStream, item: TokenStream, which: &str) -> Result<TokenStream, syn::Error> {
    let config = parse_config(args, which)?;
    let mut f: ItemFn = syn::parse(item)?;
    check_async(&f, which)?;
    f.sig.asyncness = None;
    let body = &f.block;
    let span = body.span();
    let run = match (which, &config.workers, &config.start_paused) {
        ("main", None, None) => quote_spanned! {span=> ::gust::block_on(async move #body) },
        (_, workers, paused) => {
            let workers = workers
                .clone()
                .unwrap_or_else(|| syn::parse_quote_spanned!(Span::call_site()=> 1));
            let paused = paused
                .clone()
                .unwrap_or_else(|| syn::parse_quote_spanned!(Span::call_site()=> false));
            // Tests: a deadlock panics (unless GUST_DEADLOCK says otherwise).
            let test = (which == "test").then(|| quote! { .__test() });
            quote_spanned! {span=>
                ::gust::runtime::Builder::new()
                    .workers(#workers)
                    .start_paused(#paused)
                    #test
                    .build()
                    .expect("gust: cannot start the runtime")
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
