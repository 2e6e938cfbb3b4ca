//! The Debian 12 system `ward patch` is tested on: built once by `.ci/debian-image`
//! (debootstrap, then the security suite enabled so real security updates are pending), and
//! copied into a temporary folder for each test, which may then patch, break and roll it back.

use std::path::{Path, PathBuf};

/// The built image: `$WARD_DEBIAN_IMAGE`, else `$WARD_TOOLS_DIR/debian-12-minbase`, else
/// `~/.cache/ward-tools/debian-12-minbase`. Built first (`.ci/debian-image`: debootstrap from
/// Debian's mirror, about 30 s, root needed) when it is not there yet; concurrent tests wait
/// for one build.
///
/// Panics, naming the folder and what to do, when it cannot be built.
pub fn debian_image() -> PathBuf {
    let image = match std::env::var_os("WARD_DEBIAN_IMAGE") {
        Some(d) => PathBuf::from(d),
        None => {
            let tools =
                std::env::var_os("WARD_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                        .join(".cache/ward-tools")
                });
            tools.join("debian-12-minbase")
        }
    };
    let complete = |image: &Path| image.join(".ward-image-complete").is_file();
    if !complete(&image) {
        build(&image);
    }
    assert!(
        complete(&image),
        "the Debian test system is not built at {} (run `.ci/run tools`, or .ci/debian-image; needs root and debootstrap)",
        image.display()
    );
    image
}

/// Runs `.ci/debian-image` for `image`, one build at a time (an exclusive lock beside it).
fn build(image: &Path) {
    let Some(parent) = image.parent() else { return };
    let _ = std::fs::create_dir_all(parent);
    let lock_path = parent.join(".debian-image.lock");
    let Ok(lock) =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)
    else {
        return;
    };
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).is_err() {
        return;
    }
    if image.join(".ward-image-complete").is_file() {
        return; // another test built it while this one waited
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/debian-image");
    let out = ward_process::Command::new(script)
        .env("WARD_DEBIAN_IMAGE", image)
        .timeout(std::time::Duration::from_secs(1800))
        .run();
    match out {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "building the Debian test system failed: {}",
            String::from_utf8_lossy(&o.stderr.bytes)
        ),
        Err(e) => panic!("building the Debian test system: {e}"),
    }
}

/// A private copy of the Debian image, deleted (with any process still running in it) when
/// dropped.
#[derive(Debug)]
pub struct DebianSystem {
    dir: tempfile::TempDir,
}

impl DebianSystem {
    /// Copies the image (`cp -a`, keeping owners, modes and links) into a new temporary folder.
    pub fn copy() -> DebianSystem {
        let image = debian_image();
        let dir = tempfile::Builder::new()
            .prefix("ward-debian-")
            .tempdir_in(std::env::temp_dir())
            .expect("temporary folder");
        let out = ward_process::Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", image.display()))
            .arg(dir.path().join("root"))
            .timeout(std::time::Duration::from_secs(300))
            .run()
            .expect("cp runs");
        assert!(
            out.status.success(),
            "copying the Debian image failed: {}",
            String::from_utf8_lossy(&out.stderr.bytes)
        );
        DebianSystem { dir }
    }

    /// The system's root folder.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Runs `sh -c script` inside the system (chroot) and returns its stdout; panics with the
    /// output when it fails.
    pub fn sh(&self, script: &str) -> String {
        let out = self.try_sh(script);
        assert!(
            out.status.success(),
            "`{script}` in the Debian system failed ({:?}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout.bytes),
            String::from_utf8_lossy(&out.stderr.bytes)
        );
        String::from_utf8_lossy(&out.stdout.bytes).into_owned()
    }

    /// Runs `sh -c script` inside the system and returns whatever happened.
    pub fn try_sh(&self, script: &str) -> ward_process::Output {
        ward_process::Command::new("chroot")
            .arg(self.root())
            .args(["/bin/sh", "-c", script])
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .timeout(std::time::Duration::from_secs(600))
            .output_limit(4 << 20)
            .run()
            .expect("chroot runs")
    }

    /// Every process whose root is this system, as (pid, command).
    pub fn processes(&self) -> Vec<(u32, String)> {
        processes_in(&self.root())
    }
}

fn processes_in(root: &Path) -> Vec<(u32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if std::fs::read_link(entry.path().join("root")).is_ok_and(|r| r == root) {
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            found.push((pid, comm.trim().to_string()));
        }
    }
    found
}

impl Drop for DebianSystem {
    fn drop(&mut self) {
        // A service a test started inside the system must not outlive it (or keep files busy).
        for (pid, _) in self.processes() {
            let _ = ward_process::Command::new("kill").args(["-KILL", &pid.to_string()]).run();
        }
    }
}
