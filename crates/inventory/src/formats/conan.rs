//! Conan lockfiles: version 0.5 (Conan 2: `requires`/`build_requires` reference lists) and
//! the Conan 1 `graph_lock` formats (`ref` or, in old files, `pref` per node).

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, jstr};
use crate::{Package, Parsed};

/// `name/version[@user/channel][#revision][:package_id...]` → name and version.
fn split_reference(reference: &str) -> Option<(&str, &str)> {
    let reference = reference.split(['#', ':', '%']).next().unwrap_or(reference);
    let reference = reference.split('@').next().unwrap_or(reference);
    let (name, version) = reference.split_once('/')?;
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        let push = |reference: &str, group: Option<&str>, out: &mut Parsed| {
            let Some((name, version)) = split_reference(reference) else { return };
            let line = index.value(reference);
            let mut p =
                Package::new(EcosystemKind::ConanCenter, name, version, super::at(path, line));
            if let Some(g) = group {
                p.add_group(g);
            }
            if group == Some("build-requires") {
                p.dev = true;
            }
            out.packages.push(p);
        };
        if let Some(nodes) =
            doc.get("graph_lock").and_then(|g| g.get("nodes")).and_then(Value::as_object)
        {
            for node in nodes.values() {
                if node.get("path").is_some() {
                    continue;
                }
                if let Some(reference) = jstr(node, "ref").or_else(|| jstr(node, "pref")) {
                    push(reference, None, &mut out);
                }
            }
            return out;
        }
        let mut any = false;
        for (key, group) in [
            ("requires", "requires"),
            ("build_requires", "build-requires"),
            ("python_requires", "python-requires"),
        ] {
            if let Some(list) = doc.get(key).and_then(Value::as_array) {
                any = true;
                for reference in list.iter().filter_map(Value::as_str) {
                    push(reference, Some(group), &mut out);
                }
            }
        }
        if !any {
            out.error(path, Some(1), "not a conan lockfile: no graph_lock or requires");
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_references() {
        assert_eq!(
            split_reference("zlib/1.2.11@bincrafters/testing#5f49:1972#5884"),
            Some(("zlib", "1.2.11"))
        );
        assert_eq!(split_reference("1.2.3#abc"), None);
        let got = parse("conan.lock", br#"{"version": "0.5", "requires": ["zlib/1.2.11#ff%1"], "build_requires": ["ninja/1.11.1"]}"#);
        let summary: Vec<_> = got.packages.iter().map(|p| (p.name.as_str(), p.dev)).collect();
        assert_eq!(summary, [("zlib", false), ("ninja", true)]);
    }
}
