//! `ward agent`: enrolls once, then runs ward-agent's loop with a collect closure built here
//! from `ward inventory --host`'s collection (packages, host facts) and `ward scan --host`'s
//! reading of apt's security lists (pending security updates). This file is the IO edge; the
//! protocol, the diffs, the spool and the schedule are ward-agent's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::Context;
use secrecy::SecretString;
use ward_advisory::store::apt;
use ward_agent::{enroll, Agent, Client, Config, Schedule, Snapshot, StateDir};
use ward_api::agent::{Facts, HostIdentity, Package, PendingUpdate, RestartNeeded};
use ward_inventory::wire;
use ward_version::EcosystemKind;

use super::inventory::{self, Inputs};
use super::scan::host_name;
use super::{write_stderr, EXIT_ERROR};
use crate::cli::AgentArgs;
use ward_match::index::IndexAdvisories;

/// Package databases watched for changes (under --root), besides the lockfiles collected.
const WATCHED_DATABASES: &[&str] =
    &["var/lib/dpkg/status", "lib/apk/db/installed", "var/lib/rpm/rpmdb.sqlite"];

pub fn run(args: AgentArgs) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .context("installing the SIGTERM/SIGINT handler")?;
    }
    run_until(args, &stop)
}

/// The agent with `args` until `stop` turns true (or, with `--once`, one delivery).
pub fn run_until(args: AgentArgs, stop: &AtomicBool) -> anyhow::Result<ExitCode> {
    let name = match args.name.clone().or_else(|| host_name(&args.root)) {
        Some(name) => name,
        None => anyhow::bail!(
            "cannot tell this host's name ({} is missing or empty): pass --name NAME",
            args.root.join("etc/hostname").display()
        ),
    };
    let collector = Collector {
        root: args.root.clone(),
        app_roots: args.app_roots.clone(),
        name,
        groups: args.groups.clone(),
        tags: args.tags.clone(),
    };
    let ca_pem = match &args.ca {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading the CA file {}", path.display()))?,
        ),
        None => None,
    };
    let mut config = Config::new(&args.server, &args.state_dir);
    config.ca_pem = ca_pem;
    config.schedule =
        Schedule { interval: args.interval, watch: args.watch, heartbeat: args.heartbeat };

    let state = StateDir::open(&args.state_dir)
        .with_context(|| format!("opening the state directory {}", args.state_dir.display()))?;
    // The enrollment's collection is reused for the first report.
    let mut first: Option<Snapshot> = None;
    match state.enrollment()? {
        Some(enrolled) => {
            if args.enroll.is_some() {
                write_stderr(&format!(
                    "ward: already enrolled as {} (host id {}); --enroll is not needed any more\n",
                    enrolled.host_name, enrolled.host_id
                ))?;
            }
        }
        None => {
            let Some(token) = args.enroll.clone() else {
                anyhow::bail!(
                    "{}: the agent is not enrolled: run it once with --enroll TOKEN (an enrollment \
                     token from the server's operator)",
                    args.state_dir.display()
                );
            };
            let client = Client::new(&config.server, config.ca_pem.as_deref(), config.timeout)?;
            let snapshot = collector.snapshot();
            let enrolled =
                enroll(&state, &client, &SecretString::from(token), snapshot.host.clone())
                    .with_context(|| format!("enrolling with {}", client.server()))?;
            write_stderr(&format!(
                "ward: enrolled as {} (host id {}); the credential is in {}\n",
                enrolled.host_name,
                enrolled.host_id,
                args.state_dir.join("credential").display()
            ))?;
            first = Some(snapshot);
        }
    }

    let mut agent =
        Agent::new(config, move || first.take().unwrap_or_else(|| collector.snapshot()))?;
    if args.once {
        let delivery = agent.run_once()?;
        return match delivery.stopped {
            None if delivery.pending == 0 => {
                write_stderr(&format!("ward: delivered {} report(s)\n", delivery.accepted.len()))?;
                Ok(ExitCode::SUCCESS)
            }
            stopped => {
                let why = stopped.map_or_else(|| "entries remain".to_owned(), |e| e.to_string());
                write_stderr(&format!(
                    "ward: error: not delivered: {why}; {} report(s) stay spooled in {} for the next run\n",
                    delivery.pending,
                    args.state_dir.join("spool").display()
                ))?;
                Ok(ExitCode::from(EXIT_ERROR))
            }
        };
    }
    agent.run(stop);
    Ok(ExitCode::SUCCESS)
}

/// Builds snapshots of the host under `root`.
struct Collector {
    root: PathBuf,
    app_roots: Vec<PathBuf>,
    name: String,
    groups: Vec<String>,
    tags: Vec<String>,
}

impl Collector {
    fn snapshot(&self) -> Snapshot {
        let collected = inventory::collect(&Inputs {
            paths: &[],
            host: true,
            root: &self.root,
            app_roots: &self.app_roots,
            include_node_modules: false,
        });
        if let Some(first) = collected.errors.first() {
            tracing::warn!(
                errors = collected.errors.len(),
                "some inputs could not be read, e.g. {first}"
            );
        }
        for e in &collected.errors {
            tracing::debug!("{e}");
        }
        let mut watch: BTreeSet<PathBuf> =
            WATCHED_DATABASES.iter().map(|p| self.root.join(p)).collect();
        watch.extend(collected.packages.iter().map(|p| PathBuf::from(&p.location.path)));
        let pending_updates = pending_updates(&self.root, &collected.packages);
        let host = collected.host.as_ref();
        Snapshot {
            host: HostIdentity {
                name: self.name.clone(),
                os: host.and_then(|h| h.os.ecosystem.clone()),
                groups: self.groups.clone(),
                tags: self.tags.clone(),
            },
            facts: host.map(|h| facts(h, pending_updates)).unwrap_or_default(),
            packages: wire_packages(&collected.packages),
            watch: watch.into_iter().collect(),
        }
    }
}

/// The packages as the protocol has them, one per (ecosystem, name): the first is kept.
fn wire_packages(packages: &[ward_inventory::Package]) -> Vec<Package> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(packages.len());
    for p in packages {
        let ecosystem = p.ecosystem.to_string();
        if !seen.insert((ecosystem.clone(), p.name.clone())) {
            tracing::debug!(
                %ecosystem,
                name = %p.name,
                version = %p.version,
                path = %p.location.path,
                "the inventory has this package already (one version per host is reported)"
            );
            continue;
        }
        out.push(Package {
            ecosystem,
            name: p.name.clone(),
            version: p.version.clone(),
            source: p.source.as_ref().map(|s| s.name.clone()),
            source_version: p
                .source
                .as_ref()
                .filter(|s| s.version != p.version)
                .map(|s| s.version.clone()),
        });
    }
    out
}

fn facts(host: &wire::HostV1, pending_updates: Vec<PendingUpdate>) -> Facts {
    let newer_kernel = host.kernel.as_ref().and_then(|k| k.reboot_needed) == Some(true);
    Facts {
        agent_version: None,
        os_pretty_name: host.os.pretty_name.clone(),
        kernel: host.kernel.as_ref().map(|k| k.running.clone()),
        reboot_required: host.reboot_required || newer_kernel,
        reboot_required_packages: host.reboot_required_packages.clone(),
        restart_needed: host
            .restart_needed
            .iter()
            .map(|r| RestartNeeded { pid: r.pid, command: r.command.clone(), unit: r.unit.clone() })
            .collect(),
        pending_updates,
        other: serde_json::Map::new(),
    }
}

/// The OS packages the host's security suites (apt's lists under `root`) have a newer
/// build of, as `ward scan --host` finds them.
fn pending_updates(root: &Path, packages: &[ward_inventory::Package]) -> Vec<PendingUpdate> {
    let suites = apt::host_security_suites(root);
    for e in &suites.errors {
        tracing::warn!(file = %e.file, "reading a security suite: {}: {}", e.field, e.message);
    }
    if suites.records.is_empty() {
        return Vec::new();
    }
    let os: Vec<ward_inventory::Package> = packages
        .iter()
        .filter(|p| matches!(p.ecosystem.kind(), EcosystemKind::Debian | EcosystemKind::Ubuntu))
        .cloned()
        .collect();
    let mut source = IndexAdvisories::new(None);
    source.add_extra(suites.records);
    let options = ward_match::Options {
        today: chrono::Utc::now().date_naive(),
        host: None,
        rules: Vec::new(),
    };
    let scan = ward_match::scan(&os, &source, &options);
    for e in &scan.errors {
        tracing::debug!(package = %e.package, "matching against the security suite: {}", e.message);
    }
    let mut updates: Vec<PendingUpdate> = Vec::new();
    for result in &scan.results {
        if result.findings.is_empty() {
            continue;
        }
        let fixed = result.findings.iter().flat_map(|f| f.fixed.iter()).next_back().cloned();
        let Some(candidate) = result.upgrade.clone().or(fixed) else { continue };
        let fixes: BTreeSet<String> = result
            .findings
            .iter()
            .flat_map(|f| std::iter::once(&f.id).chain(&f.fixes))
            .cloned()
            .collect();
        updates.push(PendingUpdate {
            ecosystem: result.package.ecosystem.to_string(),
            name: result.package.name.clone(),
            installed: result.package.version.clone(),
            candidate,
            security: true,
            fixes: fixes.into_iter().collect(),
        });
    }
    updates.sort_by(|a, b| (&a.ecosystem, &a.name).cmp(&(&b.ecosystem, &b.name)));
    updates.dedup_by(|a, b| a.ecosystem == b.ecosystem && a.name == b.name);
    updates
}
