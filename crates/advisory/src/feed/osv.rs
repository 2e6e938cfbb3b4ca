//! OSV records written as JSON or YAML, checked against the OSV 1.7 schema's rules.
//!
//! A file holds one record, or (as some exports do) a JSON array of records. A record that does
//! not deserialize, or breaks a schema rule ward relies on, is rejected with an error naming the
//! field; the others in the same input are kept.

use serde_json::Value;

use super::{path_error, text, ImportError, Parsed};
use crate::model::{Range, RangeEvent, Record};

/// Parses OSV JSON: one record or an array of records.
pub fn parse_json(path: &str, bytes: &[u8]) -> Parsed {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => return Parsed::error(path, "(document)", format!("invalid JSON: {e}")),
    };
    from_value(path, value)
}

/// Parses OSV YAML (PyPA's advisory database writes OSV this way).
pub fn parse_yaml(path: &str, bytes: &[u8]) -> Parsed {
    let text = match text(path, bytes) {
        Ok(t) => t,
        Err(p) => return p,
    };
    let deserializer = serde_yaml_ng::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, Record>(deserializer) {
        Ok(record) => one(path, record),
        Err(e) => Parsed { errors: vec![path_error(path, e)], ..Parsed::default() },
    }
}

fn from_value(path: &str, value: Value) -> Parsed {
    match value {
        Value::Array(items) => {
            let mut parsed = Parsed::default();
            for (i, item) in items.into_iter().enumerate() {
                let member = format!("{path}[{i}]");
                parsed.extend(from_value(&member, item));
            }
            parsed
        }
        value => match serde_path_to_error::deserialize::<_, Record>(value) {
            Ok(record) => one(path, record),
            Err(e) => Parsed { errors: vec![path_error(path, e)], ..Parsed::default() },
        },
    }
}

fn one(path: &str, record: Record) -> Parsed {
    let errors = validate(path, &record);
    if errors.is_empty() {
        Parsed::records(vec![record], Vec::new())
    } else {
        Parsed::records(Vec::new(), errors)
    }
}

/// The OSV schema rules a record must keep to be imported: every problem, not just the first.
pub fn validate(path: &str, record: &Record) -> Vec<ImportError> {
    let mut errors = Vec::new();
    let mut err =
        |field: String, message: String| errors.push(ImportError::new(path, &field, message));
    if record.id.trim().is_empty() {
        err("id".into(), "the id is empty".into());
    } else if record.id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        err("id".into(), format!("the id {:?} contains whitespace", record.id));
    }
    if record.modified.is_empty() {
        err("modified".into(), "missing field `modified` (required by OSV)".into());
    } else if !looks_like_timestamp(&record.modified) {
        err("modified".into(), format!("{:?} is not an RFC 3339 timestamp", record.modified));
    }
    for (name, value) in [("published", &record.published), ("withdrawn", &record.withdrawn)] {
        if let Some(v) = value {
            if !looks_like_timestamp(v) {
                err(name.into(), format!("{v:?} is not an RFC 3339 timestamp"));
            }
        }
    }
    for (i, s) in record.severity.iter().enumerate() {
        check_severity(&format!("severity[{i}]"), &s.kind, &s.score, &mut err);
    }
    for (a, affected) in record.affected.iter().enumerate() {
        if let Some(package) = &affected.package {
            if package.name.trim().is_empty() {
                err(format!("affected[{a}].package.name"), "the package name is empty".into());
            }
            if package.ecosystem.as_str().trim().is_empty() {
                err(format!("affected[{a}].package.ecosystem"), "the ecosystem is empty".into());
            }
        }
        for (i, s) in affected.severity.iter().enumerate() {
            check_severity(&format!("affected[{a}].severity[{i}]"), &s.kind, &s.score, &mut err);
        }
        for (r, range) in affected.ranges.iter().enumerate() {
            check_range(&format!("affected[{a}].ranges[{r}]"), range, &mut err);
        }
    }
    for (i, reference) in record.references.iter().enumerate() {
        if reference.url.trim().is_empty() {
            err(format!("references[{i}].url"), "the URL is empty".into());
        }
    }
    errors
}

fn check_severity(field: &str, kind: &str, score: &str, err: &mut impl FnMut(String, String)) {
    let prefix = match kind {
        "CVSS_V2" => None,
        "CVSS_V3" => Some("CVSS:3."),
        "CVSS_V4" => Some("CVSS:4.0/"),
        "Ubuntu" => None,
        other => {
            err(format!("{field}.type"), format!("unknown severity type {other:?}"));
            return;
        }
    };
    if score.trim().is_empty() {
        err(format!("{field}.score"), "the score is empty".into());
    } else if let Some(prefix) = prefix {
        if !score.starts_with(prefix) {
            err(format!("{field}.score"), format!("{score:?} is not a {kind} vector"));
        }
    }
}

fn check_range(field: &str, range: &Range, err: &mut impl FnMut(String, String)) {
    match range.kind.as_str() {
        "SEMVER" | "ECOSYSTEM" => {}
        "GIT" => {
            if range.repo.as_deref().is_none_or(|r| r.trim().is_empty()) {
                err(format!("{field}.repo"), "a GIT range needs its repository".into());
            }
        }
        other => err(format!("{field}.type"), format!("unknown range type {other:?}")),
    }
    if range.events.is_empty() {
        err(format!("{field}.events"), "a range needs at least one event".into());
        return;
    }
    if !range.events.iter().any(|e| matches!(e, RangeEvent::Introduced(_))) {
        err(format!("{field}.events"), "a range needs an `introduced` event".into());
    }
    for (i, event) in range.events.iter().enumerate() {
        if event.version().trim().is_empty() {
            err(format!("{field}.events[{i}].{}", event.name()), "the version is empty".into());
        }
        // A commit that both introduces and fixes is meaningless (osv-linter's "nondistinct");
        // for versions, an empty interval (`introduced: X`, `fixed: X`) is harmless and
        // RustSec's export writes it, so only a repeat of the same event kind is rejected.
        let git = range.kind == "GIT";
        if let Some(j) = range.events[..i]
            .iter()
            .position(|e| e.version() == event.version() && (git || e.name() == event.name()))
        {
            err(
                format!("{field}.events[{i}].{}", event.name()),
                format!(
                    "{:?} already appears in events[{j}].{}: events of a range must be distinct",
                    event.version(),
                    range.events[j].name()
                ),
            );
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS` followed by optional fraction and a zone, as RFC 3339 writes it.
fn looks_like_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && matches!(b[10], b'T' | b't' | b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, expect: &[&str]) {
        let parsed = parse_json("t.json", json.as_bytes());
        let got: Vec<String> =
            parsed.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        assert_eq!(got.len(), expect.len(), "{got:?}");
        for (g, e) in got.iter().zip(expect) {
            assert!(g.starts_with(e), "{g:?} should start with {e:?}");
        }
        assert_eq!(parsed.records.len(), usize::from(expect.is_empty()));
    }

    #[test]
    fn schema_rules() {
        check(r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z"}"#, &[]);
        check(r#"{"id":"X-1"}"#, &["modified: missing"]);
        check(r#"{"modified":"2024-01-01T00:00:00Z"}"#, &["(document): missing field `id`"]);
        check(
            r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"ranges":[{"type":"SEMVER","events":[{"fixed":"1"}]}]}]}"#,
            &["affected[0].ranges[0].events: a range needs an `introduced`"],
        );
        check(
            r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"a"},{"fixed":"a"}]}]}]}"#,
            &["affected[0].ranges[0].events[1].fixed: \"a\" already appears"],
        );
        check(
            r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixd":"1"}]}]}]}"#,
            &["affected[0].ranges[0].events[1].fixd: unknown field `fixd`"],
        );
        check(
            r#"{"id":"X","modified":"2024-01-01T00:00:00Z","severity":[{"type":"CVSS_V3","score":"AV:N"}]}"#,
            &["severity[0].score"],
        );
    }

    #[test]
    fn arrays_keep_good_records() {
        let parsed =
            parse_json("a.json", br#"[{"id":"A","modified":"2024-01-01T00:00:00Z"},{"id":"B"}]"#);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.errors[0].file, "a.json[1]");
    }

    #[test]
    fn yaml_null_lists_are_empty() {
        let parsed =
            parse_yaml("p.yaml", b"id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\naliases:\n");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert!(parsed.records[0].aliases.is_empty());
    }
}
