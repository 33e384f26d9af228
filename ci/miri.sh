#!/usr/bin/env bash
# The unit tests of every crate under Miri (issue 6); the tests scale their
# counts down under cfg(miri). Usage: ci/miri.sh [crate...] (default: all five).
# MIRIFLAGS can be set by the caller; none are needed by default.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${MIRI_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/miri}"
crates=("$@")
[ ${#crates[@]} -eq 0 ] && crates=(gust-trace gust-chan gust-waitgroup gust-context gust-executor gust-sync)
for c in "${crates[@]}"; do
    start=$(date +%s)
    cargo +nightly miri test -p "$c" --lib
    if [ "$c" = gust-executor ]; then
        # The timer tests start the process-wide timer thread, which
        # outlives the harness's main thread (see `timers_and_blocking`).
        MIRIFLAGS="-Zmiri-ignore-leaks ${MIRIFLAGS:-}" \
            cargo +nightly miri test -p "$c" --lib -- --ignored timers
    fi
    echo "ci/miri.sh: $c: $(( $(date +%s) - start )) s"
done
