//! Packagist (Composer, PHP) versions, ordered as PHP's `version_compare` orders them, and
//! Composer version constraints (`>=8.0.0,<9.3.19 || ^10.1`).
//!
//! `version_compare` splits at `.`, `-`, `_`, `+` and at digit/letter transitions, compares
//! numbers numerically and words by their special-form rank:
//! `(unknown) < dev < alpha = a < beta = b < RC = rc < (number) < pl = p` (by prefix), and a
//! version with more parts is greater when the extra part is a number (`1.0.0 > 1.0`).
//!
//! Constraints follow composer/semver: both sides are normalized to four numeric parts first
//! (so `1.0 == 1.0.0.0`), and `<V` / `>=V` on a stable V mean `<V-dev` / `>=V-dev`, which makes
//! `<2.0` exclude `2.0-beta1`.

use std::cmp::Ordering;
use std::fmt;

use crate::num::Num;
use crate::VersionError;

/// A parsed Packagist version.
#[derive(Clone)]
pub struct PackagistVersion {
    text: Box<str>,
    parts: Vec<Box<str>>,
}

/// Splits a version the way `version_compare` canonicalizes it.
fn canonical_parts(version: &str) -> Vec<Box<str>> {
    let v = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut last_digit: Option<bool> = None;
    for c in v.chars() {
        if matches!(c, '.' | '-' | '_' | '+') {
            parts.push(std::mem::take(&mut current).into());
            last_digit = None;
            continue;
        }
        let digit = c.is_ascii_digit();
        if last_digit.is_some_and(|d| d != digit) {
            parts.push(std::mem::take(&mut current).into());
        }
        current.push(c);
        last_digit = Some(digit);
    }
    parts.push(current.into());
    parts
}

/// PHP's special-form rank; numbers rank as `#`.
fn special_rank(part: &str) -> i8 {
    const FORMS: [(&str, i8); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS.iter().find(|(name, _)| part.starts_with(name)).map_or(-1, |(_, rank)| *rank)
}

fn number(part: &str) -> Option<Num> {
    Num::parse(part)
}

fn compare_parts(a: &[Box<str>], b: &[Box<str>]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (number(x), number(y)) {
            (Some(m), Some(n)) => m.cmp(&n),
            (None, None) => special_rank(x).cmp(&special_rank(y)),
            (Some(_), None) => special_rank("#").cmp(&special_rank(y)),
            (None, Some(_)) => special_rank(x).cmp(&special_rank("#")),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    let hash: [Box<str>; 1] = ["#".into()];
    match a.len().cmp(&b.len()) {
        Ordering::Equal => Ordering::Equal,
        Ordering::Greater => {
            if number(&a[b.len()]).is_some() {
                Ordering::Greater
            } else {
                compare_parts(&a[b.len()..], &hash)
            }
        }
        Ordering::Less => {
            if number(&b[a.len()]).is_some() {
                Ordering::Less
            } else {
                compare_parts(&hash, &b[a.len()..])
            }
        }
    }
}

impl PackagistVersion {
    pub fn parse(input: &str) -> Result<PackagistVersion, VersionError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(VersionError::invalid(input, "version string is empty"));
        }
        if text.chars().any(char::is_whitespace) {
            return Err(VersionError::invalid(input, "version string has embedded spaces"));
        }
        Ok(PackagistVersion { text: text.into(), parts: canonical_parts(text) })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Composer's normalized form: four numeric parts, then any stability suffix
    /// (`v1.2-beta2` → `1.2.0.0-beta2`); branch names (`dev-main`) stay as they are.
    pub fn composer_normalized(&self) -> PackagistVersion {
        let v = self.text.strip_prefix(['v', 'V']).unwrap_or(&self.text);
        let numeric_end = v
            .char_indices()
            .find(|&(i, c)| {
                !(c.is_ascii_digit()
                    || (c == '.' && v[i + 1..].starts_with(|d: char| d.is_ascii_digit())))
            })
            .map_or(v.len(), |(i, _)| i);
        if numeric_end == 0 {
            return self.clone();
        }
        let mut numbers: Vec<&str> = v[..numeric_end].split('.').collect();
        if numbers.len() > 4 {
            return self.clone();
        }
        numbers.resize(4, "0");
        let mut out = numbers.join(".");
        let rest = &v[numeric_end..];
        if !rest.is_empty() {
            if !rest.starts_with(['-', '.', '_', '+']) {
                out.push('-');
            }
            out.push_str(rest);
        }
        PackagistVersion { parts: canonical_parts(&out), text: out.into() }
    }

    fn is_stable(&self) -> bool {
        self.parts.iter().all(|p| number(p).is_some() || special_rank(p) == 5)
    }
}

impl Ord for PackagistVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_parts(&self.parts, &other.parts)
    }
}

version_traits!(PackagistVersion);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug)]
struct Bound {
    op: Op,
    version: PackagistVersion,
}

impl Bound {
    fn new(op: Op, version: PackagistVersion) -> Bound {
        let mut version = version.composer_normalized();
        if matches!(op, Op::Lt | Op::Ge) && version.is_stable() {
            version = PackagistVersion::parse(&format!("{}-dev", version.text)).unwrap_or(version);
        }
        Bound { op, version }
    }

    fn matches(&self, v: &PackagistVersion) -> bool {
        let o = v.cmp(&self.version);
        match self.op {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
        }
    }
}

/// A Composer constraint: alternatives (`||`, `|`) of conjunctions (`,` or space).
#[derive(Clone, Debug)]
pub struct ComposerConstraint {
    text: Box<str>,
    any_of: Vec<Vec<Bound>>,
}

impl ComposerConstraint {
    pub fn parse(input: &str) -> Result<ComposerConstraint, VersionError> {
        let err = |reason: &'static str| VersionError::invalid(input, reason);
        let text = input.trim();
        if text.is_empty() {
            return Err(err("the constraint is empty"));
        }
        let mut any_of = Vec::new();
        for alternative in text.split("||").flat_map(|a| a.split('|')) {
            let alternative = alternative.trim();
            if alternative.is_empty() {
                return Err(err("an empty alternative around '|'"));
            }
            let mut all_of = Vec::new();
            let words: Vec<&str> =
                alternative.split([',', ' ']).map(str::trim).filter(|w| !w.is_empty()).collect();
            let mut i = 0;
            while i < words.len() {
                // Hyphen range: `1.0 - 2.0`.
                if words.get(i + 1) == Some(&"-") {
                    let to = words
                        .get(i + 2)
                        .ok_or_else(|| err("a hyphen range needs an upper bound"))?;
                    all_of.push(Bound::new(Op::Ge, version_of(input, words[i])?));
                    all_of.extend(upper_of_partial(input, to)?);
                    i += 3;
                    continue;
                }
                // An operator separated from its version by a space: `>= 1.0`.
                let (word, consumed) = if matches!(
                    words[i],
                    ">=" | "<=" | ">" | "<" | "!=" | "==" | "=" | "<>" | "~" | "^"
                ) {
                    let next =
                        words.get(i + 1).ok_or_else(|| err("an operator needs a version"))?;
                    (format!("{}{}", words[i], next), 2)
                } else {
                    (words[i].to_string(), 1)
                };
                all_of.extend(parse_single(input, &word)?);
                i += consumed;
            }
            any_of.push(all_of);
        }
        Ok(ComposerConstraint { text: text.into(), any_of })
    }

    /// Whether `version` satisfies the constraint (compared after Composer normalization).
    pub fn matches(&self, version: &PackagistVersion) -> bool {
        let v = version.composer_normalized();
        self.any_of.iter().any(|all| all.iter().all(|b| b.matches(&v)))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn strip_stability_flag(word: &str) -> &str {
    match word.rfind('@') {
        Some(at) => &word[..at],
        None => word,
    }
}

fn version_of(input: &str, text: &str) -> Result<PackagistVersion, VersionError> {
    PackagistVersion::parse(strip_stability_flag(text))
        .map_err(|_| VersionError::invalid(input, "invalid version in constraint"))
}

/// Numeric parts of a partial version (`1.2` → [1, 2]); `None` when it is not purely numeric.
fn numeric_parts(text: &str) -> Option<Vec<Num>> {
    let t = text.strip_prefix(['v', 'V']).unwrap_or(text);
    t.split('.').map(Num::parse).collect()
}

fn join(parts: &[Num]) -> String {
    parts.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
}

fn dev_of(parts: &[Num]) -> PackagistVersion {
    PackagistVersion { text: format!("{}-dev", join(parts)).into(), parts: Vec::new() }.reparsed()
}

impl PackagistVersion {
    fn reparsed(self) -> PackagistVersion {
        PackagistVersion { parts: canonical_parts(&self.text), text: self.text }
            .composer_normalized()
    }
}

/// The upper bound of a hyphen range: a partial version means "below the next one".
fn upper_of_partial(input: &str, text: &str) -> Result<Vec<Bound>, VersionError> {
    match numeric_parts(text) {
        Some(parts) if parts.len() < 3 => {
            let mut next = parts.clone();
            if let Some(last) = next.last_mut() {
                *last = last.succ();
            }
            Ok(vec![Bound { op: Op::Lt, version: dev_of(&next) }])
        }
        _ => Ok(vec![Bound::new(Op::Le, version_of(input, text)?)]),
    }
}

fn parse_single(input: &str, word: &str) -> Result<Vec<Bound>, VersionError> {
    let err = |reason: &'static str| VersionError::invalid(input, reason);
    let word = strip_stability_flag(word);
    if word.is_empty() || word == "*" || word.eq_ignore_ascii_case("x") {
        return Ok(vec![Bound { op: Op::Ge, version: dev_of(&[Num::ZERO]) }]);
    }
    for (prefix, op) in [
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("<>", Op::Ne),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
    ] {
        if let Some(rest) = word.strip_prefix(prefix) {
            if rest.is_empty() {
                return Err(err("an operator needs a version"));
            }
            return Ok(vec![Bound::new(op, version_of(input, rest)?)]);
        }
    }
    if let Some(rest) = word.strip_prefix('~') {
        // ~1.2 → >=1.2 <2.0; ~1.2.3 → >=1.2.3 <1.3.
        let parts = numeric_parts(rest.split(['-', '+']).next().unwrap_or(rest))
            .ok_or_else(|| err("'~' needs a numeric version"))?;
        let keep = if parts.len() > 1 { parts.len() - 1 } else { 1 };
        let mut upper = parts[..keep].to_vec();
        if let Some(last) = upper.last_mut() {
            *last = last.succ();
        }
        return Ok(vec![
            Bound::new(Op::Ge, version_of(input, rest)?),
            Bound { op: Op::Lt, version: dev_of(&upper) },
        ]);
    }
    if let Some(rest) = word.strip_prefix('^') {
        // ^1.2.3 → <2.0; ^0.3 → <0.4; ^0.0.3 → <0.0.4.
        let parts = numeric_parts(rest.split(['-', '+']).next().unwrap_or(rest))
            .ok_or_else(|| err("'^' needs a numeric version"))?;
        let position = parts.iter().position(|n| !n.is_zero()).unwrap_or(parts.len() - 1);
        let mut upper = parts[..=position].to_vec();
        if let Some(last) = upper.last_mut() {
            *last = last.succ();
        }
        return Ok(vec![
            Bound::new(Op::Ge, version_of(input, rest)?),
            Bound { op: Op::Lt, version: dev_of(&upper) },
        ]);
    }
    let t = word.strip_prefix(['v', 'V']).unwrap_or(word);
    if let Some(prefix) =
        t.strip_suffix(".*").or_else(|| t.strip_suffix(".x")).or_else(|| t.strip_suffix(".X"))
    {
        let parts =
            numeric_parts(prefix).ok_or_else(|| err("a wildcard needs a numeric prefix"))?;
        let mut upper = parts.clone();
        if let Some(last) = upper.last_mut() {
            *last = last.succ();
        }
        return Ok(vec![
            Bound { op: Op::Ge, version: dev_of(&parts) },
            Bound { op: Op::Lt, version: dev_of(&upper) },
        ]);
    }
    Ok(vec![Bound::new(Op::Eq, version_of(input, word)?)])
}

impl fmt::Display for ComposerConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, version: &str, expect: bool) {
        let c = ComposerConstraint::parse(constraint).unwrap();
        let v = PackagistVersion::parse(version).unwrap();
        assert_eq!(c.matches(&v), expect, "{version} in {constraint}");
    }

    #[test]
    fn php_version_compare() {
        let v = |s: &str| PackagistVersion::parse(s).unwrap();
        assert!(v("1.0-dev") < v("1.0a1"));
        assert!(v("1.0rc1") < v("1.0"));
        assert!(v("1.0") < v("1.0pl1"));
        assert!(v("1.0.0") > v("1.0"));
        assert!(v("dev-foo") < v("1.26.0"));
        assert_eq!(v("1.25.0-beta2.1"), v("1.25.0-b.2.1"));
    }

    #[test]
    fn composer_constraints() {
        check(">=8.0.0,<9.3.19", "9.3.18", true);
        check(">=8.0.0,<9.3.19", "9.3.19", false);
        check(">=8.0.0,<9.3.19", "9.3.19-beta1", false);
        check(">=8.0.0,<9.3.19", "7.99", false);
        check("<7.58 || >=8.0,<8.5.1", "8.4.0", true);
        check("^1.2.3", "1.9.0", true);
        check("^1.2.3", "2.0.0", false);
        check("~1.2", "1.9", true);
        check("~1.2.3", "1.3.0", false);
        check("1.2.*", "1.2.9", true);
        check("1.0 - 2.0", "2.0.5", true);
        check("1.0 - 2.0", "2.1", false);
        check("=1.0", "1.0.0.0", true);
        check(">= 1.0", "1.0", true);
    }
}
