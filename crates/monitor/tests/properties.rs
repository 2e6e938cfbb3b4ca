//! Properties of the plugin output parser: it never panics, and every datum it reads is
//! written back (Display) in a form that parses to the same datum.

use proptest::prelude::*;
use ward_monitor::perfdata::{parse_perfdata, PerfDatum, PerfValue};
use ward_monitor::{PluginOutput, Range};

fn datum() -> impl Strategy<Value = PerfDatum> {
    let label = "[a-zA-Z0-9 _/'=.;-]{1,12}";
    let value = prop_oneof![Just(None), (-1e9f64..1e9).prop_map(Some)];
    let uom = prop::sample::select(vec!["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"]);
    let range = prop::option::of(prop::sample::select(vec![
        "10", "10:", "~:10", "10:20", "@10:20", "-5:5.5",
    ]));
    let bound = prop::option::of(-1e6f64..1e6);
    (label, value, uom, range.clone(), range, bound.clone(), bound).prop_map(
        |(label, value, uom, warn, crit, min, max)| PerfDatum {
            label: label.trim().to_string(),
            value: value.map_or(PerfValue::Unknown, PerfValue::Number),
            uom: if value.is_some() { uom.to_string() } else { String::new() },
            warn: warn.map(str::to_string),
            crit: crit.map(str::to_string),
            min,
            max,
        },
    )
}

proptest! {
    #[test]
    fn parsing_any_text_never_panics(text in "\\PC{0,200}") {
        let out = PluginOutput::parse(&text);
        for d in &out.perfdata {
            let _ = d.to_string();
        }
        let _ = Range::parse(&text);
    }

    #[test]
    fn written_data_parse_back_identically(data in prop::collection::vec(datum(), 1..5)) {
        let data: Vec<PerfDatum> = data.into_iter().filter(|d| !d.label.is_empty()).collect();
        let text = data.iter().map(PerfDatum::to_string).collect::<Vec<_>>().join(" ");
        let (parsed, problems) = parse_perfdata(&text);
        prop_assert!(problems.is_empty(), "{text}: {problems:?}");
        prop_assert_eq!(parsed, data, "{}", text);
    }

    #[test]
    fn a_summary_with_perfdata_splits_at_the_first_bar(summary in "[^|\\n]{0,40}", d in datum()) {
        prop_assume!(!d.label.is_empty() && !d.label.contains('|'));
        let text = format!("{summary} | {d}\nlong line");
        let out = PluginOutput::parse(&text);
        prop_assert_eq!(out.perfdata, vec![d]);
        prop_assert_eq!(out.long_output, "long line");
    }
}
