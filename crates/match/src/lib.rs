//! Matching: packages × advisories → findings. Pure: the advisories come through the
//! [`Advisories`] trait (the binary implements it over the index), the clock through
//! [`Options::today`].
//!
//! For every package with an exact version, every advisory of its (ecosystem, name) whose
//! `affected[]` entry includes the version under the ecosystem's ordering is a hit
//! ([`ward_advisory::affects`]: native Composer/npm constraints first, then OSV ranges).
//! OS packages are matched on their **source** package and source version, only against
//! advisories of the same distribution release, so backported fixes are not false positives.
//! Withdrawn advisories never match. Hits of one package that share an id or alias merge into
//! one [`Finding`]; findings are rated ([`severity`]), enriched with KEV and EPSS, sorted by
//! risk, and given the smallest upgrade that fixes them all ([`fix`]). Ignore rules and VEX
//! statements ([`ignore`]) hide what they cover, with the reason kept.

#![forbid(unsafe_code)]

pub mod fix;
pub mod ignore;
pub mod index;
pub mod model;
pub mod severity;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use chrono::NaiveDate;
use ward_advisory::affects::affects;
use ward_advisory::model::{Affected, Record};
use ward_inventory::Package;
use ward_version::EcosystemKind;

pub use model::{
    Epss, Finding, Kev, Kind, MatchError, PackageFindings, Scan, Suppressed, Unchecked,
};
pub use severity::{Level, Severity};

/// Where the matcher gets advisories and enrichment from.
pub trait Advisories {
    type Error: fmt::Display;

    /// Every record with an `affected[]` entry for (ecosystem, name): `ecosystem` is the OSV
    /// name with its release when the package has one (`Debian:12`), the name as the
    /// inventory spells it (the source implements per-ecosystem normalization).
    fn affecting(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, Self::Error>;

    /// [`Advisories::affecting`], where the source may leave out the records for which
    /// `may_match(head)` is false (it need not: the matcher decides again on what it gets).
    fn affecting_where(
        &self,
        ecosystem: &str,
        name: &str,
        may_match: &mut dyn FnMut(&ward_advisory::model::RecordHead) -> bool,
    ) -> Result<Vec<Arc<Record>>, Self::Error> {
        let _ = may_match;
        self.affecting(ecosystem, name)
    }

    /// The KEV entry of a CVE, when a KEV catalogue was imported.
    fn kev(&self, cve: &str) -> Result<Option<Kev>, Self::Error>;

    /// The EPSS score of a CVE, when scores were imported.
    fn epss(&self, cve: &str) -> Result<Option<Epss>, Self::Error>;
}

/// What a scan is about, besides the packages.
#[derive(Clone, Debug)]
pub struct Options {
    /// Today, for rule expiry.
    pub today: NaiveDate,
    /// The host the packages are on, for host-scoped rules.
    pub host: Option<String>,
    /// Ignore rules and VEX statements.
    pub rules: Vec<ignore::Rule>,
}

/// One hit: a record and the entry of it that includes the package's version.
struct Hit {
    record: Arc<Record>,
    entry: usize,
}

impl Hit {
    fn affected(&self) -> &Affected {
        &self.record.affected[self.entry]
    }
}

/// Whether the package comes from a distribution's package manager (matched on its source).
fn is_os(kind: EcosystemKind) -> bool {
    matches!(
        kind.scheme(),
        Some(ward_version::Scheme::Dpkg | ward_version::Scheme::Rpm | ward_version::Scheme::Apk)
    )
}

/// The name and version advisories use for a package: the source package for OS packages.
fn subject(p: &Package) -> (&str, &str) {
    match &p.source {
        Some(s) if is_os(p.ecosystem.kind()) => (&s.name, &s.version),
        _ => (&p.name, &p.version),
    }
}

/// Why a package cannot be checked, if it cannot.
fn uncheckable(p: &Package) -> Option<String> {
    if p.version.is_empty() {
        return Some(match &p.requirement {
            Some(r) => format!("no exact version (requirement {r:?}); lock it to check it"),
            None => "no exact version".to_string(),
        });
    }
    if is_os(p.ecosystem.kind()) && p.ecosystem.release().is_none() {
        return Some(format!(
            "the {} release is unknown; scan the host with --host or name it with --distro",
            p.ecosystem.kind().name()
        ));
    }
    if p.ecosystem.scheme().is_err() {
        return Some(format!("ward has no version ordering for {}", p.ecosystem));
    }
    None
}

/// Whether an `affected[]` entry is about this package (records may list several).
fn entry_concerns(a: &Affected, p: &Package, name: &str) -> bool {
    let Some(ap) = &a.package else { return false };
    if ap.ecosystem.base() != p.ecosystem.kind().name() {
        return false;
    }
    if let (Some(want), Some(have)) =
        (p.ecosystem.release(), ap.ecosystem.parsed().and_then(|e| e.release()))
    {
        if want != have {
            return false;
        }
    }
    let base = p.ecosystem.kind().name();
    if ap.name != name
        && ward_advisory::name::normalize(base, &ap.name)
            != ward_advisory::name::normalize(base, name)
    {
        return false;
    }
    // A security-suite fact names the binaries it built: a binary it did not build (dropped,
    // renamed) is not upgraded by it, exactly as apt sees it.
    if let Some(binaries) =
        a.database_specific.as_ref().and_then(|d| d.get("binaries")).and_then(|b| b.as_array())
    {
        if !binaries.iter().any(|b| b.as_str() == Some(p.name.as_str())) {
            return false;
        }
    }
    true
}

fn kind_of(record: &Record, a: &Affected) -> Kind {
    let specific = |key: &str| -> Option<String> {
        a.database_specific
            .as_ref()
            .and_then(|d| d.get(key))
            .or_else(|| record.database_specific.as_ref().and_then(|d| d.get(key)))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    if specific("source").as_deref() == Some("apt-security-suite") {
        return Kind::SecurityUpdate;
    }
    match specific("informational").as_deref() {
        Some("unmaintained") => Kind::Unmaintained,
        Some("unsound") => Kind::Unsound,
        Some(_) => Kind::Notice,
        None => Kind::Vulnerability,
    }
}

/// Which id to show first: the ecosystem's own database (RUSTSEC, PYSEC, GO, DSA, ...), then
/// GHSA, then CVE.
fn id_rank(id: &str) -> u8 {
    if id.starts_with("CVE-") {
        2
    } else if id.starts_with("GHSA-") {
        1
    } else {
        0
    }
}

fn fixed_versions(a: &Affected) -> impl Iterator<Item = &String> {
    a.ranges.iter().filter(|r| r.kind != "GIT").flat_map(|r| r.events.iter()).filter_map(
        |e| match e {
            ward_advisory::model::RangeEvent::Fixed(v) => Some(v),
            _ => None,
        },
    )
}

fn url_of(record: &Record) -> Option<String> {
    record
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or_else(|| record.references.first())
        .map(|r| r.url.clone())
}

/// A distinct package: ecosystem, name, version, and source package and version.
/// A distinct package: name, version, ecosystem and (OS packages) source name and version
/// (the name first: most comparisons end there).
type MatchKey<'p> = (&'p str, &'p str, &'p ward_version::Ecosystem, Option<(&'p str, &'p str)>);

/// The matched result of one distinct (ecosystem, name, version, source) package.
#[derive(Clone)]
struct Matched {
    findings: Vec<Finding>,
    notices: Vec<Finding>,
    upgrade: Option<String>,
    errors: Vec<MatchError>,
}

/// Matches packages against advisories and applies the rules.
pub fn scan<A: Advisories>(packages: &[Package], advisories: &A, options: &Options) -> Scan {
    let mut out = Scan::default();
    let mut cache: BTreeMap<MatchKey<'_>, std::rc::Rc<Matched>> = BTreeMap::new();
    // One entry per (input, package, version): a package locked twice in one file is one result.
    let mut grouped: BTreeMap<(String, String, String, String), PackageFindings> = BTreeMap::new();
    let mut rule_used = vec![false; options.rules.len()];
    let mut expired_warned = vec![false; options.rules.len()];
    for p in packages {
        if let Some(reason) = uncheckable(p) {
            out.unchecked.push(Unchecked { package: p.clone(), reason });
            continue;
        }
        if p.local {
            continue;
        }
        out.checked += 1;
        let key = (
            p.name.as_str(),
            p.version.as_str(),
            &p.ecosystem,
            p.source.as_ref().map(|s| (s.name.as_str(), s.version.as_str())),
        );
        let matched = std::rc::Rc::clone(
            cache.entry(key).or_insert_with(|| std::rc::Rc::new(match_one(p, advisories))),
        );
        out.errors.extend(matched.errors.iter().cloned());
        if matched.findings.is_empty() && matched.notices.is_empty() {
            continue;
        }
        let group_key =
            (p.location.path.clone(), p.ecosystem.to_string(), p.name.clone(), p.version.clone());
        if let Some(existing) = grouped.get_mut(&group_key) {
            if let Some(line) = p.location.line {
                if existing.package.location.line != Some(line) && !existing.also_at.contains(&line)
                {
                    existing.also_at.push(line);
                }
            }
            continue;
        }
        // Rules: each finding is hidden by the first rule that covers it and has not expired.
        let mut keep = |list: Vec<Finding>, out: &mut Scan| -> Vec<Finding> {
            let mut kept = Vec::new();
            'finding: for f in list {
                for (i, rule) in options.rules.iter().enumerate() {
                    match rule.verdict(&f, p, options.host.as_deref(), options.today) {
                        ignore::Verdict::NoMatch => {}
                        ignore::Verdict::Hides => {
                            rule_used[i] = true;
                            out.suppressed.push(Suppressed {
                                id: f.id.clone(),
                                ecosystem: p.ecosystem.to_string(),
                                package: p.name.clone(),
                                version: p.version.clone(),
                                path: p.location.path.clone(),
                                reason: rule.reason.clone(),
                                rule: rule.origin.clone(),
                                expires: rule.expires.map(|d| d.to_string()),
                            });
                            continue 'finding;
                        }
                        ignore::Verdict::Expired => {
                            rule_used[i] = true;
                            if !expired_warned[i] {
                                expired_warned[i] = true;
                                out.warnings.push(format!(
                                    "{}: the ignore rule for {} expired on {}; its findings are reported again",
                                    rule.origin,
                                    rule.id.as_deref().or(rule.package.as_deref()).unwrap_or("its scope"),
                                    rule.expires.map(|d| d.to_string()).unwrap_or_default()
                                ));
                            }
                        }
                    }
                }
                kept.push(f);
            }
            kept
        };
        let findings = keep(matched.findings.clone(), &mut out);
        let notices = keep(matched.notices.clone(), &mut out);
        if findings.is_empty() && notices.is_empty() {
            continue;
        }
        let upgrade = matched.upgrade.clone();
        let fix_command = upgrade.as_deref().and_then(|u| fix::command(p, u));
        grouped.insert(
            group_key,
            PackageFindings {
                package: p.clone(),
                also_at: Vec::new(),
                findings,
                notices,
                upgrade,
                fix_command,
            },
        );
    }
    for (i, rule) in options.rules.iter().enumerate() {
        // VEX documents describe many products; only config rules are expected to be used.
        if !rule_used[i] && rule.purl.is_none() {
            out.warnings.push(format!(
                "{}: the ignore rule for {} matched nothing; remove it if the finding is gone",
                rule.origin,
                rule.id.as_deref().or(rule.package.as_deref()).unwrap_or("its scope")
            ));
        }
    }
    let mut results: Vec<PackageFindings> = grouped.into_values().collect();
    results.sort_by(|a, b| {
        b.risk()
            .total_cmp(&a.risk())
            .then_with(|| b.findings.len().cmp(&a.findings.len()))
            .then_with(|| a.package.name.cmp(&b.package.name))
            .then_with(|| a.package.location.cmp(&b.package.location))
    });
    out.results = results;
    out.errors.sort();
    out.errors.dedup();
    out
}

/// Matches one distinct package.
fn match_one<A: Advisories>(p: &Package, advisories: &A) -> Matched {
    let (name, version) = subject(p);
    let mut errors = Vec::new();
    let error = |advisory: Option<&str>, message: String| MatchError {
        ecosystem: p.ecosystem.to_string(),
        package: p.name.clone(),
        version: p.version.clone(),
        advisory: advisory.map(str::to_string),
        message,
    };
    // Only records where an entry for this package affects the version (or cannot be
    // evaluated: the error is reported) are wanted; the rest need not be decoded.
    let mut may_match = |head: &ward_advisory::model::RecordHead| {
        head.withdrawn.is_none()
            && head
                .affected
                .iter()
                .any(|a| entry_concerns(a, p, name) && !matches!(affects(a, version), Ok(false)))
    };
    let records = match advisories.affecting_where(&p.ecosystem.to_string(), name, &mut may_match) {
        Ok(r) => r,
        Err(e) => {
            errors.push(error(None, format!("reading advisories: {e}")));
            return Matched { findings: vec![], notices: vec![], upgrade: None, errors };
        }
    };
    let mut hits: Vec<Hit> = Vec::new();
    for record in records {
        if record.withdrawn.is_some() {
            continue;
        }
        for (entry, a) in record.affected.iter().enumerate() {
            if !entry_concerns(a, p, name) {
                continue;
            }
            match affects(a, version) {
                Ok(true) => {
                    hits.push(Hit { record: Arc::clone(&record), entry });
                    break;
                }
                Ok(false) => {}
                Err(e) => errors.push(error(Some(&record.id), e.to_string())),
            }
        }
    }
    // Merge hits that share a name (id or alias), per kind.
    let mut groups: Vec<Vec<Hit>> = Vec::new();
    for hit in hits {
        let kind = kind_of(&hit.record, hit.affected());
        let names: Vec<String> = hit.record.names().map(str::to_ascii_uppercase).collect();
        let mut joined: Option<usize> = None;
        let mut i = 0;
        while i < groups.len() {
            let shares = kind_of(&groups[i][0].record, groups[i][0].affected()) == kind
                && groups[i]
                    .iter()
                    .any(|h| h.record.names().any(|n| names.contains(&n.to_ascii_uppercase())));
            if shares {
                match joined {
                    None => {
                        groups[i].push(Hit { record: Arc::clone(&hit.record), entry: hit.entry });
                        joined = Some(i);
                        i += 1;
                    }
                    Some(j) => {
                        let moved = groups.remove(i);
                        groups[j].extend(moved);
                    }
                }
            } else {
                i += 1;
            }
        }
        if joined.is_none() {
            groups.push(vec![hit]);
        }
    }
    let mut findings = Vec::new();
    let mut notices = Vec::new();
    // Fixed versions and entries of the findings, and of the notices (the upgrade fixes the
    // findings; with none, it fixes the notices that have a fix, e.g. unsound APIs).
    let mut gating: (Vec<String>, Vec<&Affected>) = (Vec::new(), Vec::new());
    let mut informational: (Vec<String>, Vec<&Affected>) = (Vec::new(), Vec::new());
    for group in &groups {
        let finding = merge(p, group, advisories, &mut errors);
        let (list, into) = if finding.kind.is_notice() {
            (&mut notices, &mut informational)
        } else {
            (&mut findings, &mut gating)
        };
        for hit in group {
            into.0.extend(fixed_versions(hit.affected()).cloned());
            into.1.push(hit.affected());
        }
        list.push(finding);
    }
    // A security update lists the CVE findings it fixes.
    let mut security: Vec<usize> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        if f.kind == Kind::SecurityUpdate {
            security.push(i);
        }
    }
    for i in security {
        let update = findings[i].fixed.last().cloned();
        let Some(update) = update else { continue };
        let fixed_by: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.kind == Kind::Vulnerability)
            .filter(|f| {
                f.fixed.iter().any(|v| {
                    ward_version::compare(&p.ecosystem, v, &update)
                        .is_ok_and(|o| o != std::cmp::Ordering::Greater)
                })
            })
            .collect();
        let mut cves: Vec<String> =
            fixed_by.iter().flat_map(|f| f.cves().map(str::to_string)).collect();
        cves.sort();
        cves.dedup();
        // An update is as urgent as the worst vulnerability it fixes.
        let worst = fixed_by.iter().map(|f| f.severity.clone()).reduce(Severity::worst);
        let risk = fixed_by.iter().map(|f| f.risk).fold(0.0, f64::max);
        let update = &mut findings[i];
        update.fixes = cves;
        if let Some(worst) = worst {
            update.severity = worst;
            update.risk = risk;
        }
    }
    let (candidates, entries) = if findings.is_empty() { &informational } else { &gating };
    let upgrade = if candidates.is_empty() {
        None
    } else {
        fix::smallest_upgrade(p, version, candidates, entries)
    };
    let order = |a: &Finding, b: &Finding| {
        b.risk
            .total_cmp(&a.risk)
            .then_with(|| a.published.cmp(&b.published))
            .then_with(|| a.id.cmp(&b.id))
    };
    findings.sort_by(order);
    notices.sort_by(order);
    Matched { findings, notices, upgrade, errors }
}

/// One finding from the hits that name the same vulnerability.
fn merge<A: Advisories>(
    p: &Package,
    group: &[Hit],
    advisories: &A,
    errors: &mut Vec<MatchError>,
) -> Finding {
    let mut ids: Vec<&str> = group.iter().map(|h| h.record.id.as_str()).collect();
    ids.sort_by_key(|id| (id_rank(id), *id));
    ids.dedup();
    let primary = group.iter().find(|h| h.record.id == ids[0]).unwrap_or(&group[0]);
    let mut names: Vec<String> = group
        .iter()
        .flat_map(|h| h.record.names().map(str::to_string).collect::<Vec<_>>())
        .filter(|n| n != ids[0])
        .collect();
    names.sort();
    names.dedup();
    let kind = kind_of(&primary.record, primary.affected());
    let severity = group
        .iter()
        .map(|h| severity::of_record(&h.record, Some(h.affected())))
        .reduce(Severity::worst)
        .unwrap_or_else(Severity::unknown);
    let mut fixed: Vec<String> =
        group.iter().flat_map(|h| fixed_versions(h.affected()).cloned()).collect();
    fix::sort_versions(p, &mut fixed);
    let cves: Vec<String> = std::iter::once(ids[0].to_string())
        .chain(names.iter().cloned())
        .filter(|n| n.starts_with("CVE-"))
        .collect();
    let mut kev = None;
    let mut epss: Option<Epss> = None;
    let record_error = |errors: &mut Vec<MatchError>, e: &dyn fmt::Display| {
        errors.push(MatchError {
            ecosystem: p.ecosystem.to_string(),
            package: p.name.clone(),
            version: p.version.clone(),
            advisory: Some(ids[0].to_string()),
            message: format!("reading enrichment: {e}"),
        })
    };
    for cve in &cves {
        match advisories.kev(cve) {
            Ok(Some(k)) if kev.is_none() => kev = Some(k),
            Ok(_) => {}
            Err(e) => record_error(errors, &e),
        }
        match advisories.epss(cve) {
            Ok(Some(s)) if epss.as_ref().is_none_or(|best| s.score > best.score) => epss = Some(s),
            Ok(_) => {}
            Err(e) => record_error(errors, &e),
        }
    }
    let risk = severity.sort_score() * epss.as_ref().map_or(1.0, |e| e.score)
        + if kev.is_some() { 100.0 } else { 0.0 };
    let published = group.iter().filter_map(|h| h.record.published.clone()).min();
    Finding {
        id: ids[0].to_string(),
        aliases: names,
        kind,
        summary: primary.record.summary.clone().or_else(|| {
            primary.record.details.as_ref().map(|d| d.lines().next().unwrap_or("").to_string())
        }),
        severity,
        kev,
        epss,
        fixed,
        fixes: Vec::new(),
        published,
        url: url_of(&primary.record),
        risk,
        records: ids.iter().map(|s| s.to_string()).collect(),
    }
}
