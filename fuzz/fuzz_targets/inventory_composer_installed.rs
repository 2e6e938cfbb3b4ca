//! Fuzz target: the ComposerInstalled parser must never panic, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_inventory::{parse, Format};

fuzz_target!(|data: &[u8]| {
    let parsed = parse(Format::ComposerInstalled, "fuzz", data);
    // Whatever it found, every error names the input.
    assert!(parsed.errors.iter().all(|e| e.path == "fuzz"));
});
