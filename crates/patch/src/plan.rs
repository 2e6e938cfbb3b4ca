//! What a patch run would change: the selection policy (security-only or all, allow and deny
//! patterns), the updates the package manager resolved for it, and what is held back and why.

use globset::{Glob, GlobMatcher};
use serde::Serialize;

/// Which pending updates a run takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only updates whose new version comes from a security suite (as unattended-upgrades
    /// decides); dependencies they need come along.
    pub security_only: bool,
    /// When not empty, only packages matching one of these globs.
    pub allow: Vec<Pattern>,
    /// Never these packages; an update that needs a denied package's update is held too.
    pub deny: Vec<Pattern>,
}

impl Selection {
    /// Whether the policy takes this pending update by itself (before dependencies).
    pub fn takes(&self, name: &str, security: bool) -> bool {
        (!self.security_only || security)
            && (self.allow.is_empty() || self.allow.iter().any(|p| p.matches(name)))
            && !self.denies(name)
    }

    pub fn denies(&self, name: &str) -> bool {
        self.deny.iter().any(|p| p.matches(name))
    }
}

/// A package-name glob (`linux-image-*`, `libssl3`); a `:arch` suffix on the package is
/// ignored when matching.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    glob: GlobMatcher,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PatternError {
                pattern: text.to_string(),
                message: "empty pattern".into(),
            });
        }
        let glob = Glob::new(text)
            .map_err(|e| PatternError { pattern: text.to_string(), message: e.kind().to_string() })?
            .compile_matcher();
        Ok(Pattern { text: text.to_string(), glob })
    }

    pub fn matches(&self, name: &str) -> bool {
        let bare = name.split_once(':').map_or(name, |(n, _)| n);
        self.glob.is_match(bare) || self.glob.is_match(name)
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("package pattern {pattern:?}: {message}")]
pub struct PatternError {
    pub pattern: String,
    pub message: String,
}

/// One package the plan changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Update {
    pub name: String,
    pub arch: String,
    /// The installed version; `None` when the plan newly installs the package (a dependency).
    pub from: Option<String>,
    pub to: String,
    /// The source package (for grouping binaries built together and reading their changelog).
    pub source: String,
    /// Where the new version comes from, as the package manager names it.
    pub origins: Vec<String>,
    pub security: bool,
    /// Selected by the policy itself (`false`: pulled in as a dependency).
    pub requested: bool,
    /// CVEs the new version fixes, from its changelog entries newer than the installed version.
    pub cves: Vec<String>,
}

/// A pending update the run does not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Held {
    pub name: String,
    pub from: Option<String>,
    /// The version it would go to (`None` when apt itself keeps it back).
    pub to: Option<String>,
    pub security: bool,
    pub reason: String,
    /// Held in a way that needs a person (a config-file prompt, a resolver conflict); ordinary
    /// policy choices (not security, denied) are not.
    pub attention: bool,
}

/// The resolved plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Plan {
    pub updates: Vec<Update>,
    pub held: Vec<Held>,
    /// Packages the package manager would remove to apply the selection: ward never removes,
    /// so a plan with removals is not applied.
    pub removals: Vec<String>,
    /// The config files of the packages the plan replaces.
    pub conffiles: Vec<crate::backend::ConfigFile>,
}

/// Another source of "which CVEs does this update fix" beside the changelogs: the advisory
/// index, when there is one (the binary implements it; tests use a table).
pub trait CveFacts: std::fmt::Debug {
    /// CVE ids that advisories say affect `from` and not `to` of source package `source`.
    fn fixed_between(&self, source: &str, from: &str, to: &str) -> Vec<String>;
}

impl Plan {
    /// Adds the CVEs `facts` knows for each update to those its changelog named (each once,
    /// the changelog's first).
    pub fn add_cves(&mut self, facts: &dyn CveFacts) {
        for update in &mut self.updates {
            let Some(from) = &update.from else { continue };
            for cve in facts.fixed_between(&update.source, from, &update.to) {
                if !update.cves.contains(&cve) {
                    update.cves.push(cve);
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.updates.is_empty()
    }

    pub fn update(&self, name: &str) -> Option<&Update> {
        self.updates.iter().find(|u| u.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn selection(security_only: bool, allow: &[&str], deny: &[&str]) -> Selection {
        let p = |v: &[&str]| v.iter().map(|t| Pattern::parse(t).unwrap()).collect();
        Selection { security_only, allow: p(allow), deny: p(deny) }
    }

    #[test]
    fn policy_takes() {
        let cases: &[(Selection, &str, bool, bool)] = &[
            (selection(false, &[], &[]), "bash", false, true),
            (selection(true, &[], &[]), "bash", false, false),
            (selection(true, &[], &[]), "libssl3", true, true),
            (selection(false, &["lib*"], &[]), "bash", true, false),
            (selection(false, &["lib*"], &[]), "libssl3", true, true),
            (selection(false, &[], &["libssl*"]), "libssl3", true, false),
            (selection(false, &[], &["libc6"]), "libc6:i386", true, false),
            (selection(false, &["lib*"], &["libc6"]), "libc6", true, false),
        ];
        for (sel, name, security, want) in cases {
            assert_eq!(sel.takes(name, *security), *want, "{name} {security} {sel:?}");
        }
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = Pattern::parse("lib[").unwrap_err();
        assert_eq!(e.pattern, "lib[");
        assert!(Pattern::parse("  ").is_err());
    }
}
