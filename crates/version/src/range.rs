//! OSV `affected[]` evaluation: is an installed version inside a record's `ranges` (SEMVER and
//! ECOSYSTEM events: introduced / fixed / last_affected / limit) or its explicit `versions`?
//!
//! Follows the OSV schema's evaluation rules: events are sorted by version (`introduced: "0"`
//! first); walking them, `introduced <= v` turns "affected" on, `fixed <= v` and
//! `last_affected < v` turn it off; `limit` events cap the whole range (`v < limit`, `*` means
//! no cap). GIT ranges name commits, not versions, so they never match a version here; their
//! record's explicit `versions` list still does.
//!
//! Every version in a range is parsed; one that does not parse is an error, never a silent
//! "not affected".

use std::cmp::Ordering;

use crate::{Scheme, Version, VersionError};

/// The `type` of an OSV range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeKind {
    /// SemVer 2.0 ordering whatever the ecosystem.
    Semver,
    /// The ecosystem's own ordering.
    Ecosystem,
    /// Git commits: not evaluable against versions.
    Git,
}

/// One OSV range event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// One OSV range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsvRange {
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

/// Why evaluating a range failed: which event's version did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("range event {event}: {source}")]
pub struct RangeError {
    pub event: String,
    #[source]
    pub source: VersionError,
}

enum Bound {
    /// `introduced: "0"`: below every version.
    Zero,
    At(Version),
}

impl OsvRange {
    /// Whether `version` (already parsed under the ecosystem's scheme) lies in this range.
    /// `installed_text` is re-parsed as SemVer for SEMVER ranges of non-SemVer ecosystems.
    pub fn contains(&self, version: &Version) -> Result<bool, RangeError> {
        let scheme = match self.kind {
            RangeKind::Git => return Ok(false),
            RangeKind::Ecosystem => version.scheme(),
            RangeKind::Semver => Scheme::Semver,
        };
        let reparsed;
        let v = if version.scheme() == scheme {
            version
        } else {
            reparsed = Version::parse(scheme, version.as_str()).map_err(|source| RangeError {
                event: format!("(installed {})", version.as_str()),
                source,
            })?;
            &reparsed
        };
        let parse = |text: &str, name: &str| -> Result<Version, RangeError> {
            Version::parse(scheme, text)
                .map_err(|source| RangeError { event: format!("{name}: {text:?}"), source })
        };
        let mut points: Vec<(Bound, &Event)> = Vec::with_capacity(self.events.len());
        let mut limits: Vec<Version> = Vec::new();
        let mut unlimited = false;
        for event in &self.events {
            match event {
                Event::Introduced(t) if t == "0" => points.push((Bound::Zero, event)),
                Event::Introduced(t) => points.push((Bound::At(parse(t, "introduced")?), event)),
                Event::Fixed(t) => points.push((Bound::At(parse(t, "fixed")?), event)),
                Event::LastAffected(t) => {
                    points.push((Bound::At(parse(t, "last_affected")?), event))
                }
                Event::Limit(t) if t == "*" => unlimited = true,
                Event::Limit(t) => limits.push(parse(t, "limit")?),
            }
        }
        points.sort_by(|(a, _), (b, _)| match (a, b) {
            (Bound::Zero, Bound::Zero) => Ordering::Equal,
            (Bound::Zero, _) => Ordering::Less,
            (_, Bound::Zero) => Ordering::Greater,
            (Bound::At(x), Bound::At(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        });
        let mut affected = false;
        for (bound, event) in &points {
            let cmp = match bound {
                Bound::Zero => Ordering::Greater,
                Bound::At(b) => v.partial_cmp(b).unwrap_or(Ordering::Less),
            };
            match event {
                Event::Introduced(_) if cmp != Ordering::Less => affected = true,
                Event::Fixed(_) if cmp != Ordering::Less => affected = false,
                Event::LastAffected(_) if cmp == Ordering::Greater => affected = false,
                _ => {}
            }
        }
        if affected && !unlimited && !limits.is_empty() {
            affected = limits.iter().any(|l| v.partial_cmp(l) == Some(Ordering::Less));
        }
        Ok(affected)
    }
}

/// Whether `version` is affected by an OSV `affected[]` entry's `ranges` and `versions`.
pub fn is_affected(
    version: &Version,
    ranges: &[OsvRange],
    versions: &[String],
) -> Result<bool, RangeError> {
    for listed in versions {
        if listed == version.as_str() {
            return Ok(true);
        }
        // Listed versions are compared by value too (`1.0` lists `1.0.0` for Maven, etc.);
        // one that does not parse can only match by text.
        if let Ok(l) = Version::parse(version.scheme(), listed) {
            if l.compare(version) == Ok(Ordering::Equal) {
                return Ok(true);
            }
        }
    }
    for range in ranges {
        if range.contains(version)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A constraint in ward's generic syntax, for ecosystems without a native one:
/// comparators (`<`, `<=`, `>`, `>=`, `=`, `!=`) joined by `,` or spaces (all must hold),
/// alternatives joined by `||`.
#[derive(Clone, Debug)]
pub struct GenericConstraint {
    any_of: Vec<Vec<(Ordering, bool, Version)>>,
}

impl GenericConstraint {
    pub fn parse(scheme: Scheme, input: &str) -> Result<GenericConstraint, VersionError> {
        let mut any_of = Vec::new();
        for alternative in input.split("||") {
            let mut all_of = Vec::new();
            let text = alternative.replace(',', " ");
            let mut words = text.split_whitespace().peekable();
            while let Some(word) = words.next() {
                let (op, rest) = ["<=", ">=", "!=", "==", "<", ">", "="]
                    .iter()
                    .find_map(|op| word.strip_prefix(op).map(|rest| (*op, rest)))
                    .unwrap_or(("=", word));
                let version_text = if rest.is_empty() {
                    words.next().ok_or_else(|| {
                        VersionError::invalid(input, "an operator needs a version after it")
                    })?
                } else {
                    rest
                };
                let version = Version::parse(scheme, version_text)?;
                // (ordering that satisfies, whether equality also satisfies)
                let clause = match op {
                    "<" => (Ordering::Less, false),
                    "<=" => (Ordering::Less, true),
                    ">" => (Ordering::Greater, false),
                    ">=" => (Ordering::Greater, true),
                    "!=" => (Ordering::Equal, false),
                    _ => (Ordering::Equal, true),
                };
                all_of.push((clause.0, clause.1, version));
            }
            if all_of.is_empty() {
                return Err(VersionError::invalid(input, "empty constraint"));
            }
            any_of.push(all_of);
        }
        Ok(GenericConstraint { any_of })
    }

    pub fn matches(&self, version: &Version) -> Result<bool, VersionError> {
        for all_of in &self.any_of {
            let mut ok = true;
            for (ordering, or_equal, bound) in all_of {
                let o = version.compare(bound)?;
                let holds = match (ordering, or_equal) {
                    (Ordering::Equal, true) => o == Ordering::Equal,
                    (Ordering::Equal, false) => o != Ordering::Equal,
                    (want, true) => o == *want || o == Ordering::Equal,
                    (want, false) => o == *want,
                };
                if !holds {
                    ok = false;
                    break;
                }
            }
            if ok {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(kind: RangeKind, events: &[(&str, &str)]) -> OsvRange {
        let events = events
            .iter()
            .map(|(k, v)| match *k {
                "introduced" => Event::Introduced(v.to_string()),
                "fixed" => Event::Fixed(v.to_string()),
                "last_affected" => Event::LastAffected(v.to_string()),
                _ => Event::Limit(v.to_string()),
            })
            .collect();
        OsvRange { kind, events }
    }

    fn check(scheme: Scheme, r: &OsvRange, version: &str, expect: bool) {
        let v = Version::parse(scheme, version).unwrap();
        assert_eq!(r.contains(&v).unwrap(), expect, "{version}");
    }

    #[test]
    fn introduced_fixed_pairs() {
        let r = range(
            RangeKind::Ecosystem,
            &[("introduced", "0"), ("fixed", "1.2.3"), ("introduced", "2.0.0"), ("fixed", "2.0.5")],
        );
        check(Scheme::Semver, &r, "0.1.0", true);
        check(Scheme::Semver, &r, "1.2.3", false);
        check(Scheme::Semver, &r, "1.9.0", false);
        check(Scheme::Semver, &r, "2.0.4", true);
        check(Scheme::Semver, &r, "2.0.5", false);
    }

    #[test]
    fn last_affected_and_limit() {
        let r = range(RangeKind::Ecosystem, &[("introduced", "1.0"), ("last_affected", "1.4")]);
        check(Scheme::Pypi, &r, "1.4", true);
        check(Scheme::Pypi, &r, "1.4.post1", false);
        let r = range(RangeKind::Semver, &[("introduced", "0"), ("limit", "2.0.0")]);
        check(Scheme::Semver, &r, "1.9.9", true);
        check(Scheme::Semver, &r, "2.0.0", false);
    }

    #[test]
    fn dpkg_tilde_backports() {
        let r = range(RangeKind::Ecosystem, &[("introduced", "0"), ("fixed", "1.2.3-1+deb12u1")]);
        check(Scheme::Dpkg, &r, "1.2.3-1", true);
        check(Scheme::Dpkg, &r, "1.2.3-1+deb12u1", false);
    }

    #[test]
    fn unparseable_events_are_errors() {
        let r = range(RangeKind::Semver, &[("introduced", "0"), ("fixed", "not a version")]);
        let v = Version::parse(Scheme::Semver, "1.0.0").unwrap();
        assert!(r.contains(&v).is_err());
    }

    #[test]
    fn explicit_versions_list() {
        let v = Version::parse(Scheme::Maven, "1.0.0").unwrap();
        assert!(is_affected(&v, &[], &["1.0".to_string()]).unwrap());
        assert!(!is_affected(&v, &[], &["1.1".to_string()]).unwrap());
    }

    #[test]
    fn generic_constraints() {
        let c = GenericConstraint::parse(Scheme::Dpkg, ">= 1.0, <2.0~ || =3.0-1").unwrap();
        let m = |s: &str| c.matches(&Version::parse(Scheme::Dpkg, s).unwrap()).unwrap();
        assert!(m("1.5"));
        assert!(!m("2.0~rc1"));
        assert!(m("3.0-1"));
    }
}
