//! The host's own apt lists (IO edge): the security suites' `Packages` indexes apt keeps under
//! `var/lib/apt/lists`, read with the Debian feed parser ([`crate::feed::debian`]). They are the
//! metadata unattended-upgrades trusts, so `ward scan --host` can report pending security
//! updates without a `ward db import` first.

use std::fs;
use std::path::{Path, PathBuf};

use super::source::{self, SourceFiles};
use crate::feed::{compression, debian, Format, ImportError};
use crate::model::Record;

/// Where apt keeps its lists, under a host's root.
pub const LISTS_DIR: &str = "var/lib/apt/lists";

/// What a host's apt lists say about its security suites.
#[derive(Clone, Debug, Default)]
pub struct HostSuites {
    /// The `Packages` indexes read, in name order (for display).
    pub files: Vec<PathBuf>,
    /// One "security update available" record per (suite, source package, version), the
    /// binaries of every list (architectures, `binary-all`) merged.
    pub records: Vec<Record>,
    /// One error per unreadable or malformed file (or the unreadable folder); the other files'
    /// records are kept.
    pub errors: Vec<ImportError>,
}

/// Reads every security-suite `Packages` index under `root/var/lib/apt/lists/`, plain or
/// compressed: apt names them `<host>_<path>_dists_<codename>-security_<component>_binary-<arch>_Packages[.lz4|.gz|.xz|.zst]`
/// (`..._dists_buster_updates_...` for Debian 10). A host without that folder (not Debian or
/// Ubuntu, or a container image without lists) has none: that is empty, not an error.
pub fn host_security_suites(root: &Path) -> HostSuites {
    let dir = root.join(LISTS_DIR);
    let folder_error =
        |e: std::io::Error| ImportError::new(&dir.to_string_lossy(), "(folder)", e.to_string());
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return HostSuites::default(),
        Err(e) => return HostSuites { errors: vec![folder_error(e)], ..HostSuites::default() },
    };
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                let listed = entry.file_name().to_str().is_some_and(is_security_packages_list);
                if listed && path.is_file() {
                    files.push(path);
                }
            }
            Err(e) => errors.push(folder_error(e)),
        }
    }
    files.sort();
    let sources =
        SourceFiles { files: files.iter().map(|p| (p.clone(), Format::DebianSecurity)).collect() };
    let parsed = source::read(&sources, &mut |_, _| {});
    errors.extend(parsed.errors);
    HostSuites { files, records: debian::merge(parsed.records), errors }
}

/// Whether an apt list file name is a security suite's `Packages` index
/// (`deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4`).
pub fn is_security_packages_list(name: &str) -> bool {
    let (name, _) = compression::split_name(name);
    name.ends_with("_Packages") && debian::suite_of(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_packages_lists_by_name() {
        let check = |name: &str, expect: bool| {
            assert_eq!(is_security_packages_list(name), expect, "{name}");
        };
        check(
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
            true,
        );
        check(
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages",
            true,
        );
        check(
            "security.ubuntu.com_ubuntu_dists_noble-security_universe_binary-amd64_Packages.gz",
            true,
        );
        check(
            "security.debian.org_debian-security_dists_buster_updates_main_binary-amd64_Packages",
            true,
        );
        check("deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages.lz4", false);
        check("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", false);
        check("deb.debian.org_debian-security_dists_bookworm-security_InRelease", false);
        check(
            "deb.debian.org_debian-security_dists_bookworm-security_main_i18n_Translation-en",
            false,
        );
        check(
            "deb.debian.org_debian-security_dists_bookworm-security_main_source_Sources.xz",
            false,
        );
        check("deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.diff_Index", false);
        check("lock", false);
    }
}
