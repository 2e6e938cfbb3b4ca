//! `ward patch`: the CLI side of the patch engine (ward-patch): argument resolution, the
//! tables people read and the JSON documents scripts read (`docs/json/patch.md`).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Serialize;
use ward_patch::apt::Apt;
use ward_patch::checks::CheckSpec;
use ward_patch::engine::{self, Engine, Options};
use ward_patch::plan::{CveFacts, Pattern, Plan, Selection};
use ward_patch::reboot::RebootPolicy;
use ward_patch::record::{Outcome, RunRecord, RunStore};
use ward_patch::status::{self, Limits};
use ward_patch::system::System;

use super::{EXIT_ERROR, EXIT_FOUND};
use crate::cli::{
    PatchApplyArgs, PatchCommand, PatchFormat, PatchHistoryArgs, PatchPlanArgs, PatchRollbackArgs,
    PatchSelectionArgs, PatchStatusArgs, PatchTarget, PatchVerifyArgs,
};
use crate::cmd::db::resolve_data_dir;

pub fn run(command: PatchCommand) -> anyhow::Result<ExitCode> {
    match command {
        PatchCommand::Plan(args) => plan(args),
        PatchCommand::Apply(args) => apply(args),
        PatchCommand::Rollback(args) => rollback(args),
        PatchCommand::History(args) => history(args),
        PatchCommand::Status(args) => status(args),
    }
}

fn system_of(target: &PatchTarget) -> anyhow::Result<System> {
    let dpkg = target.root.join("var/lib/dpkg/status");
    if !dpkg.is_file() {
        bail!(
            "{} is not a Debian system (no {}): ward patch drives apt/dpkg; give --root a Debian system's folder",
            target.root.display(),
            dpkg.display()
        );
    }
    Ok(System::new(target.root.clone()))
}

fn selection_of(args: &PatchSelectionArgs) -> anyhow::Result<Selection> {
    let patterns = |list: &[String], flag: &str| -> anyhow::Result<Vec<Pattern>> {
        list.iter().map(|p| Pattern::parse(p).with_context(|| flag.to_string())).collect()
    };
    Ok(Selection {
        security_only: args.security_only,
        allow: patterns(&args.allow, "--allow")?,
        deny: patterns(&args.deny, "--deny")?,
    })
}

fn verify_options(args: &PatchVerifyArgs, options: &mut Options) -> anyhow::Result<()> {
    options.checks = args.checks.iter().map(|c| CheckSpec::parse(c)).collect::<Result<_, _>>()?;
    options.check_timeout =
        super::check::timeout_of(args.check_timeout).context("--check-timeout")?;
    options.never_restart = args
        .never_restart
        .iter()
        .map(|p| Pattern::parse(p).context("--never-restart"))
        .collect::<anyhow::Result<_>>()?;
    Ok(())
}

/// CVE facts from the advisory index (`ward db`) for the patched system's OS release: the
/// CVE ids of every record on the update's source package that affects the installed
/// version and not the new one.
#[derive(Debug)]
struct IndexCves {
    index: ward_advisory::store::Index,
    ecosystem: String,
}

impl CveFacts for IndexCves {
    fn fixed_between(&self, source: &str, from: &str, to: &str) -> Vec<String> {
        let records = match self.index.lookup(&self.ecosystem, source) {
            Ok(r) => r,
            Err(e) => {
                let _ =
                    super::write_stderr(&format!("ward: advisory index lookup {source}: {e}\n"));
                return Vec::new();
            }
        };
        let affects = |a: &ward_advisory::model::Affected, v: &str| {
            ward_advisory::affects::affects(a, v).ok()
        };
        let mut out: Vec<String> = Vec::new();
        for record in records.iter().filter(|r| r.withdrawn.is_none()) {
            let fixes = record.affected.iter().any(|a| {
                a.package
                    .as_ref()
                    .is_some_and(|p| p.name == source && p.ecosystem.as_str() == self.ecosystem)
                    && affects(a, from) == Some(true)
                    && affects(a, to) == Some(false)
            });
            if !fixes {
                continue;
            }
            let names = std::iter::once(&record.id).chain(&record.aliases).chain(&record.upstream);
            for cve in names.filter_map(|n| cve_in(n)) {
                if !out.contains(&cve) {
                    out.push(cve);
                }
            }
        }
        out
    }
}

/// `CVE-2024-1234` in `CVE-2024-1234` or `DEBIAN-CVE-2024-1234`.
fn cve_in(name: &str) -> Option<String> {
    let id = &name[name.find("CVE-")?..];
    let mut parts = id.splitn(3, '-').skip(1);
    let (year, number) = (parts.next()?, parts.next()?);
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    (year.len() == 4 && digits(year) && number.len() >= 4 && digits(number)).then(|| id.to_string())
}

/// The advisory index of `data_dir`, when there is one, as CVE facts for `system`'s release.
fn index_cves(data_dir: &std::path::Path, system: &System) -> Option<IndexCves> {
    let index = ward_advisory::store::Index::open(data_dir).ok()?;
    let os = std::fs::read(system.path("/etc/os-release"))
        .or_else(|_| std::fs::read(system.path("/usr/lib/os-release")))
        .ok()?;
    let ecosystem = ward_inventory::host::OsRelease::parse(&os).ecosystem()?.to_string();
    Some(IndexCves { index, ecosystem })
}

/// `ward.patch-plan/1`.
#[derive(Serialize)]
struct PlanDocument<'a> {
    schema: &'static str,
    root: String,
    backend: &'static str,
    security_only: bool,
    #[serde(flatten)]
    plan: &'a Plan,
}

fn plan(args: PatchPlanArgs) -> anyhow::Result<ExitCode> {
    let system = system_of(&args.target)?;
    let selection = selection_of(&args.selection)?;
    let apt = Apt::new(system.clone());
    // Downloading into apt's cache needs root; a user still gets the plan, with the CVEs of
    // the packages already downloaded.
    let download = !args.selection.no_download && crate::cmd::db::is_root();
    if !args.selection.no_download && !download {
        super::write_stderr("ward: not root: planning without downloading (CVEs only from packages already in apt's cache)\n")?;
    }
    let mut plan = ward_patch::backend::Backend::plan(&apt, &selection, download)
        .context("planning with apt")?;
    let data_dir = resolve_data_dir(args.target.data_dir.clone())?;
    if let Some(facts) = index_cves(&data_dir, &system) {
        plan.add_cves(&facts);
    }
    let mut out = std::io::stdout().lock();
    match args.target.format {
        PatchFormat::Json => {
            let doc = PlanDocument {
                schema: "ward.patch-plan/1",
                root: system.root().display().to_string(),
                backend: "apt",
                security_only: selection.security_only,
                plan: &plan,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        PatchFormat::Table => write_plan(&mut out, &plan)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn write_plan(out: &mut impl Write, plan: &Plan) -> std::io::Result<()> {
    if plan.updates.is_empty() {
        writeln!(out, "nothing to update")?;
    } else {
        let width = |f: &dyn Fn(&ward_patch::plan::Update) -> usize| {
            plan.updates.iter().map(f).max().unwrap_or(0)
        };
        let wn = width(&|u| u.name.len()).max(7);
        let wf = width(&|u| u.from.as_deref().unwrap_or("(new)").len()).max(4);
        let wt = width(&|u| u.to.len()).max(2);
        writeln!(out, "{:wn$}  {:wf$}  {:wt$}  {:8}  FIXES", "PACKAGE", "FROM", "TO", "ORIGIN")?;
        for u in &plan.updates {
            let origin = match (u.security, u.requested) {
                (true, _) => "security",
                (false, true) => "update",
                (false, false) => "needed",
            };
            // A kernel update names thousands of CVEs: the table shows the first few
            // (`--format json` has them all).
            let fixes = match u.cves.len() {
                0 => "-".to_string(),
                n if n <= 4 => u.cves.join(" "),
                n => format!("{} (+{} more)", u.cves[..3].join(" "), n - 3),
            };
            writeln!(
                out,
                "{:wn$}  {:wf$}  {:wt$}  {origin:8}  {fixes}",
                u.name,
                u.from.as_deref().unwrap_or("(new)"),
                u.to
            )?;
        }
    }
    if !plan.held.is_empty() {
        writeln!(out, "\nheld back:")?;
        for h in &plan.held {
            let mark = if h.attention { "!" } else { " " };
            let to = h.to.as_deref().map_or(String::new(), |t| format!(" → {t}"));
            writeln!(out, "{mark} {}{to}: {}", h.name, h.reason)?;
        }
    }
    for c in plan.conffiles.iter().filter(|c| c.modified) {
        writeln!(out, "  locally modified {} ({}) will be kept", c.path, c.package)?;
    }
    if !plan.removals.is_empty() {
        writeln!(
            out,
            "! apt would remove {}: ward will not apply this selection",
            plan.removals.join(", ")
        )?;
    }
    let security = plan.updates.iter().filter(|u| u.security).count();
    let mut cves: Vec<&str> =
        plan.updates.iter().flat_map(|u| u.cves.iter().map(String::as_str)).collect();
    cves.sort_unstable();
    cves.dedup();
    writeln!(
        out,
        "\n{} updates ({security} security), {} CVEs fixed, {} held back",
        plan.updates.len(),
        cves.len(),
        plan.held.len()
    )
}

fn apply(args: PatchApplyArgs) -> anyhow::Result<ExitCode> {
    let system = system_of(&args.target)?;
    let data_dir = resolve_data_dir(args.target.data_dir.clone())?;
    let mut options = Options {
        selection: selection_of(&args.selection)?,
        pre_hooks: args.pre_hook.clone(),
        post_hooks: args.post_hook.clone(),
        reboot: args
            .reboot
            .parse::<RebootPolicy>()
            .map_err(|e| anyhow::anyhow!("--reboot: {e}"))?,
        reboot_delay_minutes: args.reboot_delay,
        reboot_with_sessions: args.reboot_with_sessions,
        timeout: Duration::from_secs(args.timeout.saturating_mul(60)),
        download: !args.selection.no_download,
        ..Options::default()
    };
    verify_options(&args.verify, &mut options)?;
    let apt = Apt::new(system.clone());
    let facts = index_cves(&data_dir, &system);
    let mut engine = Engine::new(&apt, &system, &data_dir, options);
    if let Some(facts) = &facts {
        engine = engine.with_cve_facts(facts);
    }
    let run = engine.apply()?;
    print_run(&run, args.target.format, engine.store())?;
    Ok(ExitCode::from(match run.outcome {
        Outcome::Applied | Outcome::NothingToDo => 0,
        Outcome::Vetoed | Outcome::RolledBack => EXIT_FOUND,
        Outcome::Failed | Outcome::Running => EXIT_ERROR,
    }))
}

fn rollback(args: PatchRollbackArgs) -> anyhow::Result<ExitCode> {
    let system = system_of(&args.target)?;
    let data_dir = resolve_data_dir(args.target.data_dir.clone())?;
    let mut options = Options::default();
    verify_options(&args.verify, &mut options)?;
    let apt = Apt::new(system.clone());
    let engine = Engine::new(&apt, &system, &data_dir, options);
    let run = engine.rollback_run(&args.run_id)?;
    print_run(&run, args.target.format, engine.store())?;
    Ok(ExitCode::from(if run.outcome == Outcome::RolledBack { 0 } else { EXIT_ERROR }))
}

fn print_run(run: &RunRecord, format: PatchFormat, store: &RunStore) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if format == PatchFormat::Json {
        serde_json::to_writer_pretty(&mut out, run)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "run {} ({}): {}", run.id, run.kind, run.outcome.as_str())?;
    if let Some(reason) = &run.reason {
        writeln!(out, "  {reason}")?;
    }
    if let Some(repair) = &run.repair {
        writeln!(out, "  {} ({})", repair.what, repair.status)?;
    }
    for u in &run.plan {
        let now = run.installed.iter().find(|(n, _)| n == &u.name).and_then(|(_, v)| v.as_deref());
        writeln!(
            out,
            "  {} {} → {} (now {}){}",
            u.name,
            u.from.as_deref().unwrap_or("(new)"),
            u.to,
            now.unwrap_or("not installed"),
            if u.cves.is_empty() { String::new() } else { format!(" fixes {}", u.cves.join(" ")) }
        )?;
    }
    for c in run.checks_before.iter().chain(&run.checks_after) {
        writeln!(out, "  check {}: {} {}", c.check, c.state, c.summary)?;
    }
    if let Some(rb) = &run.rollback {
        writeln!(
            out,
            "  rolled back ({}): versions restored: {}",
            rb.reason, rb.versions_restored
        )?;
        for c in &rb.checks {
            writeln!(out, "  check after rollback {}: {} {}", c.check, c.state, c.summary)?;
        }
    }
    if let Some(reboot) = &run.reboot {
        writeln!(out, "  reboot: {}", reboot.decision)?;
    }
    for note in &run.attention {
        writeln!(out, "! {note}")?;
    }
    writeln!(out, "  record: {}", store.run_dir(&run.id).join("run.json").display())?;
    Ok(())
}

fn history(args: PatchHistoryArgs) -> anyhow::Result<ExitCode> {
    let data_dir = resolve_data_dir(args.target.data_dir.clone())?;
    let store = RunStore::new(&data_dir);
    let (runs, errors) = store.list();
    let newest: Vec<&RunRecord> = runs.iter().rev().take(args.limit).collect();
    let mut out = std::io::stdout().lock();
    match args.target.format {
        PatchFormat::Json => {
            #[derive(Serialize)]
            struct Entry<'a> {
                id: &'a str,
                kind: &'a str,
                outcome: &'a str,
                started: String,
                duration_ms: Option<u64>,
                updates: usize,
                cves: Vec<&'a str>,
                reason: Option<&'a str>,
            }
            let entries: Vec<Entry<'_>> = newest
                .iter()
                .map(|r| Entry {
                    id: &r.id,
                    kind: &r.kind,
                    outcome: r.outcome.as_str(),
                    started: r.started.to_rfc3339(),
                    duration_ms: r.duration_ms,
                    updates: r.plan.len(),
                    cves: r.cves(),
                    reason: r.reason.as_deref(),
                })
                .collect();
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"schema": "ward.patch-history/1", "runs": entries, "errors": errors}),
            )?;
            writeln!(out)?;
        }
        PatchFormat::Table => {
            if newest.is_empty() {
                writeln!(out, "no patch runs recorded in {}", store.dir().display())?;
            }
            for r in &newest {
                writeln!(
                    out,
                    "{}  {:8}  {:13}  {:3} updates  {:3} CVEs  {}",
                    r.id,
                    r.kind,
                    r.outcome.as_str(),
                    r.plan.len(),
                    r.cves().len(),
                    r.reason.as_deref().unwrap_or("")
                )?;
            }
            for e in &errors {
                writeln!(out, "! {e}")?;
            }
        }
    }
    Ok(ExitCode::from(if errors.is_empty() { 0 } else { EXIT_ERROR }))
}

fn status(args: PatchStatusArgs) -> anyhow::Result<ExitCode> {
    let data_dir = resolve_data_dir(args.target.data_dir.clone())?;
    let store = RunStore::new(&data_dir);
    let (runs, errors) = store.list();
    let facts = ward_patch::reboot::reboot_facts(&args.target.root);
    let limits = Limits {
        reboot_pending: chrono::Duration::days(i64::from(args.reboot_pending_days)),
        without_success: chrono::Duration::days(i64::from(args.max_days_without_success)),
    };
    let live = engine::run_in_progress(&data_dir);
    let alerts = status::alerts(&runs, &facts, chrono::Utc::now(), limits, live);
    let mut out = std::io::stdout().lock();
    match args.target.format {
        PatchFormat::Json => {
            let last = runs.last().map(|r| serde_json::json!({"id": r.id, "outcome": r.outcome.as_str(), "started": r.started.to_rfc3339()}));
            let doc = serde_json::json!({
                "schema": "ward.patch-status/1",
                "last_run": last,
                "reboot": {"required": facts.required, "since": facts.since.map(|s| s.to_rfc3339()), "packages": facts.packages},
                "alerts": alerts,
                "errors": errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        PatchFormat::Table => {
            match runs.last() {
                Some(r) => writeln!(
                    out,
                    "last run: {} {} ({})",
                    r.id,
                    r.outcome.as_str(),
                    r.started.format("%Y-%m-%d %H:%M UTC")
                )?,
                None => writeln!(out, "last run: none")?,
            }
            if alerts.is_empty() {
                writeln!(out, "nothing needs attention")?;
            }
            for a in &alerts {
                writeln!(out, "{} {}: {}", a.severity.to_uppercase(), a.code, a.message)?;
            }
            for e in &errors {
                writeln!(out, "! {e}")?;
            }
        }
    }
    Ok(ExitCode::from(if !errors.is_empty() {
        EXIT_ERROR
    } else if alerts.is_empty() {
        0
    } else {
        EXIT_FOUND
    }))
}
