//! UI tests for `select!`: each case in `tests/ui/` is a mistake a user
//! would make; its `.stderr` pins the diagnostic, so that the error keeps
//! pointing at the user's code (not into gust's source) and naming the
//! problem. The `.stderr` files depend on the exact compiler; regenerate
//! them with `TRYBUILD=overwrite cargo test -p gust-chan --test ui`.

#[cfg(not(loom))]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
