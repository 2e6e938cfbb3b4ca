//! `ward agent`: the real binary against a root built from the captured Debian 12 host
//! (`$WARD_TEST_DATA/real-inputs/debian-bookworm`: dpkg status and the security suite's
//! apt list) and a stub server on 127.0.0.1 that records what arrives (a protocol stand-in
//! until `ward server` is merged; the end-to-end tests against it come with the server).

#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

const CREDENTIAL: &str = "ward_agent_000000000001_topsecret";
const TOKEN: &str = "ward_enrollment_000000000001_onetime";

/// (path, idempotency key, body) of every request, in order.
type Requests = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// A stub answering every agent call with success; returns its URL and what it received.
fn stub() -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests: Requests = Arc::default();
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let path = line.split(' ').nth(1).unwrap_or("").to_owned();
            let (mut len, mut key) = (0usize, None);
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header == "\r\n" || header.is_empty() {
                    break;
                }
                let (name, value) = header.trim_end().split_once(':').unwrap();
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => len = value.trim().parse().unwrap(),
                    "idempotency-key" => key = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let body: Value = serde_json::from_slice(&body).unwrap();
            let answer = match path.as_str() {
                "/api/v1/agent/enroll" => json!({"host_id": 42, "credential": CREDENTIAL}),
                "/api/v1/agent/report" => json!({"host_id": 42, "duplicate": false, "added": 0,
                    "removed": 0, "changed": 0, "findings_new": 0, "findings_resolved": 0}),
                _ => {
                    json!({"host_id": 42, "server_time": "2026-01-01T00:00:00Z", "report_known": true})
                }
            };
            seen.lock().unwrap().push((path, key, body));
            let text = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, requests)
}

/// A Debian 12 root: the captured dpkg status and security suite list, a host name, and an
/// application with a composer.lock.
fn debian_root(dir: &Path) -> (PathBuf, PathBuf) {
    let host = ward_testdata::dir("real-inputs/debian-bookworm");
    let root = dir.join("root");
    let write = |rel: &str, bytes: &[u8]| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(
        "etc/os-release",
        b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    );
    write("etc/hostname", b"captured-host\n");
    write("var/lib/dpkg/status", &std::fs::read(host.join("dpkg-status")).unwrap());
    write(
        "var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
        &std::fs::read(host.join("Packages.bookworm-security.main.amd64")).unwrap(),
    );
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    let composer = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../inventory/tests/fixtures/project/composer.lock");
    std::fs::copy(composer, app.join("composer.lock")).unwrap();
    (root, app)
}

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .arg("agent")
        .args(args)
        .env_remove("WARD_ENROLL_TOKEN")
        .output()
        .expect("ward runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn enrolls_once_then_reports_full_then_a_diff() {
    let temp = tempfile::tempdir().unwrap();
    let (root, app) = debian_root(temp.path());
    let state = temp.path().join("state");
    let (url, requests) = stub();
    let common = [
        "--server",
        &url,
        "--state-dir",
        state.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--app-root",
        app.to_str().unwrap(),
        "--group",
        "web",
        "--tag",
        "prod",
        "--once",
    ];
    let mut first = common.to_vec();
    first.extend(["--enroll", TOKEN]);
    let o = agent(&first);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let logs = format!("{}{}", text(&o.stdout), text(&o.stderr));
    assert!(!logs.contains("topsecret") && !logs.contains("onetime"), "{logs}");
    let mode = std::fs::metadata(state.join("credential")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);

    let received = requests.lock().unwrap().clone();
    let paths: Vec<&str> = received.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["/api/v1/agent/enroll", "/api/v1/agent/report"]);
    let enroll = &received[0].2;
    assert_eq!(enroll["token"], TOKEN);
    assert_eq!(
        enroll["host"],
        json!({"name": "captured-host", "os": "Debian:12", "groups": ["web"], "tags": ["prod"]})
    );
    let report = &received[1].2;
    assert_eq!(report["schema"], "ward.agent-report/1");
    assert_eq!(report["inventory"]["kind"], "full");
    let packages = report["inventory"]["packages"].as_array().unwrap();
    let debian = packages.iter().filter(|p| p["ecosystem"] == "Debian:12").count();
    let packagist = packages.iter().filter(|p| p["ecosystem"] == "Packagist").count();
    assert!(debian > 500 && packagist > 0, "{debian} Debian, {packagist} Packagist");
    // Source versions only where they differ from the binary's.
    assert!(packages.iter().all(|p| p.get("source_version").is_none_or(|v| *v != p["version"])));
    let facts = &report["facts"];
    assert_eq!(facts["os_pretty_name"], "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(facts["agent_version"], env!("CARGO_PKG_VERSION"));
    // The security suite has newer builds of at least the 81 packages apt takes from it
    // (scan_cli.rs checks the exact set against python3-apt).
    let pending = facts["pending_updates"].as_array().unwrap();
    assert!(pending.len() >= 81, "{}", pending.len());
    let ssh = pending.iter().find(|u| u["name"] == "openssh-client").unwrap();
    assert_eq!(ssh["security"], true);
    assert_ne!(ssh["candidate"], ssh["installed"]);
    assert!(ssh["fixes"].as_array().is_some_and(|f| !f.is_empty()), "{ssh}");

    // The second run: already enrolled (the token is not sent again), and nothing changed:
    // an empty diff on the first report.
    let o = agent(&first);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("already enrolled as captured-host (host id 42)"),
        "{}",
        text(&o.stderr)
    );
    let received = requests.lock().unwrap().clone();
    assert_eq!(received.len(), 3);
    let (path, _, diff) = &received[2];
    assert_eq!(path, "/api/v1/agent/report");
    assert_eq!(
        diff["inventory"],
        json!({"kind": "diff", "base": received[1].1, "upsert": [], "remove": []})
    );
}

#[test]
fn an_unreachable_server_leaves_the_report_spooled_and_exits_2() {
    let temp = tempfile::tempdir().unwrap();
    let (root, app) = debian_root(temp.path());
    let state = temp.path().join("state");
    let (url, _requests) = stub();
    let args = |server: &str| {
        vec![
            "--server".to_owned(),
            server.to_owned(),
            "--state-dir".to_owned(),
            state.display().to_string(),
            "--root".to_owned(),
            root.display().to_string(),
            "--app-root".to_owned(),
            app.display().to_string(),
            "--once".to_owned(),
        ]
    };
    let mut enroll = args(&url);
    enroll.extend(["--enroll".to_owned(), TOKEN.to_owned()]);
    let refs: Vec<&str> = enroll.iter().map(String::as_str).collect();
    assert!(agent(&refs).status.success());

    // A port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let down = args(&format!("http://{closed}"));
    let refs: Vec<&str> = down.iter().map(String::as_str).collect();
    let o = agent(&refs);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("stay spooled"), "{}", text(&o.stderr));
    let spooled = std::fs::read_dir(state.join("spool"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".entry"))
        .count();
    assert_eq!(spooled, 1);
}

#[test]
fn without_a_credential_or_token_it_says_how_to_enroll() {
    let temp = tempfile::tempdir().unwrap();
    let o = agent(&[
        "--server",
        "http://127.0.0.1:9",
        "--state-dir",
        temp.path().to_str().unwrap(),
        "--name",
        "h",
        "--once",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("--enroll TOKEN"), "{}", text(&o.stderr));
    let o = agent(&["--server", "http://127.0.0.1:9", "--interval", "0s", "--once"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("must be longer than 0"), "{}", text(&o.stderr));
}
