//! Scan reports: what `ward scan` prints. Pure: a [`Report`] (the scan plus its context) in,
//! bytes out.
//!
//! - [`table`]: for people, grouped by package, coloured when asked, with a summary line;
//! - [`json`]: the versioned `ward.scan/1` document (`docs/json/scan.md`);
//! - [`sarif`]: SARIF 2.1.0 for code-scanning UIs, results pointing at the lockfile line;
//! - [`cyclonedx`]: CycloneDX 1.6 with `vulnerabilities` (VEX);
//! - [`markdown`]: for pull-request comments.

#![forbid(unsafe_code)]

pub mod json;
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

/// `path:line`, or the path alone.
pub fn place(path: &str, line: Option<u32>) -> String {
    match line {
        Some(l) => format!("{path}:{l}"),
        None => path.to_string(),
    }
}
