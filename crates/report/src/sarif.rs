//! SARIF 2.1.0 for code-scanning UIs (GitHub code scanning, IDE viewers): one rule per
//! advisory, one result per place a vulnerable package is locked, pointing at the lockfile line.
//!
//! Mapping:
//! - `level`: critical and high → `error`, medium → `warning`, low and none → `note`; an unrated
//!   finding (`unknown`) → `error`, as it fails every `--fail-on` gate. Notices (unmaintained,
//!   unsound) are always `note`.
//! - `properties.security-severity` (what GitHub ranks security alerts by): the CVSS score, or
//!   the middle of the band for a feed's own rating; absent for unrated findings and notices.
//! - Every line that locks the package (the first and each `also_at`) is its own result.
//! - `partialFingerprints["ward/v1"]`: `path:ecosystem/name@version/advisory` (plus `#n` for
//!   the n-th line of the same package in the same file), stable across runs as lines move.
//! - Suppressed findings are results with `suppressions` (kind `external`, the reason as
//!   justification, the rule's file as location): viewers show them as dismissed. ward keeps no
//!   severity for them, so they are `note`s.
//! - `invocations[0]`: `executionSuccessful` is false when the scan is incomplete; input and
//!   match errors, warnings and unchecked packages are tool notifications.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use ward_match::{Finding, Level, PackageFindings, Suppressed};

use crate::{advisory_source, ecosystem_name, Report};

/// The `$schema` of the document.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The base id relative lockfile paths are resolved against: the directory the scan ran in,
/// normally the repository root.
const SRCROOT: &str = "%SRCROOT%";

/// The SARIF level of a finding.
pub fn level(f: &Finding) -> &'static str {
    if f.kind.is_notice() {
        return "note";
    }
    match f.severity.level {
        Level::Critical | Level::High | Level::Unknown => "error",
        Level::Medium => "warning",
        Level::Low | Level::None => "note",
    }
}

/// The GitHub `security-severity` of a finding: a 0.0–10.0 score as text.
fn security_severity(f: &Finding) -> Option<String> {
    if f.kind.is_notice() || f.severity.level == Level::Unknown {
        return None;
    }
    Some(format!("{:.1}", f.severity.sort_score()))
}

/// Percent-encodes what may not appear in a URI path (RFC 3986 `pchar` and `/`).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An `artifactLocation`: absolute paths as `file://` URIs, relative ones against `%SRCROOT%`.
fn artifact(path: &str) -> Value {
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", uri_path(path)) })
    } else {
        json!({ "uri": uri_path(path.trim_start_matches("./")), "uriBaseId": SRCROOT })
    }
}

fn physical(path: &str, line: Option<u32>) -> Value {
    let mut location = json!({ "artifactLocation": artifact(path) });
    if let Some(line) = line.filter(|l| *l > 0) {
        location["region"] = json!({ "startLine": line });
    }
    json!({ "physicalLocation": location })
}

/// The rules, one per advisory id, in order of first appearance.
#[derive(Default)]
struct Rules {
    index: BTreeMap<String, usize>,
    rules: Vec<Value>,
}

impl Rules {
    fn add(&mut self, id: &str, rule: impl FnOnce() -> Value) -> usize {
        if let Some(i) = self.index.get(id) {
            return *i;
        }
        let i = self.rules.len();
        self.index.insert(id.to_string(), i);
        self.rules.push(rule());
        i
    }
}

/// Every package a finding's advisory is found in, for the rule's help.
fn occurrences<'a>(report: &'a Report<'_>) -> BTreeMap<&'a str, Vec<&'a PackageFindings>> {
    let mut by_id: BTreeMap<&str, Vec<&PackageFindings>> = BTreeMap::new();
    for (p, f) in report.scan.findings().chain(report.scan.notices()) {
        by_id.entry(f.id.as_str()).or_default().push(p);
    }
    by_id
}

fn rule(f: &Finding, packages: &[&PackageFindings]) -> Value {
    let ecosystem = packages.first().map(|p| p.package.ecosystem.kind().name()).unwrap_or("");
    let summary = f.summary.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let url = f.url.clone().or_else(|| advisory_source(&f.id).url);
    let mut full = match summary {
        Some(s) => format!("{}: {s}", f.kind.name()),
        None => f.kind.name().to_string(),
    };
    if !f.aliases.is_empty() {
        full.push_str(&format!(" (also {})", f.aliases.join(", ")));
    }

    let mut text = Vec::new();
    let mut markdown = Vec::new();
    let title = summary.unwrap_or(&f.id);
    text.push(format!("{}: {title}", f.id));
    let md_title = crate::markdown::text(title);
    markdown.push(match &url {
        Some(u) => format!("**[{}]({u})**: {md_title}", crate::markdown::text(&f.id)),
        None => format!("**{}**: {md_title}", crate::markdown::text(&f.id)),
    });
    let mut facts = Vec::new();
    if !f.aliases.is_empty() {
        facts.push(format!("Aliases: {}", f.aliases.join(", ")));
    }
    if !f.fixed.is_empty() {
        facts.push(format!("Fixed in: {}", f.fixed.join(", ")));
    } else if !f.kind.is_notice() {
        facts.push("Fixed in: no fixed version is known".to_string());
    }
    if !f.fixes.is_empty() {
        facts.push(format!("Fixes: {}", f.fixes.join(", ")));
    }
    for fact in facts {
        markdown.push(crate::markdown::text(&fact));
        text.push(fact);
    }
    let mut commands: Vec<&str> =
        packages.iter().filter_map(|p| p.fix_command.as_deref()).collect();
    commands.sort_unstable();
    commands.dedup();
    for command in commands {
        text.push(format!("Fix: {command}"));
        markdown.push(format!("Fix:\n\n```sh\n{command}\n```"));
    }

    let mut properties = json!({ "tags": ["security", f.kind.name(), ecosystem] });
    if let Some(score) = security_severity(f) {
        properties["security-severity"] = Value::String(score);
    }
    let mut rule = json!({
        "id": f.id,
        "shortDescription": { "text": title },
        "fullDescription": { "text": full },
        "help": { "text": text.join("\n"), "markdown": markdown.join("\n\n") },
        "defaultConfiguration": { "level": level(f) },
        "properties": properties,
    });
    if let Some(url) = url {
        rule["helpUri"] = Value::String(url);
    }
    rule
}

/// The rule of a suppressed finding whose advisory has no unsuppressed occurrence: ward keeps
/// only its id.
fn suppressed_rule(s: &Suppressed) -> Value {
    let mut rule = json!({
        "id": s.id,
        "shortDescription": { "text": s.id },
        "defaultConfiguration": { "level": "note" },
        "properties": { "tags": ["security", ecosystem_name(&s.ecosystem)] },
    });
    if let Some(url) = advisory_source(&s.id).url {
        rule["helpUri"] = Value::String(url);
    }
    rule
}

fn message(p: &PackageFindings, f: &Finding) -> String {
    let pkg = &p.package;
    let what = match f.summary.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => format!("{}: {s}", f.id),
        None => f.id.clone(),
    };
    if f.kind.is_notice() {
        return format!(
            "{} {} ({}): {what} ({}, not a vulnerability).",
            pkg.name,
            pkg.version,
            pkg.ecosystem,
            f.kind.name()
        );
    }
    let severity = match f.severity.score {
        Some(score) => format!("{} {score:.1}", f.severity.level),
        None => f.severity.level.to_string(),
    };
    let mut text = format!(
        "{} {} ({}) is affected by {what} ({severity}).",
        pkg.name, pkg.version, pkg.ecosystem
    );
    match (&p.upgrade, &p.fix_command) {
        (Some(to), Some(command)) => text.push_str(&format!(" Upgrade to {to}: {command}")),
        (Some(to), None) => text.push_str(&format!(" Upgrade to {to}.")),
        (None, _) if f.fixed.is_empty() => text.push_str(" No fixed version is known."),
        (None, _) => text.push_str(&format!(
            " Fixed in {}; no single version fixes every finding of the package yet.",
            f.fixed.join(", ")
        )),
    }
    text
}

fn result(p: &PackageFindings, f: &Finding, rule_index: usize) -> Vec<Value> {
    let pkg = &p.package;
    let lines = std::iter::once(pkg.location.line).chain(p.also_at.iter().copied().map(Some));
    lines
        .enumerate()
        .map(|(n, line)| {
            let mut fingerprint = format!(
                "{}:{}/{}@{}/{}",
                pkg.location.path, pkg.ecosystem, pkg.name, pkg.version, f.id
            );
            if n > 0 {
                fingerprint.push_str(&format!("#{}", n + 1));
            }
            let mut properties = Map::new();
            properties.insert("purl".into(), Value::String(pkg.purl()));
            if let Some(to) = &p.upgrade {
                properties.insert("upgrade".into(), Value::String(to.clone()));
            }
            json!({
                "ruleId": f.id,
                "ruleIndex": rule_index,
                "level": level(f),
                "message": { "text": message(p, f) },
                "locations": [physical(&pkg.location.path, line)],
                "partialFingerprints": { "ward/v1": fingerprint },
                "properties": properties,
            })
        })
        .collect()
}

/// `ward.toml:12` → the file and line; `app.vex.json#statements[3]` → the file.
fn rule_location(origin: &str) -> Value {
    let file = origin.split_once('#').map_or(origin, |(file, _)| file);
    match file.rsplit_once(':') {
        Some((path, line)) if !path.is_empty() => match line.parse::<u32>() {
            Ok(line) => physical(path, Some(line)),
            Err(_) => physical(file, None),
        },
        _ => physical(file, None),
    }
}

fn suppressed_result(s: &Suppressed, rule_index: usize) -> Value {
    let mut justification = format!("{} ({})", s.reason, s.rule);
    if let Some(until) = &s.expires {
        justification.push_str(&format!(", until {until}"));
    }
    json!({
        "ruleId": s.id,
        "ruleIndex": rule_index,
        "level": "note",
        "message": {
            "text": format!("{} {} ({}) is affected by {} (suppressed: {}).",
                s.package, s.version, s.ecosystem, s.id, s.reason),
        },
        "locations": [physical(&s.path, None)],
        "partialFingerprints": {
            "ward/v1": format!("{}:{}/{}@{}/{}", s.path, s.ecosystem, s.package, s.version, s.id),
        },
        "suppressions": [{
            "kind": "external",
            "status": "accepted",
            "justification": justification,
            "location": rule_location(&s.rule),
        }],
    })
}

fn notification(level: &str, text: String, location: Option<Value>) -> Value {
    let mut n = json!({ "level": level, "message": { "text": text } });
    if let Some(location) = location {
        n["locations"] = json!([location]);
    }
    n
}

/// The SARIF log of a report.
pub fn document(report: &Report<'_>) -> Value {
    let scan = report.scan;
    let occurrences = occurrences(report);
    let mut rules = Rules::default();
    let mut results = Vec::new();
    for p in &scan.results {
        for f in p.findings.iter().chain(&p.notices) {
            let packages = occurrences.get(f.id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let index = rules.add(&f.id, || rule(f, packages));
            results.extend(result(p, f, index));
        }
    }
    for s in &scan.suppressed {
        let index = rules.add(&s.id, || suppressed_rule(s));
        results.push(suppressed_result(s, index));
    }

    let mut notifications = Vec::new();
    for e in report.input_errors {
        notifications.push(notification(
            "error",
            e.message.clone(),
            Some(physical(&e.path, e.line)),
        ));
    }
    for e in &scan.errors {
        let advisory = e.advisory.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
        notifications.push(notification(
            "error",
            format!("{} {} {}{advisory}: {}", e.ecosystem, e.package, e.version, e.message),
            None,
        ));
    }
    for w in &scan.warnings {
        notifications.push(notification("warning", w.clone(), None));
    }
    for u in &scan.unchecked {
        let pkg = &u.package;
        notifications.push(notification(
            "warning",
            format!(
                "not checked: {} ({}): {}",
                format!("{} {}", pkg.name, pkg.version).trim_end(),
                pkg.ecosystem,
                u.reason
            ),
            Some(physical(&pkg.location.path, pkg.location.line)),
        ));
    }

    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "ward",
                    "version": report.tool_version,
                    "informationUri": env!("CARGO_PKG_REPOSITORY"),
                    "rules": rules.rules,
                },
            },
            "originalUriBaseIds": {
                SRCROOT: { "description": { "text": "The directory ward scan ran in." } },
            },
            "invocations": [{
                "executionSuccessful": !report.incomplete(),
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    })
}

/// The SARIF log as pretty-printed JSON with a final newline.
pub fn render(report: &Report<'_>) -> Vec<u8> {
    crate::pretty_json(&document(report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn snapshot() {
        let scan = fixture::scan();
        let text = String::from_utf8(render(&fixture::report(&scan))).unwrap();
        insta::assert_snapshot!(text);
    }

    #[test]
    fn levels_follow_severity_and_unrated_findings_are_errors() {
        let scan = fixture::scan();
        let doc = document(&fixture::report(&scan));
        let levels: Vec<(&str, &str)> = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["ruleId"].as_str().unwrap(), r["level"].as_str().unwrap()))
            .collect();
        assert_eq!(
            levels,
            [
                ("RUSTSEC-2023-0044", "error"),
                ("DEBIAN-SECURITY-UPDATE:bookworm-security:openssl:3.0.15-1~deb12u1", "error"),
                ("GHSA-29mw-wpgm-hmr9", "warning"),
                ("GHSA-29mw-wpgm-hmr9", "warning"),
                ("RUSTSEC-2021-0139", "note"),
                ("RUSTSEC-2024-0332", "note"),
                ("GHSA-952p-6rrq-rcjv", "note"),
            ]
        );
    }

    #[test]
    fn every_line_of_a_package_is_a_result_with_its_own_fingerprint() {
        let scan = fixture::scan();
        let doc = document(&fixture::report(&scan));
        let lodash: Vec<&Value> = doc["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["ruleId"] == "GHSA-29mw-wpgm-hmr9")
            .collect();
        let at: Vec<(&Value, &Value)> = lodash
            .iter()
            .map(|r| {
                (
                    &r["locations"][0]["physicalLocation"]["region"]["startLine"],
                    &r["partialFingerprints"]["ward/v1"],
                )
            })
            .collect();
        assert_eq!(
            at,
            [
                (
                    &json!(120),
                    &json!("web/package-lock.json:npm/lodash@4.17.20/GHSA-29mw-wpgm-hmr9")
                ),
                (
                    &json!(348),
                    &json!("web/package-lock.json:npm/lodash@4.17.20/GHSA-29mw-wpgm-hmr9#2")
                ),
            ]
        );
    }

    #[test]
    fn an_incomplete_scan_is_an_unsuccessful_invocation_with_notifications() {
        let mut scan = fixture::scan();
        scan.warnings.push("ward.toml:3: the rule expired on 2026-01-01".into());
        let errors = [ward_inventory::ParseError::new("broken/composer.lock", Some(3), "not JSON")];
        let mut report = fixture::report(&scan);
        report.input_errors = &errors;
        let doc = document(&report);
        let invocation = &doc["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], json!(false));
        assert_eq!(
            invocation["toolExecutionNotifications"],
            json!([
                {
                    "level": "error",
                    "message": { "text": "not JSON" },
                    "locations": [physical("broken/composer.lock", Some(3))],
                },
                {
                    "level": "warning",
                    "message": { "text": "ward.toml:3: the rule expired on 2026-01-01" },
                },
            ])
        );
    }

    #[test]
    fn paths_become_uris() {
        assert_eq!(
            artifact("./Cargo.lock"),
            json!({"uri": "Cargo.lock", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(artifact("/var/lib/dpkg/status"), json!({"uri": "file:///var/lib/dpkg/status"}));
        assert_eq!(
            artifact("my app/100%.lock"),
            json!({"uri": "my%20app/100%25.lock", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(rule_location("ward.toml:12"), physical("ward.toml", Some(12)));
        assert_eq!(rule_location("a.vex.json#statements[3]"), physical("a.vex.json", None));
    }
}
