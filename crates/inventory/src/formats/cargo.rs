//! `Cargo.lock`, versions 1 to 4: every `[[package]]` with its name and version. Packages with
//! no `source` are the workspace's own crates and are reported too (they are what is built).

use ward_version::EcosystemKind;

use super::document::{self, tables, tstr};
use crate::lines::{self, Lines};
use crate::{Package, Parsed};

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
    for table in tables(&doc, "package") {
        let (Some(name), Some(version)) = (tstr(table, "name"), tstr(table, "version")) else {
            out.error(path, None, "a [[package]] without name or version; skipped");
            continue;
        };
        let line = index
            .find(&format!("name = \"{name}\"\nversion = \"{version}\""))
            .or_else(|| index.find(&format!("name = \"{name}\"")));
        out.packages.push(Package::new(
            EcosystemKind::CratesIo,
            name,
            version,
            super::at(path, line),
        ));
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
        check("not = [toml", &[], 1);
    }
}
