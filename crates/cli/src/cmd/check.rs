//! `ward check`: run a plugin or built-in check once and print the parsed result.

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use ward_monitor::exec::Plugin;
use ward_monitor::CheckResult;

use crate::cli::{CheckCommand, CheckRunArgs, OutputFormat};

pub fn run(command: CheckCommand) -> anyhow::Result<ExitCode> {
    match command {
        CheckCommand::Run(args) => check_run(args),
    }
}

fn timeout_of(seconds: f64) -> anyhow::Result<Duration> {
    if !(seconds.is_finite() && seconds > 0.0) {
        bail!("--timeout must be a positive number of seconds, not {seconds}");
    }
    Duration::try_from_secs_f64(seconds).context("--timeout")
}

fn check_run(args: CheckRunArgs) -> anyhow::Result<ExitCode> {
    let timeout = timeout_of(args.timeout)?;
    let Some((program, rest)) = args.plugin.split_first() else {
        bail!("nothing to run: give a plugin after `--` (ward check run -- check_dummy 0 ok)");
    };
    let result = Plugin::new(program.clone(), rest.to_vec()).timeout(timeout).run();
    print_result(&result, args.format)?;
    Ok(ExitCode::from(result.state.code()))
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
