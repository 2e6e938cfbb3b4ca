//! The fleet server's store: hosts, their package inventories with history, and a
//! package → hosts reverse index, behind one blocking [`Store`] trait with a SQLite
//! ([`open`] on a path or `sqlite://` URL) and a PostgreSQL (`postgres://` URL) implementation.
//!
//! The trait is blocking on purpose: the server calls it on tokio's blocking pool, and SQLite
//! (rusqlite, already in the workspace) is synchronous anyway. See ARCHITECTURE.md.

#![forbid(unsafe_code)]

mod diff;
mod error;
mod location;
mod postgres_store;
mod sqlite_store;

use std::fmt;

use chrono::{DateTime, Utc};

pub use error::{Backend, StoreError};
use location::Location;

/// A host's id in the store: assigned on first [`Store::upsert_host`], never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostId(pub i64);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What an agent says about its host. `name` is the host's identity in the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostInfo {
    /// Unique name (usually the FQDN).
    pub name: String,
    /// OSV ecosystem of the operating system, e.g. `Debian:12`.
    pub os: Option<String>,
    /// Groups the host belongs to. Stored as a set: returned sorted, without duplicates.
    pub groups: Vec<String>,
    /// Free-form tags. Stored as a set: returned sorted, without duplicates.
    pub tags: Vec<String>,
}

/// A host as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRecord {
    pub id: HostId,
    pub info: HostInfo,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// Which hosts [`Store::hosts`] returns: every `Some` condition must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFilter {
    pub group: Option<String>,
    pub tag: Option<String>,
    pub os: Option<String>,
}

/// Keyset pagination over hosts ordered by id: the hosts with id greater than `after`, at most
/// `limit` of them. Pass the last id of one page as `after` to get the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub after: Option<HostId>,
    pub limit: u32,
}

impl Page {
    /// The first page of `limit` hosts.
    pub fn first(limit: u32) -> Page {
        Page { after: None, limit }
    }
}

/// One installed package. Identity within a host's inventory is `(ecosystem, name)`; the order
/// is by ecosystem, name, then version and source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageRow {
    /// OSV ecosystem, e.g. `Debian:12`, `PyPI`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// Source package (Debian source, RPM source RPM...), when the ecosystem has one.
    pub source: Option<String>,
}

/// How a package differs between two consecutive inventories of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    Added,
    Removed,
    /// Same `(ecosystem, name)`, different version or source.
    Changed,
}

impl ChangeKind {
    /// The spelling stored in the database (`changes.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
        }
    }

    /// Parses the stored spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<ChangeKind> {
        match text {
            "added" => Some(ChangeKind::Added),
            "removed" => Some(ChangeKind::Removed),
            "changed" => Some(ChangeKind::Changed),
            _ => None,
        }
    }
}

/// One entry of a host's append-only package history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The time of the report that revealed the change.
    pub at: DateTime<Utc>,
    pub kind: ChangeKind,
    pub ecosystem: String,
    pub name: String,
    /// Version before the change (`None` for [`ChangeKind::Added`]).
    pub from: Option<String>,
    /// Version after the change (`None` for [`ChangeKind::Removed`]).
    pub to: Option<String>,
    /// Source package after the change (`None` for [`ChangeKind::Removed`]).
    pub source: Option<String>,
}

/// What one [`Store::record_inventory`] call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InventoryDiff {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    /// The `(host, idempotency_key)` was already recorded: these are the first call's counts
    /// and nothing was changed.
    pub duplicate: bool,
}

/// The fleet store. Every method is blocking and may be called from several threads.
///
/// **API boundary:** times are stored with microsecond precision (finer input is truncated),
/// in UTC.
pub trait Store: Send + Sync + fmt::Debug {
    /// Which database this is (for messages).
    fn backend(&self) -> Backend;

    /// Creates the host named `host.name`, or updates its os, groups and tags. `last_seen`
    /// becomes `now` (it never moves backwards); `first_seen` is set on creation only.
    fn upsert_host(&self, host: &HostInfo, now: DateTime<Utc>) -> Result<HostId, StoreError>;

    /// The host with this id, if any.
    fn host(&self, id: HostId) -> Result<Option<HostRecord>, StoreError>;

    /// Hosts matching `filter`, ordered by id, one page at a time.
    fn hosts(&self, filter: &HostFilter, page: Page) -> Result<Vec<HostRecord>, StoreError>;

    /// In one transaction: compares `packages` with the host's current inventory, appends one
    /// [`Change`] per difference (at time `at`) and makes `packages` the current inventory.
    ///
    /// The same `(host, idempotency_key)` again returns the first call's diff with
    /// `duplicate = true` and changes nothing, also when two processes race (a unique
    /// constraint decides, not a read-then-write). A report older than the host's latest
    /// report is refused ([`StoreError::OutOfOrder`]) so history stays in time order; two
    /// packages with the same `(ecosystem, name)` are refused ([`StoreError::InvalidInput`]).
    fn record_inventory(
        &self,
        host: HostId,
        at: DateTime<Utc>,
        packages: &[PackageRow],
        idempotency_key: &str,
    ) -> Result<InventoryDiff, StoreError>;

    /// The host's current inventory, sorted.
    fn current_packages(&self, host: HostId) -> Result<Vec<PackageRow>, StoreError>;

    /// The host's inventory as it was at `at` (reports at exactly `at` included), rebuilt from
    /// the change history; empty before the first report. Sorted.
    fn packages_at(&self, host: HostId, at: DateTime<Utc>) -> Result<Vec<PackageRow>, StoreError>;

    /// The host's changes at or after `since` (all of them for `None`), oldest first.
    fn changes(
        &self,
        host: HostId,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<Change>, StoreError>;

    /// Reverse index: every host whose *current* inventory has `(ecosystem, name)`, with the
    /// installed version, ordered by host id.
    fn hosts_with_package(
        &self,
        ecosystem: &str,
        name: &str,
    ) -> Result<Vec<(HostId, String)>, StoreError>;
}

/// The newest schema version this build knows, per backend (both are at the same version).
pub const SCHEMA_VERSION: i64 = 1;

/// Opens (creating and migrating as needed) the store at `url`:
///
/// - `sqlite:///var/lib/ward/ward.db`, `sqlite://relative.db` or a plain path → SQLite;
/// - `postgres://…` or `postgresql://…` → PostgreSQL (libpq-style URL; a schema can be chosen
///   with `options=-csearch_path%3Dmy_schema`).
///
/// A database written by a newer ward (higher schema version) is refused with
/// [`StoreError::SchemaTooNew`]. Passwords never appear in errors.
pub fn open(url: &str) -> Result<Box<dyn Store>, StoreError> {
    match Location::parse(url)? {
        Location::Sqlite(path) => Ok(Box::new(sqlite_store::SqliteStore::open(&path)?)),
        Location::Postgres(url) => Ok(Box::new(postgres_store::PostgresStore::open(&url)?)),
    }
}

/// Groups and tags are sets: sorted, without duplicates.
pub(crate) fn as_set(values: &[String]) -> Vec<String> {
    let set: std::collections::BTreeSet<&String> = values.iter().collect();
    set.into_iter().cloned().collect()
}

/// The checks every backend makes before recording an inventory.
pub(crate) fn check_report(
    backend: Backend,
    packages: &[PackageRow],
    idempotency_key: &str,
) -> Result<(), StoreError> {
    const OPERATION: &str = "record inventory";
    if idempotency_key.is_empty() {
        return Err(StoreError::InvalidInput {
            backend,
            operation: OPERATION,
            message: "the idempotency key is empty".to_owned(),
        });
    }
    if let Some((ecosystem, name)) = diff::duplicate_identity(packages) {
        return Err(StoreError::InvalidInput {
            backend,
            operation: OPERATION,
            message: format!("package {ecosystem}/{name} is listed twice"),
        });
    }
    Ok(())
}
