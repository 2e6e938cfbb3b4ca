//! One module per input format; `parse` dispatches on [`Format`]. Shared mechanisms live in
//! their own modules: `stanza` (RFC 822-like paragraphs: dpkg, apk, Python METADATA) and
//! `document` (reading JSON, TOML and YAML into trees with errors that name the line).

use crate::{Format, Parsed};

pub mod apk;
pub mod bun;
pub mod cargo;
pub mod composer;
pub mod conan;
pub(crate) mod document;
pub mod dpkg;
pub mod drupal;
pub mod gemfile;
pub mod go_binary;
pub mod gomod;
pub mod gradle;
pub mod gradle_verification;
pub mod maven;
pub mod mix;
pub mod npm;
pub mod nuget;
pub mod osv_results;
pub mod pnpm;
pub mod pubspec;
pub mod python_locks;
pub mod python_metadata;
pub mod renv;
pub mod requirements;
pub mod rpm;
pub mod sbom;
pub(crate) mod stanza;
pub mod yarn;

pub(crate) fn parse(format: Format, path: &str, bytes: &[u8]) -> Parsed {
    let mut parsed = match format {
        Format::DpkgStatus => dpkg::parse(path, bytes),
        Format::ApkInstalled => apk::parse(path, bytes),
        Format::CargoLock => cargo::parse(path, bytes),
        Format::NpmLock => npm::parse(path, bytes),
        Format::YarnLock => yarn::parse(path, bytes),
        Format::BunLock => bun::parse(path, bytes),
        Format::PnpmLock => pnpm::parse(path, bytes),
        Format::ComposerLock => composer::parse(path, bytes),
        Format::ComposerInstalled => composer::parse_installed(path, bytes),
        Format::Requirements => requirements::parse(path, bytes),
        Format::PoetryLock => python_locks::parse_poetry(path, bytes),
        Format::PipfileLock => python_locks::parse_pipfile(path, bytes),
        Format::PdmLock => python_locks::parse_pdm(path, bytes),
        Format::UvLock => python_locks::parse_uv(path, bytes),
        Format::PyLock => python_locks::parse_pylock(path, bytes),
        Format::PythonMetadata => python_metadata::parse(path, bytes),
        Format::GoMod => gomod::parse(path, bytes),
        Format::DrupalCore => drupal::parse_core(path, bytes),
        Format::DrupalInfo => drupal::parse_info(path, bytes),
        Format::GoBinary => go_binary::parse(path, bytes),
        Format::GemfileLock => gemfile::parse(path, bytes),
        Format::PomXml => maven::parse(path, bytes),
        Format::GradleLock => gradle::parse(path, bytes),
        Format::GradleVerificationMetadata => gradle_verification::parse(path, bytes),
        Format::NuGetLock => nuget::parse(path, bytes),
        Format::MixLock => mix::parse(path, bytes),
        Format::PubspecLock => pubspec::parse(path, bytes),
        Format::ConanLock => conan::parse(path, bytes),
        Format::RenvLock => renv::parse(path, bytes),
        Format::CycloneDxJson => sbom::parse_cyclonedx(path, bytes),
        Format::SpdxJson => sbom::parse_spdx(path, bytes),
        Format::OsvScannerResults => osv_results::parse(path, bytes),
    };
    parsed.packages.sort_by(|a, b| {
        (a.location.line, &a.name, &a.version).cmp(&(b.location.line, &b.name, &b.version))
    });
    parsed
}

/// The location of an entry in `path` at `line`.
pub(crate) fn at(path: &str, line: Option<u32>) -> crate::Location {
    crate::Location { path: path.to_string(), line }
}
