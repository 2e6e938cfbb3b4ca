//! npm's `package-lock.json` (lockfile versions 1, 2 and 3), `npm-shrinkwrap.json` (same
//! format) and `node_modules/.package-lock.json` (the hidden lockfile: v3 without a root entry).
//!
//! Version 2 and 3 files are read from `packages` (keyed by install path); version 1 files from
//! the nested `dependencies` tree. Git dependencies carry their commit; `file:`/`link:`
//! dependencies have no registry version. A package installed at several paths with the same
//! version is reported once.

use std::collections::BTreeSet;

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, jstr};
use crate::lines::JsonStrings;
use crate::{Package, Parsed, Relation};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        let mut seen = BTreeSet::new();
        if !doc.is_object() {
            out.error(path, Some(1), "not an npm lockfile: the document is not a JSON object");
            return out;
        }
        if let Some(packages) = doc.get("packages").and_then(Value::as_object) {
            let root = packages.get("");
            let direct: BTreeSet<&str> =
                ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"]
                    .iter()
                    .filter_map(|k| root.and_then(|r| r.get(*k)).and_then(Value::as_object))
                    .flat_map(|m| m.keys().map(String::as_str))
                    .collect();
            for (key, entry) in packages {
                if key.is_empty() || entry.get("link").and_then(Value::as_bool) == Some(true) {
                    // A link's target folder has its own entry, reported there.
                    continue;
                }
                // Installed packages live under `node_modules/`; other keys are local folders
                // (`deps/etag`, workspace members) named by their last segment.
                let install_name = match key.rsplit_once("node_modules/") {
                    Some((_, n)) => n,
                    None => key.rsplit('/').next().unwrap_or(key),
                };
                let name = jstr(entry, "name").unwrap_or(install_name);
                let raw_version = jstr(entry, "version").unwrap_or("");
                let (version, commit) = version_and_commit(raw_version, jstr(entry, "resolved"));
                let line = index.key(key);
                let mut p = Package::new(EcosystemKind::Npm, name, version, super::at(path, line));
                p.commit = commit;
                let flag = |k: &str| entry.get(k).and_then(Value::as_bool) == Some(true);
                p.dev = flag("dev") || flag("devOptional");
                p.optional = flag("optional") || flag("devOptional");
                p.relation = if key == &format!("node_modules/{install_name}")
                    && direct.contains(install_name)
                {
                    Relation::Direct
                } else {
                    Relation::Transitive
                };
                push_unique(&mut out, &mut seen, p);
            }
            return out;
        }
        if let Some(deps) = doc.get("dependencies").and_then(Value::as_object) {
            walk_v1(path, index, deps, 0, true, &mut out, &mut seen);
        } else if doc.get("lockfileVersion").is_none() {
            out.error(
                path,
                Some(1),
                "not an npm lockfile: no lockfileVersion, packages or dependencies",
            );
        }
        out
    })
}

/// Keeps the first of several entries with the same name, version and commit; the package is
/// dev (or optional) only if every copy is.
fn push_unique(
    out: &mut Parsed,
    seen: &mut BTreeSet<(String, String, Option<String>)>,
    p: Package,
) {
    if seen.insert((p.name.clone(), p.version.clone(), p.commit.clone())) {
        out.packages.push(p);
    } else if let Some(first) = out
        .packages
        .iter_mut()
        .find(|q| q.name == p.name && q.version == p.version && q.commit == p.commit)
    {
        first.dev &= p.dev;
        first.optional &= p.optional;
    }
}

fn walk_v1(
    path: &str,
    index: &JsonStrings<'_>,
    deps: &serde_json::Map<String, Value>,
    from: usize,
    top: bool,
    out: &mut Parsed,
    seen: &mut BTreeSet<(String, String, Option<String>)>,
) {
    for (name, entry) in deps {
        let found = index.key_after(name, from);
        let raw = jstr(entry, "version").unwrap_or("");
        let (name, raw) = match raw.strip_prefix("npm:").and_then(|a| a.rsplit_once('@')) {
            Some((real, v)) if !real.is_empty() => (real, v),
            _ => (name.as_str(), raw),
        };
        let (version, commit) = if is_git(raw) {
            (String::new(), raw.rsplit_once('#').map(|(_, c)| c.to_string()))
        } else if raw.starts_with("file:") || raw.starts_with("link:") {
            (String::new(), None)
        } else {
            (raw.to_string(), None)
        };
        let mut p =
            Package::new(EcosystemKind::Npm, name, version, super::at(path, found.map(|f| f.1)));
        p.commit = commit;
        let flag = |k: &str| entry.get(k).and_then(Value::as_bool) == Some(true);
        p.dev = flag("dev");
        p.optional = flag("optional");
        p.relation = if top { Relation::Unknown } else { Relation::Transitive };
        push_unique(out, seen, p);
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            walk_v1(path, index, nested, found.map_or(from, |f| f.0), false, out, seen);
        }
    }
}

fn is_git(spec: &str) -> bool {
    spec.starts_with("git")
        || spec.starts_with("github:")
        || spec.starts_with("gitlab:")
        || spec.starts_with("bitbucket:")
        || (spec.contains('#') && spec.contains("://"))
}

/// The version and commit of a v2/v3 entry: a git dependency's commit is the `#` fragment of
/// `resolved` (or of `version`, for entries that store the git URL there).
fn version_and_commit(version: &str, resolved: Option<&str>) -> (String, Option<String>) {
    let commit_of =
        |s: &str| is_git(s).then(|| s.rsplit_once('#').map(|(_, c)| c.to_string())).flatten();
    if let Some(c) = commit_of(version) {
        return (String::new(), Some(c));
    }
    if let Some(r) = resolved {
        if let Some(c) = commit_of(r) {
            return (version.to_string(), Some(c));
        }
    }
    (version.to_string(), None)
}

/// The git commit a JavaScript lockfile's resolution points at, shared by the npm, Yarn and
/// pnpm readers: `#commit=<sha>`/`#commit:<sha>` (Yarn berry), codeload tarballs
/// (`/tar.gz/<sha>`), GitLab archives (`?ref=<sha>`), and `#<sha>` fragments of git URLs.
pub(crate) fn commit_of(resolution: &str) -> Option<String> {
    let is_hex = |s: &str| s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some((url, fragment)) = resolution.rsplit_once('#') {
        // Registry tarballs carry their sha1 checksum as the fragment, not a commit.
        if url.ends_with(".tgz") || url.contains("/-/") {
            return None;
        }
        let fragment = fragment
            .strip_prefix("commit=")
            .or_else(|| fragment.strip_prefix("commit:"))
            .unwrap_or(fragment);
        let fragment = fragment.split('&').next().unwrap_or(fragment);
        if is_hex(fragment) {
            return Some(fragment.to_string());
        }
    }
    if let Some((_, rest)) = resolution.split_once("codeload.github.com/") {
        if let Some((_, sha)) = rest.rsplit_once("/tar.gz/") {
            return is_hex(sha).then(|| sha.to_string());
        }
    }
    if let Some((_, sha)) = resolution.split_once("?ref=") {
        return is_hex(sha).then(|| sha.to_string());
    }
    None
}

/// Splits an npm-style `name@range` at the `@` that ends the name (scoped names start with one).
pub(crate) fn split_name(spec: &str) -> (&str, &str) {
    match spec.get(1..).and_then(|s| s.find('@')) {
        Some(i) => (&spec[..i + 1], &spec[i + 2..]),
        None => (spec, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str, bool)], errors: usize) {
        let got = parse("package-lock.json", input.as_bytes());
        let packages: Vec<_> =
            got.packages.iter().map(|p| (p.name.as_str(), p.version.as_str(), p.dev)).collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_v3_packages() {
        check(
            r#"{"lockfileVersion": 3, "packages": {"": {"dependencies": {"a": "^1"}},
               "node_modules/a": {"version": "1.0.0"},
               "node_modules/a/node_modules/@s/b": {"version": "2.0.0", "dev": true},
               "node_modules/c": {"name": "real-c", "version": "3.0.0"}}}"#,
            &[("a", "1.0.0", false), ("@s/b", "2.0.0", true), ("real-c", "3.0.0", false)],
            0,
        );
    }

    #[test]
    fn reads_v1_trees_and_aliases() {
        check(
            r#"{"lockfileVersion": 1, "dependencies": {"x": {"version": "npm:string-width@4.2.0",
               "dependencies": {"y": {"version": "1.0.0", "dev": true}}}}}"#,
            &[("string-width", "4.2.0", false), ("y", "1.0.0", true)],
            0,
        );
    }

    #[test]
    fn malformed_is_an_error() {
        check("{", &[], 1);
        check("[]", &[], 1);
        check("{}", &[], 1);
    }
}
