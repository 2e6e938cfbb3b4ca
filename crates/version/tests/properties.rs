//! Properties every ordering must have, on generated versions of each scheme: reflexivity,
//! antisymmetry, transitivity, and a display → parse round trip. Plus: no parser panics on
//! arbitrary input (the fuzz targets in `fuzz/` explore the same entry points for longer).
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::cmp::Ordering;

use proptest::prelude::*;
use ward_version::npm::{NpmOptions, NpmRange};
use ward_version::packagist::ComposerConstraint;
use ward_version::pep440::specifier::SpecifierSet;
use ward_version::pep440::Pep440Version;
use ward_version::range::GenericConstraint;
use ward_version::{Scheme, Version};

/// A generator of plausible (mostly valid) version strings per scheme.
fn versions(scheme: Scheme) -> BoxedStrategy<String> {
    let pattern = match scheme {
        Scheme::Dpkg => r"([0-9]{1,2}:)?[0-9]{1,3}(\.[0-9a-z~+]{1,3}){0,3}(-[0-9a-z.~+]{1,4})?",
        Scheme::Rpm => r"([0-9]{1,2}:)?[0-9]{1,3}(\.[0-9a-z~^]{1,3}){0,3}(-[0-9a-z.~^]{1,4})?",
        Scheme::Apk => {
            r"[0-9]{1,3}(\.[1-9][0-9]{0,2}){0,3}[a-z]?(_(alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]{0,2}){0,2}(-r[0-9]{1,2})?"
        }
        Scheme::Pypi => {
            r"([0-9]!)?[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc|alpha|c)[0-9]{0,2})?(\.post[0-9]{1,2}|-[0-9])?(\.dev[0-9]{0,2})?(\+[a-z0-9]{1,3}(\.[a-z0-9]{1,3}){0,2})?"
        }
        Scheme::Semver | Scheme::NuGet | Scheme::Pub => {
            r"v?[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(-[0-9A-Za-z]{1,4}(\.[0-9a-z]{1,3}){0,2})?(\+[0-9a-z]{1,4})?"
        }
        Scheme::Maven => {
            r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}([-.]?(alpha|beta|rc|cr|m|snapshot|sp|ga|final|release|a|b|x)[0-9]{0,2})?(-[0-9]{1,2})?"
        }
        Scheme::RubyGems => r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(\.(pre|rc|beta|a)[0-9]{0,2})?",
        Scheme::Packagist => {
            r"v?[0-9]{1,3}(\.[0-9]{1,3}){0,3}(-(dev|alpha|beta|RC|rc|pl|p)[0-9]{0,2})?"
        }
        Scheme::Cran => r"[0-9]{1,3}([.-][0-9]{1,3}){1,3}",
        Scheme::Hackage => r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}",
    };
    proptest::string::string_regex(pattern).expect("valid generator pattern").boxed()
}

const SCHEMES: [Scheme; 12] = [
    Scheme::Dpkg,
    Scheme::Rpm,
    Scheme::Apk,
    Scheme::Pypi,
    Scheme::Semver,
    Scheme::NuGet,
    Scheme::Pub,
    Scheme::Maven,
    Scheme::RubyGems,
    Scheme::Packagist,
    Scheme::Cran,
    Scheme::Hackage,
];

fn parse(scheme: Scheme, text: &str) -> Version {
    Version::parse(scheme, text).unwrap_or_else(|e| panic!("{scheme:?} {text:?}: {e}"))
}

fn check_order(scheme: Scheme, a: &str, b: &str, c: &str) {
    let (x, y, z) = (parse(scheme, a), parse(scheme, b), parse(scheme, c));
    let cmp = |p: &Version, q: &Version| p.compare(q).unwrap();
    assert_eq!(cmp(&x, &x), Ordering::Equal, "{scheme:?}: {a} not equal to itself");
    assert_eq!(cmp(&x, &y), cmp(&y, &x).reverse(), "{scheme:?}: {a} vs {b} not antisymmetric");
    if cmp(&x, &y) != Ordering::Greater && cmp(&y, &z) != Ordering::Greater {
        assert_ne!(cmp(&x, &z), Ordering::Greater, "{scheme:?}: {a} <= {b} <= {c} but {a} > {c}");
    }
    if cmp(&x, &y) == Ordering::Equal && cmp(&y, &z) == Ordering::Equal {
        assert_eq!(cmp(&x, &z), Ordering::Equal, "{scheme:?}: {a} = {b} = {c} but {a} != {c}");
    }
    let again = parse(scheme, &x.to_string());
    assert_eq!(again.to_string(), x.to_string(), "{scheme:?}: display round trip of {a}");
    assert_eq!(cmp(&again, &x), Ordering::Equal, "{scheme:?}: reparsed {a} differs");
}

fn triples(scheme: Scheme) -> impl Strategy<Value = (String, String, String)> {
    (versions(scheme), versions(scheme), versions(scheme))
}

macro_rules! order_properties {
    ($($name:ident => $scheme:expr),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
            $(
                #[test]
                fn $name((a, b, c) in triples($scheme)) {
                    check_order($scheme, &a, &b, &c);
                }
            )*
        }
    };
}

order_properties! {
    dpkg_is_a_total_order => Scheme::Dpkg,
    rpm_is_a_total_order => Scheme::Rpm,
    apk_is_a_total_order_on_its_grammar => Scheme::Apk,
    pypi_is_a_total_order => Scheme::Pypi,
    semver_is_a_total_order => Scheme::Semver,
    nuget_is_a_total_order => Scheme::NuGet,
    pub_is_a_total_order => Scheme::Pub,
    maven_is_a_total_order => Scheme::Maven,
    rubygems_is_a_total_order => Scheme::RubyGems,
    packagist_is_a_total_order => Scheme::Packagist,
    cran_is_a_total_order => Scheme::Cran,
    hackage_is_a_total_order => Scheme::Hackage,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// The normalized form of a PEP 440 version parses back to an equal version and is stable.
    #[test]
    fn pep440_normalization_round_trips(text in versions(Scheme::Pypi)) {
        let v = Pep440Version::parse(&text).unwrap();
        let n = v.normalized();
        let again = Pep440Version::parse(&n).unwrap();
        prop_assert_eq!(&again, &v);
        prop_assert_eq!(again.normalized(), n);
    }

    /// No parser panics on arbitrary text; errors are values.
    #[test]
    fn parsers_never_panic(text in "\\PC{0,40}") {
        for scheme in SCHEMES {
            let _ = Version::parse(scheme, &text);
            let _ = GenericConstraint::parse(scheme, &text);
        }
        for loose in [false, true] {
            let options = NpmOptions { loose, include_prerelease: !loose };
            if let Ok(r) = NpmRange::parse(&text, options) {
                let _ = r.satisfies_str("1.2.3");
            }
        }
        if let Ok(c) = ComposerConstraint::parse(&text) {
            let _ = c.matches(&ward_version::packagist::PackagistVersion::parse("1.2.3").unwrap());
        }
        if let Ok(s) = SpecifierSet::parse(&text) {
            let _ = s.contains("1.2.3", None);
        }
    }

    /// Structured noise around real syntax reaches deeper into the range parsers.
    #[test]
    fn range_parsers_never_panic(text in "([<>=~^!|*x, .-]|[0-9]{1,3}|[a-z]{1,3}){0,12}") {
        for loose in [false, true] {
            let _ = NpmRange::parse(&text, NpmOptions { loose, include_prerelease: false });
        }
        let _ = ComposerConstraint::parse(&text);
        let _ = SpecifierSet::parse(&text);
        for scheme in SCHEMES {
            let _ = Version::parse(scheme, &text);
        }
    }
}
