//! ward's host agent (`ward agent`): it runs on each host, collects the inventory and host
//! facts, and reports them to `ward server`.
//!
//! - [`run`]: the [`Agent`]: collect → report (a compact diff when little changed) → spool →
//!   deliver; heartbeats; the schedule. [`enroll`] trades a one-time token for a credential.
//! - [`client`]: the HTTP calls of the protocol (`ward_api::agent`) and what each answer means.
//! - [`diff`]: compact inventories (pure).
//! - [`state`]: the state directory (credential 0600, the last built and accepted reports).
//! - [`spool`]: the on-disk outbox; results wait there while the server is unreachable and
//!   are delivered exactly once when it returns. [`backoff`] spaces the retries.

pub mod backoff;
pub mod client;
pub mod diff;
pub mod run;
pub mod spool;
pub mod state;

pub use client::{Client, ClientError};
pub use run::{enroll, Agent, AgentError, Config, Delivery, Schedule, Snapshot};
pub use state::{Enrollment, ReportState, StateDir};
