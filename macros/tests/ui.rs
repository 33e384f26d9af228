//! UI tests for `#[gust::main]` and `#[gust::test]`: each case in
//! `tests/ui/` is a mistake a user would make; its `.stderr` pins the
//! diagnostic, so that it stays one error, at the user's tokens, naming the
//! problem (no second "`main` function not found"). The `.stderr` files
//! depend on the exact compiler; regenerate them with
//! `TRYBUILD=overwrite cargo test -p gust-macros --test ui`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
