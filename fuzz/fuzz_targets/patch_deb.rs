//! Fuzz target: inspecting a .deb from any bytes never panics, and what it accepts keeps its
//! caps (a changelog of at most 16 MiB, a control file of at most 1 MiB).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = ward_patch::deb::inspect(data) {
        assert!(info
            .changelog
            .as_ref()
            .is_none_or(|c| c.len() as u64 <= ward_patch::deb::MAX_CHANGELOG));
        assert!(info.control.len() as u64 <= ward_patch::deb::MAX_CONTROL);
        assert!(!info.package.is_empty() && !info.version.is_empty());
        assert!(info.changelog.is_none() || info.doc_link.is_none());
    }
});
