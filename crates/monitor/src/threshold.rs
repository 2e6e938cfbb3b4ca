//! Threshold ranges (`10`, `10:`, `~:10`, `10:20`, `@10:20`) evaluated exactly as the
//! Monitoring Plugins development guidelines define them.
//!
//! A range is `[@]start:end`. `start` defaults to 0 and may be `~` (negative infinity); an
//! empty `end` after `:` is positive infinity; endpoints are inclusive; `start <= end`. A value
//! *alerts* when it lies outside the range, or, with a leading `@`, inside it.

use std::fmt;

use crate::state::State;

/// A threshold range could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid threshold range {text:?}: {reason}")]
pub struct RangeError {
    pub text: String,
    pub reason: &'static str,
}

/// One parsed threshold range.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Lower bound; `f64::NEG_INFINITY` for `~`.
    pub start: f64,
    /// Upper bound; `f64::INFINITY` when omitted after `:`.
    pub end: f64,
    /// `@`: alert when the value is inside `start..=end` instead of outside.
    pub inside: bool,
    text: String,
}

impl Range {
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let error = |reason| RangeError { text: text.to_string(), reason };
        let t = text.trim();
        if t.is_empty() {
            return Err(error("empty range"));
        }
        let (inside, body) = match t.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (start, end) = match body.split_once(':') {
            None => (0.0, parse_number(body).ok_or(error("the end is not a number"))?),
            Some((s, e)) => {
                let start = match s {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    _ => parse_number(s).ok_or(error("the start is not a number or ~"))?,
                };
                let end = if e.is_empty() {
                    f64::INFINITY
                } else {
                    parse_number(e).ok_or(error("the end is not a number"))?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(error("the start is greater than the end"));
        }
        Ok(Range { start, end, inside, text: t.to_string() })
    }

    /// True when `value` raises an alert for this range.
    pub fn alerts(&self, value: f64) -> bool {
        let within = self.start <= value && value <= self.end;
        within == self.inside
    }

    /// The range as it was written (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A plain decimal number as plugins print them: sign, digits, optional fraction and
/// exponent. `inf`, `nan` and hexadecimal are not numbers here.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let valid = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if !valid {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A warning and a critical range, as a check's `-w`/`-c` options give them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
}

impl Thresholds {
    /// Parses optional warning and critical ranges; empty strings mean "none".
    pub fn parse(warning: Option<&str>, critical: Option<&str>) -> Result<Thresholds, RangeError> {
        let one = |t: Option<&str>| match t.map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => Range::parse(t).map(Some),
        };
        Ok(Thresholds { warning: one(warning)?, critical: one(critical)? })
    }

    /// CRITICAL if the critical range alerts, else WARNING if the warning range does, else OK
    /// (the order of the guidelines' `get_status`).
    pub fn evaluate(&self, value: f64) -> State {
        if self.critical.as_ref().is_some_and(|r| r.alerts(value)) {
            State::Critical
        } else if self.warning.as_ref().is_some_and(|r| r.alerts(value)) {
            State::Warning
        } else {
            State::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Range, Thresholds};
    use crate::state::State;

    /// `alerting` lists values that must alert, `quiet` values that must not.
    fn check(text: &str, alerting: &[f64], quiet: &[f64]) {
        let r = Range::parse(text).unwrap_or_else(|e| panic!("{e}"));
        for v in alerting {
            assert!(r.alerts(*v), "{text}: {v} should alert");
        }
        for v in quiet {
            assert!(!r.alerts(*v), "{text}: {v} should not alert");
        }
    }

    #[test]
    fn the_guidelines_table() {
        // 10       < 0 or > 10, (outside the range of {0 .. 10})
        check("10", &[-0.001, -1.0, 10.001, 11.0], &[0.0, 5.0, 10.0]);
        // 10:      < 10, (outside {10 .. ∞})
        check("10:", &[9.999, 0.0, -5.0], &[10.0, 11.0, 1e300]);
        // ~:10     > 10, (outside the range of {-∞ .. 10})
        check("~:10", &[10.001, 1e9], &[10.0, 0.0, -1e300]);
        // 10:20    < 10 or > 20, (outside the range of {10 .. 20})
        check("10:20", &[9.99, 20.01, -15.0], &[10.0, 15.0, 20.0]);
        // @10:20   ≥ 10 and ≤ 20, (inside the range of {10 .. 20})
        check("@10:20", &[10.0, 15.0, 20.0], &[9.99, 20.01]);
    }

    #[test]
    fn more_forms() {
        check("@10", &[0.0, 10.0, 5.0], &[-0.1, 10.1]);
        check("-10:-5", &[-11.0, -4.0], &[-10.0, -7.5, -5.0]);
        check(":5", &[-1.0, 6.0], &[0.0, 5.0]);
        check("~:", &[], &[-1e300, 0.0, 1e300]);
        check("@~:0", &[-5.0, 0.0], &[0.1]);
        check("1.5:2.5e1", &[1.4, 25.1], &[1.5, 25.0]);
        check(" 10 ", &[11.0], &[10.0]);
    }

    #[test]
    fn invalid_ranges_are_errors_naming_the_text() {
        for bad in ["", "@", "abc", "10:5", "~", "1:2:3", "10::", "inf", "nan:", "0x10", "~:~"] {
            let e = Range::parse(bad).expect_err(bad);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn critical_wins_over_warning() {
        let t = Thresholds::parse(Some("80"), Some("90")).unwrap();
        assert_eq!(t.evaluate(50.0), State::Ok);
        assert_eq!(t.evaluate(85.0), State::Warning);
        assert_eq!(t.evaluate(95.0), State::Critical);
        assert_eq!(t.evaluate(-1.0), State::Critical);
        let none = Thresholds::parse(Some(""), None).unwrap();
        assert_eq!(none.evaluate(1e9), State::Ok);
    }
}
