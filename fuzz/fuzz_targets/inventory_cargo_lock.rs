//! Fuzz target: the CargoLock parser must never panic, on any bytes, and its fast line
//! reader must agree with the TOML reader whenever it takes an input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_inventory::formats::cargo;
use ward_inventory::{parse, Format};

fuzz_target!(|data: &[u8]| {
    let parsed = parse(Format::CargoLock, "fuzz", data);
    // Whatever it found, every error names the input.
    assert!(parsed.errors.iter().all(|e| e.path == "fuzz"));
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(fast) = cargo::generated("fuzz", text) {
            assert_eq!(fast, cargo::parse_toml("fuzz", text));
        }
    }
});
