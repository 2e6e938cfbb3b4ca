//! The versioned JSON documents `ward db` prints (documented in docs/json/). Internal types are
//! converted here, so changing them never changes what scripts read.

use std::collections::BTreeMap;

use serde::Serialize;
use ward_advisory::feed::{EpssScore, KevEntry};
use ward_advisory::store::{FeedInfo, PackageHit, Status};
use ward_advisory::Record;

pub const DB_STATUS_SCHEMA: &str = "ward.db-status/1";
pub const DB_SHOW_SCHEMA: &str = "ward.db-show/1";
pub const DB_SEARCH_SCHEMA: &str = "ward.db-search/1";

/// `ward db status --format json`.
#[derive(Debug, Serialize)]
pub struct DbStatus {
    pub schema: &'static str,
    pub index: String,
    pub built_at: String,
    /// Distinct advisory ids per ecosystem, as the records name it.
    pub ecosystems: BTreeMap<String, u64>,
    pub records: u64,
    pub kev: u64,
    pub epss: u64,
    pub max_age_seconds: u64,
    /// True when any feed is older than `max_age_seconds` or failed at its last attempt.
    pub stale: bool,
    pub feeds: Vec<FeedStatus>,
}

#[derive(Debug, Serialize)]
pub struct FeedStatus {
    pub name: String,
    pub source: String,
    pub formats: Vec<String>,
    pub records: u64,
    pub rejected: u64,
    /// RFC 3339 time of the last successful import; `null` if it never succeeded.
    pub last_update: Option<String>,
    /// Seconds since `last_update`.
    pub age_seconds: Option<u64>,
    pub last_checked: String,
    pub stale: bool,
    /// Why the last attempt failed (the data shown is from `last_update`).
    pub last_error: Option<String>,
}

impl DbStatus {
    pub fn new(status: &Status, now: i64, max_age_seconds: u64) -> DbStatus {
        let feeds: Vec<FeedStatus> =
            status.feeds.iter().map(|f| FeedStatus::new(f, now, max_age_seconds)).collect();
        DbStatus {
            schema: DB_STATUS_SCHEMA,
            index: status.path.display().to_string(),
            built_at: rfc3339(status.built_at),
            ecosystems: status.ecosystems.clone(),
            records: status.records,
            kev: status.kev,
            epss: status.epss,
            max_age_seconds,
            stale: feeds.iter().any(|f| f.stale || f.last_error.is_some()),
            feeds,
        }
    }
}

impl FeedStatus {
    fn new(f: &FeedInfo, now: i64, max_age_seconds: u64) -> FeedStatus {
        let imported = f.imported_at > 0;
        let age = imported.then(|| u64::try_from(now.saturating_sub(f.imported_at)).unwrap_or(0));
        FeedStatus {
            name: f.name.clone(),
            source: f.source.clone(),
            formats: f.formats.clone(),
            records: f.records,
            rejected: f.rejected,
            last_update: imported.then(|| rfc3339(f.imported_at)),
            age_seconds: age,
            last_checked: rfc3339(f.checked_at),
            stale: age.is_none_or(|a| a > max_age_seconds),
            last_error: f.last_error.clone(),
        }
    }
}

/// `ward db show --format json`: the OSV records, unchanged.
#[derive(Debug, Serialize)]
pub struct DbShow<'a> {
    pub schema: &'static str,
    pub query: &'a str,
    pub records: &'a [Record],
    pub enrichment: Vec<Enrichment>,
}

#[derive(Debug, Serialize)]
pub struct Enrichment {
    pub cve: String,
    pub kev: Option<KevEntry>,
    pub epss: Option<EpssScore>,
}

/// `ward db search --format json`.
#[derive(Debug, Serialize)]
pub struct DbSearch<'a> {
    pub schema: &'static str,
    pub query: &'a str,
    pub packages: &'a [PackageHit],
}

/// Unix seconds → `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `93784` → `1d 2h`.
pub fn human_age(seconds: u64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m {}s", seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_763_720_000), "2025-11-21T10:13:20Z");
        assert_eq!(human_age(93_784), "1d 2h");
    }
}
