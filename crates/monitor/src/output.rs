//! Plugin output: the first line is the summary, further lines the long output; performance
//! data follows `|` on the first line and on the long-output line that has one, and fills
//! every line after it (the Nagios 3 multi-line format).
//!
//! ```text
//! DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968
//! / 15272 MB (77%);
//! /boot 68 MB (69%); | /boot=68MB;88;93;0;98
//! /home=69357MB;253404;253409;0;253414
//! ```

use crate::perfdata::{parse_perfdata_into, ParseProblem, PerfDatum};

/// What the plugin printed, split into its parts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PluginOutput {
    pub summary: String,
    /// Lines after the first, up to the performance data (joined with `\n`).
    pub long_output: String,
    pub perfdata: Vec<PerfDatum>,
    pub problems: Vec<ParseProblem>,
}

/// What ward shows when a plugin printed nothing (the Nagios wording).
pub const NO_OUTPUT: &str = "(No output returned from plugin)";

impl PluginOutput {
    /// Parses plugin output. Never fails: problems are listed in [`PluginOutput::problems`].
    pub fn parse(text: &str) -> PluginOutput {
        let mut out = PluginOutput::default();
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            out.summary = NO_OUTPUT.to_string();
            out.problems.push(ParseProblem { message: "the plugin printed nothing".into() });
            return out;
        }
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or("");
        match first.split_once('|') {
            Some((summary, perf)) => {
                out.summary = summary.trim_end().to_string();
                parse_perfdata_into(perf, &mut out.perfdata, &mut out.problems);
            }
            None => out.summary = first.trim_end().to_string(),
        }
        let mut long = Vec::new();
        let mut in_perfdata = false;
        for line in lines {
            if in_perfdata {
                parse_perfdata_into(line, &mut out.perfdata, &mut out.problems);
            } else if let Some((text, perf)) = line.split_once('|') {
                long.push(text.trim_end());
                parse_perfdata_into(perf, &mut out.perfdata, &mut out.problems);
                in_perfdata = true;
            } else {
                long.push(line);
            }
        }
        while long.last().is_some_and(|l| l.trim().is_empty()) {
            long.pop();
        }
        out.long_output = long.join("\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::{PluginOutput, NO_OUTPUT};
    use crate::perfdata::PerfDatum;

    fn check(text: &str, summary: &str, long: &str, perf: &[&str], problems: usize) {
        let out = PluginOutput::parse(text);
        assert_eq!(out.summary, summary, "{text:?}");
        assert_eq!(out.long_output, long, "{text:?}");
        let got: Vec<String> = out.perfdata.iter().map(PerfDatum::to_string).collect();
        assert_eq!(got, perf, "{text:?}");
        assert_eq!(out.problems.len(), problems, "{text:?}: {:?}", out.problems);
    }

    #[test]
    fn single_line() {
        check("OK - all fine\n", "OK - all fine", "", &[], 0);
        check(
            "PING OK - rta=0.1ms | rta=0.1ms;1;2;0",
            "PING OK - rta=0.1ms",
            "",
            &["rta=0.1ms;1;2;0"],
            0,
        );
        check("OK|a=1", "OK", "", &["a=1"], 0);
    }

    #[test]
    fn the_guidelines_multi_line_example() {
        let text = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
                    / 15272 MB (77%);\n\
                    /boot 68 MB (69%);\n\
                    /home 69357 MB (27%);\n\
                    /var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
                    /home=69357MB;253404;253409;0;253414 \n\
                    /var/log=818MB;970;975;0;980\n";
        check(
            text,
            "DISK OK - free space: / 3326 MB (56%);",
            "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);",
            &[
                "/=2643MB;5948;5958;0;5968",
                "/boot=68MB;88;93;0;98",
                "/home=69357MB;253404;253409;0;253414",
                "/var/log=818MB;970;975;0;980",
            ],
            0,
        );
    }

    #[test]
    fn long_output_without_perfdata_and_crlf() {
        check("WARNING: x\r\nline 1\r\nline 2\r\n", "WARNING: x", "line 1\nline 2", &[], 0);
        check("OK\n\nafter blank\n\n", "OK", "\nafter blank", &[], 0);
    }

    #[test]
    fn perfdata_only_on_a_later_line() {
        check("OK\ndetail | a=1\nb=2", "OK", "detail", &["a=1", "b=2"], 0);
    }

    #[test]
    fn no_output_and_garbage() {
        check("", NO_OUTPUT, "", &[], 1);
        check(" \n\n", NO_OUTPUT, "", &[], 1);
        check("OK | garbage", "OK", "", &[], 1);
        check("OK | a=1 ;;; b=2", "OK", "", &["a=1", "b=2"], 1);
        check("|||", "", "", &[], 1);
    }
}
