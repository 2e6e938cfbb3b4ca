//! The apt/dpkg backend. apt's own resolver decides every package set (ward reads `apt-get -s`
//! and never second-guesses it), so `ward patch plan` lists exactly what apt would do for the
//! same selection; ward adds the policy (security-only as unattended-upgrades decides, allow,
//! deny), what each update fixes (its changelog), config-file prompts, and the exact previous
//! versions for rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use crate::apt_sim::{self, Inst, Simulation};
use crate::backend::{Backend, BackendError, ConfigFile, Kept, StepLog};
use crate::dpkg_status::{self, StatusEntry};
use crate::plan::{Held, Plan, Selection, Update};
use crate::system::System;
use crate::{changelog, deb};

/// How long one simulation may take (apt reads its caches: about a second on a full host).
const SIMULATE_TIMEOUT: Duration = Duration::from_secs(300);

/// apt and dpkg on one system.
#[derive(Debug, Clone)]
pub struct Apt {
    system: System,
}

impl Apt {
    pub fn new(system: System) -> Apt {
        Apt { system }
    }

    pub fn system(&self) -> &System {
        &self.system
    }

    /// The dpkg database.
    pub fn status(&self) -> Result<Vec<StatusEntry>, BackendError> {
        let path = self.system.path("/var/lib/dpkg/status");
        let text =
            std::fs::read_to_string(&path).map_err(|source| BackendError::Io { path, source })?;
        Ok(dpkg_status::parse(&text))
    }

    /// What `apt-get -s dist-upgrade` would do: every pending update apt knows of, holds and
    /// pins respected.
    pub fn pending(&self) -> Result<Simulation, BackendError> {
        self.simulate(&["dist-upgrade".to_string()])
    }

    fn simulate(&self, args: &[String]) -> Result<Simulation, BackendError> {
        let mut all = vec![
            "-s".to_string(),
            "-q".to_string(),
            "-o".to_string(),
            "Debug::NoLocking=1".to_string(),
            "-o".to_string(),
            "APT::Get::Show-User-Simulation-Note=false".to_string(),
        ];
        all.extend(args.iter().cloned());
        let (log, out) = self.run("simulate", "apt-get", &all, SIMULATE_TIMEOUT)?;
        let text = String::from_utf8_lossy(&out.stdout.bytes);
        let sim = apt_sim::parse(&text);
        if !log.ok && sim.unmet.is_empty() {
            return Err(BackendError::Failed {
                what: log.what,
                status: log.status,
                output: log.output,
            });
        }
        Ok(sim)
    }

    /// Runs a program in the system; `Err` only when it could not start.
    fn run(
        &self,
        what: &str,
        program: &str,
        args: &[String],
        timeout: Duration,
    ) -> Result<(StepLog, ward_process::Output), BackendError> {
        let started = Instant::now();
        let out = self
            .system
            .command(program, timeout)
            .args(args)
            .run()
            .map_err(|source| BackendError::Spawn { program: program.to_string(), source })?;
        let mut command = vec![program.to_string()];
        command.extend(args.iter().cloned());
        let log = StepLog {
            what: what.to_string(),
            command,
            ok: out.status.success(),
            status: crate::backend::status_text(&out.status),
            output: output_tail(&out),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        Ok((log, out))
    }

    /// `apt-get -s install` of exact versions: the packages apt needs for them. `pinned`
    /// packages are asked for at their installed version, so an update that needs one of
    /// their updates shows up as an unmet dependency instead of pulling it in.
    fn resolve(&self, wanted: &[&Inst], pinned: &[&Inst]) -> Result<Simulation, BackendError> {
        let mut args = vec!["install".to_string(), "--no-install-recommends".to_string()];
        args.extend(wanted.iter().map(|i| format!("{}={}", i.name, i.to)));
        args.extend(pinned.iter().filter_map(|i| Some(format!("{}={}", i.name, i.from.as_ref()?))));
        self.simulate(&args)
    }

    /// Packages apt marked as automatically installed (`/var/lib/apt/extended_states`), as
    /// `name` for native packages and `name:arch` for the others.
    fn auto_installed(&self) -> BTreeSet<String> {
        let path = self.system.path("/var/lib/apt/extended_states");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let native = std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64");
        let mut out = BTreeSet::new();
        for paragraph in text.split("\n\n") {
            let field =
                |key: &str| paragraph.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
            if field("Auto-Installed:") != Some("1") {
                continue;
            }
            let Some(name) = field("Package:") else { continue };
            match field("Architecture:") {
                Some(arch) if arch != native && arch != "all" => {
                    out.insert(format!("{name}:{arch}"))
                }
                _ => out.insert(name.to_string()),
            };
        }
        out
    }

    /// Where apt keeps a downloaded package.
    fn archive(&self, name: &str, version: &str, arch: &str) -> PathBuf {
        let bare = name.split_once(':').map_or(name, |(n, _)| n);
        self.system.path(&format!(
            "/var/cache/apt/archives/{bare}_{}_{arch}.deb",
            version.replace(':', "%3a")
        ))
    }

    fn download(&self, installs: &[&Inst]) -> Result<StepLog, BackendError> {
        let mut args: Vec<String> =
            ["install", "--download-only", "-y", "-q", "-o", "DPkg::Lock::Timeout=120"]
                .map(str::to_string)
                .to_vec();
        args.extend(installs.iter().map(|i| format!("{}={}", i.name, i.to)));
        let (log, _) = self.run("download", "apt-get", &args, Duration::from_secs(3600))?;
        if !log.ok {
            return Err(BackendError::Failed {
                what: log.what,
                status: log.status,
                output: log.output,
            });
        }
        Ok(log)
    }

    /// Reads what the plan needs from the downloaded packages of `installs`: per source one
    /// changelog (from its smallest downloaded binary that carries one: a kernel source's
    /// headers package, not its 60 MB image), and the shipped config files of packages whose
    /// config files were modified locally. Packages are read in parallel.
    fn inspect(
        &self,
        installs: &[&Inst],
        status: &[StatusEntry],
    ) -> BTreeMap<String, deb::DebInfo> {
        let mut groups: BTreeMap<String, Vec<(u64, String, PathBuf)>> = BTreeMap::new();
        let mut jobs: Vec<Vec<(String, PathBuf)>> = Vec::new();
        for inst in installs.iter().filter(|i| i.from.is_some()) {
            let path = self.archive(&inst.name, &inst.to, &inst.arch);
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let Some(entry) = status.iter().find(|e| e.matches(&inst.name)) else { continue };
            groups.entry(entry.source.clone()).or_default().push((
                meta.len(),
                inst.name.clone(),
                path.clone(),
            ));
            let modified = entry.conffiles.iter().any(|(file, md5)| {
                md5_of(&self.system.path(file)).as_deref() != Some(md5.as_str())
            });
            if modified {
                jobs.push(vec![(inst.name.clone(), path)]);
            }
        }
        for (_, mut binaries) in groups {
            binaries.sort();
            jobs.push(binaries.into_iter().map(|(_, name, path)| (name, path)).collect());
        }
        let queue = std::sync::Mutex::new(jobs);
        let results = std::sync::Mutex::new(BTreeMap::new());
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
        let results_ref = &results;
        std::thread::scope(|scope| {
            for _ in 0..workers {
                // The queue's lock is held only to take a job, not while reading it.
                let next = || queue.lock().ok().and_then(|mut q| q.pop());
                scope.spawn(move || {
                    while let Some(job) = next() {
                        // Alone: the package itself is wanted (its config files). In a group:
                        // the first that carries the source's changelog.
                        let single = job.len() == 1;
                        for (name, path) in job {
                            let info = std::fs::File::open(&path)
                                .map_err(|e| e.to_string())
                                .and_then(|f| {
                                    deb::inspect(std::io::BufReader::new(f))
                                        .map_err(|e| e.to_string())
                                });
                            match info {
                                Ok(info) => {
                                    let found = info.changelog.is_some();
                                    if let Ok(mut r) = results_ref.lock() {
                                        r.insert(name, info);
                                    }
                                    if found || single {
                                        break;
                                    }
                                }
                                Err(e) => tracing::warn!("{}: {e}", path.display()),
                            }
                        }
                    }
                });
            }
        });
        results.into_inner().unwrap_or_default()
    }
}

impl Backend for Apt {
    fn name(&self) -> &'static str {
        "apt"
    }

    fn repair(&self, timeout: Duration) -> Result<Option<StepLog>, BackendError> {
        let interrupted: Vec<String> = self
            .status()?
            .into_iter()
            .filter(StatusEntry::is_interrupted)
            .map(|e| format!("{} ({})", e.package, e.state))
            .collect();
        let journal = std::fs::read_dir(self.system.path("/var/lib/dpkg/updates"))
            .map(|d| d.filter_map(Result::ok).any(|e| e.file_name() != "tmp.i"))
            .unwrap_or(false);
        if interrupted.is_empty() && !journal {
            return Ok(None);
        }
        let args = ["--configure", "-a", "--force-confdef", "--force-confold"].map(str::to_string);
        let (mut log, _) = self.run("repair", "dpkg", &args, timeout)?;
        log.what = if interrupted.is_empty() {
            "repair: dpkg's journal had unfinished updates".to_string()
        } else {
            format!("repair: dpkg was interrupted ({})", interrupted.join(", "))
        };
        Ok(Some(log))
    }

    fn plan(&self, selection: &Selection, download: bool) -> Result<Plan, BackendError> {
        let status = self.status()?;
        let pending = self.pending()?;
        let mut plan = Plan::default();
        for name in &pending.kept_back {
            let entry = status.iter().find(|e| e.matches(name));
            plan.held.push(Held {
                name: name.clone(),
                from: entry.map(|e| e.version.clone()),
                to: None,
                security: false,
                reason: if entry.is_some_and(StatusEntry::is_held) {
                    "held (apt-mark hold)".to_string()
                } else {
                    "kept back by apt: its update would need changes apt does not make on its own"
                        .to_string()
                },
                attention: false,
            });
        }
        // What the policy takes by itself; the other pending upgrades stay at their version.
        let upgrades: Vec<&Inst> = pending.installs.iter().filter(|i| i.from.is_some()).collect();
        let mut wanted: Vec<&Inst> = Vec::new();
        let mut pinned: Vec<&Inst> = Vec::new();
        for inst in &upgrades {
            if selection.takes(&inst.name, inst.is_security()) {
                wanted.push(inst);
                continue;
            }
            pinned.push(inst);
            let reason = if selection.denies(&inst.name) {
                "denied by --deny".to_string()
            } else if selection.security_only && !inst.is_security() {
                "not a security update".to_string()
            } else {
                "not in --allow".to_string()
            };
            plan.held.push(held(inst, reason, false));
        }
        if wanted.is_empty() {
            return Ok(plan);
        }
        let mut downloaded = false;
        let source_of = |name: &str| -> String {
            status.iter().find(|e| e.matches(name)).map_or_else(
                || name.split(':').next().unwrap_or(name).to_string(),
                |e| e.source.clone(),
            )
        };
        let (resolved, infos) = loop {
            // apt upgrades the binaries of one source together (APT::Get::Upgrade-By-Source-
            // Package): holding one back holds its pending siblings too.
            let held_sources: BTreeMap<String, &str> =
                pinned.iter().map(|i| (source_of(&i.name), i.name.as_str())).collect();
            let (siblings, rest): (Vec<&Inst>, Vec<&Inst>) =
                wanted.iter().partition(|i| held_sources.contains_key(&source_of(&i.name)));
            for inst in &siblings {
                let source = source_of(&inst.name);
                let other = held_sources.get(&source).copied().unwrap_or_default();
                plan.held.push(held(
                    inst,
                    format!("built from the same source ({source}) as {other}, which is held back: apt upgrades them together"),
                    false,
                ));
            }
            wanted = rest;
            pinned.extend(siblings);
            if wanted.is_empty() {
                return Ok(plan);
            }
            let sim = self.resolve(&wanted, &pinned)?;
            if !sim.unmet.is_empty() {
                // Updates that need a held-back update are held back too.
                let blocked: BTreeSet<&str> = sim.unmet.iter().map(String::as_str).collect();
                let before = wanted.len();
                let mut kept = Vec::new();
                for inst in wanted {
                    if blocked.contains(inst.name.as_str()) {
                        let why = sim
                            .unmet_text
                            .iter()
                            .find(|l| l.starts_with(&format!("{} : ", inst.name)))
                            .cloned()
                            .unwrap_or_else(|| sim.unmet_text.join("; "));
                        plan.held.push(held(
                            inst,
                            format!("needs an update that is held back: {why}"),
                            false,
                        ));
                        pinned.push(inst);
                    } else {
                        kept.push(inst);
                    }
                }
                wanted = kept;
                if wanted.len() == before {
                    return Err(BackendError::Other(format!(
                        "apt cannot resolve the selection: {}",
                        sim.unmet_text.join("; ")
                    )));
                }
                if wanted.is_empty() {
                    return Ok(plan);
                }
                continue;
            }
            let changed: Vec<&Inst> = sim.installs.iter().collect();
            if download && !downloaded {
                self.download(&changed)?;
                downloaded = true;
            }
            let infos = self.inspect(&changed, &status);
            // A locally modified config file the update also changes would make dpkg ask:
            // hold that package back (and what needs it), loudly.
            let conffiles = config_files(&self.system, &status, &sim.installs, &infos);
            let prompting: BTreeSet<&str> =
                conffiles.iter().filter(|c| c.would_prompt()).map(|c| c.package.as_str()).collect();
            let asks: Vec<&Inst> =
                wanted.iter().copied().filter(|i| prompting.contains(i.name.as_str())).collect();
            if asks.is_empty() {
                plan.conffiles = conffiles;
                break (sim, infos);
            }
            for inst in asks {
                let files: Vec<&str> = conffiles
                    .iter()
                    .filter(|c| c.package == inst.name && c.would_prompt())
                    .map(|c| c.path.as_str())
                    .collect();
                plan.held.push(held(
                    inst,
                    format!(
                        "would ask about locally modified {} (the update changes it): merge by hand, then run again",
                        files.join(", ")
                    ),
                    true,
                ));
                pinned.push(inst);
            }
            wanted.retain(|i| !prompting.contains(i.name.as_str()));
            if wanted.is_empty() {
                return Ok(plan);
            }
        };
        let requested: BTreeSet<&str> = wanted.iter().map(|i| i.name.as_str()).collect();
        let cves = cves_by_source(&resolved.installs, &infos, &status);
        for inst in &resolved.installs {
            let source = infos
                .get(&inst.name)
                .and_then(|i| i.source.clone())
                .or_else(|| status.iter().find(|e| e.matches(&inst.name)).map(|e| e.source.clone()))
                .unwrap_or_else(|| inst.name.split(':').next().unwrap_or(&inst.name).to_string());
            plan.updates.push(Update {
                name: inst.name.clone(),
                arch: inst.arch.clone(),
                from: inst.from.clone(),
                to: inst.to.clone(),
                cves: if inst.from.is_some() {
                    cves.get(&source).cloned().unwrap_or_default()
                } else {
                    Vec::new()
                },
                source,
                origins: inst.origins.clone(),
                security: inst.is_security(),
                requested: requested.contains(inst.name.as_str()),
            });
        }
        plan.removals = resolved.removals.iter().map(|(n, _)| n.clone()).collect();
        Ok(plan)
    }

    fn installed(&self, names: &[String]) -> Result<Vec<(String, String)>, BackendError> {
        let status = self.status()?;
        Ok(names
            .iter()
            .filter_map(|n| {
                let e = status.iter().find(|e| e.matches(n) && e.is_installed())?;
                Some((n.clone(), e.version.clone()))
            })
            .collect())
    }

    fn config_files(&self, plan: &Plan) -> Result<Vec<ConfigFile>, BackendError> {
        Ok(plan.conffiles.clone())
    }

    fn keep_previous(&self, plan: &Plan, dir: &Path) -> Result<Vec<Kept>, BackendError> {
        std::fs::create_dir_all(dir)
            .map_err(|source| BackendError::Io { path: dir.to_path_buf(), source })?;
        let mut kept = Vec::new();
        for update in &plan.updates {
            let Some(from) = &update.from else { continue };
            let cached = self.archive(&update.name, from, &update.arch);
            if cached.is_file() {
                let name = cached.file_name().map(PathBuf::from).unwrap_or_default();
                let file = dir.join(name);
                if std::fs::hard_link(&cached, &file).is_err() {
                    std::fs::copy(&cached, &file)
                        .map_err(|source| BackendError::Io { path: file.clone(), source })?;
                }
                kept.push(Kept {
                    name: update.name.clone(),
                    version: from.clone(),
                    file,
                    from: "cache".into(),
                });
                continue;
            }
            let bare = update.name.split(':').next().unwrap_or(&update.name);
            let package =
                if update.name.contains(':') { update.name.clone() } else { bare.to_string() };
            let repacked =
                crate::repack::repack(self.system.root(), &package, dir).map_err(|e| {
                    BackendError::Other(format!("keeping {} {from} for rollback: {e}", update.name))
                })?;
            kept.push(Kept {
                name: update.name.clone(),
                version: from.clone(),
                file: repacked.path,
                from: "repacked".into(),
            });
        }
        Ok(kept)
    }

    fn apply(
        &self,
        plan: &Plan,
        names: &[String],
        timeout: Duration,
    ) -> Result<StepLog, BackendError> {
        let mut args: Vec<String> = [
            "install",
            "-y",
            "-q",
            "--no-remove",
            "--no-install-recommends",
            "-o",
            "Dpkg::Options::=--force-confdef",
            "-o",
            "Dpkg::Options::=--force-confold",
            "-o",
            "Dpkg::Use-Pty=0",
            "-o",
            "DPkg::Lock::Timeout=120",
        ]
        .map(str::to_string)
        .to_vec();
        let mut wanted = Vec::new();
        for name in names {
            let update = plan
                .update(name)
                .ok_or_else(|| BackendError::Other(format!("{name} is not in the plan")))?;
            wanted.push(format!("{}={}", update.name, update.to));
        }
        // apt decides again for this step: it must not reach outside the plan.
        let mut sim_args = vec!["install".to_string(), "--no-install-recommends".to_string()];
        sim_args.extend(wanted.iter().cloned());
        let sim = self.simulate(&sim_args)?;
        let outside: Vec<String> = sim
            .installs
            .iter()
            .filter(|i| plan.update(&i.name).is_none_or(|u| u.to != i.to))
            .map(|i| format!("{} {}", i.name, i.to))
            .chain(sim.removals.iter().map(|(n, _)| format!("removing {n}")))
            .chain(sim.unmet_text.iter().cloned())
            .collect();
        if !outside.is_empty() {
            return Err(BackendError::Other(format!(
                "apt would now change what the plan does not: {} (the package lists changed since planning?)",
                outside.join(", ")
            )));
        }
        args.extend(wanted);
        // `apt-get install pkg=ver` marks pkg as manually installed; keep apt's record of
        // what was installed automatically, or a later autoremove would keep it forever.
        let auto = self.auto_installed();
        let (mut log, _) = self.run("apply", "apt-get", &args, timeout)?;
        log.what = format!("apply {}", names.join(" "));
        let was_auto: Vec<String> =
            names.iter().filter(|n| auto.contains(n.as_str())).cloned().collect();
        if log.ok && !was_auto.is_empty() {
            let mut args = vec!["auto".to_string()];
            args.extend(was_auto);
            let (mark, _) =
                self.run("apt-mark auto", "apt-mark", &args, Duration::from_secs(120))?;
            if !mark.ok {
                tracing::warn!("apt-mark auto: {}", mark.output);
            }
        }
        Ok(log)
    }

    fn restore(
        &self,
        kept: &[Kept],
        remove: &[String],
        timeout: Duration,
    ) -> Result<StepLog, BackendError> {
        let started = Instant::now();
        // dpkg inside a folder system sees only files under its root: stage the packages there.
        let staged_dir = if self.system.is_host() {
            None
        } else {
            let dir = self.system.path("/var/cache/ward-rollback");
            std::fs::create_dir_all(&dir)
                .map_err(|source| BackendError::Io { path: dir.clone(), source })?;
            Some(dir)
        };
        let mut files = Vec::new();
        for k in kept {
            match &staged_dir {
                None => files.push(k.file.display().to_string()),
                Some(dir) => {
                    let name = k.file.file_name().map(PathBuf::from).unwrap_or_default();
                    let target = dir.join(&name);
                    std::fs::copy(&k.file, &target)
                        .map_err(|source| BackendError::Io { path: target.clone(), source })?;
                    files.push(format!("/var/cache/ward-rollback/{}", name.display()));
                }
            }
        }
        let mut log = StepLog {
            what: "restore the previous versions".into(),
            command: Vec::new(),
            ok: true,
            status: "exit 0".into(),
            output: String::new(),
            duration_ms: 0,
        };
        if !files.is_empty() {
            let mut args: Vec<String> =
                ["-i", "--force-confdef", "--force-confold", "--force-downgrade"]
                    .map(str::to_string)
                    .to_vec();
            args.extend(files);
            let (install, _) = self.run("reinstall", "dpkg", &args, timeout)?;
            log.command = install.command;
            log.ok = install.ok;
            log.status = install.status;
            log.output = install.output;
        }
        if log.ok && !remove.is_empty() {
            let mut args = vec!["--remove".to_string()];
            args.extend(remove.iter().cloned());
            let (removal, _) = self.run("remove", "dpkg", &args, timeout)?;
            log.command.push("&&".into());
            log.command.extend(removal.command);
            log.ok = removal.ok;
            log.status = removal.status;
            log.output.push_str(&removal.output);
        }
        if let Some(dir) = staged_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        log.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(log)
    }
}

fn held(inst: &Inst, reason: String, attention: bool) -> Held {
    Held {
        name: inst.name.clone(),
        from: inst.from.clone(),
        to: Some(inst.to.clone()),
        security: inst.is_security(),
        reason,
        attention,
    }
}

/// The config files of the installed packages `installs` replaces: modified when the file's
/// checksum is not what dpkg recorded; changed by the update when the new package's copy
/// differs from what dpkg recorded.
fn config_files(
    system: &System,
    status: &[StatusEntry],
    installs: &[Inst],
    infos: &BTreeMap<String, deb::DebInfo>,
) -> Vec<ConfigFile> {
    let mut out = Vec::new();
    for inst in installs.iter().filter(|i| i.from.is_some()) {
        let Some(entry) = status.iter().find(|e| e.matches(&inst.name)) else { continue };
        for (path, recorded) in &entry.conffiles {
            let current = md5_of(&system.path(path));
            let new =
                infos.get(&inst.name).map(|i| i.conffile_md5.get(path.as_str()) != Some(recorded));
            out.push(ConfigFile {
                path: path.clone(),
                package: inst.name.clone(),
                modified: current.as_deref() != Some(recorded.as_str()),
                changed_by_update: new,
            });
        }
    }
    out
}

/// The MD5 of a file, as dpkg records conffiles (`None` when it cannot be read).
pub fn md5_of(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Md5::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Some(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Per source package, the CVEs its changelog names in entries newer than the installed
/// version (read from the first of its binaries whose package carries the changelog).
fn cves_by_source(
    installs: &[Inst],
    infos: &BTreeMap<String, deb::DebInfo>,
    status: &[StatusEntry],
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for inst in installs {
        let Some(from) = &inst.from else { continue };
        let Some(info) = infos.get(&inst.name) else { continue };
        let source = info.source.clone().unwrap_or_else(|| info.package.clone());
        if out.contains_key(&source) {
            continue;
        }
        let Some(bytes) = &info.changelog else { continue };
        let parsed = changelog::parse(&String::from_utf8_lossy(bytes));
        // The installed source version: a binNMU (`+b1`) or a binary versioned apart from its
        // source compares with the changelog's source versions through dpkg's own record.
        let installed = status
            .iter()
            .find(|e| e.matches(&inst.name))
            .map_or(from.as_str(), |e| e.version.as_str());
        match changelog::cves_since(&parsed.entries, installed) {
            Ok(cves) => {
                out.insert(source, cves);
            }
            Err(e) => tracing::warn!("{}: changelog versions: {e}", inst.name),
        }
    }
    out
}

/// The last 4 KiB of stdout and stderr together.
fn output_tail(out: &ward_process::Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stdout.bytes).into_owned();
    let err = String::from_utf8_lossy(&out.stderr.bytes);
    if !err.trim().is_empty() {
        text.push_str(&err);
    }
    const KEEP: usize = 4096;
    if text.len() > KEEP {
        let mut start = text.len() - KEEP;
        while !text.is_char_boundary(start) {
            start += 1;
        }
        text = format!("…{}", &text[start..]);
    }
    text
}
