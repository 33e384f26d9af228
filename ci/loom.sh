#!/usr/bin/env bash
# loom models of every crate (issue 6), with bounded preemption so CI stays
# within its time. Each crate's models are where its own docs say:
#   gust-executor, gust-waitgroup, gust-context: `--lib loom` (unit tests under cfg(loom))
#   gust-chan: the `loom` integration test (chan/tests/loom.rs, #![cfg(loom)])
#   gust-sync: both (the mutex's lock word in its unit tests; the semaphore, and
#     step-for-step copies of Barrier's and Cond's waits, in tests/loom.rs)
# Usage: ci/loom.sh [crate...]   (default: all five); prints each duration.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="--cfg loom ${RUSTFLAGS:-}"
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-2}"
# Its own target dir: `--cfg loom` rebuilds everything.
export CARGO_TARGET_DIR="${LOOM_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/loom}"
crates=("$@")
[ ${#crates[@]} -eq 0 ] && crates=(gust-executor gust-chan gust-waitgroup gust-context gust-sync)
for c in "${crates[@]}"; do
    start=$(date +%s)
    case "$c" in
        gust-chan) cargo test --release -p gust-chan --test loom ;;
        gust-sync)
            cargo test --release -p gust-sync --lib loom
            cargo test --release -p gust-sync --test loom
            ;;
        *) cargo test --release -p "$c" --lib loom ;;
    esac
    echo "ci/loom.sh: $c: $(( $(date +%s) - start )) s"
done
