//! Gradle dependency lockfiles (`gradle.lockfile`, `buildscript-gradle.lockfile`): one
//! `group:artifact:version=configurations` line per locked module.

use ward_version::EcosystemKind;

use crate::lines;
use crate::{Package, Parsed};

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("empty=") {
            continue;
        }
        let coordinates = line.split('=').next().unwrap_or(line);
        let parts: Vec<&str> = coordinates.split(':').collect();
        match parts.as_slice() {
            [group, artifact, version]
                if !group.is_empty() && !artifact.is_empty() && !version.is_empty() =>
            {
                let name = format!("{group}:{artifact}");
                out.packages.push(Package::new(
                    EcosystemKind::Maven,
                    name,
                    *version,
                    super::at(path, Some(number)),
                ));
            }
            _ => out.error(
                path,
                Some(number),
                format!("expected group:artifact:version=configurations, found {line:?}"),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_locked_modules_and_reports_bad_lines() {
        let got =
            parse("gradle.lockfile", b"# comment\norg.a:b:1.0=compileClasspath\n>>>\nempty=\n");
        assert_eq!(got.packages.len(), 1);
        assert_eq!(got.packages[0].name, "org.a:b");
        assert_eq!(got.packages[0].location.line, Some(2));
        assert_eq!(got.errors.len(), 1);
        assert_eq!(got.errors[0].line, Some(3));
    }
}
