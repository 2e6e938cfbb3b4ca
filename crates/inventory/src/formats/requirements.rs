//! pip requirements files (`requirements*.txt`): pinned requirements (`name==1.0`, also with
//! extras, environment markers, hashes and per-requirement options), unpinned ones (reported
//! with an empty version and the requirement as written), and `-r`/`-c` includes (reported as
//! [`Include`]s; [`resolve`] follows them with a caller-supplied reader). Every package is in
//! the group named after the file it came from (`requirements-dev`).

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use ward_version::EcosystemKind;

use crate::lines;
use crate::purl::normalize_pypi;
use crate::{Include, IncludeKind, Location, Package, Parsed};

/// The file's group name: its file name without the extension.
fn group_of(path: &str) -> String {
    let name = Path::new(path).file_stem().and_then(|s| s.to_str()).unwrap_or(path);
    name.to_string()
}

/// Joins continuation lines (a trailing unescaped `\`), keeping the first line's number.
fn logical_lines(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    let mut current: Option<(u32, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (start, mut buffer) = current.take().unwrap_or((number, String::new()));
        let trailing = raw.len() - raw.trim_end_matches('\\').len();
        if trailing % 2 == 1 {
            buffer.push_str(&raw[..raw.len() - 1]);
            current = Some((start, buffer));
        } else {
            buffer.push_str(raw);
            out.push((start, buffer));
        }
    }
    if let Some(last) = current {
        out.push(last);
    }
    out
}

/// Removes a comment: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    match line.find(" #").or_else(|| line.find("\t#")) {
        Some(i) => &line[..i],
        None => line,
    }
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let group = group_of(path);
    let mut out = Parsed::default();
    for (number, logical) in logical_lines(&text) {
        let line = strip_comment(&logical).trim();
        if line.is_empty() {
            continue;
        }
        let location = Location { path: path.to_string(), line: Some(number) };
        if let Some(option) = line.strip_prefix('-') {
            let (flag, value) = option
                .split_once(|c: char| c == '=' || c.is_whitespace())
                .map_or((option, ""), |(f, v)| (f, v.trim()));
            let kind = match flag {
                "r" | "-requirement" => Some(IncludeKind::Requirements),
                "c" | "-constraint" => Some(IncludeKind::Constraints),
                _ => None,
            };
            if let Some(kind) = kind {
                if value.is_empty() {
                    out.error(path, Some(number), format!("-{flag} without a file name"));
                } else {
                    out.includes.push(Include { kind, target: value.to_string(), location });
                }
            }
            // Other global options (--index-url, -e, --hash on its own...) name no package.
            continue;
        }
        if line.contains("://") && !line.contains(" @ ") && !line.contains("@ ")
            || line.starts_with('.')
            || line.starts_with('/')
        {
            // A bare URL or path (a wheel, an sdist, a checkout): it names no package here.
            continue;
        }
        match requirement(line) {
            Some((name, version, spec)) => {
                let mut p =
                    Package::new(EcosystemKind::PyPi, normalize_pypi(&name), version, location);
                if !spec.is_empty() && p.version.is_empty() {
                    p.requirement = Some(spec);
                } else if p.version.is_empty() {
                    p.requirement = Some(String::new());
                }
                p.add_group(&group);
                out.packages.push(p);
            }
            None => out.error(path, Some(number), format!("not a requirement: {line:?}")),
        }
    }
    out
}

/// Reads one requirement line: the name, the pinned version (for `==`/`===` only) and the
/// specifier as written (without extras, markers and options).
fn requirement(line: &str) -> Option<(String, String, String)> {
    // Per-requirement options (`--hash=...`, `--global-option=...`) and environment markers.
    let line = line.split(" --").next().unwrap_or(line);
    let line = line.split(';').next().unwrap_or(line).trim();
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(line.len());
    let name = &line[..name_end];
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = line[name_end..].trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        rest = extras.split_once(']').map_or("", |(_, r)| r).trim_start();
    }
    let spec = rest.trim().to_string();
    if spec.starts_with('@') {
        return Some((name.to_string(), String::new(), spec));
    }
    if !spec.is_empty() && !spec.starts_with(['=', '<', '>', '!', '~', '(']) {
        return None;
    }
    let spec_inner = spec.trim_start_matches('(').trim_end_matches(')').trim();
    let version = if spec_inner.contains(',') {
        String::new()
    } else if let Some(v) = spec_inner.strip_prefix("===").or_else(|| spec_inner.strip_prefix("=="))
    {
        let v = v.trim();
        if v.contains('*') {
            String::new()
        } else {
            v.split_whitespace().next().unwrap_or("").to_string()
        }
    } else {
        String::new()
    };
    Some((name.to_string(), version, spec_inner.to_string()))
}

/// Lexically normalizes a path (`a/./b/../c` → `a/c`) without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Parses the requirements file at `root` and every file it includes with `-r` (constraint
/// files from `-c` are read for errors but install nothing), each once, following cycles no
/// further. `read` loads a file's bytes (the caller's IO). A package listed in several files
/// is reported once, in all their groups.
pub fn resolve(root: &str, mut read: impl FnMut(&str) -> Result<Vec<u8>, String>) -> Parsed {
    let mut out = Parsed::default();
    let mut seen = std::collections::BTreeSet::new();
    let mut queue = vec![(normalize(Path::new(root)), IncludeKind::Requirements, None::<Location>)];
    let mut merged: BTreeMap<(String, String, Option<String>), usize> = BTreeMap::new();
    while let Some((file, kind, from)) = queue.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let name = file.to_string_lossy().into_owned();
        let bytes = match read(&name) {
            Ok(b) => b,
            Err(e) => {
                match from {
                    Some(at) => out.error(
                        &at.path,
                        at.line,
                        format!("cannot read included file {name}: {e}"),
                    ),
                    None => out.error(&name, None, format!("cannot read: {e}")),
                }
                continue;
            }
        };
        let parsed = parse(&name, &bytes);
        out.errors.extend(parsed.errors);
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        for include in parsed.includes.iter().rev() {
            queue.push((
                normalize(&dir.join(&include.target)),
                include.kind,
                Some(include.location.clone()),
            ));
        }
        out.includes.extend(parsed.includes);
        if kind == IncludeKind::Constraints {
            continue;
        }
        for p in parsed.packages {
            let key = (p.name.clone(), p.version.clone(), p.requirement.clone());
            match merged.get(&key) {
                Some(&i) => {
                    for g in &p.groups {
                        out.packages[i].add_group(g);
                    }
                }
                None => {
                    merged.insert(key, out.packages.len());
                    out.packages.push(p);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str, Option<&str>)], errors: usize) {
        let got = parse("requirements.txt", input.as_bytes());
        let packages: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.requirement.as_deref()))
            .collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn reads_pins_and_unpinned_requirements() {
        check(
            "Django==2.2.24\nzope.interface[x] == 5.4.0 ; python_version > \"3\"\nflask\nkeyring >= 4.1.1  # min\nboto3==1.26.121 --hash=sha256:abc\nfoo==\\\n1.2.3\n-e .\n--index-url https://x\n!!!\n",
            &[
                ("django", "2.2.24", None),
                ("zope-interface", "5.4.0", None),
                ("flask", "", Some("")),
                ("keyring", "", Some(">= 4.1.1")),
                ("boto3", "1.26.121", None),
                ("foo", "1.2.3", None),
            ],
            1,
        );
    }

    #[test]
    fn follows_includes_once() {
        let files = |name: &str| -> Result<Vec<u8>, String> {
            match name {
                "a/req.txt" => Ok(b"-r ./dev.txt\nx==1\n".to_vec()),
                "a/dev.txt" => Ok(b"-r ../a/req.txt\nx==1\ny==2\n-r missing.txt\n".to_vec()),
                _ => Err("not found".into()),
            }
        };
        let got = resolve("a/req.txt", files);
        let packages: Vec<_> =
            got.packages.iter().map(|p| (p.name.as_str(), p.groups.join(","))).collect();
        assert_eq!(packages, [("x", "req,dev".to_string()), ("y", "dev".to_string())]);
        assert_eq!(got.errors.len(), 1);
    }
}
