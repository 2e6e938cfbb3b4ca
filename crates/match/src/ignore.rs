//! Suppression: ignore rules from `ward.toml` (`[[scan.ignore]]`, each with a reason and an
//! expiry date) and OpenVEX statements (`not_affected` / `fixed`).
//!
//! A rule is scoped by any combination of advisory (`id`, matching any alias), package
//! (`package`, a name or `ecosystem/name`), input path (`path`, a glob) and host (`host`, a
//! glob); every scope it names must match. An expired rule hides nothing and is reported as a
//! warning, so a forgotten exception cannot hide a vulnerability for ever.

use chrono::NaiveDate;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;
use ward_inventory::Package;

use crate::model::Finding;

/// One suppression rule, from a config file or a VEX document.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: Option<String>,
    pub package: Option<String>,
    /// A package URL a VEX statement names (version optional).
    pub purl: Option<String>,
    pub path: Option<(String, GlobMatcher)>,
    pub host: Option<(String, GlobMatcher)>,
    pub reason: String,
    /// The last day the rule applies; VEX statements do not expire.
    pub expires: Option<NaiveDate>,
    /// Where the rule is written (`ward.toml:12`, `app.vex.json#statements[3]`).
    pub origin: String,
}

/// A problem in a rules file, with its place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct RuleError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// How a rule applies to a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The rule does not concern this finding.
    NoMatch,
    /// The rule hides the finding.
    Hides,
    /// The rule would hide it but expired.
    Expired,
}

impl Rule {
    /// Whether the rule concerns `finding` of `package` on `host`, and whether it still hides
    /// it on `today`.
    pub fn verdict(
        &self,
        finding: &Finding,
        package: &Package,
        host: Option<&str>,
        today: NaiveDate,
    ) -> Verdict {
        let id_ok =
            self.id.as_ref().is_none_or(|id| finding.names().any(|n| n.eq_ignore_ascii_case(id)));
        let package_ok = self.package.as_ref().is_none_or(|want| {
            let full = format!("{}/{}", package.ecosystem.kind().name(), package.name);
            want == &package.name || want.eq_ignore_ascii_case(&full)
        });
        let purl_ok = self.purl.as_ref().is_none_or(|want| purl_matches(want, &package.purl()));
        let path_ok = self.path.as_ref().is_none_or(|(_, glob)| {
            let path = package.location.path.trim_start_matches("./");
            glob.is_match(path) || glob.is_match(&package.location.path)
        });
        let host_ok =
            self.host.as_ref().is_none_or(|(_, glob)| host.is_some_and(|h| glob.is_match(h)));
        if !(id_ok && package_ok && purl_ok && path_ok && host_ok) {
            return Verdict::NoMatch;
        }
        match self.expires {
            Some(day) if today > day => Verdict::Expired,
            _ => Verdict::Hides,
        }
    }
}

/// Whether a VEX product purl names this package: type, namespace and name equal; the version
/// only when the VEX purl has one; qualifiers and subpath ignored.
fn purl_matches(want: &str, have: &str) -> bool {
    let strip = |p: &str| -> (String, Option<String>) {
        let p = p.split(['?', '#']).next().unwrap_or(p);
        // The version separator is the last `@` after the last `/` (npm scopes use `%40`).
        let slash = p.rfind('/').unwrap_or(0);
        match p[slash..].rfind('@') {
            Some(at) => {
                (p[..slash + at].to_ascii_lowercase(), Some(p[slash + at + 1..].to_string()))
            }
            None => (p.to_ascii_lowercase(), None),
        }
    };
    let (want_base, want_version) = strip(want);
    let (have_base, have_version) = strip(have);
    want_base == have_base && (want_version.is_none() || want_version == have_version)
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    scan: ScanSection,
}

#[derive(Default, Deserialize)]
struct ScanSection {
    #[serde(default)]
    ignore: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Option<String>,
    package: Option<String>,
    path: Option<String>,
    host: Option<String>,
    reason: Option<String>,
    expires: Option<toml::Value>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

fn glob(
    file: &str,
    line: usize,
    key: &str,
    pattern: &str,
) -> Result<(String, GlobMatcher), RuleError> {
    Glob::new(pattern).map(|g| (pattern.to_string(), g.compile_matcher())).map_err(|e| RuleError {
        file: file.to_string(),
        line: Some(line),
        message: format!("`{key}` is not a valid glob: {e}"),
    })
}

/// Reads the `[[scan.ignore]]` rules of a `ward.toml`. Every problem is reported, each with its
/// line; other sections are left to their own readers.
pub fn parse_rules(file: &str, text: &str) -> Result<Vec<Rule>, Vec<RuleError>> {
    let config: ConfigFile = toml::from_str(text).map_err(|e| {
        vec![RuleError {
            file: file.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().to_string(),
        }]
    })?;
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for spanned in config.scan.ignore {
        let line = line_of(text, spanned.span().start);
        let raw = spanned.into_inner();
        let err = |message: String| RuleError { file: file.to_string(), line: Some(line), message };
        let reason = match raw.reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => {
                errors.push(err(
                    "an ignore rule needs a `reason` (why this finding does not apply)".into(),
                ));
                continue;
            }
        };
        let expires = match &raw.expires {
            Some(toml::Value::Datetime(d)) => d.date.and_then(|d| {
                NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
            }),
            Some(toml::Value::String(s)) => NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            _ => None,
        };
        let Some(expires) = expires else {
            errors.push(err(
                "an ignore rule needs `expires = YYYY-MM-DD` (the day it stops hiding the finding)"
                    .into(),
            ));
            continue;
        };
        if raw.id.is_none() && raw.package.is_none() && raw.path.is_none() && raw.host.is_none() {
            errors.push(err(
                "an ignore rule needs at least one of `id`, `package`, `path`, `host`".into(),
            ));
            continue;
        }
        let path = match raw.path.as_deref().map(|p| glob(file, line, "path", p)).transpose() {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let host = match raw.host.as_deref().map(|h| glob(file, line, "host", h)).transpose() {
            Ok(h) => h,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        rules.push(Rule {
            id: raw.id,
            package: raw.package,
            purl: None,
            path,
            host,
            reason,
            expires: Some(expires),
            origin: format!("{file}:{line}"),
        });
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

/// Reads an OpenVEX document (v0.2.0, and the older string forms of `vulnerability` and
/// `products`). Statements with status `not_affected` or `fixed` become rules; `affected` and
/// `under_investigation` hide nothing.
pub fn parse_openvex(file: &str, bytes: &[u8]) -> Result<Vec<Rule>, RuleError> {
    let err = |message: String| RuleError { file: file.to_string(), line: None, message };
    let doc: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| RuleError {
        file: file.to_string(),
        line: Some(e.line()),
        message: format!("not JSON: {e}"),
    })?;
    let context = doc.get("@context").and_then(|c| c.as_str()).unwrap_or("");
    if !context.starts_with("https://openvex.dev/ns") {
        return Err(err(format!(
            "not an OpenVEX document: `@context` is {context:?}, expected https://openvex.dev/ns/v0.2.0"
        )));
    }
    let statements = doc
        .get("statements")
        .and_then(|s| s.as_array())
        .ok_or_else(|| err("an OpenVEX document needs a `statements` array".into()))?;
    let name_of = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => {
                o.get("name").or_else(|| o.get("@id")).and_then(|n| n.as_str()).map(str::to_string)
            }
            _ => None,
        }
    };
    let mut rules = Vec::new();
    for (i, statement) in statements.iter().enumerate() {
        let at = format!("statements[{i}]");
        let field_err = |field: &str, what: &str| err(format!("{at}.{field}: {what}"));
        let status = statement
            .get("status")
            .and_then(|s| s.as_str())
            .ok_or_else(|| field_err("status", "missing"))?;
        if !matches!(status, "not_affected" | "fixed" | "affected" | "under_investigation") {
            return Err(field_err(
                "status",
                &format!(
                    "{status:?} is not one of not_affected, fixed, affected, under_investigation"
                ),
            ));
        }
        let vulnerability = statement
            .get("vulnerability")
            .and_then(name_of)
            .ok_or_else(|| field_err("vulnerability", "missing its name"))?;
        let products: Vec<String> = match statement.get("products") {
            Some(serde_json::Value::Array(list)) => list.iter().filter_map(name_of).collect(),
            _ => return Err(field_err("products", "missing (a list of package URLs)")),
        };
        if !matches!(status, "not_affected" | "fixed") {
            continue;
        }
        let detail = statement
            .get("justification")
            .or_else(|| statement.get("impact_statement"))
            .and_then(|j| j.as_str())
            .map(|j| format!(": {j}"))
            .unwrap_or_default();
        for product in products.into_iter().filter(|p| p.starts_with("pkg:")) {
            rules.push(Rule {
                id: Some(vulnerability.clone()),
                package: None,
                purl: Some(product),
                path: None,
                host: None,
                reason: format!("VEX {status}{detail}"),
                expires: None,
                origin: format!("{file}#{at}"),
            });
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Severity;
    use ward_inventory::Location;
    use ward_version::EcosystemKind;

    fn finding(id: &str, aliases: &[&str]) -> Finding {
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            kind: crate::model::Kind::Vulnerability,
            summary: None,
            severity: Severity::unknown(),
            kev: None,
            epss: None,
            fixed: vec![],
            fixes: vec![],
            published: None,
            url: None,
            risk: 0.0,
            records: vec![id.into()],
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn pkg() -> Package {
        Package::new(
            EcosystemKind::CratesIo,
            "time",
            "0.1.45",
            Location { path: "svc/api/Cargo.lock".into(), line: Some(9) },
        )
    }

    #[test]
    fn rules_scope_by_alias_package_path_and_host_and_expire() {
        let text = r#"
[server]
listen = "x"

[[scan.ignore]]
id = "cve-2020-26235"
reason = "we never call localtime"
expires = 2026-12-31

[[scan.ignore]]
package = "crates.io/time"
path = "svc/**/Cargo.lock"
host = "web-*"
reason = "only on the web hosts"
expires = "2026-01-01"
"#;
        let rules = parse_rules("ward.toml", text).expect("rules");
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].origin, "ward.toml:5");
        let f = finding("RUSTSEC-2020-0071", &["CVE-2020-26235", "GHSA-wcg3-cvx6-7396"]);
        assert_eq!(rules[0].verdict(&f, &pkg(), None, day("2026-11-21")), Verdict::Hides);
        assert_eq!(rules[0].verdict(&f, &pkg(), None, day("2027-01-01")), Verdict::Expired);
        assert_eq!(rules[1].verdict(&f, &pkg(), Some("web-3"), day("2025-06-01")), Verdict::Hides);
        assert_eq!(rules[1].verdict(&f, &pkg(), Some("db-1"), day("2025-06-01")), Verdict::NoMatch);
        assert_eq!(rules[1].verdict(&f, &pkg(), None, day("2025-06-01")), Verdict::NoMatch);
        assert_eq!(
            rules[1].verdict(&f, &pkg(), Some("web-3"), day("2026-11-21")),
            Verdict::Expired
        );
    }

    #[test]
    fn bad_rules_name_the_line_and_what_to_do() {
        let text = "[[scan.ignore]]\nid = \"X\"\nexpires = 2027-01-01\n\n[[scan.ignore]]\nid = \"Y\"\nreason = \"r\"\n\n[[scan.ignore]]\nreason = \"r\"\nexpires = 2027-01-01\n\n[[scan.ignore]]\nid = \"Z\"\nreason = \"r\"\nexpires = 2027-01-01\npath = \"[\"\n";
        let errors = parse_rules("ward.toml", text).expect_err("invalid");
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 4, "{shown:#?}");
        assert!(shown[0].starts_with("ward.toml:1: an ignore rule needs a `reason`"), "{shown:?}");
        assert!(shown[1].starts_with("ward.toml:5: an ignore rule needs `expires"), "{shown:?}");
        assert!(
            shown[2].starts_with("ward.toml:9: an ignore rule needs at least one"),
            "{shown:?}"
        );
        assert!(shown[3].starts_with("ward.toml:13: `path` is not a valid glob"), "{shown:?}");
        let unknown =
            parse_rules("ward.toml", "[[scan.ignore]]\nidd = \"X\"\n").expect_err("unknown key");
        assert!(unknown[0].to_string().contains("unknown field `idd`"), "{unknown:?}");
        assert_eq!(unknown[0].line, Some(2));
    }

    #[test]
    fn openvex_not_affected_hides_the_named_product_only() {
        let doc = serde_json::json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.invalid/vex-1",
            "author": "sec team",
            "timestamp": "2026-11-01T00:00:00Z",
            "version": 1,
            "statements": [
                {"vulnerability": {"name": "CVE-2020-26235"},
                 "products": [{"@id": "pkg:cargo/time@0.1.45"}],
                 "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
                {"vulnerability": {"name": "CVE-2099-1"},
                 "products": [{"@id": "pkg:cargo/time"}], "status": "under_investigation"}
            ]
        });
        let rules = parse_openvex("app.vex.json", doc.to_string().as_bytes()).expect("vex");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].origin, "app.vex.json#statements[0]");
        let f = finding("RUSTSEC-2020-0071", &["CVE-2020-26235"]);
        assert_eq!(rules[0].verdict(&f, &pkg(), None, day("2030-01-01")), Verdict::Hides);
        let mut other = pkg();
        other.version = "0.1.44".into();
        assert_eq!(rules[0].verdict(&f, &other, None, day("2030-01-01")), Verdict::NoMatch);
        let bad = parse_openvex(
            "x.json",
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "nope"}]}"#,
        )
        .expect_err("bad status");
        assert_eq!(bad.to_string(), "x.json: statements[0].status: \"nope\" is not one of not_affected, fixed, affected, under_investigation");
        assert!(parse_openvex("x.json", b"{}").is_err());
    }

    #[test]
    fn purls_match_with_or_without_version() {
        assert!(purl_matches("pkg:npm/%40babel/core", "pkg:npm/%40babel/core@7.0.0"));
        assert!(purl_matches("pkg:npm/%40babel/core@7.0.0", "pkg:npm/%40babel/core@7.0.0"));
        assert!(!purl_matches("pkg:npm/%40babel/core@7.0.1", "pkg:npm/%40babel/core@7.0.0"));
        assert!(purl_matches(
            "pkg:deb/debian/openssl?arch=amd64",
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        ));
    }
}
