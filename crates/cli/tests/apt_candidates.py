#!/usr/bin/python3
"""apt's view of a captured host, with python3-apt (libapt-pkg's own version comparison).

Usage: apt_candidates.py DPKG_STATUS SECURITY_PACKAGES OTHER_PACKAGES...

Prints JSON: `from_security`, the installed binaries whose upgrade candidate (apt's rule: the
highest version among the indexes, same architecture or `all`) comes from the security suite,
which is what `apt list --upgradable` shows as `-security`; and `security_newer`, the installed
binaries for which the security suite has any version newer than the installed one (a pending
security fix, even when a newer point release is the candidate).
"""

import functools
import json
import sys

import apt_pkg


def stanzas(path):
    current = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                if current:
                    yield current
                current = {}
                continue
            if line[0] in " \t":
                continue
            key, _, value = line.partition(":")
            current[key] = value.strip()
    if current:
        yield current


def index(path):
    out = {}
    for s in stanzas(path):
        out.setdefault(s["Package"], []).append((s["Version"], s.get("Architecture")))
    return out


def main():
    apt_pkg.init()
    status, security, *others = sys.argv[1:]
    installed = {}
    for s in stanzas(status):
        if "install ok installed" in s.get("Status", ""):
            installed[(s["Package"], s.get("Architecture"))] = s["Version"]
    indexes = [("security", index(security))] + [("other", index(o)) for o in others]
    from_security, security_newer = set(), set()
    for (name, arch), version in installed.items():
        candidates = [
            (v, origin)
            for origin, idx in indexes
            for v, a in idx.get(name, [])
            if a in (arch, "all") or arch == "all"
        ]
        if not candidates:
            continue
        newer = [c for c in candidates if apt_pkg.version_compare(c[0], version) > 0]
        if any(origin == "security" for _, origin in newer):
            security_newer.add(name)
        if not newer:
            continue
        newer.sort(key=functools.cmp_to_key(lambda a, b: apt_pkg.version_compare(a[0], b[0])))
        best = newer[-1][0]
        if any(origin == "security" for v, origin in newer if apt_pkg.version_compare(v, best) == 0):
            from_security.add(name)
    json.dump({"from_security": sorted(from_security), "security_newer": sorted(security_newer)}, sys.stdout)


if __name__ == "__main__":
    main()
