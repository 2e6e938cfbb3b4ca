//! `file_age`: a file (a backup, a cron job's output) must exist and be fresh.

use std::time::{Duration, SystemTime};

use super::{critical, BuiltinError, Params, Reader};
use crate::perfdata::PerfDatum;
use crate::result::CheckResult;
use crate::threshold::Thresholds;

/// Thresholds on the file's age in seconds (defaults as check_file_age: warning 240,
/// critical 600) and optionally on its size in bytes.
#[derive(Debug, Clone)]
pub struct FileAgeCheck {
    pub path: String,
    pub age: Thresholds,
    pub size: Thresholds,
}

impl FileAgeCheck {
    const PARAMS: &'static [&'static str] =
        &["path", "warning", "critical", "size_warning", "size_critical"];

    pub fn from_params(params: &Params) -> Result<FileAgeCheck, BuiltinError> {
        let r = Reader::new("file_age", params, Self::PARAMS)?;
        let size = Thresholds::parse(r.opt("size_warning"), r.opt("size_critical"))
            .map_err(|source| BuiltinError::Range { kind: "file_age", source })?;
        Ok(FileAgeCheck {
            path: r.req("path")?.to_string(),
            age: r.thresholds(Some("240"), Some("600"))?,
            size,
        })
    }

    pub fn run(&self) -> CheckResult {
        let meta = match std::fs::metadata(&self.path) {
            Ok(m) => m,
            Err(e) => return critical(format!("FILE_AGE CRITICAL - {}: {e}", self.path)),
        };
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let age = SystemTime::now().duration_since(modified).unwrap_or(Duration::ZERO).as_secs();
        let size = meta.len();
        let state = self.age.evaluate(age as f64).worst(self.size.evaluate(size as f64));
        let mut r = CheckResult::new(
            state,
            format!("FILE_AGE {} - {} is {age} seconds old and {size} bytes", state, self.path),
        );
        let mut age_perf = PerfDatum::new("age", age as f64, "s");
        age_perf.warn = self.age.warning.as_ref().map(|t| t.to_string());
        age_perf.crit = self.age.critical.as_ref().map(|t| t.to_string());
        let mut size_perf = PerfDatum::new("size", size as f64, "B");
        size_perf.warn = self.size.warning.as_ref().map(|t| t.to_string());
        size_perf.crit = self.size.critical.as_ref().map(|t| t.to_string());
        size_perf.min = Some(0.0);
        r.perfdata = vec![age_perf, size_perf];
        r
    }
}
