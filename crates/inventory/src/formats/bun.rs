//! Bun's text lockfile `bun.lock` (JSON with trailing commas): each `packages` entry is a
//! tuple whose first element is `name@version` (or `name@github:owner/repo#commit`,
//! `name@file:path`, `name@workspace:path`).

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document;
use super::npm::split_name;
use crate::lines::{self, JsonStrings};
use crate::{Package, Parsed};

/// Removes `//` and `/* */` comments and trailing commas outside strings, turning Bun's
/// JSONC into JSON. Lengths and newlines are kept, so JSON error lines stay true.
fn strip_jsonc(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            if b == b'\\' && i + 1 < bytes.len() {
                out.push(bytes[i + 1]);
                i += 2;
                continue;
            }
            in_string = b != b'"';
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    out.push(if bytes[i] == b'\n' { b'\n' } else { b' ' });
                    i += 1;
                }
                out.extend_from_slice(b"  ");
                i += 2;
                continue;
            }
            b',' => {
                let next = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
                out.push(if matches!(next, Some(b'}' | b']')) { b' ' } else { b',' });
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let json = strip_jsonc(&text);
    let doc = match document::json(path, &json) {
        Ok(doc) => doc,
        Err(failed) => return failed,
    };
    let index = JsonStrings::new(&text);
    let mut out = Parsed::default();
    let Some(packages) = doc.get("packages").and_then(Value::as_object) else {
        if !doc.is_object() {
            out.error(path, Some(1), "not a bun.lock: no lockfileVersion or packages");
        }
        return out;
    };
    for (key, entry) in packages {
        let line = index.key(key);
        let Some(spec) = entry.as_array().and_then(|a| a.first()).and_then(Value::as_str) else {
            out.error(path, line, format!("entry {key:?} is not a [\"name@version\", ...] tuple"));
            continue;
        };
        let (name, version) = split_name(spec);
        if name.is_empty() || version.starts_with("workspace:") {
            continue;
        }
        let mut p = Package::new(EcosystemKind::Npm, name, "", super::at(path, line));
        if version.starts_with("github:")
            || version.starts_with("git+")
            || version.starts_with("git:")
        {
            p.commit = version.rsplit_once('#').map(|(_, c)| c.to_string());
            p.requirement = Some(version.to_string());
        } else if version.starts_with("file:") || version.starts_with("link:") {
            p.requirement = Some(version.to_string());
        } else {
            p.version = version.to_string();
        }
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_jsonc_tuples() {
        let got = parse(
            "bun.lock",
            b"{\n  // comment\n  \"lockfileVersion\": 1,\n  \"packages\": {\n    \"jquery\": [\"jquery@3.3.1\", \"\", {}, \"sha512-x\"],\n    \"@s/a\": [\"@s/a@github:o/a#527e8ce\", {}],\n    \"bad\": 3,\n  },\n}\n",
        );
        let summary: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.commit.as_deref(), p.location.line))
            .collect();
        assert_eq!(
            summary,
            [("@s/a", "", Some("527e8ce"), Some(6)), ("jquery", "3.3.1", None, Some(5))]
        );
        assert_eq!(got.errors.len(), 1);
        // Commas inside strings are kept.
        assert_eq!(parse("b", b"{\"packages\": {\"a\": [\"a@1,}\"],}}").packages[0].version, "1,}");
        assert_eq!(parse("b", b"[]").errors.len(), 1);
        assert_eq!(parse("b", b"nope").errors.len(), 1);
    }
}
