//! `ward scan`: inventory (shared with `ward inventory`) × the advisory index (plus, with
//! `--host`, the machine's own apt security lists) → findings, through ward-match, printed by
//! ward-report. This file is the IO edge: it reads inputs, rules, the index and the clock.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ward_advisory::store::{self, Index, StoreError};
use ward_inventory::{Format, ParseError};
use ward_match::index::IndexAdvisories;
use ward_match::{ignore, Level, Options};
use ward_report::{Database, Report};
use ward_version::Ecosystem;

use super::inventory::{self, Collected, Inputs};
use super::{db, write_stderr, EXIT_ERROR, EXIT_FOUND};
use crate::cli::{ScanArgs, ScanFormat};

/// `ward.toml` in the current directory, when there is one and no `--config` was given.
const DEFAULT_CONFIG: &str = "ward.toml";

fn read_rules(args: &ScanArgs) -> anyhow::Result<Vec<ignore::Rule>> {
    let mut files: Vec<PathBuf> = Vec::new();
    match &args.config {
        Some(c) => files.push(c.clone()),
        None if Path::new(DEFAULT_CONFIG).is_file() => files.push(PathBuf::from(DEFAULT_CONFIG)),
        None => {}
    }
    files.extend(args.ignore_files.iter().cloned());
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    for file in &files {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the ignore rules in {shown}"))?;
        match ignore::parse_rules(&shown, &text) {
            Ok(r) => rules.extend(r),
            Err(errors) => problems.extend(errors.iter().map(ToString::to_string)),
        }
    }
    for file in &args.vex {
        let shown = file.display().to_string();
        let bytes =
            std::fs::read(file).with_context(|| format!("reading the VEX document {shown}"))?;
        match ignore::parse_openvex(&shown, &bytes) {
            Ok(r) => rules.extend(r),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "the ignore rules are not valid (nothing was scanned):\n  {}",
            problems.join("\n  ")
        );
    }
    Ok(rules)
}

/// The host name, for host-scoped rules and reports.
pub(crate) fn host_name(root: &Path) -> Option<String> {
    let read = |p: &Path| std::fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    read(&root.join("etc/hostname"))
        .filter(|h| !h.is_empty())
        .or_else(|| read(Path::new("/proc/sys/kernel/hostname")).filter(|_| root == Path::new("/")))
}

/// Opens the index, updating it first when it is missing or stale (unless `--offline`).
fn open_index(args: &ScanArgs, data_dir: &Path) -> anyhow::Result<Option<Index>> {
    let max_age = i64::try_from(args.max_db_age_hours.saturating_mul(3600)).unwrap_or(i64::MAX);
    let existing = match Index::open(data_dir) {
        Ok(index) => Some(index),
        Err(StoreError::Missing { .. }) => None,
        Err(e) => return Err(e).context("opening the advisory index"),
    };
    let stale = match &existing {
        None => true,
        Some(index) => index.summary().map(|(built, _)| db::now() - built > max_age)?,
    };
    if args.offline || !stale {
        return Ok(existing);
    }
    let why = if existing.is_some() {
        format!("the advisory index is older than {} hours", args.max_db_age_hours)
    } else {
        "there is no advisory index yet".to_string()
    };
    write_stderr(&format!("ward: {why}: updating it (--offline skips this)\n"))?;
    match db::update_quietly(data_dir) {
        Ok(()) => Ok(Some(Index::open(data_dir).context("opening the updated advisory index")?)),
        Err(e) => {
            write_stderr(&format!(
                "ward: warning: the update failed, scanning with {}: {e:#}\n",
                if existing.is_some() { "the previous index" } else { "no index" }
            ))?;
            Ok(existing)
        }
    }
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let today = chrono::Utc::now().date_naive();
    let rules = read_rules(&args)?;
    let data_dir = db::resolve_data_dir(args.data_dir.clone())?;
    let index = open_index(&args, &data_dir)?;
    let mut paths = args.paths.clone();
    if paths.is_empty() && !args.host && args.sbom.is_empty() {
        paths.push(PathBuf::from("."));
    }
    let Collected { mut packages, mut errors, host: _, files: _ } = inventory::collect(&Inputs {
        paths: &paths,
        host: args.host,
        root: &args.root,
        app_roots: &args.app_roots,
        include_node_modules: args.include_node_modules,
    });
    for sbom in &args.sbom {
        let shown = sbom.display().to_string();
        match std::fs::read(sbom) {
            Ok(bytes) => {
                let format = Format::from_content(&bytes)
                    .filter(|f| matches!(f, Format::CycloneDxJson | Format::SpdxJson))
                    .unwrap_or(Format::CycloneDxJson);
                let parsed = ward_inventory::parse(format, &shown, &bytes);
                packages.extend(parsed.packages);
                errors.extend(parsed.errors);
            }
            Err(e) => errors.push(ParseError::new(&shown, None, format!("cannot read: {e}"))),
        }
    }
    if let Some(distro) = &args.distro {
        let ecosystem = Ecosystem::parse(distro)
            .ok()
            .filter(|e| e.release().is_some())
            .with_context(|| format!("--distro {distro:?}: expected an OSV ecosystem with a release, e.g. Debian:12, Ubuntu:22.04, Alpine:v3.19"))?;
        for p in packages.iter_mut().filter(|p| p.ecosystem.kind() == ecosystem.kind()) {
            p.ecosystem = ecosystem.clone();
        }
    }
    let mut source = IndexAdvisories::new(index);
    let mut extra_sources = Vec::new();
    if args.host {
        let suites = store::apt::host_security_suites(&args.root);
        extra_sources.extend(suites.files.iter().map(|f| f.display().to_string()));
        errors.extend(
            suites
                .errors
                .iter()
                .map(|e| ParseError::new(&e.file, None, format!("{}: {}", e.field, e.message))),
        );
        source.add_extra(suites.records);
    }
    if source.index.is_none() && source.has_extra() {
        write_stderr(&format!(
            "ward: warning: no advisory index in {}: only the distribution's pending security \
             updates are checked (run `ward db update` for the rest)\n",
            data_dir.display()
        ))?;
    }
    if source.index.is_none() && !source.has_extra() {
        anyhow::bail!(
            "no advisory index in {}: run `ward db update` (or `ward db import PATH` offline) first",
            data_dir.display()
        );
    }
    let host = args.host.then(|| host_name(&args.root)).flatten().or(args.host_name.clone());
    let options = Options { today, host: host.clone(), rules };
    let scan = ward_match::scan(&packages, &source, &options);
    let database = source.index.as_ref().map(|index| {
        let (built, records) = index.summary().unwrap_or((0, 0));
        Database {
            path: index.path().display().to_string(),
            built: chrono::DateTime::from_timestamp(built, 0).map(|t| t.to_rfc3339()),
            records,
            extra: extra_sources.clone(),
        }
    });
    let fail_on: Level = args.fail_on.into();
    let report = Report {
        scan: &scan,
        input_errors: &errors,
        fail_on,
        tool_version: env!("CARGO_PKG_VERSION"),
        database,
        host,
    };
    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let color = to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let bytes = match args.format {
        ScanFormat::Table => {
            ward_report::table::render(&report, ward_report::table::Style { color }).into_bytes()
        }
        ScanFormat::Json => ward_report::json::render(&report),
        ScanFormat::Sarif => ward_report::sarif::render(&report),
        ScanFormat::Cyclonedx => ward_report::cyclonedx::render(&report),
        ScanFormat::Markdown => ward_report::markdown::render(&report).into_bytes(),
    };
    match &args.output {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("writing the report to {}", path.display()))?,
        None => match io::stdout().lock().write_all(&bytes) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
    }
    // The table ends with the summary; other formats get it on standard error.
    if args.format != ScanFormat::Table || args.output.is_some() {
        let mut text = String::new();
        for w in &scan.warnings {
            text.push_str(&format!("ward: warning: {w}\n"));
        }
        for e in &errors {
            text.push_str(&format!("ward: {e}\n"));
        }
        for e in &scan.errors {
            text.push_str(&format!(
                "ward: {} {} {}{}: {}\n",
                e.ecosystem,
                e.package,
                e.version,
                e.advisory.as_deref().map(|a| format!(" ({a})")).unwrap_or_default(),
                e.message
            ));
        }
        text.push_str(&format!("ward: {}\n", report.summary()));
        write_stderr(&text)?;
    }
    let code = if report.incomplete() {
        ExitCode::from(EXIT_ERROR)
    } else if report.failed() {
        ExitCode::from(EXIT_FOUND)
    } else {
        ExitCode::SUCCESS
    };
    drop(report);
    super::free_at_exit((source, packages, scan, bytes));
    Ok(code)
}
