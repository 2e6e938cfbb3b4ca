//! A check result (from a plugin, a built-in check or a passive submission) and its stable
//! JSON form, `ward.check/1` (documented in `docs/json/check.md`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::output::PluginOutput;
use crate::perfdata::{PerfDatum, PerfValue};
use crate::state::State;

/// The outcome of running one check once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub state: State,
    pub summary: String,
    pub long_output: String,
    pub perfdata: Vec<PerfDatum>,
    /// How long the check took.
    pub duration: Duration,
    /// What was wrong with the output (malformed perfdata, truncation...), for operators.
    pub problems: Vec<String>,
}

impl CheckResult {
    /// A result with a state and a summary only.
    pub fn new(state: State, summary: impl Into<String>) -> CheckResult {
        CheckResult {
            state,
            summary: summary.into(),
            long_output: String::new(),
            perfdata: Vec::new(),
            duration: Duration::ZERO,
            problems: Vec::new(),
        }
    }

    /// A result from a state and plugin-style output text.
    pub fn from_output(state: State, text: &str, duration: Duration) -> CheckResult {
        let parsed = PluginOutput::parse(text);
        CheckResult {
            state,
            summary: parsed.summary,
            long_output: parsed.long_output,
            perfdata: parsed.perfdata,
            duration,
            problems: parsed.problems.into_iter().map(|p| p.message).collect(),
        }
    }

    pub fn with_perfdata(mut self, datum: PerfDatum) -> CheckResult {
        self.perfdata.push(datum);
        self
    }

    /// The wire form.
    pub fn to_json(&self) -> CheckJson {
        CheckJson {
            schema: SCHEMA.to_string(),
            state: self.state.name().to_string(),
            summary: self.summary.clone(),
            long_output: self.long_output.clone(),
            perfdata: self.perfdata.iter().map(PerfJson::from).collect(),
            duration_ms: self.duration.as_secs_f64() * 1000.0,
            problems: self.problems.clone(),
        }
    }

    /// Plugin-style text: `summary | perfdata` then the long output.
    pub fn to_plugin_text(&self) -> String {
        let mut text = self.summary.clone();
        if !self.perfdata.is_empty() {
            text.push_str(" |");
            for p in &self.perfdata {
                text.push(' ');
                text.push_str(&p.to_string());
            }
        }
        if !self.long_output.is_empty() {
            text.push('\n');
            text.push_str(&self.long_output);
        }
        text
    }
}

/// The schema identifier of [`CheckJson`].
pub const SCHEMA: &str = "ward.check/1";

/// `ward.check/1`: one check result as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckJson {
    pub schema: String,
    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`.
    pub state: String,
    pub summary: String,
    pub long_output: String,
    pub perfdata: Vec<PerfJson>,
    pub duration_ms: f64,
    /// Problems found in the output; empty when it was well formed.
    #[serde(default)]
    pub problems: Vec<String>,
}

/// One performance datum in `ward.check/1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfJson {
    pub label: String,
    /// `null` for `U`.
    pub value: Option<f64>,
    pub uom: Option<String>,
    pub warn: Option<String>,
    pub crit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl From<&PerfDatum> for PerfJson {
    fn from(p: &PerfDatum) -> PerfJson {
        PerfJson {
            label: p.label.clone(),
            value: p.value.number(),
            uom: (!p.uom.is_empty()).then(|| p.uom.clone()),
            warn: p.warn.clone(),
            crit: p.crit.clone(),
            min: p.min,
            max: p.max,
        }
    }
}

impl From<&PerfJson> for PerfDatum {
    fn from(p: &PerfJson) -> PerfDatum {
        PerfDatum {
            label: p.label.clone(),
            value: p.value.map_or(PerfValue::Unknown, PerfValue::Number),
            uom: p.uom.clone().unwrap_or_default(),
            warn: p.warn.clone(),
            crit: p.crit.clone(),
            min: p.min,
            max: p.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::CheckResult;
    use crate::state::State;

    #[test]
    fn json_has_the_documented_shape() {
        let r = CheckResult::from_output(
            State::Warning,
            "DISK WARNING | /=80%;70;90;0;100 'x y'=U\nline",
            Duration::from_millis(12),
        );
        let json = serde_json::to_value(r.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "schema": "ward.check/1",
                "state": "WARNING",
                "summary": "DISK WARNING",
                "long_output": "line",
                "perfdata": [
                    {"label": "/", "value": 80.0, "uom": "%", "warn": "70", "crit": "90", "min": 0.0, "max": 100.0},
                    {"label": "x y", "value": null, "uom": null, "warn": null, "crit": null, "min": null, "max": null}
                ],
                "duration_ms": 12.0,
                "problems": []
            })
        );
        assert_eq!(r.to_plugin_text(), "DISK WARNING | /=80%;70;90;0;100 'x y'=U\nline");
    }
}
