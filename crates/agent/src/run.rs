//! The agent itself: collect → build a report (a compact diff when little changed) → spool
//! it → deliver the spool; heartbeats when idle; the schedule (a full collection every
//! `interval` on a stable per-host phase, plus a collection whenever a watched file changes).
//!
//! What is collected is the caller's business: [`Agent::new`] takes a closure returning a
//! [`Snapshot`] (`ward agent` builds it from ward-inventory; tests from literals).
//!
//! Two reports matter for diffs. The last one *built* (`built.json`) is the base of the next
//! diff, because reports are delivered in the order they were built; the last one *accepted*
//! (`last.json`) is what the heartbeat names. When the server answers `base-mismatch` (or a
//! heartbeat says it no longer knows the accepted report), the chain of diffs is broken: the
//! refused entry and every later one are dropped and a fresh full report is built and spooled.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use ward_api::agent::{
    AgentReport, EnrollRequest, Facts, Heartbeat, HeartbeatResponse, HostIdentity, Inventory,
    Package, ReportResponse, REPORT_SCHEMA,
};

use crate::backoff::Backoff;
use crate::client::{Client, ClientError};
use crate::diff;
use crate::spool::{self, DeliveryStop, Entry, Limits, Spool, SpoolError};
use crate::state::{Enrollment, ReportState, StateDir, StateError};

/// The spool entry kind of an inventory report.
pub const REPORT_KIND: &str = "report";

/// Retry spacing after a failed delivery or heartbeat: full jitter, 1 s doubling to 5 min.
const RETRY_BASE: Duration = Duration::from_secs(1);
const RETRY_CAP: Duration = Duration::from_secs(300);
/// How long the loop sleeps at most before looking at the stop flag again.
const STOP_CHECK: Duration = Duration::from_millis(200);
/// Full reports rebuilt after `base-mismatch` answers within one delivery, at most.
const MAX_REBUILDS: usize = 2;

/// What one collection found.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub host: HostIdentity,
    pub facts: Facts,
    pub packages: Vec<Package>,
    /// Files whose change (mtime or size) triggers the next collection: the package
    /// databases and the lockfiles this collection read.
    pub watch: Vec<PathBuf>,
}

/// When the agent works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// A full collection this often, on a stable per-host phase (default 1 h).
    pub interval: Duration,
    /// How often the watched files are looked at (default 30 s).
    pub watch: Duration,
    /// A heartbeat after this long without talking to the server (default 60 s).
    pub heartbeat: Duration,
}

impl Default for Schedule {
    fn default() -> Schedule {
        Schedule {
            interval: Duration::from_secs(3600),
            watch: Duration::from_secs(30),
            heartbeat: Duration::from_secs(60),
        }
    }
}

/// Everything [`Agent::new`] needs besides the collect closure.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server URL.
    pub server: String,
    /// The state directory (credential, last reports, spool).
    pub state_dir: PathBuf,
    /// PEM certificates to trust instead of the Mozilla roots.
    pub ca_pem: Option<Vec<u8>>,
    pub schedule: Schedule,
    pub limits: Limits,
    /// Bounds each HTTP request.
    pub timeout: Duration,
}

impl Config {
    /// Defaults for everything but the server and the state directory.
    pub fn new(server: &str, state_dir: &Path) -> Config {
        Config {
            server: server.to_owned(),
            state_dir: state_dir.to_path_buf(),
            ca_pem: None,
            schedule: Schedule::default(),
            limits: Limits::default(),
            timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{}: the agent is not enrolled: run `ward agent --server URL --enroll TOKEN` once", dir.display())]
    NotEnrolled { dir: PathBuf },
    #[error("serializing the report: {0}")]
    Serialize(#[from] serde_json::Error),
}

/// Enrolls with the one-time `token` and stores the credential in `state` (mode 0600).
pub fn enroll(
    state: &StateDir,
    client: &Client,
    token: &SecretString,
    host: HostIdentity,
) -> Result<Enrollment, AgentError> {
    let request = EnrollRequest { token: token.expose_secret().to_owned(), host: host.clone() };
    let response = client.enroll(&request)?;
    let enrollment = Enrollment {
        server: client.server().to_owned(),
        host_id: response.host_id,
        host_name: host.name,
        credential: SecretString::from(response.credential),
    };
    state.save_enrollment(&enrollment)?;
    tracing::info!(host_id = enrollment.host_id, host = %enrollment.host_name, "enrolled");
    Ok(enrollment)
}

/// What one [`Agent::deliver`] did.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Reports the server accepted, oldest first, with its answers.
    pub accepted: Vec<(Entry, ReportResponse)>,
    /// Entries dropped because the server can never accept them (a broken diff chain, or a
    /// request it rejected).
    pub dropped: Vec<Entry>,
    /// Why delivery stopped with entries left in the spool.
    pub stopped: Option<ClientError>,
    /// Entries still waiting.
    pub pending: usize,
}

/// The agent: see the module documentation.
pub struct Agent<C> {
    client: Client,
    state: StateDir,
    spool: Spool,
    enrollment: Enrollment,
    schedule: Schedule,
    collect: C,
    accepted: Option<ReportState>,
    built: Option<ReportState>,
    force_full: bool,
    watched: Vec<PathBuf>,
    fingerprint: Vec<Fingerprint>,
    backoff: Backoff,
}

impl<C> std::fmt::Debug for Agent<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("server", &self.client.server())
            .field("state", &self.state.path())
            .field("enrollment", &self.enrollment)
            .finish_non_exhaustive()
    }
}

impl<C: FnMut() -> Snapshot> Agent<C> {
    /// Opens the state directory (which must hold a credential: see [`enroll`]) and its spool.
    pub fn new(config: Config, collect: C) -> Result<Agent<C>, AgentError> {
        let client = Client::new(&config.server, config.ca_pem.as_deref(), config.timeout)?;
        let state = StateDir::open(&config.state_dir)?;
        let enrollment = state
            .enrollment()?
            .ok_or_else(|| AgentError::NotEnrolled { dir: config.state_dir.clone() })?;
        if enrollment.server.trim_end_matches('/') != client.server() {
            tracing::warn!(
                enrolled_with = %enrollment.server,
                server = %client.server(),
                "the agent enrolled with another server URL; using the one given"
            );
        }
        let spool = Spool::open(&state.spool_dir(), config.limits)?;
        let accepted = state.last_accepted()?;
        // While reports wait in the spool, the next diff is based on the newest of them.
        let newest = spool.pending()?.into_iter().rev().find(|e| e.kind == REPORT_KIND);
        let built = match newest {
            None => accepted.clone(),
            Some(entry) => state.last_built()?.filter(|b| b.key == entry.key),
        };
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
            ^ u64::from(std::process::id()).rotate_left(32);
        Ok(Agent {
            client,
            state,
            spool,
            enrollment,
            schedule: config.schedule,
            collect,
            accepted,
            built,
            force_full: false,
            watched: Vec::new(),
            fingerprint: Vec::new(),
            backoff: Backoff::new(RETRY_BASE, RETRY_CAP, seed),
        })
    }

    /// The host id the server gave at enrollment.
    pub fn host_id(&self) -> i64 {
        self.enrollment.host_id
    }

    /// Entries waiting in the spool.
    pub fn pending(&self) -> usize {
        self.spool.usage().0
    }

    /// Collects, builds the report (a diff against the last built report when few packages
    /// changed) and spools it. Returns the spool entry.
    pub fn collect_and_spool(&mut self) -> Result<Entry, AgentError> {
        // Fingerprinted *before* reading: a change made while the collection runs then shows
        // as a difference at the next look, instead of being taken as already collected.
        let before = fingerprint(&self.watched);
        let snapshot = (self.collect)();
        self.fingerprint =
            if snapshot.watch == self.watched { before } else { fingerprint(&snapshot.watch) };
        self.watched = snapshot.watch;
        let packages = diff::normalize(snapshot.packages);
        let base = self.built.as_ref().filter(|_| !self.force_full);
        let inventory = diff::inventory(
            base.map(|b| b.key.as_str()),
            base.map_or(&[][..], |b| &b.packages[..]),
            packages.clone(),
        );
        let mut facts = snapshot.facts;
        facts.agent_version.get_or_insert_with(|| env!("CARGO_PKG_VERSION").to_owned());
        let now = Utc::now();
        let report = AgentReport {
            schema: REPORT_SCHEMA.to_owned(),
            at: now,
            host: snapshot.host,
            facts,
            inventory,
        };
        let body = serde_json::to_vec(&report)?;
        let entry = self.spool.push(REPORT_KIND, &body, now)?;
        match &report.inventory {
            Inventory::Full { packages } => {
                tracing::info!(key = %entry.key, packages = packages.len(), "full report spooled");
            }
            Inventory::Diff { base, upsert, remove } => tracing::info!(
                key = %entry.key,
                %base,
                upsert = upsert.len(),
                remove = remove.len(),
                "diff report spooled"
            ),
        }
        let built = ReportState { key: entry.key.clone(), packages };
        self.state.save_last_built(&built)?;
        self.built = Some(built);
        self.force_full = false;
        Ok(entry)
    }

    /// Sends the spooled reports oldest first (see [`crate::client`] for what each answer
    /// leads to) until the spool is empty or the server cannot take more now.
    pub fn deliver(&mut self) -> Result<Delivery, AgentError> {
        let mut delivery = Delivery::default();
        // Each round either empties the spool, stops, or drops at least one entry; a server
        // that keeps refusing the fresh full reports too is given up on for this call.
        let mut rebuilt = 0;
        loop {
            let mut accepted: Vec<(Entry, ReportResponse, Option<Inventory>)> = Vec::new();
            let (client, credential) = (&self.client, &self.enrollment.credential);
            let report = spool::deliver(&self.spool, |entry, body| {
                if entry.kind != REPORT_KIND {
                    return Err(ClientError::Rejected {
                        status: 0,
                        code: "unknown-kind".into(),
                        message: format!("this agent does not send {:?} entries", entry.kind),
                    });
                }
                let answer = client.report(credential, &entry.key, body)?;
                let inventory =
                    serde_json::from_slice::<AgentReport>(body).ok().map(|r| r.inventory);
                accepted.push((entry.clone(), answer, inventory));
                Ok(())
            });
            for (entry, answer, inventory) in accepted {
                tracing::info!(
                    key = %entry.key,
                    duplicate = answer.duplicate,
                    added = answer.added,
                    removed = answer.removed,
                    changed = answer.changed,
                    findings_new = answer.findings_new,
                    findings_resolved = answer.findings_resolved,
                    "report accepted"
                );
                let base = self.accepted.take();
                let resolved = inventory.and_then(|inventory| {
                    diff::resolve(
                        &inventory,
                        base.as_ref().map(|b| b.key.as_str()),
                        base.as_ref().map_or(&[][..], |b| &b.packages[..]),
                    )
                });
                // A diff on an unknown base leaves nothing to diff against: the next is full.
                self.accepted =
                    resolved.map(|packages| ReportState { key: entry.key.clone(), packages });
                delivery.accepted.push((entry, answer));
            }
            match &self.accepted {
                Some(accepted) => self.state.save_last_accepted(accepted)?,
                None => self.state.forget_last_accepted()?,
            }
            match report.stopped {
                None => break,
                Some(DeliveryStop::Spool(e)) => return Err(e.into()),
                Some(DeliveryStop::Send { entry, error }) => match error {
                    ClientError::BaseMismatch { message } => {
                        tracing::warn!(key = %entry.key, %message, "the server does not know this diff's base: sending a full report instead");
                        self.drop_from(&entry, &mut delivery)?;
                        self.force_full = true;
                        rebuilt += 1;
                        if rebuilt > MAX_REBUILDS {
                            delivery.stopped = Some(ClientError::BaseMismatch { message });
                            break;
                        }
                        self.collect_and_spool()?;
                    }
                    ClientError::Rejected { status, code, message } => {
                        tracing::error!(key = %entry.key, status, %code, %message, "the server rejected a report; it is dropped and the next report is full");
                        self.spool.ack(&entry)?;
                        delivery.dropped.push(entry);
                        self.force_full = true;
                    }
                    error => {
                        delivery.stopped = Some(error);
                        break;
                    }
                },
            }
        }
        delivery.pending = self.pending();
        Ok(delivery)
    }

    /// Collects, spools and delivers once ([`collect_and_spool`](Self::collect_and_spool)
    /// then [`deliver`](Self::deliver)).
    pub fn run_once(&mut self) -> Result<Delivery, AgentError> {
        self.collect_and_spool()?;
        self.deliver()
    }

    /// Tells the server the agent is alive and which report it last accepted; when the
    /// server no longer knows that report, the next report is full.
    pub fn heartbeat(&mut self) -> Result<HeartbeatResponse, AgentError> {
        let heartbeat = Heartbeat {
            at: Utc::now(),
            last_report: self.accepted.as_ref().map(|a| a.key.clone()),
        };
        let answer = self.client.heartbeat(&self.enrollment.credential, &heartbeat)?;
        if !answer.report_known
            && self.pending() == 0
            && (self.accepted.is_some() || self.built.is_some())
        {
            tracing::warn!(
                "the server does not know the last report: the next report will be full"
            );
            self.forget_reports()?;
        }
        Ok(answer)
    }

    /// Runs until `stop` is set (by SIGTERM/SIGINT in `ward agent`): collects at start, on
    /// the schedule and when a watched file changes; delivers, retrying with backoff; sends
    /// heartbeats when idle. Returns after the current step once `stop` is set. Errors are
    /// logged and retried, never returned: the agent keeps running while it can.
    pub fn run(&mut self, stop: &AtomicBool) {
        let start = Instant::now();
        let mut next_scheduled = start + until_next_slot(self.schedule.interval, self.phase());
        let mut next_watch = start + self.schedule.watch;
        let mut next_send = start;
        let mut last_contact = start;
        let mut collect_now = true;
        while !stop.load(Ordering::SeqCst) {
            let now = Instant::now();
            if now >= next_scheduled {
                collect_now = true;
                next_scheduled = now + until_next_slot(self.schedule.interval, self.phase());
            }
            if now >= next_watch {
                next_watch = now + self.schedule.watch;
                if fingerprint(&self.watched) != self.fingerprint {
                    tracing::info!("a package database or lockfile changed: collecting");
                    collect_now = true;
                }
            }
            if collect_now {
                collect_now = false;
                // A full disk or an unwritable spool: say so, try again at the next occasion.
                if let Err(e) = self.collect_and_spool() {
                    tracing::error!(error = %e, "could not spool the report; trying again at the next collection");
                }
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let now = Instant::now();
            if self.pending() > 0 && now >= next_send {
                match self.deliver() {
                    Ok(delivery) => {
                        if !delivery.accepted.is_empty() {
                            last_contact = Instant::now();
                        }
                        match delivery.stopped {
                            None => self.backoff.reset(),
                            Some(error) => {
                                next_send =
                                    Instant::now() + self.retry_after(&error, delivery.pending);
                            }
                        }
                    }
                    Err(e) => {
                        let delay = self.backoff.next_delay();
                        tracing::error!(error = %e, "delivery failed on the agent's side; retrying in {delay:.1?}");
                        next_send = Instant::now() + delay;
                    }
                }
            } else if self.pending() == 0
                && now >= next_send
                && now.duration_since(last_contact) >= self.schedule.heartbeat
            {
                match self.heartbeat() {
                    Ok(_) => {
                        self.backoff.reset();
                        last_contact = Instant::now();
                    }
                    Err(AgentError::Client(error)) => {
                        next_send = Instant::now() + self.retry_after(&error, 0)
                    }
                    Err(other) => {
                        tracing::error!(error = %other, "heartbeat");
                        next_send = Instant::now() + self.backoff.next_delay();
                    }
                }
            }
            let pending = self.pending() > 0;
            let mut wake = next_scheduled.min(next_watch);
            if pending {
                wake = wake.min(next_send);
            } else {
                wake = wake.min(next_send.max(last_contact + self.schedule.heartbeat));
            }
            sleep_until(wake, stop);
        }
        tracing::info!(pending = self.pending(), "stopping");
    }

    /// Logs why the server could not be reached and returns how long to wait.
    fn retry_after(&mut self, error: &ClientError, pending: usize) -> Duration {
        let delay = match error {
            // Nothing changes until an operator acts: wait the longest.
            ClientError::Refused { .. } => {
                RETRY_CAP / 2 + self.backoff.next_delay().min(RETRY_CAP / 2)
            }
            _ => self.backoff.next_delay(),
        };
        match error {
            ClientError::Refused { .. } => tracing::error!(
                %error,
                pending,
                "the server refuses this agent (credential revoked, or the host name changed?); results stay spooled; retrying in {:.0?}",
                delay
            ),
            _ => {
                tracing::warn!(%error, pending, "cannot reach the server; results stay spooled; retrying in {:.1?}", delay)
            }
        }
        delay
    }

    /// Acks `from` and every entry after it (a broken chain of diffs).
    fn drop_from(&mut self, from: &Entry, delivery: &mut Delivery) -> Result<(), AgentError> {
        for entry in self.spool.pending()?.into_iter().filter(|e| e.seq >= from.seq) {
            self.spool.ack(&entry)?;
            delivery.dropped.push(entry);
        }
        Ok(())
    }

    fn forget_reports(&mut self) -> Result<(), StateError> {
        self.accepted = None;
        self.built = None;
        self.force_full = true;
        self.state.forget_reports()
    }

    /// This host's offset within the collection interval, stable across restarts.
    fn phase(&self) -> u64 {
        let mut hash = 0xcbf2_9ce4_8422_2325u64; // FNV-1a
        for b in self.enrollment.host_name.bytes().chain(self.enrollment.host_id.to_le_bytes()) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        hash
    }
}

/// The time until the next `k × interval + phase` (in seconds since the epoch), at least 1 s.
fn until_next_slot(interval: Duration, phase: u64) -> Duration {
    let interval = interval.as_secs().max(1);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let offset = phase % interval;
    let into = (now + interval - offset) % interval;
    Duration::from_secs((interval - into).max(1))
}

/// Sleeps until `wake`, looking at `stop` every 200 ms.
fn sleep_until(wake: Instant, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= wake {
            return;
        }
        std::thread::sleep((wake - now).min(STOP_CHECK));
    }
}

/// A cheap change detector: modification time and size of a file (`None`: missing).
type Fingerprint = Option<(SystemTime, u64)>;

fn fingerprint(paths: &[PathBuf]) -> Vec<Fingerprint> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).ok().map(|m| (m.modified().unwrap_or(UNIX_EPOCH), m.len())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_within_one_interval() {
        for phase in [0, 1, 59, 3599, u64::MAX] {
            let d = until_next_slot(Duration::from_secs(3600), phase);
            assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(3600), "{d:?}");
        }
    }

    #[test]
    fn fingerprints_see_size_and_presence() {
        let temp = tempfile::tempdir().unwrap();
        let file = temp.path().join("status");
        let paths = vec![file.clone()];
        let missing = fingerprint(&paths);
        std::fs::write(&file, "a").unwrap();
        let one = fingerprint(&paths);
        assert_ne!(missing, one);
        std::fs::write(&file, "ab").unwrap();
        assert_ne!(one, fingerprint(&paths));
    }
}
