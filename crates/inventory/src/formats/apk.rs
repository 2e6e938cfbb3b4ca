//! apk's `installed` database (`/lib/apk/db/installed`): one paragraph per installed package
//! with one-letter keys (`P` name, `V` version, `A` architecture, `o` origin, `c` aports commit).

use ward_version::EcosystemKind;

use super::stanza::{self, APK};
use crate::{lines, Package, Parsed, Source};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    for para in stanza::paragraphs(&text, APK) {
        if para.fields.is_empty() {
            continue;
        }
        let Some(name) = para.fields.iter().find(|f| f.key == "P" && !f.value.is_empty()) else {
            if para.fields.iter().any(|f| f.key == "V" || f.key == "C") {
                out.error(
                    path,
                    Some(para.line),
                    "package entry without a P: (name) field; skipped",
                );
            }
            continue;
        };
        let field = |key: &str| {
            para.fields.iter().find(|f| f.key == key).map(|f| f.value).filter(|v| !v.is_empty())
        };
        let version = field("V").unwrap_or("");
        if version.is_empty() {
            out.error(
                path,
                Some(name.line),
                format!("package {} has no V: (version) field", name.value),
            );
        }
        let mut p = Package::new(
            EcosystemKind::Alpine,
            name.value,
            version,
            super::at(path, Some(name.line)),
        );
        p.arch = field("A").map(str::to_string);
        p.commit = field("c").map(str::to_string);
        if let Some(origin) = field("o") {
            p.source = Some(Source { name: origin.to_string(), version: version.to_string() });
        }
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str)], errors: usize) {
        let got = parse("installed", input.as_bytes());
        let packages: Vec<_> =
            got.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_packages() {
        check(
            "C:Q1x=\nP:musl\nV:1.2.3-r4\nA:x86_64\no:musl\nc:f93a\n\nP:busybox\nV:1.35.0-r29\n",
            &[("musl", "1.2.3-r4"), ("busybox", "1.35.0-r29")],
            0,
        );
        check("C:Q1x=\nV:1\n\nP:b\n", &[("b", "")], 2);
        check("garbage", &[], 0);
    }
}
