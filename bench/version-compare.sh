#!/usr/bin/env bash
# Whole-process comparison throughput: `ward version compare` (stdin mode) against the
# reference implementations, on the same 200,000 version pairs per ecosystem, same machine,
# same run. Pairs are drawn from real data in $WARD_TEST_DATA (a Debian 12 dpkg status, an npm
# lockfile, the PEP 440 vectors).
#
#   bench/version-compare.sh            # prints a markdown table (hyperfine)
#
# Peers: libapt's version_compare (python3-apt) and dpkg's Perl Dpkg::Version for Debian,
# Python `packaging` 26.3 for PyPI, node-semver 7.8.5 for npm. Requires the tools .ci/run
# installs, plus hyperfine (pip install astral-dev-toolchain-hyperfine into $WARD_TOOLS_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${WARD_TEST_DATA:-$(pwd)/../shared/data}"
tools="${WARD_TOOLS_DIR:-$HOME/.cache/ward-tools}"
pairs="${PAIRS:-200000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p ward
ward="${CARGO_TARGET_DIR:-$(pwd)/target}/release/ward"

python3 - "$data" "$work" "$pairs" <<'PY'
import json, random, re, sys
data, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(42)
def write(name, versions):
    versions = sorted(set(v for v in versions if v and "\t" not in v))
    with open(f"{work}/{name}.tsv", "w") as f:
        for _ in range(n):
            f.write(f"{rng.choice(versions)}\t{rng.choice(versions)}\n")
deb = re.findall(r"^Version: (.+)$", open(f"{data}/real-inputs/debian-bookworm/dpkg-status").read(), re.M)
write("debian", deb)
lock = json.load(open(f"{data}/real-inputs/npm/express-4.21.2-with-dev.package-lock.json"))
write("npm", [p.get("version") for p in lock["packages"].values()])
pypi = []
for line in open(f"{data}/version-vectors/pep440/packaging-version-comparisons.tsv"):
    if not line.startswith("#"):
        cols = line.split("\t")
        pypi += [cols[0], cols[2]]
write("pypi", pypi)
PY

cat > "$work/apt.py" <<'PY'
import sys, apt_pkg
apt_pkg.init()
out = sys.stdout.write
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    c = apt_pkg.version_compare(a, b)
    out("<\n" if c < 0 else ">\n" if c > 0 else "=\n")
PY
cat > "$work/dpkg.pl" <<'PL'
use Dpkg::Version;
while (<STDIN>) { chomp; my ($a, $b) = split /\t/; my $c = version_compare($a, $b); print $c < 0 ? "<\n" : $c > 0 ? ">\n" : "=\n"; }
PL
cat > "$work/pep440_peer.py" <<'PY'
import sys
from packaging.version import Version
out = sys.stdout.write
for line in sys.stdin:
    a, b = line.rstrip("\n").split("\t")
    x, y = Version(a), Version(b)
    out("<\n" if x < y else ">\n" if x > y else "=\n")
PY
cat > "$work/semver.js" <<JS
const semver = require("$tools/node/node_modules/semver");
const lines = require("fs").readFileSync(0, "utf8").split("\n");
const out = [];
for (const line of lines) { if (!line) continue; const [a, b] = line.split("\t");
  const c = semver.compare(a, b); out.push(c < 0 ? "<" : c > 0 ? ">" : "="); }
process.stdout.write(out.join("\n") + "\n");
JS

# Every implementation must give the same answers before we time anything.
"$ward" version compare -e Debian < "$work/debian.tsv" > "$work/ward-debian.out"
/usr/bin/python3 "$work/apt.py" < "$work/debian.tsv" | cmp - "$work/ward-debian.out"
"$ward" version compare -e PyPI < "$work/pypi.tsv" > "$work/ward-pypi.out"
"$tools/bin/python3" "$work/pep440_peer.py" < "$work/pypi.tsv" | cmp - "$work/ward-pypi.out"
"$ward" version compare -e npm < "$work/npm.tsv" > "$work/ward-npm.out"
node "$work/semver.js" < "$work/npm.tsv" | cmp - "$work/ward-npm.out"
echo "answers identical across implementations ($pairs pairs each)" >&2

run() { # name input command-name command ...
    local name=$1 input=$2; shift 2
    "$tools/bin/hyperfine" -N --warmup 1 --runs "${RUNS:-5}" --style basic --input "$input" \
        --export-markdown "$work/$name.md" "$@" >&2
    cat "$work/$name.md"; echo
}
run debian "$work/debian.tsv" \
    -n "ward (Debian)" "$ward version compare -e Debian" \
    -n "libapt version_compare via python3-apt" "/usr/bin/python3 $work/apt.py" \
    -n "dpkg's Dpkg::Version (perl)" "perl $work/dpkg.pl"
run pypi "$work/pypi.tsv" \
    -n "ward (PyPI)" "$ward version compare -e PyPI" \
    -n "packaging 26.3" "$tools/bin/python3 $work/pep440_peer.py"
run npm "$work/npm.tsv" \
    -n "ward (npm)" "$ward version compare -e npm" \
    -n "node-semver 7.8.5" "node $work/semver.js"
