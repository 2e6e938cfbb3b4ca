//! Arbitrary-size non-negative integers as they appear inside version strings.
//!
//! Version components are decimal digit runs of any length (`999999999999999999999999999991`
//! appears in real version lists). We never do arithmetic on them beyond "+1", so instead of a
//! bignum crate a number is kept as a `u64` when it fits, and otherwise as its digit string with
//! leading zeros removed; two such strings order by (length, bytes).

use std::cmp::Ordering;
use std::fmt;

/// A non-negative integer of any size, compared numerically.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Num {
    /// Fits in 64 bits.
    Small(u64),
    /// Larger than `u64::MAX`: canonical decimal digits, no leading zeros.
    Big(Box<str>),
}

impl Num {
    pub const ZERO: Num = Num::Small(0);

    /// Parses a run of ASCII digits. Returns `None` if `digits` is empty or has a non-digit.
    pub fn parse(digits: &str) -> Option<Num> {
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Num::from_digits(digits))
    }

    /// Builds a number from a string known to hold only ASCII digits (possibly empty = 0).
    pub(crate) fn from_digits(digits: &str) -> Num {
        let trimmed = digits.trim_start_matches('0');
        match trimmed.parse::<u64>() {
            Ok(n) => Num::Small(n),
            Err(_) if trimmed.is_empty() => Num::Small(0),
            Err(_) => Num::Big(trimmed.into()),
        }
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Num::Small(0))
    }

    /// The next integer (used for "next release" bounds).
    pub fn succ(&self) -> Num {
        match self {
            Num::Small(n) => match n.checked_add(1) {
                Some(m) => Num::Small(m),
                None => Num::Big("18446744073709551616".into()),
            },
            Num::Big(digits) => {
                let mut bytes = digits.as_bytes().to_vec();
                let mut i = bytes.len();
                loop {
                    if i == 0 {
                        bytes.insert(0, b'1');
                        break;
                    }
                    i -= 1;
                    if bytes[i] == b'9' {
                        bytes[i] = b'0';
                    } else {
                        bytes[i] += 1;
                        break;
                    }
                }
                Num::Big(String::from_utf8_lossy(&bytes).into())
            }
        }
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Num::Small(a), Num::Small(b)) => a.cmp(b),
            (Num::Small(_), Num::Big(_)) => Ordering::Less,
            (Num::Big(_), Num::Small(_)) => Ordering::Greater,
            (Num::Big(a), Num::Big(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
        }
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Small(n) => write!(f, "{n}"),
            Num::Big(s) => f.write_str(s),
        }
    }
}

impl fmt::Debug for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Compares two digit strings numerically without allocating (leading zeros ignored).
pub(crate) fn cmp_digit_str(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Compares two release-component lists, padding the shorter one with zeros.
pub(crate) fn cmp_padded(a: &[Num], b: &[Num]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let x = a.get(i).unwrap_or(&Num::ZERO);
        let y = b.get(i).unwrap_or(&Num::ZERO);
        match x.cmp(y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(a: &str, b: &str, expect: Ordering) {
        let (x, y) = (Num::parse(a).unwrap(), Num::parse(b).unwrap());
        assert_eq!(x.cmp(&y), expect, "{a} vs {b}");
        assert_eq!(cmp_digit_str(a, b), expect, "{a} vs {b} (str)");
    }

    #[test]
    fn orders_numbers_of_any_size() {
        check("0", "00", Ordering::Equal);
        check("9", "10", Ordering::Less);
        check("18446744073709551615", "18446744073709551616", Ordering::Less);
        check("999999999999999999999999999991", "999999999999999999999999999999", Ordering::Less);
        check("0001", "1", Ordering::Equal);
        check("100000000000000000000000", "99", Ordering::Greater);
    }

    #[test]
    fn succ_carries() {
        assert_eq!(Num::parse("9").unwrap().succ(), Num::Small(10));
        assert_eq!(
            Num::parse("18446744073709551615").unwrap().succ().to_string(),
            "18446744073709551616"
        );
        assert_eq!(
            Num::parse("99999999999999999999").unwrap().succ().to_string(),
            "100000000000000000000"
        );
    }

    #[test]
    fn rejects_non_digits() {
        assert!(Num::parse("").is_none());
        assert!(Num::parse("1a").is_none());
        assert!(Num::parse("-1").is_none());
    }
}
