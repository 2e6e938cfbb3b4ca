//! Fuzzes Composer constraint parsing and evaluation.
#![no_main]

#[path = "common.rs"]
mod common;

use ward_version::packagist::{ComposerConstraint, PackagistVersion};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((range, version)) = common::range_and_version(data) else { return };
    if let (Ok(c), Ok(v)) = (ComposerConstraint::parse(range), PackagistVersion::parse(version)) {
        let _ = c.matches(&v);
    }
});
