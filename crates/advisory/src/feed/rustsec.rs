//! RustSec advisories (Markdown with TOML front matter, or a bare `.toml`) → OSV, laid out as
//! RustSec's own OSV export writes them.
//!
//! `[versions] patched` and `unaffected` are Cargo version requirements; the affected versions
//! are the complement of their union, written as SEMVER events the way the export does
//! (`introduced: 0.0.0-0` for "from the start", `-0` pre-releases on lower bounds so that
//! pre-releases of a bound are covered). `informational = "unmaintained"` (and `unsound`,
//! `notice`) is kept in `affected[].database_specific.informational`.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{json, Value};
use ward_version::{Ecosystem, EcosystemKind, Scheme, Version};

use super::{path_error, text, ImportError, Parsed};
use crate::model::{
    Affected, EcosystemName, Package, Range, RangeEvent, Record, Reference, Severity,
};

/// Whether Markdown text starts with a ```` ```toml ```` front-matter block.
pub fn has_front_matter(text: &str) -> bool {
    text.trim_start_matches('\u{feff}').trim_start().starts_with("```toml")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    advisory: Metadata,
    #[serde(default)]
    versions: Versions,
    #[serde(default)]
    affected: Option<AffectedTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    id: String,
    package: String,
    date: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    cvss: Option<String>,
    #[serde(default)]
    informational: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    license: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    yanked: Option<bool>,
    #[serde(default, rename = "expect-deleted")]
    expect_deleted: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Versions {
    #[serde(default)]
    patched: Vec<String>,
    #[serde(default)]
    unaffected: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AffectedTable {
    #[serde(default)]
    arch: Vec<String>,
    #[serde(default)]
    os: Vec<String>,
    #[serde(default)]
    functions: std::collections::BTreeMap<String, Vec<String>>,
}

/// Parses one RustSec advisory file.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = match text(path, bytes) {
        Ok(t) => t,
        Err(p) => return p,
    };
    let (toml_text, markdown) = match split_front_matter(text) {
        Some(parts) => parts,
        None if path.ends_with(".toml") => (text, ""),
        None => return Parsed::error(path, "(document)", "no ```toml front matter"),
    };
    let document: Document = match toml::Deserializer::parse(toml_text)
        .map_err(|e| ImportError::new(path, "(front matter)", e.to_string()))
        .and_then(|d| serde_path_to_error::deserialize(d).map_err(|e| path_error(path, e)))
    {
        Ok(d) => d,
        Err(e) => return Parsed::records(Vec::new(), vec![e]),
    };
    match convert(path, document, markdown) {
        Ok(record) => Parsed::records(vec![record], Vec::new()),
        Err(e) => Parsed::records(Vec::new(), vec![e]),
    }
}

fn split_front_matter(text: &str) -> Option<(&str, &str)> {
    let rest = text.trim_start_matches('\u{feff}').trim_start().strip_prefix("```toml")?;
    let end = rest.find("\n```")?;
    let body = &rest[end + 4..];
    Some((&rest[..end], body.strip_prefix('\n').unwrap_or(body)))
}

fn convert(path: &str, d: Document, markdown: &str) -> Result<Record, ImportError> {
    let a = d.advisory;
    let (mut summary, mut details) = title_and_body(markdown);
    if let Some(t) = a.title {
        summary = Some(t);
    }
    if let Some(desc) = a.description {
        details = Some(desc.trim().to_string());
    }
    let date = |field: &str, value: &str| -> Result<String, ImportError> {
        let v = value.trim();
        if v.len() == 10 && v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-' {
            Ok(format!("{v}T12:00:00Z"))
        } else {
            Err(ImportError::new(path, field, format!("{v:?} is not a YYYY-MM-DD date")))
        }
    };
    let published = date("advisory.date", &a.date)?;
    let withdrawn = a.withdrawn.as_deref().map(|w| date("advisory.withdrawn", w)).transpose()?;
    let mut safe = Vec::new();
    for (field, reqs) in
        [("versions.patched", &d.versions.patched), ("versions.unaffected", &d.versions.unaffected)]
    {
        for (i, req) in reqs.iter().enumerate() {
            let interval = requirement(req)
                .map_err(|m| ImportError::new(path, &format!("{field}[{i}]"), m))?;
            safe.extend(interval);
        }
    }
    let events = affected_events(safe);
    let severity = match &a.cvss {
        Some(v) if v.starts_with("CVSS:4") => {
            vec![Severity { kind: "CVSS_V4".into(), score: v.clone() }]
        }
        Some(v) if v.starts_with("CVSS:3") => {
            vec![Severity { kind: "CVSS_V3".into(), score: v.clone() }]
        }
        Some(v) => {
            return Err(ImportError::new(
                path,
                "advisory.cvss",
                format!("{v:?} is not a CVSS v3 or v4 vector"),
            ))
        }
        None => Vec::new(),
    };
    // Advisories under `rust/<component>/` are about the toolchain (std, cargo, rustdoc), not a
    // crates.io package; RustSec's OSV export leaves them out. They keep their own ecosystem.
    let toolchain = is_toolchain_path(path);
    let affects = d.affected.unwrap_or(AffectedTable {
        arch: Vec::new(),
        os: Vec::new(),
        functions: Default::default(),
    });
    let functions: Vec<&String> = affects.functions.keys().collect();
    let mut references = Vec::new();
    if !toolchain {
        references.push(Reference {
            kind: "PACKAGE".into(),
            url: format!("https://crates.io/crates/{}", a.package),
        });
    }
    references.push(Reference {
        kind: "ADVISORY".into(),
        url: format!("https://rustsec.org/advisories/{}.html", a.id),
    });
    if let Some(url) = a.url {
        references.push(Reference { kind: "REPORT".into(), url });
    }
    references.extend(a.references.into_iter().map(|url| Reference { kind: "WEB".into(), url }));
    let mut database_specific = serde_json::Map::new();
    if let Some(license) = a.license {
        database_specific.insert("license".into(), json!(license));
    }
    if !a.keywords.is_empty() {
        database_specific.insert("keywords".into(), json!(a.keywords));
    }
    if let Some(source) = a.source {
        database_specific.insert("source".into(), json!(source));
    }
    for (key, value) in [("yanked", a.yanked), ("expect-deleted", a.expect_deleted)] {
        if let Some(v) = value {
            database_specific.insert(key.into(), json!(v));
        }
    }
    database_specific.insert(
        "versions".into(),
        json!({"patched": d.versions.patched, "unaffected": d.versions.unaffected}),
    );
    Ok(Record {
        schema_version: None,
        id: a.id,
        modified: published.clone(),
        published: Some(published),
        withdrawn,
        aliases: a.aliases,
        related: a.related,
        upstream: Vec::new(),
        summary,
        details,
        severity,
        affected: vec![Affected {
            package: Some(if toolchain {
                Package {
                    ecosystem: EcosystemName::new(TOOLCHAIN_ECOSYSTEM),
                    purl: None,
                    name: a.package,
                }
            } else {
                Package {
                    ecosystem: EcosystemName::from_ecosystem(Ecosystem::new(
                        EcosystemKind::CratesIo,
                    )),
                    purl: Some(format!("pkg:cargo/{}", a.package)),
                    name: a.package,
                }
            }),
            severity: Vec::new(),
            ranges: vec![Range {
                kind: "SEMVER".into(),
                repo: None,
                events,
                database_specific: None,
            }],
            versions: Vec::new(),
            ecosystem_specific: Some(json!({
                "affects": {"arch": affects.arch, "os": affects.os, "functions": functions},
                "affected_functions": Value::Null,
            })),
            database_specific: Some(json!({
                "categories": a.categories,
                "cvss": a.cvss,
                "informational": a.informational.map(|i| i.trim().to_string()),
            })),
        }],
        references,
        credits: Vec::new(),
        database_specific: Some(Value::Object(database_specific)),
    })
}

/// The ecosystem ward gives RustSec's advisories about the Rust toolchain itself.
pub const TOOLCHAIN_ECOSYSTEM: &str = "Rust toolchain";

/// `.../rust/<component>/<ID>.md`: an advisory in RustSec's `rust` collection.
fn is_toolchain_path(path: &str) -> bool {
    let parts: Vec<&str> = path.split(['/', '\\', '!']).collect();
    parts.len() >= 3 && parts[parts.len() - 3] == "rust"
}

/// `# Title\n\nBody` → (title, body).
fn title_and_body(markdown: &str) -> (Option<String>, Option<String>) {
    let text = markdown.trim_start();
    let Some(rest) = text.strip_prefix("# ") else {
        let body = text.trim();
        return (None, (!body.is_empty()).then(|| body.to_string()));
    };
    let (title, body) = rest.split_once('\n').unwrap_or((rest, ""));
    let body = body.trim();
    (Some(title.trim().to_string()), (!body.is_empty()).then(|| body.to_string()))
}

/// A point between versions: `(v, false)` is just below `v`, `(v, true)` just above it.
#[derive(Clone, Debug)]
struct Point {
    version: Version,
    text: String,
    above: bool,
}

impl Point {
    fn cmp(&self, other: &Point) -> Ordering {
        self.version
            .partial_cmp(&other.version)
            .unwrap_or(Ordering::Equal)
            .then(self.above.cmp(&other.above))
    }
}

/// A half-open interval of versions `[lo, hi)` between points; `None` is unbounded.
#[derive(Clone, Debug)]
struct Interval {
    lo: Option<Point>,
    hi: Option<Point>,
}

fn point(text: &str, above: bool) -> Result<Point, String> {
    let version = Version::parse(Scheme::Semver, text).map_err(|e| e.to_string())?;
    Ok(Point { version, text: text.to_string(), above })
}

/// `1.2` → (`1.2.0`, parts given = 2); pre-release and build kept on full versions.
fn complete(text: &str) -> Result<(String, usize, [u64; 3]), String> {
    let core = text.split(['-', '+']).next().unwrap_or(text);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(format!("{text:?} is not a version"));
    }
    let mut numbers = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        numbers[i] = p.parse().map_err(|_| format!("{text:?} is not a version"))?;
    }
    let full = if parts.len() == 3 {
        text.to_string()
    } else {
        format!("{}.{}.{}", numbers[0], numbers[1], numbers[2])
    };
    Ok((full, parts.len(), numbers))
}

/// One Cargo requirement (`>= 1.2, < 1.5`, `^0.3`, `~1.2.3`, `=1.0.0`, `*`) as an interval.
fn requirement(req: &str) -> Result<Option<Interval>, String> {
    let mut interval = Interval { lo: None, hi: None };
    for comparator in req.split(',') {
        let c = comparator.trim();
        if c.is_empty() {
            return Err(format!("empty comparator in {req:?}"));
        }
        if c == "*" {
            continue;
        }
        let op_len =
            c.find(|ch: char| !matches!(ch, '<' | '>' | '=' | '~' | '^')).unwrap_or(c.len());
        let (op, v) = (&c[..op_len], c[op_len..].trim());
        let (full, given, n) = complete(v).map_err(|m| format!("{m} (in {req:?})"))?;
        let next = |level: usize| -> String {
            match level {
                0 => format!("{}.0.0", n[0] + 1),
                1 => format!("{}.{}.0", n[0], n[1] + 1),
                _ => format!("{}.{}.{}", n[0], n[1], n[2] + 1),
            }
        };
        // Bounds derived from caret, tilde and partial versions end below the next release's
        // pre-releases (`^0.3.5` is `>=0.3.5, <0.4.0-0`), as RustSec's export writes them.
        let below_next = |level: usize| point(&format!("{}-0", next(level)), false);
        let pre = full.contains('-');
        let (lo, hi) = match op {
            ">=" => (Some(point(&full, false)?), None),
            ">" if given == 3 && !pre => (Some(point(&format!("{}-0", next(2)), false)?), None),
            ">" if given == 3 => (Some(point(&full, true)?), None),
            ">" => (Some(point(&next(given - 1), false)?), None),
            "<" => (None, Some(point(&full, false)?)),
            "<=" if given == 3 => (None, Some(point(&full, true)?)),
            "<=" => (None, Some(below_next(given - 1)?)),
            "=" if given == 3 => (Some(point(&full, false)?), Some(point(&full, true)?)),
            "=" => (Some(point(&full, false)?), Some(below_next(given - 1)?)),
            "~" => (Some(point(&full, false)?), Some(below_next(if given == 1 { 0 } else { 1 })?)),
            "^" | "" => {
                // The first non-zero part given may not change.
                let level = if n[0] > 0 || given == 1 {
                    0
                } else if n[1] > 0 || given == 2 {
                    1
                } else {
                    2
                };
                (Some(point(&full, false)?), Some(below_next(level)?))
            }
            other => return Err(format!("unknown operator {other:?} in {req:?}")),
        };
        if let Some(lo) = lo {
            if interval.lo.as_ref().is_none_or(|cur| lo.cmp(cur) == Ordering::Greater) {
                interval.lo = Some(lo);
            }
        }
        if let Some(hi) = hi {
            if interval.hi.as_ref().is_none_or(|cur| hi.cmp(cur) == Ordering::Less) {
                interval.hi = Some(hi);
            }
        }
    }
    if let (Some(lo), Some(hi)) = (&interval.lo, &interval.hi) {
        if lo.cmp(hi) != Ordering::Less {
            return Ok(None);
        }
    }
    Ok(Some(interval))
}

/// The SEMVER events of the complement of the union of the safe intervals.
fn affected_events(mut safe: Vec<Interval>) -> Vec<RangeEvent> {
    safe.sort_by(|a, b| match (&a.lo, &b.lo) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Less,
        (_, None) => Ordering::Greater,
        (Some(x), Some(y)) => x.cmp(y),
    });
    // Merge overlapping or touching intervals.
    let mut merged: Vec<Interval> = Vec::new();
    for interval in safe {
        if let Some(last) = merged.last_mut() {
            let touches = match (&last.hi, &interval.lo) {
                (None, _) => true,
                (_, None) => true,
                (Some(h), Some(l)) => l.cmp(h) != Ordering::Greater,
            };
            if touches {
                let extend = match (&last.hi, &interval.hi) {
                    (None, _) => false,
                    (_, None) => true,
                    (Some(h), Some(n)) => n.cmp(h) == Ordering::Greater,
                };
                if extend {
                    last.hi = interval.hi;
                }
                continue;
            }
        }
        merged.push(interval);
    }
    let mut events = Vec::new();
    let mut cursor: Option<Option<Point>> = Some(None); // Some(None) = from the start
    for interval in merged {
        if let Some(start) = cursor.take() {
            if let Some(lo) = &interval.lo {
                events.push(RangeEvent::Introduced(introduced(start.as_ref())));
                events.push(if lo.above {
                    RangeEvent::LastAffected(lo.text.clone())
                } else {
                    RangeEvent::Fixed(lo.text.clone())
                });
            }
        }
        cursor = interval.hi.map(Some);
    }
    if let Some(start) = cursor {
        events.push(RangeEvent::Introduced(introduced(start.as_ref())));
    }
    events
}

/// The `introduced` text for a gap starting at `start` (`None`: the very beginning).
fn introduced(start: Option<&Point>) -> String {
    match start {
        None => "0.0.0-0".to_string(),
        Some(p) if p.above => {
            let (_, _, n) = complete(&p.text).unwrap_or((String::new(), 3, [0, 0, 0]));
            format!("{}.{}.{}-0", n[0], n[1], n[2] + 1)
        }
        Some(p) => p.text.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(patched: &[&str], unaffected: &[&str], expect: &str) {
        let mut safe = Vec::new();
        for req in patched.iter().chain(unaffected) {
            safe.extend(requirement(req).unwrap());
        }
        let got: Vec<String> =
            affected_events(safe).iter().map(|e| format!("{}:{}", e.name(), e.version())).collect();
        assert_eq!(got.join(" "), expect, "{patched:?} {unaffected:?}");
    }

    #[test]
    fn requirements_to_events() {
        check(&[], &[], "introduced:0.0.0-0");
        check(&[">= 0.10.3"], &["< 0.10.0"], "introduced:0.10.0 fixed:0.10.3");
        check(&[">= 1.2.3"], &[], "introduced:0.0.0-0 fixed:1.2.3");
        check(
            &["^0.3.5", ">= 0.4.2"],
            &[],
            "introduced:0.0.0-0 fixed:0.3.5 introduced:0.4.0-0 fixed:0.4.2",
        );
        check(
            &["~1.2.3", ">= 1.3.1"],
            &[],
            "introduced:0.0.0-0 fixed:1.2.3 introduced:1.3.0-0 fixed:1.3.1",
        );
        check(
            &["^ 2.2.1", ">= 3.0.0-beta.9"],
            &[],
            "introduced:0.0.0-0 fixed:2.2.1 introduced:3.0.0-0 fixed:3.0.0-beta.9",
        );
        check(&["> 0.7.19"], &[], "introduced:0.0.0-0 fixed:0.7.20-0");
        check(&[">= 2.0"], &["<= 1.0.0"], "introduced:1.0.1-0 fixed:2.0.0");
        check(
            &[">= 1.0.1"],
            &["= 1.0.0"],
            "introduced:0.0.0-0 fixed:1.0.0 introduced:1.0.1-0 fixed:1.0.1",
        );
        check(&["*"], &[], "");
    }

    #[test]
    fn front_matter_and_fields() {
        let md = "```toml\n[advisory]\nid = \"RUSTSEC-2022-0057\"\npackage = \"badge\"\ndate = \"2022-08-31\"\ninformational = \"unmaintained\"\n\n[versions]\npatched = []\n```\n\n# badge is Unmaintained\n\nBody text.\n";
        let parsed = parse("crates/badge/RUSTSEC-2022-0057.md", md.as_bytes());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let r = &parsed.records[0];
        assert_eq!(r.summary.as_deref(), Some("badge is Unmaintained"));
        assert_eq!(r.details.as_deref(), Some("Body text."));
        assert_eq!(r.published.as_deref(), Some("2022-08-31T12:00:00Z"));
        assert_eq!(
            r.affected[0].database_specific.as_ref().unwrap()["informational"],
            json!("unmaintained")
        );
        let bad = md.replace("patched = []", "patched = [\">= x\"]");
        let parsed = parse("b.md", bad.as_bytes());
        assert_eq!(parsed.errors[0].field, "versions.patched[0]", "{:?}", parsed.errors);
        let bad = md.replace("package =", "pakage =");
        let parsed = parse("b.md", bad.as_bytes());
        assert!(parsed.errors[0].message.contains("pakage"), "{:?}", parsed.errors);
    }
}
