//! Package ecosystems, named as OSV names them (`npm`, `PyPI`, `Debian:12`, `Alpine:v3.19`), and
//! the version ordering scheme each one uses.

use std::fmt;
use std::str::FromStr;

use crate::VersionError;

/// How versions of an ecosystem are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    /// dpkg (`dpkg --compare-versions`).
    Dpkg,
    /// rpm (`rpmvercmp` over epoch, version, release).
    Rpm,
    /// apk-tools.
    Apk,
    /// PEP 440, with legacy versions before all PEP 440 ones.
    Pypi,
    /// SemVer 2.0 precedence.
    Semver,
    /// NuGet: SemVer with four numbers and case-insensitive labels.
    NuGet,
    /// Pub: SemVer where build metadata orders too.
    Pub,
    /// Maven `ComparableVersion`.
    Maven,
    /// RubyGems `Gem::Version`.
    RubyGems,
    /// PHP `version_compare`.
    Packagist,
    /// R `package_version`.
    Cran,
    /// Haskell `Data.Version`.
    Hackage,
}

impl Scheme {
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Dpkg => "dpkg",
            Scheme::Rpm => "rpm",
            Scheme::Apk => "apk",
            Scheme::Pypi => "pep440",
            Scheme::Semver => "semver",
            Scheme::NuGet => "nuget",
            Scheme::Pub => "pub",
            Scheme::Maven => "maven",
            Scheme::RubyGems => "rubygems",
            Scheme::Packagist => "php",
            Scheme::Cran => "cran",
            Scheme::Hackage => "hackage",
        }
    }
}

macro_rules! ecosystems {
    ($( $variant:ident => $name:literal, $scheme:expr; )*) => {
        /// An OSV ecosystem (without its `:release` suffix).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EcosystemKind { $( $variant, )* }

        impl EcosystemKind {
            /// Every ecosystem ward knows, in OSV's spelling.
            pub const ALL: &'static [EcosystemKind] = &[ $( EcosystemKind::$variant, )* ];

            /// The name exactly as OSV writes it.
            pub fn name(self) -> &'static str {
                match self { $( EcosystemKind::$variant => $name, )* }
            }

            /// The ordering scheme, or `None` for ecosystems whose "versions" are not ordered
            /// (git commits, Android patch levels...).
            pub fn scheme(self) -> Option<Scheme> {
                match self { $( EcosystemKind::$variant => $scheme, )* }
            }
        }
    };
}

ecosystems! {
    AlmaLinux => "AlmaLinux", Some(Scheme::Rpm);
    Alpaquita => "Alpaquita", Some(Scheme::Apk);
    Alpine => "Alpine", Some(Scheme::Apk);
    Android => "Android", None;
    AzureLinux => "Azure Linux", Some(Scheme::Rpm);
    BellSoftHardenedContainers => "BellSoft Hardened Containers", Some(Scheme::Apk);
    Bioconductor => "Bioconductor", Some(Scheme::Cran);
    Bitnami => "Bitnami", Some(Scheme::Semver);
    Chainguard => "Chainguard", Some(Scheme::Apk);
    CleanStart => "CleanStart", None;
    ConanCenter => "ConanCenter", Some(Scheme::Semver);
    Cran => "CRAN", Some(Scheme::Cran);
    CratesIo => "crates.io", Some(Scheme::Semver);
    Debian => "Debian", Some(Scheme::Dpkg);
    DockerHardenedImages => "Docker Hardened Images", None;
    Echo => "Echo", None;
    FreeBsd => "FreeBSD", None;
    Ghc => "GHC", Some(Scheme::Hackage);
    GitHubActions => "GitHub Actions", Some(Scheme::Semver);
    Go => "Go", Some(Scheme::Semver);
    Hackage => "Hackage", Some(Scheme::Hackage);
    Hex => "Hex", Some(Scheme::Semver);
    Julia => "Julia", Some(Scheme::Semver);
    Kubernetes => "Kubernetes", Some(Scheme::Semver);
    Linux => "Linux", None;
    Mageia => "Mageia", Some(Scheme::Rpm);
    Maven => "Maven", Some(Scheme::Maven);
    MinimOs => "MinimOS", Some(Scheme::Apk);
    Npm => "npm", Some(Scheme::Semver);
    NuGet => "NuGet", Some(Scheme::NuGet);
    Opam => "opam", None;
    OpenEuler => "openEuler", Some(Scheme::Rpm);
    OpenSuse => "openSUSE", Some(Scheme::Rpm);
    OssFuzz => "OSS-Fuzz", None;
    Packagist => "Packagist", Some(Scheme::Packagist);
    PhotonOs => "Photon OS", Some(Scheme::Rpm);
    Pub => "Pub", Some(Scheme::Pub);
    PyPi => "PyPI", Some(Scheme::Pypi);
    RedHat => "Red Hat", Some(Scheme::Rpm);
    RockyLinux => "Rocky Linux", Some(Scheme::Rpm);
    Root => "Root", None;
    RubyGems => "RubyGems", Some(Scheme::RubyGems);
    Suse => "SUSE", Some(Scheme::Rpm);
    SwiftUrl => "SwiftURL", Some(Scheme::Semver);
    TuxCare => "TuxCare", None;
    Ubuntu => "Ubuntu", Some(Scheme::Dpkg);
    VsCode => "VSCode", Some(Scheme::Semver);
    Wolfi => "Wolfi", Some(Scheme::Apk);
    Git => "GIT", None;
}

/// A parsed ecosystem string: the ecosystem and an optional release (`Debian:12` → Debian, `12`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ecosystem {
    kind: EcosystemKind,
    release: Option<Box<str>>,
}

impl Ecosystem {
    /// Parses an OSV ecosystem string. The name is matched case-insensitively (`pypi` works)
    /// and normalized to OSV's spelling; the release suffix is kept as written.
    pub fn parse(input: &str) -> Result<Ecosystem, VersionError> {
        let text = input.trim();
        let (name, release) = match text.split_once(':') {
            Some((name, release)) => (name.trim(), Some(release.trim())),
            None => (text, None),
        };
        let kind = EcosystemKind::ALL
            .iter()
            .copied()
            .find(|k| k.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| VersionError::UnknownEcosystem(input.to_string()))?;
        let release = match release {
            Some("") => return Err(VersionError::UnknownEcosystem(input.to_string())),
            Some(r) => Some(r.into()),
            None => None,
        };
        Ok(Ecosystem { kind, release })
    }

    pub fn new(kind: EcosystemKind) -> Ecosystem {
        Ecosystem { kind, release: None }
    }

    pub fn with_release(kind: EcosystemKind, release: &str) -> Ecosystem {
        Ecosystem { kind, release: Some(release.into()) }
    }

    pub fn kind(&self) -> EcosystemKind {
        self.kind
    }

    pub fn release(&self) -> Option<&str> {
        self.release.as_deref()
    }

    /// The ordering scheme, or an error for ecosystems without one.
    pub fn scheme(&self) -> Result<Scheme, VersionError> {
        self.kind.scheme().ok_or_else(|| VersionError::NoOrdering(self.kind.name().to_string()))
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(r) = &self.release {
            write!(f, ":{r}")?;
        }
        Ok(())
    }
}

impl FromStr for Ecosystem {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ecosystem::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, display: &str, scheme: Option<Scheme>) {
        let e = Ecosystem::parse(input).unwrap();
        assert_eq!(e.to_string(), display);
        assert_eq!(e.scheme().ok(), scheme);
    }

    #[test]
    fn parses_osv_names_with_releases() {
        check("Debian:12", "Debian:12", Some(Scheme::Dpkg));
        check("debian", "Debian", Some(Scheme::Dpkg));
        check("Ubuntu:22.04:LTS", "Ubuntu:22.04:LTS", Some(Scheme::Dpkg));
        check("Alpine:v3.19", "Alpine:v3.19", Some(Scheme::Apk));
        check("Red Hat:9", "Red Hat:9", Some(Scheme::Rpm));
        check("crates.io", "crates.io", Some(Scheme::Semver));
        check("GIT", "GIT", None);
    }

    #[test]
    fn unknown_names_are_errors() {
        for bad in ["", "Debain", "npm:", "cargo"] {
            assert!(Ecosystem::parse(bad).is_err(), "{bad:?}");
        }
    }
}
