//! Whether and when to reboot after patching: the facts (`/run/reboot-required`, the packages
//! that asked for it, who is logged in from utmp), the pure [`decide`], and
//! [`schedule_reboot`], which asks `shutdown` through ward-process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ward_process::{Command, ProcessError, Status};

/// When a patch run may reboot the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebootPolicy {
    /// Never reboot; report that a reboot is required.
    Never,
    /// Reboot when the system says so (`/run/reboot-required`).
    WhenNeeded,
    /// Reboot after every run.
    Always,
}

impl RebootPolicy {
    /// The spellings [`FromStr`] accepts, in order.
    pub const NAMES: [&'static str; 3] = ["never", "when-needed", "always"];

    pub fn name(self) -> &'static str {
        match self {
            RebootPolicy::Never => "never",
            RebootPolicy::WhenNeeded => "when-needed",
            RebootPolicy::Always => "always",
        }
    }
}

impl fmt::Display for RebootPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reboot policy {0:?} (known: never, when-needed, always)")]
pub struct UnknownRebootPolicy(pub String);

impl FromStr for RebootPolicy {
    type Err = UnknownRebootPolicy;

    fn from_str(s: &str) -> Result<RebootPolicy, UnknownRebootPolicy> {
        match s.trim() {
            "never" => Ok(RebootPolicy::Never),
            "when-needed" => Ok(RebootPolicy::WhenNeeded),
            "always" => Ok(RebootPolicy::Always),
            other => Err(UnknownRebootPolicy(other.to_string())),
        }
    }
}

/// What the system says about rebooting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebootFacts {
    /// `reboot-required` exists.
    pub required: bool,
    /// When it was written (its modification time).
    pub since: Option<DateTime<Utc>>,
    /// The packages that asked for the reboot (`reboot-required.pkgs`), first mention kept.
    pub packages: Vec<String>,
    /// Users logged in (utmp `USER_PROCESS` records).
    pub sessions: Vec<Session>,
}

/// A logged-in user, as `who` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    /// The terminal: `pts/0`, `tty1`.
    pub line: String,
    /// Where from (a host name or address); empty for a local login.
    pub host: String,
    pub since: DateTime<Utc>,
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.user, self.line)?;
        if !self.host.is_empty() {
            write!(f, " from {}", self.host)?;
        }
        write!(f, " since {}", self.since.format("%Y-%m-%d %H:%M:%S UTC"))
    }
}

/// What to do about rebooting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebootDecision {
    /// No reboot, and that is fine.
    No { reason: String },
    /// Schedule a reboot in `delay_minutes`, warning logged-in users with `message`.
    Reboot { delay_minutes: u32, message: String },
    /// A reboot is wanted but must not happen now; the operator should know why.
    Blocked { reason: String },
}

/// Wall messages name at most this many packages, then "and N more".
const MESSAGE_PACKAGES: usize = 5;

/// Decides from the policy and the facts.
///
/// In order: `never` is No; `when-needed` without a required reboot is No; a system in a
/// folder (`root_is_host` false) is Blocked, whatever its utmp says, since rebooting this
/// machine would not restart it; logged-in users block unless `allow_with_sessions`;
/// otherwise Reboot, with a wall message naming the packages.
pub fn decide(
    policy: RebootPolicy,
    facts: &RebootFacts,
    allow_with_sessions: bool,
    delay_minutes: u32,
    root_is_host: bool,
) -> RebootDecision {
    match policy {
        RebootPolicy::Never => {
            let reason = if facts.required {
                "reboot policy is never (a reboot is required)"
            } else {
                "reboot policy is never"
            };
            return RebootDecision::No { reason: reason.to_string() };
        }
        RebootPolicy::WhenNeeded if !facts.required => {
            return RebootDecision::No { reason: "no reboot required".to_string() };
        }
        RebootPolicy::WhenNeeded | RebootPolicy::Always => {}
    }
    if !root_is_host {
        return RebootDecision::Blocked {
            reason: "not rebooting: ward is patching a system in a folder".to_string(),
        };
    }
    if !facts.sessions.is_empty() && !allow_with_sessions {
        let who: Vec<String> = facts.sessions.iter().map(Session::to_string).collect();
        let noun = if who.len() == 1 { "user session active" } else { "user sessions active" };
        return RebootDecision::Blocked { reason: format!("{noun}: {}", who.join(", ")) };
    }
    let when = match delay_minutes {
        0 => "rebooting now".to_string(),
        n => format!("rebooting in {n} min"),
    };
    let message = if facts.required {
        let mut text = format!("ward: {when} to finish security updates");
        if !facts.packages.is_empty() {
            let shown: Vec<&str> =
                facts.packages.iter().take(MESSAGE_PACKAGES).map(String::as_str).collect();
            text.push_str(&format!(" ({}", shown.join(", ")));
            if facts.packages.len() > MESSAGE_PACKAGES {
                text.push_str(&format!(" and {} more", facts.packages.len() - MESSAGE_PACKAGES));
            }
            text.push(')');
        }
        text
    } else {
        format!("ward: {when} (reboot policy: always)")
    };
    RebootDecision::Reboot { delay_minutes, message }
}

/// Size of one glibc utmp record on x86_64 and aarch64 (`struct utmp`, 64-bit time compat).
pub const UTMP_RECORD: usize = 384;
/// `ut_type` of a user's login session.
const USER_PROCESS: i32 = 7;

/// The logged-in users in a utmp file: glibc's x86_64/aarch64 layout (little-endian; `ut_type`
/// @0, `ut_line[32]` @8, `ut_user[32]` @44, `ut_host[256]` @76, `ut_tv` {i32 sec, i32 usec}
/// @340). Keeps `USER_PROCESS` records with a user name (what `who` shows, without its check
/// that the process is still alive); a trailing partial record is ignored. Never panics.
pub fn parse_utmp(bytes: &[u8]) -> Vec<Session> {
    bytes
        .chunks_exact(UTMP_RECORD)
        .filter(|r| i32_at(r, 0) == USER_PROCESS)
        .filter_map(|r| {
            let user = text_at(r, 44, 32);
            if user.is_empty() {
                return None;
            }
            let usec = i32_at(r, 344);
            let nanos = if (0..1_000_000).contains(&usec) { usec as u32 * 1000 } else { 0 };
            let since = DateTime::from_timestamp(i64::from(i32_at(r, 340)), nanos)
                .unwrap_or(DateTime::UNIX_EPOCH);
            Some(Session { user, line: text_at(r, 8, 32), host: text_at(r, 76, 256), since })
        })
        .collect()
}

fn i32_at(record: &[u8], at: usize) -> i32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&record[at..at + 4]);
    i32::from_le_bytes(b)
}

/// A NUL-padded (not always NUL-terminated) char array.
fn text_at(record: &[u8], at: usize, len: usize) -> String {
    let field = &record[at..at + len];
    let end = field.iter().position(|b| *b == 0).unwrap_or(len);
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Reads the reboot facts of the system at `root` (`/` for this host). Missing files mean
/// "no": no flag, no packages, no sessions; an unreadable utmp counts as a session of an
/// unknown user (fail safe: no reboot from under someone who may be logged in).
///
/// Files are looked up in `root/run`, then in `root/var/run` unless that is a symlink
/// (Debian's `/var/run -> /run` is absolute and would lead out of a system in a folder).
pub fn reboot_facts(root: &Path) -> RebootFacts {
    let mut facts = RebootFacts::default();
    if let Some(flag) = find_run_file(root, "reboot-required") {
        facts.required = true;
        facts.since = std::fs::metadata(&flag).and_then(|m| m.modified()).ok().map(DateTime::from);
        if let Ok(text) = std::fs::read_to_string(flag.with_file_name("reboot-required.pkgs")) {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if !facts.packages.iter().any(|p| p == line) {
                    facts.packages.push(line.to_string());
                }
            }
        }
    }
    if let Some(utmp) = find_run_file(root, "utmp") {
        match std::fs::read(&utmp) {
            Ok(bytes) => facts.sessions = parse_utmp(&bytes),
            // Fail safe: who is logged in is unknown, so count it as someone.
            Err(e) => {
                tracing::warn!("{}: {e}; treating it as a session", utmp.display());
                facts.sessions.push(Session {
                    user: "(unknown: utmp unreadable)".to_string(),
                    line: utmp.display().to_string(),
                    host: String::new(),
                    since: DateTime::<Utc>::UNIX_EPOCH,
                });
            }
        }
    }
    facts
}

fn find_run_file(root: &Path, name: &str) -> Option<PathBuf> {
    let run = root.join("run").join(name);
    if run.exists() {
        return Some(run);
    }
    let var_run = root.join("var/run");
    let is_symlink = var_run.symlink_metadata().is_ok_and(|m| m.file_type().is_symlink());
    let file = var_run.join(name);
    (!is_symlink && file.exists()).then_some(file)
}

#[derive(Debug, thiserror::Error)]
pub enum RebootError {
    #[error("cannot run shutdown: {0}")]
    Run(#[from] ProcessError),
    #[error("shutdown -r +{delay_minutes} failed ({status}): {output}")]
    Failed { delay_minutes: u32, status: Status, output: String },
}

/// Schedules a reboot in `delay_minutes` with `shutdown -r +N MESSAGE` (30 s timeout);
/// `message` is the wall message logged-in users see. Fails with shutdown's output.
pub fn schedule_reboot(delay_minutes: u32, message: &str) -> Result<(), RebootError> {
    let output = Command::new("shutdown")
        .args(["-r", &format!("+{delay_minutes}"), message])
        .env("LC_ALL", "C")
        .timeout(Duration::from_secs(30))
        .output_limit(64 * 1024)
        .run()?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stderr.bytes).trim().to_string();
    let stdout = String::from_utf8_lossy(&output.stdout.bytes);
    if !stdout.trim().is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stdout.trim());
    }
    Err(RebootError::Failed { delay_minutes, status: output.status, output: text })
}
