//! Bundler's `Gemfile.lock`: the `specs:` of the `GEM`, `GIT` and `PATH` sections (four-space
//! `name (version[-platform])` lines); `GIT` gems carry the section's `revision`.

use ward_version::EcosystemKind;

use crate::lines;
use crate::{Package, Parsed};

/// Platform suffixes Bundler appends to versions of platform-specific gems.
fn strip_platform(version: &str) -> &str {
    match version.split_once('-') {
        Some((v, platform)) if platform.chars().any(|c| c.is_ascii_alphabetic()) => v,
        _ => version,
    }
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    let mut section = String::new();
    let mut revision: Option<String> = None;
    let mut in_specs = false;
    let mut section_start = 0;
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            section = line.trim().to_string();
            revision = None;
            in_specs = false;
            section_start = out.packages.len();
            continue;
        }
        if !matches!(section.as_str(), "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE") {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim();
        if indent == 2 {
            in_specs = content == "specs:";
            if let Some(r) = content.strip_prefix("revision: ") {
                revision = Some(r.trim().to_string());
                for p in &mut out.packages[section_start..] {
                    p.commit = revision.clone();
                }
            }
            continue;
        }
        if !in_specs || indent != 4 {
            continue;
        }
        let parsed =
            content.split_once(" (").and_then(|(name, rest)| Some((name, rest.strip_suffix(')')?)));
        let Some((name, version)) = parsed else {
            out.error(path, Some(number), format!("expected `name (version)`, found {content:?}"));
            continue;
        };
        let mut p = Package::new(
            EcosystemKind::RubyGems,
            name,
            strip_platform(version),
            super::at(path, Some(number)),
        );
        p.commit = revision.clone();
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gem_and_git_sections() {
        let got = parse(
            "Gemfile.lock",
            b"GIT\n  remote: https://x/y.git\n  revision: abc123\n  specs:\n    y (1.0)\n\nGEM\n  remote: https://rubygems.org/\n  specs:\n    nokogiri (1.13.3-x86_64-linux)\n      racc (~> 1.4)\n    broken\n\nPLATFORMS\n  ruby\n",
        );
        let summary: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.commit.as_deref()))
            .collect();
        assert_eq!(summary, [("y", "1.0", Some("abc123")), ("nokogiri", "1.13.3", None)]);
        assert_eq!(got.errors.len(), 1);
    }
}
