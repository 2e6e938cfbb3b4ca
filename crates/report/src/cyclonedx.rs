//! CycloneDX 1.6 JSON with `vulnerabilities` (a VEX document): the packages the scan found
//! something in as `components` (written as `ward inventory --format cyclonedx` writes them),
//! and one vulnerability per (package, finding), suppressed ones with an `analysis`.
//!
//! Mapping:
//! - `ratings[]`: the CVSS score and vector (`CVSSv4`, `CVSSv31`, `CVSSv3`), or a feed's own
//!   rating as method `other`; `severity` is ward's level (`unknown` when nothing rates it).
//!   Notices (unmaintained, unsound) are rated `info` and carry `ward:kind`.
//! - `source`: the database of the id (RustSec, GitHub, NVD, Go, Debian, Ubuntu, else OSV);
//!   `references[]`: the aliases, each with its own source.
//! - `recommendation`: the smallest upgrade and the command that performs it.
//! - Suppressed findings, `analysis`:
//!   - by an OpenVEX statement (the rule is `file#statements[i]`): `not_affected` with the
//!     OpenVEX justification translated (`component_not_present` and
//!     `vulnerable_code_not_present` → `code_not_present`, `vulnerable_code_not_in_execute_path`
//!     → `code_not_reachable`, `vulnerable_code_cannot_be_controlled_by_adversary` →
//!     `requires_environment`, `inline_mitigations_already_exist` →
//!     `protected_by_mitigating_control`), or `resolved` for a `fixed` statement;
//!   - by a `ward.toml` ignore rule: `in_triage`. An ignore rule records a decision not to act
//!     yet (with a free-text reason and an expiry), not a claim that the package is unaffected
//!     (`not_affected`, `false_positive`) or exploitable; `in_triage` claims neither. The
//!     reason, the rule and the expiry go in `detail`.
//! - Deterministic: no timestamp and no serial number, so the same scan gives the same bytes.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use ward_inventory::{Location, Package};
use ward_match::severity::Basis;
use ward_match::{Finding, PackageFindings, Suppressed};
use ward_version::Ecosystem;

use crate::{advisory_source, from_vex, Report};

/// The `$schema` of the document.
pub const CYCLONEDX_SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";

fn source(id: &str) -> Value {
    let s = advisory_source(id);
    match s.url {
        Some(url) => json!({ "name": s.name, "url": url }),
        None => json!({ "name": s.name }),
    }
}

/// `ratings[]` of a finding.
fn ratings(f: &Finding) -> Value {
    if f.kind.is_notice() {
        return json!([{ "severity": "info", "method": "other" }]);
    }
    let severity = f.severity.level.name();
    let mut rating = match &f.severity.basis {
        Basis::CvssV4 { vector } => json!({ "method": "CVSSv4", "vector": vector }),
        Basis::CvssV3 { vector } if vector.starts_with("CVSS:3.0/") => {
            json!({ "method": "CVSSv3", "vector": vector })
        }
        Basis::CvssV3 { vector } => json!({ "method": "CVSSv31", "vector": vector }),
        Basis::Rating { rating } => {
            json!({ "method": "other", "justification": format!("the feed rates it {rating:?}") })
        }
        Basis::None => json!({}),
    };
    rating["severity"] = Value::String(severity.to_string());
    if let Some(score) = f.severity.score {
        rating["score"] = json!(score);
    }
    json!([rating])
}

/// An RFC 3339 date-time as the schema's `date-time` format wants it; a bare date is taken as
/// midnight UTC; anything else is left out rather than written invalid.
fn date_time(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let date = digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10);
    if !date {
        return None;
    }
    if b.len() == 10 {
        return Some(format!("{text}T00:00:00Z"));
    }
    let time = matches!(b.get(10), Some(b'T' | b't'))
        && digits(11..13)
        && b.get(13) == Some(&b':')
        && digits(14..16)
        && b.get(16) == Some(&b':')
        && digits(17..19);
    if !time {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let zone = match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    };
    zone.then(|| text.to_string())
}

fn recommendation(p: &PackageFindings, f: &Finding) -> Option<String> {
    if f.kind.is_notice() {
        return None;
    }
    Some(match (&p.upgrade, &p.fix_command) {
        (Some(to), Some(command)) => format!("Upgrade {} to {to}: {command}", p.package.name),
        (Some(to), None) => format!("Upgrade {} to {to}.", p.package.name),
        (None, _) if f.fixed.is_empty() => "No fixed version is known.".to_string(),
        (None, _) => format!(
            "Fixed in {}; no single version fixes every finding of {} yet.",
            f.fixed.join(", "),
            p.package.name
        ),
    })
}

/// `affects[]`: the component at its version, `affected` unless a VEX statement says otherwise.
fn affects(bom_ref: &str, version: &str, status: &str) -> Value {
    json!([{ "ref": bom_ref, "versions": [{ "version": version, "status": status }] }])
}

fn vulnerability(p: &PackageFindings, f: &Finding, component: &str) -> Value {
    let mut v = json!({
        "bom-ref": format!("{}/{component}", f.id),
        "id": f.id,
        "source": source(&f.id),
        "ratings": ratings(f),
        "affects": affects(component, &p.package.version, "affected"),
    });
    if !f.aliases.is_empty() {
        v["references"] =
            f.aliases.iter().map(|a| json!({ "id": a, "source": source(a) })).collect();
    }
    if let Some(summary) = f.summary.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        v["description"] = Value::String(summary.to_string());
    }
    if let Some(text) = recommendation(p, f) {
        v["recommendation"] = Value::String(text);
    }
    if let Some(url) = &f.url {
        v["advisories"] = json!([{ "url": url }]);
    }
    if let Some(published) = f.published.as_deref().and_then(date_time) {
        v["published"] = Value::String(published);
    }
    let mut properties = vec![json!({ "name": "ward:kind", "value": f.kind.name() })];
    if let Some(kev) = &f.kev {
        properties.push(json!({ "name": "ward:kev", "value": kev.date_added }));
    }
    if let Some(epss) = &f.epss {
        properties.push(json!({ "name": "ward:epss", "value": format!("{}", epss.score) }));
    }
    if !f.fixed.is_empty() {
        properties.push(json!({ "name": "ward:fixed", "value": f.fixed.join(", ") }));
    }
    if !f.fixes.is_empty() {
        properties.push(json!({ "name": "ward:fixes", "value": f.fixes.join(", ") }));
    }
    v["properties"] = Value::Array(properties);
    v
}

/// The CycloneDX justification of an OpenVEX one.
fn justification(openvex: &str) -> Option<&'static str> {
    Some(match openvex {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "requires_environment",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        _ => return None,
    })
}

/// The `analysis` of a suppressed finding (see the module documentation).
fn analysis(s: &Suppressed) -> Value {
    let mut detail = format!("{} ({})", s.reason, s.rule);
    if let Some(until) = &s.expires {
        detail.push_str(&format!(", until {until}"));
    }
    if !from_vex(s) {
        return json!({ "state": "in_triage", "detail": detail });
    }
    // The matcher writes `VEX <status>` or `VEX <status>: <justification or impact>`.
    let statement = s.reason.strip_prefix("VEX ").unwrap_or(&s.reason);
    let (status, said) = statement.split_once(": ").unwrap_or((statement, ""));
    let mut a = match status {
        "fixed" => json!({ "state": "resolved" }),
        _ => json!({ "state": "not_affected" }),
    };
    if let Some(j) = justification(said.trim()).filter(|_| status == "not_affected") {
        a["justification"] = Value::String(j.to_string());
    }
    a["detail"] = Value::String(detail);
    a
}

/// The package of a suppressed finding, when no result holds it.
fn suppressed_package(s: &Suppressed) -> Option<Package> {
    let ecosystem = Ecosystem::parse(&s.ecosystem).ok()?;
    let mut p = Package::new(
        ecosystem.kind(),
        s.package.clone(),
        s.version.clone(),
        Location { path: s.path.clone(), line: None },
    );
    p.ecosystem = ecosystem;
    Some(p)
}

type PackageKey<'a> = (String, &'a str, &'a str, &'a str);

fn key_of_package(p: &Package) -> PackageKey<'_> {
    (p.ecosystem.to_string(), p.name.as_str(), p.version.as_str(), p.location.path.as_str())
}

fn key_of_suppressed(s: &Suppressed) -> PackageKey<'_> {
    (s.ecosystem.clone(), s.package.as_str(), s.version.as_str(), s.path.as_str())
}

/// The CycloneDX document of a report.
pub fn document(report: &Report<'_>) -> Value {
    let scan = report.scan;
    let mut packages: Vec<Package> = scan.results.iter().map(|r| r.package.clone()).collect();
    let mut index: BTreeMap<PackageKey<'_>, usize> = BTreeMap::new();
    for (i, r) in scan.results.iter().enumerate() {
        index.entry(key_of_package(&r.package)).or_insert(i);
    }
    let mut suppressed_at = Vec::with_capacity(scan.suppressed.len());
    for s in &scan.suppressed {
        let key = key_of_suppressed(s);
        let at = match index.get(&key) {
            Some(i) => Some(*i),
            None => suppressed_package(s).map(|p| {
                packages.push(p);
                index.insert(key, packages.len() - 1);
                packages.len() - 1
            }),
        };
        suppressed_at.push(at);
    }

    let mut doc = ward_inventory::wire::cyclonedx(&packages, report.tool_version);
    let refs: Vec<String> = match doc["components"].as_array() {
        Some(components) => components
            .iter()
            .map(|c| c["bom-ref"].as_str().unwrap_or_default().to_string())
            .collect(),
        None => Vec::new(),
    };
    let bom_ref = |i: usize| refs.get(i).map(String::as_str).unwrap_or_default();

    // Every line that locks the package, as the table shows it (`Cargo.lock:12,40`).
    if let Some(components) = doc["components"].as_array_mut() {
        for (component, p) in components.iter_mut().zip(&scan.results) {
            if p.also_at.is_empty() {
                continue;
            }
            let more: Vec<String> = p.also_at.iter().map(u32::to_string).collect();
            let location = format!(
                "{},{}",
                crate::place(&p.package.location.path, p.package.location.line),
                more.join(",")
            );
            if let Some(properties) = component["properties"].as_array_mut() {
                for property in properties.iter_mut().filter(|x| x["name"] == "ward:location") {
                    property["value"] = Value::String(location.clone());
                }
            }
        }
    }

    let mut vulnerabilities = Vec::new();
    for (i, p) in scan.results.iter().enumerate() {
        for f in p.findings.iter().chain(&p.notices) {
            vulnerabilities.push(vulnerability(p, f, bom_ref(i)));
        }
    }
    for (s, at) in scan.suppressed.iter().zip(suppressed_at) {
        let mut v = json!({
            "id": s.id,
            "source": source(&s.id),
            "analysis": analysis(s),
        });
        if let Some(i) = at {
            v["bom-ref"] = Value::String(format!("{}/{}", s.id, bom_ref(i)));
            // A VEX statement says the version is not affected (or fixed); an ignore rule
            // leaves ward's match standing.
            let status = if from_vex(s) { "unaffected" } else { "affected" };
            v["affects"] = affects(bom_ref(i), &s.version, status);
        }
        vulnerabilities.push(v);
    }

    doc["$schema"] = Value::String(CYCLONEDX_SCHEMA.to_string());
    doc["vulnerabilities"] = Value::Array(vulnerabilities);
    if let Some(host) = &report.host {
        doc["metadata"]["properties"] = json!([{ "name": "ward:host", "value": host }]);
    }
    doc
}

/// The CycloneDX document as pretty-printed JSON with a final newline.
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
    fn suppressions_become_analyses() {
        let scan = fixture::scan();
        let doc = document(&fixture::report(&scan));
        let analyses: Vec<(&Value, &Value)> = doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v.get("analysis").is_some())
            .map(|v| (&v["id"], &v["analysis"]))
            .collect();
        assert_eq!(
            analyses,
            [
                (
                    &json!("RUSTSEC-2024-0332"),
                    &json!({
                        "state": "not_affected",
                        "justification": "code_not_reachable",
                        "detail": "VEX not_affected: vulnerable_code_not_in_execute_path (ward.vex.json#statements[0])",
                    })
                ),
                (
                    &json!("GHSA-952p-6rrq-rcjv"),
                    &json!({
                        "state": "in_triage",
                        "detail": "only matches our own globs (ward.toml:12), until 2027-01-31",
                    })
                ),
            ]
        );
    }

    #[test]
    fn bom_refs_are_unique_and_every_affects_ref_names_a_component() {
        let scan = fixture::scan();
        let doc = document(&fixture::report(&scan));
        let mut refs: Vec<&str> = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .chain(doc["vulnerabilities"].as_array().unwrap())
            .filter_map(|x| x["bom-ref"].as_str())
            .collect();
        let components = refs.len();
        refs.sort_unstable();
        refs.dedup();
        assert_eq!(refs.len(), components);
        for v in doc["vulnerabilities"].as_array().unwrap() {
            let target = v["affects"][0]["ref"].as_str().unwrap();
            assert!(
                doc["components"].as_array().unwrap().iter().any(|c| c["bom-ref"] == target),
                "{target}"
            );
        }
    }

    #[test]
    fn published_dates_are_rfc3339_or_left_out() {
        assert_eq!(date_time("2023-07-20").as_deref(), Some("2023-07-20T00:00:00Z"));
        assert_eq!(date_time("2023-07-20T12:00:00Z").as_deref(), Some("2023-07-20T12:00:00Z"));
        assert_eq!(
            date_time("2023-07-20T12:00:00.123+02:00").as_deref(),
            Some("2023-07-20T12:00:00.123+02:00")
        );
        assert_eq!(date_time("2023-07-20T12:00:00"), None);
        assert_eq!(date_time("20 July 2023"), None);
    }
}
