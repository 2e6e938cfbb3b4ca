//! Every parser of ward-patch's pure modules has a fuzz target in `fuzz/fuzz_targets/` (the
//! cargo-fuzz crate is outside the workspace, so this test keeps the two in step).

#[test]
fn every_parser_has_a_fuzz_target() {
    let targets = ward_testdata::fuzz_target_sources();
    let missing: Vec<&str> = [
        "ward_patch::changelog::parse",
        "ward_patch::deb::inspect",
        "ward_patch::apt_sim::parse",
        "ward_patch::dpkg_status::parse",
    ]
    .into_iter()
    .filter(|entry_point| !targets.iter().any(|t| t.contains(entry_point)))
    .collect();
    assert!(missing.is_empty(), "parsers without a fuzz target in fuzz/fuzz_targets: {missing:?}");
}
