//! `Cargo.lock`, versions 1 to 4: every `[[package]]` with its name and version. Packages with
//! no `source` are the workspace's own crates and are reported too (they are what is built).
//!
//! Two readers with one answer: [`generated`] reads the exact text cargo writes in one pass
//! over the lines (a scan in CI is mostly this parse), and gives up on anything else (another
//! spacing, an escape, a `[metadata]` table, a duplicate key...), which the TOML parser then
//! reads. Tests and a fuzz target hold the two to the same output.

use ward_version::EcosystemKind;

use super::document::{self, tables, tstr};
use crate::lines::{self, Lines};
use crate::{Package, Parsed, Relation};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    generated(path, &text).unwrap_or_else(|| parse_toml(path, &text))
}

/// The TOML reader: any valid lockfile, however it is written.
pub fn parse_toml(path: &str, text: &str) -> Parsed {
    let doc = match document::toml(path, text) {
        Ok(doc) => doc,
        Err(failed) => return failed,
    };
    let index = Lines::new(text);
    let mut out = Parsed::default();
    if let Some(v) = doc.get("version").and_then(toml::Value::as_integer) {
        if !(1..=4).contains(&v) {
            out.error(path, index.find("version ="), format!("Cargo.lock version {v} is newer than ward knows (1 to 4); reading it as version 4"));
        }
    }
    // Workspace members have no `source`; what they depend on is direct, the rest transitive.
    // Dependency entries are `name`, `name version` or `name version (source)`.
    let direct: std::collections::BTreeSet<(String, Option<String>)> = tables(&doc, "package")
        .into_iter()
        .filter(|t| !t.contains_key("source"))
        .filter_map(|t| t.get("dependencies").and_then(toml::Value::as_array))
        .flatten()
        .filter_map(toml::Value::as_str)
        .map(|d| {
            let mut parts = d.split_whitespace();
            (parts.next().unwrap_or("").to_string(), parts.next().map(str::to_string))
        })
        .collect();
    let mut cursor = 0;
    for table in tables(&doc, "package") {
        let (Some(name), Some(version)) = (tstr(table, "name"), tstr(table, "version")) else {
            out.error(path, None, "a [[package]] without name or version; skipped");
            continue;
        };
        // `[[package]]` tables are in file order: search on from the previous one.
        let needle = format!("name = \"{name}\"\nversion = \"{version}\"");
        let found = index.find_from(cursor, &needle).or_else(|| index.find_from(0, &needle));
        if let Some((at, _)) = found {
            cursor = at + needle.len();
        }
        let line = found.map(|f| f.1).or_else(|| index.find(&format!("name = \"{name}\"")));
        let mut p = Package::new(EcosystemKind::CratesIo, name, version, super::at(path, line));
        // Only registry packages are what advisories name; git and path sources are code
        // of their own.
        let source = tstr(table, "source").unwrap_or("");
        p.local = !(source.starts_with("registry+") || source.starts_with("sparse+"));
        if table.contains_key("source") {
            let is_direct = direct.contains(&(name.to_string(), Some(version.to_string())))
                || direct.contains(&(name.to_string(), None));
            p.relation = if is_direct { Relation::Direct } else { Relation::Transitive };
        }
        out.packages.push(p);
    }
    out
}

/// One `[[package]]` as [`generated`] reads it.
#[derive(Default)]
struct Entry<'a> {
    /// The name and the line it is on.
    name: Option<(&'a str, u32)>,
    version: Option<&'a str>,
    source: Option<&'a str>,
    dependencies: Vec<&'a str>,
    /// How many keys the table has, and which: the keys cargo writes as bits, others listed.
    keys: usize,
    known: u8,
    other: Vec<&'a str>,
}

impl<'a> Entry<'a> {
    /// Records `key`; false when the table already has it (a TOML error).
    fn add_key(&mut self, key: &'a str) -> bool {
        const KNOWN: [&str; 6] =
            ["name", "version", "source", "checksum", "dependencies", "replace"];
        self.keys += 1;
        match KNOWN.iter().position(|k| *k == key) {
            Some(i) => {
                let bit = 1 << i;
                let new = self.known & bit == 0;
                self.known |= bit;
                new
            }
            None if self.other.contains(&key) => false,
            None => {
                self.other.push(key);
                true
            }
        }
    }
}

/// The content of a TOML basic string holding no escape, quote or control character: what
/// cargo writes for names, versions, sources, checksums and dependency entries.
fn plain_string(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    inner.bytes().all(|b| BYTE[usize::from(b)] & PLAIN != 0).then_some(inner)
}

/// No control character but tab: what TOML allows in strings and comments.
fn printable(text: &str) -> bool {
    text.bytes().all(|b| BYTE[usize::from(b)] & PRINTABLE != 0)
}

const PRINTABLE: u8 = 1;
/// Printable, and neither a quote nor a backslash: plain string content.
const PLAIN: u8 = 2;
/// A letter, digit, `-` or `_`: bare key content.
const KEY: u8 = 4;

/// What each byte may be in the text cargo writes (one table lookup per byte).
static BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c != 0x7f && (c >= 0x20 || c == b'\t') {
            t[b] |= PRINTABLE;
            if c != b'"' && c != b'\\' {
                t[b] |= PLAIN;
            }
        }
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            t[b] |= KEY;
        }
        b += 1;
    }
    t
};

/// Reads the lockfile exactly as cargo writes it (comments, `version = N` first, then
/// `[[package]]` tables of `key = "string"` lines and a `dependencies = [` list with one
/// `"entry",` per line), with the same answer as [`parse_toml`]; `None` for any other text.
pub fn generated(path: &str, text: &str) -> Option<Parsed> {
    // Cargo writes about 250 bytes per package; room for more costs nothing until used.
    let mut entries: Vec<Entry<'_>> = Vec::with_capacity(text.len() / 128 + 1);
    let mut version_seen = false;
    let mut in_list = false;
    let mut previous_key_line = 0;
    let mut start = 0;
    let mut line_no: u32 = 0;
    while start <= text.len() {
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
        let line = text.get(start..end)?;
        start = end + 1;
        line_no = line_no.checked_add(1)?;
        if in_list {
            if line == "]" {
                in_list = false;
            } else {
                let item = plain_string(line.strip_prefix(' ')?.strip_suffix(',')?)?;
                // Only the project's own packages' dependencies are read (which packages
                // are direct); a registry package's are checked, not kept.
                let entry = entries.last_mut()?;
                if entry.source.is_none() {
                    entry.dependencies.push(item);
                }
            }
            continue;
        }
        if line.is_empty() || (line.starts_with('#') && printable(line)) {
            continue;
        }
        if line == "[[package]]" {
            entries.push(Entry::default());
            continue;
        }
        let equals = line.bytes().position(|b| b == b'=')?;
        let (key, value) =
            (line.get(..equals)?.strip_suffix(' ')?, line.get(equals + 1..)?.strip_prefix(' ')?);
        if key.is_empty() || !key.bytes().all(|b| BYTE[usize::from(b)] & KEY != 0) {
            return None;
        }
        let Some(entry) = entries.last_mut() else {
            // Before the first table: only the format version, once.
            let v: i64 = value.parse().ok().filter(|_| key == "version" && !version_seen)?;
            if !(1..=4).contains(&v) || value != v.to_string() {
                return None;
            }
            version_seen = true;
            continue;
        };
        if !entry.add_key(key) {
            return None;
        }
        match key {
            "dependencies" if value == "[" => in_list = true,
            "dependencies" if value == "[]" => {}
            "dependencies" => return None,
            "name" => entry.name = Some((plain_string(value)?, line_no)),
            // The name's line is where the package is reported: `version` right after it.
            "version"
                if previous_key_line + 1 == line_no && entry.keys == 2 && entry.name.is_some() =>
            {
                entry.version = Some(plain_string(value)?);
            }
            "version" => return None,
            "source" => {
                entry.source = Some(plain_string(value)?);
                entry.dependencies = Vec::new();
            }
            _ => {
                plain_string(value)?;
            }
        }
        previous_key_line = line_no;
    }
    if in_list {
        return None;
    }
    let mut direct: Vec<(&str, Option<&str>)> = entries
        .iter()
        .filter(|e| e.source.is_none())
        .flat_map(|e| &e.dependencies)
        .map(|d| {
            let mut parts = d.split_whitespace();
            (parts.next().unwrap_or(""), parts.next())
        })
        .collect();
    direct.sort_unstable();
    direct.dedup();
    let mut out = Parsed::default();
    out.packages.reserve_exact(entries.len());
    for entry in &entries {
        let (Some((name, line)), Some(version)) = (entry.name, entry.version) else {
            return None;
        };
        let mut p =
            Package::new(EcosystemKind::CratesIo, name, version, super::at(path, Some(line)));
        let source = entry.source.unwrap_or("");
        p.local = !(source.starts_with("registry+") || source.starts_with("sparse+"));
        if entry.source.is_some() {
            let is_direct = !direct.is_empty()
                && (direct.binary_search(&(name, Some(version))).is_ok()
                    || direct.binary_search(&(name, None)).is_ok());
            p.relation = if is_direct { Relation::Direct } else { Relation::Transitive };
        }
        out.packages.push(p);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str, Option<u32>)], errors: usize) {
        let got = parse("Cargo.lock", input.as_bytes());
        let packages: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.location.line))
            .collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_packages_with_lines() {
        check("version = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[[package]]\nname = \"a\"\nversion = \"2.0.0\"\n", &[("a", "1.0.0", Some(4)), ("a", "2.0.0", Some(8))], 0);
        check("[[package]]\nname = \"x\"\n", &[], 1);
        let got = parse("Cargo.lock", b"[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"a\"]\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\ndependencies = [\"b\"]\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\n");
        let relations: Vec<_> = got.packages.iter().map(|p| p.relation).collect();
        assert_eq!(relations, [Relation::Unknown, Relation::Direct, Relation::Transitive]);
        check("not = [toml", &[], 1);
    }

    /// Text cargo would not write goes to the TOML reader, with the same answer.
    #[test]
    fn line_reader_gives_up_on_anything_else() {
        let base = "# generated\nversion = 4\n\n[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nsource = \"registry+x\"\ndependencies = [\n \"b\",\n]\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\n";
        assert_eq!(generated("L", base), Some(parse_toml("L", base)));
        for other in [
            base.replace("name = \"a\"", "name=\"a\""),
            base.replace("\"a\"", "\"a\\u0062\""),
            base.replace("version = 4", "version = 5"),
            base.replace("version = 4", "version = 04"),
            base.replace("# generated", "# gen\u{1}erated"),
            base.replace("source = \"registry+x\"\n", "source = \"registry+x\"\nsource = \"y\"\n"),
            base.replace("name = \"a\"\nversion = \"1.0.0\"", "version = \"1.0.0\"\nname = \"a\""),
            base.replace("\n]\n", "\n"),
            base.replace("\r", "").replace('\n', "\r\n"),
            format!("{base}\n[metadata]\n\"x\" = \"y\"\n"),
            base.replace("name = \"b\"\n", ""),
        ] {
            assert_eq!(generated("L", &other), None, "{other:?}");
            // Whatever the TOML reader says of it stands (an error, or the same packages).
            let _ = parse_toml("L", &other);
        }
        // Unknown string keys and empty lists are what cargo may add: taken.
        let more = base.replace(
            "source = \"registry+x\"",
            "source = \"registry+x\"\nchecksum = \"ab\"\nreplace = \"c\"",
        );
        assert_eq!(generated("L", &more), Some(parse_toml("L", &more)));
        assert_eq!(generated("L", ""), Some(parse_toml("L", "")));
    }
}
