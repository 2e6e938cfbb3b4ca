//! Exact version ordering and range evaluation for every package ecosystem ward matches.
//!
//! A [`Version`] is parsed once, under one ecosystem's [`Scheme`], into a comparable value; two
//! versions of the same scheme compare with [`Version::compare`] (or `<`/`>` through
//! `PartialOrd`). Ranges come in the forms advisories write them: OSV `affected[]` events
//! ([`range`]), npm ranges ([`npm`]), Composer constraints ([`packagist`]) and PEP 440
//! specifiers ([`pep440::specifier`]).
//!
//! Architecture invariant: this crate is pure. No IO, no clock, no environment; every input is
//! a `&str`, every failure a [`VersionError`], never a panic.

#![forbid(unsafe_code)]

use std::cmp::Ordering;
use std::fmt;

/// Implements the comparison and formatting traits every version type shares, from its `Ord`
/// and its `as_str()`: equality is "compares equal" (`1.0 == 1.0.0` where the ecosystem says
/// so), `Display` is the text as written.
macro_rules! version_traits {
    ($type:ident) => {
        impl PartialOrd for $type {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $type {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $type {}

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({:?})", stringify!($type), self.as_str())
            }
        }
    };
}

pub mod apk;
pub mod dpkg;
mod ecosystem;
pub mod intlist;
pub mod maven;
pub mod npm;
pub mod num;
pub mod packagist;
pub mod pep440;
pub mod range;
pub mod rpm;
pub mod rubygems;
pub mod semver;

pub use ecosystem::{Ecosystem, EcosystemKind, Scheme};

use crate::intlist::{IntListScheme, IntListVersion};
use crate::semver::Flavor;

/// Why a version, range or ecosystem could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("invalid version {version:?}: {reason}")]
    Invalid { version: String, reason: &'static str },
    #[error(
        "unknown ecosystem {0:?}; use an OSV ecosystem name such as npm, PyPI, crates.io, Go, Maven, Debian:12, Alpine:v3.19"
    )]
    UnknownEcosystem(String),
    #[error("ecosystem {0} has no version ordering (its versions are commits or opaque labels)")]
    NoOrdering(String),
    #[error("cannot compare a {left} version with a {right} version")]
    SchemeMismatch { left: &'static str, right: &'static str },
}

impl VersionError {
    /// An invalid-version error; long input is shortened so messages stay readable.
    pub(crate) fn invalid(version: &str, reason: &'static str) -> VersionError {
        const MAX: usize = 120;
        let version = if version.len() > MAX {
            let mut end = MAX;
            while !version.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &version[..end])
        } else {
            version.to_string()
        };
        VersionError::Invalid { version, reason }
    }
}

/// A version parsed under one ecosystem's rules.
#[derive(Clone, Debug)]
pub enum Version {
    Dpkg(dpkg::DpkgVersion),
    Rpm(rpm::RpmVersion),
    Apk(apk::ApkVersion),
    Pypi(pep440::PypiVersion),
    Semver(semver::SemverVersion),
    NuGet(semver::SemverVersion),
    Pub(semver::SemverVersion),
    Maven(maven::MavenVersion),
    RubyGems(rubygems::RubyGemsVersion),
    Packagist(packagist::PackagistVersion),
    Cran(IntListVersion),
    Hackage(IntListVersion),
}

impl Version {
    /// Parses `text` under `scheme`.
    pub fn parse(scheme: Scheme, text: &str) -> Result<Version, VersionError> {
        Ok(match scheme {
            Scheme::Dpkg => Version::Dpkg(dpkg::DpkgVersion::parse(text)?),
            Scheme::Rpm => Version::Rpm(rpm::RpmVersion::parse(text)?),
            Scheme::Apk => Version::Apk(apk::ApkVersion::parse(text)?),
            Scheme::Pypi => Version::Pypi(pep440::PypiVersion::parse(text)?),
            Scheme::Semver => Version::Semver(semver::SemverVersion::parse(text)?),
            Scheme::NuGet => Version::NuGet(semver::SemverVersion::parse(text)?),
            Scheme::Pub => Version::Pub(semver::SemverVersion::parse(text)?),
            Scheme::Maven => Version::Maven(maven::MavenVersion::parse(text)?),
            Scheme::RubyGems => Version::RubyGems(rubygems::RubyGemsVersion::parse(text)?),
            Scheme::Packagist => Version::Packagist(packagist::PackagistVersion::parse(text)?),
            Scheme::Cran => Version::Cran(IntListVersion::parse(text, IntListScheme::Cran)?),
            Scheme::Hackage => {
                Version::Hackage(IntListVersion::parse(text, IntListScheme::Hackage)?)
            }
        })
    }

    /// Parses `text` as a version of `ecosystem`.
    pub fn parse_in(ecosystem: &Ecosystem, text: &str) -> Result<Version, VersionError> {
        Version::parse(ecosystem.scheme()?, text)
    }

    pub fn scheme(&self) -> Scheme {
        match self {
            Version::Dpkg(_) => Scheme::Dpkg,
            Version::Rpm(_) => Scheme::Rpm,
            Version::Apk(_) => Scheme::Apk,
            Version::Pypi(_) => Scheme::Pypi,
            Version::Semver(_) => Scheme::Semver,
            Version::NuGet(_) => Scheme::NuGet,
            Version::Pub(_) => Scheme::Pub,
            Version::Maven(_) => Scheme::Maven,
            Version::RubyGems(_) => Scheme::RubyGems,
            Version::Packagist(_) => Scheme::Packagist,
            Version::Cran(_) => Scheme::Cran,
            Version::Hackage(_) => Scheme::Hackage,
        }
    }

    /// The text the version was parsed from (trimmed).
    pub fn as_str(&self) -> &str {
        match self {
            Version::Dpkg(v) => v.as_str(),
            Version::Rpm(v) => v.as_str(),
            Version::Apk(v) => v.as_str(),
            Version::Pypi(v) => v.as_str(),
            Version::Semver(v) | Version::NuGet(v) | Version::Pub(v) => v.as_str(),
            Version::Maven(v) => v.as_str(),
            Version::RubyGems(v) => v.as_str(),
            Version::Packagist(v) => v.as_str(),
            Version::Cran(v) | Version::Hackage(v) => v.as_str(),
        }
    }

    /// Orders two versions of the same scheme.
    pub fn compare(&self, other: &Version) -> Result<Ordering, VersionError> {
        Ok(match (self, other) {
            (Version::Dpkg(a), Version::Dpkg(b)) => a.cmp(b),
            (Version::Rpm(a), Version::Rpm(b)) => a.cmp(b),
            (Version::Apk(a), Version::Apk(b)) => a.cmp(b),
            (Version::Pypi(a), Version::Pypi(b)) => a.cmp(b),
            (Version::Semver(a), Version::Semver(b)) => a.cmp_flavored(b, Flavor::SemVer),
            (Version::NuGet(a), Version::NuGet(b)) => a.cmp_flavored(b, Flavor::NuGet),
            (Version::Pub(a), Version::Pub(b)) => a.cmp_flavored(b, Flavor::Pub),
            (Version::Maven(a), Version::Maven(b)) => a.cmp(b),
            (Version::RubyGems(a), Version::RubyGems(b)) => a.cmp(b),
            (Version::Packagist(a), Version::Packagist(b)) => a.cmp(b),
            (Version::Cran(a), Version::Cran(b)) => a.cmp(b),
            (Version::Hackage(a), Version::Hackage(b)) => a.cmp(b),
            (a, b) => {
                return Err(VersionError::SchemeMismatch {
                    left: a.scheme().name(),
                    right: b.scheme().name(),
                })
            }
        })
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ok(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    /// `None` when the schemes differ.
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.compare(other).ok()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses both texts under `ecosystem` and orders them: the one-call form of the CLI's
/// `ward version compare`.
pub fn compare(ecosystem: &Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let scheme = ecosystem.scheme()?;
    Version::parse(scheme, a)?.compare(&Version::parse(scheme, b)?)
}
