//! The agent's state directory (default `/var/lib/ward-agent`, mode 0700):
//!
//! - `credential` (0600): JSON `{server, host_id, host_name, credential}`, written once at
//!   enrollment;
//! - `last.json` (0600): the last report the server accepted: its idempotency key and its
//!   packages (what the next diff is computed against when nothing waits in the spool);
//! - `built.json` (0600): the last report built and spooled (the base of the next diff while
//!   earlier reports still wait in the spool);
//! - `spool/`: the outbox ([`crate::spool::Spool`]).
//!
//! Every file is written aside, fsynced, renamed into place and the directory fsynced, so a
//! crash leaves either the old or the new file, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use ward_api::agent::Package;

const CREDENTIAL_FILE: &str = "credential";
const LAST_ACCEPTED_FILE: &str = "last.json";
const LAST_BUILT_FILE: &str = "built.json";
const SPOOL_DIR: &str = "spool";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: not a valid agent state file ({source}); remove it to start over", path.display())]
    Invalid { path: PathBuf, source: serde_json::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StateError + '_ {
    move |source| StateError::Io { path: path.to_path_buf(), source }
}

/// What enrollment gave the agent. `Debug` does not show the credential.
pub struct Enrollment {
    /// The server URL it enrolled with.
    pub server: String,
    pub host_id: i64,
    pub host_name: String,
    /// `ward_agent_…`: the agent's bearer credential.
    pub credential: SecretString,
}

impl std::fmt::Debug for Enrollment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrollment")
            .field("server", &self.server)
            .field("host_id", &self.host_id)
            .field("host_name", &self.host_name)
            .field("credential", &"[redacted]")
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct EnrollmentFile {
    server: String,
    host_id: i64,
    host_name: String,
    credential: String,
}

/// A report and its packages: the last one the server accepted (`last.json`) or the last one
/// built (`built.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportState {
    /// The report's idempotency key (its spool entry's key).
    pub key: String,
    /// The packages the report describes, normalized (see [`crate::diff::normalize`]).
    pub packages: Vec<Package>,
}

/// The state directory; see the module documentation.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Opens `dir`, creating it with mode 0700 (and setting 0700 on an existing one).
    pub fn open(dir: &Path) -> Result<StateDir, StateError> {
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_error(dir))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
        Ok(StateDir { dir: dir.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the spool lives.
    pub fn spool_dir(&self) -> PathBuf {
        self.dir.join(SPOOL_DIR)
    }

    /// The stored enrollment, if the agent enrolled. A credential file readable by group or
    /// others is fixed to 0600 with a warning.
    pub fn enrollment(&self) -> Result<Option<Enrollment>, StateError> {
        let path = self.dir.join(CREDENTIAL_FILE);
        let Some(bytes) = read_optional(&path)? else { return Ok(None) };
        let mode = fs::metadata(&path).map_err(io_error(&path))?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{:o}", mode & 0o777),
                "the credential file was readable by others; setting it to 0600"
            );
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .map_err(io_error(&path))?;
        }
        let file: EnrollmentFile = serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Invalid { path: path.clone(), source })?;
        Ok(Some(Enrollment {
            server: file.server,
            host_id: file.host_id,
            host_name: file.host_name,
            credential: SecretString::from(file.credential),
        }))
    }

    /// Stores the enrollment (mode 0600, atomically).
    pub fn save_enrollment(&self, enrollment: &Enrollment) -> Result<(), StateError> {
        let file = EnrollmentFile {
            server: enrollment.server.clone(),
            host_id: enrollment.host_id,
            host_name: enrollment.host_name.clone(),
            credential: enrollment.credential.expose_secret().to_owned(),
        };
        self.write_json(CREDENTIAL_FILE, &file)
    }

    /// `last.json`, if any.
    pub fn last_accepted(&self) -> Result<Option<ReportState>, StateError> {
        self.read_json(LAST_ACCEPTED_FILE)
    }

    pub fn save_last_accepted(&self, state: &ReportState) -> Result<(), StateError> {
        self.write_json(LAST_ACCEPTED_FILE, state)
    }

    /// Removes `last.json` (the accepted report is no longer known).
    pub fn forget_last_accepted(&self) -> Result<(), StateError> {
        remove_optional(&self.dir.join(LAST_ACCEPTED_FILE))
    }

    /// `built.json`, if any.
    pub fn last_built(&self) -> Result<Option<ReportState>, StateError> {
        self.read_json(LAST_BUILT_FILE)
    }

    pub fn save_last_built(&self, state: &ReportState) -> Result<(), StateError> {
        self.write_json(LAST_BUILT_FILE, state)
    }

    /// Forgets both reports, so the next one is full (the server no longer knows them).
    pub fn forget_reports(&self) -> Result<(), StateError> {
        remove_optional(&self.dir.join(LAST_ACCEPTED_FILE))?;
        remove_optional(&self.dir.join(LAST_BUILT_FILE))
    }

    fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StateError> {
        let path = self.dir.join(name);
        let Some(bytes) = read_optional(&path)? else { return Ok(None) };
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                // Only an optimisation is lost (the next report is full): say so, carry on.
                tracing::warn!(path = %path.display(), error = %e, "unreadable agent state; the next report will be full");
                Ok(None)
            }
        }
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StateError> {
        let path = self.dir.join(name);
        let bytes = serde_json::to_vec(value)
            .map_err(|source| StateError::Invalid { path: path.clone(), source })?;
        write_atomically(&self.dir, name, &bytes)
    }
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io { path: path.to_path_buf(), source }),
    }
}

fn remove_optional(path: &Path) -> Result<(), StateError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(StateError::Io { path: path.to_path_buf(), source: e })
        }
        _ => Ok(()),
    }
}

/// Writes `dir/name` with mode 0600: temporary file, fsync, rename, directory fsync.
fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> Result<(), StateError> {
    let temp = dir.join(format!(".{name}.tmp"));
    let path = dir.join(name);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)
        .map_err(io_error(&temp))?;
    // An existing temporary file keeps its old mode: make sure.
    file.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io_error(&temp))?;
    file.write_all(contents).map_err(io_error(&temp))?;
    file.sync_all().map_err(io_error(&temp))?;
    drop(file);
    fs::rename(&temp, &path).map_err(io_error(&path))?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn enrollment() -> Enrollment {
        Enrollment {
            server: "https://ward.example".into(),
            host_id: 7,
            host_name: "web1".into(),
            credential: SecretString::from("ward_agent_0123456789ab_secret".to_owned()),
        }
    }

    #[test]
    fn credential_is_0600_in_a_0700_dir_and_round_trips() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("state");
        let state = StateDir::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert!(state.enrollment().unwrap().is_none());
        state.save_enrollment(&enrollment()).unwrap();
        assert_eq!(mode(&dir.join("credential")), 0o600);
        let back = state.enrollment().unwrap().unwrap();
        assert_eq!(
            (back.server.as_str(), back.host_id, back.host_name.as_str()),
            ("https://ward.example", 7, "web1")
        );
        assert_eq!(back.credential.expose_secret(), "ward_agent_0123456789ab_secret");
        // Nothing left aside.
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["credential"]);
    }

    #[test]
    fn an_existing_dir_is_tightened_and_a_loose_credential_fixed() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("state");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        let state = StateDir::open(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        state.save_enrollment(&enrollment()).unwrap();
        fs::set_permissions(dir.join("credential"), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(state.enrollment().unwrap().is_some());
        assert_eq!(mode(&dir.join("credential")), 0o600);
    }

    #[test]
    fn a_stale_temporary_file_does_not_leak_its_mode() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::open(temp.path()).unwrap();
        let stale = temp.path().join(".credential.tmp");
        fs::write(&stale, "half").unwrap();
        fs::set_permissions(&stale, fs::Permissions::from_mode(0o666)).unwrap();
        state.save_enrollment(&enrollment()).unwrap();
        assert_eq!(mode(&temp.path().join("credential")), 0o600);
        assert!(!stale.exists());
    }

    #[test]
    fn debug_never_shows_the_credential() {
        let shown = format!("{:?}", enrollment());
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("web1"));
    }

    #[test]
    fn reports_round_trip_and_are_forgotten() {
        let temp = tempfile::tempdir().unwrap();
        let state = StateDir::open(temp.path()).unwrap();
        let report = ReportState { key: "a".repeat(32), packages: vec![] };
        state.save_last_accepted(&report).unwrap();
        state.save_last_built(&report).unwrap();
        assert_eq!(state.last_accepted().unwrap(), Some(report.clone()));
        assert_eq!(state.last_built().unwrap(), Some(report));
        assert_eq!(mode(&temp.path().join("last.json")), 0o600);
        state.forget_reports().unwrap();
        assert_eq!(state.last_accepted().unwrap(), None);
        assert_eq!(state.last_built().unwrap(), None);
        // A torn or foreign file only costs a full report.
        fs::write(temp.path().join("last.json"), "{").unwrap();
        assert_eq!(state.last_accepted().unwrap(), None);
    }
}
