//! The matcher over an in-memory advisory source: OS packages on their source package,
//! release scoping, binaries of security updates, withdrawn records, alias merging across
//! feeds, native npm constraints, KEV/EPSS risk order, local packages, unchecked packages.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::json;
use ward_advisory::Record;
use ward_inventory::{Location, Package, Source};
use ward_match::{scan, Advisories, Epss, Kev, Kind, Level, Options, Scan};
use ward_version::{Ecosystem, EcosystemKind};

#[derive(Default)]
struct Memory {
    records: Vec<Arc<Record>>,
    kev: BTreeMap<String, Kev>,
    epss: BTreeMap<String, f64>,
}

impl Memory {
    fn add(&mut self, record: serde_json::Value) {
        self.records.push(Arc::new(serde_json::from_value(record).expect("record")));
    }
}

impl Advisories for Memory {
    type Error = String;

    fn affecting(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, String> {
        let want = Ecosystem::parse(ecosystem).map_err(|e| e.to_string())?;
        Ok(self
            .records
            .iter()
            .filter(|r| {
                r.affected.iter().any(|a| {
                    a.package.as_ref().is_some_and(|p| {
                        p.ecosystem.base() == want.kind().name()
                            && ward_advisory::name::normalize(want.kind().name(), &p.name)
                                == ward_advisory::name::normalize(want.kind().name(), name)
                    })
                })
            })
            .cloned()
            .collect())
    }

    fn kev(&self, cve: &str) -> Result<Option<Kev>, String> {
        Ok(self.kev.get(cve).cloned())
    }

    fn epss(&self, cve: &str) -> Result<Option<Epss>, String> {
        Ok(self.epss.get(cve).map(|s| Epss { cve: cve.into(), score: *s, percentile: 0.5 }))
    }
}

fn options() -> Options {
    Options {
        today: NaiveDate::from_ymd_opt(2026, 11, 21).expect("date"),
        host: None,
        rules: Vec::new(),
    }
}

fn pkg(ecosystem: &str, name: &str, version: &str) -> Package {
    let e = Ecosystem::parse(ecosystem).expect("ecosystem");
    let mut p =
        Package::new(e.kind(), name, version, Location { path: "lock".into(), line: Some(1) });
    p.ecosystem = e;
    p
}

fn ids(scan: &Scan) -> Vec<String> {
    scan.findings()
        .map(|(p, f)| format!("{} {} {}", p.package.name, f.id, f.aliases.join(",")))
        .collect()
}

#[test]
fn os_packages_match_on_their_source_within_their_release() {
    let mut db = Memory::default();
    db.add(json!({"id": "DSA-1-1", "modified": "", "aliases": ["CVE-2024-1"],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.15-1~deb12u1"}]}]}]}));
    db.add(json!({"id": "DSA-2-1", "modified": "",
        "affected": [{"package": {"ecosystem": "Debian:11", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "9"}]}]}]}));
    let mut libssl = pkg("Debian:12", "libssl3", "3.0.14-1~deb12u2");
    libssl.source = Some(Source { name: "openssl".into(), version: "3.0.14-1~deb12u2".into() });
    // A backported fix: the same upstream version with a newer Debian revision is not affected.
    let mut fixed = libssl.clone();
    fixed.version = "3.0.15-1~deb12u1".into();
    fixed.source = Some(Source { name: "openssl".into(), version: "3.0.15-1~deb12u1".into() });
    fixed.location.path = "other".into();
    let got = scan(&[libssl, fixed], &db, &options());
    assert_eq!(ids(&got), ["libssl3 DSA-1-1 CVE-2024-1"]);
    let result = &got.results[0];
    assert_eq!(result.upgrade.as_deref(), Some("3.0.15-1~deb12u1"));
    assert_eq!(result.fix_command.as_deref(), Some("apt-get install --only-upgrade libssl3"));
    // No release known: not matched against every Debian release's advisories.
    let unknown = scan(&[pkg("Debian", "openssl", "1.0")], &db, &options());
    assert!(unknown.results.is_empty());
    assert!(unknown.unchecked[0].reason.contains("release is unknown"), "{:?}", unknown.unchecked);
}

#[test]
fn a_security_update_applies_to_the_binaries_it_built_and_inherits_the_worst_cve() {
    let mut db = Memory::default();
    db.add(json!({"id": "DEBIAN-SECURITY-UPDATE:bookworm-security:curl:7.88.1-10+deb12u8", "modified": "",
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "curl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "7.88.1-10+deb12u8"}]}],
            "database_specific": {"binaries": ["curl", "libcurl4"]}}],
        "database_specific": {"source": "apt-security-suite", "kind": "security-update"}}));
    db.add(json!({"id": "CVE-2024-2398", "modified": "",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "Debian:12", "name": "curl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "7.88.1-10+deb12u6"}]}]}]}));
    let binary = |name: &str| {
        let mut p = pkg("Debian:12", name, "7.88.1-10+deb12u5");
        p.source = Some(Source { name: "curl".into(), version: "7.88.1-10+deb12u5".into() });
        p
    };
    let got = scan(&[binary("libcurl4"), binary("libcurl3-gnutls-dropped")], &db, &options());
    let updated: Vec<_> = got
        .findings()
        .filter(|(_, f)| f.kind == Kind::SecurityUpdate)
        .map(|(r, _)| r.package.name.as_str())
        .collect();
    assert_eq!(updated, ["libcurl4"], "a binary the update did not build is not upgraded by it");
    // The CVE is about the source: every binary built from it at that version is affected.
    assert_eq!(got.findings().filter(|(_, f)| f.id == "CVE-2024-2398").count(), 2);
    let libcurl = got.results.iter().find(|r| r.package.name == "libcurl4").expect("libcurl4");
    let update = libcurl.findings.iter().find(|f| f.kind == Kind::SecurityUpdate).expect("update");
    assert_eq!(update.fixes, ["CVE-2024-2398"]);
    assert_eq!(update.severity.level, Level::Critical);
    assert_eq!(libcurl.upgrade.as_deref(), Some("7.88.1-10+deb12u8"));
}

#[test]
fn aliases_merge_across_feeds_and_withdrawn_records_never_match() {
    let mut db = Memory::default();
    let range = json!([{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.5"}]}]);
    db.add(json!({"id": "GHSA-aaaa-bbbb-cccc", "modified": "", "aliases": ["CVE-2025-1"],
        "database_specific": {"severity": "MODERATE"},
        "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"}, "ranges": range}]}));
    db.add(json!({"id": "RUSTSEC-2025-0001", "modified": "", "aliases": ["CVE-2025-1"],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
        "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"}, "ranges": range}]}));
    db.add(json!({"id": "RUSTSEC-2025-0002", "modified": "", "withdrawn": "2025-02-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "crates.io", "name": "demo"}, "ranges": range}]}));
    let got = scan(&[pkg("crates.io", "demo", "1.2.3")], &db, &options());
    assert_eq!(ids(&got), ["demo RUSTSEC-2025-0001 CVE-2025-1,GHSA-aaaa-bbbb-cccc"]);
    let f = &got.results[0].findings[0];
    assert_eq!(f.records, ["RUSTSEC-2025-0001", "GHSA-aaaa-bbbb-cccc"]);
    assert_eq!((f.severity.level, f.severity.score), (Level::High, Some(7.5)));
    assert_eq!(
        got.results[0].fix_command.as_deref(),
        Some("cargo update -p demo@1.2.3 --precise 1.2.5")
    );
    // A path or git crate with the same name is the project's own code.
    let mut local = pkg("crates.io", "demo", "1.2.3");
    local.local = true;
    assert!(scan(&[local], &db, &options()).results.is_empty());
}

#[test]
fn native_npm_ranges_are_evaluated_exactly() {
    let mut db = Memory::default();
    db.add(json!({"id": "NSWG-ECO-1", "modified": "",
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
            "database_specific": {"source": "nodejs-security-wg",
                "vulnerable_versions": "<4.17.21 || >=5.0.0-alpha <5.0.0", "patched_versions": ">=4.17.21"}}]}));
    let hit = scan(&[pkg("npm", "lodash", "4.17.20")], &db, &options());
    assert_eq!(ids(&hit), ["lodash NSWG-ECO-1 "]);
    assert!(scan(&[pkg("npm", "lodash", "4.17.21")], &db, &options()).results.is_empty());
    // A pre-release below the fix is vulnerable (node-semver would exclude it from `<4.17.21`
    // by default; that rule answers "may npm pick it", not "is it vulnerable").
    assert_eq!(
        ids(&scan(&[pkg("npm", "lodash", "4.17.21-beta.1")], &db, &options())),
        ["lodash NSWG-ECO-1 "]
    );
    assert!(scan(&[pkg("npm", "lodash", "4.17.22-beta.1")], &db, &options()).results.is_empty());
}

#[test]
fn kev_then_severity_times_epss_orders_the_findings() {
    let mut db = Memory::default();
    let entry = |id: &str, cve: &str, vector: &str| {
        json!({"id": id, "modified": "", "aliases": [cve],
            "severity": [{"type": "CVSS_V3", "score": vector}],
            "affected": [{"package": {"ecosystem": "PyPI", "name": id.to_lowercase()},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]})
    };
    let critical = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let medium = "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H";
    db.add(entry("A", "CVE-1", critical));
    db.add(entry("B", "CVE-2", medium));
    db.add(entry("C", "CVE-3", critical));
    db.epss.insert("CVE-1".into(), 0.001);
    db.epss.insert("CVE-3".into(), 0.9);
    db.kev.insert(
        "CVE-2".into(),
        Kev {
            cve: "CVE-2".into(),
            date_added: "2024-01-01".into(),
            due_date: None,
            known_ransomware: false,
        },
    );
    let got = scan(
        &[pkg("PyPI", "a", "1"), pkg("PyPI", "b", "1"), pkg("PyPI", "c", "1")],
        &db,
        &options(),
    );
    let order: Vec<_> = got.results.iter().map(|r| r.package.name.as_str()).collect();
    // KEV first whatever its score; then 9.8 × 0.9 before 9.8 × 0.001.
    assert_eq!(order, ["b", "c", "a"]);
    assert!(got.fails(Level::Critical));
    assert!(!scan(&[pkg("PyPI", "b", "1")], &db, &options()).fails(Level::High));
}

#[test]
fn unpinned_and_unknown_versions_are_reported_not_guessed() {
    let db = Memory::default();
    let mut unpinned = pkg("PyPI", "flask", "");
    unpinned.requirement = Some(">=2".into());
    let got = scan(&[unpinned], &db, &options());
    assert_eq!(got.checked, 0);
    assert!(got.unchecked[0].reason.contains("lock it to check it"), "{:?}", got.unchecked);
    let _ = EcosystemKind::PyPi;
}
