//! Versions that are plain lists of integers: CRAN (R packages, `1.2-3`) and Hackage (Haskell
//! PVP, `1.2.0.1`). One mechanism, two small differences:
//!
//! | scheme | separators | `1.0` vs `1.0.0` |
//! |---|---|---|
//! | CRAN (`package_version`) | `.` and `-` | compared padded with zeros, then the longer is greater |
//! | Hackage (`Data.Version`) | `.` | lexicographic list order: the longer is greater |
//!
//! Both make `1.0 < 1.0.0`; they differ only in which separators they accept.

use std::cmp::Ordering;

use crate::num::{cmp_padded, Num};
use crate::VersionError;

/// Which integer-list scheme a version follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntListScheme {
    Cran,
    Hackage,
}

/// A parsed integer-list version.
#[derive(Clone)]
pub struct IntListVersion {
    text: Box<str>,
    parts: Vec<Num>,
}

impl IntListVersion {
    pub fn parse(input: &str, scheme: IntListScheme) -> Result<IntListVersion, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        let is_sep = |c: char| c == '.' || (scheme == IntListScheme::Cran && c == '-');
        let mut parts = Vec::new();
        for part in text.split(is_sep) {
            match Num::parse(part) {
                Some(n) => parts.push(n),
                None => {
                    return Err(VersionError::invalid(
                        input,
                        match scheme {
                            IntListScheme::Cran => {
                                "an R package version is numbers separated by '.' or '-'"
                            }
                            IntListScheme::Hackage => {
                                "a Haskell package version is numbers separated by '.'"
                            }
                        },
                    ))
                }
            }
        }
        Ok(IntListVersion { text: text.into(), parts })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for IntListVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_padded(&self.parts, &other.parts).then_with(|| self.parts.len().cmp(&other.parts.len()))
    }
}

version_traits!(IntListVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, scheme: IntListScheme, expect: Ordering) {
        let x = IntListVersion::parse(a, scheme).unwrap();
        let y = IntListVersion::parse(b, scheme).unwrap();
        assert_eq!(x.cmp(&y), expect, "{a} vs {b}");
    }

    #[test]
    fn longer_list_is_greater() {
        check("1.0", "1.0.0", IntListScheme::Hackage, Ordering::Less);
        check("0.01.0", "0.1-0", IntListScheme::Cran, Ordering::Equal);
        check("0.9", "0.75", IntListScheme::Cran, Ordering::Less);
        assert!(IntListVersion::parse("1-2", IntListScheme::Hackage).is_err());
        assert!(IntListVersion::parse("1.x", IntListScheme::Cran).is_err());
    }
}
