//! The pure part of recording an inventory: what changed between two inventories, and an
//! inventory rebuilt from a change history. Both backends use these; they only do the IO.

use std::collections::BTreeMap;

use crate::{Change, ChangeKind, InventoryDiff, PackageRow};

/// A change not yet stamped with a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingChange {
    pub kind: ChangeKind,
    pub ecosystem: String,
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub source: Option<String>,
    /// The source's version after the change, when it differs from `to`.
    pub source_version: Option<String>,
}

/// A stored change and the source version the history also keeps (not part of [`Change`]):
/// what [`replay`] needs to rebuild a [`PackageRow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub change: Change,
    pub source_version: Option<String>,
}

impl PendingChange {
    pub(crate) fn stored_kind(&self) -> &'static str {
        self.kind.as_str()
    }
}

/// What to do to the stored inventory: the changes to append, and the packages to write
/// (added or changed) and to delete (removed).
#[derive(Debug, Default)]
pub(crate) struct InventoryDelta {
    pub changes: Vec<PendingChange>,
    pub upserts: Vec<PackageRow>,
    pub removals: Vec<(String, String)>,
}

impl InventoryDelta {
    pub(crate) fn counts(&self) -> InventoryDiff {
        let mut diff = InventoryDiff::default();
        for change in &self.changes {
            match change.kind {
                ChangeKind::Added => diff.added += 1,
                ChangeKind::Removed => diff.removed += 1,
                ChangeKind::Changed => diff.changed += 1,
            }
        }
        diff
    }
}

/// The first `(ecosystem, name)` that appears twice in `packages`, if any.
pub(crate) fn duplicate_identity(packages: &[PackageRow]) -> Option<(String, String)> {
    let mut seen = BTreeMap::new();
    for package in packages {
        if seen.insert((&package.ecosystem, &package.name), ()).is_some() {
            return Some((package.ecosystem.clone(), package.name.clone()));
        }
    }
    None
}

/// Compares `current` with `next` (both without duplicate identities). Changes come out in
/// `(ecosystem, name)` order.
pub(crate) fn delta(current: &[PackageRow], next: &[PackageRow]) -> InventoryDelta {
    let before: BTreeMap<(&str, &str), &PackageRow> =
        current.iter().map(|p| ((p.ecosystem.as_str(), p.name.as_str()), p)).collect();
    let after: BTreeMap<(&str, &str), &PackageRow> =
        next.iter().map(|p| ((p.ecosystem.as_str(), p.name.as_str()), p)).collect();
    let mut delta = InventoryDelta::default();
    let mut keys: Vec<(&str, &str)> = before.keys().chain(after.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        let (ecosystem, name) = (key.0.to_owned(), key.1.to_owned());
        match (before.get(&key), after.get(&key)) {
            (None, Some(new)) => {
                delta.changes.push(PendingChange {
                    kind: ChangeKind::Added,
                    ecosystem,
                    name,
                    from: None,
                    to: Some(new.version.clone()),
                    source: new.source.clone(),
                    source_version: new.source_version.clone(),
                });
                delta.upserts.push((*new).clone());
            }
            (Some(old), None) => {
                delta.changes.push(PendingChange {
                    kind: ChangeKind::Removed,
                    ecosystem: ecosystem.clone(),
                    name: name.clone(),
                    from: Some(old.version.clone()),
                    to: None,
                    source: None,
                    source_version: None,
                });
                delta.removals.push((ecosystem, name));
            }
            (Some(old), Some(new))
                if old.version != new.version
                    || old.source != new.source
                    || old.source_version != new.source_version =>
            {
                delta.changes.push(PendingChange {
                    kind: ChangeKind::Changed,
                    ecosystem,
                    name,
                    from: Some(old.version.clone()),
                    to: Some(new.version.clone()),
                    source: new.source.clone(),
                    source_version: new.source_version.clone(),
                });
                delta.upserts.push((*new).clone());
            }
            _ => {}
        }
    }
    delta
}

/// The inventory after applying `history` (oldest first) to an empty one. Sorted.
pub(crate) fn replay<'a>(history: impl IntoIterator<Item = &'a Recorded>) -> Vec<PackageRow> {
    let mut inventory: BTreeMap<(&str, &str), PackageRow> = BTreeMap::new();
    for Recorded { change, source_version } in history {
        let key = (change.ecosystem.as_str(), change.name.as_str());
        match (change.kind, &change.to) {
            (ChangeKind::Removed, _) | (_, None) => {
                inventory.remove(&key);
            }
            (ChangeKind::Added | ChangeKind::Changed, Some(version)) => {
                inventory.insert(
                    key,
                    PackageRow {
                        ecosystem: change.ecosystem.clone(),
                        name: change.name.clone(),
                        version: version.clone(),
                        source: change.source.clone(),
                        source_version: source_version.clone(),
                    },
                );
            }
        }
    }
    inventory.into_values().collect()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn row(name: &str, version: &str) -> PackageRow {
        PackageRow {
            ecosystem: "Debian:12".into(),
            name: name.into(),
            version: version.into(),
            source: None,
            source_version: None,
        }
    }

    fn check(current: &[PackageRow], next: &[PackageRow], expect: &[(ChangeKind, &str)]) {
        let delta = delta(current, next);
        let got: Vec<(ChangeKind, &str)> =
            delta.changes.iter().map(|c| (c.kind, c.name.as_str())).collect();
        assert_eq!(got, expect);
        // Replaying the changes on top of `current` gives `next`.
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut history: Vec<Recorded> = current
            .iter()
            .map(|p| Recorded {
                change: Change {
                    at,
                    kind: ChangeKind::Added,
                    ecosystem: p.ecosystem.clone(),
                    name: p.name.clone(),
                    from: None,
                    to: Some(p.version.clone()),
                    source: p.source.clone(),
                },
                source_version: p.source_version.clone(),
            })
            .collect();
        history.extend(delta.changes.into_iter().map(|c| Recorded {
            change: Change {
                at,
                kind: c.kind,
                ecosystem: c.ecosystem,
                name: c.name,
                from: c.from,
                to: c.to,
                source: c.source,
            },
            source_version: c.source_version,
        }));
        let mut sorted_next = next.to_vec();
        sorted_next.sort();
        assert_eq!(replay(&history), sorted_next);
    }

    #[test]
    fn delta_and_replay_agree() {
        use ChangeKind::*;
        let with_source = PackageRow { source: Some("openssl".into()), ..row("libssl3", "3.0.1") };
        let binnmu =
            PackageRow { source_version: Some("3.0.1".into()), ..row("libssl3", "3.0.1+b1") };
        check(&[], &[], &[]);
        check(&[], &[row("b", "1"), row("a", "1")], &[(Added, "a"), (Added, "b")]);
        check(&[row("a", "1")], &[], &[(Removed, "a")]);
        check(&[row("a", "1")], &[row("a", "1")], &[]);
        check(&[row("a", "1")], &[row("a", "2")], &[(Changed, "a")]);
        check(
            &[row("libssl3", "3.0.1")],
            std::slice::from_ref(&with_source),
            &[(Changed, "libssl3")],
        );
        check(
            &[row("libssl3", "3.0.1+b1")],
            std::slice::from_ref(&binnmu),
            &[(Changed, "libssl3")],
        );
        check(
            &[row("a", "1"), row("b", "1"), with_source],
            &[row("b", "2"), row("c", "1"), row("libssl3", "3.0.1")],
            &[(Removed, "a"), (Changed, "b"), (Added, "c"), (Changed, "libssl3")],
        );
    }

    #[test]
    fn same_name_in_two_ecosystems_is_two_packages() {
        let pypi = PackageRow { ecosystem: "PyPI".into(), ..row("requests", "2.0") };
        assert_eq!(duplicate_identity(&[row("requests", "2.0"), pypi]), None);
        assert_eq!(
            duplicate_identity(&[row("a", "1"), row("b", "1"), row("a", "2")]),
            Some(("Debian:12".into(), "a".into()))
        );
    }
}
