//! `ward check`: run a plugin or built-in check once and print the parsed result.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use ward_monitor::builtin::{Builtin, Params};
use ward_monitor::config::{Config, DEFAULT_STATE_DIR};
use ward_monitor::engine::{NotificationKind, Outcome, Suppressed};
use ward_monitor::exec::Plugin;
use ward_monitor::scheduler::{read_status, RunMode, Scheduler, StatusFile};
use ward_monitor::spool::{self, AckRequest, DowntimeRequest, Message, Submission};
use ward_monitor::story::Story;
use ward_monitor::time::parse_duration;
use ward_monitor::time::Timestamp;
use ward_monitor::{CheckResult, State};

use crate::cli::{
    AckArgs, BuiltinParams, CheckCommand, CheckRunArgs, DowntimeArgs, OutputFormat, ServeArgs,
    StateDirArgs, StatusArgs, SubmitArgs,
};

pub fn run(command: CheckCommand) -> anyhow::Result<ExitCode> {
    match command {
        CheckCommand::Serve(args) => serve(args),
        CheckCommand::Status(args) => status(args),
        CheckCommand::Submit(args) => submit(args),
        CheckCommand::Ack(args) => ack(args),
        CheckCommand::Downtime(args) => downtime(args),
        // Like a plugin, `ward check run` reports its own usage errors as UNKNOWN (3), so a
        // monitoring system running it never mistakes one for CRITICAL (2).
        CheckCommand::Run(args) => check_run(args).or_else(|error| {
            super::write_stderr(&format!("ward: error: {error:#}\n"))?;
            Ok(ExitCode::from(State::Unknown.code()))
        }),
    }
}

pub fn timeout_of(seconds: f64) -> anyhow::Result<Duration> {
    if !(seconds.is_finite() && seconds > 0.0) {
        bail!("--timeout must be a positive number of seconds, not {seconds}");
    }
    Duration::try_from_secs_f64(seconds).context("--timeout")
}

fn check_run(args: Box<CheckRunArgs>) -> anyhow::Result<ExitCode> {
    let timeout = timeout_of(args.timeout)?;
    let params = params_of(&args.params)?;
    let result = if let Some(kind) = &args.builtin {
        Builtin::from_params(kind, &params).context("--builtin")?.run(timeout)
    } else if !params.is_empty() {
        bail!("built-in check parameters ({}) need --builtin KIND", keys(&params));
    } else if let Some(path) = &args.story {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Story::parse(&path.display().to_string(), &text)?.run(timeout)
    } else {
        let Some((program, rest)) = args.plugin.split_first() else {
            bail!("nothing to run: give a plugin after `--` (ward check run -- check_dummy 0 ok), --builtin or --story");
        };
        Plugin::new(program.clone(), rest.to_vec()).timeout(timeout).run()
    };
    print_result(&result, args.format)?;
    Ok(ExitCode::from(result.state.code()))
}

fn keys(params: &Params) -> String {
    params.keys().map(|k| format!("--{}", k.replace('_', "-"))).collect::<Vec<_>>().join(", ")
}

/// The built-in parameters given on the command line, by parameter name.
fn params_of(p: &BuiltinParams) -> anyhow::Result<Params> {
    let mut params = Params::new();
    let named = [
        ("url", &p.url),
        ("method", &p.method),
        ("status", &p.status),
        ("contains", &p.contains),
        ("regex", &p.regex),
        ("header", &p.header),
        ("max_redirects", &p.max_redirects),
        ("host", &p.host),
        ("port", &p.port),
        ("send", &p.send),
        ("expect", &p.expect),
        ("name", &p.name),
        ("path", &p.path),
        ("warning", &p.warning),
        ("critical", &p.critical),
    ];
    for (key, value) in named {
        if let Some(v) = value {
            params.insert(key.to_string(), v.clone());
        }
    }
    for kv in &p.extra {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--param {kv:?}: expected KEY=VALUE");
        };
        params.insert(k.trim().replace('-', "_"), v.to_string());
    }
    Ok(params)
}

/// Prints a result in the chosen format; problems in the output go to standard error.
pub fn print_result(result: &CheckResult, format: OutputFormat) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut out, &result.to_json())?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            // Plugins usually name their state in the summary ("DISK OK - ..."); ward adds it
            // only when they do not, so wrapped output reads like the plugin's own.
            if result.summary.contains(result.state.name()) {
                writeln!(out, "{}", result.to_plugin_text())?;
            } else {
                writeln!(out, "{}: {}", result.state, result.to_plugin_text())?;
            }
        }
    }
    out.flush()?;
    drop(out);
    if format == OutputFormat::Text {
        for problem in &result.problems {
            super::write_stderr(&format!("ward: warning: {problem}\n"))?;
        }
    }
    Ok(())
}

/// Resolves the state directory: `--state-dir`, the config's, `$WARD_STATE_DIR`, the default.
pub fn state_dir(args: &StateDirArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.state_dir {
        return Ok(dir.clone());
    }
    if let Some(file) = &args.config {
        return Ok(Config::load(file)?.state_dir);
    }
    Ok(std::env::var_os("WARD_STATE_DIR")
        .map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), PathBuf::from))
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config)?;
    let now = Timestamp::now();
    let mut scheduler = Scheduler::new(config, now).context("building the check engine")?;
    let mode = match args.duration {
        _ if args.once => RunMode::Once,
        Some(secs) => RunMode::Until(now + timeout_of(secs).context("--duration")?),
        None => RunMode::Forever,
    };
    let format = args.format;
    let mut failed: Option<io::Error> = None;
    let mut print = |o: &Outcome, summary: &str| {
        if !(o.state_change || o.hard_change || !o.notifications.is_empty() || args.once) {
            return;
        }
        if let Err(e) = print_outcome(o, summary, format) {
            failed.get_or_insert(e);
        }
    };
    let dir = scheduler.state_dir().display().to_string();
    scheduler
        .run(mode, &mut print)
        .with_context(|| format!("writing to the state directory {dir}"))?;
    if let Some(e) = failed {
        return Err(e).context("writing to standard output");
    }
    if args.once {
        let file = scheduler.status_file(Timestamp::now());
        print_status(&file, format)?;
        return Ok(ExitCode::from(worst(&file)));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(o: &Outcome, summary: &str, format: OutputFormat) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let now = Timestamp::now();
    match format {
        OutputFormat::Json => {
            let notifications: Vec<_> = o
                .notifications
                .iter()
                .map(|n| {
                    serde_json::json!({
                        "kind": notification_name(n.kind),
                        "state": n.state.name(),
                        "suppressed": n.suppressed.as_ref().map(suppressed_reason),
                    })
                })
                .collect();
            let line = serde_json::json!({
                "schema": "ward.check-event/1",
                "at": now.to_string(),
                "check": o.check,
                "state": o.state.name(),
                "state_type": o.state_type.name(),
                "attempt": o.attempt,
                "max_attempts": o.max_attempts,
                "hard_change": o.hard_change,
                "summary": summary,
                "notifications": notifications,
            });
            writeln!(out, "{line}")?;
        }
        OutputFormat::Text => {
            writeln!(
                out,
                "{now} {} {} {} {}/{}: {summary}",
                o.check,
                o.state,
                o.state_type.name(),
                o.attempt,
                o.max_attempts
            )?;
            for n in &o.notifications {
                match &n.suppressed {
                    None => writeln!(out, "  notify {} {}", notification_name(n.kind), n.state)?,
                    Some(s) => writeln!(
                        out,
                        "  notify {} {} suppressed: {}",
                        notification_name(n.kind),
                        n.state,
                        suppressed_reason(s)
                    )?,
                }
            }
        }
    }
    out.flush()
}

fn notification_name(kind: NotificationKind) -> &'static str {
    match kind {
        NotificationKind::Problem => "PROBLEM",
        NotificationKind::Recovery => "RECOVERY",
        NotificationKind::FlappingStart => "FLAPPINGSTART",
        NotificationKind::FlappingEnd => "FLAPPINGEND",
    }
}

fn suppressed_reason(s: &Suppressed) -> String {
    match s {
        Suppressed::Unreachable { parent } => format!("unreachable (parent {parent} is down)"),
        Suppressed::InDowntime { downtime } => format!("in downtime {downtime}"),
        Suppressed::Flapping => "flapping".to_string(),
        Suppressed::Acknowledged => "acknowledged".to_string(),
    }
}

/// The exit code for a whole status: the worst state, UNREACHABLE as CRITICAL.
fn worst(file: &StatusFile) -> u8 {
    let state = file
        .checks
        .iter()
        .filter_map(|c| match c.state.as_str() {
            "UNREACHABLE" => Some(State::Critical),
            "PENDING" => None,
            other => State::parse(other),
        })
        .fold(State::Ok, State::worst);
    state.code()
}

fn print_status(file: &StatusFile, format: OutputFormat) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match format {
        OutputFormat::Json => {
            serde_json::to_writer(&mut out, file)?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            let width = file.checks.iter().map(|c| c.name.len()).max().unwrap_or(5).max(5);
            writeln!(
                out,
                "{:<11} {:<4} {:>7}  {:<width$}  SUMMARY",
                "STATE", "TYPE", "ATTEMPT", "CHECK"
            )?;
            for c in &file.checks {
                let mut flags = Vec::new();
                if c.flapping {
                    flags.push("flapping");
                }
                if c.acknowledged {
                    flags.push("acknowledged");
                }
                if c.in_downtime {
                    flags.push("in downtime");
                }
                let flags = if flags.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", flags.join(", "))
                };
                writeln!(
                    out,
                    "{:<11} {:<4} {:>7}  {:<width$}  {}{flags}",
                    c.state,
                    c.state_type,
                    format!("{}/{}", c.attempt, c.max_attempts),
                    c.name,
                    c.summary
                )?;
            }
            for d in &file.downtimes {
                let when = if d.active { "active" } else { "scheduled" };
                let flexible =
                    d.flexible_secs.map_or(String::new(), |s| format!(", flexible {s} s"));
                writeln!(
                    out,
                    "downtime {} for {}: {} to {} ({when}{flexible}) by {}: {}",
                    d.id, d.check, d.start, d.end, d.author, d.comment
                )?;
            }
            let s = &file.scheduler;
            writeln!(
                out,
                "{} runs, queue latency mean {:.1} ms, max {:.1} ms; {} passive results, {} heartbeat pings (as of {})",
                s.runs, s.queue_latency_mean_ms, s.queue_latency_max_ms, s.passive_results, s.heartbeat_pings, file.generated_at
            )?;
        }
    }
    out.flush()?;
    Ok(())
}

fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let dir = state_dir(&args.state)?;
    let file = read_status(&dir).map_err(anyhow::Error::msg)?;
    print_status(&file, args.format)?;
    Ok(ExitCode::from(worst(&file)))
}

fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let dir = state_dir(&args.place)?;
    let now = Timestamp::now();
    let message = if args.batch {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text).context("reading results from standard input")?;
        let mut results = Vec::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let mut fields = line.splitn(3, '\t');
            let (Some(check), Some(state), Some(output)) =
                (fields.next(), fields.next(), fields.next())
            else {
                bail!("standard input line {}: expected CHECK<TAB>STATE<TAB>OUTPUT", n + 1);
            };
            if State::parse(state).is_none() {
                bail!("standard input line {}: state {state:?}: use OK, WARNING, CRITICAL, UNKNOWN or 0-3", n + 1);
            }
            results.push(Submission {
                check: check.to_string(),
                state: state.to_string(),
                output: output.replace("\\n", "\n"),
                ttl_secs: args.ttl,
                at_ms: now.millis(),
            });
        }
        Message::Results { results }
    } else {
        let state = args.state.unwrap_or_default();
        if State::parse(&state).is_none() {
            bail!("state {state:?}: use OK, WARNING, CRITICAL, UNKNOWN or 0-3");
        }
        let output = match args.output.as_deref() {
            Some("-") => {
                let mut text = String::new();
                io::stdin()
                    .read_to_string(&mut text)
                    .context("reading the output from standard input")?;
                text
            }
            other => other.unwrap_or_default().to_string(),
        };
        Message::Result(Submission {
            check: args.check.unwrap_or_default(),
            state,
            output,
            ttl_secs: args.ttl,
            at_ms: now.millis(),
        })
    };
    spool::submit(&dir, &message, now)?;
    Ok(ExitCode::SUCCESS)
}

fn author(given: Option<String>) -> String {
    given.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".to_string())
}

fn ack(args: AckArgs) -> anyhow::Result<ExitCode> {
    let dir = state_dir(&args.place)?;
    let now = Timestamp::now();
    let expires = args.expire.as_deref().map(parse_duration).transpose().context("--expire")?;
    let message = Message::Acknowledge(AckRequest {
        check: args.check,
        author: author(args.author),
        comment: args.comment,
        sticky: args.sticky,
        expires_ms: expires.map(|d| (now + d).millis()),
    });
    spool::submit(&dir, &message, now)?;
    Ok(ExitCode::SUCCESS)
}

fn downtime(args: DowntimeArgs) -> anyhow::Result<ExitCode> {
    let dir = state_dir(&args.place)?;
    let now = Timestamp::now();
    let message = if let Some(id) = args.end {
        Message::EndDowntime { id }
    } else {
        let start = match &args.start {
            None => now,
            Some(text) => {
                let t = chrono_parse(text).with_context(|| {
                    format!("--start {text:?}: expected RFC 3339, e.g. 2026-12-01T02:00:00Z")
                })?;
                Timestamp(t)
            }
        };
        let length =
            parse_duration(args.duration.as_deref().unwrap_or_default()).context("--duration")?;
        if length.is_zero() {
            bail!("--duration must be more than 0");
        }
        let flexible =
            args.flexible.as_deref().map(parse_duration).transpose().context("--flexible")?;
        Message::Downtime(DowntimeRequest {
            check: args.check.unwrap_or_default(),
            start_ms: start.millis(),
            end_ms: (start + length).millis(),
            flexible_secs: flexible.map(|d| d.as_secs().max(1)),
            author: author(args.author),
            comment: args.comment.unwrap_or_default(),
        })
    };
    spool::submit(&dir, &message, now)?;
    Ok(ExitCode::SUCCESS)
}

/// Milliseconds since the epoch of an RFC 3339 time.
fn chrono_parse(text: &str) -> anyhow::Result<i64> {
    Ok(ward_monitor::time::parse_rfc3339(text)?.millis())
}
