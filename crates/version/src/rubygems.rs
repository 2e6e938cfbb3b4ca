//! RubyGems versions, ordered as `Gem::Version#<=>` orders them.
//!
//! `-` means `.pre.`; the version is scanned into number and letter segments (`1.0.a10` →
//! `1, 0, a, 10`); trailing zeros are dropped from the numeric head and from the rest; segments
//! compare pairwise with missing ones as `0`, numbers above letters.

use std::cmp::Ordering;

use crate::num::Num;
use crate::VersionError;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Number(Num),
    Text(Box<str>),
}

/// A parsed RubyGems version.
#[derive(Clone)]
pub struct RubyGemsVersion {
    text: Box<str>,
    canonical: Vec<Segment>,
}

impl RubyGemsVersion {
    pub fn parse(input: &str) -> Result<RubyGemsVersion, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
            return Err(VersionError::invalid(
                input,
                "a gem version holds only letters, digits, '.', '-' and '_'",
            ));
        }
        if !text.as_bytes()[0].is_ascii_digit() {
            return Err(VersionError::invalid(input, "a gem version starts with a number"));
        }
        let replaced = text.replace('-', ".pre.");
        let mut segments = Vec::new();
        let b = replaced.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let start = i;
            if b[i].is_ascii_digit() {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                segments.push(Segment::Number(Num::from_digits(&replaced[start..i])));
            } else if b[i].is_ascii_alphabetic() {
                while i < b.len() && b[i].is_ascii_alphabetic() {
                    i += 1;
                }
                segments.push(Segment::Text(replaced[start..i].into()));
            } else {
                i += 1;
            }
        }
        // Split at the first letter segment; drop trailing zeros of both parts.
        let split = segments.iter().position(|s| matches!(s, Segment::Text(_)));
        let tail = split.map_or_else(Vec::new, |at| segments.split_off(at));
        let trim = |mut part: Vec<Segment>| {
            while matches!(part.last(), Some(Segment::Number(n)) if n.is_zero()) {
                part.pop();
            }
            part
        };
        let mut canonical = trim(segments);
        canonical.extend(trim(tail));
        Ok(RubyGemsVersion { text: text.into(), canonical })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the version has a letter segment (`1.0.a`, `2.0-rc1`).
    pub fn is_prerelease(&self) -> bool {
        self.canonical.iter().any(|s| matches!(s, Segment::Text(_)))
    }
}

impl Ord for RubyGemsVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number(Num::ZERO);
        for i in 0..self.canonical.len().max(other.canonical.len()) {
            let a = self.canonical.get(i).unwrap_or(&zero);
            let b = other.canonical.get(i).unwrap_or(&zero);
            let o = match (a, b) {
                (Segment::Number(x), Segment::Number(y)) => x.cmp(y),
                (Segment::Text(x), Segment::Text(y)) => x.cmp(y),
                (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
                (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

version_traits!(RubyGemsVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expect: Ordering) {
        let (x, y) = (RubyGemsVersion::parse(a).unwrap(), RubyGemsVersion::parse(b).unwrap());
        assert_eq!(x.cmp(&y), expect, "{a} vs {b}");
    }

    #[test]
    fn prereleases_and_dashes() {
        check("1.0.a10", "1.0.a.9", Ordering::Greater);
        check("1.0.b1", "1.0", Ordering::Less);
        check("1.0.0-rc1", "1.0.0.pre.rc1", Ordering::Equal);
        check("1.0.a", "1.0-a", Ordering::Less);
        check("3.10", "3.2", Ordering::Greater);
        check("1.0.0", "1", Ordering::Equal);
    }
}
