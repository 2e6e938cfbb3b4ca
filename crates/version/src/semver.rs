//! SemVer 2.0 versions as package ecosystems write them, and the three orderings built on them:
//!
//! | flavour | ecosystems | pre-release labels | build metadata |
//! |---|---|---|---|
//! | [`Flavor::SemVer`] | npm, crates.io, Go, Hex, SwiftURL, ConanCenter, Bitnami | case-sensitive (ASCII) | ignored |
//! | [`Flavor::NuGet`] | NuGet | case-insensitive | ignored |
//! | [`Flavor::Pub`] | Pub (Dart) | case-sensitive | ordered, after no build |
//!
//! Parsing is lenient the way the package managers are: a leading `v` or `=` (Go's `v1.2.3`,
//! node-semver's loose mode), any number of numeric components (missing ones are 0; NuGet has
//! four), numbers of any size, and a pre-release without its `-` (`1.2.3beta`). Go
//! pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`) are ordinary pre-releases and
//! `+incompatible` is build metadata, so both order correctly with no special case.

use std::cmp::Ordering;

use crate::num::{cmp_digit_str, cmp_padded, Num};
use crate::VersionError;

/// Which ecosystem's rules order two [`SemverVersion`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavor {
    SemVer,
    NuGet,
    Pub,
}

/// A parsed SemVer-like version. Keeps the text it was parsed from.
#[derive(Clone)]
pub struct SemverVersion {
    text: Box<str>,
    release: Vec<Num>,
    /// Byte range of the pre-release in `text` (empty range when there is none).
    pre: (u32, u32),
    /// Byte offset of the build metadata after `+` (`text.len()` when there is none).
    build_start: u32,
    has_build: bool,
}

impl SemverVersion {
    pub fn parse(input: &str) -> Result<SemverVersion, VersionError> {
        let err = |reason: &'static str| VersionError::invalid(input, reason);
        let text = input.trim();
        if text.len() > u32::MAX as usize / 2 {
            return Err(err("version string is too long"));
        }
        let b = text.as_bytes();
        let mut pos = 0;
        while pos < b.len() && matches!(b[pos], b'v' | b'V' | b'=' | b' ' | b'\t') {
            pos += 1;
        }
        let mut release = Vec::new();
        loop {
            let start = pos;
            while pos < b.len() && b[pos].is_ascii_digit() {
                pos += 1;
            }
            if pos == start {
                return Err(err(if release.is_empty() {
                    "a version starts with a number (like 1.2.3)"
                } else {
                    "expected a number after '.'"
                }));
            }
            release.push(Num::from_digits(&text[start..pos]));
            if pos < b.len() && b[pos] == b'.' {
                pos += 1;
            } else {
                break;
            }
        }
        let pre_start = match b.get(pos) {
            Some(b'-') => pos + 1,
            Some(b'+') | None => pos,
            Some(c) if c.is_ascii_alphabetic() => pos,
            Some(_) => return Err(err("unexpected character after the version numbers")),
        };
        let build_at = text[pre_start..].find('+').map(|i| pre_start + i);
        let pre_end = build_at.unwrap_or(text.len());
        if b.get(pos) == Some(&b'-') && pre_end == pre_start {
            return Err(err("empty pre-release after '-'"));
        }
        let pre_text = &text[pre_start..pre_end];
        let build_text = build_at.map_or("", |at| &text[at + 1..]);
        let valid = |s: &str| s.bytes().all(|c| c.is_ascii_graphic() && c != b'+');
        if !valid(pre_text) || !valid(build_text) {
            return Err(err("pre-release and build may only hold printable characters"));
        }
        if build_at.is_some() && build_text.is_empty() {
            return Err(err("empty build metadata after '+'"));
        }
        Ok(SemverVersion {
            text: text.into(),
            release,
            pre: (pre_start as u32, pre_end as u32),
            build_start: build_at.map_or(text.len(), |at| at + 1) as u32,
            has_build: build_at.is_some(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Major, minor, patch... (as written; missing trailing components are not added).
    pub fn release(&self) -> &[Num] {
        &self.release
    }

    /// The pre-release without its `-`, empty when this is a release.
    pub fn pre(&self) -> &str {
        &self.text[self.pre.0 as usize..self.pre.1 as usize]
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.0 != self.pre.1
    }

    /// Build metadata after `+`, empty when there is none.
    pub fn build(&self) -> &str {
        if self.has_build {
            &self.text[self.build_start as usize..]
        } else {
            ""
        }
    }

    /// Orders two versions under `flavor`'s rules.
    pub fn cmp_flavored(&self, other: &Self, flavor: Flavor) -> Ordering {
        let by_release = cmp_padded(&self.release, &other.release);
        if by_release != Ordering::Equal {
            return by_release;
        }
        let by_pre = match (self.pre(), other.pre()) {
            ("", "") => Ordering::Equal,
            ("", _) => Ordering::Greater,
            (_, "") => Ordering::Less,
            (a, b) => cmp_identifiers(a, b, flavor == Flavor::NuGet),
        };
        if by_pre != Ordering::Equal || flavor != Flavor::Pub {
            return by_pre;
        }
        match (self.has_build, other.has_build) {
            (false, false) => Ordering::Equal,
            (false, true) => Ordering::Less,
            (true, false) => Ordering::Greater,
            (true, true) => cmp_identifiers(self.build(), other.build(), false),
        }
    }
}

/// SemVer §11: dot-separated identifiers; numbers numerically and below words; words in ASCII
/// order; a longer list wins when one is a prefix of the other.
pub(crate) fn cmp_identifiers(a: &str, b: &str, ignore_case: bool) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
                let o = match (numeric(x), numeric(y)) {
                    (true, true) => cmp_digit_str(x, y),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) if ignore_case => x
                        .bytes()
                        .map(|c| c.to_ascii_lowercase())
                        .cmp(y.bytes().map(|c| c.to_ascii_lowercase())),
                    (false, false) => x.cmp(y),
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_flavored(other, Flavor::SemVer)
    }
}

version_traits!(SemverVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, flavor: Flavor, expect: Ordering) {
        let (x, y) = (SemverVersion::parse(a).unwrap(), SemverVersion::parse(b).unwrap());
        assert_eq!(x.cmp_flavored(&y, flavor), expect, "{a} vs {b} ({flavor:?})");
        assert_eq!(y.cmp_flavored(&x, flavor), expect.reverse(), "{b} vs {a} ({flavor:?})");
    }

    #[test]
    fn semver_precedence() {
        use Ordering::*;
        check("1.0.0-alpha", "1.0.0-alpha.1", Flavor::SemVer, Less);
        check("1.0.0-beta.11", "1.0.0-rc.1", Flavor::SemVer, Less);
        check("1.2.3+build", "1.2.3+other", Flavor::SemVer, Equal);
        check("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1", Flavor::SemVer, Less);
        check("v2.0.0+incompatible", "v2.0.0", Flavor::SemVer, Equal);
        check("1.2.3beta", "1.2.3-beta", Flavor::SemVer, Equal);
    }

    #[test]
    fn flavours_differ_on_case_and_build() {
        use Ordering::*;
        check("1.0.0-BETA", "1.0.0-beta", Flavor::NuGet, Equal);
        check("1.0.0-BETA", "1.0.0-beta", Flavor::SemVer, Less);
        check("1.0.0", "1.0.0+build", Flavor::Pub, Less);
        check("1.2.3+9", "1.2.3+10", Flavor::Pub, Less);
        check("1.0", "1.0.0.0", Flavor::NuGet, Equal);
    }

    #[test]
    fn rejects_non_versions() {
        for bad in
            ["", "v", "x", "1.", "1..2", "1.2.x", "1.2.3-", "1.2.3+", "1.2.3-a b", "hello, world"]
        {
            assert!(SemverVersion::parse(bad).is_err(), "{bad:?}");
        }
    }
}
