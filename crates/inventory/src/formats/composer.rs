//! Composer's records of PHP packages: `composer.lock` (`packages` and `packages-dev`, the
//! latter marked dev) and `vendor/composer/installed.json` (what a deployment actually has
//! installed: version 2 `{"packages": [...], "dev-package-names": [...]}` or version 1, a bare
//! list), each entry with name, version and source commit. Both are read by one entry reader.
//! Drupal core and modules are ordinary Packagist names (`drupal/core`, `drupal/token`),
//! which is how their advisories name them.

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, jstr};
use crate::lines::JsonStrings;
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        if !doc.is_object() {
            out.error(path, Some(1), "not a composer.lock: the document is not a JSON object");
            return out;
        }
        for (key, dev) in [("packages", false), ("packages-dev", true)] {
            let Some(list) = doc.get(key) else { continue };
            read_entries(path, key, list, index, &|_| dev, &mut out);
        }
        out
    })
}

/// `vendor/composer/installed.json`; `dev-package-names` marks the dev packages.
pub fn parse_installed(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        let dev_names: Vec<&str> = doc
            .get("dev-package-names")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match doc.get("packages") {
            Some(list) => {
                read_entries(path, "packages", list, index, &|n| dev_names.contains(&n), &mut out)
            }
            None if doc.is_array() => {
                read_entries(path, "the list", doc, index, &|_| false, &mut out)
            }
            None => out.error(path, Some(1), "not a Composer installed.json: no packages list"),
        }
        out
    })
}

fn read_entries(
    path: &str,
    key: &str,
    list: &Value,
    index: &JsonStrings<'_>,
    is_dev: &dyn Fn(&str) -> bool,
    out: &mut Parsed,
) {
    let Some(list) = list.as_array() else {
        out.error(path, index.key(key), format!("{key} is not a list"));
        return;
    };
    for entry in list {
        let (Some(name), Some(version)) = (jstr(entry, "name"), jstr(entry, "version")) else {
            out.error(path, None, format!("an entry of {key} has no name or version; skipped"));
            continue;
        };
        let line = index.value(name);
        let mut p = Package::new(EcosystemKind::Packagist, name, version, super::at(path, line));
        p.dev = is_dev(name);
        p.commit = entry
            .get("source")
            .and_then(|s| s.get("reference"))
            .or_else(|| entry.get("dist").and_then(|d| d.get("reference")))
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .map(str::to_string);
        out.packages.push(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_packages_and_dev_packages() {
        let got = parse(
            "composer.lock",
            br#"{"packages": [{"name": "drupal/core", "version": "10.1.0", "source": {"reference": "abc"}}],
                 "packages-dev": [{"name": "phpunit/phpunit", "version": "9.6.0"}, {"version": "1"}]}"#,
        );
        let summary: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.dev, p.commit.as_deref(), p.location.line))
            .collect();
        assert_eq!(
            summary,
            [
                ("drupal/core", false, Some("abc"), Some(1)),
                ("phpunit/phpunit", true, None, Some(2))
            ]
        );
        assert_eq!(got.errors.len(), 1);
        assert_eq!(parse("c", b"nope").errors.len(), 1);
        let v2 = parse_installed("installed.json", br#"{"packages": [{"name": "a/b", "version": "1.0.0"}, {"name": "c/d", "version": "2.0.0"}], "dev": true, "dev-package-names": ["c/d"]}"#);
        let summary: Vec<_> = v2.packages.iter().map(|p| (p.name.as_str(), p.dev)).collect();
        assert_eq!(summary, [("a/b", false), ("c/d", true)]);
        let v1 = parse_installed("installed.json", br#"[{"name": "a/b", "version": "1.0.0"}]"#);
        assert_eq!(v1.packages.len(), 1);
        assert_eq!(parse_installed("installed.json", b"{}").errors.len(), 1);
    }
}
