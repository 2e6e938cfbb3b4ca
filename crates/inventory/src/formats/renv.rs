//! R's `renv.lock`: the `Packages` installed from CRAN (Bioconductor, GitHub and local packages
//! are not CRAN packages and are left out).

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, jstr};
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        let Some(packages) = doc.get("Packages").and_then(Value::as_object) else {
            if !doc.is_object() {
                out.error(path, Some(1), "not an renv.lock: no Packages");
            }
            return out;
        };
        for (key, entry) in packages {
            if jstr(entry, "Repository") != Some("CRAN") {
                continue;
            }
            let name = jstr(entry, "Package").unwrap_or(key);
            let line = index.key(key);
            let Some(version) = jstr(entry, "Version") else {
                out.error(path, line, format!("{name} has no Version"));
                continue;
            };
            out.packages.push(Package::new(
                EcosystemKind::Cran,
                name,
                version,
                super::at(path, line),
            ));
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cran_packages() {
        let got = parse("renv.lock", br#"{"Packages": {"a": {"Package": "a", "Version": "1.0", "Repository": "CRAN"}, "b": {"Package": "b", "Version": "2", "Source": "GitHub"}}}"#);
        assert_eq!(got.packages.len(), 1);
        assert_eq!(parse("r", b"{}").errors.len(), 0);
        assert_eq!(parse("r", b"[]").errors.len(), 1);
    }
}
