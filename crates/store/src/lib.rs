//! The fleet server's store: hosts, their package inventories with history, a package → hosts
//! reverse index, findings and events, and the server's security state (users, tokens, lockout
//! states, the hash-chained audit log), behind one blocking [`Store`] trait with a SQLite
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
mod security;
mod sqlite_store;
mod work;

use std::fmt;

use chrono::{DateTime, Utc};
use ward_auth::audit::{AuditEntry, AuditEntryRef};
use ward_auth::lockout::{State, Subject};
use ward_auth::role::Role;
use ward_auth::scope::Scope;
use ward_auth::token::StoredToken;

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
    /// Hosts with at least one open finding whose severity level is one of these (e.g. `high`,
    /// `critical`); empty = no condition.
    pub severities: Vec<String>,
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
    /// The source package's version when it differs from `version` (binNMU `+b1`, another
    /// epoch); `None` when it is the same or there is no source.
    pub source_version: Option<String>,
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
    /// Findings whose severity level is one of these, exactly as stored (e.g. `high`);
    /// empty = no condition.
    pub severities: Vec<String>,
    /// Findings on hosts in this group.
    pub group: Option<String>,
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

/// A unit of work that must happen once across every server process on one store (a re-match
/// after an index change, a notification). Identity is `(kind, key)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    /// `[a-z0-9-]+`, e.g. `rematch`.
    pub kind: String,
    /// Deduplication key within the kind, e.g. the advisory index's digest.
    pub key: String,
    pub payload: serde_json::Value,
    pub state: JobState,
    /// How many times it was claimed.
    pub attempts: u32,
    pub created: DateTime<Utc>,
    /// The worker holding (or that last held) the claim.
    pub claimed_by: Option<String>,
    /// A claim expires at this time: another worker may then claim the job again.
    pub lease_until: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    /// What the worker reported when finishing.
    pub result: Option<serde_json::Value>,
}

/// Where a [`Job`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobState {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobState {
    /// The spelling stored in the database and shown by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// Parses the stored spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<JobState> {
        [JobState::Queued, JobState::Running, JobState::Done, JobState::Failed]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// One host's part of [`Store::apply_findings_scoped`]: `current` is the complete finding set of
/// the packages in `scope` (`(ecosystem, package)` pairs); findings of other packages are not
/// touched.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopedFindings {
    pub host: HostId,
    pub scope: Vec<(String, String)>,
    pub current: Vec<FindingRow>,
}

/// What the store remembers of one advisory record, to tell which records an index update
/// changed: a fingerprint of the record's content and the `(ecosystem, name)` keys it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdvisoryFingerprint {
    pub id: String,
    pub fingerprint: String,
    pub keys: Vec<(String, String)>,
}

/// A user's id in the store: assigned by [`Store::create_user`], never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A user as stored. `Debug` shows the PHC string: it is a salted argon2id hash, not a secret
/// that lets anyone log in, but callers should still not log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    /// Unique.
    pub name: String,
    pub role: Role,
    /// The argon2id PHC string from `ward_auth::password::hash`.
    pub password_phc: String,
    pub created: DateTime<Utc>,
    /// A disabled user may not log in and its tokens do not authenticate (the server checks).
    pub disabled: bool,
}

/// Who a token belongs to. The kind decides: API tokens belong to a user, agent credentials to
/// a host, enrollment tokens to nobody ([`Store::add_token`] refuses any other pairing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenOwner {
    User(UserId),
    Host(HostId),
    /// An enrollment token: one-time, owned by nobody until an agent uses it.
    Unowned,
}

/// A token as stored: ward-auth's [`StoredToken`] (kind, id, hash of the secret) and its
/// bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub stored: StoredToken,
    pub owner: TokenOwner,
    /// What an API token may do; a set in scope order (read, operate, admin), empty for other
    /// kinds.
    pub scopes: Vec<Scope>,
    pub created: DateTime<Utc>,
    /// The token is refused at and after this time.
    pub expires: Option<DateTime<Utc>>,
    /// When it was revoked (first revocation only).
    pub revoked: Option<DateTime<Utc>>,
    /// When an enrollment token was consumed ([`Store::consume_enrollment`]).
    pub used: Option<DateTime<Utc>>,
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

    /// Creates a user (not disabled). The name must be non-empty and unique: an existing name is
    /// [`StoreError::AlreadyExists`].
    fn create_user(
        &self,
        name: &str,
        role: Role,
        password_phc: &str,
        now: DateTime<Utc>,
    ) -> Result<UserId, StoreError>;

    /// The user with this name, if any.
    fn user_by_name(&self, name: &str) -> Result<Option<UserRecord>, StoreError>;

    /// The user with this id, if any (a token's owner).
    fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;

    /// Every user, by id.
    fn users(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Replaces the user's PHC string ([`StoreError::UnknownUser`] if there is no such user).
    fn set_password(&self, user: UserId, password_phc: &str) -> Result<(), StoreError>;

    /// Disables or re-enables the user ([`StoreError::UnknownUser`] if there is no such user).
    fn set_user_disabled(&self, user: UserId, disabled: bool) -> Result<(), StoreError>;

    /// Stores a token. The owner must fit the kind (API → [`TokenOwner::User`], agent →
    /// [`TokenOwner::Host`], enrollment → [`TokenOwner::Unowned`]) and only API tokens carry
    /// scopes ([`StoreError::InvalidInput`] otherwise); the owner must exist
    /// ([`StoreError::UnknownUser`], [`StoreError::UnknownHost`]); a token id already stored is
    /// [`StoreError::AlreadyExists`]. Scopes are kept as a set.
    fn add_token(
        &self,
        token: &StoredToken,
        owner: TokenOwner,
        scopes: &[Scope],
        expires: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The token with this id, if any, whatever its state (the caller checks revocation and
    /// expiry, and verifies the secret with `ward_auth::token::verify`).
    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token of `owner`, whatever its state, by id (to revoke a host's agent credentials).
    fn tokens_of(&self, owner: TokenOwner) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes the token at `now`. `false` if there is no such token or it was already revoked
    /// (the first revocation time stays).
    fn revoke_token(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// One-time use: marks the enrollment token `id` used at `now` if it is an enrollment token
    /// that is unused, unrevoked and unexpired (`now < expires`), in one atomic statement; `true`
    /// if this call consumed it. Of two servers racing for one token exactly one gets `true`.
    fn consume_enrollment(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError>;

    /// The lockout state of one account (`key` = account name) or source address (`key` = the
    /// address as text); the default (empty) state when none is stored.
    fn lockout_state(&self, subject: Subject, key: &str) -> Result<State, StoreError>;

    /// Stores the lockout state (a default state deletes the row: nothing to remember).
    fn save_lockout_state(
        &self,
        subject: Subject,
        key: &str,
        state: &State,
    ) -> Result<(), StoreError>;

    /// Appends one entry to the audit log's hash chain (`ward_auth::audit::append` over the
    /// last entry) and moves the anchor to it, in one transaction that serializes appenders
    /// (SQLite `BEGIN IMMEDIATE`, PostgreSQL an advisory lock): concurrent appenders from any
    /// number of processes make one chain, seq 1, 2, … without gaps or forks.
    ///
    /// A log whose last entry is not its anchor (a deleted or rewritten tail) is not appended to:
    /// [`StoreError::Corrupt`], so a new entry never hides the damage. `detail` must not be a
    /// secret.
    fn append_audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<AuditEntry, StoreError>;

    /// Audit entries with seq greater than `after_seq` (all for `None`), by seq, at most `limit`.
    fn audit_entries(
        &self,
        after_seq: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// The anchor: seq and hash of the last appended entry (`None` before the first append).
    /// Check the log with `ward_auth::audit::verify_with_anchor`.
    fn audit_anchor(&self) -> Result<Option<AuditEntryRef>, StoreError>;
    // ---- schema 4: host facts, report keys, groups, risk order, scoped findings, jobs ----

    /// Stores the host's latest facts as reported by its agent (OS, kernel, reboot and restart
    /// needs, pending updates...: a JSON object the store does not interpret), replacing the
    /// previous ones. [`StoreError::UnknownHost`] for an unknown host.
    fn set_host_facts(
        &self,
        host: HostId,
        facts: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The host's latest facts and when they were reported (`None` before the first, and for an
    /// unknown host).
    fn host_facts(
        &self,
        host: HostId,
    ) -> Result<Option<(DateTime<Utc>, serde_json::Value)>, StoreError>;

    /// The idempotency key and time of the host's latest recorded inventory (`None` before the
    /// first, and for an unknown host): an agent's compact diff names the report it is relative
    /// to. Of reports at the same time, the one recorded last.
    fn last_report(&self, host: HostId) -> Result<Option<(String, DateTime<Utc>)>, StoreError>;

    /// Every group with how many hosts are in it, by name (byte order).
    fn groups(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Every tag with how many hosts carry it, by name (byte order).
    fn tags(&self) -> Result<Vec<(String, u64)>, StoreError>;

    /// Per host (of `hosts`), how many open findings it has per severity level, `unknown` for
    /// findings without one (a host without any is absent).
    fn finding_counts(
        &self,
        hosts: &[HostId],
    ) -> Result<
        std::collections::BTreeMap<HostId, std::collections::BTreeMap<String, u64>>,
        StoreError,
    >;

    /// Open findings matching `filter` ordered by risk: score descending (no score last), then
    /// oldest `first_seen` first, then key; `offset` findings skipped, at most `limit`.
    fn open_findings_by_risk(
        &self,
        filter: &FindingFilter,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<OpenFinding>, StoreError>;

    /// Every `(host, package)` of a *current* inventory whose `(ecosystem, name)` or
    /// `(ecosystem, source)` is one of `keys`, ordered by host then package, in as few
    /// statements as the backend allows: what [`apply_findings_scoped`](Store::apply_findings_scoped)
    /// re-matches after advisories for those keys changed.
    fn packages_for_keys(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<(HostId, PackageRow)>, StoreError>;

    /// [`apply_findings`](Store::apply_findings) restricted to each part's scope, for many hosts
    /// in one transaction (hosts locked in id order): within a scope, findings not open yet are
    /// opened with an event and open ones missing from `current` are resolved with an event;
    /// findings outside the scope are untouched. A `current` row outside its scope, or two rows
    /// with one identity, is [`StoreError::InvalidInput`]; an unknown host
    /// [`StoreError::UnknownHost`]; either way nothing is written.
    fn apply_findings_scoped(
        &self,
        at: DateTime<Utc>,
        parts: &[ScopedFindings],
    ) -> Result<FindingsDiff, StoreError>;

    /// Queues a job unless one with the same `(kind, key)` exists (in any state). Returns the
    /// job's id and whether this call created it; of two servers racing exactly one creates it.
    fn enqueue_job(
        &self,
        kind: &str,
        key: &str,
        payload: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool), StoreError>;

    /// Claims the oldest claimable job of one of `kinds` for `worker` until `now + lease`: a
    /// queued job, or a running one whose lease expired. PostgreSQL uses `FOR UPDATE SKIP
    /// LOCKED`, SQLite `BEGIN IMMEDIATE`: of any number of concurrent claimers exactly one gets
    /// a given job. The returned job is `Running` with `attempts` incremented.
    fn claim_job(
        &self,
        kinds: &[&str],
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Option<Job>, StoreError>;

    /// Extends the claim of a running job held by `worker` to `now + lease`; `false` if the
    /// worker no longer holds it.
    fn renew_job(
        &self,
        id: i64,
        worker: &str,
        now: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<bool, StoreError>;

    /// Finishes a job held by `worker` (`Done` or `Failed`, with a result); `false`, changing
    /// nothing, if the worker no longer holds it (its lease expired and another claimed it).
    fn finish_job(
        &self,
        id: i64,
        worker: &str,
        ok: bool,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Jobs with id greater than `after`, by id, at most `limit`.
    fn jobs(&self, after: Option<i64>, limit: u32) -> Result<Vec<Job>, StoreError>;

    /// Every stored advisory fingerprint, by id.
    fn advisory_fingerprints(&self) -> Result<Vec<AdvisoryFingerprint>, StoreError>;

    /// In one transaction: upserts `upsert` and deletes the ids in `delete`.
    fn save_advisory_fingerprints(
        &self,
        upsert: &[AdvisoryFingerprint],
        delete: &[String],
    ) -> Result<(), StoreError>;
}

/// The newest schema version this build knows, per backend (both are at the same version).
pub const SCHEMA_VERSION: i64 = 4;

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
