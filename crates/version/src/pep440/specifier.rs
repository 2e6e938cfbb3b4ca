//! PEP 440 version specifiers (`>=1.0,!=1.3.*,<2`), with the membership rules of `packaging` 26:
//! `<V` excludes V's pre-releases unless V is one, `>V` excludes V's post-releases and local
//! versions, `==`/`!=` ignore the candidate's local label unless the specifier has one, `~=` and
//! `.*` wildcards are prefix matches, and `===` compares the raw strings.
//!
//! Pre-releases: by default a single candidate that is a pre-release matches (there is no other
//! candidate to prefer, the PEP 440 rule `packaging` 26 applies); `prereleases = Some(false)`
//! rejects them and `Some(true)` accepts them.

use std::cmp::Ordering;
use std::fmt;

use super::{is_py_space, Pep440Version};
use crate::num::Num;
use crate::VersionError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Compatible,
    Equal,
    NotEqual,
    LessEqual,
    GreaterEqual,
    Less,
    Greater,
    Arbitrary,
}

impl Operator {
    fn as_str(self) -> &'static str {
        match self {
            Operator::Compatible => "~=",
            Operator::Equal => "==",
            Operator::NotEqual => "!=",
            Operator::LessEqual => "<=",
            Operator::GreaterEqual => ">=",
            Operator::Less => "<",
            Operator::Greater => ">",
            Operator::Arbitrary => "===",
        }
    }
}

/// One clause of a specifier set.
#[derive(Clone)]
pub struct Specifier {
    op: Operator,
    /// The version text as written (for `===`, the literal string).
    text: Box<str>,
    /// Parsed version (without the `.*`); `None` only for `===` with a non-PEP 440 string.
    version: Option<Pep440Version>,
    wildcard: bool,
}

impl Specifier {
    pub fn parse(input: &str) -> Result<Specifier, VersionError> {
        let err = |reason: &'static str| VersionError::invalid(input, reason);
        let s = input.trim_matches(is_py_space);
        let (op, rest) = [
            ("===", Operator::Arbitrary),
            ("~=", Operator::Compatible),
            ("==", Operator::Equal),
            ("!=", Operator::NotEqual),
            ("<=", Operator::LessEqual),
            (">=", Operator::GreaterEqual),
            ("<", Operator::Less),
            (">", Operator::Greater),
        ]
        .iter()
        .find_map(|(prefix, op)| s.strip_prefix(prefix).map(|rest| (*op, rest)))
        .ok_or_else(|| err("a specifier starts with one of ~= == != <= >= < > ==="))?;
        let text = rest.trim_start_matches(is_py_space);
        if text.is_empty() {
            return Err(err("the specifier has no version"));
        }
        if op == Operator::Arbitrary {
            if text.chars().any(|c| is_py_space(c) || c == ';' || c == ')') {
                return Err(err("an arbitrary-equality version cannot contain spaces, ';' or ')'"));
            }
            let version = Pep440Version::parse(text).ok();
            return Ok(Specifier { op, text: text.into(), version, wildcard: false });
        }
        let (version_text, wildcard) = match text.strip_suffix(".*") {
            Some(base) => (base, true),
            None => (text, false),
        };
        let version = Pep440Version::parse(version_text).map_err(|_| err("invalid version"))?;
        if version_text != version.as_str() {
            return Err(err("invalid version"));
        }
        if wildcard {
            if !matches!(op, Operator::Equal | Operator::NotEqual) {
                return Err(err("'.*' is only allowed with == and !="));
            }
            if version.pre.is_some() || version.post.is_some() || version.dev.is_some() {
                return Err(err("'.*' cannot follow a pre, post or dev release"));
            }
            if version.has_local() {
                return Err(err("'.*' cannot follow a local version label"));
            }
        }
        if version.has_local() && !matches!(op, Operator::Equal | Operator::NotEqual) {
            return Err(err("local versions are only allowed with == and !="));
        }
        if op == Operator::Compatible && version.release.len() < 2 {
            return Err(err("~= needs a version with at least two release numbers"));
        }
        Ok(Specifier { op, text: text.into(), version: Some(version), wildcard })
    }

    pub fn operator(&self) -> Operator {
        self.op
    }

    /// Whether `candidate` (its raw text and, when it parses, its version) satisfies this clause,
    /// before any pre-release policy.
    fn matches(&self, raw: &str, candidate: Option<&Pep440Version>) -> bool {
        if self.op == Operator::Arbitrary {
            return raw.trim_matches(is_py_space).to_lowercase() == self.text.to_lowercase();
        }
        let (Some(v), Some(spec)) = (candidate, self.version.as_ref()) else {
            return false;
        };
        if self.wildcard {
            let inside = in_prefix(v, spec);
            return if self.op == Operator::Equal { inside } else { !inside };
        }
        match self.op {
            Operator::GreaterEqual => v >= spec,
            Operator::LessEqual => v.cmp_public(spec) != Ordering::Greater,
            Operator::Equal => equal(v, spec),
            Operator::NotEqual => !equal(v, spec),
            Operator::Less => {
                let bound = if spec.is_prerelease() {
                    spec.clone()
                } else {
                    Pep440Version::from_parts(
                        spec.epoch.clone(),
                        spec.release.clone(),
                        spec.pre.clone(),
                        spec.post.clone(),
                        Some(Num::ZERO),
                    )
                };
                v < &bound
            }
            Operator::Greater => {
                if let Some(dev) = &spec.dev {
                    let bound = Pep440Version::from_parts(
                        spec.epoch.clone(),
                        spec.release.clone(),
                        spec.pre.clone(),
                        spec.post.clone(),
                        Some(dev.succ()),
                    );
                    v >= &bound
                } else if let Some(post) = &spec.post {
                    let bound = Pep440Version::from_parts(
                        spec.epoch.clone(),
                        spec.release.clone(),
                        spec.pre.clone(),
                        Some(post.succ()),
                        Some(Num::ZERO),
                    );
                    v >= &bound
                } else {
                    // Above V, V+local and every V.postN.
                    let same_family = v.epoch == spec.epoch
                        && crate::num::cmp_padded(&v.release, &spec.release) == Ordering::Equal
                        && v.pre == spec.pre
                        && (v.post.is_some() || v.dev.is_none());
                    v > spec && !same_family
                }
            }
            Operator::Compatible => {
                let prefix = &spec.release[..spec.release.len() - 1];
                v >= spec && in_release_prefix(v, &spec.epoch, prefix)
            }
            Operator::Arbitrary => false,
        }
    }
}

/// `==V` without a wildcard: the candidate's local label is ignored unless V has one.
fn equal(v: &Pep440Version, spec: &Pep440Version) -> bool {
    if spec.has_local() {
        v == spec
    } else {
        v.cmp_public(spec) == Ordering::Equal
    }
}

/// `==V.*`: the candidate lies in `[V.dev0, next(V).dev0)`.
fn in_prefix(v: &Pep440Version, spec: &Pep440Version) -> bool {
    in_release_prefix(v, &spec.epoch, &spec.release)
}

/// Whether `v` is in `[E!P.dev0, E!next(P).dev0)`, i.e. its release starts with `prefix`
/// (zero-padded) within the same epoch.
fn in_release_prefix(v: &Pep440Version, epoch: &Num, prefix: &[Num]) -> bool {
    let lower =
        Pep440Version::from_parts(epoch.clone(), prefix.to_vec(), None, None, Some(Num::ZERO));
    let mut next = prefix.to_vec();
    if let Some(last) = next.last_mut() {
        *last = last.succ();
    }
    let upper = Pep440Version::from_parts(epoch.clone(), next, None, None, Some(Num::ZERO));
    v >= &lower && v < &upper
}

impl fmt::Display for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.op.as_str(), self.text)
    }
}

impl fmt::Debug for Specifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Specifier({self})")
    }
}

/// A comma-separated conjunction of specifiers; empty matches every version.
#[derive(Clone, Debug)]
pub struct SpecifierSet {
    specs: Vec<Specifier>,
}

impl SpecifierSet {
    pub fn parse(input: &str) -> Result<SpecifierSet, VersionError> {
        let specs = input
            .split(',')
            .map(|part| part.trim_matches(is_py_space))
            .filter(|part| !part.is_empty())
            .map(Specifier::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SpecifierSet { specs })
    }

    pub fn specifiers(&self) -> &[Specifier] {
        &self.specs
    }

    /// Whether the version text `candidate` satisfies every clause. An unparseable candidate
    /// only ever matches `===` clauses. `prereleases`: see the module documentation.
    pub fn contains(&self, candidate: &str, prereleases: Option<bool>) -> bool {
        let parsed = Pep440Version::parse(candidate).ok();
        if let Some(v) = &parsed {
            if v.is_prerelease() && prereleases == Some(false) {
                return false;
            }
        } else if self.specs.iter().any(|s| s.op != Operator::Arbitrary) || self.specs.is_empty() {
            return false;
        }
        self.specs.iter().all(|s| s.matches(candidate, parsed.as_ref()))
    }

    /// [`SpecifierSet::contains`] for an already-parsed version (`===` compares its normalized
    /// form, as `packaging` does for `Version` objects).
    pub fn contains_version(&self, candidate: &Pep440Version, prereleases: Option<bool>) -> bool {
        if candidate.is_prerelease() && prereleases == Some(false) {
            return false;
        }
        let normalized = candidate.normalized();
        self.specs.iter().all(|s| s.matches(&normalized, Some(candidate)))
    }
}

impl fmt::Display for SpecifierSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.specs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(spec: &str, version: &str, expect: bool) {
        let set = SpecifierSet::parse(spec).unwrap();
        assert_eq!(set.contains(version, None), expect, "{version} in {spec}");
    }

    #[test]
    fn exclusive_comparisons_exclude_the_family() {
        check("<2", "2.0rc1", false);
        check("<2", "1.9", true);
        check(">2", "2.0.post1", false);
        check(">2", "2.1.post1", true);
        check(">1.0.dev1", "1.0+local", true);
        check(">1.0.dev1", "1.0.dev1+local", false);
    }

    #[test]
    fn wildcards_and_compatible_release() {
        check("==2.*", "2rc1", true);
        check("==2.0.*", "2.1.0.0", false);
        check("~=1.0", "1.9999999", true);
        check("~=1.0", "2.0", false);
        check("!=2.0.*", "2.1", true);
    }

    #[test]
    fn rejects_malformed_specifiers() {
        for bad in ["2.0", "=>2.0", "==", "~=1", "<1.0+local", ">=1.0.*", "==1.0a1.*"] {
            assert!(Specifier::parse(bad).is_err(), "{bad}");
        }
    }
}
