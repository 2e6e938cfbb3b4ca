//! `ward.scan/1`: the JSON document `ward scan --format json` prints, documented in
//! `docs/json/scan.md`. Fields are only ever added within a schema version.

use std::collections::BTreeMap;

use serde::Serialize;
use ward_inventory::wire::{ErrorV1, PackageV1};
use ward_match::{Finding, MatchError, Suppressed};

use crate::Report;

/// The schema identifier of [`ScanV1`].
pub const SCAN_SCHEMA: &str = "ward.scan/1";

#[derive(Debug, Serialize)]
pub struct ScanV1<'a> {
    pub schema: &'static str,
    pub ward_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<DatabaseV1<'a>>,
    pub summary: SummaryV1,
    /// Packages with findings or notices, highest risk first.
    pub packages: Vec<PackageFindingsV1<'a>>,
    pub suppressed: &'a [Suppressed],
    pub unchecked: Vec<UncheckedV1>,
    pub warnings: &'a [String],
    /// Inputs that could not be read and advisories that could not be evaluated: when not
    /// empty the result is incomplete and `ward scan` exits 2.
    pub errors: Vec<ErrorV1>,
    pub match_errors: &'a [MatchError],
}

#[derive(Debug, Serialize)]
pub struct DatabaseV1<'a> {
    pub path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub built: Option<&'a str>,
    pub records: u64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub extra_sources: &'a [String],
}

#[derive(Debug, Serialize)]
pub struct SummaryV1 {
    pub packages_checked: usize,
    pub packages_unchecked: usize,
    pub vulnerable_packages: usize,
    /// Findings (vulnerabilities and security updates) per severity level.
    pub findings: BTreeMap<&'static str, usize>,
    pub findings_total: usize,
    pub notices: usize,
    pub suppressed: usize,
    pub fail_on: &'static str,
    /// A finding is at or above `fail_on` (exit code 1).
    pub failed: bool,
}

#[derive(Debug, Serialize)]
pub struct PackageFindingsV1<'a> {
    #[serde(flatten)]
    pub package: PackageV1,
    /// Other lines of the same input that lock the same package and version.
    #[serde(skip_serializing_if = "<[u32]>::is_empty")]
    pub also_at: &'a [u32],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_command: Option<&'a str>,
    pub findings: &'a [Finding],
    pub notices: &'a [Finding],
}

#[derive(Debug, Serialize)]
pub struct UncheckedV1 {
    #[serde(flatten)]
    pub package: PackageV1,
    pub reason: String,
}

/// The `ward.scan/1` document of a report.
pub fn document<'a>(report: &'a Report<'a>) -> ScanV1<'a> {
    let scan = report.scan;
    let mut findings = BTreeMap::new();
    for (level, n) in scan.counts() {
        findings.insert(level.name(), n);
    }
    ScanV1 {
        schema: SCAN_SCHEMA,
        ward_version: report.tool_version,
        host: report.host.as_deref(),
        database: report.database.as_ref().map(|d| DatabaseV1 {
            path: &d.path,
            built: d.built.as_deref(),
            records: d.records,
            extra_sources: &d.extra,
        }),
        summary: SummaryV1 {
            packages_checked: scan.checked,
            packages_unchecked: scan.unchecked.len(),
            vulnerable_packages: scan.results.iter().filter(|p| !p.findings.is_empty()).count(),
            findings_total: findings.values().sum(),
            findings,
            notices: scan.notices().count(),
            suppressed: scan.suppressed.len(),
            fail_on: report.fail_on.name(),
            failed: report.failed(),
        },
        packages: scan
            .results
            .iter()
            .map(|r| PackageFindingsV1 {
                package: PackageV1::from(&r.package),
                also_at: &r.also_at,
                upgrade: r.upgrade.as_deref(),
                fix_command: r.fix_command.as_deref(),
                findings: &r.findings,
                notices: &r.notices,
            })
            .collect(),
        suppressed: &scan.suppressed,
        unchecked: scan
            .unchecked
            .iter()
            .map(|u| UncheckedV1 { package: PackageV1::from(&u.package), reason: u.reason.clone() })
            .collect(),
        warnings: &scan.warnings,
        errors: report.input_errors.iter().map(ErrorV1::from).collect(),
        match_errors: &scan.errors,
    }
}

/// `ward.scan/1` as pretty-printed JSON with a final newline.
pub fn render(report: &Report<'_>) -> Vec<u8> {
    crate::pretty_json(&document(report))
}
