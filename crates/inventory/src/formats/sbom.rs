//! Reading SBOMs: CycloneDX JSON (1.4 to 1.6, nested components included) and SPDX 2.3 JSON.
//! Components are identified by their package URL; components without a purl of an ecosystem
//! ward knows (operating systems, files, `pkg:generic` and other purl types) are skipped
//! silently: they cannot be matched, and they are normal in SBOMs. CycloneDX library
//! components with no purl at all are counted in one error, since they hide a package.

use serde_json::Value;

use super::document::{self, jstr};
use crate::purl::Purl;
use crate::{Package, Parsed};

/// Turns one purl into a package, or an error message.
fn package_of(purl_text: &str, path: &str, line: Option<u32>) -> Result<Option<Package>, String> {
    let purl = Purl::parse(purl_text).map_err(|e| e.to_string())?;
    let Some((ecosystem, name)) = purl.ecosystem_and_name() else { return Ok(None) };
    let mut version = purl.version.clone().unwrap_or_default();
    // rpm purls carry the epoch as a qualifier; ward writes `epoch:version-release`.
    if let Some(epoch) = purl.qualifiers.get("epoch").filter(|e| e.as_str() != "0") {
        version = format!("{epoch}:{version}");
    }
    let mut p = Package::new(ecosystem.kind(), name, version, super::at(path, line));
    p.arch = purl.qualifiers.get("arch").cloned();
    // OS packages: `upstream=source` or `upstream=source@version`, as ward writes it.
    if let Some(upstream) = purl.qualifiers.get("upstream") {
        let (name, version) = upstream.split_once('@').unwrap_or((upstream, &p.version));
        p.source = Some(crate::Source { name: name.to_string(), version: version.to_string() });
    }
    if let Some(distro) = purl.qualifiers.get("distro") {
        // `debian-12`, `alpine-3.20` → the release part of the OSV ecosystem.
        if let Some((_, release)) = distro.split_once('-') {
            let release = if matches!(purl.ty.as_str(), "apk") {
                format!("v{release}")
            } else {
                release.to_string()
            };
            p.ecosystem = ward_version::Ecosystem::with_release(ecosystem.kind(), &release);
        }
    }
    Ok(Some(p))
}

fn note_unidentified(out: &mut Parsed, path: &str, count: usize) {
    if count > 0 {
        out.error(path, None, format!("{count} library components have no package URL and were skipped (ward identifies packages by purl)"));
    }
}

pub fn parse_cyclonedx(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        if jstr(doc, "bomFormat") != Some("CycloneDX") {
            out.error(
                path,
                Some(1),
                "not a CycloneDX JSON document: bomFormat is not \"CycloneDX\"",
            );
            return out;
        }
        let mut unidentified = 0;
        let mut stack: Vec<&Value> = doc
            .get("components")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        stack.reverse();
        while let Some(component) = stack.pop() {
            if let Some(nested) = component.get("components").and_then(Value::as_array) {
                stack.extend(nested.iter().rev());
            }
            let Some(purl) = jstr(component, "purl") else {
                if matches!(jstr(component, "type"), Some("library" | "framework") | None) {
                    unidentified += 1;
                }
                continue;
            };
            let line = index.value(purl);
            match package_of(purl, path, line) {
                Ok(Some(mut p)) => {
                    p.dev = component.get("scope").and_then(Value::as_str) == Some("excluded");
                    p.optional = component.get("scope").and_then(Value::as_str) == Some("optional");
                    out.packages.push(p);
                }
                Ok(None) => {}
                Err(e) => out.error(path, line, e),
            }
        }
        note_unidentified(&mut out, path, unidentified);
        out
    })
}

pub fn parse_spdx(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        if !jstr(doc, "spdxVersion").is_some_and(|v| v.starts_with("SPDX-2.")) {
            out.error(path, Some(1), "not an SPDX 2.x JSON document: no spdxVersion \"SPDX-2.x\"");
            return out;
        }
        for package in doc.get("packages").and_then(Value::as_array).into_iter().flatten() {
            let purl = package
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| jstr(r, "referenceType") == Some("purl"))
                .and_then(|r| jstr(r, "referenceLocator"));
            let Some(purl) = purl else { continue };
            let line = index.value(purl);
            match package_of(purl, path, line) {
                Ok(Some(p)) => out.packages.push(p),
                Ok(None) => {}
                Err(e) => out.error(path, line, e),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cyclonedx_and_spdx() {
        let cdx = parse_cyclonedx(
            "bom.json",
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
                {"name": "a", "purl": "pkg:npm/%40s/a@1.0.0", "components": [{"name": "b", "purl": "pkg:pypi/B_c@2"}]},
                {"name": "os", "type": "operating-system"}, {"name": "g", "purl": "pkg:generic/g@1"},
                {"name": "vendored", "type": "library"}]}"#,
        );
        let got: Vec<_> = cdx
            .packages
            .iter()
            .map(|p| (p.ecosystem.to_string(), p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("npm".to_string(), "@s/a", "1.0.0"), ("PyPI".to_string(), "b-c", "2")]);
        assert_eq!(cdx.errors.len(), 1);
        let spdx = parse_spdx(
            "x.spdx.json",
            br#"{"spdxVersion": "SPDX-2.3", "packages": [{"name": "z", "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:deb/debian/zlib1g@1.2.13?distro=debian-12"}]}]}"#,
        );
        assert_eq!(spdx.packages[0].ecosystem.to_string(), "Debian:12");
        assert!(parse_spdx("s", b"{}").errors.len() == 1);
    }
}
