//! Background work that must happen once per fleet, whatever the number of server processes:
//! every process watches the advisory index and queues an `advisory-sync` job per index version
//! (the store's unique `(kind, key)` makes that one job), and claims queued jobs with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so exactly one process runs each. A sync compares
//! the index with the advisory fingerprints the store keeps and re-matches the hosts whose
//! packages the changed advisories name (`ward_fleet::sync_advisories`): new and resolved
//! findings become events, with no agent involved. Optional scheduled feed updates
//! (`feeds-update`, one per interval slot) rebuild the index, which the watcher then sees.

use std::path::Path;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use tokio::sync::watch;
use ward_advisory::store::FeedOutcome;
use ward_store::{Job, Store};

use crate::error::{ApiError, ApiResult};
use crate::state::{index_version, AppState};

pub const SYNC: &str = "advisory-sync";
pub const FEEDS: &str = "feeds-update";

/// How long a claim lasts before another process may take the job over.
const LEASE: TimeDelta = TimeDelta::minutes(30);

/// Queues the sync of index `version` (once per version across the fleet).
pub fn queue_sync(store: &dyn Store, version: &str) -> ApiResult<(i64, bool)> {
    Ok(store.enqueue_job(SYNC, version, &serde_json::json!({"index": version}), Utc::now())?)
}

/// Settings of the background loop.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How often to look at the index and for queued jobs.
    pub poll: Duration,
    /// Rebuild the index from its feeds this often (`None`: never; `ward db update` by hand).
    pub feeds_every: Option<Duration>,
}

/// Runs until `shutdown` turns true.
pub async fn run(state: AppState, schedule: Schedule, mut shutdown: watch::Receiver<bool>) {
    loop {
        let step_state = state.clone();
        let step = tokio::task::spawn_blocking(move || step(&step_state, schedule));
        match step.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(code = error.code, message = %error.message, "background jobs")
            }
            Err(error) => tracing::error!(%error, "background jobs task failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(schedule.poll) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}

/// One round: notice a new index version, queue a feed update when its slot starts, then run
/// every job this process can claim.
fn step(state: &AppState, schedule: Schedule) -> ApiResult<()> {
    let store = state.store().as_ref();
    let version = index_version(state.data_dir());
    if version.is_some() && version != state.index_version() {
        if let Some(version) = &version {
            let (id, created) = queue_sync(store, version)?;
            tracing::info!(index = %version, job = id, created, "advisory index version seen");
        }
        state.set_index_version(version);
    }
    if let Some(every) = schedule.feeds_every {
        let seconds = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(60);
        let slot = Utc::now().timestamp() / seconds;
        store.enqueue_job(FEEDS, &slot.to_string(), &serde_json::json!({}), Utc::now())?;
    }
    while let Some(job) = store.claim_job(&[SYNC, FEEDS], state.worker(), Utc::now(), LEASE)? {
        let outcome = match job.kind.as_str() {
            SYNC => sync(store, state.data_dir()),
            FEEDS => update_feeds(state.data_dir()),
            other => Err(format!("unknown job kind {other:?}")),
        };
        finish(store, state.worker(), &job, outcome)?;
    }
    Ok(())
}

fn finish(
    store: &dyn Store,
    worker: &str,
    job: &Job,
    outcome: Result<serde_json::Value, String>,
) -> ApiResult<()> {
    let (ok, result) = match outcome {
        Ok(result) => (true, result),
        Err(message) => {
            tracing::error!(job = job.id, kind = %job.kind, %message, "job failed");
            (false, serde_json::json!({"error": message}))
        }
    };
    if !store.finish_job(job.id, worker, ok, &result, Utc::now())? {
        tracing::warn!(
            job = job.id,
            "job lease lost before it finished; another process took it over"
        );
    }
    Ok(())
}

/// Re-matches the fleet against the index as it is now.
/// The result carries `timings_ms`: `read_index` (opening the index and reading every record)
/// and `sync` (fingerprinting, comparing with the store's fingerprints, the re-match, saving the
/// fingerprints), for benchmarks and for operators asking where a slow sync went.
fn sync(store: &dyn Store, data_dir: &Path) -> Result<serde_json::Value, String> {
    let started = std::time::Instant::now();
    let advisories = AppState::advisories(data_dir).map_err(|e: ApiError| e.message)?;
    let Some(index) = &advisories.index else {
        return Err(format!("no advisory index in {}", data_dir.display()));
    };
    let records = index.all_records().map_err(|e| format!("reading the advisory index: {e}"))?;
    let read_index = started.elapsed();
    let now = Utc::now();
    let report = ward_fleet::sync_advisories(store, &records, &advisories, now.date_naive(), now)
        .map_err(|e| e.to_string())?;
    let synced = started.elapsed() - read_index;
    Ok(serde_json::json!({
        "records": report.records,
        "added": report.added,
        "changed": report.changed,
        "removed": report.removed,
        "hosts": report.rematch.hosts,
        "findings_new": report.rematch.new,
        "findings_resolved": report.rematch.resolved,
        "errors": report.rematch.errors,
        "timings_ms": {
            "read_index": u64::try_from(read_index.as_millis()).unwrap_or(u64::MAX),
            "sync": u64::try_from(synced.as_millis()).unwrap_or(u64::MAX),
            "sync_phases": report.timings_ms,
        },
    }))
}

/// Re-fetches every configured feed and rebuilds the index (the watcher queues the sync).
fn update_feeds(data_dir: &Path) -> Result<serde_json::Value, String> {
    let outcome =
        ward_advisory::store::update_feeds(data_dir, &[], Utc::now().timestamp(), &mut |_| {})
            .map_err(|e| e.to_string())?;
    let feeds: serde_json::Map<String, serde_json::Value> = outcome
        .feeds
        .iter()
        .map(|(name, result)| {
            let text = match result {
                FeedOutcome::Updated { records, rejected } => {
                    format!("updated: {records} records, {rejected} rejected")
                }
                FeedOutcome::Unchanged => "unchanged".to_owned(),
                FeedOutcome::Failed(why) => format!("failed (kept its last good data): {why}"),
            };
            (name.clone(), serde_json::Value::String(text))
        })
        .collect();
    Ok(serde_json::json!({"feeds": feeds, "errors": outcome.errors.len()}))
}
