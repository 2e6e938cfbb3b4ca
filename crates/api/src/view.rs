//! What the server returns to people and scripts, and the bodies they send.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::agent::{Facts, Package};

/// A host in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Host {
    pub id: i64,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    pub groups: Vec<String>,
    pub tags: Vec<String>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Open findings per severity level (`critical`, `high`, …); levels without any are absent.
    pub findings: BTreeMap<String, u64>,
}

/// `GET /api/v1/hosts/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostDetail {
    #[serde(flatten)]
    pub host: Host,
    /// The latest facts the agent reported, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts_at: Option<DateTime<Utc>>,
    /// When the latest inventory was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report_at: Option<DateTime<Utc>>,
    /// How many packages the current inventory holds (`GET …/packages` lists them).
    pub packages: u64,
    /// The host's open findings, highest risk first (at most 1,000; `GET /api/v1/findings?host=`
    /// pages through all).
    pub open_findings: Vec<Finding>,
}

/// `GET /api/v1/hosts/{id}/packages[?at=TIME]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostPackages {
    pub host_id: i64,
    /// The time asked for (`None`: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    pub packages: Vec<Package>,
}

/// One entry of a host's package history (`GET /api/v1/hosts/{id}/changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    pub at: DateTime<Utc>,
    /// `added`, `removed` or `changed`.
    pub kind: String,
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// An open finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub host_id: i64,
    pub advisory: String,
    pub aliases: Vec<String>,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    pub first_seen: DateTime<Utc>,
}

/// An entry of the event feed (`GET /api/v1/events`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// `finding-new` or `finding-resolved`.
    pub kind: String,
    pub host_id: i64,
    pub advisory: String,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
}

/// A group or a tag with its host count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Label {
    pub name: String,
    pub hosts: u64,
}

/// `GET /api/v1/advisories/{id}`: the record(s) with this id or alias, and the hosts with an
/// open finding for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AdvisoryDetail {
    pub id: String,
    /// The OSV records (several when an alias names more than one).
    pub records: Vec<serde_json::Value>,
    pub affected: Vec<Finding>,
}

/// `POST /api/v1/session`: log in with a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LoginRequest {
    pub user: String,
    pub password: String,
}

/// A session: an API token with the user's role, expiring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Session {
    pub token: String,
    pub user: String,
    pub role: String,
    pub expires: DateTime<Utc>,
}

/// `GET /api/v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Whoami {
    /// `user:NAME` or `agent:HOST`.
    pub actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The token's scopes (absent for a password session, which acts with the role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
}

/// `POST /api/v1/tokens`: an API token for the calling user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenRequest {
    /// `read`, `operate`, `admin` (each must be within the caller's role).
    pub scopes: Vec<String>,
    /// Days until it expires (default 90; 0 = never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_days: Option<u32>,
}

/// A newly made token: `token` is shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewToken {
    pub id: String,
    pub token: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<DateTime<Utc>>,
}

/// `POST /api/v1/enrollment-tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct EnrollmentRequest {
    /// Minutes until it expires (default 60, at most 10,080 = a week).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_minutes: Option<u32>,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserRequest {
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub password: String,
}

/// A user as the API shows it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created: DateTime<Utc>,
    pub disabled: bool,
}

/// A job (`GET /api/v1/jobs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub key: String,
    /// `queued`, `running`, `done`, `failed`.
    pub state: String,
    pub attempts: u32,
    pub created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// `POST /api/v1/advisories/sync`: the answer (the job that re-matches the fleet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncQueued {
    pub job_id: i64,
    /// `false` when a job for this index version already existed.
    pub created: bool,
    /// The index version the job is for.
    pub index: String,
}

/// `GET /api/v1/audit/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AuditVerify {
    pub ok: bool,
    pub entries: u64,
    /// What is wrong, naming the entry (absent when `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// The advisory index version in use, if there is an index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
}
