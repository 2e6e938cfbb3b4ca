//! Command-line grammar (clap). This is the raw, unvalidated form; `cmd` resolves it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// ward keeps Linux servers and the web applications on them patched and watched.
///
/// It inventories what runs where, matches it against vulnerability advisories, applies fixes
/// through a staged, verified, reversible pipeline, and proves it all to an auditor.
///
/// Exit codes: 0 success, 1 a check found what it looks for (e.g. a version that does not
/// satisfy a range), 2 error. `ward check` and `ward run` follow the monitoring-plugin
/// convention instead (see `ward check --help`).
#[derive(Debug, Parser)]
#[command(name = "ward", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// A top-level subcommand's arguments, added to the grammar only when that subcommand is the
/// one given (`Command::defer`): `ward scan` does not build the hundreds of arguments of the
/// other commands (a fifth of a small scan's instructions). `ward SUBCOMMAND --help` builds
/// that subcommand's; the grammar test builds them all.
#[derive(Debug)]
pub struct Lazy<T>(pub T);

impl<T: clap::FromArgMatches> clap::FromArgMatches for Lazy<T> {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Lazy)
    }
    fn from_arg_matches_mut(matches: &mut clap::ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Lazy)
    }
    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(
        &mut self,
        matches: &mut clap::ArgMatches,
    ) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}

impl<T: Args> Args for Lazy<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(keeping_about::<T, false>)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(keeping_about::<T, true>)
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: Subcommand> Subcommand for Lazy<T> {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        cmd.defer(keeping_about_sub::<T, false>)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(keeping_about_sub::<T, true>)
    }
    fn has_subcommand(name: &str) -> bool {
        T::has_subcommand(name)
    }
}

/// The deferred half of [`Lazy`]: the arguments, without the argument struct's own doc comment
/// replacing the subcommand's help text (which the derive set first).
fn keeping_about<T: Args, const UPDATE: bool>(cmd: clap::Command) -> clap::Command {
    let (about, long) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
    let cmd = if UPDATE { T::augment_args_for_update(cmd) } else { T::augment_args(cmd) };
    with_about(cmd, about, long)
}

fn keeping_about_sub<T: Subcommand, const UPDATE: bool>(cmd: clap::Command) -> clap::Command {
    let (about, long) = (cmd.get_about().cloned(), cmd.get_long_about().cloned());
    let cmd =
        if UPDATE { T::augment_subcommands_for_update(cmd) } else { T::augment_subcommands(cmd) };
    with_about(cmd, about, long)
}

fn with_about(
    cmd: clap::Command,
    about: Option<clap::builder::StyledStr>,
    long: Option<clap::builder::StyledStr>,
) -> clap::Command {
    use clap::builder::Resettable;
    let about = about.map_or(Resettable::Reset, Resettable::Value);
    let long = long.map_or(Resettable::Reset, Resettable::Value);
    cmd.about(about).long_about(long)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare versions and test ranges exactly as each ecosystem's own tools do.
    ///
    /// Use it to debug a match: "is 1.2.3-1~deb12u1 older than 1.2.3-1 on Debian?",
    /// "does 4.17.20 satisfy the npm range <4.17.21?".
    #[command(subcommand)]
    Version(Lazy<VersionCommand>),

    /// Run monitoring checks: Nagios / Monitoring-Plugins plugins, built-in checks, user stories.
    ///
    /// The exit code of `ward check run` is the check's state: 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN (exactly as the plugin's, so ward can wrap plugins for other tools).
    #[command(subcommand)]
    Check(Lazy<CheckCommand>),

    /// Run a job (e.g. from cron) and report it as a heartbeat to `ward check serve`.
    ///
    /// Signals start, then success or failure with the exit code, duration and the tail of
    /// the output. The job's output is passed through; ward exits with the job's exit code
    /// (124 on timeout, 127 when it cannot be started, 128+N for signal N).
    ///
    /// Example (crontab):
    ///   0 2 * * *  ward run --heartbeat nightly-backup --config /etc/ward/checks.toml -- /usr/local/bin/backup
    #[command(verbatim_doc_comment)]
    Run(Lazy<RunArgs>),

    /// The local advisory database: import feeds, update them, look advisories up.
    ///
    /// The index lives in the data directory: `--data-dir`, else `WARD_DATA_DIR`, else
    /// `$XDG_DATA_HOME/ward` (`~/.local/share/ward`) for users and `/var/lib/ward` for root.
    /// Every change builds a new index beside the old one and swaps it in atomically.
    Db(Lazy<DbArgs>),

    /// List the packages installed or locked in files and directories.
    ///
    /// Each PATH may be a lockfile or manifest (Cargo.lock, package-lock.json, yarn.lock,
    /// pnpm-lock.yaml, bun.lock, composer.lock, requirements*.txt, poetry.lock, Pipfile.lock,
    /// pdm.lock, uv.lock, pylock.toml, go.mod, Gemfile.lock, pom.xml, gradle.lockfile,
    /// packages.lock.json, mix.lock, pubspec.lock, conan.lock, renv.lock...), a Drupal
    /// tarball install, an SBOM (CycloneDX or SPDX JSON), an OS package database (dpkg
    /// `status`, apk `installed`, recognised by content under any name), a Go executable, or a
    /// directory to search. Directories are searched in parallel, respecting .gitignore,
    /// skipping VCS folders and node_modules, never following symbolic links (Go executables
    /// are read only when named). Unreadable or malformed files are reported on standard
    /// error (and under "errors" in JSON) and the rest continues; the command then exits
    /// with status 2.
    ///
    /// Examples:
    ///   ward inventory                                   # the current directory
    ///   ward inventory package-lock.json --format json
    ///   ward inventory /var/lib/dpkg/status --format cyclonedx > sbom.cdx.json
    ///   ward inventory --host                            # this machine and its apps
    #[command(verbatim_doc_comment)]
    Inventory(Lazy<InventoryArgs>),

    /// Find what is vulnerable: packages × the advisory index → findings with severity and fix.
    ///
    /// PATH is anything `ward inventory` accepts (lockfiles, SBOMs, OS package databases,
    /// directories to search); `--host` adds this machine's OS packages and the pending
    /// updates of its distribution's security suite (read from apt's own lists, no network).
    /// Each finding names the advisory (aliases merged: one finding, not three), its CVSS
    /// score computed from the vector (or the feed's rating), KEV and EPSS when imported, the
    /// fixed versions, and per package the smallest upgrade that fixes every finding with the
    /// command that applies it. Findings are sorted by risk: known exploited first, then
    /// severity × EPSS. Unmaintained/unsound notices are listed apart and never fail the scan.
    ///
    /// Ignore rules live in `ward.toml` (`[[scan.ignore]]` with `id`/`package`/`path`/`host`,
    /// a `reason` and an `expires` date; an expired rule stops hiding and warns); OpenVEX
    /// documents (`--vex`) hide `not_affected` and `fixed` statements.
    ///
    /// Without --offline, a missing index or one older than --max-db-age-hours is updated
    /// first (`ward db update`); if that fails the scan goes on with what is there.
    ///
    /// Exit codes (stable): 0 no finding at or above --fail-on, 1 findings at or above it,
    /// 2 error (an input or advisory could not be read: the result is incomplete).
    /// Findings without any severity count as critical for --fail-on.
    ///
    /// Examples:
    ///   ward scan                                  # the current directory
    ///   ward scan Cargo.lock --fail-on high
    ///   ward scan --host --format json > host.json
    ///   ward scan --sbom bom.cdx.json --format sarif --output ward.sarif
    #[command(verbatim_doc_comment)]
    Scan(Lazy<ScanArgs>),

    /// Run the fleet server: the HTTP API agents report to and people and scripts query.
    ///
    /// The store is one SQLite file in the data directory by default (migrated on start);
    /// --database postgres://… uses PostgreSQL, where several servers may share one fleet.
    /// Whenever the advisory index in the data directory changes (`ward db update`), the
    /// fleet's findings are re-matched without any agent: new and resolved findings become
    /// events. The API is under /api/v1, described by /api/v1/openapi.json.
    ///
    /// Examples:
    ///   ward server init                       # the first admin: prints a one-time token
    ///   ward server --listen 0.0.0.0:8440 --tls-cert cert.pem --tls-key key.pem
    ///   ward server --database postgres://ward@db.internal/ward
    #[command(verbatim_doc_comment)]
    Server(Lazy<ServerArgs>),

    /// The server's audit log: `ward audit verify` checks its hash chain.
    Audit(Lazy<AuditArgs>),

    /// Start ward in one step: the server on SQLite, a local agent, and the advisory data.
    ///
    /// Imports the advisories given with --advisories (files, folders, zips or URLs, as
    /// `ward db import`), or, when there is no index yet, fetches the configured feeds
    /// (`ward db update`); creates the first admin (its one-time token is saved, mode 0600,
    /// in the data directory and printed once); starts the API; enrolls an agent for this
    /// machine (or --root) and reports its inventory; then prints this host's findings and
    /// where to look next. Runs until Ctrl-C. Everything is kept in the data directory, so
    /// running it again continues where it stopped.
    ///
    /// Examples:
    ///   ward up --advisories ../shared/data/advisories
    ///   ward up --data-dir /var/lib/ward --listen 0.0.0.0:8440
    #[command(verbatim_doc_comment)]
    Up(Lazy<UpArgs>),

    /// Apply updates safely: plan, back up, apply, verify, restart, roll back (apt/dpkg).
    ///
    /// `plan` lists what `apply` would install: exactly apt's own resolution of the selection
    /// (security-only as unattended-upgrades decides, --allow/--deny, apt holds and pins),
    /// with the CVEs each update fixes read from its changelog. `apply` repairs an interrupted
    /// dpkg, backs up the config files the plan touches, keeps the installed packages for
    /// rollback, runs pre-hooks (a failing one vetoes), checks health, installs one source
    /// package at a time (keeping locally modified config files; a package that would ask
    /// about one is held back and reported), restarts services running replaced code (never
    /// the never-restart list), runs post-hooks and checks again, and rolls back to exactly
    /// the previous versions and config files if anything fails. Every run is recorded
    /// (`ward.patch-run/1` JSON in the data directory).
    ///
    /// Exit codes: `apply` 0 applied or nothing to do, 1 vetoed or rolled back, 2 failed or
    /// error; `rollback` 0 rolled back, 2 failed; `status` 1 when something needs attention.
    ///
    /// Examples:
    ///   ward patch plan --security-only
    ///   ward patch apply --security-only --reboot when-needed \
    ///       --check 'http url=http://127.0.0.1/ status=200 contains=Welcome' \
    ///       --check 'unit name=nginx' --pre-hook /usr/local/bin/db-backup
    ///   ward patch rollback 20261121T101500Z-1a2b
    ///   ward patch status
    #[command(subcommand, verbatim_doc_comment)]
    Patch(Lazy<PatchCommand>),

    /// Run the host agent: report this machine's inventory and facts to `ward server`.
    ///
    /// The first run enrolls with a one-time token an operator created (`--enroll`); the
    /// agent's own credential is then stored in the state directory (mode 0600) and the token
    /// is no longer needed. The agent collects the OS packages, the lockfiles under the
    /// application roots, host facts (kernel, reboot needed, processes to restart) and the
    /// pending security updates (apt's lists, no network), at start, every --interval (on a
    /// stable per-host phase) and whenever the package database or a lockfile changes. When
    /// few packages changed it sends only the difference. While the server is unreachable,
    /// reports wait in the spool (STATE_DIR/spool, at most 10,000 entries / 256 MiB; past that
    /// the oldest are dropped with a warning) and are delivered exactly once when it returns;
    /// retries back off with jitter up to 5 minutes. SIGTERM or SIGINT stops it cleanly.
    ///
    /// Exit codes: 0 stopped cleanly (with --once: the report was delivered), 2 error (with
    /// --once: not delivered; the report stays spooled for the next run).
    ///
    /// Examples:
    ///   ward agent --server https://ward.example.com --enroll ward_enrollment_…
    ///   ward agent --server https://ward.example.com --group web --tag prod
    ///   ward agent --server https://ward.example.com --once
    #[command(verbatim_doc_comment)]
    Agent(Lazy<AgentArgs>),
}

#[derive(Debug, Subcommand)]
pub enum PatchCommand {
    /// List the updates a run would apply, what each fixes, and what is held back and why.
    Plan(PatchPlanArgs),
    /// Apply the selection: the whole run (see `ward patch --help`).
    Apply(PatchApplyArgs),
    /// Undo a recorded run: reinstall its previous versions and restore its config files.
    Rollback(PatchRollbackArgs),
    /// List recorded runs, newest first.
    History(PatchHistoryArgs),
    /// What needs attention: failed or rolled-back runs, held packages, config-file prompts,
    /// a reboot pending too long, no successful run for too long.
    Status(PatchStatusArgs),
}

/// Where ward patches and keeps its records.
#[derive(Debug, Args)]
pub struct PatchTarget {
    /// Patch the Debian system in this folder (entered with chroot) instead of this host.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// The data directory holding the run records [env: WARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = PatchFormat::Table)]
    pub format: PatchFormat,
}

/// Which pending updates to take.
#[derive(Debug, Args)]
pub struct PatchSelectionArgs {
    /// Only updates from the distribution's security suite (and what they need).
    #[arg(long)]
    pub security_only: bool,
    /// Only packages matching this glob (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub allow: Vec<String>,
    /// Never these packages, nor updates that need theirs (repeatable glob).
    #[arg(long, value_name = "PATTERN")]
    pub deny: Vec<String>,
    /// Do not download the new packages while planning (CVEs only from packages already in
    /// apt's cache).
    #[arg(long)]
    pub no_download: bool,
}

#[derive(Debug, Args)]
pub struct PatchPlanArgs {
    #[command(flatten)]
    pub target: PatchTarget,
    #[command(flatten)]
    pub selection: PatchSelectionArgs,
}

/// Health checks, hooks and restarts (apply and rollback).
#[derive(Debug, Args)]
pub struct PatchVerifyArgs {
    /// A health check that must pass before and after (repeatable): `http url=URL status=200
    /// contains=TEXT`, `tcp host=H port=P`, `unit name=UNIT`, `process name=N`, any built-in
    /// check of `ward check run`, a bare URL, or `cmd PROGRAM ARGS...` (Nagios exit codes).
    #[arg(long = "check", value_name = "SPEC")]
    pub checks: Vec<String>,
    /// Seconds each check and hook may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub check_timeout: f64,
    /// Never restart these systemd units (glob; repeatable; added to the built-in list).
    #[arg(long, value_name = "UNIT")]
    pub never_restart: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PatchApplyArgs {
    #[command(flatten)]
    pub target: PatchTarget,
    #[command(flatten)]
    pub selection: PatchSelectionArgs,
    #[command(flatten)]
    pub verify: PatchVerifyArgs,
    /// A command (sh -c) run before any change; a non-zero exit vetoes the run (repeatable).
    #[arg(long, value_name = "CMD")]
    pub pre_hook: Vec<String>,
    /// A command (sh -c) run after the update; a non-zero exit rolls the run back (repeatable).
    #[arg(long, value_name = "CMD")]
    pub post_hook: Vec<String>,
    /// Reboot policy after a successful run.
    #[arg(long, value_name = "POLICY", default_value = "never")]
    pub reboot: String,
    /// Minutes between the wall message and the reboot.
    #[arg(long, value_name = "MINUTES", default_value_t = 5)]
    pub reboot_delay: u32,
    /// Reboot even while users are logged in.
    #[arg(long)]
    pub reboot_with_sessions: bool,
    /// Minutes all install steps together may take.
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    pub timeout: u64,
}

#[derive(Debug, Args)]
pub struct PatchRollbackArgs {
    /// The run to undo (from `ward patch history`).
    pub run_id: String,
    #[command(flatten)]
    pub target: PatchTarget,
    #[command(flatten)]
    pub verify: PatchVerifyArgs,
}

#[derive(Debug, Args)]
pub struct PatchHistoryArgs {
    #[command(flatten)]
    pub target: PatchTarget,
    /// Show at most this many runs.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct PatchStatusArgs {
    #[command(flatten)]
    pub target: PatchTarget,
    /// Alert when a required reboot has been pending longer than this.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub reboot_pending_days: u32,
    /// Alert when no run succeeded for this long.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub max_days_without_success: u32,
}

/// How `ward patch` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PatchFormat {
    /// For people.
    Table,
    /// `ward.patch-plan/1`, `ward.patch-run/1`, `ward.patch-history/1`, `ward.patch-status/1`
    /// (docs/json/patch.md).
    Json,
}

/// Where `ward check serve` keeps its state (status, metrics, the passive spool).
#[derive(Debug, Args)]
pub struct StateDirArgs {
    /// The serve configuration file; its `[serve] state_dir` is used.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The state directory itself (default: $WARD_STATE_DIR, else /var/lib/ward/checks).
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The heartbeat (as declared in the serve configuration) this job reports to.
    #[arg(long, value_name = "NAME")]
    pub heartbeat: String,
    #[command(flatten)]
    pub state: StateDirArgs,
    /// Kill the job's process group after this many seconds (default: no limit).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "COMMAND [ARGS]...")]
    pub command: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Run one check once and print its parsed result.
    ///
    /// Either a plugin after `--` (any Nagios / Monitoring-Plugins compatible program), or a
    /// built-in check with `--builtin`. The exit code is the state code (0-3).
    ///
    /// Examples:
    ///   ward check run -- /usr/lib/nagios/plugins/check_load -w 5,4,3 -c 10,8,6
    ///   ward check run --format json --timeout 10 -- /usr/lib/nagios/plugins/check_tcp -H 127.0.0.1 -p 22
    ///   ward check run --builtin http --url https://shop.example/ --contains Welcome -w 1 -c 3
    ///   ward check run --builtin disk --path /var -w 80 -c 90
    ///   ward check run --story login.toml
    #[command(verbatim_doc_comment)]
    Run(Box<CheckRunArgs>),

    /// Run the scheduler over a configuration file and print state changes as they happen.
    ///
    /// Writes status.json, metrics.prom (Prometheus text) and trends.json into the state
    /// directory, and takes passive results and heartbeats from its spool.
    Serve(ServeArgs),

    /// Show the state of every check of a running (or finished) `ward check serve`.
    ///
    /// Exit code: the worst state (0 OK ... 2 CRITICAL; UNREACHABLE counts as CRITICAL,
    /// UNKNOWN as 3 only when nothing is WARNING or CRITICAL).
    Status(StatusArgs),

    /// Submit a passive result for a check declared with `passive = true`.
    ///
    /// Example:
    ///   ward check submit --config /etc/ward/checks.toml backup-report OK 'backup done | size=12GB'
    #[command(verbatim_doc_comment)]
    Submit(SubmitArgs),

    /// Acknowledge a check's current problem: its problem notifications stop.
    ///
    /// Not sticky (the default): ends at the next state change. Sticky: ends at recovery.
    Ack(AckArgs),

    /// Schedule a downtime for a check (fixed, or flexible), or end one early.
    ///
    /// Examples:
    ///   ward check downtime --config checks.toml shop --duration 1h --comment 'kernel update'
    ///   ward check downtime --config checks.toml shop --start 2026-12-01T02:00:00Z \
    ///       --duration 4h --flexible 30m --comment 'maintenance window'
    ///   ward check downtime --config checks.toml --end 3
    #[command(verbatim_doc_comment)]
    Downtime(DowntimeArgs),
}

#[derive(Debug, Args)]
pub struct AckArgs {
    #[command(flatten)]
    pub place: StateDirArgs,
    /// The check whose problem is acknowledged.
    pub check: String,
    /// Why (shown in the status).
    #[arg(long)]
    pub comment: String,
    /// Who (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// Keep the acknowledgement until the check recovers.
    #[arg(long)]
    pub sticky: bool,
    /// End the acknowledgement after this long (90s, 30m, 4h, 2d).
    #[arg(long, value_name = "DURATION")]
    pub expire: Option<String>,
}

#[derive(Debug, Args)]
pub struct DowntimeArgs {
    #[command(flatten)]
    pub place: StateDirArgs,
    /// The check (not with --end).
    #[arg(required_unless_present = "end", conflicts_with = "end")]
    pub check: Option<String>,
    /// Start (RFC 3339, e.g. 2026-12-01T02:00:00Z; default: now).
    #[arg(long)]
    pub start: Option<String>,
    /// Length of the window (90s, 30m, 4h, 2d).
    #[arg(long, required_unless_present = "end", value_name = "DURATION")]
    pub duration: Option<String>,
    /// Flexible: begins with the first problem inside the window and lasts this long.
    #[arg(long, value_name = "DURATION")]
    pub flexible: Option<String>,
    /// Why (shown in the status).
    #[arg(long, required_unless_present = "end")]
    pub comment: Option<String>,
    /// Who (default: $USER).
    #[arg(long)]
    pub author: Option<String>,
    /// End the downtime with this id (see `ward check status --format json`) now.
    #[arg(long, value_name = "ID")]
    pub end: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (TOML; see `docs/check-config.md`).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Output format of the live state changes.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Run every active check once, write the status, print it (a table, or with
    /// `--format json` the `ward.check-status/1` object as the last line) and exit with the
    /// worst state.
    #[arg(long, conflicts_with = "duration")]
    pub once: bool,
    /// Stop after this many seconds (default: run until stopped).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub state: StateDirArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub place: StateDirArgs,
    /// Seconds this result stays fresh (default: the check's freshness).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
    /// Read many results from standard input, one per line: `CHECK<TAB>STATE<TAB>OUTPUT`
    /// (`\n` in OUTPUT for further lines), submitted as one batch.
    #[arg(long, conflicts_with_all = ["check", "state", "output"])]
    pub batch: bool,
    /// The passive check's name.
    #[arg(required_unless_present = "batch")]
    pub check: Option<String>,
    /// OK, WARNING, CRITICAL, UNKNOWN or 0-3.
    #[arg(required_unless_present = "batch")]
    pub state: Option<String>,
    /// Plugin-style output (`summary | perfdata`, further lines long output); `-` reads it
    /// from standard input.
    #[arg(required_unless_present = "batch")]
    pub output: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text (for checks: `STATE: summary | perfdata`, plugin style).
    Text,
    /// The command's versioned JSON document (see docs/json/).
    Json,
}

#[derive(Debug, Args)]
pub struct CheckRunArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Seconds before the check is stopped and reported UNKNOWN ("timeout after N s"); for
    /// plugins the whole process group is killed (SIGTERM, then SIGKILL).
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Run a built-in check instead of a plugin: http, tcp, dns, process, disk, load,
    /// file_age, unit. Its parameters come from the flags below and `--param`.
    #[arg(long, value_name = "KIND", conflicts_with_all = ["plugin", "story"])]
    pub builtin: Option<String>,
    /// Run a user-story file (multi-step HTTP scenario, TOML) instead of a plugin.
    #[arg(long, value_name = "FILE", conflicts_with = "plugin")]
    pub story: Option<PathBuf>,
    #[command(flatten)]
    pub params: BuiltinParams,
    /// The plugin and its arguments (after `--`).
    #[arg(last = true, value_name = "PLUGIN [ARGS]...")]
    pub plugin: Vec<String>,
}

/// Parameters of built-in checks (each is the parameter of the same name, `-` as `_`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Built-in check parameters")]
pub struct BuiltinParams {
    /// http: the URL to request.
    #[arg(long)]
    pub url: Option<String>,
    /// http: request method (GET, HEAD, POST...).
    #[arg(long)]
    pub method: Option<String>,
    /// http: accepted status codes, comma separated (default: any below 400).
    #[arg(long)]
    pub status: Option<String>,
    /// http: text the body must contain.
    #[arg(long)]
    pub contains: Option<String>,
    /// http: regular expression the body must match.
    #[arg(long)]
    pub regex: Option<String>,
    /// http: `Name: text`, a header that must be present and contain text.
    #[arg(long)]
    pub header: Option<String>,
    /// http: redirects to follow (default 0: the redirect is the response).
    #[arg(long)]
    pub max_redirects: Option<String>,
    /// tcp: host name or address.
    #[arg(long)]
    pub host: Option<String>,
    /// tcp: port.
    #[arg(long)]
    pub port: Option<String>,
    /// tcp: text to send (`\r`, `\n` escapes).
    #[arg(long)]
    pub send: Option<String>,
    /// tcp: text expected in the reply; dns: addresses expected, comma separated; unit:
    /// acceptable active states, comma separated (default active).
    #[arg(long)]
    pub expect: Option<String>,
    /// dns: the name to resolve; process: the process name; unit: the systemd unit (nginx
    /// means nginx.service).
    #[arg(long)]
    pub name: Option<String>,
    /// disk, file_age: the path.
    #[arg(long)]
    pub path: Option<String>,
    /// Warning range (`10`, `10:`, `~:10`, `10:20`, `@10:20`): seconds for http/tcp/dns,
    /// percent used for disk, `l1,l5,l15` for load, age in seconds for file_age, count for
    /// process.
    #[arg(long, short = 'w', allow_hyphen_values = true)]
    pub warning: Option<String>,
    /// Critical range, same units as --warning.
    #[arg(long, short = 'c', allow_hyphen_values = true)]
    pub critical: Option<String>,
    /// Any other parameter, as KEY=VALUE (repeatable): e.g. `--param args=nginx`.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub extra: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// Print `<`, `=` or `>` for two versions of one ecosystem.
    ///
    /// With A and B given, compares them once. Without them, reads lines `A<TAB>B` from
    /// standard input and prints one answer per line, in order; a line that cannot be compared
    /// prints `error: <reason>` and the command exits with status 2 at the end.
    ///
    /// Examples:
    ///   ward version compare --ecosystem Debian 1:2.0-1 2.5-1          # >
    ///   ward version compare --ecosystem PyPI 1.0rc1 1.0.dev3          # >
    ///   printf '1.0.0\t1.0.0-rc.1\n' | ward version compare --ecosystem npm
    #[command(verbatim_doc_comment)]
    Compare(CompareArgs),

    /// Check whether a version satisfies a range; exit 0 if it does, 1 if it does not.
    ///
    /// The range uses the ecosystem's own syntax where it has one: npm ranges for npm
    /// (`>=3.5.1 <4.0.0 || >=4.1.3`, `^1.2`, `2.0.x`), Composer constraints for Packagist
    /// (`>=8.0.0,<9.3.19 || ^10.1`), PEP 440 specifiers for PyPI (`>=1.0,!=1.3.*`). Every
    /// other ecosystem takes comparators joined by `,` (and) and `||` (or):
    /// `>=1.2.3-1, <1.2.3-1+deb12u1`.
    #[command(verbatim_doc_comment)]
    Satisfies(SatisfiesArgs),

    /// List the ecosystems ward knows (OSV names) and how each orders versions.
    Ecosystems,
}

#[derive(Debug, Args)]
pub struct EcosystemArg {
    /// OSV ecosystem name, optionally with a release: npm, PyPI, crates.io, Go, Maven,
    /// NuGet, RubyGems, Packagist, Pub, Hex, CRAN, Hackage, Debian, Debian:12, Ubuntu:22.04,
    /// Alpine:v3.19, Red Hat:9, ... (names are case-insensitive; see `ward version ecosystems`)
    #[arg(long, short = 'e', value_name = "ECOSYSTEM")]
    pub ecosystem: String,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub ecosystem: EcosystemArg,
    /// First version (omit both to read `A<TAB>B` lines from standard input).
    #[arg(requires = "b")]
    pub a: Option<String>,
    /// Second version.
    pub b: Option<String>,
}

#[derive(Debug, Args)]
pub struct SatisfiesArgs {
    #[command(flatten)]
    pub ecosystem: EcosystemArg,
    /// The version to test.
    #[arg(value_name = "VERSION")]
    pub candidate: String,
    /// The range, in the ecosystem's syntax.
    pub range: String,
}

/// `ward server`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: Option<ServerCommand>,
    #[command(flatten)]
    pub common: ServerCommon,
    /// Where to listen [default: 127.0.0.1:8440]
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// PEM certificate chain for HTTPS (with --tls-key)
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with --tls-cert)
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Look for a new advisory index and queued jobs this often, in seconds [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub poll_seconds: Option<u64>,
}

/// What every `ward server` command and `ward audit` need to find the store.
#[derive(Debug, Args)]
pub struct ServerCommon {
    /// `ward.toml` with a [server] table (flags override it)
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// The store: a path, sqlite://PATH or postgres://USER@HOST/DB [default: ward.db in the data directory]
    #[arg(long, value_name = "URL", global = true)]
    pub database: Option<String>,
    /// The data directory (advisory index, default store) [env: WARD_DATA_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create the first admin: prints a one-time admin token (valid 24 h), or sets a password.
    ///
    /// Refused when the store has users already. With --password-stdin the admin logs in
    /// with POST /api/v1/session; otherwise use the printed token as
    /// `Authorization: Bearer <token>` to create users and tokens.
    Init {
        /// The admin's user name
        #[arg(long, default_value = "admin")]
        admin: String,
        /// Read the admin's password from standard input (one line) instead of printing a token
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `ward up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// The data directory (store, advisory index, the local agent's state) [env: WARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the API listens
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8440")]
    pub listen: std::net::SocketAddr,
    /// Advisory sources to import first (paths or URLs, as `ward db import`)
    #[arg(long = "advisories", value_name = "PATH|URL")]
    pub advisories: Vec<String>,
    /// The local agent inventories this root
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Application directories whose lockfiles the local agent inventories too
    #[arg(long = "app-root", value_name = "DIR")]
    pub app_roots: Vec<PathBuf>,
    /// Print the summary, then stop (for scripts and tests)
    #[arg(long)]
    pub once: bool,
}

/// `ward audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    #[command(flatten)]
    pub common: ServerCommon,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the server's audit log: every entry's hash, the chain, and the anchor.
    ///
    /// Reads the store directly (no server needed). Exit 0 when intact, 1 when an entry was
    /// edited, deleted, reordered or the tail truncated (the first bad entry is named), 2 on
    /// error.
    Verify {
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The data directory holding the advisory index [env: WARD_DATA_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Import feeds from files, directories, zip archives or URLs (the format is detected).
    ///
    /// Each PATH becomes one feed, named by its absolute path (a URL by itself); importing
    /// it again replaces that feed's data, and `ward db update` re-reads it from there.
    ///
    /// Formats: OSV JSON and YAML records (files or folders), zips in osv.dev's all.zip
    /// layout, FriendsOfPHP security-advisories YAML, Node.js security WG npm JSON, Alpine
    /// secdb YAML/JSON, RustSec advisories (TOML front matter), Debian/Ubuntu security-suite
    /// apt Packages files, plain or .gz/.xz/.lz4/.zst (named after their suite:
    /// Packages.bookworm-security.main.amd64, or apt's and the mirrors' names),
    /// the Debian security tracker's JSON, CISA KEV JSON and EPSS CSV. Files that are not
    /// advisories (READMEs, licenses) are skipped. Rejected records are listed with their
    /// file and field, the rest is imported, and the command exits 2.
    ///
    /// Examples:
    ///   ward db import ../shared/data/advisories/rustsec-osv
    ///   ward db import all.zip known_exploited_vulnerabilities.json epss_scores.csv
    ///   ward db import https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip
    #[command(verbatim_doc_comment)]
    Import(DbImportArgs),

    /// Re-read every feed from the source it was imported from, in one atomic update.
    ///
    /// Sources are local paths, `file://` URLs and `http(s)://` URLs (zip archives or single
    /// files). Downloads use ETag / If-Modified-Since, so an unchanged feed transfers nothing,
    /// and are checked against `<url>.sha256` when the server has one. A feed that fails keeps
    /// its last good data; `ward db status` shows the failure. Exits 2 if any feed failed.
    /// With no feed configured yet, fetches the default public feeds (osv.dev's archives for
    /// the ecosystems ward inventories, CISA KEV), or `$WARD_DB_DEFAULT_FEEDS` when set.
    ///
    /// Examples:
    ///   ward db update
    ///   ward db update --add https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip
    #[command(verbatim_doc_comment)]
    Update(DbUpdateArgs),

    /// Show the index: records per ecosystem, and per feed its source, record count, last
    /// update and age; warns about feeds older than --max-age-days.
    Status(DbStatusArgs),

    /// Show the advisories with an id or alias (CVE-..., GHSA-..., RUSTSEC-..., PYSEC-...).
    Show(DbShowArgs),

    /// Find packages by (part of) their name; prints ecosystem, name and record count.
    Search(DbSearchArgs),
}

#[derive(Debug, Args)]
pub struct DbImportArgs {
    /// Files, directories or zip archives to import: paths, file:// or http(s):// URLs.
    #[arg(required = true, value_name = "PATH|URL")]
    pub sources: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DbUpdateArgs {
    /// Also fetch and keep this source from now on (a path, file:// or http(s):// URL).
    #[arg(long, value_name = "SOURCE")]
    pub add: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DbStatusArgs {
    /// Output format; `json` prints the `ward.db-status/1` document (docs/json/db-status.md).
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Warn about feeds whose last successful update is older than this many days.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub max_age_days: u64,
}

#[derive(Debug, Args)]
pub struct DbShowArgs {
    /// An advisory id or alias.
    pub id: String,
    /// Output format; `json` prints the `ward.db-show/1` document with OSV records.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DbSearchArgs {
    /// Text the package name contains (case-insensitive).
    pub name: String,
    /// Output format; `json` prints the `ward.db-search/1` document.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// At most this many packages.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Files and directories to inventory (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = InventoryFormat::Table)]
    pub format: InventoryFormat,
    /// Also search node_modules folders (their packages are normally covered by the
    /// lockfile beside them).
    #[arg(long)]
    pub include_node_modules: bool,
    /// Add this machine: its OS packages (dpkg, apk) in the OSV ecosystem of its release,
    /// host facts (OS, running vs installed kernel, reboot-required, processes still running
    /// replaced libraries, listening sockets), and the applications under the app roots.
    #[arg(long)]
    pub host: bool,
    /// With --host: read the machine's files under this directory instead of `/` (a mounted
    /// image or a container's root file system).
    #[arg(long, value_name = "DIR", default_value = "/", requires = "host")]
    pub root: PathBuf,
    /// With --host: where applications are deployed, searched like a PATH (repeatable;
    /// default /var/www, /srv and /opt, under --root).
    #[arg(long = "app-root", value_name = "DIR", requires = "host")]
    pub app_roots: Vec<PathBuf>,
}

/// How `ward inventory` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    /// Aligned columns for people: ecosystem, name, version, location.
    Table,
    /// The versioned `ward.inventory/1` document (see docs/json/inventory.md).
    Json,
    /// A CycloneDX 1.6 JSON SBOM.
    Cyclonedx,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Files and directories to scan (default: the current directory, unless --host or
    /// --sbom is given).
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    pub fail_on: FailOn,
    /// Scan this machine: OS packages, pending security updates, and the apps under the app
    /// roots.
    #[arg(long)]
    pub host: bool,
    /// With --host: read the machine's files under this directory instead of `/`.
    #[arg(long, value_name = "DIR", default_value = "/", requires = "host")]
    pub root: PathBuf,
    /// With --host: where applications are deployed (repeatable; default /var/www, /srv, /opt).
    #[arg(long = "app-root", value_name = "DIR", requires = "host")]
    pub app_roots: Vec<PathBuf>,
    /// Read a CycloneDX or SPDX JSON SBOM (components by purl). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub sbom: Vec<PathBuf>,
    /// The distribution release of OS packages read from a file (a dpkg status or apk
    /// database given as PATH), e.g. Debian:12, Ubuntu:22.04, Alpine:v3.19.
    #[arg(long, value_name = "ECOSYSTEM")]
    pub distro: Option<String>,
    /// The host name host-scoped ignore rules see (default: the scanned machine's, with --host).
    #[arg(long, value_name = "NAME")]
    pub host_name: Option<String>,
    /// The configuration file with `[[scan.ignore]]` rules (default: ./ward.toml if present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More ignore rules, in the same format as ward.toml. Repeatable.
    #[arg(long = "ignore-file", value_name = "FILE")]
    pub ignore_files: Vec<PathBuf>,
    /// An OpenVEX document: statements `not_affected` and `fixed` hide their findings.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// Never update the advisory index; scan with what is there.
    #[arg(long)]
    pub offline: bool,
    /// Without --offline, update an index older than this first.
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub max_db_age_hours: u64,
    /// The data directory holding the advisory index [env: WARD_DATA_DIR]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Also search node_modules folders.
    #[arg(long)]
    pub include_node_modules: bool,
}

/// How `ward scan` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Grouped by package, highest risk first, with fix commands and a summary line.
    Table,
    /// The versioned `ward.scan/1` document (docs/json/scan.md).
    Json,
    /// SARIF 2.1.0, results pointing at the lockfile lines (code-scanning UIs).
    Sarif,
    /// CycloneDX 1.6 with `vulnerabilities` (VEX).
    Cyclonedx,
    /// Markdown for pull-request comments.
    Markdown,
}

/// The `--fail-on` threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    Critical,
}

impl From<FailOn> for ward_match::Level {
    fn from(f: FailOn) -> ward_match::Level {
        match f {
            FailOn::Low => ward_match::Level::Low,
            FailOn::Medium => ward_match::Level::Medium,
            FailOn::High => ward_match::Level::High,
            FailOn::Critical => ward_match::Level::Critical,
        }
    }
}

/// A duration such as `30s`, `5m`, `1h` (a bare number is seconds), not zero.
fn positive_duration(text: &str) -> Result<std::time::Duration, String> {
    match ward_monitor::time::parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be longer than 0".into()),
        Ok(d) => Ok(d),
        Err(_) => Err(format!("{text:?} is not a duration (e.g. 30s, 5m, 1h)")),
    }
}

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The server's URL (https://HOST[:PORT]; http:// only on a trusted network).
    #[arg(long, value_name = "URL")]
    pub server: String,

    /// Enroll with this one-time enrollment token (`ward_enrollment_…`) if the agent has no
    /// credential yet. WARD_ENROLL_TOKEN works too and keeps the token out of `ps`.
    #[arg(long, value_name = "TOKEN", env = "WARD_ENROLL_TOKEN", hide_env_values = true)]
    pub enroll: Option<String>,

    /// Where the credential, the last reports and the spool live (created with mode 0700).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/ward-agent")]
    pub state_dir: PathBuf,

    /// Inventory the system under this directory instead of / (a mounted image, a chroot).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Application directories whose lockfiles are inventoried (repeatable; default
    /// /var/www, /srv and /opt under --root).
    #[arg(long = "app-root", value_name = "DIR")]
    pub app_roots: Vec<PathBuf>,

    /// The host's name in the fleet (default: ROOT/etc/hostname, else the kernel's hostname).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A group the host belongs to (repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,

    /// A tag of the host (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,

    /// A full collection this often.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = positive_duration)]
    pub interval: std::time::Duration,

    /// How often the package databases and lockfiles are checked for changes.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = positive_duration)]
    pub watch: std::time::Duration,

    /// A heartbeat after this long without other contact with the server.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = positive_duration)]
    pub heartbeat: std::time::Duration,

    /// Collect and deliver once, then exit (0 when delivered).
    #[arg(long)]
    pub once: bool,

    /// Trust only the certificates in this PEM file for the server (a private CA or a
    /// self-signed server certificate) instead of the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}
