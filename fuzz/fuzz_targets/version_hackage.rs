//! Fuzzes the hackage version parser and ordering (see common.rs for the checks).
#![no_main]

#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::check_scheme(ward_version::Scheme::Hackage, data));
