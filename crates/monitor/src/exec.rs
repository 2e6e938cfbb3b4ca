//! The plugin executor: runs a Monitoring-Plugins / Nagios plugin through `ward-process` and
//! maps what it did to a [`CheckResult`] with exact Monitoring Plugins semantics.
//!
//! Exit 0/1/2/3 are OK/WARNING/CRITICAL/UNKNOWN. Any other code, a signal, a timeout, or a
//! plugin that is missing or not executable is UNKNOWN with a summary saying why.

use std::time::Duration;

use ward_process::{Command, ProcessError, Status};

use crate::result::CheckResult;
use crate::state::State;

/// Default plugin timeout (Nagios' `service_check_timeout`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default cap on captured plugin output per stream.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024;

/// A plugin invocation.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The program, then its arguments.
    pub program: String,
    pub args: Vec<String>,
    pub timeout: Duration,
    pub output_limit: usize,
    /// Extra environment variables; values are logged.
    pub env: Vec<(String, String)>,
}

impl Plugin {
    pub fn new(program: impl Into<String>, args: Vec<String>) -> Plugin {
        Plugin {
            program: program.into(),
            args,
            timeout: DEFAULT_TIMEOUT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            env: Vec::new(),
        }
    }

    pub fn timeout(mut self, timeout: Duration) -> Plugin {
        self.timeout = timeout;
        self
    }

    /// Runs the plugin once. Never fails: everything that can go wrong is an UNKNOWN result.
    pub fn run(&self) -> CheckResult {
        let mut command = Command::new(&self.program)
            .args(&self.args)
            .timeout(self.timeout)
            .output_limit(self.output_limit);
        for (k, v) in &self.env {
            command = command.env(k, v);
        }
        match command.run() {
            Ok(output) => {
                // Plugins print to stdout; when a broken one only complains on stderr, show that.
                let stream = if output.stdout.bytes.iter().all(u8::is_ascii_whitespace)
                    && output.stderr.total > 0
                {
                    &output.stderr
                } else {
                    &output.stdout
                };
                let text = String::from_utf8_lossy(&stream.bytes);
                let mut result = match output.status {
                    Status::Exited(code) => match State::from_code(i64::from(code)) {
                        Some(state) => CheckResult::from_output(state, &text, output.duration),
                        None => unknown_with_output(
                            format!("plugin exited with code {code}, not 0-3"),
                            &text,
                            output.duration,
                        ),
                    },
                    Status::Signaled(signal) => unknown_with_output(
                        format!("plugin was killed by signal {signal}{}", signal_name(signal)),
                        &text,
                        output.duration,
                    ),
                    Status::TimedOut { after, .. } => unknown_with_output(
                        format!("timeout after {}", ward_process::human(after)),
                        &text,
                        output.duration,
                    ),
                };
                if stream.truncated() {
                    result.problems.push(format!(
                        "output truncated to {} bytes (the plugin wrote {})",
                        stream.bytes.len(),
                        stream.total
                    ));
                }
                result
            }
            Err(error) => {
                let summary = match &error {
                    ProcessError::NotFound { program } => format!("plugin not found: {program}"),
                    ProcessError::PermissionDenied { program } => {
                        format!("plugin is not executable: {program}")
                    }
                    other => format!("cannot run plugin: {other}"),
                };
                CheckResult::new(State::Unknown, summary)
            }
        }
    }
}

/// UNKNOWN with `reason` as the summary; what the plugin printed becomes the long output and
/// its performance data is kept.
fn unknown_with_output(reason: String, text: &str, duration: Duration) -> CheckResult {
    let parsed = CheckResult::from_output(State::Unknown, text, duration);
    let mut result = CheckResult::new(State::Unknown, reason);
    result.duration = duration;
    result.perfdata = parsed.perfdata;
    if !text.trim().is_empty() {
        let mut long = parsed.summary;
        if !parsed.long_output.is_empty() {
            long.push('\n');
            long.push_str(&parsed.long_output);
        }
        result.long_output = long;
    }
    result
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        6 => " (SIGABRT)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}
