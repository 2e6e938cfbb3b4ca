//! dpkg's `status` database (`/var/lib/dpkg/status`): installed packages only, with binary name,
//! version, architecture and the source package (and its version, when it differs).

use ward_version::EcosystemKind;

use super::stanza::{self, DPKG};
use crate::{lines, Package, Parsed, Source};

/// Parses a dpkg status file. A package counts as installed when its `Status` field's state is
/// `installed` (`install ok installed`, also `hold ok installed`); half-installed,
/// config-files and not-installed entries are skipped.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    for para in stanza::paragraphs(&text, DPKG) {
        if para.fields.is_empty() {
            continue;
        }
        // Entries without Status are installed: dpkg's own database always writes one, and
        // the per-package files of distroless images (`status.d/`) never do.
        let status = para.value("Status").unwrap_or("install ok installed");
        if status.split_whitespace().nth(2) != Some("installed") {
            continue;
        }
        let version = para.value("Version").unwrap_or("");
        let source = para.value("Source").filter(|s| !s.is_empty());
        let (name, line) = match para.get("Package").filter(|f| !f.value.is_empty()) {
            Some(f) => (f.value, f.line),
            None => {
                // Still installed software: report it under its source package's name.
                let Some(source) = source else {
                    out.error(
                        path,
                        Some(para.line),
                        "installed entry without Package or Source field; skipped",
                    );
                    continue;
                };
                let name = source.split('(').next().unwrap_or(source).trim();
                out.error(path, Some(para.line), format!("installed entry without a Package field; reported under its source name {name}"));
                (name, para.line)
            }
        };
        if version.is_empty() {
            out.error(path, Some(line), format!("package {name} has no Version field"));
        }
        let mut p = Package::new(EcosystemKind::Debian, name, version, super::at(path, Some(line)));
        p.arch = para.value("Architecture").filter(|a| !a.is_empty()).map(str::to_string);
        if let Some(source) = source {
            // `Source: name` or `Source: name (version)` when the source version differs.
            let (sname, sversion) = match source.split_once('(') {
                Some((n, v)) => (n.trim(), v.trim().trim_end_matches(')').trim()),
                None => (source.trim(), version),
            };
            p.source = Some(Source { name: sname.to_string(), version: sversion.to_string() });
        }
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expected<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>);

    fn check(input: &str, expect: &[Expected<'_>], errors: usize) {
        let got = parse("status", input.as_bytes());
        let packages: Vec<_> = got
            .packages
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.version.as_str(),
                    p.source.as_ref().map(|s| (s.name.as_str(), s.version.as_str())),
                )
            })
            .collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_installed_packages_with_sources() {
        check(
            "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1\n\n\
             Package: dmeventd\nStatus: install ok installed\nSource: lvm2 (2.02.176-4.1ubuntu3)\nVersion: 2:1.02.145-4.1ubuntu3\n\n\
             Package: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n\
             Package: held\nStatus: hold ok installed\nVersion: 2\n",
            &[
                ("libssl3", "3.0.11-1", Some(("openssl", "3.0.11-1"))),
                ("dmeventd", "2:1.02.145-4.1ubuntu3", Some(("lvm2", "2.02.176-4.1ubuntu3"))),
                ("held", "2", None),
            ],
            0,
        );
    }

    #[test]
    fn malformed_entries_are_errors_not_panics() {
        check("Status: install ok installed\nVersion: 1\n\nStatus: install ok installed\nSource: u (2)\nVersion: 1:2\n\nPackage: bash\nStatus: install ok installed\n", &[("u", "1:2", Some(("u", "2"))), ("bash", "", None)], 3);
        check("not a status file at all", &[], 0);
        check("", &[], 0);
    }
}
