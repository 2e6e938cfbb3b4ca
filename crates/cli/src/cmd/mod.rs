//! Subcommand implementations. Each takes resolved arguments and returns the exit code.

use std::io::Write;
use std::process::ExitCode;

use crate::cli::{Cli, Command, Lazy};

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
        Command::Version(Lazy(command)) => version::run(command),
        Command::Check(Lazy(command)) => check::run(command),
        Command::Run(Lazy(args)) => run::run(args),
        Command::Db(Lazy(args)) => db::run(args),
        Command::Inventory(Lazy(args)) => inventory::run(args),
        Command::Scan(Lazy(args)) => scan::run(args),
        Command::Patch(Lazy(command)) => patch::run(command),
        Command::Agent(Lazy(args)) => agent::run(args),
        Command::Server(Lazy(args)) => server::run(args),
        Command::Audit(Lazy(args)) => server::audit(args),
        Command::Up(Lazy(args)) => up::run(args),
    }
}

/// Leaves `value` to the process's exit, which returns all its memory at once: a one-shot
/// command's last big structures (the advisory index with the records it decoded, the
/// inventory, the findings) would otherwise be freed one allocation at a time — 4 % of a
/// scan. Only for values whose drop does nothing but free memory (a read-only SQLite
/// connection has nothing to flush).
pub(crate) fn free_at_exit<T>(value: T) {
    std::mem::forget(value);
}

/// Writes to standard error, ignoring a closed pipe.
pub fn write_stderr(text: &str) -> std::io::Result<()> {
    std::io::stderr().lock().write_all(text.as_bytes())
}
