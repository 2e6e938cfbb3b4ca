//! `ward db`: import and update advisory feeds, show the index status, look advisories up.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use ward_advisory::store::{self, FeedOutcome, Index};
use ward_advisory::{ImportError, Record};

use super::{write_stderr, EXIT_ERROR};
use crate::cli::{
    DbArgs, DbCommand, DbImportArgs, DbSearchArgs, DbShowArgs, DbStatusArgs, DbUpdateArgs,
    OutputFormat,
};

mod wire;

/// Errors printed in full before the rest are summarized.
const SHOWN_ERRORS: usize = 20;

/// The public feeds `ward db update` fetches when none are configured: osv.dev's per-ecosystem
/// archives for the ecosystems ward inventories, and CISA's KEV catalogue. An air-gapped site
/// points `WARD_DB_DEFAULT_FEEDS` at its mirror instead (whitespace-separated sources; empty
/// means no defaults).
const DEFAULT_FEEDS: &[&str] = &[
    "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Packagist/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Maven/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/RubyGems/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/NuGet/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Pub/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Hex/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Alpine/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Red%20Hat/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/AlmaLinux/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/SUSE/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Wolfi/all.zip",
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
];

/// The default feeds: `WARD_DB_DEFAULT_FEEDS` when set, else [`DEFAULT_FEEDS`].
fn default_feeds() -> Vec<String> {
    match std::env::var("WARD_DB_DEFAULT_FEEDS") {
        Ok(list) => list.split_whitespace().map(str::to_string).collect(),
        Err(_) => DEFAULT_FEEDS.iter().map(|s| (*s).to_string()).collect(),
    }
}

pub fn run(args: DbArgs) -> anyhow::Result<ExitCode> {
    let data_dir = resolve_data_dir(args.data_dir)?;
    match args.command {
        DbCommand::Import(a) => import(&data_dir, a),
        DbCommand::Update(a) => update(&data_dir, a),
        DbCommand::Status(a) => status(&data_dir, a),
        DbCommand::Show(a) => show(&data_dir, a),
        DbCommand::Search(a) => search(&data_dir, a),
    }
}

/// `--data-dir`, else `WARD_DATA_DIR`, else `/var/lib/ward` for root and the XDG data dir
/// (`$XDG_DATA_HOME/ward`, `~/.local/share/ward`) for users.
pub(crate) fn resolve_data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os("WARD_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    if is_root() {
        return Ok(PathBuf::from("/var/lib/ward"));
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|d| Path::new(d).is_absolute()) {
        return Ok(PathBuf::from(xdg).join("ward"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("no data directory: set --data-dir, WARD_DATA_DIR or HOME")?;
    Ok(PathBuf::from(home).join(".local/share/ward"))
}

/// Whether this process runs as root (the owner of `/proc/self` is the effective uid).
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A progress bar on standard error when it is a terminal; hidden otherwise.
fn progress_bar(message: &str) -> ProgressBar {
    if !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} files ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(message.to_string());
    bar
}

fn print_errors(errors: &[ImportError]) -> anyhow::Result<()> {
    let mut text = String::new();
    for e in errors.iter().take(SHOWN_ERRORS) {
        text.push_str(&format!("ward: rejected: {e}\n"));
    }
    if errors.len() > SHOWN_ERRORS {
        text.push_str(&format!("ward: ... and {} more rejected\n", errors.len() - SHOWN_ERRORS));
    }
    write_stderr(&text)?;
    Ok(())
}

fn import(data_dir: &Path, args: DbImportArgs) -> anyhow::Result<ExitCode> {
    let bar = progress_bar("importing");
    let report = store::import_sources(data_dir, &args.sources, now(), &mut |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .with_context(|| format!("importing into {}", data_dir.display()))?;
    bar.finish_and_clear();
    let mut out = io::stdout().lock();
    for (name, files, formats) in &report.feeds {
        let stored = report.update.stored.get(name).copied().unwrap_or(0);
        writeln!(out, "{name}: {stored} records from {files} files ({})", formats.join(", "))?;
    }
    if let Some(reason) = &report.update.previous_dropped {
        writeln!(out, "note: the previous index was not carried over: {reason}")?;
    }
    writeln!(out, "index: {} ({} feeds)", report.update.path.display(), report.update.feeds)?;
    drop(out);
    if report.errors.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    print_errors(&report.errors)?;
    write_stderr(&format!(
        "ward: {} files or records rejected; the rest was imported\n",
        report.errors.len()
    ))?;
    Ok(ExitCode::from(EXIT_ERROR))
}

fn update(data_dir: &Path, args: DbUpdateArgs) -> anyhow::Result<ExitCode> {
    let known = match Index::open(data_dir) {
        Ok(index) => index.status()?.feeds.len(),
        Err(_) => 0,
    };
    let mut add = args.add;
    if known == 0 && add.is_empty() {
        add = default_feeds();
        if add.is_empty() {
            anyhow::bail!(
                "no feeds configured in {} and WARD_DB_DEFAULT_FEEDS is empty: add one with \
                 `ward db update --add URL|PATH` or `ward db import PATH`",
                data_dir.display()
            );
        }
        write_stderr(&format!(
            "ward: no feeds configured yet: fetching the {} default feeds (WARD_DB_DEFAULT_FEEDS \
             overrides them)\n",
            add.len()
        ))?;
    }
    let bar = progress_bar("updating");
    let outcome = store::update_feeds(data_dir, &add, now(), &mut |name| {
        bar.set_message(format!("fetching {name}"));
        bar.tick();
    })
    .with_context(|| format!("updating {}", data_dir.display()))?;
    bar.finish_and_clear();
    let mut out = io::stdout().lock();
    let mut failed = 0;
    for (name, result) in &outcome.feeds {
        match result {
            FeedOutcome::Updated { records, rejected: 0 } => {
                writeln!(out, "{name}: updated, {records} records")?
            }
            FeedOutcome::Updated { records, rejected } => {
                writeln!(out, "{name}: updated, {records} records, {rejected} rejected")?
            }
            FeedOutcome::Unchanged => writeln!(out, "{name}: unchanged")?,
            FeedOutcome::Failed(reason) => {
                failed += 1;
                writeln!(out, "{name}: FAILED, keeping the last good data: {reason}")?
            }
        }
    }
    drop(out);
    if !outcome.errors.is_empty() {
        print_errors(&outcome.errors)?;
    }
    Ok(if failed > 0 || !outcome.errors.is_empty() {
        ExitCode::from(EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// Updates the configured feeds (the defaults when none is configured) for `ward scan`: no
/// per-feed report, one error naming every feed that failed.
pub(crate) fn update_quietly(data_dir: &Path) -> anyhow::Result<()> {
    let known = match Index::open(data_dir) {
        Ok(index) => index.status()?.feeds.len(),
        Err(_) => 0,
    };
    let add = if known == 0 { default_feeds() } else { Vec::new() };
    if known == 0 && add.is_empty() {
        anyhow::bail!("no feeds configured and WARD_DB_DEFAULT_FEEDS is empty");
    }
    let bar = progress_bar("updating the advisory index");
    let outcome = store::update_feeds(data_dir, &add, now(), &mut |name| {
        bar.set_message(format!("fetching {name}"));
        bar.tick();
    })?;
    bar.finish_and_clear();
    let failed: Vec<String> = outcome
        .feeds
        .iter()
        .filter_map(|(name, r)| match r {
            FeedOutcome::Failed(reason) => Some(format!("{name}: {reason}")),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "{} feeds failed (their last good data is kept): {}",
            failed.len(),
            failed.join("; ")
        );
    }
    Ok(())
}

fn status(data_dir: &Path, args: DbStatusArgs) -> anyhow::Result<ExitCode> {
    let index = Index::open(data_dir)?;
    let status = index.status()?;
    let wire = wire::DbStatus::new(&status, now(), args.max_age_days.saturating_mul(86_400));
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &wire)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            writeln!(out, "index: {} (built {})", wire.index, wire.built_at)?;
            writeln!(
                out,
                "records: {} ({} KEV entries, {} EPSS scores)",
                wire.records, wire.kev, wire.epss
            )?;
            writeln!(out, "\n{:<28} {:>8}", "ecosystem", "records")?;
            for (ecosystem, n) in &wire.ecosystems {
                writeln!(out, "{ecosystem:<28} {n:>8}")?;
            }
            writeln!(
                out,
                "\n{:<10} {:>8} {:<21} {:>8}  source",
                "feed", "records", "last update", "age"
            )?;
            for f in &wire.feeds {
                let state = match (&f.last_error, f.stale) {
                    (Some(_), _) => "FAILED",
                    (None, true) => "STALE",
                    (None, false) => "ok",
                };
                writeln!(
                    out,
                    "{state:<10} {:>8} {:<21} {:>8}  {}",
                    f.records,
                    f.last_update.as_deref().unwrap_or("never"),
                    f.age_seconds.map_or_else(|| "-".to_string(), wire::human_age),
                    f.source
                )?;
                if let Some(e) = &f.last_error {
                    writeln!(out, "{:<10} last attempt failed: {e}", "")?;
                }
            }
        }
    }
    out.flush()?;
    drop(out);
    let stale: Vec<&wire::FeedStatus> = wire.feeds.iter().filter(|f| f.stale).collect();
    for f in &stale {
        write_stderr(&format!(
            "ward: warning: feed {} was last updated {} ago (more than {} days); run `ward db update`\n",
            f.name,
            f.age_seconds.map_or_else(|| "never".to_string(), wire::human_age),
            args.max_age_days
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show(data_dir: &Path, args: DbShowArgs) -> anyhow::Result<ExitCode> {
    let index = Index::open(data_dir)?;
    let records = index.by_id(&args.id)?;
    if records.is_empty() {
        anyhow::bail!("no advisory with id or alias {:?} in {}", args.id, index.path().display());
    }
    let mut cves: Vec<String> = records
        .iter()
        .flat_map(Record::names)
        .filter(|n| n.starts_with("CVE-"))
        .map(str::to_string)
        .collect();
    cves.sort();
    cves.dedup();
    let mut enrichment = Vec::new();
    for cve in &cves {
        let kev = index.kev(cve)?;
        let epss = index.epss(cve)?;
        if kev.is_some() || epss.is_some() {
            enrichment.push(wire::Enrichment { cve: cve.clone(), kev, epss });
        }
    }
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            let doc = wire::DbShow {
                schema: wire::DB_SHOW_SCHEMA,
                query: &args.id,
                records: &records,
                enrichment,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for (i, r) in records.iter().enumerate() {
                if i > 0 {
                    writeln!(out)?;
                }
                write_record_text(&mut out, r)?;
            }
            for e in &enrichment {
                if let Some(k) = &e.kev {
                    writeln!(
                        out,
                        "\n{}: known exploited (CISA KEV, added {}, due {})",
                        e.cve, k.date_added, k.due_date
                    )?;
                }
                if let Some(s) = &e.epss {
                    writeln!(
                        out,
                        "{}: EPSS {:.5} (percentile {:.5})",
                        e.cve, s.epss, s.percentile
                    )?;
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn write_record_text(out: &mut impl Write, r: &Record) -> io::Result<()> {
    writeln!(out, "{}", r.id)?;
    if let Some(s) = &r.summary {
        writeln!(out, "  summary:   {s}")?;
    }
    if !r.aliases.is_empty() {
        writeln!(out, "  aliases:   {}", r.aliases.join(", "))?;
    }
    if let Some(p) = &r.published {
        writeln!(out, "  published: {p}")?;
    }
    writeln!(out, "  modified:  {}", r.modified)?;
    if let Some(w) = &r.withdrawn {
        writeln!(out, "  WITHDRAWN: {w}")?;
    }
    for s in &r.severity {
        writeln!(out, "  severity:  {} {}", s.kind, s.score)?;
    }
    for a in &r.affected {
        let Some(p) = &a.package else { continue };
        let mut ranges: Vec<String> = a
            .ranges
            .iter()
            .filter(|range| range.kind != "GIT")
            .map(|range| {
                range
                    .events
                    .iter()
                    .map(|e| format!("{} {}", e.name(), e.version()))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        if let Some(native) = a.database_specific.as_ref().and_then(native_constraint) {
            ranges.push(native);
        }
        if ranges.is_empty() && !a.versions.is_empty() {
            ranges.push(format!("{} listed versions", a.versions.len()));
        }
        writeln!(out, "  affects:   {} {}: {}", p.ecosystem, p.name, ranges.join(" | "))?;
    }
    for reference in r.references.iter().take(5) {
        writeln!(out, "  {:<10} {}", reference.kind.to_lowercase(), reference.url)?;
    }
    Ok(())
}

/// The native constraint a feed kept (`constraints` for Composer, `vulnerable_versions` for npm).
fn native_constraint(db: &serde_json::Value) -> Option<String> {
    if let Some(v) = db.get("vulnerable_versions").and_then(|v| v.as_str()) {
        return Some(format!("npm {v}"));
    }
    let constraints = db.get("constraints")?.as_array()?;
    let text: Vec<&str> = constraints.iter().filter_map(|c| c.as_str()).collect();
    Some(format!("composer {}", text.join(" || ")))
}

fn search(data_dir: &Path, args: DbSearchArgs) -> anyhow::Result<ExitCode> {
    let index = Index::open(data_dir)?;
    let hits = index.search(&args.name, args.limit)?;
    let mut out = BufWriter::new(io::stdout().lock());
    match args.format {
        OutputFormat::Json => {
            let doc = wire::DbSearch {
                schema: wire::DB_SEARCH_SCHEMA,
                query: &args.name,
                packages: &hits,
            };
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for h in &hits {
                writeln!(out, "{:<12} {:<50} {:>5} records", h.ecosystem, h.name, h.records)?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_feeds_are_the_public_sources_over_https() {
        assert!(DEFAULT_FEEDS.iter().all(|f| f.starts_with("https://")));
        for wanted in ["/crates.io/all.zip", "/PyPI/all.zip", "/Debian/all.zip", "known_exploited"]
        {
            assert!(DEFAULT_FEEDS.iter().any(|f| f.contains(wanted)), "{wanted} missing");
        }
    }
}
