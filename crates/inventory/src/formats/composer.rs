//! `composer.lock`: `packages` and `packages-dev` (marked dev), each with name, version and the
//! source commit. Drupal core and modules are ordinary Packagist names (`drupal/core`,
//! `drupal/token`), which is how their advisories name them.

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, jstr};
use crate::lines::{self, JsonStrings};
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let doc = match document::json(path, &text) {
        Ok(doc) => doc,
        Err(failed) => return failed,
    };
    let index = JsonStrings::new(&text);
    let mut out = Parsed::default();
    if !doc.is_object() {
        out.error(path, Some(1), "not a composer.lock: the document is not a JSON object");
        return out;
    }
    for (key, dev) in [("packages", false), ("packages-dev", true)] {
        let Some(list) = doc.get(key) else { continue };
        let Some(list) = list.as_array() else {
            out.error(path, index.key(key), format!("{key} is not a list"));
            continue;
        };
        for entry in list {
            let (Some(name), Some(version)) = (jstr(entry, "name"), jstr(entry, "version")) else {
                out.error(path, None, format!("an entry of {key} has no name or version; skipped"));
                continue;
            };
            let line = index.value(name);
            let mut p =
                Package::new(EcosystemKind::Packagist, name, version, super::at(path, line));
            p.dev = dev;
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
    out
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
    }
}
