//! npm version ranges (`>=3.5.1 <4.0.0 || >=4.1.3`, `2.0.x`, `^1.2`, `~1.2.3`, `1.0 - 2.0`),
//! evaluated exactly as node-semver 7 evaluates them.
//!
//! node-semver defines ranges by rewriting text with regular expressions (hyphen ranges, then
//! tildes, carets and x-ranges are desugared into plain comparators). This module ports those
//! expressions and rewrites one for one, because the rewrite order is the specification; the
//! node-semver test fixtures in `../shared/data/version-vectors/npm-semver` check the port.
//!
//! Options are node-semver's: `loose` accepts sloppy versions (`=1.2.3`, `1.2.3beta`) and
//! `include_prerelease` lets pre-releases match ranges that do not name the same `[M, m, p]`.

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::semver::cmp_identifiers;
use crate::VersionError;

/// node-semver's `options`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NpmOptions {
    pub loose: bool,
    pub include_prerelease: bool,
}

const MAX_LENGTH: usize = 256;
const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

mod re {
    //! The source strings of node-semver's `internal/re.js`.
    pub const NUMID: &str = r"0|[1-9]\d*";
    pub const NUMIDL: &str = r"\d+";
    pub const NONNUMID: &str = r"\d*[a-zA-Z-][a-zA-Z0-9-]*";

    pub fn mainversion(loose: bool) -> String {
        let n = if loose { NUMIDL } else { NUMID };
        format!(r"({n})\.({n})\.({n})")
    }
    pub fn prerelease(loose: bool) -> String {
        let id = if loose {
            format!("(?:{NONNUMID}|{NUMIDL})")
        } else {
            format!("(?:{NONNUMID}|{NUMID})")
        };
        let dash = if loose { "-?" } else { "-" };
        format!(r"(?:{dash}({id}(?:\.{id})*))")
    }
    pub fn build() -> String {
        r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))".to_string()
    }
    pub fn fullplain() -> String {
        format!("v?{}{}?{}?", mainversion(false), prerelease(false), build())
    }
    pub fn looseplain() -> String {
        format!(r"[v=\s]*{}{}?{}?", mainversion(true), prerelease(true), build())
    }
    pub fn plain(loose: bool) -> String {
        if loose {
            looseplain()
        } else {
            fullplain()
        }
    }
    pub const GTLT: &str = r"((?:<|>)?=?)";
    pub fn xrangeplain(loose: bool) -> String {
        let id = if loose { format!(r"{NUMIDL}|x|X|\*") } else { format!(r"{NUMID}|x|X|\*") };
        format!(r"[v=\s]*({id})(?:\.({id})(?:\.({id})(?:{})?{}?)?)?", prerelease(loose), build())
    }
}

fn compile(pattern: &str) -> Regex {
    // The patterns are constants of this module; a failure is a bug caught by every test.
    #[allow(clippy::unwrap_used, reason = "constant patterns, exercised by the unit tests")]
    Regex::new(pattern).unwrap()
}

struct Patterns {
    build: Regex,
    full: Regex,
    hyphen: Regex,
    comparator_trim: Regex,
    tilde_trim: Regex,
    caret_trim: Regex,
    tilde: Regex,
    caret: Regex,
    xrange: Regex,
    star: Regex,
    gte0: Regex,
    gte0pre: Regex,
    comparator: Regex,
}

impl Patterns {
    fn new(loose: bool) -> Patterns {
        let xp = re::xrangeplain(loose);
        Patterns {
            build: compile(&re::build()),
            full: compile(&format!("^{}$", re::plain(loose))),
            hyphen: compile(&format!(r"^\s*({xp})\s+-\s+({xp})\s*$")),
            comparator_trim: compile(&format!(
                r"(\s*){}\s*({}|{})",
                re::GTLT,
                re::looseplain(),
                re::xrangeplain(false)
            )),
            tilde_trim: compile(r"(\s*)(?:~>?)\s+"),
            caret_trim: compile(r"(\s*)(?:\^)\s+"),
            tilde: compile(&format!("^(?:~>?){xp}$")),
            caret: compile(&format!(r"^(?:\^){xp}$")),
            xrange: compile(&format!(r"^{}\s*{xp}$", re::GTLT)),
            star: compile(r"(<|>)?=?\s*[*]"),
            gte0: compile(r"^\s*>=\s*0\.0\.0\s*$"),
            gte0pre: compile(r"^\s*>=\s*0\.0\.0-0\s*$"),
            comparator: compile(&format!(r"^{}\s*({})$|^$", re::GTLT, re::plain(loose))),
        }
    }
}

static STRICT: LazyLock<Patterns> = LazyLock::new(|| Patterns::new(false));
static LOOSE: LazyLock<Patterns> = LazyLock::new(|| Patterns::new(true));

fn patterns(loose: bool) -> &'static Patterns {
    if loose {
        &LOOSE
    } else {
        &STRICT
    }
}

/// A version as node-semver's `SemVer` class parses it.
#[derive(Clone, PartialEq, Eq)]
pub struct NpmVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    prerelease: String,
    build: String,
}

impl NpmVersion {
    pub fn parse(input: &str, options: NpmOptions) -> Result<NpmVersion, VersionError> {
        if input.len() > MAX_LENGTH {
            return Err(VersionError::invalid(input, "version is longer than 256 characters"));
        }
        let caps = patterns(options.loose)
            .full
            .captures(input.trim())
            .ok_or_else(|| VersionError::invalid(input, "not a valid semver version"))?;
        let number = |i: usize| -> Result<u64, VersionError> {
            caps.get(i)
                .and_then(|m| m.as_str().parse::<u64>().ok())
                .filter(|n| *n <= MAX_SAFE_INTEGER)
                .ok_or_else(|| VersionError::invalid(input, "version number is too big"))
        };
        Ok(NpmVersion {
            major: number(1)?,
            minor: number(2)?,
            patch: number(3)?,
            prerelease: caps.get(4).map_or(String::new(), |m| m.as_str().to_string()),
            build: caps.get(5).map_or(String::new(), |m| m.as_str().to_string()),
        })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.prerelease.is_empty()
    }

    fn same_release(&self, other: &NpmVersion) -> bool {
        (self.major, self.minor, self.patch) == (other.major, other.minor, other.patch)
    }
}

impl Ord for NpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.prerelease.as_str(), other.prerelease.as_str()) {
                ("", "") => Ordering::Equal,
                ("", _) => Ordering::Greater,
                (_, "") => Ordering::Less,
                (a, b) => cmp_identifiers(a, b, false),
            })
    }
}

impl PartialOrd for NpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for NpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.prerelease.is_empty() {
            write!(f, "-{}", self.prerelease)?;
        }
        if !self.build.is_empty() {
            write!(f, "+{}", self.build)?;
        }
        Ok(())
    }
}

impl fmt::Debug for NpmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NpmVersion({self})")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug)]
struct Comparator {
    /// `None` is node-semver's `ANY` (the empty comparator).
    bound: Option<(Op, NpmVersion)>,
}

impl Comparator {
    fn is_null_set(&self) -> bool {
        matches!(&self.bound, Some((Op::Lt, v)) if v.major == 0 && v.minor == 0 && v.patch == 0 && v.prerelease == "0")
    }

    fn test(&self, v: &NpmVersion) -> bool {
        let Some((op, bound)) = &self.bound else { return true };
        let o = v.cmp(bound);
        match op {
            Op::Eq => o == Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
        }
    }

    fn key(&self) -> String {
        match &self.bound {
            None => String::new(),
            Some((op, v)) => format!("{op:?}{v}"),
        }
    }
}

/// A parsed npm range: alternatives (`||`) of comparator sets.
#[derive(Clone, Debug)]
pub struct NpmRange {
    text: Box<str>,
    options: NpmOptions,
    set: Vec<Vec<Comparator>>,
}

fn is_x(id: Option<&str>) -> bool {
    match id {
        None | Some("") => true,
        Some(s) => s.eq_ignore_ascii_case("x") || s == "*",
    }
}

/// `+n + 1` of node-semver (numbers there are JavaScript numbers).
fn inc(n: &str) -> u64 {
    n.parse::<u64>().unwrap_or(u64::MAX).saturating_add(1)
}

fn group<'a>(caps: &'a Captures<'_>, i: usize) -> Option<&'a str> {
    caps.get(i).map(|m| m.as_str())
}

fn replace_tilde(comp: &str, options: NpmOptions) -> String {
    let p = patterns(options.loose);
    let Some(c) = p.tilde.captures(comp) else { return comp.to_string() };
    let (big_m, m, pa, pr) = (group(&c, 1), group(&c, 2), group(&c, 3), group(&c, 4));
    let big = big_m.unwrap_or("");
    let mi = m.unwrap_or("");
    // node-semver 7.8: a partial tilde range starts at the `-0` pre-release of its lower
    // bound when pre-releases are included.
    let z = if options.include_prerelease { "-0" } else { "" };
    if is_x(big_m) {
        String::new()
    } else if is_x(m) {
        format!(">={big}.0.0{z} <{}.0.0-0", inc(big))
    } else if is_x(pa) {
        format!(">={big}.{mi}.0{z} <{big}.{}.0-0", inc(mi))
    } else if let Some(pr) = pr {
        format!(">={big}.{mi}.{}-{pr} <{big}.{}.0-0", pa.unwrap_or(""), inc(mi))
    } else {
        format!(">={big}.{mi}.{} <{big}.{}.0-0", pa.unwrap_or(""), inc(mi))
    }
}

fn replace_caret(comp: &str, options: NpmOptions) -> String {
    let p = patterns(options.loose);
    let Some(c) = p.caret.captures(comp) else { return comp.to_string() };
    let z = if options.include_prerelease { "-0" } else { "" };
    let (big_m, m, pa, pr) = (group(&c, 1), group(&c, 2), group(&c, 3), group(&c, 4));
    let big = big_m.unwrap_or("");
    let mi = m.unwrap_or("");
    let pat = pa.unwrap_or("");
    if is_x(big_m) {
        String::new()
    } else if is_x(m) {
        format!(">={big}.0.0{z} <{}.0.0-0", inc(big))
    } else if is_x(pa) {
        if big == "0" {
            format!(">={big}.{mi}.0{z} <{big}.{}.0-0", inc(mi))
        } else {
            format!(">={big}.{mi}.0{z} <{}.0.0-0", inc(big))
        }
    } else if let Some(pr) = pr {
        if big == "0" {
            if mi == "0" {
                format!(">={big}.{mi}.{pat}-{pr} <{big}.{mi}.{}-0", inc(pat))
            } else {
                format!(">={big}.{mi}.{pat}-{pr} <{big}.{}.0-0", inc(mi))
            }
        } else {
            format!(">={big}.{mi}.{pat}-{pr} <{}.0.0-0", inc(big))
        }
    } else if big == "0" {
        // node-semver 7.8: a full version's own pre-releases stay out even when pre-releases
        // are included (`^0.0.3` does not match `0.0.3-alpha`).
        if mi == "0" {
            format!(">={big}.{mi}.{pat} <{big}.{mi}.{}-0", inc(pat))
        } else {
            format!(">={big}.{mi}.{pat} <{big}.{}.0-0", inc(mi))
        }
    } else {
        format!(">={big}.{mi}.{pat} <{}.0.0-0", inc(big))
    }
}

fn replace_xrange(comp: &str, options: NpmOptions) -> String {
    let p = patterns(options.loose);
    let comp = comp.trim();
    let Some(c) = p.xrange.captures(comp) else { return comp.to_string() };
    let mut gtlt = group(&c, 1).unwrap_or("").to_string();
    let (big_m, m, pa) = (group(&c, 2), group(&c, 3), group(&c, 4));
    // node-semver 7.8: an x before a number (`1.x.3`, `*.2`) is left alone, so it fails later
    // as an invalid comparator instead of silently widening.
    if (is_x(big_m) && !is_x(m)) || (is_x(m) && pa.is_some_and(|p| !p.is_empty()) && !is_x(pa)) {
        return comp.to_string();
    }
    let xbig = is_x(big_m);
    let xm = xbig || is_x(m);
    let xp = xm || is_x(pa);
    let any_x = xp;
    if gtlt == "=" && any_x {
        gtlt.clear();
    }
    let mut pr = if options.include_prerelease { "-0" } else { "" };
    let big = big_m.unwrap_or("");
    if xbig {
        if gtlt == ">" || gtlt == "<" {
            "<0.0.0-0".to_string()
        } else {
            "*".to_string()
        }
    } else if !gtlt.is_empty() && any_x {
        let mut big_n: u64 = big.parse().unwrap_or(u64::MAX);
        let mut m_n: u64 = if xm { 0 } else { m.unwrap_or("0").parse().unwrap_or(u64::MAX) };
        let p_n: u64 = 0;
        if gtlt == ">" {
            gtlt = ">=".to_string();
            if xm {
                big_n = big_n.saturating_add(1);
                m_n = 0;
            } else {
                m_n = m_n.saturating_add(1);
            }
        } else if gtlt == "<=" {
            gtlt = "<".to_string();
            if xm {
                big_n = big_n.saturating_add(1);
            } else {
                m_n = m_n.saturating_add(1);
            }
        }
        if gtlt == "<" {
            pr = "-0";
        }
        format!("{gtlt}{big_n}.{m_n}.{p_n}{pr}")
    } else if xm {
        format!(">={big}.0.0{pr} <{}.0.0-0", inc(big))
    } else if xp {
        let mi = m.unwrap_or("");
        format!(">={big}.{mi}.0{pr} <{big}.{}.0-0", inc(mi))
    } else {
        comp.to_string()
    }
}

fn hyphen_replace(c: &Captures<'_>, include_prerelease: bool) -> String {
    // Groups: 1 from, 2-4 from M m p, 5 from pre, 6 from build, 7 to, 8-10 to M m p, 11 to pre.
    let from_text = group(c, 1).unwrap_or("");
    let (fm_big, fm, fp, fpr) = (group(c, 2), group(c, 3), group(c, 4), group(c, 5));
    let to_text = group(c, 7).unwrap_or("");
    let (tm_big, tm, tp, tpr) = (group(c, 8), group(c, 9), group(c, 10), group(c, 11));
    let z = if include_prerelease { "-0" } else { "" };
    let from = if is_x(fm_big) {
        String::new()
    } else if is_x(fm) {
        format!(">={}.0.0{z}", fm_big.unwrap_or(""))
    } else if is_x(fp) {
        format!(">={}.{}.0{z}", fm_big.unwrap_or(""), fm.unwrap_or(""))
    } else if fpr.is_some() {
        format!(">={from_text}")
    } else {
        format!(">={from_text}{z}")
    };
    let to = if is_x(tm_big) {
        String::new()
    } else if is_x(tm) {
        format!("<{}.0.0-0", inc(tm_big.unwrap_or("")))
    } else if is_x(tp) {
        format!("<{}.{}.0-0", tm_big.unwrap_or(""), inc(tm.unwrap_or("")))
    } else if let Some(tpr) = tpr {
        format!("<={}.{}.{}-{tpr}", tm_big.unwrap_or(""), tm.unwrap_or(""), tp.unwrap_or(""))
    } else if include_prerelease {
        format!("<{}.{}.{}-0", tm_big.unwrap_or(""), tm.unwrap_or(""), inc(tp.unwrap_or("")))
    } else {
        format!("<={to_text}")
    };
    format!("{from} {to}").trim().to_string()
}

fn split_ws(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty())
}

impl NpmRange {
    pub fn parse(input: &str, options: NpmOptions) -> Result<NpmRange, VersionError> {
        if input.len() > 4096 {
            return Err(VersionError::invalid(input, "range is longer than 4096 characters"));
        }
        let raw = split_ws(input.trim()).collect::<Vec<_>>().join(" ");
        let mut set: Vec<Vec<Comparator>> = Vec::new();
        for part in raw.split("||") {
            let comparators = parse_set(input, part.trim(), options)?;
            if !comparators.is_empty() {
                set.push(comparators);
            }
        }
        if set.is_empty() {
            return Err(VersionError::invalid(input, "invalid npm range"));
        }
        if set.len() > 1 {
            let first = set[0].clone();
            set.retain(|c| !c[0].is_null_set());
            if set.is_empty() {
                set = vec![first];
            } else if set.len() > 1 {
                if let Some(any) = set.iter().find(|c| c.len() == 1 && c[0].bound.is_none()) {
                    set = vec![any.clone()];
                }
            }
        }
        Ok(NpmRange { text: input.into(), options, set })
    }

    /// node-semver's `satisfies(version, range)` for a parsed version.
    pub fn satisfies(&self, v: &NpmVersion) -> bool {
        self.set.iter().any(|comparators| {
            if !comparators.iter().all(|c| c.test(v)) {
                return false;
            }
            if v.is_prerelease() && !self.options.include_prerelease {
                // A pre-release only matches a set that names a pre-release of the same M.m.p.
                return comparators.iter().any(
                    |c| matches!(&c.bound, Some((_, b)) if b.is_prerelease() && b.same_release(v)),
                );
            }
            true
        })
    }

    /// `satisfies` for version text; text that is not a version never satisfies.
    pub fn satisfies_str(&self, version: &str) -> bool {
        NpmVersion::parse(version, self.options).is_ok_and(|v| self.satisfies(&v))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn parse_set(
    input: &str,
    range: &str,
    options: NpmOptions,
) -> Result<Vec<Comparator>, VersionError> {
    let p = patterns(options.loose);
    // Build metadata never affects a range: node-semver strips it before anything else.
    let range = p.build.replace_all(range, "");
    let range = match p.hyphen.captures(&range) {
        Some(c) => hyphen_replace(&c, options.include_prerelease),
        None => range.into_owned(),
    };
    let range = p.comparator_trim.replace_all(&range, "$1$2$3");
    let range = p.tilde_trim.replace_all(&range, "$1~");
    let range = p.caret_trim.replace_all(&range, "$1^");
    let mut list: Vec<String> = Vec::new();
    let rewritten = range
        .split(' ')
        .map(|comp| {
            let carets =
                split_ws(comp).map(|c| replace_caret(c, options)).collect::<Vec<_>>().join(" ");
            let tildes =
                split_ws(&carets).map(|c| replace_tilde(c, options)).collect::<Vec<_>>().join(" ");
            let xranges =
                tildes.split(' ').map(|c| replace_xrange(c, options)).collect::<Vec<_>>().join(" ");
            p.star.replace_all(xranges.trim(), "").into_owned()
        })
        .collect::<Vec<_>>()
        .join(" ");
    for comp in rewritten.split(|c: char| c.is_whitespace()) {
        let gte0 = if options.include_prerelease { &p.gte0pre } else { &p.gte0 };
        let comp = gte0.replace(comp.trim(), "").into_owned();
        if options.loose && !p.comparator.is_match(&comp) {
            continue;
        }
        list.push(comp);
    }
    let mut comparators: Vec<Comparator> = Vec::new();
    for comp in list {
        let c = parse_comparator(input, &comp, options)?;
        if c.is_null_set() {
            return Ok(vec![c]);
        }
        let key = c.key();
        match comparators.iter().position(|e| e.key() == key) {
            Some(i) => comparators[i] = c,
            None => comparators.push(c),
        }
    }
    if comparators.len() > 1 {
        comparators.retain(|c| c.bound.is_some());
    }
    Ok(comparators)
}

fn parse_comparator(
    input: &str,
    comp: &str,
    options: NpmOptions,
) -> Result<Comparator, VersionError> {
    let comp = split_ws(comp.trim()).collect::<Vec<_>>().join(" ");
    let p = patterns(options.loose);
    let c = p
        .comparator
        .captures(&comp)
        .ok_or_else(|| VersionError::invalid(input, "invalid comparator in npm range"))?;
    let Some(version) = c.get(2) else { return Ok(Comparator { bound: None }) };
    let op = match c.get(1).map_or("", |m| m.as_str()) {
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        _ => Op::Eq,
    };
    let version = NpmVersion::parse(version.as_str(), options)
        .map_err(|_| VersionError::invalid(input, "invalid version in npm range"))?;
    Ok(Comparator { bound: Some((op, version)) })
}

impl fmt::Display for NpmRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: &str, version: &str, expect: bool) {
        let r = NpmRange::parse(range, NpmOptions::default()).unwrap();
        assert_eq!(r.satisfies_str(version), expect, "{version} in {range}");
    }

    #[test]
    fn advisory_ranges() {
        check("<=1.5.1", "1.5.1", true);
        check(">=3.5.1 <4.0.0 || >=4.1.3", "4.0.5", false);
        check(">=3.5.1 <4.0.0 || >=4.1.3", "4.2.0", true);
        check("2.0.x", "2.0.9", true);
        check("2.0.x", "2.1.0", false);
        check("^1.2.3", "1.9.0", true);
        check("~1.2.3", "1.3.0", false);
        check("1.0.0 - 2.0.0", "2.0.0", true);
        check("^1.2.3", "1.2.4-beta", false);
    }

    #[test]
    fn invalid_ranges_are_errors() {
        assert!(NpmRange::parse(">=x.y.z foo", NpmOptions::default()).is_err());
        assert!(NpmRange::parse("blerg", NpmOptions::default()).is_err());
    }
}
