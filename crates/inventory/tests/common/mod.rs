//! Shared by the conformance tests: where the shared field data is.

use std::path::PathBuf;

/// `$WARD_TEST_DATA`, or `../shared/data` beside the repository.
pub fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("WARD_TEST_DATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    assert!(
        dir.join("lockfiles").is_dir(),
        "test data not found at {} (set WARD_TEST_DATA to the shared data folder)",
        dir.display()
    );
    dir
}
