//! Python package versions per PEP 440 (epochs, pre/post/dev releases, local versions), ordered
//! and normalized as `packaging` 26 does, plus the pre-PEP 440 "legacy" versions that still
//! appear in old PyPI releases and advisories (they sort before every PEP 440 version, as
//! setuptools' `LegacyVersion` and OSV order them).

use std::cmp::Ordering;

use crate::num::{cmp_padded, Num};
use crate::VersionError;

pub mod specifier;

/// The pre-release phase, in sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PreKind {
    Alpha,
    Beta,
    ReleaseCandidate,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::ReleaseCandidate => "rc",
        }
    }
}

/// One dot-separated part of a local version label (`+ubuntu.1`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LocalSegment {
    Number(Num),
    /// Lower-cased.
    Text(Box<str>),
}

impl Ord for LocalSegment {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalSegment::Number(a), LocalSegment::Number(b)) => a.cmp(b),
            (LocalSegment::Number(_), LocalSegment::Text(_)) => Ordering::Greater,
            (LocalSegment::Text(_), LocalSegment::Number(_)) => Ordering::Less,
            (LocalSegment::Text(a), LocalSegment::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for LocalSegment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A valid PEP 440 version.
#[derive(Clone)]
pub struct Pep440Version {
    text: Box<str>,
    pub(crate) epoch: Num,
    pub(crate) release: Vec<Num>,
    pub(crate) pre: Option<(PreKind, Num)>,
    pub(crate) post: Option<Num>,
    pub(crate) dev: Option<Num>,
    pub(crate) local: Vec<LocalSegment>,
}

/// Python's `str.isspace` for the characters `\s` strips around a version.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

struct Cursor<'a> {
    text: &'a str,
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn digits(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        (self.pos > start).then(|| &self.text[start..self.pos])
    }

    fn separator(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Matches one of `labels` case-insensitively, first listed first (like a regex alternation).
    fn label(&mut self, labels: &[&'static str]) -> Option<&'static str> {
        let rest = &self.s[self.pos..];
        let found = labels.iter().find(|l| {
            rest.len() >= l.len() && rest[..l.len()].eq_ignore_ascii_case(l.as_bytes())
        })?;
        self.pos += found.len();
        Some(found)
    }

    /// `[-_.]? label [-_.]? digits?` as one all-or-nothing group.
    fn labelled_number(&mut self, labels: &[&'static str]) -> Option<(&'static str, Num)> {
        let start = self.pos;
        self.separator();
        let Some(label) = self.label(labels) else {
            self.pos = start;
            return None;
        };
        // A separator with no number after it still belongs to this group (the regular
        // expression consumes it greedily), so it stays consumed.
        self.separator();
        let number = self.digits().map_or(Num::ZERO, Num::from_digits);
        Some((label, number))
    }
}

impl Pep440Version {
    /// Parses a PEP 440 version; anything else is an error naming what is wrong.
    pub fn parse(input: &str) -> Result<Pep440Version, VersionError> {
        let err = |reason: &'static str| VersionError::invalid(input, reason);
        let trimmed = input.trim_matches(is_py_space);
        if trimmed.is_empty() {
            return Err(err("version string is empty"));
        }
        let mut c = Cursor { text: trimmed, s: trimmed.as_bytes(), pos: 0 };
        if matches!(c.peek(), Some(b'v' | b'V')) {
            c.pos += 1;
        }
        // Epoch and release.
        let first = c.digits().ok_or_else(|| err("a PEP 440 version starts with a number"))?;
        let (epoch, mut release) = if c.peek() == Some(b'!') {
            c.pos += 1;
            let epoch = Num::from_digits(first);
            let n =
                c.digits().ok_or_else(|| err("the epoch must be followed by a release number"))?;
            (epoch, vec![Num::from_digits(n)])
        } else {
            (Num::ZERO, vec![Num::from_digits(first)])
        };
        while c.peek() == Some(b'.') && c.s.get(c.pos + 1).is_some_and(u8::is_ascii_digit) {
            c.pos += 1;
            if let Some(d) = c.digits() {
                release.push(Num::from_digits(d));
            }
        }
        // Pre-release.
        let pre = c.labelled_number(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]).map(
            |(label, n)| {
                let kind = match label {
                    "alpha" | "a" => PreKind::Alpha,
                    "beta" | "b" => PreKind::Beta,
                    _ => PreKind::ReleaseCandidate,
                };
                (kind, n)
            },
        );
        // Post-release: `-N` or `[-_.]?(post|rev|r)[-_.]?N?`.
        let post = if c.peek() == Some(b'-') && c.s.get(c.pos + 1).is_some_and(u8::is_ascii_digit) {
            c.pos += 1;
            c.digits().map(Num::from_digits)
        } else {
            c.labelled_number(&["post", "rev", "r"]).map(|(_, n)| n)
        };
        // Development release.
        let dev = c.labelled_number(&["dev"]).map(|(_, n)| n);
        // Local version label.
        let mut local = Vec::new();
        if c.peek() == Some(b'+') {
            c.pos += 1;
            loop {
                let start = c.pos;
                while c.peek().is_some_and(|b| b.is_ascii_alphanumeric()) {
                    c.pos += 1;
                }
                if c.pos == start {
                    return Err(err(
                        "a local version label is letters and digits separated by '.', '-' or '_'",
                    ));
                }
                let seg = &trimmed[start..c.pos];
                local.push(if seg.bytes().all(|b| b.is_ascii_digit()) {
                    LocalSegment::Number(Num::from_digits(seg))
                } else {
                    LocalSegment::Text(seg.to_ascii_lowercase().into())
                });
                if !c.separator() {
                    break;
                }
            }
        }
        if c.pos != c.s.len() {
            return Err(err("unexpected text; PEP 440 versions look like 1.2.3, 1.2rc1, 1.2.post1, 1!2.0.dev3+local"));
        }
        Ok(Pep440Version { text: trimmed.into(), epoch, release, pre, post, dev, local })
    }

    /// The text this version was parsed from (surrounding whitespace removed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    pub fn is_postrelease(&self) -> bool {
        self.post.is_some()
    }

    pub fn has_local(&self) -> bool {
        !self.local.is_empty()
    }

    pub fn release(&self) -> &[Num] {
        &self.release
    }

    /// The same version without its local label.
    pub fn public(&self) -> Pep440Version {
        Pep440Version { local: Vec::new(), ..self.clone() }
    }

    /// The canonical form (`1.0-r5` → `1.0.post5`, `1.0+AbC` → `1.0+abc`, `00!1.2` → `1.2`).
    pub fn normalized(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        if !self.epoch.is_zero() {
            let _ = write!(out, "{}!", self.epoch);
        }
        for (i, n) in self.release.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            let _ = write!(out, "{n}");
        }
        if let Some((kind, n)) = &self.pre {
            let _ = write!(out, "{}{n}", kind.as_str());
        }
        if let Some(n) = &self.post {
            let _ = write!(out, ".post{n}");
        }
        if let Some(n) = &self.dev {
            let _ = write!(out, ".dev{n}");
        }
        for (i, seg) in self.local.iter().enumerate() {
            out.push(if i == 0 { '+' } else { '.' });
            match seg {
                LocalSegment::Number(n) => {
                    let _ = write!(out, "{n}");
                }
                LocalSegment::Text(t) => out.push_str(t),
            }
        }
        out
    }

    /// Builds a version from parts (used for specifier bounds).
    pub(crate) fn from_parts(
        epoch: Num,
        release: Vec<Num>,
        pre: Option<(PreKind, Num)>,
        post: Option<Num>,
        dev: Option<Num>,
    ) -> Pep440Version {
        let mut v = Pep440Version {
            text: String::new().into(),
            epoch,
            release,
            pre,
            post,
            dev,
            local: Vec::new(),
        };
        v.text = v.normalized().into();
        v
    }

    /// Compares ignoring the local label on both sides.
    pub(crate) fn cmp_public(&self, other: &Self) -> Ordering {
        self.cmp_without_local(other)
    }

    fn cmp_without_local(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| cmp_padded(&self.release, &other.release))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| match (&self.dev, &other.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }

    /// `packaging`'s pre-release key: a dev release of a final version sorts before its
    /// pre-releases; no pre-release sorts after all of them.
    fn pre_key(&self) -> (u8, Option<(PreKind, &Num)>) {
        match &self.pre {
            None if self.post.is_none() && self.dev.is_some() => (0, None),
            None => (2, None),
            Some((kind, n)) => (1, Some((*kind, n))),
        }
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_without_local(other).then_with(|| self.local.cmp(&other.local))
    }
}

version_traits!(Pep440Version);

/// A pre-PEP 440 version string (`0.9-doduo`), ordered as setuptools' `LegacyVersion`.
#[derive(Clone)]
pub struct LegacyVersion {
    text: Box<str>,
    key: Box<str>,
}

impl LegacyVersion {
    /// Accepts any non-empty text without whitespace.
    pub fn parse(input: &str) -> Result<LegacyVersion, VersionError> {
        let text = input.trim_matches(is_py_space);
        if text.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        if text.chars().any(is_py_space) {
            return Err(VersionError::invalid(input, "version string has embedded spaces"));
        }
        Ok(LegacyVersion { text: text.into(), key: legacy_key(&text.to_lowercase()).into() })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// setuptools' legacy parts: numbers zero-padded to 8, words prefixed with `*`, `pre`/`rc` →
/// `c`, `dev` → `@`, `-` → `final-`, trailing zeros and `final-` markers dropped.
fn legacy_key(s: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut raw: Vec<&str> = Vec::new();
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        if b.is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        } else if b.is_ascii_lowercase() {
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
        } else if b == b'.' || b == b'-' {
            i += 1;
        } else {
            i += 1;
            continue;
        }
        raw.push(&s[start..i]);
    }
    raw.push("final");
    for part in raw {
        if part == "." {
            continue;
        }
        let part = match part {
            "pre" | "preview" | "rc" => "c",
            "-" => "final-",
            "dev" => "@",
            p => p,
        };
        let part = if part.as_bytes()[0].is_ascii_digit() {
            format!("{part:0>8}")
        } else {
            format!("*{part}")
        };
        if part.starts_with('*') {
            if part.as_str() < "*final" {
                while parts.last().is_some_and(|p| p == "*final-") {
                    parts.pop();
                }
            }
            while parts.last().is_some_and(|p| p == "00000000") {
                parts.pop();
            }
        }
        parts.push(part);
    }
    parts.concat()
}

impl Ord for LegacyVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

version_traits!(LegacyVersion);

/// A PyPI version: PEP 440 when it parses as one, otherwise legacy.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PypiVersion {
    Pep440(Pep440Version),
    Legacy(LegacyVersion),
}

impl PypiVersion {
    pub fn parse(input: &str) -> Result<PypiVersion, VersionError> {
        match Pep440Version::parse(input) {
            Ok(v) => Ok(PypiVersion::Pep440(v)),
            Err(pep440_error) => {
                LegacyVersion::parse(input).map(PypiVersion::Legacy).map_err(|_| pep440_error)
            }
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            PypiVersion::Pep440(v) => v.as_str(),
            PypiVersion::Legacy(v) => v.as_str(),
        }
    }
}

impl Ord for PypiVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PypiVersion::Pep440(a), PypiVersion::Pep440(b)) => a.cmp(b),
            (PypiVersion::Legacy(a), PypiVersion::Legacy(b)) => a.cmp(b),
            (PypiVersion::Legacy(_), PypiVersion::Pep440(_)) => Ordering::Less,
            (PypiVersion::Pep440(_), PypiVersion::Legacy(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for PypiVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, normalized: &str) {
        let v = Pep440Version::parse(input).unwrap();
        assert_eq!(v.normalized(), normalized, "{input:?}");
    }

    #[test]
    fn normalizes_spellings() {
        check("1.0-r5", "1.0.post5");
        check("1.0-5", "1.0.post5");
        check("1.0c056", "1.0rc56");
        check("00!1.2", "1.2");
        check("v1.0", "1.0");
        check("1.0+AbC.007", "1.0+abc.7");
        check("1.0a-1", "1.0a1");
        check("1.0.dev", "1.0.dev0");
    }

    #[test]
    fn rejects_what_packaging_rejects() {
        for bad in ["french toast", "1.0+a+", "1..0", "1.0.", ".1.0", "1.0 a1", "1.0+İ", "", "v"] {
            assert!(Pep440Version::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn legacy_sorts_before_pep440() {
        let legacy = PypiVersion::parse("0.9-doduo").unwrap();
        assert!(matches!(legacy, PypiVersion::Legacy(_)));
        assert!(legacy < PypiVersion::parse("0.0.1").unwrap());
        assert!(PypiVersion::parse("0.1-bulbasaur").unwrap() < legacy);
    }
}
