//! Protocol-classification tests: the agent against a stub server started on 127.0.0.1.
//!
//! The stub is a std `TcpListener` thread that answers the three `/api/v1/agent/*` calls
//! with the documented semantics (enrollment by token, bearer credential, deduplication by
//! idempotency key, `409 base-mismatch` for a diff on anything but the latest report, heartbeats
//! saying whether the named report is the latest) and can be switched down (connections
//! closed unanswered) or to refusing the credential. It stands in for `ward server` until
//! that is merged; the end-to-end tests against the real server live with it.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{json, Value};
use ward_agent::spool::Limits;
use ward_agent::{
    enroll, Agent, AgentError, Client, ClientError, Config, Schedule, Snapshot, StateDir,
};
use ward_api::agent::{Facts, HostIdentity, Package};

const TOKEN: &str = "ward_enrollment_000000000001_good";
const CREDENTIAL: &str = "ward_agent_000000000001_secret";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    /// Connections are closed without an answer.
    Down,
    /// Every agent call is answered 403.
    Refusing,
}

#[derive(Debug, Default)]
struct Server {
    mode: Option<Mode>,
    /// Every report the stub stored, in order: (key, body).
    stored: Vec<(String, Value)>,
    /// How often each key arrived (duplicates included).
    arrivals: BTreeMap<String, usize>,
    /// Every request's path and answer status.
    log: Vec<(String, u16)>,
}

impl Server {
    fn latest(&self) -> Option<&str> {
        self.stored.last().map(|(k, _)| k.as_str())
    }
}

struct Stub {
    url: String,
    server: Arc<Mutex<Server>>,
}

impl Stub {
    fn start() -> Stub {
        Stub::start_with(None)
    }

    /// A stub speaking HTTPS with a self-signed certificate for 127.0.0.1; also returns the
    /// certificate's PEM (what `--ca` takes).
    fn start_tls() -> (Stub, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.self_signed(&key).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        (Stub::start_with(Some(Arc::new(config))), cert.pem())
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let server = Arc::new(Mutex::new(Server { mode: Some(Mode::Up), ..Server::default() }));
        let shared = Arc::clone(&server);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mode = shared.lock().unwrap().mode.unwrap_or(Mode::Up);
                if mode == Mode::Down {
                    drop(stream);
                    continue;
                }
                match &tls {
                    None => handle(stream, &shared, mode),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else {
                            continue;
                        };
                        let mut tls = rustls::StreamOwned::new(conn, stream);
                        handle(&mut tls, &shared, mode);
                        tls.conn.send_close_notify();
                        let _ = tls.flush();
                    }
                }
            }
        });
        Stub { url, server }
    }

    fn set(&self, mode: Mode) {
        self.server.lock().unwrap().mode = Some(mode);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Server) -> T) -> T {
        f(&mut self.server.lock().unwrap())
    }
}

/// Answers one request on `stream`; a client that fails the handshake or hangs up is ignored.
fn handle(mut stream: impl Read + Write, server: &Mutex<Server>, mode: Mode) {
    let mut reader = BufReader::new(&mut stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.trim_end().split_once(':') {
            headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    drop(reader);
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, answer) = answer(&mut server.lock().unwrap(), mode, &path, &headers, body);
    server.lock().unwrap().log.push((path, status));
    let text = answer.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.flush();
}

fn error(status: u16, code: &str) -> (u16, Value) {
    (status, json!({"error": {"code": code, "message": format!("stub says {code}")}}))
}

fn answer(
    server: &mut Server,
    mode: Mode,
    path: &str,
    headers: &BTreeMap<String, String>,
    body: Value,
) -> (u16, Value) {
    if path == "/api/v1/agent/enroll" {
        return if body["token"] == TOKEN {
            (200, json!({"host_id": 1, "credential": CREDENTIAL}))
        } else {
            error(401, "unauthenticated")
        };
    }
    if mode == Mode::Refusing
        || headers.get("authorization") != Some(&format!("Bearer {CREDENTIAL}"))
    {
        return error(403, "forbidden");
    }
    match path {
        "/api/v1/agent/report" => {
            let key = headers.get("idempotency-key").cloned().unwrap_or_default();
            *server.arrivals.entry(key.clone()).or_default() += 1;
            let counts = json!({"host_id": 1, "added": 0, "removed": 0, "changed": 0,
                                "findings_new": 0, "findings_resolved": 0});
            if server.stored.iter().any(|(k, _)| *k == key) {
                let mut counts = counts;
                counts["duplicate"] = json!(true);
                return (200, counts);
            }
            let inventory = &body["inventory"];
            if inventory["kind"] == "diff" && inventory["base"].as_str() != server.latest() {
                return error(409, "base-mismatch");
            }
            server.stored.push((key, body));
            let mut counts = counts;
            counts["duplicate"] = json!(false);
            (200, counts)
        }
        "/api/v1/agent/heartbeat" => {
            let known = body["last_report"].as_str().is_some()
                && body["last_report"].as_str() == server.latest();
            (
                200,
                json!({"host_id": 1, "server_time": "2026-01-01T00:00:00Z", "report_known": known}),
            )
        }
        _ => error(404, "not-found"),
    }
}

fn package(name: &str, version: &str) -> Package {
    Package {
        ecosystem: "Debian:12".into(),
        name: name.into(),
        version: version.into(),
        source: None,
        source_version: None,
    }
}

/// The host's packages, shared with the collect closure so a test can change them.
type Installed = Arc<Mutex<Vec<Package>>>;

fn installed(n: usize) -> Installed {
    Arc::new(Mutex::new((0..n).map(|i| package(&format!("pkg{i:02}"), "1.0")).collect()))
}

fn host() -> HostIdentity {
    HostIdentity { name: "web1".into(), os: Some("Debian:12".into()), groups: vec![], tags: vec![] }
}

fn enrolled(stub: &Stub, dir: &Path) {
    let client = Client::new(&stub.url, None, Duration::from_secs(5)).unwrap();
    let state = StateDir::open(dir).unwrap();
    enroll(&state, &client, &SecretString::from(TOKEN.to_owned()), host()).unwrap();
}

fn agent(stub: &Stub, dir: &Path, packages: &Installed) -> Agent<impl FnMut() -> Snapshot> {
    let mut config = Config::new(&stub.url, dir);
    config.timeout = Duration::from_secs(5);
    config.schedule = Schedule::default();
    config.limits = Limits::default();
    let packages = Arc::clone(packages);
    Agent::new(config, move || Snapshot {
        host: host(),
        facts: Facts { kernel: Some("6.1.0-13-amd64".into()), ..Facts::default() },
        packages: packages.lock().unwrap().clone(),
        watch: vec![],
    })
    .unwrap()
}

/// The stored report bodies' inventories as (kind, base) pairs.
fn kinds(stub: &Stub) -> Vec<(String, Option<String>)> {
    stub.with(|s| {
        s.stored
            .iter()
            .map(|(_, body)| {
                let inventory = &body["inventory"];
                (
                    inventory["kind"].as_str().unwrap().to_owned(),
                    inventory["base"].as_str().map(str::to_owned),
                )
            })
            .collect()
    })
}

#[test]
fn enrollment_stores_the_credential_privately_and_a_bad_token_stores_nothing() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("state");
    let client = Client::new(&stub.url, None, Duration::from_secs(5)).unwrap();
    let state = StateDir::open(&dir).unwrap();
    let refused =
        enroll(&state, &client, &SecretString::from("ward_enrollment_x_bad".to_owned()), host());
    assert!(
        matches!(refused, Err(AgentError::Client(ClientError::Refused { status: 401, .. }))),
        "{refused:?}"
    );
    assert!(!dir.join("credential").exists());
    let enrollment =
        enroll(&state, &client, &SecretString::from(TOKEN.to_owned()), host()).unwrap();
    assert_eq!(enrollment.host_id, 1);
    let mode = std::fs::metadata(dir.join("credential")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let shown = format!("{enrollment:?} {:?}", agent(&stub, &dir, &installed(1)));
    assert!(!shown.contains("secret") && !shown.contains(CREDENTIAL), "{shown}");
}

#[test]
fn an_agent_that_is_not_enrolled_says_how_to_enroll() {
    let temp = tempfile::tempdir().unwrap();
    let result = Agent::new(Config::new("http://127.0.0.1:9", temp.path()), || unreachable!());
    let message = result.map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("--enroll"), "{message}");
}

#[test]
fn the_first_report_is_full_and_the_next_a_diff_on_it() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    enrolled(&stub, temp.path());
    let packages = installed(20);
    let mut agent = agent(&stub, temp.path(), &packages);

    let first = agent.run_once().unwrap();
    assert!(first.stopped.is_none() && first.pending == 0, "{first:?}");
    let first_key = first.accepted[0].0.key.clone();

    packages.lock().unwrap()[3].version = "1.1".into();
    let second = agent.run_once().unwrap();
    assert_eq!(second.accepted.len(), 1);
    assert_eq!(kinds(&stub), [("full".into(), None), ("diff".into(), Some(first_key))]);
    let diff = stub.with(|s| s.stored[1].1["inventory"].clone());
    assert_eq!(
        diff["upsert"],
        json!([{"ecosystem": "Debian:12", "name": "pkg03", "version": "1.1"}])
    );
    assert_eq!(diff["remove"], json!([]));
    let facts = stub.with(|s| s.stored[1].1["facts"].clone());
    assert_eq!(facts["kernel"], "6.1.0-13-amd64");
    assert_eq!(facts["agent_version"], env!("CARGO_PKG_VERSION"));

    // A restarted agent goes on diffing against what the server accepted.
    drop(agent);
    let mut agent = self::agent(&stub, temp.path(), &packages);
    packages.lock().unwrap().pop();
    agent.run_once().unwrap();
    let second_key = stub.with(|s| s.stored[1].0.clone());
    assert_eq!(kinds(&stub)[2], ("diff".into(), Some(second_key)));
}

#[test]
fn a_base_mismatch_is_answered_with_a_full_report() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    enrolled(&stub, temp.path());
    let packages = installed(20);
    let mut agent = agent(&stub, temp.path(), &packages);
    agent.run_once().unwrap();
    // The server loses the report (restored from a backup, say).
    stub.with(|s| s.stored.clear());
    packages.lock().unwrap()[0].version = "2.0".into();
    let delivery = agent.run_once().unwrap();
    assert!(delivery.stopped.is_none() && delivery.pending == 0, "{delivery:?}");
    assert_eq!(delivery.dropped.len(), 1, "the refused diff is dropped");
    assert_eq!(kinds(&stub), [("full".into(), None)]);
    let statuses: Vec<u16> = stub.with(|s| {
        s.log.iter().filter(|(p, _)| p.ends_with("/report")).map(|(_, st)| *st).collect()
    });
    assert_eq!(statuses, [200, 409, 200]);
    let stored = stub.with(|s| s.stored[0].1["inventory"]["packages"][0]["version"].clone());
    assert_eq!(stored, "2.0");
}

#[test]
fn while_the_server_is_down_reports_wait_and_are_then_delivered_exactly_once() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    enrolled(&stub, temp.path());
    let packages = installed(20);
    let mut agent = agent(&stub, temp.path(), &packages);
    stub.set(Mode::Down);
    for version in ["1.1", "1.2", "1.3"] {
        packages.lock().unwrap()[0].version = version.into();
        let delivery = agent.run_once().unwrap();
        assert!(matches!(delivery.stopped, Some(ClientError::Retry { .. })), "{delivery:?}");
        assert!(delivery.accepted.is_empty());
    }
    assert_eq!(agent.pending(), 3);
    // The agent restarts while the server is still down: nothing is lost, and the next diff
    // is based on the newest spooled report.
    drop(agent);
    let mut agent = self::agent(&stub, temp.path(), &packages);
    packages.lock().unwrap()[1].version = "1.1".into();
    assert!(agent.run_once().unwrap().stopped.is_some());
    assert_eq!(agent.pending(), 4);

    stub.set(Mode::Up);
    let delivery = agent.deliver().unwrap();
    assert!(delivery.stopped.is_none() && delivery.pending == 0, "{delivery:?}");
    assert_eq!(delivery.accepted.len(), 4);
    let keys: Vec<String> = delivery.accepted.iter().map(|(e, _)| e.key.clone()).collect();
    stub.with(|s| {
        assert_eq!(s.stored.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(), keys);
        assert!(s.arrivals.values().all(|&n| n == 1), "{:?}", s.arrivals);
        assert_eq!(s.arrivals.len(), 4);
    });
    let chain = kinds(&stub);
    assert_eq!(chain[0], ("full".into(), None));
    for i in 1..4 {
        assert_eq!(chain[i], ("diff".into(), Some(keys[i - 1].clone())), "report {i}");
    }
    // Nothing is sent twice afterwards.
    assert!(agent.deliver().unwrap().accepted.is_empty());
    assert!(agent.heartbeat().unwrap().report_known);
}

#[test]
fn a_refused_credential_keeps_results_spooled() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    enrolled(&stub, temp.path());
    let packages = installed(5);
    let mut agent = agent(&stub, temp.path(), &packages);
    stub.set(Mode::Refusing);
    let delivery = agent.run_once().unwrap();
    assert!(
        matches!(delivery.stopped, Some(ClientError::Refused { status: 403, .. })),
        "{delivery:?}"
    );
    assert_eq!(agent.pending(), 1);
    assert!(matches!(agent.heartbeat(), Err(AgentError::Client(ClientError::Refused { .. }))));
    stub.set(Mode::Up);
    assert_eq!(agent.deliver().unwrap().accepted.len(), 1);
}

#[test]
fn a_heartbeat_the_server_does_not_recognise_makes_the_next_report_full() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    enrolled(&stub, temp.path());
    let packages = installed(20);
    let mut agent = agent(&stub, temp.path(), &packages);
    agent.run_once().unwrap();
    assert!(agent.heartbeat().unwrap().report_known);
    stub.with(|s| s.stored.clear());
    assert!(!agent.heartbeat().unwrap().report_known);
    agent.run_once().unwrap();
    assert_eq!(kinds(&stub), [("full".into(), None)]);
    let statuses: Vec<u16> = stub.with(|s| {
        s.log.iter().filter(|(p, _)| p.ends_with("/report")).map(|(_, st)| *st).collect()
    });
    assert_eq!(statuses, [200, 200], "no diff was tried");
}

#[test]
fn https_with_a_self_signed_server_certificate_needs_its_ca() {
    let (stub, ca_pem) = Stub::start_tls();
    let temp = tempfile::tempdir().unwrap();
    let state = StateDir::open(temp.path()).unwrap();
    let token = SecretString::from(TOKEN.to_owned());
    // With the Mozilla roots only, the certificate is not trusted: nothing is stored.
    let untrusted = Client::new(&stub.url, None, Duration::from_secs(5)).unwrap();
    let refused = enroll(&state, &untrusted, &token, host());
    assert!(matches!(refused, Err(AgentError::Client(ClientError::Retry { .. }))), "{refused:?}");
    assert!(stub.with(|s| s.log.is_empty()), "no request got through");
    let trusted = Client::new(&stub.url, Some(ca_pem.as_bytes()), Duration::from_secs(5)).unwrap();
    enroll(&state, &trusted, &token, host()).unwrap();

    let mut config = Config::new(&stub.url, temp.path());
    config.ca_pem = Some(ca_pem.into_bytes());
    let packages = installed(3);
    let mut agent = Agent::new(config, move || Snapshot {
        host: host(),
        facts: Facts::default(),
        packages: packages.lock().unwrap().clone(),
        watch: vec![],
    })
    .unwrap();
    let delivery = agent.run_once().unwrap();
    assert!(delivery.stopped.is_none() && delivery.accepted.len() == 1, "{delivery:?}");
}

#[test]
fn a_stop_request_during_a_collection_finishes_the_report_and_returns() {
    let stub = Stub::start();
    let temp = tempfile::tempdir().unwrap();
    enrolled(&stub, temp.path());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let mut agent = Agent::new(Config::new(&stub.url, temp.path()), move || {
        // SIGTERM arrives while collecting.
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        Snapshot {
            host: host(),
            facts: Facts::default(),
            packages: vec![package("a", "1")],
            watch: vec![],
        }
    })
    .unwrap();
    agent.run(&stop);
    assert_eq!(agent.pending(), 1, "the report was written, not sent");
    assert!(stub.with(|s| s.stored.is_empty() && s.arrivals.is_empty()));
    drop(agent);
    // The next start delivers it.
    let mut agent = Agent::new(Config::new(&stub.url, temp.path()), || Snapshot {
        host: host(),
        facts: Facts::default(),
        packages: vec![package("a", "1")],
        watch: vec![],
    })
    .unwrap();
    let delivery = agent.deliver().unwrap();
    assert_eq!(delivery.accepted.len(), 1);
    assert_eq!(kinds(&stub), [("full".into(), None)]);
}
