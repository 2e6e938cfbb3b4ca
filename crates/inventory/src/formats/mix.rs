//! Elixir's `mix.lock`: an Elixir map of `"name": {:hex, :name, "version", "checksum", ...}` or
//! `{:git, "url", "commit", opts}` tuples, one per line. Hex packages carry their outer
//! checksum as the commit field, as OSV tooling reports it.

use ward_version::EcosystemKind;

use crate::lines;
use crate::{Package, Parsed};

/// The quoted strings and atoms of one tuple line, in order.
fn elements(tuple: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = tuple.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut s = String::new();
                while let Some(x) = chars.next() {
                    match x {
                        '\\' => {
                            if let Some(y) = chars.next() {
                                s.push(y);
                            }
                        }
                        '"' => break,
                        _ => s.push(x),
                    }
                }
                out.push(s);
            }
            ':' if chars.peek().is_some_and(|x| x.is_ascii_alphabetic()) => {
                let mut s = String::from(":");
                while let Some(&x) = chars.peek() {
                    if x.is_ascii_alphanumeric() || x == '_' {
                        s.push(x);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(s);
            }
            '[' => break,
            _ => {}
        }
    }
    out
}

pub fn parse(path: &str, bytes: &[u8]) -> Parsed {
    let text = lines::text(bytes);
    let mut out = Parsed::default();
    for (index, raw) in text.lines().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let line = raw.trim();
        if line.is_empty() || line == "%{" || line == "}" || line.starts_with('#') {
            continue;
        }
        let Some((key, tuple)) = line.split_once(": {") else {
            out.error(path, Some(number), format!("expected \"name\": {{...}}, found {line:?}"));
            continue;
        };
        let name = key.trim().trim_matches('"');
        let e = elements(tuple);
        let package = match e.first().map(String::as_str) {
            Some(":hex") if e.len() >= 4 => {
                let mut p = Package::new(
                    EcosystemKind::Hex,
                    e[1].trim_start_matches(':'),
                    e[2].as_str(),
                    super::at(path, Some(number)),
                );
                p.commit = Some(e[3].clone());
                p
            }
            Some(":git") if e.len() >= 3 => {
                let mut p =
                    Package::new(EcosystemKind::Hex, name, "", super::at(path, Some(number)));
                p.commit = Some(e[2].clone());
                p
            }
            _ => {
                out.error(path, Some(number), format!("cannot read the lock entry of {name}"));
                continue;
            }
        };
        out.packages.push(package);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hex_and_git_entries() {
        let got = parse(
            "mix.lock",
            b"%{\n  \"plug\": {:hex, :plug, \"1.11.1\", \"f299\", [:mix], [{:mime, \"~> 1.0\", [hex: :mime, repo: \"hexpm\", optional: false]}], \"hexpm\", \"23\"},\n  \"foo\": {:git, \"https://x/foo.git\", \"fc94\", [branch: \"x\"]},\n  oops\n}\n",
        );
        let summary: Vec<_> = got
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.commit.as_deref()))
            .collect();
        assert_eq!(summary, [("plug", "1.11.1", Some("f299")), ("foo", "", Some("fc94"))]);
        assert_eq!(got.errors.len(), 1);
    }
}
