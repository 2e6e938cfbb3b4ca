//! `ward version`: compare versions and test ranges under an ecosystem's rules.

use std::cmp::Ordering;
use std::io::{self, BufRead, BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use ward_version::npm::{NpmOptions, NpmRange, NpmVersion};
use ward_version::packagist::ComposerConstraint;
use ward_version::pep440::specifier::SpecifierSet;
use ward_version::range::GenericConstraint;
use ward_version::{Ecosystem, EcosystemKind, Scheme, Version};

use super::{EXIT_ERROR, EXIT_FOUND};
use crate::cli::{CompareArgs, SatisfiesArgs, VersionCommand};

pub fn run(command: VersionCommand) -> anyhow::Result<ExitCode> {
    match command {
        VersionCommand::Compare(args) => compare(args),
        VersionCommand::Satisfies(args) => satisfies(args),
        VersionCommand::Ecosystems => ecosystems(),
    }
}

/// Resolves `--ecosystem` to the scheme that orders its versions.
fn scheme_of(name: &str) -> anyhow::Result<(Ecosystem, Scheme)> {
    let ecosystem = Ecosystem::parse(name).context("--ecosystem")?;
    let scheme = ecosystem.scheme().context("--ecosystem")?;
    Ok((ecosystem, scheme))
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

fn compare_pair(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, ward_version::VersionError> {
    Version::parse(scheme, a)?.compare(&Version::parse(scheme, b)?)
}

fn compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let (_, scheme) = scheme_of(&args.ecosystem.ecosystem)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    if let (Some(a), Some(b)) = (&args.a, &args.b) {
        let o = compare_pair(scheme, a, b)?;
        writeln!(out, "{}", symbol(o))?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    let mut errors = 0usize;
    let mut number = 0usize;
    loop {
        line.clear();
        if input.read_line(&mut line).context("reading standard input")? == 0 {
            break;
        }
        number += 1;
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let result = match text.split_once('\t') {
            Some((a, b)) => compare_pair(scheme, a, b).map_err(|e| e.to_string()),
            None => Err(format!("line {number}: expected two versions separated by a tab")),
        };
        match result {
            Ok(o) => writeln!(out, "{}", symbol(o))?,
            Err(reason) => {
                errors += 1;
                writeln!(out, "error: {reason}")?;
            }
        }
    }
    out.flush()?;
    if errors > 0 {
        drop(out);
        super::write_stderr(&format!(
            "ward: {errors} of {number} lines could not be compared (see the error: lines)\n"
        ))?;
        return Ok(ExitCode::from(EXIT_ERROR));
    }
    Ok(ExitCode::SUCCESS)
}

fn satisfies(args: SatisfiesArgs) -> anyhow::Result<ExitCode> {
    let (ecosystem, scheme) = scheme_of(&args.ecosystem.ecosystem)?;
    let range = args.range.as_str();
    let ok = match ecosystem.kind() {
        EcosystemKind::Npm => {
            let options = NpmOptions { loose: true, include_prerelease: false };
            let r = NpmRange::parse(range, options).context("range")?;
            let v = NpmVersion::parse(&args.candidate, options).context("version")?;
            r.satisfies(&v)
        }
        EcosystemKind::Packagist => {
            let c = ComposerConstraint::parse(range).context("range")?;
            let v = ward_version::packagist::PackagistVersion::parse(&args.candidate)
                .context("version")?;
            c.matches(&v)
        }
        EcosystemKind::PyPi => {
            let s = SpecifierSet::parse(range).context("range")?;
            let v =
                ward_version::pep440::Pep440Version::parse(&args.candidate).context("version")?;
            s.contains_version(&v, None)
        }
        _ => {
            let c = GenericConstraint::parse(scheme, range).context("range")?;
            let v = Version::parse(scheme, &args.candidate).context("version")?;
            c.matches(&v)?
        }
    };
    let mut out = io::stdout().lock();
    writeln!(out, "{}", if ok { "yes" } else { "no" })?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FOUND) })
}

fn ecosystems() -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    writeln!(out, "{:<30} ordering", "ecosystem")?;
    for kind in EcosystemKind::ALL {
        let ordering = kind.scheme().map_or("(none: commits or opaque labels)", Scheme::name);
        writeln!(out, "{:<30} {ordering}", kind.name())?;
    }
    Ok(ExitCode::SUCCESS)
}
