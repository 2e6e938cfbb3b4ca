//! Markdown for pull-request comments (GitHub's renderer): the verdict as a heading, the
//! summary line, a table of findings, errors in the open, and notices, suppressed findings and
//! warnings folded in a `<details>` block.
//!
//! Every cell is escaped: names, versions and commands go in code spans (`|` written `\|`, as
//! GFM tables require even there), prose has Markdown punctuation backslash-escaped and `@`
//! followed by a zero-width space so a summary never mentions a GitHub user or team.

use std::fmt::Write;

use ward_match::{Finding, PackageFindings};

use crate::{place, Report};

/// Prose for a table cell or a line: Markdown punctuation escaped, no line breaks, no
/// @-mentions.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@&#8203;"),
            '\n' | '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A code span that survives any content and a table cell; `—` for an empty text (an empty
/// code span cannot be written).
pub fn code(s: &str) -> String {
    if s.is_empty() {
        return "—".to_string();
    }
    let flat: String = s.chars().map(|c| if matches!(c, '\n' | '\r') { ' ' } else { c }).collect();
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') { " " } else { "" };
    format!("{fence}{pad}{}{pad}{fence}", flat.replace('|', "\\|"))
}

/// A link destination that cannot end the link or the table cell early.
fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn link(label: &str, target: Option<&str>) -> String {
    match target {
        Some(t) => format!("[{}]({})", text(label), url(t)),
        None => text(label),
    }
}

fn severity(report: &Report<'_>, f: &Finding) -> String {
    let mut cell = f.severity.level.name().to_string();
    if let Some(score) = f.severity.score {
        cell.push_str(&format!(" {score:.1}"));
    }
    if f.severity.level.for_gate() >= report.fail_on {
        format!("**{cell}**")
    } else {
        cell
    }
}

fn package(p: &PackageFindings) -> String {
    let pkg = &p.package;
    let mut at = place(&pkg.location.path, pkg.location.line);
    for line in &p.also_at {
        at.push_str(&format!(", {line}"));
    }
    format!(
        "{} ({})<br><sub>{}</sub>",
        code(&pkg.name),
        text(&pkg.ecosystem.to_string()),
        text(&at)
    )
}

fn advisory(f: &Finding) -> String {
    let page = f.url.clone().or_else(|| crate::advisory_source(&f.id).url);
    let mut cell = link(&f.id, page.as_deref());
    if f.kev.is_some() {
        cell.push_str(" **known exploited**");
    }
    if let Some(summary) = f.summary.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        cell.push_str("<br>");
        cell.push_str(&text(summary));
    }
    if !f.aliases.is_empty() {
        cell.push_str(&format!("<br><sub>{}</sub>", text(&f.aliases.join(", "))));
    }
    cell
}

fn fix(p: &PackageFindings) -> String {
    match (&p.upgrade, &p.fix_command) {
        (_, Some(command)) => code(command),
        (Some(to), None) => format!("upgrade to {}", code(to)),
        (None, _) => "no single version fixes every finding yet".to_string(),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "—".to_string()
    } else {
        items.iter().map(|v| code(v)).collect::<Vec<_>>().join(", ")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The Markdown report.
pub fn render(report: &Report<'_>) -> String {
    let scan = report.scan;
    let mut out = String::new();
    let threshold = format!("`--fail-on {}`", report.fail_on);
    let heading = if report.failed() {
        format!("❌ ward: fail at {threshold}")
    } else if report.incomplete() {
        format!("⚠️ ward: incomplete, nothing found at {threshold} in what was read")
    } else {
        format!("✅ ward: pass at {threshold}")
    };
    let _ = writeln!(out, "### {heading}\n\n{}\n", text(&report.summary()));

    let findings: Vec<_> = scan.findings().collect();
    if !findings.is_empty() {
        out.push_str("| Severity | Package | Version | Advisory | Fixed in | Fix |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for (p, f) in findings {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                severity(report, f),
                package(p),
                code(&p.package.version),
                advisory(f),
                list(&f.fixed),
                fix(p)
            );
        }
        out.push('\n');
    }

    if report.incomplete() {
        out.push_str("**The result is incomplete:**\n\n");
        for e in report.input_errors {
            let _ = writeln!(out, "- {}: {}", code(&place(&e.path, e.line)), text(&e.message));
        }
        for e in &scan.errors {
            let advisory =
                e.advisory.as_deref().map(|a| format!(" ({})", code(a))).unwrap_or_default();
            let _ = writeln!(
                out,
                "- {} {} {}{advisory}: {}",
                text(&e.ecosystem),
                code(&e.package),
                code(&e.version),
                text(&e.message)
            );
        }
        out.push('\n');
    }

    let notices: Vec<_> = scan.notices().collect();
    let mut folded = Vec::new();
    if !notices.is_empty() {
        folded.push(plural(notices.len(), "notice", "notices"));
    }
    if !scan.suppressed.is_empty() {
        folded.push(format!("{} suppressed", scan.suppressed.len()));
    }
    if !scan.warnings.is_empty() {
        folded.push(plural(scan.warnings.len(), "warning", "warnings"));
    }
    if !scan.unchecked.is_empty() {
        folded.push(format!("{} not checked", scan.unchecked.len()));
    }
    if !folded.is_empty() {
        let _ = writeln!(out, "<details>\n<summary>{}</summary>\n", folded.join(", "));
        if !notices.is_empty() {
            out.push_str("#### Notices (not vulnerabilities)\n\n");
            out.push_str("| Kind | Package | Version | Advisory |\n|---|---|---|---|\n");
            for (p, f) in notices {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    f.kind.name(),
                    package(p),
                    code(&p.package.version),
                    advisory(f)
                );
            }
            out.push('\n');
        }
        if !scan.suppressed.is_empty() {
            out.push_str("#### Suppressed\n\n");
            out.push_str(
                "| Advisory | Package | Version | Reason | Rule |\n|---|---|---|---|---|\n",
            );
            for s in &scan.suppressed {
                let until =
                    s.expires.as_deref().map(|d| format!(" (until {d})")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | {} ({})<br><sub>{}</sub> | {} | {}{} | {} |",
                    link(&s.id, crate::advisory_source(&s.id).url.as_deref()),
                    code(&s.package),
                    text(&s.ecosystem),
                    text(&s.path),
                    code(&s.version),
                    text(&s.reason),
                    text(&until),
                    code(&s.rule)
                );
            }
            out.push('\n');
        }
        if !scan.warnings.is_empty() || !scan.unchecked.is_empty() {
            out.push_str("#### Warnings\n\n");
            for w in &scan.warnings {
                let _ = writeln!(out, "- {}", text(w));
            }
            for u in &scan.unchecked {
                let pkg = &u.package;
                let _ = writeln!(
                    out,
                    "- not checked: {} {} ({}): {}",
                    code(&pkg.name),
                    code(&pkg.version),
                    text(&place(&pkg.location.path, pkg.location.line)),
                    text(&u.reason)
                );
            }
            out.push('\n');
        }
        out.push_str("</details>\n\n");
    }

    let mut footer = format!("ward {}", report.tool_version);
    if let Some(db) = &report.database {
        footer.push_str(&format!(" · {} advisory records", db.records));
        if let Some(built) = &db.built {
            footer.push_str(&format!(", built {built}"));
        }
    }
    if let Some(host) = &report.host {
        footer.push_str(&format!(" · host {host}"));
    }
    let _ = writeln!(out, "<sub>{}</sub>", text(&footer));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn snapshot() {
        let scan = fixture::scan();
        insta::assert_snapshot!(render(&fixture::report(&scan)));
    }

    #[test]
    fn cells_cannot_break_the_table_or_mention_anyone() {
        assert_eq!(text("a | b *c* <d> @team"), r"a \| b \*c\* \<d\> @&#8203;team");
        assert_eq!(text("two\nlines"), "two lines");
        assert_eq!(code("npm install 'a|b@1'"), r"`npm install 'a\|b@1'`");
        assert_eq!(code("x `y` z"), "``x `y` z``");
        assert_eq!(code("`y`"), "`` `y` ``");
        assert_eq!(code(""), "—");
        assert_eq!(link("X-1", Some("https://e.x/a (b)|c")), "[X-1](https://e.x/a%20%28b%29%7Cc)");
    }

    #[test]
    fn a_clean_scan_passes_without_a_table() {
        let scan = ward_match::Scan { checked: 12, ..Default::default() };
        let mut report = fixture::report(&scan);
        report.database = None;
        assert_eq!(
            render(&report),
            "### ✅ ward: pass at `--fail-on high`\n\nno vulnerabilities in 12 packages\n\n<sub>ward 0.1.0</sub>\n"
        );
    }
}
