//! Check states (OK, WARNING, CRITICAL, UNKNOWN) and their plugin exit codes.

use std::fmt;

/// The state a check reports. The numeric codes are the Monitoring Plugins exit codes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl State {
    pub const ALL: [State; 4] = [State::Ok, State::Warning, State::Critical, State::Unknown];

    /// The plugin exit code for this state (also ward's exit code for `ward check run`).
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// The state for a plugin exit code; `None` for anything but 0 to 3.
    pub fn from_code(code: i64) -> Option<State> {
        match code {
            0 => Some(State::Ok),
            1 => Some(State::Warning),
            2 => Some(State::Critical),
            3 => Some(State::Unknown),
            _ => None,
        }
    }

    /// Upper-case name, as Nagios prints it.
    pub fn name(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// Parses a name (`ok`, `WARNING`, `crit`...) or a code (`0`..`3`).
    pub fn parse(text: &str) -> Option<State> {
        let t = text.trim();
        if let Ok(code) = t.parse::<i64>() {
            return State::from_code(code);
        }
        match t.to_ascii_uppercase().as_str() {
            "OK" => Some(State::Ok),
            "WARNING" | "WARN" => Some(State::Warning),
            "CRITICAL" | "CRIT" => Some(State::Critical),
            "UNKNOWN" => Some(State::Unknown),
            _ => None,
        }
    }

    pub fn is_ok(self) -> bool {
        self == State::Ok
    }

    /// The worse of two states for aggregation: CRITICAL > WARNING > UNKNOWN > OK, as the
    /// Monitoring Plugins' `max_state` orders them.
    pub fn worst(self, other: State) -> State {
        fn rank(s: State) -> u8 {
            match s {
                State::Ok => 0,
                State::Unknown => 1,
                State::Warning => 2,
                State::Critical => 3,
            }
        }
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::State;

    fn check(text: &str, expect: Option<State>) {
        assert_eq!(State::parse(text), expect, "{text}");
    }

    #[test]
    fn parses_names_and_codes() {
        check("0", Some(State::Ok));
        check("ok", Some(State::Ok));
        check("Warning", Some(State::Warning));
        check("crit", Some(State::Critical));
        check("3", Some(State::Unknown));
        check("4", None);
        check("-1", None);
        check("fine", None);
    }

    #[test]
    fn codes_round_trip_and_worst_follows_max_state() {
        for s in State::ALL {
            assert_eq!(State::from_code(i64::from(s.code())), Some(s));
        }
        assert_eq!(State::Ok.worst(State::Unknown), State::Unknown);
        assert_eq!(State::Unknown.worst(State::Warning), State::Warning);
        assert_eq!(State::Critical.worst(State::Warning), State::Critical);
    }
}
