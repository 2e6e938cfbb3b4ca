//! `ward inventory`: the real binary against small fixture trees (snapshotted JSON) and the
//! shared field data.
#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../inventory/tests/fixtures")
}

fn data_dir() -> PathBuf {
    ward_testdata::root()
}

/// Runs `ward inventory ARGS` in `dir`.
fn inventory(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("inventory")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("ward runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn project_tree_as_json() {
    let o = inventory(&fixtures(), &["project", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Searched: lockfiles at any depth, requirements with their -r include reported once,
    // a dpkg status copy recognised by content. Skipped: .gitignore'd `ignored/`, the `.hg`
    // folder and node_modules.
    insta::assert_snapshot!(text(&o.stdout));
    assert_eq!(text(&o.stderr), "ward: 10 packages from 6 inputs\n");
}

#[test]
fn project_tree_as_table() {
    let o = inventory(&fixtures().join("project"), &["app", "status-copy"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    insta::assert_snapshot!(text(&o.stdout));
}

#[test]
fn node_modules_are_searched_only_when_asked() {
    let o = inventory(&fixtures(), &["project", "--include-node-modules", "-f", "json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> =
        doc["packages"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"hidden"), "{names:?}");
}

#[test]
fn cyclonedx_output_reads_back_as_the_same_packages() {
    let o = inventory(&fixtures(), &["project", "--format", "cyclonedx"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let bom: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["components"].as_array().unwrap().len(), 10);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let file = dir.join("inventory-roundtrip.cdx.json");
    std::fs::write(&file, &o.stdout).unwrap();
    let back = inventory(&dir, &[file.to_str().unwrap(), "-f", "json"]);
    assert!(back.status.success(), "{}", text(&back.stderr));
    let first = inventory(&fixtures(), &["project", "-f", "json"]);
    let key = |o: &Output| -> Vec<(String, String, String)> {
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        let mut v: Vec<_> = doc["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["ecosystem"].as_str().unwrap().to_string(),
                    p["name"].as_str().unwrap().to_string(),
                    p["purl"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&back), key(&first));
}

/// A small dpkg status: a binary package of another source (`ward:source`), an epoch, `~`
/// and `+` in versions, an `all` architecture.
const DPKG_STATUS: &str = "\
Package: libssl3
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit - shared libraries

Package: login
Status: install ok installed
Architecture: amd64
Source: shadow (1:4.13+dfsg1-1)
Version: 1:4.13+dfsg1-1+b1
Description: system login tools

Package: adduser
Status: install ok installed
Architecture: all
Version: 3.134
Description: add and remove users and groups
";

/// `ward inventory -f cyclonedx` meets the official CycloneDX 1.6 schema (strict: no unknown
/// properties), checked by cyclonedx-python-lib's validator, for lockfiles of two ecosystems
/// (the npm one with dev packages: `scope`), a dpkg status, and the fixture tree (unpinned
/// requirements: components without a version).
#[test]
fn cyclonedx_output_is_valid_cyclonedx_1_6() {
    let status_dir = tempfile::tempdir().unwrap();
    std::fs::write(status_dir.path().join("status"), DPKG_STATUS).unwrap();
    let real = data_dir().join("real-inputs");
    let inputs = [
        (real.join("cargo"), "ripgrep-15.2.0.Cargo.lock"),
        (real.join("npm"), "express-4.21.2-with-dev.package-lock.json"),
        (status_dir.path().to_path_buf(), "status"),
        (fixtures(), "project"),
    ];
    let mut failures = Vec::new();
    for (dir, input) in &inputs {
        let o = inventory(dir, &[input, "-f", "cyclonedx"]);
        assert!(o.status.success(), "{input}: {}", text(&o.stderr));
        let bom: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(!bom["components"].as_array().unwrap().is_empty(), "{input}: no components");
        if let Err(e) = ward_testdata::validate_json(ward_testdata::Schema::CycloneDx16, &o.stdout)
        {
            failures.push(format!("{input}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn malformed_and_unreadable_inputs_are_reported_and_the_rest_continues() {
    let o = inventory(&fixtures(), &["broken", "does-not-exist", "-f", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["schema"], "ward.inventory/1");
    assert!(doc.get("host").is_none());
    assert_eq!(doc["packages"].as_array().unwrap().len(), 1);
    let errors = doc["errors"].as_array().unwrap();
    let messages: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}:{} {}",
                e["path"].as_str().unwrap(),
                e["line"],
                e["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(errors.len(), 3, "{messages:?}");
    let stderr = text(&o.stderr);
    assert!(stderr.contains("ward: broken/composer.lock:3: not valid JSON"), "{stderr}");
    assert!(stderr.contains("ward: broken/status:1: package x has no Version field"), "{stderr}");
    assert!(stderr.contains("ward: does-not-exist: cannot read:"), "{stderr}");
}

#[test]
fn unrecognised_explicit_files_are_errors() {
    let o = inventory(&fixtures().join("project"), &[".gitignore"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains(".gitignore: not a format ward reads"));
}

#[test]
fn real_inputs_directory_parses_completely() {
    let dir = data_dir().join("real-inputs");
    let o = inventory(&dir, &[".", "-f", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let count = |eco: &str| {
        doc["packages"].as_array().unwrap().iter().filter(|p| p["ecosystem"] == eco).count()
    };
    assert_eq!(count("Debian"), 712);
    assert_eq!(count("crates.io"), 399 + 211 + 54 + 377);
    assert_eq!(count("npm"), 375);
    assert_eq!(count("PyPI"), 94);
    assert!(doc["errors"].as_array().unwrap().is_empty());
}

#[test]
fn host_facts_from_a_root_file_system() {
    let o = inventory(&fixtures(), &["--host", "--root", "host", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    // Ubuntu 22.04 LTS: dpkg packages in `Ubuntu:22.04:LTS`, running kernel -88 with -91
    // installed (reboot needed), reboot-required flag files, the Drupal site under /srv.
    insta::assert_snapshot!(text(&o.stdout));
    let table = inventory(&fixtures(), &["--host", "--root", "host"]);
    let out = text(&table.stdout);
    assert!(out.starts_with("host: Ubuntu 22.04.3 LTS (Ubuntu:22.04:LTS)\nkernel: 5.15.0-88-generic (newest installed 5.15.0-91-generic is not running: reboot needed)\nlistening: tcp 0.0.0.0:80 nginx pid 1234 (nginx.service)\nlistening: tcp 127.0.0.1:3306\nrestart needed: nginx pid 1234 (nginx.service): runs replaced libssl3\nreboot-required: yes by linux-base, linux-image-5.15.0-91-generic\n"), "{out}");
}

/// A process that maps a shared object deleted after it was loaded (as an upgrade does) is
/// reported as needing a restart, read from the real `/proc`.
#[test]
fn host_reports_processes_running_deleted_libraries() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("deleted-lib");
    std::fs::create_dir_all(&dir).unwrap();
    let lib = dir.join("libwardtest.so.1");
    let source = [
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/libz.so.1",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("zlib is installed (python3 needs it)");
    std::fs::copy(source, &lib).unwrap();
    let mut child = Command::new("python3")
        .args(["-c", "import ctypes, sys, time; ctypes.CDLL(sys.argv[1]); print('loaded', flush=True); time.sleep(60)"])
        .arg(&lib)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "loaded");
    std::fs::remove_file(&lib).unwrap();
    let o = inventory(&dir, &["--host", "--app-root", dir.to_str().unwrap(), "-f", "json"]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let restarts = doc["host"]["restart_needed"].as_array().unwrap();
    let ours = restarts
        .iter()
        .find(|r| r["pid"] == child.id())
        .unwrap_or_else(|| panic!("pid {} not in {restarts:?}", child.id()));
    assert_eq!(ours["files"][0], lib.to_str().unwrap());
    assert!(ours["command"].as_str().unwrap().starts_with("python"));
}

/// A socket this test listens on is listed with this process as its owner.
#[test]
fn host_lists_listening_sockets_with_their_process() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-apps-listening");
    std::fs::create_dir_all(&empty).unwrap();
    let o = inventory(&empty, &["--host", "--app-root", empty.to_str().unwrap(), "-f", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let listening = doc["host"]["listening"].as_array().unwrap();
    let ours = listening
        .iter()
        .find(|l| l["port"] == port && l["protocol"] == "tcp")
        .unwrap_or_else(|| panic!("port {port} not in {listening:?}"));
    assert_eq!(ours["address"], "127.0.0.1");
    assert_eq!(ours["pid"], std::process::id());
    drop(listener);
}

/// `ward inventory --host` on the machine running the tests lists exactly the packages
/// `dpkg-query -W` lists as installed.
#[test]
fn host_dpkg_packages_equal_dpkg_query() {
    let query = Command::new("dpkg-query")
        .args(["-W", "-f", "${db:Status-Status}\t${Package}\t${Version}\n"])
        .output()
        .expect("dpkg-query runs (ward's CI machines are Debian)");
    assert!(query.status.success());
    let mut want: Vec<(String, String)> = text(&query.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (status, name, version) = (f.next()?, f.next()?, f.next()?);
            (status == "installed").then(|| (name.to_string(), version.to_string()))
        })
        .collect();
    want.sort();
    assert!(!want.is_empty());
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-apps");
    std::fs::create_dir_all(&empty).unwrap();
    let o = inventory(&empty, &["--host", "--app-root", empty.to_str().unwrap(), "-f", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let os = std::fs::read_to_string("/etc/os-release").unwrap();
    let id = os.lines().find_map(|l| l.strip_prefix("ID=")).unwrap().trim_matches('"');
    let kind = match id {
        "ubuntu" => "Ubuntu",
        _ => "Debian",
    };
    let mut got: Vec<(String, String)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["location"]["path"].as_str().unwrap().starts_with("/var/lib/dpkg/"))
        .map(|p| {
            assert!(p["ecosystem"].as_str().unwrap().starts_with(kind), "{p}");
            (p["name"].as_str().unwrap().to_string(), p["version"].as_str().unwrap().to_string())
        })
        .collect();
    got.sort();
    assert_eq!(got, want);
    assert_eq!(doc["host"]["os"]["id"], id);
    assert!(doc["host"]["kernel"]["running"].as_str().is_some_and(|r| !r.is_empty()));
}

#[test]
fn drupal_tarball_installs_are_packagist_packages() {
    let o = inventory(&fixtures(), &["drupal-tarball", "drupal7"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    insta::assert_snapshot!(text(&o.stdout));
}

#[test]
fn alpine_root_reports_apk_packages_in_its_release() {
    let o = inventory(&fixtures(), &["--host", "--root", "host-alpine", "-f", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["host"]["os"]["ecosystem"], "Alpine:v3.19");
    let packages = doc["packages"].as_array().unwrap();
    let summary: Vec<(&str, &str, &str, &str)> = packages
        .iter()
        .map(|p| {
            (
                p["ecosystem"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["source"]["name"].as_str().unwrap(),
                p["purl"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "Alpine:v3.19",
                "musl",
                "musl",
                "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19"
            ),
            (
                "Alpine:v3.19",
                "libcrypto3",
                "openssl",
                "pkg:apk/alpine/libcrypto3@3.1.4-r2?arch=x86_64&distro=alpine-3.19"
            ),
        ]
    );
    assert!(doc["host"].get("kernel").is_none());
}

#[test]
fn a_file_named_twice_is_reported_once() {
    let o = inventory(
        &fixtures().join("project"),
        &["composer.lock", "composer.lock", ".", "-f", "json"],
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let core =
        doc["packages"].as_array().unwrap().iter().filter(|p| p["name"] == "drupal/core").count();
    assert_eq!(core, 1);
}

#[test]
fn rpm_root_reads_the_sqlite_rpmdb() {
    let o = inventory(&fixtures(), &["--host", "--root", "host-rpm", "-f", "json"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["host"]["os"]["ecosystem"], "Red Hat:9");
    let summary: Vec<(String, String, String, String)> = doc["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let s = |v: &Value| v.as_str().unwrap().to_string();
            (s(&p["ecosystem"]), s(&p["name"]), s(&p["version"]), s(&p["source"]["name"]))
        })
        .collect();
    let row = |e: &str, n: &str, v: &str, s: &str| {
        (e.to_string(), n.to_string(), v.to_string(), s.to_string())
    };
    assert_eq!(
        summary,
        [
            row("Red Hat:9", "openssl-libs", "1:3.0.7-24.el9", "openssl"),
            row("Red Hat:9", "kernel-core", "5.14.0-362.8.1.el9_3", "kernel"),
            row("Red Hat:9", "bash", "5.1.8-6.el9", "bash"),
        ]
    );
    // Running an older kernel than the newest installed one.
    assert_eq!(doc["host"]["kernel"]["reboot_needed"], true);
    assert_eq!(doc["host"]["kernel"]["installed"][0], "5.14.0-362.8.1.el9_3.x86_64");
    // Through CycloneDX and back: the same packages and versions (epochs ride as qualifiers).
    let bom = inventory(&fixtures(), &["--host", "--root", "host-rpm", "-f", "cyclonedx"]);
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rpm-roundtrip.cdx.json");
    std::fs::write(&file, &bom.stdout).unwrap();
    let back = inventory(&fixtures(), &[file.to_str().unwrap(), "-f", "json"]);
    let back: Value = serde_json::from_slice(&back.stdout).unwrap();
    let versions: Vec<(&str, &str)> = back["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["version"].as_str().unwrap()))
        .collect();
    assert_eq!(
        versions,
        [
            ("openssl-libs", "1:3.0.7-24.el9"),
            ("kernel-core", "5.14.0-362.8.1.el9_3"),
            ("bash", "5.1.8-6.el9")
        ]
    );
    // The database is also an input on its own.
    let direct = inventory(&fixtures(), &["host-rpm/var/lib/rpm/rpmdb.sqlite"]);
    assert!(direct.status.success(), "{}", text(&direct.stderr));
    assert!(
        text(&direct.stdout).contains("Red Hat    openssl-libs  1:3.0.7-24.el9"),
        "{}",
        text(&direct.stdout)
    );
}
