//! `ward db`: the real binary importing the shared feeds, answering lookups, surviving SIGKILL
//! mid-update, and updating from a local HTTP server with ETags and checksums.
#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn shared() -> PathBuf {
    ward_testdata::dir("advisories")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../advisory/tests/fixtures")
}

fn ward_command(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ward"));
    command
        .arg("db")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("WARD_DATA_DIR")
        // Never the real public feeds from a test: only 127.0.0.1 and local files.
        .env("WARD_DB_DEFAULT_FEEDS", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn ward(data_dir: &Path, args: &[&str]) -> Output {
    ward_command(data_dir, args).output().expect("ward runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(data_dir: &Path, args: &[&str]) -> String {
    let o = ward(data_dir, args);
    assert!(o.status.success(), "ward db {args:?}: {}{}", text(&o.stdout), text(&o.stderr));
    text(&o.stdout)
}

fn json(data_dir: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(data_dir, args)).expect("JSON output")
}

#[test]
fn imports_every_shared_feed_with_the_expected_counts() {
    let dir = tempfile::tempdir().unwrap();
    let root = shared();
    let feeds = [
        "rustsec-osv",
        "golang-osv",
        "pypa-osv-yaml",
        "friendsofphp",
        "nodejs-security-wg-npm",
        "alpine-secdb-2020",
        "rustsec-toml",
    ];
    let mut paths: Vec<String> =
        feeds.iter().map(|f| root.join(f).to_string_lossy().into_owned()).collect();
    let debian = root.join("../real-inputs/debian-bookworm/Packages.bookworm-security.main.amd64");
    paths.push(debian.to_string_lossy().into_owned());
    let mut args = vec!["import"];
    args.extend(paths.iter().map(String::as_str));
    let o = ward(dir.path(), &args);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).is_empty(),
        "no progress bar or warnings off a terminal: {}",
        text(&o.stderr)
    );

    let status = json(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status["schema"], "ward.db-status/1");
    let e = &status["ecosystems"];
    assert_eq!(e["Go"], 4291);
    assert_eq!(e["PyPI"], 2661);
    assert_eq!(e["Packagist"], 1592);
    assert_eq!(e["npm"], 467);
    // One fact per (source package, version) in the security suite.
    assert_eq!(e["Debian:12"], 408);
    assert_eq!(e["Alpine:v3.10"].as_u64().map(|n| n > 100), Some(true));
    // The OSV export has one id more than the TOML sources of the same day (RUSTSEC-2025-0000);
    // the TOML sources add 20 advisories about the Rust toolchain itself.
    assert_eq!(e["crates.io"], 1206);
    assert_eq!(e["Rust toolchain"], 20);
    let per_feed: Vec<(String, u64)> = status["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let name = f["name"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            (name, f["records"].as_u64().unwrap())
        })
        .collect();
    for (feed, records) in [
        ("rustsec-osv", 1206),
        ("golang-osv", 4291),
        ("pypa-osv-yaml", 2661),
        ("friendsofphp", 1592),
        ("nodejs-security-wg-npm", 467),
        ("rustsec-toml", 1225),
    ] {
        assert!(per_feed.contains(&(feed.to_string(), records)), "{feed}: {per_feed:?}");
    }
    for f in status["feeds"].as_array().unwrap() {
        assert_eq!(f["rejected"], 0, "{f}");
        assert_eq!(f["stale"], false, "{f}");
        assert!(f["last_update"].as_str().unwrap().ends_with('Z'));
    }

    // One id, many feeds: a CVE finds the GHSA/PYSEC/RUSTSEC records that name it.
    let show = json(dir.path(), &["show", "CVE-2023-42811", "--format", "json"]);
    assert_eq!(show["schema"], "ward.db-show/1");
    let found: Vec<&str> =
        show["records"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(found, ["RUSTSEC-2023-0096", "RUSTSEC-2023-0096"]);
    let text_show = ok(dir.path(), &["show", "ghsa-423w-p2w9-r7vq"]);
    assert!(
        text_show.contains("crates.io aes-gcm: introduced 0.10.0, fixed 0.10.3"),
        "{text_show}"
    );
    let drupal = ok(dir.path(), &["show", "CVE-2022-25277"]);
    assert!(drupal.contains("Packagist drupal/core"), "{drupal}");
    assert!(drupal.contains("composer >=8.9.0,<8.10.0 || "), "{drupal}");
    assert!(drupal.contains(" || >=9.3.0,<9.3.19 || "), "{drupal}");

    let search = json(dir.path(), &["search", "django", "--format", "json"]);
    assert_eq!(search["schema"], "ward.db-search/1");
    assert_eq!(search["packages"][0]["name"], "django");
    assert_eq!(search["packages"][0]["ecosystem"], "PyPI");
    let unknown = ward(dir.path(), &["show", "CVE-1999-99999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no advisory with id or alias"),
        "{}",
        text(&unknown.stderr)
    );
}

/// apt's own lz4 list, under apt's own name, imports like the plain file; once truncated,
/// `ward db update` keeps the last good data and says why, naming the file.
#[test]
fn imports_an_apt_list_compressed_with_lz4() {
    let dir = tempfile::tempdir().unwrap();
    let lists = tempfile::tempdir().unwrap();
    let plain =
        shared().join("../real-inputs/debian-bookworm/Packages.bookworm-security.main.amd64");
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    encoder.write_all(&std::fs::read(plain).unwrap()).unwrap();
    let lz4 = encoder.finish().unwrap();
    let path = lists.path().join(
        "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
    );
    std::fs::write(&path, &lz4).unwrap();
    let path = path.canonicalize().unwrap();
    let path = path.to_str().unwrap();
    ok(dir.path(), &["import", path]);
    let status = json(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status["ecosystems"]["Debian:12"], 408);
    assert_eq!(status["feeds"][0]["formats"], serde_json::json!(["apt-security-packages"]));

    std::fs::write(path, &lz4[..lz4.len() / 2]).unwrap();
    let o = ward(dir.path(), &["update"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("FAILED, keeping the last good data"), "{}", text(&o.stdout));
    let status = json(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status["ecosystems"]["Debian:12"], 408);
    let error = status["feeds"][0]["last_error"].as_str().unwrap();
    assert!(error.contains(&format!("{path}: (compression): truncated")), "{error}");
}

#[test]
fn rejected_records_are_named_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let mixed = fixtures().join("mixed");
    let o = ward(dir.path(), &["import", mixed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = text(&o.stderr);
    assert!(
        stderr.contains(
            "no-introduced.json: affected[0].ranges[0].events: a range needs an `introduced` event"
        ),
        "{stderr}"
    );
    assert!(ok(dir.path(), &["show", "X-2024-2"]).contains("NoSuchEcosystem:7 Thing"));
}

#[test]
fn status_warns_about_stale_feeds() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["import", fixtures().join("npm-410.json").to_str().unwrap()]);
    let o = ward(dir.path(), &["status"]);
    assert!(o.status.success());
    assert!(!text(&o.stderr).contains("warning"), "{}", text(&o.stderr));
    std::thread::sleep(Duration::from_millis(1100));
    let o = ward(dir.path(), &["status", "--max-age-days", "0"]);
    assert!(o.status.success());
    assert!(text(&o.stderr).contains("ward: warning: feed"), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("STALE"), "{}", text(&o.stdout));
    assert_eq!(
        json(dir.path(), &["status", "--format", "json", "--max-age-days", "0"])["stale"],
        true
    );
    let status = json(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status["stale"], false);
    let missing = tempfile::tempdir().unwrap();
    let o = ward(missing.path(), &["status"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no advisory index"), "{}", text(&o.stderr));
}

/// Kill -9 in the middle of an import, at several moments including while the new index file
/// is being written: the previous index still opens and answers, and the next import works.
#[test]
fn sigkill_mid_update_leaves_the_previous_index_intact() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["import", fixtures().join("npm-410.json").to_str().unwrap()]);
    let big = [shared().join("golang-osv"), shared().join("pypa-osv-yaml")];
    let mut killed_while_writing = false;
    for delay_ms in [50u64, 300, 1000, 0] {
        let mut child = ward_command(
            dir.path(),
            &["import", big[0].to_str().unwrap(), big[1].to_str().unwrap()],
        )
        .spawn()
        .expect("ward starts");
        let temp = dir.path().join(format!(".advisories.db.tmp-{}", child.id()));
        let start = Instant::now();
        if delay_ms == 0 {
            // Wait for the new index to be in the middle of being written.
            while !temp.exists() && start.elapsed() < Duration::from_secs(120) {
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            killed_while_writing = temp.exists();
        } else {
            std::thread::sleep(Duration::from_millis(delay_ms));
        }
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        let show = ok(dir.path(), &["show", "NSWG-ECO-410"]);
        assert!(show.contains("merge-options"), "after kill at {delay_ms} ms: {show}");
        let status = json(dir.path(), &["status", "--format", "json"]);
        assert_eq!(status["feeds"].as_array().unwrap().len(), 1, "after kill at {delay_ms} ms");
    }
    assert!(killed_while_writing, "the import was never caught writing its new index");
    // The next update cleans up and succeeds.
    ok(dir.path(), &["import", fixtures().join("rustsec").to_str().unwrap()]);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".advisories.db.tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(
        json(dir.path(), &["status", "--format", "json"])["feeds"].as_array().unwrap().len(),
        2
    );
}

/// A minimal HTTP/1.1 file server on 127.0.0.1 for `ward db update`: serves named bodies with
/// an ETag, answers `If-None-Match` with 304, counts full (200) responses.
/// The served files: (path, body, ETag).
type Files = Arc<Mutex<Vec<(String, Vec<u8>, String)>>>;

struct Server {
    url: String,
    files: Files,
    full_responses: Arc<AtomicUsize>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let url = format!("http://{}", listener.local_addr().expect("bound address"));
        let files: Files = Arc::default();
        let full_responses = Arc::new(AtomicUsize::new(0));
        let (f, n) = (files.clone(), full_responses.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = serve(stream, &f, &n);
            }
        });
        Server { url, files, full_responses }
    }

    fn put(&self, path: &str, body: Vec<u8>, etag: &str) {
        let mut files = self.files.lock().expect("files lock");
        files.retain(|(p, _, _)| p != path);
        files.push((path.to_string(), body, etag.to_string()));
    }
}

fn serve(
    stream: TcpStream,
    files: &Mutex<Vec<(String, Vec<u8>, String)>>,
    full: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut if_none_match = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("if-none-match") {
                if_none_match = Some(v.trim().to_string());
            }
        }
    }
    let found = files.lock().expect("test setup").iter().find(|(p, _, _)| *p == path).cloned();
    let mut stream = stream;
    match found {
        Some((_, _, etag)) if if_none_match.as_deref() == Some(etag.as_str()) => {
            write!(
                stream,
                "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n"
            )?;
        }
        Some((_, body, etag)) => {
            full.fetch_add(1, Ordering::SeqCst);
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: {etag}\r\nContent-Type: application/zip\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        None => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?,
    }
    stream.flush()?;
    let mut rest = [0u8; 1];
    let _ = stream.set_read_timeout(Some(Duration::from_millis(10)));
    let _ = stream.read(&mut rest);
    Ok(())
}

/// osv.dev's layout: `<ecosystem>/all.zip`, one OSV JSON record per member.
fn osv_zip(feed: &Path, limit: usize) -> Vec<u8> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(feed)
        .expect("test setup")
        .map(|e| e.expect("test setup").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for path in entries.iter().take(limit) {
        zip.start_file(path.file_name().expect("test setup").to_string_lossy(), options)
            .expect("test setup");
        zip.write_all(&std::fs::read(path).expect("test setup")).expect("test setup");
    }
    zip.finish().expect("test setup").into_inner()
}

fn sha256_line(bytes: &[u8]) -> Vec<u8> {
    format!("{}  all.zip\n", ward_advisory::store::fetch::sha256_hex(bytes)).into_bytes()
}

#[test]
fn update_over_http_uses_etags_and_keeps_good_data_when_a_download_is_corrupt() {
    let server = Server::start();
    let zip = osv_zip(&shared().join("rustsec-osv/crates"), 200);
    server.put("/crates.io/all.zip", zip.clone(), "\"v1\"");
    let url = format!("{}/crates.io/all.zip", server.url);
    let dir = tempfile::tempdir().unwrap();

    // First run downloads.
    let out = ok(dir.path(), &["update", "--add", &url]);
    assert!(out.contains(&format!("{url}: updated, 200 records")), "{out}");
    assert_eq!(server.full_responses.load(Ordering::SeqCst), 1);

    // Second run transfers nothing: the ETag matches.
    let out = ok(dir.path(), &["update"]);
    assert!(out.contains(&format!("{url}: unchanged")), "{out}");
    assert_eq!(server.full_responses.load(Ordering::SeqCst), 1);

    // A corrupted download is rejected; the last good data stays and status says so.
    let mut corrupt = osv_zip(&shared().join("rustsec-osv/crates"), 300);
    let middle = corrupt.len() / 2;
    for b in &mut corrupt[middle..middle + 64] {
        *b ^= 0x5a;
    }
    server.put("/crates.io/all.zip", corrupt, "\"v2\"");
    let o = ward(dir.path(), &["update"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("FAILED, keeping the last good data"), "{}", text(&o.stdout));
    let status = json(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status["ecosystems"]["crates.io"], 200);
    assert!(status["feeds"][0]["last_error"].as_str().unwrap().contains("corrupt"), "{status}");
    assert_eq!(status["stale"], true);

    // A download that does not match the published checksum is rejected too.
    let bigger = osv_zip(&shared().join("rustsec-osv/crates"), 300);
    server.put("/crates.io/all.zip", bigger.clone(), "\"v3\"");
    server.put("/crates.io/all.zip.sha256", sha256_line(&zip), "\"s1\"");
    let o = ward(dir.path(), &["update"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stdout).contains("checksum mismatch"), "{}", text(&o.stdout));
    assert_eq!(json(dir.path(), &["status", "--format", "json"])["ecosystems"]["crates.io"], 200);

    // `ward db import URL` registers the feed too; the next update sends its ETag.
    let other = tempfile::tempdir().unwrap();
    server.put("/go/all.zip", osv_zip(&shared().join("golang-osv/data/osv"), 20), "\"g1\"");
    let go_url = format!("{}/go/all.zip", server.url);
    let before = server.full_responses.load(Ordering::SeqCst);
    assert!(ok(other.path(), &["import", &go_url]).contains("20 records"));
    assert!(ok(other.path(), &["update"]).contains(&format!("{go_url}: unchanged")));
    assert_eq!(server.full_responses.load(Ordering::SeqCst), before + 1);

    // With the right checksum the new data lands and the failure clears.
    server.put("/crates.io/all.zip.sha256", sha256_line(&bigger), "\"s2\"");
    let out = ok(dir.path(), &["update"]);
    assert!(out.contains("updated, 300 records"), "{out}");
    let status = json(dir.path(), &["status", "--format", "json"]);
    assert_eq!(status["ecosystems"]["crates.io"], 300);
    assert_eq!(status["feeds"][0]["last_error"], Value::Null);
}

#[test]
fn update_reads_local_paths_and_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("all.zip");
    std::fs::write(&zip_path, osv_zip(&shared().join("rustsec-osv/crates"), 10)).unwrap();
    let url = format!("file://{}", zip_path.display());
    let out = ok(dir.path(), &["update", "--add", &url]);
    assert!(out.contains("updated, 10 records"), "{out}");
    assert!(ok(dir.path(), &["update"]).contains("unchanged"));
    let nothing = tempfile::tempdir().unwrap();
    let o = ward(nothing.path(), &["update"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no feeds configured"), "{}", text(&o.stderr));
    // With no feed configured, `update` fetches the default feeds (here a local mirror).
    let fresh = tempfile::tempdir().unwrap();
    let o = ward_command(fresh.path(), &["update"])
        .env("WARD_DB_DEFAULT_FEEDS", &url)
        .output()
        .expect("ward runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("updated, 10 records"), "{}", text(&o.stdout));
    assert!(text(&o.stderr).contains("fetching the 1 default feeds"), "{}", text(&o.stderr));
}
