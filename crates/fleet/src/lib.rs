//! Re-matching without rescans: recomputes the findings of the inventories a fleet store holds
//! when advisories change, and records them ([`Store::apply_findings_scoped`] and
//! [`Store::apply_findings`]: open findings, resolutions and the event feed) — no agent needs
//! to report again. [`sync_advisories`] tells which advisories an index update changed (by
//! fingerprint) and re-matches only the packages they name.
//!
//! Orchestration over two seams only: [`ward_store::Store`] (inventories, the package → hosts
//! reverse index, findings) and [`ward_match::Advisories`] (what affects a package). Matching
//! itself is [`ward_match::scan`]; this crate decides which hosts to re-match and turns a scan
//! into the store's [`FindingRow`]s. See ARCHITECTURE.md (`crates/fleet`).

#![forbid(unsafe_code)]

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use ward_advisory::model::Record;
use ward_inventory::{Location, Package, Source};
use ward_match::{Advisories, Epss, Kev, Options, Scan};
use ward_store::{
    AdvisoryFingerprint, FindingRow, HostFilter, HostId, PackageRow, Page, ScopedFindings, Store,
    StoreError,
};
use ward_version::Ecosystem;

/// How many hosts [`rematch_all`] reads per page.
const HOST_PAGE: u32 = 500;

/// What a re-match did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RematchReport {
    /// Hosts re-matched.
    pub hosts: usize,
    /// Packages matched, over all those hosts.
    pub packages: usize,
    /// Findings opened.
    pub new: usize,
    /// Findings resolved.
    pub resolved: usize,
    /// Problems that left a host's result incomplete, one line each, naming the host. A host
    /// whose matching reported an error keeps its previous findings (nothing is resolved on an
    /// incomplete result); packages in ecosystems ward does not know are listed and skipped.
    pub errors: Vec<String>,
}

impl RematchReport {
    fn add(&mut self, other: RematchReport) {
        self.hosts += other.hosts;
        self.packages += other.packages;
        self.new += other.new;
        self.resolved += other.resolved;
        self.errors.extend(other.errors);
    }
}

/// Why a re-match stopped.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The store failed. In [`rematch_all`], hosts re-matched before the failure keep their
    /// new findings; [`rematch_packages`] applies in one transaction, so nothing of it was
    /// written; [`sync_advisories`] saves the fingerprints last, so the next sync retries.
    #[error("re-match: {0}")]
    Store(#[from] StoreError),
}

/// Re-matches the packages of current inventories named by these `(ecosystem, name)` keys — by
/// package name or by source package (OS advisories name source packages) — and only those:
/// one [`Store::packages_for_keys`] read, a scan of each host's selected packages, and one
/// [`Store::apply_findings_scoped`] whose scope per host is the packages matched, so findings
/// of other packages are untouched. Used after the advisories for these packages changed (see
/// [`keys_of`], [`sync_advisories`]). `today` is for ignore-rule expiry.
///
/// **Invariant:** an incomplete result resolves nothing — a host whose scan reported an error
/// is left out of the apply (its findings stay as they were) and named in the report's errors.
pub fn rematch_packages(
    store: &dyn Store,
    advisories: &impl Advisories,
    keys: &[(String, String)],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RematchReport, FleetError> {
    rematch_packages_timed(store, advisories, keys, today, now).map(|(report, _)| report)
}

/// Named phase durations in milliseconds.
type Phases = [(&'static str, u64); 3];

/// [`rematch_packages`], and the milliseconds of its phases: `load` (the keyed packages),
/// `match`, `apply`.
fn rematch_packages_timed(
    store: &dyn Store,
    advisories: &impl Advisories,
    keys: &[(String, String)],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(RematchReport, Phases), FleetError> {
    let millis =
        |since: std::time::Instant| u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX);
    let started = std::time::Instant::now();
    let advisories = &Memoized::new(advisories);
    let mut by_host: BTreeMap<HostId, Vec<PackageRow>> = BTreeMap::new();
    for (host, row) in store.packages_for_keys(keys)? {
        by_host.entry(host).or_default().push(row);
    }
    let load = millis(started);
    let started = std::time::Instant::now();
    let mut report = RematchReport { hosts: by_host.len(), ..RematchReport::default() };
    let mut parts = Vec::with_capacity(by_host.len());
    for (host, rows) in &by_host {
        let matched = match_host(advisories, *host, rows, today, &mut report);
        if let Some(scan) = matched.scan {
            parts.push(ScopedFindings {
                host: *host,
                scope: matched.scope,
                current: finding_rows(&scan),
            });
        }
    }
    let matched = millis(started);
    let started = std::time::Instant::now();
    let diff = store.apply_findings_scoped(now, &parts)?;
    report.new = diff.new;
    report.resolved = diff.resolved;
    let applied = millis(started);
    tracing::info!(
        keys = keys.len(),
        hosts = report.hosts,
        packages = report.packages,
        new = report.new,
        resolved = report.resolved,
        errors = report.errors.len(),
        "re-matched the packages of changed advisories"
    );
    Ok((report, [("rematch.load", load), ("rematch.match", matched), ("rematch.apply", applied)]))
}

/// Re-matches every host in the store (paged through [`Store::hosts`]): after a full index
/// update.
pub fn rematch_all(
    store: &dyn Store,
    advisories: &impl Advisories,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RematchReport, FleetError> {
    let advisories = &Memoized::new(advisories);
    let mut report = RematchReport::default();
    let mut page = Page::first(HOST_PAGE);
    loop {
        let hosts = store.hosts(&HostFilter::default(), page)?;
        let Some(last) = hosts.last() else { break };
        page.after = Some(last.id);
        for host in &hosts {
            report.add(rematch_host(store, advisories, host.id, today, now)?);
        }
    }
    tracing::info!(
        hosts = report.hosts,
        new = report.new,
        resolved = report.resolved,
        errors = report.errors.len(),
        "re-matched every host"
    );
    Ok(report)
}

/// The `(ecosystem, name)` keys the records name (`affected[].package`), sorted, without
/// duplicates, for [`rematch_packages`]. Withdrawn records count: withdrawing one resolves its
/// findings. A known ecosystem is spelled as ward stores it (`debian:12` → `Debian:12`), an
/// unknown one as written; names are as written (the inventory spells them as advisories do).
pub fn keys_of(records: &[Record]) -> Vec<(String, String)> {
    let keys: BTreeSet<(String, String)> = records
        .iter()
        .flat_map(|record| &record.affected)
        .filter_map(|affected| affected.package.as_ref())
        .map(|package| {
            let ecosystem = match package.ecosystem.parsed() {
                Some(parsed) => parsed.to_string(),
                None => package.ecosystem.as_str().to_owned(),
            };
            (ecosystem, package.name.clone())
        })
        .collect();
    keys.into_iter().collect()
}

/// Re-matches one host's current inventory and applies the result.
fn rematch_host(
    store: &dyn Store,
    advisories: &impl Advisories,
    host: HostId,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RematchReport, FleetError> {
    let rows = store.current_packages(host)?;
    let mut report = RematchReport { hosts: 1, ..RematchReport::default() };
    let Some(scan) = match_host(advisories, host, &rows, today, &mut report).scan else {
        return Ok(report);
    };
    let diff = store.apply_findings(host, now, &finding_rows(&scan))?;
    report.new = diff.new;
    report.resolved = diff.resolved;
    Ok(report)
}

/// What matching some of one host's packages gave.
struct HostMatch {
    /// `None` when the scan reported an error: nothing may be applied.
    scan: Option<Scan>,
    /// The `(ecosystem, package)` pairs matched, spelled as the findings spell them.
    scope: Vec<(String, String)>,
}

/// Matches `rows` of `host`, counting the packages and recording problems in `report`.
fn match_host(
    advisories: &impl Advisories,
    host: HostId,
    rows: &[PackageRow],
    today: NaiveDate,
    report: &mut RematchReport,
) -> HostMatch {
    let (packages, unknown) = packages_of(host, rows);
    for (ecosystem, count) in unknown {
        report.errors.push(format!(
            "host {host}: {count} package(s) in ecosystem {ecosystem:?}, which ward does not \
             know, were not matched"
        ));
    }
    report.packages += packages.len();
    let scope: BTreeSet<(String, String)> =
        packages.iter().map(|p| (p.ecosystem.to_string(), p.name.clone())).collect();
    let options = Options { today, host: None, rules: Vec::new() };
    let scan = ward_match::scan(&packages, advisories, &options);
    if !scan.errors.is_empty() {
        for error in &scan.errors {
            report.errors.push(format!(
                "host {host}: {}/{} {}{}: {}; its findings were left as they were",
                error.ecosystem,
                error.package,
                error.version,
                error.advisory.as_deref().map(|id| format!(" ({id})")).unwrap_or_default(),
                error.message
            ));
        }
        return HostMatch { scan: None, scope: Vec::new() };
    }
    HostMatch { scan: Some(scan), scope: scope.into_iter().collect() }
}

/// An [`Advisories`] source remembered for one re-match run: hosts of a fleet share most of
/// their packages, so each `(ecosystem, name)` is looked up (and its records decoded) once per
/// run instead of once per host — the difference between a re-match paying about 15 µs of
/// index lookup per package of every host and paying it per distinct package. Failures are not
/// remembered. Lives only as long as the run, so a run sees one consistent index.
struct Memoized<'a, A: Advisories> {
    inner: &'a A,
    affecting: RefCell<RecordsByKey>,
    kev: RefCell<BTreeMap<String, Option<Kev>>>,
    epss: RefCell<BTreeMap<String, Option<Epss>>>,
}

impl<'a, A: Advisories> Memoized<'a, A> {
    fn new(inner: &'a A) -> Self {
        Memoized {
            inner,
            affecting: RefCell::default(),
            kev: RefCell::default(),
            epss: RefCell::default(),
        }
    }
}

/// The value remembered under `key`, else `load()`'s (remembered when it succeeds).
fn remembered<K: Ord, V: Clone, E>(
    memo: &RefCell<BTreeMap<K, V>>,
    key: K,
    load: impl FnOnce() -> Result<V, E>,
) -> Result<V, E> {
    if let Some(value) = memo.borrow().get(&key) {
        return Ok(value.clone());
    }
    let value = load()?;
    memo.borrow_mut().insert(key, value.clone());
    Ok(value)
}

impl<A: Advisories> Advisories for Memoized<'_, A> {
    type Error = A::Error;

    fn affecting(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, A::Error> {
        remembered(&self.affecting, (ecosystem.to_owned(), name.to_owned()), || {
            self.inner.affecting(ecosystem, name)
        })
    }

    fn kev(&self, cve: &str) -> Result<Option<Kev>, A::Error> {
        remembered(&self.kev, cve.to_owned(), || self.inner.kev(cve))
    }

    fn epss(&self, cve: &str) -> Result<Option<Epss>, A::Error> {
        remembered(&self.epss, cve.to_owned(), || self.inner.epss(cve))
    }
}

/// Records by `(ecosystem, name)`.
type RecordsByKey = BTreeMap<(String, String), Vec<Arc<Record>>>;

/// What [`sync_advisories`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Advisory ids in the index now.
    pub records: usize,
    /// Ids whose content changed since the last sync.
    pub changed: usize,
    /// Ids new since the last sync.
    pub added: usize,
    /// Ids gone since the last sync.
    pub removed: usize,
    /// The re-match of the keys those name (all hosts on a first sync).
    pub rematch: RematchReport,
    /// Where the time went, in milliseconds: `fingerprint` (hashing the records), `compare`
    /// (reading the stored fingerprints and diffing), `rematch`, `save` (the fingerprints).
    pub timings_ms: BTreeMap<&'static str, u64>,
}

/// Brings the store's findings up to date with an advisory index whose records are `records`
/// (every record, e.g. `Index::all_records`) and which `advisories` answers from.
///
/// Each advisory id gets a fingerprint (SHA-256 of its records' serde JSON) and is compared
/// with [`Store::advisory_fingerprints`]: the keys named by changed, added and removed ids (a
/// changed one's old and new keys, a removed one's stored keys) are re-matched with
/// [`rematch_packages`]; then the fingerprints are saved. A first sync (no fingerprint stored)
/// re-matches every host ([`rematch_all`]) instead. Nothing changed: no re-match.
///
/// Hosts named in the re-match's errors keep their previous findings for those packages
/// until a later re-match of them ([`rematch_all`], or a change to the same advisories).
pub fn sync_advisories(
    store: &dyn Store,
    records: &[Record],
    advisories: &impl Advisories,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<SyncReport, FleetError> {
    let mut clock = std::time::Instant::now();
    let mut timings = BTreeMap::new();
    let mut lap = |name: &'static str| {
        let elapsed = clock.elapsed();
        clock = std::time::Instant::now();
        timings.insert(name, u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
    };
    let current = fingerprints(records);
    lap("fingerprint");
    let stored: BTreeMap<String, AdvisoryFingerprint> =
        store.advisory_fingerprints()?.into_iter().map(|print| (print.id.clone(), print)).collect();
    let mut report = SyncReport { records: current.len(), ..SyncReport::default() };
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    let mut upsert = Vec::new();
    for (id, print) in &current {
        match stored.get(id) {
            Some(old) if old.fingerprint == print.fingerprint => continue,
            Some(old) => {
                report.changed += 1;
                keys.extend(old.keys.iter().cloned());
            }
            None => report.added += 1,
        }
        keys.extend(print.keys.iter().cloned());
        upsert.push(print.clone());
    }
    let mut delete = Vec::new();
    for (id, old) in &stored {
        if !current.contains_key(id) {
            report.removed += 1;
            keys.extend(old.keys.iter().cloned());
            delete.push(id.clone());
        }
    }
    lap("compare");
    let mut phase_timings = Vec::new();
    if stored.is_empty() && !current.is_empty() {
        report.rematch = rematch_all(store, advisories, today, now)?;
    } else if !keys.is_empty() {
        let keys: Vec<(String, String)> = keys.into_iter().collect();
        let (rematch, phases) = rematch_packages_timed(store, advisories, &keys, today, now)?;
        report.rematch = rematch;
        phase_timings = phases.to_vec();
    }
    lap("rematch");
    if !upsert.is_empty() || !delete.is_empty() {
        store.save_advisory_fingerprints(&upsert, &delete)?;
    }
    lap("save");
    timings.extend(phase_timings);
    report.timings_ms = timings;
    tracing::info!(
        records = report.records,
        changed = report.changed,
        added = report.added,
        removed = report.removed,
        hosts = report.rematch.hosts,
        new = report.rematch.new,
        resolved = report.rematch.resolved,
        "synced advisories"
    );
    Ok(report)
}

/// One fingerprint per advisory id: SHA-256 (hex) of the serde JSON of its records (in the
/// order given; one id can come from two feeds), and the keys they name ([`keys_of`]).
pub fn fingerprints(records: &[Record]) -> BTreeMap<String, AdvisoryFingerprint> {
    let mut by_id: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for record in records {
        by_id.entry(record.id.as_str()).or_default().push(record);
    }
    by_id
        .into_iter()
        .map(|(id, records)| {
            let mut hasher = Sha256::new();
            for record in &records {
                // Serializing a parsed record cannot fail (string keys, no non-finite floats
                // survive parsing); an empty hash input would still fingerprint it stably.
                hasher.update(serde_json::to_vec(record).unwrap_or_default());
                hasher.update(b"\n");
            }
            let owned: Vec<Record> = records.into_iter().cloned().collect();
            let print = AdvisoryFingerprint {
                id: id.to_owned(),
                fingerprint: format!("{:x}", hasher.finalize()),
                keys: keys_of(&owned),
            };
            (id.to_owned(), print)
        })
        .collect()
}

/// The matcher's packages for a stored inventory, and per unknown ecosystem how many packages
/// were left out. An OS package's source version is the stored `source_version`, or its own
/// version when there is none (what ward-inventory also assumes when a database names no
/// source version).
pub fn packages_of(host: HostId, rows: &[PackageRow]) -> (Vec<Package>, BTreeMap<String, usize>) {
    let mut packages = Vec::with_capacity(rows.len());
    let mut unknown = BTreeMap::new();
    for row in rows {
        let Ok(ecosystem) = Ecosystem::parse(&row.ecosystem) else {
            *unknown.entry(row.ecosystem.clone()).or_insert(0) += 1;
            continue;
        };
        let location = Location { path: format!("store:host/{host}"), line: None };
        let mut package = Package::new(ecosystem.kind(), &row.name, &row.version, location);
        package.ecosystem = ecosystem;
        package.source = row.source.as_ref().map(|name| Source {
            name: name.clone(),
            version: row.source_version.clone().unwrap_or_else(|| row.version.clone()),
        });
        packages.push(package);
    }
    (packages, unknown)
}

/// The store's rows for a scan's gating findings (vulnerabilities and security updates; notices
/// such as "unmaintained" are not findings). One row per `(advisory, ecosystem, package)`: when
/// one package has two findings under the same shown id, the first (highest risk) is kept.
pub fn finding_rows(scan: &Scan) -> Vec<FindingRow> {
    let mut rows: BTreeMap<(String, String, String), FindingRow> = BTreeMap::new();
    for (package, finding) in scan.findings() {
        let ecosystem = package.package.ecosystem.to_string();
        let key = (finding.id.clone(), ecosystem.clone(), package.package.name.clone());
        rows.entry(key).or_insert_with(|| FindingRow {
            advisory: finding.id.clone(),
            aliases: finding.aliases.clone(),
            ecosystem,
            package: package.package.name.clone(),
            version: package.package.version.clone(),
            severity: Some(finding.severity.level.name().to_owned()),
            score: finding.severity.score,
        });
    }
    rows.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ecosystem: &str, name: &str, version: &str, source: Option<&str>) -> PackageRow {
        PackageRow {
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
            source: source.map(Into::into),
            source_version: None,
        }
    }

    #[test]
    fn stored_rows_become_matcher_packages() {
        let rows = [
            row("Debian:12", "libssl3", "3.0.11-1", Some("openssl")),
            row("crates.io", "base64", "0.5.1", None),
            PackageRow {
                source_version: Some("2.36-9".into()),
                ..row("Debian:12", "libc6", "2.36-9+b1", Some("glibc"))
            },
            row("Plan9", "rc", "1", None),
            row("Plan9", "acme", "1", None),
        ];
        let (mut packages, unknown) = packages_of(HostId(7), &rows);
        assert_eq!(packages.len(), 3);
        assert_eq!(
            packages.remove(2).source,
            Some(Source { name: "glibc".into(), version: "2.36-9".into() })
        );
        assert_eq!(packages[0].ecosystem.to_string(), "Debian:12");
        assert_eq!(packages[0].ecosystem.release(), Some("12"));
        assert_eq!(
            packages[0].source,
            Some(Source { name: "openssl".into(), version: "3.0.11-1".into() })
        );
        assert_eq!(packages[1].ecosystem.to_string(), "crates.io");
        assert_eq!((packages[1].name.as_str(), packages[1].version.as_str()), ("base64", "0.5.1"));
        assert_eq!(packages[1].source, None);
        assert_eq!(packages[1].location.path, "store:host/7");
        assert_eq!(unknown.into_iter().collect::<Vec<_>>(), [("Plan9".to_owned(), 2)]);
    }

    #[test]
    fn keys_are_deduplicated_and_spelled_as_stored() {
        let record: Record = serde_json::from_value(serde_json::json!({
            "id": "X-1",
            "modified": "2026-01-01T00:00:00Z",
            "affected": [
                { "package": { "ecosystem": "debian:12", "name": "openssl" } },
                { "package": { "ecosystem": "Debian:12", "name": "openssl" } },
                { "package": { "ecosystem": "Plan9", "name": "rc" } },
                { "ranges": [] }
            ]
        }))
        .unwrap_or_else(|error| panic!("{error}"));
        let other: Record = serde_json::from_value(serde_json::json!({
            "id": "X-2",
            "modified": "2026-01-01T00:00:00Z",
            "withdrawn": "2026-01-02T00:00:00Z",
            "affected": [{ "package": { "ecosystem": "crates.io", "name": "base64" } }]
        }))
        .unwrap_or_else(|error| panic!("{error}"));
        let key = |e: &str, n: &str| (e.to_owned(), n.to_owned());
        assert_eq!(
            keys_of(&[record, other]),
            [key("Debian:12", "openssl"), key("Plan9", "rc"), key("crates.io", "base64")]
        );
        assert_eq!(keys_of(&[]), []);
    }
}
