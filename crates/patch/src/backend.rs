//! The seam between the engine and a package manager. The engine decides *when* (repair,
//! plan, keep, back up, apply in steps, restore); a backend knows *how* for one package
//! manager. apt/dpkg is the first ([`crate::apt::Apt`]); dnf/rpm, apk and composer fit the same
//! shape: each can simulate a selection, download, name its config files, install exact
//! versions and reinstall kept packages.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::plan::{Plan, Selection};

/// A package manager on one system.
pub trait Backend {
    /// `apt`, `dnf`, ...
    fn name(&self) -> &'static str;

    /// Finishes what an interrupted package manager left half-done (`dpkg --configure -a`).
    /// `Ok(None)` when nothing was interrupted.
    fn repair(&self, timeout: Duration) -> Result<Option<StepLog>, BackendError>;

    /// The pending updates under `selection`, resolved by the package manager; with
    /// `download`, the new packages are fetched first so their changelogs (CVEs) and config
    /// files can be read (without it, only packages already downloaded are read).
    fn plan(&self, selection: &Selection, download: bool) -> Result<Plan, BackendError>;

    /// Installed versions of these packages (absent: not installed).
    fn installed(&self, names: &[String]) -> Result<Vec<(String, String)>, BackendError>;

    /// The config files the plan's packages own, with whether each was modified locally.
    fn config_files(&self, plan: &Plan) -> Result<Vec<ConfigFile>, BackendError>;

    /// Puts a copy of each installed package the plan replaces into `dir`, so the run can be
    /// rolled back to exactly these versions.
    fn keep_previous(&self, plan: &Plan, dir: &Path) -> Result<Vec<Kept>, BackendError>;

    /// Installs these planned updates (one small step), keeping locally modified config
    /// files, never removing anything.
    fn apply(
        &self,
        plan: &Plan,
        names: &[String],
        timeout: Duration,
    ) -> Result<StepLog, BackendError>;

    /// Reinstalls the kept packages and removes the packages the run newly installed.
    fn restore(
        &self,
        kept: &[Kept],
        remove: &[String],
        timeout: Duration,
    ) -> Result<StepLog, BackendError>;
}

/// A kept copy of an installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Kept {
    pub name: String,
    pub version: String,
    pub file: PathBuf,
    /// `cache` (the package manager's own download cache) or `repacked` (rebuilt from the
    /// installed files).
    pub from: String,
}

/// A config file a planned package owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ConfigFile {
    pub path: String,
    pub package: String,
    /// Differs from what the package installed (or was deleted).
    pub modified: bool,
    /// The new version ships a different file (known when the new package was read).
    pub changed_by_update: Option<bool>,
}

impl ConfigFile {
    /// dpkg would ask what to do: a local change meets a changed maintainer version.
    pub fn would_prompt(&self) -> bool {
        self.modified && self.changed_by_update == Some(true)
    }
}

/// One command the engine ran, as recorded in the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct StepLog {
    pub what: String,
    pub command: Vec<String>,
    pub ok: bool,
    /// `exit 0`, `signal 9`, `timed out after 30m`.
    pub status: String,
    /// The end of stdout and stderr (what matters when something fails).
    pub output: String,
    pub duration_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{program} could not be run: {source}")]
    Spawn { program: String, source: ward_process::ProcessError },
    #[error("{what} failed ({status}): {output}")]
    Failed { what: String, status: String, output: String },
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Other(String),
}

/// How a process ended, as run records say it: `exit 0`, `signal 9`, `timed out after 30s`.
pub(crate) fn status_text(status: &ward_process::Status) -> String {
    match status {
        ward_process::Status::Exited(code) => format!("exit {code}"),
        ward_process::Status::Signaled(sig) => format!("signal {sig}"),
        ward_process::Status::TimedOut { after, .. } => {
            format!("timed out after {}", ward_process::human(*after))
        }
    }
}
