//! Where the shared field data lives, for ward's tests and benchmarks: `$WARD_TEST_DATA`, or
//! `../shared/data` beside the repository. The one place that resolves it, so every test and
//! benchmark reads the same copy and fails the same clear way when it is missing.

#![forbid(unsafe_code)]

use std::path::PathBuf;

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
