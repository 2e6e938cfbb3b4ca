//! User-story tests: a declarative multi-step HTTP scenario (open the login page, extract the
//! CSRF token, post the form with cookies, expect "Welcome", log out), each step with
//! assertions and timing. The failing step and an excerpt of its response are reported.
//!
//! ```toml
//! name = "login"
//! base_url = "https://shop.example"
//!
//! [[step]]
//! name = "open login page"
//! url = "/login"
//! status = [200]
//! contains = ["Sign in"]
//! extract = { csrf = 'name="csrf" value="([^"]+)"' }
//!
//! [[step]]
//! name = "log in"
//! method = "POST"
//! url = "/login"
//! form = { user = "ana", password = "s3cret", csrf = "{{csrf}}" }
//! contains = ["Welcome"]
//! ```
//!
//! Values may use `{{name}}` for anything extracted by an earlier step. Each step follows up
//! to `max_redirects` redirects (default 5); cookies persist across steps.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use regex::Regex;
use serde::Deserialize;

use crate::builtin::http::{agent, fetch, Fetched};
use crate::builtin::secs;
use crate::perfdata::PerfDatum;
use crate::result::CheckResult;
use crate::state::State;
use crate::threshold::Thresholds;

/// Characters of the failing response shown in the result.
pub const EXCERPT_CHARS: usize = 400;

#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    #[error("{file}: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: step {step} ({name:?}): {message}")]
    Step { file: String, step: usize, name: String, message: String },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryFile {
    name: String,
    #[serde(default)]
    base_url: String,
    #[serde(default = "default_redirects")]
    max_redirects: u32,
    /// Ranges on the whole story's time in seconds.
    warning: Option<String>,
    critical: Option<String>,
    step: Vec<StepFile>,
}

fn default_redirects() -> u32 {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    #[serde(default = "default_method")]
    method: String,
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    form: BTreeMap<String, String>,
    body: Option<String>,
    #[serde(default)]
    status: Vec<u16>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    not_contains: Vec<String>,
    #[serde(default)]
    regex: Vec<String>,
    /// Seconds this step may take at most (a failure beyond).
    max_seconds: Option<f64>,
    #[serde(default)]
    extract: BTreeMap<String, String>,
}

fn default_method() -> String {
    "GET".to_string()
}

/// A validated story.
#[derive(Debug, Clone)]
pub struct Story {
    pub name: String,
    base_url: String,
    max_redirects: u32,
    time: Thresholds,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
struct Step {
    name: String,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    form: Vec<(String, String)>,
    body: Option<String>,
    status: Vec<u16>,
    contains: Vec<String>,
    not_contains: Vec<String>,
    regex: Vec<Regex>,
    max_seconds: Option<f64>,
    extract: Vec<(String, Regex)>,
}

impl Story {
    /// Parses and validates a story file's text, reporting every problem of a step at once.
    pub fn parse(file: &str, text: &str) -> Result<Story, StoryError> {
        let raw: StoryFile = toml::from_str(text)
            .map_err(|e| StoryError::Toml { file: file.to_string(), message: e.to_string() })?;
        if raw.step.is_empty() {
            return Err(StoryError::Invalid { file: file.into(), message: "no [[step]]".into() });
        }
        let time = Thresholds::parse(raw.warning.as_deref(), raw.critical.as_deref())
            .map_err(|e| StoryError::Invalid { file: file.into(), message: e.to_string() })?;
        let mut steps = Vec::new();
        for (i, s) in raw.step.into_iter().enumerate() {
            let err = |message: String| StoryError::Step {
                file: file.to_string(),
                step: i + 1,
                name: s.name.clone(),
                message,
            };
            let compile = |re: &str| Regex::new(re).map_err(|e| err(format!("regex {re:?}: {e}")));
            let regex = s.regex.iter().map(|r| compile(r)).collect::<Result<Vec<_>, _>>()?;
            let mut extract = Vec::new();
            for (var, re) in &s.extract {
                let compiled = compile(re)?;
                if compiled.captures_len() < 2 {
                    return Err(err(format!("extract {var:?}: the pattern needs a capture group")));
                }
                extract.push((var.clone(), compiled));
            }
            if !s.url.starts_with('/') && !s.url.starts_with("http") {
                return Err(err(format!("url {:?}: absolute (http...) or starting with /", s.url)));
            }
            if s.url.starts_with('/') && raw.base_url.is_empty() {
                return Err(err("a relative url needs base_url".into()));
            }
            steps.push(Step {
                name: s.name.clone(),
                method: s.method.to_ascii_uppercase(),
                url: s.url.clone(),
                headers: s.headers.clone().into_iter().collect(),
                form: s.form.clone().into_iter().collect(),
                body: s.body.clone(),
                status: s.status.clone(),
                contains: s.contains.clone(),
                not_contains: s.not_contains.clone(),
                regex,
                max_seconds: s.max_seconds,
                extract,
            });
        }
        Ok(Story {
            name: raw.name,
            base_url: raw.base_url.trim_end_matches('/').to_string(),
            max_redirects: raw.max_redirects,
            time,
            steps,
        })
    }

    /// Runs every step in order; stops at the first failing one. `timeout` bounds each step.
    pub fn run(&self, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let agent = agent(timeout, self.max_redirects);
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        let mut perfdata = Vec::new();
        let mut log = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let subst = |t: &str| substitute(t, &vars);
            let url = if step.url.starts_with('/') {
                format!("{}{}", self.base_url, subst(&step.url))
            } else {
                subst(&step.url)
            };
            let headers: Vec<_> = step.headers.iter().map(|(k, v)| (k.clone(), subst(v))).collect();
            let form: Vec<_> = step.form.iter().map(|(k, v)| (k.clone(), subst(v))).collect();
            let body = step.body.as_deref().map(subst);
            let fetched = fetch(&agent, &step.method, &url, &headers, &form, body.as_deref());
            let (f, failure) = match fetched {
                Err(e) => (None, Some(format!("{} {url}: {e}", step.method))),
                Ok(f) => {
                    let failure = step.check(&f);
                    (Some(f), failure)
                }
            };
            let elapsed = f.as_ref().map_or(Duration::ZERO, |f| f.elapsed);
            perfdata.push(step_perf(n, &step.name, elapsed));
            if let Some(reason) = failure {
                let mut r = CheckResult::new(
                    State::Critical,
                    format!(
                        "STORY CRITICAL - {}: step {n} {:?} failed: {reason}",
                        self.name, step.name
                    ),
                );
                log.push(format!("step {n} {:?}: FAILED in {:.3} s", step.name, secs(elapsed)));
                if let Some(f) = &f {
                    log.push(format!("{} {} (final url {})", f.status, f.reason, f.final_url));
                    log.push(format!("response excerpt:\n{}", excerpt(&f.body)));
                }
                r.long_output = log.join("\n");
                r.perfdata = perfdata;
                r.duration = started.elapsed();
                return r;
            }
            let Some(f) = f else { continue };
            for (var, re) in &step.extract {
                match re.captures(&f.body).and_then(|c| c.get(1)) {
                    Some(m) => {
                        vars.insert(var.clone(), m.as_str().to_string());
                    }
                    None => {
                        let mut r = CheckResult::new(
                            State::Critical,
                            format!(
                                "STORY CRITICAL - {}: step {n} {:?} failed: nothing to extract for {var:?} (pattern {:?})",
                                self.name, step.name, re.as_str()
                            ),
                        );
                        log.push(format!("response excerpt:\n{}", excerpt(&f.body)));
                        r.long_output = log.join("\n");
                        r.perfdata = perfdata;
                        return r;
                    }
                }
            }
            log.push(format!(
                "step {n} {:?}: {} {} in {:.3} s",
                step.name,
                f.status,
                f.reason,
                secs(elapsed)
            ));
        }
        let total = started.elapsed();
        let state = self.time.evaluate(secs(total));
        let mut r = CheckResult::new(
            state,
            format!(
                "STORY {state} - {}: {} steps passed in {:.3} s",
                self.name,
                self.steps.len(),
                secs(total)
            ),
        );
        let mut t = PerfDatum::new("time", secs(total), "s");
        t.warn = self.time.warning.as_ref().map(|w| w.to_string());
        t.crit = self.time.critical.as_ref().map(|c| c.to_string());
        t.min = Some(0.0);
        perfdata.insert(0, t);
        r.perfdata = perfdata;
        r.long_output = log.join("\n");
        r
    }
}

impl Step {
    /// The first failed assertion, if any.
    fn check(&self, f: &Fetched) -> Option<String> {
        let status_ok =
            if self.status.is_empty() { f.status < 400 } else { self.status.contains(&f.status) };
        if !status_ok {
            return Some(format!(
                "status {} {}, expected {}",
                f.status,
                f.reason,
                expected(&self.status)
            ));
        }
        if let Some(text) = self.contains.iter().find(|t| !f.body.contains(t.as_str())) {
            return Some(format!("expected {text:?} in the response"));
        }
        if let Some(text) = self.not_contains.iter().find(|t| f.body.contains(t.as_str())) {
            return Some(format!("{text:?} must not be in the response"));
        }
        if let Some(re) = self.regex.iter().find(|re| !re.is_match(&f.body)) {
            return Some(format!("pattern {:?} does not match the response", re.as_str()));
        }
        if let Some(max) = self.max_seconds {
            if f.elapsed.as_secs_f64() > max {
                return Some(format!("took {:.3} s, more than {max} s", secs(f.elapsed)));
            }
        }
        None
    }
}

fn expected(status: &[u16]) -> String {
    if status.is_empty() {
        "below 400".to_string()
    } else {
        status.iter().map(u16::to_string).collect::<Vec<_>>().join(" or ")
    }
}

fn step_perf(n: usize, name: &str, elapsed: Duration) -> PerfDatum {
    let mut p = PerfDatum::new(format!("step{n} {name}"), secs(elapsed), "s");
    p.min = Some(0.0);
    p
}

fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

fn excerpt(body: &str) -> String {
    let text: String = body.chars().take(EXCERPT_CHARS).collect();
    if body.chars().count() > EXCERPT_CHARS {
        format!("{text}...")
    } else {
        text
    }
}
