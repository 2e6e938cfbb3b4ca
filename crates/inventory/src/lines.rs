//! Locating text in an input: byte offsets to 1-based line numbers, and finding the line
//! where an entry is written for formats whose parsers do not keep positions (JSON, TOML).

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

    /// The line of the first occurrence of `second` after the first occurrence of `first`
    /// (for example a package name, then its version).
    pub(crate) fn find_after(&self, first: &str, second: &str) -> Option<u32> {
        let (at, line) = self.find_from(0, first)?;
        Some(self.find_from(at, second).map_or(line, |(_, l)| l))
    }
}

/// Decodes bytes as UTF-8, replacing invalid sequences (a stray byte in a description must not
/// lose the package list), and drops a leading byte-order mark.
pub(crate) fn text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes)
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
        assert_eq!(Lines::new("n = a\nv = 1\nn = a\nv = 2").find_after("v = 2", "v"), Some(4));
    }
}
