//! Fuzzes every version parser: parsing never panics, and a parsed version compares equal to
//! itself, antisymmetrically with a second input, and survives a display round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_version::{Scheme, Version};

const SCHEMES: [Scheme; 12] = [
    Scheme::Dpkg,
    Scheme::Rpm,
    Scheme::Apk,
    Scheme::Pypi,
    Scheme::Semver,
    Scheme::NuGet,
    Scheme::Pub,
    Scheme::Maven,
    Scheme::RubyGems,
    Scheme::Packagist,
    Scheme::Cran,
    Scheme::Hackage,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (a, b) = text.split_once('\t').unwrap_or((text, "1.0"));
    for scheme in SCHEMES {
        let (Ok(x), Ok(y)) = (Version::parse(scheme, a), Version::parse(scheme, b)) else {
            continue;
        };
        assert_eq!(x.compare(&x).ok(), Some(std::cmp::Ordering::Equal), "{scheme:?} {a:?}");
        let (xy, yx) = (x.compare(&y).ok(), y.compare(&x).ok());
        if scheme != Scheme::Apk {
            assert_eq!(xy.map(|o| o.reverse()), yx, "{scheme:?} {a:?} {b:?}");
        }
        let again = Version::parse(scheme, &x.to_string()).expect("display re-parses");
        assert_eq!(again.to_string(), x.to_string());
    }
});
