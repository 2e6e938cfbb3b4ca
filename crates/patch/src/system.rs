//! The system a patch run works on: this host (`/`) or a Debian system in a folder, entered
//! with `chroot` — every package-manager command goes through [`System::command`].

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The root of the system being patched.
#[derive(Debug, Clone)]
pub struct System {
    root: PathBuf,
}

impl System {
    /// `root` is `/` for this host. A folder is made absolute (without resolving links).
    pub fn new(root: impl Into<PathBuf>) -> System {
        let root = root.into();
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir().map(|d| d.join(&root)).unwrap_or(root)
        };
        System { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this is the running host (not a system in a folder).
    pub fn is_host(&self) -> bool {
        self.root == Path::new("/")
    }

    /// A path of the system (`/var/lib/dpkg/status` → `ROOT/var/lib/dpkg/status`).
    pub fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// A command run inside the system, non-interactively, in the C locale.
    pub fn command(&self, program: &str, timeout: Duration) -> ward_process::Command {
        let command = if self.is_host() {
            ward_process::Command::new(program)
        } else {
            ward_process::Command::new("chroot").arg(&self.root).arg(program)
        };
        command
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("APT_LISTCHANGES_FRONTEND", "none")
            .env("NEEDRESTART_MODE", "l")
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .current_dir("/")
            .timeout(timeout)
            .output_limit(8 << 20)
            .keep_tail()
    }
}
