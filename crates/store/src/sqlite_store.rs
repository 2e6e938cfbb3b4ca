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

use crate::diff::{self, InventoryDelta};
use crate::findings::{self, join_aliases, split_aliases};
use crate::security;
use crate::{
    as_set, check_report, Backend, Change, ChangeKind, Event, EventKind, FindingFilter,
    FindingPage, FindingRow, FindingsDiff, HostFilter, HostId, HostInfo, HostRecord, InventoryDiff,
    OpenFinding, PackageRow, Page, Store, StoreError, TokenOwner, TokenRecord, UserId, UserRecord,
    SCHEMA_VERSION,
};

const BACKEND: Backend = Backend::Sqlite;

/// Versioned migrations, applied in order; the last one is [`SCHEMA_VERSION`].
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_findings.sql")),
    (3, include_str!("../migrations/sqlite/0003_security.sql")),
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
            "SELECT ecosystem, name, version, source FROM packages WHERE host_id = ?1
             ORDER BY ecosystem, name",
        )
        .map_err(db(operation))?;
    let rows = statement
        .query_map([host.0], |row| {
            Ok(PackageRow {
                ecosystem: row.get(0)?,
                name: row.get(1)?,
                version: row.get(2)?,
                source: row.get(3)?,
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
) -> Result<Vec<Change>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT at, kind, ecosystem, name, from_version, to_version, source FROM changes
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
            ))
        })
        .map_err(db(operation))?;
    let mut changes = Vec::new();
    for row in rows {
        let (at, kind, ecosystem, name, from, to, source) = row.map_err(db(operation))?;
        let kind = ChangeKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            backend: BACKEND,
            operation,
            message: format!("change kind {kind:?}"),
        })?;
        changes.push(Change {
            at: parse_time(operation, &at)?,
            kind,
            ecosystem,
            name,
            from,
            to,
            source,
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
            "INSERT INTO packages (host_id, ecosystem, name, version, source)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (host_id, ecosystem, name)
             DO UPDATE SET version = excluded.version, source = excluded.source",
        )
        .map_err(db(operation))?;
    for package in &delta.upserts {
        upsert
            .execute(params![
                host.0,
                package.ecosystem,
                package.name,
                package.version,
                package.source
            ])
            .map_err(db(operation))?;
    }
    let mut append = connection
        .prepare_cached(
            "INSERT INTO changes
                 (host_id, at, kind, ecosystem, name, from_version, to_version, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
                change.source
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
                        i64::from(page.limit)
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
        history(&connection, OPERATION, host, since, None)
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
            let rows = statement
                .query_map([host.0], |row| {
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
                })
                .map_err(db(OPERATION))?;
            rows.collect::<Result<_, _>>().map_err(db(OPERATION))?
        };
        let plan = findings::plan(open, current);
        let at = format_time(at);
        let mut event = tx
            .prepare_cached(
                "INSERT INTO events (at, kind, host_id, advisory, ecosystem, package, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .map_err(db(OPERATION))?;
        let mut resolve = tx
            .prepare_cached("UPDATE findings SET resolved_at = ?2 WHERE id = ?1")
            .map_err(db(OPERATION))?;
        for (id, row) in &plan.resolve {
            resolve.execute(params![id, at]).map_err(db(OPERATION))?;
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
                .map_err(db(OPERATION))?;
        }
        let mut update = tx
            .prepare_cached(
                "UPDATE findings SET version = ?2, aliases = ?3, severity = ?4, score = ?5
                 WHERE id = ?1",
            )
            .map_err(db(OPERATION))?;
        for (id, row) in &plan.update {
            update
                .execute(params![
                    id,
                    row.version,
                    join_aliases(&row.aliases),
                    row.severity,
                    row.score
                ])
                .map_err(db(OPERATION))?;
        }
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO findings (host_id, advisory, ecosystem, package, version, aliases,
                                       severity, score, first_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .map_err(db(OPERATION))?;
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
                .map_err(db(OPERATION))?;
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
                .map_err(db(OPERATION))?;
        }
        let diff = plan.counts();
        drop((event, resolve, update, insert));
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
            .prepare_cached(
                "SELECT host_id, advisory, aliases, ecosystem, package, version, severity, score,
                        first_seen
                 FROM findings
                 WHERE resolved_at IS NULL
                   AND (?1 IS NULL OR (host_id, advisory, ecosystem, package) > (?1, ?2, ?3, ?4))
                   AND (?5 IS NULL OR host_id = ?5)
                   AND (?6 IS NULL OR advisory = ?6
                        OR instr(char(10) || aliases || char(10), char(10) || ?6 || char(10)) > 0)
                   AND (?7 IS NULL OR ecosystem = ?7)
                   AND (?8 IS NULL OR severity = ?8)
                 ORDER BY host_id, advisory, ecosystem, package
                 LIMIT ?9",
            )
            .map_err(db(OPERATION))?;
        let rows = statement
            .query_map(
                params![
                    after_host,
                    after_advisory,
                    after_ecosystem,
                    after_package,
                    filter.host.map(|host| host.0),
                    filter.advisory,
                    filter.ecosystem,
                    filter.severity,
                    i64::from(page.limit)
                ],
                |row| {
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
                },
            )
            .map_err(db(OPERATION))?;
        let mut out = Vec::new();
        for found in rows {
            let (host, row, first_seen) = found.map_err(db(OPERATION))?;
            out.push(OpenFinding { host, row, first_seen: parse_time(OPERATION, &first_seen)? });
        }
        Ok(out)
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
