//! Compressed apt `Packages` files: the real Debian 12 security suite index compressed with
//! every compression ward reads (gzip, xz, lz4 frame, zstd) is detected and imports exactly like
//! the plain file under every naming style; truncated, corrupt and oversized streams are errors
//! naming the file (also for arbitrary and mutated streams, which never panic); and a host's
//! `var/lib/apt/lists` yields its security suites.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::io::Write;
use std::path::Path;

use proptest::prelude::*;

use ward_advisory::feed::compression::{self, Compression};
use ward_advisory::feed::{self, Format, ImportError, Parsed};
use ward_advisory::store::apt;

/// The plain `Packages` of bookworm-security as a Debian 12 host had it.
fn plain() -> Vec<u8> {
    let dir = ward_testdata::dir("real-inputs/debian-bookworm");
    std::fs::read(dir.join("Packages.bookworm-security.main.amd64")).unwrap()
}

/// `bytes` compressed with the crates' own encoders, as the tools that write such files do.
fn compress(compression: Compression, bytes: &[u8]) -> Vec<u8> {
    match compression {
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        Compression::Xz => {
            let options = lzma_rust2::XzOptions::with_preset(1);
            let mut e = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        Compression::Lz4 => {
            // apt writes linked blocks with liblz4's defaults; a content checksum catches
            // corruption inside a block.
            let info = lz4_flex::frame::FrameInfo::new().content_checksum(true);
            let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(bytes, 3).unwrap(),
    }
}

/// The three ways a `Packages` file is named, with the compression's extension.
fn names(compression: Compression) -> [String; 3] {
    let ext = compression.extension();
    [
        format!("Packages.bookworm-security.main.amd64.{ext}"),
        format!("deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.{ext}"),
        format!("mirror/debian-security/dists/bookworm-security/main/binary-amd64/Packages.{ext}"),
    ]
}

/// The one error of a parse, which must name `file` and the compression.
fn only_error(parsed: &Parsed, file: &str) -> ImportError {
    assert!(parsed.records.is_empty(), "{file}: records from a broken stream");
    assert_eq!(parsed.errors.len(), 1, "{file}: {:?}", parsed.errors);
    let e = parsed.errors[0].clone();
    assert_eq!(e.file, file);
    assert_eq!(e.field, "(compression)");
    e
}

#[test]
fn every_compression_imports_the_records_of_the_plain_file() {
    let plain = plain();
    let expected =
        feed::parse(Format::DebianSecurity, "Packages.bookworm-security.main.amd64", &plain);
    assert!(expected.errors.is_empty(), "{:?}", expected.errors);
    assert_eq!(expected.records.len(), 408);
    for &compression in Compression::ALL {
        let bytes = compress(compression, &plain);
        assert!(bytes.len() < plain.len() / 2, "{compression:?} compresses");
        for name in names(compression) {
            let head = &bytes[..bytes.len().min(4096)];
            assert_eq!(feed::detect(&name, head), Some(Format::DebianSecurity), "{name}");
            let parsed = feed::parse(Format::DebianSecurity, &name, &bytes);
            assert!(parsed.errors.is_empty(), "{name}: {:?}", parsed.errors);
            assert!(
                parsed.records == expected.records,
                "{name}: other records than the plain file"
            );
        }
    }
}

#[test]
fn truncated_streams_are_errors_naming_the_file() {
    let plain = plain();
    for &compression in Compression::ALL {
        let bytes = compress(compression, &plain);
        let [name, ..] = names(compression);
        // Cut inside the data, right before the end, and right after the magic bytes.
        for cut in [bytes.len() / 2, bytes.len() - 1, 6] {
            let e = only_error(&feed::parse(Format::DebianSecurity, &name, &bytes[..cut]), &name);
            assert!(
                e.message.contains("truncated") || e.message.contains("corrupt"),
                "{name} cut at {cut}: {e}"
            );
        }
    }
}

#[test]
fn an_lz4_stream_cut_between_two_blocks_is_truncated() {
    // lz4_flex's decoder itself stops quietly at a block boundary.
    let plain = plain();
    let info = lz4_flex::frame::FrameInfo::new();
    let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
    e.write_all(&plain).unwrap();
    let bytes = e.finish().unwrap();
    // Header (7 bytes: magic, FLG, BD, HC), then the first block: size, data.
    let first = u32::from_le_bytes(bytes[7..11].try_into().unwrap()) & 0x7FFF_FFFF;
    let boundary = 11 + first as usize;
    let name = "x_dists_bookworm-security_main_binary-amd64_Packages.lz4";
    let e = only_error(&feed::parse(Format::DebianSecurity, name, &bytes[..boundary]), name);
    assert!(e.message.contains("no end mark"), "{e}");
}

#[test]
fn corrupt_streams_are_errors_naming_the_file() {
    let plain = plain();
    for &compression in Compression::ALL {
        let mut bytes = compress(compression, &plain);
        let [name, ..] = names(compression);
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 64] {
            *b ^= 0x5a;
        }
        let e = only_error(&feed::parse(Format::DebianSecurity, &name, &bytes), &name);
        assert!(e.message.contains("corrupt") || e.message.contains("truncated"), "{name}: {e}");
    }
}

#[test]
fn a_name_promising_a_compression_needs_its_magic_bytes() {
    let plain = plain();
    for &compression in Compression::ALL {
        let [name, ..] = names(compression);
        let e = only_error(&feed::parse(Format::DebianSecurity, &name, &plain), &name);
        assert!(e.message.contains("magic"), "{e}");
    }
}

#[test]
fn decompression_stops_at_the_size_cap() {
    let plain = plain();
    for &compression in Compression::ALL {
        let bytes = compress(compression, &plain);
        let [name, ..] = names(compression);
        let cap = plain.len() as u64 - 1;
        let e = compression::decompress_limited(&name, &bytes, cap).unwrap_err();
        assert_eq!(e.file, name);
        assert!(e.message.contains("decompresses to more than"), "{e}");
        let exact = compression::decompress_limited(&name, &bytes, plain.len() as u64).unwrap();
        assert!(exact.as_ref() == plain.as_slice(), "{name}: a stream exactly at the cap is read");
    }
}

/// The small fixture index compressed every way, for mutation.
fn small_streams() -> Vec<(Compression, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let plain = std::fs::read(dir.join("Packages.bookworm-security.main.amd64")).unwrap();
    Compression::ALL.iter().map(|&c| (c, compress(c, &plain))).collect()
}

/// Decompressing under a small cap: no panic, never past the cap, errors name the file.
fn decompresses_or_names_the_file(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    match compression::decompress_limited(name, bytes, 4096) {
        Ok(out) => prop_assert!(out.len() <= 4096),
        Err(e) => prop_assert_eq!(e.file, name),
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_bytes_under_every_name(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
        which in 0usize..5,
        magic in any::<bool>(),
    ) {
        let streams = small_streams();
        let (name, bytes) = match streams.get(which) {
            // Behind a real stream's first bytes, so the decoders get past the magic.
            Some((c, stream)) if magic => {
                (format!("Packages.{}", c.extension()), [&stream[..6], &bytes[..]].concat())
            }
            Some((c, _)) => (format!("Packages.{}", c.extension()), bytes),
            None => ("Packages".to_string(), bytes),
        };
        decompresses_or_names_the_file(&name, &bytes)?;
    }

    #[test]
    fn mutated_streams(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let (c, mut bytes) = small_streams().swap_remove(which);
        for (at, byte) in edits {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        bytes.truncate(bytes.len() - cut % 4);
        decompresses_or_names_the_file(&format!("Packages.{}", c.extension()), &bytes)?;
    }
}

/// Lays out `files` (name → bytes) under `root/var/lib/apt/lists`.
fn apt_lists(root: &Path, files: &[(&str, &[u8])]) {
    let dir = root.join(apt::LISTS_DIR);
    std::fs::create_dir_all(dir.join("partial")).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn host_security_suites_reads_plain_and_compressed_lists() {
    let plain = plain();
    let lz4 = compress(Compression::Lz4, &plain);
    let ubuntu = b"Package: libssl3t64\nSource: openssl\nVersion: 3.0.13-0ubuntu3.5\n\n";
    let root = tempfile::tempdir().unwrap();
    apt_lists(root.path(), &[
        ("deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4", &lz4),
        // The same suite for a second architecture: its records merge with amd64's.
        ("deb.debian.org_debian-security_dists_bookworm-security_main_binary-i386_Packages", &plain),
        ("security.ubuntu.com_ubuntu_dists_noble-security_main_binary-amd64_Packages", ubuntu),
        // Not security suites, or not Packages indexes: never read.
        ("deb.debian.org_debian_dists_bookworm-updates_main_binary-amd64_Packages", b"Package: x\nVersion: 1\n"),
        ("deb.debian.org_debian-security_dists_bookworm-security_InRelease", b"-----BEGIN PGP"),
        ("lock", b""),
    ]);
    let host = apt::host_security_suites(root.path());
    assert!(host.errors.is_empty(), "{:?}", host.errors);
    let names: Vec<String> =
        host.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
            "deb.debian.org_debian-security_dists_bookworm-security_main_binary-i386_Packages",
            "security.ubuntu.com_ubuntu_dists_noble-security_main_binary-amd64_Packages",
        ]
    );
    assert_eq!(host.records.len(), 408 + 1);
    let ubuntu = host.records.iter().find(|r| r.id.contains("noble-security")).unwrap();
    assert_eq!(ubuntu.id, "DEBIAN-SECURITY-UPDATE:noble-security:openssl:3.0.13-0ubuntu3.5");
    assert_eq!(ubuntu.affected[0].package.as_ref().unwrap().ecosystem.as_str(), "Ubuntu:24.04");
}

#[test]
fn host_security_suites_keeps_the_good_lists_when_one_is_corrupt() {
    let plain = plain();
    let mut broken = compress(Compression::Xz, &plain);
    broken.truncate(broken.len() / 2);
    let root = tempfile::tempdir().unwrap();
    let broken_name =
        "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.xz";
    apt_lists(root.path(), &[
        (broken_name, &broken),
        ("deb.debian.org_debian-security_dists_bookworm-security_contrib_binary-amd64_Packages", &plain),
    ]);
    let host = apt::host_security_suites(root.path());
    assert_eq!(host.files.len(), 2);
    assert_eq!(host.records.len(), 408);
    assert_eq!(host.errors.len(), 1, "{:?}", host.errors);
    assert!(host.errors[0].file.ends_with(broken_name), "{}", host.errors[0]);
}

#[test]
fn host_security_suites_of_a_host_without_apt_lists_is_empty() {
    let root = tempfile::tempdir().unwrap();
    let host = apt::host_security_suites(root.path());
    assert!(host.files.is_empty() && host.records.is_empty() && host.errors.is_empty());
}
