//! Subcommand implementations. Each takes resolved arguments and returns the exit code.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Cli, Command};

mod agent;
mod check;
mod db;
mod inventory;
mod patch;
mod run;
mod scan;
mod server;
mod up;
mod version;

/// Exit status for "the check found what it looks for" (a range not satisfied, a finding).
pub const EXIT_FOUND: u8 = 1;
/// Exit status for errors (bad input, unreadable files...).
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Version(command) => version::run(command),
        Command::Check(command) => check::run(command),
        Command::Run(args) => run::run(args),
        Command::Db(args) => db::run(args),
        Command::Inventory(args) => inventory::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Patch(command) => patch::run(command),
        Command::Agent(args) => agent::run(args),
        Command::Server(args) => server::run(args),
        Command::Audit(args) => server::audit(args),
        Command::Up(args) => up::run(args),
    }
}

/// Writes to standard error, ignoring a closed pipe.
pub fn write_stderr(text: &str) -> std::io::Result<()> {
    std::io::stderr().lock().write_all(text.as_bytes())
}
