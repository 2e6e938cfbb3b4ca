//! Performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`, space separated, with
//! the full Monitoring Plugins grammar (quoted labels with `''` escapes, `U` for an unknown
//! value, empty or missing trailing fields).
//!
//! **Architecture invariant:** parsing never fails. It returns every datum it could read and a
//! list of problems naming what was wrong; a malformed datum never hides the others.

use std::fmt;

use crate::threshold::{parse_number, Range};

/// Units of measurement the guidelines define.
pub const KNOWN_UOMS: [&str; 10] = ["s", "ms", "us", "%", "B", "KB", "MB", "TB", "c", ""];

/// The measured value: a number, or `U` ("the plugin could not determine it").
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum PerfValue {
    Number(f64),
    Unknown,
}

impl PerfValue {
    pub fn number(self) -> Option<f64> {
        match self {
            PerfValue::Number(v) => Some(v),
            PerfValue::Unknown => None,
        }
    }
}

/// One label's performance data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerfDatum {
    pub label: String,
    pub value: PerfValue,
    /// Unit of measurement as written (`""` when none).
    pub uom: String,
    /// Warning range as written, when present.
    pub warn: Option<String>,
    /// Critical range as written, when present.
    pub crit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl PerfDatum {
    /// A datum with just a label, a value and a unit.
    pub fn new(label: impl Into<String>, value: f64, uom: impl Into<String>) -> PerfDatum {
        PerfDatum {
            label: label.into(),
            value: PerfValue::Number(value),
            uom: uom.into(),
            warn: None,
            crit: None,
            min: None,
            max: None,
        }
    }

    /// The warning range parsed (`None` when absent or unparsable).
    pub fn warn_range(&self) -> Option<Range> {
        self.warn.as_deref().and_then(|t| Range::parse(t).ok())
    }

    /// The critical range parsed (`None` when absent or unparsable).
    pub fn crit_range(&self) -> Option<Range> {
        self.crit.as_deref().and_then(|t| Range::parse(t).ok())
    }
}

impl fmt::Display for PerfDatum {
    /// Writes the datum back in plugin syntax, quoting the label when needed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needs_quotes = self.label.is_empty()
            || self.label.chars().any(|c| c.is_whitespace() || c == '=' || c == '\'');
        if needs_quotes {
            write!(f, "'{}'=", self.label.replace('\'', "''"))?;
        } else {
            write!(f, "{}=", self.label)?;
        }
        match self.value {
            PerfValue::Number(v) => write!(f, "{v}{}", self.uom)?,
            PerfValue::Unknown => f.write_str("U")?,
        }
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let fields = [
            self.warn.clone().unwrap_or_default(),
            self.crit.clone().unwrap_or_default(),
            num(self.min),
            num(self.max),
        ];
        let last = fields.iter().rposition(|s| !s.is_empty()).map_or(0, |i| i + 1);
        for field in &fields[..last] {
            write!(f, ";{field}")?;
        }
        Ok(())
    }
}

/// Something wrong in plugin output or performance data. Parsing continues past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    pub message: String,
}

impl fmt::Display for ParseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses one chunk of performance data (the text after `|`), appending to `out` and
/// `problems`.
pub fn parse_perfdata_into(text: &str, out: &mut Vec<PerfDatum>, problems: &mut Vec<ParseProblem>) {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return;
        }
        let (label, after_label) = if let Some(quoted) = rest.strip_prefix('\'') {
            match read_quoted(quoted) {
                Some((label, after)) => (label, after),
                None => {
                    problems.push(problem(format!(
                        "perfdata: unterminated quoted label in {:?}",
                        excerpt(rest)
                    )));
                    return;
                }
            }
        } else {
            let end = rest.find(|c: char| c == '=' || c.is_whitespace()).unwrap_or(rest.len());
            (rest[..end].to_string(), &rest[end..])
        };
        let Some(after_eq) = after_label.strip_prefix('=') else {
            let token_end = after_label.find(char::is_whitespace).unwrap_or(after_label.len());
            problems.push(problem(format!(
                "perfdata: expected '=' after label {label:?} in {:?}",
                excerpt(rest)
            )));
            rest = &after_label[token_end..];
            continue;
        };
        let end = after_eq.find(char::is_whitespace).unwrap_or(after_eq.len());
        let (fields, next) = after_eq.split_at(end);
        rest = next;
        if label.is_empty() {
            problems.push(problem(format!("perfdata: empty label in {:?}", excerpt(fields))));
            continue;
        }
        if let Some(datum) = parse_fields(&label, fields, problems) {
            out.push(datum);
        }
    }
}

/// Parses performance data on its own: `(data, problems)`.
pub fn parse_perfdata(text: &str) -> (Vec<PerfDatum>, Vec<ParseProblem>) {
    let mut data = Vec::new();
    let mut problems = Vec::new();
    parse_perfdata_into(text, &mut data, &mut problems);
    (data, problems)
}

fn problem(message: String) -> ParseProblem {
    ParseProblem { message }
}

fn excerpt(text: &str) -> String {
    let token = text.split_whitespace().next().unwrap_or("");
    token.chars().take(60).collect()
}

/// Reads a quoted label body (after the opening quote): `''` is a literal quote.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut label = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            if text[i + 1..].starts_with('\'') {
                label.push('\'');
                chars.next();
            } else {
                return Some((label, &text[i + 1..]));
            }
        } else {
            label.push(c);
        }
    }
    None
}

fn parse_fields(label: &str, fields: &str, problems: &mut Vec<ParseProblem>) -> Option<PerfDatum> {
    let parts: Vec<&str> = fields.split(';').collect();
    let value_text = parts[0];
    let (value, uom) = if value_text == "U" {
        (PerfValue::Unknown, String::new())
    } else {
        let split = value_text
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(value_text.len());
        // `e`/`E` may start a unit only when not followed by digits; units here never do.
        let (number, uom) = value_text.split_at(split);
        let uom_ok = !uom.contains(|c: char| c.is_ascii_digit() || c == ',');
        match parse_number(number).filter(|_| uom_ok) {
            Some(v) => (PerfValue::Number(v), uom.to_string()),
            None => {
                let hint = if value_text.contains(',') {
                    " (a decimal comma? plugins must print a dot)"
                } else {
                    ""
                };
                problems.push(problem(format!(
                    "perfdata {label:?}: value {value_text:?} is not a number or U{hint}"
                )));
                return None;
            }
        }
    };
    if !KNOWN_UOMS.contains(&uom.as_str()) {
        problems.push(problem(format!(
            "perfdata {label:?}: unit {uom:?} is not one of s ms us % B KB MB TB c (kept as written)"
        )));
    }
    if parts.len() > 5 {
        problems.push(problem(format!(
            "perfdata {label:?}: {} fields after the value, at most 4 (warn;crit;min;max) are read",
            parts.len() - 1
        )));
    }
    let field = |i: usize| parts.get(i).copied().filter(|s| !s.is_empty());
    let mut range = |i: usize, name: &str| {
        let text = field(i)?;
        if let Err(e) = Range::parse(text) {
            problems.push(problem(format!("perfdata {label:?}: {name}: {e}")));
        }
        Some(text.to_string())
    };
    let warn = range(1, "warn");
    let crit = range(2, "crit");
    let mut number = |i: usize, name: &str| {
        let text = field(i)?;
        let v = parse_number(text);
        if v.is_none() {
            problems.push(problem(format!("perfdata {label:?}: {name} {text:?} is not a number")));
        }
        v
    };
    let min = number(3, "min");
    let max = number(4, "max");
    Some(PerfDatum { label: label.to_string(), value, uom, warn, crit, min, max })
}

#[cfg(test)]
mod tests {
    use super::{parse_perfdata, PerfDatum, PerfValue};

    fn datum(label: &str, value: Option<f64>, uom: &str) -> PerfDatum {
        PerfDatum {
            label: label.into(),
            value: value.map_or(PerfValue::Unknown, PerfValue::Number),
            uom: uom.into(),
            warn: None,
            crit: None,
            min: None,
            max: None,
        }
    }

    /// Parses `text` and compares the data and the problem messages (by substring).
    fn check(text: &str, expect: &[PerfDatum], problems: &[&str]) {
        let (data, found) = parse_perfdata(text);
        assert_eq!(data, expect, "{text}");
        assert_eq!(found.len(), problems.len(), "{text}: {found:?}");
        for (f, p) in found.iter().zip(problems) {
            assert!(f.message.contains(p), "{text}: {f} should contain {p}");
        }
    }

    #[test]
    fn every_field() {
        let mut d = datum("time", Some(0.002), "s");
        d.warn = Some("1.0".into());
        d.crit = Some("2.0".into());
        d.min = Some(0.0);
        d.max = Some(10.0);
        check("time=0.002s;1.0;2.0;0;10", &[d], &[]);
    }

    #[test]
    fn every_unit() {
        for uom in ["s", "ms", "us", "%", "B", "KB", "MB", "TB", "c", ""] {
            check(&format!("x=5{uom}"), &[datum("x", Some(5.0), uom)], &[]);
        }
    }

    #[test]
    fn empty_and_trailing_fields() {
        let mut d = datum("load1", Some(0.5), "");
        d.crit = Some("2".into());
        d.min = Some(0.0);
        check("load1=0.5;;2;0;", &[d.clone()], &[]);
        check("load1=0.5;;2;0", &[d], &[]);
        check("a=1;;;;", &[datum("a", Some(1.0), "")], &[]);
        check("a=1;", &[datum("a", Some(1.0), "")], &[]);
    }

    #[test]
    fn quoted_labels_and_escapes() {
        check("'my label'=1", &[datum("my label", Some(1.0), "")], &[]);
        check("'it''s'=2c", &[datum("it's", Some(2.0), "c")], &[]);
        check("'a=b'=3", &[datum("a=b", Some(3.0), "")], &[]);
        check(
            "'/var/log size'=4KB x=1",
            &[datum("/var/log size", Some(4.0), "KB"), datum("x", Some(1.0), "")],
            &[],
        );
        check("''''=1", &[datum("'", Some(1.0), "")], &[]);
    }

    #[test]
    fn unknown_values_and_numbers() {
        check("a=U", &[datum("a", None, "")], &[]);
        check(
            "a=U;1;2",
            &[{
                let mut d = datum("a", None, "");
                d.warn = Some("1".into());
                d.crit = Some("2".into());
                d
            }],
            &[],
        );
        check("a=-1.5e3ms", &[datum("a", Some(-1500.0), "ms")], &[]);
        check("a=.5", &[datum("a", Some(0.5), "")], &[]);
    }

    #[test]
    fn several_data_and_extra_whitespace() {
        check(
            "  a=1   b=2%\tc=3c ",
            &[datum("a", Some(1.0), ""), datum("b", Some(2.0), "%"), datum("c", Some(3.0), "c")],
            &[],
        );
    }

    #[test]
    fn malformed_data_are_reported_and_skipped() {
        check("a b=2", &[datum("b", Some(2.0), "")], &["expected '='"]);
        check("a=x b=1", &[datum("b", Some(1.0), "")], &["\"x\" is not a number"]);
        check("a=1,5", &[], &["decimal comma"]);
        check("'open=1", &[], &["unterminated quoted label"]);
        check("=1 b=2", &[datum("b", Some(2.0), "")], &["empty label"]);
        check("a=1GB", &[datum("a", Some(1.0), "GB")], &["unit \"GB\""]);
        check(
            "a=1;5:2",
            &[{
                let mut d = datum("a", Some(1.0), "");
                d.warn = Some("5:2".into());
                d
            }],
            &["warn: invalid threshold range \"5:2\""],
        );
        check("a=1;;;x", &[datum("a", Some(1.0), "")], &["min \"x\" is not a number"]);
        check("a=1;;;;;6", &[datum("a", Some(1.0), "")], &["at most 4"]);
        check("a=", &[], &["value \"\" is not a number"]);
    }

    #[test]
    fn display_round_trips() {
        for text in ["time=0.002s;1;2;0;10", "'my label'=1", "'it''s'=U", "a=1;;2", "x=5%"] {
            let (data, problems) = parse_perfdata(text);
            assert!(problems.is_empty());
            assert_eq!(data[0].to_string(), text);
        }
    }
}
