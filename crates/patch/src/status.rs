//! What about patching needs a person (`ward patch status`): computed from the run records
//! and the host's reboot facts, as a pure function so the same rules can run on the server.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::reboot::RebootFacts;
use crate::record::{Outcome, RunRecord};

/// One alert-worthy condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Stable kebab-case code: `run-failed`, `run-rolled-back`, `run-vetoed`,
    /// `run-interrupted`, `needs-attention`, `reboot-pending`, `no-successful-run`.
    pub code: &'static str,
    /// `critical` or `warning`.
    pub severity: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// The limits alerts are raised at.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub reboot_pending: Duration,
    pub without_success: Duration,
}

/// `runs` oldest first (as [`crate::record::RunStore::list`] returns them); `live` says
/// whether a run is going on now (the run lock is held), so a `running` record is not
/// mistaken for a killed one.
pub fn alerts(
    runs: &[RunRecord],
    reboot: &RebootFacts,
    now: DateTime<Utc>,
    limits: Limits,
    live: bool,
) -> Vec<Alert> {
    let mut out = Vec::new();
    let applies: Vec<&RunRecord> = runs.iter().filter(|r| r.kind == "apply").collect();
    if let Some(last) = runs.last() {
        let run = Some(last.id.clone());
        let reason = last.reason.clone().unwrap_or_default();
        match last.outcome {
            Outcome::Failed => out.push(Alert {
                code: "run-failed",
                severity: "critical",
                message: format!("patch run {} failed: {reason}", last.id),
                run: run.clone(),
            }),
            Outcome::RolledBack if last.kind == "apply" => out.push(Alert {
                code: "run-rolled-back",
                severity: "critical",
                message: format!("patch run {} was rolled back: {reason}", last.id),
                run: run.clone(),
            }),
            Outcome::Vetoed => out.push(Alert {
                code: "run-vetoed",
                severity: "warning",
                message: format!("patch run {} was vetoed: {reason}", last.id),
                run: run.clone(),
            }),
            Outcome::Running if !live => out.push(Alert {
                code: "run-interrupted",
                severity: "critical",
                message: format!(
                    "patch run {} was interrupted (ward stopped mid-run); the next run repairs dpkg first, and `ward patch rollback {}` undoes what it applied",
                    last.id, last.id
                ),
                run: run.clone(),
            }),
            _ => {}
        }
        if !matches!(last.outcome, Outcome::Failed | Outcome::RolledBack) {
            for note in &last.attention {
                out.push(Alert {
                    code: "needs-attention",
                    severity: "warning",
                    message: note.clone(),
                    run: run.clone(),
                });
            }
        }
    }
    if reboot.required {
        let pending = reboot.since.map(|s| now - s);
        if pending.is_none_or(|p| p > limits.reboot_pending) {
            let age = pending.map_or("for an unknown time".to_string(), |p| {
                format!("for {} days", p.num_days())
            });
            let packages = if reboot.packages.is_empty() {
                String::new()
            } else {
                format!(" ({})", reboot.packages.join(", "))
            };
            out.push(Alert {
                code: "reboot-pending",
                severity: "warning",
                message: format!("a reboot has been required {age}{packages}: the updates are installed but not in effect"),
                run: None,
            });
        }
    }
    let last_success = applies.iter().rev().find(|r| r.outcome.is_success());
    match last_success {
        None => out.push(Alert {
            code: "no-successful-run",
            severity: "warning",
            message: "no successful patch run recorded".to_string(),
            run: None,
        }),
        Some(r) if now - r.started > limits.without_success => out.push(Alert {
            code: "no-successful-run",
            severity: "warning",
            message: format!(
                "no successful patch run for {} days (last: {} on {})",
                (now - r.started).num_days(),
                r.id,
                r.started.format("%Y-%m-%d")
            ),
            run: Some(r.id.clone()),
        }),
        Some(_) => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    fn run(id: &str, day: u32, outcome: Outcome, attention: &[&str]) -> RunRecord {
        let started = Utc.with_ymd_and_hms(2026, 11, day, 3, 0, 0).unwrap();
        let mut r = RunRecord::new(id.to_string(), "apply", "apt", Path::new("/"), started);
        r.outcome = outcome;
        r.reason = Some(format!("reason of {id}"));
        r.attention = attention.iter().map(|s| s.to_string()).collect();
        r
    }

    fn codes(runs: &[RunRecord], reboot: &RebootFacts, live: bool) -> Vec<&'static str> {
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let limits =
            Limits { reboot_pending: Duration::days(7), without_success: Duration::days(7) };
        alerts(runs, reboot, now, limits, live).into_iter().map(|a| a.code).collect()
    }

    #[test]
    fn alerts_follow_the_runs_and_the_reboot() {
        let quiet = RebootFacts::default();
        assert_eq!(codes(&[], &quiet, false), ["no-successful-run"]);
        assert_eq!(
            codes(&[run("a", 20, Outcome::Applied, &[])], &quiet, false),
            Vec::<&str>::new()
        );
        assert_eq!(
            codes(&[run("a", 1, Outcome::Applied, &[])], &quiet, false),
            ["no-successful-run"]
        );
        assert_eq!(
            codes(
                &[run("a", 20, Outcome::Applied, &[]), run("b", 21, Outcome::RolledBack, &["x"])],
                &quiet,
                false
            ),
            ["run-rolled-back"]
        );
        assert_eq!(
            codes(&[run("a", 20, Outcome::Applied, &["held back x: would ask"])], &quiet, false),
            ["needs-attention"]
        );
        assert_eq!(
            codes(&[run("a", 21, Outcome::Failed, &[])], &quiet, false),
            ["run-failed", "no-successful-run"]
        );
        assert_eq!(
            codes(&[run("a", 21, Outcome::Vetoed, &[])], &quiet, false),
            ["run-vetoed", "no-successful-run"]
        );
        let running = [run("a", 20, Outcome::Applied, &[]), run("b", 21, Outcome::Running, &[])];
        assert_eq!(codes(&running, &quiet, false), ["run-interrupted"]);
        assert_eq!(codes(&running, &quiet, true), Vec::<&str>::new());
        let old_reboot = RebootFacts {
            required: true,
            since: Some(Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()),
            ..RebootFacts::default()
        };
        assert_eq!(
            codes(&[run("a", 20, Outcome::Applied, &[])], &old_reboot, false),
            ["reboot-pending"]
        );
        let new_reboot = RebootFacts {
            since: Some(Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()),
            ..old_reboot
        };
        assert_eq!(
            codes(&[run("a", 20, Outcome::Applied, &[])], &new_reboot, false),
            Vec::<&str>::new()
        );
    }
}
