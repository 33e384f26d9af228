#!/usr/bin/env bash
# The integration tests under ThreadSanitizer (issue 6): std is rebuilt with
# -Zsanitizer=thread (-Zbuild-std, rust-src is a rustup component) so that its
# atomics and locks are instrumented too. Suppressions, one reason per line,
# are in ci/tsan.supp.
# Usage: ci/tsan.sh [cargo test args...]
#   default: the facade's scenarios/faults/model tests and gust-chan's
#   integration tests (api, flavors, select, golang, stress, select_dynamic,
#   select_patterns), gust-sync's Go ports, gust-net's socket tests and the
#   executor's poller stress test.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
export RUSTFLAGS="-Zsanitizer=thread ${RUSTFLAGS:-}"
export RUSTDOCFLAGS="-Zsanitizer=thread"
export CARGO_TARGET_DIR="${TSAN_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/tsan}"
# allocator_may_return_null=1: chan/tests/flavors.rs checks that an impossible
# capacity panics with a message; TSan's allocator aborts the process instead
# of returning null unless told so.
export TSAN_OPTIONS="suppressions=$PWD/ci/tsan.supp halt_on_error=1 second_deadlock_stack=1 allocator_may_return_null=1 ${TSAN_OPTIONS:-}"
# Proptest cases scaled down: TSan is ~10x slower.
export PROPTEST_CASES="${PROPTEST_CASES:-32}"
run() {
    start=$(date +%s)
    cargo +nightly test -Zbuild-std --target "$target" "$@"
    echo "ci/tsan.sh: $*: $(( $(date +%s) - start )) s"
}
if [ $# -gt 0 ]; then
    run "$@"
else
    run -p gust --test scenarios --test faults --test model
    run -p gust-chan --test api --test flavors --test select --test golang --test stress --test select_dynamic --test select_patterns
    run -p gust-sync --test golang
    # The I/O driver: sockets end to end, and the poller wake under stress.
    run -p gust-net --test tcp --test udp_unix
    run -p gust-executor --test poller_stress
    # The soak example, instrumented, for a few seconds (GUST_TSAN_SOAK_SECS).
    start=$(date +%s)
    cargo +nightly build -Zbuild-std --target "$target" -p gust --example soak
    "$CARGO_TARGET_DIR/$target/debug/examples/soak" "${GUST_TSAN_SOAK_SECS:-10}"
    echo "ci/tsan.sh: soak: $(( $(date +%s) - start )) s"
fi
