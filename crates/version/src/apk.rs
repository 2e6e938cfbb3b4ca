//! Alpine package versions (`number{.number}...{letter}{_suffix{number}}...{~hash}{-r#}`), also
//! used for Wolfi, Chainguard and MinimOS, ordered as apk-tools orders them.
//!
//! Suffix order: `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`.
//! Number components after the first that start with `0` compare as strings (apk's "fractional"
//! rule, so `1.05 < 1.1`). Text that does not fit the grammar makes the version *invalid*: two
//! invalid versions compare as plain strings, and an invalid tail sorts before no tail, as apk
//! and OSV do.

use std::cmp::Ordering;

use crate::num::Num;
use crate::VersionError;

#[derive(Clone, Debug)]
struct Component {
    value: Num,
    /// Starts with `0` (for the fractional rule); empty components count as `0`.
    leading_zero: bool,
    digits: Box<str>,
    first: bool,
}

#[derive(Clone, Debug)]
struct Suffix {
    weight: u8,
    number: Num,
}

/// Weight of "no suffix" between `_rc` and `_cvs`.
const NO_SUFFIX: u8 = 4;
const SUFFIXES: [(&str, u8); 9] = [
    ("alpha", 0),
    ("beta", 1),
    ("pre", 2),
    ("rc", 3),
    ("cvs", 5),
    ("svn", 6),
    ("git", 7),
    ("hg", 8),
    ("p", 9),
];

/// A parsed Alpine package version.
#[derive(Clone)]
pub struct ApkVersion {
    text: Box<str>,
    invalid: bool,
    components: Vec<Component>,
    letter: Option<u8>,
    suffixes: Vec<Suffix>,
    build: Num,
    has_remainder: bool,
}

impl ApkVersion {
    pub fn parse(input: &str) -> Result<ApkVersion, VersionError> {
        if input.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        if input.chars().any(char::is_whitespace) {
            return Err(VersionError::invalid(input, "version string has embedded spaces"));
        }
        let mut rest = input;

        // Number components: ((\d+)\.?)*
        let mut components = Vec::new();
        let mut consumed = 0;
        let bytes = input.as_bytes();
        loop {
            let digits = bytes[consumed..].iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                break;
            }
            let text = &input[consumed..consumed + digits];
            components.push(Component {
                value: Num::from_digits(text),
                leading_zero: text.starts_with('0'),
                digits: text.into(),
                first: components.is_empty(),
            });
            consumed += digits;
            if bytes.get(consumed) == Some(&b'.') {
                consumed += 1;
                // A trailing dot opens an empty component, as splitting "1." on dots does.
                if !bytes.get(consumed).is_some_and(u8::is_ascii_digit) {
                    components.push(Component {
                        value: Num::ZERO,
                        leading_zero: true,
                        digits: "0".into(),
                        first: false,
                    });
                    break;
                }
            } else {
                break;
            }
        }
        rest = &rest[consumed..];

        // Optional single lower-case letter.
        let letter = rest.bytes().next().filter(u8::is_ascii_lowercase);
        if letter.is_some() {
            rest = &rest[1..];
        }

        // Suffixes: every `_name{digits}` in the rest, consumed while they are at its start.
        let mut suffixes = Vec::new();
        let mut search = rest;
        while let Some(pos) = search.find('_') {
            let after = &search[pos + 1..];
            let matched = SUFFIXES.iter().find(|(name, _)| after.starts_with(name));
            let Some(&(name, weight)) = matched else {
                search = after;
                continue;
            };
            let digits = after[name.len()..].bytes().take_while(u8::is_ascii_digit).count();
            let number = Num::from_digits(&after[name.len()..name.len() + digits]);
            suffixes.push(Suffix { weight, number });
            let match_len = 1 + name.len() + digits;
            if pos == 0 && search.as_ptr() == rest.as_ptr() {
                rest = &rest[match_len..];
            }
            search = &search[pos + match_len..];
        }

        // Optional ~hash (ignored in comparisons).
        if let Some(hash) = rest.strip_prefix('~') {
            let hex = hash.bytes().take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
            let n = hex.count();
            if n > 0 {
                rest = &hash[n..];
            }
        }

        // Optional -r{digits}; anything else left over makes the version invalid.
        let mut invalid = false;
        let mut build = Num::ZERO;
        if !rest.is_empty() {
            match rest.strip_prefix("-r") {
                Some(after) => {
                    let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                    build = Num::from_digits(&after[..digits]);
                    rest = &after[digits..];
                }
                None => invalid = true,
            }
        }
        Ok(ApkVersion {
            text: input.into(),
            invalid,
            components,
            letter,
            suffixes,
            build,
            has_remainder: !rest.is_empty(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the text did not fit apk's version grammar (it still compares, as apk does).
    pub fn is_invalid(&self) -> bool {
        self.invalid
    }

    /// Whether the whole text fits apk's grammar (no invalid part, nothing left after `-rN`).
    pub fn is_well_formed(&self) -> bool {
        !self.invalid && !self.has_remainder
    }

    /// Whether a number component after the first has a leading zero (`1.05`): apk compares
    /// those as strings, which is not transitive together with numeric comparison.
    pub fn has_fractional_component(&self) -> bool {
        self.components.iter().any(|c| !c.first && c.leading_zero && c.digits.len() > 1)
    }
}

fn cmp_component(a: Option<&Component>, b: Option<&Component>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if !a.first && !b.first && (a.leading_zero || b.leading_zero) => {
            a.digits.cmp(&b.digits)
        }
        _ => {
            let value = |c: Option<&Component>| c.map_or(Num::ZERO, |c| c.value.clone());
            value(a).cmp(&value(b))
        }
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.invalid && other.invalid {
            return self.text.cmp(&other.text);
        }
        let n = self.components.len().max(other.components.len());
        for i in 0..n {
            match cmp_component(self.components.get(i), other.components.get(i)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        let letters = match (self.letter, other.letter) {
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (a, b) => a.cmp(&b),
        };
        if letters != Ordering::Equal {
            return letters;
        }
        let none = Suffix { weight: NO_SUFFIX, number: Num::ZERO };
        let n = self.suffixes.len().max(other.suffixes.len());
        for i in 0..n {
            let a = self.suffixes.get(i).unwrap_or(&none);
            let b = other.suffixes.get(i).unwrap_or(&none);
            match a.weight.cmp(&b.weight).then_with(|| a.number.cmp(&b.number)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match self.build.cmp(&other.build) {
            Ordering::Equal => {}
            o => return o,
        }
        // A leftover tail sorts before no tail.
        other.has_remainder.cmp(&self.has_remainder)
    }
}

version_traits!(ApkVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expect: Ordering) {
        let (x, y) = (ApkVersion::parse(a).unwrap(), ApkVersion::parse(b).unwrap());
        assert_eq!(x.cmp(&y), expect, "{a} vs {b}");
        assert_eq!(y.cmp(&x), expect.reverse(), "{b} vs {a}");
    }

    #[test]
    fn suffixes_and_revisions() {
        check("1.2_rc1", "1.2", Ordering::Less);
        check("1.2_p1", "1.2", Ordering::Greater);
        check("1.2_cvs", "1.2", Ordering::Greater);
        check("1.0.4-r3", "1.0.4-r4", Ordering::Less);
        check("1.2.3b", "1.2.3", Ordering::Greater);
        check("1.05", "1.1", Ordering::Less);
        check("2.3.0b-r1", "2.3.0b-r2", Ordering::Less);
    }

    #[test]
    fn invalid_versions_still_compare() {
        assert!(ApkVersion::parse("1.2_blah").unwrap().is_invalid());
        check("1.2", "1.2_blah", Ordering::Greater);
        check("6.6.2p1", "6.6.2p2", Ordering::Less);
    }
}
