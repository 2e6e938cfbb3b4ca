//! `pnpm-lock.yaml`, lockfile versions 5.x (`/name/1.0.0_peer`), 6 (`/name@1.0.0(peer)`) and
//! 9 (`name@1.0.0`). The `packages` map holds one entry per resolved package; `name` and
//! `version` fields, when present (tarball, git and file dependencies), override what the key
//! says.

use ward_version::EcosystemKind;
use yaml_rust2::Yaml;

use super::document::{self, yaml_str};
use super::npm::{commit_of, split_name};
use crate::lines::{self, yaml_keys};
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let doc = match document::yaml(path, &text) {
        Ok(doc) => doc,
        Err(failed) => return failed,
    };
    let mut out = Parsed::default();
    if doc.is_null() {
        return out;
    }
    let Some(top) = doc.as_hash() else {
        out.error(path, Some(1), "not a pnpm lockfile: the document is not a mapping");
        return out;
    };
    let index = yaml_keys(&text, 2);
    let version: f64 = match top.get(&Yaml::String("lockfileVersion".into())) {
        Some(Yaml::Real(s)) | Some(Yaml::String(s)) => s.trim().parse().unwrap_or(0.0),
        Some(Yaml::Integer(i)) => *i as f64,
        _ => 0.0,
    };
    let Some(packages) = doc["packages"].as_hash() else {
        return out;
    };
    for (key, entry) in packages {
        let Some(key) = yaml_str(key) else { continue };
        let line = index.get(key.as_str()).copied();
        let (mut name, mut version) = match name_and_version(&key, version) {
            Ok(nv) => nv,
            Err(message) => {
                out.error(path, line, message);
                continue;
            }
        };
        if let Some(n) = yaml_str(&entry["name"]) {
            name = n;
        }
        if let Some(v) = yaml_str(&entry["version"]) {
            version = v;
        }
        if name.is_empty() || version.is_empty() {
            continue;
        }
        let mut p = Package::new(EcosystemKind::Npm, name, version, super::at(path, line));
        let resolution = &entry["resolution"];
        p.commit = yaml_str(&resolution["commit"]).or_else(|| {
            yaml_str(&resolution["tarball"])
                .filter(|t| t.starts_with("https://codeload.github.com"))
                .and_then(|t| commit_of(&t))
        });
        p.dev = entry["dev"].as_bool() == Some(true);
        p.optional = entry["optional"].as_bool() == Some(true);
        out.packages.push(p);
    }
    out
}

/// The name and version a `packages` key encodes; empty when the key does not encode them
/// (file dependencies, git paths), an error when it cannot be a package path.
fn name_and_version(key: &str, lockfile_version: f64) -> Result<(String, String), String> {
    if key.starts_with("file:") {
        return Ok((String::new(), String::new()));
    }
    let strip_peers = |v: &str| -> String {
        let v = v.split('(').next().unwrap_or(v);
        v.split('_').next().unwrap_or(v).to_string()
    };
    if lockfile_version >= 9.0 {
        let (name, version) = split_name(key.trim_matches('\''));
        return Ok((name.to_string(), strip_peers(version)));
    }
    let parts: Vec<&str> = key.split('/').collect();
    if parts.len() == 1 {
        return Err(format!("invalid package path {key:?}"));
    }
    let rest = &parts[1..];
    let (mut name, rest) = if rest[0].starts_with('@') && rest.len() >= 2 {
        (format!("{}/{}", rest[0], rest[1]), &rest[2..])
    } else {
        (rest[0].to_string(), &rest[1..])
    };
    let mut version = rest.first().map(|s| (*s).to_string()).unwrap_or_default();
    if version.is_empty() {
        let whole = name.clone();
        let (n, v) = split_name(&whole);
        name = n.to_string();
        version = v.to_string();
    }
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok((String::new(), String::new()));
    }
    Ok((name, strip_peers(&version)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(key: &str, lockfile_version: f64, expect: (&str, &str)) {
        let (n, v) = name_and_version(key, lockfile_version).unwrap();
        assert_eq!((n.as_str(), v.as_str()), expect, "{key}");
    }

    #[test]
    fn reads_package_keys_of_each_version() {
        check("/acorn/8.7.0", 5.3, ("acorn", "8.7.0"));
        check("/@babel/core/7.0.0_peer@1.0.0", 5.4, ("@babel/core", "7.0.0"));
        check("/@babel/core@7.0.0(react@18.0.0)", 6.0, ("@babel/core", "7.0.0"));
        check("@babel/core@7.0.0(react@18.0.0)", 9.0, ("@babel/core", "7.0.0"));
        check("github.com/o/r/abc", 5.3, ("", ""));
        assert!(name_and_version("nope", 5.3).is_err());
    }

    #[test]
    fn parses_documents() {
        let got = parse(
            "pnpm-lock.yaml",
            b"lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    dev: true\n  bad:\n    x: 1\n",
        );
        assert_eq!(got.packages.len(), 1);
        assert!(got.packages[0].dev);
        assert_eq!(got.packages[0].location.line, Some(3));
        assert_eq!(got.errors.len(), 1);
        assert_eq!(parse("p", b"a: [").errors.len(), 1);
    }
}
