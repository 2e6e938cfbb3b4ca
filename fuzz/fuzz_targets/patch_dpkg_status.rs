//! Fuzz target: reading a dpkg status file from any text never panics, and every entry it
//! reads names a package and a source.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for entry in ward_patch::dpkg_status::parse(&text) {
        assert!(!entry.package.is_empty() && !entry.source.is_empty());
        let _ = (entry.is_installed(), entry.is_interrupted(), entry.matches(&entry.package));
    }
});
