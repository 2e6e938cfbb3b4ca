//! The fleet end to end with the real binaries: `ward server` (SQLite, then PostgreSQL) and two
//! `ward agent`s whose roots are built from `$WARD_TEST_DATA` inputs (the captured Debian 12
//! host with its security-suite list and a real Cargo.lock as an application; a real npm lock on
//! the second host). The API returns their hosts and findings; importing one new advisory with
//! `ward db import` makes a finding-new event for exactly the affected host with no agent
//! involved. Faults: the agent spools while the server is down and each report arrives exactly
//! once; the server is SIGKILLed again and again while agents report, and the host's history
//! ends with every change once and the last inventory. Also `ward server init`, `ward audit
//! verify`, and `ward up`.

#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn ward(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward"));
    command.env("WARD_DATA_DIR", data_dir).env_remove("WARD_ENROLL_TOKEN");
    command
}

fn run(mut command: Command) -> Output {
    command.output().expect("ward runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `ward server` child process.
struct Server {
    child: Child,
    data_dir: PathBuf,
    port: u16,
    database: Option<String>,
}

impl Server {
    fn start(data_dir: &Path, port: u16, database: Option<&str>) -> Server {
        let mut command = ward(data_dir);
        command.args(["server", "--listen", &format!("127.0.0.1:{port}"), "--poll-seconds", "1"]);
        if let Some(url) = database {
            command.args(["--database", url]);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        // The first line says where it listens: the server is up.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        assert!(line.contains("listening on"), "{line}");
        Server {
            child,
            data_dir: data_dir.to_path_buf(),
            port,
            database: database.map(str::to_owned),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        let next = Server::start(&self.data_dir, self.port, self.database.as_deref());
        *self = next;
    }

    fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder().http_status_as_error(false).build(),
        );
        let url = format!("{}/api/v1{path}", self.url());
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map(|b| b.to_string()).unwrap_or_default())
            .unwrap();
        let mut response = agent.run(request).unwrap();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    fn get(&self, path: &str, token: &str) -> Value {
        let (status, body) = self.call("GET", path, token, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn enrollment_token(&self, admin: &str) -> String {
        let (status, made) = self.call("POST", "/enrollment-tokens", admin, Some(json!({})));
        assert_eq!(status, 200, "{made}");
        made["token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `ward server init` → the one-time admin token.
fn init(data_dir: &Path, database: Option<&str>) -> String {
    let mut command = ward(data_dir);
    command.args(["server", "init"]);
    if let Some(url) = database {
        command.args(["--database", url]);
    }
    let output = run(command);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    stdout
        .lines()
        .find(|l| l.starts_with("ward_api_"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_owned()
}

fn import(data_dir: &Path, paths: &[PathBuf]) {
    let mut command = ward(data_dir);
    command.args(["db", "import"]).args(paths);
    let output = run(command);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// A Debian 12 root from the captured host (dpkg status, its security-suite apt list) named
/// `name`.
fn debian_root(dir: &Path, name: &str) -> PathBuf {
    let host = ward_testdata::dir("real-inputs/debian-bookworm");
    let root = dir.join(format!("root-{name}"));
    let write = |rel: &str, bytes: &[u8]| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    };
    write(
        "etc/os-release",
        b"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n",
    );
    write("etc/hostname", format!("{name}\n").as_bytes());
    write("var/lib/dpkg/status", &std::fs::read(host.join("dpkg-status")).unwrap());
    write(
        "var/lib/apt/lists/deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
        &std::fs::read(host.join("Packages.bookworm-security.main.amd64")).unwrap(),
    );
    root
}

/// An application folder holding one real lockfile.
fn app(dir: &Path, name: &str, lock: &Path, as_name: &str) -> PathBuf {
    let app = dir.join(format!("app-{name}"));
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(lock, app.join(as_name)).unwrap();
    app
}

/// Runs `ward agent --once`; returns (success, stderr).
fn agent_once(
    data_dir: &Path,
    server: &str,
    state: &Path,
    root: &Path,
    app: &Path,
    enroll: Option<&str>,
) -> (bool, String) {
    let mut command = ward(data_dir);
    command.args(["agent", "--once", "--server", server]);
    command.arg("--state-dir").arg(state).arg("--root").arg(root).arg("--app-root").arg(app);
    if let Some(token) = enroll {
        command.args(["--enroll", token]);
    }
    let output = run(command);
    (output.status.success(), text(&output.stderr) + &text(&output.stdout))
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn all_events(server: &Server, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let page = server.get(&format!("/events?limit=1000{after}"), token);
        events.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return events,
        }
    }
}

fn syncs_done(server: &Server, token: &str, count: usize) -> bool {
    let jobs = server.get("/jobs", token);
    let syncs: Vec<&Value> =
        jobs["items"].as_array().unwrap().iter().filter(|j| j["kind"] == "advisory-sync").collect();
    syncs.len() >= count && syncs.iter().all(|j| j["state"] == "done")
}

fn new_advisory(dir: &Path, crate_name: &str) -> PathBuf {
    let folder = dir.join("new-feed");
    std::fs::create_dir_all(&folder).unwrap();
    let record = json!({
        "schema_version": "1.7.0", "id": "WARD-TEST-2026-0002", "modified": "2026-11-21T00:00:00Z",
        "aliases": ["CVE-2026-99998"],
        "affected": [{"package": {"ecosystem": "crates.io", "name": crate_name},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]
    });
    std::fs::write(folder.join("WARD-TEST-2026-0002.json"), record.to_string()).unwrap();
    folder
}

fn end_to_end(database: Option<&str>) {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let advisories = ward_testdata::dir("advisories");
    import(
        &data,
        &[
            advisories.join("rustsec-osv"),
            advisories.join("nodejs-security-wg-npm"),
            ward_testdata::dir("real-inputs/debian-bookworm")
                .join("Packages.bookworm-security.main.amd64"),
        ],
    );
    let admin = init(&data, database);
    let server = Server::start(&data, free_port(), database);
    wait_for("the first sync", Duration::from_secs(60), || syncs_done(&server, &admin, 1));
    // Two agents: the Debian host with cargo-audit deployed, and a host with the express app.
    let cargo_lock = ward_testdata::dir("real-inputs/cargo").join("cargo-audit-0.22.2.Cargo.lock");
    let npm_lock =
        ward_testdata::dir("real-inputs/npm").join("express-4.21.2-with-dev.package-lock.json");
    let hosts = [
        (
            "deb-tools",
            debian_root(temp.path(), "deb-tools"),
            app(temp.path(), "tools", &cargo_lock, "Cargo.lock"),
        ),
        (
            "web-app",
            temp.path().join("empty-root"),
            app(temp.path(), "web", &npm_lock, "package-lock.json"),
        ),
    ];
    std::fs::create_dir_all(hosts[1].1.join("etc")).unwrap();
    std::fs::write(hosts[1].1.join("etc/hostname"), "web-app\n").unwrap();
    for (name, root, app) in &hosts {
        let state = temp.path().join(format!("state-{name}"));
        let token = server.enrollment_token(&admin);
        let (ok, log) = agent_once(&data, &server.url(), &state, root, app, Some(&token));
        assert!(ok, "{log}");
        assert!(
            !log.contains(&token) && !log.contains("ward_agent_"),
            "a secret was printed: {log}"
        );
        // The credential file is the agent's alone.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.join("credential")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // Again: already enrolled, an (empty) diff is sent.
        let (ok, log) = agent_once(&data, &server.url(), &state, root, app, None);
        assert!(ok, "{log}");
    }
    let listed = server.get("/hosts", &admin);
    let names: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["deb-tools", "web-app"]);
    let deb = listed["items"][0]["id"].as_i64().unwrap();
    let web = listed["items"][1]["id"].as_i64().unwrap();
    let detail = server.get(&format!("/hosts/{deb}"), &admin);
    // 712 dpkg packages plus the lockfile's, one per (ecosystem, name).
    assert!(detail["packages"].as_u64().unwrap() > 1000, "{}", detail["packages"]);
    assert!(
        detail["facts"]["pending_updates"].as_array().unwrap().len() >= 81,
        "the captured host had 81 pending security updates"
    );
    let deb_findings = server.get(&format!("/findings?host={deb}&limit=1000"), &admin);
    let ecosystems: std::collections::BTreeSet<&str> = deb_findings["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["ecosystem"].as_str().unwrap())
        .collect();
    assert_eq!(
        ecosystems.into_iter().collect::<Vec<_>>(),
        ["Debian:12", "crates.io"],
        "OS and application findings"
    );
    let web_findings = server.get(&format!("/findings?host={web}&limit=1000"), &admin);
    assert!(web_findings["items"].as_array().unwrap().iter().all(|f| f["ecosystem"] == "npm"));
    // Two reports per host, the second an empty diff: the history has each package once.
    let changes = server.get(&format!("/hosts/{deb}/changes?limit=1000"), &admin);
    assert!(changes["items"].as_array().unwrap().iter().all(|c| c["kind"] == "added"));
    // A new advisory for a crate only deb-tools has, imported on the server: one event, for it.
    let before = all_events(&server, &admin).len();
    import(&data, &[new_advisory(temp.path(), "tame-index")]);
    wait_for("the sync of the new advisory", Duration::from_secs(60), || {
        syncs_done(&server, &admin, 2)
    });
    let events = all_events(&server, &admin);
    let new: Vec<&Value> = events[before..].iter().collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (new[0]["kind"].as_str(), new[0]["host_id"].as_i64(), new[0]["package"].as_str()),
        (Some("finding-new"), Some(deb), Some("tame-index"))
    );
    // The audit log is intact, offline.
    let mut verify = ward(&data);
    verify.args(["audit", "verify"]);
    if let Some(url) = database {
        verify.args(["--database", url]);
    }
    let output = run(verify);
    assert!(
        output.status.success() && text(&output.stdout).contains("intact"),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

#[test]
fn server_and_two_agents_on_sqlite() {
    end_to_end(None);
}

#[test]
fn server_and_two_agents_on_postgres() {
    let schema = ward_testdata::postgres::fresh_schema("fleetcli");
    end_to_end(Some(schema.url()));
}

/// Appends a package stanza to the root's dpkg status (a change the next report carries).
fn install(root: &Path, name: &str) {
    use std::io::Write;
    let mut status =
        std::fs::OpenOptions::new().append(true).open(root.join("var/lib/dpkg/status")).unwrap();
    write!(status, "\nPackage: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\nDescription: test package\n").unwrap();
}

#[test]
fn spooled_while_the_server_is_down_then_delivered_exactly_once() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let admin = init(&data, None);
    let port = free_port();
    let mut server = Server::start(&data, port, None);
    let root = debian_root(temp.path(), "offline-host");
    let app_dir = temp.path().join("no-apps");
    std::fs::create_dir_all(&app_dir).unwrap();
    let state = temp.path().join("state");
    let token = server.enrollment_token(&admin);
    assert!(agent_once(&data, &server.url(), &state, &root, &app_dir, Some(&token)).0);
    server.kill();
    // Three reports while the server is down, each with one more package: all spooled.
    for n in 1..=3 {
        install(&root, &format!("ward-offline-{n}"));
        let (ok, log) = agent_once(&data, &server.url(), &state, &root, &app_dir, None);
        assert!(!ok && log.contains("spooled"), "{log}");
    }
    server.restart();
    let (ok, log) = agent_once(&data, &server.url(), &state, &root, &app_dir, None);
    assert!(ok, "{log}");
    let host = server.get("/hosts", &admin)["items"][0]["id"].as_i64().unwrap();
    let changes = server.get(&format!("/hosts/{host}/changes?limit=1000"), &admin);
    let added: Vec<&str> = changes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .filter(|n| n.starts_with("ward-offline"))
        .collect();
    assert_eq!(
        added,
        ["ward-offline-1", "ward-offline-2", "ward-offline-3"],
        "each spooled change exactly once, in order"
    );
    // Nothing is left to send.
    assert_eq!(
        std::fs::read_dir(state.join("spool"))
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "entry"))
            .count(),
        0
    );
}

#[test]
fn server_killed_during_ingest_loses_and_duplicates_nothing() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let admin = init(&data, None);
    let mut server = Server::start(&data, free_port(), None);
    let root = debian_root(temp.path(), "busy-host");
    let app_dir = temp.path().join("no-apps");
    std::fs::create_dir_all(&app_dir).unwrap();
    let state = temp.path().join("state");
    let token = server.enrollment_token(&admin);
    assert!(agent_once(&data, &server.url(), &state, &root, &app_dir, Some(&token)).0);
    // The agent runs on its own, watching the root every 200 ms, while the server is killed
    // with SIGKILL five times in the middle of its work.
    let mut agent = ward(&data)
        .args([
            "agent",
            "--server",
            &server.url(),
            "--watch",
            "200ms",
            "--interval",
            "1h",
            "--heartbeat",
            "1h",
        ])
        .arg("--state-dir")
        .arg(&state)
        .arg("--root")
        .arg(&root)
        .arg("--app-root")
        .arg(&app_dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(temp.path().join("agent.log")).unwrap())
        .spawn()
        .unwrap();
    for n in 1..=10 {
        install(&root, &format!("ward-busy-{n:02}"));
        std::thread::sleep(Duration::from_millis(150 + 70 * (n % 3)));
        if n % 2 == 0 {
            server.restart();
        }
    }
    let host = server.get("/hosts", &admin)["items"][0]["id"].as_i64().unwrap();
    let expected: Vec<String> = (1..=10).map(|n| format!("ward-busy-{n:02}")).collect();
    let busy = |server: &Server| -> Vec<String> {
        let changes = server.get(&format!("/hosts/{host}/changes?limit=1000"), &admin);
        changes["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .filter(|n| n.starts_with("ward-busy"))
            .map(str::to_owned)
            .collect()
    };
    // Retries back off (with jitter) up to a few seconds after the last restart.
    let log = temp.path().join("agent.log");
    let started = Instant::now();
    while busy(&server).len() < expected.len() {
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "timed out: arrived {:?}; agent log:\n{}",
            busy(&server),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill").arg("-TERM").arg(agent.id().to_string()).status();
    let _ = agent.wait();
    assert_eq!(busy(&server), expected, "each change once, in order");
    let packages = server.get(&format!("/hosts/{host}/packages"), &admin);
    let names: Vec<&str> = packages["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .filter(|n| n.starts_with("ward-busy"))
        .collect();
    assert_eq!(names.len(), 10, "the last inventory is the root's");
}

#[test]
fn ward_up_starts_everything_in_one_step() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let root = debian_root(temp.path(), "up-host");
    let port = free_port();
    let mut command = ward(&data);
    command.args(["up", "--once", "--listen", &format!("127.0.0.1:{port}"), "--root"]).arg(&root);
    command.arg("--advisories").arg(
        ward_testdata::dir("real-inputs/debian-bookworm")
            .join("Packages.bookworm-security.main.amd64"),
    );
    let output = run(command);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains(&format!("server: http://127.0.0.1:{port}/api/v1")), "{stdout}");
    assert!(stdout.contains("this host: up-host (712 packages)"), "{stdout}");
    assert!(stdout.contains("open findings"), "{stdout}");
    assert!(stdout.contains("curl -s -H"), "{stdout}");
    let token = std::fs::read_to_string(data.join("admin-token")).unwrap();
    assert!(stdout.contains(token.trim()), "the admin token is shown once");
}
