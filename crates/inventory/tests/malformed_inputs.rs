//! Robustness: no parser panics, on arbitrary bytes or on any truncation of a real input, and
//! every error it reports names the input (and a line inside it, when it gives one).
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use proptest::prelude::*;
use ward_inventory::{detect, parse, Format};

fn check(format: Format, bytes: &[u8]) {
    let parsed = parse(format, "input", bytes);
    let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    for e in &parsed.errors {
        assert_eq!(e.path, "input");
        if let Some(line) = e.line {
            assert!(line >= 1 && line as usize <= lines, "{format:?}: line {line} of {lines}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for format in Format::ALL {
            check(*format, &bytes);
        }
        let at = ward_inventory::Location { path: "input".into(), line: None };
        let _ = ward_inventory::formats::rpm::parse_header(at, &bytes);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t\"{}\\[\\]:=,#@/]{0,300}") {
        for format in Format::ALL {
            check(*format, text.as_bytes());
        }
    }
}

/// Every prefix (at 97 cut points) of every osv-scanner fixture, through its own parser
/// (fixtures whose name says no format go through the npm reader).
#[test]
fn truncated_fixtures_never_panic() {
    let root = common::data_dir().join("lockfiles/osv-scanner-v1/pkg/lockfile/fixtures");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut checked = 0;
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        if bytes.len() > 64 * 1024 {
            // The Go executables: their truncations are covered by arbitrary bytes.
            continue;
        }
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let format = detect(&name, None, &bytes).unwrap_or(Format::NpmLock);
        let step = (bytes.len() / 97).max(1);
        for cut in (0..bytes.len()).step_by(step) {
            check(format, &bytes[..cut]);
            checked += 1;
        }
    }
    assert!(checked > 10_000, "{checked}");
}
