//! Host facts from file contents: `/etc/os-release` to the OSV ecosystem of the OS packages,
//! the running kernel against the newest installed kernel package, Debian's
//! `reboot-required` flag files, and processes still running code that an update replaced
//! (`/proc/<pid>/maps` entries marked deleted, their systemd unit from `/proc/<pid>/cgroup`,
//! their package from dpkg's `info/*.list` files). The caller reads the files; this module
//! only interprets them.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use ward_version::{Ecosystem, EcosystemKind, Scheme, Version};

use crate::Package;

/// The fields of `os-release(5)` ward uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OsRelease {
    pub id: String,
    pub id_like: Vec<String>,
    pub version_id: Option<String>,
    pub version: Option<String>,
    pub pretty_name: Option<String>,
}

impl OsRelease {
    /// Parses `KEY=value` lines (values optionally quoted, with shell escapes). Unknown keys and
    /// malformed lines are ignored, as systemd does.
    pub fn parse(bytes: &[u8]) -> OsRelease {
        let text = String::from_utf8_lossy(bytes);
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else { continue };
            let value = value.trim();
            let unquoted = match value.as_bytes().first() {
                Some(q @ (b'"' | b'\'')) => {
                    let inner =
                        value.trim_start_matches(char::from(*q)).trim_end_matches(char::from(*q));
                    inner
                        .replace("\\\"", "\"")
                        .replace("\\\\", "\\")
                        .replace("\\$", "$")
                        .replace("\\`", "`")
                }
                _ => value.to_string(),
            };
            fields.insert(key.trim().to_string(), unquoted);
        }
        let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
        OsRelease {
            id: get("ID").unwrap_or_else(|| "linux".to_string()).to_ascii_lowercase(),
            id_like: get("ID_LIKE")
                .map(|v| v.split_whitespace().map(str::to_ascii_lowercase).collect())
                .unwrap_or_default(),
            version_id: get("VERSION_ID"),
            version: get("VERSION"),
            pretty_name: get("PRETTY_NAME"),
        }
    }

    /// The OSV ecosystem of this OS's packages: `Debian:12`, `Ubuntu:22.04:LTS`,
    /// `Alpine:v3.19`, `Red Hat:9`... `None` for systems OSV has no ecosystem for.
    pub fn ecosystem(&self) -> Option<Ecosystem> {
        let version = self.version_id.as_deref();
        let major = version.map(|v| v.split('.').next().unwrap_or(v).to_string());
        let with = |kind, release: Option<String>| match release {
            Some(r) => Some(Ecosystem::with_release(kind, &r)),
            None => Some(Ecosystem::new(kind)),
        };
        match self.id.as_str() {
            "debian" => with(EcosystemKind::Debian, major),
            "ubuntu" => {
                let lts = self.version.as_deref().is_some_and(|v| v.contains("LTS"));
                with(
                    EcosystemKind::Ubuntu,
                    version.map(|v| if lts { format!("{v}:LTS") } else { v.to_string() }),
                )
            }
            "alpine" => with(
                EcosystemKind::Alpine,
                version.map(|v| {
                    let parts: Vec<&str> = v.split('.').take(2).collect();
                    format!("v{}", parts.join("."))
                }),
            ),
            "rhel" => with(EcosystemKind::RedHat, major),
            "almalinux" => with(EcosystemKind::AlmaLinux, major),
            "rocky" => with(EcosystemKind::RockyLinux, major),
            "wolfi" => with(EcosystemKind::Wolfi, None),
            "chainguard" => with(EcosystemKind::Chainguard, None),
            "opensuse-leap" => with(EcosystemKind::OpenSuse, version.map(|v| format!("Leap {v}"))),
            "sles" => with(EcosystemKind::Suse, None),
            _ => None,
        }
    }
}

/// Running versus installed kernels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kernels {
    /// The running kernel's release (`uname -r`, `/proc/sys/kernel/osrelease`).
    pub running: String,
    /// Releases of installed kernel packages (`linux-image-<release>`), oldest first.
    pub installed: Vec<String>,
    /// `Some(true)` when the newest installed kernel is not the running one; `None` when no
    /// kernel package is installed (containers, VMs booted with an external kernel).
    pub reboot_needed: Option<bool>,
}

/// Compares installed Debian/Ubuntu kernel packages with the running kernel.
pub fn kernels(running: &str, packages: &[Package]) -> Kernels {
    let running = running.trim().to_string();
    // Debian/Ubuntu: `linux-image-<release>`; Fedora/RHEL/SUSE: `kernel-core` (or `kernel`,
    // `kernel-default`) whose release is `<version>-<release>.<arch>`.
    let mut installed: Vec<(&Package, String)> = packages
        .iter()
        .filter_map(|p| {
            if let Some(release) = p.name.strip_prefix("linux-image-") {
                return release
                    .starts_with(|c: char| c.is_ascii_digit())
                    .then(|| (p, release.to_string()));
            }
            if matches!(p.name.as_str(), "kernel-core" | "kernel" | "kernel-default") {
                let vr = p.version.split_once(':').map_or(p.version.as_str(), |(_, vr)| vr);
                let release = match &p.arch {
                    Some(arch) => format!("{vr}.{arch}"),
                    None => vr.to_string(),
                };
                return Some((p, release));
            }
            None
        })
        .collect();
    installed.sort_by(|a, b| {
        let scheme = a.0.ecosystem.scheme().unwrap_or(Scheme::Dpkg);
        match (Version::parse(scheme, &a.0.version), Version::parse(scheme, &b.0.version)) {
            (Ok(x), Ok(y)) => x.compare(&y).unwrap_or(Ordering::Equal),
            _ => Ordering::Equal,
        }
        .then_with(|| a.1.cmp(&b.1))
    });
    let mut releases: Vec<String> = installed.into_iter().map(|(_, r)| r).collect();
    // `kernel` and `kernel-core` of one build name the same kernel.
    let mut seen = std::collections::BTreeSet::new();
    releases.retain(|r| seen.insert(r.clone()));
    let reboot_needed = releases.last().map(|newest| *newest != running);
    Kernels { running, installed: releases, reboot_needed }
}

/// The packages listed in `/var/run/reboot-required.pkgs` (one per line).
pub fn reboot_required_packages(bytes: &[u8]) -> Vec<String> {
    let mut names: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Files a process still maps although they were deleted or replaced on disk (an update
/// installed a new copy): shared objects and executables, each once, in order. Anonymous and
/// special mappings (`memfd:`, `/dev/shm`, `SYSV`) are not code an update replaces.
pub fn deleted_mappings(maps: &[u8]) -> Vec<String> {
    deleted_mappings_under(maps, "/")
}

/// [`deleted_mappings`] of a process whose root is `root` (a system in a folder, entered
/// with `chroot`) as another root sees it: paths under `root` are given as the process sees
/// them, paths outside it are skipped.
pub fn deleted_mappings_under(maps: &[u8], root: &str) -> Vec<String> {
    let root = root.trim_end_matches('/');
    let text = String::from_utf8_lossy(maps);
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        // address perms offset dev inode pathname: the path starts at the sixth field.
        let mut rest = line;
        for _ in 0..5 {
            rest = rest.trim_start();
            rest = rest.split_once(' ').map_or("", |(_, r)| r);
        }
        let Some(path) = rest.trim().strip_suffix(" (deleted)") else { continue };
        let path = if root.is_empty() {
            path
        } else {
            match path.strip_prefix(root) {
                Some(inner) if inner.starts_with('/') => inner,
                _ => continue,
            }
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        let code = name.contains(".so")
            || [
                "/usr/bin/",
                "/usr/sbin/",
                "/bin/",
                "/sbin/",
                "/usr/lib/",
                "/lib/",
                "/usr/libexec/",
            ]
            .iter()
            .any(|d| path.starts_with(d));
        if path.starts_with('/')
            && !path.starts_with("/dev/")
            && !path.starts_with("/memfd:")
            && code
            && !out.iter().any(|p| p == path)
        {
            out.push(path.to_string());
        }
    }
    out
}

/// The systemd unit a process belongs to, from `/proc/<pid>/cgroup` (v2 `0::/path` or the v1
/// `name=systemd` hierarchy): the innermost `.service`, `.scope`, `.socket` or `.mount`.
pub fn systemd_unit(cgroup: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(cgroup);
    let line = text
        .lines()
        .find(|l| l.starts_with("0::"))
        .or_else(|| text.lines().find(|l| l.contains(":name=systemd:")))?;
    let path = line.splitn(3, ':').nth(2)?;
    path.split('/')
        .rev()
        .find(|c| [".service", ".scope", ".socket", ".mount"].iter().any(|s| c.ends_with(s)))
        .map(str::to_string)
}

/// A socket waiting for connections (TCP `LISTEN`) or datagrams (unconnected UDP).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listener {
    /// `tcp`, `tcp6`, `udp` or `udp6`, as the `/proc/net` table is named.
    pub protocol: &'static str,
    pub address: String,
    pub port: u16,
    /// The socket's inode, to find its process through `/proc/<pid>/fd`.
    pub inode: u64,
}

/// Decodes `/proc/net` hex addresses: IPv4 as one little-endian 32-bit word, IPv6 as four.
fn proc_net_address(hex: &str) -> Option<String> {
    let words: Vec<u32> = (0..hex.len() / 8)
        .map(|i| u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    match words.as_slice() {
        [w] => Some(std::net::Ipv4Addr::from(w.swap_bytes()).to_string()),
        [a, b, c, d] if hex.len() == 32 => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
            }
            Some(std::net::Ipv6Addr::from(bytes).to_string())
        }
        _ => None,
    }
}

/// The listening sockets of one `/proc/net/{tcp,tcp6,udp,udp6}` table.
pub fn listeners(table: &[u8], protocol: &'static str) -> Vec<Listener> {
    let text = String::from_utf8_lossy(table);
    let wanted_state = if protocol.starts_with("tcp") { "0A" } else { "07" };
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
        else {
            continue;
        };
        if *state != wanted_state {
            continue;
        }
        let Some((address, port)) = local.split_once(':') else { continue };
        let (Some(address), Ok(port), Ok(inode)) =
            (proc_net_address(address), u16::from_str_radix(port, 16), inode.parse::<u64>())
        else {
            continue;
        };
        out.push(Listener { protocol, address, port, inode });
    }
    out
}

/// The inode of a `/proc/<pid>/fd/<n>` link target `socket:[12345]`.
pub fn socket_inode(link_target: &str) -> Option<u64> {
    link_target.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
}

/// A path as dpkg may list it on a merged-/usr system (`/usr/lib/x` and `/lib/x` are one file).
pub fn owner_key(path: &str) -> &str {
    path.strip_prefix("/usr")
        .filter(|p| ["/lib", "/bin", "/sbin"].iter().any(|d| p.starts_with(d)))
        .unwrap_or(path)
}

/// The package a dpkg `info/<package>[:<arch>].list` file belongs to, from its file name.
pub fn list_file_package(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".list")?;
    Some(stem.split_once(':').map_or(stem, |(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;

    fn check(os_release: &str, expect: Option<&str>) {
        let got = OsRelease::parse(os_release.as_bytes()).ecosystem().map(|e| e.to_string());
        assert_eq!(got.as_deref(), expect, "{os_release}");
    }

    #[test]
    fn os_release_to_osv_ecosystem() {
        check("ID=debian\nVERSION_ID=\"12\"\n", Some("Debian:12"));
        check("ID=debian\n", Some("Debian"));
        check(
            "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n",
            Some("Ubuntu:22.04:LTS"),
        );
        check(
            "ID=ubuntu\nVERSION_ID=\"23.10\"\nVERSION=\"23.10 (Mantic Minotaur)\"\n",
            Some("Ubuntu:23.10"),
        );
        check("ID=alpine\nVERSION_ID=3.19.1\n", Some("Alpine:v3.19"));
        check("ID=\"rhel\"\nVERSION_ID=\"9.3\"\n", Some("Red Hat:9"));
        check("ID=gentoo\n", None);
        check("", None);
    }

    #[test]
    fn newest_installed_kernel_against_running() {
        let pkg = |name: &str, version: &str| {
            Package::new(
                EcosystemKind::Debian,
                name,
                version,
                Location { path: "status".into(), line: None },
            )
        };
        let packages = [
            pkg("linux-image-6.1.0-17-amd64", "6.1.69-1"),
            pkg("linux-image-6.1.0-18-amd64", "6.1.76-1"),
            pkg("linux-image-amd64", "6.1.76-1"),
            pkg("bash", "5.2"),
        ];
        let k = kernels("6.1.0-17-amd64\n", &packages);
        assert_eq!(k.installed, ["6.1.0-17-amd64", "6.1.0-18-amd64"]);
        assert_eq!(k.reboot_needed, Some(true));
        assert_eq!(kernels("6.1.0-18-amd64", &packages).reboot_needed, Some(false));
        assert_eq!(kernels("6.18.44", &packages[3..]).reboot_needed, None);
        let rpm = |name: &str, version: &str| {
            let mut p = Package::new(
                EcosystemKind::RedHat,
                name,
                version,
                Location { path: "rpmdb.sqlite".into(), line: None },
            );
            p.arch = Some("x86_64".into());
            p
        };
        let el = [
            rpm("kernel-core", "5.14.0-362.8.1.el9_3"),
            rpm("kernel", "5.14.0-362.8.1.el9_3"),
            rpm("kernel-core", "5.14.0-70.13.1.el9_0"),
        ];
        let k = kernels("5.14.0-362.8.1.el9_3.x86_64", &el);
        assert_eq!(k.installed, ["5.14.0-70.13.1.el9_0.x86_64", "5.14.0-362.8.1.el9_3.x86_64"]);
        assert_eq!(k.reboot_needed, Some(false));
        assert_eq!(
            reboot_required_packages(b"libc6\nlinux-image-amd64\nlibc6\n\n"),
            ["libc6", "linux-image-amd64"]
        );
    }

    #[test]
    fn listening_sockets() {
        let tcp = b"  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
               0: 0100007F:6448 00000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 7331 1 0 100 0 0 10 0\n\
               1: 0100007F:A2C4 0100007F:6448 01 00000000:00000000 00:00000000 00000000   106        0 9999 1 0 100 0 0 10 0\n";
        assert_eq!(
            listeners(tcp, "tcp"),
            [Listener { protocol: "tcp", address: "127.0.0.1".into(), port: 25672, inode: 7331 }]
        );
        let tcp6 = b"header\n   0: 00000000000000000000000001000000:1111 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000   106        0 7096 1\n";
        assert_eq!(listeners(tcp6, "tcp6")[0].address, "::1");
        let udp = b"header\n  1: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1234 2\n";
        assert_eq!(
            (listeners(udp, "udp")[0].address.as_str(), listeners(udp, "udp")[0].port),
            ("0.0.0.0", 68)
        );
        assert!(listeners(b"garbage\n0: zz:zz 0 0A x x x x x notanumber\n", "tcp").is_empty());
        assert_eq!(socket_inode("socket:[7331]"), Some(7331));
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn processes_running_replaced_code() {
        let maps = b"55cb-55cc r--p 00000000 fe:00 247282    /usr/sbin/nginx (deleted)\n\
            7f00-7f01 r-xp 00000000 fe:00 11 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)\n\
            7f01-7f02 r-xp 00001000 fe:00 11 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)\n\
            7f02-7f03 rw-s 00000000 00:01 12 /memfd:pool (deleted)\n\
            7f03-7f04 rw-s 00000000 00:01 13 /dev/shm/x (deleted)\n\
            7f04-7f05 r-xp 00000000 fe:00 14 /usr/lib/x86_64-linux-gnu/libc.so.6\n\
            7f05-7f06 rw-p 00000000 00:00 0 \n\
            7f06-7f07 r-xp 00000000 fe:00 15 /srv/app/lib with space.so (deleted)\n";
        assert_eq!(
            deleted_mappings(maps),
            [
                "/usr/sbin/nginx",
                "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                "/srv/app/lib with space.so"
            ]
        );
        assert_eq!(
            systemd_unit(b"0::/system.slice/nginx.service\n").as_deref(),
            Some("nginx.service")
        );
        assert_eq!(
            systemd_unit(b"1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n")
                .as_deref(),
            Some("session-2.scope")
        );
        assert_eq!(systemd_unit(b"0::/\n"), None);
        assert_eq!(
            owner_key("/usr/lib/x86_64-linux-gnu/libz.so.1"),
            "/lib/x86_64-linux-gnu/libz.so.1"
        );
        assert_eq!(owner_key("/usr/share/x"), "/usr/share/x");
        assert_eq!(list_file_package("libssl3:amd64.list"), Some("libssl3"));
        assert_eq!(list_file_package("adduser.list"), Some("adduser"));
        assert_eq!(list_file_package("adduser.md5sums"), None);
    }
}
