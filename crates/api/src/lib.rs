//! The JSON documents of ward's HTTP API (`/api/v1`), shared by `ward server` and `ward agent`
//! so both sides agree by construction. Pure serde types: no IO.
//!
//! Two families:
//! - [`agent`]: what an agent sends (enrollment, inventory reports with compact diffs,
//!   heartbeats) and what the server answers;
//! - [`view`]: what the server returns to people and scripts (hosts, findings, events,
//!   advisories, users, tokens, jobs, the audit log), and the bodies of their requests.
//!
//! Every error response is an [`ErrorBody`]. Times are RFC 3339 in UTC. See docs/api.md.

#![forbid(unsafe_code)]

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub mod agent;
pub mod view;

/// The body of every error response: `{"error": {"code": "...", "message": "..."}}`. `code` is
/// stable (scripts may branch on it); `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// See [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable: `unauthenticated`, `forbidden`, `not-found`, `invalid-request`, `conflict`,
    /// `base-mismatch`, `locked-out`, `too-large`, `unavailable`, `internal`.
    pub code: String,
    pub message: String,
}

impl ErrorBody {
    /// An error body with this code and message.
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.into() } }
    }
}

/// One page of a list. `next` is the opaque cursor to pass as `?after=` for the following
/// page; absent on the last page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The header an agent puts its report's idempotency key in (the spool entry's key: 32
/// lowercase hex digits). The same key twice is stored once.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The largest request body the server reads (an inventory of 100,000 packages fits).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
