//! The agent protocol (see `ward_api::agent`): enrollment, inventory reports, heartbeats.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::{Extension, Json};
use chrono::{TimeDelta, Utc};
use ward_api::agent::{
    AgentReport, EnrollRequest, EnrollResponse, Heartbeat, HeartbeatResponse, HostIdentity,
    Inventory, Package, ReportResponse, REPORT_SCHEMA,
};
use ward_auth::token::{self, Token, TokenKind};
use ward_auth::OsRng;
use ward_store::{HostId, HostInfo, PackageRow, Store, StoreError, TokenOwner};

use super::Body;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{now, AppState};

/// Limits on what a host may call itself.
const MAX_NAME: usize = 253;
const MAX_LABELS: usize = 64;
const MAX_LABEL: usize = 64;
/// How far in the future a report's time may be (clock skew).
const MAX_SKEW: TimeDelta = TimeDelta::minutes(5);

/// Checks a host identity: a name of printable characters without spaces, bounded groups and
/// tags.
fn check_identity(host: &HostIdentity) -> ApiResult<()> {
    let printable = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic());
    if host.name.len() > MAX_NAME || !printable(&host.name) {
        return Err(ApiError::invalid(format!(
            "host.name must be 1–{MAX_NAME} printable ASCII characters without spaces"
        )));
    }
    for (what, labels) in [("groups", &host.groups), ("tags", &host.tags)] {
        if labels.len() > MAX_LABELS {
            return Err(ApiError::invalid(format!("host.{what}: at most {MAX_LABELS}")));
        }
        if let Some(bad) = labels.iter().find(|l| l.len() > MAX_LABEL || !printable(l)) {
            return Err(ApiError::invalid(format!(
                "host.{what}: {bad:?} must be 1–{MAX_LABEL} printable ASCII characters without spaces"
            )));
        }
    }
    if let Some(os) = &host.os {
        if os.len() > MAX_LABEL || !os.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(ApiError::invalid("host.os must be an OSV ecosystem such as Debian:12"));
        }
    }
    Ok(())
}

fn host_info(host: &HostIdentity) -> HostInfo {
    HostInfo {
        name: host.name.clone(),
        os: host.os.clone(),
        groups: host.groups.clone(),
        tags: host.tags.clone(),
    }
}

pub async fn enroll(
    State(state): State<AppState>,
    Body(request): Body<EnrollRequest>,
) -> ApiResult<Json<EnrollResponse>> {
    check_identity(&request.host)?;
    let refused =
        || ApiError::unauthenticated("the enrollment token is unknown, used, expired or revoked");
    let parsed = token::parse(&request.token).map_err(|_| refused())?;
    if parsed.kind != TokenKind::Enrollment {
        return Err(refused());
    }
    state
        .db(move |store| {
            let Some(record) = store.token(&parsed.id)? else { return Err(refused()) };
            if record.stored.kind != TokenKind::Enrollment
                || !token::verify(&parsed, &record.stored)
            {
                return Err(refused());
            }
            let at = now();
            if !store.consume_enrollment(&parsed.id, at)? {
                return Err(refused());
            }
            let host = store.upsert_host(&host_info(&request.host), at)?;
            let (credential, stored) = Token::generate(TokenKind::Agent, &mut OsRng)
                .map_err(|e| ApiError::internal("generating a credential", e))?;
            store.add_token(&stored, TokenOwner::Host(host), &[], None, at)?;
            store
                .append_audit(
                    at,
                    &format!("enrollment:{}", parsed.id),
                    "agent-enroll",
                    &format!("host:{host}"),
                    serde_json::json!({"host": request.host.name, "credential": stored.id}),
                )
                .map_err(|e| ApiError::internal("appending to the audit log", e))?;
            tracing::info!(host = %request.host.name, id = %host, "agent enrolled");
            Ok(Json(EnrollResponse { host_id: host.0, credential: credential.reveal().to_owned() }))
        })
        .await
}

/// The agent's own host, from its credential.
fn agent_host(caller: &Caller) -> ApiResult<(HostId, String)> {
    match caller {
        Caller::Agent { host, host_name, .. } => Ok((*host, host_name.clone())),
        _ => Err(ApiError::forbidden("this route is for agents")),
    }
}

/// An idempotency key: 8–128 characters of `[A-Za-z0-9_-]`.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<String> {
    let key = headers
        .get(ward_api::IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::invalid("the Idempotency-Key header is required"))?;
    let valid = (8..=128).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(ApiError::invalid(
            "the Idempotency-Key header must be 8–128 characters of A–Z, a–z, 0–9, - and _",
        ));
    }
    Ok(key.to_owned())
}

pub async fn report(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Body(report): Body<AgentReport>,
) -> ApiResult<Json<ReportResponse>> {
    let (host, host_name) = agent_host(&caller)?;
    let key = idempotency_key(&headers)?;
    if report.schema != REPORT_SCHEMA {
        return Err(ApiError::invalid(format!(
            "schema {:?}: this server reads {REPORT_SCHEMA}",
            report.schema
        )));
    }
    check_identity(&report.host)?;
    if report.host.name != host_name {
        tracing::warn!(agent = %host_name, claimed = %report.host.name, "agent reported for another host");
        return Err(ApiError::forbidden(format!(
            "this credential belongs to host {host_name:?}; it cannot report for {:?}",
            report.host.name
        )));
    }
    if report.at > Utc::now() + MAX_SKEW {
        return Err(ApiError::invalid(format!(
            "report time {} is in the future; check the host's clock",
            report.at
        )));
    }
    let data_dir = state.data_dir().clone();
    state.db(move |store| ingest(store, &data_dir, host, &key, report)).await.map(Json)
}

/// Stores one report and matches the new inventory: see `ward_api::agent`.
fn ingest(
    store: &dyn Store,
    data_dir: &std::path::Path,
    host: HostId,
    key: &str,
    report: AgentReport,
) -> ApiResult<ReportResponse> {
    let last = store.last_report(host)?;
    let rows: Vec<PackageRow> = match report.inventory {
        Inventory::Full { packages } => packages.into_iter().map(row_of).collect(),
        Inventory::Diff { base, upsert, remove } => {
            match &last {
                Some((last_key, _)) if *last_key == base => {}
                // The report itself was stored and its answer lost: a duplicate.
                Some((last_key, _)) if last_key == key => {}
                _ => {
                    return Err(ApiError::conflict(
                        "base-mismatch",
                        "the diff's base is not this host's latest stored report; send a full inventory",
                    ))
                }
            }
            let mut current: BTreeMap<(String, String), PackageRow> = store
                .current_packages(host)?
                .into_iter()
                .map(|r| ((r.ecosystem.clone(), r.name.clone()), r))
                .collect();
            if last.as_ref().is_some_and(|(k, _)| k != key) {
                for gone in remove {
                    current.remove(&(gone.ecosystem, gone.name));
                }
                for package in upsert {
                    current
                        .insert((package.ecosystem.clone(), package.name.clone()), row_of(package));
                }
            }
            current.into_values().collect()
        }
    };
    let diff = match store.record_inventory(host, report.at, &rows, key) {
        Ok(diff) => diff,
        Err(StoreError::OutOfOrder { .. }) => {
            return Err(ApiError::conflict(
                "out-of-order",
                "the host has a newer report than this one; this one is not stored (drop it)",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let mut response = ReportResponse {
        host_id: host.0,
        duplicate: diff.duplicate,
        added: diff.added as u64,
        removed: diff.removed as u64,
        changed: diff.changed as u64,
        findings_new: 0,
        findings_resolved: 0,
    };
    if diff.duplicate {
        return Ok(response);
    }
    let at = now();
    store.upsert_host(&host_info(&report.host), at)?;
    let facts = serde_json::to_value(&report.facts)
        .map_err(|e| ApiError::internal("encoding the facts", e))?;
    store.set_host_facts(host, &facts, report.at)?;
    let advisories = AppState::advisories(data_dir)?;
    if advisories.index.is_some() {
        let (packages, _unknown) = ward_fleet::packages_of(host, &rows);
        let options = ward_match::Options { today: at.date_naive(), host: None, rules: Vec::new() };
        let scan = ward_match::scan(&packages, &advisories, &options);
        if scan.errors.is_empty() {
            let found = store.apply_findings(host, at, &ward_fleet::finding_rows(&scan))?;
            response.findings_new = found.new as u64;
            response.findings_resolved = found.resolved as u64;
        } else {
            // An incomplete result resolves nothing: the findings stay as they were.
            tracing::warn!(%host, errors = scan.errors.len(), first = %scan.errors[0].message,
                "matching the reported inventory was incomplete; findings left as they were");
        }
    }
    Ok(response)
}

fn row_of(package: Package) -> PackageRow {
    PackageRow {
        ecosystem: package.ecosystem,
        name: package.name,
        version: package.version,
        source: package.source,
        source_version: package.source_version,
    }
}

pub async fn heartbeat(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(beat): Body<Heartbeat>,
) -> ApiResult<Json<HeartbeatResponse>> {
    let (host, _) = agent_host(&caller)?;
    state
        .db(move |store| {
            let Some(record) = store.host(host)? else {
                return Err(ApiError::not_found(format!("no host {host}")));
            };
            let at = now();
            store.upsert_host(&record.info, at)?;
            let latest = store.last_report(host)?.map(|(key, _)| key);
            let report_known = beat.last_report.is_some() && latest == beat.last_report;
            Ok(Json(HeartbeatResponse { host_id: host.0, server_time: at, report_known }))
        })
        .await
}
