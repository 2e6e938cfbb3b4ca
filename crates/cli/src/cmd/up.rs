//! `ward up`: the main job in one step on the embedded default — advisory data, the server on
//! SQLite in the data directory, the first admin, and a local agent — then a summary of this
//! host's findings and where to look next.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use ward_auth::token::{Token, TokenKind};
use ward_auth::OsRng;
use ward_server::ServerConfig;
use ward_store::{FindingFilter, HostFilter, Page, Store, TokenOwner};

use super::{agent, db, server};
use crate::cli::{AgentArgs, UpArgs};

/// How long `ward up` waits for the local agent's first report.
const FIRST_REPORT: Duration = Duration::from_secs(300);

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let data_dir = db::resolve_data_dir(args.data_dir.clone())?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let mut out = std::io::stdout().lock();
    advisories(&data_dir, &args.advisories, &mut out)?;
    let config = ServerConfig { listen: args.listen, poll_seconds: 5, ..ServerConfig::default() };
    let store = ward_server::open_store(&config, &data_dir)?;
    let token_file = data_dir.join("admin-token");
    if store.users()?.is_empty() {
        let made = ward_server::init(store.as_ref(), "admin", None)?;
        let token = made.token.context("init made no token")?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&token_file)
            .with_context(|| format!("saving the admin token to {}", token_file.display()))?;
        writeln!(file, "{token}")?;
        writeln!(out, "admin token (valid 24 h, saved in {}):\n  {token}", token_file.display())?;
    }
    let runtime = server::tokio_runtime()?;
    let running = runtime.block_on(ward_server::start(&config, &data_dir, Arc::clone(&store)))?;
    let api = format!("http://{}/api/v1", running.address);
    writeln!(out, "server: {api} (store {})", config.database_url(&data_dir))?;
    out.flush()?;

    // The local agent, enrolled with a token made directly in the store.
    let state_dir = data_dir.join("agent");
    let enroll = if state_dir.join("credential").is_file() {
        None
    } else {
        let (token, stored) = Token::generate(TokenKind::Enrollment, &mut OsRng)?;
        let now = Utc::now();
        store.add_token(
            &stored,
            TokenOwner::Unowned,
            &[],
            Some(now + TimeDelta::minutes(10)),
            now,
        )?;
        Some(token.reveal().to_owned())
    };
    let agent_args = AgentArgs {
        server: format!("http://{}", running.address),
        enroll,
        state_dir,
        root: args.root.clone(),
        app_roots: args.app_roots.clone(),
        name: None,
        groups: vec!["local".to_owned()],
        tags: Vec::new(),
        interval: Duration::from_secs(3600),
        watch: Duration::from_secs(30),
        heartbeat: Duration::from_secs(60),
        once: args.once,
        ca: None,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the SIGTERM/SIGINT handler")?;
    }
    let agent_stop = Arc::clone(&stop);
    let agent = std::thread::spawn(move || agent::run_until(agent_args, &agent_stop));
    let started = Instant::now();
    let summary = loop {
        if let Some(summary) = summary(store.as_ref())? {
            break Some(summary);
        }
        if agent.is_finished() || started.elapsed() > FIRST_REPORT || stop.load(Ordering::Relaxed) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    match summary {
        Some(text) => writeln!(out, "{text}")?,
        None => writeln!(out, "the local agent has not reported yet; see its messages above")?,
    }
    writeln!(out, "next:")?;
    writeln!(out, "  export WARD_TOKEN=$(cat {})", token_file.display())?;
    writeln!(out, "  curl -s -H \"Authorization: Bearer $WARD_TOKEN\" {api}/findings   # open findings by risk")?;
    writeln!(out, "  curl -s -H \"Authorization: Bearer $WARD_TOKEN\" {api}/hosts")?;
    writeln!(out, "  curl -s -X POST -H \"Authorization: Bearer $WARD_TOKEN\" {api}/enrollment-tokens   # enroll more hosts: ward agent --server http://{} --enroll TOKEN", running.address)?;
    writeln!(out, "  {api}/openapi.json describes the whole API")?;
    out.flush()?;
    drop(out);
    if !args.once {
        while !stop.load(Ordering::Relaxed) && !agent.is_finished() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let agent_result = agent.join().map_err(|_| anyhow::anyhow!("the local agent panicked"))?;
    runtime.block_on(running.stop());
    agent_result.map(|_| ExitCode::SUCCESS)
}

/// Imports `sources`, or updates the configured feeds when there is no index yet.
fn advisories(data_dir: &Path, sources: &[String], out: &mut impl Write) -> anyhow::Result<()> {
    let now = Utc::now().timestamp();
    if !sources.is_empty() {
        let report = ward_advisory::store::import_sources(data_dir, sources, now, &mut |_, _| {})
            .context("importing the advisories")?;
        writeln!(
            out,
            "advisories: {} imported into {}",
            sources.join(", "),
            report.update.path.display()
        )?;
        return Ok(());
    }
    match ward_advisory::store::Index::open(data_dir) {
        Ok(index) => {
            let (_, records) = index.summary()?;
            writeln!(out, "advisories: {records} records in {}", index.path().display())?;
        }
        Err(_) => {
            writeln!(
                out,
                "advisories: no index yet, fetching the configured feeds (ward db update)…"
            )?;
            ward_advisory::store::update_feeds(data_dir, &[], now, &mut |_| {}).context(
                "fetching the advisory feeds failed; offline, pass --advisories PATH (e.g. a \
                 folder of OSV records or osv.dev's all.zip)",
            )?;
        }
    }
    Ok(())
}

/// The first host's summary once it has reported.
fn summary(store: &dyn Store) -> anyhow::Result<Option<String>> {
    let hosts = store.hosts(&HostFilter::default(), Page::first(1))?;
    let Some(host) = hosts.first() else { return Ok(None) };
    if store.last_report(host.id)?.is_none() {
        return Ok(None);
    }
    let packages = store.current_packages(host.id)?.len();
    let counts = store.finding_counts(&[host.id])?.remove(&host.id).unwrap_or_default();
    let total: u64 = counts.values().sum();
    let by_level: Vec<String> = ["critical", "high", "medium", "low", "none", "unknown"]
        .iter()
        .filter_map(|level| counts.get(*level).map(|n| format!("{n} {level}")))
        .collect();
    let mut text = format!(
        "this host: {} ({packages} packages), {total} open findings{}",
        host.info.name,
        if by_level.is_empty() { String::new() } else { format!(" ({})", by_level.join(", ")) }
    );
    let filter = FindingFilter { host: Some(host.id), ..FindingFilter::default() };
    for finding in store.open_findings_by_risk(&filter, 0, 5)? {
        text.push_str(&format!(
            "\n  {:<9} {:<24} {} {} ({})",
            finding.row.severity.as_deref().unwrap_or("-"),
            finding.row.advisory,
            finding.row.package,
            finding.row.version,
            finding.row.ecosystem
        ));
    }
    Ok(Some(text))
}
