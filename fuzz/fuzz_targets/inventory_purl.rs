//! Fuzz target: the purl parser must never panic, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = ward_inventory::purl::Purl::parse(text) {
            let _ = p.ecosystem_and_name();
            let _ = p.to_string();
        }
    }
});
