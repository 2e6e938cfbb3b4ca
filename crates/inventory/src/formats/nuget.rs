//! NuGet's `packages.lock.json` (version 1 and 2): the resolved packages of every target
//! framework, each reported once.

use std::collections::BTreeSet;

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, jstr};
use crate::{Package, Parsed, Relation};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        match doc.get("version").and_then(Value::as_i64) {
            Some(1 | 2) => {}
            Some(v) => {
                out.error(
                    path,
                    index.key("version"),
                    format!("unsupported lock file version {v} (ward reads 1 and 2)"),
                );
                return out;
            }
            None => {
                out.error(path, Some(1), "not a packages.lock.json: no version");
                return out;
            }
        }
        let mut seen = BTreeSet::new();
        let frameworks = doc.get("dependencies").and_then(Value::as_object);
        for (framework, packages) in frameworks.into_iter().flatten() {
            let Some(packages) = packages.as_object() else { continue };
            let framework_at = index.key_after(framework, 0).map_or(0, |f| f.0);
            for (name, entry) in packages {
                let ty = jstr(entry, "type").unwrap_or("");
                if ty == "Project" {
                    continue;
                }
                let Some(version) = jstr(entry, "resolved") else {
                    out.error(
                        path,
                        index.key_after(name, framework_at).map(|f| f.1),
                        format!("{name} has no resolved version"),
                    );
                    continue;
                };
                if !seen.insert((name.clone(), version.to_string())) {
                    continue;
                }
                let line = index.key_after(name, framework_at).map(|f| f.1);
                let mut p = Package::new(
                    EcosystemKind::NuGet,
                    name.as_str(),
                    version,
                    super::at(path, line),
                );
                p.relation = match ty {
                    "Direct" => Relation::Direct,
                    "Transitive" | "CentralTransitive" => Relation::Transitive,
                    _ => Relation::Unknown,
                };
                out.packages.push(p);
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_package_once() {
        let got = parse(
            "packages.lock.json",
            br#"{"version": 1, "dependencies": {"net6.0": {"A": {"type": "Direct", "resolved": "1.0.0"}},
                "net7.0": {"A": {"type": "Direct", "resolved": "1.0.0"}, "B": {"type": "Transitive", "resolved": "2.0.0"}}}}"#,
        );
        let names: Vec<_> = got.packages.iter().map(|p| (p.name.as_str(), p.relation)).collect();
        assert_eq!(names, [("A", Relation::Direct), ("B", Relation::Transitive)]);
        assert_eq!(parse("p", br#"{"version": 0}"#).errors.len(), 1);
    }
}
