//! The conformance suite: every behaviour of the `Store` trait, run against both backends.
//! SQLite gets a temporary file; PostgreSQL gets a fresh schema in the database named by
//! `WARD_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), dropped at the end.
//! PostgreSQL being unreachable is a failure, not a skip: CI provides it.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::sync::{Arc, Barrier};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use ward_auth::audit::{self, AuditEntry, Tamper, TamperKind};
use ward_auth::lockout::{Lockout, State, Subject};
use ward_auth::password;
use ward_auth::role::Role;
use ward_auth::scope::Scope;
use ward_auth::token::{self, StoredToken, Token, TokenKind};
use ward_auth::SecretString;
use ward_store::{
    AdvisoryFingerprint, ChangeKind, Event, EventKind, FindingFilter, FindingPage, FindingRow,
    FindingsDiff, HostFilter, HostId, HostInfo, InventoryDiff, JobState, PackageRow, Page,
    ScopedFindings, Store, StoreError, TokenOwner, TokenRecord, UserId, UserRecord,
};
use ward_testdata::postgres as postgres_test;

fn admin_client() -> ::postgres::Client {
    postgres_test::connect(&postgres_test::test_url())
}

/// One test database: a store on it, and what a test needs to open more handles on it or
/// tamper with it behind the store's back.
enum TestDb {
    Sqlite { _dir: tempfile::TempDir, url: String, store: Box<dyn Store> },
    // The store is dropped (its connection closed) before the schema.
    Postgres { store: Box<dyn Store>, schema: postgres_test::FreshSchema },
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("ward.db").display());
        let store = ward_store::open(&url).unwrap();
        TestDb::Sqlite { _dir: dir, url, store }
    }

    fn postgres() -> TestDb {
        let schema = postgres_test::fresh_schema("ward_t");
        let store = ward_store::open(schema.url()).unwrap();
        TestDb::Postgres { store, schema }
    }

    fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } => url,
            TestDb::Postgres { schema, .. } => schema.url(),
        }
    }

    fn store(&self) -> &dyn Store {
        match self {
            TestDb::Sqlite { store, .. } | TestDb::Postgres { store, .. } => store.as_ref(),
        }
    }

    /// Opens the same database again: another connection, as another server process would.
    fn open_again(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            TestDb::Sqlite { .. } | TestDb::Postgres { .. } => ward_store::open(self.url()),
        }
    }

    /// Runs `sql` on a raw connection of its own, behind the store's back (SQL both dialects
    /// accept).
    fn raw_execute(&self, sql: &str) {
        match self {
            TestDb::Sqlite { url, .. } => {
                let raw = rusqlite::Connection::open(url.trim_start_matches("sqlite://")).unwrap();
                raw.execute_batch(sql).unwrap();
            }
            TestDb::Postgres { schema, .. } => {
                let mut raw = schema.connect_base();
                let schema = schema.name();
                raw.batch_execute(&format!("SET search_path = {schema}; {sql}")).unwrap();
            }
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
                schema
                    .connect_base()
                    .execute(
                        &format!(
                            "INSERT INTO {}.schema_version (version) VALUES ($1)",
                            schema.name()
                        ),
                        &[&version],
                    )
                    .unwrap();
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
        reverse_index_by_source,
        findings_diff_counts_over_a_sequence,
        reappearing_finding_is_new,
        events_sequence_is_exact,
        open_findings_filters_and_keyset_pages,
        bad_findings_and_unknown_hosts_are_refused,
        users_create_lookup_and_change_password,
        tokens_add_lookup_and_revoke,
        users_and_tokens_are_listed,
        enrollment_is_consumed_once,
        lockout_state_round_trips,
        audit_chain_verifies_with_its_anchor,
        host_facts_round_trip,
        last_report_follows_reports,
        groups_and_tags_count_hosts,
        finding_counts_per_host_and_severity,
        risk_order_and_offset_paging,
        packages_for_keys_by_name_and_source,
        scoped_findings_touch_only_their_scope,
        bad_scoped_findings_write_nothing,
        jobs_are_enqueued_once_and_claimed_once,
        expired_lease_is_reclaimable,
        advisory_fingerprints_upsert_and_delete,
        source_version_round_trips,
    ],
    db: [
        concurrent_same_key_from_two_handles_applies_once,
        concurrent_apply_findings_for_one_host_applies_once,
        schema_1_database_upgrades,
        schema_3_database_upgrades,
        concurrent_claims_take_each_job_once,
        migrations_are_idempotent,
        newer_schema_is_refused,
        concurrent_enrollment_from_two_handles_consumes_once,
        concurrent_audit_appends_make_one_chain,
        audit_tampering_is_detected,
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
        source_version: None,
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
        severities: Vec::new(),
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
            source_version: (i % 4 == 0).then(|| format!("1.{i}")),
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

// ---- findings and events -----------------------------------------------------------------

fn finding(advisory: &str, package: &str, version: &str) -> FindingRow {
    FindingRow {
        advisory: advisory.into(),
        aliases: vec![format!("CVE-{advisory}")],
        ecosystem: "Debian:12".into(),
        package: package.into(),
        version: version.into(),
        severity: Some("high".into()),
        score: Some(7.5),
    }
}

fn findings_diff(new: usize, resolved: usize, unchanged: usize) -> FindingsDiff {
    FindingsDiff { new, resolved, unchanged }
}

/// Every open finding, paging through with small pages.
fn all_open(store: &dyn Store, filter: &FindingFilter) -> Vec<ward_store::OpenFinding> {
    let mut out = Vec::new();
    let mut page = FindingPage::first(2);
    loop {
        let got = store.open_findings(filter, page.clone()).unwrap();
        let Some(last) = got.last() else { return out };
        page.after = Some(last.key());
        out.extend(got);
    }
}

fn all_events(store: &dyn Store) -> Vec<Event> {
    let mut out: Vec<Event> = Vec::new();
    loop {
        let got = store.events(out.last().map(|e| e.id), 3).unwrap();
        if got.is_empty() {
            return out;
        }
        out.extend(got);
    }
}

/// `(kind, host, advisory, package, version)` of each event.
fn event_summary(events: &[Event]) -> Vec<(EventKind, HostId, String, String, String)> {
    events
        .iter()
        .map(|e| (e.kind, e.host, e.advisory.clone(), e.package.clone(), e.version.clone()))
        .collect()
}

fn reverse_index_by_source(store: &dyn Store) {
    let web1 = new_host(store, "web1");
    let web2 = new_host(store, "web2");
    let libssl =
        |version: &str| PackageRow { source: Some("openssl".into()), ..deb("libssl3", version) };
    let openssl = PackageRow { source: Some("openssl".into()), ..deb("openssl", "3.0.11-1") };
    store.record_inventory(web1, t(2, 0), &[libssl("3.0.11-1"), openssl], "a").unwrap();
    store
        .record_inventory(web2, t(2, 0), &[libssl("3.0.13-1"), deb("bash", "5.2-1")], "b")
        .unwrap();
    assert_eq!(
        store.hosts_with_source("Debian:12", "openssl").unwrap(),
        [
            (web1, "libssl3".to_owned(), "3.0.11-1".to_owned()),
            (web1, "openssl".to_owned(), "3.0.11-1".to_owned()),
            (web2, "libssl3".to_owned(), "3.0.13-1".to_owned()),
        ]
    );
    assert_eq!(store.hosts_with_source("Debian:11", "openssl").unwrap(), []);
    assert_eq!(store.hosts_with_source("Debian:12", "bash").unwrap(), [], "no source, no hit");
    store.record_inventory(web1, t(3, 0), &[deb("bash", "5.2-1")], "c").unwrap();
    assert_eq!(
        store.hosts_with_source("Debian:12", "openssl").unwrap(),
        [(web2, "libssl3".to_owned(), "3.0.13-1".to_owned())]
    );
}

fn findings_diff_counts_over_a_sequence(store: &dyn Store) {
    let host = new_host(store, "web1");
    let a = finding("DSA-1", "bash", "5.2-1");
    let b = finding("DSA-2", "curl", "7.88-1");
    let c = finding("DSA-3", "vim", "9.0-1");
    let sequence: [(Vec<FindingRow>, FindingsDiff); 5] = [
        (vec![a.clone(), b.clone()], findings_diff(2, 0, 0)),
        (vec![a.clone(), b.clone()], findings_diff(0, 0, 2)),
        (vec![b.clone(), c.clone()], findings_diff(1, 1, 1)),
        // The version moved but the advisory still applies: still open, no event.
        (
            vec![FindingRow { version: "7.88-2".into(), score: Some(9.8), ..b.clone() }, c.clone()],
            findings_diff(0, 0, 2),
        ),
        (vec![], findings_diff(0, 2, 0)),
    ];
    for (i, (current, expect)) in sequence.into_iter().enumerate() {
        let at = t(2 + u32::try_from(i).unwrap(), 0);
        assert_eq!(store.apply_findings(host, at, &current).unwrap(), expect, "step {i}");
        let open: Vec<FindingRow> =
            all_open(store, &FindingFilter::default()).into_iter().map(|f| f.row).collect();
        let mut want = current.clone();
        want.sort_by(|x, y| x.advisory.cmp(&y.advisory));
        assert_eq!(open, want, "step {i}: the open findings are the current ones");
    }
    // Four findings opened, four resolved; the version update made no event.
    let events = all_events(store);
    assert_eq!(events.len(), 6);
    let resolved_b = events
        .iter()
        .find(|e| e.kind == EventKind::FindingResolved && e.advisory == "DSA-2")
        .unwrap();
    assert_eq!(resolved_b.version, "7.88-2", "a resolved event carries the last version");
    assert_eq!(resolved_b.at, t(6, 0));
}

fn reappearing_finding_is_new(store: &dyn Store) {
    let host = new_host(store, "web1");
    let a = finding("DSA-1", "bash", "5.2-1");
    assert_eq!(
        store.apply_findings(host, t(2, 0), std::slice::from_ref(&a)).unwrap(),
        findings_diff(1, 0, 0)
    );
    let first = all_open(store, &FindingFilter::default());
    assert_eq!(first[0].first_seen, t(2, 0));
    assert_eq!(store.apply_findings(host, t(3, 0), &[]).unwrap(), findings_diff(0, 1, 0));
    assert!(all_open(store, &FindingFilter::default()).is_empty());
    assert_eq!(
        store.apply_findings(host, t(4, 0), std::slice::from_ref(&a)).unwrap(),
        findings_diff(1, 0, 0)
    );
    let again = all_open(store, &FindingFilter::default());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].first_seen, t(4, 0), "a reappearing finding is seen first again");
    assert_eq!(again[0].row, a);
    let kinds: Vec<EventKind> = all_events(store).iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::FindingNew, EventKind::FindingResolved, EventKind::FindingNew]);
}

fn events_sequence_is_exact(store: &dyn Store) {
    let web1 = new_host(store, "web1");
    let web2 = new_host(store, "web2");
    let a = finding("DSA-1", "bash", "5.2-1");
    let b = finding("DSA-2", "curl", "7.88-1");
    store.apply_findings(web1, t(2, 0), &[b.clone(), a.clone()]).unwrap();
    store.apply_findings(web2, t(2, 1), std::slice::from_ref(&a)).unwrap();
    store.apply_findings(web1, t(3, 0), std::slice::from_ref(&b)).unwrap();
    store.apply_findings(web2, t(3, 1), std::slice::from_ref(&a)).unwrap();
    store.apply_findings(web2, t(4, 0), std::slice::from_ref(&b)).unwrap();
    let events = all_events(store);
    let (new, resolved) = (EventKind::FindingNew, EventKind::FindingResolved);
    let e = |kind, host, advisory: &str, package: &str, version: &str| {
        (kind, host, advisory.to_owned(), package.to_owned(), version.to_owned())
    };
    assert_eq!(
        event_summary(&events),
        [
            e(new, web1, "DSA-1", "bash", "5.2-1"),
            e(new, web1, "DSA-2", "curl", "7.88-1"),
            e(new, web2, "DSA-1", "bash", "5.2-1"),
            e(resolved, web1, "DSA-1", "bash", "5.2-1"),
            e(resolved, web2, "DSA-1", "bash", "5.2-1"),
            e(new, web2, "DSA-2", "curl", "7.88-1"),
        ]
    );
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "ids increase: {events:?}");
    let times: Vec<DateTime<Utc>> = events.iter().map(|e| e.at).collect();
    assert_eq!(times, [t(2, 0), t(2, 0), t(2, 1), t(3, 0), t(4, 0), t(4, 0)]);
    assert!(events.iter().all(|e| e.ecosystem == "Debian:12"));
    assert_eq!(EventKind::FindingNew.as_str(), "finding-new");
    assert_eq!(EventKind::parse("finding-resolved"), Some(resolved));
    assert_eq!(EventKind::parse("finding-old"), None);
    // Paging: after an id, at most `limit`.
    assert_eq!(store.events(Some(events[1].id), 2).unwrap(), events[2..4]);
    assert_eq!(store.events(Some(events[5].id), 10).unwrap(), []);
    assert_eq!(store.events(None, 1).unwrap(), events[..1]);
}

fn open_findings_filters_and_keyset_pages(store: &dyn Store) {
    let web1 = new_host(store, "web1");
    let web2 = new_host(store, "web2");
    let crate_finding = FindingRow {
        advisory: "RUSTSEC-2024-0001".into(),
        aliases: vec!["CVE-2024-1".into(), "GHSA-aaaa".into()],
        ecosystem: "crates.io".into(),
        package: "base64".into(),
        version: "0.5.1".into(),
        severity: Some("critical".into()),
        score: Some(9.8),
    };
    let low = FindingRow {
        severity: Some("low".into()),
        score: None,
        ..finding("DSA-2", "curl", "7.88-1")
    };
    let unrated =
        FindingRow { severity: None, aliases: vec![], ..finding("DSA-3", "vim", "9.0-1") };
    let web1_rows = [
        finding("DSA-1", "bash", "5.2-1"),
        finding("DSA-1", "bash-static", "5.2-1"),
        low.clone(),
        unrated.clone(),
        crate_finding.clone(),
    ];
    store.apply_findings(web1, t(2, 0), &web1_rows).unwrap();
    store
        .apply_findings(web2, t(2, 0), &[finding("DSA-1", "bash", "5.2-1"), crate_finding.clone()])
        .unwrap();
    let keys = |filter: FindingFilter| -> Vec<(i64, String, String)> {
        all_open(store, &filter)
            .into_iter()
            .map(|f| (f.host.0, f.row.advisory, f.row.package))
            .collect()
    };
    let k = |host: HostId, advisory: &str, package: &str| {
        (host.0, advisory.to_owned(), package.to_owned())
    };
    // Key order: host, advisory, ecosystem, package (byte order: upper case first).
    assert_eq!(
        keys(FindingFilter::default()),
        [
            k(web1, "DSA-1", "bash"),
            k(web1, "DSA-1", "bash-static"),
            k(web1, "DSA-2", "curl"),
            k(web1, "DSA-3", "vim"),
            k(web1, "RUSTSEC-2024-0001", "base64"),
            k(web2, "DSA-1", "bash"),
            k(web2, "RUSTSEC-2024-0001", "base64"),
        ]
    );
    assert_eq!(
        keys(FindingFilter { host: Some(web2), ..Default::default() }),
        [k(web2, "DSA-1", "bash"), k(web2, "RUSTSEC-2024-0001", "base64")]
    );
    assert_eq!(
        keys(FindingFilter { advisory: Some("DSA-1".into()), ..Default::default() }),
        [k(web1, "DSA-1", "bash"), k(web1, "DSA-1", "bash-static"), k(web2, "DSA-1", "bash")]
    );
    // An alias finds the finding too; a prefix of one does not.
    assert_eq!(
        keys(FindingFilter {
            advisory: Some("GHSA-aaaa".into()),
            host: Some(web1),
            ..Default::default()
        }),
        [k(web1, "RUSTSEC-2024-0001", "base64")]
    );
    assert_eq!(keys(FindingFilter { advisory: Some("GHSA-aaa".into()), ..Default::default() }), []);
    assert_eq!(keys(FindingFilter { advisory: Some("CVE-2024".into()), ..Default::default() }), []);
    assert_eq!(
        keys(FindingFilter { ecosystem: Some("crates.io".into()), ..Default::default() }),
        [k(web1, "RUSTSEC-2024-0001", "base64"), k(web2, "RUSTSEC-2024-0001", "base64")]
    );
    assert_eq!(
        keys(FindingFilter { severities: vec!["low".into()], ..Default::default() }),
        [k(web1, "DSA-2", "curl")]
    );
    assert_eq!(
        keys(FindingFilter {
            host: Some(web1),
            ecosystem: Some("Debian:12".into()),
            severities: vec!["high".into()],
            advisory: Some("DSA-1".into()),
            group: None,
        }),
        [k(web1, "DSA-1", "bash"), k(web1, "DSA-1", "bash-static")]
    );
    // Rows come back whole.
    let found = store
        .open_findings(
            &FindingFilter { ecosystem: Some("crates.io".into()), ..Default::default() },
            FindingPage::first(1),
        )
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].host, &found[0].row, found[0].first_seen),
        (web1, &crate_finding, t(2, 0))
    );
    let found = store
        .open_findings(
            &FindingFilter { advisory: Some("DSA-3".into()), ..Default::default() },
            FindingPage::first(5),
        )
        .unwrap();
    assert_eq!(found[0].row, unrated);
    // A page starting after the last key is empty; limit 0 is empty.
    let last = (web2, "RUSTSEC-2024-0001".to_owned(), "crates.io".to_owned(), "base64".to_owned());
    assert_eq!(
        store
            .open_findings(&FindingFilter::default(), FindingPage { after: Some(last), limit: 10 })
            .unwrap(),
        []
    );
    assert_eq!(store.open_findings(&FindingFilter::default(), FindingPage::first(0)).unwrap(), []);
    // Resolved findings are not listed.
    store.apply_findings(web2, t(3, 0), &[]).unwrap();
    assert_eq!(keys(FindingFilter { host: Some(web2), ..Default::default() }), []);
}

fn bad_findings_and_unknown_hosts_are_refused(store: &dyn Store) {
    let host = new_host(store, "web1");
    let a = finding("DSA-1", "bash", "5.2-1");
    let twice = [a.clone(), FindingRow { version: "5.2-2".into(), ..a.clone() }];
    let error = store.apply_findings(host, t(2, 0), &twice).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    assert!(error.to_string().contains("DSA-1"), "{error}");
    let error =
        store.apply_findings(HostId(999_999), t(2, 0), std::slice::from_ref(&a)).unwrap_err();
    assert!(matches!(error, StoreError::UnknownHost { .. }), "{error}");
    let bad_alias = FindingRow { aliases: vec!["CVE-1\nCVE-2".into()], ..a };
    let error = store.apply_findings(host, t(2, 0), &[bad_alias]).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    assert_eq!(all_events(store), []);
    assert!(all_open(store, &FindingFilter::default()).is_empty());
}

fn concurrent_apply_findings_for_one_host_applies_once(db: &TestDb) {
    let host = new_host(db.store(), "web1");
    let rows: Vec<FindingRow> = (0..100)
        .map(|i| finding(&format!("DSA-{i:03}"), &format!("package-{i:03}"), "1.0-1"))
        .collect();
    let handles = [Arc::new(db.open_again().unwrap()), Arc::new(db.open_again().unwrap())];
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<FindingsDiff> = std::thread::scope(|scope| {
        let threads: Vec<_> = handles
            .iter()
            .map(|store| {
                let (barrier, rows) = (Arc::clone(&barrier), &rows);
                scope.spawn(move || {
                    barrier.wait();
                    store.apply_findings(host, t(2, 0), rows).unwrap()
                })
            })
            .collect();
        threads.into_iter().map(|thread| thread.join().unwrap()).collect()
    });
    let mut results = results;
    results.sort_by_key(|r| r.new);
    assert_eq!(results, [findings_diff(0, 0, 100), findings_diff(100, 0, 0)]);
    let open = all_open(db.store(), &FindingFilter::default());
    assert_eq!(open.len(), 100, "no duplicate open finding");
    let events = all_events(db.store());
    assert_eq!(events.len(), 100, "each event once");
    assert!(events.iter().all(|e| e.kind == EventKind::FindingNew));
    let mut advisories: Vec<&str> = events.iter().map(|e| e.advisory.as_str()).collect();
    advisories.sort_unstable();
    advisories.dedup();
    assert_eq!(advisories.len(), 100);
}

/// A database created by a ward with only schema 1, with data in it, upgrades on open.
fn schema_1_database_upgrades(db: &TestDb) {
    const SQLITE_1: &str = include_str!("../migrations/sqlite/0001_init.sql");
    const POSTGRES_1: &str = include_str!("../migrations/postgres/0001_init.sql");
    match db {
        TestDb::Sqlite { url, .. } => {
            let path = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
            let old = path.with_file_name("schema1.db");
            let raw = rusqlite::Connection::open(&old).unwrap();
            raw.execute_batch(SQLITE_1).unwrap();
            raw.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,
                                              applied_at TEXT NOT NULL);
                 INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00.000000Z');
                 INSERT INTO hosts (name, os, first_seen, last_seen)
                     VALUES ('old1', 'Debian:12', '2026-01-01T00:00:00.000000Z',
                             '2026-01-01T00:00:00.000000Z');
                 INSERT INTO packages (host_id, ecosystem, name, version, source)
                     VALUES (1, 'Debian:12', 'libssl3', '3.0.11-1', 'openssl');",
            )
            .unwrap();
            drop(raw);
            check_upgraded(
                ward_store::open(&format!("sqlite://{}", old.display())).unwrap().as_ref(),
            );
            let raw = rusqlite::Connection::open(&old).unwrap();
            let versions: Vec<i64> = raw
                .prepare("SELECT version FROM schema_version ORDER BY version")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(versions, [1, 2, 3, 4]);
        }
        TestDb::Postgres { schema: fresh, .. } => {
            // Empty the test's schema (the idle store holds no locks), then build schema 1.
            let (schema, url) = (fresh.name(), fresh.url());
            let mut admin = fresh.connect_base();
            admin
                .batch_execute(&format!(
                    "DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema};
                     SET search_path = {schema}"
                ))
                .unwrap();
            admin.batch_execute(POSTGRES_1).unwrap();
            admin
                .batch_execute(
                    "CREATE TABLE schema_version (version BIGINT PRIMARY KEY,
                                                  applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
                     INSERT INTO schema_version (version) VALUES (1);
                     INSERT INTO hosts (name, os, first_seen, last_seen)
                         VALUES ('old1', 'Debian:12', '2026-01-01T00:00:00Z',
                                 '2026-01-01T00:00:00Z');
                     INSERT INTO packages (host_id, ecosystem, name, version, source)
                         SELECT id, 'Debian:12', 'libssl3', '3.0.11-1', 'openssl' FROM hosts;",
                )
                .unwrap();
            check_upgraded(ward_store::open(url).unwrap().as_ref());
            let versions: Vec<i64> = admin
                .query("SELECT version FROM schema_version ORDER BY version", &[])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            assert_eq!(versions, [1, 2, 3, 4]);
        }
    }
}

fn check_upgraded(store: &dyn Store) {
    let hosts = store.hosts(&HostFilter::default(), Page::first(10)).unwrap();
    assert_eq!(hosts.len(), 1);
    let host = hosts[0].id;
    assert_eq!(hosts[0].info.name, "old1");
    assert_eq!(
        store.hosts_with_source("Debian:12", "openssl").unwrap(),
        [(host, "libssl3".to_owned(), "3.0.11-1".to_owned())]
    );
    let row = finding("DSA-1", "libssl3", "3.0.11-1");
    assert_eq!(store.apply_findings(host, t(2, 0), &[row]).unwrap(), findings_diff(1, 0, 0));
    assert_eq!(all_events(store).len(), 1);
    // Schema 3: the security tables.
    let user = store.create_user("admin", Role::Admin, "phc", t(2, 0)).unwrap();
    assert_eq!(store.user(user).unwrap().unwrap().name, "admin");
    let entry = store.append_audit(t(2, 0), "admin", "user.create", "admin", json!({})).unwrap();
    assert_eq!(store.audit_anchor().unwrap(), Some(entry.to_ref()));
}

// ---- security state: users, tokens, lockout, audit --------------------------------------

/// A real argon2id PHC string for `password` (OWASP parameters).
fn phc(password: &str) -> String {
    password::hash(&SecretString::from(password.to_owned()), &mut ward_auth::OsRng).unwrap()
}

fn new_token(kind: TokenKind) -> (Token, StoredToken) {
    Token::generate(kind, &mut ward_auth::OsRng).unwrap()
}

fn users_create_lookup_and_change_password(store: &dyn Store) {
    assert_eq!(store.user_by_name("alice").unwrap(), None);
    let first = phc("correct horse battery");
    let alice = store.create_user("alice", Role::Admin, &first, t(1, 0)).unwrap();
    let bob = store.create_user("bob", Role::Viewer, "$argon2id$v=19$bob", t(1, 1)).unwrap();
    assert_ne!(alice, bob);
    let record = store.user_by_name("alice").unwrap().unwrap();
    assert_eq!(
        record,
        UserRecord {
            id: alice,
            name: "alice".into(),
            role: Role::Admin,
            password_phc: first.clone(),
            created: t(1, 0),
            disabled: false,
        }
    );
    assert!(password::verify(&SecretString::from("correct horse battery"), &record.password_phc)
        .unwrap());
    assert_eq!(store.user(alice).unwrap(), Some(record));
    assert_eq!(store.user(bob).unwrap().unwrap().role, Role::Viewer);
    assert_eq!(store.user(UserId(bob.0 + 1000)).unwrap(), None);
    assert_eq!(store.user_by_name("ALICE").unwrap(), None, "names are exact");

    // Duplicate name: a clear error, nothing changed.
    let error = store.create_user("alice", Role::Viewer, "other", t(2, 0)).unwrap_err();
    assert!(matches!(error, StoreError::AlreadyExists { .. }), "{error}");
    assert!(error.to_string().contains("user \"alice\" already exists"), "{error}");
    assert_eq!(store.user_by_name("alice").unwrap().unwrap().password_phc, first);
    let error = store.create_user("", Role::Viewer, "x", t(2, 0)).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");

    // Password change.
    let second = phc("another long passphrase");
    store.set_password(alice, &second).unwrap();
    let record = store.user_by_name("alice").unwrap().unwrap();
    assert_eq!(record.password_phc, second);
    assert!(!password::verify(&SecretString::from("correct horse battery"), &second).unwrap());
    assert_eq!(store.user(bob).unwrap().unwrap().password_phc, "$argon2id$v=19$bob");
    let error = store.set_password(UserId(bob.0 + 1000), "x").unwrap_err();
    assert!(matches!(error, StoreError::UnknownUser { .. }), "{error}");

    // Disabling.
    store.set_user_disabled(bob, true).unwrap();
    assert!(store.user(bob).unwrap().unwrap().disabled);
    assert!(!store.user(alice).unwrap().unwrap().disabled);
    store.set_user_disabled(bob, false).unwrap();
    assert!(!store.user(bob).unwrap().unwrap().disabled);
    let error = store.set_user_disabled(UserId(bob.0 + 1000), true).unwrap_err();
    assert!(matches!(error, StoreError::UnknownUser { .. }), "{error}");
}

fn tokens_add_lookup_and_revoke(store: &dyn Store) {
    let alice = store.create_user("alice", Role::Operator, "phc", t(1, 0)).unwrap();
    let host = new_host(store, "web1");
    let (api_text, api) = new_token(TokenKind::Api);
    let (_, agent) = new_token(TokenKind::Agent);
    let (_, enrollment) = new_token(TokenKind::Enrollment);
    store
        .add_token(
            &api,
            TokenOwner::User(alice),
            &[Scope::Admin, Scope::Read, Scope::Admin],
            Some(t(9, 0)),
            t(2, 0),
        )
        .unwrap();
    store.add_token(&agent, TokenOwner::Host(host), &[], None, t(2, 1)).unwrap();
    store.add_token(&enrollment, TokenOwner::Unowned, &[], Some(t(3, 0)), t(2, 2)).unwrap();

    let record = store.token(&api.id).unwrap().unwrap();
    assert_eq!(
        record,
        TokenRecord {
            stored: api.clone(),
            owner: TokenOwner::User(alice),
            scopes: vec![Scope::Read, Scope::Admin],
            created: t(2, 0),
            expires: Some(t(9, 0)),
            revoked: None,
            used: None,
        }
    );
    // What was stored authenticates the token it was made from.
    assert!(token::verify(&token::parse(api_text.reveal()).unwrap(), &record.stored));
    let record = store.token(&agent.id).unwrap().unwrap();
    assert_eq!(
        (record.stored, record.owner, record.scopes),
        (agent.clone(), TokenOwner::Host(host), vec![])
    );
    let record = store.token(&enrollment.id).unwrap().unwrap();
    assert_eq!((record.owner, record.expires), (TokenOwner::Unowned, Some(t(3, 0))));
    assert_eq!(store.token("000000000000").unwrap(), None);

    // Every scope set round-trips.
    for (i, scopes) in [vec![], vec![Scope::Operate], Scope::ALL.to_vec()].into_iter().enumerate() {
        let (_, stored) = new_token(TokenKind::Api);
        store.add_token(&stored, TokenOwner::User(alice), &scopes, None, t(2, 3)).unwrap();
        assert_eq!(store.token(&stored.id).unwrap().unwrap().scopes, scopes, "set {i}");
    }

    // The owner must fit the kind; only API tokens carry scopes; owners must exist; ids are
    // unique.
    let (_, spare_api) = new_token(TokenKind::Api);
    let (_, spare_agent) = new_token(TokenKind::Agent);
    let (_, spare_enrollment) = new_token(TokenKind::Enrollment);
    let refused: [(&StoredToken, TokenOwner, &[Scope]); 6] = [
        (&spare_api, TokenOwner::Host(host), &[]),
        (&spare_api, TokenOwner::Unowned, &[]),
        (&spare_agent, TokenOwner::User(alice), &[]),
        (&spare_agent, TokenOwner::Host(host), &[Scope::Read]),
        (&spare_enrollment, TokenOwner::Host(host), &[]),
        (&spare_enrollment, TokenOwner::Unowned, &[Scope::Admin]),
    ];
    for (stored, owner, scopes) in refused {
        let error = store.add_token(stored, owner, scopes, None, t(2, 0)).unwrap_err();
        assert!(matches!(error, StoreError::InvalidInput { .. }), "{owner:?}: {error}");
        assert_eq!(store.token(&stored.id).unwrap(), None);
    }
    let error = store
        .add_token(&spare_api, TokenOwner::User(UserId(alice.0 + 1000)), &[], None, t(2, 0))
        .unwrap_err();
    assert!(matches!(error, StoreError::UnknownUser { .. }), "{error}");
    let error = store
        .add_token(&spare_agent, TokenOwner::Host(HostId(host.0 + 1000)), &[], None, t(2, 0))
        .unwrap_err();
    assert!(matches!(error, StoreError::UnknownHost { .. }), "{error}");
    let duplicate = StoredToken { hash: "00".repeat(32), ..api.clone() };
    let error =
        store.add_token(&duplicate, TokenOwner::User(alice), &[], None, t(2, 0)).unwrap_err();
    assert!(matches!(error, StoreError::AlreadyExists { .. }), "{error}");
    assert!(error.to_string().contains(&api.id), "{error}");
    assert_eq!(store.token(&api.id).unwrap().unwrap().stored, api, "the first one stays");

    // Revocation: once; the first time stays; unknown ids are not revoked.
    assert!(store.revoke_token(&api.id, t(4, 0)).unwrap());
    assert!(!store.revoke_token(&api.id, t(5, 0)).unwrap());
    assert_eq!(store.token(&api.id).unwrap().unwrap().revoked, Some(t(4, 0)));
    assert_eq!(store.token(&agent.id).unwrap().unwrap().revoked, None);
    assert!(!store.revoke_token("000000000000", t(4, 0)).unwrap());
}

fn enrollment_is_consumed_once(store: &dyn Store) {
    let add = |expires: Option<DateTime<Utc>>| {
        let (_, stored) = new_token(TokenKind::Enrollment);
        store.add_token(&stored, TokenOwner::Unowned, &[], expires, t(1, 0)).unwrap();
        stored.id
    };
    let fresh = add(Some(t(3, 0)));
    assert!(store.consume_enrollment(&fresh, t(2, 0)).unwrap());
    assert!(!store.consume_enrollment(&fresh, t(2, 1)).unwrap(), "one-time");
    assert_eq!(store.token(&fresh).unwrap().unwrap().used, Some(t(2, 0)));

    let no_expiry = add(None);
    assert!(store.consume_enrollment(&no_expiry, t(9, 0)).unwrap());

    // Expired: refused at the expiry time and after; never marked used.
    let expired = add(Some(t(3, 0)));
    assert!(!store.consume_enrollment(&expired, t(3, 0)).unwrap());
    assert!(!store.consume_enrollment(&expired, t(4, 0)).unwrap());
    assert_eq!(store.token(&expired).unwrap().unwrap().used, None);
    let just_in_time = add(Some(t(3, 0)));
    let before = t(3, 0) - chrono::Duration::microseconds(1);
    assert!(store.consume_enrollment(&just_in_time, before).unwrap());

    // Revoked: refused.
    let revoked = add(None);
    assert!(store.revoke_token(&revoked, t(2, 0)).unwrap());
    assert!(!store.consume_enrollment(&revoked, t(2, 1)).unwrap());
    assert_eq!(store.token(&revoked).unwrap().unwrap().used, None);

    // Unknown ids and other kinds are not enrollment tokens.
    assert!(!store.consume_enrollment("000000000000", t(2, 0)).unwrap());
    let host = new_host(store, "web1");
    let (_, agent) = new_token(TokenKind::Agent);
    store.add_token(&agent, TokenOwner::Host(host), &[], None, t(1, 0)).unwrap();
    assert!(!store.consume_enrollment(&agent.id, t(2, 0)).unwrap());
    assert_eq!(store.token(&agent.id).unwrap().unwrap().used, None);
}

fn lockout_state_round_trips(store: &dyn Store) {
    assert_eq!(store.lockout_state(Subject::Account, "alice").unwrap(), State::default());
    let lockout = Lockout::default();
    let mut account = State::default();
    let mut address = State::default();
    for minute in 0..3 {
        let now = t(2, 0) + chrono::Duration::minutes(minute);
        lockout.record_failure(&mut account, Subject::Account, now);
        lockout.record_failure(&mut address, Subject::Address, now);
    }
    let locked =
        State { failures: vec![], locked_until: Some(t(2, 1) + chrono::Duration::microseconds(7)) };
    store.save_lockout_state(Subject::Account, "alice", &account).unwrap();
    store.save_lockout_state(Subject::Address, "192.0.2.7", &address).unwrap();
    store.save_lockout_state(Subject::Account, "bob", &locked).unwrap();
    assert_eq!(account.failures.len(), 3);
    assert_eq!(store.lockout_state(Subject::Account, "alice").unwrap(), account);
    assert_eq!(store.lockout_state(Subject::Address, "192.0.2.7").unwrap(), address);
    assert_eq!(store.lockout_state(Subject::Account, "bob").unwrap(), locked);
    // Subjects are separate key spaces.
    assert_eq!(store.lockout_state(Subject::Address, "alice").unwrap(), State::default());
    assert_eq!(store.lockout_state(Subject::Account, "192.0.2.7").unwrap(), State::default());
    // Saving replaces; saving the default state forgets.
    lockout.record_success(&mut account);
    store.save_lockout_state(Subject::Account, "alice", &account).unwrap();
    assert_eq!(store.lockout_state(Subject::Account, "alice").unwrap(), State::default());
    store.save_lockout_state(Subject::Account, "bob", &State::default()).unwrap();
    assert_eq!(store.lockout_state(Subject::Account, "bob").unwrap(), State::default());
    assert_eq!(store.lockout_state(Subject::Address, "192.0.2.7").unwrap(), address);
}

fn append_five(store: &dyn Store) -> Vec<AuditEntry> {
    let details = [
        json!({}),
        json!({"role": "viewer", "scopes": ["read"]}),
        json!({"n": 1.5, "big": 12_345_678_901_234_u64, "nested": {"b": null, "a": true}}),
        json!("text with \"quotes\" and é"),
        json!([1e2, -0.0, 3]),
    ];
    details
        .into_iter()
        .enumerate()
        .map(|(i, detail)| {
            let at = t(2, 0) + chrono::Duration::nanoseconds(1_234_567 * i as i64 + 999);
            store.append_audit(at, "alice", "user.create", &format!("user-{i}"), detail).unwrap()
        })
        .collect()
}

fn audit_chain_verifies_with_its_anchor(store: &dyn Store) {
    assert_eq!(store.audit_anchor().unwrap(), None);
    assert_eq!(store.audit_entries(None, 10).unwrap(), []);
    let appended = append_five(store);
    assert_eq!(appended.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    let entries = store.audit_entries(None, 100).unwrap();
    assert_eq!(entries, appended, "stored entries read back exactly, details and times");
    let anchor = store.audit_anchor().unwrap().unwrap();
    assert_eq!(anchor, appended[4].to_ref());
    audit::verify_with_anchor(&entries, &anchor).unwrap();
    // Paging by seq.
    assert_eq!(store.audit_entries(Some(2), 2).unwrap(), appended[2..4]);
    assert_eq!(store.audit_entries(Some(5), 10).unwrap(), []);
    assert_eq!(store.audit_entries(None, 0).unwrap(), []);
}

fn concurrent_enrollment_from_two_handles_consumes_once(db: &TestDb) {
    for round in 0..10 {
        let (_, stored) = new_token(TokenKind::Enrollment);
        db.store().add_token(&stored, TokenOwner::Unowned, &[], None, t(1, 0)).unwrap();
        let handles = [db.open_again().unwrap(), db.open_again().unwrap()];
        let barrier = Barrier::new(2);
        let results: Vec<bool> = std::thread::scope(|scope| {
            let threads: Vec<_> = handles
                .iter()
                .map(|store| {
                    let (barrier, id) = (&barrier, &stored.id);
                    scope.spawn(move || {
                        barrier.wait();
                        store.consume_enrollment(id, t(2, 0)).unwrap()
                    })
                })
                .collect();
            threads.into_iter().map(|thread| thread.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|won| **won).count(), 1, "round {round}: {results:?}");
    }
}

fn concurrent_audit_appends_make_one_chain(db: &TestDb) {
    // Two handles (two server processes), each appending 50 entries on its own thread.
    let handles = [db.open_again().unwrap(), db.open_again().unwrap()];
    let barrier = Barrier::new(2);
    std::thread::scope(|scope| {
        for (h, store) in handles.iter().enumerate() {
            let barrier = &barrier;
            scope.spawn(move || {
                barrier.wait();
                for i in 0..50 {
                    let actor = format!("handle-{h}");
                    let detail = json!({ "i": i });
                    store.append_audit(t(2, 0), &actor, "token.create", "t", detail).unwrap();
                }
            });
        }
    });
    let entries = db.store().audit_entries(None, 1000).unwrap();
    assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=100).collect::<Vec<_>>());
    let anchor = db.store().audit_anchor().unwrap().unwrap();
    assert_eq!(anchor, entries[99].to_ref());
    audit::verify_with_anchor(&entries, &anchor).unwrap();
    for actor in ["handle-0", "handle-1"] {
        assert_eq!(entries.iter().filter(|e| e.actor == actor).count(), 50, "{actor}");
    }
}

fn audit_tampering_is_detected(db: &TestDb) {
    let store = db.store();
    append_five(store);
    let anchor = store.audit_anchor().unwrap().unwrap();

    // An edit behind the store's back: the chain names the entry.
    db.raw_execute("UPDATE audit SET action = 'user.delete' WHERE seq = 3");
    let entries = store.audit_entries(None, 100).unwrap();
    assert_eq!(entries[2].action, "user.delete");
    assert_eq!(
        audit::verify_with_anchor(&entries, &anchor),
        Err(Tamper { seq: 3, kind: TamperKind::Edited })
    );
    db.raw_execute("UPDATE audit SET action = 'user.create' WHERE seq = 3");
    audit::verify_with_anchor(&store.audit_entries(None, 100).unwrap(), &anchor).unwrap();

    // The tail cut off: the chain alone is fine, the anchor sees it.
    db.raw_execute("DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)");
    let entries = store.audit_entries(None, 100).unwrap();
    assert_eq!(entries.len(), 4);
    audit::verify(&entries).unwrap();
    assert_eq!(
        audit::verify_with_anchor(&entries, &store.audit_anchor().unwrap().unwrap()),
        Err(Tamper { seq: 5, kind: TamperKind::Truncated })
    );
    // And nothing is appended over the damage: seq 5 is not reused, the anchor stays.
    let error = store.append_audit(t(3, 0), "mallory", "user.create", "x", json!({})).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
    assert!(error.to_string().contains("anchor is seq 5"), "{error}");
    assert_eq!(store.audit_anchor().unwrap().unwrap(), anchor);
    assert_eq!(store.audit_entries(None, 100).unwrap().len(), 4);
}

// ---- schema 4: facts, reports, groups, risk order, scoped findings, jobs, fingerprints ----

fn host_facts_round_trip(store: &dyn Store) {
    let host = new_host(store, "web1");
    assert_eq!(store.host_facts(host).unwrap(), None);
    let facts = json!({ "kernel": "6.1.0-18-amd64", "reboot_required": true, "pending": [1, 2] });
    store.set_host_facts(host, &facts, t(2, 0)).unwrap();
    assert_eq!(store.host_facts(host).unwrap(), Some((t(2, 0), facts)));
    let newer = json!({ "kernel": "6.1.0-20-amd64", "reboot_required": false });
    store.set_host_facts(host, &newer, t(3, 0)).unwrap();
    assert_eq!(store.host_facts(host).unwrap(), Some((t(3, 0), newer)));
    let missing = HostId(host.0 + 1000);
    let error = store.set_host_facts(missing, &json!({}), t(3, 0)).unwrap_err();
    assert!(matches!(error, StoreError::UnknownHost { .. }), "{error}");
    assert_eq!(store.host_facts(missing).unwrap(), None);
}

fn last_report_follows_reports(store: &dyn Store) {
    let host = new_host(store, "web1");
    assert_eq!(store.last_report(host).unwrap(), None);
    store.record_inventory(host, t(2, 0), &[deb("bash", "5.2-1")], "first").unwrap();
    assert_eq!(store.last_report(host).unwrap(), Some(("first".to_owned(), t(2, 0))));
    store.record_inventory(host, t(3, 0), &[deb("bash", "5.2-2")], "second").unwrap();
    assert_eq!(store.last_report(host).unwrap(), Some(("second".to_owned(), t(3, 0))));
    // A duplicate of an older report changes nothing; so does a refused out-of-order one.
    let again = store.record_inventory(host, t(2, 0), &[deb("bash", "5.2-1")], "first").unwrap();
    assert!(again.duplicate);
    assert!(store.record_inventory(host, t(1, 0), &[], "late").is_err());
    assert_eq!(store.last_report(host).unwrap(), Some(("second".to_owned(), t(3, 0))));
    // Two reports at the same time: the one recorded last.
    store.record_inventory(host, t(3, 0), &[deb("bash", "5.2-3")], "third").unwrap();
    assert_eq!(store.last_report(host).unwrap(), Some(("third".to_owned(), t(3, 0))));
}

fn groups_and_tags_count_hosts(store: &dyn Store) {
    assert_eq!(store.groups().unwrap(), []);
    assert_eq!(store.tags().unwrap(), []);
    for (name, groups, tags) in [
        ("a", &["web", "prod"][..], &["pci"][..]),
        ("b", &["web"][..], &[][..]),
        ("c", &["db", "prod"][..], &["pci", "Zed"][..]),
    ] {
        store.upsert_host(&host_info(name, None, groups, tags), t(1, 0)).unwrap();
    }
    let counts = |pairs: &[(&str, u64)]| -> Vec<(String, u64)> {
        pairs.iter().map(|(name, n)| ((*name).to_owned(), *n)).collect()
    };
    assert_eq!(store.groups().unwrap(), counts(&[("db", 1), ("prod", 2), ("web", 2)]));
    assert_eq!(store.tags().unwrap(), counts(&[("Zed", 1), ("pci", 2)]));
    // Moving a host out of a group updates the counts; an empty group disappears.
    store.upsert_host(&host_info("c", None, &["web"], &[]), t(2, 0)).unwrap();
    assert_eq!(store.groups().unwrap(), counts(&[("prod", 1), ("web", 3)]));
    assert_eq!(store.tags().unwrap(), counts(&[("pci", 1)]));
}

fn rated(advisory: &str, package: &str, severity: Option<&str>, score: Option<f64>) -> FindingRow {
    FindingRow { severity: severity.map(Into::into), score, ..finding(advisory, package, "1") }
}

fn finding_counts_per_host_and_severity(store: &dyn Store) {
    let (a, b, c) = (new_host(store, "a"), new_host(store, "b"), new_host(store, "c"));
    store
        .apply_findings(
            a,
            t(2, 0),
            &[
                rated("A1", "p", Some("high"), Some(8.0)),
                rated("A2", "p", Some("high"), Some(7.0)),
                rated("A3", "q", Some("low"), Some(2.0)),
                rated("A4", "q", None, None),
            ],
        )
        .unwrap();
    store.apply_findings(b, t(2, 0), &[rated("B1", "p", Some("critical"), Some(9.8))]).unwrap();
    store.apply_findings(b, t(3, 0), &[]).unwrap(); // resolved: not counted
    store.apply_findings(c, t(2, 0), &[rated("C1", "p", Some("medium"), Some(5.0))]).unwrap();
    let counts = store.finding_counts(&[a, b]).unwrap();
    let expected: std::collections::BTreeMap<HostId, std::collections::BTreeMap<String, u64>> =
        [(a, [("high".to_owned(), 2), ("low".to_owned(), 1), ("unknown".to_owned(), 1)].into())]
            .into();
    assert_eq!(counts, expected);
    assert_eq!(store.finding_counts(&[]).unwrap(), Default::default());
    assert_eq!(store.finding_counts(&[c]).unwrap()[&c]["medium"], 1);
}

fn risk_order_and_offset_paging(store: &dyn Store) {
    let web = store.upsert_host(&host_info("web", None, &["web"], &[]), t(1, 0)).unwrap();
    let db = store.upsert_host(&host_info("db", None, &["db"], &[]), t(1, 0)).unwrap();
    store
        .apply_findings(
            web,
            t(2, 0),
            &[
                rated("W-LOW", "p", Some("low"), Some(2.0)),
                rated("W-NONE", "p", None, None),
                rated("W-HIGH", "p", Some("high"), Some(7.5)),
            ],
        )
        .unwrap();
    store.apply_findings(db, t(3, 0), &[rated("D-HIGH", "p", Some("high"), Some(7.5))]).unwrap();
    store
        .apply_findings(
            db,
            t(4, 0),
            &[
                rated("D-HIGH", "p", Some("high"), Some(7.5)),
                rated("D-CRIT", "p", Some("critical"), Some(9.8)),
            ],
        )
        .unwrap();
    let ids = |found: Vec<ward_store::OpenFinding>| -> Vec<String> {
        found.into_iter().map(|f| f.row.advisory).collect()
    };
    let all = FindingFilter::default();
    // Score descending, then oldest first (W-HIGH at day 2 before D-HIGH at day 3), no score last.
    let order = ["D-CRIT", "W-HIGH", "D-HIGH", "W-LOW", "W-NONE"];
    assert_eq!(ids(store.open_findings_by_risk(&all, 0, 100).unwrap()), order);
    let mut paged = Vec::new();
    for offset in (0..6).step_by(2) {
        paged.extend(ids(store.open_findings_by_risk(&all, offset, 2).unwrap()));
    }
    assert_eq!(paged, order);
    assert_eq!(store.open_findings_by_risk(&all, 5, 2).unwrap(), []);
    let high =
        FindingFilter { severities: vec!["high".into(), "critical".into()], ..Default::default() };
    assert_eq!(
        ids(store.open_findings_by_risk(&high, 0, 100).unwrap()),
        ["D-CRIT", "W-HIGH", "D-HIGH"]
    );
    let web_only = FindingFilter { group: Some("web".into()), ..high.clone() };
    assert_eq!(ids(store.open_findings_by_risk(&web_only, 0, 100).unwrap()), ["W-HIGH"]);
    assert_eq!(ids(all_open(store, &web_only)), ["W-HIGH"]);
    let alias = FindingFilter { advisory: Some("CVE-W-LOW".into()), ..Default::default() };
    assert_eq!(ids(store.open_findings_by_risk(&alias, 0, 100).unwrap()), ["W-LOW"]);
    // Hosts by severity of their open findings.
    let hosts = |severities: &[&str]| -> Vec<HostId> {
        let filter = HostFilter {
            severities: severities.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        };
        store.hosts(&filter, Page::first(10)).unwrap().into_iter().map(|h| h.id).collect()
    };
    assert_eq!(hosts(&["critical"]), [db]);
    assert_eq!(hosts(&["low", "critical"]), [web, db]);
    assert_eq!(hosts(&["medium"]), []);
    assert_eq!(hosts(&[]), [web, db]);
}

fn sourced(name: &str, version: &str, source: &str) -> PackageRow {
    PackageRow { source: Some(source.into()), ..deb(name, version) }
}

fn key(ecosystem: &str, name: &str) -> (String, String) {
    (ecosystem.to_owned(), name.to_owned())
}

fn packages_for_keys_by_name_and_source(store: &dyn Store) {
    let (a, b) = (new_host(store, "a"), new_host(store, "b"));
    let pypi = PackageRow { ecosystem: "PyPI".into(), ..deb("openssl", "1.0") };
    let a_packages = [
        sourced("libssl3", "3.0.11-1", "openssl"),
        sourced("openssl", "3.0.11-1", "openssl"),
        deb("bash", "5.2-1"),
        pypi.clone(),
    ];
    store.record_inventory(a, t(2, 0), &a_packages, "a").unwrap();
    store.record_inventory(b, t(2, 0), &[sourced("libssl3", "3.0.13-1", "openssl")], "b").unwrap();
    let found = store.packages_for_keys(&[key("Debian:12", "openssl")]).unwrap();
    assert_eq!(
        found,
        [
            (a, sourced("libssl3", "3.0.11-1", "openssl")),
            (a, sourced("openssl", "3.0.11-1", "openssl")),
            (b, sourced("libssl3", "3.0.13-1", "openssl")),
        ]
    );
    let found = store
        .packages_for_keys(&[key("Debian:12", "bash"), key("PyPI", "openssl"), key("npm", "x")])
        .unwrap();
    assert_eq!(found, [(a, deb("bash", "5.2-1")), (a, pypi)]);
    assert_eq!(store.packages_for_keys(&[]).unwrap(), []);
    // Only current inventories: a removed package is no longer found.
    store.record_inventory(b, t(3, 0), &[], "b2").unwrap();
    assert_eq!(store.packages_for_keys(&[key("Debian:12", "libssl3")]).unwrap().len(), 1);
    // Many keys at once (more than SQLite's parameter limit of a statement).
    let many: Vec<(String, String)> = (0..40_000)
        .map(|i| key("Debian:12", &format!("p{i}")))
        .chain([key("Debian:12", "bash")])
        .collect();
    assert_eq!(store.packages_for_keys(&many).unwrap(), [(a, deb("bash", "5.2-1"))]);
}

fn scope(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(e, p)| key(e, p)).collect()
}

fn scoped_findings_touch_only_their_scope(store: &dyn Store) {
    let (a, b) = (new_host(store, "a"), new_host(store, "b"));
    store
        .apply_findings(a, t(2, 0), &[finding("A-P", "p", "1"), finding("A-Q", "q", "1")])
        .unwrap();
    store.apply_findings(b, t(2, 0), &[finding("B-P", "p", "1")]).unwrap();
    let before = all_events(store).len();
    // Host a: p re-matched to a new advisory (A-P resolved, A-P2 new), q untouched. Host b: p
    // still has B-P (updated version) and gains B-P2.
    let parts = [
        ScopedFindings {
            host: b,
            scope: scope(&[("Debian:12", "p")]),
            current: vec![finding("B-P", "p", "2"), finding("B-P2", "p", "2")],
        },
        ScopedFindings {
            host: a,
            scope: scope(&[("Debian:12", "p"), ("Debian:12", "r")]),
            current: vec![finding("A-P2", "p", "1")],
        },
    ];
    assert_eq!(store.apply_findings_scoped(t(3, 0), &parts).unwrap(), findings_diff(2, 1, 1));
    let open: Vec<(HostId, String, String)> = all_open(store, &FindingFilter::default())
        .into_iter()
        .map(|f| (f.host, f.row.advisory, f.row.version))
        .collect();
    let o = |host, advisory: &str, version: &str| (host, advisory.to_owned(), version.to_owned());
    assert_eq!(open, [o(a, "A-P2", "1"), o(a, "A-Q", "1"), o(b, "B-P", "2"), o(b, "B-P2", "2")]);
    let events = all_events(store);
    let e = |kind, host, advisory: &str, version: &str| {
        (kind, host, advisory.to_owned(), "p".to_owned(), version.to_owned())
    };
    let (new, resolved) = (EventKind::FindingNew, EventKind::FindingResolved);
    // Hosts in id order; per host resolutions first.
    assert_eq!(
        event_summary(&events[before..]),
        [e(resolved, a, "A-P", "1"), e(new, a, "A-P2", "1"), e(new, b, "B-P2", "2")]
    );
    assert!(events[before..].iter().all(|event| event.at == t(3, 0)));
    // The same again changes nothing; an empty current resolves the scope only.
    assert_eq!(store.apply_findings_scoped(t(4, 0), &parts).unwrap(), findings_diff(0, 0, 3));
    let clear = [ScopedFindings { host: a, scope: scope(&[("Debian:12", "q")]), current: vec![] }];
    assert_eq!(store.apply_findings_scoped(t(4, 0), &clear).unwrap(), findings_diff(0, 1, 0));
    assert_eq!(store.apply_findings_scoped(t(4, 0), &[]).unwrap(), FindingsDiff::default());
    let open = all_open(store, &FindingFilter { host: Some(a), ..Default::default() });
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].row.advisory, "A-P2");
}

fn bad_scoped_findings_write_nothing(store: &dyn Store) {
    let (a, b) = (new_host(store, "a"), new_host(store, "b"));
    store.apply_findings(a, t(2, 0), &[finding("A-P", "p", "1")]).unwrap();
    let state = |store: &dyn Store| (all_open(store, &FindingFilter::default()), all_events(store));
    let before = state(store);
    let good = ScopedFindings { host: a, scope: scope(&[("Debian:12", "p")]), current: vec![] };
    let outside = ScopedFindings {
        host: b,
        scope: scope(&[("Debian:12", "p")]),
        current: vec![finding("B-Q", "q", "1")],
    };
    let error = store.apply_findings_scoped(t(3, 0), &[good.clone(), outside]).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    assert!(error.to_string().contains("outside"), "{error}");
    let twice = ScopedFindings {
        host: b,
        scope: scope(&[("Debian:12", "p")]),
        current: vec![finding("B-P", "p", "1"), finding("B-P", "p", "2")],
    };
    let error = store.apply_findings_scoped(t(3, 0), &[good.clone(), twice]).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    let missing = ScopedFindings {
        host: HostId(b.0 + 1000),
        scope: scope(&[("Debian:12", "p")]),
        current: vec![finding("X", "p", "1")],
    };
    let error = store.apply_findings_scoped(t(3, 0), &[good, missing]).unwrap_err();
    assert!(matches!(error, StoreError::UnknownHost { .. }), "{error}");
    assert_eq!(state(store), before);
}

fn jobs_are_enqueued_once_and_claimed_once(store: &dyn Store) {
    let lease = chrono::Duration::days(1);
    assert_eq!(store.claim_job(&["rematch"], "w1", t(2, 0), lease).unwrap(), None);
    let (id, created) =
        store.enqueue_job("rematch", "digest-1", &json!({"n": 1}), t(2, 0)).unwrap();
    assert!(created);
    assert_eq!(
        store.enqueue_job("rematch", "digest-1", &json!({"n": 2}), t(2, 1)).unwrap(),
        (id, false)
    );
    let (other, created) = store.enqueue_job("notify", "digest-1", &json!(null), t(2, 2)).unwrap();
    assert!(created && other != id);
    let error = store.enqueue_job("Bad Kind", "k", &json!(null), t(2, 0)).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");

    let job = store.claim_job(&["rematch"], "w1", t(2, 3), lease).unwrap().unwrap();
    assert_eq!((job.id, job.kind.as_str(), job.key.as_str()), (id, "rematch", "digest-1"));
    assert_eq!(job.payload, json!({"n": 1}));
    assert_eq!((job.state, job.attempts), (JobState::Running, 1));
    assert_eq!((job.claimed_by.as_deref(), job.lease_until), (Some("w1"), Some(t(2, 3) + lease)));
    assert_eq!(store.claim_job(&["rematch"], "w2", t(2, 4), lease).unwrap(), None);
    assert!(store.renew_job(id, "w1", t(2, 5), lease).unwrap());
    assert!(!store.renew_job(id, "w2", t(2, 5), lease).unwrap());
    assert!(!store.finish_job(id, "w2", true, &json!({}), t(2, 6)).unwrap());
    assert!(store.finish_job(id, "w1", true, &json!({"hosts": 3}), t(2, 6)).unwrap());
    assert!(!store.finish_job(id, "w1", true, &json!({}), t(2, 7)).unwrap());
    // A finished job is not claimed again, nor re-created.
    assert_eq!(store.claim_job(&["rematch"], "w1", t(3, 0), lease).unwrap(), None);
    assert_eq!(
        store.enqueue_job("rematch", "digest-1", &json!(null), t(3, 0)).unwrap(),
        (id, false)
    );

    let notify = store.claim_job(&["rematch", "notify"], "w2", t(3, 0), lease).unwrap().unwrap();
    assert_eq!(notify.id, other);
    assert!(store.finish_job(other, "w2", false, &json!({"error": "smtp"}), t(3, 1)).unwrap());

    let jobs = store.jobs(None, 10).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!((jobs[0].id, jobs[0].state), (id, JobState::Done));
    assert_eq!(jobs[0].result, Some(json!({"hosts": 3})));
    assert_eq!((jobs[0].finished, jobs[0].created), (Some(t(2, 6)), t(2, 0)));
    assert_eq!((jobs[1].id, jobs[1].state), (other, JobState::Failed));
    assert_eq!(store.jobs(Some(id), 10).unwrap().len(), 1);
    assert_eq!(store.jobs(None, 1).unwrap().len(), 1);
}

fn expired_lease_is_reclaimable(store: &dyn Store) {
    let lease = chrono::Duration::minutes(5);
    let (id, _) = store.enqueue_job("rematch", "k", &json!(null), t(2, 0)).unwrap();
    let first = store.claim_job(&["rematch"], "old", t(2, 0), lease).unwrap().unwrap();
    assert_eq!(first.id, id);
    // Not before the lease ends; at its end another worker takes it over.
    let almost = t(2, 0) + lease - chrono::Duration::seconds(1);
    assert_eq!(store.claim_job(&["rematch"], "new", almost, lease).unwrap(), None);
    let second = store.claim_job(&["rematch"], "new", t(2, 0) + lease, lease).unwrap().unwrap();
    assert_eq!((second.id, second.attempts, second.claimed_by.as_deref()), (id, 2, Some("new")));
    assert!(!store.renew_job(id, "old", t(2, 1), lease).unwrap());
    assert!(!store.finish_job(id, "old", true, &json!({}), t(2, 1)).unwrap());
    assert!(store.finish_job(id, "new", true, &json!({}), t(2, 1)).unwrap());
    assert_eq!(store.jobs(None, 10).unwrap()[0].claimed_by.as_deref(), Some("new"));
}

/// Two handles (two server processes) claim 200 jobs at once: each job exactly once.
fn concurrent_claims_take_each_job_once(db: &TestDb) {
    const JOBS: usize = 200;
    for i in 0..JOBS {
        db.store().enqueue_job("rematch", &format!("k{i}"), &json!(i), t(2, 0)).unwrap();
    }
    let barrier = Arc::new(Barrier::new(2));
    let workers: Vec<_> = ["w1", "w2"]
        .into_iter()
        .map(|worker| {
            let store = db.open_again().unwrap();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut claimed = Vec::new();
                let lease = chrono::Duration::minutes(5);
                while let Some(job) = store.claim_job(&["rematch"], worker, t(2, 1), lease).unwrap()
                {
                    assert_eq!(job.claimed_by.as_deref(), Some(worker));
                    claimed.push(job.id);
                }
                claimed
            })
        })
        .collect();
    let mut claimed: Vec<i64> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    assert_eq!(claimed.len(), JOBS);
    claimed.sort_unstable();
    claimed.dedup();
    assert_eq!(claimed.len(), JOBS, "a job was claimed twice");
    assert!(db.store().jobs(None, 1000).unwrap().iter().all(|job| job.attempts == 1));
}

fn advisory_fingerprints_upsert_and_delete(store: &dyn Store) {
    assert_eq!(store.advisory_fingerprints().unwrap(), []);
    let print = |id: &str, fingerprint: &str, keys: &[(&str, &str)]| AdvisoryFingerprint {
        id: id.into(),
        fingerprint: fingerprint.into(),
        keys: scope(keys),
    };
    let a = print("DSA-1", "aa", &[("Debian:12", "openssl")]);
    let b = print("GHSA-2", "bb", &[("PyPI", "requests"), ("npm", "left-pad")]);
    let c = print("RUSTSEC-3", "cc", &[]);
    store.save_advisory_fingerprints(&[c.clone(), a.clone(), b.clone()], &[]).unwrap();
    assert_eq!(store.advisory_fingerprints().unwrap(), [a.clone(), b.clone(), c.clone()]);
    let b2 = print("GHSA-2", "b2", &[("PyPI", "requests")]);
    store
        .save_advisory_fingerprints(std::slice::from_ref(&b2), &["DSA-1".into(), "none".into()])
        .unwrap();
    assert_eq!(store.advisory_fingerprints().unwrap(), [b2, c]);
    store.save_advisory_fingerprints(&[], &[]).unwrap();
    assert_eq!(store.advisory_fingerprints().unwrap().len(), 2);
}

fn source_version_round_trips(store: &dyn Store) {
    let host = new_host(store, "web1");
    let binnmu = PackageRow {
        source_version: Some("3.0.11-1".into()),
        ..sourced("libssl3", "3.0.11-1+b1", "openssl")
    };
    store.record_inventory(host, t(2, 0), std::slice::from_ref(&binnmu), "r1").unwrap();
    assert_eq!(store.current_packages(host).unwrap(), std::slice::from_ref(&binnmu));
    assert_eq!(store.packages_at(host, t(2, 0)).unwrap(), std::slice::from_ref(&binnmu));
    assert_eq!(
        store.packages_for_keys(&[key("Debian:12", "openssl")]).unwrap(),
        [(host, binnmu.clone())]
    );
    // Only the source version changes: a change.
    let rebuilt = PackageRow { source_version: Some("3.0.11-2".into()), ..binnmu.clone() };
    assert_eq!(
        store.record_inventory(host, t(3, 0), std::slice::from_ref(&rebuilt), "r2").unwrap(),
        diff(0, 0, 1)
    );
    assert_eq!(store.current_packages(host).unwrap(), [rebuilt]);
    assert_eq!(store.packages_at(host, t(2, 0)).unwrap(), [binnmu]);
}

/// A database at schema 3, with data in it, upgrades to schema 4 on open.
fn schema_3_database_upgrades(db: &TestDb) {
    const SQLITE: [&str; 3] = [
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/sqlite/0002_findings.sql"),
        include_str!("../migrations/sqlite/0003_security.sql"),
    ];
    const POSTGRES: [&str; 3] = [
        include_str!("../migrations/postgres/0001_init.sql"),
        include_str!("../migrations/postgres/0002_findings.sql"),
        include_str!("../migrations/postgres/0003_security.sql"),
    ];
    let store = match db {
        TestDb::Sqlite { url, .. } => {
            let path = std::path::PathBuf::from(url.trim_start_matches("sqlite://"));
            let old = path.with_file_name("schema3.db");
            let raw = rusqlite::Connection::open(&old).unwrap();
            for sql in SQLITE {
                raw.execute_batch(sql).unwrap();
            }
            raw.execute_batch(
                "CREATE TABLE schema_version (version INTEGER PRIMARY KEY,
                                              applied_at TEXT NOT NULL);
                 INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00.000000Z'),
                     (2, '2026-01-01T00:00:00.000000Z'), (3, '2026-01-01T00:00:00.000000Z');
                 INSERT INTO hosts (name, os, first_seen, last_seen)
                     VALUES ('old1', 'Debian:12', '2026-01-01T00:00:00.000000Z',
                             '2026-01-01T00:00:00.000000Z');
                 INSERT INTO packages (host_id, ecosystem, name, version, source)
                     VALUES (1, 'Debian:12', 'libssl3', '3.0.11-1', 'openssl');
                 INSERT INTO inventory_reports VALUES
                     (1, 'old-key', '2026-01-01T00:00:00.000000Z', 1, 0, 0);
                 INSERT INTO findings (host_id, advisory, ecosystem, package, version, aliases,
                                       severity, score, first_seen)
                     VALUES (1, 'DSA-1', 'Debian:12', 'libssl3', '3.0.11-1', 'CVE-1', 'high',
                             7.5, '2026-01-01T00:00:00.000000Z');",
            )
            .unwrap();
            drop(raw);
            ward_store::open(&format!("sqlite://{}", old.display())).unwrap()
        }
        TestDb::Postgres { schema: fresh, .. } => {
            let mut admin = fresh.connect_base();
            let schema = fresh.name();
            admin
                .batch_execute(&format!(
                    "DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema};
                     SET search_path = {schema}"
                ))
                .unwrap();
            for sql in POSTGRES {
                admin.batch_execute(sql).unwrap();
            }
            admin
                .batch_execute(
                    "CREATE TABLE schema_version (version BIGINT PRIMARY KEY,
                                                  applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
                     INSERT INTO schema_version (version) VALUES (1), (2), (3);
                     INSERT INTO hosts (name, os, first_seen, last_seen)
                         VALUES ('old1', 'Debian:12', '2026-01-01T00:00:00Z',
                                 '2026-01-01T00:00:00Z');
                     INSERT INTO packages (host_id, ecosystem, name, version, source)
                         SELECT id, 'Debian:12', 'libssl3', '3.0.11-1', 'openssl' FROM hosts;
                     INSERT INTO inventory_reports
                         SELECT id, 'old-key', '2026-01-01T00:00:00Z', 1, 0, 0 FROM hosts;
                     INSERT INTO findings (host_id, advisory, ecosystem, package, version,
                                           aliases, severity, score, first_seen)
                         SELECT id, 'DSA-1', 'Debian:12', 'libssl3', '3.0.11-1', '{CVE-1}',
                                'high', 7.5, '2026-01-01T00:00:00Z' FROM hosts;",
                )
                .unwrap();
            ward_store::open(fresh.url()).unwrap()
        }
    };
    let store = store.as_ref();
    let host = store.hosts(&HostFilter::default(), Page::first(10)).unwrap()[0].id;
    let libssl = sourced("libssl3", "3.0.11-1", "openssl");
    assert_eq!(store.current_packages(host).unwrap(), std::slice::from_ref(&libssl));
    assert_eq!(store.packages_for_keys(&[key("Debian:12", "openssl")]).unwrap(), [(host, libssl)]);
    let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(store.last_report(host).unwrap(), Some(("old-key".to_owned(), at)));
    assert_eq!(store.finding_counts(&[host]).unwrap()[&host]["high"], 1);
    let risk = store.open_findings_by_risk(&FindingFilter::default(), 0, 10).unwrap();
    assert_eq!(risk[0].row.aliases, ["CVE-1"]);
    store.record_inventory(host, t(2, 0), &[], "new-key").unwrap();
    assert_eq!(store.last_report(host).unwrap(), Some(("new-key".to_owned(), t(2, 0))));
    store.set_host_facts(host, &json!({"kernel": "6.1"}), t(2, 0)).unwrap();
    assert!(store.enqueue_job("rematch", "k", &json!(null), t(2, 0)).unwrap().1);
    store.save_advisory_fingerprints(&[], &[]).unwrap();
}

fn users_and_tokens_are_listed(store: &dyn Store) {
    assert_eq!(store.users().unwrap(), []);
    let bob = store.create_user("bob", Role::Viewer, "phc-b", t(1, 0)).unwrap();
    let alice = store.create_user("alice", Role::Admin, "phc-a", t(1, 1)).unwrap();
    let names: Vec<(UserId, String)> =
        store.users().unwrap().into_iter().map(|u| (u.id, u.name)).collect();
    assert_eq!(names, [(bob, "bob".to_owned()), (alice, "alice".to_owned())]);
    let host = new_host(store, "web1");
    let other = new_host(store, "web2");
    let (_, first) = new_token(TokenKind::Agent);
    let (_, second) = new_token(TokenKind::Agent);
    let (_, elsewhere) = new_token(TokenKind::Agent);
    let (_, api) = new_token(TokenKind::Api);
    let (_, enrollment) = new_token(TokenKind::Enrollment);
    store.add_token(&first, TokenOwner::Host(host), &[], None, t(2, 0)).unwrap();
    store.add_token(&second, TokenOwner::Host(host), &[], None, t(2, 1)).unwrap();
    store.add_token(&elsewhere, TokenOwner::Host(other), &[], None, t(2, 2)).unwrap();
    store.add_token(&api, TokenOwner::User(alice), &[Scope::Read], None, t(2, 3)).unwrap();
    store.add_token(&enrollment, TokenOwner::Unowned, &[], None, t(2, 4)).unwrap();
    assert!(store.revoke_token(&second.id, t(3, 0)).unwrap());
    let ids = |owner| -> Vec<String> {
        let mut ids: Vec<String> =
            store.tokens_of(owner).unwrap().into_iter().map(|r| r.stored.id).collect();
        ids.sort();
        ids
    };
    let mut expected = vec![first.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(ids(TokenOwner::Host(host)), expected, "revoked ones too");
    assert_eq!(ids(TokenOwner::Host(other)), [elsewhere.id.as_str()]);
    assert_eq!(ids(TokenOwner::User(alice)), [api.id.as_str()]);
    assert_eq!(ids(TokenOwner::User(bob)), Vec::<String>::new());
    assert_eq!(ids(TokenOwner::Unowned), [enrollment.id.as_str()]);
}
