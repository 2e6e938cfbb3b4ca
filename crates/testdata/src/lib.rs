//! Shared helpers for ward's tests and benchmarks. Above all, where the field data lives:
//! `$WARD_TEST_DATA`, or `../shared/data` beside the repository. This is the one place that
//! resolves it, so every test and benchmark reads the same copy and fails the same clear way
//! when it is missing. Also [`validate_json`]: ward's JSON outputs against the official
//! schemas, with the reference validators `.ci/run` installs. And [`DebianSystem`]: a private
//! copy of the Debian 12 system `ward patch` is tested on. And [`postgres`]: a fresh PostgreSQL
//! schema per test.

#![forbid(unsafe_code)]

mod debian;
mod json_schema;
pub mod postgres;

use std::path::PathBuf;

pub mod rng;

pub use debian::{debian_image, DebianSystem};
pub use json_schema::{validate_json, validate_json_against, Schema};

/// The folder `sub` of the shared data (`"advisories"`, `"lockfiles"`, `"version-vectors"`...).
///
/// Panics, naming the path and the setting, when the folder does not exist: tests need it.
pub fn dir(sub: &str) -> PathBuf {
    let root = match std::env::var_os("WARD_TEST_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let dir = root.join(sub);
    assert!(
        dir.is_dir(),
        "test data not found at {} (set WARD_TEST_DATA to the shared data folder)",
        dir.display()
    );
    // Without `..` segments: walkers that apply parent .gitignore files look at the path as
    // written, and `crates/x/../../../shared` would pass through this repository.
    dir.canonicalize().unwrap_or(dir)
}

/// The shared data folder itself.
pub fn root() -> PathBuf {
    dir("")
}

/// The source text of every cargo-fuzz target in `fuzz/fuzz_targets/` (the fuzz crate lives
/// outside the workspace, so tests use this to keep one target per parser).
pub fn fuzz_target_sources() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect()
}
