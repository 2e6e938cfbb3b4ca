//! Fuzz target: format detection by content must never panic, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = ward_inventory::Format::from_content(data);
});
