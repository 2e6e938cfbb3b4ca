//! osv-scanner's JSON output (`osv-scanner --format json`), read as an inventory: every
//! `results[].packages[].package` with its ecosystem, name and version, or a bare commit
//! (reported in OSV's `GIT` ecosystem).

use serde_json::Value;
use ward_version::{Ecosystem, EcosystemKind};

use super::document::{self, jstr};
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        let Some(results) = doc.get("results").and_then(Value::as_array) else {
            out.error(path, Some(1), "not osv-scanner results: no results list");
            return out;
        };
        for package in
            results.iter().filter_map(|r| r.get("packages")).filter_map(Value::as_array).flatten()
        {
            let Some(info) = package.get("package") else { continue };
            let name = jstr(info, "name").unwrap_or("");
            let line = if name.is_empty() { None } else { index.value(name) };
            if let Some(commit) = jstr(info, "commit").filter(|c| !c.is_empty()) {
                let mut p = Package::new(EcosystemKind::Git, name, "", super::at(path, line));
                p.commit = Some(commit.to_string());
                out.packages.push(p);
                continue;
            }
            let ecosystem = jstr(info, "ecosystem").unwrap_or("");
            match Ecosystem::parse(ecosystem) {
                Ok(e) => {
                    let mut p = Package::new(
                        e.kind(),
                        name,
                        jstr(info, "version").unwrap_or(""),
                        super::at(path, line),
                    );
                    p.ecosystem = e;
                    out.packages.push(p);
                }
                Err(_) => out.error(
                    path,
                    line,
                    format!("package {name:?} has an unknown ecosystem {ecosystem:?}"),
                ),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packages_and_commits() {
        let got = parse("r.json", br#"{"results": [{"packages": [{"package": {"name": "a", "version": "1", "ecosystem": "crates.io"}}, {"package": {"commit": "abc"}}, {"package": {"name": "z", "ecosystem": "Nope"}}]}]}"#);
        assert_eq!(got.packages.len(), 2);
        assert_eq!(got.packages[1].ecosystem.to_string(), "GIT");
        assert_eq!(got.errors.len(), 1);
    }
}
