//! `ward inventory`: finds inputs on disk (the IO edge), parses them with ward-inventory, and
//! prints the packages as a table, the `ward.inventory/1` JSON document, or CycloneDX.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Mutex;

use ward_inventory::formats::{requirements, rpm};
use ward_inventory::host::{self, OsRelease};
use ward_inventory::{wire, Format, Package, ParseError, Parsed};
use ward_version::EcosystemKind;

use super::EXIT_ERROR;
use crate::cli::{InventoryArgs, InventoryFormat};

/// Folders a search never enters: version control metadata.
const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn", ".bzr", "_darcs", ".jj"];

/// Files larger than this are not read during a directory search (explicit paths are always
/// read): no lockfile or package database comes close, and it bounds memory.
const MAX_SEARCHED_FILE: u64 = 256 * 1024 * 1024;

/// Where applications are deployed, searched by `--host` unless `--app-root` is given.
const DEFAULT_APP_ROOTS: &[&str] = &["var/www", "srv", "opt"];

/// Packages, input problems and host facts, collected from the inputs of a command.
pub(crate) struct Collected {
    pub packages: Vec<Package>,
    pub errors: Vec<ParseError>,
    pub host: Option<wire::HostV1>,
    /// How many inputs were read.
    pub files: usize,
}

/// What to collect: the paths (files or directories to search) and, with `host`, this machine.
pub(crate) struct Inputs<'a> {
    pub paths: &'a [PathBuf],
    pub host: bool,
    pub root: &'a Path,
    pub app_roots: &'a [PathBuf],
    pub include_node_modules: bool,
}

/// Reads every input (the IO edge of inventory, shared with `ward scan`).
pub(crate) fn collect(inputs: &Inputs<'_>) -> Collected {
    let mut results: Vec<(PathBuf, Parsed)> = Vec::new();
    let host = inputs.host.then(|| {
        collect_host(inputs.root, inputs.app_roots, inputs.include_node_modules, &mut results)
    });
    for path in inputs.paths {
        match std::fs::metadata(path) {
            Err(e) => results.push((path.clone(), unreadable(path, &e))),
            Ok(meta) if meta.is_dir() => search(path, inputs.include_node_modules, &mut results),
            Ok(_) => {
                if let Some(parsed) = read_input(path, true) {
                    results.push((path.clone(), parsed));
                }
            }
        }
    }
    // Searches run in parallel; sort so the output does not depend on thread timing.
    // Sorted and compared as shown (`./x` is `x`): a file named twice, or inside two
    // searched folders, is reported once.
    results.sort_by_cached_key(|(path, _)| display(path));
    results.dedup_by(|a, b| display(&a.0) == display(&b.0));
    let mut packages = Vec::new();
    let mut errors = Vec::new();
    // Packages a requirements file pulled in through `-r` belong to the included file: they
    // are reported once, and not at all when that file is an input itself.
    let inputs_shown: BTreeSet<String> = results.iter().map(|(path, _)| display(path)).collect();
    let mut included = BTreeSet::new();
    let files = results.len();
    for (path, parsed) in results {
        let own = display(&path);
        errors.extend(parsed.errors);
        let mut found = parsed.packages;
        found.retain(|p| {
            p.location.path == own
                || (!inputs_shown.contains(&p.location.path)
                    && included.insert((p.location.clone(), p.name.clone(), p.version.clone())))
        });
        // The first file's packages are taken as they are, not copied.
        if packages.is_empty() {
            packages = found;
        } else {
            packages.append(&mut found);
        }
    }
    let errors: Vec<ParseError> = errors.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    Collected { packages, errors, host, files }
}

pub fn run(args: InventoryArgs) -> anyhow::Result<ExitCode> {
    let paths =
        if args.paths.is_empty() && !args.host { vec![PathBuf::from(".")] } else { args.paths };
    let Collected { packages, errors, host, files } = collect(&Inputs {
        paths: &paths,
        host: args.host,
        root: &args.root,
        app_roots: &args.app_roots,
        include_node_modules: args.include_node_modules,
    });
    match write_output(args.format, &packages, &errors, host) {
        // A closed pipe (`ward inventory | head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
        result => result?,
    }
    let mut report = String::new();
    for e in &errors {
        report.push_str(&format!("ward: {e}\n"));
    }
    report.push_str(&format!(
        "ward: {} packages from {files} inputs{}\n",
        packages.len(),
        if errors.is_empty() { String::new() } else { format!(", {} errors", errors.len()) }
    ));
    super::write_stderr(&report)?;
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_ERROR) })
}

fn write_output(
    format: InventoryFormat,
    packages: &[Package],
    errors: &[ParseError],
    host: Option<wire::HostV1>,
) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match format {
        InventoryFormat::Table => {
            if let Some(h) = &host {
                write_host(&mut out, h)?;
            }
            write_table(&mut out, packages)?;
        }
        InventoryFormat::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &wire::InventoryV1::new(packages, errors, host),
            )?;
            writeln!(out)?;
        }
        InventoryFormat::Cyclonedx => {
            serde_json::to_writer_pretty(
                &mut out,
                &wire::cyclonedx(packages, env!("CARGO_PKG_VERSION")),
            )?;
            writeln!(out)?;
        }
    }
    out.flush()
}

fn display(path: &Path) -> String {
    let text = path.to_string_lossy();
    text.strip_prefix("./").unwrap_or(&text).to_string()
}

fn unreadable(path: &Path, e: &io::Error) -> Parsed {
    Parsed {
        errors: vec![ParseError::new(&display(path), None, format!("cannot read: {e}"))],
        ..Parsed::default()
    }
}

/// Reads and parses one file. `explicit` files (named on the command line) are recognised by
/// content too and reported when unrecognised; searched files are read only when their name
/// says they are an input (or, for `status`/`installed`/`*.json`, their content).
fn read_input(path: &Path, explicit: bool) -> Option<Parsed> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let parent = path.parent().and_then(Path::file_name).map(|p| p.to_string_lossy().into_owned());
    let shown = display(path);
    let by_name = Format::from_file_name(&name, parent.as_deref());
    if name == "rpmdb.sqlite" {
        return Some(read_rpmdb(path));
    }
    if by_name == Some(Format::Requirements) {
        return Some(requirements::resolve(&shown, |p| {
            std::fs::read(p).map_err(|e| e.to_string())
        }));
    }
    let sniff = name.contains("status") || name.contains("installed") || name.ends_with(".json");
    if by_name.is_none() && !explicit && !sniff {
        return None;
    }
    if !explicit {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.len() > MAX_SEARCHED_FILE {
                return None;
            }
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Some(unreadable(path, &e)),
    };
    let format = match by_name.or_else(|| Format::from_content(&bytes)) {
        Some(f) => f,
        None if explicit => {
            return Some(Parsed {
                errors: vec![ParseError::new(
                    &shown,
                    None,
                    "not a format ward reads (a lockfile, manifest, SBOM, dpkg status, apk installed or Go binary)",
                )],
                ..Parsed::default()
            });
        }
        None => return None,
    };
    Some(ward_inventory::parse(format, &shown, &bytes))
}

/// Searches a directory in parallel for inputs.
fn search(root: &Path, include_node_modules: bool, results: &mut Vec<(PathBuf, Parsed)>) {
    let found = Mutex::new(Vec::new());
    let progress = Progress::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            let name = entry.file_name().to_string_lossy();
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir
                && (VCS_DIRS.contains(&name.as_ref())
                    || (!include_node_modules && name == "node_modules")))
        })
        .build_parallel();
    walker.run(|| {
        let found = &found;
        let progress = &progress;
        Box::new(move |entry| {
            progress.tick();
            let item = match entry {
                Ok(entry) if entry.file_type().is_some_and(|t| t.is_file()) => {
                    read_input(entry.path(), false).map(|p| (entry.path().to_path_buf(), p))
                }
                Ok(_) => None,
                Err(e) => {
                    let path = match &e {
                        ignore::Error::WithPath { path, .. } => path.clone(),
                        _ => root.to_path_buf(),
                    };
                    let message = e.to_string();
                    let parsed = Parsed {
                        errors: vec![ParseError::new(&display(&path), None, message)],
                        ..Parsed::default()
                    };
                    Some((path, parsed))
                }
            };
            if let Some(item) = item {
                progress.found();
                if let Ok(mut list) = found.lock() {
                    list.push(item);
                }
            }
            ignore::WalkState::Continue
        })
    });
    progress.finish();
    results.extend(found.into_inner().unwrap_or_default());
}

/// A one-line counter on standard error while a search runs, only when standard error is a
/// terminal (never in pipes, logs or tests).
#[derive(Debug)]
struct Progress {
    enabled: bool,
    entries: AtomicUsize,
    inputs: AtomicUsize,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            enabled: io::stderr().is_terminal(),
            entries: AtomicUsize::new(0),
            inputs: AtomicUsize::new(0),
        }
    }

    fn tick(&self) {
        let n = self.entries.fetch_add(1, AtomicOrdering::Relaxed) + 1;
        if self.enabled && n % 4096 == 0 {
            let inputs = self.inputs.load(AtomicOrdering::Relaxed);
            let _ = super::write_stderr(&format!(
                "\rward: searched {n} entries, {inputs} inputs found"
            ));
        }
    }

    fn found(&self) {
        self.inputs.fetch_add(1, AtomicOrdering::Relaxed);
    }

    fn finish(&self) {
        if self.enabled && self.entries.load(AtomicOrdering::Relaxed) >= 4096 {
            let _ = super::write_stderr("\r\x1b[2K");
        }
    }
}

/// The OS packages, host facts and applications of the machine under `root`.
fn collect_host(
    root: &Path,
    app_roots: &[PathBuf],
    include_node_modules: bool,
    results: &mut Vec<(PathBuf, Parsed)>,
) -> wire::HostV1 {
    let read = |rel: &str| std::fs::read(root.join(rel));
    let mut host_errors = Parsed::default();
    let os = match read("etc/os-release").or_else(|_| read("usr/lib/os-release")) {
        Ok(bytes) => OsRelease::parse(&bytes),
        Err(e) => {
            host_errors.errors.push(ParseError::new(
                &display(&root.join("etc/os-release")),
                None,
                format!("cannot read: {e}"),
            ));
            OsRelease::default()
        }
    };
    let ecosystem = os.ecosystem();
    // OS package databases, each in the ecosystem of this release when it is that family.
    let mut databases: Vec<(PathBuf, Format)> = vec![
        (root.join("var/lib/dpkg/status"), Format::DpkgStatus),
        (root.join("lib/apk/db/installed"), Format::ApkInstalled),
    ];
    if let Ok(entries) = std::fs::read_dir(root.join("var/lib/dpkg/status.d")) {
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_none())
            .collect();
        files.sort();
        databases.extend(files.into_iter().map(|f| (f, Format::DpkgStatus)));
    }
    let mut os_packages = Vec::new();
    for (path, format) in databases {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                results.push((path.clone(), unreadable(&path, &e)));
                continue;
            }
        };
        let mut parsed = ward_inventory::parse(format, &display(&path), &bytes);
        let family = |k: EcosystemKind| match format {
            Format::DpkgStatus => matches!(k, EcosystemKind::Debian | EcosystemKind::Ubuntu),
            _ => matches!(
                k,
                EcosystemKind::Alpine | EcosystemKind::Wolfi | EcosystemKind::Chainguard
            ),
        };
        if let Some(e) = ecosystem.as_ref().filter(|e| family(e.kind())) {
            for p in &mut parsed.packages {
                p.ecosystem = e.clone();
            }
        }
        os_packages.extend(parsed.packages.iter().cloned());
        results.push((path, parsed));
    }
    // The SQLite rpm database (Fedora, RHEL 9+, SUSE); older BerkeleyDB/NDB ones are named.
    let rpmdbs = ["var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite"];
    let mut found_rpmdb = false;
    for path in rpmdbs.iter().map(|r| root.join(r)).filter(|p| p.exists()) {
        found_rpmdb = true;
        let mut parsed = read_rpmdb(&path);
        if let Some(e) = ecosystem.as_ref().filter(|e| is_rpm_family(e.kind())) {
            for p in &mut parsed.packages {
                p.ecosystem = e.clone();
            }
        }
        os_packages.extend(parsed.packages.iter().cloned());
        results.push((path, parsed));
    }
    // Older BerkeleyDB / NDB databases (RHEL 8 and earlier, SUSE): ward does not decode those
    // formats itself; the host's own rpm reads them, through `rpm -qa`.
    let old_rpmdb =
        ["var/lib/rpm/Packages", "var/lib/rpm/Packages.db", "usr/lib/sysimage/rpm/Packages.db"]
            .iter()
            .map(|old| root.join(old))
            .find(|path| path.exists());
    if let (false, Some(path)) = (found_rpmdb, old_rpmdb) {
        let dbpath = path
            .parent()
            .and_then(|dir| dir.strip_prefix(root).ok())
            .map(|d| Path::new("/").join(d));
        let mut parsed = rpm_query(
            root,
            dbpath.as_deref().unwrap_or(Path::new("/var/lib/rpm")),
            &display(&path),
        );
        if let Some(e) = ecosystem.as_ref().filter(|e| is_rpm_family(e.kind())) {
            for p in &mut parsed.packages {
                p.ecosystem = e.clone();
            }
        }
        os_packages.extend(parsed.packages.iter().cloned());
        results.push((path, parsed));
    }
    let kernels = std::fs::read(root.join("proc/sys/kernel/osrelease"))
        .ok()
        .map(|running| host::kernels(&String::from_utf8_lossy(&running), &os_packages));
    let reboot_required = root.join("var/run/reboot-required").exists();
    let reboot_packages = read("var/run/reboot-required.pkgs")
        .map(|b| host::reboot_required_packages(&b))
        .unwrap_or_default();
    let roots: Vec<PathBuf> = if app_roots.is_empty() {
        DEFAULT_APP_ROOTS.iter().map(|r| root.join(r)).collect()
    } else {
        app_roots.to_vec()
    };
    for dir in roots.iter().filter(|d| d.is_dir()) {
        search(dir, include_node_modules, results);
    }
    if !host_errors.errors.is_empty() {
        results.push((root.to_path_buf(), host_errors));
    }
    let restarts = restart_needed(root);
    let listening = listening(root);
    wire::HostV1::new(&os, kernels.as_ref(), reboot_required, reboot_packages, restarts, listening)
}

/// Listening sockets from `root/proc/net`, with the process owning each (found through the
/// `socket:[inode]` links in `/proc/<pid>/fd`, for the processes ward may inspect).
fn listening(root: &Path) -> Vec<wire::ListenerV1> {
    let mut sockets = Vec::new();
    for protocol in ["tcp", "tcp6", "udp", "udp6"] {
        if let Ok(table) = std::fs::read(root.join("proc/net").join(protocol)) {
            sockets.extend(host::listeners(&table, protocol));
        }
    }
    if sockets.is_empty() {
        return Vec::new();
    }
    sockets.sort_by(|a, b| (a.protocol, a.port, &a.address).cmp(&(b.protocol, b.port, &b.address)));
    sockets.dedup_by(|a, b| a.protocol == b.protocol && a.port == b.port && a.address == b.address);
    let wanted: BTreeSet<u64> = sockets.iter().map(|s| s.inode).collect();
    let mut owners: std::collections::BTreeMap<u64, u32> = std::collections::BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(root.join("proc")) {
        for entry in entries.filter_map(Result::ok) {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
            for fd in fds.filter_map(Result::ok) {
                let Ok(target) = std::fs::read_link(fd.path()) else { continue };
                if let Some(inode) =
                    target.to_str().and_then(host::socket_inode).filter(|i| wanted.contains(i))
                {
                    owners.entry(inode).or_insert(pid);
                }
            }
        }
    }
    sockets
        .into_iter()
        .map(|s| {
            let pid = owners.get(&s.inode).copied();
            let proc_dir = pid.map(|p| root.join("proc").join(p.to_string()));
            let command = proc_dir
                .as_ref()
                .and_then(|d| std::fs::read(d.join("comm")).ok())
                .map(|c| String::from_utf8_lossy(&c).trim().to_string());
            let unit = proc_dir
                .as_ref()
                .and_then(|d| std::fs::read(d.join("cgroup")).ok())
                .and_then(|c| host::systemd_unit(&c));
            wire::ListenerV1 {
                protocol: s.protocol,
                address: s.address,
                port: s.port,
                pid,
                command,
                unit,
            }
        })
        .collect()
}

fn is_rpm_family(kind: EcosystemKind) -> bool {
    matches!(
        kind,
        EcosystemKind::RedHat
            | EcosystemKind::AlmaLinux
            | EcosystemKind::RockyLinux
            | EcosystemKind::OpenSuse
            | EcosystemKind::Suse
            | EcosystemKind::OpenEuler
            | EcosystemKind::Mageia
            | EcosystemKind::AzureLinux
            | EcosystemKind::PhotonOs
    )
}

/// Lists the packages of the rpm database in `root` + `dbpath` with the host's own `rpm -qa`
/// (for database formats ward does not read itself). Without rpm, or when it fails, the result
/// is one error saying what to do.
fn rpm_query(root: &Path, dbpath: &Path, shown: &str) -> Parsed {
    let failed = |message: String| Parsed {
        errors: vec![ParseError::new(shown, None, message)],
        ..Parsed::default()
    };
    let run = ward_process::Command::new("rpm")
        .arg("--root")
        .arg(root)
        .arg("--dbpath")
        .arg(dbpath)
        .args(["-qa", "--queryformat", rpm::QUERY_FORMAT])
        .env("LC_ALL", "C")
        .timeout(std::time::Duration::from_secs(120))
        .output_limit(256 << 20)
        .run();
    match run {
        Err(ward_process::ProcessError::NotFound { .. }) => failed(
            "an rpm database in BerkeleyDB or NDB format, and no `rpm` program to read it: \
             install rpm, or export an SBOM on that host and inventory it"
                .to_string(),
        ),
        Err(e) => failed(format!("cannot run rpm to read this database: {e}")),
        Ok(out) if !out.status.success() || out.stdout.truncated() => {
            let stderr = String::from_utf8_lossy(&out.stderr.bytes);
            failed(format!(
                "rpm -qa could not read this database ({}): {}",
                out.status,
                stderr.lines().next().unwrap_or("no message")
            ))
        }
        Ok(out) => {
            let mut parsed = rpm::parse_query_output(shown, &out.stdout.bytes);
            for p in &mut parsed.packages {
                p.location.line = None;
            }
            parsed
        }
    }
}

/// Reads every package header of a SQLite rpm database (read-only; `immutable` so a
/// database on read-only media or without its `-shm` file still opens).
fn read_rpmdb(path: &Path) -> Parsed {
    let shown = display(path);
    let mut out = Parsed::default();
    let fail = |e: rusqlite::Error| Parsed {
        errors: vec![ParseError::new(&shown, None, format!("cannot read the rpm database: {e}"))],
        ..Parsed::default()
    };
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let uri = format!(
        "file:{}?immutable=1",
        absolute.to_string_lossy().replace('?', "%3f").replace('#', "%23")
    );
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        | rusqlite::OpenFlags::SQLITE_OPEN_URI
        | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = match rusqlite::Connection::open_with_flags(&uri, flags) {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    let mut query = match db.prepare("SELECT hnum, blob FROM Packages ORDER BY hnum") {
        Ok(q) => q,
        Err(e) => return fail(e),
    };
    let rows = query.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)));
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return fail(e),
    };
    for row in rows {
        match row {
            Ok((hnum, blob)) => {
                let location = ward_inventory::Location { path: shown.clone(), line: None };
                match rpm::parse_header(location, &blob) {
                    Ok(Some(p)) => out.packages.push(p),
                    Ok(None) => {}
                    Err(e) => out.errors.push(ParseError::new(
                        &shown,
                        None,
                        format!("package header #{hnum}: {e}"),
                    )),
                }
            }
            Err(e) => out.errors.push(ParseError::new(
                &shown,
                None,
                format!("cannot read a package row: {e}"),
            )),
        }
    }
    out
}

/// Processes under `root/proc` that still map deleted files, with their unit and the dpkg
/// packages those files came from. Processes ward may not inspect (other users', when not
/// root) are skipped.
fn restart_needed(root: &Path) -> Vec<wire::RestartV1> {
    let Ok(entries) = std::fs::read_dir(root.join("proc")) else { return Vec::new() };
    let mut found: Vec<(u32, String, Option<String>, Vec<String>)> = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let dir = entry.path();
        let Ok(maps) = std::fs::read(dir.join("maps")) else { continue };
        let files = host::deleted_mappings(&maps);
        if files.is_empty() {
            continue;
        }
        let command = std::fs::read(dir.join("comm"))
            .map(|c| String::from_utf8_lossy(&c).trim().to_string())
            .unwrap_or_default();
        let unit = std::fs::read(dir.join("cgroup")).ok().and_then(|c| host::systemd_unit(&c));
        found.push((pid, command, unit, files));
    }
    if found.is_empty() {
        return Vec::new();
    }
    found.sort_by_key(|f| f.0);
    // Which package installed each file: dpkg's per-package file lists.
    let wanted: BTreeSet<String> =
        found.iter().flat_map(|f| f.3.iter()).map(|p| host::owner_key(p).to_string()).collect();
    let mut owners: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    if let Ok(lists) = std::fs::read_dir(root.join("var/lib/dpkg/info")) {
        for list in lists.filter_map(Result::ok) {
            let name = list.file_name().to_string_lossy().into_owned();
            let Some(package) = host::list_file_package(&name) else { continue };
            let Ok(bytes) = std::fs::read(list.path()) else { continue };
            for line in String::from_utf8_lossy(&bytes).lines() {
                let key = host::owner_key(line.trim());
                if wanted.contains(key) {
                    owners.entry(key.to_string()).or_insert_with(|| package.to_string());
                }
            }
        }
    }
    found
        .into_iter()
        .map(|(pid, command, unit, files)| {
            let mut packages: Vec<String> =
                files.iter().filter_map(|f| owners.get(host::owner_key(f)).cloned()).collect();
            packages.sort();
            packages.dedup();
            wire::RestartV1 { pid, command, unit, files, packages }
        })
        .collect()
}

fn write_host(out: &mut impl Write, h: &wire::HostV1) -> io::Result<()> {
    let os = h.os.pretty_name.clone().unwrap_or_else(|| h.os.id.clone());
    let ecosystem = h.os.ecosystem.as_deref().unwrap_or("no OSV ecosystem");
    writeln!(out, "host: {os} ({ecosystem})")?;
    if let Some(k) = &h.kernel {
        let state = match k.reboot_needed {
            Some(true) => format!(
                "newest installed {} is not running: reboot needed",
                k.installed.last().map_or("", String::as_str)
            ),
            Some(false) => "the newest installed kernel".to_string(),
            None => "no kernel package installed".to_string(),
        };
        writeln!(out, "kernel: {} ({state})", k.running)?;
    }
    for l in &h.listening {
        let who = match (&l.command, l.pid) {
            (Some(c), Some(p)) => format!(" {c} pid {p}"),
            _ => String::new(),
        };
        let unit = l.unit.as_deref().map_or_else(String::new, |u| format!(" ({u})"));
        let address =
            if l.address.contains(':') { format!("[{}]", l.address) } else { l.address.clone() };
        writeln!(out, "listening: {} {address}:{}{who}{unit}", l.protocol, l.port)?;
    }
    for r in &h.restart_needed {
        let what = if r.packages.is_empty() { r.files.join(", ") } else { r.packages.join(", ") };
        let unit = r.unit.as_deref().map_or_else(String::new, |u| format!(" ({u})"));
        writeln!(out, "restart needed: {} pid {}{unit}: runs replaced {what}", r.command, r.pid)?;
    }
    if h.reboot_required {
        let pkgs = if h.reboot_required_packages.is_empty() {
            String::new()
        } else {
            format!(" by {}", h.reboot_required_packages.join(", "))
        };
        writeln!(out, "reboot-required: yes{pkgs}")?;
    }
    writeln!(out)
}

fn write_table(out: &mut impl Write, packages: &[Package]) -> io::Result<()> {
    let rows: Vec<[String; 4]> = packages
        .iter()
        .map(|p| {
            let version = match (&p.version, &p.requirement) {
                (v, _) if !v.is_empty() => v.clone(),
                (_, Some(r)) if !r.is_empty() => format!("(unpinned: {r})"),
                (_, Some(_)) => "(unpinned)".to_string(),
                (_, None) => {
                    p.commit.clone().map_or_else(|| "-".to_string(), |c| format!("(commit {c})"))
                }
            };
            let location = match p.location.line {
                Some(l) => format!("{}:{l}", p.location.path),
                None => p.location.path.clone(),
            };
            [p.ecosystem.to_string(), p.name.clone(), version, location]
        })
        .collect();
    let header = ["ECOSYSTEM", "NAME", "VERSION", "LOCATION"].map(str::to_string);
    let mut widths = [0usize; 3];
    for row in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> ward_process::Output {
        let out = ward_process::Command::new(args[0])
            .args(&args[1..])
            .timeout(std::time::Duration::from_secs(60))
            .run()
            .unwrap_or_else(|e| panic!("{args:?}: {e} (.ci/run installs Debian's rpm)"));
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr.bytes));
        out
    }

    /// The `rpm -qa` path, used for BerkeleyDB/NDB databases, against a real rpm database
    /// (SQLite: the only format Debian's rpm writes; `rpm -qa` reads every format the same way)
    /// holding a package built by rpmbuild.
    #[test]
    fn reads_an_rpm_database_through_the_hosts_rpm() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path().join("build");
        let spec = dir.path().join("fixture.spec");
        std::fs::write(
            &spec,
            "Name: ward-fixture\nVersion: 1.2.3\nRelease: 4.el9\nEpoch: 1\nSummary: fixture\n\
             License: MIT\nBuildArch: noarch\n%description\nfixture\n%files\n",
        )
        .unwrap();
        let define = format!("_topdir {}", top.display());
        run(&["rpmbuild", "--quiet", "--define", &define, "-bb", spec.to_str().unwrap()]);
        let rpm_file = top.join("RPMS/noarch/ward-fixture-1.2.3-4.el9.noarch.rpm");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("var/lib/rpm")).unwrap();
        let root_arg = root.to_str().unwrap();
        run(&["rpm", "--root", root_arg, "--dbpath", "/var/lib/rpm", "--initdb"]);
        run(&[
            "rpm",
            "--root",
            root_arg,
            "--dbpath",
            "/var/lib/rpm",
            "-i",
            "--justdb",
            "--nodeps",
            rpm_file.to_str().unwrap(),
        ]);
        let parsed = rpm_query(&root, Path::new("/var/lib/rpm"), "var/lib/rpm/Packages");
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let got: Vec<(&str, &str)> =
            parsed.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(got, [("ward-fixture", "1:1.2.3-4.el9")]);
        let source = parsed.packages[0].source.as_ref().unwrap();
        assert_eq!(
            (source.name.as_str(), source.version.as_str()),
            ("ward-fixture", "1:1.2.3-4.el9")
        );
    }

    #[test]
    fn an_unreadable_rpm_database_is_one_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("var/lib/rpm")).unwrap();
        std::fs::write(dir.path().join("var/lib/rpm/Packages"), b"not a database").unwrap();
        let parsed = rpm_query(dir.path(), Path::new("/var/lib/rpm"), "var/lib/rpm/Packages");
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
    }
}
