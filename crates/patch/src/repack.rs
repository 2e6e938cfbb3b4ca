//! Rebuilds the `.deb` of an installed package from the dpkg database, like Debian's
//! `dpkg-repack`, so a roll back can reinstall the exact previous version even when no cache or
//! mirror still has its `.deb`.
//!
//! ```no_run
//! let repacked = ward_patch::repack::repack("/".as_ref(), "apt", "/var/lib/ward/debs".as_ref())?;
//! println!("{} ({} files missing)", repacked.path.display(), repacked.missing.len());
//! # Ok::<(), ward_patch::repack::RepackError>(())
//! ```
//!
//! What goes into the package, from `ROOT/var/lib/dpkg`:
//!
//! - `DEBIAN/control`: the package's `status` stanza without the fields only the status
//!   database has ([`STATUS_ONLY_FIELDS`]), in the order `dpkg-deb` packages use
//!   ([`CONTROL_FIELD_ORDER`]; fields not in that table follow in their status order). Unlike
//!   `dpkg-repack` (which drops fields `Dpkg::Control` does not know), every other field is kept
//!   and the description is not tagged, so the control file equals the original one.
//! - `DEBIAN/conffiles` from the stanza's `Conffiles`: obsolete conffiles are left out,
//!   `remove-on-upgrade` ones keep their flag, conffiles the admin deleted are left out (and
//!   reported as missing); `DEBIAN/md5sums` from `info/`, without the lines of missing files;
//!   the maintainer scripts and other control files of [`CONTROL_FILES`] found in `info/`.
//! - Every path of `info/PACKAGE.list` (`PACKAGE:ARCH.list` for `Multi-Arch: same`), read
//!   through `ROOT` as if it were `/`: symlinks on the way are followed but never leave `ROOT`
//!   (merged `/usr`: `/bin` → `usr/bin`). A path other listed paths live under is a directory
//!   in the package even where the system has a symlink. Files diverted away from this package
//!   (`var/lib/dpkg/diversions`) are read from where they were diverted to. Files keep owner, mode
//!   and modification time; hard links stay hard links; symlinks are recreated.
//!
//! **API boundary:** a listed file that is gone is not an error: it is left out and named in
//! [`Repacked::missing`]; a modified file is packaged as it is now, with the md5sum dpkg
//! recorded at install time (as `dpkg-repack` does), so `dpkg --verify` still shows the change
//! after reinstalling. Owners are kept as numbers in the staging tree; `dpkg-deb` (run on this
//! host) writes the host's user names for them into the archive.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

/// Status fields that describe the installation, not the package; they never go into
/// `DEBIAN/control`.
pub const STATUS_ONLY_FIELDS: &[&str] =
    &["Status", "Config-Version", "Conffiles", "Triggers-Pending", "Triggers-Awaited"];

/// The order of fields in a binary package's control file (dpkg's own order for `.deb`
/// control files).
pub const CONTROL_FIELD_ORDER: &[&str] = &[
    "Package",
    "Package-Type",
    "Source",
    "Version",
    "Built-Using",
    "Static-Built-Using",
    "Kernel-Version",
    "Built-For-Profiles",
    "Auto-Built-Package",
    "Architecture",
    "Subarchitecture",
    "Installer-Menu-Item",
    "Essential",
    "Protected",
    "Origin",
    "Bugs",
    "Maintainer",
    "Installed-Size",
    "Pre-Depends",
    "Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Conflicts",
    "Breaks",
    "Replaces",
    "Provides",
    "Section",
    "Priority",
    "Multi-Arch",
    "Homepage",
    "Description",
    "Tag",
    "Task",
];

/// Control files copied from `info/` when the package has them, with their mode.
pub const CONTROL_FILES: &[(&str, u32)] = &[
    ("preinst", 0o755),
    ("postinst", 0o755),
    ("prerm", 0o755),
    ("postrm", 0o755),
    ("config", 0o755),
    ("templates", 0o644),
    ("triggers", 0o644),
    ("shlibs", 0o644),
    ("symbols", 0o644),
];

/// How long `dpkg-deb --build` may run.
const BUILD_TIMEOUT: Duration = Duration::from_secs(300);
/// Symlinks followed while resolving one path before giving up (the kernel's limit).
const MAX_SYMLINKS: u32 = 40;

/// A repacked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repacked {
    /// `OUT_DIR/PACKAGE_VERSION_ARCH.deb`, the epoch's `:` written `%3a` as apt does.
    pub path: PathBuf,
    /// Paths of the package (as dpkg lists them, e.g. `/etc/logrotate.d/apt`) that are not on
    /// the system any more and so are not in the `.deb`, conffiles included.
    pub missing: Vec<PathBuf>,
}

/// Why a package could not be repacked.
#[derive(Debug, thiserror::Error)]
pub enum RepackError {
    #[error(
        "`{package}` is not a package name (expected NAME or NAME:ARCH, e.g. `apt` or `liblzma5:amd64`)"
    )]
    InvalidName { package: String },
    #[error("cannot read {}: {source} (is {} the root of a Debian system?)", path.display(), root.display())]
    ReadDatabase { root: PathBuf, path: PathBuf, source: io::Error },
    #[error("{}: no package `{package}` (list the installed ones with `dpkg -l`)", status.display())]
    UnknownPackage { package: String, status: PathBuf },
    #[error(
        "`{package}` is installed for several architectures ({}); name one, e.g. `{package}:{}`",
        architectures.join(", "), architectures.first().map(String::as_str).unwrap_or("amd64")
    )]
    AmbiguousArchitecture { package: String, architectures: Vec<String> },
    #[error(
        "`{package}` is not installed (Status: {status}); only packages in state \"install ok installed\" or \"hold ok installed\" can be repacked (finish pending work with `dpkg --configure -a` or reinstall it)"
    )]
    NotInstalled { package: String, status: String },
    #[error("{}: the stanza of `{package}` has no {field} field (repair the dpkg database)", status.display())]
    MissingField { package: String, field: &'static str, status: PathBuf },
    #[error(
        "{}: `{package}` lists the path {path:?}, which is not an absolute path without `..`; the file list is damaged (reinstall the package)",
        list.display()
    )]
    UnsafePath { package: String, list: PathBuf, path: PathBuf },
    #[error(
        "{}: file of `{package}` is a socket, fifo or device, which repacking does not support",
        path.display()
    )]
    UnsupportedFileType { package: String, path: PathBuf },
    #[error("{}: cannot put this file of `{package}` into the package: {source} (repacking needs root, to read every file and keep owners)", path.display())]
    Copy { package: String, path: PathBuf, source: io::Error },
    #[error("{}: cannot write the staging tree for `{package}`: {source} (is there space, and may ward write here?)", dir.display())]
    Staging { package: String, dir: PathBuf, source: io::Error },
    #[error("cannot run dpkg-deb to build `{package}`: {source} (install dpkg)")]
    Run { package: String, source: ward_process::ProcessError },
    #[error("dpkg-deb --build failed for `{package}` ({status}): {stderr}")]
    Build { package: String, status: ward_process::Status, stderr: String },
}

/// Rebuilds the installed `package` (`NAME` or `NAME:ARCH`) of the system rooted at `root`
/// (`/` for this host) as a `.deb` in `out_dir`; see the module documentation for what goes
/// into it. The staging tree lives in a temporary folder under `out_dir` and is removed in any
/// case. Needs root (owners are kept) and `dpkg-deb`.
pub fn repack(root: &Path, package: &str, out_dir: &Path) -> Result<Repacked, RepackError> {
    let (name, wanted_arch) = parse_package_name(package)?;
    let admin = root.join("var/lib/dpkg");
    let read = |path: PathBuf| {
        fs::read(&path).map_err(|source| RepackError::ReadDatabase {
            root: root.to_owned(),
            path,
            source,
        })
    };
    let status_path = admin.join("status");
    let status_text = read(status_path.clone())?;
    let stanza = find_installed(&String::from_utf8_lossy(&status_text), name, wanted_arch, package)
        .map_err(|e| e.with_status_path(&status_path))?;
    let field = |field: &'static str| {
        stanza.value(field).map(str::to_owned).ok_or_else(|| RepackError::MissingField {
            package: package.to_owned(),
            field,
            status: status_path.clone(),
        })
    };
    let version = field("Version")?;
    let arch = field("Architecture")?;
    let multi_arch_same = stanza.value("Multi-Arch") == Some("same");

    // dpkg names the files of Multi-Arch: same packages NAME:ARCH.*, the others NAME.*.
    let qualified = format!("{name}:{arch}");
    let (first, second) =
        if multi_arch_same { (qualified.as_str(), name) } else { (name, qualified.as_str()) };
    let info = admin.join("info");
    let info_name = if info.join(format!("{first}.list")).exists() { first } else { second };
    let info_file = |ext: &str| info.join(format!("{info_name}.{ext}"));
    let list_path = info_file("list");
    let list = read(list_path.clone())?;
    let md5sums = match fs::read(info_file("md5sums")) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(RepackError::ReadDatabase {
                root: root.to_owned(),
                path: info_file("md5sums"),
                source,
            });
        }
    };
    let diversions = match fs::read(admin.join("diversions")) {
        Ok(bytes) => parse_diversions(&bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(RepackError::ReadDatabase {
                root: root.to_owned(),
                path: admin.join("diversions"),
                source,
            });
        }
    };
    let conffiles = parse_conffiles(stanza.value_lines("Conffiles"));

    let staging_error = |dir: &Path| {
        let dir = dir.to_owned();
        move |source| RepackError::Staging { package: package.to_owned(), dir, source }
    };
    let staging = tempfile::Builder::new()
        .prefix(&format!(".ward-repack-{name}-"))
        .tempdir_in(out_dir)
        .map_err(staging_error(out_dir))?;
    let tree = staging.path().join("tree");
    let debian = tree.join("DEBIAN");
    fs::create_dir_all(&debian).map_err(staging_error(&debian))?;
    for dir in [&tree, &debian] {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(staging_error(dir))?;
    }

    let paths = parse_list(&list).map_err(|path| RepackError::UnsafePath {
        package: package.to_owned(),
        list: list_path.clone(),
        path,
    })?;
    let skip: BTreeSet<&Path> = conffiles
        .iter()
        .filter(|c| c.flag != ConffileFlag::Keep)
        .map(|c| c.path.as_path())
        .collect();
    let diverted = diverted_paths(&diversions, name);
    let mut stager = Stager {
        root,
        tree: &tree,
        package,
        staged_inodes: BTreeMap::new(),
        dir_times: Vec::new(),
    };
    let mut missing = Vec::new();
    let directories = parents_of(&paths);
    for path in &paths {
        if skip.contains(path.as_path()) {
            continue;
        }
        let source = diverted.get(path.as_path()).map_or(path.as_path(), PathBuf::as_path);
        let present = if directories.contains(path) {
            stager.directory(path, source)?
        } else {
            stager.entry(path, source)?
        };
        if !present {
            missing.push(path.clone());
        }
    }
    if !missing.is_empty() {
        tracing::warn!(
            package,
            missing = missing.len(),
            "files of the package are gone; left out of the repacked .deb"
        );
    }

    let missing_set: BTreeSet<&Path> = missing.iter().map(PathBuf::as_path).collect();
    let write = |file: &str, bytes: &[u8], mode: u32| {
        let path = debian.join(file);
        fs::write(&path, bytes)
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(mode)))
            .map_err(staging_error(&path))
    };
    write("control", control_file(&stanza).as_bytes(), 0o644)?;
    let conffiles_text = conffiles_file(&conffiles, &missing_set);
    if !conffiles_text.is_empty() {
        write("conffiles", &conffiles_text, 0o644)?;
    }
    if let Some(md5sums) = md5sums {
        write("md5sums", &filter_md5sums(&md5sums, &missing_set), 0o644)?;
    }
    for &(file, mode) in CONTROL_FILES {
        match fs::read(info_file(file)) {
            Ok(bytes) => write(file, &bytes, mode)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(RepackError::ReadDatabase {
                    root: root.to_owned(),
                    path: info_file(file),
                    source,
                });
            }
        }
    }
    stager.finish_directories();

    let built = staging.path().join("package.deb");
    let output = ward_process::Command::new("dpkg-deb")
        .arg("-Zgzip")
        .arg("--build")
        .arg(&tree)
        .arg(&built)
        .env("LC_ALL", "C")
        .timeout(BUILD_TIMEOUT)
        .run()
        .map_err(|source| RepackError::Run { package: package.to_owned(), source })?;
    let stderr = String::from_utf8_lossy(&output.stderr.bytes).trim().to_owned();
    if !output.status.success() {
        return Err(RepackError::Build {
            package: package.to_owned(),
            status: output.status,
            stderr,
        });
    }
    if !stderr.is_empty() {
        tracing::warn!(package, "dpkg-deb: {stderr}");
    }
    let path = out_dir.join(format!("{name}_{}_{arch}.deb", version.replace(':', "%3a")));
    fs::rename(&built, &path).map_err(staging_error(&path))?;
    Ok(Repacked { path, missing })
}

/// Splits `NAME[:ARCH]`, checking both use only the characters dpkg allows.
fn parse_package_name(package: &str) -> Result<(&str, Option<&str>), RepackError> {
    let (name, arch) = match package.split_once(':') {
        Some((name, arch)) => (name, Some(arch)),
        None => (package, None),
    };
    let name_ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    let arch_ok = arch.is_none_or(|a| {
        !a.is_empty()
            && a.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if name_ok && arch_ok {
        Ok((name, arch))
    } else {
        Err(RepackError::InvalidName { package: package.to_owned() })
    }
}

/// One field of a stanza: its name as written, its first line, and its continuation lines
/// (each with its leading space).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    name: String,
    first: String,
    more: Vec<String>,
}

/// One stanza of the status file, fields in file order.
#[derive(Debug, Clone, Default)]
struct Stanza {
    fields: Vec<Field>,
}

impl Stanza {
    fn get(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|f| f.first.as_str())
    }

    fn value_lines(&self, name: &str) -> &[String] {
        self.get(name).map_or(&[], |f| f.more.as_slice())
    }
}

/// Splits dpkg's status file into stanzas, keeping multi-line values whole (ward-inventory's
/// stanza reader keeps only first lines, which cannot rebuild a control file).
fn parse_stanzas(text: &str) -> Vec<Stanza> {
    let mut stanzas = Vec::new();
    let mut current = Stanza::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                stanzas.push(std::mem::take(&mut current));
            }
        } else if line.starts_with([' ', '\t']) {
            if let Some(field) = current.fields.last_mut() {
                field.more.push(line.to_owned());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.fields.push(Field {
                name: name.trim().to_owned(),
                first: value.trim().to_owned(),
                more: Vec::new(),
            });
        }
    }
    if !current.fields.is_empty() {
        stanzas.push(current);
    }
    stanzas
}

/// The stanza of the installed package `name` (for `arch` when given). The status path is
/// filled in by the caller.
fn find_installed(
    text: &str,
    name: &str,
    arch: Option<&str>,
    package: &str,
) -> Result<Stanza, RepackError> {
    let mut found: Vec<Stanza> = parse_stanzas(text)
        .into_iter()
        .filter(|s| s.value("Package") == Some(name))
        .filter(|s| arch.is_none_or(|a| s.value("Architecture") == Some(a)))
        .collect();
    // A package known for several architectures but installed for one is that one.
    // Known for several but installed for none: report the first one's state.
    if found.len() > 1 {
        let installed: Vec<Stanza> = found
            .iter()
            .filter(|s| is_installed(s.value("Status").unwrap_or_default()))
            .cloned()
            .collect();
        if installed.is_empty() {
            found.truncate(1);
        } else {
            found = installed;
        }
    }
    match found.len() {
        0 => {
            Err(RepackError::UnknownPackage { package: package.to_owned(), status: PathBuf::new() })
        }
        1 => {
            let stanza = found.remove(0);
            let status = stanza.value("Status").unwrap_or_default();
            if is_installed(status) {
                Ok(stanza)
            } else {
                Err(RepackError::NotInstalled {
                    package: package.to_owned(),
                    status: status.to_owned(),
                })
            }
        }
        _ => Err(RepackError::AmbiguousArchitecture {
            package: package.to_owned(),
            architectures: found
                .iter()
                .filter_map(|s| s.value("Architecture").map(str::to_owned))
                .collect(),
        }),
    }
}

fn is_installed(status: &str) -> bool {
    matches!(
        status.split_whitespace().collect::<Vec<_>>()[..],
        ["install" | "hold", "ok", "installed"]
    )
}

impl RepackError {
    fn with_status_path(self, path: &Path) -> RepackError {
        match self {
            RepackError::UnknownPackage { package, .. } => {
                RepackError::UnknownPackage { package, status: path.to_owned() }
            }
            other => other,
        }
    }
}

/// `DEBIAN/control`: the stanza without status-only fields, in `.deb` field order.
fn control_file(stanza: &Stanza) -> String {
    let rank = |name: &str| {
        CONTROL_FIELD_ORDER
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
            .unwrap_or(CONTROL_FIELD_ORDER.len())
    };
    let mut fields: Vec<&Field> = stanza
        .fields
        .iter()
        .filter(|f| !STATUS_ONLY_FIELDS.iter().any(|s| s.eq_ignore_ascii_case(&f.name)))
        .collect();
    // Stable: fields outside the table keep their status order, after the known ones.
    fields.sort_by_key(|f| rank(&f.name));
    let mut out = String::new();
    for field in fields {
        out.push_str(&field.name);
        out.push(':');
        if !field.first.is_empty() {
            out.push(' ');
            out.push_str(&field.first);
        }
        out.push('\n');
        for line in &field.more {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConffileFlag {
    Keep,
    Obsolete,
    RemoveOnUpgrade,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Conffile {
    path: PathBuf,
    flag: ConffileFlag,
}

/// The `Conffiles` field's lines: ` PATH HASH [obsolete|remove-on-upgrade]...`.
fn parse_conffiles(lines: &[String]) -> Vec<Conffile> {
    lines
        .iter()
        .filter_map(|line| {
            let mut words: Vec<&str> = line.split_whitespace().collect();
            let mut flag = ConffileFlag::Keep;
            while let Some(&last) = words.last() {
                match last {
                    "obsolete" if flag == ConffileFlag::Keep => flag = ConffileFlag::Obsolete,
                    "obsolete" => {}
                    // remove-on-upgrade wins: such a conffile is not shipped either way.
                    "remove-on-upgrade" => flag = ConffileFlag::RemoveOnUpgrade,
                    _ => break,
                }
                words.pop();
            }
            // The path may contain spaces; the hash is the last word before the flags.
            words.pop()?;
            let path = words.join(" ");
            (!path.is_empty()).then(|| Conffile { path: PathBuf::from(path), flag })
        })
        .collect()
}

/// `DEBIAN/conffiles`: shipped conffiles still present, and `remove-on-upgrade` ones.
fn conffiles_file(conffiles: &[Conffile], missing: &BTreeSet<&Path>) -> Vec<u8> {
    let mut out = Vec::new();
    for conffile in conffiles {
        match conffile.flag {
            ConffileFlag::Keep if !missing.contains(conffile.path.as_path()) => {}
            ConffileFlag::RemoveOnUpgrade => out.extend_from_slice(b"remove-on-upgrade "),
            _ => continue,
        }
        out.extend_from_slice(conffile.path.as_os_str().as_bytes());
        out.push(b'\n');
    }
    out
}

/// `md5sums` without the lines of missing files (`HASH  PATH`, the path without its `/`).
fn filter_md5sums(md5sums: &[u8], missing: &BTreeSet<&Path>) -> Vec<u8> {
    let mut out = Vec::new();
    for line in md5sums.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let path = line.splitn(2, |&b| b == b' ').nth(1).map(|rest| rest.trim_ascii_start());
        let gone = path.is_some_and(|p| {
            let mut absolute = b"/".to_vec();
            absolute.extend_from_slice(p);
            missing.contains(Path::new(OsStr::from_bytes(&absolute)))
        });
        if !gone {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
    }
    out
}

/// One diversion from `var/lib/dpkg/diversions` (three lines each).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Diversion {
    from: PathBuf,
    to: PathBuf,
    /// The package that owns the diversion; `None` for a local one (`:`).
    by: Option<String>,
}

fn parse_diversions(bytes: &[u8]) -> Vec<Diversion> {
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    lines
        .chunks_exact(3)
        .map(|triple| Diversion {
            from: PathBuf::from(OsStr::from_bytes(triple[0])),
            to: PathBuf::from(OsStr::from_bytes(triple[1])),
            by: (triple[2] != b":").then(|| String::from_utf8_lossy(triple[2]).into_owned()),
        })
        .collect()
}

/// Where this package's diverted files are: a diversion applies to every package except the
/// one owning it.
fn diverted_paths(diversions: &[Diversion], package: &str) -> BTreeMap<PathBuf, PathBuf> {
    diversions
        .iter()
        .filter(|d| d.by.as_deref() != Some(package))
        .map(|d| (d.from.clone(), d.to.clone()))
        .collect()
}

/// The `.list` file's paths, without `/.` (the package root). Fails on the first path that is
/// not absolute or contains `..`.
fn parse_list(bytes: &[u8]) -> Result<Vec<PathBuf>, PathBuf> {
    let mut paths = Vec::new();
    for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let path = PathBuf::from(OsStr::from_bytes(line));
        if path == Path::new("/.") {
            continue;
        }
        let safe = path.has_root()
            && path.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_)));
        if !safe {
            return Err(path);
        }
        paths.push(path);
    }
    Ok(paths)
}

/// Every path some other listed path lives under: a directory in the package.
fn parents_of(paths: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut parents = BTreeSet::new();
    for path in paths {
        let mut parent = path.parent();
        while let Some(p) = parent {
            if p == Path::new("/") || !parents.insert(p.to_owned()) {
                break;
            }
            parent = p.parent();
        }
    }
    parents
}

/// Resolves the absolute `path` inside `root` as if `root` were `/`: symlinks on the way are
/// followed (the last component only with `follow_last`), an absolute target starts again at
/// `root` and `..` stops at `root`, so the result never leaves `root`.
fn resolve_in_root(root: &Path, path: &Path, follow_last: bool) -> io::Result<PathBuf> {
    let mut parts: Vec<OsString> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_owned()),
            Component::ParentDir => parts.push("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    let last = parts.pop();
    let mut inside = PathBuf::new();
    let mut links = 0;
    walk_in_root(root, &mut inside, parts.into(), &mut links)?;
    if let Some(last) = last {
        if follow_last {
            walk_in_root(root, &mut inside, VecDeque::from([last]), &mut links)?;
        } else if last == ".." {
            inside.pop();
        } else {
            inside.push(last);
        }
    }
    Ok(root.join(inside))
}

fn walk_in_root(
    root: &Path,
    inside: &mut PathBuf,
    mut pending: VecDeque<OsString>,
    links: &mut u32,
) -> io::Result<()> {
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            inside.pop();
            continue;
        }
        let next = inside.join(&part);
        match fs::symlink_metadata(root.join(&next)) {
            Ok(meta) if meta.file_type().is_symlink() => {
                *links += 1;
                if *links > MAX_SYMLINKS {
                    return Err(io::Error::other(format!(
                        "more than {MAX_SYMLINKS} symlinks resolving {}",
                        next.display()
                    )));
                }
                let target = fs::read_link(root.join(&next))?;
                if target.has_root() {
                    inside.clear();
                }
                for component in target.components().rev() {
                    match component {
                        Component::Normal(name) => pending.push_front(name.to_owned()),
                        Component::ParentDir => pending.push_front("..".into()),
                        Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                    }
                }
            }
            // A missing part is reported by whoever reads the final path.
            Ok(_) | Err(_) => *inside = next,
        }
    }
    Ok(())
}

/// Copies listed paths from the system into the staging tree.
struct Stager<'a> {
    root: &'a Path,
    tree: &'a Path,
    package: &'a str,
    /// (device, inode) of staged regular files, so hard links stay hard links.
    staged_inodes: BTreeMap<(u64, u64), PathBuf>,
    /// Directories created, with the modification time to give them once they are filled.
    dir_times: Vec<(PathBuf, std::time::SystemTime)>,
}

impl std::fmt::Debug for Stager<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stager").field("root", &self.root).field("tree", &self.tree).finish()
    }
}

impl Stager<'_> {
    fn copy_error(&self, path: &Path) -> impl FnOnce(io::Error) -> RepackError + '_ {
        let path = path.to_owned();
        move |source| RepackError::Copy { package: self.package.to_owned(), path, source }
    }

    fn staged(&self, path: &Path) -> PathBuf {
        self.tree.join(path.strip_prefix("/").unwrap_or(path))
    }

    /// Stages `path`, a directory of the package, from `source` (symlinks followed inside
    /// root). Returns false when it is gone.
    fn directory(&mut self, path: &Path, source: &Path) -> Result<bool, RepackError> {
        let from = resolve_in_root(self.root, source, true).map_err(self.copy_error(source))?;
        match fs::metadata(&from) {
            Ok(meta) if meta.is_dir() => {
                self.make_dir(path, &meta)?;
                Ok(true)
            }
            Ok(_) => Err(self.copy_error(source)(io::Error::other(
                "the package has files under this path, but it is not a directory",
            ))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.copy_error(source)(e)),
        }
    }

    /// Stages one non-directory path (or an empty directory) from `source`. Returns false when
    /// it is gone.
    fn entry(&mut self, path: &Path, source: &Path) -> Result<bool, RepackError> {
        let from = resolve_in_root(self.root, source, false).map_err(self.copy_error(source))?;
        let meta = match fs::symlink_metadata(&from) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(self.copy_error(source)(e)),
        };
        self.parents(path)?;
        let to = self.staged(path);
        let kind = meta.file_type();
        if kind.is_dir() {
            self.make_dir(path, &meta)?;
        } else if kind.is_symlink() {
            let target = fs::read_link(&from).map_err(self.copy_error(source))?;
            std::os::unix::fs::symlink(&target, &to)
                .and_then(|()| std::os::unix::fs::lchown(&to, Some(meta.uid()), Some(meta.gid())))
                .map_err(self.copy_error(source))?;
        } else if kind.is_file() {
            let inode = (meta.dev(), meta.ino());
            if let Some(first) = self.staged_inodes.get(&inode) {
                fs::hard_link(first, &to).map_err(self.copy_error(source))?;
            } else {
                copy_file(&from, &to, &meta).map_err(self.copy_error(source))?;
                if meta.nlink() > 1 {
                    self.staged_inodes.insert(inode, to);
                }
            }
        } else {
            return Err(RepackError::UnsupportedFileType {
                package: self.package.to_owned(),
                path: source.to_owned(),
            });
        }
        Ok(true)
    }

    /// Creates the staged parents of `path` that the list did not name first, like the
    /// system's.
    fn parents(&mut self, path: &Path) -> Result<(), RepackError> {
        let mut missing: Vec<&Path> =
            path.ancestors().skip(1).take_while(|p| !self.staged(p).exists()).collect();
        missing.reverse();
        for dir in missing {
            let from = resolve_in_root(self.root, dir, true).map_err(self.copy_error(dir))?;
            let meta = fs::metadata(&from).map_err(self.copy_error(dir))?;
            self.make_dir(dir, &meta)?;
        }
        Ok(())
    }

    fn make_dir(&mut self, path: &Path, meta: &fs::Metadata) -> Result<(), RepackError> {
        self.parents(path)?;
        let to = self.staged(path);
        if !to.is_dir() {
            fs::create_dir(&to).map_err(self.copy_error(path))?;
        }
        std::os::unix::fs::chown(&to, Some(meta.uid()), Some(meta.gid()))
            .and_then(|()| {
                fs::set_permissions(&to, fs::Permissions::from_mode(meta.mode() & 0o7777))
            })
            .map_err(self.copy_error(path))?;
        if let Ok(modified) = meta.modified() {
            self.dir_times.push((to, modified));
        }
        Ok(())
    }

    /// Gives directories their modification times, now that nothing is added to them.
    fn finish_directories(&mut self) {
        for (dir, modified) in self.dir_times.drain(..).rev() {
            let result = fs::File::open(&dir).and_then(|f| f.set_modified(modified));
            if let Err(e) = result {
                tracing::debug!(dir = %dir.display(), "cannot set the modification time: {e}");
            }
        }
    }
}

/// Copies a regular file's bytes, then its owner, mode (after the owner: `chown` clears
/// set-id bits) and modification time.
fn copy_file(from: &Path, to: &Path, meta: &fs::Metadata) -> io::Result<()> {
    fs::copy(from, to)?;
    std::os::unix::fs::chown(to, Some(meta.uid()), Some(meta.gid()))?;
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    let file = fs::OpenOptions::new().write(true).open(to)?;
    file.set_modified(meta.modified()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a root from (path, symlink target or "" for a directory or "file:" for a file),
    /// then checks what `path` resolves to, relative to the root.
    fn check_resolve(layout: &[(&str, &str)], path: &str, follow_last: bool, expect: &str) {
        let root = tempfile::tempdir().unwrap();
        for &(entry, target) in layout {
            let at = root.path().join(entry);
            if target.is_empty() {
                fs::create_dir_all(&at).unwrap();
            } else if target == "file:" {
                fs::write(&at, b"x").unwrap();
            } else {
                std::os::unix::fs::symlink(target, &at).unwrap();
            }
        }
        let got = resolve_in_root(root.path(), Path::new(path), follow_last).unwrap();
        assert_eq!(got, root.path().join(expect), "{path} in {layout:?}");
    }

    #[test]
    fn resolves_inside_root_only() {
        let merged = [("usr/bin", ""), ("usr/bin/sh", "file:"), ("bin", "usr/bin")];
        check_resolve(&merged, "/bin/sh", false, "usr/bin/sh");
        check_resolve(&merged, "/bin", false, "bin");
        check_resolve(&merged, "/bin", true, "usr/bin");
        // Absolute targets start again at the root, not at the host's /.
        let absolute = [("usr/lib", ""), ("lib", "/usr/lib"), ("usr/lib/x", "file:")];
        check_resolve(&absolute, "/lib/x", false, "usr/lib/x");
        // `..` stops at the root.
        let escape = [("etc", ""), ("evil", "../../../../etc")];
        check_resolve(&escape, "/evil/passwd", false, "etc/passwd");
        let up_abs = [("a", ""), ("a/b", "/../../a")];
        check_resolve(&up_abs, "/a/b/c", true, "a/c");
        // Symlinks whose target is a symlink.
        let chain = [("real", ""), ("one", "two"), ("two", "/real")];
        check_resolve(&chain, "/one/f", false, "real/f");
        // Missing parts are kept as they are.
        check_resolve(&merged, "/nope/x", false, "nope/x");
    }

    #[test]
    fn symlink_loops_are_an_error() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("b", root.path().join("a")).unwrap();
        std::os::unix::fs::symlink("a", root.path().join("b")).unwrap();
        assert!(resolve_in_root(root.path(), Path::new("/a/x"), false).is_err());
    }

    fn check_control(status: &str, expect: &str) {
        let stanza = parse_stanzas(status).remove(0);
        assert_eq!(control_file(&stanza), expect);
    }

    #[test]
    fn control_drops_status_fields_and_orders_like_dpkg_deb() {
        check_control(
            "Package: a\nStatus: install ok installed\nPriority: optional\nSection: libs\n\
             Installed-Size: 3\nMaintainer: M <m@x>\nArchitecture: amd64\nMulti-Arch: same\n\
             X-Custom: kept\nVersion: 1:2-3\nDepends: b\nPre-Depends: c\nConffiles:\n /etc/a 0123\n\
             Description: short\n long\n .\n more\nConfig-Version: 1:2-2\nTriggers-Pending: t\n",
            "Package: a\nVersion: 1:2-3\nArchitecture: amd64\nMaintainer: M <m@x>\n\
             Installed-Size: 3\nPre-Depends: c\nDepends: b\nSection: libs\nPriority: optional\n\
             Multi-Arch: same\nDescription: short\n long\n .\n more\nX-Custom: kept\n",
        );
    }

    fn check_conffiles(lines: &[&str], missing: &[&str], expect: &str) {
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let missing: BTreeSet<&Path> = missing.iter().map(Path::new).collect();
        let got = conffiles_file(&parse_conffiles(&lines), &missing);
        assert_eq!(String::from_utf8(got).unwrap(), expect, "{lines:?}");
    }

    #[test]
    fn conffiles_keep_present_and_remove_on_upgrade_ones() {
        check_conffiles(&[" /etc/a 0123", " /etc/b c 0123"], &[], "/etc/a\n/etc/b c\n");
        check_conffiles(&[" /etc/a 0123", " /etc/old 0123 obsolete"], &[], "/etc/a\n");
        check_conffiles(&[" /etc/a newconffile", " /etc/gone 0123"], &["/etc/gone"], "/etc/a\n");
        check_conffiles(&[" /etc/r 0123 remove-on-upgrade"], &[], "remove-on-upgrade /etc/r\n");
        check_conffiles(
            &[" /etc/r 0123 obsolete remove-on-upgrade"],
            &[],
            "remove-on-upgrade /etc/r\n",
        );
    }

    fn check_installed(status: &str, package: &str, expect: Result<&str, &str>) {
        let (name, arch) = parse_package_name(package).unwrap();
        let got = find_installed(status, name, arch, package)
            .map(|s| s.value("Architecture").unwrap_or_default().to_owned())
            .map_err(|e| e.to_string());
        match (got, expect) {
            (Ok(arch), Ok(want)) => assert_eq!(arch, want, "{package}"),
            (Err(message), Err(want)) => assert!(message.contains(want), "{package}: {message}"),
            (got, _) => panic!("{package}: unexpected {got:?}"),
        }
    }

    #[test]
    fn finds_the_installed_stanza() {
        let status = "Package: a\nStatus: install ok installed\nArchitecture: amd64\n\n\
                      Package: a\nStatus: install ok installed\nArchitecture: i386\n\n\
                      Package: h\nStatus: hold ok installed\nArchitecture: all\n\n\
                      Package: c\nStatus: deinstall ok config-files\nArchitecture: amd64\n\n\
                      Package: d\nStatus: install ok installed\nArchitecture: amd64\n\n\
                      Package: d\nStatus: purge ok not-installed\nArchitecture: i386\n";
        check_installed(status, "a:i386", Ok("i386"));
        check_installed(status, "a", Err("several architectures (amd64, i386)"));
        check_installed(status, "h", Ok("all"));
        check_installed(status, "c", Err("Status: deinstall ok config-files"));
        check_installed(status, "d", Ok("amd64"));
        check_installed(status, "zz", Err("no package `zz`"));
        check_installed(status, "a:arm64", Err("no package `a:arm64`"));
        let removed = "Package: r\nStatus: deinstall ok config-files\nArchitecture: amd64\n\n\
                       Package: r\nStatus: purge ok not-installed\nArchitecture: i386\n";
        check_installed(removed, "r", Err("Status: deinstall ok config-files"));
    }

    #[test]
    fn package_names_are_checked() {
        for good in ["apt", "libapt-pkg6.0", "liblzma5:amd64", "g++", "libc6:x32"] {
            assert!(parse_package_name(good).is_ok(), "{good}");
        }
        for bad in ["", "../etc/passwd", "a/b", "Apt", "a:", "a:AMD64", "-a"] {
            assert!(parse_package_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn md5sums_lose_the_lines_of_missing_files() {
        let md5sums = b"aa  usr/bin/a\nbb  usr/share/doc/b c\ncc  etc/x\n";
        let missing: BTreeSet<&Path> = [Path::new("/usr/share/doc/b c")].into();
        assert_eq!(filter_md5sums(md5sums, &missing), b"aa  usr/bin/a\ncc  etc/x\n");
    }

    #[test]
    fn diversions_apply_to_other_packages() {
        let diversions =
            parse_diversions(b"/bin/sh\n/bin/sh.distrib\ndash\n/usr/bin/x\n/usr/bin/x.real\n:\n");
        assert_eq!(diversions.len(), 2);
        let for_dash = diverted_paths(&diversions, "dash");
        assert_eq!(for_dash.keys().collect::<Vec<_>>(), [Path::new("/usr/bin/x")]);
        let for_bash = diverted_paths(&diversions, "bash");
        assert_eq!(for_bash.get(Path::new("/bin/sh")), Some(&PathBuf::from("/bin/sh.distrib")));
    }

    #[test]
    fn list_paths_must_stay_absolute_and_without_dot_dot() {
        assert_eq!(
            parse_list(b"/.\n/usr\n/usr/bin\n").unwrap(),
            [PathBuf::from("/usr"), PathBuf::from("/usr/bin")]
        );
        assert_eq!(parse_list(b"/usr\n/usr/../etc\n").unwrap_err(), PathBuf::from("/usr/../etc"));
        assert_eq!(parse_list(b"usr\n").unwrap_err(), PathBuf::from("usr"));
    }
}
