//! Cron-job heartbeats: a job declared with a cron expression in a time zone (or a period)
//! and a grace time. `ward run --heartbeat NAME -- CMD` reports each run's start and end;
//! a run that did not happen by its due time plus grace, or that failed, is a problem.
//!
//! Pure: [`Heartbeat::evaluate`] turns the last events and `now` into a [`CheckResult`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::perfdata::PerfDatum;
use crate::result::CheckResult;
use crate::state::State;
use crate::time::{CronSchedule, Timestamp};

/// When a job is expected to run.
#[derive(Debug, Clone)]
pub enum Schedule {
    Cron(Box<CronSchedule>),
    /// At least once per period.
    Every(Duration),
}

/// A declared job.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    pub name: String,
    pub schedule: Schedule,
    /// How late a run may start (and, for runs in progress, finish) before it is missed.
    pub grace: Duration,
}

/// What a wrapped run reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeartbeatEvent {
    Start,
    Success,
    Failure,
}

/// One report from `ward run --heartbeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ping {
    pub name: String,
    pub event: HeartbeatEvent,
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    #[serde(default)]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// The end of the job's output (for failures).
    #[serde(default)]
    pub output_tail: String,
}

/// What ward knows about a job's runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeartbeatStatus {
    /// When monitoring of this job began (runs due before are not expected).
    pub since: Timestamp,
    pub last_start: Option<Timestamp>,
    /// The last finished run: when, success, exit code, duration, output tail.
    pub last_finish: Option<Finish>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finish {
    pub at: Timestamp,
    pub success: bool,
    pub exit_code: Option<i32>,
    pub duration: Option<Duration>,
    pub output_tail: String,
}

impl HeartbeatStatus {
    pub fn new(since: Timestamp) -> HeartbeatStatus {
        HeartbeatStatus { since, ..HeartbeatStatus::default() }
    }

    /// Applies one ping.
    pub fn apply(&mut self, ping: &Ping) {
        let at = Timestamp(ping.at_ms);
        match ping.event {
            HeartbeatEvent::Start => self.last_start = Some(at),
            HeartbeatEvent::Success | HeartbeatEvent::Failure => {
                self.last_finish = Some(Finish {
                    at,
                    success: ping.event == HeartbeatEvent::Success,
                    exit_code: ping.exit_code,
                    duration: ping.duration_ms.map(Duration::from_millis),
                    output_tail: ping.output_tail.clone(),
                });
            }
        }
    }

    /// The latest sign of life: a start or a finish.
    fn last_seen(&self) -> Option<Timestamp> {
        let finish = self.last_finish.as_ref().map(|f| f.at);
        self.last_start.max(finish)
    }
}

impl Heartbeat {
    /// The run that should have been seen by `now`: the latest due time whose grace has
    /// passed (never before monitoring began).
    pub fn due(&self, status: &HeartbeatStatus, now: Timestamp) -> Option<Timestamp> {
        let due = match &self.schedule {
            Schedule::Cron(cron) => cron.last_at_or_before(now - self.grace)?,
            Schedule::Every(period) => {
                let base = status.last_seen().unwrap_or(status.since);
                let due = base + *period;
                if due + self.grace > now {
                    return None;
                }
                due
            }
        };
        (due >= status.since).then_some(due)
    }

    /// The job's state at `now`.
    pub fn evaluate(&self, status: &HeartbeatStatus, now: Timestamp) -> CheckResult {
        let name = &self.name;
        if let Some(f) = status.last_finish.as_ref().filter(|f| !f.success) {
            // A failure stands until a later success (a new start does not clear it).
            let code = f.exit_code.map_or("no exit code".to_string(), |c| format!("exit code {c}"));
            let mut r = CheckResult::new(
                State::Critical,
                format!("HEARTBEAT CRITICAL - {name}: last run failed with {code} at {}", f.at),
            );
            r.long_output.clone_from(&f.output_tail);
            if let Some(d) = f.duration {
                r.perfdata.push(PerfDatum::new("duration", d.as_secs_f64(), "s"));
            }
            return r;
        }
        if let Some(due) = self.due(status, now) {
            let seen = status.last_seen();
            // For cron schedules a sign of life at or after the due time (minus the grace,
            // for clocks a little off) counts; for periods `due` already follows the last one.
            let on_time = match self.schedule {
                Schedule::Cron(_) => seen.is_some_and(|s| s >= due - self.grace),
                Schedule::Every(_) => false,
            };
            if !on_time {
                let last = seen.map_or("never".to_string(), |s| s.to_string());
                return CheckResult::new(
                    State::Critical,
                    format!(
                        "HEARTBEAT CRITICAL - {name}: missed the run due at {due} (grace {} s; last seen {last})",
                        self.grace.as_secs()
                    ),
                );
            }
        }
        let finished_at = status.last_finish.as_ref().map(|f| f.at);
        if let Some(start) = status.last_start.filter(|s| finished_at.is_none_or(|f| *s > f)) {
            return CheckResult::new(
                State::Ok,
                format!("HEARTBEAT OK - {name}: running since {start}"),
            );
        }
        match &status.last_finish {
            Some(f) => {
                let mut r = CheckResult::new(
                    State::Ok,
                    format!("HEARTBEAT OK - {name}: last run succeeded at {}", f.at),
                );
                if let Some(d) = f.duration {
                    r.perfdata.push(PerfDatum::new("duration", d.as_secs_f64(), "s"));
                }
                r
            }
            None => CheckResult::new(State::Ok, format!("HEARTBEAT OK - {name}: no run due yet")),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{Heartbeat, HeartbeatEvent, HeartbeatStatus, Ping, Schedule};
    use crate::state::State;
    use crate::time::{CronSchedule, Timestamp};

    fn at(text: &str) -> Timestamp {
        Timestamp::from_utc(&chrono::DateTime::parse_from_rfc3339(text).unwrap())
    }

    fn ping(event: HeartbeatEvent, t: &str, code: Option<i32>) -> Ping {
        Ping {
            name: "backup".into(),
            event,
            at_ms: at(t).millis(),
            exit_code: code,
            duration_ms: Some(1500),
            output_tail: "disk full".into(),
        }
    }

    /// Evaluates at `now` and checks the state and a summary fragment.
    fn check(h: &Heartbeat, st: &HeartbeatStatus, now: &str, state: State, text: &str) {
        let r = h.evaluate(st, at(now));
        assert_eq!(r.state, state, "{now}: {}", r.summary);
        assert!(r.summary.contains(text), "{now}: {:?} should contain {text:?}", r.summary);
    }

    #[test]
    fn a_nightly_cron_job_in_berlin() {
        // 02:00 Europe/Berlin = 01:00Z in winter; grace 30 min.
        let h = Heartbeat {
            name: "backup".into(),
            schedule: Schedule::Cron(Box::new(
                CronSchedule::parse("0 2 * * *", "Europe/Berlin").unwrap(),
            )),
            grace: Duration::from_secs(1800),
        };
        let mut st = HeartbeatStatus::new(at("2026-01-10T12:00:00Z"));
        check(&h, &st, "2026-01-11T01:29:00Z", State::Ok, "no run due yet");
        check(
            &h,
            &st,
            "2026-01-11T01:30:00Z",
            State::Critical,
            "missed the run due at 2026-01-11T01:00:00Z",
        );
        st.apply(&ping(HeartbeatEvent::Start, "2026-01-11T01:00:05Z", None));
        check(&h, &st, "2026-01-11T01:30:00Z", State::Ok, "running since 2026-01-11T01:00:05Z");
        st.apply(&ping(HeartbeatEvent::Success, "2026-01-11T01:05:00Z", Some(0)));
        check(
            &h,
            &st,
            "2026-01-11T12:00:00Z",
            State::Ok,
            "last run succeeded at 2026-01-11T01:05:00Z",
        );
        // The next night nothing runs.
        check(
            &h,
            &st,
            "2026-01-12T01:31:00Z",
            State::Critical,
            "missed the run due at 2026-01-12T01:00:00Z",
        );
        // It runs and fails: CRITICAL with the exit code and output until a success.
        st.apply(&ping(HeartbeatEvent::Failure, "2026-01-12T01:40:00Z", Some(3)));
        let r = h.evaluate(&st, at("2026-01-12T02:00:00Z"));
        assert_eq!(r.state, State::Critical);
        assert!(r.summary.contains("failed with exit code 3"), "{}", r.summary);
        assert_eq!(r.long_output, "disk full");
        st.apply(&ping(HeartbeatEvent::Success, "2026-01-12T03:00:00Z", Some(0)));
        check(&h, &st, "2026-01-12T04:00:00Z", State::Ok, "succeeded");
    }

    #[test]
    fn a_periodic_job() {
        let h = Heartbeat {
            name: "sync".into(),
            schedule: Schedule::Every(Duration::from_secs(3600)),
            grace: Duration::from_secs(300),
        };
        let mut st = HeartbeatStatus::new(at("2026-01-10T00:00:00Z"));
        check(&h, &st, "2026-01-10T01:04:59Z", State::Ok, "no run due yet");
        check(&h, &st, "2026-01-10T01:05:00Z", State::Critical, "last seen never");
        st.apply(&ping(HeartbeatEvent::Success, "2026-01-10T01:05:30Z", Some(0)));
        check(&h, &st, "2026-01-10T02:10:29Z", State::Ok, "succeeded");
        check(
            &h,
            &st,
            "2026-01-10T02:10:30Z",
            State::Critical,
            "missed the run due at 2026-01-10T02:05:30Z",
        );
    }
}
