#!/usr/bin/env bash
# Every public item has an example (DESIGN.md): rustdoc's JSON of each
# crate (nightly), walked by ci/doc_examples.py. Writes under
# target/doc-json, not target/doc, so `cargo doc`'s pages stay as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=target/doc-json
crates=(gust gust-chan gust-executor gust-waitgroup gust-context gust-sync gust-net gust-macros gust-trace)
for c in "${crates[@]}"; do
    cargo +nightly rustdoc -q -p "$c" -- -Z unstable-options --output-format json
done
python3 ci/doc_examples.py "$CARGO_TARGET_DIR"/doc/*.json
