//! The index: import, lookups by package and by any id, atomic replacement, failures that keep
//! the last good data, and readers that keep their snapshot while an update swaps the file.

use std::io::Write;
use std::path::{Path, PathBuf};

use ward_advisory::store::build::{self, FeedFailure, Update};
use ward_advisory::store::{self, Index};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn import(dir: &Path, paths: &[PathBuf]) -> store::ImportReport {
    store::import_paths(dir, paths, 1_700_000_000, &mut |_, _| {}).expect("import succeeds")
}

fn ids<R: std::borrow::Borrow<ward_advisory::Record>>(records: &[R]) -> Vec<&str> {
    records.iter().map(|r| r.borrow().id.as_str()).collect()
}

fn all_fixture_feeds() -> Vec<PathBuf> {
    let f = fixtures();
    vec![
        f.join("GHSA-2gwj-7jmv-h26r.json"),
        f.join("PYSEC-2022-213.yaml"),
        f.join("php"),
        f.join("npm-410.json"),
        f.join("alpine"),
        f.join("rustsec"),
        f.join("known_exploited_vulnerabilities.json"),
        f.join("epss_scores.csv"),
        f.join("debian-tracker.json"),
        f.join("Packages.bookworm-security.main.amd64"),
    ]
}

#[test]
fn every_fixture_feed_imports_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(dir.path(), &all_fixture_feeds());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let index = Index::open(dir.path()).unwrap();

    // Package lookups normalize names per ecosystem.
    assert_eq!(
        ids(&index.lookup("PyPI", "DJANGO").unwrap()),
        ["GHSA-2gwj-7jmv-h26r", "PYSEC-2022-213"]
    );
    assert_eq!(
        ids(&index.lookup("Packagist", "drupal/core").unwrap()),
        ["FRIENDSOFPHP-drupal/core/2022-07-20-1"]
    );
    assert_eq!(ids(&index.lookup("npm", "merge-options").unwrap()), ["NSWG-ECO-410"]);
    assert_eq!(ids(&index.lookup("crates.io", "badge").unwrap()), ["RUSTSEC-2022-0057"]);
    assert_eq!(index.lookup("Alpine:v3.10", "openssl").unwrap().len(), 2);
    assert_eq!(index.lookup("Alpine", "openssl").unwrap().len(), 2);
    assert!(index.lookup("Alpine:v3.11", "openssl").unwrap().is_empty());
    assert!(index.lookup("Go", "nothing").unwrap().is_empty());
    assert_eq!(
        index.lookup_ids("pypi", "django").unwrap(),
        ["GHSA-2gwj-7jmv-h26r", "PYSEC-2022-213"]
    );
    assert_eq!(index.lookup_ids("Alpine:v3.10", "OpenSSL").unwrap().len(), 2);
    assert!(index.lookup_ids("Alpine:v3.9", "openssl").unwrap().is_empty());

    // Any id or alias finds every record that names it.
    assert_eq!(
        ids(&index.by_id("CVE-2022-34265").unwrap()),
        ["GHSA-2gwj-7jmv-h26r", "PYSEC-2022-213"]
    );
    assert_eq!(
        ids(&index.by_id("ghsa-2gwj-7jmv-h26r").unwrap()),
        ["GHSA-2gwj-7jmv-h26r", "PYSEC-2022-213"]
    );
    assert_eq!(
        ids(&index.by_id("CVE-2022-25277").unwrap()),
        ["FRIENDSOFPHP-drupal/core/2022-07-20-1"]
    );

    // Enrichment.
    assert_eq!(index.kev("CVE-2022-34265").unwrap().unwrap().due_date, "2024-06-22");
    assert!((index.epss("CVE-2018-3752").unwrap().unwrap().percentile - 0.4).abs() < 1e-9);

    let status = index.status().unwrap();
    assert_eq!(status.ecosystems.get("PyPI"), Some(&2));
    assert_eq!(status.ecosystems.get("Alpine:v3.10"), Some(&2));
    assert_eq!(status.ecosystems.get("Bitnami"), Some(&1));
    assert_eq!(status.feeds.len(), 10);
    // Debian: the tracker's CVE and the security suite's update, both on the source package.
    assert_eq!(ids(&index.by_id("CVE-2024-0727").unwrap()), ["DEBIAN-CVE-2024-0727"]);
    assert_eq!(
        ids(&index.lookup("Debian:12", "openssl").unwrap()),
        [
            "DEBIAN-CVE-2024-0727",
            "DEBIAN-SECURITY-UPDATE:bookworm-security:openssl:3.0.15-1~deb12u1"
        ]
    );
    assert_eq!(ids(&index.lookup("Debian:11", "openssl").unwrap()), ["DEBIAN-CVE-2024-0727"]);
    assert_eq!((status.kev, status.epss), (1, 2));
}

#[test]
fn stored_records_are_the_imported_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixtures().join("GHSA-2gwj-7jmv-h26r.json");
    import(dir.path(), std::slice::from_ref(&path));
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let index = Index::open(dir.path()).unwrap();
    let stored = serde_json::to_value(&index.by_id("GHSA-2gwj-7jmv-h26r").unwrap()[0]).unwrap();
    assert_eq!(stored, original);
}

#[test]
fn bad_records_are_reported_and_the_rest_imported() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(dir.path(), &[fixtures().join("mixed")]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].file.ends_with("mixed/no-introduced.json"));
    assert_eq!(report.errors[0].field, "affected[0].ranges[0].events");
    // An ecosystem ward does not know is kept as written.
    let index = Index::open(dir.path()).unwrap();
    let records = index.lookup("NoSuchEcosystem:7", "Thing").unwrap();
    assert_eq!(ids(&records), ["X-2024-2"]);
    assert_eq!(
        records[0].affected[0].package.as_ref().unwrap().ecosystem.as_str(),
        "NoSuchEcosystem:7"
    );
    assert!(records[0].affected[0].package.as_ref().unwrap().ecosystem.parsed().is_none());
}

#[test]
fn reimporting_a_feed_replaces_only_that_feed() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let feed = work.path().join("feed.json");
    std::fs::copy(fixtures().join("GHSA-2gwj-7jmv-h26r.json"), &feed).unwrap();
    import(dir.path(), &[feed.clone(), fixtures().join("npm-410.json")]);
    // The feed now holds a different record.
    std::fs::copy(fixtures().join("mixed/unknown-ecosystem.json"), &feed).unwrap();
    import(dir.path(), std::slice::from_ref(&feed));
    let index = Index::open(dir.path()).unwrap();
    assert!(index.by_id("CVE-2022-34265").unwrap().is_empty());
    assert_eq!(ids(&index.by_id("X-2024-2").unwrap()), ["X-2024-2"]);
    assert_eq!(ids(&index.by_id("NSWG-ECO-410").unwrap()), ["NSWG-ECO-410"]);
    assert_eq!(index.status().unwrap().feeds.len(), 2);
}

#[test]
fn a_failed_feed_keeps_its_last_good_data_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = fixtures().join("npm-410.json");
    let report = import(dir.path(), std::slice::from_ref(&path));
    let name = report.feeds[0].0.clone();
    build::apply(
        dir.path(),
        Update {
            failed: vec![FeedFailure {
                name: name.clone(),
                source: name.clone(),
                error: "HTTP 500".into(),
            }],
            now: 1_700_000_100,
            ..Update::default()
        },
    )
    .unwrap();
    let index = Index::open(dir.path()).unwrap();
    assert_eq!(ids(&index.by_id("CVE-2018-3752").unwrap()), ["NSWG-ECO-410"]);
    let feed = &index.status().unwrap().feeds[0];
    assert_eq!(feed.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!((feed.imported_at, feed.checked_at), (1_700_000_000, 1_700_000_100));
}

#[test]
fn an_open_reader_keeps_its_snapshot_across_an_update() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[fixtures().join("npm-410.json")]);
    let before = Index::open(dir.path()).unwrap();
    import(dir.path(), &[fixtures().join("rustsec")]);
    // The old reader still answers from the index it opened; a new one sees both feeds.
    assert_eq!(ids(&before.by_id("NSWG-ECO-410").unwrap()), ["NSWG-ECO-410"]);
    assert!(before.by_id("RUSTSEC-2022-0057").unwrap().is_empty());
    let after = Index::open(dir.path()).unwrap();
    assert_eq!(after.status().unwrap().feeds.len(), 2);
}

#[test]
fn stale_temporary_files_of_a_crashed_update_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[fixtures().join("npm-410.json")]);
    let stale = dir.path().join(".advisories.db.tmp-999999");
    std::fs::File::create(&stale).unwrap().write_all(b"half-written").unwrap();
    import(dir.path(), &[fixtures().join("rustsec")]);
    assert!(!stale.exists());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with(".advisories.db.tmp")), "{names:?}");
}

#[test]
fn zip_archives_in_osv_dev_layout_import() {
    let work = tempfile::tempdir().unwrap();
    let zip_path = work.path().join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for name in ["GHSA-2gwj-7jmv-h26r.json", "mixed/unknown-ecosystem.json"] {
        let member = name.rsplit('/').next().unwrap();
        zip.start_file(member, options).unwrap();
        zip.write_all(&std::fs::read(fixtures().join(name)).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report = import(dir.path(), &[zip_path]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.feeds[0].2, ["osv-zip"]);
    let index = Index::open(dir.path()).unwrap();
    assert_eq!(index.status().unwrap().records, 2);
}

#[test]
fn a_corrupt_index_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(store::INDEX_FILE), b"not sqlite at all, just text").unwrap();
    let error = Index::open(dir.path()).unwrap_err().to_string();
    assert!(error.contains("advisories.db"), "{error}");
    // An update does not trust it either: it rebuilds from the feeds it is given.
    let report = import(dir.path(), &[fixtures().join("npm-410.json")]);
    assert!(report.update.previous_dropped.is_some());
    assert_eq!(Index::open(dir.path()).unwrap().status().unwrap().records, 1);
}

#[test]
fn concurrent_updates_never_drop_each_others_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let feeds = all_fixture_feeds();
    std::thread::scope(|scope| {
        for feed in &feeds {
            let dir = dir.path();
            scope.spawn(move || {
                store::import_paths(dir, std::slice::from_ref(feed), 1_700_000_000, &mut |_, _| {})
                    .expect("import succeeds")
            });
        }
    });
    assert_eq!(Index::open(dir.path()).unwrap().status().unwrap().feeds.len(), feeds.len());
}

#[test]
fn all_records_are_every_feeds_records_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let report = import(dir.path(), &all_fixture_feeds());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let index = Index::open(dir.path()).unwrap();
    let all = index.all_records().unwrap();
    assert_eq!(all.len() as u64, index.summary().unwrap().1);
    assert!(all.windows(2).all(|w| w[0].id <= w[1].id), "sorted by id");
    for id in ["GHSA-2gwj-7jmv-h26r", "NSWG-ECO-410", "RUSTSEC-2022-0057", "DSA-5678-1"] {
        let by_id: Vec<_> = index.by_id(id).unwrap().into_iter().filter(|r| r.id == id).collect();
        let in_all: Vec<_> = all.iter().filter(|r| r.id == id).cloned().collect();
        assert_eq!(in_all, by_id, "{id}");
    }
    assert!(all.iter().any(|r| r.id == "NSWG-ECO-410"));
    let empty = tempfile::tempdir().unwrap();
    import(empty.path(), &[]);
    assert_eq!(Index::open(empty.path()).unwrap().all_records().unwrap(), []);
}

/// Lookups answer the same with the per-ecosystem key hashes (which skip the query for
/// packages without advisories) as an index without them (as written before they existed),
/// for every key in the index and for keys it does not have.
#[test]
fn key_hashes_never_change_a_lookup() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &all_fixture_feeds());
    let path = Index::path_in(dir.path());
    let older = dir.path().join("older.db");
    std::fs::copy(&path, &older).unwrap();
    let conn = rusqlite::Connection::open(&older).unwrap();
    let keys: Vec<(String, String, String)> = conn
        .prepare("SELECT DISTINCT ecosystem, release, spelled FROM packages")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    conn.execute_batch("DROP TABLE key_hashes").unwrap();
    drop(conn);
    assert!(keys.len() >= 8, "{keys:?}");
    let (with, without) = (Index::open(dir.path()).unwrap(), Index::open_file(&older).unwrap());
    let mut found = 0;
    for (ecosystem, release, name) in &keys {
        let full =
            if release.is_empty() { ecosystem.clone() } else { format!("{ecosystem}:{release}") };
        for (eco, n) in [
            (ecosystem.as_str(), name.clone()),
            (full.as_str(), name.clone()),
            (full.as_str(), name.to_uppercase()),
            (ecosystem.as_str(), format!("{name}-not-in-the-index")),
        ] {
            let a = with.lookup(eco, &n).unwrap();
            assert_eq!(ids(&a), ids(&without.lookup(eco, &n).unwrap()), "{eco} {n}");
            found += a.len();
        }
    }
    assert!(found > keys.len(), "{found} of {}", keys.len());
    assert!(with.lookup("crates.io", "no-such-crate-anywhere").unwrap().is_empty());
    assert!(with.lookup("NoEcosystemAtAll", "x").unwrap().is_empty());
}

/// Heads and records are decoded once per index and remembered: a lookup that rejected every
/// head, then a full lookup, then one that keeps every head all see the same records, equal
/// to a fresh index's, in the same order; a predicate sees each record's head once per lookup.
#[test]
fn remembered_records_answer_like_fresh_ones() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &all_fixture_feeds());
    let index = Index::open(dir.path()).unwrap();
    for (eco, name) in [("PyPI", "django"), ("Alpine", "openssl"), ("Debian:12", "openssl")] {
        let fresh = Index::open(dir.path()).unwrap().lookup(eco, name).unwrap();
        assert!(!fresh.is_empty(), "{eco} {name}");
        let mut heads = 0;
        let none = index
            .lookup_where(eco, name, &mut |h| {
                heads += 1;
                h.affected.is_empty()
            })
            .unwrap();
        assert!(none.is_empty(), "{eco} {name}");
        assert_eq!(heads, fresh.len(), "{eco} {name}");
        for _ in 0..2 {
            let all = index.lookup(eco, name).unwrap();
            assert_eq!(all, fresh, "{eco} {name}");
            let kept = index.lookup_where(eco, name, &mut |_| true).unwrap();
            assert_eq!(kept, fresh, "{eco} {name}");
        }
    }
}

/// Lookups that decide on the heads stored beside the records answer exactly as an index
/// without them (as written before they existed), which decodes heads from the records; and
/// an update over such an older index gives every carried-over record its head.
#[test]
fn stored_heads_never_change_a_lookup_and_older_indexes_get_them() {
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &all_fixture_feeds());
    let older = tempfile::tempdir().unwrap();
    std::fs::copy(Index::path_in(dir.path()), Index::path_in(older.path())).unwrap();
    let conn = rusqlite::Connection::open(Index::path_in(older.path())).unwrap();
    conn.execute_batch(
        "ALTER TABLE records DROP COLUMN head; DELETE FROM meta WHERE key = 'heads'",
    )
    .unwrap();
    let keys: Vec<(String, String)> = conn
        .prepare("SELECT DISTINCT ecosystem, spelled FROM packages")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let (with, without) = (Index::open(dir.path()).unwrap(), Index::open(older.path()).unwrap());
    let mut kept = 0;
    for (ecosystem, name) in &keys {
        // Keep the records with an entry that has ranges (about half): heads are read.
        let mut has_ranges =
            |h: &ward_advisory::model::RecordHead| h.affected.iter().any(|a| !a.ranges.is_empty());
        let a = with.lookup_where(ecosystem, name, &mut has_ranges).unwrap();
        let b = without.lookup_where(ecosystem, name, &mut has_ranges).unwrap();
        assert_eq!(ids(&a), ids(&b), "{ecosystem} {name}");
        kept += a.len();
    }
    assert!(kept > 0 && keys.len() >= 8, "{kept} of {}", keys.len());

    // Adding a feed to the older index carries its records over, each with its head.
    import(older.path(), &[fixtures().join("npm-410.json")]);
    let conn = rusqlite::Connection::open(Index::path_in(older.path())).unwrap();
    let (missing, total): (i64, i64) = conn
        .query_row("SELECT SUM(head IS NULL), COUNT(*) FROM records", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let before: i64 = {
        let c = rusqlite::Connection::open(Index::path_in(dir.path())).unwrap();
        c.query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0)).unwrap()
    };
    // Every record carried over (npm-410 was there already: replaced, not added).
    assert_eq!((missing, total), (0, before));
    let heads: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'heads')", [], |r| r.get(0))
        .unwrap();
    assert!(heads);
}
