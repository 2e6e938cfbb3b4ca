//! Node.js security WG `vuln/npm/*.json` (the old Node Security Project advisories) → OSV.
//!
//! `vulnerable_versions` / `patched_versions` are npm ranges; both are kept exactly in
//! `affected[0].database_specific` and checked with ward-version's npm range parser. Each `||`
//! alternative becomes an OSV SEMVER range when it converts exactly. The folder's `index.json`
//! (every advisory again, keyed by id) is read too; the store keeps one record per id.

use serde::Deserialize;
use serde_json::{json, Value};
use ward_version::npm::{NpmOptions, NpmRange};
use ward_version::{Ecosystem, EcosystemKind};

use super::{comparators, path_error, ImportError, Parsed};
use crate::model::{
    null_as_default, Affected, Credit, EcosystemName, Package, Range, Record, Reference, Severity,
};

/// OSV's prefix for these advisories (osv.dev and GHSA refer to them as `NSWG-ECO-<n>`).
pub const ID_PREFIX: &str = "NSWG-ECO-";

#[derive(Debug, Deserialize)]
struct Advisory {
    id: u64,
    title: String,
    #[serde(default)]
    overview: Option<String>,
    #[serde(default)]
    recommendation: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    publish_date: Option<String>,
    #[serde(default)]
    author: Option<Author>,
    module_name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    cves: Vec<String>,
    vulnerable_versions: Option<String>,
    #[serde(default)]
    patched_versions: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    references: Vec<String>,
    #[serde(default)]
    cvss_vector: Option<String>,
    #[serde(default)]
    cvss_score: Option<f64>,
    #[serde(default)]
    coordinating_vendor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Author {
    name: Option<String>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    username: Option<String>,
}

/// Parses one advisory file, or the `index.json` map of all of them.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Parsed::error(path, "(document)", format!("invalid JSON: {e}")),
    };
    let is_index = value
        .as_object()
        .is_some_and(|o| !o.contains_key("module_name") && o.values().all(Value::is_object));
    let mut parsed = Parsed::default();
    if is_index {
        if let Value::Object(map) = value {
            for (key, item) in map {
                parsed.extend(one(&format!("{path}[{key}]"), item));
            }
        }
        return parsed;
    }
    one(path, value)
}

fn one(path: &str, value: Value) -> Parsed {
    let advisory: Advisory = match serde_path_to_error::deserialize(value) {
        Ok(a) => a,
        Err(e) => return Parsed { errors: vec![path_error(path, e)], ..Parsed::default() },
    };
    match convert(path, advisory) {
        Ok(record) => Parsed::records(vec![record], Vec::new()),
        Err(error) => Parsed::records(Vec::new(), vec![error]),
    }
}

fn convert(path: &str, a: Advisory) -> Result<Record, ImportError> {
    let options = NpmOptions::default();
    let vulnerable = a
        .vulnerable_versions
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| ImportError::new(path, "vulnerable_versions", "missing"))?;
    NpmRange::parse(&vulnerable, options)
        .map_err(|e| ImportError::new(path, "vulnerable_versions", e.to_string()))?;
    if let Some(p) = &a.patched_versions {
        NpmRange::parse(p, options)
            .map_err(|e| ImportError::new(path, "patched_versions", e.to_string()))?;
    }
    let mut ranges = Vec::new();
    let mut exact = true;
    for alternative in vulnerable.split("||") {
        let words = join_operators(alternative);
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        match comparators::to_events(&refs) {
            Some(events) => ranges.push(Range {
                kind: "SEMVER".into(),
                repo: None,
                events,
                database_specific: None,
            }),
            None => exact = false,
        }
    }
    if !exact {
        ranges.clear();
    }
    let mut database_specific = json!({
        "source": "nodejs-security-wg",
        "vulnerable_versions": vulnerable,
        "patched_versions": a.patched_versions,
    });
    if !exact {
        database_specific["ranges_inexact"] = json!(true);
    }
    if let Some(score) = a.cvss_score {
        database_specific["cvss_score"] = json!(score);
    }
    if let Some(vendor) = a.coordinating_vendor {
        database_specific["coordinating_vendor"] = json!(vendor);
    }
    if let Some(created) = a.created_at.as_deref().and_then(date_time) {
        database_specific["created_at"] = json!(created);
    }
    let severity = a
        .cvss_vector
        .filter(|v| v.starts_with("CVSS:3."))
        .map(|score| Severity { kind: "CVSS_V3".into(), score })
        .into_iter()
        .collect();
    let details = match (a.overview, a.recommendation) {
        (Some(o), Some(r)) if !r.trim().is_empty() => {
            Some(format!("{o}\n\n## Recommendation\n\n{r}"))
        }
        (Some(o), _) => Some(o),
        (None, r) => r,
    };
    let published = a.publish_date.as_deref().and_then(date_time);
    let modified = a.updated_at.as_deref().and_then(date_time).or_else(|| published.clone());
    let mut references: Vec<Reference> = vec![Reference {
        kind: "ADVISORY".into(),
        url: format!("https://github.com/nodejs/security-wg/blob/main/vuln/npm/{}.json", a.id),
    }];
    references.extend(
        a.references
            .into_iter()
            .filter(|u| !u.trim().is_empty())
            .map(|url| Reference { kind: "WEB".into(), url }),
    );
    let credits = a
        .author
        .and_then(|au| {
            let name = au.name.filter(|n| !n.trim().is_empty())?;
            let contact =
                au.website.into_iter().chain(au.username.map(|u| format!("@{u}"))).collect();
            Some(Credit { name, contact, kind: Some("FINDER".into()) })
        })
        .into_iter()
        .collect();
    Ok(Record {
        schema_version: Some("1.7.0".into()),
        id: format!("{ID_PREFIX}{}", a.id),
        modified: modified.unwrap_or_else(|| "1970-01-01T00:00:00Z".into()),
        published,
        withdrawn: None,
        aliases: a.cves.into_iter().filter(|c| !c.trim().is_empty()).collect(),
        related: Vec::new(),
        upstream: Vec::new(),
        summary: Some(a.title),
        details,
        severity,
        affected: vec![Affected {
            package: Some(Package {
                ecosystem: EcosystemName::from_ecosystem(Ecosystem::new(EcosystemKind::Npm)),
                purl: Some(format!("pkg:npm/{}", a.module_name.replace('@', "%40"))),
                name: a.module_name,
            }),
            severity: Vec::new(),
            ranges,
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: Some(database_specific),
        }],
        references,
        credits,
        database_specific: None,
    })
}

/// `>= 1.0.0 < 1.4.6` → [`>=1.0.0`, `<1.4.6`]: operators written apart from their version.
fn join_operators(set: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut pending = String::new();
    for word in set.split_whitespace() {
        if word.chars().all(|c| matches!(c, '<' | '>' | '=' | '~' | '^')) {
            pending.push_str(word);
        } else {
            out.push(format!("{pending}{}", word.strip_prefix('v').unwrap_or(word)));
            pending.clear();
        }
    }
    if !pending.is_empty() {
        out.push(pending);
    }
    out
}

/// `2018-04-09` or a full timestamp → RFC 3339.
fn date_time(text: &str) -> Option<String> {
    let t = text.trim();
    if t.len() == 10 {
        Some(format!("{t}T00:00:00Z"))
    } else if t.len() > 10 {
        Some(t.to_string())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vulnerable: &str, expect_ranges: usize) {
        let json = format!(
            r#"{{"id":7,"title":"t","module_name":"m","vulnerable_versions":"{vulnerable}","patched_versions":null,"publish_date":"2018-04-09","cvss_vector":"CVSS:3.0/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L"}}"#
        );
        let parsed = parse("7.json", json.as_bytes());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let r = &parsed.records[0];
        assert_eq!(r.id, "NSWG-ECO-7");
        assert_eq!(r.severity[0].kind, "CVSS_V3");
        let a = &r.affected[0];
        assert_eq!(a.ranges.len(), expect_ranges, "{vulnerable}");
        assert_eq!(a.database_specific.as_ref().unwrap()["vulnerable_versions"], json!(vulnerable));
    }

    #[test]
    fn ranges() {
        check("<=1.0.0", 1);
        check("<1.6.5 || >=1.7.0 <1.7.2", 2);
        check(">= 1.0.0 < 1.4.6 || 2.0.0", 2);
        check("<1.6.5 || < 2.1.7 > 2.0.0", 0);
        check("*", 1);
    }

    #[test]
    fn bad_range_names_the_field() {
        let parsed = parse(
            "1.json",
            br#"{"id":1,"title":"t","module_name":"m","vulnerable_versions":">=>=1"}"#,
        );
        assert_eq!(parsed.errors[0].field, "vulnerable_versions", "{:?}", parsed.errors);
    }
}
