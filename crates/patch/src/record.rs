//! The record of every patch run (`ward.patch-run/1`, documented in
//! `docs/json/patch-run.md`), kept in the data directory: `patch/runs/<id>/run.json`, with the
//! previous packages (`debs/`) and config-file backups (`conffiles/`) beside it. The record is
//! rewritten atomically after every phase, so a run killed at any moment leaves a record that
//! says how far it got (outcome `running`), and the files a rollback needs.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backend::{Kept, StepLog};
use crate::checks::CheckOutcome;
use crate::plan::{Held, Update};
use crate::restart::Restart;

pub const SCHEMA: &str = "ward.patch-run/1";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Not finished (or killed: see `ward patch status`).
    Running,
    Applied,
    RolledBack,
    Failed,
    NothingToDo,
    Vetoed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Applied => "applied",
            Outcome::RolledBack => "rolled-back",
            Outcome::Failed => "failed",
            Outcome::NothingToDo => "nothing-to-do",
            Outcome::Vetoed => "vetoed",
        }
    }

    /// A run that left the system patched (or with nothing to patch).
    pub fn is_success(self) -> bool {
        matches!(self, Outcome::Applied | Outcome::NothingToDo)
    }
}

/// One run, as written to `run.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub schema: String,
    pub id: String,
    /// `apply`, or `rollback` for `ward patch rollback RUN_ID`.
    pub kind: String,
    /// The run a `rollback` undid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolls_back: Option<String>,
    pub backend: String,
    pub root: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub outcome: Outcome,
    /// Why the run did not apply (veto, failure, rollback), in one sentence.
    pub reason: Option<String>,
    pub selection: SelectionRecord,
    pub repair: Option<StepLog>,
    pub plan: Vec<Update>,
    pub held: Vec<Held>,
    pub removals: Vec<String>,
    pub conffiles: Vec<ConffileRecord>,
    pub kept: Vec<Kept>,
    pub hooks: Vec<HookRun>,
    pub checks: Vec<String>,
    pub checks_before: Vec<CheckOutcome>,
    pub steps: Vec<StepLog>,
    /// Versions after the run, as dpkg shows them (name, version; absent = not installed).
    pub installed: Vec<(String, Option<String>)>,
    pub restarts: Vec<Restart>,
    pub checks_after: Vec<CheckOutcome>,
    pub rollback: Option<RollbackRecord>,
    pub reboot: Option<RebootRecord>,
    /// What needs a person, loudly: held packages that would prompt, failures, restarts to do
    /// by hand.
    pub attention: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectionRecord {
    pub security_only: bool,
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// A config file of a planned package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConffileRecord {
    pub path: String,
    pub package: String,
    /// Modified locally before the run (kept as it was).
    pub modified: bool,
    /// Where the backup is, relative to the run folder.
    pub backup: Option<String>,
    /// The local version was kept by the update (`None` before the update ran).
    pub kept: Option<bool>,
    /// dpkg saved the maintainer's new version beside it (`PATH.dpkg-dist`).
    pub new_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookRun {
    /// `pre` or `post`.
    pub phase: String,
    pub command: String,
    pub ok: bool,
    pub status: String,
    pub output: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackRecord {
    pub reason: String,
    pub steps: Vec<StepLog>,
    pub restored_conffiles: Vec<String>,
    pub restarts: Vec<Restart>,
    pub checks: Vec<CheckOutcome>,
    /// Every package is back at its recorded previous version.
    pub versions_restored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebootRecord {
    pub required: bool,
    pub packages: Vec<String>,
    /// `no: ...`, `reboot in N min: ...`, `blocked: ...`.
    pub decision: String,
}

impl RunRecord {
    pub fn new(
        id: String,
        kind: &str,
        backend: &str,
        root: &Path,
        started: DateTime<Utc>,
    ) -> RunRecord {
        RunRecord {
            schema: SCHEMA.to_string(),
            id,
            kind: kind.to_string(),
            rolls_back: None,
            backend: backend.to_string(),
            root: root.display().to_string(),
            started,
            finished: None,
            duration_ms: None,
            outcome: Outcome::Running,
            reason: None,
            selection: SelectionRecord::default(),
            repair: None,
            plan: Vec::new(),
            held: Vec::new(),
            removals: Vec::new(),
            conffiles: Vec::new(),
            kept: Vec::new(),
            hooks: Vec::new(),
            checks: Vec::new(),
            checks_before: Vec::new(),
            steps: Vec::new(),
            installed: Vec::new(),
            restarts: Vec::new(),
            checks_after: Vec::new(),
            rollback: None,
            reboot: None,
            attention: Vec::new(),
        }
    }

    /// The CVEs the run's updates fix, each once, in plan order.
    pub fn cves(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for cve in self.plan.iter().flat_map(|u| u.cves.iter()) {
            if !out.contains(&cve.as_str()) {
                out.push(cve);
            }
        }
        out
    }
}

/// Where runs are kept: `DATA_DIR/patch/runs`.
#[derive(Debug, Clone)]
pub struct RunStore {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a ward.patch-run/1 record: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("no patch run {0:?} (see `ward patch history`)")]
    NotFound(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_path_buf(), source }
}

impl RunStore {
    pub fn new(data_dir: &Path) -> RunStore {
        RunStore { dir: data_dir.join("patch").join("runs") }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A new run id (`20261121T101500Z-1a2b`: sorts by time) and its folder.
    pub fn create(&self, now: DateTime<Utc>) -> Result<(String, PathBuf), StoreError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        // Runs hold config-file backups and command output: readable by their owner only.
        if let Some(patch) = self.dir.parent() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(patch, std::fs::Permissions::from_mode(0o700))
                .map_err(io(patch))?;
        }
        let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
        for n in 0u32.. {
            let id = format!("{stamp}-{:04x}", (std::process::id().wrapping_add(n)) & 0xffff);
            let dir = self.dir.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok((id, dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::Io { path: dir, source: e }),
            }
        }
        Err(StoreError::NotFound(stamp))
    }

    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Writes the record atomically (temporary file, fsync, rename).
    pub fn save(&self, record: &RunRecord) -> Result<(), StoreError> {
        let dir = self.run_dir(&record.id);
        let path = dir.join("run.json");
        let tmp = dir.join(".run.json.tmp");
        let mut bytes = serde_json::to_vec_pretty(record)
            .map_err(|e| StoreError::Corrupt { path: path.clone(), message: e.to_string() })?;
        bytes.push(b'\n');
        let mut file = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    pub fn load(&self, id: &str) -> Result<RunRecord, StoreError> {
        if id.is_empty() || id.contains('/') || id.starts_with('.') {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let path = self.run_dir(id).join("run.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(id.to_string()))
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Corrupt { path, message: e.to_string() })
    }

    /// Every run, oldest first. Unreadable records are returned as errors beside the others.
    pub fn list(&self) -> (Vec<RunRecord>, Vec<StoreError>) {
        let mut ids: Vec<String> = match std::fs::read_dir(&self.dir) {
            Ok(d) => d
                .filter_map(Result::ok)
                .filter(|e| e.path().join("run.json").is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect(),
            Err(_) => Vec::new(),
        };
        ids.sort();
        let mut runs = Vec::new();
        let mut errors = Vec::new();
        for id in ids {
            match self.load(&id) {
                Ok(r) => runs.push(r),
                Err(e) => errors.push(e),
            }
        }
        (runs, errors)
    }

    /// Deletes the kept packages of all but the newest `keep` runs that kept any (their
    /// records stay: history is never deleted).
    pub fn prune_packages(&self, keep: usize) {
        let (runs, _) = self.list();
        let with_debs: Vec<&RunRecord> =
            runs.iter().filter(|r| self.run_dir(&r.id).join("debs").is_dir()).collect();
        let excess = with_debs.len().saturating_sub(keep);
        for run in with_debs.into_iter().take(excess) {
            let _ = std::fs::remove_dir_all(self.run_dir(&run.id).join("debs"));
        }
    }
}
