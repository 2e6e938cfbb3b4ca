//! How bad a finding is: CVSS v4.0 and v3.x base scores computed from the vectors a record
//! carries (never copied from prose), else the feed's own rating (GitHub's `LOW`..`CRITICAL`,
//! Drupal's "Highly critical", Debian urgencies, Ubuntu priorities).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use ward_advisory::model::{Record, Severity as RecordSeverity};

/// The qualitative rating every report and threshold uses (CVSS's scale; `Unknown` when
/// nothing rates the advisory).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Unknown,
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Unknown => "unknown",
            Level::None => "none",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The CVSS rating of a 0–10 score.
    pub fn of_score(score: f64) -> Level {
        match score {
            s if s >= 9.0 => Level::Critical,
            s if s >= 7.0 => Level::High,
            s if s >= 4.0 => Level::Medium,
            s if s > 0.0 => Level::Low,
            _ => Level::None,
        }
    }

    /// The level used to decide `--fail-on`: an unrated finding fails every threshold (a
    /// vulnerability nobody has scored yet is not assumed to be harmless).
    pub fn for_gate(self) -> Level {
        if self == Level::Unknown {
            Level::Critical
        } else {
            self
        }
    }

    /// A representative score for ordering when only a rating is known (the middle of the
    /// CVSS band; `Unknown` sorts with `High`, for the same reason as [`Level::for_gate`]).
    pub fn nominal_score(self) -> f64 {
        match self {
            Level::Critical => 9.5,
            Level::High | Level::Unknown => 8.0,
            Level::Medium => 5.5,
            Level::Low => 2.0,
            Level::None => 0.0,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Level::None),
            "low" => Ok(Level::Low),
            "medium" | "moderate" => Ok(Level::Medium),
            "high" => Ok(Level::High),
            "critical" => Ok(Level::Critical),
            _ => Err(format!("unknown severity {s:?}: use low, medium, high or critical")),
        }
    }
}

/// Where a severity came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum Basis {
    /// Computed from a CVSS v4.0 vector.
    CvssV4 { vector: String },
    /// Computed from a CVSS v3.0/v3.1 vector.
    CvssV3 { vector: String },
    /// The feed's own rating, as written (`HIGH`, `Highly critical`, `medium`...).
    Rating { rating: String },
    /// Nothing rates it.
    None,
}

/// The severity of one advisory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Severity {
    pub level: Level,
    /// The CVSS base score (0.0–10.0) when computed from a vector.
    pub score: Option<f64>,
    #[serde(flatten)]
    pub basis: Basis,
}

impl Severity {
    pub fn unknown() -> Severity {
        Severity { level: Level::Unknown, score: None, basis: Basis::None }
    }

    /// The score used for ordering: the CVSS score, else the rating's nominal score.
    pub fn sort_score(&self) -> f64 {
        self.score.unwrap_or_else(|| self.level.nominal_score())
    }

    /// The worse of two severities (a computed score wins a tie with a rating).
    pub fn worst(self, other: Severity) -> Severity {
        let key = |s: &Severity| (s.level, s.score.is_some(), ordered(s.score.unwrap_or(0.0)));
        if key(&other) > key(&self) {
            other
        } else {
            self
        }
    }
}

/// f64 scores in 0..=10 with one decimal, as an integer for total ordering.
fn ordered(score: f64) -> i64 {
    (score * 10.0).round() as i64
}

/// A base score from one CVSS vector; `None` when the vector does not parse (a malformed
/// vector is not a reason to drop the advisory: the rating fallback still applies).
pub fn cvss(kind: &str, vector: &str) -> Option<Severity> {
    let vector = vector.trim();
    match kind {
        "CVSS_V4" => {
            let v = cvss::v4::Vector::from_str(vector).ok()?;
            let score = v.score().value();
            Some(Severity {
                level: Level::of_score(score),
                score: Some(score),
                basis: Basis::CvssV4 { vector: vector.to_string() },
            })
        }
        "CVSS_V3" => {
            let v = cvss::v3::Base::from_str(vector).ok()?;
            let score = v.score().value();
            Some(Severity {
                level: Level::of_score(score),
                score: Some(score),
                basis: Basis::CvssV3 { vector: vector.to_string() },
            })
        }
        _ => None,
    }
}

/// A feed's own words for a severity, mapped to the CVSS scale.
pub fn rating(text: &str) -> Option<Level> {
    let t = text.trim().to_ascii_lowercase();
    let level = match t.as_str() {
        // Drupal security risk levels (and GitHub, Ubuntu, Debian words).
        "highly critical" | "critical" => Level::Critical,
        "critical?" | "high" | "important" => Level::High,
        "moderately critical" | "moderate" | "medium" => Level::Medium,
        "less critical" | "not critical" | "low" | "negligible" | "unimportant" => Level::Low,
        _ => return None,
    };
    Some(level)
}

/// The severity of a record for one package: CVSS v4.0 before v3.x (the newer standard when a
/// record carries both), from the `affected[]` entry first (it is more specific), then the
/// record; else a rating found in `database_specific` (`severity`, `cvss` as a vector,
/// Drupal's `risk`) or a `Ubuntu` severity entry.
pub fn of_record(record: &Record, affected: Option<&ward_advisory::model::Affected>) -> Severity {
    let lists: Vec<&[RecordSeverity]> = affected
        .map(|a| a.severity.as_slice())
        .into_iter()
        .chain(std::iter::once(record.severity.as_slice()))
        .collect();
    for kind in ["CVSS_V4", "CVSS_V3"] {
        for list in &lists {
            if let Some(s) =
                list.iter().filter(|s| s.kind == kind).find_map(|s| cvss(kind, &s.score))
            {
                return s;
            }
        }
    }
    // A vector kept only in database_specific (RustSec's `cvss`).
    let specifics = affected
        .and_then(|a| a.database_specific.as_ref())
        .into_iter()
        .chain(record.database_specific.as_ref());
    for specific in specifics {
        if let Some(vector) = specific.get("cvss").and_then(|v| v.as_str()) {
            let kind = if vector.starts_with("CVSS:4") { "CVSS_V4" } else { "CVSS_V3" };
            if let Some(s) = cvss(kind, vector) {
                return s;
            }
        }
        for key in ["severity", "risk", "urgency", "priority"] {
            if let Some(text) = specific.get(key).and_then(|v| v.as_str()) {
                if let Some(level) = rating(text) {
                    return Severity {
                        level,
                        score: None,
                        basis: Basis::Rating { rating: text.to_string() },
                    };
                }
            }
        }
    }
    for list in &lists {
        for s in list.iter().filter(|s| s.kind != "CVSS_V4" && s.kind != "CVSS_V3") {
            if let Some(level) = rating(&s.score) {
                return Severity {
                    level,
                    score: None,
                    basis: Basis::Rating { rating: s.score.clone() },
                };
            }
        }
    }
    Severity::unknown()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_cvss_scores_from_vectors() {
        let check = |kind: &str, vector: &str, score: f64, level: Level| {
            let s = cvss(kind, vector).expect(vector);
            assert_eq!((s.score, s.level), (Some(score), level), "{vector}");
        };
        check("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, Level::Critical);
        check("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, Level::Critical);
        check("CVSS_V3", "CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, Level::Low);
        check("CVSS_V3", "CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5, Level::Medium);
        // FIRST's CVSS v4.0 calculator examples.
        check(
            "CVSS_V4",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            9.3,
            Level::Critical,
        );
        check(
            "CVSS_V4",
            "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            8.5,
            Level::High,
        );
        assert_eq!(cvss("CVSS_V3", "CVSS:3.1/AV:X"), None);
        assert_eq!(cvss("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"), None);
    }

    #[test]
    fn ratings_map_onto_the_cvss_scale() {
        assert_eq!(rating("Highly critical"), Some(Level::Critical));
        assert_eq!(rating("MODERATE"), Some(Level::Medium));
        assert_eq!(rating("Less critical"), Some(Level::Low));
        assert_eq!(rating("unimportant"), Some(Level::Low));
        assert_eq!(rating("not yet assigned"), None);
    }

    #[test]
    fn a_vector_beats_a_rating_and_v4_beats_v3() {
        let record: Record = serde_json::from_value(serde_json::json!({
            "id": "X-1", "modified": "",
            "severity": [
                {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}
            ],
            "database_specific": {"severity": "LOW"}
        }))
        .expect("record");
        let s = of_record(&record, None);
        assert_eq!((s.level, s.score), (Level::High, Some(8.5)));
        let rated: Record = serde_json::from_value(serde_json::json!({
            "id": "X-2", "modified": "", "database_specific": {"severity": "MODERATE"}
        }))
        .expect("record");
        let s = of_record(&rated, None);
        assert_eq!((s.level, s.score), (Level::Medium, None));
        assert_eq!(s.basis, Basis::Rating { rating: "MODERATE".into() });
    }

    #[test]
    fn unknown_fails_every_gate() {
        assert_eq!(Level::Unknown.for_gate(), Level::Critical);
        assert!(Level::Low < Level::High);
        assert_eq!("moderate".parse::<Level>(), Ok(Level::Medium));
    }
}
