//! Installed Python distributions: the `METADATA` file of a `*.dist-info` folder (or
//! `PKG-INFO` of an `*.egg-info`), whose email-style headers give `Name` and `Version`.

use ward_version::EcosystemKind;

use super::stanza::{self, DPKG};
use crate::lines;
use crate::purl::normalize_pypi;
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    // The headers end at the first blank line; the long description follows.
    let headers = stanza::paragraphs(&text, DPKG).into_iter().next().unwrap_or_default();
    let name = headers.get("Name").filter(|f| !f.value.is_empty());
    let version = headers.value("Version").filter(|v| !v.is_empty());
    match (name, version) {
        (Some(name), Some(version)) => {
            out.packages.push(Package::new(
                EcosystemKind::PyPi,
                normalize_pypi(name.value),
                version,
                super::at(path, Some(name.line)),
            ));
        }
        _ => out.error(path, Some(1), "Python metadata without Name and Version headers"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_name_and_version() {
        let got = parse(
            "x.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: Flask_Cors\nVersion: 4.0.0\n\nName: not-a-header\n",
        );
        assert_eq!(got.packages.len(), 1);
        assert_eq!(
            (got.packages[0].name.as_str(), got.packages[0].version.as_str()),
            ("flask-cors", "4.0.0")
        );
        assert_eq!(parse("m", b"Metadata-Version: 2.1\n").errors.len(), 1);
    }
}
