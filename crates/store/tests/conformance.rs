//! The conformance suite: every behaviour of the `Store` trait, run against both backends.
//! SQLite gets a temporary file; PostgreSQL gets a fresh schema in the database named by
//! `WARD_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), dropped at the end.
//! PostgreSQL being unreachable is a failure, not a skip: CI provides it.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, TimeZone, Utc};
use ward_store::{
    ChangeKind, HostFilter, HostId, HostInfo, InventoryDiff, PackageRow, Page, Store, StoreError,
};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

fn postgres_base_url() -> String {
    std::env::var("WARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

fn admin_client() -> ::postgres::Client {
    let url = postgres_base_url();
    ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap_or_else(|error| {
        panic!("PostgreSQL at {url} (WARD_TEST_POSTGRES) is not reachable: {error}")
    })
}

/// One test database: a store on it, and what a test needs to open more handles on it or
/// tamper with it behind the store's back.
enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String, store: Box<dyn Store> },
    Postgres { schema: String, url: String, store: Box<dyn Store> },
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ward.db").display());
        let store = ward_store::open(&url).unwrap();
        TestDb::Sqlite { _dir: dir, url, store }
    }

    fn postgres() -> TestDb {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let schema = format!(
            "ward_t_{}_{}_{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin_client().batch_execute(&format!("CREATE SCHEMA {schema}")).unwrap();
        let base = postgres_base_url();
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
        let store = ward_store::open(&url).unwrap();
        TestDb::Postgres { schema, url, store }
    }

    fn store(&self) -> &dyn Store {
        match self {
            TestDb::Sqlite { store, .. } | TestDb::Postgres { store, .. } => store.as_ref(),
        }
    }

    /// Opens the same database again: another connection, as another server process would.
    fn open_again(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => ward_store::open(url),
        }
    }

    /// Marks the database as written by a newer ward.
    fn insert_schema_version(&self, version: i64) {
        match self {
            TestDb::Sqlite { url, .. } => {
                let path = url.trim_start_matches("sqlite://");
                rusqlite::Connection::open(path)
                    .unwrap()
                    .execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                        rusqlite::params![version, "2030-01-01T00:00:00.000000Z"],
                    )
                    .unwrap();
            }
            TestDb::Postgres { schema, .. } => {
                admin_client()
                    .execute(
                        &format!("INSERT INTO {schema}.schema_version (version) VALUES ($1)"),
                        &[&version],
                    )
                    .unwrap();
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { schema, .. } = self {
            // Best effort: a failed drop must not hide the test's own result.
            if let Ok(mut client) =
                ::postgres::Client::connect(&postgres_base_url(), ::postgres::NoTls)
            {
                let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
            }
        }
    }
}

/// Runs each listed test against both backends. `store:` tests take `&dyn Store`; `db:` tests
/// take the `&TestDb` (for a second handle or raw access).
macro_rules! conformance {
    (store: [$($store_test:ident),* $(,)?], db: [$($db_test:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(#[test] fn $store_test() { super::$store_test(super::TestDb::sqlite().store()); })*
            $(#[test] fn $db_test() { super::$db_test(&super::TestDb::sqlite()); })*
        }
        mod postgres {
            $(#[test] fn $store_test() { super::$store_test(super::TestDb::postgres().store()); })*
            $(#[test] fn $db_test() { super::$db_test(&super::TestDb::postgres()); })*
        }
    };
}

conformance! {
    store: [
        host_upsert_creates_then_updates,
        host_filters_and_pagination,
        inventory_diff_counts_across_reports,
        packages_at_rebuilds_history,
        changes_since,
        reverse_index_follows_current_inventory,
        same_idempotency_key_is_a_duplicate,
        refuses_bad_reports_and_unknown_hosts,
        thousand_package_inventory_round_trips,
    ],
    db: [
        concurrent_same_key_from_two_handles_applies_once,
        migrations_are_idempotent,
        newer_schema_is_refused,
    ],
}

#[test]
fn postgres_is_reachable() {
    let row = admin_client().query_one("SELECT 1::int4", &[]).unwrap();
    assert_eq!(row.get::<_, i32>(0), 1);
}

#[test]
fn postgres_password_never_appears_in_errors() {
    // Nothing listens on port 1: the connection fails, naming the masked URL.
    let error = ward_store::open("postgres://ward:hunter2@127.0.0.1:1/ward").unwrap_err();
    let text = error.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{error:?}").contains("hunter2"), "{error:?}");
    assert!(text.contains("postgres://ward:***@127.0.0.1:1/ward"), "{text}");
    assert!(text.starts_with("PostgreSQL store: cannot open"), "{text}");
}

#[test]
fn sqlite_unreadable_stored_data_is_an_error_not_a_panic() {
    let db = TestDb::sqlite();
    let host = new_host(db.store(), "web1");
    db.store().record_inventory(host, t(2, 0), &[deb("bash", "5.2-1")], "k").unwrap();
    let TestDb::Sqlite { url, .. } = &db else { unreachable!() };
    let raw = rusqlite::Connection::open(url.trim_start_matches("sqlite://")).unwrap();
    raw.execute("UPDATE hosts SET last_seen = 'last tuesday'", []).unwrap();
    raw.execute("UPDATE changes SET at = 'soon'", []).unwrap();
    let error = db.store().host(host).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("\"last tuesday\""), "{error}");
    let error = db.store().changes(host, None).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
}

#[test]
fn unsupported_url_is_refused() {
    let error = ward_store::open("mysql://root:pw@db/ward").unwrap_err();
    assert!(matches!(error, StoreError::UnsupportedUrl { .. }), "{error}");
}

// ---- helpers -----------------------------------------------------------------------------

/// 2026-01-`day` at `hour`:00 UTC.
fn t(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, day, hour, 0, 0).unwrap()
}

fn deb(name: &str, version: &str) -> PackageRow {
    PackageRow {
        ecosystem: "Debian:12".into(),
        name: name.into(),
        version: version.into(),
        source: None,
    }
}

fn host_info(name: &str, os: Option<&str>, groups: &[&str], tags: &[&str]) -> HostInfo {
    HostInfo {
        name: name.into(),
        os: os.map(Into::into),
        groups: groups.iter().map(|g| (*g).into()).collect(),
        tags: tags.iter().map(|t| (*t).into()).collect(),
    }
}

fn new_host(store: &dyn Store, name: &str) -> HostId {
    store.upsert_host(&host_info(name, Some("Debian:12"), &[], &[]), t(1, 0)).unwrap()
}

fn diff(added: usize, removed: usize, changed: usize) -> InventoryDiff {
    InventoryDiff { added, removed, changed, duplicate: false }
}

fn sorted(mut packages: Vec<PackageRow>) -> Vec<PackageRow> {
    packages.sort();
    packages
}

/// Three reports used by the history tests, at days 2, 4 and 6.
fn three_reports() -> [(DateTime<Utc>, Vec<PackageRow>, InventoryDiff); 3] {
    let libssl = PackageRow { source: Some("openssl".into()), ..deb("libssl3", "3.0.11-1") };
    [
        (t(2, 0), vec![deb("bash", "5.2-1"), deb("curl", "7.88-1"), libssl.clone()], diff(3, 0, 0)),
        (
            t(4, 0),
            vec![
                deb("bash", "5.2-2"),
                PackageRow { version: "3.0.13-1".into(), ..libssl.clone() },
                deb("vim", "9.0-1"),
            ],
            diff(1, 1, 2),
        ),
        (
            t(6, 0),
            vec![
                deb("bash", "5.2-2"),
                deb("vim", "9.0-1"),
                PackageRow { ecosystem: "PyPI".into(), ..deb("requests", "2.31.0") },
            ],
            diff(1, 1, 0),
        ),
    ]
}

fn record_three(store: &dyn Store, host: HostId) {
    for (i, (at, packages, expect)) in three_reports().into_iter().enumerate() {
        let got = store.record_inventory(host, at, &packages, &format!("report-{i}")).unwrap();
        assert_eq!(got, expect, "report {i}");
    }
}

// ---- tests -------------------------------------------------------------------------------

fn host_upsert_creates_then_updates(store: &dyn Store) {
    let first = host_info("web1", Some("Debian:12"), &["web", "prod", "web"], &["b", "a"]);
    let id = store.upsert_host(&first, t(1, 0)).unwrap();
    let record = store.host(id).unwrap().unwrap();
    assert_eq!(record.id, id);
    assert_eq!(record.info, host_info("web1", Some("Debian:12"), &["prod", "web"], &["a", "b"]));
    assert_eq!((record.first_seen, record.last_seen), (t(1, 0), t(1, 0)));
    assert_eq!(id.to_string(), id.0.to_string());

    // Same name: same id, new facts, last_seen moves, first_seen stays.
    let second = host_info("web1", Some("Debian:13"), &["web"], &[]);
    assert_eq!(store.upsert_host(&second, t(3, 0)).unwrap(), id);
    let record = store.host(id).unwrap().unwrap();
    assert_eq!(record.info, second);
    assert_eq!((record.first_seen, record.last_seen), (t(1, 0), t(3, 0)));

    // A late upsert does not move last_seen backwards.
    store.upsert_host(&second, t(2, 0)).unwrap();
    assert_eq!(store.host(id).unwrap().unwrap().last_seen, t(3, 0));

    let other = store.upsert_host(&host_info("db1", None, &[], &[]), t(1, 0)).unwrap();
    assert_ne!(other, id);
    assert_eq!(store.host(other).unwrap().unwrap().info.os, None);
    assert_eq!(store.host(HostId(other.0 + 1000)).unwrap(), None);
}

fn host_filters_and_pagination(store: &dyn Store) {
    let hosts = [
        host_info("web1", Some("Debian:12"), &["web", "prod"], &["dmz"]),
        host_info("web2", Some("Debian:12"), &["web"], &[]),
        host_info("db1", Some("Ubuntu:22.04"), &["db", "prod"], &["pci"]),
        host_info("db2", Some("Ubuntu:22.04"), &["db"], &["pci", "dmz"]),
        host_info("lab", None, &[], &[]),
    ];
    let ids: Vec<HostId> = hosts.iter().map(|h| store.upsert_host(h, t(1, 0)).unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let filter = |group: Option<&str>, tag: Option<&str>, os: Option<&str>| HostFilter {
        group: group.map(Into::into),
        tag: tag.map(Into::into),
        os: os.map(Into::into),
    };
    let cases: &[(HostFilter, &[&str])] = &[
        (HostFilter::default(), &["web1", "web2", "db1", "db2", "lab"]),
        (filter(Some("prod"), None, None), &["web1", "db1"]),
        (filter(None, Some("dmz"), None), &["web1", "db2"]),
        (filter(None, None, Some("Ubuntu:22.04")), &["db1", "db2"]),
        (filter(Some("db"), Some("dmz"), None), &["db2"]),
        (filter(Some("prod"), None, Some("Debian:12")), &["web1"]),
        (filter(Some("nope"), None, None), &[]),
    ];
    for (filter, expect) in cases {
        let got: Vec<String> = store
            .hosts(filter, Page::first(100))
            .unwrap()
            .into_iter()
            .map(|h| h.info.name)
            .collect();
        assert_eq!(got, *expect, "{filter:?}");
    }

    // Keyset pagination, two at a time, visits every host once in id order.
    let mut seen = Vec::new();
    let mut page = Page::first(2);
    loop {
        let batch = store.hosts(&HostFilter::default(), page).unwrap();
        assert!(batch.len() <= 2);
        let Some(last) = batch.last() else { break };
        page = Page { after: Some(last.id), limit: 2 };
        seen.extend(batch.iter().map(|h| h.id));
    }
    assert_eq!(seen, ids);
    let prod_after_web1 =
        store.hosts(&filter(Some("prod"), None, None), Page { after: Some(ids[0]), limit: 10 });
    assert_eq!(prod_after_web1.unwrap().iter().map(|h| h.id).collect::<Vec<_>>(), [ids[2]]);
    assert!(store.hosts(&HostFilter::default(), Page::first(0)).unwrap().is_empty());
}

fn inventory_diff_counts_across_reports(store: &dyn Store) {
    let host = new_host(store, "web1");
    for (i, (at, packages, expect)) in three_reports().into_iter().enumerate() {
        let got = store.record_inventory(host, at, &packages, &format!("k{i}")).unwrap();
        assert_eq!(got, expect, "report {i}");
        assert_eq!(store.current_packages(host).unwrap(), sorted(packages), "report {i}");
    }
    // Another host's inventory is separate.
    let other = new_host(store, "web2");
    assert!(store.current_packages(other).unwrap().is_empty());
    assert_eq!(store.record_inventory(other, t(2, 0), &[], "k0").unwrap(), diff(0, 0, 0));
}

fn packages_at_rebuilds_history(store: &dyn Store) {
    let host = new_host(store, "web1");
    record_three(store, host);
    let [(_, first, _), (_, second, _), (_, third, _)] = three_reports();
    let cases: &[(DateTime<Utc>, &[PackageRow])] = &[
        (t(1, 0), &[]),
        (t(2, 0) - chrono::Duration::microseconds(1), &[]),
        (t(2, 0), &first),
        (t(3, 12), &first),
        (t(4, 0), &second),
        (t(5, 0), &second),
        (t(6, 0), &third),
        (t(30, 0), &third),
    ];
    for (at, expect) in cases {
        assert_eq!(store.packages_at(host, *at).unwrap(), sorted(expect.to_vec()), "at {at}");
    }
    assert_eq!(store.packages_at(host, t(30, 0)).unwrap(), store.current_packages(host).unwrap());
}

fn changes_since(store: &dyn Store) {
    let host = new_host(store, "web1");
    record_three(store, host);
    let all = store.changes(host, None).unwrap();
    assert_eq!(all.len(), 3 + 4 + 2);
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at), "oldest first");
    let cases: &[(Option<DateTime<Utc>>, usize)] = &[
        (None, 9),
        (Some(t(1, 0)), 9),
        (Some(t(4, 0)), 6),
        (Some(t(5, 0)), 2),
        (Some(t(7, 0)), 0),
    ];
    for (since, expect) in cases {
        assert_eq!(store.changes(host, *since).unwrap().len(), *expect, "since {since:?}");
    }
    let summary: Vec<(ChangeKind, &str, Option<&str>, Option<&str>)> = all[3..7]
        .iter()
        .map(|c| (c.kind, c.name.as_str(), c.from.as_deref(), c.to.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (ChangeKind::Changed, "bash", Some("5.2-1"), Some("5.2-2")),
            (ChangeKind::Removed, "curl", Some("7.88-1"), None),
            (ChangeKind::Changed, "libssl3", Some("3.0.11-1"), Some("3.0.13-1")),
            (ChangeKind::Added, "vim", None, Some("9.0-1")),
        ]
    );
    assert!(all[3..7].iter().all(|c| c.at == t(4, 0) && c.ecosystem == "Debian:12"));
    assert_eq!(all[5].source.as_deref(), Some("openssl"));
}

fn reverse_index_follows_current_inventory(store: &dyn Store) {
    let a = new_host(store, "a");
    let b = new_host(store, "b");
    store
        .record_inventory(a, t(2, 0), &[deb("curl", "7.88-1"), deb("bash", "5.2-1")], "1")
        .unwrap();
    store.record_inventory(b, t(2, 0), &[deb("curl", "7.74-1")], "1").unwrap();
    let curl = |store: &dyn Store| store.hosts_with_package("Debian:12", "curl").unwrap();
    assert_eq!(curl(store), [(a, "7.88-1".to_owned()), (b, "7.74-1".to_owned())]);

    store.record_inventory(a, t(3, 0), &[deb("bash", "5.2-1")], "2").unwrap();
    store.record_inventory(b, t(3, 0), &[deb("curl", "7.88-1")], "2").unwrap();
    assert_eq!(curl(store), [(b, "7.88-1".to_owned())]);
    assert_eq!(store.hosts_with_package("Debian:12", "bash").unwrap(), [(a, "5.2-1".to_owned())]);
    // Identity includes the ecosystem.
    assert!(store.hosts_with_package("Ubuntu:22.04", "curl").unwrap().is_empty());
    assert!(store.hosts_with_package("Debian:12", "nothing").unwrap().is_empty());
}

fn same_idempotency_key_is_a_duplicate(store: &dyn Store) {
    let host = new_host(store, "web1");
    let packages = [deb("bash", "5.2-1"), deb("curl", "7.88-1")];
    assert_eq!(store.record_inventory(host, t(2, 0), &packages, "abc").unwrap(), diff(2, 0, 0));
    // Again, even with other content and a later time: the first call's diff, nothing changes.
    let again = store.record_inventory(host, t(3, 0), &[deb("vim", "9.0-1")], "abc").unwrap();
    assert_eq!(again, InventoryDiff { duplicate: true, ..diff(2, 0, 0) });
    assert_eq!(store.current_packages(host).unwrap(), packages);
    assert_eq!(store.changes(host, None).unwrap().len(), 2);
    // The key is per host.
    let other = new_host(store, "web2");
    assert_eq!(store.record_inventory(other, t(2, 0), &packages, "abc").unwrap(), diff(2, 0, 0));
}

fn refuses_bad_reports_and_unknown_hosts(store: &dyn Store) {
    let host = new_host(store, "web1");
    let missing = HostId(host.0 + 1000);
    let dup = [deb("bash", "5.2-1"), deb("bash", "5.2-2")];
    let error = store.record_inventory(host, t(2, 0), &dup, "k").unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    assert!(error.to_string().contains("Debian:12/bash is listed twice"), "{error}");
    let error = store.record_inventory(host, t(2, 0), &[], "").unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");

    store.record_inventory(host, t(4, 0), &[deb("bash", "5.2-1")], "k").unwrap();
    let error = store.record_inventory(host, t(3, 0), &[], "older").unwrap_err();
    assert!(matches!(error, StoreError::OutOfOrder { .. }), "{error}");
    // The refused report left nothing behind: its key is still free.
    assert_eq!(store.record_inventory(host, t(4, 0), &[], "older").unwrap(), diff(0, 1, 0));

    let error = store.record_inventory(missing, t(2, 0), &[], "k").unwrap_err();
    assert!(matches!(error, StoreError::UnknownHost { .. }), "{error}");
    assert!(error.to_string().contains(&format!("no host with id {missing}")), "{error}");
    assert!(matches!(store.current_packages(missing), Err(StoreError::UnknownHost { .. })));
    assert!(matches!(store.packages_at(missing, t(2, 0)), Err(StoreError::UnknownHost { .. })));
    assert!(matches!(store.changes(missing, None), Err(StoreError::UnknownHost { .. })));
}

fn thousand_package_inventory_round_trips(store: &dyn Store) {
    let host = new_host(store, "big");
    let packages: Vec<PackageRow> = (0..1000)
        .map(|i| PackageRow {
            ecosystem: if i % 3 == 0 { "PyPI".into() } else { "Debian:12".into() },
            name: format!("package-{i:04}"),
            version: format!("1.{i}-1"),
            source: (i % 2 == 0).then(|| format!("source-{}", i / 10)),
        })
        .collect();
    assert_eq!(store.record_inventory(host, t(2, 0), &packages, "big").unwrap(), diff(1000, 0, 0));
    assert_eq!(store.current_packages(host).unwrap(), sorted(packages.clone()));
    assert_eq!(store.packages_at(host, t(2, 0)).unwrap(), sorted(packages.clone()));
    let bumped: Vec<PackageRow> = packages
        .iter()
        .map(|p| PackageRow { version: format!("{}+1", p.version), ..p.clone() })
        .collect();
    assert_eq!(store.record_inventory(host, t(3, 0), &bumped, "big2").unwrap(), diff(0, 0, 1000));
    assert_eq!(store.changes(host, None).unwrap().len(), 2000);
    assert_eq!(
        store.hosts_with_package("PyPI", "package-0999").unwrap(),
        [(host, "1.999-1+1".to_owned())]
    );
}

fn concurrent_same_key_from_two_handles_applies_once(db: &TestDb) {
    let host = new_host(db.store(), "web1");
    let packages: Vec<PackageRow> =
        (0..200).map(|i| deb(&format!("package-{i:03}"), "1.0-1")).collect();
    let handles = [Arc::new(db.open_again().unwrap()), Arc::new(db.open_again().unwrap())];
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<InventoryDiff> = std::thread::scope(|scope| {
        let threads: Vec<_> = handles
            .iter()
            .map(|store| {
                let (barrier, packages) = (Arc::clone(&barrier), &packages);
                scope.spawn(move || {
                    barrier.wait();
                    store.record_inventory(host, t(2, 0), packages, "same-key").unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|thread| thread.join().unwrap()).collect()
    });
    let applied = results.iter().filter(|r| !r.duplicate).count();
    assert_eq!(applied, 1, "{results:?}");
    for result in &results {
        assert_eq!((result.added, result.removed, result.changed), (200, 0, 0), "{results:?}");
    }
    let changes = db.store().changes(host, None).unwrap();
    assert_eq!(changes.len(), 200);
    let mut names: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    names.dedup();
    assert_eq!(names.len(), 200, "each change once");
    assert_eq!(db.store().current_packages(host).unwrap(), packages);
}

fn migrations_are_idempotent(db: &TestDb) {
    let host = new_host(db.store(), "web1");
    db.store().record_inventory(host, t(2, 0), &[deb("bash", "5.2-1")], "k").unwrap();
    for _ in 0..2 {
        let again = db.open_again().unwrap();
        assert_eq!(again.current_packages(host).unwrap(), [deb("bash", "5.2-1")]);
        assert_eq!(again.host(host).unwrap().unwrap().info.name, "web1");
    }
}

fn newer_schema_is_refused(db: &TestDb) {
    db.insert_schema_version(ward_store::SCHEMA_VERSION + 1);
    let error = db.open_again().unwrap_err();
    match &error {
        StoreError::SchemaTooNew { backend, found, supported } => {
            assert_eq!(*backend, db.store().backend());
            assert_eq!(
                (*found, *supported),
                (ward_store::SCHEMA_VERSION + 1, ward_store::SCHEMA_VERSION)
            );
        }
        other => panic!("expected SchemaTooNew, got {other}"),
    }
    assert!(error.to_string().contains("upgrade ward"), "{error}");
}
