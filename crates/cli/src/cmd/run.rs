//! `ward run --heartbeat NAME -- CMD...`: wrap a cron job and report its runs.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use ward_monitor::heartbeat::{HeartbeatEvent, Ping};
use ward_monitor::spool::{self, Message};
use ward_monitor::time::Timestamp;
use ward_process::{Command, ProcessError, Status};

use crate::cli::RunArgs;

/// Bytes of the job's output kept for the failure report (per stream).
const TAIL_BYTES: usize = 4096;

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let state_dir = super::check::state_dir(&args.state)?;
    let timeout = args.timeout.map(super::check::timeout_of).transpose()?;
    let (program, rest) = args.command.split_first().context("no command given after `--`")?;
    let report = |ping: Ping| {
        if let Err(e) = spool::submit(&state_dir, &Message::Heartbeat(ping), Timestamp::now()) {
            // The job runs whether or not ward can record it.
            let _ = super::write_stderr(&format!("ward: warning: heartbeat not recorded: {e}\n"));
        }
    };
    let ping = |event, exit_code, duration_ms, output_tail| Ping {
        name: args.heartbeat.clone(),
        event,
        at_ms: Timestamp::now().millis(),
        exit_code,
        duration_ms,
        output_tail,
    };
    report(ping(HeartbeatEvent::Start, None, None, String::new()));
    let mut command = Command::new(program).args(rest).output_limit(TAIL_BYTES).keep_tail();
    if let Some(t) = timeout {
        command = command.timeout(t);
    }
    let (code, event, duration, tail) = match command.run() {
        Ok(out) => {
            // Pass the job's output through (its tail: cron mails what it gets).
            let _ = std::io::stdout().lock().write_all(&out.stdout.bytes);
            let _ = std::io::stderr().lock().write_all(&out.stderr.bytes);
            let mut tail = String::from_utf8_lossy(&out.stdout.bytes).into_owned();
            if !out.stderr.bytes.is_empty() {
                tail.push_str(&String::from_utf8_lossy(&out.stderr.bytes));
            }
            let code = match out.status {
                Status::Exited(c) => c,
                Status::Signaled(s) => 128 + s,
                Status::TimedOut { after, .. } => {
                    tail.push_str(&format!("\nward: timeout after {}", ward_process::human(after)));
                    124
                }
            };
            let event = if out.status.success() {
                HeartbeatEvent::Success
            } else {
                HeartbeatEvent::Failure
            };
            (code, event, Some(out.duration), tail)
        }
        Err(e) => {
            let code = match e {
                ProcessError::NotFound { .. } | ProcessError::PermissionDenied { .. } => 127,
                _ => 126,
            };
            let _ = super::write_stderr(&format!("ward: error: {e}\n"));
            (code, HeartbeatEvent::Failure, None, e.to_string())
        }
    };
    let duration_ms = duration.map(|d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    report(ping(event, Some(code), duration_ms, tail));
    Ok(ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(255)))
}
