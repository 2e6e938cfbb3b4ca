//! Debian package versions (`[epoch:]upstream[-revision]`), ordered exactly as
//! `dpkg --compare-versions` orders them (dpkg's `verrevcmp`), also used for Ubuntu.
//!
//! Parsing follows dpkg's `parseversion`: what dpkg rejects with an error is an error here
//! (empty, embedded space, bad epoch, nothing after the colon, empty revision, empty upstream);
//! what dpkg only warns about (upstream not starting with a digit, unusual characters) is
//! accepted, because dpkg still compares such versions.

use std::cmp::Ordering;

use crate::VersionError;

/// A parsed dpkg version. Keeps the text it was parsed from.
#[derive(Clone)]
pub struct DpkgVersion {
    text: Box<str>,
    epoch: u32,
    /// Byte range of the upstream part in `text`.
    upstream: (u32, u32),
    /// Byte offset where the revision starts (`text.len()` when there is none).
    revision_start: u32,
}

impl DpkgVersion {
    pub fn parse(input: &str) -> Result<DpkgVersion, VersionError> {
        let err = |reason: &'static str| VersionError::invalid(input, reason);
        let text = input.trim_matches(|c: char| c.is_ascii_whitespace());
        if text.is_empty() {
            return Err(err("version string is empty"));
        }
        if text.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(err("version string has embedded spaces"));
        }
        if text.bytes().any(|b| b.is_ascii_control()) {
            // dpkg reads versions as C strings; a control byte can never be part of one.
            return Err(err("version string has a control character"));
        }
        if text.len() > u32::MAX as usize / 2 {
            return Err(err("version string is too long"));
        }
        let (epoch, rest_start) = match text.find(':') {
            None => (0, 0),
            Some(0) => return Err(err("epoch in version is empty")),
            Some(colon) => {
                let epoch_text = &text[..colon];
                let (negative, digits) = match epoch_text.as_bytes()[0] {
                    b'-' => (true, &epoch_text[1..]),
                    b'+' => (false, &epoch_text[1..]),
                    _ => (false, epoch_text),
                };
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("epoch in version is not number"));
                }
                let value = crate::num::Num::from_digits(digits);
                if negative && !value.is_zero() {
                    return Err(err("epoch in version is negative"));
                }
                let epoch = match value {
                    crate::num::Num::Small(n) if n <= i32::MAX as u64 => n as u32,
                    _ => return Err(err("epoch in version is too big")),
                };
                if colon + 1 == text.len() {
                    return Err(err("nothing after colon in version number"));
                }
                (epoch, colon + 1)
            }
        };
        let rest = &text[rest_start..];
        let (upstream_end, revision_start) = match rest.rfind('-') {
            Some(h) if h + 1 == rest.len() => return Err(err("revision number is empty")),
            Some(h) => (rest_start + h, rest_start + h + 1),
            None => (text.len(), text.len()),
        };
        if upstream_end == rest_start {
            return Err(err("version number is empty"));
        }
        Ok(DpkgVersion {
            text: text.into(),
            epoch,
            upstream: (rest_start as u32, upstream_end as u32),
            revision_start: revision_start as u32,
        })
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    pub fn upstream(&self) -> &str {
        &self.text[self.upstream.0 as usize..self.upstream.1 as usize]
    }

    /// The Debian revision, empty when the version has none.
    pub fn revision(&self) -> &str {
        &self.text[self.revision_start as usize..]
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// dpkg's character weight: `~` sorts before everything (even the end of the string),
/// letters before other symbols.
fn order(c: u8) -> i32 {
    if c.is_ascii_digit() {
        0
    } else if c.is_ascii_alphabetic() {
        c as i32
    } else if c == b'~' {
        -1
    } else if c != 0 {
        c as i32 + 256
    } else {
        0
    }
}

/// dpkg's `verrevcmp`: alternating non-digit and digit runs.
pub(crate) fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let at = |i: usize| a.get(i).copied().unwrap_or(0);
    let bt = |i: usize| b.get(i).copied().unwrap_or(0);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        while (at(i) != 0 && !at(i).is_ascii_digit()) || (bt(j) != 0 && !bt(j).is_ascii_digit()) {
            let (ac, bc) = (order(at(i)), order(bt(j)));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while at(i) == b'0' {
            i += 1;
        }
        while bt(j) == b'0' {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while at(i).is_ascii_digit() && bt(j).is_ascii_digit() {
            if first_diff == Ordering::Equal {
                first_diff = at(i).cmp(&bt(j));
            }
            i += 1;
            j += 1;
        }
        if at(i).is_ascii_digit() {
            return Ordering::Greater;
        }
        if bt(j).is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for DpkgVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream(), other.upstream()))
            .then_with(|| verrevcmp(self.revision(), other.revision()))
    }
}

version_traits!(DpkgVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expect: Ordering) {
        let (x, y) = (DpkgVersion::parse(a).unwrap(), DpkgVersion::parse(b).unwrap());
        assert_eq!(x.cmp(&y), expect, "{a} vs {b}");
        assert_eq!(y.cmp(&x), expect.reverse(), "{b} vs {a}");
    }

    #[test]
    fn tilde_sorts_before_end_and_revision_zero_is_no_revision() {
        check("1.0~rc1-1", "1.0-1", Ordering::Less);
        check("1~~", "1~", Ordering::Less);
        check("0foo-0", "0foo", Ordering::Equal);
        check("1:0.1", "2.0", Ordering::Greater);
        check("1.2.3-1~deb12u1", "1.2.3-1", Ordering::Less);
        check("2.7.4+reloaded2-13ubuntu1", "2.7.4+reloaded2-13+deb9u1", Ordering::Less);
    }

    #[test]
    fn splits_epoch_upstream_revision() {
        let v = DpkgVersion::parse("2:1.2-3-4").unwrap();
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (2, "1.2-3", "4"));
        let v = DpkgVersion::parse("9:1.18.36:5.4-20").unwrap();
        assert_eq!((v.epoch(), v.upstream(), v.revision()), (9, "1.18.36:5.4", "20"));
    }

    #[test]
    fn rejects_what_dpkg_rejects() {
        for bad in
            ["", "  ", "1 2", ":1", "a:1", "-1:1", "1:", "1.0-", "-1", "99999999999:1", "1\0a"]
        {
            assert!(DpkgVersion::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        // dpkg only warns about these and still compares them.
        for ok in ["a1", "1.0_x", "0-pre"] {
            assert!(DpkgVersion::parse(ok).is_ok(), "{ok:?} should be accepted");
        }
    }
}

#[cfg(test)]
mod regressions {
    use super::*;

    /// Found by `fuzz/version_parse`: an embedded NUL looked like the end of the string to
    /// `verrevcmp`, which then never advanced. Such versions are now rejected at parse time.
    #[test]
    fn nul_byte_in_version_is_rejected_instead_of_hanging() {
        assert!(DpkgVersion::parse("1\u{0}a").is_err());
        assert!(DpkgVersion::parse("1.0-1\u{0}").is_err());
    }
}
