//! Fuzzes PEP 440 specifier parsing and membership under every pre-release policy.
#![no_main]

#[path = "common.rs"]
mod common;

use ward_version::pep440::specifier::SpecifierSet;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((range, version)) = common::range_and_version(data) else { return };
    if let Ok(s) = SpecifierSet::parse(range) {
        for policy in [None, Some(true), Some(false)] {
            let _ = s.contains(version, policy);
        }
    }
});
