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
/// Unreadable files become errors of the result; parsing never stops early. Files are parsed
/// on every available core; the result keeps the files' order.
pub fn read(files: &SourceFiles, progress: &mut dyn FnMut(usize, usize)) -> Parsed {
    let total = files.files.len();
    let threads =
        std::thread::available_parallelism().map_or(1, usize::from).clamp(1, 8).min(total.max(1));
    if threads <= 1 {
        let mut parsed = Parsed::default();
        for (i, file) in files.files.iter().enumerate() {
            parsed.extend(read_one(file));
            progress(i + 1, total);
        }
        return parsed;
    }
    let chunk = total.div_ceil(threads);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .files
            .chunks(chunk)
            .map(|part| {
                let done_tx = done_tx.clone();
                scope.spawn(move || {
                    let mut parsed = Parsed::default();
                    for file in part {
                        parsed.extend(read_one(file));
                        let _ = done_tx.send(());
                    }
                    parsed
                })
            })
            .collect();
        drop(done_tx);
        let mut done = 0;
        for () in done_rx {
            done += 1;
            progress(done, total);
        }
        let mut parsed = Parsed::default();
        for (worker, part) in workers.into_iter().zip(files.files.chunks(chunk)) {
            match worker.join() {
                Ok(p) => parsed.extend(p),
                Err(_) => {
                    let first = part
                        .first()
                        .map(|(p, _)| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    parsed.errors.push(feed::ImportError::new(
                        &first,
                        "(file)",
                        "a parser panicked; please report this file",
                    ));
                }
            }
        }
        parsed
    })
}

fn read_one((path, format): &(PathBuf, Format)) -> Parsed {
    let name = path.to_string_lossy();
    let bytes = fs::metadata(path).and_then(|m| {
        if m.len() > MAX_FILE {
            Err(std::io::Error::other("file larger than 2 GiB"))
        } else {
            fs::read(path)
        }
    });
    match bytes {
        Ok(b) => feed::parse(*format, &name, &b),
        Err(e) => Parsed {
            errors: vec![feed::ImportError::new(&name, "(file)", e.to_string())],
            ..Parsed::default()
        },
    }
}
