//! The IO edge of ward-advisory: the on-disk advisory index and the feed sources it is built
//! from. Everything else in this crate is pure.
//!
//! The index is one SQLite file, `advisories.db` in the data directory, that is never modified
//! in place: [`build`] writes a complete new file beside it, fsyncs it, renames it over the old
//! one and fsyncs the directory. Readers ([`Index::open`]) open the file read-only and
//! `immutable`, so they take no locks and a reader keeps its snapshot (the old inode) even while
//! an update swaps the file. Writers serialize on `writer.lock` (a SQLite exclusive lock, which
//! the kernel drops if the writer dies), so two updates never lose each other's feeds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::feed::{EpssScore, KevEntry};
use crate::model::Record;

pub mod apt;
mod blob;
pub mod build;
pub mod fetch;
pub mod source;

pub use build::{Update, UpdateReport};

/// The index file's name inside the data directory.
pub const INDEX_FILE: &str = "advisories.db";
/// The index layout version; an index written by another layout is rebuilt, not misread.
pub const LAYOUT_VERSION: &str = "ward-advisory-index/2";

/// Why the index could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("advisory index {path}: {source}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("no advisory index in {dir} yet; run `ward db import PATH` or `ward db update`")]
    Missing { dir: PathBuf },
    #[error("advisory index {path} has layout {found:?}, this ward reads {LAYOUT_VERSION:?}; re-import the feeds")]
    Layout { path: PathBuf, found: String },
    #[error("advisory index {path}: record {id} is damaged: {reason}")]
    Damaged { path: PathBuf, id: String, reason: String },
    #[error(transparent)]
    Fetch(Box<fetch::FetchError>),
    #[error("{path}: not a feed ward recognizes (OSV JSON/YAML/zip, FriendsOfPHP YAML, Node security WG JSON, Alpine secdb, RustSec, Debian security-suite Packages and tracker JSON, KEV JSON, EPSS CSV)")]
    UnknownFormat { path: PathBuf },
}

impl StoreError {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> StoreError {
        StoreError::Io { action, path: path.to_path_buf(), source }
    }

    pub(crate) fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |source| StoreError::Sqlite { path: path.to_path_buf(), source }
    }
}

/// One feed as the index remembers it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedInfo {
    /// The name the feed is known by (its canonical path or URL).
    pub name: String,
    /// Where it was last read from.
    pub source: String,
    /// The formats found in it (`osv-json`, `rustsec-toml`, ...).
    pub formats: Vec<String>,
    pub records: u64,
    /// Records or files rejected at the last successful import.
    pub rejected: u64,
    /// Unix time of the last successful import.
    pub imported_at: i64,
    /// Unix time of the last attempt (equal to `imported_at` unless the last attempt failed).
    pub checked_at: i64,
    /// `None` when the last attempt succeeded; otherwise why it failed (the data kept is from
    /// `imported_at`).
    pub last_error: Option<String>,
    /// HTTP validators and checksum of the last download, for conditional requests.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sha256: Option<String>,
}

/// Record counts, per ecosystem and per feed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub path: PathBuf,
    pub built_at: i64,
    /// Distinct record ids per ecosystem as records write it (`crates.io`, `Alpine:v3.10`).
    pub ecosystems: std::collections::BTreeMap<String, u64>,
    pub feeds: Vec<FeedInfo>,
    pub records: u64,
    pub kev: u64,
    pub epss: u64,
}

/// A package key found by [`Index::search`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageHit {
    pub ecosystem: String,
    pub name: String,
    pub records: u64,
}

/// An open, read-only advisory index.
pub struct Index {
    path: PathBuf,
    conn: Connection,
    /// One buffer for every decode (a lookup allocates only the records).
    decoder: std::cell::RefCell<blob::Decoder>,
    /// Records and heads decoded so far, by rid: a scan looks up one crate at several
    /// versions, and a server matches many hosts' copies of the same packages.
    memo: std::cell::RefCell<Memo>,
    /// Every record's head is stored beside it (`records.head`; indexes written before
    /// have none, and heads are decoded from the records).
    has_heads: bool,
    /// [`Index::ecosystem_key`]'s answers.
    ecosystems: std::cell::RefCell<std::collections::BTreeMap<String, (String, Option<String>)>>,
    /// Per ecosystem, the sorted hashes of every package key in the index (`None`: an index
    /// written before they were kept), loaded on first use: most packages of a scan have no
    /// advisory, and a hash probe tells so without a query.
    key_hashes: std::cell::RefCell<std::collections::BTreeMap<String, Option<Vec<u64>>>>,
}

/// At most this many whole records stay decoded (a few MB: a long-lived server holds its index
/// for days); then the memo starts over.
const MEMO_RECORDS: usize = 1024;
/// Heads are a few hundred bytes each.
const MEMO_HEADS: usize = 8192;

#[derive(Default)]
struct Memo {
    /// `None`: the head does not parse (the whole record is then decoded, to say why).
    heads: std::collections::BTreeMap<i64, Option<Arc<crate::model::RecordHead>>>,
    records: std::collections::BTreeMap<i64, Arc<Record>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index").field("path", &self.path).finish_non_exhaustive()
    }
}

/// `file:` URI of a path for SQLite, with the characters URIs reserve escaped.
fn uri(path: &Path, query: &str) -> String {
    let mut out = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        match b {
            b'%' | b'?' | b'#' => out.push_str(&format!("%{b:02X}")),
            _ => out.push(char::from(b)),
        }
    }
    out.push('?');
    out.push_str(query);
    out
}

impl Index {
    /// The index file of a data directory.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join(INDEX_FILE)
    }

    /// Opens the index of a data directory read-only, without locks.
    pub fn open(data_dir: &Path) -> Result<Index, StoreError> {
        let path = Index::path_in(data_dir);
        if !path.is_file() {
            return Err(StoreError::Missing { dir: data_dir.to_path_buf() });
        }
        Index::open_file(&path)
    }

    /// Opens an index file read-only, without locks (`immutable`: the file is never changed in
    /// place, only replaced).
    pub fn open_file(path: &Path) -> Result<Index, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(uri(path, "immutable=1"), flags)
            .map_err(StoreError::sqlite(path))?;
        // Read through a memory map, not a read(2) per page: lookups touch few pages each.
        conn.pragma_update(None, "mmap_size", 1_i64 << 32).map_err(StoreError::sqlite(path))?;
        let found: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'layout'", [], |r| r.get(0))
            .optional()
            .map_err(StoreError::sqlite(path))?;
        match found {
            Some(f) if f == LAYOUT_VERSION => Ok(Index {
                has_heads: conn
                    .query_row("SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'heads')", [], |r| {
                        r.get(0)
                    })
                    .map_err(StoreError::sqlite(path))?,
                path: path.to_path_buf(),
                ecosystems: std::cell::RefCell::default(),
                conn,
                decoder: std::cell::RefCell::default(),
                memo: std::cell::RefCell::default(),
                key_hashes: std::cell::RefCell::default(),
            }),
            other => Err(StoreError::Layout {
                path: path.to_path_buf(),
                found: other.unwrap_or_else(|| "(none)".into()),
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        StoreError::sqlite(&self.path)
    }

    /// [`Index::lookup`], keeping only the records for which `may_match(head)` is true (or
    /// whose head does not parse: the full decode then says what is wrong). Only kept
    /// records are decoded whole.
    pub fn lookup_where(
        &self,
        ecosystem: &str,
        name: &str,
        may_match: &mut dyn FnMut(&crate::model::RecordHead) -> bool,
    ) -> Result<Vec<Arc<Record>>, StoreError> {
        self.lookup_inner(ecosystem, name, Some(may_match))
    }

    /// Record `rid` (`None`: a one-off, not remembered) stored as `blob`, decoded whole.
    fn decode(&self, rid: Option<i64>, id: &str, blob: &[u8]) -> Result<Arc<Record>, StoreError> {
        if let Some(record) = rid.and_then(|rid| self.memo.borrow().records.get(&rid).cloned()) {
            return Ok(record);
        }
        let damaged = |reason: String| StoreError::Damaged {
            path: self.path.clone(),
            id: id.to_string(),
            reason,
        };
        let record: Arc<Record> = {
            let mut decoder = self.decoder.borrow_mut();
            let json = decoder.json(rid, blob, build::MAX_RECORD).map_err(damaged)?;
            Arc::new(serde_json::from_slice(json).map_err(|e| damaged(e.to_string()))?)
        };
        if let Some(rid) = rid {
            let mut memo = self.memo.borrow_mut();
            if memo.records.len() >= MEMO_RECORDS {
                memo.records.clear();
            }
            memo.records.insert(rid, Arc::clone(&record));
        }
        Ok(record)
    }

    /// Record `rid`'s head (`None`: it does not parse), from the stored head when the index
    /// has one, else from the record stored as `blob`.
    fn head(
        &self,
        rid: i64,
        stored: Option<&[u8]>,
        blob: &[u8],
    ) -> Option<Arc<crate::model::RecordHead>> {
        if let Some(head) = self.memo.borrow().heads.get(&rid) {
            return head.clone();
        }
        let head = match stored {
            Some(json) => serde_json::from_slice::<crate::model::RecordHead>(json).ok(),
            None => {
                let mut decoder = self.decoder.borrow_mut();
                let json = decoder.json(Some(rid), blob, build::MAX_RECORD).ok();
                json.and_then(|j| serde_json::from_slice::<crate::model::RecordHead>(j).ok())
            }
        }
        .map(Arc::new);
        let mut memo = self.memo.borrow_mut();
        if memo.heads.len() >= MEMO_HEADS {
            memo.heads.clear();
        }
        memo.heads.insert(rid, head.clone());
        head
    }

    fn records_where(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<Record>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.err())?;
        let rows = stmt
            .query_map(params, |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .map_err(self.err())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, blob) = row.map_err(self.err())?;
            out.push(Arc::unwrap_or_clone(self.decode(None, &id, &blob)?));
        }
        Ok(out)
    }

    /// Records affecting a package. `ecosystem` is an OSV ecosystem name, with or without a
    /// release (`Alpine:v3.10` finds only that release's records, `Alpine` every release's);
    /// the name is normalized per ecosystem ([`crate::name::normalize`]).
    pub fn lookup(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, StoreError> {
        self.lookup_inner(ecosystem, name, None)
    }

    fn lookup_inner(
        &self,
        ecosystem: &str,
        name: &str,
        mut may_match: Option<&mut dyn FnMut(&crate::model::RecordHead) -> bool>,
    ) -> Result<Vec<Arc<Record>>, StoreError> {
        let (base, release) = self.ecosystem_key(ecosystem);
        let key = crate::name::normalize(&base, name);
        if !self.may_have(&base, &key) {
            return Ok(Vec::new());
        }
        // A plain join on the key's primary-key prefix: no temporary tables. A record keyed
        // under several releases comes once per release: read once, the rest skipped.
        let sql = if self.has_heads {
            "SELECT r.rid, r.id, r.data, r.head FROM packages p JOIN records r ON r.rid = p.rid \
             WHERE p.ecosystem = ?1 AND p.name = ?2 AND (?3 IS NULL OR p.release = ?3)"
        } else {
            "SELECT r.rid, r.id, r.data, NULL FROM packages p JOIN records r ON r.rid = p.rid \
             WHERE p.ecosystem = ?1 AND p.name = ?2 AND (?3 IS NULL OR p.release = ?3)"
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.err())?;
        let mut rows = stmt.query(params![base, key, release]).map_err(self.err())?;
        let mut seen = std::collections::BTreeSet::new();
        let mut found: Vec<(String, i64, Arc<Record>)> = Vec::new();
        while let Some(row) = rows.next().map_err(self.err())? {
            let rid: i64 = row.get(0).map_err(self.err())?;
            if !seen.insert(rid) {
                continue;
            }
            let id: String = row.get(1).map_err(self.err())?;
            // Borrowed from SQLite's page, not copied.
            let blob = match row.get_ref(2).map_err(self.err())? {
                rusqlite::types::ValueRef::Blob(b) => b,
                other => {
                    return Err(StoreError::Damaged {
                        path: self.path.clone(),
                        id,
                        reason: format!("its data is {:?}, not a blob", other.data_type()),
                    })
                }
            };
            if let Some(keep) = may_match.as_mut() {
                let stored = match row.get_ref(3).map_err(self.err())? {
                    rusqlite::types::ValueRef::Blob(b) => Some(b),
                    _ => None,
                };
                if self.head(rid, stored, blob).is_some_and(|h| !keep(&h)) {
                    continue;
                }
            }
            let record = self.decode(Some(rid), &id, blob)?;
            found.push((id, rid, record));
        }
        found.sort_unstable_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(found.into_iter().map(|f| f.2).collect())
    }

    /// [`ecosystem_key`], remembered: a scan asks for one or two ecosystems, once per package.
    fn ecosystem_key(&self, ecosystem: &str) -> (String, Option<String>) {
        let mut known = self.ecosystems.borrow_mut();
        if let Some(key) = known.get(ecosystem) {
            return key.clone();
        }
        let key = ecosystem_key(ecosystem);
        if known.len() < 64 {
            known.insert(ecosystem.to_string(), key.clone());
        }
        key
    }

    /// False only when the index has no record for the key (`ecosystem` without release).
    fn may_have(&self, ecosystem: &str, key: &str) -> bool {
        let mut cache = self.key_hashes.borrow_mut();
        let hashes = cache.entry(ecosystem.to_string()).or_insert_with(|| {
            // An index without the table (older), or a damaged blob: no filter, the query
            // decides. An ecosystem without a row has no package at all.
            let blob: Option<Vec<u8>> = self
                .conn
                .query_row("SELECT hashes FROM key_hashes WHERE ecosystem = ?1", [ecosystem], |r| {
                    r.get(0)
                })
                .optional()
                .ok()?;
            let blob = blob.unwrap_or_default();
            (blob.len() % 8 == 0).then(|| {
                blob.chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect()
            })
        });
        hashes.as_ref().is_none_or(|h| h.binary_search(&build::key_hash(key)).is_ok())
    }

    /// The ids of the records affecting a package (same key rules as [`Index::lookup`]), without
    /// decoding the records: what a matcher needs first; it decodes only the candidates.
    pub fn lookup_ids(&self, ecosystem: &str, name: &str) -> Result<Vec<String>, StoreError> {
        let (base, release) = ecosystem_key(ecosystem);
        let key = crate::name::normalize(&base, name);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT id FROM packages \
                 WHERE ecosystem = ?1 AND name = ?2 AND (?3 IS NULL OR release = ?3) ORDER BY id",
            )
            .map_err(self.err())?;
        let rows = stmt.query_map(params![base, key, release], |r| r.get(0)).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Records whose id or one of whose aliases is `id` (case-insensitive): a CVE finds the
    /// GHSA, RUSTSEC, PYSEC... records that name it.
    pub fn by_id(&self, id: &str) -> Result<Vec<Record>, StoreError> {
        self.records_where(
            "SELECT r.id, r.data FROM records r WHERE r.rid IN \
             (SELECT rid FROM names WHERE name = ?1) ORDER BY r.id, r.rid",
            &[&id.trim().to_ascii_uppercase()],
        )
    }

    /// Package keys whose normalized name contains `text`, with their record counts.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<PackageHit>, StoreError> {
        let pattern = format!(
            "%{}%",
            text.trim()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT ecosystem, MIN(spelled), COUNT(DISTINCT rid) FROM packages \
                 WHERE (name LIKE ?1 ESCAPE '\\' OR lower(spelled) LIKE ?1 ESCAPE '\\') GROUP BY ecosystem, name \
                 ORDER BY length(name), name, ecosystem LIMIT ?2",
            )
            .map_err(self.err())?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![pattern, limit], |r| {
                Ok(PackageHit { ecosystem: r.get(0)?, name: r.get(1)?, records: r.get(2)? })
            })
            .map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// KEV entry of a CVE, if it is in the catalogue.
    pub fn kev(&self, cve: &str) -> Result<Option<KevEntry>, StoreError> {
        let data: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM kev WHERE cve = ?1",
                [cve.trim().to_ascii_uppercase()],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err())?;
        data.map(|d| {
            serde_json::from_str(&d).map_err(|e| StoreError::Damaged {
                path: self.path.clone(),
                id: cve.to_string(),
                reason: e.to_string(),
            })
        })
        .transpose()
    }

    /// EPSS score of a CVE, if scored.
    pub fn epss(&self, cve: &str) -> Result<Option<EpssScore>, StoreError> {
        self.conn
            .query_row(
                "SELECT cve, epss, percentile, date FROM epss WHERE cve = ?1",
                [cve.trim().to_ascii_uppercase()],
                |r| {
                    Ok(EpssScore {
                        cve: r.get(0)?,
                        epss: r.get(1)?,
                        percentile: r.get(2)?,
                        date: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(self.err())
    }

    /// Every package key in the index (for benchmarks and exports).
    pub fn package_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT ecosystem, name FROM packages ORDER BY ecosystem, name")
            .map_err(self.err())?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Every record of one feed, in id order.
    pub fn feed_records(&self, feed: &str) -> Result<Vec<Record>, StoreError> {
        self.records_where("SELECT id, data FROM records WHERE feed = ?1 ORDER BY id", &[&feed])
    }

    /// Every record of the index, by id then feed (one id can come from two feeds, as two
    /// records): what a fleet server fingerprints to tell which advisories an update changed.
    pub fn all_records(&self) -> Result<Vec<Record>, StoreError> {
        self.records_where("SELECT id, data FROM records ORDER BY id, feed", &[])
    }

    /// When the index was built (Unix seconds) and how many records it holds: the cheap part
    /// of [`Index::status`], for commands that only report what they read.
    pub fn summary(&self) -> Result<(i64, u64), StoreError> {
        let built_at: String = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'built_at'", [], |r| r.get(0))
            .map_err(self.err())?;
        // Indexes built before the count was kept in `meta` count the table.
        let records: u64 = self
            .conn
            .query_row(
                "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'records'), \
                 (SELECT COUNT(*) FROM records))",
                [],
                |r| r.get(0),
            )
            .map_err(self.err())?;
        Ok((built_at.parse().unwrap_or(0), records))
    }

    /// Per-ecosystem and per-feed counts.
    pub fn status(&self) -> Result<Status, StoreError> {
        let built_at: i64 = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'built_at'", [], |r| {
                r.get::<_, String>(0)
            })
            .map_err(self.err())?
            .parse()
            .unwrap_or(0);
        let mut ecosystems = std::collections::BTreeMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT e.ecosystem, COUNT(DISTINCT r.id) FROM record_ecosystems e \
                 JOIN records r ON r.rid = e.rid GROUP BY e.ecosystem",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))
            .map_err(self.err())?;
        for row in rows {
            let (e, n) = row.map_err(self.err())?;
            ecosystems.insert(e, n);
        }
        let feeds = build::read_feeds(&self.conn).map_err(self.err())?;
        let count = |sql: &str| -> Result<u64, StoreError> {
            self.conn.query_row(sql, [], |r| r.get(0)).map_err(self.err())
        };
        Ok(Status {
            path: self.path.clone(),
            built_at,
            ecosystems,
            feeds,
            records: count("SELECT COUNT(DISTINCT id) FROM records")?,
            kev: count("SELECT COUNT(*) FROM kev")?,
            epss: count("SELECT COUNT(*) FROM epss")?,
        })
    }
}

/// `Alpine:v3.10` → (`Alpine`, `v3.10`); unknown ecosystems split at the first `:`.
pub(crate) fn ecosystem_key(text: &str) -> (String, Option<String>) {
    match ward_version::Ecosystem::parse(text) {
        Ok(e) => (e.kind().name().to_string(), e.release().map(str::to_string)),
        Err(_) => match text.split_once(':') {
            Some((b, r)) => (b.trim().to_string(), Some(r.trim().to_string())),
            None => (text.trim().to_string(), None),
        },
    }
}

/// What importing local paths did.
#[derive(Debug)]
pub struct ImportReport {
    pub update: UpdateReport,
    /// Per feed name: the files read and the formats found.
    pub feeds: Vec<(String, usize, Vec<String>)>,
    /// Every rejected file or record, naming the file and field.
    pub errors: Vec<crate::feed::ImportError>,
}

/// Imports local files or directories, one feed per path (named by its canonical path), in one
/// atomic update. `progress(done, total)` is called after each file.
pub fn import_paths(
    data_dir: &Path,
    paths: &[PathBuf],
    now: i64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, StoreError> {
    let sources: Vec<String> = paths.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    import_sources(data_dir, &sources, now, progress)
}

/// Imports sources (paths, `file://` or `http(s)://` URLs), one feed each, in one atomic
/// update. Nothing changes if any source cannot be read or downloaded.
pub fn import_sources(
    data_dir: &Path,
    sources: &[String],
    now: i64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, StoreError> {
    enum Listed {
        Local(PathBuf, source::SourceFiles),
        Remote(String),
    }
    let mut listed = Vec::new();
    for source_text in sources {
        match fetch::locate(source_text) {
            fetch::Location::Local(path) => {
                let canonical =
                    path.canonicalize().map_err(|e| StoreError::io(&path, "reading", e))?;
                let files = source::list(&canonical)?;
                listed.push(Listed::Local(canonical, files));
            }
            fetch::Location::Http(url) => listed.push(Listed::Remote(url)),
        }
    }
    let total: usize = listed
        .iter()
        .map(|l| match l {
            Listed::Local(_, f) => f.files.len(),
            Listed::Remote(_) => 1,
        })
        .sum();
    let mut done = 0;
    let mut update = Update { now, ..Update::default() };
    let mut feeds = Vec::new();
    let mut errors = Vec::new();
    for item in listed {
        let data = match item {
            Listed::Local(path, files) => {
                let parsed = source::read(&files, &mut |d, _| progress(done + d, total));
                done += files.files.len();
                let mut formats: Vec<String> =
                    files.files.iter().map(|(_, f)| f.name().to_string()).collect();
                formats.sort();
                formats.dedup();
                let sha256 = if path.is_file() {
                    let bytes =
                        std::fs::read(&path).map_err(|e| StoreError::io(&path, "reading", e))?;
                    Some(fetch::sha256_hex(&bytes))
                } else {
                    None
                };
                let name = path.to_string_lossy().into_owned();
                feeds.push((name.clone(), files.files.len(), formats.clone()));
                build::FeedData {
                    source: name.clone(),
                    name,
                    formats,
                    parsed,
                    etag: None,
                    last_modified: None,
                    sha256,
                }
            }
            Listed::Remote(url) => {
                let fetched =
                    fetch::fetch(&url, None).map_err(|e| StoreError::Fetch(Box::new(e)))?;
                done += 1;
                progress(done, total);
                let fetch::Fetched::New { parsed, formats, etag, last_modified, sha256 } = fetched
                else {
                    // Without validators a server cannot answer "not modified".
                    continue;
                };
                feeds.push((url.clone(), 1, formats.clone()));
                build::FeedData {
                    name: url.clone(),
                    source: url,
                    formats,
                    parsed,
                    etag,
                    last_modified,
                    sha256,
                }
            }
        };
        errors.extend(data.parsed.errors.iter().cloned());
        update.replace.push(data);
    }
    let update = build::apply(data_dir, update)?;
    Ok(ImportReport { update, feeds, errors })
}

/// What happened to one feed in `ward db update`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedOutcome {
    Updated {
        records: u64,
        rejected: u64,
    },
    Unchanged,
    /// The fetch failed; the feed keeps its last good data.
    Failed(String),
}

/// What [`update_feeds`] did, per feed in order.
#[derive(Debug)]
pub struct UpdateOutcome {
    pub feeds: Vec<(String, FeedOutcome)>,
    pub errors: Vec<crate::feed::ImportError>,
    pub report: UpdateReport,
}

/// The feed name of a source: absolute paths for local sources, the URL otherwise.
pub fn feed_name(source_text: &str) -> String {
    match fetch::locate(source_text) {
        fetch::Location::Local(path) => path
            .canonicalize()
            .map_or_else(|_| source_text.to_string(), |p| p.to_string_lossy().into_owned()),
        fetch::Location::Http(url) => url,
    }
}

/// Re-fetches every feed in the index (plus `add`) and applies the result atomically.
/// `progress(name)` is called before each feed.
pub fn update_feeds(
    data_dir: &Path,
    add: &[String],
    now: i64,
    progress: &mut dyn FnMut(&str),
) -> Result<UpdateOutcome, StoreError> {
    let known = match Index::open(data_dir) {
        Ok(index) => index.status()?.feeds,
        Err(StoreError::Missing { .. } | StoreError::Layout { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut sources: Vec<(String, String)> =
        known.iter().map(|f| (f.name.clone(), f.source.clone())).collect();
    for source_text in add {
        let name = feed_name(source_text);
        if !sources.iter().any(|(n, _)| *n == name) {
            let source = match fetch::locate(source_text) {
                fetch::Location::Local(_) => name.clone(),
                fetch::Location::Http(url) => url,
            };
            sources.push((name, source));
        }
    }
    let mut update = Update { now, ..Update::default() };
    let mut outcomes = Vec::new();
    let mut errors = Vec::new();
    for (name, source_text) in sources {
        progress(&name);
        let previous = known.iter().find(|f| f.name == name);
        match fetch::fetch(&source_text, previous) {
            Ok(fetch::Fetched::Unchanged) => {
                update.unchanged.push(build::FeedUnchanged { name: name.clone() });
                outcomes.push((name, FeedOutcome::Unchanged));
            }
            Ok(fetch::Fetched::New { parsed, formats, etag, last_modified, sha256 }) => {
                let rejected = parsed.errors.len() as u64;
                errors.extend(parsed.errors.iter().cloned());
                let records = parsed.records.len() as u64;
                update.replace.push(build::FeedData {
                    name: name.clone(),
                    source: source_text,
                    formats,
                    parsed,
                    etag,
                    last_modified,
                    sha256,
                });
                outcomes.push((name, FeedOutcome::Updated { records, rejected }));
            }
            Err(e) => {
                update.failed.push(build::FeedFailure {
                    name: name.clone(),
                    source: source_text,
                    error: e.to_string(),
                });
                outcomes.push((name, FeedOutcome::Failed(e.to_string())));
            }
        }
    }
    let report = build::apply(data_dir, update)?;
    for (name, outcome) in &mut outcomes {
        if let (FeedOutcome::Updated { records, .. }, Some(stored)) =
            (&mut *outcome, report.stored.get(name.as_str()))
        {
            *records = *stored;
        }
    }
    Ok(UpdateOutcome { feeds: outcomes, errors, report })
}

/// How long a writer waits for another writer before giving up.
pub const WRITER_WAIT: Duration = Duration::from_secs(600);
