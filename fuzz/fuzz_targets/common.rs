//! Shared checks for the version fuzz targets: parsing never panics, and what parses compares
//! equal to itself, antisymmetrically with a second input, and survives a display round trip.
#![allow(dead_code, reason = "each target uses part of this module")]

use std::cmp::Ordering;

use ward_version::{Scheme, Version};

/// Input is `A` or `A<TAB>B` (B defaults to a plain version).
pub fn check_scheme(scheme: Scheme, data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, b) = text.split_once('\t').unwrap_or((text, "1.0"));
    let (Ok(x), Ok(y)) = (Version::parse(scheme, a), Version::parse(scheme, b)) else { return };
    assert_eq!(x.compare(&x).ok(), Some(Ordering::Equal), "{scheme:?} {a:?} != itself");
    let (xy, yx) = (x.compare(&y).ok(), y.compare(&x).ok());
    assert_eq!(xy.map(Ordering::reverse), yx, "{scheme:?} {a:?} vs {b:?} not antisymmetric");
    let again = Version::parse(scheme, &x.to_string()).expect("display re-parses");
    assert_eq!(again.to_string(), x.to_string());
    assert_eq!(again.compare(&x).ok(), Some(Ordering::Equal));
}

/// Splits `RANGE<TAB>VERSION` (version defaults to `1.2.3`).
pub fn range_and_version(data: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(data).ok()?;
    Some(text.split_once('\t').unwrap_or((text, "1.2.3")))
}
