//! Every feed importer has a fuzz target: each `Format` is named by one of
//! `fuzz/fuzz_targets/advisory_*.rs` (the cargo-fuzz crate is outside the workspace, so this test
//! keeps the two in step).
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::PathBuf;

use ward_advisory::feed::Format;

#[test]
fn every_feed_format_has_a_fuzz_target() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let targets: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    let missing: Vec<String> = Format::ALL
        .iter()
        .map(|f| format!("Format::{f:?},"))
        .filter(|needle| !targets.iter().any(|t| t.contains(needle.as_str())))
        .collect();
    assert!(missing.is_empty(), "feed formats without a fuzz target: {missing:?}");
}
