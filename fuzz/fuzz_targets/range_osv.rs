//! Fuzzes OSV range evaluation: events come from the input (`kind:version` per line, kinds
//! i/f/l/m for introduced/fixed/last_affected/limit), the first line is the version.
#![no_main]

use ward_version::range::{Event, OsvRange, RangeKind};
use ward_version::{Scheme, Version};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.lines();
    let Some(version) = lines.next() else { return };
    let events: Vec<Event> = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some(match k {
                "i" => Event::Introduced(v.to_string()),
                "f" => Event::Fixed(v.to_string()),
                "l" => Event::LastAffected(v.to_string()),
                _ => Event::Limit(v.to_string()),
            })
        })
        .collect();
    for scheme in [Scheme::Semver, Scheme::Dpkg, Scheme::Pypi, Scheme::Maven] {
        let Ok(v) = Version::parse(scheme, version) else { continue };
        for kind in [RangeKind::Ecosystem, RangeKind::Semver, RangeKind::Git] {
            let range = OsvRange { kind, events: events.clone() };
            let _ = range.contains(&v);
            let _ = ward_version::range::is_affected(&v, std::slice::from_ref(&range), &[]);
        }
    }
});
