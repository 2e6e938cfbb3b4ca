//! The agent protocol.
//!
//! 1. `POST /api/v1/agent/enroll` with an [`EnrollRequest`] (no `Authorization` header: the
//!    one-time enrollment token is in the body) → [`EnrollResponse`] with the agent's own
//!    credential (`ward_agent_…`), shown once; the server keeps only its hash.
//! 2. `POST /api/v1/agent/report` with `Authorization: Bearer ward_agent_…`, an
//!    `Idempotency-Key` header and an [`AgentReport`] → [`ReportResponse`]. The report's host
//!    must be the credential's host (`403 forbidden` otherwise). An [`Inventory::Diff`] whose
//!    `base` is not the host's latest stored report is refused with `409 base-mismatch`: the
//!    agent then sends a full inventory.
//! 3. `POST /api/v1/agent/heartbeat` with a [`Heartbeat`] → [`HeartbeatResponse`].

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `schema` of an [`AgentReport`].
pub const REPORT_SCHEMA: &str = "ward.agent-report/1";

/// Who a host says it is. `name` is its identity in the fleet (usually the FQDN).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HostIdentity {
    pub name: String,
    /// OSV ecosystem of the operating system, e.g. `Debian:12`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `POST /api/v1/agent/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnrollRequest {
    /// The one-time enrollment token (`ward_enrollment_…`) an operator created.
    pub token: String,
    pub host: HostIdentity,
}

/// The answer to an [`EnrollRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnrollResponse {
    pub host_id: i64,
    /// The agent's credential (`ward_agent_…`): store it with mode 0600; it is never shown again.
    pub credential: String,
}

/// One installed package as an agent reports it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct Package {
    /// OSV ecosystem, e.g. `Debian:12`, `crates.io`.
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// Source package, when the ecosystem has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The source's version when it differs from `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
}

/// A package's identity within one host's inventory.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct PackageKey {
    pub ecosystem: String,
    pub name: String,
}

/// The packages of a report: all of them, or what changed since an earlier accepted report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Inventory {
    /// The complete inventory.
    Full { packages: Vec<Package> },
    /// Relative to the report whose idempotency key is `base`: packages added or changed
    /// (`upsert`) and packages gone (`remove`).
    Diff { base: String, upsert: Vec<Package>, remove: Vec<PackageKey> },
}

/// `POST /api/v1/agent/report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentReport {
    /// [`REPORT_SCHEMA`].
    pub schema: String,
    /// When the agent collected it.
    pub at: DateTime<Utc>,
    pub host: HostIdentity,
    /// What the agent knows about the host besides its packages.
    pub facts: Facts,
    pub inventory: Inventory,
}

/// Host facts. Unknown fields are kept by the server as they are (newer agents may send more).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Facts {
    /// The agent's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// os-release `PRETTY_NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_pretty_name: Option<String>,
    /// The running kernel release (`uname -r`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    /// An update asked for a reboot (`/run/reboot-required`), or a newer kernel is installed
    /// than the one running.
    #[serde(default)]
    pub reboot_required: bool,
    /// The packages that asked for the reboot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reboot_required_packages: Vec<String>,
    /// Processes still running code an update replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_needed: Vec<RestartNeeded>,
    /// Updates the host's package manager offers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_updates: Vec<PendingUpdate>,
    /// Anything else the agent sent (kept as is).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A process that maps deleted files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RestartNeeded {
    pub pid: u32,
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// An update the host's package manager offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PendingUpdate {
    pub ecosystem: String,
    pub name: String,
    pub installed: String,
    /// The version the update brings.
    pub candidate: String,
    /// From the distribution's security suite.
    pub security: bool,
    /// What the update fixes, when known (DSA/DLA/CVE ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<String>,
}

/// The answer to an [`AgentReport`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReportResponse {
    pub host_id: i64,
    /// The key was already stored: nothing changed, these are the first delivery's counts.
    pub duplicate: bool,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// Findings opened and resolved by matching this inventory (0 for a duplicate).
    pub findings_new: u64,
    pub findings_resolved: u64,
}

/// `POST /api/v1/agent/heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Heartbeat {
    pub at: DateTime<Utc>,
    /// The key of the agent's latest accepted report, if any (the server says whether it
    /// still has it: see [`HeartbeatResponse::report_known`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report: Option<String>,
}

/// The answer to a [`Heartbeat`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HeartbeatResponse {
    pub host_id: i64,
    pub server_time: DateTime<Utc>,
    /// Whether `last_report` is the host's latest stored report: when `false` the agent's
    /// next report must be full.
    pub report_known: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_is_tagged_by_kind() {
        let diff = Inventory::Diff {
            base: "ab".into(),
            upsert: vec![],
            remove: vec![PackageKey { ecosystem: "npm".into(), name: "x".into() }],
        };
        let json = serde_json::to_value(&diff).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"kind": "diff", "base": "ab", "upsert": [],
                               "remove": [{"ecosystem": "npm", "name": "x"}]})
        );
    }

    #[test]
    fn unknown_facts_are_kept() {
        let facts: Facts =
            serde_json::from_value(serde_json::json!({"kernel": "6.1", "uptime_s": 5}))
                .unwrap_or_default();
        assert_eq!(facts.kernel.as_deref(), Some("6.1"));
        assert_eq!(facts.other.get("uptime_s"), Some(&serde_json::json!(5)));
    }
}
