//! The SQLite store (rusqlite): one connection behind a mutex, WAL, foreign keys on, and a busy
//! timeout so several processes can share the file. Writes take the write lock up front
//! (`BEGIN IMMEDIATE`), so a report's read-compare-write cannot interleave with another's.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use ward_auth::audit::{self, AuditEntry, AuditEntryRef};
use ward_auth::lockout::{State, Subject};
use ward_auth::role::Role;
use ward_auth::scope::Scope;
use ward_auth::token::StoredToken;

use crate::diff::{self, InventoryDelta, Recorded};
use crate::findings::{self, join_aliases, split_aliases};
use crate::security;
use crate::work;
use crate::{
    as_set, check_report, AdvisoryFingerprint, Backend, Change, ChangeKind, Event, EventKind,
    FindingFilter, FindingPage, FindingRow, FindingsDiff, HostFilter, HostId, HostInfo, HostRecord,
    InventoryDiff, Job, OpenFinding, PackageRow, Page, ScopedFindings, Store, StoreError,
    TokenOwner, TokenRecord, UserId, UserRecord, SCHEMA_VERSION,
};

const BACKEND: Backend = Backend::Sqlite;

/// Versioned migrations, applied in order; the last one is [`SCHEMA_VERSION`].
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_findings.sql")),
    (3, include_str!("../migrations/sqlite/0003_security.sql")),
    (4, include_str!("../migrations/sqlite/0004_jobs.sql")),
];

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct SqliteStore {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish_non_exhaustive()
    }
}

fn db(operation: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |error| StoreError::Database { backend: BACKEND, operation, message: error.to_string() }
}

/// Timestamps are TEXT with a fixed shape, so that text order is time order.
fn format_time(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn parse_time(operation: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|error| {
        StoreError::Corrupt {
            backend: BACKEND,
            operation,
            message: format!("timestamp {text:?}: {error}"),
        }
    })
}

impl SqliteStore {
    pub(crate) fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let open_error = |error: rusqlite::Error| StoreError::Open {
            backend: BACKEND,
            location: path.display().to_string(),
            message: error.to_string(),
        };
        let mut connection = Connection::open(path).map_err(open_error)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;
        connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get::<_, String>(0))
            .map_err(open_error)?;
        connection
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")
            .map_err(open_error)?;
        migrate(&mut connection)?;
        Ok(SqliteStore { path: path.to_owned(), connection: Mutex::new(connection) })
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock unwinds through rusqlite's Transaction, which rolls
        // back: the connection is usable.
        self.connection.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    const OPERATION: &str = "migrate schema";
    let tx = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db(OPERATION))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version     INTEGER PRIMARY KEY,
             applied_at  TEXT NOT NULL
         )",
    )
    .map_err(db(OPERATION))?;
    let found: i64 = tx
        .query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |row| row.get(0))
        .map_err(db(OPERATION))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            backend: BACKEND,
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for &(version, sql) in MIGRATIONS.iter().filter(|(version, _)| *version > found) {
        tx.execute_batch(sql).map_err(db(OPERATION))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
            params![version, format_time(Utc::now())],
        )
        .map_err(db(OPERATION))?;
        tracing::info!(version, "SQLite store: applied schema migration");
    }
    tx.commit().map_err(db(OPERATION))
}

fn host_exists(
    connection: &Connection,
    operation: &'static str,
    host: HostId,
) -> Result<(), StoreError> {
    if row_exists(
        connection,
        operation,
        "SELECT EXISTS (SELECT 1 FROM hosts WHERE id = ?1)",
        host.0,
    )? {
        Ok(())
    } else {
        Err(StoreError::UnknownHost { backend: BACKEND, operation, host })
    }
}

/// Whether `sql` (`SELECT EXISTS (... WHERE id = ?1)`) finds the row with this id.
fn row_exists(
    connection: &Connection,
    operation: &'static str,
    sql: &str,
    id: i64,
) -> Result<bool, StoreError> {
    connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.query_row([id], |row| row.get(0)))
        .map_err(db(operation))
}

fn names(
    connection: &Connection,
    operation: &'static str,
    sql: &str,
    host: HostId,
) -> Result<Vec<String>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(db(operation))?;
    let rows = statement.query_map([host.0], |row| row.get(0)).map_err(db(operation))?;
    rows.collect::<Result<_, _>>().map_err(db(operation))
}

type HostRow = (i64, String, Option<String>, String, String);

fn host_record(
    connection: &Connection,
    operation: &'static str,
    (id, name, os, first_seen, last_seen): HostRow,
) -> Result<HostRecord, StoreError> {
    let id = HostId(id);
    let groups = names(
        connection,
        operation,
        "SELECT name FROM host_groups WHERE host_id = ?1 ORDER BY name",
        id,
    )?;
    let tags = names(
        connection,
        operation,
        "SELECT name FROM host_tags WHERE host_id = ?1 ORDER BY name",
        id,
    )?;
    Ok(HostRecord {
        id,
        info: HostInfo { name, os, groups, tags },
        first_seen: parse_time(operation, &first_seen)?,
        last_seen: parse_time(operation, &last_seen)?,
    })
}

fn read_host_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<HostRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
}

fn current(
    connection: &Connection,
    operation: &'static str,
    host: HostId,
) -> Result<Vec<PackageRow>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT ecosystem, name, version, source, source_version FROM packages
             WHERE host_id = ?1 ORDER BY ecosystem, name",
        )
        .map_err(db(operation))?;
    let rows = statement
        .query_map([host.0], |row| {
            Ok(PackageRow {
                ecosystem: row.get(0)?,
                name: row.get(1)?,
                version: row.get(2)?,
                source: row.get(3)?,
                source_version: row.get(4)?,
            })
        })
        .map_err(db(operation))?;
    let mut packages: Vec<PackageRow> = rows.collect::<Result<_, _>>().map_err(db(operation))?;
    // SQL orders by ecosystem and name only; PackageRow's order is the same for distinct
    // identities, but sort anyway so the order never depends on the collation.
    packages.sort();
    Ok(packages)
}

/// Changes of `host` with `since <= at <= until` (either bound optional), oldest first.
fn history(
    connection: &Connection,
    operation: &'static str,
    host: HostId,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<Vec<Recorded>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT at, kind, ecosystem, name, from_version, to_version, source, source_version
             FROM changes
             WHERE host_id = ?1 AND (?2 IS NULL OR at >= ?2) AND (?3 IS NULL OR at <= ?3)
             ORDER BY at, id",
        )
        .map_err(db(operation))?;
    let rows = statement
        .query_map(params![host.0, since.map(format_time), until.map(format_time)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, Option<String>>(7)?,
            ))
        })
        .map_err(db(operation))?;
    let mut changes = Vec::new();
    for row in rows {
        let (at, kind, ecosystem, name, from, to, source, source_version) =
            row.map_err(db(operation))?;
        let kind = ChangeKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            backend: BACKEND,
            operation,
            message: format!("change kind {kind:?}"),
        })?;
        changes.push(Recorded {
            change: Change {
                at: parse_time(operation, &at)?,
                kind,
                ecosystem,
                name,
                from,
                to,
                source,
            },
            source_version,
        });
    }
    Ok(changes)
}

fn apply(
    connection: &Connection,
    operation: &'static str,
    host: HostId,
    at: &str,
    delta: &InventoryDelta,
) -> Result<(), StoreError> {
    let mut remove = connection
        .prepare_cached("DELETE FROM packages WHERE host_id = ?1 AND ecosystem = ?2 AND name = ?3")
        .map_err(db(operation))?;
    for (ecosystem, name) in &delta.removals {
        remove.execute(params![host.0, ecosystem, name]).map_err(db(operation))?;
    }
    let mut upsert = connection
        .prepare_cached(
            "INSERT INTO packages (host_id, ecosystem, name, version, source, source_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (host_id, ecosystem, name)
             DO UPDATE SET version = excluded.version, source = excluded.source,
                           source_version = excluded.source_version",
        )
        .map_err(db(operation))?;
    for package in &delta.upserts {
        upsert
            .execute(params![
                host.0,
                package.ecosystem,
                package.name,
                package.version,
                package.source,
                package.source_version
            ])
            .map_err(db(operation))?;
    }
    let mut append = connection
        .prepare_cached(
            "INSERT INTO changes
                 (host_id, at, kind, ecosystem, name, from_version, to_version, source,
                  source_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(db(operation))?;
    for change in &delta.changes {
        append
            .execute(params![
                host.0,
                at,
                change.stored_kind(),
                change.ecosystem,
                change.name,
                change.from,
                change.to,
                change.source,
                change.source_version
            ])
            .map_err(db(operation))?;
    }
    Ok(())
}

fn count(operation: &'static str, value: i64) -> Result<usize, StoreError> {
    usize::try_from(value).map_err(|_| StoreError::Corrupt {
        backend: BACKEND,
        operation,
        message: format!("negative count {value}"),
    })
}

type UserRow = (i64, String, String, String, String, bool);

fn read_user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?))
}

/// The one user `sql` (selecting `USER_COLUMNS`, one parameter) finds, if any.
fn find_user(
    connection: &Connection,
    operation: &'static str,
    sql: &str,
    param: &dyn rusqlite::ToSql,
) -> Result<Option<UserRecord>, StoreError> {
    let row = connection
        .prepare_cached(sql)
        .and_then(|mut statement| statement.query_row([param], read_user_row).optional())
        .map_err(db(operation))?;
    row.map(|(id, name, role, password_phc, created, disabled)| {
        Ok(UserRecord {
            id: UserId(id),
            name,
            role: security::parse_role(BACKEND, operation, &role)?,
            password_phc,
            created: parse_time(operation, &created)?,
            disabled,
        })
    })
    .transpose()
}

fn user_exists(
    connection: &Connection,
    operation: &'static str,
    user: UserId,
) -> Result<(), StoreError> {
    if row_exists(
        connection,
        operation,
        "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
        user.0,
    )? {
        Ok(())
    } else {
        Err(StoreError::UnknownUser { backend: BACKEND, operation, user })
    }
}

type AuditRow = (i64, String, String, String, String, String, String, String);

/// Audit entries `sql` selects (`seq, at, actor, action, target, detail, prev_hash, hash`).
fn audit_rows(
    connection: &Connection,
    operation: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(db(operation))?;
    let rows = statement
        .query_map(params, |row| -> rusqlite::Result<AuditRow> {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
            ))
        })
        .map_err(db(operation))?;
    let mut entries = Vec::new();
    for row in rows {
        let (seq, at, actor, action, target, detail, prev_hash, hash) =
            row.map_err(db(operation))?;
        entries.push(AuditEntry {
            seq: security::parse_seq(BACKEND, operation, seq)?,
            at: parse_time(operation, &at)?,
            actor,
            action,
            target,
            detail: security::parse_detail(BACKEND, operation, &detail)?,
            prev_hash,
            hash,
        });
    }
    Ok(entries)
}

fn anchor(
    connection: &Connection,
    operation: &'static str,
) -> Result<Option<AuditEntryRef>, StoreError> {
    let row: Option<(i64, String)> = connection
        .prepare_cached("SELECT seq, hash FROM audit_anchor WHERE id = 1")
        .and_then(|mut statement| {
            statement.query_row([], |row| Ok((row.get(0)?, row.get(1)?))).optional()
        })
        .map_err(db(operation))?;
    row.map(|(seq, hash)| {
        Ok(AuditEntryRef { seq: security::parse_seq(BACKEND, operation, seq)?, hash })
    })
    .transpose()
}

const USER_COLUMNS: &str = "id, name, role, password_phc, created, disabled";

/// The conditions of a [`FindingFilter`] on `findings`: `?1` host, `?2` advisory or alias,
/// `?3` ecosystem, `?4` severities ([`text_list`]), `?5` group.
const FINDING_FILTER: &str = "(?1 IS NULL OR host_id = ?1)
    AND (?2 IS NULL OR advisory = ?2
         OR instr(char(10) || aliases || char(10), char(10) || ?2 || char(10)) > 0)
    AND (?3 IS NULL OR ecosystem = ?3)
    AND (?4 = '[]' OR severity IN (SELECT value FROM json_each(?4)))
    AND (?5 IS NULL OR EXISTS
        (SELECT 1 FROM host_groups g WHERE g.host_id = findings.host_id AND g.name = ?5))";

/// A list of strings as one parameter (a JSON array, read back with `json_each`): no
/// parameter-count limit, one cached statement whatever the length.
fn text_list<T: serde::Serialize + ?Sized>(values: &T) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

type OpenFindingRow = (HostId, FindingRow, String);

/// Reads the columns `host_id, advisory, aliases, ecosystem, package, version, severity,
/// score, first_seen`.
fn read_open_finding(row: &rusqlite::Row<'_>) -> rusqlite::Result<OpenFindingRow> {
    Ok((
        HostId(row.get(0)?),
        FindingRow {
            advisory: row.get(1)?,
            aliases: split_aliases(&row.get::<_, String>(2)?),
            ecosystem: row.get(3)?,
            package: row.get(4)?,
            version: row.get(5)?,
            severity: row.get(6)?,
            score: row.get(7)?,
        },
        row.get::<_, String>(8)?,
    ))
}

fn collect_open_findings(
    operation: &'static str,
    rows: impl Iterator<Item = rusqlite::Result<OpenFindingRow>>,
) -> Result<Vec<OpenFinding>, StoreError> {
    let mut out = Vec::new();
    for found in rows {
        let (host, row, first_seen) = found.map_err(db(operation))?;
        out.push(OpenFinding { host, row, first_seen: parse_time(operation, &first_seen)? });
    }
    Ok(out)
}

/// Reads the columns `id, advisory, aliases, ecosystem, package, version, severity, score` of
/// an open finding.
fn read_stored_finding(row: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, FindingRow)> {
    Ok((
        row.get(0)?,
        FindingRow {
            advisory: row.get(1)?,
            aliases: split_aliases(&row.get::<_, String>(2)?),
            ecosystem: row.get(3)?,
            package: row.get(4)?,
            version: row.get(5)?,
            severity: row.get(6)?,
            score: row.get(7)?,
        },
    ))
}

/// Writes one host's findings plan: resolutions, updates, openings and their events.
fn write_plan(
    connection: &Connection,
    operation: &'static str,
    host: HostId,
    at: &str,
    plan: &findings::FindingsPlan<'_>,
) -> Result<(), StoreError> {
    let mut event = connection
        .prepare_cached(
            "INSERT INTO events (at, kind, host_id, advisory, ecosystem, package, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(db(operation))?;
    let mut resolve = connection
        .prepare_cached("UPDATE findings SET resolved_at = ?2 WHERE id = ?1")
        .map_err(db(operation))?;
    for (id, row) in &plan.resolve {
        resolve.execute(params![id, at]).map_err(db(operation))?;
        event
            .execute(params![
                at,
                EventKind::FindingResolved.as_str(),
                host.0,
                row.advisory,
                row.ecosystem,
                row.package,
                row.version
            ])
            .map_err(db(operation))?;
    }
    let mut update = connection
        .prepare_cached(
            "UPDATE findings SET version = ?2, aliases = ?3, severity = ?4, score = ?5
             WHERE id = ?1",
        )
        .map_err(db(operation))?;
    for (id, row) in &plan.update {
        update
            .execute(params![id, row.version, join_aliases(&row.aliases), row.severity, row.score])
            .map_err(db(operation))?;
    }
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO findings (host_id, advisory, ecosystem, package, version, aliases,
                                   severity, score, first_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .map_err(db(operation))?;
    for row in &plan.open {
        insert
            .execute(params![
                host.0,
                row.advisory,
                row.ecosystem,
                row.package,
                row.version,
                join_aliases(&row.aliases),
                row.severity,
                row.score,
                at
            ])
            .map_err(db(operation))?;
        event
            .execute(params![
                at,
                EventKind::FindingNew.as_str(),
                host.0,
                row.advisory,
                row.ecosystem,
                row.package,
                row.version
            ])
            .map_err(db(operation))?;
    }
    Ok(())
}

const JOB_COLUMNS: &str =
    "id, kind, key, payload, state, attempts, created, claimed_by, lease_until, finished, result";

type JobRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn read_job_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn job(operation: &'static str, row: JobRow) -> Result<Job, StoreError> {
    let (id, kind, key, payload, state, attempts, created, claimed_by, lease, finished, result) =
        row;
    let time = |text: Option<String>| text.map(|text| parse_time(operation, &text)).transpose();
    Ok(Job {
        id,
        kind,
        key,
        payload: work::parse_json(BACKEND, operation, &payload)?,
        state: work::parse_state(BACKEND, operation, &state)?,
        attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt {
            backend: BACKEND,
            operation,
            message: format!("job attempts {attempts}"),
        })?,
        created: parse_time(operation, &created)?,
        claimed_by,
        lease_until: time(lease)?,
        finished: time(finished)?,
        result: result.map(|text| work::parse_json(BACKEND, operation, &text)).transpose()?,
    })
}

/// Names with how many hosts have each (`host_groups` or `host_tags`), by name.
fn name_counts(
    connection: &Connection,
    operation: &'static str,
    table: &str,
) -> Result<Vec<(String, u64)>, StoreError> {
    let mut statement = connection
        .prepare_cached(&format!("SELECT name, COUNT(*) FROM {table} GROUP BY name ORDER BY name"))
        .map_err(db(operation))?;
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(db(operation))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, n) = row.map_err(db(operation))?;
        out.push((name, u64::try_from(n).unwrap_or(0)));
    }
    Ok(out)
}

const AUDIT_COLUMNS: &str = "seq, at, actor, action, target, detail, prev_hash, hash";

impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        BACKEND
    }

    fn upsert_host(&self, host: &HostInfo, now: DateTime<Utc>) -> Result<HostId, StoreError> {
        const OPERATION: &str = "upsert host";
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        let now = format_time(now);
        let id: i64 = tx
            .query_row(
                "INSERT INTO hosts (name, os, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
                 ON CONFLICT (name) DO UPDATE SET
                     os = excluded.os,
                     last_seen = max(hosts.last_seen, excluded.last_seen)
                 RETURNING id",
                params![host.name, host.os, now],
                |row| row.get(0),
            )
            .map_err(db(OPERATION))?;
        for (table, values) in [("host_groups", &host.groups), ("host_tags", &host.tags)] {
            tx.execute(&format!("DELETE FROM {table} WHERE host_id = ?1"), [id])
                .map_err(db(OPERATION))?;
            let mut insert = tx
                .prepare_cached(&format!("INSERT INTO {table} (host_id, name) VALUES (?1, ?2)"))
                .map_err(db(OPERATION))?;
            for value in as_set(values) {
                insert.execute(params![id, value]).map_err(db(OPERATION))?;
            }
        }
        tx.commit().map_err(db(OPERATION))?;
        Ok(HostId(id))
    }

    fn host(&self, id: HostId) -> Result<Option<HostRecord>, StoreError> {
        const OPERATION: &str = "read host";
        let connection = self.connection();
        let row = connection
            .prepare_cached("SELECT id, name, os, first_seen, last_seen FROM hosts WHERE id = ?1")
            .and_then(|mut statement| statement.query_row([id.0], read_host_row).optional())
            .map_err(db(OPERATION))?;
        row.map(|row| host_record(&connection, OPERATION, row)).transpose()
    }

    fn hosts(&self, filter: &HostFilter, page: Page) -> Result<Vec<HostRecord>, StoreError> {
        const OPERATION: &str = "list hosts";
        let connection = self.connection();
        let rows: Vec<HostRow> = {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, name, os, first_seen, last_seen FROM hosts
                     WHERE id > ?1
                       AND (?2 IS NULL OR os = ?2)
                       AND (?3 IS NULL OR EXISTS
                           (SELECT 1 FROM host_groups g WHERE g.host_id = hosts.id AND g.name = ?3))
                       AND (?4 IS NULL OR EXISTS
                           (SELECT 1 FROM host_tags t WHERE t.host_id = hosts.id AND t.name = ?4))
                       AND (?6 = '[]' OR EXISTS
                           (SELECT 1 FROM findings f
                            WHERE f.host_id = hosts.id AND f.resolved_at IS NULL
                              AND f.severity IN (SELECT value FROM json_each(?6))))
                     ORDER BY id
                     LIMIT ?5",
                )
                .map_err(db(OPERATION))?;
            let rows = statement
                .query_map(
                    params![
                        page.after.map_or(i64::MIN, |after| after.0),
                        filter.os,
                        filter.group,
                        filter.tag,
                        i64::from(page.limit),
                        text_list(&filter.severities)
                    ],
                    read_host_row,
                )
                .map_err(db(OPERATION))?;
            rows.collect::<Result<_, _>>().map_err(db(OPERATION))?
        };
        rows.into_iter().map(|row| host_record(&connection, OPERATION, row)).collect()
    }

    fn record_inventory(
        &self,
        host: HostId,
        at: DateTime<Utc>,
        packages: &[PackageRow],
        idempotency_key: &str,
    ) -> Result<InventoryDiff, StoreError> {
        const OPERATION: &str = "record inventory";
        check_report(BACKEND, packages, idempotency_key)?;
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        host_exists(&tx, OPERATION, host)?;
        let at_text = format_time(at);
        // Claim the key first: the primary key decides which report is the first.
        let claimed = tx
            .execute(
                "INSERT INTO inventory_reports
                     (host_id, idempotency_key, at, added, removed, changed)
                 VALUES (?1, ?2, ?3, 0, 0, 0)
                 ON CONFLICT (host_id, idempotency_key) DO NOTHING",
                params![host.0, idempotency_key, at_text],
            )
            .map_err(db(OPERATION))?;
        if claimed == 0 {
            let (added, removed, changed): (i64, i64, i64) = tx
                .query_row(
                    "SELECT added, removed, changed FROM inventory_reports
                     WHERE host_id = ?1 AND idempotency_key = ?2",
                    params![host.0, idempotency_key],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .map_err(db(OPERATION))?;
            return Ok(InventoryDiff {
                added: count(OPERATION, added)?,
                removed: count(OPERATION, removed)?,
                changed: count(OPERATION, changed)?,
                duplicate: true,
            });
        }
        let latest: Option<String> = tx
            .query_row(
                "SELECT MAX(at) FROM inventory_reports WHERE host_id = ?1 AND idempotency_key <> ?2",
                params![host.0, idempotency_key],
                |row| row.get(0),
            )
            .map_err(db(OPERATION))?;
        if let Some(latest) = latest.filter(|latest| *latest > at_text) {
            return Err(StoreError::OutOfOrder { backend: BACKEND, host, at: at_text, latest });
        }
        let before = current(&tx, OPERATION, host)?;
        let delta = diff::delta(&before, packages);
        apply(&tx, OPERATION, host, &at_text, &delta)?;
        let diff = delta.counts();
        tx.execute(
            "UPDATE inventory_reports SET added = ?3, removed = ?4, changed = ?5
             WHERE host_id = ?1 AND idempotency_key = ?2",
            params![
                host.0,
                idempotency_key,
                i64::try_from(diff.added).unwrap_or(i64::MAX),
                i64::try_from(diff.removed).unwrap_or(i64::MAX),
                i64::try_from(diff.changed).unwrap_or(i64::MAX)
            ],
        )
        .map_err(db(OPERATION))?;
        tx.commit().map_err(db(OPERATION))?;
        Ok(diff)
    }

    fn current_packages(&self, host: HostId) -> Result<Vec<PackageRow>, StoreError> {
        const OPERATION: &str = "read current packages";
        let connection = self.connection();
        host_exists(&connection, OPERATION, host)?;
        current(&connection, OPERATION, host)
    }

    fn packages_at(&self, host: HostId, at: DateTime<Utc>) -> Result<Vec<PackageRow>, StoreError> {
        const OPERATION: &str = "read packages at a time";
        let connection = self.connection();
        host_exists(&connection, OPERATION, host)?;
        Ok(diff::replay(&history(&connection, OPERATION, host, None, Some(at))?))
    }

    fn changes(
        &self,
        host: HostId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Change>, StoreError> {
        const OPERATION: &str = "read changes";
        let connection = self.connection();
        host_exists(&connection, OPERATION, host)?;
        let history = history(&connection, OPERATION, host, since, None)?;
        Ok(history.into_iter().map(|recorded| recorded.change).collect())
    }

    fn hosts_with_package(
        &self,
        ecosystem: &str,
        name: &str,
    ) -> Result<Vec<(HostId, String)>, StoreError> {
        const OPERATION: &str = "read hosts with a package";
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(
                "SELECT host_id, version FROM packages WHERE ecosystem = ?1 AND name = ?2
                 ORDER BY host_id",
            )
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(params![ecosystem, name], |row| Ok((HostId(row.get(0)?), row.get(1)?)))
            .map_err(db(OPERATION))?;
        rows.collect::<Result<_, _>>().map_err(db(OPERATION))
    }

    fn hosts_with_source(
        &self,
        ecosystem: &str,
        source: &str,
    ) -> Result<Vec<(HostId, String, String)>, StoreError> {
        const OPERATION: &str = "read hosts with a source package";
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(
                "SELECT host_id, name, version FROM packages
                 WHERE ecosystem = ?1 AND source = ?2 AND source IS NOT NULL
                 ORDER BY host_id, name",
            )
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(params![ecosystem, source], |row| {
                Ok((HostId(row.get(0)?), row.get(1)?, row.get(2)?))
            })
            .map_err(db(OPERATION))?;
        rows.collect::<Result<_, _>>().map_err(db(OPERATION))
    }

    fn apply_findings(
        &self,
        host: HostId,
        at: DateTime<Utc>,
        current: &[FindingRow],
    ) -> Result<FindingsDiff, StoreError> {
        const OPERATION: &str = "apply findings";
        findings::check(BACKEND, current)?;
        let mut connection = self.connection();
        // IMMEDIATE: the write lock is taken before the open findings are read, so two
        // applications for one host cannot both see a finding as new.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        host_exists(&tx, OPERATION, host)?;
        let open: Vec<(i64, FindingRow)> = {
            let mut statement = tx
                .prepare_cached(
                    "SELECT id, advisory, aliases, ecosystem, package, version, severity, score
                     FROM findings WHERE host_id = ?1 AND resolved_at IS NULL",
                )
                .map_err(db(OPERATION))?;
            let rows = statement.query_map([host.0], read_stored_finding).map_err(db(OPERATION))?;
            rows.collect::<Result<_, _>>().map_err(db(OPERATION))?
        };
        let plan = findings::plan(open, current);
        write_plan(&tx, OPERATION, host, &format_time(at), &plan)?;
        let diff = plan.counts();
        tx.commit().map_err(db(OPERATION))?;
        Ok(diff)
    }

    fn open_findings(
        &self,
        filter: &FindingFilter,
        page: FindingPage,
    ) -> Result<Vec<OpenFinding>, StoreError> {
        const OPERATION: &str = "list open findings";
        let connection = self.connection();
        let (after_host, after_advisory, after_ecosystem, after_package) = match &page.after {
            Some((host, advisory, ecosystem, package)) => (
                Some(host.0),
                Some(advisory.as_str()),
                Some(ecosystem.as_str()),
                Some(package.as_str()),
            ),
            None => (None, None, None, None),
        };
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT host_id, advisory, aliases, ecosystem, package, version, severity, score,
                        first_seen
                 FROM findings
                 WHERE resolved_at IS NULL AND {FINDING_FILTER}
                   AND (?6 IS NULL OR (host_id, advisory, ecosystem, package) > (?6, ?7, ?8, ?9))
                 ORDER BY host_id, advisory, ecosystem, package
                 LIMIT ?10"
            ))
            .map_err(db(OPERATION))?;
        let severities = text_list(&filter.severities);
        let rows = statement
            .query_map(
                params![
                    filter.host.map(|host| host.0),
                    filter.advisory,
                    filter.ecosystem,
                    severities,
                    filter.group,
                    after_host,
                    after_advisory,
                    after_ecosystem,
                    after_package,
                    i64::from(page.limit)
                ],
                read_open_finding,
            )
            .map_err(db(OPERATION))?;
        collect_open_findings(OPERATION, rows)
    }

    fn events(&self, after: Option<i64>, limit: u32) -> Result<Vec<Event>, StoreError> {
        const OPERATION: &str = "read events";
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(
                "SELECT id, at, kind, host_id, advisory, ecosystem, package, version FROM events
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(params![after.unwrap_or(i64::MIN), i64::from(limit)], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, String>(4)?,
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(6)?,
                    row.get::<_, String>(7)?,
                ))
            })
            .map_err(db(OPERATION))?;
        let mut events = Vec::new();
        for row in rows {
            let (id, at, kind, host, advisory, ecosystem, package, version) =
                row.map_err(db(OPERATION))?;
            let kind = EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                backend: BACKEND,
                operation: OPERATION,
                message: format!("event kind {kind:?}"),
            })?;
            events.push(Event {
                id,
                at: parse_time(OPERATION, &at)?,
                kind,
                host: HostId(host),
                advisory,
                ecosystem,
                package,
                version,
            });
        }
        Ok(events)
    }

    fn create_user(
        &self,
        name: &str,
        role: Role,
        password_phc: &str,
        now: DateTime<Utc>,
    ) -> Result<UserId, StoreError> {
        const OPERATION: &str = "create user";
        security::check_user_name(BACKEND, OPERATION, name)?;
        let connection = self.connection();
        let id: Option<i64> = connection
            .prepare_cached(
                "INSERT INTO users (name, role, password_phc, created) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO NOTHING
                 RETURNING id",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(
                        params![name, role.as_str(), password_phc, format_time(now)],
                        |row| row.get(0),
                    )
                    .optional()
            })
            .map_err(db(OPERATION))?;
        id.map(UserId).ok_or_else(|| StoreError::AlreadyExists {
            backend: BACKEND,
            operation: OPERATION,
            what: format!("user {name:?}"),
        })
    }

    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        const OPERATION: &str = "read user";
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1");
        find_user(&self.connection(), OPERATION, &sql, &name)
    }

    fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        const OPERATION: &str = "read user";
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
        find_user(&self.connection(), OPERATION, &sql, &id.0)
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        const OPERATION: &str = "list users";
        let ids: Vec<i64> = {
            let connection = self.connection();
            let mut statement = connection
                .prepare_cached("SELECT id FROM users ORDER BY id")
                .map_err(db(OPERATION))?;
            let rows = statement.query_map([], |row| row.get(0)).map_err(db(OPERATION))?;
            rows.collect::<Result<_, _>>().map_err(db(OPERATION))?
        };
        let mut users = Vec::with_capacity(ids.len());
        for id in ids {
            users.extend(self.user(UserId(id))?);
        }
        Ok(users)
    }

    fn set_password(&self, user: UserId, password_phc: &str) -> Result<(), StoreError> {
        const OPERATION: &str = "set password";
        let updated = self
            .connection()
            .execute(
                "UPDATE users SET password_phc = ?2 WHERE id = ?1",
                params![user.0, password_phc],
            )
            .map_err(db(OPERATION))?;
        if updated == 0 {
            return Err(StoreError::UnknownUser { backend: BACKEND, operation: OPERATION, user });
        }
        Ok(())
    }

    fn set_user_disabled(&self, user: UserId, disabled: bool) -> Result<(), StoreError> {
        const OPERATION: &str = "disable user";
        let updated = self
            .connection()
            .execute("UPDATE users SET disabled = ?2 WHERE id = ?1", params![user.0, disabled])
            .map_err(db(OPERATION))?;
        if updated == 0 {
            return Err(StoreError::UnknownUser { backend: BACKEND, operation: OPERATION, user });
        }
        Ok(())
    }

    fn add_token(
        &self,
        token: &StoredToken,
        owner: TokenOwner,
        scopes: &[Scope],
        expires: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const OPERATION: &str = "add token";
        let scopes = security::check_token(BACKEND, token, owner, scopes)?;
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        match owner {
            TokenOwner::User(user) => user_exists(&tx, OPERATION, user)?,
            TokenOwner::Host(host) => host_exists(&tx, OPERATION, host)?,
            TokenOwner::Unowned => {}
        }
        let (user_id, host_id) = security::owner_ids(owner);
        let inserted = tx
            .execute(
                "INSERT INTO tokens (id, kind, hash, user_id, host_id, scopes, created, expires)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    token.id,
                    token.kind.as_str(),
                    token.hash,
                    user_id,
                    host_id,
                    scopes.join(" "),
                    format_time(now),
                    expires.map(format_time)
                ],
            )
            .map_err(db(OPERATION))?;
        if inserted == 0 {
            return Err(StoreError::AlreadyExists {
                backend: BACKEND,
                operation: OPERATION,
                what: format!("token {}", token.id),
            });
        }
        tx.commit().map_err(db(OPERATION))
    }

    fn tokens_of(&self, owner: TokenOwner) -> Result<Vec<TokenRecord>, StoreError> {
        const OPERATION: &str = "list tokens";
        let (sql, key) = match owner {
            TokenOwner::User(user) => ("SELECT id FROM tokens WHERE user_id = ?1 ORDER BY id", Some(user.0)),
            TokenOwner::Host(host) => ("SELECT id FROM tokens WHERE host_id = ?1 ORDER BY id", Some(host.0)),
            TokenOwner::Unowned => (
                "SELECT id FROM tokens WHERE user_id IS NULL AND host_id IS NULL AND ?1 IS NULL ORDER BY id",
                None,
            ),
        };
        let ids: Vec<String> = {
            let connection = self.connection();
            let mut statement = connection.prepare_cached(sql).map_err(db(OPERATION))?;
            let rows = statement.query_map([key], |row| row.get(0)).map_err(db(OPERATION))?;
            rows.collect::<Result<_, _>>().map_err(db(OPERATION))?
        };
        let mut tokens = Vec::with_capacity(ids.len());
        for id in ids {
            tokens.extend(self.token(&id)?);
        }
        Ok(tokens)
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        const OPERATION: &str = "read token";
        type TokenRow = (
            String,
            String,
            Option<i64>,
            Option<i64>,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let connection = self.connection();
        let row: Option<TokenRow> = connection
            .prepare_cached(
                "SELECT kind, hash, user_id, host_id, scopes, created, expires, revoked, used
                 FROM tokens WHERE id = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row([id], |row| {
                        Ok((
                            row.get(0)?,
                            row.get(1)?,
                            row.get(2)?,
                            row.get(3)?,
                            row.get(4)?,
                            row.get(5)?,
                            row.get(6)?,
                            row.get(7)?,
                            row.get(8)?,
                        ))
                    })
                    .optional()
            })
            .map_err(db(OPERATION))?;
        let Some((kind, hash, user_id, host_id, scopes, created, expires, revoked, used)) = row
        else {
            return Ok(None);
        };
        let time = |text: Option<String>| text.map(|text| parse_time(OPERATION, &text)).transpose();
        Ok(Some(TokenRecord {
            stored: StoredToken {
                kind: security::parse_kind(BACKEND, OPERATION, &kind)?,
                id: id.to_owned(),
                hash,
            },
            owner: security::owner(user_id, host_id),
            scopes: security::parse_scopes(BACKEND, OPERATION, security::split_scopes(&scopes))?,
            created: parse_time(OPERATION, &created)?,
            expires: time(expires)?,
            revoked: time(revoked)?,
            used: time(used)?,
        }))
    }

    fn revoke_token(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        const OPERATION: &str = "revoke token";
        let updated = self
            .connection()
            .execute(
                "UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                params![id, format_time(now)],
            )
            .map_err(db(OPERATION))?;
        Ok(updated > 0)
    }

    fn consume_enrollment(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        const OPERATION: &str = "consume enrollment token";
        let mut connection = self.connection();
        // IMMEDIATE: the write lock is held from the start, so the condition and the update
        // see the same row whoever else writes; the WHERE clause makes it one-time.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        let now = format_time(now);
        let consumed = tx
            .execute(
                "UPDATE tokens SET used = ?2
                 WHERE id = ?1 AND kind = 'enrollment' AND used IS NULL AND revoked IS NULL
                   AND (expires IS NULL OR expires > ?2)",
                params![id, now],
            )
            .map_err(db(OPERATION))?;
        tx.commit().map_err(db(OPERATION))?;
        Ok(consumed == 1)
    }

    fn lockout_state(&self, subject: Subject, key: &str) -> Result<State, StoreError> {
        const OPERATION: &str = "read lockout state";
        let text: Option<String> = self
            .connection()
            .prepare_cached("SELECT state FROM lockout WHERE subject = ?1 AND key = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(params![security::subject_name(subject), key], |row| row.get(0))
                    .optional()
            })
            .map_err(db(OPERATION))?;
        text.map_or_else(
            || Ok(State::default()),
            |text| security::parse_lockout(BACKEND, OPERATION, &text),
        )
    }

    fn save_lockout_state(
        &self,
        subject: Subject,
        key: &str,
        state: &State,
    ) -> Result<(), StoreError> {
        const OPERATION: &str = "save lockout state";
        let subject = security::subject_name(subject);
        let connection = self.connection();
        if *state == State::default() {
            connection
                .execute(
                    "DELETE FROM lockout WHERE subject = ?1 AND key = ?2",
                    params![subject, key],
                )
                .map_err(db(OPERATION))?;
        } else {
            connection
                .execute(
                    "INSERT INTO lockout (subject, key, state) VALUES (?1, ?2, ?3)
                     ON CONFLICT (subject, key) DO UPDATE SET state = excluded.state",
                    params![subject, key, security::lockout_json(BACKEND, OPERATION, state)?],
                )
                .map_err(db(OPERATION))?;
        }
        Ok(())
    }

    fn append_audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, StoreError> {
        const OPERATION: &str = "append audit entry";
        let mut connection = self.connection();
        // IMMEDIATE: the write lock is taken before the last entry is read, so appenders from
        // every process run one at a time and each chains onto the previous one's entry.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        let last = audit_rows(
            &tx,
            OPERATION,
            &format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq DESC LIMIT 1"),
            [],
        )?
        .pop();
        security::check_audit_tail(BACKEND, last.as_ref(), anchor(&tx, OPERATION)?.as_ref())?;
        let entry = audit::append(last.as_ref(), at, actor, action, target, detail);
        let seq = security::stored_seq(BACKEND, OPERATION, entry.seq)?;
        tx.execute(
            "INSERT INTO audit (seq, at, actor, action, target, detail, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                seq,
                format_time(entry.at),
                entry.actor,
                entry.action,
                entry.target,
                security::detail_json(&entry.detail),
                entry.prev_hash,
                entry.hash
            ],
        )
        .map_err(db(OPERATION))?;
        tx.execute(
            "INSERT INTO audit_anchor (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            params![seq, entry.hash],
        )
        .map_err(db(OPERATION))?;
        tx.commit().map_err(db(OPERATION))?;
        Ok(entry)
    }

    fn audit_entries(
        &self,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        const OPERATION: &str = "read audit entries";
        let after = after_seq.map_or(Ok(0), |seq| security::stored_seq(BACKEND, OPERATION, seq))?;
        audit_rows(
            &self.connection(),
            OPERATION,
            &format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
            params![after, i64::from(limit)],
        )
    }

    fn audit_anchor(&self) -> Result<Option<AuditEntryRef>, StoreError> {
        anchor(&self.connection(), "read audit anchor")
    }

    fn set_host_facts(
        &self,
        host: HostId,
        facts: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        const OPERATION: &str = "set host facts";
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        host_exists(&tx, OPERATION, host)?;
        tx.execute(
            "INSERT INTO host_facts (host_id, at, facts) VALUES (?1, ?2, ?3)
             ON CONFLICT (host_id) DO UPDATE SET at = excluded.at, facts = excluded.facts",
            params![host.0, format_time(at), work::json_text(facts)],
        )
        .map_err(db(OPERATION))?;
        tx.commit().map_err(db(OPERATION))
    }

    fn host_facts(
        &self,
        host: HostId,
    ) -> Result<Option<(DateTime<Utc>, serde_json::Value)>, StoreError> {
        const OPERATION: &str = "read host facts";
        let row: Option<(String, String)> = self
            .connection()
            .prepare_cached("SELECT at, facts FROM host_facts WHERE host_id = ?1")
            .and_then(|mut statement| {
                statement.query_row([host.0], |row| Ok((row.get(0)?, row.get(1)?))).optional()
            })
            .map_err(db(OPERATION))?;
        row.map(|(at, facts)| {
            Ok((parse_time(OPERATION, &at)?, work::parse_json(BACKEND, OPERATION, &facts)?))
        })
        .transpose()
    }

    fn last_report(&self, host: HostId) -> Result<Option<(String, DateTime<Utc>)>, StoreError> {
        const OPERATION: &str = "read last report";
        // Reports at one time are ordered by insertion (rowid).
        let row: Option<(String, String)> = self
            .connection()
            .prepare_cached(
                "SELECT idempotency_key, at FROM inventory_reports WHERE host_id = ?1
                 ORDER BY at DESC, rowid DESC LIMIT 1",
            )
            .and_then(|mut statement| {
                statement.query_row([host.0], |row| Ok((row.get(0)?, row.get(1)?))).optional()
            })
            .map_err(db(OPERATION))?;
        row.map(|(key, at)| Ok((key, parse_time(OPERATION, &at)?))).transpose()
    }

    fn groups(&self) -> Result<Vec<(String, u64)>, StoreError> {
        name_counts(&self.connection(), "list groups", "host_groups")
    }

    fn tags(&self) -> Result<Vec<(String, u64)>, StoreError> {
        name_counts(&self.connection(), "list tags", "host_tags")
    }

    fn finding_counts(
        &self,
        hosts: &[HostId],
    ) -> Result<
        std::collections::BTreeMap<HostId, std::collections::BTreeMap<String, u64>>,
        StoreError,
    > {
        const OPERATION: &str = "count findings";
        let ids: Vec<i64> = hosts.iter().map(|host| host.0).collect();
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(
                "SELECT host_id, COALESCE(severity, ?2), COUNT(*) FROM findings
                 WHERE resolved_at IS NULL AND host_id IN (SELECT value FROM json_each(?1))
                 GROUP BY host_id, COALESCE(severity, ?2)",
            )
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(params![text_list(&ids), work::NO_SEVERITY], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
            })
            .map_err(db(OPERATION))?;
        let mut counts: std::collections::BTreeMap<
            HostId,
            std::collections::BTreeMap<String, u64>,
        > = Default::default();
        for row in rows {
            let (host, severity, n) = row.map_err(db(OPERATION))?;
            counts.entry(HostId(host)).or_default().insert(severity, u64::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }

    fn open_findings_by_risk(
        &self,
        filter: &FindingFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<OpenFinding>, StoreError> {
        const OPERATION: &str = "list open findings by risk";
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT host_id, advisory, aliases, ecosystem, package, version, severity, score,
                        first_seen
                 FROM findings
                 WHERE resolved_at IS NULL AND {FINDING_FILTER}
                 ORDER BY score IS NULL, score DESC, first_seen, host_id, advisory, ecosystem,
                          package
                 LIMIT ?6 OFFSET ?7"
            ))
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(
                params![
                    filter.host.map(|host| host.0),
                    filter.advisory,
                    filter.ecosystem,
                    text_list(&filter.severities),
                    filter.group,
                    i64::from(limit),
                    i64::try_from(offset).unwrap_or(i64::MAX)
                ],
                read_open_finding,
            )
            .map_err(db(OPERATION))?;
        collect_open_findings(OPERATION, rows)
    }

    fn packages_for_keys(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<(HostId, PackageRow)>, StoreError> {
        const OPERATION: &str = "read packages for keys";
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let connection = self.connection();
        // The keys travel as one JSON parameter: one statement, no parameter-count limit. Both
        // joins use an index (packages_by_name, packages_by_source); UNION drops a package
        // found both ways.
        let mut statement = connection
            .prepare_cached(
                "WITH k (ecosystem, name) AS MATERIALIZED (
                     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')
                     FROM json_each(?1))
                 SELECT p.host_id, p.ecosystem, p.name, p.version, p.source, p.source_version
                 FROM k JOIN packages p ON p.ecosystem = k.ecosystem AND p.name = k.name
                 UNION
                 SELECT p.host_id, p.ecosystem, p.name, p.version, p.source, p.source_version
                 FROM k JOIN packages p ON p.ecosystem = k.ecosystem AND p.source = k.name",
            )
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map([text_list(keys)], |row| {
                Ok((
                    HostId(row.get(0)?),
                    PackageRow {
                        ecosystem: row.get(1)?,
                        name: row.get(2)?,
                        version: row.get(3)?,
                        source: row.get(4)?,
                        source_version: row.get(5)?,
                    },
                ))
            })
            .map_err(db(OPERATION))?;
        let mut packages: Vec<(HostId, PackageRow)> =
            rows.collect::<Result<_, _>>().map_err(db(OPERATION))?;
        packages.sort();
        Ok(packages)
    }

    fn apply_findings_scoped(
        &self,
        at: DateTime<Utc>,
        parts: &[ScopedFindings],
    ) -> Result<FindingsDiff, StoreError> {
        const OPERATION: &str = "apply scoped findings";
        let parts = findings::check_scoped(BACKEND, parts)?;
        let mut connection = self.connection();
        // IMMEDIATE: the write lock (the whole database, so every host at once) is taken
        // before any open finding is read.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        for (part, _) in &parts {
            host_exists(&tx, OPERATION, part.host)?;
        }
        let at = format_time(at);
        let mut diff = FindingsDiff::default();
        for (part, scope) in &parts {
            // The open findings of the scope only (index findings_open_by_package).
            let mut open: Vec<(i64, FindingRow)> = Vec::new();
            let mut statement = tx
                .prepare_cached(
                    "SELECT id, advisory, aliases, ecosystem, package, version, severity, score
                     FROM findings
                     WHERE host_id = ?1 AND ecosystem = ?2 AND package = ?3
                       AND resolved_at IS NULL",
                )
                .map_err(db(OPERATION))?;
            for (ecosystem, package) in scope {
                let rows = statement
                    .query_map(params![part.host.0, ecosystem, package], read_stored_finding)
                    .map_err(db(OPERATION))?;
                for row in rows {
                    open.push(row.map_err(db(OPERATION))?);
                }
            }
            drop(statement);
            let plan = findings::plan(open, &part.current);
            write_plan(&tx, OPERATION, part.host, &at, &plan)?;
            let counts = plan.counts();
            diff.new += counts.new;
            diff.resolved += counts.resolved;
            diff.unchanged += counts.unchanged;
        }
        tx.commit().map_err(db(OPERATION))?;
        Ok(diff)
    }

    fn enqueue_job(
        &self,
        kind: &str,
        key: &str,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError> {
        const OPERATION: &str = "enqueue job";
        work::check_kind(BACKEND, kind)?;
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        // The unique (kind, key) decides; the read only finds the existing job's id.
        let created: Option<i64> = tx
            .query_row(
                "INSERT INTO jobs (kind, key, payload, state, created)
                 VALUES (?1, ?2, ?3, 'queued', ?4)
                 ON CONFLICT (kind, key) DO NOTHING
                 RETURNING id",
                params![kind, key, work::json_text(payload), format_time(now)],
                |row| row.get(0),
            )
            .optional()
            .map_err(db(OPERATION))?;
        let result = match created {
            Some(id) => (id, true),
            None => {
                let id = tx
                    .query_row(
                        "SELECT id FROM jobs WHERE kind = ?1 AND key = ?2",
                        params![kind, key],
                        |row| row.get(0),
                    )
                    .map_err(db(OPERATION))?;
                (id, false)
            }
        };
        tx.commit().map_err(db(OPERATION))?;
        Ok(result)
    }

    fn claim_job(
        &self,
        kinds: &[&str],
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Option<Job>, StoreError> {
        const OPERATION: &str = "claim job";
        let mut connection = self.connection();
        // IMMEDIATE: the write lock is held from the choice of the job to its update, so two
        // claimers (in any process) never choose the same job.
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        let now_text = format_time(now);
        let row = tx
            .query_row(
                &format!(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, claimed_by = ?2,
                                     lease_until = ?3
                     WHERE id = (
                         SELECT id FROM jobs
                         WHERE kind IN (SELECT value FROM json_each(?1))
                           AND (state = 'queued' OR (state = 'running' AND lease_until <= ?4))
                         ORDER BY id LIMIT 1)
                     RETURNING {JOB_COLUMNS}"
                ),
                params![text_list(kinds), worker, format_time(now + lease), now_text],
                read_job_row,
            )
            .optional()
            .map_err(db(OPERATION))?;
        tx.commit().map_err(db(OPERATION))?;
        row.map(|row| job(OPERATION, row)).transpose()
    }

    fn renew_job(
        &self,
        id: i64,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<bool, StoreError> {
        const OPERATION: &str = "renew job";
        let updated = self
            .connection()
            .execute(
                "UPDATE jobs SET lease_until = ?3
                 WHERE id = ?1 AND claimed_by = ?2 AND state = 'running'",
                params![id, worker, format_time(now + lease)],
            )
            .map_err(db(OPERATION))?;
        Ok(updated == 1)
    }

    fn finish_job(
        &self,
        id: i64,
        worker: &str,
        ok: bool,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        const OPERATION: &str = "finish job";
        let state = if ok { crate::JobState::Done } else { crate::JobState::Failed };
        let updated = self
            .connection()
            .execute(
                "UPDATE jobs SET state = ?3, result = ?4, finished = ?5, lease_until = NULL
                 WHERE id = ?1 AND claimed_by = ?2 AND state = 'running'",
                params![id, worker, state.as_str(), work::json_text(result), format_time(now)],
            )
            .map_err(db(OPERATION))?;
        Ok(updated == 1)
    }

    fn jobs(&self, after: Option<i64>, limit: u32) -> Result<Vec<Job>, StoreError> {
        const OPERATION: &str = "list jobs";
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(params![after.unwrap_or(i64::MIN), i64::from(limit)], read_job_row)
            .map_err(db(OPERATION))?;
        let mut jobs = Vec::new();
        for row in rows {
            jobs.push(job(OPERATION, row.map_err(db(OPERATION))?)?);
        }
        Ok(jobs)
    }

    fn advisory_fingerprints(&self) -> Result<Vec<AdvisoryFingerprint>, StoreError> {
        const OPERATION: &str = "read advisory fingerprints";
        let connection = self.connection();
        let mut statement = connection
            .prepare_cached("SELECT id, fingerprint, keys FROM advisory_fingerprints ORDER BY id")
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
            })
            .map_err(db(OPERATION))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, fingerprint, keys) = row.map_err(db(OPERATION))?;
            out.push(AdvisoryFingerprint {
                id,
                fingerprint,
                keys: work::parse_keys(BACKEND, OPERATION, &keys)?,
            });
        }
        Ok(out)
    }

    fn save_advisory_fingerprints(
        &self,
        upsert: &[AdvisoryFingerprint],
        delete: &[String],
    ) -> Result<(), StoreError> {
        const OPERATION: &str = "save advisory fingerprints";
        let mut connection = self.connection();
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db(OPERATION))?;
        {
            let mut remove = tx
                .prepare_cached("DELETE FROM advisory_fingerprints WHERE id = ?1")
                .map_err(db(OPERATION))?;
            for id in delete {
                remove.execute([id]).map_err(db(OPERATION))?;
            }
            let mut save = tx
                .prepare_cached(
                    "INSERT INTO advisory_fingerprints (id, fingerprint, keys) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint,
                                                    keys = excluded.keys",
                )
                .map_err(db(OPERATION))?;
            for record in upsert {
                save.execute(params![record.id, record.fingerprint, work::keys_text(&record.keys)])
                    .map_err(db(OPERATION))?;
            }
        }
        tx.commit().map_err(db(OPERATION))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn migrations_end_at_the_schema_version() {
        assert_eq!(MIGRATIONS.last().map(|m| m.0), Some(SCHEMA_VERSION));
    }

    #[test]
    fn stored_times_sort_as_text() {
        let times = [
            Utc.with_ymd_and_hms(2025, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::microseconds(1),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 1).unwrap(),
        ];
        let texts: Vec<String> = times.iter().copied().map(format_time).collect();
        assert_eq!(texts[1], "2026-01-01T00:00:00.000001Z");
        let mut sorted = texts.clone();
        sorted.sort();
        assert_eq!(sorted, texts);
        for (time, text) in times.iter().zip(&texts) {
            assert_eq!(parse_time("test", text).unwrap(), *time);
        }
        assert!(matches!(parse_time("test", "yesterday"), Err(StoreError::Corrupt { .. })));
    }
}
