#!/usr/bin/env bash
# `ward patch plan` against apt's own simulation, whole processes, on this machine's real
# pending updates (whatever `apt-get update` last fetched), same run:
#   - apt-get -s dist-upgrade                     (apt resolves, prints Inst lines)
#   - ward patch plan --no-download               (apt's resolution + the selection policy)
#   - ward patch plan --security-only --no-download
#   - ward patch plan (changelogs read)           (the pending .debs already downloaded once
#                                                  into apt's cache, as `plan` does by itself)
# and the same on the Debian 12 test system (.ci/debian-image). Needs root (apt's cache).
#
#   bench/patch-plan-vs-apt.sh            # prints a markdown table for the README
set -euo pipefail
cd "$(dirname "$0")/.."
tools="${WARD_TOOLS_DIR:-$HOME/.cache/ward-tools}"
[ -x "$tools/bin/python3" ] || python3 -m venv "$tools"
[ -x "$tools/bin/hyperfine" ] || "$tools/bin/pip" install -q astral-dev-toolchain-hyperfine
cargo build --release -q -p ward
target="${CARGO_TARGET_DIR:-$(pwd)/target}"
ward="$target/release/ward"
work="$target/bench-patch"
mkdir -p "$work"
.ci/debian-image
image="${WARD_DEBIAN_IMAGE:-$tools/debian-12-minbase}"

# The pending updates' packages, once, into apt's own cache (what `ward patch plan` would do).
apt-get -qq -y --download-only dist-upgrade >/dev/null

pending=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade | grep -c '^Inst' || true)
security=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade | grep '^Inst' | grep -c -- '-security' || true)

"$tools/bin/hyperfine" -N --warmup 1 --runs 5 --export-json "$work/host.json" \
    -n "apt-get -s dist-upgrade" "apt-get -s -o Debug::NoLocking=1 dist-upgrade" \
    -n "ward patch plan --no-download" "$ward patch plan --no-download" \
    -n "ward patch plan --security-only --no-download" "$ward patch plan --security-only --no-download" \
    -n "ward patch plan (changelogs read)" "$ward patch plan" >/dev/null
"$tools/bin/hyperfine" -N --warmup 1 --runs 5 --export-json "$work/image.json" \
    -n "apt-get -s dist-upgrade" "chroot $image apt-get -s -o Debug::NoLocking=1 dist-upgrade" \
    -n "ward patch plan (changelogs read)" "$ward patch plan --root $image" >/dev/null

python3 - "$work/host.json" "$work/image.json" "$pending" "$security" <<'PY'
import json, sys
host, image, pending, security = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def rows(path):
    out = []
    for r in json.load(open(path))["results"]:
        t = r["summary"]["time_wall_clock"] if "summary" in r else r  # hyperfine 1.19, older
        out.append((r.get("name") or r["command"], t["mean"] * 1000, t["stddev"] * 1000))
    return out
print(f"This host: {pending} pending updates, {security} from the security suite.\n")
print("| system | command | mean | ± |")
print("|---|---|---:|---:|")
for name, path in (("this host", host), ("Debian 12 test system", image)):
    for cmd, mean, sd in rows(path):
        print(f"| {name} | `{cmd}` | {mean:.0f} ms | {sd:.0f} ms |")
PY
