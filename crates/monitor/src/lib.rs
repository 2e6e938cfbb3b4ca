//! ward's Nagios-compatible check engine: plugin output and performance data, threshold
//! ranges, the check state machine, the plugin executor and built-in checks.
//!
//! Pure modules (no IO, no clock: time is always passed in): [`state`], [`threshold`],
//! [`perfdata`], [`output`], [`engine`]. IO modules: [`exec`] (runs plugins through
//! `ward-process`) and [`builtin`] (checks that run inside ward).

pub mod builtin;
pub mod config;
pub mod engine;
pub mod exec;
pub mod heartbeat;
pub mod output;
pub mod perfdata;
pub mod result;

pub mod scheduler;
pub mod spool;
pub mod state;
pub mod story;
pub mod threshold;
pub mod time;
pub mod timeseries;
pub mod trenddb;

pub use output::PluginOutput;
pub use perfdata::{ParseProblem, PerfDatum, PerfValue};
pub use result::CheckResult;

pub use state::State;
pub use threshold::{Range, Thresholds};
