//! The `ward check serve` configuration file (TOML): checks (plugin command, built-in,
//! user story or passive), heartbeats and recurring downtimes. Deserialized as written, then
//! validated into [`Config`], reporting every problem at once, each naming its check.
//!
//! ```toml
//! [serve]
//! state_dir = "/var/lib/ward/checks"   # status.json, metrics.prom, the passive spool
//! concurrency = 8
//!
//! [[check]]
//! name = "load"
//! command = ["/usr/lib/nagios/plugins/check_load", "-w", "5,4,3", "-c", "10,8,6"]
//! interval = "1m"
//!
//! [[check]]
//! name = "shop"
//! builtin = "http"
//! params = { url = "https://shop.example/", contains = "Welcome", critical = "3" }
//! parents = ["load"]
//! flapping = true
//!
//! [[check]]
//! name = "login"
//! story = "login.toml"        # relative to this file
//!
//! [[check]]
//! name = "backup-report"
//! passive = true
//! freshness = "26h"
//!
//! [[heartbeat]]
//! name = "nightly-backup"
//! cron = "0 2 * * *"
//! timezone = "Europe/Berlin"
//! grace = "30m"
//!
//! [[downtime]]
//! check = "shop"
//! cron = "0 3 * * 0"
//! timezone = "Europe/Berlin"
//! duration = "1h"
//! comment = "weekly deploy window"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::builtin::{Builtin, Params};
use crate::engine::{CheckConfig, FlappingThresholds};
use crate::exec::{Plugin, DEFAULT_TIMEOUT};
use crate::heartbeat::{Heartbeat, Schedule};
use crate::story::Story;
use crate::time::{parse_duration, CronSchedule};

/// Where status and the spool live unless the file or the command line says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/ward/checks";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {file}: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: {} problem(s):\n  {}", problems.len(), problems.join("\n  "))]
    Invalid { file: String, problems: Vec<String> },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    serve: ServeFile,
    #[serde(default)]
    check: Vec<CheckFile>,
    #[serde(default)]
    heartbeat: Vec<HeartbeatFile>,
    #[serde(default)]
    downtime: Vec<DowntimeFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeFile {
    state_dir: Option<PathBuf>,
    concurrency: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    name: String,
    command: Option<Vec<String>>,
    builtin: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, toml::Value>,
    story: Option<PathBuf>,
    #[serde(default)]
    passive: bool,
    interval: Option<String>,
    retry_interval: Option<String>,
    max_attempts: Option<u32>,
    timeout: Option<String>,
    #[serde(default)]
    parents: Vec<String>,
    #[serde(default)]
    flapping: bool,
    flapping_low: Option<f64>,
    flapping_high: Option<f64>,
    freshness: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeartbeatFile {
    name: String,
    cron: Option<String>,
    timezone: Option<String>,
    period: Option<String>,
    grace: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DowntimeFile {
    check: String,
    cron: String,
    timezone: Option<String>,
    duration: String,
    #[serde(default)]
    comment: String,
}

/// How a check gets its results.
#[derive(Debug, Clone)]
pub enum Runner {
    Plugin(Plugin),
    Builtin(Builtin),
    Story(Story),
    /// Results arrive through `ward check submit`.
    Passive,
}

impl Runner {
    pub fn kind(&self) -> &'static str {
        match self {
            Runner::Plugin(_) => "plugin",
            Runner::Builtin(_) => "builtin",
            Runner::Story(_) => "story",
            Runner::Passive => "passive",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CheckDef {
    pub name: String,
    pub runner: Runner,
    pub config: CheckConfig,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct RecurringDef {
    pub check: String,
    pub schedule: CronSchedule,
    pub duration: Duration,
    pub comment: String,
}

/// A validated configuration. Checks are in dependency order (parents first).
#[derive(Debug, Clone)]
pub struct Config {
    pub state_dir: PathBuf,
    pub concurrency: usize,
    pub checks: Vec<CheckDef>,
    pub heartbeats: Vec<Heartbeat>,
    pub downtimes: Vec<RecurringDef>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { file: file.clone(), source })?;
        Config::parse(&file, &text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Parses `text` (from `file`); relative paths are resolved against `base`.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Config, ConfigError> {
        let raw: File = toml::from_str(text)
            .map_err(|e| ConfigError::Syntax { file: file.to_string(), message: e.to_string() })?;
        let mut problems = Vec::new();
        let mut names = BTreeSet::new();
        let mut checks = Vec::new();
        let duration =
            |problems: &mut Vec<String>, what: String, text: Option<&str>, default: Duration| {
                match text.map(parse_duration) {
                    None => default,
                    Some(Ok(d)) if !d.is_zero() => d,
                    Some(Ok(_)) => {
                        problems.push(format!("{what}: must be more than 0"));
                        default
                    }
                    Some(Err(e)) => {
                        problems.push(format!("{what}: {e}"));
                        default
                    }
                }
            };
        for c in &raw.check {
            let who = format!("check {:?}", c.name);
            if c.name.trim().is_empty() || c.name.chars().any(char::is_control) {
                problems.push(format!("{who}: the name must be non-empty printable text"));
            }
            if !names.insert(c.name.clone()) {
                problems.push(format!("{who}: defined twice"));
            }
            let defaults = CheckConfig::default();
            let interval = duration(
                &mut problems,
                format!("{who}: interval"),
                c.interval.as_deref(),
                defaults.interval,
            );
            let retry = duration(
                &mut problems,
                format!("{who}: retry_interval"),
                c.retry_interval.as_deref(),
                defaults.retry_interval,
            );
            let timeout = duration(
                &mut problems,
                format!("{who}: timeout"),
                c.timeout.as_deref(),
                DEFAULT_TIMEOUT,
            );
            let freshness = c
                .freshness
                .as_deref()
                .map(|f| duration(&mut problems, format!("{who}: freshness"), Some(f), interval));
            let sources = [c.command.is_some(), c.builtin.is_some(), c.story.is_some(), c.passive];
            match sources.iter().filter(|s| **s).count() {
                1 => {}
                0 => problems
                    .push(format!("{who}: give one of command, builtin, story or passive = true")),
                _ => problems
                    .push(format!("{who}: command, builtin, story and passive exclude each other")),
            };
            if !c.params.is_empty() && c.builtin.is_none() {
                problems.push(format!("{who}: params belong to a builtin check"));
            }
            if c.freshness.is_some() && !c.passive {
                problems.push(format!("{who}: freshness applies to passive checks"));
            }
            let runner = if let Some(cmd) = &c.command {
                match cmd.split_first() {
                    Some((program, args)) => {
                        let mut p = Plugin::new(program.clone(), args.to_vec());
                        p.timeout = timeout;
                        Some(Runner::Plugin(p))
                    }
                    None => {
                        problems.push(format!("{who}: command is empty"));
                        None
                    }
                }
            } else if let Some(kind) = &c.builtin {
                let mut params = Params::new();
                for (k, v) in &c.params {
                    let text = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Integer(i) => i.to_string(),
                        toml::Value::Float(f) => f.to_string(),
                        toml::Value::Boolean(b) => b.to_string(),
                        other => {
                            problems.push(format!(
                                "{who}: params.{k}: expected text or a number, not {}",
                                other.type_str()
                            ));
                            continue;
                        }
                    };
                    params.insert(k.clone(), text);
                }
                match Builtin::from_params(kind, &params) {
                    Ok(b) => Some(Runner::Builtin(b)),
                    Err(e) => {
                        problems.push(format!("{who}: {e}"));
                        None
                    }
                }
            } else if let Some(story) = &c.story {
                let path = base.join(story);
                match std::fs::read_to_string(&path) {
                    Ok(text) => match Story::parse(&path.display().to_string(), &text) {
                        Ok(s) => Some(Runner::Story(s)),
                        Err(e) => {
                            problems.push(format!("{who}: {e}"));
                            None
                        }
                    },
                    Err(e) => {
                        problems.push(format!("{who}: reading {}: {e}", path.display()));
                        None
                    }
                }
            } else if c.passive {
                Some(Runner::Passive)
            } else {
                None
            };
            let flapping = if c.flapping {
                let d = FlappingThresholds::default();
                let t = FlappingThresholds {
                    low: c.flapping_low.unwrap_or(d.low),
                    high: c.flapping_high.unwrap_or(d.high),
                };
                if !(0.0 <= t.low && t.low <= t.high && t.high <= 100.0) {
                    problems.push(format!(
                        "{who}: flapping thresholds need 0 <= flapping_low <= flapping_high <= 100"
                    ));
                }
                Some(t)
            } else {
                if c.flapping_low.is_some() || c.flapping_high.is_some() {
                    problems.push(format!("{who}: flapping_low/high need flapping = true"));
                }
                None
            };
            if c.max_attempts == Some(0) {
                problems.push(format!("{who}: max_attempts must be at least 1"));
            }
            let config = CheckConfig {
                max_attempts: c.max_attempts.unwrap_or(defaults.max_attempts).max(1),
                interval,
                retry_interval: retry,
                flapping,
                parents: c.parents.clone(),
                passive: c.passive,
                freshness,
            };
            if let Some(runner) = runner {
                checks.push(CheckDef { name: c.name.clone(), runner, config, timeout });
            }
        }
        let mut heartbeats = Vec::new();
        for h in &raw.heartbeat {
            let who = format!("heartbeat {:?}", h.name);
            if !names.insert(h.name.clone()) {
                problems.push(format!("{who}: the name is already used by a check or heartbeat"));
            }
            let grace = duration(
                &mut problems,
                format!("{who}: grace"),
                h.grace.as_deref(),
                Duration::from_secs(300),
            );
            let schedule = match (&h.cron, &h.period) {
                (Some(cron), None) => {
                    match CronSchedule::parse(cron, h.timezone.as_deref().unwrap_or("UTC")) {
                        Ok(s) => Some(Schedule::Cron(Box::new(s))),
                        Err(e) => {
                            problems.push(format!("{who}: {e}"));
                            None
                        }
                    }
                }
                (None, Some(period)) => {
                    if h.timezone.is_some() {
                        problems.push(format!("{who}: timezone applies to cron, not period"));
                    }
                    Some(Schedule::Every(duration(
                        &mut problems,
                        format!("{who}: period"),
                        Some(period),
                        Duration::from_secs(3600),
                    )))
                }
                _ => {
                    problems.push(format!("{who}: give exactly one of cron or period"));
                    None
                }
            };
            if let Some(schedule) = schedule {
                heartbeats.push(Heartbeat { name: h.name.clone(), schedule, grace });
            }
        }
        let mut downtimes = Vec::new();
        for d in &raw.downtime {
            let who = format!("downtime for {:?}", d.check);
            if !raw.check.iter().any(|c| c.name == d.check) {
                problems.push(format!("{who}: no such check"));
            }
            let length = duration(
                &mut problems,
                format!("{who}: duration"),
                Some(&d.duration),
                Duration::from_secs(3600),
            );
            match CronSchedule::parse(&d.cron, d.timezone.as_deref().unwrap_or("UTC")) {
                Ok(schedule) => downtimes.push(RecurringDef {
                    check: d.check.clone(),
                    schedule,
                    duration: length,
                    comment: d.comment.clone(),
                }),
                Err(e) => problems.push(format!("{who}: {e}")),
            }
        }
        // Parents must exist and form no cycle; order checks parents first.
        let defined: BTreeSet<&str> = raw.check.iter().map(|c| c.name.as_str()).collect();
        for c in &raw.check {
            for p in &c.parents {
                if !defined.contains(p.as_str()) {
                    problems.push(format!("check {:?}: parent {p:?} is not defined", c.name));
                } else if p == &c.name {
                    problems.push(format!("check {:?}: cannot be its own parent", c.name));
                }
            }
        }
        let ordered = order_by_parents(checks, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigError::Invalid { file: file.to_string(), problems });
        }
        let concurrency = raw.serve.concurrency.unwrap_or(8).max(1);
        let state_dir = match raw.serve.state_dir {
            Some(d) if d.is_relative() => base.join(d),
            Some(d) => d,
            None => PathBuf::from(DEFAULT_STATE_DIR),
        };
        Ok(Config { state_dir, concurrency, checks: ordered, heartbeats, downtimes })
    }
}

fn order_by_parents(mut pending: Vec<CheckDef>, problems: &mut Vec<String>) -> Vec<CheckDef> {
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::new();
    loop {
        let before = pending.len();
        let (ready, rest): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|c| c.config.parents.iter().all(|p| done.contains(p)));
        for c in ready {
            done.insert(c.name.clone());
            ordered.push(c);
        }
        pending = rest;
        if pending.is_empty() {
            return ordered;
        }
        if pending.len() == before {
            let names: Vec<_> = pending.iter().map(|c| c.name.clone()).collect();
            problems.push(format!("checks {names:?}: their parents form a cycle or are invalid"));
            return ordered;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Config, Runner};

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse("ward.toml", text, Path::new("/tmp")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_configuration() {
        let c = parse(
            r#"
            [serve]
            state_dir = "state"
            concurrency = 2
            [[check]]
            name = "web"
            builtin = "http"
            params = { url = "http://127.0.0.1/", critical = 3 }
            parents = ["load"]
            flapping = true
            [[check]]
            name = "load"
            command = ["/usr/lib/nagios/plugins/check_load", "-w", "5"]
            interval = "1m"
            timeout = "10s"
            [[check]]
            name = "report"
            passive = true
            freshness = "1h"
            [[heartbeat]]
            name = "backup"
            cron = "0 2 * * *"
            timezone = "Europe/Berlin"
            grace = "30m"
            [[downtime]]
            check = "web"
            cron = "0 3 * * 0"
            duration = "1h"
            "#,
        )
        .unwrap();
        assert_eq!(c.state_dir, Path::new("/tmp/state"));
        let names: Vec<_> = c.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["load", "report", "web"], "parents first");
        assert!(matches!(c.checks[0].runner, Runner::Plugin(ref p) if p.timeout.as_secs() == 10));
        assert_eq!(c.checks[0].config.interval.as_secs(), 60);
        assert!(c.checks[2].config.flapping.is_some());
        assert_eq!(c.heartbeats.len(), 1);
        assert_eq!(c.downtimes.len(), 1);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let e = parse(
            r#"
            [[check]]
            name = "a"
            builtin = "http"
            params = { colour = "red", url = "http://x" }
            [[check]]
            name = "a"
            command = []
            interval = "soon"
            [[check]]
            name = "b"
            parents = ["nope"]
            [[heartbeat]]
            name = "h"
            cron = "0 2 * * *"
            period = "1h"
            "#,
        )
        .unwrap_err();
        for fragment in [
            "check \"a\": http: unknown parameter \"colour\"",
            "check \"a\": defined twice",
            "check \"a\": interval: invalid duration \"soon\"",
            "check \"a\": command is empty",
            "check \"b\": give one of command, builtin, story or passive = true",
            "check \"b\": parent \"nope\" is not defined",
            "heartbeat \"h\": give exactly one of cron or period",
        ] {
            assert!(e.contains(fragment), "{fragment:?} missing in:\n{e}");
        }
        let e = parse("[[check]]\nname = 1\n").unwrap_err();
        assert!(e.starts_with("ward.toml: "), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn dependency_cycles_are_rejected() {
        let e = parse(
            "[[check]]\nname = \"a\"\npassive = true\nparents = [\"b\"]\n[[check]]\nname = \"b\"\npassive = true\nparents = [\"a\"]\n",
        )
        .unwrap_err();
        assert!(e.contains("form a cycle"), "{e}");
    }
}
