//! Locating text in an input: byte offsets to 1-based line numbers, and finding the line
//! where an entry is written for formats whose parsers do not keep positions (JSON, TOML,
//! YAML). Every locator is built in one pass, so large lockfiles stay linear.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Maps byte offsets of one text to 1-based line numbers.
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines { text, starts }
    }

    /// The line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> u32 {
        let index = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        u32::try_from(index + 1).unwrap_or(u32::MAX)
    }

    /// The line of the first occurrence of `needle` at or after byte `from`.
    pub(crate) fn find_from(&self, from: usize, needle: &str) -> Option<(usize, u32)> {
        let rest = self.text.get(from..)?;
        let at = from + rest.find(needle)?;
        Some((at, self.line_of(at)))
    }

    /// The line of the first occurrence of `needle`.
    pub(crate) fn find(&self, needle: &str) -> Option<u32> {
        self.find_from(0, needle).map(|(_, line)| line)
    }
}

/// Every string literal of a JSON text with where it is, built in one pass so that locating
/// thousands of entries stays linear. Keys (strings followed by `:`) and values are kept
/// apart; `\/` is read as `/` (PHP's JSON encoder escapes slashes).
#[derive(Debug)]
pub(crate) struct JsonStrings<'a> {
    lines: Lines<'a>,
    keys: BTreeMap<Cow<'a, str>, Vec<usize>>,
    values: BTreeMap<Cow<'a, str>, Vec<usize>>,
}

impl<'a> JsonStrings<'a> {
    pub(crate) fn new(text: &'a str) -> JsonStrings<'a> {
        let bytes = text.as_bytes();
        let mut keys: BTreeMap<Cow<'a, str>, Vec<usize>> = BTreeMap::new();
        let mut values: BTreeMap<Cow<'a, str>, Vec<usize>> = BTreeMap::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'"' {
                i += 1;
                continue;
            }
            let start = i;
            let mut j = i + 1;
            let mut escaped = false;
            while j < bytes.len() && bytes[j] != b'"' {
                escaped |= bytes[j] == b'\\';
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let raw = text.get(start + 1..j.min(bytes.len())).unwrap_or("");
            let content: Cow<'a, str> =
                if escaped { Cow::Owned(raw.replace("\\/", "/")) } else { Cow::Borrowed(raw) };
            let after = bytes.get(j + 1..).unwrap_or(&[]).iter().find(|b| !b.is_ascii_whitespace());
            let map = if after == Some(&b':') { &mut keys } else { &mut values };
            map.entry(content).or_default().push(start);
            i = j + 1;
        }
        JsonStrings { lines: Lines::new(text), keys, values }
    }

    fn first_at_or_after(
        map: &BTreeMap<Cow<'a, str>, Vec<usize>>,
        s: &str,
        from: usize,
    ) -> Option<usize> {
        let offsets = map.get(s)?;
        let i = offsets.partition_point(|o| *o < from);
        offsets.get(i).copied()
    }

    /// The offset and line of the first key `key` at or after byte `from`.
    pub(crate) fn key_after(&self, key: &str, from: usize) -> Option<(usize, u32)> {
        Self::first_at_or_after(&self.keys, key, from).map(|o| (o, self.lines.line_of(o)))
    }

    /// The line of the first key `key`.
    pub(crate) fn key(&self, key: &str) -> Option<u32> {
        self.key_after(key, 0).map(|(_, l)| l)
    }

    /// The line of the first string value `value`.
    pub(crate) fn value(&self, value: &str) -> Option<u32> {
        Self::first_at_or_after(&self.values, value, 0).map(|o| self.lines.line_of(o))
    }
}

/// The lines of keys written at exactly `indent` spaces in a YAML text (`  key:` or
/// `  'key':`), first occurrence of each, in one pass.
pub(crate) fn yaml_keys(text: &str, indent: usize) -> BTreeMap<&str, u32> {
    let mut out = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.get(indent..) else { continue };
        if !line[..indent].bytes().all(|b| b == b' ') || rest.starts_with([' ', '#', '-']) {
            continue;
        }
        let Some(key) =
            rest.trim_end().strip_suffix(':').or_else(|| rest.split_once(": ").map(|(k, _)| k))
        else {
            continue;
        };
        let key = key.trim().trim_matches(['\'', '"']);
        out.entry(key).or_insert(u32::try_from(index + 1).unwrap_or(u32::MAX));
    }
    out
}

/// Decodes bytes as UTF-8, replacing invalid sequences (a stray byte in a description must not
/// lose the package list), and drops a leading byte-order mark.
pub(crate) fn text(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Validating is several times faster than the lossy decoder on text that is valid.
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, needle: &str, expect: Option<u32>) {
        assert_eq!(Lines::new(text).find(needle), expect, "{needle:?} in {text:?}");
    }

    #[test]
    fn finds_lines() {
        check("a\nb\nc", "a", Some(1));
        check("a\nb\nc", "c", Some(3));
        check("a\nb\n", "x", None);
        check("\n\nxy", "y", Some(3));
        assert_eq!(
            Lines::new("n = a\nv = 1\nn = a\nv = 2").find_from(9, "n = a").map(|f| f.1),
            Some(3)
        );
        let json = JsonStrings::new("{\n \"a\": \"x\",\n \"x\": {\"a\": \"drupal\\/core\"}\n}");
        assert_eq!(
            (json.key("a"), json.key("x"), json.value("x"), json.value("drupal/core")),
            (Some(2), Some(3), Some(2), Some(3))
        );
        assert_eq!(json.key_after("a", 10).map(|f| f.1), Some(3));
        let yaml = yaml_keys("packages:\n  /a@1:\n    dev: true\n  'b@2': x\n", 2);
        assert_eq!(
            (yaml.get("/a@1"), yaml.get("b@2"), yaml.get("dev")),
            (Some(&2), Some(&4), None)
        );
    }
}
