//! Python lockfiles: Poetry's `poetry.lock`, PDM's `pdm.lock` and uv's `uv.lock` (all TOML
//! `[[package]]` arrays, read by one function with a table of their differences) and Pipenv's
//! `Pipfile.lock` (JSON, `default` and `develop` sections).

use serde_json::Value;
use ward_version::EcosystemKind;

use super::document::{self, tables, tstr};
use crate::lines::{self, Lines};
use crate::purl::normalize_pypi;
use crate::{Package, Parsed};

/// How one TOML lockfile marks what ward reports besides name and version.
#[derive(Clone, Copy, Debug)]
enum Flavour {
    /// `category = "dev"` (Poetry < 1.2), `optional = true`, `[package.source]` with
    /// `resolved_reference` for git.
    Poetry,
    /// `groups = ["default", "dev", ...]`, git `revision`.
    Pdm,
    /// `source = { git = "url?rev=...#commit" }`; `virtual`/`editable` sources are the project
    /// itself.
    Uv,
    /// PEP 751 `pylock.toml`: `[[packages]]`, `vcs = { commit-id = ... }`.
    Pylock,
}

fn parse_toml_lock(path: &str, bytes: &[u8], flavour: Flavour) -> Parsed {
    let text = lines::text(bytes);
    let doc = match document::toml(path, &text) {
        Ok(doc) => doc,
        Err(failed) => return failed,
    };
    let index = Lines::new(&text);
    let mut out = Parsed::default();
    let key = if matches!(flavour, Flavour::Pylock) { "packages" } else { "package" };
    let mut cursor = 0;
    for table in tables(&doc, key) {
        // pylock.toml: the project itself (`directory`) has no version; VCS packages may not.
        let (name, version) = match (tstr(table, "name"), tstr(table, "version")) {
            (Some(n), None) if matches!(flavour, Flavour::Pylock) => {
                if table.contains_key("directory")
                    || table.contains_key("archive") && !table.contains_key("vcs")
                {
                    continue;
                }
                (Some(n), table.contains_key("vcs").then_some(""))
            }
            other => other,
        };
        let (Some(name), Some(version)) = (name, version) else {
            let line = tstr(table, "name").and_then(|n| index.find(&format!("name = \"{n}\"")));
            out.error(path, line, "a [[package]] without name or version; skipped");
            continue;
        };
        // `[[package]]` tables are in file order: search on from the previous one.
        let needle = format!("name = \"{name}\"");
        let found = index.find_from(cursor, &needle).or_else(|| index.find_from(0, &needle));
        let line = found.map(|(at, line)| {
            cursor = at;
            index.find_from(at, &format!("version = \"{version}\"")).map_or(line, |f| f.1)
        });
        let mut p =
            Package::new(EcosystemKind::PyPi, normalize_pypi(name), version, super::at(path, line));
        let source = table.get("source").and_then(toml::Value::as_table);
        match flavour {
            Flavour::Poetry => {
                p.dev = tstr(table, "category") == Some("dev");
                p.optional = table.get("optional").and_then(toml::Value::as_bool) == Some(true);
                if let Some(s) = source {
                    if tstr(s, "type") == Some("git") {
                        p.commit = tstr(s, "resolved_reference").map(str::to_string);
                    }
                }
            }
            Flavour::Pdm => {
                let groups = table.get("groups").and_then(toml::Value::as_array);
                for g in groups.into_iter().flatten().filter_map(toml::Value::as_str) {
                    match g {
                        "default" => {}
                        "dev" => p.dev = true,
                        other => {
                            p.optional = true;
                            p.add_group(other);
                        }
                    }
                }
                if tstr(table, "git").is_some() {
                    p.commit = tstr(table, "revision").map(str::to_string);
                }
            }
            Flavour::Pylock => {
                if let Some(vcs) = table.get("vcs").and_then(toml::Value::as_table) {
                    p.commit = tstr(vcs, "commit-id").map(str::to_string);
                    if p.version.is_empty() {
                        p.requirement = tstr(vcs, "url").map(str::to_string);
                    }
                }
            }
            Flavour::Uv => {
                if let Some(s) = source {
                    if s.contains_key("virtual") || s.contains_key("editable") {
                        continue;
                    }
                    if let Some(git) = tstr(s, "git") {
                        p.commit = git.rsplit_once('#').map(|(_, c)| c.to_string());
                    }
                }
            }
        }
        out.packages.push(p);
    }
    out
}

pub fn parse_poetry(path: &str, bytes: &[u8]) -> Parsed {
    parse_toml_lock(path, bytes, Flavour::Poetry)
}

pub fn parse_pdm(path: &str, bytes: &[u8]) -> Parsed {
    parse_toml_lock(path, bytes, Flavour::Pdm)
}

pub fn parse_uv(path: &str, bytes: &[u8]) -> Parsed {
    parse_toml_lock(path, bytes, Flavour::Uv)
}

pub fn parse_pylock(path: &str, bytes: &[u8]) -> Parsed {
    parse_toml_lock(path, bytes, Flavour::Pylock)
}

/// `Pipfile.lock`: pinned (`==1.0`) packages of `default` and `develop` (dev). A package in both
/// sections with the same version is a runtime package. Git and path entries pin no version
/// and are left out.
pub fn parse_pipfile(path: &str, bytes: &[u8]) -> Parsed {
    document::with_json(path, bytes, |doc, index| {
        let mut out = Parsed::default();
        if !doc.is_object() {
            out.error(path, Some(1), "not a Pipfile.lock: the document is not a JSON object");
            return out;
        }
        for (section, dev) in [("default", false), ("develop", true)] {
            let Some(entries) = doc.get(section).and_then(Value::as_object) else { continue };
            let section_at = index.key_after(section, 0).map_or(0, |f| f.0);
            for (name, entry) in entries {
                let Some(version) = entry.get("version").and_then(Value::as_str) else { continue };
                let version = version.trim_start_matches("===").trim_start_matches("==").trim();
                let name = normalize_pypi(name);
                if let Some(existing) =
                    out.packages.iter_mut().find(|p| p.name == name && p.version == version)
                {
                    existing.dev &= dev;
                    continue;
                }
                let line = index.key_after(&name, section_at).map(|f| f.1);
                let mut p = Package::new(EcosystemKind::PyPi, name, version, super::at(path, line));
                p.dev = dev;
                out.packages.push(p);
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(parsed: Parsed, expect: &[(&str, &str, bool, bool)]) {
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.dev, p.optional))
            .collect();
        assert_eq!(got, expect);
    }

    #[test]
    fn reads_each_flavour() {
        check(parse_poetry("poetry.lock", b"[[package]]\nname = \"Proto_Plus\"\nversion = \"1.0\"\ncategory = \"dev\"\noptional = true\n"), &[("proto-plus", "1.0", true, true)]);
        check(parse_pdm("pdm.lock", b"[[package]]\nname = \"a\"\nversion = \"1\"\ngroups = [\"dev\"]\n[[package]]\nname = \"b\"\nversion = \"2\"\ngroups = [\"socks\"]\n"), &[("a", "1", true, false), ("b", "2", false, true)]);
        check(parse_uv("uv.lock", b"[[package]]\nname = \"me\"\nversion = \"0.1\"\nsource = { editable = \".\" }\n[[package]]\nname = \"x\"\nversion = \"3\"\nsource = { registry = \"https://pypi.org/simple\" }\n"), &[("x", "3", false, false)]);
        check(parse_pipfile("Pipfile.lock", br#"{"default": {"a": {"version": "==1"}}, "develop": {"a": {"version": "==1"}, "b": {"version": "==2"}, "c": {"git": "x"}}}"#), &[("a", "1", false, false), ("b", "2", true, false)]);
        check(
            parse_pylock(
                "pylock.toml",
                b"lock-version = \"1.0\"\n[[packages]]\nname = \"Click\"\nversion = \"8.1.3\"\n",
            ),
            &[("click", "8.1.3", false, false)],
        );
        assert_eq!(parse_poetry("p", b"[[package]\n").errors.len(), 1);
    }
}
