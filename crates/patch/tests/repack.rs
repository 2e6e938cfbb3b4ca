//! Repacking installed packages of the Debian 12 test system, checked against dpkg's database,
//! the original `.deb`s in the system's apt cache, and dpkg reinstalling the result.
//! Needs root and dpkg (as CI has).

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use ward_patch::repack::{repack, STATUS_ONLY_FIELDS};
use ward_testdata::DebianSystem;

/// Runs a program on the host and returns its stdout; panics with its output when it fails.
fn host(program: &str, args: &[&str]) -> String {
    let out = ward_process::Command::new(program)
        .args(args)
        .env("LC_ALL", "C")
        .timeout(Duration::from_secs(300))
        .output_limit(64 << 20)
        .run()
        .expect("program runs");
    assert!(
        out.status.success(),
        "{program} {args:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr.bytes)
    );
    String::from_utf8_lossy(&out.stdout.bytes).into_owned()
}

/// What a `.deb` holds, as dpkg-deb shows it.
#[derive(Debug)]
struct Deb {
    /// `DEBIAN/control` as written.
    control: String,
    /// Every path of the data part, as dpkg lists them (`/usr/bin/perl`; the root left out).
    paths: BTreeSet<String>,
    /// md5 of every regular file of the data part.
    md5: BTreeMap<String, String>,
    /// `DEBIAN/conffiles` lines.
    conffiles: Vec<String>,
}

fn read_deb(deb: &Path) -> Deb {
    let deb_arg = deb.to_str().unwrap();
    let control = host("dpkg-deb", &["--info", deb_arg, "control"]);
    let conffiles = ward_process::Command::new("dpkg-deb")
        .args(["--info", deb_arg, "conffiles"])
        .run()
        .unwrap();
    let conffiles =
        String::from_utf8_lossy(&conffiles.stdout.bytes).lines().map(String::from).collect();
    let paths = host("dpkg-deb", &["--contents", deb_arg])
        .lines()
        .map(|line| {
            // "MODE OWNER SIZE DATE TIME ./path[/][ -> target| link to ./other]"
            let path = &line[line.find(" ./").unwrap() + 1..];
            let path = path.split(" -> ").next().unwrap().split(" link to ").next().unwrap();
            path.trim_start_matches('.').trim_end_matches('/').to_owned()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let unpacked = tempfile::tempdir().unwrap();
    let dir = unpacked.path().to_str().unwrap();
    host("dpkg-deb", &["--extract", deb_arg, dir]);
    let md5 = host("sh", &["-c", "cd \"$0\" && find . -type f -print0 | xargs -0r md5sum", dir])
        .lines()
        .map(|line| {
            let (hash, path) = line.split_once("  ").unwrap();
            (path.trim_start_matches('.').to_owned(), hash.to_owned())
        })
        .collect();
    Deb { control, paths, md5, conffiles }
}

/// A control file's fields, name → value with its continuation lines.
fn fields(control: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut last = String::new();
    for line in control.lines() {
        if line.starts_with(' ') {
            let value: &mut String = fields.get_mut(&last).unwrap();
            value.push('\n');
            value.push_str(line);
        } else if let Some((name, value)) = line.split_once(':') {
            last = name.to_owned();
            fields.insert(last.clone(), value.trim().to_owned());
        }
    }
    fields
}

/// Repacks `package` from `system` and checks the result against dpkg's database, against
/// `original` (a `.deb` of the same version in the system's apt cache) when given, and by
/// reinstalling it. Returns the repacked `.deb`'s contents.
fn check(system: &DebianSystem, package: &str, info_name: &str, original: Option<&str>) -> Deb {
    let root = system.root();
    let out = tempfile::tempdir().unwrap();
    let repacked = repack(&root, package, out.path()).unwrap();
    assert_eq!(repacked.missing, Vec::<PathBuf>::new(), "{package}");
    let deb = read_deb(&repacked.path);
    let installed = fields(&system.sh(&format!("dpkg-query -s {package}")));

    // Control: the status fields minus the status-only ones.
    let mut want = installed.clone();
    want.retain(|name, _| !STATUS_ONLY_FIELDS.contains(&name.as_str()));
    assert_eq!(fields(&deb.control), want, "{package}: control fields");
    let version = &installed["Version"];
    let file_name =
        format!("{}_{}_{}.deb", want["Package"], version.replace(':', "%3a"), want["Architecture"]);
    assert_eq!(repacked.path, out.path().join(file_name));
    assert!(
        std::fs::read_dir(out.path()).unwrap().count() == 1,
        "{package}: staging tree left behind"
    );

    // Files: exactly the .list, with dpkg's md5sums; conffiles are the rest of the regular files.
    let info = root.join("var/lib/dpkg/info");
    let list = std::fs::read_to_string(info.join(format!("{info_name}.list"))).unwrap();
    let list: BTreeSet<String> = list.lines().filter(|p| *p != "/.").map(String::from).collect();
    assert_eq!(deb.paths, list, "{package}: paths");
    let md5sums = std::fs::read_to_string(info.join(format!("{info_name}.md5sums"))).unwrap();
    let mut want_md5: BTreeMap<String, String> = md5sums
        .lines()
        .map(|l| {
            let (hash, path) = l.split_once("  ").unwrap();
            (format!("/{path}"), hash.to_owned())
        })
        .collect();
    let conffiles: Vec<&str> = installed
        .get("Conffiles")
        .map(|c| c.lines().filter_map(|l| l.split_whitespace().next()).collect())
        .unwrap_or_default();
    assert_eq!(deb.conffiles, conffiles, "{package}: conffiles");
    for conffile in &conffiles {
        want_md5.insert((*conffile).to_owned(), deb.md5[*conffile].clone());
    }
    assert_eq!(deb.md5, want_md5, "{package}: md5 of regular files");

    if let Some(original) = original {
        let original = read_deb(&root.join("var/cache/apt/archives").join(original));
        // The archive's overrides (Priority, Section) win over the .deb's in dpkg's status.
        let without_overrides = |control: &str| {
            let mut fields = fields(control);
            fields.retain(|name, _| name != "Priority" && name != "Section");
            fields
        };
        let names = |control: &str| -> Vec<String> {
            control
                .lines()
                .filter(|l| !l.starts_with(" "))
                .filter_map(|l| l.split_once(':'))
                .map(|(n, _)| n.to_owned())
                .collect()
        };
        assert_eq!(names(&deb.control), names(&original.control), "{package}: field order");
        assert_eq!(
            without_overrides(&deb.control),
            without_overrides(&original.control),
            "{package}: control against the original"
        );
        assert_eq!(deb.paths, original.paths, "{package}: paths against the original");
        assert_eq!(deb.md5, original.md5, "{package}: md5s against the original");
        assert_eq!(deb.conffiles, original.conffiles, "{package}: conffiles against the original");
    }

    // dpkg takes it back: same version installed, nothing changed on disk.
    let inside = format!("/tmp/{}", repacked.path.file_name().unwrap().to_str().unwrap());
    std::fs::copy(&repacked.path, root.join(inside.trim_start_matches('/'))).unwrap();
    system.sh(&format!("dpkg -i {inside}"));
    let state = system.sh(&format!("dpkg-query -W -f '${{Version}} ${{Status}}' {package}"));
    assert_eq!(state, format!("{version} install ok installed"), "{package}: after reinstalling");
    let verify = system.try_sh(&format!("dpkg --verify {package}"));
    let changed = String::from_utf8_lossy(&verify.stdout.bytes).into_owned();
    let changed: Vec<&str> = changed.lines().filter(|l| !l.contains(" c /")).collect();
    assert!(verify.status.success() && changed.is_empty(), "{package}: dpkg --verify: {changed:?}");
    deb
}

#[test]
fn repacked_packages_equal_the_installed_ones_and_the_originals() {
    let system = DebianSystem::copy();
    let table = [
        // (package, info file name, the same version's .deb in the apt cache)
        ("perl-base", "perl-base", "perl-base_5.36.0-7+deb12u3_amd64.deb"),
        ("apt", "apt", "apt_2.6.1_amd64.deb"),
        ("libapt-pkg6.0", "libapt-pkg6.0:amd64", "libapt-pkg6.0_2.6.1_amd64.deb"),
        // Multi-Arch: same, named with and without its architecture; files under /lib (a
        // symlink to usr/lib in the system).
        ("liblzma5", "liblzma5:amd64", "liblzma5_5.4.1-1+deb12u1_amd64.deb"),
        ("liblzma5:amd64", "liblzma5:amd64", "liblzma5_5.4.1-1+deb12u1_amd64.deb"),
    ];
    for (package, info_name, original) in table {
        check(&system, package, info_name, Some(original));
    }
}

#[test]
fn diverted_files_are_taken_from_where_they_were_diverted_to() {
    let system = DebianSystem::copy();
    // The admin moved perl aside; dpkg knows perl-base's /usr/bin/perl as /usr/bin/perl.ward.
    system.sh("dpkg-divert --local --rename --divert /usr/bin/perl.ward --add /usr/bin/perl");
    assert!(!system.root().join("usr/bin/perl").exists());
    let deb =
        check(&system, "perl-base", "perl-base", Some("perl-base_5.36.0-7+deb12u3_amd64.deb"));
    assert!(deb.paths.contains("/usr/bin/perl") && !deb.paths.contains("/usr/bin/perl.ward"));
    assert!(system.root().join("usr/bin/perl.ward").is_file(), "reinstalled into the diversion");
}

/// How repacking goes after a setup script ran in a fresh system: `Ok(missing paths)` or
/// `Err(part of the message)`.
type Outcome = Result<&'static [&'static str], &'static str>;

#[test]
fn gone_files_are_reported_and_uninstalled_packages_refused() {
    let system = DebianSystem::copy();
    let table: [(&str, &str, Outcome); 6] = [
        ("true", "no-such-package", Err("no package `no-such-package`")),
        ("true", "liblzma5:i386", Err("no package `liblzma5:i386`")),
        ("true", "../../etc/passwd", Err("is not a package name")),
        (
            "rm /usr/share/doc/liblzma5/THANKS /lib/x86_64-linux-gnu/liblzma.so.5",
            "liblzma5",
            Ok(&["/usr/share/doc/liblzma5/THANKS", "/lib/x86_64-linux-gnu/liblzma.so.5"]),
        ),
        // Found while staging: the staging tree goes away with the error.
        (
            "rm /usr/share/doc/liblzma5/AUTHORS && mkfifo /usr/share/doc/liblzma5/AUTHORS",
            "liblzma5",
            Err("/usr/share/doc/liblzma5/AUTHORS: file of `liblzma5` is a socket, fifo or device"),
        ),
        // apt keeps its conffiles when removed: state config-files.
        ("dpkg --remove --force-depends apt", "apt", Err("Status: deinstall ok config-files")),
    ];
    for (setup, package, expect) in table {
        system.sh(setup);
        let out = tempfile::tempdir().unwrap();
        let got = repack(&system.root(), package, out.path());
        match (got, expect) {
            (Ok(repacked), Ok(missing)) => {
                let missing: Vec<PathBuf> = missing.iter().map(PathBuf::from).collect();
                assert_eq!(repacked.missing, missing, "{package}");
                let deb = read_deb(&repacked.path);
                assert!(missing.iter().all(|m| !deb.paths.contains(m.to_str().unwrap())));
            }
            (Err(error), Err(want)) => {
                assert!(error.to_string().contains(want), "{package}: {error}")
            }
            (got, _) => panic!("{package} after `{setup}`: unexpected {got:?}"),
        }
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), usize::from(expect.is_ok()));
    }
}

#[test]
fn a_deleted_conffile_is_left_out_of_conffiles() {
    let system = DebianSystem::copy();
    system.sh("rm /etc/logrotate.d/apt");
    let out = tempfile::tempdir().unwrap();
    let repacked = repack(&system.root(), "apt", out.path()).unwrap();
    assert_eq!(repacked.missing, [PathBuf::from("/etc/logrotate.d/apt")]);
    let deb = read_deb(&repacked.path);
    assert_eq!(deb.conffiles, ["/etc/apt/apt.conf.d/01autoremove", "/etc/cron.daily/apt-compat"]);
    assert!(!deb.paths.contains("/etc/logrotate.d/apt"));
}
