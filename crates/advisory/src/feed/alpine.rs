//! Alpine secdb (`v3.x/main.yaml` or `.json`): package → fixed version → vulnerability ids.
//!
//! Becomes one OSV record per (release, repository, vulnerability): id
//! `ALPINE-<release>-<repo>-<CVE>`, the CVE (and any other ids on the line, `TALOS-...`) as
//! aliases, and per package an ECOSYSTEM range `introduced: 0, fixed: <version>` in ecosystem
//! `Alpine:<release>`. secdb's fixed version `0` means "this release was never affected": those
//! entries are kept in `database_specific.not_affected`, not as ranges. The feed carries no
//! dates, so `modified` is the Unix epoch.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use ward_version::{Ecosystem, EcosystemKind};

use super::{path_error, text, ImportError, Parsed};
use crate::model::{Affected, EcosystemName, Package, Range, RangeEvent, Record};

#[derive(Debug, Deserialize)]
struct Secdb {
    distroversion: String,
    reponame: String,
    #[serde(default)]
    urlprefix: Option<String>,
    #[serde(default)]
    packages: Vec<PackageEntry>,
}

#[derive(Debug, Deserialize)]
struct PackageEntry {
    pkg: Pkg,
}

#[derive(Debug, Deserialize)]
struct Pkg {
    name: String,
    #[serde(default)]
    secfixes: BTreeMap<String, Option<Vec<String>>>,
}

/// What one release's secdb says about one vulnerability id.
#[derive(Debug, Default)]
struct Facts {
    /// Other ids written on the same line (`TALOS-2019-0844`).
    aliases: Vec<String>,
    /// Package → fixed versions.
    fixed: BTreeMap<String, Vec<String>>,
    /// Packages listed with fixed version `0`: never affected in this release.
    not_affected: Vec<String>,
}

/// How many (package, fixed version, id) facts a secdb file states, for counts in reports.
pub fn count_fixes(path: &str, bytes: &[u8]) -> Result<usize, ImportError> {
    let db = read(path, bytes).map_err(|mut p| p.errors.remove(0))?;
    Ok(db
        .packages
        .iter()
        .flat_map(|p| p.pkg.secfixes.values())
        .map(|ids| ids.as_ref().map_or(0, Vec::len))
        .sum())
}

fn read(path: &str, bytes: &[u8]) -> Result<Secdb, Parsed> {
    let text = text(path, bytes)?;
    let result = if text.trim_start().starts_with('{') {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(text))
            .map_err(|e| path_error(path, e))
    } else {
        serde_path_to_error::deserialize(serde_yaml_ng::Deserializer::from_str(text))
            .map_err(|e| path_error(path, e))
    };
    result.map_err(|e| Parsed { errors: vec![e], ..Parsed::default() })
}

/// Parses one secdb file.
pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let db = match read(path, bytes) {
        Ok(db) => db,
        Err(p) => return p,
    };
    let mut errors = Vec::new();
    let release = db.distroversion.trim().to_string();
    let ecosystem = Ecosystem::with_release(EcosystemKind::Alpine, &release);
    let mut by_id: BTreeMap<String, Facts> = BTreeMap::new();
    for (p, entry) in db.packages.iter().enumerate() {
        let name = entry.pkg.name.trim();
        if name.is_empty() {
            errors.push(ImportError::new(
                path,
                &format!("packages[{p}].pkg.name"),
                "empty package name",
            ));
            continue;
        }
        for (version, ids) in &entry.pkg.secfixes {
            for line in ids.iter().flatten() {
                let mut words = line.split_whitespace();
                let Some(id) = words.next() else {
                    errors.push(ImportError::new(
                        path,
                        &format!("packages[{p}].pkg.secfixes.{version}"),
                        "empty id",
                    ));
                    continue;
                };
                let slot = by_id.entry(id.to_string()).or_default();
                for alias in words {
                    if !slot.aliases.iter().any(|a| a == alias) {
                        slot.aliases.push(alias.to_string());
                    }
                }
                if version.trim() == "0" {
                    slot.not_affected.push(name.to_string());
                } else {
                    slot.fixed
                        .entry(name.to_string())
                        .or_default()
                        .push(version.trim().to_string());
                }
            }
        }
    }
    let records = by_id
        .into_iter()
        .map(|(id, facts)| {
            let Facts { aliases: extra, fixed: packages, not_affected } = facts;
            let mut aliases = vec![id.clone()];
            aliases.extend(extra);
            let affected = packages
                .into_iter()
                .map(|(name, fixed)| Affected {
                    package: Some(Package {
                        ecosystem: EcosystemName::from_ecosystem(ecosystem.clone()),
                        purl: Some(format!("pkg:apk/alpine/{name}?distro={release}")),
                        name,
                    }),
                    severity: Vec::new(),
                    ranges: fixed
                        .into_iter()
                        .map(|f| Range {
                            kind: "ECOSYSTEM".into(),
                            repo: None,
                            events: vec![RangeEvent::Introduced("0".into()), RangeEvent::Fixed(f)],
                            database_specific: None,
                        })
                        .collect(),
                    versions: Vec::new(),
                    ecosystem_specific: None,
                    database_specific: None,
                })
                .collect();
            let mut database_specific =
                json!({"source": "alpine-secdb", "repository": db.reponame});
            if let Some(prefix) = &db.urlprefix {
                database_specific["urlprefix"] = json!(prefix);
            }
            if !not_affected.is_empty() {
                database_specific["not_affected"] = json!(not_affected);
            }
            Record {
                schema_version: Some("1.7.0".into()),
                id: format!("ALPINE-{release}-{}-{id}", db.reponame),
                modified: "1970-01-01T00:00:00Z".into(),
                published: None,
                withdrawn: None,
                aliases,
                related: Vec::new(),
                upstream: Vec::new(),
                summary: None,
                details: None,
                severity: Vec::new(),
                affected,
                references: Vec::new(),
                credits: Vec::new(),
                database_specific: Some(database_specific),
            }
        })
        .collect();
    Parsed::records(records, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_vulnerability() {
        let yaml = "distroversion: v3.10\nreponame: main\npackages:\n  - pkg:\n      name: sdl2\n      secfixes:\n        2.0.10-r0:\n          - CVE-2019-5060 TALOS-2019-0844\n          - CVE-2019-7572\n        0:\n          - CVE-2019-9999\n  - pkg:\n      name: sdl2-dev\n      secfixes:\n        2.0.10-r0:\n          - CVE-2019-7572\n";
        let parsed = parse("v3.10/main.yaml", yaml.as_bytes());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let ids: Vec<&str> = parsed.records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ALPINE-v3.10-main-CVE-2019-5060",
                "ALPINE-v3.10-main-CVE-2019-7572",
                "ALPINE-v3.10-main-CVE-2019-9999"
            ]
        );
        assert_eq!(parsed.records[0].aliases, ["CVE-2019-5060", "TALOS-2019-0844"]);
        assert_eq!(parsed.records[1].affected.len(), 2);
        assert_eq!(
            parsed.records[1].affected[0].package.as_ref().unwrap().ecosystem.as_str(),
            "Alpine:v3.10"
        );
        assert!(parsed.records[2].affected.is_empty());
        assert_eq!(count_fixes("m", yaml.as_bytes()), Ok(4));
    }
}
