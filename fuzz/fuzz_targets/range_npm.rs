//! Fuzzes npm range parsing and evaluation (strict and loose, with and without pre-releases).
#![no_main]

#[path = "common.rs"]
mod common;

use ward_version::npm::{NpmOptions, NpmRange};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((range, version)) = common::range_and_version(data) else { return };
    for (loose, include_prerelease) in [(false, false), (true, false), (true, true)] {
        if let Ok(r) = NpmRange::parse(range, NpmOptions { loose, include_prerelease }) {
            let _ = r.satisfies_str(version);
        }
    }
});
