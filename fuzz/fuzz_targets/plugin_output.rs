//! Fuzz target: plugin output and performance data parsing never panics, and every datum it
//! reads survives a display/parse round trip. Run: `cargo +nightly fuzz run plugin_output`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_monitor::perfdata::parse_perfdata;
use ward_monitor::{PluginOutput, Range};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let out = PluginOutput::parse(&text);
    for datum in &out.perfdata {
        let written = datum.to_string();
        let (again, problems) = parse_perfdata(&written);
        assert_eq!(again.len(), 1, "{written:?} did not parse back to one datum: {problems:?}");
        assert_eq!(&again[0], datum, "round trip of {written:?}");
        if let Some(r) = datum.warn_range() {
            let _ = r.alerts(0.0);
        }
    }
    if let Ok(r) = Range::parse(&text) {
        assert_eq!(Range::parse(r.as_str()).ok(), Some(r));
    }
});
