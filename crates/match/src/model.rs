//! What a scan finds: per package, the advisories that apply (merged across feeds by alias),
//! how bad they are, and the smallest upgrade that fixes them.

use serde::Serialize;
use ward_inventory::Package;

use crate::severity::{Level, Severity};

/// What kind of problem a finding is. Vulnerabilities and pending security updates gate
/// (`--fail-on`); the rest are notices, reported apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An advisory says the installed version is vulnerable.
    Vulnerability,
    /// The distribution's security suite has a newer build of the package's source (what
    /// unattended-upgrades would install).
    SecurityUpdate,
    /// The package is no longer maintained (RustSec `unmaintained`).
    Unmaintained,
    /// The package has an unsound API (RustSec `unsound`).
    Unsound,
    /// Any other informational advisory (RustSec `notice`).
    Notice,
}

impl Kind {
    /// Whether this kind is a notice rather than a vulnerability.
    pub fn is_notice(self) -> bool {
        matches!(self, Kind::Unmaintained | Kind::Unsound | Kind::Notice)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Vulnerability => "vulnerability",
            Kind::SecurityUpdate => "security-update",
            Kind::Unmaintained => "unmaintained",
            Kind::Unsound => "unsound",
            Kind::Notice => "notice",
        }
    }
}

/// A CISA Known Exploited Vulnerabilities entry for one of the finding's CVEs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Kev {
    pub cve: String,
    pub date_added: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    pub known_ransomware: bool,
}

/// The EPSS probability of exploitation in the next 30 days, for the finding's CVE with the
/// highest score.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Epss {
    pub cve: String,
    pub score: f64,
    pub percentile: f64,
}

/// One problem with one package: one or more advisories (merged by alias) that say the same.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The advisory shown first: the ecosystem's own database id where there is one
    /// (RUSTSEC, PYSEC, GO, DSA...), else GHSA, else CVE.
    pub id: String,
    /// Every other name of the merged advisories (ids and aliases), sorted.
    pub aliases: Vec<String>,
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
    /// Versions that fix it, as the advisories write them, in ecosystem order.
    pub fixed: Vec<String>,
    /// For a security update: the CVEs it fixes, where the imported data says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// The advisory's web page (first ADVISORY reference, else the first reference).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The sort key: severity score (0–10) × EPSS probability (1 when unknown), plus 100 when
    /// the CVE is known to be exploited (KEV). Higher first.
    pub risk: f64,
    /// The ids of the records merged into this finding.
    pub records: Vec<String>,
}

impl Finding {
    /// The id and every alias.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// The CVE ids among the finding's names.
    pub fn cves(&self) -> impl Iterator<Item = &str> {
        self.names().filter(|n| n.starts_with("CVE-"))
    }
}

/// A package (as found in one input) and what applies to it.
#[derive(Clone, Debug, PartialEq)]
pub struct PackageFindings {
    /// The package, at its first place in the input.
    pub package: Package,
    /// Other lines of the same input that lock the same package and version.
    pub also_at: Vec<u32>,
    /// Vulnerabilities and security updates, by risk, highest first.
    pub findings: Vec<Finding>,
    /// Unmaintained, unsound and other informational notices.
    pub notices: Vec<Finding>,
    /// The smallest version that fixes every finding, staying on the installed branch where a
    /// fix exists there; `None` when no single known version does.
    pub upgrade: Option<String>,
    /// The command that performs `upgrade` with the package's own tool.
    pub fix_command: Option<String>,
}

impl PackageFindings {
    /// The highest risk among the findings (0 when only notices).
    pub fn risk(&self) -> f64 {
        self.findings.iter().map(|f| f.risk).fold(0.0, f64::max)
    }

    /// The worst gating level among the findings.
    pub fn worst(&self) -> Option<Level> {
        self.findings.iter().map(|f| f.severity.level.for_gate()).max()
    }
}

/// A finding an ignore rule or a VEX statement hid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Suppressed {
    pub id: String,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub path: String,
    pub reason: String,
    /// Where the rule is (`ward.toml:12`, `app.vex.json#statements[3]`).
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A package ward could not check, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Unchecked {
    pub package: Package,
    pub reason: String,
}

/// Something that went wrong evaluating an advisory for a package: the result is incomplete.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MatchError {
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<String>,
    pub message: String,
}

/// Everything one scan found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scan {
    /// How many packages were checked (every input occurrence).
    pub checked: usize,
    /// Packages with findings or notices, highest risk first.
    pub results: Vec<PackageFindings>,
    pub unchecked: Vec<Unchecked>,
    pub suppressed: Vec<Suppressed>,
    /// Expired or unused ignore rules and similar things a user should look at.
    pub warnings: Vec<String>,
    pub errors: Vec<MatchError>,
}

impl Scan {
    /// Every gating finding with its package.
    pub fn findings(&self) -> impl Iterator<Item = (&PackageFindings, &Finding)> {
        self.results.iter().flat_map(|p| p.findings.iter().map(move |f| (p, f)))
    }

    /// Every notice with its package.
    pub fn notices(&self) -> impl Iterator<Item = (&PackageFindings, &Finding)> {
        self.results.iter().flat_map(|p| p.notices.iter().map(move |f| (p, f)))
    }

    /// Whether any finding is at or above `threshold` (unrated findings count as critical).
    pub fn fails(&self, threshold: Level) -> bool {
        self.findings().any(|(_, f)| f.severity.level.for_gate() >= threshold)
    }

    /// Finding counts per level, worst first.
    pub fn counts(&self) -> Vec<(Level, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for (_, f) in self.findings() {
            *counts.entry(f.severity.level).or_insert(0usize) += 1;
        }
        counts.into_iter().rev().collect()
    }
}
