//! The scheduler behind `ward check serve`: runs active checks on a stable per-check phase
//! (no drift), at most `concurrency` at a time on worker threads, measures queue latency,
//! feeds results, passive submissions and heartbeat pings into the [`Engine`], records
//! performance data, and writes `status.json`, `metrics.prom` and `trends.json` into the
//! state directory; the series themselves are kept in `trends.db` ([`crate::trenddb`]) and
//! read back at start.
//!
//! **Phase:** a check with interval `I` runs at the instants `t` where
//! `(t - phase) mod I = 0`, with `phase = fnv1a(name) mod I`. The next run is computed from
//! that grid, never from when the last run ended, so checks spread evenly and never drift,
//! however long each run takes. SOFT problems are retried `retry_interval` after the result;
//! back in a HARD state the check returns to its grid. At start every check runs once at once
//! (so the status fills in), then joins its grid.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Runner};
use crate::engine::{
    Acknowledgement, CheckConfig, DowntimeKind, Engine, EngineState, Outcome, StateType,
};
use crate::heartbeat::{Heartbeat, HeartbeatStatus};
use crate::result::{CheckResult, PerfJson};
use crate::spool::{self, Message, Submission};
use crate::state::State;
use crate::time::Timestamp;
use crate::timeseries::{self, Resolution, Retention, Store};
use crate::trenddb::TrendDb;

/// The stable phase of a check within its interval (FNV-1a of its name).
pub fn phase(name: &str, interval: Duration) -> Duration {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX).max(1);
    Duration::from_millis(hash % ms)
}

/// The first instant strictly after `after` on the grid `phase + k × interval`.
pub fn next_slot(after: Timestamp, interval: Duration, phase: Duration) -> Timestamp {
    let i = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX).max(1);
    let p = i64::try_from(phase.as_millis()).unwrap_or(0);
    let k = (after.0 - p).div_euclid(i) + 1;
    Timestamp(p + k * i)
}

/// Scheduler counters, reported in `status.json` and `metrics.prom`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchedulerStats {
    pub concurrency: usize,
    pub runs: u64,
    pub running: usize,
    /// Checks due but waiting for a free worker.
    pub queued: usize,
    /// Time from a check's due instant to its start, in milliseconds.
    pub queue_latency_last_ms: f64,
    pub queue_latency_max_ms: f64,
    pub queue_latency_mean_ms: f64,
    pub passive_results: u64,
    pub heartbeat_pings: u64,
    pub rejected_messages: u64,
}

/// `ward.check-status/1`: what `ward check serve` writes and `ward check status` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusFile {
    pub schema: String,
    pub generated_at: String,
    pub scheduler: SchedulerStats,
    pub checks: Vec<CheckStatusJson>,
    /// Fixed and flexible downtimes that are active or still to come.
    #[serde(default)]
    pub downtimes: Vec<DowntimeJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DowntimeJson {
    pub id: u64,
    pub check: String,
    pub start: String,
    pub end: String,
    /// Flexible downtimes: their length once triggered, in seconds.
    pub flexible_secs: Option<u64>,
    pub triggered_at: Option<String>,
    pub active: bool,
    pub author: String,
    pub comment: String,
}

pub const STATUS_SCHEMA: &str = "ward.check-status/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatusJson {
    pub name: String,
    /// `plugin`, `builtin`, `story`, `passive` or `heartbeat`.
    pub kind: String,
    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`, `UNREACHABLE` or `PENDING`.
    pub state: String,
    pub state_type: String,
    pub attempt: u32,
    pub max_attempts: u32,
    pub summary: String,
    pub long_output: String,
    pub perfdata: Vec<PerfJson>,
    pub last_check: Option<String>,
    pub next_check: Option<String>,
    pub last_state_change: Option<String>,
    pub flapping: bool,
    pub flapping_value: f64,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub unreachable_because: Option<String>,
}

#[derive(Debug)]
struct Job {
    name: String,
    runner: Arc<(Runner, Duration)>,
    due: Timestamp,
}

#[derive(Debug)]
struct Done {
    name: String,
    result: CheckResult,
    due: Timestamp,
    started: Timestamp,
    finished: Timestamp,
}

/// How long to keep running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Until the process is stopped.
    Forever,
    /// Until this instant.
    Until(Timestamp),
    /// Every active check once, then stop.
    Once,
}

/// The scheduler and everything it owns.
#[derive(Debug)]
pub struct Scheduler {
    engine: Engine,
    runners: BTreeMap<String, Arc<(Runner, Duration)>>,
    kinds: BTreeMap<String, &'static str>,
    heartbeats: BTreeMap<String, (Heartbeat, HeartbeatStatus)>,
    store: Store,
    /// Where the store is kept across restarts (`None`: the file could not be created; the
    /// trends then live in memory only, with a warning).
    trend_db: Option<TrendDb>,
    state_dir: PathBuf,
    concurrency: usize,
    due: BTreeMap<String, Timestamp>,
    /// Checks waiting to run, by due time (a running check is not in it).
    queue: BTreeSet<(Timestamp, String)>,
    running: BTreeSet<String>,
    last_trends: Timestamp,
    stats: SchedulerStats,
    latency_sum_ms: f64,
}

impl Scheduler {
    pub fn new(config: Config, now: Timestamp) -> Result<Scheduler, crate::engine::EngineError> {
        let mut engine = Engine::new();
        let mut runners = BTreeMap::new();
        let mut kinds = BTreeMap::new();
        let mut due = BTreeMap::new();
        for def in config.checks {
            engine.add_check(&def.name, def.config.clone())?;
            kinds.insert(def.name.clone(), def.runner.kind());
            if !matches!(def.runner, Runner::Passive) {
                due.insert(def.name.clone(), now);
                runners.insert(def.name.clone(), Arc::new((def.runner, def.timeout)));
            }
        }
        let mut heartbeats = BTreeMap::new();
        for h in config.heartbeats {
            let check = CheckConfig { max_attempts: 1, ..CheckConfig::default() };
            engine.add_check(&h.name, check)?;
            kinds.insert(h.name.clone(), "heartbeat");
            heartbeats.insert(h.name.clone(), (h, HeartbeatStatus::new(now)));
        }
        for d in config.downtimes {
            engine.schedule_recurring_downtime(&d.check, d.schedule, d.duration, &d.comment)?;
        }
        let restored = load_state(&config.state_dir);
        if let Some(state) = restored {
            let dropped = engine.restore(state.engine);
            if !dropped.is_empty() {
                tracing::info!(?dropped, "state of checks no longer configured was dropped");
            }
            for (name, status) in state.heartbeats {
                if let Some((_, s)) = heartbeats.get_mut(&name) {
                    *s = status;
                }
            }
        }
        engine.start_freshness(now);
        let mut store = Store::new(Retention::default());
        let opened = std::fs::create_dir_all(&config.state_dir)
            .map_err(|e| format!("{}: {e}", config.state_dir.display()))
            .and_then(|()| TrendDb::open(&config.state_dir, &mut store, now));
        let trend_db = match opened {
            Ok(db) => Some(db),
            Err(e) => {
                tracing::warn!("trends are kept in memory only: {e}");
                None
            }
        };
        Ok(Scheduler {
            engine,
            runners,
            kinds,
            heartbeats,
            store,
            trend_db,
            state_dir: config.state_dir,
            concurrency: config.concurrency,
            queue: due.iter().map(|(n, t)| (*t, n.clone())).collect(),
            due,
            running: BTreeSet::new(),
            last_trends: Timestamp(0),
            stats: SchedulerStats { concurrency: config.concurrency, ..SchedulerStats::default() },
            latency_sum_ms: 0.0,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn stats(&self) -> &SchedulerStats {
        &self.stats
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Runs the scheduler. `on_outcome` sees every processed result (to print live state).
    pub fn run(
        &mut self,
        mode: RunMode,
        on_outcome: &mut dyn FnMut(&Outcome, &str),
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.state_dir)?;
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        for _ in 0..self.concurrency {
            let jobs = Arc::clone(&job_rx);
            let done = done_tx.clone();
            thread::spawn(move || loop {
                let job = {
                    let Ok(rx) = jobs.lock() else { return };
                    match rx.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    }
                };
                let started = Timestamp::now();
                let (runner, timeout) = &*job.runner;
                let result = match runner {
                    Runner::Plugin(p) => p.run(),
                    Runner::Builtin(b) => b.run(*timeout),
                    Runner::Story(s) => s.run(*timeout),
                    Runner::Passive => continue,
                };
                let finished = Timestamp::now();
                if done
                    .send(Done { name: job.name, result, due: job.due, started, finished })
                    .is_err()
                {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut not_yet_run: BTreeSet<String> = self.runners.keys().cloned().collect();
        let mut in_flight = 0usize;
        let mut last_write = Timestamp(0);
        let mut dirty = true;
        loop {
            let now = Timestamp::now();
            let stop = match mode {
                RunMode::Forever => false,
                RunMode::Until(t) => now >= t,
                RunMode::Once => not_yet_run.is_empty() && in_flight == 0,
            };
            if stop {
                break;
            }
            // Dispatch what is due, oldest first, up to the concurrency cap (the rest waits).
            while in_flight < self.concurrency {
                let Some((due, _)) = self.queue.first() else { break };
                if *due > now {
                    break;
                }
                let Some((due, name)) = self.queue.pop_first() else { break };
                let Some(runner) = self.runners.get(&name) else { continue };
                let job = Job { name: name.clone(), runner: Arc::clone(runner), due };
                if job_tx.send(job).is_ok() {
                    self.running.insert(name);
                    in_flight += 1;
                }
            }
            self.stats.running = in_flight;
            // Wait for a result until the next due instant (at most 200 ms, to poll the spool).
            let next_due = self.queue.first().map(|(t, _)| *t);
            let wait = next_due
                .map_or(Duration::from_millis(200), |d| d.since(now))
                .min(Duration::from_millis(200))
                .max(Duration::from_millis(5));
            let mut finished = Vec::new();
            match done_rx.recv_timeout(wait) {
                Ok(d) => finished.push(d),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            while let Ok(d) = done_rx.try_recv() {
                finished.push(d);
            }
            for d in finished {
                in_flight = in_flight.saturating_sub(1);
                not_yet_run.remove(&d.name);
                self.finish(d, mode != RunMode::Once, on_outcome);
                dirty = true;
            }
            let now = Timestamp::now();
            dirty |= self.take_spool(now, on_outcome);
            dirty |= self.evaluate_heartbeats(now, on_outcome);
            for outcome in self.engine.expire_stale(now) {
                on_outcome(&outcome, self.summary_of(&outcome.check));
                dirty = true;
            }
            if dirty && now.since(last_write) >= Duration::from_secs(1) {
                self.write_files(now, false)?;
                last_write = now;
                dirty = false;
            }
        }
        let now = Timestamp::now();
        // Whatever waits in the spool is taken before stopping (bounded, in case a producer
        // never stops).
        for _ in 0..1000 {
            if !self.take_spool(now, on_outcome) {
                break;
            }
        }
        self.evaluate_heartbeats(now, on_outcome);
        self.write_files(now, true)
    }

    fn summary_of(&self, name: &str) -> &str {
        self.engine
            .status(name)
            .and_then(|s| s.last_result.as_ref())
            .map_or("", |r| r.summary.as_str())
    }

    fn finish(&mut self, d: Done, requeue: bool, on_outcome: &mut dyn FnMut(&Outcome, &str)) {
        self.running.remove(&d.name);
        let latency = d.started.since(d.due).as_secs_f64() * 1000.0;
        self.stats.runs += 1;
        self.stats.queue_latency_last_ms = latency;
        self.stats.queue_latency_max_ms = self.stats.queue_latency_max_ms.max(latency);
        self.latency_sum_ms += latency;
        self.stats.queue_latency_mean_ms = self.latency_sum_ms / self.stats.runs as f64;
        self.store.record(&d.name, &d.result, d.finished);
        let Ok(outcome) = self.engine.process(&d.name, d.result, d.finished) else { return };
        let config = self.engine.config(&d.name).cloned().unwrap_or_default();
        let next = if outcome.state_type == StateType::Soft {
            d.finished + config.retry_interval
        } else {
            next_slot(d.finished, config.interval, phase(&d.name, config.interval))
        };
        self.due.insert(d.name.clone(), next);
        if requeue {
            self.queue.insert((next, d.name.clone()));
        }
        on_outcome(&outcome, self.summary_of(&d.name));
    }

    fn take_spool(&mut self, now: Timestamp, on_outcome: &mut dyn FnMut(&Outcome, &str)) -> bool {
        let (messages, bad) = spool::take(&self.state_dir);
        for b in &bad {
            tracing::warn!("rejected spool message {b}");
        }
        self.stats.rejected_messages += bad.len() as u64;
        let any = !messages.is_empty();
        for m in messages {
            match m {
                Message::Result(s) => self.submit(s, now, on_outcome),
                Message::Results { results } => {
                    for s in results {
                        self.submit(s, now, on_outcome);
                    }
                }
                Message::Acknowledge(a) => {
                    let ack = Acknowledgement {
                        author: a.author,
                        comment: a.comment,
                        sticky: a.sticky,
                        expires: a.expires_ms.map(Timestamp),
                    };
                    if let Err(e) = self.engine.acknowledge(&a.check, ack) {
                        tracing::warn!("acknowledgement rejected: {e}");
                        self.stats.rejected_messages += 1;
                    }
                }
                Message::Downtime(d) => {
                    let kind = match d.flexible_secs {
                        Some(s) => DowntimeKind::Flexible { duration: Duration::from_secs(s) },
                        None => DowntimeKind::Fixed,
                    };
                    let scheduled = self.engine.schedule_downtime(
                        &d.check,
                        Timestamp(d.start_ms),
                        Timestamp(d.end_ms),
                        kind,
                        &d.author,
                        &d.comment,
                    );
                    if let Err(e) = scheduled {
                        tracing::warn!("downtime rejected: {e}");
                        self.stats.rejected_messages += 1;
                    }
                }
                Message::EndDowntime { id } => {
                    if let Err(e) = self.engine.remove_downtime(id) {
                        tracing::warn!("{e}");
                        self.stats.rejected_messages += 1;
                    }
                }
                Message::Heartbeat(ping) => match self.heartbeats.get_mut(&ping.name) {
                    Some((_, status)) => {
                        status.apply(&ping);
                        self.stats.heartbeat_pings += 1;
                    }
                    None => {
                        tracing::warn!(name = %ping.name, "heartbeat ping for an undeclared job");
                        self.stats.rejected_messages += 1;
                    }
                },
            }
        }
        any
    }

    /// Applies one passive result.
    fn submit(
        &mut self,
        s: Submission,
        now: Timestamp,
        on_outcome: &mut dyn FnMut(&Outcome, &str),
    ) {
        let Some(state) = State::parse(&s.state) else {
            tracing::warn!(check = %s.check, state = %s.state, "passive result with an invalid state");
            self.stats.rejected_messages += 1;
            return;
        };
        if self.engine.status(&s.check).is_none() {
            tracing::warn!(check = %s.check, "passive result for an undefined check");
            self.stats.rejected_messages += 1;
            return;
        }
        let result = CheckResult::from_output(state, &s.output, Duration::ZERO);
        let at = Timestamp(s.at_ms).min(now);
        let ttl = s.ttl_secs.map(Duration::from_secs);
        self.store.record(&s.check, &result, at);
        match self.engine.submit_passive(&s.check, result, ttl, at) {
            Ok(outcome) => {
                self.stats.passive_results += 1;
                on_outcome(&outcome, self.summary_of(&s.check));
            }
            Err(e) => {
                tracing::warn!("passive result rejected: {e}");
                self.stats.rejected_messages += 1;
            }
        }
    }

    /// Feeds each heartbeat's evaluation into the engine when it changed.
    fn evaluate_heartbeats(
        &mut self,
        now: Timestamp,
        on_outcome: &mut dyn FnMut(&Outcome, &str),
    ) -> bool {
        let mut changed = false;
        let names: Vec<String> = self.heartbeats.keys().cloned().collect();
        for name in names {
            let Some((h, status)) = self.heartbeats.get(&name) else { continue };
            let result = h.evaluate(status, now);
            let same = self
                .engine
                .status(&name)
                .and_then(|s| s.last_result.as_ref())
                .is_some_and(|r| r.state == result.state && r.summary == result.summary);
            if same {
                continue;
            }
            if let Ok(outcome) = self.engine.process(&name, result, now) {
                on_outcome(&outcome, self.summary_of(&name));
                changed = true;
            }
        }
        changed
    }

    /// The status as `ward.check-status/1`.
    pub fn status_file(&self, now: Timestamp) -> StatusFile {
        let checks = self
            .engine
            .checks()
            .map(|(name, config, st)| {
                let r = st.last_result.as_ref();
                CheckStatusJson {
                    name: name.to_string(),
                    kind: self.kinds.get(name).copied().unwrap_or("plugin").to_string(),
                    state: st.display_state().to_string(),
                    state_type: st.state_type.name().to_string(),
                    attempt: st.attempt,
                    max_attempts: config.max_attempts,
                    summary: r.map(|r| r.summary.clone()).unwrap_or_default(),
                    long_output: r.map(|r| r.long_output.clone()).unwrap_or_default(),
                    perfdata: r
                        .map(|r| r.perfdata.iter().map(PerfJson::from).collect())
                        .unwrap_or_default(),
                    last_check: st.last_check.map(|t| t.to_string()),
                    next_check: self.due.get(name).map(|t| t.to_string()),
                    last_state_change: st.last_state_change.map(|t| t.to_string()),
                    flapping: st.flapping.flapping,
                    flapping_value: st.flapping.value,
                    acknowledged: st.acknowledgement.is_some(),
                    in_downtime: self.engine.active_downtime(name, now).is_some(),
                    unreachable_because: st.unreachable_because.clone(),
                }
            })
            .collect();
        StatusFile {
            schema: STATUS_SCHEMA.to_string(),
            generated_at: now.to_string(),
            scheduler: self.stats.clone(),
            checks,
            downtimes: self
                .engine
                .downtimes()
                .iter()
                .map(|d| DowntimeJson {
                    id: d.id,
                    check: d.check.clone(),
                    start: d.start.to_string(),
                    end: d.end.to_string(),
                    flexible_secs: match d.kind {
                        DowntimeKind::Flexible { duration } => Some(duration.as_secs()),
                        DowntimeKind::Fixed => None,
                    },
                    triggered_at: d.triggered_at.map(|t| t.to_string()),
                    active: d.is_active(now),
                    author: d.author.clone(),
                    comment: d.comment.clone(),
                })
                .collect(),
        }
    }

    fn write_files(&mut self, now: Timestamp, last: bool) -> std::io::Result<()> {
        self.stats.queued = self.queue.iter().take_while(|(t, _)| *t <= now).count();
        let state = SavedState {
            schema: STATE_SCHEMA.to_string(),
            engine: self.engine.snapshot(),
            heartbeats: self.heartbeats.iter().map(|(n, (_, s))| (n.clone(), s.clone())).collect(),
        };
        write_atomic(&self.state_dir.join("state.json"), &serde_json::to_vec(&state)?)?;
        let status = self.status_file(now);
        write_atomic(&self.state_dir.join("status.json"), &serde_json::to_vec_pretty(&status)?)?;
        let mut metrics = timeseries::prometheus(self.engine.checks().map(|(n, _, s)| (n, s)));
        let s = &self.stats;
        metrics.push_str(&format!(
            "# HELP ward_scheduler_runs_total Active check runs.\n# TYPE ward_scheduler_runs_total counter\nward_scheduler_runs_total {}\n\
             # HELP ward_scheduler_queue_latency_seconds Time from due to start of check runs.\n# TYPE ward_scheduler_queue_latency_seconds gauge\n\
             ward_scheduler_queue_latency_seconds{{stat=\"last\"}} {}\nward_scheduler_queue_latency_seconds{{stat=\"max\"}} {}\nward_scheduler_queue_latency_seconds{{stat=\"mean\"}} {}\n\
             # HELP ward_passive_results_total Passive results accepted.\n# TYPE ward_passive_results_total counter\nward_passive_results_total {}\n",
            s.runs,
            s.queue_latency_last_ms / 1000.0,
            s.queue_latency_max_ms / 1000.0,
            s.queue_latency_mean_ms / 1000.0,
            s.passive_results,
        ));
        write_atomic(&self.state_dir.join("metrics.prom"), metrics.as_bytes())?;
        self.engine.prune_downtimes(now);
        // Rollups change slowly: once a minute is enough (and always on the way out).
        if now.since(self.last_trends) >= Duration::from_secs(60) || last {
            self.store.prune(now);
            if let Some(db) = &mut self.trend_db {
                if let Err(e) = db.save(&mut self.store, now) {
                    tracing::warn!("saving trends: {e} (kept in memory; retried next minute)");
                }
            }
            write_atomic(
                &self.state_dir.join("trends.json"),
                &serde_json::to_vec(&self.trends())?,
            )?;
            self.last_trends = now;
        }
        Ok(())
    }

    /// Every series at 5-minute and 1-hour resolution (`time`, `min`, `max`, `mean`, `count`).
    fn trends(&self) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for (name, _, st) in self.engine.checks() {
            let Some(r) = &st.last_result else { continue };
            let mut labels = serde_json::Map::new();
            for p in &r.perfdata {
                let Some(series) = self.store.series(name, &p.label) else { continue };
                let rows = |res| {
                    series
                        .query(res, Timestamp(i64::MIN), Timestamp(i64::MAX))
                        .iter()
                        .map(|b| {
                            serde_json::json!([
                                b.start.to_string(),
                                b.min,
                                b.max,
                                b.mean(),
                                b.count
                            ])
                        })
                        .collect::<Vec<_>>()
                };
                labels.insert(
                    p.label.clone(),
                    serde_json::json!({"uom": series.uom, "5m": rows(Resolution::FiveMinutes), "1h": rows(Resolution::OneHour)}),
                );
            }
            out.insert(name.to_string(), serde_json::Value::Object(labels));
        }
        serde_json::json!({"schema": "ward.check-trends/1", "columns": ["start", "min", "max", "mean", "count"], "series": out})
    }
}

const STATE_SCHEMA: &str = "ward.check-state/1";

/// What survives a restart of `ward check serve` (`state.json`; internal, not a wire format).
#[derive(Debug, Serialize, Deserialize)]
struct SavedState {
    schema: String,
    engine: EngineState,
    heartbeats: BTreeMap<String, HeartbeatStatus>,
}

/// Loads `state.json`; a missing file is a fresh start, an unreadable one is set aside
/// (renamed `state.json.bad`) with a warning rather than stopping the monitoring.
fn load_state(state_dir: &Path) -> Option<SavedState> {
    let path = state_dir.join("state.json");
    let bytes = std::fs::read(&path).ok()?;
    match serde_json::from_slice::<SavedState>(&bytes) {
        Ok(s) if s.schema == STATE_SCHEMA => Some(s),
        Ok(s) => {
            tracing::warn!(path = %path.display(), schema = %s.schema, "unknown state schema; starting fresh");
            None
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), "unreadable state ({e}); set aside, starting fresh");
            let _ = std::fs::rename(&path, path.with_extension("json.bad"));
            None
        }
    }
}

/// Writes a file so readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Reads `status.json` from a state directory.
pub fn read_status(state_dir: &Path) -> Result<StatusFile, String> {
    let path = state_dir.join("status.json");
    let bytes = std::fs::read(&path).map_err(|e| {
        format!(
            "{}: {e} (is `ward check serve` running with this state directory?)",
            path.display()
        )
    })?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{next_slot, phase};
    use crate::time::Timestamp;

    #[test]
    fn the_phase_is_stable_and_spreads_checks() {
        let i = Duration::from_secs(300);
        assert_eq!(phase("web", i), phase("web", i));
        assert!(phase("web", i) < i);
        let phases: std::collections::BTreeSet<_> =
            (0..50).map(|n| phase(&format!("check-{n}"), i).as_secs() / 30).collect();
        assert!(phases.len() >= 8, "50 checks land in most of the ten 30 s slices: {phases:?}");
    }

    #[test]
    fn next_slots_never_drift() {
        let i = Duration::from_secs(60);
        let p = Duration::from_millis(12_345);
        // However late a run ends, the next one is on the grid 12.345 s past each minute.
        for end in [0i64, 1, 12_344, 12_345, 12_346, 59_999, 61_000, 3_600_000 + 5] {
            let next = next_slot(Timestamp(end), i, p);
            assert!(next > Timestamp(end));
            assert_eq!((next.0 - 12_345).rem_euclid(60_000), 0, "after {end}: {next:?}");
            assert!(next.0 - end <= 60_000);
        }
        // A run that took 59 s does not push the schedule: same slot as one that took 1 s.
        assert_eq!(
            next_slot(Timestamp(12_345 + 1_000), i, p),
            next_slot(Timestamp(12_345 + 59_000), i, p)
        );
    }
}
