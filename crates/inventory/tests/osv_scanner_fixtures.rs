//! Conformance: every test of osv-scanner v1's lockfile suite (`expected.json` in
//! `$WARD_TEST_DATA/lockfiles/osv-scanner-v1`, 292 tests, fixture paths relative to
//! `pkg/lockfile/`), run through ward's parsers and compared with the expected packages.
//!
//! ward's model says more than osv-scanner's, so `as_osv_scanner` translates it into that
//! suite's conventions before comparing (each rule is written there with its reason). Every
//! divergence is listed in `DIVERGENCES` with its reason; the test fails on any other
//! difference, on a listed divergence that no longer diverges, and below the pass rate.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::Path;

use serde_json::Value;
use ward_inventory::formats::requirements;
use ward_inventory::{Format, Package};

/// Tests whose result differs from osv-scanner's expectation, with the reason. Empty: every
/// test passes.
const DIVERGENCES: &[(&str, &str)] = &[];

/// Tests the upstream suite checks by hand (`"unconverted": true` in expected.json), with
/// the same property checked here.
fn unconverted(test: &str, fixture: &Path) -> Result<(), String> {
    match test {
        // Upstream asserts that a package installed at several nested paths with the same
        // version is reported once: here, supports-color 6.1.0 and 2.0.0 once each.
        "TestParseNpmLock_v1_NestedDependenciesDup"
        | "TestNodeModulesExtractor_Extract_npm_v1_NestedDependenciesDup" => {
            let parsed =
                ward_inventory::parse(Format::NpmLock, "lock", &std::fs::read(fixture).unwrap());
            let colors: Vec<&str> = parsed
                .packages
                .iter()
                .filter(|p| p.name == "supports-color")
                .map(|p| p.version.as_str())
                .collect();
            let unique: BTreeSet<&str> = colors.iter().copied().collect();
            if colors.len() == unique.len() && unique.contains("6.1.0") && unique.contains("2.0.0")
            {
                Ok(())
            } else {
                Err(format!("supports-color versions {colors:?}"))
            }
        }
        // Upstream asserts that a go.mod given to the Go binary reader is an error.
        "TestExtractGoBinary_NotAGoBinary" => {
            let parsed =
                ward_inventory::parse(Format::GoBinary, "go.mod", &std::fs::read(fixture).unwrap());
            if parsed.errors.is_empty() || !parsed.packages.is_empty() {
                Err("a go.mod read as a Go binary".into())
            } else {
                Ok(())
            }
        }
        other => Err(format!("no hand-written check for unconverted test {other}")),
    }
}

fn format_of(parser: &str) -> Option<Format> {
    Some(match parser {
        "ParseApkInstalled" => Format::ApkInstalled,
        "ParseDpkgStatus" => Format::DpkgStatus,
        "ParseCargoLock" => Format::CargoLock,
        "ParseNpmLock" | "testParsingNodeModules" => Format::NpmLock,
        "ParseYarnLock" => Format::YarnLock,
        "ParsePnpmLock" => Format::PnpmLock,
        "ParseComposerLock" => Format::ComposerLock,
        "ParseRequirementsTxt" => Format::Requirements,
        "ParsePoetryLock" => Format::PoetryLock,
        "ParsePipenvLock" => Format::PipfileLock,
        "ParsePdmLock" => Format::PdmLock,
        "ParseGoLock" => Format::GoMod,
        "ParseGemfileLock" => Format::GemfileLock,
        "ParseMavenLock" => Format::PomXml,
        "ParseGradleLock" => Format::GradleLock,
        "ParseGradleVerificationMetadata" => Format::GradleVerificationMetadata,
        "ParseNuGetLock" => Format::NuGetLock,
        "ParseMixLock" => Format::MixLock,
        "ParsePubspecLock" => Format::PubspecLock,
        "ParseConanLock" => Format::ConanLock,
        "ParseRenvLock" => Format::RenvLock,
        "ParseOSVScannerResults" => Format::OsvScannerResults,
        "OpenLocalDepFile" => Format::GoBinary,
        _ => return None,
    })
}

/// One package as osv-scanner's suite writes it: name, version, ecosystem, commit, groups.
type Expected = (String, String, String, String, BTreeSet<String>);

/// ward's package in osv-scanner's conventions:
/// - dpkg packages are named and versioned by their source package (ward keeps both).
/// - An unpinned requirement gets osv-scanner's stand-in version: the bound of `>=`/`~=`
///   (PyPI) or the lower end of a Maven range, else `0.0.0` for PyPI (ward reports no
///   version and keeps the requirement as written).
/// - Groups: the named groups where osv-scanner names them (requirements file names, Maven
///   scopes, Conan sections), else `dev`/`optional` from the flags.
/// - A bare commit is in OSV's `GIT` ecosystem; osv-scanner leaves the ecosystem empty.
/// - No commit and an empty commit are the same.
fn as_osv_scanner(p: &Package) -> Expected {
    let (name, mut version) = match &p.source {
        Some(s) if p.ecosystem.kind() == ward_version::EcosystemKind::Debian => {
            (s.name.clone(), s.version.clone())
        }
        _ => (p.name.clone(), p.version.clone()),
    };
    if let Some(req) = &p.requirement {
        let req = req.trim();
        version = match p.ecosystem.to_string().as_str() {
            "PyPI" => match req.strip_prefix(">=").or_else(|| req.strip_prefix("~=")) {
                Some(v) => v.split_whitespace().next().unwrap_or("").to_string(),
                None => "0.0.0".to_string(),
            },
            "Maven" => {
                req.trim_start_matches(['[', '(']).split(',').next().unwrap_or("").to_string()
            }
            _ => version,
        };
    }
    let named = matches!(
        p.ecosystem.kind(),
        ward_version::EcosystemKind::Maven | ward_version::EcosystemKind::ConanCenter
    ) || p.location.path.ends_with(".txt");
    let groups: BTreeSet<String> = if !named {
        [(p.dev, "dev"), (p.optional, "optional")]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, g)| (*g).to_string())
            .collect()
    } else {
        p.groups.iter().cloned().collect()
    };
    let ecosystem = match p.ecosystem.kind() {
        ward_version::EcosystemKind::Git => String::new(),
        _ => p.ecosystem.to_string(),
    };
    (name, version, ecosystem, p.commit.clone().unwrap_or_default(), groups)
}

fn expected(v: &Value) -> Expected {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let groups = v
        .get("DepGroups")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    (s("Name"), s("Version"), s("Ecosystem"), s("Commit"), groups)
}

fn run(case: &Value, root: &Path) -> Result<(), String> {
    let test = case["test"].as_str().unwrap();
    let fixture = root.join(case["fixture"].as_str().unwrap());
    if case.get("unconverted").is_some() {
        return unconverted(test, &fixture);
    }
    let parser = case["parser"].as_str().unwrap();
    let format = format_of(parser).ok_or_else(|| format!("ward has no reader for {parser}"))?;
    let path = fixture.to_string_lossy().into_owned();
    let parsed = if format == Format::Requirements {
        requirements::resolve(&path, |p| std::fs::read(p).map_err(|e| e.to_string()))
    } else {
        match std::fs::read(&fixture) {
            Ok(bytes) => ward_inventory::parse(format, &path, &bytes),
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && case.get("expect_error_is").is_some() =>
            {
                return Ok(())
            }
            Err(e) => return Err(format!("cannot read {path}: {e}")),
        }
    };
    if case.get("expect_error_is").is_some() || case.get("expect_error_contains").is_some() {
        return if parsed.errors.is_empty() {
            Err("expected an error, got none".into())
        } else {
            Ok(())
        };
    }
    let mut got: Vec<Expected> = parsed
        .packages
        .iter()
        .map(|p| {
            let mut e = as_osv_scanner(p);
            // osv-scanner's apk tests ran with the Alpine release set to v3.20 (it reads the
            // release from the host, which ward's callers supply).
            if format == Format::ApkInstalled {
                e.2 = "Alpine:v3.20".to_string();
            }
            e
        })
        .collect();
    let mut want: Vec<Expected> =
        case["expect_packages"].as_array().unwrap().iter().map(expected).collect();
    got.sort();
    want.sort();
    if got == want {
        return Ok(());
    }
    let missing: Vec<_> = want.iter().filter(|w| !got.contains(w)).collect();
    let extra: Vec<_> = got.iter().filter(|g| !want.contains(g)).collect();
    Err(format!("missing {missing:?}\n      unexpected {extra:?}"))
}

#[test]
fn osv_scanner_v1_lockfile_suite() {
    let root = common::data_dir().join("lockfiles/osv-scanner-v1");
    let cases: Vec<Value> =
        serde_json::from_slice(&std::fs::read(root.join("expected.json")).unwrap()).unwrap();
    let fixtures = root.join("pkg/lockfile");
    let mut failures = String::new();
    let mut passed = 0;
    let mut still_listed = Vec::new();
    for case in &cases {
        let test = case["test"].as_str().unwrap();
        let listed = DIVERGENCES.iter().find(|(t, _)| *t == test);
        match (run(case, &fixtures), listed) {
            (Ok(()), None) => passed += 1,
            (Ok(()), Some(_)) => {
                passed += 1;
                still_listed.push(test);
            }
            (Err(_), Some(_)) => {}
            (Err(e), None) => {
                let _ = writeln!(failures, "{test} ({}): {e}", case["fixture"].as_str().unwrap());
            }
        }
    }
    let total = cases.len();
    println!(
        "osv-scanner v1 lockfile suite: {passed}/{total} tests give exactly the expected packages"
    );
    assert_eq!(total, 292, "the suite has 292 tests");
    assert!(
        failures.is_empty(),
        "{} unlisted divergences ({passed}/{total} pass):\n{failures}",
        failures.lines().filter(|l| !l.starts_with(' ')).count()
    );
    assert!(still_listed.is_empty(), "listed as divergent but now pass: {still_listed:?}");
    assert!(passed * 100 >= total * 99, "{passed}/{total} is below 99%");
    assert_eq!(passed + DIVERGENCES.len(), total);
}
