//! Debian changelogs (`debian/changelog`, `/usr/share/doc/PKG/changelog.Debian.gz`): entries
//! with their versions and the CVE ids each one names, and the CVEs an upgrade brings.
//!
//! The grammar is dpkg's (`Dpkg::Changelog::Debian`, `deb-changelog(5)`):
//!
//! ```text
//! package (version) distribution(s); urgency=urgency[, other-key=value]
//!
//!   * change details
//!     more change details
//!
//!  -- maintainer name <email address>  date
//! ```
//!
//! **API boundary:** [`parse`] never fails and never panics: it returns the entries it could
//! read and one [`ChangelogError`] per malformed line (1-based), and reading goes on. A malformed
//! header drops that entry (its body is skipped up to its trailer) and is reported; a missing or
//! malformed trailer keeps the entry (without maintainer or date) and is reported. The
//! old-format tail that long-lived changelogs end with (`Local variables:`, `Old Changelog:`,
//! `Changes from version ...`, a bare version line, dates in the pre-1997 style) ends parsing
//! silently, as it does for dpkg-parsechangelog.

use std::sync::LazyLock;

use regex::Regex;
use ward_version::dpkg::DpkgVersion;
use ward_version::VersionError;

/// One changelog entry: a header, its change lines and its trailer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// The source package name of the header.
    pub package: String,
    /// The version in parentheses, as written.
    pub version: String,
    /// The distributions, space separated as written (`unstable`, `bookworm-security`).
    pub distributions: String,
    /// The `urgency=` value as written (`medium`, `high`), empty when the header has none.
    pub urgency: String,
    /// The change lines between header and trailer, as written (indentation kept), joined by
    /// `\n`, without the blank lines that open and close the body.
    pub changes: String,
    /// `Name <email>` from the trailer; empty when the trailer is missing or malformed.
    pub maintainer: String,
    /// The date from the trailer as written; empty when the trailer is missing or malformed.
    pub date: String,
    /// The `CVE-YYYY-NNNN…` ids named in `changes`, upper-cased, each once, in order of first
    /// appearance.
    pub cves: Vec<String>,
}

/// A line that is not what the changelog grammar allows there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ChangelogError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// What [`parse`] read: the entries, newest first as written, and every problem it met.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub errors: Vec<ChangelogError>,
}

/// `package (version) dist1 dist2; key=value, key=value` (dpkg's regex, case-insensitive).
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(\w[-+0-9a-z.]*) \(([^() \t]+)\)((?:[ \t]+[-+0-9a-z.]+)+)[ \t]*;(.*)$")
        .unwrap_or_else(|e| unreachable!("header regex: {e}"))
});

/// ` -- Name <email>  date` (two spaces before the date; one or more are accepted).
static TRAILER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ -- (.*<[^>]*>)[ \t]+(\S.*?)\s*$")
        .unwrap_or_else(|e| unreachable!("trailer regex: {e}"))
});

static CVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bCVE-\d{4}-\d{4,}\b").unwrap_or_else(|e| unreachable!("CVE regex: {e}"))
});

/// Column-0 lines that dpkg-parsechangelog skips.
static SKIPPED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\$\w+:.*\$|# |/\*.*\*/)").unwrap_or_else(|e| unreachable!("skip regex: {e}"))
});

/// Column-0 lines that start the end of the changelog dpkg-parsechangelog reads: editor
/// settings and the old (pre-1997) changelog formats. Everything from such a line on is
/// ignored. dpkg's pattern for an ancient header (`dpkg (1.2.12); priority=LOW`,
/// `gmp (1.3.2-2) - dcs`) is narrowed: it matches any `name (version)` prefix, which would
/// silently end the changelog at a modern header that only lacks its `;`; such a header is
/// reported here instead.
static TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^(?:",
        r"(?:;;\s*)?Local variables:",
        r"|vim:",
        r"|Old Changelog:\s*$",
        r"|Changes from version .* to .*:",
        r"|Changes for [\w.+-]+-[\w.+-]+:?\s*$",
        r"|\w+\s+\w+\s+\d{1,2} \d{1,2}:\d{1,2}:\d{1,2}\s+[\w\s]*\d{4}\s+.*\s+[<(].*[)>]",
        r"|\w+\s+\w+\s+\d{1,2},?\s*\d{4}\s+.*\s+[<(].*[)>]",
        r"|\w[-+0-9a-z.]* \([^() \t]+\)(?:;.*|\s+-\s.*|\s*)$",
        r"|[\w.+-]+[- ]\S+ Debian \S+",
        r"|(?:\d+:)?\w[\w.+~-]*:?\s*$",
        r")"
    ))
    .unwrap_or_else(|e| unreachable!("tail regex: {e}"))
});

/// Where the parser is between lines.
enum State {
    /// Between entries: a header (or blank lines, or the end) comes next.
    ExpectHeader,
    /// Inside an entry whose header parsed; change lines or its trailer come next.
    InEntry(Box<Entry>, Vec<String>),
    /// Inside an entry whose header did not parse: its lines are skipped up to its trailer.
    Skipping,
}

/// Reads a changelog. Never fails: see the module documentation.
pub fn parse(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut state = State::ExpectHeader;
    let mut last_line = 0;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        last_line = number;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let error = |message: String| ChangelogError { line: number, message };
        let column_zero = line.starts_with(|c: char| !c.is_whitespace());
        if column_zero {
            if let Some(entry) = header(line) {
                if let State::InEntry(open, body) = std::mem::replace(&mut state, State::Skipping) {
                    parsed.errors.push(error(format!(
                        "entry {} ({}) has no trailer line (\" -- name <email>  date\") before \
                         this header",
                        open.package, open.version
                    )));
                    parsed.entries.push(finish(*open, body));
                }
                state = State::InEntry(Box::new(entry), Vec::new());
                continue;
            }
            if SKIPPED.is_match(line) {
                continue;
            }
            if TAIL.is_match(line) {
                break;
            }
            match state {
                State::ExpectHeader => {
                    parsed.errors.push(error(format!(
                        "badly formatted heading line {:?}: expected \"package (version) \
                         distribution; urgency=...\"",
                        shorten(line)
                    )));
                    state = State::Skipping;
                }
                State::InEntry(..) | State::Skipping => parsed.errors.push(error(format!(
                    "unexpected line {:?}: change lines are indented, headers look like \
                     \"package (version) distribution; urgency=...\"",
                    shorten(line)
                ))),
            }
            continue;
        }
        if line.starts_with(" --") {
            let trailer = TRAILER.captures(line);
            if trailer.is_none() {
                parsed.errors.push(error(format!(
                    "badly formatted trailer line {:?}: expected \" -- name <email>  date\"",
                    shorten(line)
                )));
            }
            match std::mem::replace(&mut state, State::ExpectHeader) {
                State::InEntry(mut entry, body) => {
                    if let Some(c) = trailer {
                        entry.maintainer = c[1].trim().to_string();
                        entry.date = c[2].to_string();
                    }
                    parsed.entries.push(finish(*entry, body));
                }
                State::Skipping => {}
                State::ExpectHeader => parsed.errors.push(error(
                    "trailer line without an entry: a header line must come first".to_string(),
                )),
            }
            continue;
        }
        match &mut state {
            State::InEntry(_, body) => body.push(line.to_string()),
            State::Skipping => {}
            State::ExpectHeader if line.trim().is_empty() => {}
            State::ExpectHeader => parsed.errors.push(error(
                "change line outside an entry: a header line must come first".to_string(),
            )),
        }
    }
    if let State::InEntry(open, body) = state {
        parsed.errors.push(ChangelogError {
            line: last_line,
            message: format!(
                "entry {} ({}) has no trailer line (\" -- name <email>  date\") before the end",
                open.package, open.version
            ),
        });
        parsed.entries.push(finish(*open, body));
    }
    parsed
}

/// The CVE ids of every entry whose version is strictly newer than `installed` (dpkg
/// ordering), each once, in order of first appearance (the newest entry first). Entries are
/// compared one by one, not assumed sorted. An `installed` version, or an entry version,
/// that dpkg would reject is an error: skipping it could hide fixes.
pub fn cves_since(entries: &[Entry], installed: &str) -> Result<Vec<String>, VersionError> {
    let installed = DpkgVersion::parse(installed)?;
    let mut cves: Vec<String> = Vec::new();
    for entry in entries {
        if DpkgVersion::parse(&entry.version)? > installed {
            for cve in &entry.cves {
                if !cves.contains(cve) {
                    cves.push(cve.clone());
                }
            }
        }
    }
    Ok(cves)
}

/// The entry a header line opens (body and trailer still empty), if it is one.
fn header(line: &str) -> Option<Entry> {
    let c = HEADER.captures(line)?;
    let urgency = c[4]
        .split(',')
        .filter_map(|option| option.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("urgency"))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default();
    Some(Entry {
        package: c[1].to_string(),
        version: c[2].to_string(),
        distributions: c[3].split_whitespace().collect::<Vec<_>>().join(" "),
        urgency,
        ..Entry::default()
    })
}

/// Closes an entry: its body without the blank lines around it, and the CVEs it names.
fn finish(mut entry: Entry, body: Vec<String>) -> Entry {
    let blank = |l: &String| l.trim().is_empty();
    let start = body.iter().position(|l| !blank(l)).unwrap_or(body.len());
    let end = body.iter().rposition(|l| !blank(l)).map_or(start, |i| i + 1);
    entry.changes = body[start..end].join("\n");
    for m in CVE.find_iter(&entry.changes) {
        let id = m.as_str().to_ascii_uppercase();
        if !entry.cves.contains(&id) {
            entry.cves.push(id);
        }
    }
    entry
}

/// A line for an error message: at most 80 characters.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(80) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line.to_string(),
    }
}
