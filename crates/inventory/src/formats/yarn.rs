//! `yarn.lock`, both the classic v1 format (`version "1.2.3"`) and Yarn berry's YAML-like format
//! (`version: 1.2.3`, `resolution:`). Both are read by one line reader: an unindented header
//! lists the specifiers an entry satisfies, indented lines hold its fields.

use ward_version::EcosystemKind;

use super::npm::{commit_of, split_name};
use crate::lines;
use crate::{Package, Parsed};

#[derive(Debug, Default)]
struct Entry {
    line: u32,
    header: String,
    version: Option<String>,
    resolution: Option<String>,
    resolved: Option<String>,
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    let mut entries: Vec<Entry> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.trim_end();
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            let Some(header) = line.strip_suffix(':') else {
                out.error(
                    path,
                    Some(number),
                    format!("expected an entry header ending in ':', found {line:?}"),
                );
                continue;
            };
            entries.push(Entry { line: number, header: header.to_string(), ..Entry::default() });
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            out.error(path, Some(number), "indented line before any entry");
            continue;
        };
        // Only the entry's own fields (two spaces) matter, not nested maps.
        if line.starts_with("    ") {
            continue;
        }
        let field = line.trim();
        let (key, value) = match field.split_once(": ") {
            Some((k, v)) => (k, v),
            None => field.split_once(' ').unwrap_or((field, "")),
        };
        let value = value.trim().trim_matches('"').to_string();
        match key.trim_matches('"') {
            "version" => entry.version = Some(value),
            "resolution" => entry.resolution = Some(value),
            "resolved" => entry.resolved = Some(value),
            _ => {}
        }
    }
    for entry in entries {
        if entry.header == "__metadata" {
            continue;
        }
        let first = entry.header.split(", ").next().unwrap_or("").trim().trim_matches('"');
        let (mut name, range) = split_name(first);
        if let Some(alias) = range.strip_prefix("npm:") {
            let (real, real_range) = split_name(alias);
            if !real_range.is_empty() {
                name = real;
            }
        }
        // Berry's resolution names the real package even behind aliases.
        let resolution = entry.resolution.as_deref().unwrap_or("");
        if resolution.contains('@') {
            let (real, _) = split_name(resolution);
            if !real.is_empty() && !resolution.starts_with("http") {
                name = real;
            }
        }
        if name.is_empty() {
            out.error(
                path,
                Some(entry.line),
                format!("cannot read a package name from {:?}", entry.header),
            );
            continue;
        }
        let Some(version) = entry.version else {
            out.error(path, Some(entry.line), format!("entry {name} has no version"));
            continue;
        };
        let mut p =
            Package::new(EcosystemKind::Npm, name, version, super::at(path, Some(entry.line)));
        p.commit =
            commit_of(entry.resolution.as_deref().or(entry.resolved.as_deref()).unwrap_or(""));
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str, Option<&str>)], errors: usize) {
        let got = parse("yarn.lock", input.as_bytes());
        let packages: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.commit.as_deref()))
            .collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_v1_and_berry() {
        check(
            "# yarn lockfile v1\n\n\"@babel/core@^7.0.0\", \"@babel/core@^7.1.0\":\n  version \"7.1.0\"\n  dependencies:\n    x \"1\"\n\"a-cjs@npm:ansi-regex@^5\":\n  version \"5.0.1\"\n",
            &[("@babel/core", "7.1.0", None), ("ansi-regex", "5.0.1", None)],
            0,
        );
        check(
            "__metadata:\n  version: 8\n\n\"x@https://github.com/o/x.git\":\n  version: 2.5.0\n  resolution: \"x@https://github.com/o/x.git#commit=0948d999f2fddf9f90991956493f976273c5da1f\"\n",
            &[("x", "2.5.0", Some("0948d999f2fddf9f90991956493f976273c5da1f"))],
            0,
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        check("not a lockfile", &[], 1);
        check("a@1:\n  resolved \"x\"\n", &[], 1);
    }
}
