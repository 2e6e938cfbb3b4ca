//! Command-line grammar (clap). This is the raw, unvalidated form; `cmd` resolves it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    Inventory(InventoryArgs),
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
