//! The passive spool: `ward check submit` and `ward run --heartbeat` drop one JSON file per
//! message into `STATE_DIR/spool/`; `ward check serve` picks them up in order, applies them
//! and deletes them. Files appear atomically (written aside, then renamed), so a reader never
//! sees half a message, and a crash leaves at worst a message applied twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::heartbeat::Ping;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// A passive check result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub check: String,
    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN` or 0-3.
    pub state: String,
    /// Plugin-style output: summary, `| perfdata`, long output lines.
    pub output: String,
    /// Fresh for this many seconds (default: the check's freshness).
    #[serde(default)]
    pub ttl_secs: Option<u64>,
    pub at_ms: i64,
}

/// An operator's acknowledgement of a check's current problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckRequest {
    pub check: String,
    pub author: String,
    pub comment: String,
    #[serde(default)]
    pub sticky: bool,
    #[serde(default)]
    pub expires_ms: Option<i64>,
}

/// A downtime to schedule (fixed, or flexible with a duration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DowntimeRequest {
    pub check: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Flexible: starts with the first problem in the window and lasts this long.
    #[serde(default)]
    pub flexible_secs: Option<u64>,
    pub author: String,
    pub comment: String,
}

/// One spooled message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Message {
    Result(Submission),
    /// Many results in one file (`ward check submit --batch`), applied in order.
    Results {
        results: Vec<Submission>,
    },
    Heartbeat(Ping),
    Acknowledge(AckRequest),
    Downtime(DowntimeRequest),
    /// Ends a downtime early (by the id `status.json` lists).
    EndDowntime {
        id: u64,
    },
}

pub fn spool_dir(state_dir: &Path) -> PathBuf {
    state_dir.join("spool")
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io { path: path.display().to_string(), source }
}

/// Writes one message into the spool of `state_dir`; returns the file's path.
pub fn submit(state_dir: &Path, message: &Message, now: Timestamp) -> Result<PathBuf, SpoolError> {
    let dir = spool_dir(state_dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let name = format!("{:015}-{}-{seq}.json", now.millis().max(0), std::process::id());
    let tmp = dir.join(format!(".{name}.tmp"));
    let done = dir.join(&name);
    let text = serde_json::to_vec(message).map_err(|e| SpoolError::Io {
        path: tmp.display().to_string(),
        source: std::io::Error::other(e),
    })?;
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &done).map_err(io(&done))?;
    Ok(done)
}

/// Files [`take`] reads at most per call.
pub const MAX_FILES_PER_TAKE: usize = 10_000;

/// Takes the complete messages (up to [`MAX_FILES_PER_TAKE`]), oldest first, deleting each file. Unreadable messages are
/// moved to `spool/bad/` and reported by name.
pub fn take(state_dir: &Path) -> (Vec<Message>, Vec<String>) {
    let dir = spool_dir(state_dir);
    let Ok(entries) = std::fs::read_dir(&dir) else { return (Vec::new(), Vec::new()) };
    let mut names: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    names.sort();
    // A flood is taken in slices, oldest first, so one call never holds it all in memory.
    names.truncate(MAX_FILES_PER_TAKE);
    let mut messages = Vec::new();
    let mut bad = Vec::new();
    for path in names {
        match std::fs::read(&path).map(|b| serde_json::from_slice::<Message>(&b)) {
            Ok(Ok(m)) => {
                messages.push(m);
                let _ = std::fs::remove_file(&path);
            }
            Ok(Err(e)) => {
                bad.push(format!("{}: {e}", path.display()));
                let bad_dir = dir.join("bad");
                let _ = std::fs::create_dir_all(&bad_dir);
                if let Some(name) = path.file_name() {
                    let _ = std::fs::rename(&path, bad_dir.join(name));
                }
            }
            Err(e) => bad.push(format!("{}: {e}", path.display())),
        }
    }
    (messages, bad)
}

#[cfg(test)]
mod tests {
    use super::{submit, take, Message, Submission};
    use crate::time::Timestamp;

    #[test]
    fn messages_come_back_in_order_once_and_bad_ones_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let m = |n: i64| {
            Message::Result(Submission {
                check: format!("c{n}"),
                state: "OK".into(),
                output: "fine".into(),
                ttl_secs: None,
                at_ms: n,
            })
        };
        submit(dir.path(), &m(2), Timestamp(2)).unwrap();
        submit(dir.path(), &m(1), Timestamp(1)).unwrap();
        std::fs::write(dir.path().join("spool/000000000000003-1-0.json"), "{nope").unwrap();
        let (messages, bad) = take(dir.path());
        assert_eq!(messages, [m(1), m(2)]);
        assert_eq!(bad.len(), 1);
        assert!(dir.path().join("spool/bad/000000000000003-1-0.json").exists());
        assert_eq!(take(dir.path()).0, []);
    }
}
