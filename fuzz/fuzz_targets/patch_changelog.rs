//! Fuzz target: reading a Debian changelog from any text never panics; every error names a
//! line of the input, every entry has a version, and `cves_since` on what was read either
//! answers or names a bad version.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = ward_patch::changelog::parse(&text);
    let lines = text.lines().count();
    assert!(parsed.errors.iter().all(|e| e.line >= 1 && e.line <= lines.max(1)));
    for entry in &parsed.entries {
        assert!(!entry.version.is_empty() && !entry.package.is_empty());
        assert!(entry.cves.iter().all(|id| id.starts_with("CVE-")));
    }
    if let Some(first) = parsed.entries.first() {
        // An entry is never newer than itself.
        if let Ok(cves) = ward_patch::changelog::cves_since(&parsed.entries[..1], &first.version) {
            assert!(cves.is_empty());
        }
    }
});
