//! Drupal installed from tarballs (not through Composer): core's version from
//! `core/lib/Drupal.php` (`const VERSION = '10.1.6';`, Drupal 8 and later) or
//! `includes/bootstrap.inc` (`define('VERSION', '7.98');`, Drupal 7), and contributed projects
//! from the `version`/`project` lines drupal.org's packager adds to `*.info.yml` (Drupal 8+)
//! and `*.info` (Drupal 7) files. Everything is reported as the Packagist package advisories
//! name (`drupal/core`, `drupal/<project>`) with a Composer version (`8.x-1.13` → `1.13.0`).
//! Core's own modules (`project: drupal`) and custom modules (no `project`) are not packages
//! of their own and are skipped.

use ward_version::EcosystemKind;

use crate::lines;
use crate::{Package, Parsed};

/// Core's version constant, from either file.
pub fn parse_core(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    for (index, line) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = line.trim();
        let value = match line.strip_prefix("const VERSION") {
            Some(rest) => rest.trim_start().strip_prefix('='),
            None => line
                .strip_prefix("define('VERSION',")
                .or_else(|| line.strip_prefix("define(\"VERSION\",")),
        };
        let Some(value) = value else { continue };
        let version: String = value
            .trim()
            .trim_start_matches(['\'', '"'])
            .chars()
            .take_while(|c| !matches!(c, '\'' | '"'))
            .collect();
        if version.is_empty() {
            out.error(path, Some(number), "Drupal VERSION constant without a value");
        } else {
            out.packages.push(Package::new(
                EcosystemKind::Packagist,
                "drupal/core",
                version,
                super::at(path, Some(number)),
            ));
        }
        return out;
    }
    out.error(path, None, "no Drupal VERSION constant found");
    out
}

/// A module's, theme's or profile's info file (`.info.yml` or Drupal 7 `.info`).
pub fn parse_info(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    let mut version = None;
    let mut project = None;
    for (index, line) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        // `key: value` (YAML) or `key = value` (Drupal 7 INI); only top-level keys.
        if line.starts_with([' ', '\t', '#', ';']) {
            continue;
        }
        let Some((key, value)) =
            line.split_once(':').filter(|(k, _)| !k.contains('=')).or_else(|| line.split_once('='))
        else {
            continue;
        };
        let value = value.trim().trim_matches(['\'', '"']).trim().to_string();
        match key.trim() {
            "version" => version = Some((value, number)),
            "project" => project = Some(value),
            _ => {}
        }
    }
    let (Some(project), Some((version, line))) = (project, version) else { return out };
    if project == "drupal" || version.is_empty() || version.contains("VERSION") {
        return out;
    }
    match composer_version(&version) {
        Some(v) => out.packages.push(Package::new(
            EcosystemKind::Packagist,
            format!("drupal/{project}"),
            v,
            super::at(path, Some(line)),
        )),
        None => {
            out.error(path, Some(line), format!("cannot read the drupal.org version {version:?}"))
        }
    }
    out
}

/// drupal.org release names to Composer versions, as Drupal's Composer facade maps them:
/// `8.x-1.13` → `1.13.0`, `7.x-2.0-beta3` → `2.0.0-beta3`, `2.0.5` stays, `1.x-dev` stays.
pub fn composer_version(release: &str) -> Option<String> {
    let rest = match release.split_once(".x-") {
        Some((core, rest))
            if core.chars().all(|c| c.is_ascii_digit())
                && rest.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            rest
        }
        _ => release,
    };
    if rest.ends_with("-dev") {
        return Some(rest.to_string());
    }
    let (numbers, suffix) = match rest.split_once('-') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts.iter().any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let mut version = parts.join(".");
    for _ in parts.len()..3 {
        version.push_str(".0");
    }
    if let Some(s) = suffix {
        version.push('-');
        version.push_str(s);
    }
    Some(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_drupal_org_releases_to_composer_versions() {
        for (release, want) in [
            ("8.x-1.13", Some("1.13.0")),
            ("7.x-2.0-beta3", Some("2.0.0-beta3")),
            ("2.0.5", Some("2.0.5")),
            ("1.x-dev", Some("1.x-dev")),
            ("8.x-1.x-dev", Some("1.x-dev")),
            ("banana", None),
        ] {
            assert_eq!(composer_version(release).as_deref(), want, "{release}");
        }
    }

    #[test]
    fn reads_core_and_contrib_versions() {
        let core = parse_core(
            "core/lib/Drupal.php",
            b"<?php\nclass Drupal {\n  const VERSION = '10.1.6';\n}\n",
        );
        assert_eq!(
            (
                core.packages[0].name.as_str(),
                core.packages[0].version.as_str(),
                core.packages[0].location.line
            ),
            ("drupal/core", "10.1.6", Some(3))
        );
        let d7 = parse_core("includes/bootstrap.inc", b"<?php\ndefine('VERSION', '7.98');\n");
        assert_eq!(d7.packages[0].version, "7.98");
        assert_eq!(parse_core("x.php", b"<?php\n").errors.len(), 1);
        let token = parse_info("token.info.yml", b"name: Token\ntype: module\ncore_version_requirement: ^9 || ^10\n\n# Information added by Drupal.org packaging script on 2023-09-01\nversion: '8.x-1.13'\nproject: 'token'\n");
        assert_eq!(
            (
                token.packages[0].name.as_str(),
                token.packages[0].version.as_str(),
                token.packages[0].location.line
            ),
            ("drupal/token", "1.13.0", Some(6))
        );
        let views7 = parse_info("views.info", b"name = Views\ncore = 7.x\n\n; Information added by Drupal.org packaging script\nversion = \"7.x-3.29\"\nproject = \"views\"\n");
        assert_eq!(views7.packages[0].version, "3.29.0");
        assert!(parse_info("node.info.yml", b"name: Node\nversion: VERSION\npackage: Core\n")
            .packages
            .is_empty());
        assert!(parse_info("node.info.yml", b"version: '10.1.6'\nproject: 'drupal'\n")
            .packages
            .is_empty());
        assert!(parse_info("custom.info.yml", b"name: Mine\ntype: module\n").packages.is_empty());
    }
}
