//! Dart's `pubspec.lock`: `packages:` with each package's version, dependency kind
//! (`direct main`, `direct dev`, `transitive`) and source (git packages carry a commit).

use ward_version::EcosystemKind;
use yaml_rust2::Yaml;

use super::document::{self, yaml_str};
use crate::lines::{self, yaml_keys};
use crate::{Package, Parsed, Relation};

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
    if doc.as_hash().is_none() {
        out.error(path, Some(1), "not a pubspec.lock: the document is not a mapping");
        return out;
    }
    let index = yaml_keys(&text, 2);
    let Some(packages) = doc["packages"].as_hash() else { return out };
    for (key, entry) in packages {
        let Some(name) = yaml_str(key) else { continue };
        let line = index.get(name.as_str()).copied();
        let version = yaml_str(&entry["version"]).unwrap_or_default();
        if version.is_empty() {
            out.error(path, line, format!("{name} has no version"));
        }
        let mut p = Package::new(EcosystemKind::Pub, name, version, super::at(path, line));
        let dependency = yaml_str(&entry["dependency"]).unwrap_or_default();
        p.dev = dependency == "direct dev";
        p.relation = match dependency.as_str() {
            "direct main" | "direct dev" | "direct overridden" => Relation::Direct,
            "transitive" => Relation::Transitive,
            _ => Relation::Unknown,
        };
        if let Yaml::Hash(_) = entry["description"] {
            p.commit = yaml_str(&entry["description"]["resolved-ref"]);
        }
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packages() {
        let got = parse(
            "pubspec.lock",
            b"packages:\n  a:\n    dependency: \"direct dev\"\n    version: \"1.0.0\"\n  b:\n    dependency: transitive\n    description:\n      resolved-ref: abc\n    version: \"2.0.0\"\n",
        );
        let summary: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev, p.commit.as_deref(), p.location.line))
            .collect();
        assert_eq!(summary, [("a", true, None, Some(2)), ("b", false, Some("abc"), Some(5))]);
        assert_eq!(parse("p", b"{{").errors.len(), 1);
    }
}
