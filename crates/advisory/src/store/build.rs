//! Building a new index file and swapping it in atomically (IO edge).
//!
//! Architecture invariant: the index a reader opens is always complete. [`apply`] writes the
//! next index to a temporary file beside the current one (copying the feeds it does not
//! replace), fsyncs it, renames it over the current one and fsyncs the directory. A crash at any
//! point leaves either the old index or the new one, plus at most a stale temporary file that
//! the next update removes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OpenFlags};

use super::{uri, Index, StoreError, INDEX_FILE, LAYOUT_VERSION, WRITER_WAIT};
use crate::feed::Parsed;
use crate::model::Record;

/// The largest record (as JSON) the index stores or decodes.
pub const MAX_RECORD: usize = 16 << 20;

const TEMP_PREFIX: &str = ".advisories.db.tmp-";
const WRITER_LOCK: &str = "writer.lock";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE feeds (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, formats TEXT NOT NULL,
    records INTEGER NOT NULL, rejected INTEGER NOT NULL,
    imported_at INTEGER NOT NULL, checked_at INTEGER NOT NULL, last_error TEXT,
    etag TEXT, last_modified TEXT, sha256 TEXT
) WITHOUT ROWID;
CREATE TABLE records (rid INTEGER PRIMARY KEY, feed TEXT NOT NULL, id TEXT NOT NULL, data BLOB NOT NULL, head BLOB);
CREATE TABLE names (name TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (name, rid)) WITHOUT ROWID;
CREATE TABLE packages (
    ecosystem TEXT NOT NULL, name TEXT NOT NULL, release TEXT NOT NULL, rid INTEGER NOT NULL,
    spelled TEXT NOT NULL, id TEXT NOT NULL,
    PRIMARY KEY (ecosystem, name, release, rid)
) WITHOUT ROWID;
CREATE TABLE record_ecosystems (ecosystem TEXT NOT NULL, rid INTEGER NOT NULL, PRIMARY KEY (ecosystem, rid)) WITHOUT ROWID;
CREATE TABLE key_hashes (ecosystem TEXT PRIMARY KEY, hashes BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE kev (cve TEXT PRIMARY KEY, feed TEXT NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE epss (cve TEXT PRIMARY KEY, feed TEXT NOT NULL, epss REAL NOT NULL, percentile REAL NOT NULL, date TEXT) WITHOUT ROWID;
";

/// New data for one feed: everything it yielded replaces what the index held for it.
#[derive(Debug)]
pub struct FeedData {
    pub name: String,
    pub source: String,
    pub formats: Vec<String>,
    pub parsed: Parsed,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: Option<String>,
}

/// A feed whose fetch or read failed: its last good data stays, its status says why.
#[derive(Debug)]
pub struct FeedFailure {
    pub name: String,
    pub source: String,
    pub error: String,
}

/// A feed that was checked and had not changed (HTTP 304, same checksum).
#[derive(Debug)]
pub struct FeedUnchanged {
    pub name: String,
}

/// One atomic change to the index.
#[derive(Debug, Default)]
pub struct Update {
    pub replace: Vec<FeedData>,
    pub failed: Vec<FeedFailure>,
    pub unchanged: Vec<FeedUnchanged>,
    /// Unix time recorded as the import/check time.
    pub now: i64,
}

/// What [`apply`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// Records stored per replaced feed (after removing duplicate ids within the feed).
    pub stored: BTreeMap<String, u64>,
    /// Feeds in the new index.
    pub feeds: u64,
    pub path: PathBuf,
    /// The previous index could not be read (other layout, damaged) and was not carried over.
    pub previous_dropped: Option<String>,
}

/// Builds the next index from the current one plus `update`, and swaps it in atomically.
pub fn apply(data_dir: &Path, update: Update) -> Result<UpdateReport, StoreError> {
    fs::create_dir_all(data_dir).map_err(|e| StoreError::io(data_dir, "creating", e))?;
    let lock_path = data_dir.join(WRITER_LOCK);
    let lock = Connection::open(&lock_path).map_err(StoreError::sqlite(&lock_path))?;
    lock.busy_timeout(WRITER_WAIT).map_err(StoreError::sqlite(&lock_path))?;
    lock.execute_batch("BEGIN EXCLUSIVE").map_err(StoreError::sqlite(&lock_path))?;

    remove_stale_temporaries(data_dir)?;
    let final_path = data_dir.join(INDEX_FILE);
    let temp = data_dir.join(format!("{TEMP_PREFIX}{}", std::process::id()));
    let result = write(&final_path, &temp, update);
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    let file = fs::File::open(&temp).map_err(|e| StoreError::io(&temp, "opening", e))?;
    file.sync_all().map_err(|e| StoreError::io(&temp, "syncing", e))?;
    drop(file);
    fs::rename(&temp, &final_path).map_err(|e| StoreError::io(&final_path, "replacing", e))?;
    let dir = fs::File::open(data_dir).map_err(|e| StoreError::io(data_dir, "opening", e))?;
    dir.sync_all().map_err(|e| StoreError::io(data_dir, "syncing", e))?;
    drop(lock);
    Ok(report)
}

fn remove_stale_temporaries(data_dir: &Path) -> Result<(), StoreError> {
    let entries = fs::read_dir(data_dir).map_err(|e| StoreError::io(data_dir, "listing", e))?;
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let path = entry.path();
            fs::remove_file(&path).map_err(|e| StoreError::io(&path, "removing", e))?;
        }
    }
    Ok(())
}

fn write(final_path: &Path, temp: &Path, update: Update) -> Result<UpdateReport, StoreError> {
    let _ = fs::remove_file(temp);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(temp, flags).map_err(StoreError::sqlite(temp))?;
    let e = StoreError::sqlite;
    // The temporary file is fsynced as a whole before it becomes visible; no journal needed.
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA page_size = 8192;",
    )
    .map_err(e(temp))?;
    let tx = conn.transaction().map_err(e(temp))?;
    tx.execute_batch(SCHEMA).map_err(e(temp))?;
    let mut report = UpdateReport { path: final_path.to_path_buf(), ..UpdateReport::default() };

    // Carry over the feeds this update does not replace.
    let replaced: BTreeSet<&str> = update.replace.iter().map(|f| f.name.as_str()).collect();
    let mut kept_feeds = Vec::new();
    if final_path.is_file() {
        match Index::open_file(final_path) {
            Ok(_) => {
                tx.execute("ATTACH DATABASE ?1 AS old", [uri(final_path, "immutable=1&mode=ro")])
                    .map_err(e(temp))?;
                let old_feeds = read_feeds_from(&tx, "old").map_err(e(temp))?;
                tx.execute_batch("CREATE TEMP TABLE dropped (name TEXT PRIMARY KEY)")
                    .map_err(e(temp))?;
                for name in &replaced {
                    tx.execute("INSERT OR IGNORE INTO temp.dropped VALUES (?1)", [name])
                        .map_err(e(temp))?;
                }
                // An index written before heads were stored has no `head` column: those
                // records get theirs below.
                let old_heads: bool = tx
                    .query_row(
                        "SELECT EXISTS (SELECT 1 FROM old.meta WHERE key = 'heads')",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(e(temp))?;
                let head = if old_heads { "head" } else { "NULL" };
                tx.execute_batch(&format!(
                    "INSERT INTO records SELECT rid, feed, id, data, {head} FROM old.records
                        WHERE feed NOT IN (SELECT name FROM temp.dropped);"
                ))
                .map_err(e(temp))?;
                tx.execute_batch(
                    "INSERT INTO names SELECT n.* FROM old.names n JOIN records r ON r.rid = n.rid;
                     INSERT INTO packages SELECT p.* FROM old.packages p JOIN records r ON r.rid = p.rid;
                     INSERT INTO record_ecosystems SELECT x.* FROM old.record_ecosystems x JOIN records r ON r.rid = x.rid;
                     INSERT INTO kev SELECT * FROM old.kev WHERE feed NOT IN (SELECT name FROM temp.dropped);
                     INSERT INTO epss SELECT * FROM old.epss WHERE feed NOT IN (SELECT name FROM temp.dropped);",
                )
                .map_err(e(temp))?;
                kept_feeds =
                    old_feeds.into_iter().filter(|f| !replaced.contains(f.name.as_str())).collect();
            }
            Err(err) => report.previous_dropped = Some(err.to_string()),
        }
    }
    for mut feed in kept_feeds {
        if let Some(failure) = update.failed.iter().find(|f| f.name == feed.name) {
            feed.checked_at = update.now;
            feed.last_error = Some(failure.error.clone());
        } else if update.unchanged.iter().any(|u| u.name == feed.name) {
            feed.checked_at = update.now;
            feed.last_error = None;
        }
        insert_feed(&tx, &feed).map_err(e(temp))?;
    }
    // A feed that failed before it ever succeeded is listed with no data.
    for failure in &update.failed {
        let exists: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM feeds WHERE name = ?1)",
                [&failure.name],
                |r| r.get(0),
            )
            .map_err(e(temp))?;
        if !exists && !replaced.contains(failure.name.as_str()) {
            insert_feed(
                &tx,
                &super::FeedInfo {
                    name: failure.name.clone(),
                    source: failure.source.clone(),
                    formats: Vec::new(),
                    records: 0,
                    rejected: 0,
                    imported_at: 0,
                    checked_at: update.now,
                    last_error: Some(failure.error.clone()),
                    etag: None,
                    last_modified: None,
                    sha256: None,
                },
            )
            .map_err(e(temp))?;
        }
    }

    let mut next_rid: i64 = tx
        .query_row("SELECT COALESCE(MAX(rid), 0) + 1 FROM records", [], |r| r.get(0))
        .map_err(e(temp))?;
    for feed in update.replace {
        let stored = insert_records(&tx, &feed, &mut next_rid, temp)?;
        report.stored.insert(feed.name.clone(), stored);
        for k in &feed.parsed.kev {
            let data = serde_json::to_string(k)
                .map_err(|err| StoreError::io(temp, "encoding", err.into()))?;
            tx.execute(
                "INSERT OR REPLACE INTO kev VALUES (?1, ?2, ?3)",
                params![k.cve_id.to_ascii_uppercase(), feed.name, data],
            )
            .map_err(e(temp))?;
        }
        for s in &feed.parsed.epss {
            tx.execute(
                "INSERT OR REPLACE INTO epss VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.cve.to_ascii_uppercase(), feed.name, s.epss, s.percentile, s.date],
            )
            .map_err(e(temp))?;
        }
        insert_feed(
            &tx,
            &super::FeedInfo {
                name: feed.name.clone(),
                source: feed.source.clone(),
                formats: feed.formats.clone(),
                records: stored + feed.parsed.kev.len() as u64 + feed.parsed.epss.len() as u64,
                rejected: feed.parsed.errors.len() as u64,
                imported_at: update.now,
                checked_at: update.now,
                last_error: None,
                etag: feed.etag.clone(),
                last_modified: feed.last_modified.clone(),
                sha256: feed.sha256.clone(),
            },
        )
        .map_err(e(temp))?;
    }
    insert_key_hashes(&tx).map_err(e(temp))?;
    insert_missing_heads(&tx, temp)?;
    tx.execute("INSERT INTO meta VALUES ('layout', ?1)", [LAYOUT_VERSION]).map_err(e(temp))?;
    // Every record has its head (readers of older indexes decode heads from the records).
    tx.execute("INSERT INTO meta VALUES ('heads', '1')", []).map_err(e(temp))?;
    tx.execute("INSERT INTO meta VALUES ('built_at', ?1)", [update.now.to_string()])
        .map_err(e(temp))?;
    // The record count, so that opening the index for a scan never counts a whole table.
    tx.execute("INSERT INTO meta SELECT 'records', COUNT(*) FROM records", []).map_err(e(temp))?;
    report.feeds = tx.query_row("SELECT COUNT(*) FROM feeds", [], |r| r.get(0)).map_err(e(temp))?;
    tx.commit().map_err(e(temp))?;
    conn.execute_batch("DETACH DATABASE old").ok();
    // No ANALYZE: every query is a primary-key search whatever the statistics say, and their
    // tables cost every scan's open about 150,000 instructions to load.
    conn.close()
        .map_err(|(_, err)| StoreError::Sqlite { path: temp.to_path_buf(), source: err })?;
    Ok(report)
}

/// Inserts a feed's records (one per id: the latest `modified` wins) with their keys.
fn insert_records(
    tx: &rusqlite::Transaction<'_>,
    feed: &FeedData,
    next_rid: &mut i64,
    temp: &Path,
) -> Result<u64, StoreError> {
    let e = StoreError::sqlite;
    let mut unique: BTreeMap<&str, &Record> = BTreeMap::new();
    for record in &feed.parsed.records {
        match unique.get(record.id.as_str()) {
            Some(existing) if existing.modified > record.modified => {}
            _ => {
                unique.insert(&record.id, record);
            }
        }
    }
    let mut insert_record =
        tx.prepare_cached("INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5)").map_err(e(temp))?;
    let mut insert_name =
        tx.prepare_cached("INSERT OR IGNORE INTO names VALUES (?1, ?2)").map_err(e(temp))?;
    let mut insert_package = tx
        .prepare_cached("INSERT OR IGNORE INTO packages VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
        .map_err(e(temp))?;
    let mut insert_ecosystem = tx
        .prepare_cached("INSERT OR IGNORE INTO record_ecosystems VALUES (?1, ?2)")
        .map_err(e(temp))?;
    let mut json = Vec::with_capacity(1 << 16);
    for record in unique.values() {
        json.clear();
        serde_json::to_writer(&mut json, record)
            .map_err(|err| StoreError::io(temp, "encoding", err.into()))?;
        if json.len() > MAX_RECORD {
            continue;
        }
        let blob = super::blob::encode(&json);
        let rid = *next_rid;
        *next_rid += 1;
        let head = crate::model::RecordHead::json_of(record);
        insert_record.execute(params![rid, feed.name, record.id, blob, head]).map_err(e(temp))?;
        for name in record.names() {
            insert_name.execute(params![name.trim().to_ascii_uppercase(), rid]).map_err(e(temp))?;
        }
        for affected in &record.affected {
            let Some(package) = &affected.package else { continue };
            let base = package.ecosystem.base();
            let release = match package.ecosystem.parsed() {
                Some(p) => p.release().unwrap_or("").to_string(),
                None => {
                    package.ecosystem.as_str().split_once(':').map_or("", |(_, r)| r).to_string()
                }
            };
            let key = crate::name::normalize(base, &package.name);
            insert_package
                .execute(params![base, key, release, rid, package.name, record.id])
                .map_err(e(temp))?;
            insert_ecosystem.execute(params![package.ecosystem.as_str(), rid]).map_err(e(temp))?;
        }
    }
    Ok(unique.len() as u64)
}

/// Writes the head of every record that has none (carried over from an index written before
/// heads were stored). A record that no longer decodes keeps none: lookups then decode it
/// whole and report what is wrong.
fn insert_missing_heads(tx: &rusqlite::Transaction<'_>, temp: &Path) -> Result<(), StoreError> {
    let e = StoreError::sqlite;
    let missing: Vec<(i64, Vec<u8>)> = tx
        .prepare("SELECT rid, data FROM records WHERE head IS NULL")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()
        })
        .map_err(e(temp))?;
    let mut update = tx.prepare("UPDATE records SET head = ?2 WHERE rid = ?1").map_err(e(temp))?;
    let mut decoder = super::blob::Decoder::default();
    for (rid, blob) in missing {
        let Ok(json) = decoder.json(None, &blob, MAX_RECORD) else { continue };
        let Ok(record) = serde_json::from_slice::<Record>(json) else { continue };
        update
            .execute(params![rid, crate::model::RecordHead::json_of(&record)])
            .map_err(e(temp))?;
    }
    Ok(())
}

/// FNV-1a (64 bits) of a normalized package key: stable across builds and platforms.
pub(crate) fn key_hash(key: &str) -> u64 {
    key.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Per ecosystem, the sorted hashes of every package key (little-endian u64s), read by
/// lookups to skip the query for packages without advisories.
fn insert_key_hashes(tx: &Connection) -> rusqlite::Result<()> {
    let mut by_ecosystem: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut keys = tx.prepare("SELECT DISTINCT ecosystem, name FROM packages")?;
    let mut rows = keys.query([])?;
    while let Some(row) = rows.next()? {
        let ecosystem: String = row.get(0)?;
        let name: String = row.get(1)?;
        by_ecosystem.entry(ecosystem).or_default().push(key_hash(&name));
    }
    let mut insert = tx.prepare("INSERT INTO key_hashes VALUES (?1, ?2)")?;
    for (ecosystem, mut hashes) in by_ecosystem {
        hashes.sort_unstable();
        hashes.dedup();
        let blob: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
        insert.execute(params![ecosystem, blob])?;
    }
    Ok(())
}

fn insert_feed(tx: &Connection, f: &super::FeedInfo) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO feeds VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            f.name,
            f.source,
            f.formats.join(","),
            f.records,
            f.rejected,
            f.imported_at,
            f.checked_at,
            f.last_error,
            f.etag,
            f.last_modified,
            f.sha256
        ],
    )?;
    Ok(())
}

pub(super) fn read_feeds(conn: &Connection) -> rusqlite::Result<Vec<super::FeedInfo>> {
    read_feeds_from(conn, "main")
}

fn read_feeds_from(conn: &Connection, schema: &str) -> rusqlite::Result<Vec<super::FeedInfo>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT name, source, formats, records, rejected, imported_at, checked_at, last_error, \
         etag, last_modified, sha256 FROM {schema}.feeds ORDER BY name"
    ))?;
    let rows = stmt.query_map([], |r| {
        let formats: String = r.get(2)?;
        Ok(super::FeedInfo {
            name: r.get(0)?,
            source: r.get(1)?,
            formats: formats.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
            records: r.get(3)?,
            rejected: r.get(4)?,
            imported_at: r.get(5)?,
            checked_at: r.get(6)?,
            last_error: r.get(7)?,
            etag: r.get(8)?,
            last_modified: r.get(9)?,
            sha256: r.get(10)?,
        })
    })?;
    rows.collect()
}
