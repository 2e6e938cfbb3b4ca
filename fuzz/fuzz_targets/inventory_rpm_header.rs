//! Fuzz target: the rpm package header decoder must never panic, on any bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_inventory::formats::rpm::parse_header;
use ward_inventory::Location;

fuzz_target!(|data: &[u8]| {
    let _ = parse_header(Location { path: "fuzz".into(), line: None }, data);
});
