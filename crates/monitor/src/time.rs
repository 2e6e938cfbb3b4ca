//! Points in time for the pure engine: milliseconds since the Unix epoch, always passed in by
//! the caller (so tests drive a controllable clock), and the schedules built on them: cron
//! expressions in a time zone, and fixed periods.

use std::fmt;
use std::ops::{Add, Sub};
use std::str::FromStr;
use std::time::Duration;

use chrono::{
    DateTime, Datelike, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, TimeZone, Timelike,
    Utc,
};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_secs(secs: i64) -> Timestamp {
        Timestamp(secs.saturating_mul(1000))
    }

    /// The system clock (only IO edges call this; the engine takes `now` as an argument).
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().timestamp_millis())
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Time elapsed since `earlier` (zero when `earlier` is later).
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    pub fn to_utc(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0).single().unwrap_or_default()
    }

    pub fn from_utc<Tz: TimeZone>(t: &DateTime<Tz>) -> Timestamp {
        Timestamp(t.timestamp_millis())
    }
}

fn millis_of(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(millis_of(d)))
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(millis_of(d)))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, to the second: `2026-11-21T09:00:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_utc().format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

/// Parses an RFC 3339 time (`2026-12-01T02:00:00Z`, `2026-12-01T03:00:00+01:00`).
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, ScheduleError> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| Timestamp::from_utc(&t))
        .map_err(|e| ScheduleError::Time { text: text.to_string(), reason: e.to_string() })
}

/// A schedule could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid cron expression {expr:?}: {reason}")]
    Cron { expr: String, reason: String },
    #[error(
        "unknown time zone {0:?}: not in the system's time zone database (/usr/share/zoneinfo, \
         or $TZDIR; Debian package tzdata); use an IANA name such as Europe/Berlin or UTC"
    )]
    TimeZone(String),
    #[error("invalid duration {0:?} (use a number with s, m, h or d, e.g. 90s, 5m, 1h)")]
    Duration(String),
    #[error("invalid time {text:?}: {reason}")]
    Time { text: String, reason: String },
}

/// A cron expression (5 fields, or 6 with seconds) evaluated in an IANA time zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: croner::Cron,
    tz: Zone,
    text: String,
}

impl CronSchedule {
    pub fn parse(expr: &str, tz: &str) -> Result<CronSchedule, ScheduleError> {
        let cron = croner::Cron::from_str(expr)
            .map_err(|e| ScheduleError::Cron { expr: expr.to_string(), reason: e.to_string() })?;
        let tz = Zone::named(tz)?;
        Ok(CronSchedule { cron, tz, text: expr.to_string() })
    }

    /// The first occurrence strictly after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        let local = t.to_utc().with_timezone(&self.tz);
        self.cron.find_next_occurrence(&local, false).ok().map(|d| Timestamp::from_utc(&d))
    }

    /// The last occurrence at or before `t`.
    pub fn last_at_or_before(&self, t: Timestamp) -> Option<Timestamp> {
        let local = t.to_utc().with_timezone(&self.tz);
        self.cron.find_previous_occurrence(&local, true).ok().map(|d| Timestamp::from_utc(&d))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// An IANA time zone read from the system's tz database (TZif files under /usr/share/zoneinfo,
/// or `$TZDIR`), so its rules are the ones the OS's own tzdata updates keep current, seen by
/// chrono (croner computes cron occurrences with chrono types). `UTC` needs no database.
#[derive(Debug, Clone)]
pub struct Zone(jiff::tz::TimeZone);

/// A zone's offset at one instant; it carries the zone so chrono can recover it.
#[derive(Debug, Clone)]
pub struct ZoneOffset {
    zone: Zone,
    fixed: FixedOffset,
}

impl Zone {
    pub fn named(name: &str) -> Result<Zone, ScheduleError> {
        let unknown = || ScheduleError::TimeZone(name.to_string());
        if name.eq_ignore_ascii_case("UTC") {
            return Ok(Zone(jiff::tz::TimeZone::UTC));
        }
        // Names only: no absolute paths, no `..` (jiff refuses them as well).
        if name.is_empty() || name.starts_with('/') || name.split('/').any(|c| c == "..") {
            return Err(unknown());
        }
        jiff::tz::TimeZone::get(name).map(Zone).map_err(|_| unknown())
    }

    fn offset(&self, seconds: i32) -> ZoneOffset {
        // jiff keeps offsets within ±25:59:59, inside FixedOffset's ±24h only when a zone is
        // absurd; such an offset is clamped rather than trusted to panic.
        let fixed = FixedOffset::east_opt(seconds.clamp(-86_399, 86_399))
            .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero is a valid offset"));
        ZoneOffset { zone: self.clone(), fixed }
    }
}

impl chrono::Offset for ZoneOffset {
    fn fix(&self) -> FixedOffset {
        self.fixed
    }
}

impl fmt::Display for ZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.fixed, f)
    }
}

impl TimeZone for Zone {
    type Offset = ZoneOffset;

    fn from_offset(offset: &ZoneOffset) -> Zone {
        offset.zone.clone()
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<ZoneOffset> {
        // Noon: no zone moves its clocks then.
        match local.and_hms_opt(12, 0, 0) {
            Some(noon) => self.offset_from_local_datetime(&noon),
            None => MappedLocalTime::None,
        }
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<ZoneOffset> {
        let civil = i16::try_from(local.year()).ok().and_then(|year| {
            jiff::civil::DateTime::new(
                year,
                local.month() as i8,
                local.day() as i8,
                local.hour() as i8,
                local.minute() as i8,
                local.second().min(59) as i8,
                0,
            )
            .ok()
        });
        let Some(civil) = civil else { return MappedLocalTime::None };
        use jiff::tz::AmbiguousOffset;
        match self.0.to_ambiguous_timestamp(civil).offset() {
            AmbiguousOffset::Unambiguous { offset } => {
                MappedLocalTime::Single(self.offset(offset.seconds()))
            }
            // The clocks skip this local time (spring forward).
            AmbiguousOffset::Gap { .. } => MappedLocalTime::None,
            // The clocks pass it twice (fall back): the earlier instant has the offset before.
            AmbiguousOffset::Fold { before, after } => MappedLocalTime::Ambiguous(
                self.offset(before.seconds()),
                self.offset(after.seconds()),
            ),
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> ZoneOffset {
        self.offset_from_utc_datetime(&utc.and_time(chrono::NaiveTime::MIN))
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> ZoneOffset {
        let seconds = utc.and_utc().timestamp();
        let instant = jiff::Timestamp::from_second(seconds).unwrap_or(if seconds < 0 {
            jiff::Timestamp::MIN
        } else {
            jiff::Timestamp::MAX
        });
        self.offset(self.0.to_offset(instant).seconds())
    }
}

/// Parses `90`, `90s`, `5m`, `1h`, `2d`, `250ms` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    let t = text.trim();
    let err = || ScheduleError::Duration(text.to_string());
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number.parse().map_err(|_| err())?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return Err(err()),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| err())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{parse_duration, CronSchedule, Timestamp};

    fn at(text: &str) -> Timestamp {
        Timestamp::from_utc(&chrono::DateTime::parse_from_rfc3339(text).unwrap())
    }

    #[test]
    fn cron_in_a_time_zone_follows_daylight_saving() {
        // 02:30 Europe/Berlin every day: 01:30Z in winter, 00:30Z in summer.
        let s = CronSchedule::parse("30 2 * * *", "Europe/Berlin").unwrap();
        assert_eq!(s.next_after(at("2026-01-10T12:00:00Z")), Some(at("2026-01-11T01:30:00Z")));
        assert_eq!(s.next_after(at("2026-07-10T12:00:00Z")), Some(at("2026-07-11T00:30:00Z")));
        assert_eq!(
            s.last_at_or_before(at("2026-07-11T00:30:00Z")),
            Some(at("2026-07-11T00:30:00Z"))
        );
        assert!(CronSchedule::parse("61 * * * *", "UTC").is_err());
        assert!(CronSchedule::parse("* * * * *", "Mars/Olympus").is_err());
    }

    /// The system's tz database, seen through chrono, agrees with chrono-tz's compiled-in copy
    /// on zones whose rules have not changed in years: every offset at every instant of
    /// 2000–2037 (hourly), and every local time's mapping (single, skipped, repeated) around
    /// each of their transitions.
    #[test]
    fn system_zones_agree_with_chrono_tz() {
        use chrono::{Duration as Span, MappedLocalTime, Offset, TimeZone};
        for name in [
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "Pacific/Chatham",
            "America/Sao_Paulo",
            "Europe/London",
            "Etc/GMT+5",
            "UTC",
        ] {
            let ours = super::Zone::named(name).unwrap();
            let reference: chrono_tz::Tz = name.parse().unwrap();
            let mut t =
                chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
            let end = chrono::NaiveDate::from_ymd_opt(2037, 12, 31)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap();
            let mut transitions = 0;
            let mut previous = None;
            while t < end {
                let a = ours.offset_from_utc_datetime(&t).fix();
                let b = reference.offset_from_utc_datetime(&t).fix();
                assert_eq!(a, b, "{name} at {t}Z");
                if previous.is_some_and(|p| p != a) {
                    transitions += 1;
                    // Local times from 3 h before to 3 h after, every 15 minutes.
                    let local = t + Span::seconds(i64::from(a.local_minus_utc()));
                    for step in -12..=12 {
                        let l = local + Span::minutes(15 * step);
                        let ours = match ours.offset_from_local_datetime(&l) {
                            MappedLocalTime::Single(o) => (Some(o.fix()), None),
                            MappedLocalTime::Ambiguous(x, y) => (Some(x.fix()), Some(y.fix())),
                            MappedLocalTime::None => (None, None),
                        };
                        let theirs = match reference.offset_from_local_datetime(&l) {
                            MappedLocalTime::Single(o) => (Some(o.fix()), None),
                            MappedLocalTime::Ambiguous(x, y) => (Some(x.fix()), Some(y.fix())),
                            MappedLocalTime::None => (None, None),
                        };
                        assert_eq!(ours, theirs, "{name}: local {l}");
                    }
                }
                previous = Some(a);
                t += Span::hours(1);
            }
            let expect_transitions = !matches!(name, "Asia/Kolkata" | "Etc/GMT+5" | "UTC");
            assert_eq!(transitions > 0, expect_transitions, "{name}: {transitions} transitions");
        }
    }

    #[test]
    fn unknown_and_unsafe_zone_names_are_refused() {
        for bad in
            ["Mars/Olympus", "", "/etc/passwd", "../../etc/passwd", "Europe/../../etc/passwd"]
        {
            let err = super::Zone::named(bad).unwrap_err().to_string();
            assert!(err.contains("/usr/share/zoneinfo"), "{bad}: {err}");
        }
        assert!(super::Zone::named("utc").is_ok());
    }

    #[test]
    fn durations() {
        for (t, secs) in [
            ("90", 90.0),
            ("90s", 90.0),
            ("5m", 300.0),
            ("1h", 3600.0),
            ("2d", 172800.0),
            ("250ms", 0.25),
        ] {
            assert_eq!(parse_duration(t).unwrap(), Duration::from_secs_f64(secs), "{t}");
        }
        for bad in ["", "m", "5x", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(at("2026-11-21T09:00:00Z").to_string(), "2026-11-21T09:00:00Z");
    }
}
