//! Shared by the conformance tests: where the shared field data is.

use std::path::PathBuf;

/// `$WARD_TEST_DATA`, or `../shared/data` beside the repository.
pub fn data_dir() -> PathBuf {
    ward_testdata::root()
}
