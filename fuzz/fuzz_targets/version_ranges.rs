//! Fuzzes the range parsers (npm, Composer, PEP 440 specifiers, OSV-style generic): parsing and
//! evaluation never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_version::npm::{NpmOptions, NpmRange};
use ward_version::packagist::{ComposerConstraint, PackagistVersion};
use ward_version::pep440::specifier::SpecifierSet;
use ward_version::range::GenericConstraint;
use ward_version::{Scheme, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (range, version) = text.split_once('\t').unwrap_or((text, "1.2.3"));
    for (loose, include_prerelease) in [(false, false), (true, true)] {
        if let Ok(r) = NpmRange::parse(range, NpmOptions { loose, include_prerelease }) {
            let _ = r.satisfies_str(version);
        }
    }
    if let (Ok(c), Ok(v)) = (ComposerConstraint::parse(range), PackagistVersion::parse(version)) {
        let _ = c.matches(&v);
    }
    if let Ok(s) = SpecifierSet::parse(range) {
        let _ = s.contains(version, None);
        let _ = s.contains(version, Some(false));
    }
    for scheme in [Scheme::Dpkg, Scheme::Maven, Scheme::Pypi] {
        if let (Ok(c), Ok(v)) = (GenericConstraint::parse(scheme, range), Version::parse(scheme, version)) {
            let _ = c.matches(&v);
        }
    }
});
