//! The report for people: packages highest risk first, each with its findings and the command
//! that fixes them, then notices, suppressed findings, warnings, and one summary line.

use std::fmt::Write;

use ward_match::{Finding, Level, PackageFindings};

use crate::{place, Report};

/// ANSI styles, or nothing (`NO_COLOR`, not a terminal).
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn level(self, level: Level) -> String {
        let label = format!("{:<8}", level.name().to_ascii_uppercase());
        let code = match level {
            Level::Critical => "1;31",
            Level::High => "31",
            Level::Medium => "33",
            Level::Low => "36",
            Level::None => "2",
            Level::Unknown => "35",
        };
        self.paint(code, &label)
    }

    fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

fn score(f: &Finding) -> String {
    match f.severity.score {
        Some(s) => format!("{s:>4.1}"),
        None => "   -".to_string(),
    }
}

fn write_finding(out: &mut String, style: Style, f: &Finding) {
    let mut flags = String::new();
    if f.kev.is_some() {
        flags.push_str(&style.paint("1;31", " KEV"));
    }
    if let Some(e) = &f.epss {
        flags.push_str(&format!(" EPSS {:.1}%", e.score * 100.0));
    }
    let _ = writeln!(
        out,
        "  {} {}  {}{}  {}",
        style.level(f.severity.level),
        score(f),
        style.bold(&f.id),
        flags,
        f.summary.as_deref().unwrap_or("").trim()
    );
    let mut detail = Vec::new();
    if !f.aliases.is_empty() {
        detail.push(format!("aliases {}", f.aliases.join(", ")));
    }
    if f.fixed.is_empty() {
        detail.push("no fixed version".to_string());
    } else {
        detail.push(format!("fixed in {}", f.fixed.join(", ")));
    }
    if !f.fixes.is_empty() {
        detail.push(format!("fixes {}", f.fixes.join(", ")));
    }
    let _ = writeln!(out, "                 {}", style.dim(&detail.join(" · ")));
}

fn header(p: &PackageFindings) -> String {
    let pkg = &p.package;
    let mut at = place(&pkg.location.path, pkg.location.line);
    if !p.also_at.is_empty() {
        let more: Vec<String> = p.also_at.iter().map(u32::to_string).collect();
        at.push_str(&format!(",{}", more.join(",")));
    }
    let source = match &pkg.source {
        Some(s) if s.name != pkg.name || s.version != pkg.version => {
            format!(" (source {} {})", s.name, s.version)
        }
        _ => String::new(),
    };
    let dev = if pkg.dev { " [dev]" } else { "" };
    format!("{} {} {}{source}{dev}  {at}", pkg.ecosystem, pkg.name, pkg.version)
}

/// The table report.
pub fn render(report: &Report<'_>, style: Style) -> String {
    let scan = report.scan;
    let mut out = String::new();
    for p in scan.results.iter().filter(|p| !p.findings.is_empty()) {
        let _ = writeln!(out, "{}", style.bold(&header(p)));
        for f in &p.findings {
            write_finding(&mut out, style, f);
        }
        match (&p.upgrade, &p.fix_command) {
            (Some(to), Some(cmd)) => {
                let _ = writeln!(out, "  fix: upgrade to {to}: {}", style.bold(cmd));
            }
            (Some(to), None) => {
                let _ = writeln!(out, "  fix: upgrade to {to}");
            }
            (None, _) => {
                let _ = writeln!(
                    out,
                    "  fix: {}",
                    style.paint("33", "no single version fixes every finding yet")
                );
            }
        }
        out.push('\n');
    }
    let notices: Vec<_> = scan.notices().collect();
    if !notices.is_empty() {
        let _ = writeln!(out, "{}", style.bold("Notices (not vulnerabilities)"));
        for (p, f) in notices {
            let _ = writeln!(
                out,
                "  {:<13} {}  {} {}  {}  {}",
                f.kind.name(),
                style.bold(&f.id),
                p.package.name,
                p.package.version,
                style.dim(&place(&p.package.location.path, p.package.location.line)),
                f.summary.as_deref().unwrap_or("").trim()
            );
        }
        out.push('\n');
    }
    if !scan.suppressed.is_empty() {
        let _ = writeln!(out, "{}", style.bold("Suppressed"));
        for s in &scan.suppressed {
            let until = s.expires.as_deref().map(|d| format!(" until {d}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {}  {} {}  {}{until} ({})",
                s.id, s.package, s.version, s.reason, s.rule
            );
        }
        out.push('\n');
    }
    for w in &scan.warnings {
        let _ = writeln!(out, "{} {w}", style.paint("33", "warning:"));
    }
    for u in &scan.unchecked {
        let _ = writeln!(
            out,
            "{} {} {} ({}): {}",
            style.dim("not checked:"),
            u.package.name,
            u.package.version,
            place(&u.package.location.path, u.package.location.line),
            u.reason
        );
    }
    for e in report.input_errors {
        let _ = writeln!(out, "{} {e}", style.paint("31", "error:"));
    }
    for e in &scan.errors {
        let _ = writeln!(
            out,
            "{} {} {} {}{}: {}",
            style.paint("31", "error:"),
            e.ecosystem,
            e.package,
            e.version,
            e.advisory.as_deref().map(|a| format!(" ({a})")).unwrap_or_default(),
            e.message
        );
    }
    let verdict = if report.incomplete() {
        style.paint("31", "incomplete")
    } else if report.failed() {
        style.paint("1;31", &format!("fail (--fail-on {})", report.fail_on))
    } else {
        style.paint("32", &format!("pass (--fail-on {})", report.fail_on))
    };
    let _ = writeln!(out, "{}: {verdict}", report.summary());
    out
}
