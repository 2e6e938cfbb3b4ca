//! Host checks read from the kernel: `process` (count matching processes in /proc), `disk`
//! (statvfs) and `load` (/proc/loadavg).

use std::path::Path;

use super::{critical, BuiltinError, Params, Reader};
use crate::perfdata::PerfDatum;
use crate::result::CheckResult;
use crate::state::State;
use crate::threshold::{Range, Thresholds};

fn perf(
    label: &str,
    value: f64,
    uom: &str,
    t: &Thresholds,
    min: Option<f64>,
    max: Option<f64>,
) -> PerfDatum {
    let mut p = PerfDatum::new(label, value, uom);
    p.warn = t.warning.as_ref().map(Range::to_string);
    p.crit = t.critical.as_ref().map(Range::to_string);
    p.min = min;
    p.max = max;
    p
}

/// Counts processes whose name (`/proc/PID/comm`, or the base name of argv\[0\]) equals
/// `name` and whose command line contains `args`. `warning`/`critical` are ranges on the
/// count; the default critical range `1:` means "at least one must run".
#[derive(Debug, Clone)]
pub struct ProcessCheck {
    pub name: Option<String>,
    pub args: Option<String>,
    pub count: Thresholds,
}

impl ProcessCheck {
    const PARAMS: &'static [&'static str] = &["name", "args", "warning", "critical"];

    pub fn from_params(params: &Params) -> Result<ProcessCheck, BuiltinError> {
        let r = Reader::new("process", params, Self::PARAMS)?;
        let name = r.opt("name").map(str::to_string);
        let args = r.opt("args").map(str::to_string);
        if name.is_none() && args.is_none() {
            return Err(BuiltinError::Missing { kind: "process", param: "name" });
        }
        Ok(ProcessCheck { name, args, count: r.thresholds(None, Some("1:"))? })
    }

    pub fn run(&self) -> CheckResult {
        let entries = match std::fs::read_dir("/proc") {
            Ok(e) => e,
            Err(e) => {
                return CheckResult::new(State::Unknown, format!("PROCS UNKNOWN - /proc: {e}"))
            }
        };
        let own = std::process::id().to_string();
        let mut count = 0u64;
        for entry in entries.flatten() {
            let pid = entry.file_name();
            let Some(pid) = pid.to_str() else { continue };
            if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == own {
                continue;
            }
            let dir = entry.path();
            // Processes vanish while we look; a missing file just means "not this one".
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let argv: Vec<String> = cmdline
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if let Some(name) = &self.name {
                let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
                let argv0 = argv.first().map(|a| {
                    Path::new(a)
                        .file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default()
                });
                if comm.trim_end() != name && argv0.as_deref() != Some(name.as_str()) {
                    continue;
                }
            }
            if let Some(args) = &self.args {
                if !argv.join(" ").contains(args.as_str()) {
                    continue;
                }
            }
            count += 1;
        }
        let state = self.count.evaluate(count as f64);
        let what = match (&self.name, &self.args) {
            (Some(n), Some(a)) => format!("with name {n:?} and args {a:?}"),
            (Some(n), None) => format!("with name {n:?}"),
            (None, Some(a)) => format!("with args {a:?}"),
            (None, None) => String::new(),
        };
        let mut r = CheckResult::new(state, format!("PROCS {state}: {count} processes {what}"));
        r.perfdata.push(perf("procs", count as f64, "", &self.count, Some(0.0), None));
        r
    }
}

/// Space used on the file system holding `path`, in percent (defaults: warning 80,
/// critical 90, i.e. alert above those).
#[derive(Debug, Clone)]
pub struct DiskCheck {
    pub path: String,
    pub used_percent: Thresholds,
}

impl DiskCheck {
    const PARAMS: &'static [&'static str] = &["path", "warning", "critical"];

    pub fn from_params(params: &Params) -> Result<DiskCheck, BuiltinError> {
        let r = Reader::new("disk", params, Self::PARAMS)?;
        Ok(DiskCheck {
            path: r.opt("path").unwrap_or("/").to_string(),
            used_percent: r.thresholds(Some("80"), Some("90"))?,
        })
    }

    pub fn run(&self) -> CheckResult {
        let st = match rustix::fs::statvfs(self.path.as_str()) {
            Ok(s) => s,
            Err(e) => return critical(format!("DISK CRITICAL - {}: {e}", self.path)),
        };
        let block = st.f_frsize;
        let total = st.f_blocks.saturating_mul(block);
        // As df: used = total - free; percent of what non-root users can have.
        let used = st.f_blocks.saturating_sub(st.f_bfree).saturating_mul(block);
        let avail = st.f_bavail.saturating_mul(block);
        let usable = used + avail;
        let pct = if usable == 0 {
            0.0
        } else {
            (used as f64 * 100.0 / usable as f64 * 100.0).round() / 100.0
        };
        let state = self.used_percent.evaluate(pct);
        let mut r = CheckResult::new(
            state,
            format!(
                "DISK {state} - {} {pct}% used ({} MiB free of {} MiB)",
                self.path,
                avail / (1024 * 1024),
                total / (1024 * 1024)
            ),
        );
        r.perfdata.push(perf(
            &self.path,
            used as f64,
            "B",
            &Thresholds::default(),
            Some(0.0),
            Some(total as f64),
        ));
        r.perfdata.push(perf("used_pct", pct, "%", &self.used_percent, Some(0.0), Some(100.0)));
        r
    }
}

/// The 1, 5 and 15 minute load averages against `warning`/`critical` triplets `w1,w5,w15`
/// (one value applies to all three).
#[derive(Debug, Clone)]
pub struct LoadCheck {
    pub thresholds: [Thresholds; 3],
}

impl LoadCheck {
    const PARAMS: &'static [&'static str] = &["warning", "critical"];

    pub fn from_params(params: &Params) -> Result<LoadCheck, BuiltinError> {
        let r = Reader::new("load", params, Self::PARAMS)?;
        let split = |name: &'static str| -> Result<[Option<String>; 3], BuiltinError> {
            let Some(text) = r.opt(name) else { return Ok([None, None, None]) };
            let parts: Vec<&str> = text.split(',').map(str::trim).collect();
            match parts.as_slice() {
                [one] => Ok([Some(one.to_string()), Some(one.to_string()), Some(one.to_string())]),
                [a, b, c] => Ok([Some(a.to_string()), Some(b.to_string()), Some(c.to_string())]),
                _ => {
                    Err(r.invalid(name, format!("{text:?}: give one value or three (1,5,15 min)")))
                }
            }
        };
        let w = split("warning")?;
        let c = split("critical")?;
        let mut thresholds: [Thresholds; 3] = Default::default();
        for i in 0..3 {
            thresholds[i] = Thresholds::parse(w[i].as_deref(), c[i].as_deref())
                .map_err(|source| BuiltinError::Range { kind: "load", source })?;
        }
        Ok(LoadCheck { thresholds })
    }

    pub fn run(&self) -> CheckResult {
        let text = match std::fs::read_to_string("/proc/loadavg") {
            Ok(t) => t,
            Err(e) => {
                return CheckResult::new(
                    State::Unknown,
                    format!("LOAD UNKNOWN - /proc/loadavg: {e}"),
                )
            }
        };
        let values: Vec<f64> =
            text.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect();
        let [l1, l5, l15] = values.as_slice() else {
            return CheckResult::new(
                State::Unknown,
                format!("LOAD UNKNOWN - unreadable /proc/loadavg: {text:?}"),
            );
        };
        let loads = [*l1, *l5, *l15];
        let state = loads
            .iter()
            .zip(&self.thresholds)
            .map(|(v, t)| t.evaluate(*v))
            .fold(State::Ok, State::worst);
        let mut r = CheckResult::new(
            state,
            format!("LOAD {state} - total load average: {l1:.2}, {l5:.2}, {l15:.2}"),
        );
        for ((label, v), t) in ["load1", "load5", "load15"].iter().zip(loads).zip(&self.thresholds)
        {
            r.perfdata.push(perf(label, v, "", t, Some(0.0), None));
        }
        r
    }
}
