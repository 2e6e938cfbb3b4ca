//! `StoreError`: every failure names the backend and the operation; none carries a password.

use std::fmt;

use crate::{HostId, UserId};

/// The database behind a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite store",
            Backend::Postgres => "PostgreSQL store",
        })
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no backend ward knows.
    #[error("store URL {url:?}: expected a path, sqlite://PATH, postgres://… or postgresql://…")]
    UnsupportedUrl { url: String },

    /// Connecting to or opening the database failed. `location` has its password masked.
    #[error("{backend}: cannot open {location}: {message}")]
    Open { backend: Backend, location: String, message: String },

    /// The database was written by a newer ward.
    #[error(
        "{backend}: database schema version {found} is newer than the {supported} this ward \
         supports; upgrade ward (or point it at another database)"
    )]
    SchemaTooNew { backend: Backend, found: i64, supported: i64 },

    /// The database refused or failed a statement.
    #[error("{backend}: {operation}: {message}")]
    Database { backend: Backend, operation: &'static str, message: String },

    /// A stored value cannot be read back (corrupt or foreign data); never a panic.
    #[error("{backend}: {operation}: unreadable stored data: {message}")]
    Corrupt { backend: Backend, operation: &'static str, message: String },

    /// The operation names a host that is not in the store.
    #[error("{backend}: {operation}: no host with id {host}")]
    UnknownHost { backend: Backend, operation: &'static str, host: HostId },

    /// The operation names a user that is not in the store.
    #[error("{backend}: {operation}: no user with id {user}")]
    UnknownUser { backend: Backend, operation: &'static str, user: UserId },

    /// Something unique is taken: `what` names it (`user "alice"`, `token 0123456789ab`).
    #[error("{backend}: {operation}: {what} already exists")]
    AlreadyExists { backend: Backend, operation: &'static str, what: String },

    /// A report older than the host's latest one.
    #[error(
        "{backend}: record inventory: report for host {host} at {at} is older than its latest \
         report at {latest}; history is kept in time order"
    )]
    OutOfOrder { backend: Backend, host: HostId, at: String, latest: String },

    /// The caller passed something the store cannot keep.
    #[error("{backend}: {operation}: {message}")]
    InvalidInput { backend: Backend, operation: &'static str, message: String },
}
