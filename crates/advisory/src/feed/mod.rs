//! Feed importers: pure functions from bytes to [`Parsed`] (records, enrichment and errors).
//!
//! Architecture invariant: importing never fails as a whole. Each parser returns the records it
//! could read and one [`ImportError`] per problem, naming the file and the field; one bad file or
//! record never loses the others. No IO happens here: the caller reads files (see
//! [`crate::store`]); a zip archive is bytes too.

use std::fmt;

use crate::model::Record;

pub mod alpine;
pub mod archive;
mod comparators;
pub mod compression;
pub mod debian;
pub mod debian_tracker;
pub mod enrichment;
pub mod npm;
pub mod osv;
pub mod php;
pub mod rustsec;

pub use enrichment::{EpssScore, KevEntry};

/// A problem with one file or record of a feed: which file, which field, what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct ImportError {
    /// The file (or `archive.zip!member`) the problem is in.
    pub file: String,
    /// The field path (`affected[0].ranges[1].events`), or `(document)` for syntax errors.
    pub field: String,
    pub message: String,
}

impl ImportError {
    pub fn new(file: &str, field: &str, message: impl Into<String>) -> ImportError {
        ImportError { file: file.to_string(), field: field.to_string(), message: message.into() }
    }
}

/// What one or more files yielded.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    pub kev: Vec<KevEntry>,
    pub epss: Vec<EpssScore>,
    pub errors: Vec<ImportError>,
}

impl Parsed {
    pub fn extend(&mut self, other: Parsed) {
        self.records.extend(other.records);
        self.kev.extend(other.kev);
        self.epss.extend(other.epss);
        self.errors.extend(other.errors);
    }

    fn error(file: &str, field: &str, message: impl Into<String>) -> Parsed {
        Parsed { errors: vec![ImportError::new(file, field, message)], ..Parsed::default() }
    }

    fn records(records: Vec<Record>, errors: Vec<ImportError>) -> Parsed {
        Parsed { records, errors, ..Parsed::default() }
    }
}

/// The formats ward reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    OsvJson,
    OsvYaml,
    /// A zip of OSV JSON files, as osv.dev's per-ecosystem `all.zip`.
    OsvZip,
    /// PHP Security Advisories (FriendsOfPHP) YAML.
    PhpYaml,
    /// Node.js security WG `vuln/npm/*.json`.
    NpmJson,
    /// Alpine secdb (`v3.x/main.yaml`, YAML or JSON).
    AlpineSecdb,
    /// RustSec advisory: Markdown with TOML front matter (or a bare `.toml`).
    RustsecToml,
    /// Debian/Ubuntu security suite apt `Packages` index.
    DebianSecurity,
    /// The Debian security tracker's JSON dump.
    DebianTracker,
    /// CISA Known Exploited Vulnerabilities catalogue JSON.
    Kev,
    /// FIRST EPSS scores CSV.
    EpssCsv,
}

impl Format {
    /// Every format, for exhaustive checks (each has a fuzz target in `fuzz/`).
    pub const ALL: &'static [Format] = &[
        Format::OsvJson,
        Format::OsvYaml,
        Format::OsvZip,
        Format::PhpYaml,
        Format::NpmJson,
        Format::AlpineSecdb,
        Format::RustsecToml,
        Format::DebianSecurity,
        Format::DebianTracker,
        Format::Kev,
        Format::EpssCsv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::OsvJson => "osv-json",
            Format::OsvYaml => "osv-yaml",
            Format::OsvZip => "osv-zip",
            Format::PhpYaml => "friendsofphp-yaml",
            Format::NpmJson => "nodejs-wg-npm-json",
            Format::AlpineSecdb => "alpine-secdb",
            Format::RustsecToml => "rustsec-toml",
            Format::DebianSecurity => "apt-security-packages",
            Format::DebianTracker => "debian-tracker-json",
            Format::Kev => "cisa-kev-json",
            Format::EpssCsv => "epss-csv",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Recognizes a file's format from its name and first bytes. `None` means "not an advisory
/// file" (a README, a LICENSE, a script); a directory import skips those.
pub fn detect(path: &str, bytes: &[u8]) -> Option<Format> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    let head = &bytes[..bytes.len().min(4096)];
    let head_text = String::from_utf8_lossy(head);
    if debian::looks_like_packages(path, head) {
        return Some(Format::DebianSecurity);
    }
    if lower.ends_with(".zip") || head.starts_with(b"PK\x03\x04") {
        return Some(Format::OsvZip);
    }
    if lower.ends_with(".json") {
        let t = head_text.as_ref();
        if t.contains("\"module_name\"") || t.contains("\"vulnerable_versions\"") {
            return Some(Format::NpmJson);
        }
        if t.contains("\"catalogVersion\"") || t.contains("\"cveID\"") {
            return Some(Format::Kev);
        }
        if debian_tracker::looks_like_tracker(t) {
            return Some(Format::DebianTracker);
        }
        if t.contains("\"distroversion\"") && t.contains("\"packages\"") {
            return Some(Format::AlpineSecdb);
        }
        return Some(Format::OsvJson);
    }
    if lower.ends_with(".yaml") || lower.ends_with(".yml") {
        let t = head_text.as_ref();
        if t.contains("distroversion:") || t.contains("secfixes:") {
            return Some(Format::AlpineSecdb);
        }
        if t.contains("composer://") || t.contains("\nbranches:") || t.starts_with("branches:") {
            return Some(Format::PhpYaml);
        }
        return Some(Format::OsvYaml);
    }
    if lower.ends_with(".md") {
        return rustsec::has_front_matter(&head_text).then_some(Format::RustsecToml);
    }
    if lower.ends_with(".toml") && head_text.contains("[advisory]") {
        return Some(Format::RustsecToml);
    }
    if lower.ends_with(".csv") || lower.ends_with(".csv.gz") {
        // The header is a line or two in: decompressing a gzipped file is needed to see it.
        let plain = compression::decompress(path, bytes).ok();
        let head =
            plain.as_deref().map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned());
        return head.is_some_and(|h| h.contains("cve,epss")).then_some(Format::EpssCsv);
    }
    None
}

/// Parses one file in a known format. `path` names the file in errors and, for native feeds,
/// is where ids are derived from (`friendsofphp/drupal/core/2018-10-17-1.yaml`).
pub fn parse(format: Format, path: &str, bytes: &[u8]) -> Parsed {
    match format {
        Format::OsvJson => osv::parse_json(path, bytes),
        Format::OsvYaml => osv::parse_yaml(path, bytes),
        Format::OsvZip => archive::parse_zip(path, bytes),
        Format::PhpYaml => php::parse(path, bytes),
        Format::NpmJson => npm::parse(path, bytes),
        Format::AlpineSecdb => alpine::parse(path, bytes),
        Format::RustsecToml => rustsec::parse(path, bytes),
        Format::DebianSecurity => debian::parse(path, bytes),
        Format::DebianTracker => debian_tracker::parse(path, bytes),
        Format::Kev => enrichment::parse_kev(path, bytes),
        Format::EpssCsv => enrichment::parse_epss(path, bytes),
    }
}

/// Reads bytes as UTF-8 text, or an error naming the file.
fn text<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, Parsed> {
    std::str::from_utf8(bytes).map_err(|e| {
        Parsed::error(path, "(document)", format!("not UTF-8 text (byte {})", e.valid_up_to()))
    })
}

/// Turns a `serde_path_to_error` failure into an error naming the field.
fn path_error<E: fmt::Display>(file: &str, error: serde_path_to_error::Error<E>) -> ImportError {
    let field = error.path().to_string();
    let field = if field == "." || field.is_empty() { "(document)".to_string() } else { field };
    ImportError::new(file, &field, error.into_inner().to_string())
}
