//! `go.mod`: the `require`d modules (direct, or `// indirect`), with `replace` directives
//! applied (a replaced module is reported under its replacement; a local replacement has no
//! version) and `exclude`d versions dropped, plus the Go toolchain itself as `stdlib`.
//! Versions are reported as OSV's Go ecosystem writes them, without the leading `v`.

use std::collections::BTreeSet;

use ward_version::EcosystemKind;

use crate::lines;
use crate::{Package, Parsed, Relation};

#[derive(Debug)]
struct Require {
    path: String,
    version: String,
    indirect: bool,
    line: u32,
}

#[derive(Debug)]
struct Replace {
    old: String,
    old_version: Option<String>,
    new: String,
    new_version: Option<String>,
}

/// Splits a directive's arguments, honouring Go's quoted strings.
fn tokens(text: &str) -> Vec<String> {
    let text = text.split("//").next().unwrap_or("");
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let token: String = chars.by_ref().take_while(|&x| x != c).collect();
            out.push(token);
        } else {
            let mut token = String::new();
            while let Some(&x) = chars.peek() {
                if x.is_whitespace() {
                    break;
                }
                token.push(x);
                chars.next();
            }
            out.push(token);
        }
    }
    out
}

fn strip_v(version: &str) -> String {
    version.strip_prefix('v').unwrap_or(version).to_string()
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    let mut requires = Vec::new();
    let mut replaces = Vec::new();
    let mut excludes = BTreeSet::new();
    let mut go_version = None;
    let mut toolchain = None;
    let mut saw_module = false;
    let mut block: Option<String> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let (verb, args) = match &block {
            Some(_) if line == ")" => {
                block = None;
                continue;
            }
            Some(verb) => (verb.clone(), line.to_string()),
            None => {
                let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
                let rest = rest.trim();
                if rest == "(" {
                    block = Some(verb.to_string());
                    continue;
                }
                (verb.to_string(), rest.to_string())
            }
        };
        let t = tokens(&args);
        let indirect = args.contains("// indirect");
        match verb.as_str() {
            "module" => saw_module = true,
            "go" => go_version = t.first().cloned(),
            "toolchain" => toolchain = t.first().map(|s| s.trim_start_matches("go").to_string()),
            "require" => match t.as_slice() {
                [p, v, ..] => requires.push(Require {
                    path: p.clone(),
                    version: v.clone(),
                    indirect,
                    line: number,
                }),
                _ => out.error(
                    path,
                    Some(number),
                    format!("require needs a module path and a version: {line:?}"),
                ),
            },
            "exclude" => match t.as_slice() {
                [p, v, ..] => {
                    excludes.insert((p.clone(), v.clone()));
                }
                _ => out.error(
                    path,
                    Some(number),
                    format!("exclude needs a module path and a version: {line:?}"),
                ),
            },
            "replace" => {
                let Some(arrow) = t.iter().position(|x| x == "=>") else {
                    out.error(path, Some(number), format!("replace without =>: {line:?}"));
                    continue;
                };
                let (left, right) = (&t[..arrow], &t[arrow + 1..]);
                match (left, right) {
                    ([old, rest @ ..], [new, rest2 @ ..])
                        if rest.len() <= 1 && rest2.len() <= 1 =>
                    {
                        replaces.push(Replace {
                            old: old.clone(),
                            old_version: rest.first().cloned(),
                            new: new.clone(),
                            new_version: rest2.first().cloned(),
                        })
                    }
                    _ => out.error(
                        path,
                        Some(number),
                        format!("cannot read replace directive: {line:?}"),
                    ),
                }
            }
            "retract" | "godebug" | "tool" | "ignore" => {}
            other => out.error(path, Some(number), format!("unknown go.mod directive {other:?}")),
        }
    }
    if !saw_module && requires.is_empty() && go_version.is_none() {
        if !text.trim().is_empty() {
            out.error(path, Some(1), "not a go.mod: no module, go or require directive");
        }
        return out;
    }
    let mut seen = BTreeSet::new();
    for r in requires {
        if excludes.contains(&(r.path.clone(), r.version.clone())) {
            continue;
        }
        let replacement = replaces
            .iter()
            .rev()
            .find(|x| x.old == r.path && x.old_version.as_ref().is_none_or(|v| *v == r.version));
        let (name, version) = match replacement {
            Some(x)
                if x.new.starts_with("./")
                    || x.new.starts_with("../")
                    || x.new.starts_with('/') =>
            {
                (x.new.clone(), String::new())
            }
            Some(x) => (x.new.clone(), strip_v(x.new_version.as_deref().unwrap_or(&r.version))),
            None => (r.path.clone(), strip_v(&r.version)),
        };
        if !seen.insert((name.clone(), version.clone())) {
            continue;
        }
        let mut p = Package::new(EcosystemKind::Go, name, version, super::at(path, Some(r.line)));
        p.relation = if r.indirect { Relation::Transitive } else { Relation::Direct };
        out.packages.push(p);
    }
    if let Some(v) = toolchain.or(go_version) {
        let line = text.lines().position(|l| {
            l.trim_start().starts_with("go ") || l.trim_start().starts_with("toolchain ")
        });
        let line = line.and_then(|l| u32::try_from(l + 1).ok());
        let mut p = Package::new(EcosystemKind::Go, "stdlib", v, super::at(path, line));
        p.relation = Relation::Direct;
        out.packages.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &[(&str, &str)], errors: usize) {
        let got = parse("go.mod", input.as_bytes());
        let packages: Vec<_> =
            got.packages.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(packages, expect);
        assert_eq!(got.errors.len(), errors, "{:?}", got.errors);
    }

    #[test]
    fn applies_replace_and_exclude() {
        check(
            "module m\n\ngo 1.21\n\nrequire (\n\tgolang.org/x/net v0.5.0 // indirect\n\tgithub.com/a/b v1.0.0\n\tgithub.com/c/d v1.2.0\n)\nreplace golang.org/x/net => example.com/fork/net v1.4.5\nreplace github.com/a/b => ./local\nexclude github.com/c/d v1.2.0\n",
            &[("example.com/fork/net", "1.4.5"), ("./local", ""), ("stdlib", "1.21")],
            0,
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        check("module m\nrequire x\nfrobnicate y\n", &[], 2);
        check("this is not go.mod", &[], 2);
    }
}
