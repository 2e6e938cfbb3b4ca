//! The pure part of applying a host's findings: which open findings stay, which are new and
//! which are resolved. Both backends use it; they only do the IO.

use std::collections::BTreeMap;

use std::collections::BTreeSet;

use crate::{Backend, FindingRow, FindingsDiff, HostId, ScopedFindings, StoreError};

/// A finding's identity on a host: `(advisory, ecosystem, package)`.
pub(crate) type Identity<'a> = (&'a str, &'a str, &'a str);

pub(crate) fn identity(row: &FindingRow) -> Identity<'_> {
    (&row.advisory, &row.ecosystem, &row.package)
}

/// What to write: findings to open, open findings (by row id) to resolve and to update.
#[derive(Debug, Default)]
pub(crate) struct FindingsPlan<'a> {
    pub open: Vec<&'a FindingRow>,
    /// The stored id and the stored row (its version goes into the event).
    pub resolve: Vec<(i64, FindingRow)>,
    /// Still open, with a different version, aliases or rating.
    pub update: Vec<(i64, &'a FindingRow)>,
    pub unchanged: usize,
}

impl FindingsPlan<'_> {
    pub(crate) fn counts(&self) -> FindingsDiff {
        FindingsDiff {
            new: self.open.len(),
            resolved: self.resolve.len(),
            unchanged: self.unchanged,
        }
    }
}

/// The checks every backend makes before applying findings.
pub(crate) fn check(backend: Backend, current: &[FindingRow]) -> Result<(), StoreError> {
    const OPERATION: &str = "apply findings";
    let mut seen = BTreeMap::new();
    for row in current {
        if seen.insert(identity(row), ()).is_some() {
            return Err(StoreError::InvalidInput {
                backend,
                operation: OPERATION,
                message: format!(
                    "finding {} for {}/{} is listed twice",
                    row.advisory, row.ecosystem, row.package
                ),
            });
        }
        if row.aliases.iter().any(|alias| alias.is_empty() || alias.contains('\n')) {
            return Err(StoreError::InvalidInput {
                backend,
                operation: OPERATION,
                message: format!("an alias of {} is empty or contains a line break", row.advisory),
            });
        }
    }
    Ok(())
}

/// One part of [`check_scoped`]'s result: the part and its scope as a set.
pub(crate) type CheckedPart<'a> = (&'a ScopedFindings, BTreeSet<(&'a str, &'a str)>);

/// The checks every backend makes before applying scoped findings: each part as
/// [`check`], every row inside its part's scope, each host once. Returns the parts in host id
/// order (the order hosts are locked in) with their scopes as sets.
pub(crate) fn check_scoped(
    backend: Backend,
    parts: &[ScopedFindings],
) -> Result<Vec<CheckedPart<'_>>, StoreError> {
    const OPERATION: &str = "apply scoped findings";
    let invalid =
        |message: String| StoreError::InvalidInput { backend, operation: OPERATION, message };
    let mut hosts: BTreeSet<HostId> = BTreeSet::new();
    let mut checked = Vec::with_capacity(parts.len());
    for part in parts {
        if !hosts.insert(part.host) {
            return Err(invalid(format!("host {} has two parts", part.host)));
        }
        check(backend, &part.current)?;
        let scope: BTreeSet<(&str, &str)> =
            part.scope.iter().map(|(e, p)| (e.as_str(), p.as_str())).collect();
        if let Some(row) = part
            .current
            .iter()
            .find(|row| !scope.contains(&(row.ecosystem.as_str(), row.package.as_str())))
        {
            return Err(invalid(format!(
                "host {}: finding {} for {}/{} is outside the part's scope",
                part.host, row.advisory, row.ecosystem, row.package
            )));
        }
        checked.push((part, scope));
    }
    checked.sort_by_key(|(part, _)| part.host);
    Ok(checked)
}

/// Compares the host's open findings (`(row id, row)`) with its `current` findings (without
/// duplicate identities, see [`check`]). Output is in identity order.
pub(crate) fn plan(open: Vec<(i64, FindingRow)>, current: &[FindingRow]) -> FindingsPlan<'_> {
    let now: BTreeMap<Identity<'_>, &FindingRow> =
        current.iter().map(|row| (identity(row), row)).collect();
    let mut plan = FindingsPlan::default();
    let mut still_open = BTreeMap::new();
    for (id, stored) in open {
        match now.get(&identity(&stored)) {
            Some(row) => {
                plan.unchanged += 1;
                if **row != stored {
                    plan.update.push((id, *row));
                }
                still_open.insert((stored.advisory, stored.ecosystem, stored.package), ());
            }
            None => plan.resolve.push((id, stored)),
        }
    }
    for (key, row) in now {
        if !still_open.contains_key(&(key.0.to_owned(), key.1.to_owned(), key.2.to_owned())) {
            plan.open.push(row);
        }
    }
    plan.resolve.sort_by(|a, b| identity(&a.1).cmp(&identity(&b.1)));
    plan
}

/// Aliases as SQLite stores them: joined with newlines (no alias contains one, see [`check`]).
pub(crate) fn join_aliases(aliases: &[String]) -> String {
    aliases.join("\n")
}

pub(crate) fn split_aliases(text: &str) -> Vec<String> {
    if text.is_empty() {
        Vec::new()
    } else {
        text.split('\n').map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(advisory: &str, package: &str, version: &str) -> FindingRow {
        FindingRow {
            advisory: advisory.into(),
            aliases: vec![],
            ecosystem: "crates.io".into(),
            package: package.into(),
            version: version.into(),
            severity: None,
            score: None,
        }
    }

    /// Plans `current` against `open` and returns (opened advisories, resolved ids, updated
    /// ids, unchanged).
    fn check_plan(
        open: &[(i64, FindingRow)],
        current: &[FindingRow],
        expect: (&[&str], &[i64], &[i64], usize),
    ) {
        let plan = plan(open.to_vec(), current);
        let opened: Vec<&str> = plan.open.iter().map(|r| r.advisory.as_str()).collect();
        let resolved: Vec<i64> = plan.resolve.iter().map(|r| r.0).collect();
        let updated: Vec<i64> = plan.update.iter().map(|r| r.0).collect();
        assert_eq!(
            (opened.as_slice(), resolved.as_slice(), updated.as_slice(), plan.unchanged),
            expect
        );
    }

    #[test]
    fn plans() {
        let a = row("A", "p", "1");
        let b = row("B", "p", "1");
        check_plan(&[], &[b.clone(), a.clone()], (&["A", "B"], &[], &[], 0));
        check_plan(&[(1, a.clone())], &[a.clone(), b.clone()], (&["B"], &[], &[], 1));
        check_plan(
            &[(1, a.clone()), (2, b.clone())],
            std::slice::from_ref(&b),
            (&[], &[1], &[], 1),
        );
        check_plan(&[(1, a.clone())], &[row("A", "p", "2")], (&[], &[], &[1], 1));
        check_plan(&[(1, a.clone())], &[row("A", "q", "1")], (&["A"], &[1], &[], 0));
        check_plan(&[(1, a)], &[], (&[], &[1], &[], 0));
    }

    #[test]
    fn duplicates_and_line_breaks_are_refused() {
        let a = row("A", "p", "1");
        assert!(check(Backend::Sqlite, &[a.clone(), row("B", "p", "1")]).is_ok());
        assert!(check(Backend::Sqlite, &[a.clone(), row("A", "p", "2")]).is_err());
        let bad = FindingRow { aliases: vec!["CVE-1\nCVE-2".into()], ..a };
        assert!(check(Backend::Sqlite, std::slice::from_ref(&bad)).is_err());
        let empty = FindingRow { aliases: vec![String::new()], ..bad };
        assert!(check(Backend::Sqlite, &[empty]).is_err());
    }

    #[test]
    fn aliases_round_trip() {
        for aliases in [vec![], vec!["CVE-1".to_owned()], vec!["CVE-1".into(), "GHSA-x".into()]] {
            assert_eq!(split_aliases(&join_aliases(&aliases)), aliases);
        }
    }
}
