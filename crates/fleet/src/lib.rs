//! Re-matching without rescans: recomputes the findings of the inventories a fleet store holds
//! when advisories change, and records them ([`Store::apply_findings`]: open findings,
//! resolutions and the event feed) — no agent needs to report again.
//!
//! Orchestration over two seams only: [`ward_store::Store`] (inventories, the package → hosts
//! reverse index, findings) and [`ward_match::Advisories`] (what affects a package). Matching
//! itself is [`ward_match::scan`]; this crate decides which hosts to re-match and turns a scan
//! into the store's [`FindingRow`]s. See ARCHITECTURE.md (`crates/fleet`).

#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use ward_advisory::model::Record;
use ward_inventory::{Location, Package, Source};
use ward_match::{Advisories, Options, Scan};
use ward_store::{FindingRow, HostFilter, HostId, PackageRow, Page, Store, StoreError};
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
    /// The store failed; hosts re-matched before the failure keep their new findings.
    #[error("re-match: {0}")]
    Store(#[from] StoreError),
}

/// Re-matches every host whose current inventory holds one of these `(ecosystem, name)` keys —
/// by package name ([`Store::hosts_with_package`]) or by source package
/// ([`Store::hosts_with_source`], since OS advisories name source packages) — each host's whole
/// current inventory, and applies the findings at `now`. Used after the advisories for these
/// packages changed (see [`keys_of`]). `today` is for ignore-rule expiry.
pub fn rematch_packages(
    store: &dyn Store,
    advisories: &impl Advisories,
    keys: &[(String, String)],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RematchReport, FleetError> {
    let mut hosts = BTreeSet::new();
    for (ecosystem, name) in keys {
        hosts.extend(store.hosts_with_package(ecosystem, name)?.into_iter().map(|(host, _)| host));
        hosts.extend(store.hosts_with_source(ecosystem, name)?.into_iter().map(|(host, ..)| host));
    }
    let mut report = RematchReport::default();
    for host in hosts {
        report.add(rematch_host(store, advisories, host, today, now)?);
    }
    tracing::info!(
        keys = keys.len(),
        hosts = report.hosts,
        new = report.new,
        resolved = report.resolved,
        errors = report.errors.len(),
        "re-matched hosts for changed advisories"
    );
    Ok(report)
}

/// Re-matches every host in the store (paged through [`Store::hosts`]): after a full index
/// update.
pub fn rematch_all(
    store: &dyn Store,
    advisories: &impl Advisories,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<RematchReport, FleetError> {
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
    let (packages, unknown) = packages_of(host, &rows);
    for (ecosystem, count) in unknown {
        report.errors.push(format!(
            "host {host}: {count} package(s) in ecosystem {ecosystem:?}, which ward does not \
             know, were not matched"
        ));
    }
    report.packages = packages.len();
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
        return Ok(report);
    }
    let diff = store.apply_findings(host, now, &finding_rows(&scan))?;
    report.new = diff.new;
    report.resolved = diff.resolved;
    Ok(report)
}

/// The matcher's packages for a stored inventory, and per unknown ecosystem how many packages
/// were left out. An OS package's source version is taken to be its own version: the store
/// keeps only the source's name (what ward-inventory also assumes when a database names no
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
        package.source = row
            .source
            .as_ref()
            .map(|name| Source { name: name.clone(), version: row.version.clone() });
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
        }
    }

    #[test]
    fn stored_rows_become_matcher_packages() {
        let rows = [
            row("Debian:12", "libssl3", "3.0.11-1", Some("openssl")),
            row("crates.io", "base64", "0.5.1", None),
            row("Plan9", "rc", "1", None),
            row("Plan9", "acme", "1", None),
        ];
        let (packages, unknown) = packages_of(HostId(7), &rows);
        assert_eq!(packages.len(), 2);
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
