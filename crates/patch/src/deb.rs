//! Reading a `.deb` as a stream: its control file, conffiles (with the MD5 of each one's
//! content), and the Debian changelog it ships, without unpacking it anywhere.
//!
//! A `.deb` is an `ar` archive of `debian-binary` (`2.0\n`), `control.tar[.gz|.xz|.zst]` and
//! `data.tar[.gz|.xz|.zst]`, in that order (`deb(5)`); members whose names start with `_` are
//! ignored, as dpkg ignores them. [`inspect`] walks the members once, decompresses each tar as
//! a stream and keeps only what [`DebInfo`] holds: memory stays bounded by [`MAX_CONTROL`] and
//! [`MAX_CHANGELOG`] whatever the size of the package (a `linux-image` `.deb` is 60 MB).
//! `data.tar.bz2` and `.lzma`, which dpkg still reads but no current tool writes, are rejected
//! with [`DebError::UnsupportedCompression`].
//!
//! **API boundary:** pure: the only IO is reading the `Read` passed in. No input panics;
//! every error names the member and what is wrong with it.

use std::collections::BTreeMap;
use std::io::{self, Read};

use md5::{Digest, Md5};

/// The most bytes `DEBIAN/control` (and `DEBIAN/conffiles`) may have.
pub const MAX_CONTROL: u64 = 1 << 20;
/// The most bytes a changelog may decompress to.
pub const MAX_CHANGELOG: u64 = 16 << 20;
/// The most bytes a tar member may decompress to after the tar archive's end blocks (tar pads
/// its output to whole records of 10 KiB).
const MAX_TAR_TRAILER: u64 = 1 << 20;
/// The most memory the xz decoder may allocate for one block's dictionary, in KiB (`xz -9`
/// needs 64 MiB; the format allows 4 GiB).
const XZ_MEMORY_LIMIT_KIB: u32 = 256 << 10;

/// What a `.deb` says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DebInfo {
    /// The `DEBIAN/control` file, as text.
    pub control: String,
    /// The `Package` field.
    pub package: String,
    /// The `Version` field.
    pub version: String,
    /// The `Architecture` field.
    pub architecture: String,
    /// The source package name from the `Source` field, without the `(version)` it may carry;
    /// `None` when the field is absent (the source is then named like the package).
    pub source: Option<String>,
    /// The paths `DEBIAN/conffiles` lists, in its order. Lines flagged `remove-on-upgrade` are
    /// left out: they name obsolete conffiles the package does not ship (dpkg removes them on
    /// upgrade), so they have no content here.
    pub conffiles: Vec<String>,
    /// The MD5 (lower-case hex) of each conffile's content in `data.tar`, keyed by the path as
    /// `conffiles` lists it (`/etc/logrotate.d/apt`). A conffile that `data.tar` does not hold
    /// as a regular file has no key.
    pub conffile_md5: BTreeMap<String, String>,
    /// The decompressed `usr/share/doc/<package>/changelog.Debian.gz` when it is a regular
    /// file in this `.deb`, else `changelog.gz` when that is (native packages have only that
    /// one); `None` when neither is, including when `usr/share/doc/<package>` is a symlink.
    pub changelog: Option<Vec<u8>>,
    /// The target of `usr/share/doc/<package>` when that is a symlink: Debian links the doc
    /// directories of binary packages built from one source to one of them.
    pub doc_link: Option<String>,
}

/// Why a `.deb` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("not a .deb: it does not start with the ar archive magic \"!<arch>\\n\"")]
    NotAr,
    #[error("truncated .deb: {what} ends early")]
    Truncated { what: String },
    #[error("bad ar member header at byte {offset}: {reason}")]
    MemberHeader { offset: u64, reason: String },
    #[error("debian-binary: unsupported .deb format version {found:?} (dpkg reads 2.x)")]
    FormatVersion { found: String },
    #[error("{member}: unexpected ar member; a .deb holds debian-binary, control.tar[.gz|.xz|.zst] and data.tar[.gz|.xz|.zst], in that order")]
    UnexpectedMember { member: String },
    #[error("{member}: unknown compression (ward reads none, .gz, .xz and .zst)")]
    UnknownCompression { member: String },
    #[error(
        "{member}: {compression} compression is not supported (ward reads none, .gz, .xz and .zst)"
    )]
    UnsupportedCompression { member: String, compression: &'static str },
    #[error("missing {member} member: found {found} where it should be")]
    MissingMember { member: &'static str, found: String },
    #[error("{member}: has no control file")]
    MissingControl { member: String },
    #[error("{member}: {path} is larger than {limit} bytes, the most ward reads")]
    TooLarge { member: String, path: String, limit: u64 },
    #[error("{member}: control file: {reason}")]
    Control { member: String, reason: String },
    #[error("{member}: conffiles line {line}: {reason}")]
    Conffiles { member: String, line: usize, reason: String },
    #[error("{member}: corrupt: {source}")]
    Corrupt { member: String, source: io::Error },
    #[error("{member}: {path}: not a gzip stream or corrupt: {source}")]
    Changelog { member: String, path: String, source: io::Error },
    #[error("reading the .deb failed: {0}")]
    Read(io::Error),
}

/// Reads a `.deb` from `reader` in one pass: see the module documentation.
pub fn inspect(reader: impl Read) -> Result<DebInfo, DebError> {
    let mut ar = Ar { inner: reader, offset: 0 };
    ar.read_magic()?;

    let end = || "the end of the archive".to_string();
    let first = ar
        .next_member()?
        .ok_or_else(|| DebError::MissingMember { member: "debian-binary", found: end() })?;
    if first.name != "debian-binary" {
        return Err(DebError::MissingMember { member: "debian-binary", found: first.name });
    }
    let format = ar.read_member(&first, |body| {
        let mut bytes = Vec::new();
        body.take(64).read_to_end(&mut bytes)?;
        Ok(bytes)
    })?;
    let format = String::from_utf8_lossy(&format).trim_end().to_string();
    if !format.starts_with("2.") {
        return Err(DebError::FormatVersion { found: format });
    }

    let mut info = DebInfo::default();
    let mut have_control = false;
    while let Some(member) = ar.next_member()? {
        if member.name.starts_with('_') {
            ar.read_member(&member, |_| Ok(()))?;
            continue;
        }
        let (kind, compression) = member_kind(&member.name)?;
        match (kind, have_control) {
            (Kind::Control, false) => {
                let control = ar.read_member(&member, |body| {
                    read_control_tar(decompress(compression, body)?, &member.name)
                })?;
                fill_control(&mut info, control, &member.name)?;
                have_control = true;
            }
            (Kind::Data, true) => {
                ar.read_member(&member, |body| {
                    read_data_tar(decompress(compression, body)?, &member.name, &mut info)
                })?;
                return Ok(info);
            }
            (Kind::Data, false) => {
                return Err(DebError::MissingMember { member: "control.tar", found: member.name })
            }
            (Kind::Control, true) => {
                return Err(DebError::UnexpectedMember { member: member.name })
            }
        }
    }
    let member = if have_control { "data.tar" } else { "control.tar" };
    Err(DebError::MissingMember { member, found: end() })
}

/// An error while reading one member: an IO error (decompression, tar, or the member itself
/// ending early), or a problem with what it holds.
enum MemberError {
    Io(io::Error),
    Deb(DebError),
}

impl From<io::Error> for MemberError {
    fn from(e: io::Error) -> Self {
        MemberError::Io(e)
    }
}

impl From<DebError> for MemberError {
    fn from(e: DebError) -> Self {
        MemberError::Deb(e)
    }
}

/// One ar member's header: its name (without GNU ar's trailing `/`) and size.
struct MemberHeader {
    name: String,
    size: u64,
}

/// The ar archive being walked, and how many bytes of it were read.
struct Ar<R> {
    inner: R,
    offset: u64,
}

impl<R: Read> Ar<R> {
    fn read_magic(&mut self) -> Result<(), DebError> {
        let mut magic = [0u8; 8];
        let n = self.fill(&mut magic)?;
        if magic[..n] != b"!<arch>\n"[..n] || n == 0 {
            return Err(DebError::NotAr);
        }
        if n < magic.len() {
            return Err(DebError::Truncated { what: "the ar archive magic".into() });
        }
        Ok(())
    }

    /// The next member's header, `None` at a clean end of the archive.
    fn next_member(&mut self) -> Result<Option<MemberHeader>, DebError> {
        let offset = self.offset;
        let mut header = [0u8; 60];
        match self.fill(&mut header)? {
            0 => return Ok(None),
            60 => {}
            _ => {
                return Err(DebError::Truncated {
                    what: format!("the ar member header at byte {offset}"),
                })
            }
        }
        let bad = |reason: String| DebError::MemberHeader { offset, reason };
        if &header[58..60] != b"`\n" {
            return Err(bad("it does not end with the ar header magic \"`\\n\"".into()));
        }
        let name = String::from_utf8_lossy(&header[..16]);
        let name = name.trim_end_matches(' ');
        let name = name.strip_suffix('/').unwrap_or(name).to_string();
        let size_field = String::from_utf8_lossy(&header[48..58]);
        let size = size_field
            .trim_end_matches(' ')
            .parse::<u64>()
            .map_err(|_| bad(format!("member {name:?} has size {size_field:?}, not a number")))?;
        Ok(Some(MemberHeader { name, size }))
    }

    /// Runs `read` over the member's body, then skips what it left unread and the padding
    /// byte. Errors name the member; a body that ends early is [`DebError::Truncated`].
    fn read_member<T>(
        &mut self,
        member: &MemberHeader,
        read: impl FnOnce(&mut Body<'_, R>) -> Result<T, MemberError>,
    ) -> Result<T, DebError> {
        let mut body = Body { inner: &mut self.inner, left: member.size, ended_early: false };
        let result = read(&mut body).and_then(|value| {
            io::copy(&mut body, &mut io::sink())?;
            Ok(value)
        });
        let ended_early = body.ended_early;
        self.offset += member.size - body.left;
        let value = match result {
            _ if ended_early => {
                return Err(DebError::Truncated { what: format!("member {}", member.name) })
            }
            Ok(value) => value,
            Err(MemberError::Deb(e)) => return Err(e),
            Err(MemberError::Io(source)) => {
                return Err(DebError::Corrupt { member: member.name.clone(), source })
            }
        };
        if member.size % 2 == 1 {
            // ar pads odd members with "\n"; a missing pad at the very end is harmless.
            self.fill(&mut [0u8; 1])?;
        }
        Ok(value)
    }

    /// Reads until `buf` is full or the input ends; how many bytes were read.
    fn fill(&mut self, buf: &mut [u8]) -> Result<usize, DebError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(DebError::Read(e)),
            }
        }
        self.offset += filled as u64;
        Ok(filled)
    }
}

/// One member's body: at most `left` more bytes of the archive. Ending before that is an
/// `UnexpectedEof` error, remembered in `ended_early`.
struct Body<'a, R> {
    inner: &'a mut R,
    left: u64,
    ended_early: bool,
}

impl<R: Read> Read for Body<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let max = usize::try_from(self.left).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            self.ended_early = true;
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside this member",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Control,
    Data,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Xz,
    Zstd,
}

/// What a member is, from its name (`control.tar.xz` → control, xz).
fn member_kind(name: &str) -> Result<(Kind, Compression), DebError> {
    let (kind, rest) = if let Some(rest) = name.strip_prefix("control.tar") {
        (Kind::Control, rest)
    } else if let Some(rest) = name.strip_prefix("data.tar") {
        (Kind::Data, rest)
    } else {
        return Err(DebError::UnexpectedMember { member: name.to_string() });
    };
    let compression = match rest {
        "" => Compression::None,
        ".gz" => Compression::Gzip,
        ".xz" => Compression::Xz,
        ".zst" => Compression::Zstd,
        ".bz2" | ".lzma" => {
            return Err(DebError::UnsupportedCompression {
                member: name.to_string(),
                compression: if rest == ".bz2" { "bzip2" } else { "lzma" },
            })
        }
        _ => return Err(DebError::UnknownCompression { member: name.to_string() }),
    };
    Ok((kind, compression))
}

/// The tar stream inside a member.
fn decompress<'a>(
    compression: Compression,
    body: &'a mut dyn Read,
) -> Result<Box<dyn Read + 'a>, MemberError> {
    Ok(match compression {
        Compression::None => Box::new(body),
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(body)),
        Compression::Xz => {
            Box::new(lzma_rust2::XzReader::new_mem_limit(body, true, XZ_MEMORY_LIMIT_KIB))
        }
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(body)?),
    })
}

/// A tar path without its leading `./` or `/` and trailing `/`: `./etc/x` → `etc/x`.
fn normalize(path: &[u8]) -> &[u8] {
    let mut path = path;
    loop {
        if let Some(rest) = path.strip_prefix(b"./") {
            path = rest;
        } else if let Some(rest) = path.strip_prefix(b"/") {
            path = rest;
        } else {
            break;
        }
    }
    while let Some(rest) = path.strip_suffix(b"/") {
        path = rest;
    }
    path
}

/// Reads a tar entry whole, failing past `limit` bytes.
fn read_limited(
    entry: &mut impl Read,
    limit: u64,
    member: &str,
    path: &str,
) -> Result<Vec<u8>, MemberError> {
    let mut bytes = Vec::new();
    entry.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(DebError::TooLarge { member: member.into(), path: path.into(), limit }.into());
    }
    Ok(bytes)
}

/// Reads the rest of a tar stream after the archive's end (padding), up to a limit.
fn finish_tar(mut rest: impl Read, member: &str) -> Result<(), MemberError> {
    let skipped = io::copy(&mut (&mut rest).take(MAX_TAR_TRAILER + 1), &mut io::sink())?;
    if skipped > MAX_TAR_TRAILER {
        return Err(MemberError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("more than {MAX_TAR_TRAILER} bytes after the end of the tar archive (member {member})"),
        )));
    }
    Ok(())
}

/// What `control.tar` holds that ward reads.
struct ControlFiles {
    control: Option<Vec<u8>>,
    conffiles: Option<Vec<u8>>,
}

fn read_control_tar(tar: impl Read, member: &str) -> Result<ControlFiles, MemberError> {
    let mut archive = tar::Archive::new(tar);
    let mut files = ControlFiles { control: None, conffiles: None };
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path_bytes();
        let slot = match normalize(&path) {
            b"control" => &mut files.control,
            b"conffiles" => &mut files.conffiles,
            _ => continue,
        };
        let name = String::from_utf8_lossy(normalize(&path)).into_owned();
        *slot = Some(read_limited(&mut entry, MAX_CONTROL, member, &name)?);
    }
    finish_tar(archive.into_inner(), member)?;
    Ok(files)
}

/// Fills the control fields and conffiles of `info` from `control.tar`'s files.
fn fill_control(info: &mut DebInfo, files: ControlFiles, member: &str) -> Result<(), DebError> {
    let control =
        files.control.ok_or_else(|| DebError::MissingControl { member: member.into() })?;
    let bad = |reason: String| DebError::Control { member: member.into(), reason };
    info.control =
        String::from_utf8(control).map_err(|_| bad("it is not valid UTF-8".to_string()))?;
    let fields = control_fields(&info.control);
    let required = |name: &str| {
        fields
            .get(&name.to_ascii_lowercase())
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| bad(format!("it has no {name} field")))
    };
    info.package = required("Package")?;
    info.version = required("Version")?;
    info.architecture = required("Architecture")?;
    info.source =
        fields.get("source").and_then(|s| s.split_whitespace().next()).map(str::to_string);
    if let Some(conffiles) = files.conffiles {
        info.conffiles = parse_conffiles(&conffiles, member)?;
    }
    Ok(())
}

/// The fields of the first paragraph of a control file, keyed by lower-cased name; values
/// trimmed, continuation lines joined with `\n`.
fn control_fields(text: &str) -> BTreeMap<String, String> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if fields.is_empty() {
                continue;
            }
            break;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(value) = last.as_ref().and_then(|name| fields.get_mut(name)) {
                value.push('\n');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            fields.entry(name.clone()).or_insert_with(|| value.trim().to_string());
            last = Some(name);
        }
    }
    fields
}

/// The conffile paths of `DEBIAN/conffiles`: one absolute path a line, optionally after flags
/// (`remove-on-upgrade /etc/old.conf`, dpkg ≥ 1.20.1); flagged lines are left out.
fn parse_conffiles(bytes: &[u8], member: &str) -> Result<Vec<String>, DebError> {
    let text = std::str::from_utf8(bytes).map_err(|_| DebError::Conffiles {
        member: member.into(),
        line: 0,
        reason: "the file is not valid UTF-8".into(),
    })?;
    let mut paths = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let bad =
            |reason: String| DebError::Conffiles { member: member.into(), line: index + 1, reason };
        let line = line.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        if line.starts_with('/') {
            paths.push(line.to_string());
            continue;
        }
        let (flag, path) = line.trim_start().split_once(' ').unwrap_or((line, ""));
        if !path.trim_start().starts_with('/') {
            return Err(bad(format!("{line:?} is not an absolute path")));
        }
        if flag != "remove-on-upgrade" {
            return Err(bad(format!("unknown flag {flag:?} (dpkg knows remove-on-upgrade)")));
        }
    }
    Ok(paths)
}

/// Where a changelog candidate was found.
#[derive(Default)]
struct Changelogs {
    debian: Option<Vec<u8>>,
    native: Option<Vec<u8>>,
}

fn read_data_tar(tar: impl Read, member: &str, info: &mut DebInfo) -> Result<(), MemberError> {
    let conffiles: BTreeMap<Vec<u8>, &str> = info
        .conffiles
        .iter()
        .map(|path| (normalize(path.as_bytes()).to_vec(), path.as_str()))
        .collect();
    let doc_dir = format!("usr/share/doc/{}", info.package).into_bytes();
    let changelog_debian = [doc_dir.as_slice(), b"/changelog.Debian.gz"].concat();
    let changelog_native = [doc_dir.as_slice(), b"/changelog.gz"].concat();
    let mut md5s = BTreeMap::new();
    let mut changelogs = Changelogs::default();
    let mut doc_link = None;

    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let kind = entry.header().entry_type();
        let raw_path = entry.path_bytes().into_owned();
        let path = normalize(&raw_path);
        if kind.is_symlink() && path == doc_dir.as_slice() {
            let target = entry.link_name_bytes().unwrap_or_default();
            doc_link = Some(String::from_utf8_lossy(&target).into_owned());
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if let Some(conffile) = conffiles.get(path) {
            let mut hasher = Md5::new();
            io::copy(&mut entry, &mut hasher)?;
            md5s.insert(conffile.to_string(), hex(&hasher.finalize()));
        } else if path == changelog_debian.as_slice() || path == changelog_native.as_slice() {
            let name = String::from_utf8_lossy(path).into_owned();
            let text = gunzip_limited(&mut entry, member, &name)?;
            if path == changelog_debian.as_slice() {
                changelogs.debian = Some(text);
            } else {
                changelogs.native = Some(text);
            }
        }
    }
    finish_tar(archive.into_inner(), member)?;
    info.conffile_md5 = md5s;
    info.changelog = match doc_link {
        Some(_) => None,
        None => changelogs.debian.or(changelogs.native),
    };
    info.doc_link = doc_link;
    Ok(())
}

/// The decompressed bytes of a gzipped file (all its members), at most [`MAX_CHANGELOG`].
fn gunzip_limited(file: &mut impl Read, member: &str, path: &str) -> Result<Vec<u8>, MemberError> {
    let mut decoder = flate2::read::MultiGzDecoder::new(file);
    let mut bytes = Vec::new();
    let read = (&mut decoder).take(MAX_CHANGELOG + 1).read_to_end(&mut bytes);
    if let Err(source) = read {
        return Err(DebError::Changelog { member: member.into(), path: path.into(), source }.into());
    }
    if bytes.len() as u64 > MAX_CHANGELOG {
        return Err(DebError::TooLarge {
            member: member.into(),
            path: path.into(),
            limit: MAX_CHANGELOG,
        }
        .into());
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
