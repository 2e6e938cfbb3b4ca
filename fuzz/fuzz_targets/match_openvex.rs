//! Fuzz target: reading an OpenVEX document from any bytes never panics; every error names the
//! file, and every rule it yields names a vulnerability and a package URL.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match ward_match::ignore::parse_openvex("fuzz/app.vex.json", data) {
        Ok(rules) => {
            for r in rules {
                assert!(r.id.is_some());
                assert!(r.purl.as_deref().is_some_and(|p| p.starts_with("pkg:")));
            }
        }
        Err(e) => assert_eq!(e.file, "fuzz/app.vex.json"),
    }
});
