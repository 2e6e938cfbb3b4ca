//! Conformance on field data: the real inputs captured from a Debian 12 host and real projects
//! parse completely, and every input of a supported format in the peer suites (trivy's
//! integration fixtures, osv-scalibr's extractor test data) parses without error — except the
//! deliberately broken ones, which must give an error instead.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::collections::BTreeSet;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use ward_inventory::{detect, parse, Format, Parsed};

fn read_and_parse(path: &Path, format: Format) -> Parsed {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(format, &path.to_string_lossy(), &bytes)
}

fn check_complete(parsed: &Parsed, count: usize, what: &str) {
    assert!(parsed.errors.is_empty(), "{what}: {:?}", parsed.errors);
    assert_eq!(parsed.packages.len(), count, "{what}");
    assert!(
        parsed.packages.iter().all(|p| !p.version.is_empty() && p.location.line.is_some()),
        "{what}: a package without version or line"
    );
}

#[test]
fn debian_12_dpkg_status_has_712_packages_with_sources() {
    let path = common::data_dir().join("real-inputs/debian-bookworm/dpkg-status");
    let parsed = read_and_parse(&path, Format::DpkgStatus);
    check_complete(&parsed, 712, "dpkg-status");
    let libssl = parsed.packages.iter().find(|p| p.name == "libssl3").unwrap();
    assert_eq!(libssl.source.as_ref().unwrap().name, "openssl");
    assert!(parsed.packages.iter().all(|p| p.arch.is_some()));
}

#[test]
fn npm_v3_lock_reports_every_entry() {
    let path = common::data_dir().join("real-inputs/npm/express-4.21.2-with-dev.package-lock.json");
    let parsed = read_and_parse(&path, Format::NpmLock);
    // Independently: every non-root entry's (name, version), which npm may install at
    // several paths (405 entries, 404 packages, 375 distinct).
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let entries = doc["packages"].as_object().unwrap();
    assert_eq!(entries.len(), 405);
    let want: BTreeSet<(String, String)> = entries
        .iter()
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| {
            (
                k.rsplit_once("node_modules/").unwrap().1.to_string(),
                v["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let got: BTreeSet<(String, String)> =
        parsed.packages.iter().map(|p| (p.name.clone(), p.version.clone())).collect();
    assert_eq!(got, want);
    check_complete(&parsed, want.len(), "package-lock.json");
    assert!(parsed
        .packages
        .iter()
        .any(|p| p.name == "express" || p.relation == ward_inventory::Relation::Direct));
}

#[test]
fn real_cargo_locks_parse_completely() {
    for (file, count) in [
        ("cargo-audit-0.22.2.Cargo.lock", 399),
        ("cargo-deny-9b36f00.Cargo.lock", 211),
        ("ripgrep-15.2.0.Cargo.lock", 54),
        ("rust-analyzer-d2e55da491.Cargo.lock", 377),
    ] {
        let parsed = read_and_parse(
            &common::data_dir().join("real-inputs/cargo").join(file),
            Format::CargoLock,
        );
        check_complete(&parsed, count, file);
    }
}

#[test]
fn ninety_four_python_distributions_parse() {
    let dir = common::data_dir().join("real-inputs/python/site-packages-metadata");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let folder = entry.unwrap().path();
        let parent = folder.file_name().unwrap().to_string_lossy().into_owned();
        let metadata = folder.join("METADATA");
        let bytes = std::fs::read(&metadata).unwrap();
        assert_eq!(detect("METADATA", Some(&parent), &bytes), Some(Format::PythonMetadata));
        let parsed = parse(Format::PythonMetadata, &metadata.to_string_lossy(), &bytes);
        check_complete(&parsed, 1, &parent);
        names.insert(parsed.packages[0].name.clone());
    }
    assert_eq!(names.len(), 94);
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// osv-scalibr keeps each extractor's inputs under `<extractor>/testdata/` with free names:
/// the extractor folder says the format.
fn by_folder(path: &Path) -> Option<Format> {
    let text = path.to_string_lossy();
    let (extractor, _) = text.split_once("/testdata/")?;
    if text.ends_with(".sum") || text.ends_with(".md5sums") {
        return None;
    }
    Some(match extractor.rsplit('/').next()? {
        "dpkg" => Format::DpkgStatus,
        "apk" => Format::ApkInstalled,
        "mixlock" => Format::MixLock,
        "gomod" => Format::GoMod,
        "gradleverificationmetadataxml" => Format::GradleVerificationMetadata,
        "pomxml" => Format::PomXml,
        "gradlelockfile" => Format::GradleLock,
        "packageslockjson" => Format::NuGetLock,
        "pubspec" => Format::PubspecLock,
        "pipfilelock" => Format::PipfileLock,
        "requirements" => Format::Requirements,
        "pdmlock" => Format::PdmLock,
        "poetrylock" => Format::PoetryLock,
        "uvlock" => Format::UvLock,
        "composerlock" => Format::ComposerLock,
        "cargolock" => Format::CargoLock,
        "gemfilelock" => Format::GemfileLock,
        "packagelockjson" => Format::NpmLock,
        "pnpmlock" => Format::PnpmLock,
        "yarnlock" => Format::YarnLock,
        "bunlock" => Format::BunLock,
        "pylock" => Format::PyLock,
        "renvlock" => Format::RenvLock,
        _ => return None,
    })
}

/// Fixtures made to be broken: their names say so (`invalid`, `not-json.txt`, `malformed`), or
/// they are listed here with what is wrong. They must produce an error.
const BROKEN: &[(&str, &str)] = &[
    ("nopackage", "a dpkg entry without Package"),
    ("noversion", "a dpkg entry without Version"),
    ("missing-attribute.xml", "a Gradle component without a version"),
    ("null.jsontest", "the JSON document is `null`"),
    ("null.v2.jsontest", "the JSON document is `null`"),
    ("empty-file", "an empty file is not JSON"),
    ("with-bad-pkg", "lines that are not group:artifact:version"),
    ("bad-tuple.json5", "a bun.lock entry that is not a tuple"),
];

fn meant_to_fail(path: &Path) -> bool {
    let name = path.file_name().unwrap().to_string_lossy().to_ascii_lowercase();
    let folder = path.to_string_lossy().to_ascii_lowercase();
    BROKEN.iter().any(|(n, _)| *n == name)
        || name.starts_with("not-")
        || name.starts_with("not_")
        || folder.contains("invalid")
        || name.contains("malformed")
}

fn check_peer_suite(root: &Path, min_files: usize) {
    let mut files = Vec::new();
    files_under(root, &mut files);
    files.sort();
    let mut failures = String::new();
    let mut parsed_files = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let parent =
            file.parent().and_then(|p| p.file_name()).map(|p| p.to_string_lossy().into_owned());
        let Some(format) = detect(&name, parent.as_deref(), &bytes).or_else(|| by_folder(file))
        else {
            continue;
        };
        parsed_files += 1;
        let parsed = parse(format, &file.to_string_lossy(), &bytes);
        match (meant_to_fail(file), parsed.errors.is_empty()) {
            (false, false) => {
                let _ = writeln!(
                    failures,
                    "{} ({}): {:?}",
                    file.display(),
                    format.name(),
                    parsed.errors
                );
            }
            (true, true) if !parsed.packages.is_empty() => {
                let _ = writeln!(
                    failures,
                    "{} ({}): a broken fixture read without error",
                    file.display(),
                    format.name()
                );
            }
            _ => {}
        }
    }
    assert!(
        parsed_files >= min_files,
        "only {parsed_files} supported files under {}",
        root.display()
    );
    assert!(failures.is_empty(), "{}", failures);
}

/// trivy keeps Composer's `vendor/composer/installed.json` under another folder name.
#[test]
fn trivy_composer_vendor_installed_json() {
    let path = common::data_dir()
        .join("peer-suites/trivy-integration/fixtures/repo/composer-vendor/installed.json");
    let parsed = read_and_parse(&path, Format::ComposerInstalled);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert!(parsed.packages.iter().any(|p| p.name == "guzzlehttp/psr7" && p.version == "1.8.3"));
    assert!(parsed.packages.iter().all(|p| p.location.line.is_some()));
}

#[test]
fn trivy_integration_inputs_parse_without_error() {
    check_peer_suite(&common::data_dir().join("peer-suites/trivy-integration/fixtures/repo"), 15);
}

#[test]
fn osv_scalibr_inputs_parse_without_error() {
    check_peer_suite(&common::data_dir().join("lockfiles/osv-scalibr"), 60);
}

/// Every Cargo.lock in the shared data, read by both readers of `formats::cargo`: the
/// line reader takes the cargo-written ones and agrees with the TOML reader on each.
#[test]
fn cargo_lock_line_reader_agrees_with_toml_reader() {
    let data = common::data_dir();
    let mut files = Vec::new();
    let mut stack =
        vec![data.join("real-inputs/cargo"), data.join("lockfiles"), data.join("peer-suites")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().unwrap().to_string_lossy().ends_with("Cargo.lock") {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 14, "{files:?}");
    let mut taken = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let shown = path.to_string_lossy();
        let slow = ward_inventory::formats::cargo::parse_toml(&shown, &text);
        if let Some(fast) = ward_inventory::formats::cargo::generated(&shown, &text) {
            assert_eq!(fast, slow, "{shown}");
            taken += 1;
        }
    }
    // The real lockfiles are cargo-written: the line reader must take them all.
    for name in
        ["cargo-audit-0.22.2", "cargo-deny-9b36f00", "ripgrep-15.2.0", "rust-analyzer-d2e55da491"]
    {
        let path = data.join(format!("real-inputs/cargo/{name}.Cargo.lock"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(ward_inventory::formats::cargo::generated("x", &text).is_some(), "{name}");
    }
    assert!(taken >= 12, "the line reader took only {taken} of {} files", files.len());
}
