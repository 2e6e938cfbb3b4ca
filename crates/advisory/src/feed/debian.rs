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
//! or `dists/bookworm-security/main/binary-amd64/Packages`; Debian 10's `buster/updates` reads as
//! `buster-security`), plain or compressed as apt and the mirrors keep it (`Packages.xz`,
//! `..._Packages.lz4`).

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use ward_version::{Ecosystem, EcosystemKind, Scheme, Version};

use super::compression::{self, Compression};
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

/// Whether a file looks like an apt `Packages` index: named like one (a compression extension
/// aside) and starting with a stanza, or with the magic bytes of a compression ward reads.
pub fn looks_like_packages(path: &str, head: &[u8]) -> bool {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let (name, _) = compression::split_name(name);
    (name.starts_with("Packages") || name.ends_with("_Packages"))
        && (head.starts_with(b"Package: ") || Compression::of_bytes(head).is_some())
}

/// The security suite a file name names (`bookworm-security`), if any. Debian 10 and older
/// published it as `<codename>/updates` (`dists/buster/updates/main/...`); that is read as
/// `buster-security`.
pub fn suite_of(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split(['/', '\\', '.', '_']).collect();
    // The last such part: apt's list names start with the repository (`debian-security`).
    let suite = parts.iter().rfind(|part| {
        part.ends_with("-security")
            && part.len() > "-security".len()
            && !matches!(**part, "debian-security" | "ubuntu-security")
    });
    if let Some(suite) = suite {
        return Some(suite.to_string());
    }
    parts
        .windows(2)
        .rfind(|pair| {
            pair[1] == "updates"
                && CODENAMES
                    .iter()
                    .any(|(c, kind, _)| *c == pair[0] && *kind == EcosystemKind::Debian)
        })
        .map(|pair| format!("{}-security", pair[0]))
}

/// Parses one `Packages` file of a security suite, plain or compressed (gzip, xz, lz4 frame,
/// zstd: see [`compression`]).
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let bytes = match compression::decompress(path, bytes) {
        Ok(b) => b,
        Err(e) => return Parsed { errors: vec![e], ..Parsed::default() },
    };
    let text = match text(path, &bytes) {
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

/// Merges the records of several `Packages` files of the same suites (one per architecture,
/// `binary-all`, a list read twice): one record per id, its `binaries` the union of all.
pub fn merge(records: Vec<Record>) -> Vec<Record> {
    let mut by_id: BTreeMap<String, Record> = BTreeMap::new();
    for record in records {
        match by_id.entry(record.id.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(record);
            }
            Entry::Occupied(mut slot) => {
                let mut binaries = binaries_of(slot.get());
                binaries.extend(binaries_of(&record));
                if let Some(affected) = slot.get_mut().affected.first_mut() {
                    affected.database_specific = Some(json!({ "binaries": binaries }));
                }
            }
        }
    }
    by_id.into_values().collect()
}

/// The binary package names a record of this module lists.
fn binaries_of(record: &Record) -> BTreeSet<String> {
    record
        .affected
        .first()
        .and_then(|a| a.database_specific.as_ref())
        .and_then(|d| d.get("binaries"))
        .and_then(|b| b.as_array())
        .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
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
    fn merging_lists_of_one_suite_unions_the_binaries() {
        let amd64 = "Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\nPackage: a\nVersion: 1\n";
        let i386 = "Package: libssl3\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n\nPackage: openssl\nVersion: 3.0.15-1~deb12u1\n";
        let mut records =
            parse("x_dists_bookworm-security_main_binary-amd64_Packages", amd64.as_bytes()).records;
        records.extend(
            parse("x_dists_bookworm-security_main_binary-i386_Packages", i386.as_bytes()).records,
        );
        let merged = merge(records);
        let ids: Vec<&str> = merged.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "DEBIAN-SECURITY-UPDATE:bookworm-security:a:1",
                "DEBIAN-SECURITY-UPDATE:bookworm-security:openssl:3.0.15-1~deb12u1"
            ]
        );
        assert_eq!(
            merged[1].affected[0].database_specific.as_ref().unwrap()["binaries"],
            json!(["libssl3", "openssl"])
        );
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
        assert_eq!(
            suite_of("security.debian.org_debian-security_dists_buster_updates_main_binary-amd64_Packages.xz")
                .as_deref(),
            Some("buster-security")
        );
        assert_eq!(
            suite_of("/m/debian-security/dists/buster/updates/main/binary-amd64/Packages.gz")
                .as_deref(),
            Some("buster-security")
        );
        assert_eq!(suite_of("Packages.bookworm-updates.main.amd64"), None);
        assert_eq!(suite_of("x_dists_buster-updates_main_binary-amd64_Packages"), None);
        assert_eq!(suite_of("x_dists_jammy_updates_main_binary-amd64_Packages"), None);
        let parsed = parse("Packages.bookworm-updates.main.amd64", b"Package: a\nVersion: 1\n");
        assert_eq!(parsed.errors[0].field, "(file name)");
    }
}
