//! The one place ward runs external programs: timeouts that kill the whole process group,
//! captured output capped at a byte limit, exit status versus signal, duration, and logging.
//!
//! Every external program ward starts (monitoring plugins, package managers, hooks, wrapped
//! cron jobs) goes through [`Command::run`]. The rest of the workspace is forbidden from calling
//! `std::process::Command::new` by `clippy.toml`; this crate carries the single `allow`.
//!
//! ```no_run
//! use std::time::Duration;
//! use ward_process::{Command, Status};
//!
//! let output = Command::new("/usr/lib/nagios/plugins/check_dummy")
//!     .args(["1", "disk almost full"])
//!     .timeout(Duration::from_secs(60))
//!     .output_limit(64 * 1024)
//!     .run()?;
//! assert_eq!(output.status, Status::Exited(1));
//! # Ok::<(), ward_process::ProcessError>(())
//! ```
//!
//! How it works: the child is started in a new process group (its pid is the group id). A
//! waiter thread waits for it to exit *without reaping it* (`waitid(WNOWAIT)`), so its pid, and
//! therefore the group id, cannot be reused while ward may still signal the group: killing
//! `-pgid` never hits an unrelated process. Two reader threads drain stdout and stderr to the
//! end, keeping the first `output_limit` bytes and discarding (but counting) the rest, so a
//! chatty child never blocks on a full pipe. On timeout the group gets `SIGTERM`, then
//! `SIGKILL` after the grace period. Processes that the child left behind holding its pipes
//! open (a daemonizing plugin) are killed with the group when the deadline passes.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

/// Default cap on captured bytes per stream (stdout and stderr each).
pub const DEFAULT_OUTPUT_LIMIT: usize = 1024 * 1024;
/// Default time between `SIGTERM` and `SIGKILL` when a timeout expires.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
/// How long ward waits for the output pipes to close after the main process exited when no
/// timeout is set (grandchildren keeping them open are then killed with the group).
const ORPHAN_PIPE_GRACE: Duration = Duration::from_secs(5);

/// Why a program could not be run at all. A program that runs and fails is not an error: it
/// is an [`Output`] with a non-zero [`Status`].
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{program}: no such file or directory")]
    NotFound { program: String },
    #[error("{program}: permission denied (is it executable?)")]
    PermissionDenied { program: String },
    #[error("{program}: cannot execute: {source}")]
    Spawn { program: String, source: io::Error },
    #[error("{program}: waiting for the process failed: {source}")]
    Wait { program: String, source: io::Error },
}

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It exited by itself with this code.
    Exited(i32),
    /// It was ended by this signal (not sent by ward).
    Signaled(i32),
    /// It ran past its timeout; ward killed its process group.
    TimedOut {
        /// The timeout that expired.
        after: Duration,
        /// Whether `SIGKILL` was needed (the group outlived the grace period after `SIGTERM`).
        killed: bool,
    },
}

impl Status {
    /// True when the program exited by itself with code 0.
    pub fn success(self) -> bool {
        self == Status::Exited(0)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Status::Exited(code) => write!(f, "exit code {code}"),
            Status::Signaled(signal) => write!(f, "killed by signal {signal}"),
            Status::TimedOut { after, .. } => write!(f, "timeout after {}", human(after)),
        }
    }
}

/// Formats a duration as ward reports it: whole seconds when whole, else milliseconds.
pub fn human(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// One captured stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// The first `output_limit` bytes (the last ones with [`Command::keep_tail`]).
    pub bytes: Vec<u8>,
    /// Every byte the program wrote, kept or not.
    pub total: u64,
}

impl Captured {
    /// True when bytes were discarded past the limit.
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }
}

/// What a finished program did.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: Status,
    pub stdout: Captured,
    pub stderr: Captured,
    /// Wall-clock time from spawn to exit (and, on timeout, to the kill).
    pub duration: Duration,
    /// The process id the program ran as (also its process group id).
    pub pid: u32,
}

#[derive(Debug, Clone)]
enum EnvValue {
    Plain(OsString),
    /// Passed to the child, never logged.
    Secret(OsString),
    Removed,
}

/// A program to run, built like `std::process::Command`, run with [`Command::run`].
#[derive(Debug, Clone)]
pub struct Command {
    program: OsString,
    args: Vec<OsString>,
    env: BTreeMap<OsString, EnvValue>,
    clear_env: bool,
    cwd: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    kill_grace: Duration,
    output_limit: usize,
    keep_tail: bool,
    /// Wait through a pidfd on this thread (false: the helper-thread path).
    use_pidfd: bool,
}

impl Command {
    /// A command for `program` (a path, or a name looked up in `PATH`), with no timeout,
    /// stdin from `/dev/null`, the parent's environment and [`DEFAULT_OUTPUT_LIMIT`].
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Command {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            env: BTreeMap::new(),
            clear_env: false,
            cwd: None,
            stdin: None,
            timeout: None,
            kill_grace: DEFAULT_KILL_GRACE,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            keep_tail: false,
            use_pidfd: true,
        }
    }

    /// Takes the path of kernels without `pidfd_open` (before Linux 5.3): reader threads and
    /// a waiter thread instead of one polling loop. For tests of that path.
    #[doc(hidden)]
    pub fn without_pidfd(mut self) -> Self {
        self.use_pidfd = false;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable; its value appears in debug logs.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.insert(key.as_ref().to_owned(), EnvValue::Plain(value.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable whose value is never logged (passwords, tokens).
    pub fn secret_env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.insert(key.as_ref().to_owned(), EnvValue::Secret(value.as_ref().to_owned()));
        self
    }

    /// Removes a variable from the child's environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.insert(key.as_ref().to_owned(), EnvValue::Removed);
        self
    }

    /// Starts the child with only the variables set on this command.
    pub fn env_clear(mut self) -> Self {
        self.clear_env = true;
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Bytes written to the child's standard input (then closed). Default: `/dev/null`.
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    /// Kills the process group when the program runs longer than this.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time between `SIGTERM` and `SIGKILL` on timeout ([`DEFAULT_KILL_GRACE`]).
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Bytes kept per stream; the rest is read and discarded (counted in [`Captured::total`]).
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Keeps the *last* `output_limit` bytes of each stream instead of the first (for job
    /// wrappers that report how a run ended).
    pub fn keep_tail(mut self) -> Self {
        self.keep_tail = true;
        self
    }

    pub fn program(&self) -> &OsStr {
        &self.program
    }

    /// Runs the program to completion (or timeout) and returns what it did.
    pub fn run(&self) -> Result<Output, ProcessError> {
        let program = self.program.to_string_lossy().into_owned();
        self.log_start(&program);
        #[allow(
            clippy::disallowed_methods,
            reason = "ward-process is the one module allowed to spawn programs (STYLE.md rule 5)"
        )]
        let mut command = std::process::Command::new(&self.program);
        command.args(&self.args).process_group(0);
        if self.clear_env {
            command.env_clear();
        }
        for (key, value) in &self.env {
            match value {
                EnvValue::Plain(v) | EnvValue::Secret(v) => command.env(key, v),
                EnvValue::Removed => command.env_remove(key),
            };
        }
        if let Some(dir) = &self.cwd {
            command.current_dir(dir);
        }
        command
            .stdin(if self.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let started = Instant::now();
        let mut child = command.spawn().map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => ProcessError::NotFound { program: program.clone() },
            io::ErrorKind::PermissionDenied => {
                ProcessError::PermissionDenied { program: program.clone() }
            }
            _ => ProcessError::Spawn { program: program.clone(), source },
        })?;
        let pid_raw = child.id();
        let deadline = self.timeout.map(|t| started + t);

        // Standard input, written by its own thread so a child that does not read it cannot
        // block ward. A closed pipe (the child exited early) is not an error.
        if let (Some(input), Some(mut pipe)) = (self.stdin.clone(), child.stdin.take()) {
            thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }

        let pid = Pid::from_raw(pid_raw as i32)
            .ok_or_else(|| ProcessError::Wait { program: program.clone(), source: bad_pid() })?;
        // One thread, no helpers: poll the pipes and a pidfd (Linux 5.3+). Older kernels
        // take the thread-per-pipe path below, with the same behaviour.
        let pidfd = self
            .use_pidfd
            .then(|| rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok())
            .flatten();
        if let Some(pidfd) = pidfd {
            let (timed_out, stdout, stderr, duration) =
                self.collect_polling(&program, &mut child, pid, &pidfd, started, deadline);
            return self.finish(program, child, timed_out, stdout, stderr, duration, pid_raw);
        }

        let stdout = Arc::new(Mutex::new(Captured::default()));
        let stderr = Arc::new(Mutex::new(Captured::default()));
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let mut readers = 0;
        if let Some(pipe) = child.stdout.take() {
            spawn_reader(
                pipe,
                Arc::clone(&stdout),
                self.output_limit,
                self.keep_tail,
                done_tx.clone(),
            );
            readers += 1;
        }
        if let Some(pipe) = child.stderr.take() {
            spawn_reader(
                pipe,
                Arc::clone(&stderr),
                self.output_limit,
                self.keep_tail,
                done_tx.clone(),
            );
            readers += 1;
        }
        drop(done_tx);

        // The waiter sees the exit without reaping: the zombie keeps the pid (and the group
        // id) reserved until `child.wait()` below, so signalling the group stays safe.
        let (exit_tx, exit_rx) = mpsc::channel::<io::Result<()>>();
        thread::spawn(move || {
            let result = loop {
                match rustix::process::waitid(
                    WaitId::Pid(pid),
                    WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
                ) {
                    Err(rustix::io::Errno::INTR) => continue,
                    other => break other.map(|_| ()).map_err(io::Error::from),
                }
            };
            let _ = exit_tx.send(result);
        });

        let mut timed_out = None;
        let exited = match deadline {
            None => exit_rx.recv().ok(),
            Some(deadline) => {
                match exit_rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(r) => Some(r),
                    Err(_) => {
                        let after = self.timeout.unwrap_or_default();
                        tracing::warn!(%program, pid = pid_raw, "timeout after {}, sending SIGTERM to the process group", human(after));
                        kill_group(pid, Signal::TERM);
                        let r = exit_rx.recv_timeout(self.kill_grace).ok();
                        // The whole group goes, whether or not the leader honoured SIGTERM.
                        let killed = kill_group(pid, Signal::KILL) && r.is_none();
                        if killed {
                            tracing::warn!(%program, pid = pid_raw, "process group ignored SIGTERM, sent SIGKILL");
                        }
                        timed_out = Some(Status::TimedOut { after, killed });
                        Some(r.unwrap_or_else(|| exit_rx.recv().unwrap_or(Ok(()))))
                    }
                }
            }
        };
        let duration = started.elapsed();
        if let Some(Err(source)) = exited {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProcessError::Wait { program, source });
        }

        // Drain the pipes. Processes left in the group that keep them open are killed once the
        // deadline (or a short grace without a timeout) has passed.
        let pipe_deadline = match (timed_out, deadline) {
            (Some(_), _) => Instant::now() + self.kill_grace,
            (None, Some(d)) => d.max(Instant::now()),
            (None, None) => Instant::now() + ORPHAN_PIPE_GRACE,
        };
        let mut open = readers;
        while open > 0 {
            match done_rx.recv_timeout(pipe_deadline.saturating_duration_since(Instant::now())) {
                Ok(()) => open -= 1,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    tracing::warn!(%program, pid = pid_raw, "processes left behind keep the output open; killing the process group");
                    kill_group(pid, Signal::KILL);
                    // Whatever escaped the group (setsid) keeps its pipe; stop waiting soon.
                    let until = Instant::now() + Duration::from_millis(500);
                    while open > 0 {
                        match done_rx.recv_timeout(until.saturating_duration_since(Instant::now()))
                        {
                            Ok(()) => open -= 1,
                            Err(_) => break,
                        }
                    }
                    break;
                }
            }
        }

        let take = |c: &Arc<Mutex<Captured>>| {
            std::mem::take(&mut *c.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
        };
        self.finish(program, child, timed_out, take(&stdout), take(&stderr), duration, pid_raw)
    }

    /// Reaps the child and puts the output together.
    #[allow(clippy::too_many_arguments, reason = "the parts of one finished run")]
    fn finish(
        &self,
        program: String,
        mut child: std::process::Child,
        timed_out: Option<Status>,
        stdout: Captured,
        stderr: Captured,
        duration: Duration,
        pid_raw: u32,
    ) -> Result<Output, ProcessError> {
        let exit = child
            .wait()
            .map_err(|source| ProcessError::Wait { program: program.clone(), source })?;
        let status = timed_out.unwrap_or_else(|| match (exit.code(), exit.signal()) {
            (Some(code), _) => Status::Exited(code),
            (None, Some(signal)) => Status::Signaled(signal),
            (None, None) => Status::Signaled(0),
        });
        let output = Output { status, stdout, stderr, duration, pid: pid_raw };
        tracing::debug!(
            %program,
            pid = pid_raw,
            %status,
            duration_ms = duration.as_millis() as u64,
            stdout_bytes = output.stdout.total,
            stderr_bytes = output.stderr.total,
            "process finished"
        );
        Ok(output)
    }

    /// Waits for the child's exit (pidfd readable: exited, not reaped) while reading both
    /// pipes, on this thread; the same timeout, kill and drain rules as the thread path.
    fn collect_polling(
        &self,
        program: &str,
        child: &mut std::process::Child,
        pid: Pid,
        pidfd: &rustix::fd::OwnedFd,
        started: Instant,
        deadline: Option<Instant>,
    ) -> (Option<Status>, Captured, Captured, Duration) {
        use rustix::event::{PollFd, PollFlags};
        enum Phase {
            /// Waiting for the exit, until the timeout.
            Running,
            /// SIGTERM sent: the leader has `kill_grace` to exit.
            Terminating(Instant),
            /// SIGKILL sent: waiting for the exit, however long.
            Killed,
            /// Exited: reading what is left until the time given.
            Draining(Instant),
            /// Leftovers were killed: a last short wait for the pipes.
            LastDrain(Instant),
        }
        let mut pipes =
            [child.stdout.take().map(PipeFd::Out), child.stderr.take().map(PipeFd::Err)];
        let mut captured = [Captured::default(), Captured::default()];
        let mut buf = [0u8; 16 * 1024];
        let mut phase = Phase::Running;
        let mut timed_out = None;
        let mut duration = Duration::ZERO;
        loop {
            let until = match phase {
                Phase::Running => deadline,
                Phase::Killed => None,
                Phase::Terminating(t) | Phase::Draining(t) | Phase::LastDrain(t) => Some(t),
            };
            let waiting_exit =
                matches!(phase, Phase::Running | Phase::Terminating(_) | Phase::Killed);
            if !waiting_exit && pipes.iter().all(Option::is_none) {
                break;
            }
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(3);
            let mut which: Vec<Option<usize>> = Vec::with_capacity(3);
            if waiting_exit {
                fds.push(PollFd::new(pidfd, PollFlags::IN));
                which.push(None);
            }
            for (i, pipe) in pipes.iter().enumerate() {
                if let Some(p) = pipe {
                    fds.push(PollFd::new(p, PollFlags::IN));
                    which.push(Some(i));
                }
            }
            let now = Instant::now();
            let timeout = until.map(|t| {
                let left = t.saturating_duration_since(now);
                rustix::time::Timespec {
                    tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                    tv_nsec: i64::from(left.subsec_nanos()),
                }
            });
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(_) => thread::sleep(Duration::from_millis(1)),
            }
            let ready: Vec<(Option<usize>, bool)> =
                fds.iter().zip(&which).map(|(fd, w)| (*w, !fd.revents().is_empty())).collect();
            drop(fds);
            let mut exited_now = false;
            for (w, is_ready) in ready {
                if !is_ready {
                    continue;
                }
                match w {
                    None => exited_now = true,
                    Some(i) => {
                        let n = match pipes[i].as_mut().map(|p| p.read(&mut buf)) {
                            Some(Ok(n)) => n,
                            Some(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                            _ => 0,
                        };
                        if n == 0 {
                            pipes[i] = None;
                        } else {
                            captured[i].absorb(&buf[..n], self.output_limit, self.keep_tail);
                        }
                    }
                }
            }
            let now = Instant::now();
            phase = match phase {
                Phase::Running | Phase::Terminating(_) | Phase::Killed if exited_now => {
                    if let Phase::Terminating(_) = phase {
                        // The whole group goes, whether or not the leader honoured SIGTERM.
                        kill_group(pid, Signal::KILL);
                    }
                    duration = started.elapsed();
                    let drain_until = match (timed_out, deadline) {
                        (Some(_), _) => now + self.kill_grace,
                        (None, Some(d)) => d.max(now),
                        (None, None) => now + ORPHAN_PIPE_GRACE,
                    };
                    Phase::Draining(drain_until)
                }
                Phase::Running if deadline.is_some_and(|d| now >= d) => {
                    let after = self.timeout.unwrap_or_default();
                    tracing::warn!(%program, pid = pid.as_raw_nonzero().get(), "timeout after {}, sending SIGTERM to the process group", human(after));
                    kill_group(pid, Signal::TERM);
                    timed_out = Some(Status::TimedOut { after, killed: false });
                    Phase::Terminating(now + self.kill_grace)
                }
                Phase::Terminating(t) if now >= t => {
                    let killed = kill_group(pid, Signal::KILL);
                    if killed {
                        tracing::warn!(%program, pid = pid.as_raw_nonzero().get(), "process group ignored SIGTERM, sent SIGKILL");
                    }
                    let after = self.timeout.unwrap_or_default();
                    timed_out = Some(Status::TimedOut { after, killed });
                    Phase::Killed
                }
                Phase::Draining(t) if now >= t => {
                    tracing::warn!(%program, pid = pid.as_raw_nonzero().get(), "processes left behind keep the output open; killing the process group");
                    kill_group(pid, Signal::KILL);
                    // Whatever escaped the group (setsid) keeps its pipe; stop waiting soon.
                    Phase::LastDrain(now + Duration::from_millis(500))
                }
                Phase::LastDrain(t) if now >= t => break,
                other => other,
            };
        }
        let [out, err] = captured;
        (timed_out, out, err, duration)
    }

    fn log_start(&self, program: &str) {
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        let env: Vec<String> = self
            .env
            .iter()
            .map(|(k, v)| match v {
                EnvValue::Plain(v) => format!("{}={}", k.to_string_lossy(), v.to_string_lossy()),
                EnvValue::Secret(_) => format!("{}=<secret>", k.to_string_lossy()),
                EnvValue::Removed => format!("-{}", k.to_string_lossy()),
            })
            .collect();
        tracing::debug!(
            program,
            ?args,
            ?env,
            cwd = ?self.cwd,
            timeout_ms = self.timeout.map(|t| t.as_millis() as u64),
            "starting process"
        );
    }
}

fn bad_pid() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "the kernel returned pid 0")
}

/// Signals every process in the group led by `pid`; false when none was left.
fn kill_group(pid: Pid, signal: Signal) -> bool {
    rustix::process::kill_process_group(pid, signal).is_ok()
}

/// A child's output pipe, read by [`Command::collect_polling`].
enum PipeFd {
    Out(std::process::ChildStdout),
    Err(std::process::ChildStderr),
}

impl PipeFd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            PipeFd::Out(p) => p.read(buf),
            PipeFd::Err(p) => p.read(buf),
        }
    }
}

impl rustix::fd::AsFd for PipeFd {
    fn as_fd(&self) -> rustix::fd::BorrowedFd<'_> {
        match self {
            PipeFd::Out(p) => p.as_fd(),
            PipeFd::Err(p) => p.as_fd(),
        }
    }
}

impl Captured {
    /// Keeps `data` within `limit`: the first bytes, or with `tail` the last ones.
    fn absorb(&mut self, data: &[u8], limit: usize, tail: bool) {
        if tail {
            self.bytes.extend_from_slice(data);
            let excess = self.bytes.len().saturating_sub(limit);
            self.bytes.drain(..excess);
        } else {
            let keep = limit.saturating_sub(self.bytes.len()).min(data.len());
            self.bytes.extend_from_slice(&data[..keep]);
        }
        self.total += data.len() as u64;
    }
}

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    into: Arc<Mutex<Captured>>,
    limit: usize,
    tail: bool,
    done: mpsc::Sender<()>,
) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let mut c = into.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    c.absorb(&buf[..n], limit, tail);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = done.send(());
    });
}
