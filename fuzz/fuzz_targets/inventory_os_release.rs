//! Fuzz target: os-release reading must never panic, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ward_inventory::host::OsRelease::parse(data).ecosystem();
});
