//! Compact inventory reports: what changed between the packages of an earlier report and the
//! current ones, sent instead of the whole list when little changed. Pure functions, no IO.
//!
//! A host's inventory is keyed by `(ecosystem, name)`: [`normalize`] sorts by that key and
//! keeps the first package of each key, and every list this module returns is in that order,
//! so the same inputs always give the same bytes on the wire.

use std::collections::BTreeMap;

use ward_api::agent::{Inventory, Package, PackageKey};

/// A diff is sent only while `upsert + remove` is at most this fraction of the current
/// inventory (1/5 = 20 %)...
const MAX_CHANGED_FRACTION: usize = 5;
/// ... and at most this many entries.
const MAX_CHANGED_ENTRIES: usize = 5_000;

/// The key of a package within one host's inventory.
pub fn key_of(package: &Package) -> PackageKey {
    PackageKey { ecosystem: package.ecosystem.clone(), name: package.name.clone() }
}

/// Sorted by `(ecosystem, name)`, the first package of each key kept.
pub fn normalize(mut packages: Vec<Package>) -> Vec<Package> {
    // A stable sort keeps the input order within a key, so "first" is the caller's first.
    packages.sort_by(|a, b| (&a.ecosystem, &a.name).cmp(&(&b.ecosystem, &b.name)));
    packages.dedup_by(|later, earlier| {
        later.ecosystem == earlier.ecosystem && later.name == earlier.name
    });
    packages
}

/// The inventory to send: a [`Inventory::Diff`] against `base` (the report whose key is
/// `base_key`) when few packages changed (upsert + remove at most 20 % of `current` and at
/// most 5,000), else [`Inventory::Full`]. Both lists are normalized first.
pub fn inventory(base_key: Option<&str>, base: &[Package], current: Vec<Package>) -> Inventory {
    let current = normalize(current);
    let Some(base_key) = base_key else { return Inventory::Full { packages: current } };
    let base = normalize(base.to_vec());
    let (upsert, remove) = changes(&base, &current);
    let changed = upsert.len() + remove.len();
    if changed <= MAX_CHANGED_ENTRIES && changed * MAX_CHANGED_FRACTION <= current.len() {
        Inventory::Diff { base: base_key.to_owned(), upsert, remove }
    } else {
        Inventory::Full { packages: current }
    }
}

/// Packages added or changed from `base` to `current`, and the keys gone; both in key order.
/// Both inputs must be normalized.
pub fn changes(base: &[Package], current: &[Package]) -> (Vec<Package>, Vec<PackageKey>) {
    let before: BTreeMap<PackageKey, &Package> = base.iter().map(|p| (key_of(p), p)).collect();
    let upsert: Vec<Package> = current
        .iter()
        .filter(|p| before.get(&key_of(p)).is_none_or(|old| *old != *p))
        .cloned()
        .collect();
    let now: BTreeMap<PackageKey, ()> = current.iter().map(|p| (key_of(p), ())).collect();
    let remove: Vec<PackageKey> =
        base.iter().map(key_of).filter(|k| !now.contains_key(k)).collect();
    (upsert, remove)
}

/// The packages after applying a diff's `upsert` and `remove` to `base`, normalized: what
/// the server computes from a [`Inventory::Diff`].
pub fn apply(base: &[Package], upsert: &[Package], remove: &[PackageKey]) -> Vec<Package> {
    let mut packages: BTreeMap<PackageKey, Package> =
        base.iter().map(|p| (key_of(p), p.clone())).collect();
    for key in remove {
        packages.remove(key);
    }
    for p in upsert {
        packages.insert(key_of(p), p.clone());
    }
    packages.into_values().collect()
}

/// The packages an inventory describes, given the packages of its base (for a diff).
/// `None` for a diff whose base is not `base_key`.
pub fn resolve(
    inventory: &Inventory,
    base_key: Option<&str>,
    base: &[Package],
) -> Option<Vec<Package>> {
    match inventory {
        Inventory::Full { packages } => Some(normalize(packages.clone())),
        Inventory::Diff { base: key, upsert, remove } if Some(key.as_str()) == base_key => {
            Some(apply(base, upsert, remove))
        }
        Inventory::Diff { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pkg(name: &str, version: &str) -> Package {
        Package {
            ecosystem: "Debian:12".into(),
            name: name.into(),
            version: version.into(),
            source: None,
            source_version: None,
        }
    }

    fn key(name: &str) -> PackageKey {
        PackageKey { ecosystem: "Debian:12".into(), name: name.into() }
    }

    /// Many packages named `p0`, `p1`, ... at version 1.
    fn many(n: usize) -> Vec<Package> {
        (0..n).map(|i| pkg(&format!("p{i:05}"), "1")).collect()
    }

    fn check(base_key: Option<&str>, base: &[Package], current: Vec<Package>, expect: Inventory) {
        assert_eq!(inventory(base_key, base, current), expect);
    }

    #[test]
    fn small_changes_are_a_diff_in_key_order() {
        let mut base = many(20);
        base.push(pkg("gone", "1"));
        let mut current = many(20);
        current[3].version = "2".into();
        current.push(pkg("added", "1"));
        current.reverse();
        check(
            Some("k1"),
            &base,
            current,
            Inventory::Diff {
                base: "k1".into(),
                upsert: vec![pkg("added", "1"), pkg("p00003", "2")],
                remove: vec![key("gone")],
            },
        );
    }

    #[test]
    fn no_base_or_large_changes_are_full() {
        let current = vec![pkg("b", "1"), pkg("a", "1")];
        let sorted = vec![pkg("a", "1"), pkg("b", "1")];
        check(None, &[], current.clone(), Inventory::Full { packages: sorted.clone() });
        // 2 changes of 2 packages: 100 % > 20 %.
        check(Some("k"), &[], current, Inventory::Full { packages: sorted });
        // Exactly 20 % is still a diff; one more change is not.
        let base = many(10);
        let mut current = many(10);
        current[0].version = "2".into();
        current[1].version = "2".into();
        assert!(matches!(inventory(Some("k"), &base, current.clone()), Inventory::Diff { .. }));
        current[2].version = "2".into();
        assert!(matches!(inventory(Some("k"), &base, current), Inventory::Full { .. }));
    }

    #[test]
    fn more_than_5000_changes_are_full_even_below_20_percent() {
        let base = many(30_000);
        let mut current = many(30_000);
        for p in current.iter_mut().take(5_001) {
            p.version = "2".into();
        }
        assert!(matches!(inventory(Some("k"), &base, current.clone()), Inventory::Full { .. }));
        current[0].version = "1".into();
        assert!(matches!(inventory(Some("k"), &base, current), Inventory::Diff { .. }));
    }

    #[test]
    fn duplicate_keys_keep_the_first() {
        let packages = normalize(vec![pkg("a", "2"), pkg("b", "1"), pkg("a", "1")]);
        assert_eq!(packages, vec![pkg("a", "2"), pkg("b", "1")]);
    }

    #[test]
    fn resolve_needs_the_right_base() {
        let diff =
            Inventory::Diff { base: "k1".into(), upsert: vec![pkg("a", "2")], remove: vec![] };
        assert_eq!(resolve(&diff, Some("k1"), &[pkg("a", "1")]), Some(vec![pkg("a", "2")]));
        assert_eq!(resolve(&diff, Some("k0"), &[pkg("a", "1")]), None);
        assert_eq!(resolve(&diff, None, &[]), None);
    }

    fn arb_packages() -> impl Strategy<Value = Vec<Package>> {
        let one = ("[ab]", "[a-e]{1,2}", "[0-3]", proptest::option::of("[xy]")).prop_map(
            |(ecosystem, name, version, source)| Package {
                ecosystem,
                name,
                version,
                source,
                source_version: None,
            },
        );
        proptest::collection::vec(one, 0..40)
    }

    proptest! {
        #[test]
        fn applying_the_diff_gives_the_current_packages(a in arb_packages(), b in arb_packages()) {
            let (upsert, remove) = changes(&normalize(a.clone()), &normalize(b.clone()));
            prop_assert_eq!(apply(&normalize(a.clone()), &upsert, &remove), normalize(b.clone()));
            // And whatever `inventory` chooses resolves to the current packages.
            let sent = inventory(Some("k"), &a, b.clone());
            prop_assert_eq!(resolve(&sent, Some("k"), &normalize(a)), Some(normalize(b)));
        }
    }
}
