//! The `ward` binary: parses the command line and hands off to a subcommand.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod cmd;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // Diagnostics (rejected passive results, killed plugins...) go to standard error;
    // `WARD_LOG=debug` shows every process ward starts. Secrets are never logged.
    // `ward agent` is a service: its progress (reports spooled and accepted) is logged too.
    let default = match args.command {
        cli::Command::Agent(_) => "warn,ward=info,ward_agent=info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    match cmd::run(args) {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: "reading stdin: ...".
            let _ = cmd::write_stderr(&format!("ward: error: {error:#}\n"));
            ExitCode::from(cmd::EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_grammar_is_consistent() {
        super::cli::Cli::command().debug_assert();
    }

    /// Subcommands' arguments are added only when one is built (`cli::Lazy`); building one
    /// adds its arguments and keeps the help text the subcommand was declared with.
    #[test]
    fn deferred_subcommands_keep_their_help() {
        let declared = super::cli::Cli::command();
        let mut built = declared.clone();
        built.build();
        let mut checked = 0;
        for sub in declared.get_subcommands() {
            let name = sub.get_name();
            assert_eq!(sub.get_arguments().count(), 0, "{name} is built before it is needed");
            let mut full = built.find_subcommand(name).unwrap().clone();
            full.build();
            assert_eq!(full.get_about(), sub.get_about(), "{name}");
            assert_eq!(full.get_long_about(), sub.get_long_about(), "{name}");
            assert!(
                full.get_arguments().count() + full.get_subcommands().count() > 1,
                "{name} has nothing after building"
            );
            checked += 1;
        }
        assert!(checked >= 11, "{checked}");
    }
}
