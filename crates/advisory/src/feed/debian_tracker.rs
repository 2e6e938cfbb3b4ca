//! The Debian security tracker's JSON (`security-tracker.debian.org/tracker/data/json`):
//! source package → CVE → per release status and fixed version.
//!
//! Becomes one OSV record per CVE, id `DEBIAN-<CVE>` (the id osv.dev gives the same data), the
//! CVE as alias, and per (release, source package) an `affected` entry in `Debian:<release>`:
//! `resolved` with a fixed version → `introduced: 0, fixed: <version>`; `open` (no fix yet) →
//! `introduced: 0`; `resolved` with fixed version `0` (never affected) and `undetermined` add no
//! range. The tracker's status, urgency and suite versions are kept in
//! `affected[].database_specific`, the description as `details`. Releases whose codename ward
//! does not map (sid, experimental) keep `Debian:<codename>` as ecosystem text.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use super::{path_error, ImportError, Parsed};
use crate::model::{Affected, EcosystemName, Package, Range, RangeEvent, Record, Reference};

#[derive(Debug, Deserialize)]
struct Issue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    debianbug: Option<u64>,
    #[serde(default)]
    releases: BTreeMap<String, ReleaseStatus>,
}

#[derive(Debug, Deserialize)]
struct ReleaseStatus {
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
    #[serde(default)]
    nodsa: Option<String>,
    #[serde(default)]
    nodsa_reason: Option<String>,
    #[serde(default)]
    repositories: BTreeMap<String, String>,
}

/// Whether JSON text starts like the tracker's dump: `{"pkg": {"CVE-...": {... "releases"`.
pub fn looks_like_tracker(head: &str) -> bool {
    head.contains("\"releases\"") && head.contains("\"status\"") && head.contains("\"CVE-")
}

/// Parses the tracker's JSON dump.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let packages: BTreeMap<String, BTreeMap<String, serde_json::Value>> =
        match serde_json::from_slice(bytes) {
            Ok(p) => p,
            Err(e) => {
                return Parsed::error(path, "(document)", format!("invalid tracker JSON: {e}"))
            }
        };
    let mut errors = Vec::new();
    let mut by_cve: BTreeMap<String, (Option<String>, Vec<Affected>)> = BTreeMap::new();
    for (package, issues) in packages {
        for (issue_id, value) in issues {
            // The tracker also lists TEMP- ids for issues without a CVE yet; they have no alias
            // to unify with and are kept under their own id.
            let issue: Issue = match serde_path_to_error::deserialize(value) {
                Ok(i) => i,
                Err(e) => {
                    let mut error = path_error(path, e);
                    error.field = format!("{package}.{issue_id}.{}", error.field);
                    errors.push(error);
                    continue;
                }
            };
            let slot = by_cve.entry(issue_id.clone()).or_default();
            if slot.0.is_none() {
                slot.0 = issue.description.clone();
            }
            for (codename, release) in issue.releases {
                let ecosystem = match super::debian::release_of(&codename) {
                    Some(e) => EcosystemName::from_ecosystem(e),
                    None => EcosystemName::new(&format!("Debian:{codename}")),
                };
                let events = match (release.status.as_str(), release.fixed_version.as_deref()) {
                    ("resolved", Some("0")) => Vec::new(),
                    ("resolved", Some(v)) => {
                        vec![RangeEvent::Introduced("0".into()), RangeEvent::Fixed(v.to_string())]
                    }
                    ("open", _) => vec![RangeEvent::Introduced("0".into())],
                    ("undetermined", _) | ("resolved", None) => Vec::new(),
                    (other, _) => {
                        errors.push(ImportError::new(
                            path,
                            &format!("{package}.{issue_id}.releases.{codename}.status"),
                            format!(
                                "unknown status {other:?} (expected resolved, open, undetermined)"
                            ),
                        ));
                        continue;
                    }
                };
                let ranges = if events.is_empty() {
                    Vec::new()
                } else {
                    vec![Range {
                        kind: "ECOSYSTEM".into(),
                        repo: None,
                        events,
                        database_specific: None,
                    }]
                };
                slot.1.push(Affected {
                    package: Some(Package { ecosystem, name: package.clone(), purl: None }),
                    severity: Vec::new(),
                    ranges,
                    versions: Vec::new(),
                    ecosystem_specific: None,
                    database_specific: Some(json!({
                        "codename": codename,
                        "status": release.status,
                        "fixed_version": release.fixed_version,
                        "urgency": release.urgency,
                        "nodsa": release.nodsa,
                        "nodsa_reason": release.nodsa_reason,
                        "repositories": release.repositories,
                        "scope": issue.scope,
                        "debianbug": issue.debianbug,
                    })),
                });
            }
        }
    }
    let records = by_cve
        .into_iter()
        .map(|(issue_id, (description, affected))| Record {
            schema_version: Some("1.7.0".into()),
            id: format!("DEBIAN-{issue_id}"),
            modified: "1970-01-01T00:00:00Z".into(),
            published: None,
            withdrawn: None,
            aliases: if issue_id.starts_with("CVE-") { vec![issue_id.clone()] } else { Vec::new() },
            related: Vec::new(),
            upstream: Vec::new(),
            summary: None,
            details: description,
            severity: Vec::new(),
            affected,
            references: vec![Reference {
                kind: "ADVISORY".into(),
                url: format!("https://security-tracker.debian.org/tracker/{issue_id}"),
            }],
            credits: Vec::new(),
            database_specific: Some(json!({"source": "debian-security-tracker"})),
        })
        .collect();
    Parsed::records(records, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_ranges() {
        let json = br#"{"openssl": {"CVE-2024-0727": {"description": "PKCS12 NULL dereference", "scope": "local", "releases": {
            "bookworm": {"status": "resolved", "repositories": {"bookworm": "3.0.11-1~deb12u2"}, "fixed_version": "3.0.13-1~deb12u1", "urgency": "not yet assigned"},
            "bullseye": {"status": "open", "repositories": {"bullseye": "1.1.1w-0+deb11u1"}, "urgency": "not yet assigned", "nodsa": "Minor issue"},
            "sid": {"status": "resolved", "repositories": {"sid": "3.1.5-1"}, "fixed_version": "3.1.5-1", "urgency": "not yet assigned"},
            "trixie": {"status": "resolved", "repositories": {"trixie": "3.1.5-1"}, "fixed_version": "0", "urgency": "unimportant"}}}},
          "openssl1.0": {"CVE-2024-0727": {"releases": {"buster": {"status": "weird"}}}}}"#;
        let parsed = parse("tracker.json", json);
        assert_eq!(parsed.records.len(), 1);
        let r = &parsed.records[0];
        assert_eq!(r.id, "DEBIAN-CVE-2024-0727");
        assert_eq!(r.aliases, ["CVE-2024-0727"]);
        let eco: Vec<&str> =
            r.affected.iter().map(|a| a.package.as_ref().unwrap().ecosystem.as_str()).collect();
        assert_eq!(eco, ["Debian:12", "Debian:11", "Debian:sid", "Debian:13"]);
        let events: Vec<usize> =
            r.affected.iter().map(|a| a.ranges.first().map_or(0, |x| x.events.len())).collect();
        assert_eq!(events, [2, 1, 2, 0]);
        assert_eq!(parsed.errors[0].field, "openssl1.0.CVE-2024-0727.releases.buster.status");
    }
}
