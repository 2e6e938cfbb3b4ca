//! The package model every parser produces: one [`Package`] per installed or locked package,
//! with where it was found, and [`ParseError`]s for what could not be read.

use std::fmt;

use ward_version::{Ecosystem, EcosystemKind};

/// Where a package was declared: the file (as given to the parser) and the 1-based line, for
/// formats that have lines and where the entry could be located.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub path: String,
    pub line: Option<u32>,
}

/// Whether the project asked for a package itself or got it through another package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Relation {
    /// The format does not say.
    #[default]
    Unknown,
    /// Listed by the project's own manifest.
    Direct,
    /// Pulled in by another package.
    Transitive,
}

/// The source package an OS binary package was built from, when the database names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub name: String,
    /// The source version; the binary's own version when the database gives none.
    pub version: String,
}

/// One package found in an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The OSV ecosystem (`npm`, `PyPI`, `Debian`, `Alpine:v3.20`...).
    pub ecosystem: Ecosystem,
    /// The name as the ecosystem's advisories spell it (`@babel/core`, `org.slf4j:slf4j-api`,
    /// `drupal/core`, normalized PyPI names...).
    pub name: String,
    /// The exact version, or empty when the input pins none (see `requirement`, `commit`).
    pub version: String,
    pub location: Location,
    pub relation: Relation,
    /// Needed only to develop or test the project.
    pub dev: bool,
    /// Installed only when available or asked for.
    pub optional: bool,
    /// Other groups the format names (Poetry/PDM/uv groups, requirements file names, Conan
    /// `build-requires`...), in the order found, without duplicates.
    pub groups: Vec<String>,
    /// OS packages: the source package, when the database names one.
    pub source: Option<Source>,
    /// OS packages: the architecture.
    pub arch: Option<String>,
    /// The VCS commit the package was resolved to, for git dependencies.
    pub commit: Option<String>,
    /// The requirement as written, when the input does not pin one version (`flask>=2`).
    pub requirement: Option<String>,
    /// Not from the ecosystem's registry: the project's own code (a workspace member) or a
    /// path or git dependency. Registry advisories for the same name do not apply to it.
    pub local: bool,
}

impl Package {
    /// A package with only the required fields set; the rest default to "the format does not
    /// say".
    pub fn new(
        kind: EcosystemKind,
        name: impl Into<String>,
        version: impl Into<String>,
        location: Location,
    ) -> Package {
        Package {
            ecosystem: Ecosystem::new(kind),
            name: name.into(),
            version: version.into(),
            location,
            relation: Relation::Unknown,
            dev: false,
            optional: false,
            groups: Vec::new(),
            source: None,
            arch: None,
            commit: None,
            requirement: None,
            local: false,
        }
    }

    /// The package URL (purl) of this package, see [`crate::purl`].
    pub fn purl(&self) -> String {
        crate::purl::for_package(self)
    }

    /// Adds a group name unless it is already there.
    pub fn add_group(&mut self, group: &str) {
        if !self.groups.iter().any(|g| g == group) {
            self.groups.push(group.to_string());
        }
    }
}

/// A problem found while reading an input. The rest of the input is still read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, thiserror::Error)]
pub struct ParseError {
    pub path: String,
    pub line: Option<u32>,
    pub message: String,
}

impl ParseError {
    pub fn new(path: &str, line: Option<u32>, message: impl Into<String>) -> ParseError {
        ParseError { path: path.to_string(), line, message: message.into() }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// How an input refers to another file that belongs to the same inventory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeKind {
    /// `-r file`: the file's requirements are part of this one.
    Requirements,
    /// `-c file`: the file constrains versions but installs nothing by itself.
    Constraints,
}

/// A reference from one input to another (`-r other.txt` in requirements files). The crate
/// does no IO: callers read the file and parse it too (see
/// [`crate::formats::requirements::resolve`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    pub kind: IncludeKind,
    /// The path exactly as written in the file.
    pub target: String,
    pub location: Location,
}

/// What a parser found: packages, problems, and references to other files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub packages: Vec<Package>,
    pub errors: Vec<ParseError>,
    pub includes: Vec<Include>,
}

impl Parsed {
    pub(crate) fn error(&mut self, path: &str, line: Option<u32>, message: impl Into<String>) {
        self.errors.push(ParseError::new(path, line, message));
    }

    /// A result holding only one error (the whole input could not be read as its format).
    pub(crate) fn failed(path: &str, line: Option<u32>, message: impl Into<String>) -> Parsed {
        let mut p = Parsed::default();
        p.error(path, line, message);
        p
    }
}
