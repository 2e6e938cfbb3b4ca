//! Health checks a patch run verifies with, given as `--check SPEC`:
//!
//! - a built-in check of ward-monitor, `KIND key=value ...`:
//!   `http url=http://127.0.0.1/health status=200 contains=ok`, `tcp host=127.0.0.1 port=5432`,
//!   `unit name=nginx`, `process name=php-fpm`, `disk path=/ critical=95`, ...;
//!   a bare URL (`https://example.org/health`) is `http url=URL`;
//! - `cmd PROGRAM ARGS...`: any program with Nagios plugin exit codes
//!   (`cmd /usr/lib/nagios/plugins/check_http -H localhost -s Welcome`).
//!
//! Words are split like a shell does (quotes, backslashes). A check passes only when OK.
//! Checks run from ward's own view of the machine (for a system in a folder: from outside it).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use ward_monitor::builtin::{Builtin, Params};
use ward_monitor::exec::Plugin;
use ward_monitor::State;

/// A parsed `--check`.
#[derive(Debug)]
pub struct CheckSpec {
    text: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Builtin(Box<Builtin>),
    Command(String, Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--check {spec:?}: {message}")]
pub struct CheckSpecError {
    pub spec: String,
    pub message: String,
}

/// What one check said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    pub check: String,
    /// OK, WARNING, CRITICAL, UNKNOWN.
    pub state: String,
    pub ok: bool,
    pub summary: String,
    /// Long output (plugin lines after the first; an HTTP check's body excerpt).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    pub duration_ms: u64,
}

impl CheckSpec {
    pub fn parse(text: &str) -> Result<CheckSpec, CheckSpecError> {
        let error = |message: String| CheckSpecError { spec: text.to_string(), message };
        let trimmed = text.trim();
        if trimmed.starts_with("http://") || trimmed.starts_with("https://") {
            let params = Params::from([("url".to_string(), trimmed.to_string())]);
            let check = Builtin::from_params("http", &params).map_err(|e| error(e.to_string()))?;
            return Ok(CheckSpec { text: text.to_string(), kind: Kind::Builtin(Box::new(check)) });
        }
        let words = shlex::split(trimmed).ok_or_else(|| error("unbalanced quotes".into()))?;
        let Some((kind, rest)) = words.split_first() else {
            return Err(error(
                "empty check: give `KIND key=value...`, `cmd PROGRAM ARGS...` or a URL".into(),
            ));
        };
        if kind == "cmd" {
            let Some((program, args)) = rest.split_first() else {
                return Err(error("`cmd` needs a program".into()));
            };
            return Ok(CheckSpec {
                text: text.to_string(),
                kind: Kind::Command(program.clone(), args.to_vec()),
            });
        }
        let mut params = Params::new();
        for word in rest {
            let Some((key, value)) = word.split_once('=') else {
                return Err(error(format!("{word:?}: expected key=value")));
            };
            params.insert(key.to_string(), value.to_string());
        }
        let check = Builtin::from_params(kind, &params).map_err(|e| error(e.to_string()))?;
        Ok(CheckSpec { text: text.to_string(), kind: Kind::Builtin(Box::new(check)) })
    }

    /// The spec as given, with any password in a URL (`https://user:secret@host/`) masked:
    /// this is what records and output show.
    pub fn text(&self) -> String {
        redact_userinfo(&self.text)
    }

    pub fn run(&self, timeout: Duration) -> CheckOutcome {
        let result = match &self.kind {
            Kind::Builtin(check) => check.run(timeout),
            Kind::Command(program, args) => {
                Plugin::new(program.clone(), args.clone()).timeout(timeout).run()
            }
        };
        CheckOutcome {
            check: self.text(),
            state: result.state.to_string(),
            ok: result.state == State::Ok,
            summary: result.summary,
            output: result.long_output,
            duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`, everywhere in `text`.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at)))
        {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_names_mistakes() {
        for ok in [
            "http url=http://127.0.0.1:1/ status=200 contains='all good'",
            "https://example.org/health",
            "tcp host=127.0.0.1 port=22",
            "cmd /usr/lib/nagios/plugins/check_dummy 0 'fine then'",
        ] {
            CheckSpec::parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, says) in [
            ("", "empty check"),
            ("cmd", "needs a program"),
            ("http url", "expected key=value"),
            ("http url='x", "unbalanced quotes"),
            ("nosuch x=1", "unknown built-in check"),
            ("http url=ftp://x", "must start with http"),
        ] {
            let e = CheckSpec::parse(bad).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn passwords_in_urls_are_never_shown() {
        for (given, shown) in [
            (
                "http url=https://admin:s3cret@shop.example/health status=200",
                "http url=https://admin:***@shop.example/health status=200",
            ),
            ("https://u:p@h:8443/x", "https://u:***@h:8443/x"),
            ("https://token@h/x", "https://token@h/x"),
            ("cmd check_http -H localhost", "cmd check_http -H localhost"),
        ] {
            assert_eq!(redact_userinfo(given), shown);
        }
        let spec = CheckSpec::parse("http url=http://a:b@127.0.0.1:1/").unwrap();
        assert_eq!(spec.text(), "http url=http://a:***@127.0.0.1:1/");
    }

    #[test]
    fn a_command_check_reports_its_state() {
        let spec = CheckSpec::parse("cmd sh -c 'echo broken; exit 2'").unwrap();
        let out = spec.run(Duration::from_secs(10));
        assert_eq!(
            (out.state.as_str(), out.ok, out.summary.as_str()),
            ("CRITICAL", false, "broken")
        );
        let spec = CheckSpec::parse("cmd sh -c 'echo fine'").unwrap();
        assert!(spec.run(Duration::from_secs(10)).ok);
    }
}
