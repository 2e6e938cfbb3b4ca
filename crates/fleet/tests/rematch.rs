//! Re-matching stored inventories: real lockfiles and a dpkg database recorded into a store
//! (SQLite on a temporary file, and PostgreSQL in a fresh schema), advisories from a `Vec` of
//! OSV records. Every test runs on both backends; PostgreSQL is `WARD_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/test`), and it being unreachable is a failure.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ward_advisory::model::Record;
use ward_fleet::{keys_of, rematch_all, rematch_packages, sync_advisories, RematchReport};
use ward_inventory::Format;
use ward_match::{Advisories, Epss, Kev};
use ward_store::{
    Event, EventKind, FindingFilter, FindingPage, HostId, HostInfo, OpenFinding, PackageRow, Store,
};
use ward_testdata::postgres::FreshSchema;
use ward_version::Ecosystem;

// ---- test databases (the ward-store suite's pattern) --------------------------------------

enum TestDb {
    Sqlite { _dir: tempfile::TempDir, store: Box<dyn Store> },
    // The store is dropped (its connection closed) before the schema.
    Postgres { store: Box<dyn Store>, _schema: FreshSchema },
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let store = ward_store::open(&format!("sqlite://{}", dir.path().join("ward.db").display()))
            .unwrap();
        TestDb::Sqlite { _dir: dir, store }
    }

    fn postgres() -> TestDb {
        let schema = ward_testdata::postgres::fresh_schema("ward_f");
        let store = ward_store::open(schema.url()).unwrap();
        TestDb::Postgres { store, _schema: schema }
    }

    fn store(&self) -> &dyn Store {
        match self {
            TestDb::Sqlite { store, .. } | TestDb::Postgres { store, .. } => store.as_ref(),
        }
    }
}

macro_rules! both {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $test() { super::$test(&super::TestDb::sqlite, &super::TestDb::sqlite); })*
        }
        mod postgres {
            $(#[test] fn $test() {
                super::$test(&super::TestDb::postgres, &super::TestDb::postgres);
            })*
        }
    };
}

both! {
    new_advisory_opens_one_finding_then_the_fix_resolves_it,
    os_advisory_finds_hosts_by_source_package,
    rematch_all_gives_the_same_state_as_every_key,
    failing_advisory_source_leaves_findings_open,
    finding_outside_the_changed_keys_is_untouched,
    failing_lookup_leaves_a_keyed_hosts_findings_open,
    sync_advisories_rematches_what_changed,
}

// ---- advisories in memory ------------------------------------------------------------------

#[derive(Default)]
struct Memory {
    records: Vec<Arc<Record>>,
    /// A package name whose lookup fails (a broken index).
    failing: Option<String>,
}

impl Memory {
    /// Adds the records, replacing any with the same id (an updated advisory).
    fn update(&mut self, records: &[Record]) {
        for record in records {
            self.records.retain(|r| r.id != record.id);
            self.records.push(Arc::new(record.clone()));
        }
    }

    /// Removes the record with this id (gone from the index).
    fn remove(&mut self, id: &str) {
        self.records.retain(|r| r.id != id);
    }

    /// Every record, as `Index::all_records` gives them.
    fn all(&self) -> Vec<Record> {
        self.records.iter().map(|r| (**r).clone()).collect()
    }
}

impl Advisories for Memory {
    type Error = String;

    fn affecting(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, String> {
        if self.failing.as_deref() == Some(name) {
            return Err(format!("index unreadable for {name}"));
        }
        let want = Ecosystem::parse(ecosystem).map_err(|e| e.to_string())?;
        let base = want.kind().name();
        Ok(self
            .records
            .iter()
            .filter(|r| {
                r.affected.iter().any(|a| {
                    a.package.as_ref().is_some_and(|p| {
                        p.ecosystem.base() == base
                            && ward_advisory::name::normalize(base, &p.name)
                                == ward_advisory::name::normalize(base, name)
                    })
                })
            })
            .cloned()
            .collect())
    }

    fn kev(&self, _cve: &str) -> Result<Option<Kev>, String> {
        Ok(None)
    }

    fn epss(&self, _cve: &str) -> Result<Option<Epss>, String> {
        Ok(None)
    }
}

/// An OSV record with one affected package and one ECOSYSTEM range.
fn osv(id: &str, ecosystem: &str, name: &str, fixed: &str, withdrawn: bool) -> Record {
    let mut json = serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-01-01T00:00:00Z",
        "aliases": [format!("CVE-{}", id.len())],
        "affected": [{
            "package": { "ecosystem": ecosystem, "name": name },
            "ranges": [{
                "type": "ECOSYSTEM",
                "events": [{ "introduced": "0" }, { "fixed": fixed }]
            }]
        }],
        "severity": [{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }]
    });
    if withdrawn {
        json["withdrawn"] = serde_json::json!("2026-01-05T00:00:00Z");
    }
    serde_json::from_value(json).unwrap()
}

// ---- inventories from real files ----------------------------------------------------------

/// The packages of a real input as an agent would report them: registry packages only, OS
/// packages with the host's release.
fn inventory(format: Format, relative: &str, release: Option<&str>) -> Vec<PackageRow> {
    let path = ward_testdata::dir("lockfiles").join(relative);
    let bytes = std::fs::read(&path).unwrap();
    let parsed = ward_inventory::parse(format, &path.display().to_string(), &bytes);
    assert_eq!(parsed.errors, [], "{relative}");
    let mut rows: BTreeMap<(String, String), PackageRow> = BTreeMap::new();
    for package in parsed.packages.into_iter().filter(|p| !p.local) {
        let ecosystem = match release {
            Some(release) => Ecosystem::with_release(package.ecosystem.kind(), release),
            None => package.ecosystem.clone(),
        };
        // The source's version only when it differs (a binNMU), as the agent reports it.
        let source_version = package
            .source
            .as_ref()
            .map(|s| s.version.clone())
            .filter(|version| *version != package.version);
        let row = PackageRow {
            ecosystem: ecosystem.to_string(),
            name: package.name,
            version: package.version,
            source: package.source.map(|s| s.name),
            source_version,
        };
        rows.insert((row.ecosystem.clone(), row.name.clone()), row);
    }
    assert!(!rows.is_empty(), "{relative}");
    rows.into_values().collect()
}

const CARGO_A: &str = "cargo-audit-support/base64_vuln/Cargo.lock";
const CARGO_B: &str = "cargo-audit-support/unaffected-newer/Cargo.lock";
const DPKG_A: &str = "osv-scanner-v1/pkg/lockfile/fixtures/dpkg/multiple_status";

/// Host A: a Cargo.lock with base64 0.5.1 and a Debian 11 dpkg database; host B: another
/// Cargo.lock without base64. Both recorded at day 1.
fn two_hosts(store: &dyn Store) -> (HostId, HostId) {
    let a = store.upsert_host(&host("a.example"), t(1)).unwrap();
    let b = store.upsert_host(&host("b.example"), t(1)).unwrap();
    let mut packages_a = inventory(Format::CargoLock, CARGO_A, None);
    packages_a.extend(inventory(Format::DpkgStatus, DPKG_A, Some("11")));
    store.record_inventory(a, t(1), &packages_a, "a-1").unwrap();
    store.record_inventory(b, t(1), &inventory(Format::CargoLock, CARGO_B, None), "b-1").unwrap();
    (a, b)
}

fn host(name: &str) -> HostInfo {
    HostInfo { name: name.into(), os: Some("Debian:11".into()), groups: vec![], tags: vec![] }
}

fn t(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 10).unwrap()
}

fn events_after(store: &dyn Store, after: Option<i64>) -> Vec<Event> {
    store.events(after, 1000).unwrap()
}

fn open(store: &dyn Store) -> Vec<OpenFinding> {
    store.open_findings(&FindingFilter::default(), FindingPage::first(1000)).unwrap()
}

fn report(hosts: usize, new: usize, resolved: usize, packages: usize) -> RematchReport {
    RematchReport { hosts, packages, new, resolved, errors: vec![] }
}

// ---- tests ---------------------------------------------------------------------------------

fn new_advisory_opens_one_finding_then_the_fix_resolves_it(
    make: &dyn Fn() -> TestDb,
    _: &dyn Fn() -> TestDb,
) {
    let db = make();
    let store = db.store();
    let (a, b) = two_hosts(store);
    let mut advisories = Memory::default();

    // Nothing known yet: a full re-match finds nothing and writes no event.
    let all = rematch_all(store, &advisories, today(), t(2)).unwrap();
    assert_eq!((all.hosts, all.new, all.resolved, all.errors.len()), (2, 0, 0, 0));
    assert_eq!(events_after(store, None), []);

    // A new advisory for base64, which only host A has.
    let new = [osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", false)];
    advisories.update(&new);
    assert_eq!(keys_of(&new), [("crates.io".to_owned(), "base64".to_owned())]);
    let got = rematch_packages(store, &advisories, &keys_of(&new), today(), t(3)).unwrap();
    // Only base64 is matched: one package.
    assert_eq!(got, report(1, 1, 0, 1));
    let events = events_after(store, None);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(
        (event.kind, event.host, event.advisory.as_str(), event.ecosystem.as_str()),
        (EventKind::FindingNew, a, "RUSTSEC-2017-0004", "crates.io")
    );
    assert_eq!(
        (event.package.as_str(), event.version.as_str(), event.at),
        ("base64", "0.5.1", t(3))
    );
    let findings = open(store);
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].row.aliases, ["CVE-17"]);
    assert_eq!(findings[0].row.severity.as_deref(), Some("critical"));
    assert_eq!(findings[0].row.score, Some(9.8));

    // Matching again changes nothing.
    let again = rematch_packages(store, &advisories, &keys_of(&new), today(), t(4)).unwrap();
    assert_eq!(again, report(1, 0, 0, 1));
    assert_eq!(events_after(store, Some(event.id)), []);

    // The advisory is corrected: fixed in 0.5.0, so 0.5.1 is not affected.
    let fixed = [osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.0", false)];
    advisories.update(&fixed);
    let got = rematch_packages(store, &advisories, &keys_of(&fixed), today(), t(5)).unwrap();
    assert_eq!(got, report(1, 0, 1, 1));
    let later = events_after(store, Some(event.id));
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(
        (later[0].kind, later[0].host, later[0].advisory.as_str(), later[0].version.as_str()),
        (EventKind::FindingResolved, a, "RUSTSEC-2017-0004", "0.5.1")
    );
    assert_eq!(open(store), []);
    // Host B was never touched.
    assert!(events_after(store, None).iter().all(|e| e.host != b));
}

fn os_advisory_finds_hosts_by_source_package(make: &dyn Fn() -> TestDb, _: &dyn Fn() -> TestDb) {
    let db = make();
    let store = db.store();
    let (a, b) = two_hosts(store);
    // libc6 2.31-13+deb11u5 is built from glibc; Debian's advisories name the source.
    assert!(store.hosts_with_package("Debian:11", "glibc").unwrap().is_empty());
    let dsa = [osv("DSA-5514-1", "Debian:11", "glibc", "2.31-13+deb11u6", false)];
    let mut advisories = Memory::default();
    advisories.update(&dsa);
    assert_eq!(keys_of(&dsa), [("Debian:11".to_owned(), "glibc".to_owned())]);
    let got = rematch_packages(store, &advisories, &keys_of(&dsa), today(), t(3)).unwrap();
    assert_eq!((got.hosts, got.new, got.resolved), (1, 1, 0), "{got:?}");
    assert_eq!(got.errors, Vec::<String>::new());
    let events = events_after(store, None);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        (events[0].kind, events[0].host, events[0].advisory.as_str()),
        (EventKind::FindingNew, a, "DSA-5514-1")
    );
    assert_eq!(
        (events[0].ecosystem.as_str(), events[0].package.as_str(), events[0].version.as_str()),
        ("Debian:11", "libc6", "2.31-13+deb11u5")
    );
    // Another release's advisory for the same source concerns nobody.
    let other = [osv("DSA-9999-1", "Debian:12", "glibc", "2.36-9+deb12u4", false)];
    advisories.update(&other);
    let got = rematch_packages(store, &advisories, &keys_of(&other), today(), t(4)).unwrap();
    assert_eq!(got.hosts, 0);
    // Withdrawn: the finding is resolved.
    let withdrawn = [osv("DSA-5514-1", "Debian:11", "glibc", "2.31-13+deb11u6", true)];
    advisories.update(&withdrawn);
    let got = rematch_packages(store, &advisories, &keys_of(&withdrawn), today(), t(5)).unwrap();
    assert_eq!((got.hosts, got.new, got.resolved), (1, 0, 1), "{got:?}");
    let kinds: Vec<(EventKind, HostId)> =
        events_after(store, None).iter().map(|e| (e.kind, e.host)).collect();
    assert_eq!(kinds, [(EventKind::FindingNew, a), (EventKind::FindingResolved, a)]);
    assert!(kinds.iter().all(|(_, host)| *host != b));
}

fn rematch_all_gives_the_same_state_as_every_key(
    make: &dyn Fn() -> TestDb,
    make_other: &dyn Fn() -> TestDb,
) {
    let records = [
        osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", false),
        osv("DSA-5514-1", "Debian:11", "glibc", "2.31-13+deb11u6", false),
        // Affects host B's bytes 1.12.0; host A has no bytes.
        osv("RUSTSEC-2099-0001", "crates.io", "bytes", "1.13.0", false),
        osv("RUSTSEC-2099-0002", "crates.io", "no-such-crate", "1.0.0", false),
    ];
    let mut advisories = Memory::default();
    advisories.update(&records);
    let by_keys = make();
    two_hosts(by_keys.store());
    let got =
        rematch_packages(by_keys.store(), &advisories, &keys_of(&records), today(), t(3)).unwrap();
    assert_eq!((got.hosts, got.new, got.resolved), (2, 3, 0), "{got:?}");
    let by_all = make_other();
    two_hosts(by_all.store());
    let all = rematch_all(by_all.store(), &advisories, today(), t(3)).unwrap();
    // The same hosts and findings; rematch_all matches every package, the keyed one only
    // base64, libc6 (by its source glibc) and bytes.
    assert_eq!((all.hosts, all.new, all.resolved, &all.errors), (2, 3, 0, &got.errors));
    assert_eq!(got.packages, 3);
    let state = |store: &dyn Store| -> Vec<(String, ward_store::FindingRow, DateTime<Utc>)> {
        open(store)
            .into_iter()
            .map(|f| (store.host(f.host).unwrap().unwrap().info.name, f.row, f.first_seen))
            .collect()
    };
    let expect = state(by_keys.store());
    assert_eq!(expect.len(), 3);
    assert_eq!(state(by_all.store()), expect);
    // And on the same store, a full re-match after the keyed one changes nothing.
    let again = rematch_all(by_keys.store(), &advisories, today(), t(4)).unwrap();
    assert_eq!((again.new, again.resolved), (0, 0));
    assert_eq!(state(by_keys.store()), expect);
}

fn failing_advisory_source_leaves_findings_open(make: &dyn Fn() -> TestDb, _: &dyn Fn() -> TestDb) {
    let db = make();
    let store = db.store();
    let (a, b) = two_hosts(store);
    let record = [osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", false)];
    let mut advisories = Memory::default();
    advisories.update(&record);
    rematch_all(store, &advisories, today(), t(2)).unwrap();
    assert_eq!(open(store).len(), 1);
    // The advisory is withdrawn, but host A's lookup of base64 fails: an incomplete result
    // must not resolve anything. Host B's re-match is unaffected.
    advisories.update(&[osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", true)]);
    advisories.failing = Some("base64".into());
    let got = rematch_all(store, &advisories, today(), t(3)).unwrap();
    assert_eq!((got.hosts, got.new, got.resolved), (2, 0, 0), "{got:?}");
    assert_eq!(got.errors.len(), 1, "{got:?}");
    assert!(got.errors[0].starts_with(&format!("host {a}: crates.io/base64 0.5.1")), "{got:?}");
    assert!(got.errors[0].contains("index unreadable for base64"), "{got:?}");
    assert_eq!(open(store).len(), 1, "still open");
    // Once the index answers again, the withdrawal resolves it.
    advisories.failing = None;
    let got = rematch_all(store, &advisories, today(), t(4)).unwrap();
    assert_eq!((got.new, got.resolved, got.errors.len()), (0, 1, 0), "{got:?}");
    assert_eq!(open(store), []);
    assert!(events_after(store, None).iter().all(|e| e.host != b));
}

/// A keyed re-match matches only the packages the keys name: a finding of another package
/// stays as it was, even if the advisories no longer say so (only a re-match of its key, or a
/// full one, would change it).
fn finding_outside_the_changed_keys_is_untouched(
    make: &dyn Fn() -> TestDb,
    _: &dyn Fn() -> TestDb,
) {
    let db = make();
    let store = db.store();
    let (a, _) = two_hosts(store);
    let base64 = [osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", false)];
    let dsa = [osv("DSA-5514-1", "Debian:11", "glibc", "2.31-13+deb11u6", false)];
    let mut advisories = Memory::default();
    advisories.update(&base64);
    advisories.update(&dsa);
    let all = rematch_all(store, &advisories, today(), t(2)).unwrap();
    assert_eq!((all.new, all.resolved), (2, 0), "{all:?}");
    let before = open(store);
    let last_event = events_after(store, None).last().map(|e| e.id);
    // The DSA disappears from the advisories, but only base64's key is re-matched.
    advisories.remove("DSA-5514-1");
    let got = rematch_packages(store, &advisories, &keys_of(&base64), today(), t(3)).unwrap();
    assert_eq!(got, report(1, 0, 0, 1));
    assert_eq!(open(store), before);
    assert_eq!(events_after(store, last_event), []);
    // Re-matching glibc's key resolves it.
    let got = rematch_packages(store, &advisories, &keys_of(&dsa), today(), t(4)).unwrap();
    assert_eq!((got.hosts, got.packages, got.new, got.resolved), (1, 1, 0, 1), "{got:?}");
    let left: Vec<(HostId, String)> =
        open(store).into_iter().map(|f| (f.host, f.row.advisory)).collect();
    assert_eq!(left, [(a, "RUSTSEC-2017-0004".to_owned())]);
}

/// The incomplete-result invariant holds for keyed re-matches too: a host whose lookup failed
/// is left out and named; the other hosts' results are applied.
fn failing_lookup_leaves_a_keyed_hosts_findings_open(
    make: &dyn Fn() -> TestDb,
    _: &dyn Fn() -> TestDb,
) {
    let db = make();
    let store = db.store();
    let (a, b) = two_hosts(store);
    let records = [
        osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", false),
        osv("RUSTSEC-2099-0001", "crates.io", "bytes", "1.13.0", false),
    ];
    let mut advisories = Memory::default();
    advisories.update(&records);
    rematch_all(store, &advisories, today(), t(2)).unwrap();
    assert_eq!(open(store).len(), 2);
    // Both withdrawn; host A's base64 lookup fails, host B's bytes lookup works.
    advisories.update(&[
        osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", true),
        osv("RUSTSEC-2099-0001", "crates.io", "bytes", "1.13.0", true),
    ]);
    advisories.failing = Some("base64".into());
    let got = rematch_packages(store, &advisories, &keys_of(&records), today(), t(3)).unwrap();
    assert_eq!((got.hosts, got.new, got.resolved), (2, 0, 1), "{got:?}");
    assert_eq!(got.errors.len(), 1, "{got:?}");
    assert!(got.errors[0].starts_with(&format!("host {a}: crates.io/base64 0.5.1")), "{got:?}");
    let left: Vec<HostId> = open(store).into_iter().map(|f| f.host).collect();
    assert_eq!(left, [a]);
    assert!(events_after(store, None).iter().any(|e| e.host == b));
}

fn sync_advisories_rematches_what_changed(make: &dyn Fn() -> TestDb, _: &dyn Fn() -> TestDb) {
    let db = make();
    let store = db.store();
    let (a, b) = two_hosts(store);
    let mut advisories = Memory::default();
    advisories.update(&[
        osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.2", false),
        osv("DSA-5514-1", "Debian:11", "glibc", "2.31-13+deb11u6", false),
        osv("RUSTSEC-2099-0002", "crates.io", "no-such-crate", "1.0.0", false),
    ]);
    // First sync: every host is re-matched.
    let first = sync_advisories(store, &advisories.all(), &advisories, today(), t(2)).unwrap();
    assert_eq!((first.records, first.added, first.changed, first.removed), (3, 3, 0, 0));
    assert_eq!((first.rematch.hosts, first.rematch.new, first.rematch.resolved), (2, 2, 0));
    let total = store.current_packages(a).unwrap().len() + store.current_packages(b).unwrap().len();
    assert_eq!(first.rematch.packages, total, "rematch_all matches every package");
    let prints = store.advisory_fingerprints().unwrap();
    let ids: Vec<&str> = prints.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["DSA-5514-1", "RUSTSEC-2017-0004", "RUSTSEC-2099-0002"]);
    assert_eq!(prints[0].keys, [("Debian:11".to_owned(), "glibc".to_owned())]);
    assert_eq!(prints[0].fingerprint.len(), 64);

    // Nothing changed: no re-match, nothing written.
    let same = sync_advisories(store, &advisories.all(), &advisories, today(), t(3)).unwrap();
    assert_eq!((same.records, same.added, same.changed, same.removed), (3, 0, 0, 0));
    assert_eq!(same.rematch, RematchReport::default());
    assert_eq!(store.advisory_fingerprints().unwrap(), prints);

    // One new advisory, for bytes (host B only): exactly that key is re-matched.
    advisories.update(&[osv("RUSTSEC-2099-0001", "crates.io", "bytes", "1.13.0", false)]);
    let added = sync_advisories(store, &advisories.all(), &advisories, today(), t(4)).unwrap();
    assert_eq!((added.records, added.added, added.changed, added.removed), (4, 1, 0, 0));
    assert_eq!(added.rematch, report(1, 1, 0, 1));
    let new_event = events_after(store, None).pop().unwrap();
    assert_eq!((new_event.host, new_event.package.as_str()), (b, "bytes"));

    // A removed advisory: its stored keys are re-matched and its finding resolved.
    advisories.remove("DSA-5514-1");
    let removed = sync_advisories(store, &advisories.all(), &advisories, today(), t(5)).unwrap();
    assert_eq!((removed.records, removed.added, removed.changed, removed.removed), (3, 0, 0, 1));
    assert_eq!(removed.rematch, report(1, 0, 1, 1));
    assert!(open(store).iter().all(|f| f.row.advisory != "DSA-5514-1"));
    assert_eq!(store.advisory_fingerprints().unwrap().len(), 3);

    // A changed advisory (base64 fixed earlier: 0.5.1 no longer affected).
    advisories.update(&[osv("RUSTSEC-2017-0004", "crates.io", "base64", "0.5.0", false)]);
    let changed = sync_advisories(store, &advisories.all(), &advisories, today(), t(6)).unwrap();
    assert_eq!((changed.records, changed.added, changed.changed, changed.removed), (3, 0, 1, 0));
    assert_eq!(changed.rematch, report(1, 0, 1, 1));
    let left: Vec<(HostId, String)> =
        open(store).into_iter().map(|f| (f.host, f.row.advisory)).collect();
    assert_eq!(left, [(b, "RUSTSEC-2099-0001".to_owned())]);
}
