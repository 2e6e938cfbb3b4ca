//! Reading fleet state: hosts, their packages and history, findings, advisories, groups and
//! tags, events, jobs.

use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use ward_api::agent::{Facts, Package};
use ward_api::view;
use ward_api::Page;
use ward_store::{FindingFilter, HostFilter, HostId, HostRecord, OpenFinding, PackageRow, Store};

use super::{existing_host, levels_from, limit, number, page_of, time, Params};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct HostQuery {
    group: Option<String>,
    tag: Option<String>,
    os: Option<String>,
    severity: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

pub async fn list_hosts(
    State(state): State<AppState>,
    Params(query): Params<HostQuery>,
) -> ApiResult<Json<Page<view::Host>>> {
    let limit = limit(query.limit);
    let after = query.after.as_deref().map(|a| number("after", a)).transpose()?.map(HostId);
    let severities = query.severity.as_deref().map(levels_from).transpose()?.unwrap_or_default();
    let filter = HostFilter { group: query.group, tag: query.tag, os: query.os, severities };
    state
        .db(move |store| {
            let hosts = store.hosts(&filter, ward_store::Page { after, limit })?;
            let items = host_views(store, &hosts)?;
            let next = (hosts.len() == limit as usize)
                .then(|| hosts.last().map(|h| h.id.0.to_string()))
                .flatten();
            Ok(Json(Page { items, next }))
        })
        .await
}

fn host_views(store: &dyn Store, hosts: &[HostRecord]) -> ApiResult<Vec<view::Host>> {
    let ids: Vec<HostId> = hosts.iter().map(|h| h.id).collect();
    let mut counts = store.finding_counts(&ids)?;
    Ok(hosts
        .iter()
        .map(|h| view::Host {
            id: h.id.0,
            name: h.info.name.clone(),
            os: h.info.os.clone(),
            groups: h.info.groups.clone(),
            tags: h.info.tags.clone(),
            first_seen: h.first_seen,
            last_seen: h.last_seen,
            findings: counts.remove(&h.id).unwrap_or_default(),
        })
        .collect())
}

/// How many open findings a host's detail shows.
const DETAIL_FINDINGS: u32 = 1000;

pub async fn get_host(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<view::HostDetail>> {
    state
        .db(move |store| {
            let id = HostId(number("host id", &id)?);
            let Some(record) = store.host(id)? else {
                return Err(ApiError::not_found(format!("no host {id}")));
            };
            let host = host_views(store, std::slice::from_ref(&record))?.remove(0);
            let (facts_at, facts) = match store.host_facts(id)? {
                Some((at, value)) => {
                    // Facts were validated on the way in; an unreadable stored value is shown as
                    // absent rather than failing the whole host.
                    (Some(at), serde_json::from_value::<Facts>(value).ok())
                }
                None => (None, None),
            };
            let last_report_at = store.last_report(id)?.map(|(_, at)| at);
            let packages = store.current_packages(id)?.len() as u64;
            let filter = FindingFilter { host: Some(id), ..FindingFilter::default() };
            let open_findings = store
                .open_findings_by_risk(&filter, 0, DETAIL_FINDINGS)?
                .into_iter()
                .map(finding_view)
                .collect();
            Ok(Json(view::HostDetail {
                host,
                facts,
                facts_at,
                last_report_at,
                packages,
                open_findings,
            }))
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct AtQuery {
    at: Option<String>,
}

pub async fn host_packages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(query): Params<AtQuery>,
) -> ApiResult<Json<view::HostPackages>> {
    let at = query.at.as_deref().map(|t| time("at", t)).transpose()?;
    state
        .db(move |store| {
            let host = existing_host(store, &id)?;
            let rows = match at {
                Some(at) => store.packages_at(host, at)?,
                None => store.current_packages(host)?,
            };
            Ok(Json(view::HostPackages {
                host_id: host.0,
                at,
                packages: rows.into_iter().map(package_view).collect(),
            }))
        })
        .await
}

pub fn package_view(row: PackageRow) -> Package {
    Package {
        ecosystem: row.ecosystem,
        name: row.name,
        version: row.version,
        source: row.source,
        source_version: row.source_version,
    }
}

#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    since: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

pub async fn host_changes(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Params(query): Params<ChangesQuery>,
) -> ApiResult<Json<Page<view::Change>>> {
    let since = query.since.as_deref().map(|t| time("since", t)).transpose()?;
    let offset = query.after.as_deref().map(|a| number("after", a)).transpose()?.unwrap_or(0);
    let limit = limit(query.limit);
    state
        .db(move |store| {
            let host = existing_host(store, &id)?;
            let changes = store.changes(host, since)?;
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(changes.len());
            let end = start.saturating_add(limit as usize).min(changes.len());
            let items = changes[start..end]
                .iter()
                .map(|c| view::Change {
                    at: c.at,
                    kind: c.kind.as_str().to_owned(),
                    ecosystem: c.ecosystem.clone(),
                    name: c.name.clone(),
                    from: c.from.clone(),
                    to: c.to.clone(),
                })
                .collect();
            let next = (end < changes.len()).then(|| end.to_string());
            Ok(Json(Page { items, next }))
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct FindingQuery {
    severity: Option<String>,
    ecosystem: Option<String>,
    advisory: Option<String>,
    host: Option<String>,
    group: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

pub async fn list_findings(
    State(state): State<AppState>,
    Params(query): Params<FindingQuery>,
) -> ApiResult<Json<Page<view::Finding>>> {
    let limit = limit(query.limit);
    let offset = query.after.as_deref().map(|a| number("after", a)).transpose()?.unwrap_or(0);
    let filter = FindingFilter {
        host: query.host.as_deref().map(|h| number("host", h)).transpose()?.map(HostId),
        advisory: query.advisory,
        ecosystem: query.ecosystem,
        severities: query.severity.as_deref().map(levels_from).transpose()?.unwrap_or_default(),
        group: query.group,
    };
    state
        .db(move |store| {
            let offset = u64::try_from(offset).unwrap_or(0);
            let found = store.open_findings_by_risk(&filter, offset, limit)?;
            let next =
                (found.len() == limit as usize).then(|| (offset + found.len() as u64).to_string());
            Ok(Json(Page { items: found.into_iter().map(finding_view).collect(), next }))
        })
        .await
}

pub fn finding_view(finding: OpenFinding) -> view::Finding {
    view::Finding {
        host_id: finding.host.0,
        advisory: finding.row.advisory,
        aliases: finding.row.aliases,
        ecosystem: finding.row.ecosystem,
        package: finding.row.package,
        version: finding.row.version,
        severity: finding.row.severity,
        score: finding.row.score,
        first_seen: finding.first_seen,
    }
}

pub async fn get_advisory(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<view::AdvisoryDetail>> {
    let data_dir = state.data_dir().clone();
    state
        .db(move |store| {
            let advisories = AppState::advisories(&data_dir)?;
            let records = match &advisories.index {
                Some(index) => index
                    .by_id(&id)
                    .map_err(|e| ApiError::internal("reading the advisory index", e))?,
                None => Vec::new(),
            };
            let records: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    serde_json::to_value(r).map_err(|e| ApiError::internal("encoding a record", e))
                })
                .collect::<ApiResult<_>>()?;
            let filter = FindingFilter { advisory: Some(id.clone()), ..FindingFilter::default() };
            let affected: Vec<view::Finding> = store
                .open_findings_by_risk(&filter, 0, DETAIL_FINDINGS)?
                .into_iter()
                .map(finding_view)
                .collect();
            if records.is_empty() && affected.is_empty() {
                return Err(ApiError::not_found(format!(
                    "no advisory {id:?} in the index and no open finding names it"
                )));
            }
            Ok(Json(view::AdvisoryDetail { id, records, affected }))
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    after: Option<String>,
    limit: Option<u32>,
}

impl PageQuery {
    pub fn after(&self) -> Option<String> {
        self.after.clone()
    }

    pub fn limit(&self) -> Option<u32> {
        self.limit
    }
}

pub async fn list_groups(
    State(state): State<AppState>,
    Params(query): Params<PageQuery>,
) -> ApiResult<Json<Page<view::Label>>> {
    state.db(move |store| Ok(Json(label_page(store.groups()?, query)))).await
}

pub async fn list_tags(
    State(state): State<AppState>,
    Params(query): Params<PageQuery>,
) -> ApiResult<Json<Page<view::Label>>> {
    state.db(move |store| Ok(Json(label_page(store.tags()?, query)))).await
}

/// Labels by name, after the cursor (a name).
fn label_page(labels: Vec<(String, u64)>, query: PageQuery) -> Page<view::Label> {
    let limit = limit(query.limit) as usize;
    let items: Vec<view::Label> = labels
        .into_iter()
        .filter(|(name, _)| query.after.as_ref().is_none_or(|after| name > after))
        .take(limit + 1)
        .map(|(name, hosts)| view::Label { name, hosts })
        .collect();
    page_of(items, limit, |l| l.name.clone())
}

pub async fn list_events(
    State(state): State<AppState>,
    Params(query): Params<PageQuery>,
) -> ApiResult<Json<Page<view::Event>>> {
    let after = query.after.as_deref().map(|a| number("after", a)).transpose()?;
    let limit = limit(query.limit);
    state
        .db(move |store| {
            let events = store.events(after, limit + 1)?;
            let items = events
                .into_iter()
                .map(|e| view::Event {
                    id: e.id,
                    at: e.at,
                    kind: e.kind.as_str().to_owned(),
                    host_id: e.host.0,
                    advisory: e.advisory,
                    ecosystem: e.ecosystem,
                    package: e.package,
                    version: e.version,
                })
                .collect();
            Ok(Json(page_of(items, limit as usize, |e| e.id.to_string())))
        })
        .await
}

pub async fn list_jobs(
    State(state): State<AppState>,
    Params(query): Params<PageQuery>,
) -> ApiResult<Json<Page<view::Job>>> {
    let after = query.after.as_deref().map(|a| number("after", a)).transpose()?;
    let limit = limit(query.limit);
    state
        .db(move |store| {
            let items = store
                .jobs(after, limit + 1)?
                .into_iter()
                .map(|j| view::Job {
                    id: j.id,
                    kind: j.kind,
                    key: j.key,
                    state: j.state.as_str().to_owned(),
                    attempts: j.attempts,
                    created: j.created,
                    claimed_by: j.claimed_by,
                    finished: j.finished,
                    result: j.result,
                })
                .collect();
            Ok(Json(page_of(items, limit as usize, |j| j.id.to_string())))
        })
        .await
}
