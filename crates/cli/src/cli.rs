//! Command-line grammar (clap). This is the raw, unvalidated form; `cmd` resolves it.

use clap::{Args, Parser, Subcommand};

/// ward keeps Linux servers and the web applications on them patched and watched.
///
/// It inventories what runs where, matches it against vulnerability advisories, applies fixes
/// through a staged, verified, reversible pipeline, and proves it all to an auditor.
///
/// Exit codes: 0 success, 1 a check found what it looks for (e.g. a version that does not
/// satisfy a range), 2 error.
#[derive(Debug, Parser)]
#[command(name = "ward", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare versions and test ranges exactly as each ecosystem's own tools do.
    ///
    /// Use it to debug a match: "is 1.2.3-1~deb12u1 older than 1.2.3-1 on Debian?",
    /// "does 4.17.20 satisfy the npm range <4.17.21?".
    #[command(subcommand)]
    Version(VersionCommand),

    /// The local advisory database: import feeds, update them, look advisories up.
    ///
    /// The index lives in the data directory: `--data-dir`, else `WARD_DATA_DIR`, else
    /// `$XDG_DATA_HOME/ward` (`~/.local/share/ward`) for users and `/var/lib/ward` for root.
    /// Every change builds a new index beside the old one and swaps it in atomically.
    Db(DbArgs),
}

#[derive(Debug, Args)]
pub struct DbArgs {
    /// The data directory holding the advisory index [env: WARD_DATA_DIR]
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<std::path::PathBuf>,
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
    /// apt Packages files (named after their suite: Packages.bookworm-security.main.amd64),
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
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
