//! Remediation: the smallest upgrade that fixes every advisory of a package, and the command
//! that performs it with the package's own tool.

use std::cmp::Ordering;

use ward_advisory::affects::affects;
use ward_advisory::model::Affected;
use ward_inventory::Package;
use ward_version::{EcosystemKind, Version};

/// The smallest of `candidates` above `installed` that no entry of `affected` includes.
///
/// Candidates are the advisories' own fixed versions, so the answer is a version someone
/// published as a fix; trying them in ascending order keeps the package on its branch when a
/// fix exists there (1.2.3 with fixes 1.2.5 and 2.0.1 → 1.2.5), and moves on only when a later
/// advisory still covers the branch fix. `None` when no candidate is clear of every entry.
pub fn smallest_upgrade(
    package: &Package,
    installed: &str,
    candidates: &[String],
    affected: &[&Affected],
) -> Option<String> {
    let parse = |v: &str| Version::parse_in(&package.ecosystem, v).ok();
    let current = parse(installed)?;
    let mut versions: Vec<(Version, &String)> = candidates
        .iter()
        .filter_map(|c| parse(c).map(|v| (v, c)))
        .filter(|(v, _)| v.compare(&current) == Ok(Ordering::Greater))
        .collect();
    versions.sort_by(|a, b| a.0.compare(&b.0).unwrap_or(Ordering::Equal));
    versions.dedup_by(|a, b| a.0.compare(&b.0) == Ok(Ordering::Equal));
    versions
        .into_iter()
        .find(|(_, text)| affected.iter().all(|a| affects(a, text) == Ok(false)))
        .map(|(_, text)| text.clone())
}

/// Sorts version texts in the package's ecosystem order (unparseable ones last, as written).
pub fn sort_versions(package: &Package, versions: &mut Vec<String>) {
    let key = |v: &String| Version::parse_in(&package.ecosystem, v).ok();
    versions.sort_by(|a, b| match (key(a), key(b)) {
        (Some(x), Some(y)) => x.compare(&y).unwrap_or(Ordering::Equal).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    });
    versions.dedup();
}

/// The shell command that upgrades `package` to `to` with the tool that owns its input.
pub fn command(package: &Package, to: &str) -> Option<String> {
    let name = &package.name;
    let file = package.location.path.rsplit('/').next().unwrap_or(&package.location.path);
    let quoted = |s: &str| {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || "@/._-:+=~^".contains(c)) {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let cmd = match package.ecosystem.kind() {
        EcosystemKind::CratesIo => {
            format!("cargo update -p {}@{} --precise {}", name, package.version, quoted(to))
        }
        EcosystemKind::Npm => match file {
            f if f.ends_with("yarn.lock") => format!("yarn up {}", quoted(&format!("{name}@{to}"))),
            f if f.ends_with("pnpm-lock.yaml") => {
                format!("pnpm update {}", quoted(&format!("{name}@{to}")))
            }
            f if f.starts_with("bun.lock") => {
                format!("bun update {}", quoted(&format!("{name}@{to}")))
            }
            _ => format!("npm install {}", quoted(&format!("{name}@{to}"))),
        },
        EcosystemKind::Packagist => format!("composer update {} --with-dependencies", quoted(name)),
        EcosystemKind::PyPi => match file {
            "poetry.lock" => format!("poetry add {}", quoted(&format!("{name}@^{to}"))),
            "uv.lock" => format!("uv lock --upgrade-package {}", quoted(&format!("{name}=={to}"))),
            "Pipfile.lock" => format!("pipenv update {name}"),
            "pdm.lock" => format!("pdm update {name}"),
            _ => format!("pip install --upgrade {}", quoted(&format!("{name}=={to}"))),
        },
        EcosystemKind::Go => {
            let v = if to.starts_with('v') { to.to_string() } else { format!("v{to}") };
            format!("go get {}", quoted(&format!("{name}@{v}")))
        }
        EcosystemKind::RubyGems => format!("bundle update --conservative {name}"),
        EcosystemKind::Maven => {
            format!(
                "mvn versions:use-dep-version -Dincludes={} -DdepVersion={}",
                quoted(name),
                quoted(to)
            )
        }
        EcosystemKind::NuGet => format!("dotnet add package {name} --version {}", quoted(to)),
        EcosystemKind::Pub => format!("dart pub upgrade {name}"),
        EcosystemKind::Hex => format!("mix deps.update {name}"),
        EcosystemKind::Debian | EcosystemKind::Ubuntu => {
            format!("apt-get install --only-upgrade {}", quoted(name))
        }
        kind if kind.scheme() == Some(ward_version::Scheme::Apk) => {
            format!("apk upgrade {}", quoted(name))
        }
        kind if kind.scheme() == Some(ward_version::Scheme::Rpm) => {
            format!("dnf upgrade {}", quoted(name))
        }
        _ => return None,
    };
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_inventory::Location;

    fn affected(json: serde_json::Value) -> Affected {
        serde_json::from_value(json).expect("affected entry")
    }

    fn crate_pkg(version: &str) -> Package {
        Package::new(
            EcosystemKind::CratesIo,
            "demo",
            version,
            Location { path: "Cargo.lock".into(), line: Some(3) },
        )
    }

    #[test]
    fn stays_on_the_branch_when_a_fix_exists_there() {
        let a = affected(serde_json::json!({
            "package": {"ecosystem": "crates.io", "name": "demo"},
            "ranges": [{"type": "SEMVER", "events": [
                {"introduced": "0"}, {"fixed": "1.2.5"}, {"introduced": "2.0.0"}, {"fixed": "2.0.1"}]}]
        }));
        let got = smallest_upgrade(
            &crate_pkg("1.2.3"),
            "1.2.3",
            &["2.0.1".into(), "1.2.5".into()],
            &[&a],
        );
        assert_eq!(got.as_deref(), Some("1.2.5"));
        let got = smallest_upgrade(
            &crate_pkg("2.0.0"),
            "2.0.0",
            &["2.0.1".into(), "1.2.5".into()],
            &[&a],
        );
        assert_eq!(got.as_deref(), Some("2.0.1"));
    }

    #[test]
    fn moves_on_when_another_advisory_still_covers_the_branch_fix() {
        let a = affected(serde_json::json!({
            "package": {"ecosystem": "crates.io", "name": "demo"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.2.5"}]}]
        }));
        let b = affected(serde_json::json!({
            "package": {"ecosystem": "crates.io", "name": "demo"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.3.0"}]}]
        }));
        let c = affected(serde_json::json!({
            "package": {"ecosystem": "crates.io", "name": "demo"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]
        }));
        let fixes: Vec<String> = vec!["1.2.5".into(), "1.3.0".into()];
        let got = smallest_upgrade(&crate_pkg("1.2.3"), "1.2.3", &fixes, &[&a, &b]);
        assert_eq!(got.as_deref(), Some("1.3.0"));
        // An advisory with no fix: no single version fixes everything.
        assert_eq!(smallest_upgrade(&crate_pkg("1.2.3"), "1.2.3", &fixes, &[&a, &c]), None);
    }

    #[test]
    fn commands_per_ecosystem() {
        assert_eq!(
            command(&crate_pkg("1.2.3"), "1.2.5").as_deref(),
            Some("cargo update -p demo@1.2.3 --precise 1.2.5")
        );
        let mut npm = crate_pkg("4.17.20");
        npm.ecosystem = ward_version::Ecosystem::new(EcosystemKind::Npm);
        npm.name = "lodash".into();
        npm.location.path = "web/package-lock.json".into();
        assert_eq!(command(&npm, "4.17.21").as_deref(), Some("npm install lodash@4.17.21"));
        let mut php = npm.clone();
        php.ecosystem = ward_version::Ecosystem::new(EcosystemKind::Packagist);
        php.name = "drupal/core".into();
        assert_eq!(
            command(&php, "10.2.2").as_deref(),
            Some("composer update drupal/core --with-dependencies")
        );
        let mut deb = npm.clone();
        deb.ecosystem = ward_version::Ecosystem::with_release(EcosystemKind::Debian, "12");
        deb.name = "libssl3".into();
        assert_eq!(
            command(&deb, "3.0.15-1~deb12u1").as_deref(),
            Some("apt-get install --only-upgrade libssl3")
        );
    }
}
