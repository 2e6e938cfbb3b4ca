//! Fuzz target: reading `[[scan.ignore]]` rules from any text never panics; every error names
//! the file, and a line inside the text when it has one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(errors) = ward_match::ignore::parse_rules("fuzz/ward.toml", text) {
        for e in errors {
            assert_eq!(e.file, "fuzz/ward.toml");
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count().max(1) + 1);
            }
        }
    }
});
