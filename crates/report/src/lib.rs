//! Scan reports: what `ward scan` prints. Pure: a [`Report`] (the scan plus its context) in,
//! bytes out.
//!
//! - [`table`]: for people, grouped by package, coloured when asked, with a summary line;
//! - [`json`]: the versioned `ward.scan/1` document (`docs/json/scan.md`);
//! - [`sarif`]: SARIF 2.1.0 for code-scanning UIs, results pointing at the lockfile line;
//! - [`cyclonedx`]: CycloneDX 1.6 with `vulnerabilities` (VEX);
//! - [`markdown`]: for pull-request comments.

#![forbid(unsafe_code)]

pub mod cyclonedx;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod table;

use ward_inventory::ParseError;
use ward_match::{Level, Scan};

/// The scan and what the reports say about its context.
#[derive(Debug)]
pub struct Report<'a> {
    pub scan: &'a Scan,
    /// Inputs that could not be read, or only partly.
    pub input_errors: &'a [ParseError],
    /// The `--fail-on` threshold.
    pub fail_on: Level,
    /// ward's version, for the tool sections of SARIF and CycloneDX.
    pub tool_version: &'a str,
    /// The advisory data the scan used.
    pub database: Option<Database>,
    /// The host scanned, with `--host`.
    pub host: Option<String>,
}

/// The advisory index a scan read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub path: String,
    /// When the index was built (RFC 3339).
    pub built: Option<String>,
    pub records: u64,
    /// Extra sources read for this scan (the host's apt security lists).
    pub extra: Vec<String>,
}

impl Report<'_> {
    /// Whether the scan fails the threshold.
    pub fn failed(&self) -> bool {
        self.scan.fails(self.fail_on)
    }

    /// The result is incomplete: an input or an advisory could not be read.
    pub fn incomplete(&self) -> bool {
        !self.input_errors.is_empty() || !self.scan.errors.is_empty()
    }

    /// "3 vulnerabilities (1 critical, 2 high) in 2 of 399 packages; 1 notice; 1 suppressed".
    pub fn summary(&self) -> String {
        let scan = self.scan;
        let total: usize = scan.counts().iter().map(|(_, n)| n).sum();
        let vulnerable = scan.results.iter().filter(|p| !p.findings.is_empty()).count();
        let mut text = if total == 0 {
            format!("no vulnerabilities in {} packages", scan.checked)
        } else {
            let levels: Vec<String> =
                scan.counts().iter().map(|(level, n)| format!("{n} {level}")).collect();
            format!(
                "{total} {} ({}) in {vulnerable} of {} packages",
                plural(total, "vulnerability", "vulnerabilities"),
                levels.join(", "),
                scan.checked
            )
        };
        let notices = scan.notices().count();
        if notices > 0 {
            text.push_str(&format!("; {notices} {}", plural(notices, "notice", "notices")));
        }
        if !scan.suppressed.is_empty() {
            text.push_str(&format!("; {} suppressed", scan.suppressed.len()));
        }
        if !scan.unchecked.is_empty() {
            text.push_str(&format!("; {} not checked", scan.unchecked.len()));
        }
        text
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// A JSON document pretty-printed with a final newline (the JSON-based formats).
pub(crate) fn pretty_json(document: &impl serde::Serialize) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(document).unwrap_or_default();
    out.push(b'\n');
    out
}

/// `path:line`, or the path alone.
pub fn place(path: &str, line: Option<u32>) -> String {
    match line {
        Some(l) => format!("{path}:{l}"),
        None => path.to_string(),
    }
}

/// The database an advisory id comes from, for the reports that name a source: the name and
/// the id's page there (none for ward's own synthetic ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvisorySource {
    pub name: &'static str,
    pub url: Option<String>,
}

/// Where an advisory id is published, by its prefix; OSV for the rest (osv.dev serves every
/// id OSV aggregates).
pub fn advisory_source(id: &str) -> AdvisorySource {
    let page = |name: &'static str, url: String| AdvisorySource { name, url: Some(url) };
    let prefix = id.split(['-', ':']).next().unwrap_or("");
    match prefix {
        "RUSTSEC" => page("RustSec", format!("https://rustsec.org/advisories/{id}.html")),
        "GHSA" => page("GitHub", format!("https://github.com/advisories/{id}")),
        "CVE" => page("NVD", format!("https://nvd.nist.gov/vuln/detail/{id}")),
        "GO" => page("Go", format!("https://pkg.go.dev/vuln/{id}")),
        "DSA" | "DLA" | "DTSA" => {
            page("Debian", format!("https://security-tracker.debian.org/tracker/{id}"))
        }
        "USN" => page("Ubuntu", format!("https://ubuntu.com/security/notices/{id}")),
        // `DEBIAN-SECURITY-UPDATE:<suite>:<source>:<version>`: ward's record of a build in
        // the security suite, which has no page of its own.
        "DEBIAN" if id.starts_with("DEBIAN-SECURITY-UPDATE:") => {
            AdvisorySource { name: "Debian", url: None }
        }
        _ => page("OSV", format!("https://osv.dev/vulnerability/{id}")),
    }
}

/// The ecosystem name without its release (`Debian` for `Debian:12`).
pub(crate) fn ecosystem_name(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem)
}

/// Whether a suppression came from a VEX statement (its rule is `file#statements[i]`) rather
/// than an ignore rule in `ward.toml`.
pub(crate) fn from_vex(s: &ward_match::Suppressed) -> bool {
    s.rule.contains("#statements[")
}

/// A hand-built scan with one of everything the writers handle, for their snapshot tests.
#[cfg(test)]
pub(crate) mod fixture {
    use ward_inventory::{Location, Package, Source};
    use ward_match::severity::Basis;
    use ward_match::{Epss, Finding, Kind, Level, PackageFindings, Scan, Severity, Suppressed};
    use ward_version::{Ecosystem, EcosystemKind};

    use crate::{Database, Report};

    fn finding(id: &str, kind: Kind, severity: Severity) -> Finding {
        Finding {
            id: id.to_string(),
            aliases: Vec::new(),
            kind,
            summary: None,
            risk: severity.sort_score(),
            severity,
            kev: None,
            epss: None,
            fixed: Vec::new(),
            fixes: Vec::new(),
            published: None,
            url: None,
            records: vec![id.to_string()],
        }
    }

    fn cvss3(vector: &str) -> Severity {
        ward_match::severity::cvss("CVSS_V3", vector).unwrap_or_else(Severity::unknown)
    }

    fn package(kind: EcosystemKind, name: &str, version: &str, path: &str, line: u32) -> Package {
        Package::new(kind, name, version, Location { path: path.into(), line: Some(line) })
    }

    fn findings(package: Package, findings: Vec<Finding>) -> PackageFindings {
        PackageFindings {
            package,
            also_at: Vec::new(),
            findings,
            notices: Vec::new(),
            upgrade: None,
            fix_command: None,
        }
    }

    /// - crates.io `openssl` 0.10.55: one critical CVSS v3.1 finding merged from RUSTSEC, GHSA
    ///   and CVE records, with KEV-free EPSS and an upgrade;
    /// - Debian `libssl3` (source `openssl`): a security update nobody rated (`Unknown`);
    /// - npm `lodash` at two lines of `package-lock.json`: one medium finding;
    /// - crates.io `ansi_term`: only an unmaintained notice;
    /// - two suppressed findings: one by a VEX statement, one by a `ward.toml` ignore rule.
    pub(crate) fn scan() -> Scan {
        let mut openssl = finding(
            "RUSTSEC-2023-0044",
            Kind::Vulnerability,
            cvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        );
        openssl.aliases = vec!["CVE-2023-39411".into(), "GHSA-xcf7-rvmh-g6q4".into()];
        openssl.summary =
            Some("`X509VerifyParamRef::set_host` buffer over-read | *NUL* in <host>".into());
        openssl.epss = Some(Epss { cve: "CVE-2023-39411".into(), score: 0.0123, percentile: 0.85 });
        openssl.fixed = vec!["0.10.60".into()];
        openssl.published = Some("2023-07-20T12:00:00Z".into());
        openssl.url = Some("https://rustsec.org/advisories/RUSTSEC-2023-0044.html".into());
        openssl.records =
            vec!["CVE-2023-39411".into(), "GHSA-xcf7-rvmh-g6q4".into(), "RUSTSEC-2023-0044".into()];
        let mut crate_openssl = findings(
            package(EcosystemKind::CratesIo, "openssl", "0.10.55", "Cargo.lock", 812),
            vec![openssl],
        );
        crate_openssl.upgrade = Some("0.10.60".into());
        crate_openssl.fix_command =
            Some("cargo update -p openssl@0.10.55 --precise 0.10.60".into());

        let mut update = finding(
            "DEBIAN-SECURITY-UPDATE:bookworm-security:openssl:3.0.15-1~deb12u1",
            Kind::SecurityUpdate,
            Severity::unknown(),
        );
        update.summary =
            Some("openssl 3.0.15-1~deb12u1: security update in bookworm-security".into());
        update.fixed = vec!["3.0.15-1~deb12u1".into()];
        update.fixes = vec!["CVE-2024-5535".into()];
        let mut libssl = package(
            EcosystemKind::Debian,
            "libssl3",
            "3.0.11-1~deb12u2",
            "/var/lib/dpkg/status",
            4021,
        );
        libssl.ecosystem = Ecosystem::with_release(EcosystemKind::Debian, "12");
        libssl.source = Some(Source { name: "openssl".into(), version: "3.0.11-1~deb12u2".into() });
        libssl.arch = Some("amd64".into());
        let mut deb = findings(libssl, vec![update]);
        deb.upgrade = Some("3.0.15-1~deb12u1".into());
        deb.fix_command = Some("apt-get install --only-upgrade libssl3".into());

        let mut redos = finding(
            "GHSA-29mw-wpgm-hmr9",
            Kind::Vulnerability,
            cvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"),
        );
        redos.aliases = vec!["CVE-2020-28500".into()];
        redos.summary = Some("Regular Expression Denial of Service (ReDoS) in lodash".into());
        redos.fixed = vec!["4.17.21".into()];
        redos.published = Some("2022-01-06T20:30:46Z".into());
        redos.url = Some("https://github.com/advisories/GHSA-29mw-wpgm-hmr9".into());
        let mut lodash = findings(
            package(EcosystemKind::Npm, "lodash", "4.17.20", "web/package-lock.json", 120),
            vec![redos],
        );
        lodash.also_at = vec![348];
        lodash.upgrade = Some("4.17.21".into());
        lodash.fix_command = Some("npm install 'lodash@4.17.21'".into());

        let mut unmaintained = finding(
            "RUSTSEC-2021-0139",
            Kind::Unmaintained,
            Severity { level: Level::None, score: None, basis: Basis::None },
        );
        unmaintained.summary = Some("ansi_term is Unmaintained".into());
        unmaintained.published = Some("2021-08-18T12:00:00Z".into());
        unmaintained.url = Some("https://github.com/ogham/rust-ansi-term/issues/72".into());
        let mut ansi_term = findings(
            package(EcosystemKind::CratesIo, "ansi_term", "0.12.1", "Cargo.lock", 40),
            Vec::new(),
        );
        ansi_term.notices = vec![unmaintained];

        Scan {
            checked: 399,
            results: vec![crate_openssl, deb, lodash, ansi_term],
            unchecked: Vec::new(),
            suppressed: vec![
                Suppressed {
                    id: "RUSTSEC-2024-0332".into(),
                    ecosystem: "crates.io".into(),
                    package: "h2".into(),
                    version: "0.3.24".into(),
                    path: "Cargo.lock".into(),
                    reason: "VEX not_affected: vulnerable_code_not_in_execute_path".into(),
                    rule: "ward.vex.json#statements[0]".into(),
                    expires: None,
                },
                Suppressed {
                    id: "GHSA-952p-6rrq-rcjv".into(),
                    ecosystem: "npm".into(),
                    package: "micromatch".into(),
                    version: "4.0.5".into(),
                    path: "web/package-lock.json".into(),
                    reason: "only matches our own globs".into(),
                    rule: "ward.toml:12".into(),
                    expires: Some("2027-01-31".into()),
                },
            ],
            warnings: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The report of [`scan`] at `--fail-on high`.
    pub(crate) fn report(scan: &Scan) -> Report<'_> {
        Report {
            scan,
            input_errors: &[],
            fail_on: Level::High,
            tool_version: "0.1.0",
            database: Some(Database {
                path: "/var/lib/ward/advisories.db".into(),
                built: Some("2026-11-20T06:00:00Z".into()),
                records: 412_345,
                extra: Vec::new(),
            }),
            host: None,
        }
    }
}
