//! `ward scan`: the real binary against the shared advisory feeds and lockfiles, checked
//! against cargo-audit on the same data, against apt on the captured Debian host and on this
//! machine, against the SARIF and CycloneDX schemas; ignore rules, VEX and exit codes.
#![allow(
    clippy::disallowed_methods,
    reason = "these tests run the real ward binary and reference tools"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn data(sub: &str) -> PathBuf {
    ward_testdata::dir(sub)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ward(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("WARD_DATA_DIR")
        .env_remove("NO_COLOR")
        // Never the real public feeds from a test: only local files.
        .env("WARD_DB_DEFAULT_FEEDS", "")
        .stdin(Stdio::null())
        .output()
        .expect("ward runs")
}

/// A data directory with these feeds imported.
fn index(feeds: &[PathBuf]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = vec!["db".to_string(), "import".to_string()];
    args.extend(feeds.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ward(dir.path(), &refs);
    assert!(o.status.success(), "import: {}{}", text(&o.stdout), text(&o.stderr));
    dir
}

fn scan_json(data_dir: &Path, args: &[&str]) -> (Value, Output) {
    let mut all = vec!["scan", "--offline", "--format", "json"];
    all.extend_from_slice(args);
    let o = ward(data_dir, &all);
    let doc: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("scan {args:?}: not JSON ({e}): {}", text(&o.stderr)));
    (doc, o)
}

/// (advisory id, package, version) of every finding (`key` = "findings") or notice.
fn triples(doc: &Value, key: &str) -> BTreeSet<String> {
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|p| {
            p[key].as_array().expect("list").iter().map(move |f| {
                format!("{} {} {}", f["id"].as_str().unwrap_or(""), p["name"], p["version"])
                    .replace('"', "")
            })
        })
        .collect()
}

/// The names of the packages with a pending security update in a `ward.scan/1` document.
fn security_updated(doc: &Value) -> BTreeSet<String> {
    doc["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| {
            p["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["kind"] == "security-update"))
        })
        .map(|p| p["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn tools_dir() -> PathBuf {
    std::env::var_os("WARD_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/ward-tools")
    })
}

/// The RustSec TOML copy as the git checkout cargo-audit reads.
fn rustsec_git() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = data("advisories/rustsec-toml");
    let status = Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success());
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "ward-test")
            .env("GIT_AUTHOR_EMAIL", "t@ward.invalid")
            .env("GIT_COMMITTER_NAME", "ward-test")
            .env("GIT_COMMITTER_EMAIL", "t@ward.invalid")
            .output()
            .expect("git");
        assert!(o.status.success(), "git {args:?}: {}", text(&o.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "RustSec copy"]);
    dir
}

/// Every cargo-audit-support case and the four real Cargo.lock files: ward finds exactly the
/// vulnerabilities and the unmaintained/unsound/notice warnings cargo-audit finds on the same
/// RustSec data (ward from the OSV export, cargo-audit from the TOML source of the same date).
#[test]
fn cargo_lockfiles_agree_with_cargo_audit() {
    let cargo_audit = tools_dir().join("bin/cargo-audit");
    assert!(
        cargo_audit.is_file(),
        "{} is missing: run `.ci/run tools` to install the reference tools",
        cargo_audit.display()
    );
    let db = rustsec_git();
    let data_dir = index(&[data("advisories/rustsec-osv")]);
    let mut lockfiles: Vec<PathBuf> = std::fs::read_dir(data("lockfiles/cargo-audit-support"))
        .expect("cases")
        .filter_map(Result::ok)
        .map(|e| e.path().join("Cargo.lock"))
        .filter(|p| p.is_file())
        .collect();
    lockfiles.extend(
        std::fs::read_dir(data("real-inputs/cargo"))
            .expect("real Cargo.lock files")
            .filter_map(Result::ok)
            .map(|e| e.path()),
    );
    lockfiles.sort();
    assert!(lockfiles.len() >= 12, "{lockfiles:?}");
    let mut failures = Vec::new();
    let mut total = (0, 0);
    for lock in &lockfiles {
        let (doc, _) = scan_json(data_dir.path(), &[&lock.display().to_string()]);
        let o = Command::new(&cargo_audit)
            .args(["audit", "--db"])
            .arg(db.path())
            .args(["--no-fetch", "--stale", "--no-yanked", "--json", "-f"])
            .arg(lock)
            .output()
            .expect("cargo-audit runs");
        let audit: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("cargo-audit {}: {e}: {}", lock.display(), text(&o.stderr)));
        let theirs: BTreeSet<String> = audit["vulnerabilities"]["list"]
            .as_array()
            .expect("list")
            .iter()
            .map(|v| {
                format!(
                    "{} {} {}",
                    v["advisory"]["id"], v["package"]["name"], v["package"]["version"]
                )
                .replace('"', "")
            })
            .collect();
        let their_warnings: BTreeSet<String> = audit["warnings"]
            .as_object()
            .into_iter()
            .flat_map(|w| w.values())
            .flat_map(|list| list.as_array().into_iter().flatten())
            .filter(|w| w["advisory"].is_object())
            .map(|v| {
                format!(
                    "{} {} {}",
                    v["advisory"]["id"], v["package"]["name"], v["package"]["version"]
                )
                .replace('"', "")
            })
            .collect();
        let ours = triples(&doc, "findings");
        let our_notices = triples(&doc, "notices");
        total.0 += ours.len();
        total.1 += our_notices.len();
        if ours != theirs {
            failures.push(format!(
                "{}: vulnerabilities differ\n  only ward: {:?}\n  only cargo-audit: {:?}",
                lock.display(),
                ours.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours).collect::<Vec<_>>()
            ));
        }
        if our_notices != their_warnings {
            failures.push(format!(
                "{}: notices differ\n  only ward: {:?}\n  only cargo-audit: {:?}",
                lock.display(),
                our_notices.difference(&their_warnings).collect::<Vec<_>>(),
                their_warnings.difference(&our_notices).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The data has plenty to find: the comparison is not vacuous.
    assert!(total.0 >= 40 && total.1 >= 20, "{total:?}");
}

fn case(name: &str) -> String {
    data("lockfiles/cargo-audit-support").join(name).join("Cargo.lock").display().to_string()
}

/// The real lockfiles against RustSec and the Node security WG feed: every finding, its
/// severity, fixed versions and the upgrade, as a reviewed snapshot.
#[test]
fn real_lockfiles_snapshot() {
    let data_dir =
        index(&[data("advisories/rustsec-osv"), data("advisories/nodejs-security-wg-npm")]);
    let root = data("real-inputs");
    let mut lines = Vec::new();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(root.join("cargo"))
        .expect("cargo")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    inputs.sort();
    inputs.push(root.join("npm/express-4.21.2-with-dev.package-lock.json"));
    for input in &inputs {
        let (doc, o) = scan_json(data_dir.path(), &[&input.display().to_string()]);
        let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let summary = &doc["summary"];
        lines.push(format!(
            "## {name}: {} checked, {} findings, {} notices, exit {}",
            summary["packages_checked"],
            summary["findings_total"],
            summary["notices"],
            o.status.code().unwrap_or(-1)
        ));
        for p in doc["packages"].as_array().expect("packages") {
            lines.push(format!(
                "{} {} line {} -> {} | {}",
                p["name"].as_str().unwrap_or(""),
                p["version"].as_str().unwrap_or(""),
                p["location"]["line"],
                p["upgrade"].as_str().unwrap_or("(no single fix)"),
                p["fix_command"].as_str().unwrap_or("-")
            ));
            for key in ["findings", "notices"] {
                for f in p[key].as_array().expect("list") {
                    lines.push(format!(
                        "  {} {} {} {} [{}] fixed {}",
                        f["kind"].as_str().unwrap_or(""),
                        f["id"].as_str().unwrap_or(""),
                        f["severity"]["level"].as_str().unwrap_or(""),
                        f["severity"]["score"],
                        f["aliases"]
                            .as_array()
                            .map(|a| a
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(" "))
                            .unwrap_or_default(),
                        f["fixed"]
                            .as_array()
                            .map(|a| a
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(" "))
                            .unwrap_or_default(),
                    ));
                }
            }
        }
    }
    insta::assert_snapshot!("real_lockfiles", lines.join("\n"));
}

/// The captured Debian 12 host: the security-suite facts flag exactly the packages apt
/// (python3-apt's own version comparison, apt's candidate rule) would upgrade from the
/// security suite, plus packages whose candidate comes from a newer point release while the
/// security suite's fix is still not installed (apt lists those under `bookworm`).
#[test]
fn captured_debian_host_agrees_with_apt() {
    let host = data("real-inputs/debian-bookworm");
    let data_dir = index(&[host.join("Packages.bookworm-security.main.amd64")]);
    let (doc, o) = scan_json(
        data_dir.path(),
        &["--distro", "Debian:12", &host.join("dpkg-status").display().to_string()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let ours = security_updated(&doc);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/apt_candidates.py");
    let o = Command::new("/usr/bin/python3")
        .arg(&script)
        .arg(host.join("dpkg-status"))
        .arg(host.join("Packages.bookworm-security.main.amd64"))
        .arg(host.join("Packages.bookworm-updates.main.amd64"))
        .arg(host.join("Packages.bookworm.main.amd64.installed-subset"))
        .output()
        .expect("python3-apt runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    let apt: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let set = |key: &str| -> BTreeSet<String> {
        apt[key]
            .as_array()
            .expect(key)
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let (from_security, security_newer) = (set("from_security"), set("security_newer"));
    // The README of the captured data: 81 of the 132 pending upgrades come from the suite.
    assert_eq!(from_security.len(), 81);
    assert!(from_security.is_subset(&ours), "missed: {:?}", from_security.difference(&ours));
    assert_eq!(ours, security_newer, "ward flags exactly the binaries with a newer security build");
    let extra: Vec<_> = ours.difference(&from_security).collect();
    assert_eq!(extra, ["openssh-client"], "explained extras only");
}

/// `--fail-on`, ignore rules with expiry, OpenVEX, and the error exits.
#[test]
fn thresholds_ignore_rules_vex_and_exit_codes() {
    let data_dir = index(&[data("advisories/rustsec-osv")]);
    let dir = data_dir.path();
    let vuln = case("base64_vuln");
    let run = |extra: &[&str]| {
        let mut args = vec!["scan", "--offline", &vuln];
        args.extend_from_slice(extra);
        ward(dir, &args)
    };
    // RUSTSEC-2017-0004 is 9.8 critical.
    assert_eq!(run(&[]).status.code(), Some(1));
    assert_eq!(run(&["--fail-on", "critical"]).status.code(), Some(1));
    let notice_only = ward(dir, &["scan", "--offline", &case("notice")]);
    assert_eq!(notice_only.status.code(), Some(0), "notices never fail a scan");

    let rules = tempfile::tempdir().expect("dir");
    let write = |name: &str, body: &str| {
        let path = rules.path().join(name);
        std::fs::write(&path, body).expect("write");
        path.display().to_string()
    };
    let hiding = write(
        "hide.toml",
        "[[scan.ignore]]\nid = \"CVE-2017-1000430\"\nreason = \"we never encode untrusted sizes\"\nexpires = 2999-01-01\n",
    );
    let o = run(&["--ignore-file", &hiding]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).contains(
            "RUSTSEC-2017-0004  base64 0.5.1  we never encode untrusted sizes until 2999-01-01"
        ),
        "{}",
        text(&o.stdout)
    );

    let expired = write(
        "expired.toml",
        "[[scan.ignore]]\nid = \"RUSTSEC-2017-0004\"\nreason = \"old exception\"\nexpires = 2020-01-01\n",
    );
    let o = run(&["--ignore-file", &expired]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stdout).contains(
            "expired.toml:1: the ignore rule for RUSTSEC-2017-0004 expired on 2020-01-01"
        ),
        "{}",
        text(&o.stdout)
    );

    let broken =
        write("broken.toml", "[[scan.ignore]]\nid = \"RUSTSEC-2017-0004\"\nexpires = 2999-01-01\n");
    let o = run(&["--ignore-file", &broken]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("broken.toml:1: an ignore rule needs a `reason`"),
        "{}",
        text(&o.stderr)
    );

    let vex = write(
        "app.vex.json",
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:x", "author": "t", "timestamp": "2026-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": "CVE-2017-1000430"}, "products": [{"@id": "pkg:cargo/base64@0.5.1"}],
                            "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}"#,
    );
    let (doc, o) = scan_json(dir, &[&vuln, "--vex", &vex]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        doc["suppressed"][0]["reason"],
        "VEX not_affected: vulnerable_code_not_in_execute_path"
    );
    assert_eq!(doc["suppressed"][0]["rule"], format!("{vex}#statements[0]"));

    // No index and --offline: a clear error, exit 2.
    let empty = tempfile::tempdir().expect("dir");
    let o = ward(empty.path(), &["scan", "--offline", &vuln]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no advisory index in"), "{}", text(&o.stderr));
    // An unreadable input makes the result incomplete: exit 2, findings still printed.
    let (doc, o) = scan_json(dir, &[&vuln, "/nonexistent/Cargo.lock"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(doc["summary"]["findings_total"], 1);
    assert!(doc["errors"][0]["path"].as_str().is_some_and(|p| p.contains("nonexistent")));
}

/// SARIF and CycloneDX outputs of a scan with findings, notices and a suppressed finding are
/// valid against the official SARIF 2.1.0 and CycloneDX 1.6 schemas (reference validators);
/// SARIF results point at the lockfile lines.
#[test]
fn sarif_and_cyclonedx_outputs_meet_their_schemas() {
    let data_dir = index(&[data("advisories/rustsec-osv")]);
    let rules = tempfile::tempdir().expect("dir");
    let ignore = rules.path().join("ward.toml");
    std::fs::write(
        &ignore,
        "[[scan.ignore]]\nid = \"RUSTSEC-2024-0421\"\nreason = \"idna: only ASCII hosts\"\nexpires = 2999-01-01\n",
    )
    .expect("write");
    let lock = case("branch-regression");
    let ignore = ignore.display().to_string();
    for format in ["sarif", "cyclonedx"] {
        let o = ward(
            data_dir.path(),
            &["scan", "--offline", "--format", format, "--ignore-file", &ignore, &lock],
        );
        assert_eq!(o.status.code(), Some(1), "{format}: {}", text(&o.stderr));
        let schema = if format == "sarif" {
            ward_testdata::Schema::Sarif210
        } else {
            ward_testdata::Schema::CycloneDx16
        };
        if let Err(e) = ward_testdata::validate_json(schema, &o.stdout) {
            panic!("{format} output is not valid: {e}");
        }
        let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON");
        if format == "sarif" {
            let results = doc["runs"][0]["results"].as_array().expect("results");
            assert!(results.len() >= 35, "{}", results.len());
            let active: Vec<&Value> =
                results.iter().filter(|r| r["suppressions"].is_null()).collect();
            let located = active
                .iter()
                .filter(|r| {
                    r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().is_some()
                })
                .count();
            assert_eq!(located, active.len(), "every result points at its lockfile line");
            assert!(results.iter().any(|r| r["suppressions"].is_array()));
        } else {
            let vulns = doc["vulnerabilities"].as_array().expect("vulnerabilities");
            assert!(vulns.len() >= 35, "{}", vulns.len());
        }
    }
    // Markdown: a verdict and a table row per finding.
    let o =
        ward(data_dir.path(), &["scan", "--offline", "--format", "markdown", &case("base64_vuln")]);
    let md = text(&o.stdout);
    assert!(md.contains("RUSTSEC-2017-0004") && md.contains("0.5.2"), "{md}");
}

/// This machine: `ward scan --host` (no advisory index: only apt's own security lists) reports
/// every package `apt list --upgradable` shows from a `-security` suite, and nothing apt would
/// not upgrade at all (a package whose candidate is a newer point release but whose security
/// build is still not installed is reported too: the fix is pending).
#[test]
fn host_scan_reports_the_pending_security_updates_apt_lists() {
    let empty = tempfile::tempdir().expect("dir");
    let (doc, o) = scan_json(empty.path(), &["--host"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", text(&o.stderr));
    let ours = security_updated(&doc);
    let apt = Command::new("apt")
        .args(["list", "--upgradable"])
        .env("LC_ALL", "C")
        .output()
        .expect("apt runs");
    assert!(apt.status.success(), "{}", text(&apt.stderr));
    let listing = text(&apt.stdout);
    let upgradable: BTreeSet<String> = listing
        .lines()
        .filter(|l| l.contains('/'))
        .map(|l| l.split('/').next().unwrap_or("").to_string())
        .collect();
    let security: BTreeSet<String> = listing
        .lines()
        .filter(|l| l.split_whitespace().next().is_some_and(|s| s.contains("-security")))
        .map(|l| l.split('/').next().unwrap_or("").to_string())
        .collect();
    assert!(
        security.is_subset(&ours),
        "ward missed: {:?}",
        security.difference(&ours).collect::<Vec<_>>()
    );
    assert!(
        ours.is_subset(&upgradable),
        "ward flags what apt would not upgrade: {:?}",
        ours.difference(&upgradable).collect::<Vec<_>>()
    );
    assert_eq!(o.status.code(), Some(if ours.is_empty() { 0 } else { 1 }));
}
