//! One patch run, in the order that keeps a system safe: repair an interrupted package
//! manager, plan, back up config files, keep the previous packages, run pre-hooks (a veto
//! stops everything), check health before, apply in small steps, restart what runs replaced
//! code, run post-hooks and check health after, and roll back to exactly the previous
//! versions when anything after the first change fails. The record is saved after every phase.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::apt::md5_of;
use crate::backend::{Backend, BackendError, StepLog};
use crate::checks::{CheckOutcome, CheckSpec};
use crate::plan::{CveFacts, Pattern, Plan, Selection};
use crate::reboot::{self, RebootDecision, RebootPolicy};
use crate::record::{
    ConffileRecord, HookRun, Outcome, RebootRecord, RollbackRecord, RunRecord, RunStore,
    SelectionRecord, StoreError,
};
use crate::restart::{self, Restart};
use crate::system::System;

/// How a run behaves.
#[derive(Debug)]
pub struct Options {
    pub selection: Selection,
    pub checks: Vec<CheckSpec>,
    /// Shell commands (`sh -c`), run on this host with `WARD_RUN_ID`, `WARD_ROOT`,
    /// `WARD_PHASE` and `WARD_PACKAGES` set. A pre-hook that fails vetoes the run; a post-hook
    /// that fails is a failed verification.
    pub pre_hooks: Vec<String>,
    pub post_hooks: Vec<String>,
    pub reboot: RebootPolicy,
    pub reboot_delay_minutes: u32,
    /// Reboot even while users are logged in.
    pub reboot_with_sessions: bool,
    /// Units never restarted, beyond [`restart::NEVER_RESTART`].
    pub never_restart: Vec<Pattern>,
    /// The budget for applying all steps.
    pub timeout: Duration,
    /// Per check and per hook.
    pub check_timeout: Duration,
    /// Download the new packages while planning (to read their changelogs and config files).
    pub download: bool,
    /// Kept packages of this many runs are kept on disk (records are never deleted).
    pub keep_runs: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            selection: Selection::default(),
            checks: Vec::new(),
            pre_hooks: Vec::new(),
            post_hooks: Vec::new(),
            reboot: RebootPolicy::Never,
            reboot_delay_minutes: 5,
            reboot_with_sessions: false,
            never_restart: Vec::new(),
            timeout: Duration::from_secs(3600),
            check_timeout: Duration::from_secs(60),
            download: true,
            keep_runs: 10,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("another patch run holds {0} (one run at a time per data directory)")]
    Busy(PathBuf),
    #[error("{0}")]
    Io(String),
}

/// The patch engine over one backend and one system.
#[derive(Debug)]
pub struct Engine<'a, B: Backend> {
    backend: &'a B,
    system: &'a System,
    store: RunStore,
    options: Options,
    cve_facts: Option<&'a dyn CveFacts>,
}

impl<'a, B: Backend> Engine<'a, B> {
    pub fn new(backend: &'a B, system: &'a System, data_dir: &Path, options: Options) -> Self {
        Engine { backend, system, store: RunStore::new(data_dir), options, cve_facts: None }
    }

    /// Also names the CVEs these facts (the advisory index) know each update fixes.
    pub fn with_cve_facts(mut self, facts: &'a dyn CveFacts) -> Self {
        self.cve_facts = Some(facts);
        self
    }

    pub fn store(&self) -> &RunStore {
        &self.store
    }

    /// The plan alone (no change to the system beyond downloading packages).
    pub fn plan(&self) -> Result<Plan, BackendError> {
        let mut plan = self.backend.plan(&self.options.selection, self.options.download)?;
        if let Some(facts) = self.cve_facts {
            plan.add_cves(facts);
        }
        Ok(plan)
    }

    /// Applies the selection: the whole run, recorded.
    pub fn apply(&self) -> Result<RunRecord, EngineError> {
        let _lock = self.lock()?;
        let clock = Instant::now();
        let (id, dir) = self.store.create(Utc::now())?;
        let mut run =
            RunRecord::new(id, "apply", self.backend.name(), self.system.root(), Utc::now());
        run.selection = SelectionRecord {
            security_only: self.options.selection.security_only,
            allow: self.options.selection.allow.iter().map(|p| p.as_str().to_string()).collect(),
            deny: self.options.selection.deny.iter().map(|p| p.as_str().to_string()).collect(),
        };
        run.checks = self.options.checks.iter().map(CheckSpec::text).collect();
        self.store.save(&run)?;
        self.apply_phases(&mut run, &dir);
        if run.outcome == Outcome::Applied || run.outcome == Outcome::NothingToDo {
            self.reboot(&mut run);
        }
        run.finished = Some(Utc::now());
        run.duration_ms = Some(millis(clock.elapsed()));
        self.store.save(&run)?;
        self.store.prune_packages(self.options.keep_runs);
        Ok(run)
    }

    fn apply_phases(&self, run: &mut RunRecord, dir: &Path) {
        // Before: finish what an interrupted dpkg left.
        match self.backend.repair(self.options.timeout) {
            Ok(None) => {}
            Ok(Some(log)) => {
                let ok = log.ok;
                run.repair = Some(log);
                if !ok {
                    return self.finish(
                        run,
                        Outcome::Failed,
                        "the interrupted package manager could not be repaired (see repair)",
                    );
                }
            }
            Err(e) => return self.finish(run, Outcome::Failed, &format!("repair: {e}")),
        }
        let plan = match self.plan() {
            Ok(p) => p,
            Err(e) => return self.finish(run, Outcome::Failed, &format!("plan: {e}")),
        };
        run.plan = plan.updates.clone();
        run.held = plan.held.clone();
        run.removals = plan.removals.clone();
        for h in plan.held.iter().filter(|h| h.attention) {
            run.attention.push(format!("held back {}: {}", h.name, h.reason));
        }
        self.save(run);
        if !plan.removals.is_empty() {
            return self.finish(
                run,
                Outcome::Failed,
                &format!(
                    "applying the selection would remove {}; ward never removes packages while patching (narrow the selection or resolve by hand)",
                    plan.removals.join(", ")
                ),
            );
        }
        if plan.is_empty() {
            return self.finish(
                run,
                Outcome::NothingToDo,
                "no pending update matches the selection",
            );
        }
        // Back up every config file the plan's packages own; modified ones are kept by dpkg.
        let conffiles = match self.backend.config_files(&plan) {
            Ok(c) => c,
            Err(e) => return self.finish(run, Outcome::Failed, &format!("config files: {e}")),
        };
        for c in &conffiles {
            let backup = backup_file(&self.system.path(&c.path), &dir.join("conffiles"), &c.path);
            run.conffiles.push(ConffileRecord {
                path: c.path.clone(),
                package: c.package.clone(),
                modified: c.modified,
                backup,
                kept: None,
                new_version: None,
            });
        }
        // Keep the installed packages the plan replaces: rollback needs exactly these.
        match self.backend.keep_previous(&plan, &dir.join("debs")) {
            Ok(kept) => run.kept = kept,
            Err(e) => {
                return self.finish(
                    run,
                    Outcome::Failed,
                    &format!(
                    "cannot keep the previous versions, so the run could not be rolled back: {e}"
                ),
                )
            }
        }
        self.save(run);
        // Pre-hooks may veto; health must be good before, or "after" tells nothing.
        if let Some(failure) = self.run_hooks("pre", run) {
            return self.finish(run, Outcome::Vetoed, &failure);
        }
        run.checks_before = self.run_checks();
        if let Some(bad) = run.checks_before.iter().find(|c| !c.ok) {
            let reason = format!(
                "check `{}` fails before patching ({}: {}): fix it first, or the run could not tell whether the update broke it",
                bad.check, bad.state, bad.summary
            );
            return self.finish(run, Outcome::Vetoed, &reason);
        }
        self.save(run);
        // Apply, one source package (and what it needs) at a time.
        let deadline = Instant::now() + self.options.timeout;
        for names in steps(&plan) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return self.roll_back(
                    run,
                    dir,
                    "the run's timeout passed before all steps were applied",
                );
            }
            match self.backend.apply(&plan, &names, left) {
                Ok(log) => {
                    let ok = log.ok;
                    let summary =
                        format!("{} failed ({}): {}", log.what, log.status, last_line(&log.output));
                    run.steps.push(log);
                    self.save(run);
                    if !ok {
                        return self.roll_back(run, dir, &summary);
                    }
                }
                Err(e) => return self.roll_back(run, dir, &format!("apply: {e}")),
            }
        }
        // Did dpkg end where the plan said?
        let names: Vec<String> = plan.updates.iter().map(|u| u.name.clone()).collect();
        run.installed = self.installed(&names);
        let wrong: Vec<String> = plan
            .updates
            .iter()
            .filter(|u| {
                !run.installed
                    .iter()
                    .any(|(n, v)| n == &u.name && v.as_deref() == Some(u.to.as_str()))
            })
            .map(|u| u.name.clone())
            .collect();
        if !wrong.is_empty() {
            return self.roll_back(
                run,
                dir,
                &format!(
                    "after applying, dpkg does not show the planned versions of {}",
                    wrong.join(", ")
                ),
            );
        }
        self.note_conffiles(run);
        // Verify: restart what runs replaced code, then hooks and checks.
        run.restarts = restart::restart_stale(
            self.system,
            &self.options.never_restart,
            self.options.check_timeout,
        );
        note_restarts(&run.restarts, &mut run.attention);
        self.save(run);
        if let Some(failure) = self.run_hooks("post", run) {
            return self.roll_back(run, dir, &failure);
        }
        run.checks_after = self.run_checks();
        if let Some(bad) = run.checks_after.iter().find(|c| !c.ok) {
            let reason = format!(
                "check `{}` failed after the update: {}: {}",
                bad.check, bad.state, bad.summary
            );
            return self.roll_back(run, dir, &reason);
        }
        self.finish(run, Outcome::Applied, "");
    }

    /// Undoes a run by hand: reinstalls its kept packages, removes what it newly installed,
    /// restores its config-file backups, restarts and re-checks. Recorded as a run of its own.
    pub fn rollback_run(&self, id: &str) -> Result<RunRecord, EngineError> {
        let _lock = self.lock()?;
        let clock = Instant::now();
        let original = self.store.load(id)?;
        let (new_id, _) = self.store.create(Utc::now())?;
        let mut run =
            RunRecord::new(new_id, "rollback", self.backend.name(), self.system.root(), Utc::now());
        run.rolls_back = Some(original.id.clone());
        run.plan = original.plan.clone();
        run.kept = original.kept.clone();
        run.conffiles = original.conffiles.clone();
        run.checks = self.options.checks.iter().map(CheckSpec::text).collect();
        self.store.save(&run)?;
        let missing: Vec<String> = run
            .kept
            .iter()
            .filter(|k| !k.file.is_file())
            .map(|k| k.file.display().to_string())
            .collect();
        if run.plan.is_empty() {
            self.finish(
                &mut run,
                Outcome::Failed,
                &format!("run {id} changed no package: nothing to roll back"),
            );
        } else if !missing.is_empty() {
            self.finish(
                &mut run,
                Outcome::Failed,
                &format!(
                    "the kept packages of run {id} are gone ({}): pruned after newer runs",
                    missing.join(", ")
                ),
            );
        } else {
            let original_dir = self.store.run_dir(id);
            self.roll_back(
                &mut run,
                &original_dir,
                &format!("rollback of run {id} asked for by hand"),
            );
        }
        run.finished = Some(Utc::now());
        run.duration_ms = Some(millis(clock.elapsed()));
        self.store.save(&run)?;
        Ok(run)
    }

    fn roll_back(&self, run: &mut RunRecord, dir: &Path, reason: &str) {
        tracing::warn!("rolling back: {reason}");
        let mut record = RollbackRecord {
            reason: reason.to_string(),
            steps: Vec::new(),
            restored_conffiles: Vec::new(),
            restarts: Vec::new(),
            checks: Vec::new(),
            versions_restored: false,
        };
        let new_packages: Vec<String> =
            run.plan.iter().filter(|u| u.from.is_none()).map(|u| u.name.clone()).collect();
        let restored = match self.backend.restore(&run.kept, &new_packages, self.options.timeout) {
            Ok(log) => {
                let ok = log.ok;
                record.steps.push(log);
                ok
            }
            Err(e) => {
                record.steps.push(failed_step("restore the previous versions", &e.to_string()));
                false
            }
        };
        for c in &run.conffiles {
            let Some(backup) = &c.backup else { continue };
            match restore_file(&dir.join(backup), &self.system.path(&c.path)) {
                Ok(()) => record.restored_conffiles.push(c.path.clone()),
                Err(e) => run.attention.push(format!("could not restore {}: {e}", c.path)),
            }
        }
        let kept_names: Vec<String> = run.kept.iter().map(|k| k.name.clone()).collect();
        let now = self.installed(&kept_names);
        record.versions_restored =
            run.kept.iter().all(|k| {
                now.iter().any(|(n, v)| n == &k.name && v.as_deref() == Some(k.version.as_str()))
            }) && self.installed(&new_packages).iter().all(|(_, v)| v.is_none());
        record.restarts = restart::restart_stale(
            self.system,
            &self.options.never_restart,
            self.options.check_timeout,
        );
        note_restarts(&record.restarts, &mut run.attention);
        record.checks = self.run_checks();
        let healthy = record.checks.iter().all(|c| c.ok);
        let (outcome, why) = if restored && record.versions_restored && healthy {
            (Outcome::RolledBack, format!("rolled back: {reason}"))
        } else if !restored || !record.versions_restored {
            (Outcome::Failed, format!("{reason}; the rollback could not restore the previous versions (see rollback.steps)"))
        } else {
            let bad = record
                .checks
                .iter()
                .find(|c| !c.ok)
                .map_or(String::new(), |c| format!("`{}`: {}", c.check, c.summary));
            (Outcome::Failed, format!("{reason}; after rolling back the checks still fail: {bad}"))
        };
        let names: Vec<String> = run.plan.iter().map(|u| u.name.clone()).collect();
        run.installed = self.installed(&names);
        run.rollback = Some(record);
        self.finish(run, outcome, &why);
    }

    fn finish(&self, run: &mut RunRecord, outcome: Outcome, reason: &str) {
        run.outcome = outcome;
        run.reason = (!reason.is_empty()).then(|| reason.to_string());
        if matches!(outcome, Outcome::Failed | Outcome::RolledBack) {
            run.attention.push(format!("{}: {reason}", outcome.as_str()));
        }
        self.save(run);
    }

    fn save(&self, run: &RunRecord) {
        if let Err(e) = self.store.save(run) {
            tracing::error!("saving the run record: {e}");
        }
    }

    fn reboot(&self, run: &mut RunRecord) {
        let facts = reboot::reboot_facts(self.system.root());
        let decision = reboot::decide(
            self.options.reboot,
            &facts,
            self.options.reboot_with_sessions,
            self.options.reboot_delay_minutes,
            self.system.is_host(),
        );
        let text = match &decision {
            RebootDecision::No { reason } => format!("no: {reason}"),
            RebootDecision::Blocked { reason } => {
                if facts.required {
                    run.attention.push(format!("reboot required but not done: {reason}"));
                }
                format!("blocked: {reason}")
            }
            RebootDecision::Reboot { delay_minutes, message } => {
                match reboot::schedule_reboot(*delay_minutes, message) {
                    Ok(()) => format!("reboot in {delay_minutes} min: {message}"),
                    Err(e) => {
                        run.attention.push(format!("reboot could not be scheduled: {e}"));
                        format!("failed: {e}")
                    }
                }
            }
        };
        run.reboot = Some(RebootRecord {
            required: facts.required,
            packages: facts.packages,
            decision: text,
        });
    }

    fn run_checks(&self) -> Vec<CheckOutcome> {
        self.options.checks.iter().map(|c| c.run(self.options.check_timeout)).collect()
    }

    /// Runs the `pre` or `post` hooks in order, recording each; stops at the first that
    /// fails and says why.
    fn run_hooks(&self, phase: &str, run: &mut RunRecord) -> Option<String> {
        let commands =
            if phase == "pre" { &self.options.pre_hooks } else { &self.options.post_hooks };
        for command in commands {
            let hook = self.hook(phase, command, run);
            let failure = (!hook.ok).then(|| {
                let verdict = if phase == "pre" { "vetoed the run" } else { "failed" };
                format!(
                    "{phase}-hook `{command}` {verdict} ({}): {}",
                    hook.status,
                    first_line(&hook.output)
                )
            });
            run.hooks.push(hook);
            if failure.is_some() {
                return failure;
            }
        }
        None
    }

    fn hook(&self, phase: &str, command: &str, run: &RunRecord) -> HookRun {
        let packages: Vec<&str> = run.plan.iter().map(|u| u.name.as_str()).collect();
        let started = Instant::now();
        let out = ward_process::Command::new("sh")
            .args(["-c", command])
            .env("WARD_RUN_ID", &run.id)
            .env("WARD_ROOT", self.system.root())
            .env("WARD_PHASE", phase)
            .env("WARD_PACKAGES", packages.join(" "))
            .timeout(self.options.check_timeout)
            .output_limit(64 * 1024)
            .keep_tail()
            .run();
        let (ok, status, output) = match out {
            Ok(out) => {
                let mut text = String::from_utf8_lossy(&out.stdout.bytes).into_owned();
                text.push_str(&String::from_utf8_lossy(&out.stderr.bytes));
                (out.status.success(), crate::backend::status_text(&out.status), text)
            }
            Err(e) => (false, "not run".to_string(), e.to_string()),
        };
        HookRun {
            phase: phase.to_string(),
            command: command.to_string(),
            ok,
            status,
            output,
            duration_ms: millis(started.elapsed()),
        }
    }

    fn installed(&self, names: &[String]) -> Vec<(String, Option<String>)> {
        let found: BTreeMap<String, String> =
            self.backend.installed(names).unwrap_or_default().into_iter().collect();
        names.iter().map(|n| (n.clone(), found.get(n).cloned())).collect()
    }

    /// After applying: was each locally modified config file kept, and did dpkg save the
    /// maintainer's version beside it?
    fn note_conffiles(&self, run: &mut RunRecord) {
        let dir = self.store.run_dir(&run.id);
        for c in run.conffiles.iter_mut().filter(|c| c.modified) {
            let now = md5_of(&self.system.path(&c.path));
            let before = c.backup.as_ref().and_then(|b| md5_of(&dir.join(b)));
            c.kept = Some(now == before);
            for suffix in [".dpkg-dist", ".dpkg-new", ".ucf-dist"] {
                let aside = format!("{}{suffix}", c.path);
                if self.system.path(&aside).exists() {
                    c.new_version = Some(aside);
                }
            }
            // Kept as it was with nothing to merge is the normal case: recorded, not alerted.
            match (&c.kept, &c.new_version) {
                (Some(true), None) => {}
                (Some(true), Some(aside)) => run.attention.push(format!(
                    "kept locally modified {} ({}); the new maintainer version is in {aside}: merge it by hand",
                    c.path, c.package
                )),
                _ => run.attention.push(format!(
                    "locally modified {} ({}) was replaced by the update; the backup is in the run folder",
                    c.path, c.package
                )),
            }
        }
    }

    /// One run at a time per data directory (an exclusive lock the kernel drops if ward dies).
    fn lock(&self) -> Result<std::fs::File, EngineError> {
        let dir = self
            .store
            .dir()
            .parent()
            .map_or_else(|| self.store.dir().to_path_buf(), Path::to_path_buf);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::Io(format!("{}: {e}", dir.display())))?;
        let path = dir.join("lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| EngineError::Io(format!("{}: {e}", path.display())))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(file),
            Err(_) => Err(EngineError::Busy(path)),
        }
    }
}

/// Whether a patch run holds the run lock of `data_dir` now.
pub fn run_in_progress(data_dir: &Path) -> bool {
    let path = data_dir.join("patch").join("lock");
    let Ok(file) = std::fs::OpenOptions::new().write(true).open(path) else { return false };
    rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared).is_err()
}

/// The plan in small steps: one per source package, in apt's order (apt pulls into a step
/// whatever it needs from later ones).
pub fn steps(plan: &Plan) -> Vec<Vec<String>> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_source: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for u in &plan.updates {
        if !by_source.contains_key(u.source.as_str()) {
            order.push(&u.source);
        }
        by_source.entry(&u.source).or_default().push(u.name.clone());
    }
    order.into_iter().filter_map(|s| by_source.remove(s)).collect()
}

fn note_restarts(restarts: &[Restart], attention: &mut Vec<String>) {
    for r in restarts.iter().filter(|r| r.action != "restarted") {
        attention
            .push(format!("{} still runs replaced code ({}): {}", r.target, r.action, r.detail));
    }
}

/// Copies `file` into `dir` at its own path (`/etc/x` → `dir/etc/x`), keeping its mode.
/// Returns the backup's path relative to the run folder, `None` when the file does not exist.
fn backup_file(file: &Path, dir: &Path, path: &str) -> Option<String> {
    let meta = std::fs::symlink_metadata(file).ok()?;
    if !meta.is_file() {
        return None;
    }
    let relative = format!("conffiles/{}", path.trim_start_matches('/'));
    let target = dir.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(target.parent()?).ok()?;
    std::fs::copy(file, &target).ok()?;
    std::os::unix::fs::chown(&target, Some(meta.uid()), Some(meta.gid())).ok()?;
    Some(relative)
}

/// Puts a backup back atomically (copy beside, keep the mode, rename over).
fn restore_file(backup: &Path, target: &Path) -> std::io::Result<()> {
    let tmp = target.with_file_name(format!(
        ".{}.ward-restore",
        target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    std::fs::copy(backup, &tmp)?;
    let meta = std::fs::metadata(backup)?;
    std::os::unix::fs::chown(&tmp, Some(meta.uid()), Some(meta.gid()))?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, target)
}

fn failed_step(what: &str, message: &str) -> StepLog {
    StepLog {
        what: what.to_string(),
        command: Vec::new(),
        ok: false,
        status: "not run".to_string(),
        output: message.to_string(),
        duration_ms: 0,
    }
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

fn last_line(text: &str) -> &str {
    text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
