//! Go executables' embedded build information (Go 1.18 and later, any object format): the
//! toolchain version (as `stdlib`) and every dependency module, with `=>` replacements applied.
//! Binaries built before Go 1.18 store pointers instead of inline strings and are reported as
//! unsupported.

use ward_version::EcosystemKind;

use crate::{Package, Parsed};

const MAGIC: &[u8] = b"\xff Go buildinf:";

/// Whether `bytes` holds a Go build information header.
pub fn is_go_binary(bytes: &[u8]) -> bool {
    find_magic(bytes).is_some()
}

fn find_magic(bytes: &[u8]) -> Option<usize> {
    // The header is 16-byte aligned in the binary's data.
    let mut at = 0;
    while at + MAGIC.len() <= bytes.len() {
        let rest = &bytes[at..];
        let i = rest.windows(MAGIC.len()).position(|w| w == MAGIC)?;
        if (at + i) % 16 == 0 {
            return Some(at + i);
        }
        at += i + 1;
    }
    None
}

/// Reads a uvarint-prefixed string.
fn read_string(bytes: &[u8], pos: &mut usize) -> Option<String> {
    let mut len: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
    let len = usize::try_from(len).ok()?;
    let end = pos.checked_add(len)?;
    let s = bytes.get(*pos..end)?;
    *pos = end;
    Some(String::from_utf8_lossy(s).into_owned())
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let Some(at) = find_magic(bytes) else {
        out.error(path, None, "not a Go binary: no Go build information");
        return out;
    };
    let flags = bytes.get(at + 15).copied().unwrap_or(0);
    if flags & 2 == 0 {
        out.error(
            path,
            None,
            "Go binary built before Go 1.18 (build information by pointer): not supported",
        );
        return out;
    }
    let mut pos = at + 32;
    let (Some(go_version), Some(modinfo)) =
        (read_string(bytes, &mut pos), read_string(bytes, &mut pos))
    else {
        out.error(path, None, "truncated Go build information");
        return out;
    };
    let modinfo =
        if modinfo.len() >= 33 { modinfo.get(16..modinfo.len() - 16).unwrap_or("") } else { "" };
    if let Some(v) = go_version.strip_prefix("go") {
        let v = v.split(' ').next().unwrap_or(v);
        out.packages.push(Package::new(EcosystemKind::Go, "stdlib", v, super::at(path, None)));
    }
    for line in modinfo.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["dep", module, version, ..] => {
                let v = version.strip_prefix('v').unwrap_or(version);
                out.packages.push(Package::new(
                    EcosystemKind::Go,
                    *module,
                    v,
                    super::at(path, None),
                ));
            }
            ["=>", module, version, ..] => {
                if let Some(last) = out.packages.last_mut() {
                    last.name = (*module).to_string();
                    last.version = version.strip_prefix('v').unwrap_or(version).to_string();
                }
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inline_build_information() {
        let mut bin = vec![0u8; 32];
        bin.extend_from_slice(MAGIC);
        bin.extend_from_slice(&[8, 2]);
        bin.resize(64, 0);
        let modinfo = format!("{}path\tx\nmod\tx\t(devel)\t\ndep\tgithub.com/a/b\tv1.4.0\th1:x\n=>\tgithub.com/c/b\tv1.5.0\th1:y\n{}", "0".repeat(16), "1".repeat(16));
        for s in ["go1.21.10", modinfo.as_str()] {
            bin.push(u8::try_from(s.len()).unwrap());
            bin.extend_from_slice(s.as_bytes());
        }
        let got = parse("bin", &bin);
        let summary: Vec<_> =
            got.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(summary, [("stdlib", "1.21.10"), ("github.com/c/b", "1.5.0")]);
        assert_eq!(parse("x", b"module m\n").errors.len(), 1);
    }
}
