//! RFC 822-like paragraphs, the shape of dpkg's `status`, apk's `installed` and Python's
//! `METADATA`: `Key: value` fields, paragraphs separated by blank lines. The formats differ only
//! in the table below, so they share this reader.

/// How one stanza format writes its fields.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Syntax {
    /// `": "`-style separators allow spaces after the colon (dpkg, METADATA); apk writes
    /// `K:value` with one-letter keys and no space.
    pub space_after_colon: bool,
    /// Lines starting with a space or tab continue the previous field (dpkg, METADATA).
    pub continuation_lines: bool,
}

pub(crate) const DPKG: Syntax = Syntax { space_after_colon: true, continuation_lines: true };
pub(crate) const APK: Syntax = Syntax { space_after_colon: false, continuation_lines: false };

/// One field: its key, its first-line value, and the line it starts on.
#[derive(Debug)]
pub(crate) struct Field<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub line: u32,
}

/// One paragraph: its fields in order and the line of its first field.
#[derive(Debug, Default)]
pub(crate) struct Paragraph<'a> {
    pub line: u32,
    pub fields: Vec<Field<'a>>,
    /// Lines that are neither fields nor continuations, with their line numbers.
    pub stray: Vec<u32>,
}

impl<'a> Paragraph<'a> {
    /// The first field with this key (case-insensitive, as dpkg and email headers compare).
    pub fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.key.eq_ignore_ascii_case(key))
    }

    pub fn value(&self, key: &str) -> Option<&'a str> {
        self.get(key).map(|f| f.value)
    }
}

/// Splits `text` into paragraphs. Continuation lines are skipped (ward reads no multi-line
/// field's later lines); lines that are not `Key: value` are recorded as stray.
pub(crate) fn paragraphs(text: &str, syntax: Syntax) -> Vec<Paragraph<'_>> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    for (index, raw) in text.split('\n').enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if !current.fields.is_empty() || !current.stray.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if syntax.continuation_lines && (line.starts_with(' ') || line.starts_with('\t')) {
            if current.fields.is_empty() {
                current.stray.push(number);
            }
            continue;
        }
        let field = line.split_once(':').and_then(|(key, value)| {
            let valid_key = !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            valid_key.then(|| {
                let value = if syntax.space_after_colon { value.trim() } else { value.trim_end() };
                Field { key, value, line: number }
            })
        });
        match field {
            Some(f) => {
                if current.fields.is_empty() {
                    current.line = f.line;
                }
                current.fields.push(f);
            }
            None => current.stray.push(number),
        }
    }
    if !current.fields.is_empty() || !current.stray.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, syntax: Syntax, expect: &[&[(&str, &str)]]) {
        let got: Vec<Vec<(&str, &str)>> = paragraphs(text, syntax)
            .iter()
            .map(|p| p.fields.iter().map(|f| (f.key, f.value)).collect())
            .collect();
        let want: Vec<Vec<(&str, &str)>> = expect.iter().map(|p| p.to_vec()).collect();
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    fn splits_paragraphs_and_fields() {
        check("A: 1\nB: 2\n\n\nA: 3\n", DPKG, &[&[("A", "1"), ("B", "2")], &[("A", "3")]]);
        check("A: 1\n more\n .\nB: x\r\n", DPKG, &[&[("A", "1"), ("B", "x")]]);
        check("P:musl\nV:1.2\n\nP:b\n", APK, &[&[("P", "musl"), ("V", "1.2")], &[("P", "b")]]);
        check("no colon here\n", DPKG, &[&[]]);
    }
}
