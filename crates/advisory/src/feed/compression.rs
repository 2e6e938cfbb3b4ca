//! Compressed feed files (gzip, xz, lz4 frame, zstd) back to their bytes: pure and bounded.
//!
//! apt keeps its lists compressed (`..._Packages.lz4` on hosts that set `GzipIndexes`) and
//! mirrors publish `Packages.gz` and `Packages.xz`; these functions turn such bytes into the
//! bytes of the file inside, in memory. The compression is told by the stream's magic bytes
//! (the content wins over the name); a file whose name promises a compression its bytes do not
//! start with is an error, as is a corrupt or truncated stream and one that inflates past
//! [`MAX_DECOMPRESSED`]. Every error is an [`ImportError`] naming the file; nothing here panics.

use std::borrow::Cow;
use std::io::Read;

use super::ImportError;

/// The most bytes one compressed file may decompress to (the biggest security suite
/// `Packages`, Ubuntu's, is a few tens of MiB; a full main archive about 100 MiB).
pub const MAX_DECOMPRESSED: u64 = 512 << 20;

/// The most memory the xz decoder may allocate for one block's dictionary, in KiB (`xz -9`
/// needs 64 MiB; the format allows 4 GiB).
const XZ_MEMORY_LIMIT_KIB: u32 = 256 << 10;

/// The field of every error this module reports.
const FIELD: &str = "(compression)";

/// The compressions ward reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compression {
    Gzip,
    Xz,
    /// The LZ4 frame format (`lz4` the tool, apt's `.lz4` lists), not raw LZ4 blocks.
    Lz4,
    Zstd,
}

impl Compression {
    /// Every compression, for exhaustive tests.
    pub const ALL: &'static [Compression] =
        &[Compression::Gzip, Compression::Xz, Compression::Lz4, Compression::Zstd];

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Gzip => "gz",
            Compression::Xz => "xz",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zst",
        }
    }

    /// The magic bytes every stream of this compression starts with.
    fn magic(self) -> &'static [u8] {
        match self {
            Compression::Gzip => b"\x1f\x8b",
            Compression::Xz => b"\xfd7zXZ\x00",
            Compression::Lz4 => b"\x04\x22\x4d\x18",
            Compression::Zstd => b"\x28\xb5\x2f\xfd",
        }
    }

    /// The compression `bytes` are in, from their first bytes; `None` for anything else.
    pub fn of_bytes(bytes: &[u8]) -> Option<Compression> {
        Compression::ALL.iter().copied().find(|c| bytes.starts_with(c.magic()))
    }

    /// The compression a file name ends in (`Packages.xz`, `..._Packages.lz4`), if any.
    pub fn of_name(path: &str) -> Option<Compression> {
        split_name(path).1
    }
}

/// A file name without its compression extension, and the compression it named:
/// `Packages.lz4` → (`Packages`, Lz4); `Packages` → (`Packages`, None). Case-insensitive.
pub fn split_name(path: &str) -> (&str, Option<Compression>) {
    for &c in Compression::ALL {
        let ext = c.extension();
        if let Some(dot) = path.len().checked_sub(ext.len() + 1) {
            if path.is_char_boundary(dot)
                && path[dot..].starts_with('.')
                && path[dot + 1..].eq_ignore_ascii_case(ext)
            {
                return (&path[..dot], Some(c));
            }
        }
    }
    (path, None)
}

/// The bytes of the file inside `bytes` when they are compressed, else `bytes` unchanged;
/// at most [`MAX_DECOMPRESSED`] bytes. `path` names the file in errors.
pub fn decompress<'a>(path: &str, bytes: &'a [u8]) -> Result<Cow<'a, [u8]>, ImportError> {
    decompress_limited(path, bytes, MAX_DECOMPRESSED)
}

/// [`decompress`] with another size cap (`max` bytes of output).
pub fn decompress_limited<'a>(
    path: &str,
    bytes: &'a [u8],
    max: u64,
) -> Result<Cow<'a, [u8]>, ImportError> {
    let compression = match (Compression::of_bytes(bytes), Compression::of_name(path)) {
        (Some(c), _) => c,
        (None, None) => return Ok(Cow::Borrowed(bytes)),
        (None, Some(named)) => {
            return Err(ImportError::new(
                path,
                FIELD,
                format!(
                    "named .{} but not {} stream: its bytes do not start with the format's magic",
                    named.extension(),
                    describe(named)
                ),
            ))
        }
    };
    let decoder: Box<dyn Read + '_> = match compression {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(bytes)),
        Compression::Xz => {
            Box::new(lzma_rust2::XzReader::new_mem_limit(bytes, true, XZ_MEMORY_LIMIT_KIB))
        }
        Compression::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(bytes)),
        Compression::Zstd => match zstd::stream::read::Decoder::with_buffer(bytes) {
            Ok(d) => Box::new(d),
            Err(e) => return Err(corrupt(path, compression, &e)),
        },
    };
    let mut out = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "over it".
    match decoder.take(max.saturating_add(1)).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > max => Err(ImportError::new(
            path,
            FIELD,
            format!(
                "{} stream that decompresses to more than {}, the most ward reads from one file",
                describe(compression),
                if max >= 1 << 20 { format!("{} MiB", max >> 20) } else { format!("{max} bytes") }
            ),
        )),
        Ok(_) if compression == Compression::Lz4 && lz4_frames_end(bytes).is_none() => {
            Err(ImportError::new(
                path,
                FIELD,
                "truncated data in an lz4 frame stream: a frame has no end mark",
            ))
        }
        Ok(_) => Ok(Cow::Owned(out)),
        Err(e) => Err(corrupt(path, compression, &e)),
    }
}

/// `Some` when `bytes` are whole LZ4 frames, each closed by its end mark. lz4_flex's decoder
/// stops without an error when a stream ends between two blocks, which would read a truncated
/// file as a shorter one; this walks the frame structure (not the data) to tell.
fn lz4_frames_end(bytes: &[u8]) -> Option<()> {
    let u32_at = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(4)?)?;
        usize::try_from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])).ok()
    };
    let mut at = 0;
    while at < bytes.len() {
        let magic = u32_at(at)?;
        if magic & 0xFFFF_FFF0 == 0x184D_2A50 {
            // A skippable frame: its size, then that many bytes.
            at = at.checked_add(8)?.checked_add(u32_at(at + 4)?)?;
            continue;
        }
        if magic != 0x184D_2204 {
            return None;
        }
        let flags = *bytes.get(at + 4)?;
        let content_size = if flags & 0x08 != 0 { 8 } else { 0 };
        let dictionary_id = if flags & 0x01 != 0 { 4 } else { 0 };
        let block_checksum = if flags & 0x10 != 0 { 4 } else { 0 };
        let content_checksum = if flags & 0x04 != 0 { 4 } else { 0 };
        // magic, FLG, BD, options, header checksum
        at += 4 + 2 + content_size + dictionary_id + 1;
        loop {
            let size = u32_at(at)?;
            at += 4;
            if size == 0 {
                break;
            }
            // The high bit marks an uncompressed block; the rest is the size.
            at = at.checked_add(size & 0x7FFF_FFFF)?.checked_add(block_checksum)?;
        }
        at += content_checksum;
    }
    (at == bytes.len()).then_some(())
}

/// The compression's name with its article ("an xz"), for messages.
fn describe(c: Compression) -> &'static str {
    match c {
        Compression::Gzip => "a gzip",
        Compression::Xz => "an xz",
        Compression::Lz4 => "an lz4 frame",
        Compression::Zstd => "a zstd",
    }
}

fn corrupt(path: &str, c: Compression, e: &std::io::Error) -> ImportError {
    let what = if e.kind() == std::io::ErrorKind::UnexpectedEof { "truncated" } else { "corrupt" };
    ImportError::new(path, FIELD, format!("{what} data in {} stream: {e}", describe(c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_and_without_a_compression() {
        let check = |name: &str, expect: (&str, Option<Compression>)| {
            assert_eq!(split_name(name), expect, "{name}");
        };
        check("Packages", ("Packages", None));
        check("Packages.xz", ("Packages", Some(Compression::Xz)));
        check("dists/x/Packages.GZ", ("dists/x/Packages", Some(Compression::Gzip)));
        check(
            "a_dists_bookworm-security_main_binary-amd64_Packages.lz4",
            ("a_dists_bookworm-security_main_binary-amd64_Packages", Some(Compression::Lz4)),
        );
        check(
            "Packages.bookworm-security.main.amd64.zst",
            ("Packages.bookworm-security.main.amd64", Some(Compression::Zstd)),
        );
        check("xz", ("xz", None));
        check(".xz", ("", Some(Compression::Xz)));
        check("é.gz", ("é", Some(Compression::Gzip)));
        check("éxz", ("éxz", None));
    }

    #[test]
    fn plain_bytes_pass_through_unchanged() {
        let out = decompress("Packages", b"Package: a\n").unwrap();
        assert!(matches!(out, Cow::Borrowed(b"Package: a\n")));
    }

    #[test]
    fn a_name_promising_a_compression_the_bytes_lack_is_an_error() {
        let e = decompress("dists/x/Packages.xz", b"Package: a\n").unwrap_err();
        assert_eq!(e.file, "dists/x/Packages.xz");
        assert_eq!(e.field, "(compression)");
        assert!(e.message.contains("not an xz stream"), "{e}");
    }
}
