//! `unit`: a systemd unit must be in one of the expected active states. The state comes from
//! `systemctl show` (run through ward-process); reading its output is the pure
//! [`UnitCheck::evaluate`], so it is tested with recorded outputs.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ward_process::{Command, ProcessError, Status};

use super::{BuiltinError, Params, Reader};
use crate::result::CheckResult;
use crate::state::State;

/// The properties asked of `systemctl show`. `StateChangeTimestamp` dates a state that is not
/// active (`ActiveEnterTimestamp` is when the unit last became active).
pub const PROPERTIES: &str =
    "LoadState,ActiveState,SubState,Result,MainPID,ActiveEnterTimestamp,StateChangeTimestamp";

/// The values systemd gives `ActiveState` (`systemctl --state=help`).
pub const ACTIVE_STATES: [&str; 8] = [
    "active",
    "reloading",
    "inactive",
    "failed",
    "activating",
    "deactivating",
    "maintenance",
    "refreshing",
];

/// Unit type suffixes: a name ending in one of these is taken as it is, any other gets
/// `.service` (as systemctl does: `nginx` is `nginx.service`).
const UNIT_TYPES: [&str; 11] = [
    "service",
    "socket",
    "target",
    "timer",
    "mount",
    "automount",
    "swap",
    "path",
    "slice",
    "scope",
    "device",
];

/// Where systemd marks that it is the running init system (what `sd_booted()` tests).
const SYSTEMD_RUN_DIR: &str = "/run/systemd/system";

/// `name` (a unit; without a type suffix it is a service) must be in one of the `expect`
/// active states (default `active`). A unit systemd does not know is UNKNOWN, any other state
/// CRITICAL with the unit's result; a host without systemd is UNKNOWN.
#[derive(Debug, Clone)]
pub struct UnitCheck {
    /// The full unit name, `nginx.service`.
    pub unit: String,
    /// Acceptable `ActiveState` values, each one of [`ACTIVE_STATES`].
    pub expect: Vec<String>,
}

impl UnitCheck {
    const PARAMS: &'static [&'static str] = &["name", "expect"];

    pub fn from_params(params: &Params) -> Result<UnitCheck, BuiltinError> {
        let r = Reader::new("unit", params, Self::PARAMS)?;
        let name = r.req("name")?.trim();
        if name.is_empty()
            || name.starts_with('-')
            || name.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(r.invalid(
                "name",
                format!("{name:?} is not a unit name (e.g. nginx or nginx.service)"),
            ));
        }
        let unit = match name.rsplit_once('.') {
            Some((_, suffix)) if UNIT_TYPES.contains(&suffix) => name.to_string(),
            _ => format!("{name}.service"),
        };
        let mut expect = Vec::new();
        for state in r.opt("expect").unwrap_or("active").split(',').map(str::trim) {
            if !ACTIVE_STATES.contains(&state) {
                return Err(r.invalid(
                    "expect",
                    format!(
                        "{state:?} is not an active state (known: {})",
                        ACTIVE_STATES.join(", ")
                    ),
                ));
            }
            if !expect.iter().any(|e| e == state) {
                expect.push(state.to_string());
            }
        }
        Ok(UnitCheck { unit, expect })
    }

    /// Asks systemctl, giving up after `timeout`. Never fails: a missing systemctl, a host
    /// not booted with systemd or a timeout is UNKNOWN with the reason.
    pub fn run(&self, timeout: Duration) -> CheckResult {
        let unknown = |reason: String| {
            CheckResult::new(State::Unknown, format!("UNIT UNKNOWN - {}: {reason}", self.unit))
        };
        let command = Command::new("systemctl")
            .args(["show", "--no-pager", "--property", PROPERTIES, "--", &self.unit])
            .env("LC_ALL", "C")
            .timeout(timeout)
            .output_limit(64 * 1024);
        let output = match command.run() {
            Ok(o) => o,
            Err(ProcessError::NotFound { .. }) => {
                return unknown(format!("systemctl not found{}", no_systemd_hint()))
            }
            Err(e) => return unknown(format!("cannot run systemctl: {e}")),
        };
        match output.status {
            Status::Exited(0) => self.evaluate(&String::from_utf8_lossy(&output.stdout.bytes)),
            Status::TimedOut { after, .. } => {
                unknown(format!("systemctl show: timeout after {}", ward_process::human(after)))
            }
            status => {
                let stderr = String::from_utf8_lossy(&output.stderr.bytes);
                let reason = stderr.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
                unknown(format!("systemctl show failed ({status}): {reason}{}", no_systemd_hint()))
            }
        }
    }

    /// Reads the `Key=Value` lines of `systemctl show` for this unit.
    pub fn evaluate(&self, show_output: &str) -> CheckResult {
        let props: BTreeMap<&str, &str> = show_output
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let prop = |k: &str| props.get(k).copied().filter(|v| !v.is_empty());
        let unit = &self.unit;
        if prop("LoadState") == Some("not-found") {
            return CheckResult::new(
                State::Unknown,
                format!("UNIT UNKNOWN - unit {unit} not found"),
            );
        }
        let Some(active) = prop("ActiveState") else {
            return CheckResult::new(
                State::Unknown,
                format!("UNIT UNKNOWN - {unit}: systemctl show printed no ActiveState"),
            );
        };
        let mut text = format!("{unit} {active}");
        if let Some(sub) = prop("SubState") {
            text.push_str(&format!(" ({sub})"));
        }
        if self.expect.iter().any(|e| e == active) {
            if let Some(since) = prop("ActiveEnterTimestamp").filter(|_| active == "active") {
                text.push_str(&format!(" since {since}"));
            }
            if let Some(pid) = prop("MainPID").filter(|p| *p != "0") {
                text.push_str(&format!(", main PID {pid}"));
            }
            return CheckResult::new(State::Ok, format!("UNIT OK - {text}"));
        }
        if let Some(load) = prop("LoadState").filter(|l| *l != "loaded") {
            text.push_str(&format!(", {load}"));
        }
        if let Some(result) = prop("Result") {
            text.push_str(&format!(", result {result}"));
        }
        if let Some(since) = prop("StateChangeTimestamp") {
            text.push_str(&format!(", since {since}"));
        }
        text.push_str(&format!(" (expected {})", self.expect.join(" or ")));
        CheckResult::new(State::Critical, format!("UNIT CRITICAL - {text}"))
    }
}

/// Why systemctl may have failed, when systemd is not the running init system.
fn no_systemd_hint() -> &'static str {
    if Path::new(SYSTEMD_RUN_DIR).exists() {
        ""
    } else {
        " (systemd is not running here: /run/systemd/system is absent)"
    }
}
