//! The fleet server's store: hosts, their package inventories with history, and a
//! package → hosts reverse index, behind one blocking [`Store`] trait with a SQLite
//! ([`open`] on a path or `sqlite://` URL) and a PostgreSQL (`postgres://` URL) implementation.
//!
//! The trait is blocking on purpose: the server calls it on tokio's blocking pool, and SQLite
//! (rusqlite, already in the workspace) is synchronous anyway. See ARCHITECTURE.md.

#![forbid(unsafe_code)]

mod diff;
mod error;
mod findings;
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

/// One finding as matching produced it: an advisory applies to a package installed on a host.
/// Identity on a host is `(advisory, ecosystem, package)`; the rest can change while the
/// finding stays open.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    /// The advisory's shown id, e.g. `DSA-5678-1` or `RUSTSEC-2023-0001`.
    pub advisory: String,
    /// The advisory's other names (CVE, GHSA...). None may contain a newline.
    pub aliases: Vec<String>,
    /// The inventory's ecosystem, e.g. `Debian:12`, `crates.io`.
    pub ecosystem: String,
    /// The package as the inventory names it (the binary package for OS packages).
    pub package: String,
    /// The installed version the finding was last computed for.
    pub version: String,
    /// The severity level, e.g. `high`.
    pub severity: Option<String>,
    /// The severity score (CVSS scale, 0–10).
    pub score: Option<f64>,
}

/// A finding that is open now.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenFinding {
    pub host: HostId,
    pub row: FindingRow,
    /// When this finding (this opening of it) was first seen.
    pub first_seen: DateTime<Utc>,
}

/// What one [`Store::apply_findings`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FindingsDiff {
    /// Findings opened (each with a [`EventKind::FindingNew`] event).
    pub new: usize,
    /// Findings resolved (each with a [`EventKind::FindingResolved`] event).
    pub resolved: usize,
    /// Findings that were open and still are (their version or rating may have been updated).
    pub unchanged: usize,
}

/// Which open findings [`Store::open_findings`] returns: every `Some` condition must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindingFilter {
    pub host: Option<HostId>,
    /// The shown id or any alias (a CVE finds the DSA that names it).
    pub advisory: Option<String>,
    pub ecosystem: Option<String>,
    /// The severity level exactly as stored, e.g. `high`.
    pub severity: Option<String>,
}

/// Keyset pagination over open findings ordered by `(host, advisory, ecosystem, package)`
/// (byte order): those after `after`, at most `limit`. Pass the last finding's key of one page
/// ([`OpenFinding::key`]) as `after` to get the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingPage {
    pub after: Option<(HostId, String, String, String)>,
    pub limit: u32,
}

impl FindingPage {
    /// The first page of `limit` findings.
    pub fn first(limit: u32) -> FindingPage {
        FindingPage { after: None, limit }
    }
}

impl OpenFinding {
    /// The finding's identity, in the form [`FindingPage::after`] takes.
    pub fn key(&self) -> (HostId, String, String, String) {
        (self.host, self.row.advisory.clone(), self.row.ecosystem.clone(), self.row.package.clone())
    }
}

/// What an [`Event`] says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    FindingNew,
    FindingResolved,
}

impl EventKind {
    /// The spelling stored in the database (`events.kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::FindingNew => "finding-new",
            EventKind::FindingResolved => "finding-resolved",
        }
    }

    /// Parses the stored spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<EventKind> {
        match text {
            "finding-new" => Some(EventKind::FindingNew),
            "finding-resolved" => Some(EventKind::FindingResolved),
            _ => None,
        }
    }
}

/// One entry of the append-only event feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Increasing in commit order: a reader that pages with `after` never misses one.
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub host: HostId,
    pub advisory: String,
    pub ecosystem: String,
    pub package: String,
    /// The installed version when the finding opened, or its last version when resolved.
    pub version: String,
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

    /// Reverse index by source package: every host whose *current* inventory has a package of
    /// `ecosystem` built from `source`, with that package's name and version, ordered by host id
    /// then name. OS advisories name source packages; this finds the hosts they concern.
    fn hosts_with_source(
        &self,
        ecosystem: &str,
        source: &str,
    ) -> Result<Vec<(HostId, String, String)>, StoreError>;

    /// In one transaction, with the host locked: `current` is the host's complete finding set
    /// now. Findings not open yet are opened (`first_seen = at`) with a
    /// [`EventKind::FindingNew`] event; open findings missing from `current` get
    /// `resolved_at = at` and a [`EventKind::FindingResolved`] event; a finding resolved earlier
    /// that reappears is a new finding. Open findings still in `current` stay open; their
    /// version, aliases and rating are updated without an event.
    ///
    /// Two rows with the same `(advisory, ecosystem, package)` are refused
    /// ([`StoreError::InvalidInput`]), as is an unknown host ([`StoreError::UnknownHost`]).
    fn apply_findings(
        &self,
        host: HostId,
        at: DateTime<Utc>,
        current: &[FindingRow],
    ) -> Result<FindingsDiff, StoreError>;

    /// Open findings matching `filter`, in key order, one page at a time.
    fn open_findings(
        &self,
        filter: &FindingFilter,
        page: FindingPage,
    ) -> Result<Vec<OpenFinding>, StoreError>;

    /// Events with id greater than `after` (all for `None`), oldest first, at most `limit`.
    fn events(&self, after: Option<i64>, limit: u32) -> Result<Vec<Event>, StoreError>;
}

/// The newest schema version this build knows, per backend (both are at the same version).
pub const SCHEMA_VERSION: i64 = 2;

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
