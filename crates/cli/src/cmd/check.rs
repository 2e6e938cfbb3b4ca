//! `ward check`: run a plugin or built-in check once and print the parsed result.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use ward_monitor::builtin::{Builtin, Params};
use ward_monitor::exec::Plugin;
use ward_monitor::story::Story;
use ward_monitor::{CheckResult, State};

use crate::cli::{BuiltinParams, CheckCommand, CheckRunArgs, OutputFormat};

pub fn run(command: CheckCommand) -> anyhow::Result<ExitCode> {
    match command {
        // Like a plugin, `ward check run` reports its own usage errors as UNKNOWN (3), so a
        // monitoring system running it never mistakes one for CRITICAL (2).
        CheckCommand::Run(args) => check_run(args).or_else(|error| {
            super::write_stderr(&format!("ward: error: {error:#}\n"))?;
            Ok(ExitCode::from(State::Unknown.code()))
        }),
    }
}

fn timeout_of(seconds: f64) -> anyhow::Result<Duration> {
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
