//! Debian and Ubuntu security-suite apt metadata (`Packages` of `<codename>-security`) as
//! "security update available" facts, which is what unattended-upgrades trusts.
//!
//! Each (source package, source version) in the suite becomes one record: id
//! `DEBIAN-SECURITY-UPDATE:<suite>:<source>:<version>`, ecosystem `Debian:<release>` or
//! `Ubuntu:<release>` (from the codename), and an ECOSYSTEM range `introduced: 0, fixed:
//! <version>` on the **source** package, so an installed build older than the security suite's is
//! flagged and backported fixes are never false positives. The binaries built from it are kept in
//! `affected[0].database_specific.binaries`. The suite is read from the file name
//! (`Packages.bookworm-security.main.amd64`, apt's `..._dists_bookworm-security_main_binary-amd64_Packages`,
//! or `dists/bookworm-security/main/binary-amd64/Packages`).

use std::collections::BTreeMap;

use serde_json::json;
use ward_version::{Ecosystem, EcosystemKind, Scheme, Version};

use super::{text, ImportError, Parsed};
use crate::model::{Affected, EcosystemName, Package, Range, RangeEvent, Record};

/// Codename → (distribution, release), for the suites ward maps to an OSV ecosystem release.
const CODENAMES: &[(&str, EcosystemKind, &str)] = &[
    ("buster", EcosystemKind::Debian, "10"),
    ("bullseye", EcosystemKind::Debian, "11"),
    ("bookworm", EcosystemKind::Debian, "12"),
    ("trixie", EcosystemKind::Debian, "13"),
    ("forky", EcosystemKind::Debian, "14"),
    ("bionic", EcosystemKind::Ubuntu, "18.04"),
    ("focal", EcosystemKind::Ubuntu, "20.04"),
    ("jammy", EcosystemKind::Ubuntu, "22.04"),
    ("noble", EcosystemKind::Ubuntu, "24.04"),
    ("plucky", EcosystemKind::Ubuntu, "25.04"),
    ("questing", EcosystemKind::Ubuntu, "25.10"),
];

/// The OSV ecosystem of a Debian or Ubuntu codename (`bookworm` → `Debian:12`).
pub fn release_of(codename: &str) -> Option<Ecosystem> {
    CODENAMES
        .iter()
        .find(|(c, _, _)| *c == codename)
        .map(|(_, kind, release)| Ecosystem::with_release(*kind, release))
}

/// Whether a file looks like an apt `Packages` index.
pub fn looks_like_packages(path: &str, head: &str) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    (name.starts_with("Packages") || name.ends_with("_Packages")) && head.starts_with("Package: ")
}

/// The security suite a file name names (`bookworm-security`), if any.
pub fn suite_of(path: &str) -> Option<String> {
    // The last such part: apt's list names start with the repository (`debian-security`).
    path.split(['/', '\\', '.', '_'])
        .rfind(|part| {
            part.ends_with("-security")
                && part.len() > "-security".len()
                && !matches!(*part, "debian-security" | "ubuntu-security")
        })
        .map(str::to_string)
}

/// Parses one `Packages` file of a security suite.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = match text(path, bytes) {
        Ok(t) => t,
        Err(p) => return p,
    };
    let Some(suite) = suite_of(path) else {
        return Parsed::error(
            path,
            "(file name)",
            "cannot tell the suite: only security suites are read, name the file like Packages.<codename>-security.main.amd64",
        );
    };
    let codename = suite.trim_end_matches("-security");
    let ecosystem = release_of(codename).unwrap_or_else(|| Ecosystem::new(EcosystemKind::Debian));
    let mut errors = Vec::new();
    // (source, version) → binaries
    let mut updates: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut line_number = 0usize;
    for stanza in text.split("\n\n") {
        let start = line_number + 1;
        line_number += stanza.lines().count() + 1;
        if stanza.trim().is_empty() {
            continue;
        }
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')).map(str::trim))
        };
        let (Some(package), Some(version)) = (field("Package"), field("Version")) else {
            errors.push(ImportError::new(
                path,
                &format!("line {start}"),
                "a stanza without Package or Version",
            ));
            continue;
        };
        let (source, source_version) = match field("Source") {
            Some(s) => match s.split_once(' ') {
                Some((name, v)) => (name, v.trim().trim_start_matches('(').trim_end_matches(')')),
                None => (s, version),
            },
            None => (package, version),
        };
        if let Err(e) = Version::parse(Scheme::Dpkg, source_version) {
            errors.push(ImportError::new(path, &format!("line {start}: Version"), e.to_string()));
            continue;
        }
        updates
            .entry((source.to_string(), source_version.to_string()))
            .or_default()
            .push(package.to_string());
    }
    let records = updates
        .into_iter()
        .map(|((source, version), mut binaries)| {
            binaries.sort();
            binaries.dedup();
            Record {
                schema_version: Some("1.7.0".into()),
                id: format!("DEBIAN-SECURITY-UPDATE:{suite}:{source}:{version}"),
                modified: "1970-01-01T00:00:00Z".into(),
                published: None,
                withdrawn: None,
                aliases: Vec::new(),
                related: Vec::new(),
                upstream: Vec::new(),
                summary: Some(format!("{source} {version}: security update in {suite}")),
                details: None,
                severity: Vec::new(),
                affected: vec![Affected {
                    package: Some(Package {
                        ecosystem: EcosystemName::from_ecosystem(ecosystem.clone()),
                        purl: None,
                        name: source,
                    }),
                    severity: Vec::new(),
                    ranges: vec![Range {
                        kind: "ECOSYSTEM".into(),
                        repo: None,
                        events: vec![RangeEvent::Introduced("0".into()), RangeEvent::Fixed(version)],
                        database_specific: None,
                    }],
                    versions: Vec::new(),
                    ecosystem_specific: None,
                    database_specific: Some(json!({"binaries": binaries})),
                }],
                references: Vec::new(),
                credits: Vec::new(),
                database_specific: Some(json!({"source": "apt-security-suite", "kind": "security-update", "suite": suite})),
            }
        })
        .collect();
    Parsed::records(records, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_binaries_by_source_version() {
        let text = "Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\nPackage: openssl\nVersion: 3.0.15-1~deb12u1\n\nPackage: libx\nSource: x (1.0-1+deb12u1)\nVersion: 1.0-1+deb12u1+b1\n\nPackage: broken\n";
        let parsed = parse("Packages.bookworm-security.main.amd64", text.as_bytes());
        let ids: Vec<&str> = parsed.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "DEBIAN-SECURITY-UPDATE:bookworm-security:openssl:3.0.15-1~deb12u1",
                "DEBIAN-SECURITY-UPDATE:bookworm-security:x:1.0-1+deb12u1"
            ]
        );
        let a = &parsed.records[0].affected[0];
        assert_eq!(a.package.as_ref().unwrap().ecosystem.as_str(), "Debian:12");
        assert_eq!(
            a.database_specific.as_ref().unwrap()["binaries"],
            json!(["libssl3", "openssl"])
        );
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].field, "line 12");
    }

    #[test]
    fn suites_from_file_names() {
        assert_eq!(
            suite_of(
                "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages"
            )
            .as_deref(),
            Some("bookworm-security")
        );
        assert_eq!(
            suite_of("/x/dists/jammy-security/main/binary-amd64/Packages").as_deref(),
            Some("jammy-security")
        );
        assert_eq!(suite_of("Packages.bookworm-updates.main.amd64"), None);
        let parsed = parse("Packages.bookworm-updates.main.amd64", b"Package: a\nVersion: 1\n");
        assert_eq!(parsed.errors[0].field, "(file name)");
    }
}
