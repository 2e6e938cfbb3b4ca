//! `Cargo.lock`, versions 1 to 4: every `[[package]]` with its name and version. Packages with
//! no `source` are the workspace's own crates and are reported too (they are what is built).

use ward_version::EcosystemKind;

use super::document::{self, tables, tstr};
use crate::lines::{self, Lines};
use crate::{Package, Parsed, Relation};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let doc = match document::toml(path, &text) {
        Ok(doc) => doc,
        Err(failed) => return failed,
    };
    let index = Lines::new(&text);
    let mut out = Parsed::default();
    if let Some(v) = doc.get("version").and_then(toml::Value::as_integer) {
        if !(1..=4).contains(&v) {
            out.error(path, index.find("version ="), format!("Cargo.lock version {v} is newer than ward knows (1 to 4); reading it as version 4"));
        }
    }
    // Workspace members have no `source`; what they depend on is direct, the rest transitive.
    // Dependency entries are `name`, `name version` or `name version (source)`.
    let direct: std::collections::BTreeSet<(String, Option<String>)> = tables(&doc, "package")
        .into_iter()
        .filter(|t| !t.contains_key("source"))
        .filter_map(|t| t.get("dependencies").and_then(toml::Value::as_array))
        .flatten()
        .filter_map(toml::Value::as_str)
        .map(|d| {
            let mut parts = d.split_whitespace();
            (parts.next().unwrap_or("").to_string(), parts.next().map(str::to_string))
        })
        .collect();
    let mut cursor = 0;
    for table in tables(&doc, "package") {
        let (Some(name), Some(version)) = (tstr(table, "name"), tstr(table, "version")) else {
            out.error(path, None, "a [[package]] without name or version; skipped");
            continue;
        };
        // `[[package]]` tables are in file order: search on from the previous one.
        let needle = format!("name = \"{name}\"\nversion = \"{version}\"");
        let found = index.find_from(cursor, &needle).or_else(|| index.find_from(0, &needle));
        if let Some((at, _)) = found {
            cursor = at + needle.len();
        }
        let line = found.map(|f| f.1).or_else(|| index.find(&format!("name = \"{name}\"")));
        let mut p = Package::new(EcosystemKind::CratesIo, name, version, super::at(path, line));
        // Only registry packages are what advisories name; git and path sources are code
        // of their own.
        let source = tstr(table, "source").unwrap_or("");
        p.local = !(source.starts_with("registry+") || source.starts_with("sparse+"));
        if table.contains_key("source") {
            let is_direct = direct.contains(&(name.to_string(), Some(version.to_string())))
                || direct.contains(&(name.to_string(), None));
            p.relation = if is_direct { Relation::Direct } else { Relation::Transitive };
        }
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str, Option<u32>)], errors: usize) {
        let got = parse("Cargo.lock", input.as_bytes());
        let packages: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.location.line))
            .collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_packages_with_lines() {
        check("version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"a\"\nversion = \"2.0.0\"\n", &[("a", "1.0.0", Some(4)), ("a", "2.0.0", Some(8))], 0);
        check("[[package]]\nname = \"x\"\n", &[], 1);
        let got = parse("Cargo.lock", b"[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"a\"]\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\ndependencies = [\"b\"]\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n");
        let relations: Vec<_> = got.packages.iter().map(|p| p.relation).collect();
        assert_eq!(relations, [Relation::Unknown, Relation::Direct, Relation::Transitive]);
        check("not = [toml", &[], 1);
    }
}
