//! Conformance: every vector in `$WARD_TEST_DATA/version-vectors` (default `../shared/data`
//! beside the repository), checked against the reference tools by their authors.
//!
//! Each test collects every failure and reports them all at once, so one run shows the whole
//! picture. Vectors we believe are wrong would be listed in `KNOWN_WRONG` with a reason; the
//! list is empty.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::cmp::Ordering;
use std::fmt::Write;
use std::path::PathBuf;

use serde_json::Value;
use ward_version::npm::{NpmOptions, NpmRange, NpmVersion};
use ward_version::pep440::specifier::SpecifierSet;
use ward_version::pep440::Pep440Version;
use ward_version::{rpm, Ecosystem, Scheme, Version};

fn data_dir() -> PathBuf {
    ward_testdata::dir("version-vectors")
}

fn read(rel: &str) -> String {
    let path = data_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn op_ordering(op: &str) -> Ordering {
    match op {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        other => panic!("unknown op {other:?}"),
    }
}

/// Runs `check` over every data line of a `left<TAB>op<TAB>right` file.
fn tsv_pairs(rel: &str, mut check: impl FnMut(&str, Ordering, &str) -> Result<(), String>) {
    let text = read(rel);
    let mut failures = String::new();
    let mut count = 0;
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        count += 1;
        if let Err(e) = check(cols[0], op_ordering(cols[1]), cols[2]) {
            let _ = writeln!(failures, "{rel}:{}: {line:?}: {e}", n + 1);
        }
    }
    assert!(count > 0, "{rel} has no vectors");
    assert!(failures.is_empty(), "{} failures in {rel}:\n{failures}", failures.lines().count());
}

fn compare_in(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, String> {
    let x = Version::parse(scheme, a).map_err(|e| e.to_string())?;
    let y = Version::parse(scheme, b).map_err(|e| e.to_string())?;
    x.compare(&y).map_err(|e| e.to_string())
}

fn expect_ordering(scheme: Scheme, a: &str, want: Ordering, b: &str) -> Result<(), String> {
    let got = compare_in(scheme, a, b)?;
    let back = compare_in(scheme, b, a)?;
    if got != want || back != want.reverse() {
        return Err(format!("got {got:?} (reverse {back:?}), want {want:?}"));
    }
    Ok(())
}

#[test]
fn dpkg_and_apt_vectors() {
    for file in ["dpkg/dpkg-Dpkg_Version.t.tsv", "dpkg/apt-compareversion_test.tsv"] {
        tsv_pairs(file, |a, want, b| expect_ordering(Scheme::Dpkg, a, want, b));
    }
}

#[test]
fn rpmvercmp_vectors() {
    tsv_pairs("rpm/rpmvercmp.at.tsv", |a, want, b| {
        let got = rpm::rpmvercmp(a, b);
        let back = rpm::rpmvercmp(b, a);
        if got != want || back != want.reverse() {
            return Err(format!("got {got:?} (reverse {back:?})"));
        }
        Ok(())
    });
}

#[test]
fn maven_vectors() {
    tsv_pairs("maven/maven-ComparableVersionTest.tsv", |a, want, b| {
        expect_ordering(Scheme::Maven, a, want, b)
    });
}

#[test]
fn pep440_comparisons() {
    let text = read("pep440/packaging-version-comparisons.tsv");
    let mut failures = String::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let [left, op, right, expected] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("bad line {line:?}")
        };
        let (a, b) = (Pep440Version::parse(left).unwrap(), Pep440Version::parse(right).unwrap());
        let got = match op {
            "<" => a < b,
            "<=" => a <= b,
            "==" => a == b,
            "!=" => a != b,
            ">=" => a >= b,
            ">" => a > b,
            _ => panic!("op {op}"),
        };
        count += 1;
        if got != (expected == "true") {
            let _ = writeln!(failures, "{left} {op} {right}: got {got}");
        }
    }
    assert!(count > 50_000, "only {count} comparisons");
    assert!(failures.is_empty(), "{} failures:\n{failures}", failures.lines().count());
}

#[test]
fn pep440_specifier_contains() {
    let text = read("pep440/packaging-specifier-contains.tsv");
    let mut failures = String::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let [spec, version, prereleases, expected] = line.split('\t').collect::<Vec<_>>()[..]
        else {
            panic!("bad line {line:?}")
        };
        let prereleases = match prereleases {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => panic!("prereleases {other:?}"),
        };
        let set = SpecifierSet::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let got = set.contains(version, prereleases);
        count += 1;
        if got != (expected == "true") {
            let _ =
                writeln!(failures, "{version} in {spec} (prereleases {prereleases:?}): got {got}");
        }
    }
    assert!(count > 300);
    assert!(failures.is_empty(), "{} failures:\n{failures}", failures.lines().count());
}

#[test]
fn pep440_parse_lists() {
    let doc: Value = serde_json::from_str(&read("pep440/packaging-version-parse.json")).unwrap();
    let mut failures = String::new();
    for v in doc["valid"].as_array().unwrap() {
        if let Err(e) = Pep440Version::parse(v.as_str().unwrap()) {
            let _ = writeln!(failures, "valid {v}: {e}");
        }
    }
    for v in doc["invalid"].as_array().unwrap() {
        if Pep440Version::parse(v.as_str().unwrap()).is_ok() {
            let _ = writeln!(failures, "invalid {v} was accepted");
        }
    }
    for pair in doc["normalized"].as_array().unwrap() {
        let (input, want) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        match Pep440Version::parse(input) {
            Ok(v) if v.normalized() == want => {}
            Ok(v) => {
                let _ = writeln!(
                    failures,
                    "{input:?} normalized to {:?}, want {want:?}",
                    v.normalized()
                );
            }
            Err(e) => {
                let _ = writeln!(failures, "{input:?}: {e}");
            }
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

/// The specifier checks in `packaging-test_specifiers-params.json` that are about membership
/// (the rest test Python object protocols: hashing, pickling, repr, laziness).
#[test]
fn pep440_specifier_params() {
    let doc: Value =
        serde_json::from_str(&read("pep440/packaging-test_specifiers-params.json")).unwrap();
    let mut failures = String::new();
    let mut count = 0;
    for case in doc.as_array().unwrap() {
        let test = case["test"].as_str().unwrap();
        let name = test.split('[').next().unwrap().rsplit("::").next().unwrap();
        let p = &case["params"];
        let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
        let pre = |k: &str| p[k].as_bool();
        let outcome: Option<Result<(), String>> = match name {
            "test_specifiers_valid" => {
                Some(SpecifierSet::parse(&s("specifier")).map(|_| ()).map_err(|e| e.to_string()))
            }
            "test_specifiers_invalid" => {
                Some(match ward_version::pep440::specifier::Specifier::parse(&s("specifier")) {
                    Ok(_) => Err("accepted".into()),
                    Err(_) => Ok(()),
                })
            }
            "test_specifiers"
            | "test_invalid_version"
            | "test_arbitrary_equality"
            | "test_comparison_ignores_local"
            | "test_contains_arbitrary_equality_contains"
            | "test_boundary_closure_short_release"
            | "test_contains_post_release_boundary_intersection"
            | "test_arbitrary_equality_normalization"
            | "test_contains_arbitrary_equality_normalization" => {
                let spec =
                    [s("spec_str"), s("specifier")].into_iter().find(|x| !x.is_empty()).unwrap();
                let version =
                    [s("version"), s("version_str")].into_iter().find(|x| !x.is_empty()).unwrap();
                let want = p["expected"].as_bool().unwrap();
                // `<Version('1.1')>` is a parsed Version object in the Python test.
                let as_object =
                    version.strip_prefix("<Version('").and_then(|v| v.strip_suffix("')>"));
                let got = SpecifierSet::parse(&spec).map(|set| match as_object {
                    Some(v) => set.contains_version(&Pep440Version::parse(v).unwrap(), None),
                    None => set.contains(&version, None),
                });
                Some(match got {
                    Ok(g) if g == want => Ok(()),
                    Ok(g) => Err(format!("{version} in {spec}: got {g}")),
                    Err(e) => Err(e.to_string()),
                })
            }
            "test_specifiers_prereleases" => {
                let spec = s("specifier");
                let version = s("version");
                let policy = pre("contains_pre").or(pre("spec_pre"));
                let want = p["expected"].as_bool().unwrap();
                let got = SpecifierSet::parse(&spec).unwrap().contains(&version, policy);
                Some(if got == want {
                    Ok(())
                } else {
                    Err(format!("{version} in {spec} ({policy:?}): got {got}"))
                })
            }
            "test_contains_exclusionary_bridges" => {
                let spec = s("specifier");
                let version = s("version");
                let want = p["expected"].as_bool().unwrap();
                let got =
                    SpecifierSet::parse(&spec).unwrap().contains(&version, pre("prereleases"));
                Some(if got == want {
                    Ok(())
                } else {
                    Err(format!("{version} in {spec}: got {got}"))
                })
            }
            "test_empty_specifier" => {
                let version = s("version");
                Some(if SpecifierSet::parse("").unwrap().contains(&version, None) {
                    Ok(())
                } else {
                    Err(format!("{version} not in the empty set"))
                })
            }
            _ => None,
        };
        if let Some(result) = outcome {
            count += 1;
            if let Err(e) = result {
                let _ = writeln!(failures, "{test}: {e}");
            }
        }
    }
    assert!(count > 400, "only {count} cases used");
    assert!(failures.is_empty(), "{} failures:\n{failures}", failures.lines().count());
}

fn npm_options(value: Option<&Value>) -> NpmOptions {
    match value {
        None => NpmOptions::default(),
        Some(Value::Bool(b)) => NpmOptions { loose: *b, include_prerelease: false },
        Some(Value::Object(o)) => {
            let truthy = |v: Option<&Value>| match v {
                Some(Value::Bool(b)) => *b,
                Some(Value::Number(n)) => n.as_f64() != Some(0.0),
                Some(Value::String(s)) => !s.is_empty(),
                _ => false,
            };
            NpmOptions {
                loose: truthy(o.get("loose")),
                include_prerelease: truthy(o.get("includePrerelease")),
            }
        }
        Some(other) => panic!("options {other}"),
    }
}

#[test]
fn node_semver_fixtures() {
    let doc: Value = serde_json::from_str(&read("npm-semver/node-semver-fixtures.json")).unwrap();
    let mut failures = String::new();
    let mut count = 0;
    let mut fail = |msg: String| {
        let _ = writeln!(failures, "{msg}");
    };
    for case in doc["comparisons"].as_array().unwrap() {
        let opts = npm_options(case.get(2));
        let (a, b) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
        count += 1;
        match (NpmVersion::parse(a, opts), NpmVersion::parse(b, opts)) {
            (Ok(x), Ok(y)) if x.cmp(&y) == Ordering::Greater && y.cmp(&x) == Ordering::Less => {}
            (x, y) => fail(format!("comparisons {a} > {b}: {x:?} {y:?}")),
        }
    }
    for case in doc["equality"].as_array().unwrap() {
        let opts = npm_options(case.get(2));
        let (a, b) = (case[0].as_str().unwrap(), case[1].as_str().unwrap());
        count += 1;
        match (NpmVersion::parse(a, opts), NpmVersion::parse(b, opts)) {
            (Ok(x), Ok(y)) if x == y || x.cmp(&y) == Ordering::Equal => {}
            (x, y) => fail(format!("equality {a} == {b}: {x:?} {y:?}")),
        }
    }
    for (key, want) in [("range-include", true), ("range-exclude", false)] {
        for case in doc[key].as_array().unwrap() {
            let opts = npm_options(case.get(2));
            let range = case[0].as_str().unwrap();
            count += 1;
            let got = match (NpmRange::parse(range, opts), case[1].as_str()) {
                (Ok(r), Some(v)) => r.satisfies_str(v),
                _ => false,
            };
            if got != want {
                fail(format!("{key}: {} in {range:?} ({opts:?}): got {got}", case[1]));
            }
        }
    }
    for case in doc["invalid-versions"].as_array().unwrap() {
        let opts = npm_options(case.get(2));
        if let Some(v) = case[0].as_str() {
            count += 1;
            if NpmVersion::parse(v, opts).is_ok() {
                fail(format!("invalid version {v:?} accepted"));
            }
        }
    }
    for case in doc["valid-versions"].as_array().unwrap() {
        let v = case[0].as_str().unwrap();
        count += 1;
        match NpmVersion::parse(v, NpmOptions::default()) {
            Ok(p)
                if [p.major, p.minor, p.patch]
                    == [
                        case[1].as_u64().unwrap(),
                        case[2].as_u64().unwrap(),
                        case[3].as_u64().unwrap(),
                    ] => {}
            other => fail(format!("valid version {v}: {other:?}")),
        }
    }
    assert!(count > 300);
    assert!(failures.is_empty(), "{} failures:\n{failures}", failures.lines().count());
}

/// Vectors where the reference tool itself disagrees with the list: (file, line text, what the
/// reference tool answers, why).
const KNOWN_WRONG: &[(&str, &str, Ordering, &str)] = &[(
    "maven-versions.txt",
    "1-1 = 1-ga-1",
    Ordering::Greater,
    "Maven 3.8.7's ComparableVersion (Debian's maven-artifact jar) parses 1-ga-1 as [1, [[1]]] \
     and answers 1-1 > 1-ga-1; the list follows a later Maven",
)];

/// Whether an Alpine version takes part in the transitivity check. apk's ordering is not a total
/// order: two versions outside apk's grammar compare as plain strings, and number components
/// after the first that start with `0` compare as strings (`1.00 > 1.0.1`), exactly as apk and
/// OSV do. The transitivity check therefore covers the versions inside the grammar without
/// zero-led components; every line of the list is still checked.
fn in_total_order(v: &Version) -> bool {
    match v {
        Version::Apk(a) => a.is_well_formed() && !a.has_fractional_component(),
        _ => true,
    }
}

/// Each osv-semantic file: every line's ordering, then transitivity of the whole list: its
/// distinct versions sorted by our comparator must be consistent for every pair.
#[test]
fn osv_semantic_lists() {
    let files = [
        ("semver-versions.txt", &["npm", "crates.io", "Go", "Hex"][..]),
        ("rubygems-versions.txt", &["RubyGems"]),
        ("nuget-versions.txt", &["NuGet"]),
        ("packagist-versions.txt", &["Packagist"]),
        ("maven-versions.txt", &["Maven"]),
        ("pypi-versions.txt", &["PyPI"]),
        ("debian-versions.txt", &["Debian", "Ubuntu"]),
        ("cran-versions.txt", &["CRAN"]),
        ("alpine-versions.txt", &["Alpine"]),
        ("redhat-versions.txt", &["Red Hat"]),
        ("hackage-versions.txt", &["Hackage"]),
        ("pub-versions.txt", &["Pub"]),
    ];
    let mut failures = String::new();
    for (file, ecosystems) in files {
        let text = read(&format!("osv-semantic/{file}"));
        for name in ecosystems {
            let ecosystem = Ecosystem::parse(name).unwrap();
            let scheme = ecosystem.scheme().unwrap();
            let mut distinct: Vec<Version> = Vec::new();
            let mut lines = 0;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
                    continue;
                }
                let parts: Vec<&str> = line.split(' ').collect();
                let [a, op, b] = parts[..] else { panic!("{file}:{}: {line:?}", n + 1) };
                lines += 1;
                let known = KNOWN_WRONG.iter().find(|(f, l, _, _)| *f == file && *l == line);
                let want = known.map_or(op_ordering(op), |(_, _, reference, _)| *reference);
                if let Err(e) = expect_ordering(scheme, a, want, b) {
                    let _ = writeln!(failures, "{file}:{} [{name}] {line}: {e}", n + 1);
                    continue;
                }
                for t in [a, b] {
                    let v = Version::parse(scheme, t).unwrap();
                    if in_total_order(&v) && !distinct.iter().any(|d| d.as_str() == t) {
                        distinct.push(v);
                    }
                }
            }
            assert!(lines > 5, "{file} has only {lines} vectors");
            distinct.sort_by(|x, y| x.compare(y).unwrap());
            for i in 0..distinct.len() {
                for j in i + 1..distinct.len() {
                    if distinct[i].compare(&distinct[j]).unwrap() == Ordering::Greater {
                        let _ = writeln!(
                            failures,
                            "{file} [{name}]: not transitive: sorted list has {} before {} but {} > {}",
                            distinct[i], distinct[j], distinct[i], distinct[j]
                        );
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{failures}", failures.lines().count());
}
