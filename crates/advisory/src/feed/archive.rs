//! Zip archives laid out like osv.dev's per-ecosystem `all.zip`: one OSV JSON record per member.
//!
//! Pure: the archive is read from bytes in memory. Members are named `archive.zip!member` in
//! errors. Directories and members that are not advisory files are skipped; a member larger
//! than [`MAX_MEMBER`] is rejected rather than inflated (zip bombs).

use std::io::{Cursor, Read};

use super::{detect, parse, Format, Parsed};

/// The `field` of errors about the archive itself (unreadable, corrupt members): a fetched
/// archive with such an error is a failed download, not a feed with bad records.
pub const ARCHIVE_FIELD: &str = "(archive)";

/// The largest member ward inflates: no OSV record comes near it.
pub const MAX_MEMBER: u64 = 64 << 20;

/// Parses every advisory member of a zip archive.
pub fn parse_zip(path: &str, bytes: &[u8]) -> Parsed {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            return Parsed::error(path, ARCHIVE_FIELD, format!("not a readable zip archive: {e}"))
        }
    };
    let mut parsed = Parsed::default();
    let mut buffer = Vec::new();
    for i in 0..archive.len() {
        let mut member = match archive.by_index(i) {
            Ok(m) => m,
            Err(e) => {
                parsed.extend(Parsed::error(path, ARCHIVE_FIELD, format!("member {i}: {e}")));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = format!("{path}!{}", member.name());
        if member.size() > MAX_MEMBER {
            parsed.extend(Parsed::error(&name, "(document)", "member larger than 64 MiB"));
            continue;
        }
        buffer.clear();
        if let Err(e) = member.by_ref().take(MAX_MEMBER + 1).read_to_end(&mut buffer) {
            parsed.extend(Parsed::error(&name, ARCHIVE_FIELD, format!("cannot inflate: {e}")));
            continue;
        }
        match detect(&name, &buffer) {
            // Archives inside archives are not part of osv.dev's layout.
            Some(Format::OsvZip) | None => {}
            Some(format) => parsed.extend(parse(format, &name, &buffer)),
        }
    }
    parsed
}
