//! Built-in checks: run inside ward, no process spawned (except `unit`, which asks
//! `systemctl`), with the same result shape and threshold ranges as Monitoring Plugins
//! (`warning`/`critical` are range strings).
//!
//! Every check is built from string parameters (`url`, `warning`, ...) by
//! [`Builtin::from_params`], the one mechanism the CLI flags and the config file both use;
//! unknown parameters are errors naming the check and the parameter.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::result::CheckResult;
use crate::state::State;
use crate::threshold::{RangeError, Thresholds};

pub mod files;
pub mod http;
pub mod net;
pub mod system;
pub mod tls;
pub mod unit;

/// Parameters of a built-in check, by name.
pub type Params = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuiltinError {
    #[error(
        "unknown built-in check {0:?} (known: http, tcp, dns, process, disk, load, file_age, unit)"
    )]
    UnknownKind(String),
    #[error("{kind}: unknown parameter {param:?} (known: {known})")]
    UnknownParam { kind: &'static str, param: String, known: String },
    #[error("{kind}: missing parameter {param:?}")]
    Missing { kind: &'static str, param: &'static str },
    #[error("{kind}: parameter {param:?}: {reason}")]
    Invalid { kind: &'static str, param: &'static str, reason: String },
    #[error("{kind}: {source}")]
    Range { kind: &'static str, source: RangeError },
}

/// A configured built-in check.
#[derive(Debug, Clone)]
pub enum Builtin {
    Http(Box<http::HttpCheck>),
    Tcp(net::TcpCheck),
    Dns(net::DnsCheck),
    Process(system::ProcessCheck),
    Disk(system::DiskCheck),
    Load(system::LoadCheck),
    FileAge(files::FileAgeCheck),
    Unit(unit::UnitCheck),
}

impl Builtin {
    pub const KINDS: [&'static str; 8] =
        ["http", "tcp", "dns", "process", "disk", "load", "file_age", "unit"];

    pub fn from_params(kind: &str, params: &Params) -> Result<Builtin, BuiltinError> {
        match kind {
            "http" => http::HttpCheck::from_params(params).map(|c| Builtin::Http(Box::new(c))),
            "tcp" => net::TcpCheck::from_params(params).map(Builtin::Tcp),
            "dns" => net::DnsCheck::from_params(params).map(Builtin::Dns),
            "process" => system::ProcessCheck::from_params(params).map(Builtin::Process),
            "disk" => system::DiskCheck::from_params(params).map(Builtin::Disk),
            "load" => system::LoadCheck::from_params(params).map(Builtin::Load),
            "file_age" => files::FileAgeCheck::from_params(params).map(Builtin::FileAge),
            "unit" => unit::UnitCheck::from_params(params).map(Builtin::Unit),
            other => Err(BuiltinError::UnknownKind(other.to_string())),
        }
    }

    /// Runs the check once, giving up after `timeout` (UNKNOWN "timeout after N s" or the
    /// check's own CRITICAL for network timeouts).
    pub fn run(&self, timeout: Duration) -> CheckResult {
        let started = Instant::now();
        let mut result = match self {
            Builtin::Http(c) => c.run(timeout),
            Builtin::Tcp(c) => c.run(timeout),
            Builtin::Dns(c) => c.run(timeout),
            Builtin::Process(c) => c.run(),
            Builtin::Disk(c) => c.run(),
            Builtin::Load(c) => c.run(),
            Builtin::FileAge(c) => c.run(),
            Builtin::Unit(c) => c.run(timeout),
        };
        result.duration = started.elapsed();
        result
    }
}

/// Reads parameters, remembering which were known, so leftovers can be reported.
pub(crate) struct Reader<'a> {
    kind: &'static str,
    params: &'a Params,
    known: &'static [&'static str],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(
        kind: &'static str,
        params: &'a Params,
        known: &'static [&'static str],
    ) -> Result<Reader<'a>, BuiltinError> {
        if let Some(param) = params.keys().find(|k| !known.contains(&k.as_str())) {
            return Err(BuiltinError::UnknownParam {
                kind,
                param: param.clone(),
                known: known.join(", "),
            });
        }
        Ok(Reader { kind, params, known })
    }

    pub(crate) fn opt(&self, name: &'static str) -> Option<&'a str> {
        debug_assert!(self.known.contains(&name));
        self.params.get(name).map(String::as_str)
    }

    pub(crate) fn req(&self, name: &'static str) -> Result<&'a str, BuiltinError> {
        self.opt(name).ok_or(BuiltinError::Missing { kind: self.kind, param: name })
    }

    pub(crate) fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
    ) -> Result<Option<T>, BuiltinError>
    where
        T::Err: std::fmt::Display,
    {
        self.opt(name)
            .map(|t| {
                t.trim().parse::<T>().map_err(|e| BuiltinError::Invalid {
                    kind: self.kind,
                    param: name,
                    reason: format!("{t:?}: {e}"),
                })
            })
            .transpose()
    }

    pub(crate) fn invalid(&self, param: &'static str, reason: String) -> BuiltinError {
        BuiltinError::Invalid { kind: self.kind, param, reason }
    }

    /// `warning` and `critical` as threshold ranges, with defaults.
    pub(crate) fn thresholds(
        &self,
        warning: Option<&str>,
        critical: Option<&str>,
    ) -> Result<Thresholds, BuiltinError> {
        let w = self.opt("warning").or(warning);
        let c = self.opt("critical").or(critical);
        Thresholds::parse(w, c).map_err(|source| BuiltinError::Range { kind: self.kind, source })
    }
}

/// `CRITICAL` with a summary, the shape of "could not even measure" results.
pub(crate) fn critical(summary: String) -> CheckResult {
    CheckResult::new(State::Critical, summary)
}

/// Formats seconds like check_http does: `0.012`.
pub(crate) fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1_000_000.0
}
