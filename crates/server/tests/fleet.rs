//! The fleet backbone through the API: hosts report real inventories from `../shared/data`
//! (a real Cargo.lock, a real npm lock), the API returns their hosts and findings exactly as
//! ward's matcher computes them, and importing one new advisory re-matches the fleet in a
//! background job — a finding-new event for exactly the affected host, no agent involved. Then
//! two servers on one PostgreSQL: the job runs once, an enrollment token is used once.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{must, Backend, TestServer};
use serde_json::{json, Value};
use ward_auth::role::Role;
use ward_inventory::Format;

fn lock_packages(path: &Path, format: Format) -> Vec<Value> {
    let bytes = must(std::fs::read(path));
    let parsed = ward_inventory::parse(format, &path.display().to_string(), &bytes);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let mut seen = std::collections::BTreeSet::new();
    parsed
        .packages
        .iter()
        .filter(|p| seen.insert((p.ecosystem.to_string(), p.name.clone())))
        .map(
            |p| json!({"ecosystem": p.ecosystem.to_string(), "name": p.name, "version": p.version}),
        )
        .collect()
}

fn cargo_host() -> Vec<Value> {
    let lock = ward_testdata::dir("real-inputs/cargo").join("cargo-audit-0.22.2.Cargo.lock");
    lock_packages(&lock, Format::CargoLock)
}

fn npm_host() -> Vec<Value> {
    let lock =
        ward_testdata::dir("real-inputs/npm").join("express-4.21.2-with-dev.package-lock.json");
    lock_packages(&lock, Format::NpmLock)
}

fn import(data_dir: &Path, paths: &[PathBuf]) {
    must(ward_advisory::store::import_paths(
        data_dir,
        paths,
        chrono::Utc::now().timestamp(),
        &mut |_, _| {},
    ));
}

/// A new OSV advisory for `crate_name` (every version affected), in its own folder.
fn new_advisory(dir: &Path, crate_name: &str) -> PathBuf {
    let folder = dir.join("new-feed");
    must(std::fs::create_dir_all(&folder));
    let record = json!({
        "schema_version": "1.7.0",
        "id": "WARD-TEST-2026-0001",
        "modified": "2026-11-21T00:00:00Z",
        "published": "2026-11-21T00:00:00Z",
        "aliases": ["CVE-2026-99999"],
        "summary": "a test advisory",
        "affected": [{"package": {"ecosystem": "crates.io", "name": crate_name},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
    });
    must(std::fs::write(folder.join("WARD-TEST-2026-0001.json"), record.to_string()));
    folder
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(60), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every sync job is done (none queued or running) and there is at least `count`.
fn syncs_done(server: &TestServer, token: &str, count: usize) -> bool {
    let (_, jobs) = server.call("GET", "/jobs", Some(token), None);
    let items: Vec<&Value> = jobs["items"]
        .as_array()
        .map(|a| a.iter().filter(|j| j["kind"] == "advisory-sync").collect())
        .unwrap_or_default();
    items.len() >= count && items.iter().all(|j| j["state"] == "done")
}

fn report_key(n: u32) -> String {
    format!("{n:032x}")
}

fn all(server: &TestServer, token: &str, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = match &next {
            Some(after) => format!("{path}{separator}after={after}&limit=50"),
            None => format!("{path}{separator}limit=50"),
        };
        let (status, page) = server.call("GET", &url, Some(token), None);
        assert_eq!(status, 200, "{page}");
        items.extend(must(page["items"].as_array().ok_or("items")).iter().cloned());
        match page["next"].as_str() {
            Some(after) => next = Some(after.to_owned()),
            None => return items,
        }
    }
}

fn end_to_end(backend: Backend) {
    let server = TestServer::start(backend);
    import(
        server.dir.path(),
        &[
            ward_testdata::dir("advisories/rustsec-osv"),
            ward_testdata::dir("advisories/nodejs-security-wg-npm"),
        ],
    );
    let (_, admin) = server.user_token("root", Role::Admin, None);
    let (_, viewer) = server.user_token("vic", Role::Viewer, None);
    wait_for("the first sync", || syncs_done(&server, &admin, 1));
    let (a, agent_a) = server.enroll(&admin, "tools.example", &["build"]);
    let (b, agent_b) = server.enroll(&admin, "web.example", &["web"]);
    let cargo = cargo_host();
    let npm = npm_host();
    for (name, group, agent, packages, key) in
        [("tools.example", "build", &agent_a, &cargo, 1), ("web.example", "web", &agent_b, &npm, 2)]
    {
        let mut body = common::report(name, Value::Array(packages.clone()));
        // The agent's configured groups come with every report.
        body["host"]["groups"] = json!([group]);
        let (status, answer) = server.call_with(
            "POST",
            "/agent/report",
            Some(agent),
            Some(&body),
            &[("idempotency-key", &report_key(key))],
        );
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["added"].as_u64(), Some(packages.len() as u64));
        // Delivered twice (a lost answer): stored once.
        let (_, again) = server.call_with(
            "POST",
            "/agent/report",
            Some(agent),
            Some(&body),
            &[("idempotency-key", &report_key(key))],
        );
        assert_eq!(again["duplicate"], true, "{again}");
    }
    // The hosts, filtered by group.
    let hosts = all(&server, &viewer, "/hosts");
    assert_eq!(
        hosts.iter().map(|h| h["name"].as_str().unwrap_or("")).collect::<Vec<_>>(),
        ["tools.example", "web.example"]
    );
    let web = all(&server, &viewer, "/hosts?group=web");
    assert_eq!(web.len(), 1);
    assert_eq!(web[0]["id"].as_i64(), Some(b));
    // The findings are exactly what ward's matcher says for these inventories.
    let index = must(ward_advisory::store::Index::open(server.dir.path()));
    let advisories = ward_match::index::IndexAdvisories::new(Some(index));
    for (host, packages) in [(a, &cargo), (b, &npm)] {
        let rows: Vec<ward_store::PackageRow> = packages
            .iter()
            .map(|p| ward_store::PackageRow {
                ecosystem: p["ecosystem"].as_str().unwrap_or("").into(),
                name: p["name"].as_str().unwrap_or("").into(),
                version: p["version"].as_str().unwrap_or("").into(),
                source: None,
                source_version: None,
            })
            .collect();
        let (matched, _) = ward_fleet::packages_of(ward_store::HostId(host), &rows);
        let options = ward_match::Options {
            today: chrono::Utc::now().date_naive(),
            host: None,
            rules: vec![],
        };
        let scan = ward_match::scan(&matched, &advisories, &options);
        let mut expected: Vec<(String, String)> =
            ward_fleet::finding_rows(&scan).into_iter().map(|r| (r.advisory, r.package)).collect();
        expected.sort();
        let mut got: Vec<(String, String)> =
            all(&server, &viewer, &format!("/findings?host={host}"))
                .iter()
                .map(|f| {
                    (
                        f["advisory"].as_str().unwrap_or("").to_owned(),
                        f["package"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect();
        got.sort();
        assert_eq!(got, expected, "host {host}");
        let (_, detail) = server.call("GET", &format!("/hosts/{host}"), Some(&viewer), None);
        assert_eq!(detail["packages"].as_u64(), Some(packages.len() as u64));
        assert_eq!(detail["facts"]["kernel"], "6.1.0-test");
        assert_eq!(detail["open_findings"].as_array().map(Vec::len), Some(expected.len()));
    }
    // Findings sorted by risk: scores never increase down the list.
    let findings = all(&server, &viewer, "/findings");
    let scores: Vec<f64> = findings.iter().map(|f| f["score"].as_f64().unwrap_or(-1.0)).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    // One new advisory for a crate only the cargo host has.
    let events_before = all(&server, &viewer, "/events");
    let crate_name = "tame-index";
    assert!(
        cargo.iter().any(|p| p["name"] == crate_name)
            && !npm.iter().any(|p| p["name"] == crate_name)
    );
    let folder = new_advisory(server.dir.path(), crate_name);
    import(server.dir.path(), &[folder]);
    wait_for("the sync of the new index", || syncs_done(&server, &admin, 2));
    let events = all(&server, &viewer, "/events");
    let new: Vec<&Value> = events[events_before.len()..].iter().collect();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(
        (
            new[0]["kind"].as_str(),
            new[0]["host_id"].as_i64(),
            new[0]["advisory"].as_str(),
            new[0]["package"].as_str()
        ),
        (Some("finding-new"), Some(a), Some("WARD-TEST-2026-0001"), Some(crate_name))
    );
    // The advisory's page names the affected host; history answers "what ran there before".
    let (status, advisory) = server.call("GET", "/advisories/CVE-2026-99999", Some(&viewer), None);
    assert_eq!(status, 200, "{advisory}");
    assert_eq!(
        advisory["affected"]
            .as_array()
            .map(|a| a.iter().map(|f| f["host_id"].as_i64()).collect::<Vec<_>>()),
        Some(vec![Some(a)])
    );
    let (_, critical) = server.call("GET", "/hosts?severity=critical", Some(&viewer), None);
    assert!(critical["items"]
        .as_array()
        .is_some_and(|h| h.iter().any(|h| h["id"].as_i64() == Some(a))));
    server.stop();
}

#[test]
fn end_to_end_on_sqlite() {
    end_to_end(Backend::Sqlite);
}

#[test]
fn end_to_end_on_postgres() {
    end_to_end(Backend::Postgres);
}

#[test]
fn two_servers_on_one_postgres_do_each_thing_once() {
    let first = TestServer::start(Backend::Postgres);
    let url = must(first.store_url().ok_or("url"));
    let data_dir = first.dir.path().to_path_buf();
    let second = TestServer::start_shared(&url, &data_dir);
    let (_, admin) = first.user_token("root", Role::Admin, None);
    import(&data_dir, &[ward_testdata::dir("advisories/rustsec-osv")]);
    wait_for("the first sync", || syncs_done(&first, &admin, 1));
    let (a, agent) = first.enroll(&admin, "tools.example", &[]);
    let body = common::report("tools.example", Value::Array(cargo_host()));
    let (status, answer) = second.call_with(
        "POST",
        "/agent/report",
        Some(&agent),
        Some(&body),
        &[("idempotency-key", &report_key(1))],
    );
    assert_eq!(status, 200, "{answer}");
    let before = all(&first, &admin, "/events").len();
    import(&data_dir, &[new_advisory(&data_dir, "tame-index")]);
    wait_for("the sync of the new index", || syncs_done(&second, &admin, 2));
    // Both servers saw the new index; one job exists for it and it ran once.
    std::thread::sleep(Duration::from_millis(2500));
    let (_, jobs) = first.call("GET", "/jobs", Some(&admin), None);
    let syncs: Vec<&Value> = must(jobs["items"].as_array().ok_or("items"))
        .iter()
        .filter(|j| j["kind"] == "advisory-sync")
        .collect();
    assert_eq!(syncs.len(), 2, "{jobs}");
    assert!(syncs.iter().all(|j| j["attempts"] == 1), "{jobs}");
    let events = all(&first, &admin, "/events");
    assert_eq!(events.len() - before, 1, "{:?}", &events[before..]);
    assert_eq!(events[before]["host_id"].as_i64(), Some(a));
    // One enrollment token, both servers at once: exactly one enrollment.
    let (_, made) = first.call("POST", "/enrollment-tokens", Some(&admin), Some(&json!({})));
    let enroll = json!({"token": made["token"], "host": {"name": "race.example"}});
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let one = scope.spawn(|| first.call("POST", "/agent/enroll", None, Some(&enroll)).0);
        let two = scope.spawn(|| second.call("POST", "/agent/enroll", None, Some(&enroll)).0);
        vec![one.join().unwrap_or(0), two.join().unwrap_or(0)]
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 401], "{statuses:?}");
    second.stop();
    first.stop();
}

#[test]
fn scheduled_feed_updates_reach_the_fleet_without_anyone() {
    // A local feed folder imported once; later a new record appears in it (as a mirror would
    // sync). The server's scheduled `feeds-update` job re-reads the feed, the watcher sees the
    // new index, and the sync job makes the event.
    let server = TestServer::start_with(Backend::Sqlite, |c| c.feeds_every_hours = Some(1));
    let feed = server.dir.path().join("mirror");
    must(std::fs::create_dir_all(&feed));
    let (_, admin) = server.user_token("root", Role::Admin, None);
    let (_, agent) = server.enroll(&admin, "tools.example", &[]);
    let body = common::report("tools.example", Value::Array(cargo_host()));
    let (status, _) = server.call_with(
        "POST",
        "/agent/report",
        Some(&agent),
        Some(&body),
        &[("idempotency-key", &report_key(1))],
    );
    assert_eq!(status, 200);
    // The feed starts with an unrelated record.
    let unrelated = new_advisory(server.dir.path(), "no-such-crate-anywhere");
    must(std::fs::copy(unrelated.join("WARD-TEST-2026-0001.json"), feed.join("a.json")));
    import(server.dir.path(), std::slice::from_ref(&feed));
    wait_for("the first sync", || syncs_done(&server, &admin, 1));
    let before = all(&server, &admin, "/events").len();
    // The mirror gains a record for a crate the host has; nobody runs anything.
    let mut record: Value =
        must(serde_json::from_str(&must(std::fs::read_to_string(feed.join("a.json")))));
    record["id"] = json!("WARD-TEST-2026-0003");
    record["affected"][0]["package"]["name"] = json!("tame-index");
    must(std::fs::write(feed.join("b.json"), record.to_string()));
    // The feeds job of this hour's slot ran already (at start, before b.json existed): the
    // next slot is an hour away, so queue this slot's successor by hand as the clock would.
    must(server.store.enqueue_job("feeds-update", "next-slot", &json!({}), chrono::Utc::now()));
    wait_for("the feed update and its sync", || syncs_done(&server, &admin, 2));
    let events = all(&server, &admin, "/events");
    assert_eq!(events.len() - before, 1, "{:?}", &events[before..]);
    assert_eq!(events[before]["advisory"], "WARD-TEST-2026-0003");
    let (_, jobs) = server.call("GET", "/jobs", Some(&admin), None);
    let feeds: Vec<&Value> = must(jobs["items"].as_array().ok_or("items"))
        .iter()
        .filter(|j| j["kind"] == "feeds-update")
        .collect();
    assert_eq!(feeds.len(), 2, "{jobs}");
    assert!(feeds.iter().all(|j| j["state"] == "done"), "{jobs}");
    server.stop();
}
