//! The check state machine: SOFT/HARD states with attempts, flapping detection, dependencies,
//! downtimes, acknowledgements and passive-result freshness. Pure: every call takes `now`.
//!
//! The rules are Nagios' and Icinga 2's, as operators know them:
//!
//! - **SOFT/HARD.** A non-OK result after OK starts attempt 1 as a SOFT state; each further
//!   non-OK result counts an attempt, and the `max_attempts`-th makes it HARD. While SOFT,
//!   the next check comes after `retry_interval` instead of `interval`. An OK result is always
//!   HARD at once (Icinga 2's rule). A *hard state change* (HARD OK → HARD problem, one HARD
//!   problem to another, HARD problem → OK) is what notifies.
//! - **Flapping** (off by default) is Icinga 2's algorithm: a ring of the last 20 results
//!   records whether each changed the state; changes weigh 0.8 (oldest) + 0.02 per position
//!   (1.18 newest); the value is `100 × weighted changes / 20`. Flapping starts when the value
//!   exceeds the high threshold (30 %) and stops when it drops to the low one (25 %) or below.
//! - **Dependencies.** A check whose parent is in a HARD non-OK state is UNREACHABLE while it
//!   is itself not OK, and never notifies.
//! - **Downtimes** (fixed, flexible, recurring) and **acknowledgements** (sticky or not, with
//!   optional expiry) suppress problem notifications; a non-sticky acknowledgement ends at the
//!   next state change, a sticky one at recovery.
//! - **Passive freshness.** A passive check with no result for its freshness threshold (the
//!   result's own TTL, else the check's `freshness`, else its `interval`) gets an UNKNOWN
//!   "no result since ..." result, counted like any other.
//!
//! **Architecture invariant:** the engine never reads the clock or does IO; the scheduler and
//! the CLI pass `now`. That is what lets the tests replay documented sequences exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::result::CheckResult;
use crate::state::State;
use crate::time::{CronSchedule, Timestamp};

/// Number of results flapping detection looks back on.
pub const FLAPPING_WINDOW: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("no check named {0:?}")]
    UnknownCheck(String),
    #[error("a check named {0:?} already exists")]
    Duplicate(String),
    #[error("check {check:?}: parent {parent:?} is not defined (define parents first)")]
    UnknownParent { check: String, parent: String },
    #[error("check {check:?}: max_attempts must be at least 1")]
    ZeroAttempts { check: String },
    #[error("check {check:?}: flapping thresholds must satisfy 0 <= low <= high <= 100")]
    FlappingThresholds { check: String },
    #[error("check {0:?} is OK: there is no problem to acknowledge")]
    NothingToAcknowledge(String),
    #[error("downtime {0} does not exist")]
    UnknownDowntime(u64),
    #[error("downtime for {check:?} ends before it starts")]
    EmptyDowntime { check: String },
}

/// Flapping thresholds in percent (Icinga 2's defaults: 25 and 30).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlappingThresholds {
    pub low: f64,
    pub high: f64,
}

impl Default for FlappingThresholds {
    fn default() -> Self {
        FlappingThresholds { low: 25.0, high: 30.0 }
    }
}

/// How a check behaves in the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// Results needed for a problem to become HARD (default 3).
    pub max_attempts: u32,
    /// Time between checks in a HARD state or OK (default 5 min).
    pub interval: Duration,
    /// Time between checks in a SOFT problem state (default 1 min).
    pub retry_interval: Duration,
    /// Flapping detection; `None` (the default) disables it.
    pub flapping: Option<FlappingThresholds>,
    /// Checks this one depends on (e.g. the host's ping for its HTTP check).
    pub parents: Vec<String>,
    /// Results arrive from outside (`ward check submit`) instead of being run by ward.
    pub passive: bool,
    /// Passive checks: stale after this long without a result (default: `interval`).
    pub freshness: Option<Duration>,
}

impl Default for CheckConfig {
    fn default() -> Self {
        CheckConfig {
            max_attempts: 3,
            interval: Duration::from_secs(300),
            retry_interval: Duration::from_secs(60),
            flapping: None,
            parents: Vec::new(),
            passive: false,
            freshness: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateType {
    Soft,
    Hard,
}

impl StateType {
    pub fn name(self) -> &'static str {
        match self {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        }
    }
}

/// Icinga 2's flapping ring buffer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flapping {
    changes: [bool; FLAPPING_WINDOW],
    /// Slot the next result is written to (also the oldest result).
    index: usize,
    last_state: State,
    /// The last computed flapping value, in percent.
    pub value: f64,
    pub flapping: bool,
}

impl Default for Flapping {
    fn default() -> Self {
        Flapping {
            changes: [false; FLAPPING_WINDOW],
            index: 0,
            last_state: State::Ok,
            value: 0.0,
            flapping: false,
        }
    }
}

impl Flapping {
    /// Records one result; returns `Some(true)` when flapping starts, `Some(false)` when it
    /// stops.
    pub fn record(&mut self, state: State, thresholds: FlappingThresholds) -> Option<bool> {
        self.changes[self.index] = state != self.last_state;
        self.last_state = state;
        self.index = (self.index + 1) % FLAPPING_WINDOW;
        let mut weighted = 0.0;
        for i in 0..FLAPPING_WINDOW {
            if self.changes[(self.index + i) % FLAPPING_WINDOW] {
                weighted += 0.8 + 0.02 * i as f64;
            }
        }
        self.value = 100.0 * weighted / FLAPPING_WINDOW as f64;
        let now_flapping =
            if self.flapping { self.value > thresholds.low } else { self.value > thresholds.high };
        let changed = (now_flapping != self.flapping).then_some(now_flapping);
        self.flapping = now_flapping;
        changed
    }
}

/// An operator's "I know, I am on it".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub author: String,
    pub comment: String,
    /// Sticky: lasts until recovery; otherwise until the next state change.
    pub sticky: bool,
    pub expires: Option<Timestamp>,
}

/// The live state of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckStatus {
    pub state: State,
    pub state_type: StateType,
    /// Current attempt (1 when OK; up to `max_attempts` for problems).
    pub attempt: u32,
    pub last_hard_state: State,
    pub last_check: Option<Timestamp>,
    pub last_state_change: Option<Timestamp>,
    pub last_hard_state_change: Option<Timestamp>,
    pub last_result: Option<CheckResult>,
    pub flapping: Flapping,
    pub acknowledgement: Option<Acknowledgement>,
    /// The parent whose HARD problem makes this check UNREACHABLE, if any.
    pub unreachable_because: Option<String>,
    /// Whether the current problem was notified (a recovery is notified only then).
    pub problem_notified: bool,
    /// When the next check is due (active checks).
    pub next_check: Option<Timestamp>,
    /// Passive checks: when the last result goes stale.
    pub stale_at: Option<Timestamp>,
}

impl Default for CheckStatus {
    fn default() -> Self {
        CheckStatus {
            state: State::Ok,
            state_type: StateType::Hard,
            attempt: 1,
            last_hard_state: State::Ok,
            last_check: None,
            last_state_change: None,
            last_hard_state_change: None,
            last_result: None,
            flapping: Flapping::default(),
            acknowledgement: None,
            unreachable_because: None,
            problem_notified: false,
            next_check: None,
            stale_at: None,
        }
    }
}

impl CheckStatus {
    /// The state to show: `UNREACHABLE` for a problem behind a failed parent, `PENDING`
    /// before the first result, else the state name.
    pub fn display_state(&self) -> &'static str {
        if self.last_check.is_none() {
            "PENDING"
        } else if self.unreachable_because.is_some() && !self.state.is_ok() {
            "UNREACHABLE"
        } else {
            self.state.name()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    Problem,
    Recovery,
    FlappingStart,
    FlappingEnd,
}

/// Why a notification was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suppressed {
    /// A parent is in a HARD problem state: this check is UNREACHABLE and silent.
    Unreachable {
        parent: String,
    },
    InDowntime {
        downtime: u64,
    },
    Flapping,
    Acknowledged,
}

/// A notification the engine decided on (the alerting layer routes the unsuppressed ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotificationKind,
    pub state: State,
    pub suppressed: Option<Suppressed>,
}

/// What one result did to its check.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub check: String,
    pub state: State,
    pub state_type: StateType,
    pub attempt: u32,
    pub max_attempts: u32,
    pub state_change: bool,
    pub hard_change: bool,
    pub notifications: Vec<Notification>,
    pub next_check: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DowntimeKind {
    /// Active from start to end.
    Fixed,
    /// Starts when the check first reports a problem between start and end, and lasts
    /// `duration` from then.
    Flexible { duration: Duration },
}

/// A planned maintenance window for one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Downtime {
    pub id: u64,
    pub check: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub kind: DowntimeKind,
    pub author: String,
    pub comment: String,
    /// Flexible downtimes: when the problem that started it arrived.
    pub triggered_at: Option<Timestamp>,
}

impl Downtime {
    pub fn is_active(&self, now: Timestamp) -> bool {
        match self.kind {
            DowntimeKind::Fixed => self.start <= now && now < self.end,
            DowntimeKind::Flexible { duration } => {
                self.triggered_at.is_some_and(|t| t <= now && now < t + duration)
            }
        }
    }
}

/// A downtime repeating on a cron schedule in a time zone, e.g. every Sunday 02:00
/// Europe/Berlin for 2 hours.
#[derive(Debug, Clone)]
pub struct RecurringDowntime {
    pub id: u64,
    pub check: String,
    pub schedule: CronSchedule,
    pub duration: Duration,
    pub comment: String,
}

impl RecurringDowntime {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.schedule.last_at_or_before(now).is_some_and(|start| now < start + self.duration)
    }
}

/// What [`Engine::snapshot`] keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EngineState {
    pub checks: BTreeMap<String, CheckStatus>,
    pub downtimes: Vec<Downtime>,
    pub next_id: u64,
}

#[derive(Debug, Clone)]
struct Check {
    config: CheckConfig,
    status: CheckStatus,
}

/// Every check's configuration and live status, with downtimes.
#[derive(Debug, Clone, Default)]
pub struct Engine {
    checks: BTreeMap<String, Check>,
    downtimes: Vec<Downtime>,
    recurring: Vec<RecurringDowntime>,
    next_id: u64,
}

impl Engine {
    pub fn new() -> Engine {
        Engine::default()
    }

    /// Adds a check. Parents must already exist, so dependency cycles cannot be built.
    pub fn add_check(&mut self, name: &str, config: CheckConfig) -> Result<(), EngineError> {
        if self.checks.contains_key(name) {
            return Err(EngineError::Duplicate(name.to_string()));
        }
        if config.max_attempts == 0 {
            return Err(EngineError::ZeroAttempts { check: name.to_string() });
        }
        if let Some(f) = config.flapping {
            if !(0.0 <= f.low && f.low <= f.high && f.high <= 100.0) {
                return Err(EngineError::FlappingThresholds { check: name.to_string() });
            }
        }
        for parent in &config.parents {
            if !self.checks.contains_key(parent) {
                return Err(EngineError::UnknownParent {
                    check: name.to_string(),
                    parent: parent.clone(),
                });
            }
        }
        self.checks.insert(name.to_string(), Check { config, status: CheckStatus::default() });
        Ok(())
    }

    pub fn status(&self, name: &str) -> Option<&CheckStatus> {
        self.checks.get(name).map(|c| &c.status)
    }

    pub fn config(&self, name: &str) -> Option<&CheckConfig> {
        self.checks.get(name).map(|c| &c.config)
    }

    /// Every check, by name.
    pub fn checks(&self) -> impl Iterator<Item = (&str, &CheckConfig, &CheckStatus)> {
        self.checks.iter().map(|(n, c)| (n.as_str(), &c.config, &c.status))
    }

    /// Processes an active (or any) result for `name` at `now`.
    pub fn process(
        &mut self,
        name: &str,
        result: CheckResult,
        now: Timestamp,
    ) -> Result<Outcome, EngineError> {
        let unreachable_because = {
            let check =
                self.checks.get(name).ok_or_else(|| EngineError::UnknownCheck(name.to_string()))?;
            check.config.parents.iter().find_map(|p| {
                let parent = self.checks.get(p)?;
                (parent.status.state_type == StateType::Hard && !parent.status.state.is_ok())
                    .then(|| p.clone())
            })
        };
        let new = result.state;
        // Flexible downtimes start with the first problem inside their window.
        if !new.is_ok() {
            for d in &mut self.downtimes {
                if d.check == name
                    && d.triggered_at.is_none()
                    && matches!(d.kind, DowntimeKind::Flexible { .. })
                    && d.start <= now
                    && now <= d.end
                {
                    d.triggered_at = Some(now);
                }
            }
        }
        let downtime = self.active_downtime(name, now);
        let check =
            self.checks.get_mut(name).ok_or_else(|| EngineError::UnknownCheck(name.to_string()))?;
        let config = &check.config;
        let st = &mut check.status;

        if st.acknowledgement.as_ref().is_some_and(|a| a.expires.is_some_and(|e| e <= now)) {
            st.acknowledgement = None;
        }

        let old = st.state;
        let (state_type, attempt) = if new.is_ok() {
            (StateType::Hard, 1)
        } else if old.is_ok() {
            if config.max_attempts <= 1 {
                (StateType::Hard, 1)
            } else {
                (StateType::Soft, 1)
            }
        } else if st.state_type == StateType::Hard {
            (StateType::Hard, st.attempt)
        } else {
            let attempt = (st.attempt + 1).min(config.max_attempts);
            let t = if attempt >= config.max_attempts { StateType::Hard } else { StateType::Soft };
            (t, attempt)
        };
        let state_change = new != old;
        let hard_change = state_type == StateType::Hard && new != st.last_hard_state;

        st.state = new;
        st.state_type = state_type;
        st.attempt = attempt;
        st.last_check = Some(now);
        if state_change {
            st.last_state_change = Some(now);
        }
        if hard_change {
            st.last_hard_state_change = Some(now);
        }
        if state_type == StateType::Hard {
            st.last_hard_state = new;
        }
        st.unreachable_because = if new.is_ok() { None } else { unreachable_because };
        if new.is_ok() || (state_change && st.acknowledgement.as_ref().is_some_and(|a| !a.sticky)) {
            st.acknowledgement = None;
        }

        let mut notifications = Vec::new();
        if let Some(thresholds) = config.flapping {
            if let Some(started) = st.flapping.record(new, thresholds) {
                notifications.push(Notification {
                    kind: if started {
                        NotificationKind::FlappingStart
                    } else {
                        NotificationKind::FlappingEnd
                    },
                    state: new,
                    suppressed: downtime.map(|id| Suppressed::InDowntime { downtime: id }),
                });
            }
        }

        if hard_change {
            let kind =
                if new.is_ok() { NotificationKind::Recovery } else { NotificationKind::Problem };
            if kind == NotificationKind::Problem || st.problem_notified {
                let suppressed = if let Some(parent) = &st.unreachable_because {
                    Some(Suppressed::Unreachable { parent: parent.clone() })
                } else if let Some(id) = downtime {
                    Some(Suppressed::InDowntime { downtime: id })
                } else if st.flapping.flapping && config.flapping.is_some() {
                    Some(Suppressed::Flapping)
                } else if kind == NotificationKind::Problem && st.acknowledgement.is_some() {
                    Some(Suppressed::Acknowledged)
                } else {
                    None
                };
                // A recovery is owed once any problem of this episode was notified.
                match kind {
                    NotificationKind::Problem => st.problem_notified |= suppressed.is_none(),
                    _ => st.problem_notified = false,
                }
                notifications.push(Notification { kind, state: new, suppressed });
            }
        }

        let wait =
            if state_type == StateType::Soft { config.retry_interval } else { config.interval };
        let next_check = now + wait;
        st.next_check = Some(next_check);
        if config.passive {
            st.stale_at = Some(now + config.freshness.unwrap_or(config.interval));
        }
        st.last_result = Some(result);
        Ok(Outcome {
            check: name.to_string(),
            state: new,
            state_type,
            attempt,
            max_attempts: config.max_attempts,
            state_change,
            hard_change,
            notifications,
            next_check,
        })
    }

    /// A passive result: processed like any other, then fresh for `ttl` (or the check's
    /// freshness threshold).
    pub fn submit_passive(
        &mut self,
        name: &str,
        result: CheckResult,
        ttl: Option<Duration>,
        now: Timestamp,
    ) -> Result<Outcome, EngineError> {
        let outcome = self.process(name, result, now)?;
        if let (Some(ttl), Some(check)) = (ttl, self.checks.get_mut(name)) {
            check.status.stale_at = Some(now + ttl);
        }
        Ok(outcome)
    }

    /// Starts the freshness clock of passive checks that never had a result (call once when
    /// the engine starts serving).
    pub fn start_freshness(&mut self, now: Timestamp) {
        for check in self.checks.values_mut() {
            if check.config.passive && check.status.stale_at.is_none() {
                let c = &check.config;
                check.status.stale_at = Some(now + c.freshness.unwrap_or(c.interval));
            }
        }
    }

    /// Gives every stale passive check its UNKNOWN "no result since ..." result.
    pub fn expire_stale(&mut self, now: Timestamp) -> Vec<Outcome> {
        let stale: Vec<(String, Option<Timestamp>)> = self
            .checks
            .iter()
            .filter(|(_, c)| c.config.passive && c.status.stale_at.is_some_and(|t| t <= now))
            .map(|(n, c)| (n.clone(), c.status.last_check))
            .collect();
        stale
            .into_iter()
            .filter_map(|(name, last)| {
                let summary = match last {
                    Some(t) => format!("no result since {t}"),
                    None => "no result received yet".to_string(),
                };
                self.process(&name, CheckResult::new(State::Unknown, summary), now).ok()
            })
            .collect()
    }

    /// Acknowledges the current problem of `name`.
    pub fn acknowledge(&mut self, name: &str, ack: Acknowledgement) -> Result<(), EngineError> {
        let check =
            self.checks.get_mut(name).ok_or_else(|| EngineError::UnknownCheck(name.to_string()))?;
        if check.status.state.is_ok() {
            return Err(EngineError::NothingToAcknowledge(name.to_string()));
        }
        check.status.acknowledgement = Some(ack);
        Ok(())
    }

    /// Schedules a fixed or flexible downtime; returns its id.
    pub fn schedule_downtime(
        &mut self,
        check: &str,
        start: Timestamp,
        end: Timestamp,
        kind: DowntimeKind,
        author: &str,
        comment: &str,
    ) -> Result<u64, EngineError> {
        if !self.checks.contains_key(check) {
            return Err(EngineError::UnknownCheck(check.to_string()));
        }
        if end <= start {
            return Err(EngineError::EmptyDowntime { check: check.to_string() });
        }
        self.next_id += 1;
        self.downtimes.push(Downtime {
            id: self.next_id,
            check: check.to_string(),
            start,
            end,
            kind,
            author: author.to_string(),
            comment: comment.to_string(),
            triggered_at: None,
        });
        Ok(self.next_id)
    }

    /// Adds a recurring downtime; returns its id.
    pub fn schedule_recurring_downtime(
        &mut self,
        check: &str,
        schedule: CronSchedule,
        duration: Duration,
        comment: &str,
    ) -> Result<u64, EngineError> {
        if !self.checks.contains_key(check) {
            return Err(EngineError::UnknownCheck(check.to_string()));
        }
        self.next_id += 1;
        self.recurring.push(RecurringDowntime {
            id: self.next_id,
            check: check.to_string(),
            schedule,
            duration,
            comment: comment.to_string(),
        });
        Ok(self.next_id)
    }

    /// Ends a downtime early (e.g. a patch run's verification passed).
    pub fn remove_downtime(&mut self, id: u64) -> Result<(), EngineError> {
        let before = self.downtimes.len() + self.recurring.len();
        self.downtimes.retain(|d| d.id != id);
        self.recurring.retain(|d| d.id != id);
        if self.downtimes.len() + self.recurring.len() == before {
            return Err(EngineError::UnknownDowntime(id));
        }
        Ok(())
    }

    /// The id of a downtime covering `check` at `now`.
    pub fn active_downtime(&self, check: &str, now: Timestamp) -> Option<u64> {
        self.downtimes.iter().find(|d| d.check == check && d.is_active(now)).map(|d| d.id).or_else(
            || self.recurring.iter().find(|d| d.check == check && d.is_active(now)).map(|d| d.id),
        )
    }

    pub fn downtimes(&self) -> &[Downtime] {
        &self.downtimes
    }

    /// The live state worth keeping across restarts: every check's status, the scheduled
    /// (fixed and flexible) downtimes and the id counter. Configuration is not included.
    pub fn snapshot(&self) -> EngineState {
        EngineState {
            checks: self.checks.iter().map(|(n, c)| (n.clone(), c.status.clone())).collect(),
            downtimes: self.downtimes.clone(),
            next_id: self.next_id,
        }
    }

    /// Restores a snapshot onto the configured checks: statuses of checks that still exist,
    /// downtimes of checks that still exist. Returns the names that were dropped.
    pub fn restore(&mut self, state: EngineState) -> Vec<String> {
        let mut dropped = Vec::new();
        for (name, status) in state.checks {
            match self.checks.get_mut(&name) {
                Some(c) => c.status = status,
                None => dropped.push(name),
            }
        }
        self.downtimes =
            state.downtimes.into_iter().filter(|d| self.checks.contains_key(&d.check)).collect();
        self.next_id = self.next_id.max(state.next_id);
        dropped
    }

    /// Drops fixed and flexible downtimes that can no longer become active.
    pub fn prune_downtimes(&mut self, now: Timestamp) {
        self.downtimes.retain(|d| match d.kind {
            DowntimeKind::Fixed => now < d.end,
            DowntimeKind::Flexible { duration } => match d.triggered_at {
                Some(t) => now < t + duration,
                None => now <= d.end,
            },
        });
    }
}
