//! "Installed" is not "in effect": processes that still run code an update replaced (their
//! `/proc/PID/maps` name deleted files) keep the old, vulnerable copy until restarted. This
//! module finds them for the system being patched and restarts their systemd units, except
//! the units that must never be restarted from under a running session.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ward_inventory::host;

use crate::plan::Pattern;
use crate::system::System;

/// Units never restarted by a patch run (restarting them logs people out, stops the logging
/// or the bus everything else talks over, or kills the session ward runs in). `--never-restart`
/// adds to them.
pub const NEVER_RESTART: &[&str] = &[
    "dbus.service",
    "dbus-broker.service",
    "systemd-logind.service",
    "systemd-journald.service",
    "systemd-udevd.service",
    "getty@*.service",
    "serial-getty@*.service",
    "console-getty.service",
    "display-manager.service",
    "gdm*.service",
    "lightdm.service",
    "sddm.service",
    "xdm.service",
    "user@*.service",
    "ward-agent.service",
];

/// A process that still maps replaced files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stale {
    pub pid: u32,
    pub command: String,
    pub unit: Option<String>,
    pub files: Vec<String>,
}

/// What the run did about one unit (or one process without a unit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restart {
    /// The systemd unit, or `pid N (command)` for a process outside any service.
    pub target: String,
    pub processes: Vec<Stale>,
    /// `restarted`, `failed`, `never-restart`, `manual`.
    pub action: String,
    pub detail: String,
}

/// Processes of `system` (those whose root is its root) that map deleted code.
pub fn stale_processes(system: &System) -> Vec<Stale> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let root = system.root().display().to_string();
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let dir = entry.path();
        if std::fs::read_link(dir.join("root")).map_or(true, |r| r != system.root()) {
            continue;
        }
        let Ok(maps) = std::fs::read(dir.join("maps")) else { continue };
        let files = host::deleted_mappings_under(&maps, &root);
        if files.is_empty() {
            continue;
        }
        let command =
            std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim().to_string();
        let unit = std::fs::read(dir.join("cgroup")).ok().and_then(|c| host::systemd_unit(&c));
        found.push(Stale { pid, command, unit, files });
    }
    found.sort_by_key(|s| s.pid);
    found
}

/// Restarts the services whose processes run replaced code: each `.service` unit once, with
/// `systemctl restart`, unless it matches `never` (or is ward's own unit). Processes outside
/// a service, and everything in a system in a folder or on a host without systemd, are
/// reported for a manual restart.
pub fn restart_stale(system: &System, never: &[Pattern], timeout: Duration) -> Vec<Restart> {
    let own_unit = std::fs::read("/proc/self/cgroup").ok().and_then(|c| host::systemd_unit(&c));
    let systemd = system.is_host() && Path::new("/run/systemd/system").is_dir();
    let mut by_target: BTreeMap<String, Vec<Stale>> = BTreeMap::new();
    for stale in stale_processes(system) {
        let target = match &stale.unit {
            Some(unit) if unit.ends_with(".service") => unit.clone(),
            _ => format!("pid {} ({})", stale.pid, stale.command),
        };
        by_target.entry(target).or_default().push(stale);
    }
    let mut out = Vec::new();
    for (target, processes) in by_target {
        let is_unit = target.ends_with(".service");
        let (action, detail) = if !is_unit {
            ("manual", "not part of a systemd service: restart it by hand".to_string())
        } else if never.iter().any(|p| p.matches(&target))
            || NEVER_RESTART.iter().any(|p| Pattern::parse(p).is_ok_and(|p| p.matches(&target)))
        {
            (
                "never-restart",
                "on the never-restart list: restart it in a maintenance window or reboot"
                    .to_string(),
            )
        } else if own_unit.as_deref() == Some(target.as_str()) {
            ("never-restart", "ward runs in this unit".to_string())
        } else if !systemd {
            ("manual", "systemd is not running here: restart it by hand".to_string())
        } else {
            restart_unit(&target, timeout)
        };
        out.push(Restart { target, processes, action: action.to_string(), detail });
    }
    out
}

fn restart_unit(unit: &str, timeout: Duration) -> (&'static str, String) {
    let run = ward_process::Command::new("systemctl")
        .args(["restart", unit])
        .env("LC_ALL", "C")
        .timeout(timeout)
        .output_limit(64 * 1024)
        .run();
    match run {
        Ok(out) if out.status.success() => ("restarted", String::new()),
        Ok(out) => (
            "failed",
            format!(
                "systemctl restart {unit}: {}",
                String::from_utf8_lossy(&out.stderr.bytes).trim()
            ),
        ),
        Err(e) => ("failed", format!("systemctl: {e}")),
    }
}
