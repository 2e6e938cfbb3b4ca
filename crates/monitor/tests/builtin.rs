//! Built-in checks against things the test controls: a local HTTP site, a TCP listener,
//! localhost resolution, this machine's processes, disk, load and a temporary file.

mod site;

use std::net::TcpListener;
use std::time::{Duration, SystemTime};

use ward_monitor::builtin::{Builtin, BuiltinError, Params};
use ward_monitor::{CheckResult, State};

const TIMEOUT: Duration = Duration::from_secs(30);

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Runs built-in `kind` with `pairs`; checks the state and that the summary contains `text`.
fn check(kind: &str, pairs: &[(&str, &str)], state: State, text: &str) -> CheckResult {
    let b = Builtin::from_params(kind, &params(pairs)).unwrap_or_else(|e| panic!("{e}"));
    let r = b.run(TIMEOUT);
    assert_eq!(r.state, state, "{kind} {pairs:?}: {}", r.summary);
    assert!(r.summary.contains(text), "{kind} {pairs:?}: {:?} should contain {text:?}", r.summary);
    r
}

fn perf(r: &CheckResult, label: &str) -> f64 {
    r.perfdata.iter().find(|p| p.label == label).and_then(|p| p.value.number()).expect(label)
}

#[test]
fn http_status_body_header_regex_and_redirects() {
    let s = site::start();
    let login = format!("{}/login", s.base);
    let r = check("http", &[("url", &login), ("contains", "Sign in")], State::Ok, "200 OK");
    assert!(perf(&r, "size") > 50.0);
    assert!(perf(&r, "time") >= 0.0);
    check(
        "http",
        &[("url", &login), ("contains", "Checkout")],
        State::Critical,
        "string \"Checkout\" not found",
    );
    check("http", &[("url", &login), ("regex", r#"value="tok-\d+""#)], State::Ok, "200");
    check("http", &[("url", &login), ("regex", "^nope$")], State::Critical, "pattern");
    check("http", &[("url", &login), ("header", "X-Site: ward")], State::Ok, "200");
    check(
        "http",
        &[("url", &login), ("header", "X-Site: other")],
        State::Critical,
        "does not contain",
    );
    check("http", &[("url", &login), ("header", "X-Missing: a")], State::Critical, "missing");
    check(
        "http",
        &[("url", &format!("{}/error", s.base))],
        State::Critical,
        "unexpected status 500",
    );
    check("http", &[("url", &format!("{}/error", s.base)), ("status", "500")], State::Ok, "500");
    // A redirect is the response unless redirects are followed.
    let welcome = format!("{}/welcome", s.base);
    check("http", &[("url", &welcome)], State::Ok, "302 Found");
    check(
        "http",
        &[("url", &welcome), ("status", "200")],
        State::Critical,
        "unexpected status 302",
    );
    check(
        "http",
        &[("url", &welcome), ("max_redirects", "3"), ("status", "200")],
        State::Ok,
        "1 redirect to",
    );
    // Response-time ranges: `@0:1000` alerts for any time from 0 to 1000 s, so this is exact.
    check("http", &[("url", &login), ("warning", "@0:1000")], State::Warning, "HTTP WARNING");
    check("http", &[("url", &login), ("critical", "@0:1000")], State::Critical, "HTTP CRITICAL");
    // Nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed);
    check("http", &[("url", &url)], State::Critical, "HTTP CRITICAL");
}

#[test]
fn tcp_connect_send_expect() {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap_or(0);
            let reply = if buf[..n].starts_with(b"PING") { "+PONG\r\n" } else { "-ERR\r\n" };
            let _ = s.write_all(reply.as_bytes());
        }
    });
    let base = [("host", "127.0.0.1"), ("port", port.as_str())];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut v = base.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let r = check("tcp", &with(&[("send", "PING\\r\\n"), ("expect", "PONG")]), State::Ok, "TCP OK");
    assert!(perf(&r, "time") >= 0.0);
    check(
        "tcp",
        &with(&[("send", "HELLO\\r\\n"), ("expect", "PONG")]),
        State::Warning,
        "unexpected response",
    );
    check(
        "tcp",
        &with(&[("send", "PING\\r\\n"), ("critical", "@0:1000")]),
        State::Critical,
        "TCP CRITICAL",
    );
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    check(
        "tcp",
        &[("host", "127.0.0.1"), ("port", &closed_port)],
        State::Critical,
        "cannot connect",
    );
}

#[test]
fn dns_resolves_localhost() {
    check("dns", &[("name", "localhost"), ("expect", "127.0.0.1")], State::Ok, "127.0.0.1");
    check(
        "dns",
        &[("name", "localhost"), ("expect", "192.0.2.7")],
        State::Critical,
        "192.0.2.7 missing",
    );
}

#[test]
fn process_counts_from_proc() {
    let init = std::fs::read_to_string("/proc/1/comm").unwrap();
    let r = check("process", &[("name", init.trim())], State::Ok, "PROCS OK");
    assert!(perf(&r, "procs") >= 1.0);
    check("process", &[("name", "ward-no-such-process")], State::Critical, "0 processes");
    check(
        "process",
        &[("name", init.trim()), ("critical", "0:0")],
        State::Critical,
        "PROCS CRITICAL",
    );
}

#[test]
fn disk_and_load() {
    let r = check(
        "disk",
        &[("path", "/"), ("warning", "101"), ("critical", "101")],
        State::Ok,
        "DISK OK",
    );
    assert!((0.0..=100.0).contains(&perf(&r, "used_pct")));
    assert!(perf(&r, "/") > 0.0);
    check("disk", &[("path", "/"), ("critical", "@0:100")], State::Critical, "DISK CRITICAL");
    check("disk", &[("path", "/nonexistent-ward")], State::Critical, "DISK CRITICAL");
    let r = check("load", &[("warning", "10000"), ("critical", "20000")], State::Ok, "LOAD OK");
    assert!(perf(&r, "load15") >= 0.0);
    check("load", &[("critical", "@0:100000")], State::Critical, "LOAD CRITICAL");
    check("load", &[("warning", "@0:100000,10000,10000")], State::Warning, "LOAD WARNING");
}

#[test]
fn file_age_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.tar");
    std::fs::write(&path, b"0123456789").unwrap();
    let p = path.to_str().unwrap();
    let r = check("file_age", &[("path", p)], State::Ok, "FILE_AGE OK");
    assert_eq!(perf(&r, "size"), 10.0);
    check("file_age", &[("path", p), ("size_critical", "100:")], State::Critical, "10 bytes");
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(1000)).unwrap();
    check("file_age", &[("path", p)], State::Critical, "FILE_AGE CRITICAL");
    check("file_age", &[("path", p), ("warning", "2000"), ("critical", "3000")], State::Ok, "OK");
    check("file_age", &[("path", "/nonexistent/backup")], State::Critical, "No such file");
}

#[test]
fn bad_parameters_are_errors_naming_the_check_and_parameter() {
    let e = |kind: &str, pairs: &[(&str, &str)]| {
        Builtin::from_params(kind, &params(pairs)).unwrap_err()
    };
    assert!(matches!(e("nope", &[]), BuiltinError::UnknownKind(_)));
    let err = e("http", &[("url", "http://x"), ("colour", "red")]);
    assert!(err.to_string().contains("http: unknown parameter \"colour\""), "{err}");
    assert!(e("http", &[]).to_string().contains("missing parameter \"url\""));
    assert!(e("http", &[("url", "ftp://x")]).to_string().contains("http://"));
    assert!(e("http", &[("url", "http://x"), ("regex", "(")]).to_string().contains("regex"));
    assert!(e("tcp", &[("host", "h"), ("port", "99999")]).to_string().contains("port"));
    assert!(e("load", &[("warning", "1,2")]).to_string().contains("three"));
    assert!(e("disk", &[("warning", "5:1")]).to_string().contains("invalid threshold range"));
}

/// An HTTPS server on 127.0.0.1 with a certificate for 127.0.0.1 from a fresh test CA,
/// valid until `not_after` (year, month, day). Returns (port, CA PEM file).
fn https_server(not_after: (i32, u8, u8), dir: &std::path::Path) -> (u16, String) {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::Arc;

    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "ward test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("params");
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let cert = params.signed_by(&key, &issuer).expect("certificate");
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).expect("CA file");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let config = Arc::clone(&config);
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else { return };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut reader = BufReader::new(&mut tls);
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                let body = "secure hello";
                let _ = write!(
                    tls,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, ca_file.to_string_lossy().into_owned())
}

#[test]
fn https_with_certificate_days_left() {
    let dir = tempfile::tempdir().unwrap();
    let (port, ca) = https_server((2040, 1, 1), dir.path());
    let url = format!("https://127.0.0.1:{port}/");
    // Days left, computed independently of ward.
    let expiry = chrono::NaiveDate::from_ymd_opt(2040, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let days = (expiry - chrono::Utc::now()).num_days();
    let r = check(
        "http",
        &[("url", &url), ("ca_file", &ca), ("contains", "secure hello")],
        State::Ok,
        "200 OK",
    );
    assert!(r.perfdata.iter().all(|p| p.label != "cert_days"), "not asked: not checked");
    let more = (days + 10).to_string();
    let fewer = (days - 10).to_string();
    let r = check(
        "http",
        &[
            ("url", &url),
            ("ca_file", &ca),
            ("cert_warning_days", &fewer),
            ("cert_critical_days", "7"),
        ],
        State::Ok,
        "200 OK",
    );
    assert_eq!(perf(&r, "cert_days"), days as f64);
    assert!(r.long_output.contains("expires in"), "{}", r.long_output);
    check(
        "http",
        &[("url", &url), ("ca_file", &ca), ("cert_warning_days", &more)],
        State::Warning,
        &format!("certificate for 127.0.0.1 expires in {days} days (2040-01-01T00:00:00Z)"),
    );
    check(
        "http",
        &[("url", &url), ("ca_file", &ca), ("cert_critical_days", &more)],
        State::Critical,
        "expires in",
    );
    // Without the test CA the certificate is not trusted: the request itself fails.
    check("http", &[("url", &url)], State::Critical, "HTTP CRITICAL");
    check(
        "http",
        &[("url", &url), ("cert_warning_days", "30")],
        State::Critical,
        "certificate: TLS handshake",
    );

    let (old_port, old_ca) = https_server((2020, 1, 1), dir.path());
    let old = format!("https://127.0.0.1:{old_port}/");
    check(
        "http",
        &[("url", &old), ("ca_file", &old_ca), ("cert_warning_days", "30")],
        State::Critical,
        "expired",
    );
}
