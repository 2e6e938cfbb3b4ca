//! Reading feed sources from disk (IO edge): single files, directories walked in name order,
//! and zip archives, each file handed to the pure parsers in [`crate::feed`].

use std::fs;
use std::path::{Path, PathBuf};

use super::StoreError;
use crate::feed::{self, Format, Parsed};

/// The largest single file ward reads as a feed (osv.dev's biggest `all.zip` is far below).
pub const MAX_FILE: u64 = 2 << 30;

/// Files a source consists of, in a stable order, with the format of each.
#[derive(Clone, Debug, Default)]
pub struct SourceFiles {
    pub files: Vec<(PathBuf, Format)>,
}

/// Lists the advisory files under `path` (a file or a directory). Files whose format is not
/// recognized (READMEs, licenses, scripts) are skipped; hidden entries too.
pub fn list(path: &Path) -> Result<SourceFiles, StoreError> {
    let meta = fs::metadata(path).map_err(|e| StoreError::io(path, "reading", e))?;
    let mut out = SourceFiles::default();
    if meta.is_file() {
        let bytes = read_head(path)?;
        let format = feed::detect(&path.to_string_lossy(), &bytes)
            .ok_or_else(|| StoreError::UnknownFormat { path: path.to_path_buf() })?;
        out.files.push((path.to_path_buf(), format));
        return Ok(out);
    }
    walk(path, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, out: &mut SourceFiles) -> Result<(), StoreError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| StoreError::io(dir, "listing", e))?
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::io(dir, "listing", e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| StoreError::io(&path, "reading", e))?;
        if kind.is_dir() {
            walk(&path, out)?;
        } else if kind.is_file() {
            let head = read_head(&path)?;
            if let Some(format) = feed::detect(&path.to_string_lossy(), &head) {
                out.files.push((path, format));
            }
        }
    }
    Ok(())
}

fn read_head(path: &Path) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| StoreError::io(path, "reading", e))?;
    Ok(head)
}

/// Reads and parses every file of a source, calling `progress(done, total)` after each.
/// Unreadable files become errors of the result; parsing never stops early.
pub fn read(files: &SourceFiles, progress: &mut dyn FnMut(usize, usize)) -> Parsed {
    let total = files.files.len();
    let mut parsed = Parsed::default();
    for (i, (path, format)) in files.files.iter().enumerate() {
        let name = path.to_string_lossy();
        let bytes = match fs::metadata(path).and_then(|m| {
            if m.len() > MAX_FILE {
                Err(std::io::Error::other("file larger than 2 GiB"))
            } else {
                fs::read(path)
            }
        }) {
            Ok(b) => b,
            Err(e) => {
                parsed.errors.push(feed::ImportError::new(&name, "(file)", e.to_string()));
                progress(i + 1, total);
                continue;
            }
        };
        parsed.extend(feed::parse(*format, &name, &bytes));
        progress(i + 1, total);
    }
    parsed
}
