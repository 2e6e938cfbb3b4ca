//! Fuzz target: decompressing any bytes (gzip, xz, lz4 frame, zstd, or named as one) never
//! panics, never returns more than the cap, and every error names the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_advisory::feed::compression::{decompress_limited, Compression};

/// A small cap, so that the fuzzer reaches it.
const CAP: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the file name's extension: none, or one of the compressions.
    let Some((&pick, bytes)) = data.split_first() else { return };
    let name = match Compression::ALL.get(usize::from(pick) % (Compression::ALL.len() + 1)) {
        Some(c) => format!("fuzz/Packages.{}", c.extension()),
        None => "fuzz/Packages".to_string(),
    };
    match decompress_limited(&name, bytes, CAP) {
        Ok(out) => assert!(out.len() as u64 <= CAP),
        Err(e) => assert_eq!(e.file, name),
    }
});
