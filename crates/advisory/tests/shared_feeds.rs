//! Conformance: every feed in `$WARD_TEST_DATA/advisories` imports with no error, with the
//! record counts per ecosystem the data's README states, and OSV records round-trip unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use ward_advisory::feed::{self, Format, Parsed};
use ward_advisory::store::source;

fn data_dir() -> PathBuf {
    ward_testdata::dir("advisories")
}

fn import(feed: &str) -> (source::SourceFiles, Parsed) {
    let files = source::list(&data_dir().join(feed)).expect("feed lists");
    let parsed = source::read(&files, &mut |_, _| {});
    (files, parsed)
}

/// Distinct record ids per ecosystem (as records write it).
fn per_ecosystem(parsed: &Parsed) -> BTreeMap<String, usize> {
    let mut ids: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for r in &parsed.records {
        for a in &r.affected {
            if let Some(p) = &a.package {
                ids.entry(p.ecosystem.as_str().to_string()).or_default().insert(&r.id);
            }
        }
    }
    ids.into_iter().map(|(k, v)| (k, v.len())).collect()
}

fn check(feed: &str, format: Format, expect: &[(&str, usize)]) -> Parsed {
    let (files, parsed) = import(feed);
    assert!(files.files.iter().all(|(_, f)| *f == format), "{feed}: unexpected formats");
    let shown: Vec<String> = parsed.errors.iter().take(10).map(ToString::to_string).collect();
    assert!(
        parsed.errors.is_empty(),
        "{feed}: {} errors:\n{}",
        parsed.errors.len(),
        shown.join("\n")
    );
    let counts = per_ecosystem(&parsed);
    let expect: BTreeMap<String, usize> = expect.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    assert_eq!(counts, expect, "{feed}");
    parsed
}

#[test]
fn rustsec_osv() {
    let parsed = check("rustsec-osv", Format::OsvJson, &[("crates.io", 1206)]);
    assert_eq!(parsed.records.len(), 1206);
}

#[test]
fn golang_osv() {
    let parsed = check("golang-osv", Format::OsvJson, &[("Go", 4291)]);
    assert_eq!(parsed.records.len(), 4291);
}

#[test]
fn pypa_osv_yaml() {
    let parsed = check("pypa-osv-yaml", Format::OsvYaml, &[("PyPI", 2661)]);
    assert_eq!(parsed.records.len(), 2661);
}

#[test]
fn friendsofphp() {
    let parsed = check("friendsofphp", Format::PhpYaml, &[("Packagist", 1592)]);
    assert_eq!(parsed.records.len(), 1592);
    let drupal = parsed
        .records
        .iter()
        .filter(|r| r.affected[0].package.as_ref().is_some_and(|p| p.name.starts_with("drupal/")))
        .count();
    assert!(drupal > 100, "drupal advisories: {drupal}");
}

#[test]
fn nodejs_security_wg_npm() {
    // 467 advisory files plus `index.json`, which repeats them keyed by id.
    let parsed = check("nodejs-security-wg-npm", Format::NpmJson, &[("npm", 467)]);
    let ids: std::collections::BTreeSet<&str> =
        parsed.records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), 467);
}

#[test]
fn alpine_secdb() {
    let (files, parsed) = import("alpine-secdb-2020");
    assert!(parsed.errors.is_empty(), "{:?}", &parsed.errors[..parsed.errors.len().min(5)]);
    let fixes: usize = files
        .files
        .iter()
        .map(|(p, _)| {
            feed::alpine::count_fixes(&p.to_string_lossy(), &std::fs::read(p).unwrap()).unwrap()
        })
        .sum();
    assert_eq!(fixes, 12_028);
    let counts = per_ecosystem(&parsed);
    let releases: Vec<&str> = counts.keys().map(String::as_str).collect();
    assert_eq!(
        releases,
        [
            "Alpine:v3.10",
            "Alpine:v3.11",
            "Alpine:v3.3",
            "Alpine:v3.4",
            "Alpine:v3.5",
            "Alpine:v3.6",
            "Alpine:v3.7",
            "Alpine:v3.8",
            "Alpine:v3.9"
        ]
    );
}

#[test]
fn rustsec_toml() {
    let (files, parsed) = import("rustsec-toml");
    assert!(files.files.iter().all(|(_, f)| *f == Format::RustsecToml));
    let shown: Vec<String> = parsed.errors.iter().take(10).map(ToString::to_string).collect();
    assert!(parsed.errors.is_empty(), "{} errors:\n{}", parsed.errors.len(), shown.join("\n"));
    assert_eq!(parsed.records.len(), 1225);
    // 20 advisories are about the toolchain (`rust/std`, `rust/cargo`...), not crates.io.
    let counts = per_ecosystem(&parsed);
    assert_eq!(counts.get("crates.io"), Some(&1205));
    assert_eq!(counts.get("Rust toolchain"), Some(&20));
    let unmaintained = parsed
        .records
        .iter()
        .filter(|r| {
            r.affected[0]
                .database_specific
                .as_ref()
                .is_some_and(|d| d["informational"] == "unmaintained")
        })
        .count();
    assert_eq!(unmaintained, 267);
}

/// The RustSec TOML sources convert to the same ids, aliases and ranges as RustSec's own OSV
/// export of the same day.
#[test]
fn rustsec_toml_agrees_with_rustsec_osv() {
    let (_, toml) = import("rustsec-toml");
    let (_, osv) = import("rustsec-osv");
    let osv: BTreeMap<&str, &ward_advisory::Record> =
        osv.records.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut compared = 0;
    let mut differences = Vec::new();
    for record in &toml.records {
        let Some(theirs) = osv.get(record.id.as_str()) else { continue };
        compared += 1;
        if record.aliases != theirs.aliases {
            differences.push(format!(
                "{}: aliases {:?} vs {:?}",
                record.id, record.aliases, theirs.aliases
            ));
        }
        // RUSTSEC-2020-0055 (withdrawn) says `unaffected = ["> 0"]`: Cargo reads `>0` as
        // `>=1.0.0`, as ward does; the export read it as `>0.0.0`.
        if record.id == "RUSTSEC-2020-0055" {
            continue;
        }
        let ours: Vec<_> = record.affected.iter().map(|a| a.ranges.clone()).collect();
        let them: Vec<_> =
            theirs.affected.iter().map(|a| without_empty_intervals(&a.ranges)).collect();
        if ours != them {
            differences.push(format!("{}: ranges {:?}\n   vs {:?}", record.id, ours, them));
        }
    }
    assert!(compared > 1150, "compared {compared}");
    assert!(
        differences.is_empty(),
        "{} of {compared} differ:\n{}",
        differences.len(),
        differences[..differences.len().min(8)].join("\n")
    );
}

/// The export also writes empty intervals (`introduced: X, fixed: X`), which affect nothing.
fn without_empty_intervals(
    ranges: &[ward_advisory::model::Range],
) -> Vec<ward_advisory::model::Range> {
    use ward_advisory::model::RangeEvent;
    ranges
        .iter()
        .map(|r| {
            let mut events: Vec<RangeEvent> = Vec::new();
            for e in &r.events {
                if let (RangeEvent::Fixed(f), Some(RangeEvent::Introduced(i))) = (e, events.last())
                {
                    if f == i {
                        events.pop();
                        continue;
                    }
                }
                events.push(e.clone());
            }
            ward_advisory::model::Range { events, ..r.clone() }
        })
        .collect()
}

/// Every OSV record's id, aliases and ranges round-trip unchanged through the model: the JSON
/// ward writes has exactly the fields and values of the input.
#[test]
fn osv_records_round_trip() {
    let root = data_dir();
    let mut checked = 0;
    for feed in ["rustsec-osv", "golang-osv"] {
        let files = source::list(&root.join(feed)).unwrap();
        for (path, _) in &files.files {
            let bytes = std::fs::read(path).unwrap();
            let original: Value = serde_json::from_slice(&bytes).unwrap();
            let parsed = feed::parse(Format::OsvJson, &path.to_string_lossy(), &bytes);
            assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
            let written = serde_json::to_value(&parsed.records[0]).unwrap();
            assert_eq!(strip_empty(original), strip_empty(written), "{}", path.display());
            checked += 1;
        }
    }
    // YAML: compare against the same document read as a generic value.
    let files = source::list(&root.join("pypa-osv-yaml")).unwrap();
    for (path, _) in &files.files {
        let text = std::fs::read_to_string(path).unwrap();
        let original: Value = serde_yaml_ng::from_str(&text).unwrap();
        let parsed = feed::parse(Format::OsvYaml, &path.to_string_lossy(), text.as_bytes());
        let written = serde_json::to_value(&parsed.records[0]).unwrap();
        assert_eq!(strip_empty(original), strip_empty(written), "{}", path.display());
        checked += 1;
    }
    assert_eq!(checked, 1206 + 4291 + 2661);
}

/// Absent, `null` and empty lists mean the same in OSV; the model writes none of them.
fn strip_empty(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, v)| (k, strip_empty(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_empty).collect()),
        other => other,
    }
}

fn osv_schema(rel: &str) -> PathBuf {
    data_dir().join("osv-schema").join(rel)
}

#[test]
fn osv_schema_valid_samples_import() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["tools/osv-linter/testdata", "tools/ghsa/testdata", "tools/redhat/testdata/OSV"] {
        for entry in std::fs::read_dir(osv_schema(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let linter_valid = dir.contains("linter")
                && !name.starts_with("no")
                && !name.starts_with("nondistinct");
            if linter_valid || name.ends_with(".osv.json") || dir.ends_with("OSV") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    for path in files {
        let parsed =
            feed::parse(Format::OsvJson, &path.to_string_lossy(), &std::fs::read(&path).unwrap());
        assert!(parsed.errors.is_empty(), "{}: {:?}", path.display(), parsed.errors);
        assert_eq!(parsed.records.len(), 1, "{}", path.display());
    }
}

fn rejected(path: &Path, field: &str) {
    let name = path.to_string_lossy();
    let parsed = feed::parse(Format::OsvJson, &name, &std::fs::read(path).expect("sample reads"));
    assert!(parsed.records.is_empty(), "{name} should be rejected");
    assert!(
        parsed.errors.iter().any(|e| e.file == name && e.field == field),
        "{name}: expected an error on {field}, got {:?}",
        parsed.errors
    );
}

#[test]
fn osv_schema_invalid_samples_are_rejected_naming_file_and_field() {
    rejected(
        &osv_schema("tools/osv-linter/testdata/nointroduced-CVE-2023-41045.json"),
        "affected[0].ranges[0].events",
    );
    rejected(
        &osv_schema("tools/osv-linter/testdata/nondistinct-CVE-2018-5407.json"),
        "affected[6].ranges[1].events[1].fixed",
    );
    // GitHub's own advisory format is not OSV.
    rejected(&osv_schema("tools/ghsa/testdata/withdrawn.json"), "references[0]");
    // The linter's third sample is valid OSV: it flags it because PyPI has no project
    // "Gradi0", which only the registry can say (a network lookup, not a schema rule). ward
    // imports it; such a record simply never matches an installed package.
    let path = osv_schema("tools/osv-linter/testdata/nopackage-GHSA-9v2f-6vcg-3hgv.json");
    let parsed =
        feed::parse(Format::OsvJson, &path.to_string_lossy(), &std::fs::read(&path).unwrap());
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(
        parsed.records[0].affected[0].package.as_ref().map(|p| p.name.as_str()),
        Some("Gradi0")
    );
}

/// The Debian 12 host's security suite index: every (source, version) becomes a fact, and
/// checked against the host's dpkg status they flag 82 binary packages: the 81 apt listed as
/// upgradable from the security suite, plus openssh-client, whose security update (deb12u9)
/// apt takes from the newer point release instead (deb12u10 in bookworm main).
#[test]
fn debian_security_suite_facts_match_the_hosts_pending_upgrades() {
    use ward_version::{Scheme, Version};
    let dir = data_dir().join("../real-inputs/debian-bookworm");
    let path = dir.join("Packages.bookworm-security.main.amd64");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(feed::detect(&path.to_string_lossy(), &bytes), Some(Format::DebianSecurity));
    let parsed = feed::parse(Format::DebianSecurity, &path.to_string_lossy(), &bytes);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(per_ecosystem(&parsed).keys().collect::<Vec<_>>(), ["Debian:12"]);
    // binary name → newest version in the security suite (source version of its record)
    let mut fixed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &parsed.records {
        let a = &r.affected[0];
        let version = a.ranges[0].events[1].version().to_string();
        for b in a.database_specific.as_ref().unwrap()["binaries"].as_array().unwrap() {
            fixed.entry(b.as_str().unwrap().to_string()).or_default().push(version.clone());
        }
    }
    let status = std::fs::read_to_string(dir.join("dpkg-status")).unwrap();
    let mut upgradable = 0;
    for stanza in status.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(": ")))
        };
        let (Some(package), Some(version)) = (field("Package"), field("Version")) else { continue };
        if !field("Status").is_some_and(|s| s.ends_with(" installed")) {
            continue;
        }
        let source_version = field("Source")
            .and_then(|s| s.split_once(" (").map(|(_, v)| v.trim_end_matches(')').to_string()))
            .unwrap_or_else(|| version.to_string());
        let installed = Version::parse(Scheme::Dpkg, &source_version).unwrap();
        if fixed.get(package).is_some_and(|vs| {
            vs.iter().any(|v| {
                Version::parse(Scheme::Dpkg, v).unwrap().compare(&installed)
                    == Ok(std::cmp::Ordering::Greater)
            })
        }) {
            upgradable += 1;
        }
    }
    assert_eq!(upgradable, 82);
}

/// Every imported range means what it says under ward-version's orderings: in every
/// single-interval ECOSYSTEM/SEMVER range of the shared OSV feeds and of the converted native
/// feeds, evaluated alone, the `fixed` version is not affected and the `introduced` one is.
#[test]
fn fixed_versions_are_not_affected_and_introduced_ones_are() {
    use ward_advisory::affects::affects;
    use ward_advisory::model::RangeEvent;
    let mut checked = 0;
    let mut failures = Vec::new();
    for feed_name in [
        "rustsec-osv",
        "golang-osv",
        "pypa-osv-yaml",
        "friendsofphp",
        "alpine-secdb-2020",
        "rustsec-toml",
    ] {
        let (_, parsed) = import(feed_name);
        for record in &parsed.records {
            for affected in &record.affected {
                for range in affected.ranges.iter().filter(|r| r.kind != "GIT") {
                    // A single interval keeps the check independent of overlapping intervals.
                    if range.events.len() != 2 {
                        continue;
                    }
                    for event in &range.events {
                        let (version, expect) = match event {
                            RangeEvent::Introduced(v) if v != "0" && !v.ends_with("-0") => {
                                (v, true)
                            }
                            RangeEvent::Fixed(v) => (v, false),
                            _ => continue,
                        };
                        checked += 1;
                        let single = ward_advisory::model::Affected {
                            ranges: vec![range.clone()],
                            versions: Vec::new(),
                            database_specific: None,
                            ..affected.clone()
                        };
                        match affects(&single, version) {
                            Ok(got) if got == expect => {}
                            other => {
                                failures.push(format!("{} {}: {other:?}", record.id, event.name()))
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 10_000, "checked {checked}");
    assert!(
        failures.is_empty(),
        "{} of {checked}:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

/// A record's head (what a scan decodes before deciding to decode the rest) holds exactly
/// what matching reads: every entry's package, ranges and versions, and its
/// `database_specific` reduced to the match keys; for every record of every shared feed.
#[test]
fn record_heads_hold_what_matching_reads() {
    use ward_advisory::model::{RecordHead, MATCH_KEYS};
    let mut checked = 0;
    for feed in [
        "rustsec-osv",
        "golang-osv",
        "pypa-osv-yaml",
        "friendsofphp",
        "nodejs-security-wg-npm",
        "alpine-secdb-2020",
    ] {
        let (_, parsed) = import(feed);
        for record in &parsed.records {
            let json = serde_json::to_vec(record).unwrap();
            let head: RecordHead = serde_json::from_slice(&json).unwrap();
            // The head the index stores beside the record reads the same.
            let stored: RecordHead = serde_json::from_slice(&RecordHead::json_of(record)).unwrap();
            assert_eq!(stored.withdrawn.is_some(), head.withdrawn.is_some(), "{}", record.id);
            assert_eq!(stored.affected, head.affected, "{}", record.id);
            assert_eq!(head.withdrawn.is_some(), record.withdrawn.is_some(), "{}", record.id);
            assert_eq!(head.affected.len(), record.affected.len(), "{}", record.id);
            for (h, a) in head.affected.iter().zip(&record.affected) {
                assert_eq!(
                    (&h.package, &h.ranges, &h.versions),
                    (&a.package, &a.ranges, &a.versions)
                );
                let reduced =
                    a.database_specific.as_ref().and_then(Value::as_object).and_then(|d| {
                        let kept: serde_json::Map<String, Value> = d
                            .iter()
                            .filter(|(k, _)| MATCH_KEYS.contains(&k.as_str()))
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect();
                        (!kept.is_empty()).then_some(Value::Object(kept))
                    });
                assert_eq!(h.database_specific, reduced, "{}", record.id);
            }
            checked += 1;
        }
    }
    assert!(checked > 9000, "{checked}");
}
