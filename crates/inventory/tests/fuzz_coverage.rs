//! Every parser has a fuzz target: each `Format` is named by one of `fuzz/fuzz_targets/*.rs`
//! (the cargo-fuzz crate is outside the workspace, so this test keeps the two in step).
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use ward_inventory::Format;

#[test]
fn every_format_has_a_fuzz_target() {
    let targets = ward_testdata::fuzz_target_sources();
    let missing: Vec<String> = Format::ALL
        .iter()
        .map(|f| format!("Format::{f:?},"))
        .filter(|needle| !targets.iter().any(|t| t.contains(needle.as_str())))
        .collect();
    assert!(missing.is_empty(), "formats without a fuzz target in fuzz/fuzz_targets: {missing:?}");
}
