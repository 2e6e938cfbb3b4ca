//! Whether a version of a package lies in an `affected[]` entry, using the most exact form the
//! record carries: the native constraint a feed kept (Composer constraints for FriendsOfPHP, npm
//! ranges for the Node security WG), else the OSV ranges and `versions` list, all evaluated by
//! ward-version under the ecosystem's own ordering.

use ward_version::npm::{NpmOptions, NpmRange, NpmVersion};
use ward_version::packagist::{ComposerConstraint, PackagistVersion};
use ward_version::range::{is_affected, OsvRange, RangeError};
use ward_version::{Scheme, Version, VersionError};

use crate::model::Affected;

/// Why a version could not be checked against an `affected[]` entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AffectsError {
    #[error("the entry names no package")]
    NoPackage,
    #[error("ward has no version ordering for ecosystem {0:?}")]
    UnknownEcosystem(String),
    #[error(transparent)]
    Version(#[from] VersionError),
    #[error(transparent)]
    Range(#[from] RangeError),
}

/// Whether `version` (as the ecosystem writes it) is affected according to `affected`.
pub fn affects(affected: &Affected, version: &str) -> Result<bool, AffectsError> {
    let package = affected.package.as_ref().ok_or(AffectsError::NoPackage)?;
    let unknown = || AffectsError::UnknownEcosystem(package.ecosystem.as_str().to_string());
    let native = affected.database_specific.as_ref();
    let source = native.and_then(|d| d.get("source")).and_then(|s| s.as_str());
    match source {
        Some("friendsofphp") => {
            let v = PackagistVersion::parse(version)?;
            let constraints = native
                .and_then(|d| d.get("constraints"))
                .and_then(|c| c.as_array())
                .map(|c| c.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>())
                .unwrap_or_default();
            for text in constraints {
                if ComposerConstraint::parse(text)?.matches(&v) {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Some("nodejs-security-wg") => {
            // Pre-releases are ordered by SemVer precedence, not excluded: node-semver's
            // default exclusion answers "may npm pick this version for the range", while the
            // question here is "is this build vulnerable"; 4.17.21-beta.1 predates the fix.
            let options = NpmOptions { include_prerelease: true, ..NpmOptions::default() };
            let v = NpmVersion::parse(version, options)?;
            let range = |key: &str| -> Result<Option<NpmRange>, VersionError> {
                native
                    .and_then(|d| d.get(key))
                    .and_then(|r| r.as_str())
                    .map(|r| NpmRange::parse(r, options))
                    .transpose()
            };
            let vulnerable = range("vulnerable_versions")?.is_some_and(|r| r.satisfies(&v));
            let patched = range("patched_versions")?.is_some_and(|r| r.satisfies(&v));
            Ok(vulnerable && !patched)
        }
        _ => {
            // SEMVER ranges order by SemVer whatever the ecosystem, so they are evaluable even
            // for an ecosystem ward does not know.
            let v = match package.ecosystem.parsed() {
                Some(ecosystem) => Version::parse_in(ecosystem, version)?,
                None if !affected.ranges.is_empty()
                    && affected.versions.is_empty()
                    && affected.ranges.iter().all(|r| r.kind == "SEMVER") =>
                {
                    Version::parse(Scheme::Semver, version)?
                }
                None => return Err(unknown()),
            };
            let ranges: Vec<OsvRange> =
                affected.ranges.iter().filter_map(|r| r.to_osv_range()).collect();
            Ok(is_affected(&v, &ranges, &affected.versions)?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed;

    fn check(format: feed::Format, path: &str, input: &str, cases: &[(&str, bool)]) {
        let parsed = feed::parse(format, path, input.as_bytes());
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let affected = &parsed.records[0].affected[0];
        for (version, expect) in cases {
            assert_eq!(affects(affected, version), Ok(*expect), "{path} {version}");
        }
    }

    #[test]
    fn composer_constraints_are_exact() {
        let yaml = "title: t\nlink: l\nbranches:\n  7.x:\n    time: ~\n    versions: ['>7.0', '<7.60']\n  9.3.x:\n    time: ~\n    versions: ['>=8.0.0', '<9.3.19']\nreference: composer://drupal/core\n";
        check(
            feed::Format::PhpYaml,
            "drupal/core/x.yaml",
            yaml,
            &[
                ("7.0", false),
                ("7.59", true),
                ("7.60", false),
                ("9.3.18", true),
                ("9.3.19", false),
                ("10.0.0", false),
            ],
        );
    }

    #[test]
    fn npm_ranges_are_exact() {
        let json = r#"{"id":49,"title":"t","module_name":"m","vulnerable_versions":"<1.6.5 || < 2.1.7 > 2.0.0","patched_versions":">=1.6.5 <2.0.0 || >= 2.1.7"}"#;
        check(
            feed::Format::NpmJson,
            "49.json",
            json,
            &[
                ("1.6.4", true),
                ("1.6.5", false),
                ("2.0.0", false),
                ("2.0.1", true),
                ("2.1.7", false),
            ],
        );
    }

    #[test]
    fn osv_ranges_and_versions() {
        let json = r#"{"id":"X","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"django"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.2"},{"fixed":"3.2.14"}]}],"versions":["2.0rc1"]}]}"#;
        check(
            feed::Format::OsvJson,
            "x.json",
            json,
            &[("3.1", false), ("3.2.13", true), ("3.2.14", false), ("2.0rc1", true)],
        );
        let unknown = r#"{"id":"Y","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Nope","name":"n"},"versions":["1"]}]}"#;
        let parsed = feed::parse(feed::Format::OsvJson, "y.json", unknown.as_bytes());
        assert_eq!(
            affects(&parsed.records[0].affected[0], "1"),
            Err(AffectsError::UnknownEcosystem("Nope".into()))
        );
    }
}
