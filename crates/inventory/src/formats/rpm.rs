//! RPM package headers, as the rpm database stores one per installed package (the `blob`
//! column of `Packages` in the SQLite `rpmdb.sqlite` of current Fedora, RHEL and SUSE).
//! Reading the database file is the caller's job; this module decodes one header: an index of
//! `(tag, type, offset, count)` entries over a data store, all big-endian.
//!
//! Versions are reported as `[epoch:]version-release`, the form Red Hat's OSV advisories and
//! ward-version's rpm ordering use; the source package comes from `SOURCERPM`.

use ward_version::EcosystemKind;

use crate::{Location, Package, Source};

const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;

const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// Why a header could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RpmHeaderError {
    #[error("header too short ({0} bytes)")]
    TooShort(usize),
    #[error("header index of {entries} entries and {data} data bytes does not fit in {len} bytes")]
    Truncated { entries: usize, data: usize, len: usize },
    #[error("header has no {0} tag")]
    Missing(&'static str),
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The decoded fields ward uses.
#[derive(Debug, Default)]
struct Fields {
    name: Option<String>,
    version: Option<String>,
    release: Option<String>,
    epoch: Option<u32>,
    arch: Option<String>,
    source_rpm: Option<String>,
}

fn read_fields(blob: &[u8]) -> Result<Fields, RpmHeaderError> {
    let (Some(entries), Some(data_len)) = (be32(blob, 0), be32(blob, 4)) else {
        return Err(RpmHeaderError::TooShort(blob.len()));
    };
    let (entries, data_len) = (entries as usize, data_len as usize);
    let store = entries.checked_mul(16).and_then(|n| n.checked_add(8));
    let end = store.and_then(|s| s.checked_add(data_len));
    let (Some(store), Some(end)) = (store, end) else {
        return Err(RpmHeaderError::Truncated { entries, data: data_len, len: blob.len() });
    };
    if end > blob.len() {
        return Err(RpmHeaderError::Truncated { entries, data: data_len, len: blob.len() });
    }
    let data = &blob[store..end];
    let string_at = |offset: usize| -> Option<String> {
        let rest = data.get(offset..)?;
        let len = rest.iter().position(|b| *b == 0)?;
        Some(String::from_utf8_lossy(&rest[..len]).into_owned())
    };
    let mut fields = Fields::default();
    for i in 0..entries {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(offset)) =
            (be32(blob, at), be32(blob, at + 4), be32(blob, at + 8))
        else {
            continue;
        };
        let offset = offset as usize;
        let text =
            || if matches!(ty, TYPE_STRING | TYPE_I18NSTRING) { string_at(offset) } else { None };
        match tag {
            TAG_NAME => fields.name = text(),
            TAG_VERSION => fields.version = text(),
            TAG_RELEASE => fields.release = text(),
            TAG_ARCH => fields.arch = text(),
            TAG_SOURCERPM => fields.source_rpm = text(),
            TAG_EPOCH if ty == TYPE_INT32 => fields.epoch = be32(data, offset),
            _ => {}
        }
    }
    Ok(fields)
}

/// `openssl-3.0.7-24.el9.src.rpm` → (`openssl`, `3.0.7-24.el9`).
fn split_source_rpm(file: &str) -> Option<(String, String)> {
    let stem = file.strip_suffix(".src.rpm").or_else(|| file.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    Some((name.to_string(), format!("{version}-{release}")))
}

/// Decodes one installed package's header. `Ok(None)` for the GPG keys rpm keeps as
/// pseudo-packages (`gpg-pubkey`), which are not software.
pub fn parse_header(location: Location, blob: &[u8]) -> Result<Option<Package>, RpmHeaderError> {
    package(location, read_fields(blob)?)
}

/// The `--queryformat` that [`parse_query_output`] reads: one tab-separated line per package.
pub const QUERY_FORMAT: &str =
    "%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n";

/// Reads the output of `rpm -qa --queryformat QUERY_FORMAT`: how ward inventories rpm
/// databases it cannot open itself (BerkeleyDB and NDB, RHEL 8 and older, SUSE), through the
/// host's own rpm. A line that does not have the six fields is an error naming its number.
pub fn parse_query_output(path: &str, output: &[u8]) -> crate::Parsed {
    let mut out = crate::Parsed::default();
    for (n, line) in String::from_utf8_lossy(output).lines().enumerate() {
        let number = u32::try_from(n + 1).unwrap_or(u32::MAX);
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [name, epoch, version, release, arch, source] = cols[..] else {
            out.error(
                path,
                Some(number),
                "expected NAME, EPOCH, VERSION, RELEASE, ARCH and SOURCERPM separated by tabs",
            );
            continue;
        };
        let Ok(epoch) = epoch.parse::<u32>() else {
            out.error(path, Some(number), format!("epoch {epoch:?} is not a number"));
            continue;
        };
        let none = |v: &str| (!v.is_empty() && v != "(none)").then(|| v.to_string());
        let fields = Fields {
            name: none(name),
            version: none(version),
            release: none(release),
            epoch: Some(epoch),
            arch: none(arch),
            source_rpm: none(source),
        };
        let location = Location { path: path.to_string(), line: Some(number) };
        match package(location, fields) {
            Ok(Some(p)) => out.packages.push(p),
            Ok(None) => {}
            Err(e) => out.error(path, Some(number), e.to_string()),
        }
    }
    out
}

/// One installed package from its decoded fields (`None` for `gpg-pubkey` entries).
fn package(location: Location, f: Fields) -> Result<Option<Package>, RpmHeaderError> {
    let name = f.name.ok_or(RpmHeaderError::Missing("NAME"))?;
    if name == "gpg-pubkey" {
        return Ok(None);
    }
    let version = f.version.ok_or(RpmHeaderError::Missing("VERSION"))?;
    let release = f.release.ok_or(RpmHeaderError::Missing("RELEASE"))?;
    let evr = match f.epoch {
        Some(e) if e > 0 => format!("{e}:{version}-{release}"),
        _ => format!("{version}-{release}"),
    };
    let mut p = Package::new(EcosystemKind::RedHat, name, evr, location);
    p.arch = f.arch.filter(|a| !a.is_empty());
    p.source = f.source_rpm.as_deref().and_then(split_source_rpm).map(|(name, mut version)| {
        if let Some(e) = f.epoch.filter(|e| *e > 0) {
            version = format!("{e}:{version}");
        }
        Source { name, version }
    });
    Ok(Some(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a header blob from `(tag, type, value)` entries.
    fn header(entries: &[(u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, value) in entries {
            if *ty == TYPE_INT32 {
                while data.len() % 4 != 0 {
                    data.push(0);
                }
            }
            for v in [*tag, *ty, u32::try_from(data.len()).unwrap(), 1] {
                index.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(value);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&u32::try_from(entries.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        blob.extend(index);
        blob.extend(data);
        blob
    }

    fn at() -> Location {
        Location { path: "rpmdb.sqlite".into(), line: None }
    }

    #[test]
    fn reads_rpm_query_output_like_headers() {
        let out = parse_query_output(
            "rpm -qa",
            b"openssl-libs\t1\t3.0.7\t24.el9\tx86_64\topenssl-3.0.7-24.el9.src.rpm\n\
              gpg-pubkey\t0\tfd431d51\t4ae0493b\t(none)\t(none)\n\
              bash\t0\t5.1.8\t9.el9\tx86_64\tbash-5.1.8-9.el9.src.rpm\n\
              broken line\n\
              zlib\tx\t1\t2\tnoarch\t(none)\n",
        );
        let got: Vec<(&str, &str)> =
            out.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(got, [("openssl-libs", "1:3.0.7-24.el9"), ("bash", "5.1.8-9.el9")]);
        let s = out.packages[0].source.as_ref().unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl", "1:3.0.7-24.el9"));
        assert_eq!(out.packages[1].location.line, Some(3));
        let errors: Vec<Option<u32>> = out.errors.iter().map(|e| e.line).collect();
        assert_eq!(errors, [Some(4), Some(5)]);
    }

    #[test]
    fn decodes_name_epoch_version_release_and_source() {
        let blob = header(&[
            (TAG_NAME, TYPE_STRING, b"openssl-libs\0"),
            (TAG_VERSION, TYPE_STRING, b"3.0.7\0"),
            (TAG_RELEASE, TYPE_STRING, b"24.el9\0"),
            (TAG_EPOCH, TYPE_INT32, &1u32.to_be_bytes()),
            (TAG_ARCH, TYPE_STRING, b"x86_64\0"),
            (TAG_SOURCERPM, TYPE_STRING, b"openssl-3.0.7-24.el9.src.rpm\0"),
        ]);
        let p = parse_header(at(), &blob).unwrap().unwrap();
        assert_eq!(
            (p.name.as_str(), p.version.as_str(), p.arch.as_deref()),
            ("openssl-libs", "1:3.0.7-24.el9", Some("x86_64"))
        );
        let s = p.source.unwrap();
        assert_eq!((s.name.as_str(), s.version.as_str()), ("openssl", "1:3.0.7-24.el9"));
    }

    #[test]
    fn keys_and_broken_headers() {
        let key = header(&[
            (TAG_NAME, TYPE_STRING, b"gpg-pubkey\0"),
            (TAG_VERSION, TYPE_STRING, b"fd431d51\0"),
            (TAG_RELEASE, TYPE_STRING, b"4ae0493b\0"),
        ]);
        assert_eq!(parse_header(at(), &key), Ok(None));
        assert_eq!(parse_header(at(), b"\0\0"), Err(RpmHeaderError::TooShort(2)));
        assert!(matches!(
            parse_header(at(), &[0, 0, 0, 9, 0, 0, 0, 9, 1]),
            Err(RpmHeaderError::Truncated { .. })
        ));
        assert_eq!(
            parse_header(at(), &header(&[(TAG_VERSION, TYPE_STRING, b"1\0")])),
            Err(RpmHeaderError::Missing("NAME"))
        );
        assert_eq!(
            parse_header(at(), &[0xff; 8]).map(|_| ()),
            Err(RpmHeaderError::Truncated { entries: 0xffff_ffff, data: 0xffff_ffff, len: 8 })
        );
        assert_eq!(
            split_source_rpm("bash-5.1.8-6.el9.src.rpm"),
            Some(("bash".into(), "5.1.8-6.el9".into()))
        );
        assert_eq!(split_source_rpm("weird.rpm"), None);
    }
}
