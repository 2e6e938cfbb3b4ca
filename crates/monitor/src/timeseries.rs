//! Performance data as time series: raw points, 5-minute and 1-hour rollups (min, max,
//! mean, count, last) with retention per resolution, and the current values in the
//! Prometheus text exposition format.
//!
//! Pure: points carry their timestamps, pruning takes `now`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::engine::CheckStatus;
use crate::perfdata::PerfValue;
use crate::result::CheckResult;
use crate::time::Timestamp;

/// Raw points kept per series at most, whatever the retention (a check every second would
/// otherwise hold 86,400 points a day).
pub const MAX_RAW_POINTS: usize = 4096;

/// How long each resolution is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw: Duration,
    pub five_minutes: Duration,
    pub one_hour: Duration,
}

impl Default for Retention {
    /// Raw for 1 day, 5-minute rollups for 30 days, hourly rollups for 400 days.
    fn default() -> Self {
        Retention {
            raw: Duration::from_secs(86_400),
            five_minutes: Duration::from_secs(30 * 86_400),
            one_hour: Duration::from_secs(400 * 86_400),
        }
    }
}

/// The resolution of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Raw,
    FiveMinutes,
    OneHour,
}

impl Resolution {
    /// Every resolution, finest first.
    pub const ALL: [Resolution; 3] =
        [Resolution::Raw, Resolution::FiveMinutes, Resolution::OneHour];

    fn bucket_ms(self) -> i64 {
        match self {
            Resolution::Raw => 1,
            Resolution::FiveMinutes => 300_000,
            Resolution::OneHour => 3_600_000,
        }
    }
}

/// One rollup bucket (or, at raw resolution, one point with count 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Start of the bucket (the point's time at raw resolution).
    pub start: Timestamp,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
    pub last: f64,
}

impl Bucket {
    fn new(start: Timestamp, v: f64) -> Bucket {
        Bucket { start, min: v, max: v, sum: v, count: 1, last: v }
    }

    fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.count += 1;
        self.last = v;
    }

    pub fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }
}

/// One series at every resolution.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub uom: String,
    raw: Vec<Bucket>,
    five: Vec<Bucket>,
    hour: Vec<Bucket>,
    /// The earliest bucket start changed since the series was last saved
    /// ([`crate::trenddb`]); `None` when the saved copy is current.
    pub(crate) dirty_from: Option<Timestamp>,
}

impl Series {
    /// Adds a point. Points must arrive in time order per series; an older point than the
    /// last is dropped (returns false), so a replayed result cannot double-count.
    pub fn add(&mut self, t: Timestamp, v: f64) -> bool {
        if !v.is_finite() || self.raw.last().is_some_and(|b| b.start >= t) {
            return false;
        }
        self.raw.push(Bucket::new(t, v));
        if self.raw.len() > MAX_RAW_POINTS {
            // Checks at very short intervals: keep the newest points, the rollups keep the rest.
            let excess = self.raw.len() - MAX_RAW_POINTS;
            self.raw.drain(..excess);
        }
        let hour_start = Timestamp(t.0 - t.0.rem_euclid(Resolution::OneHour.bucket_ms()));
        self.dirty_from = Some(self.dirty_from.map_or(hour_start, |d| d.min(hour_start)));
        for (buckets, res) in
            [(&mut self.five, Resolution::FiveMinutes), (&mut self.hour, Resolution::OneHour)]
        {
            let start = Timestamp(t.0 - t.0.rem_euclid(res.bucket_ms()));
            match buckets.last_mut() {
                Some(b) if b.start == start => b.add(v),
                _ => buckets.push(Bucket::new(start, v)),
            }
        }
        true
    }

    /// Buckets of `resolution` whose start lies in `from..=to`.
    pub fn query(&self, resolution: Resolution, from: Timestamp, to: Timestamp) -> Vec<Bucket> {
        let buckets = match resolution {
            Resolution::Raw => &self.raw,
            Resolution::FiveMinutes => &self.five,
            Resolution::OneHour => &self.hour,
        };
        buckets.iter().filter(|b| from <= b.start && b.start <= to).copied().collect()
    }

    pub fn last(&self) -> Option<Bucket> {
        self.raw.last().copied()
    }

    /// The buckets of one resolution, oldest first.
    pub(crate) fn buckets(&self, resolution: Resolution) -> &[Bucket] {
        match resolution {
            Resolution::Raw => &self.raw,
            Resolution::FiveMinutes => &self.five,
            Resolution::OneHour => &self.hour,
        }
    }

    /// A series as saved: buckets per resolution, oldest first (raw capped to the newest
    /// [`MAX_RAW_POINTS`]).
    pub(crate) fn from_saved(
        uom: String,
        mut raw: Vec<Bucket>,
        five: Vec<Bucket>,
        hour: Vec<Bucket>,
    ) -> Series {
        if raw.len() > MAX_RAW_POINTS {
            raw.drain(..raw.len() - MAX_RAW_POINTS);
        }
        Series { uom, raw, five, hour, dirty_from: None }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.raw.is_empty() && self.five.is_empty() && self.hour.is_empty()
    }

    fn prune(&mut self, now: Timestamp, r: &Retention) {
        self.raw.retain(|b| b.start >= now - r.raw);
        self.five.retain(|b| b.start >= now - r.five_minutes);
        self.hour.retain(|b| b.start >= now - r.one_hour);
    }
}

/// Every series, by (check, perfdata label).
#[derive(Debug, Clone, Default)]
pub struct Store {
    series: BTreeMap<(String, String), Series>,
    retention: Retention,
}

impl Store {
    pub fn new(retention: Retention) -> Store {
        Store { series: BTreeMap::new(), retention }
    }

    /// Records every numeric perfdata value of `result`, taken at `t`.
    pub fn record(&mut self, check: &str, result: &CheckResult, t: Timestamp) {
        for p in &result.perfdata {
            if let PerfValue::Number(v) = p.value {
                let s = self.series.entry((check.to_string(), p.label.clone())).or_default();
                s.uom.clone_from(&p.uom);
                s.add(t, v);
            }
        }
    }

    pub fn series(&self, check: &str, label: &str) -> Option<&Series> {
        self.series.get(&(check.to_string(), label.to_string()))
    }

    /// Drops what is past retention, and series left empty.
    pub fn prune(&mut self, now: Timestamp) {
        let r = self.retention;
        for s in self.series.values_mut() {
            s.prune(now, &r);
        }
        self.series.retain(|_, s| !s.is_empty());
    }

    pub fn retention(&self) -> Retention {
        self.retention
    }

    /// Every series with its (check, label).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&(String, String), &mut Series)> {
        self.series.iter_mut()
    }

    /// Adds a series read back from disk.
    pub(crate) fn insert(&mut self, check: String, label: String, series: Series) {
        self.series.insert((check, label), series);
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
}

/// Escapes a Prometheus label value.
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The current state of every check and its latest perfdata values, in the Prometheus text
/// exposition format (version 0.0.4).
pub fn prometheus<'a>(checks: impl Iterator<Item = (&'a str, &'a CheckStatus)>) -> String {
    let mut state = String::from(
        "# HELP ward_check_state Check state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.\n# TYPE ward_check_state gauge\n",
    );
    let mut hard = String::from(
        "# HELP ward_check_hard_state 1 when the state is HARD, 0 when SOFT.\n# TYPE ward_check_hard_state gauge\n",
    );
    let mut duration = String::from(
        "# HELP ward_check_duration_seconds Run time of the last check.\n# TYPE ward_check_duration_seconds gauge\n",
    );
    let mut perf = String::from(
        "# HELP ward_check_perfdata Latest performance data value, in the plugin's unit.\n# TYPE ward_check_perfdata gauge\n",
    );
    for (name, st) in checks {
        let Some(result) = &st.last_result else { continue };
        let n = label_value(name);
        let _ = writeln!(state, "ward_check_state{{check=\"{n}\"}} {}", st.state.code());
        let hard_value = u8::from(st.state_type == crate::engine::StateType::Hard);
        let _ = writeln!(hard, "ward_check_hard_state{{check=\"{n}\"}} {hard_value}");
        let _ = writeln!(
            duration,
            "ward_check_duration_seconds{{check=\"{n}\"}} {}",
            result.duration.as_secs_f64()
        );
        for p in &result.perfdata {
            if let PerfValue::Number(v) = p.value {
                let _ = writeln!(
                    perf,
                    "ward_check_perfdata{{check=\"{n}\",label=\"{}\",uom=\"{}\"}} {v}",
                    label_value(&p.label),
                    label_value(&p.uom)
                );
            }
        }
    }
    state + &hard + &duration + &perf
}

#[cfg(test)]
mod tests {
    use super::{Resolution, Retention, Series, Store};
    use crate::perfdata::PerfDatum;
    use crate::result::CheckResult;
    use crate::state::State;
    use crate::time::Timestamp;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_789_999_600 + secs) // a multiple of 3600 s plus 400 s
    }

    #[test]
    fn points_roll_up_into_five_minute_and_hour_buckets() {
        let mut s = Series::default();
        // One point a minute for two hours: value = minute number.
        for m in 0..120 {
            assert!(s.add(at(m * 60), m as f64));
        }
        assert!(!s.add(at(0), 5.0), "out-of-order points are dropped");
        let raw = s.query(Resolution::Raw, at(0), at(7200));
        assert_eq!(raw.len(), 120);
        let five = s.query(Resolution::FiveMinutes, at(-400), at(7200));
        // 400 s past the hour: the first 5-min bucket holds minutes 0..=3 (it started at
        // -100 s), then full buckets of 5.
        assert_eq!(five[0].count, 4);
        assert_eq!((five[0].min, five[0].max, five[0].last), (0.0, 3.0, 3.0));
        assert_eq!(five[1].count, 5);
        assert_eq!(five[1].mean(), 6.0);
        assert_eq!(five.iter().map(|b| b.count).sum::<u64>(), 120);
        let hour = s.query(Resolution::OneHour, at(-400), at(7200));
        assert_eq!(hour.len(), 3);
        assert_eq!(hour.iter().map(|b| b.count).sum::<u64>(), 120);
        assert_eq!(hour[0].count, 54, "minutes 0..=53 fall in the first hour");
    }

    #[test]
    fn raw_points_are_capped_but_rollups_count_everything() {
        let mut s = Series::default();
        let n = super::MAX_RAW_POINTS as i64 + 100;
        for i in 0..n {
            s.add(at(i), 1.0);
        }
        let raw = s.query(Resolution::Raw, at(0), at(n));
        assert_eq!(raw.len(), super::MAX_RAW_POINTS);
        assert_eq!(raw[0].start, at(100), "the oldest went first");
        let total: u64 =
            s.query(Resolution::FiveMinutes, at(-400), at(n)).iter().map(|b| b.count).sum();
        assert_eq!(total, n as u64);
    }

    #[test]
    fn retention_prunes_each_resolution() {
        let retention = Retention {
            raw: std::time::Duration::from_secs(600),
            five_minutes: std::time::Duration::from_secs(3600),
            one_hour: std::time::Duration::from_secs(86_400),
        };
        let mut store = Store::new(retention);
        for m in 0..120 {
            let r = CheckResult::new(State::Ok, "x")
                .with_perfdata(PerfDatum::new("time", m as f64, "s"));
            store.record("web", &r, at(m * 60));
        }
        store.prune(at(119 * 60));
        let s = store.series("web", "time").unwrap();
        assert_eq!(s.query(Resolution::Raw, at(0), at(99_999)).len(), 11);
        assert_eq!(s.uom, "s");
        assert!(s.query(Resolution::FiveMinutes, at(-400), at(99_999)).len() <= 13);
        assert_eq!(s.query(Resolution::OneHour, at(-400), at(99_999)).len(), 3);
        store.prune(at(100 * 86_400));
        assert!(store.is_empty());
    }
}
