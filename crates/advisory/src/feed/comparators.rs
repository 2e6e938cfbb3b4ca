//! Comparator lists (`>=8.0.0`, `<9.3.19`) as native feeds write them, turned into OSV events.
//!
//! One mechanism for the PHP and npm feeds: a conjunction of comparators becomes one OSV range
//! when that is exact (`>=`, `<`, `<=`, `=`), and `None` otherwise (`>`, `^`, `~`, x-ranges),
//! in which case the feed keeps only its native constraint, which ward-version evaluates
//! exactly.

use crate::model::RangeEvent;

/// Splits `>= 1.2` / `<1.3` / `1.0.0` into operator and version.
pub fn split(comparator: &str) -> (&str, &str) {
    let c = comparator.trim();
    let op_len =
        c.find(|ch: char| !matches!(ch, '<' | '>' | '=' | '!' | '~' | '^')).unwrap_or(c.len());
    let (op, version) = c.split_at(op_len);
    (op, version.trim())
}

/// The OSV events for "every comparator holds", or `None` when OSV events cannot say it exactly.
pub fn to_events(comparators: &[&str]) -> Option<Vec<RangeEvent>> {
    let mut lower: Option<String> = None;
    let mut upper: Option<RangeEvent> = None;
    for comparator in comparators {
        let (op, version) = split(comparator);
        if version.is_empty() {
            return None;
        }
        if version.split('.').any(|part| matches!(part, "x" | "X" | "*")) {
            if op.is_empty() && version == "*" {
                continue;
            }
            return None;
        }
        match op {
            ">=" => set(&mut lower, version.to_string())?,
            "<" => set(&mut upper, RangeEvent::Fixed(version.to_string()))?,
            "<=" => set(&mut upper, RangeEvent::LastAffected(version.to_string()))?,
            "=" | "==" | "" => {
                set(&mut lower, version.to_string())?;
                set(&mut upper, RangeEvent::LastAffected(version.to_string()))?;
            }
            _ => return None,
        }
    }
    let mut events = vec![RangeEvent::Introduced(lower.unwrap_or_else(|| "0".to_string()))];
    events.extend(upper);
    Some(events)
}

/// Sets a bound once; a second bound of the same side is not a plain interval.
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &[&str], expect: Option<&str>) {
        let got = to_events(input).map(|events| {
            events
                .iter()
                .map(|e| format!("{}:{}", e.name(), e.version()))
                .collect::<Vec<_>>()
                .join(" ")
        });
        assert_eq!(got.as_deref(), expect, "{input:?}");
    }

    #[test]
    fn converts_exact_forms_only() {
        check(&[">=8.0.0", "<9.3.19"], Some("introduced:8.0.0 fixed:9.3.19"));
        check(&["<1.2"], Some("introduced:0 fixed:1.2"));
        check(&["<= 1.0.3"], Some("introduced:0 last_affected:1.0.3"));
        check(&["=3.0.0-rc.1"], Some("introduced:3.0.0-rc.1 last_affected:3.0.0-rc.1"));
        check(&["2.1.0-M1"], Some("introduced:2.1.0-M1 last_affected:2.1.0-M1"));
        check(&["*"], Some("introduced:0"));
        check(&[">2.0.0", "<2.1"], None);
        check(&["~0.8.0-pre"], None);
        check(&[">=1", ">=2"], None);
    }
}
