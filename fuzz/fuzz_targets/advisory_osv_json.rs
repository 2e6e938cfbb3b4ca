//! Fuzz target: the advisory OsvJson importer must never panic, and every error names the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_advisory::feed::{parse, Format};

fuzz_target!(|data: &[u8]| {
    let parsed = parse(Format::OsvJson, "fuzz", data);
    assert!(parsed.errors.iter().all(|e| e.file.starts_with("fuzz")));
});
