//! PHP Security Advisories (FriendsOfPHP) YAML → OSV records for the Packagist ecosystem.
//!
//! One file is one advisory for one Composer package (`reference: composer://vendor/pkg`); each
//! branch's `versions` list is a conjunction of Composer comparators. The exact constraints are
//! kept in `affected[0].database_specific.constraints` (one per branch, `>=8.0.0,<9.3.19`),
//! checked with ward-version's Composer parser; each branch also becomes an OSV ECOSYSTEM range
//! when its comparators convert exactly (see [`super::comparators`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use ward_version::packagist::ComposerConstraint;
use ward_version::{Ecosystem, EcosystemKind};

use super::{comparators, path_error, text, ImportError, Parsed};
use crate::model::{Affected, EcosystemName, Package, Range, Record, Reference};

/// The id prefix ward gives these advisories (the feed has no ids of its own).
pub const ID_PREFIX: &str = "FRIENDSOFPHP-";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advisory {
    title: String,
    link: String,
    #[serde(default)]
    cve: Option<String>,
    branches: BTreeMap<String, Branch>,
    reference: String,
    #[serde(rename = "composer-repository", default)]
    composer_repository: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Branch {
    #[serde(default)]
    time: Option<serde_yaml_ng::Value>,
    versions: Vec<String>,
}

/// Parses one advisory file; `path` should end in `vendor/package/name.yaml`.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = match text(path, bytes) {
        Ok(t) => t,
        Err(p) => return p,
    };
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    let advisory: Advisory = match serde_path_to_error::deserialize(deserializer) {
        Ok(a) => a,
        Err(e) => return Parsed { errors: vec![path_error(path, e)], ..Parsed::default() },
    };
    match convert(path, advisory) {
        Ok(record) => Parsed::records(vec![record], Vec::new()),
        Err(errors) => Parsed::records(Vec::new(), errors),
    }
}

fn convert(path: &str, a: Advisory) -> Result<Record, Vec<ImportError>> {
    let mut errors = Vec::new();
    let package = match a.reference.strip_prefix("composer://") {
        Some(p) if p.contains('/') && !p.ends_with('/') => p.to_string(),
        _ => {
            errors.push(ImportError::new(
                path,
                "reference",
                format!("{:?} is not composer://vendor/package", a.reference),
            ));
            String::new()
        }
    };
    let stem = path.rsplit(['/', '\\', '!']).next().unwrap_or(path);
    let stem = stem.strip_suffix(".yaml").or_else(|| stem.strip_suffix(".yml")).unwrap_or(stem);
    let mut ranges = Vec::new();
    let mut constraints = Vec::new();
    let mut branches = serde_json::Map::new();
    let mut times: Vec<String> = Vec::new();
    let mut all_exact = true;
    for (name, branch) in &a.branches {
        let field = format!("branches.{name}.versions");
        if branch.versions.is_empty() {
            errors.push(ImportError::new(path, &field, "no version constraint"));
            continue;
        }
        let constraint = branch.versions.join(",");
        if let Err(e) = ComposerConstraint::parse(&constraint) {
            errors.push(ImportError::new(path, &field, e.to_string()));
            continue;
        }
        let comparators: Vec<&str> = branch.versions.iter().map(String::as_str).collect();
        match comparators::to_events(&comparators) {
            Some(events) => ranges.push(Range {
                kind: "ECOSYSTEM".to_string(),
                repo: None,
                events,
                database_specific: None,
            }),
            None => all_exact = false,
        }
        let time = branch.time.as_ref().and_then(yaml_time);
        if let Some(t) = &time {
            times.push(t.clone());
        }
        branches.insert(name.clone(), json!({ "time": time, "versions": branch.versions }));
        constraints.push(constraint);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    times.sort();
    let from_name = stem.get(..10).filter(|d| looks_like_date(d)).map(|d| format!("{d}T00:00:00Z"));
    let published = times.first().cloned().or(from_name);
    let modified = times.last().cloned().or_else(|| published.clone());
    let mut database_specific = json!({
        "source": "friendsofphp",
        "constraints": constraints,
        "branches": branches,
    });
    if !all_exact {
        database_specific["ranges_inexact"] = json!(true);
    }
    if let Some(repository) = a.composer_repository {
        database_specific["composer-repository"] = repository;
    }
    let aliases = a
        .cve
        .into_iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c != "~")
        .collect();
    Ok(Record {
        schema_version: Some("1.7.0".to_string()),
        id: format!("{ID_PREFIX}{package}/{stem}"),
        modified: modified.unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string()),
        published,
        withdrawn: None,
        aliases,
        related: Vec::new(),
        upstream: Vec::new(),
        summary: Some(a.title),
        details: None,
        severity: Vec::new(),
        affected: vec![Affected {
            package: Some(Package {
                ecosystem: EcosystemName::from_ecosystem(Ecosystem::new(EcosystemKind::Packagist)),
                purl: Some(format!("pkg:composer/{package}")),
                name: package,
            }),
            severity: Vec::new(),
            ranges,
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: Some(database_specific),
        }],
        references: vec![Reference { kind: "ADVISORY".to_string(), url: a.link }],
        credits: Vec::new(),
        database_specific: None,
    })
}

/// `2018-10-17 22:19:00` (a YAML timestamp) → `2018-10-17T22:19:00Z`.
fn yaml_time(value: &serde_yaml_ng::Value) -> Option<String> {
    let text = match value {
        serde_yaml_ng::Value::String(s) => s.trim().to_string(),
        serde_yaml_ng::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if text.len() >= 19 && looks_like_date(&text[..10]) {
        Some(format!("{}T{}Z", &text[..10], &text[11..19]))
    } else if text.len() >= 10 && looks_like_date(&text[..10]) {
        Some(format!("{}T00:00:00Z", &text[..10]))
    } else {
        None
    }
}

fn looks_like_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drupal_core_branches() {
        let yaml = "title: Access bypass\nlink: https://www.drupal.org/sa-core-2018-006\ncve: CVE-2018-1\nbranches:\n    8.5.x:\n        time:     2018-10-17 22:19:00\n        versions: ['>=8.5.0','<8.5.8']\n    7.x:\n        time: ~\n        versions: ['>7.0','<7.60']\nreference: composer://drupal/core\n";
        let parsed = parse("drupal/core/2018-10-17-1.yaml", yaml.as_bytes());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let r = &parsed.records[0];
        assert_eq!(r.id, "FRIENDSOFPHP-drupal/core/2018-10-17-1");
        assert_eq!(r.aliases, ["CVE-2018-1"]);
        assert_eq!(r.published.as_deref(), Some("2018-10-17T22:19:00Z"));
        let a = &r.affected[0];
        assert_eq!(a.package.as_ref().map(|p| p.name.as_str()), Some("drupal/core"));
        // `>7.0` has no exact OSV form: only the 8.5.x branch becomes events.
        assert_eq!(a.ranges.len(), 1);
        let db = a.database_specific.as_ref().unwrap();
        assert_eq!(db["constraints"], json!([">7.0,<7.60", ">=8.5.0,<8.5.8"]));
        assert_eq!(db["ranges_inexact"], json!(true));
    }

    #[test]
    fn bad_reference_names_the_field() {
        let yaml = "title: t\nlink: l\nbranches: {}\nreference: drupal/core\n";
        let parsed = parse("x/y/z.yaml", yaml.as_bytes());
        assert_eq!(parsed.errors[0].field, "reference");
        let parsed =
            parse("x/y/z.yaml", b"title: t\nlink: l\nbranches: {}\nreference: r\nextra: 1\n");
        assert!(parsed.errors[0].message.contains("unknown field `extra`"), "{:?}", parsed.errors);
    }
}
