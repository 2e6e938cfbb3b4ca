//! RPM versions (`[epoch:]version[-release]`) for the Red Hat family (Red Hat, AlmaLinux, Rocky
//! Linux, SUSE, openSUSE, Mageia, openEuler, Azure Linux, Photon OS...), ordered by rpm's
//! `rpmvercmp` (tilde sorts before anything, caret after the base version but before the next).
//!
//! The epoch/version/release split follows OSV practice: the epoch is the text before the first
//! `:` when it is all digits (missing = `0`), the release is everything after the first `-` that
//! follows; a version without a release sorts before the same version with one.

use std::cmp::Ordering;

use crate::VersionError;

/// A parsed RPM EVR. Keeps the text it was parsed from.
#[derive(Clone)]
pub struct RpmVersion {
    text: Box<str>,
    /// Byte offset where the version starts (after `epoch:`), 0 without an epoch.
    version_start: u32,
    /// Byte offset of the `-` that starts the release, `text.len()` when there is none.
    release_start: u32,
}

impl RpmVersion {
    pub fn parse(input: &str) -> Result<RpmVersion, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(VersionError::invalid(input, "version string has embedded spaces"));
        }
        if text.len() > u32::MAX as usize / 2 {
            return Err(VersionError::invalid(input, "version string is too long"));
        }
        let version_start = match text.split_once(':') {
            Some((epoch, _)) if epoch.bytes().all(|b| b.is_ascii_digit()) => epoch.len() + 1,
            _ => 0,
        };
        let release_start =
            text[version_start..].find('-').map_or(text.len(), |dash| version_start + dash);
        Ok(RpmVersion {
            text: text.into(),
            version_start: version_start as u32,
            release_start: release_start as u32,
        })
    }

    /// The epoch text (`"0"` when absent).
    pub fn epoch(&self) -> &str {
        match self.version_start {
            0 => "0",
            n => match &self.text[..n as usize - 1] {
                "" => "0",
                e => e,
            },
        }
    }

    pub fn version(&self) -> &str {
        &self.text[self.version_start as usize..self.release_start as usize]
    }

    /// The release without its leading `-`; `None` when the version has no release part.
    pub fn release(&self) -> Option<&str> {
        let start = self.release_start as usize;
        (start < self.text.len()).then(|| &self.text[start + 1..])
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        rpmvercmp(self.epoch(), other.epoch())
            .then_with(|| rpmvercmp(self.version(), other.version()))
            .then_with(|| match (self.release(), other.release()) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => rpmvercmp(a, b),
            })
    }
}

version_traits!(RpmVersion);

/// rpm's `rpmvercmp` on two version (or release) strings, byte for byte as rpm 4.18 does it.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let is_sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        while i < a.len() && is_sep(a[i]) {
            i += 1;
        }
        while j < b.len() && is_sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        // Tilde sorts before everything else, even the end of the string.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret sorts after the end of the string but before anything else.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(first), Some(_)) = (ca, cb) else { break };
        let numeric = first.is_ascii_digit();
        let in_segment = |c: u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let seg_a_end = i + a[i..].iter().take_while(|&&c| in_segment(c)).count();
        let seg_b_end = j + b[j..].iter().take_while(|&&c| in_segment(c)).count();
        if seg_b_end == j {
            // Different kinds of segment: numeric is newer than alphabetic.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (mut sa, mut sb) = (&a[i..seg_a_end], &b[j..seg_b_end]);
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
        i = seg_a_end;
        j = seg_b_end;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expect: Ordering) {
        let (x, y) = (RpmVersion::parse(a).unwrap(), RpmVersion::parse(b).unwrap());
        assert_eq!(x.cmp(&y), expect, "{a} vs {b}");
        assert_eq!(y.cmp(&x), expect.reverse(), "{b} vs {a}");
    }

    #[test]
    fn evr_parts() {
        let v = RpmVersion::parse("2:1.0-3.el9").unwrap();
        assert_eq!((v.epoch(), v.version(), v.release()), ("2", "1.0", Some("3.el9")));
        let v = RpmVersion::parse("a:1").unwrap();
        assert_eq!((v.epoch(), v.version(), v.release()), ("0", "a:1", None));
        let v = RpmVersion::parse("1-").unwrap();
        assert_eq!(v.release(), Some(""));
    }

    #[test]
    fn orders_like_rpm() {
        check("1.0~rc1", "1.0", Ordering::Less);
        check("1.0^git1", "1.0", Ordering::Greater);
        check("1.0^git1", "1.01", Ordering::Less);
        check("1", "1-0", Ordering::Less);
        check("3", "1:2", Ordering::Less);
        check("01:2", "1:2", Ordering::Equal);
        check("0:3.10.0-229.el7", "0:3.10.0-229.1.2.ael7b", Ordering::Less);
    }
}
