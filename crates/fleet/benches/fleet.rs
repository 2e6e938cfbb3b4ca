//! The fleet benchmark: a deterministic synthetic fleet ingested by simulated agents into each
//! store backend, then re-matched after one new advisory and after a full index update.
//!
//! One long run per backend, not a statistics harness: it prints a markdown table.
//!
//! ```text
//! cargo bench -p ward-fleet --bench fleet -- [--hosts 10000] [--packages 1000] [--threads N]
//!     [--advisories 2000] [--backend sqlite|postgres|both] [--seed 1] [--rematch-all yes|no]
//! ```
//!
//! `--rematch-all no` skips the full re-matches (the new-advisory lines remain).
//!
//! PostgreSQL is `WARD_BENCH_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`); the
//! run uses a fresh schema `ward_bench_…` and drops it at the end. SQLite is a WAL file under
//! cargo's target tmp directory, deleted at the end.
//!
//! The fleet: every host runs Debian 12 — 60 % of its packages are OS packages (half an
//! essential base every host has, half drawn from the rest of a catalogue 1.5× that size;
//! binaries grouped under source packages, one version per source per host, four version
//! variants skewed to the newest) — and 40 % application dependencies (crates.io, npm, PyPI)
//! drawn with a popularity skew from a catalogue 15× that size, so packages repeat across
//! hosts as in real fleets. Advisories are OSV records with one ECOSYSTEM range fixed at the
//! third variant: the two oldest variants are affected.

#![allow(clippy::print_stdout, reason = "a benchmark binary prints its table")]
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly on any unexpected error")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use ward_advisory::model::Record;
use ward_fleet::{keys_of, rematch_all, rematch_packages, RematchReport};
use ward_match::{Advisories, Epss, Kev, Options};
use ward_store::{HostFilter, HostId, HostInfo, PackageRow, Page, ScopedFindings, Store};
use ward_testdata::postgres::FreshSchema;
use ward_version::Ecosystem;

/// Probability weights of the four version variants (oldest first): most hosts are current.
const VARIANT_WEIGHTS: [u64; 4] = [10, 15, 25, 50];

/// Share of existing advisories about OS source packages (the rest are about app packages).
const OS_ADVISORY_PERCENT: u64 = 10;

/// Share of a host's packages whose version changes between the two ingest rounds.
const CHANGED_PERCENT: u64 = 2;

// ---- arguments ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Args {
    hosts: usize,
    packages: usize,
    threads: usize,
    advisories: usize,
    backends: Vec<String>,
    seed: u64,
    rematch_all: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        hosts: 10_000,
        packages: 1_000,
        threads: std::thread::available_parallelism().map_or(2, usize::from),
        advisories: 2_000,
        backends: vec!["sqlite".into(), "postgres".into()],
        seed: 1,
        rematch_all: true,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        if flag == "--bench" {
            continue; // cargo bench passes it
        }
        let value = raw.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || value.parse::<usize>().unwrap_or_else(|e| panic!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--hosts" => args.hosts = number(),
            "--packages" => args.packages = number(),
            "--threads" => args.threads = number().max(1),
            "--advisories" => args.advisories = number(),
            "--seed" => args.seed = number() as u64,
            "--rematch-all" => {
                args.rematch_all = match value.as_str() {
                    "yes" => true,
                    "no" => false,
                    other => panic!("--rematch-all {other}: yes or no"),
                }
            }
            "--backend" => {
                args.backends = match value.as_str() {
                    "both" => vec!["sqlite".into(), "postgres".into()],
                    "sqlite" | "postgres" => vec![value.clone()],
                    other => panic!("--backend {other}: sqlite, postgres or both"),
                }
            }
            other => panic!(
                "unknown argument {other}; use --hosts --packages --threads --advisories \
                 --backend --seed --rematch-all"
            ),
        }
    }
    args
}

// ---- deterministic randomness ---------------------------------------------------------------

use ward_testdata::rng::SplitMix64 as Rng;

/// A version variant, drawn with `VARIANT_WEIGHTS`.
fn variant(rng: &mut Rng) -> u8 {
    let total: u64 = VARIANT_WEIGHTS.iter().sum();
    let mut pick = rng.next_u64() % total;
    for (variant, weight) in VARIANT_WEIGHTS.iter().enumerate() {
        if pick < *weight {
            return variant as u8;
        }
        pick -= weight;
    }
    3
}

// ---- the catalogue and the fleet ------------------------------------------------------------

#[derive(Debug)]
struct OsBinary {
    name: String,
    source: usize,
}

#[derive(Debug)]
struct AppPackage {
    ecosystem: &'static str,
    name: String,
    major: u32,
}

/// Every package a host can have, and how hosts choose from it.
#[derive(Debug)]
struct Catalogue {
    seed: u64,
    /// Source package names.
    sources: Vec<String>,
    /// OS binaries; the first `essential` are on every host.
    binaries: Vec<OsBinary>,
    essential: usize,
    os_per_host: usize,
    apps: Vec<AppPackage>,
    apps_per_host: usize,
}

/// One package on one host: an index into the catalogue and a version variant.
#[derive(Debug, Clone, Copy)]
enum Pick {
    Os { binary: usize, variant: u8 },
    App { app: usize, variant: u8 },
}

impl Catalogue {
    fn new(seed: u64, packages: usize) -> Catalogue {
        let os_per_host = packages * 6 / 10;
        let apps_per_host = packages - os_per_host;
        let mut rng = Rng::new(&[seed, 1]);
        let mut sources = Vec::new();
        let mut binaries = Vec::new();
        let os_size = os_per_host * 3 / 2;
        while binaries.len() < os_size {
            let source = sources.len();
            let name = format!("src{source:04}");
            let count = 1 + rng.below(4);
            for i in 0..count.min(os_size - binaries.len()) {
                let binary = match i {
                    0 => name.clone(),
                    1 => format!("lib{name}-1"),
                    2 => format!("{name}-common"),
                    _ => format!("{name}-utils"),
                };
                binaries.push(OsBinary { name: binary, source });
            }
            sources.push(name);
        }
        let apps = (0..apps_per_host * 15)
            .map(|i| {
                let (ecosystem, prefix) = match i % 3 {
                    0 => ("crates.io", "crate"),
                    1 => ("npm", "node-pkg"),
                    _ => ("PyPI", "py-lib"),
                };
                AppPackage {
                    ecosystem,
                    name: format!("{prefix}-{i:05}"),
                    major: 1 + (i % 5) as u32,
                }
            })
            .collect();
        Catalogue {
            seed,
            sources,
            binaries,
            essential: os_per_host / 2,
            os_per_host,
            apps,
            apps_per_host,
        }
    }

    /// The packages of `host` in ingest `round` (1 or 2; round 2 changes a few versions).
    fn picks(&self, host: usize, round: u32) -> Vec<Pick> {
        let mut rng = Rng::new(&[self.seed, 2, host as u64]);
        let mut picks = Vec::with_capacity(self.os_per_host + self.apps_per_host);
        // One version per source package per host.
        let mut source_variant = BTreeMap::new();
        let mut os_variant = |rng: &mut Rng, source: usize| {
            *source_variant.entry(source).or_insert_with(|| variant(rng))
        };
        let mut chosen = BTreeSet::new();
        for binary in 0..self.essential {
            chosen.insert(binary);
        }
        while chosen.len() < self.os_per_host.min(self.binaries.len()) {
            chosen.insert(self.essential + rng.below(self.binaries.len() - self.essential));
        }
        for binary in chosen {
            let variant = os_variant(&mut rng, self.binaries[binary].source);
            picks.push(Pick::Os { binary, variant });
        }
        let mut chosen = BTreeSet::new();
        while chosen.len() < self.apps_per_host.min(self.apps.len()) {
            // Popularity skew: low indices are on most hosts, high ones on few.
            let u = rng.unit();
            chosen.insert(((u * u * u) * self.apps.len() as f64) as usize);
        }
        for app in chosen {
            picks.push(Pick::App { app, variant: variant(&mut rng) });
        }
        if round >= 2 {
            let mut change = Rng::new(&[self.seed, 3, host as u64]);
            for pick in &mut picks {
                if change.next_u64() % 100 < CHANGED_PERCENT {
                    let (Pick::Os { variant, .. } | Pick::App { variant, .. }) = pick;
                    *variant = if *variant == 3 { 2 } else { *variant + 1 };
                }
            }
        }
        picks
    }

    fn row(&self, pick: Pick) -> PackageRow {
        match pick {
            Pick::Os { binary, variant } => {
                let binary = &self.binaries[binary];
                PackageRow {
                    ecosystem: "Debian:12".into(),
                    name: binary.name.clone(),
                    version: format!("{}.{variant}.{}-1", 1 + binary.source % 9, binary.source % 7),
                    source: Some(self.sources[binary.source].clone()),
                    source_version: None,
                }
            }
            Pick::App { app, variant } => {
                let app = &self.apps[app];
                PackageRow {
                    ecosystem: app.ecosystem.into(),
                    name: app.name.clone(),
                    version: format!("{}.{variant}.3", app.major),
                    source: None,
                    source_version: None,
                }
            }
        }
    }

    fn rows(&self, host: usize, round: u32) -> Vec<PackageRow> {
        self.picks(host, round).into_iter().map(|pick| self.row(pick)).collect()
    }

    /// An OSV record for a source package, fixed at its third variant.
    fn os_advisory(&self, id: &str, source: usize) -> Record {
        let fixed = format!("{}.2-0", 1 + source % 9);
        osv(id, "Debian:12", &self.sources[source], &fixed)
    }

    /// An OSV record for an app package, fixed at its third variant.
    fn app_advisory(&self, id: &str, app: usize) -> Record {
        let package = &self.apps[app];
        osv(id, package.ecosystem, &package.name, &format!("{}.2.0", package.major))
    }
}

fn osv(id: &str, ecosystem: &str, name: &str, fixed: &str) -> Record {
    serde_json::from_value(serde_json::json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": "2026-01-01T00:00:00Z",
        "aliases": [format!("CVE-2026-{}", 10_000 + id.len() * 7 + name.len())],
        "affected": [{
            "package": { "ecosystem": ecosystem, "name": name },
            "ranges": [{
                "type": "ECOSYSTEM",
                "events": [{ "introduced": "0" }, { "fixed": fixed }]
            }]
        }],
        "severity": [{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }]
    }))
    .unwrap()
}

// ---- advisories in memory, indexed as the real index is -------------------------------------

#[derive(Debug, Default)]
struct Memory {
    /// (ecosystem base, normalized name) → records.
    by_package: BTreeMap<(String, String), Vec<Arc<Record>>>,
}

impl Memory {
    fn add(&mut self, record: Record) {
        let record = Arc::new(record);
        let keys: BTreeSet<(String, String)> = record
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| {
                let base = p.ecosystem.base().to_owned();
                let name = ward_advisory::name::normalize(&base, &p.name);
                (base, name)
            })
            .collect();
        for key in keys {
            self.by_package.entry(key).or_default().push(Arc::clone(&record));
        }
    }
}

impl Advisories for Memory {
    type Error = String;

    fn affecting(&self, ecosystem: &str, name: &str) -> Result<Vec<Arc<Record>>, String> {
        let base = Ecosystem::parse(ecosystem).map_err(|e| e.to_string())?.kind().name();
        let key = (base.to_owned(), ward_advisory::name::normalize(base, name));
        Ok(self.by_package.get(&key).cloned().unwrap_or_default())
    }

    fn kev(&self, _cve: &str) -> Result<Option<Kev>, String> {
        Ok(None)
    }

    fn epss(&self, _cve: &str) -> Result<Option<Epss>, String> {
        Ok(None)
    }
}

// ---- backends -------------------------------------------------------------------------------

/// A database for one run, removed when dropped.
#[derive(Debug)]
enum Database {
    Sqlite { path: std::path::PathBuf },
    Postgres { schema: FreshSchema },
}

impl Database {
    fn create(backend: &str) -> Database {
        match backend {
            "sqlite" => {
                let stamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
                let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
                    .join(format!("ward-fleet-bench-{}-{stamp}.db", std::process::id()));
                Database::Sqlite { path }
            }
            _ => {
                let admin = std::env::var("WARD_BENCH_POSTGRES")
                    .unwrap_or_else(|_| ward_testdata::postgres::DEFAULT_URL.to_owned());
                Database::Postgres {
                    schema: ward_testdata::postgres::fresh_schema_at(&admin, "ward_bench"),
                }
            }
        }
    }

    fn url(&self) -> String {
        match self {
            Database::Sqlite { path } => format!("sqlite://{}", path.display()),
            Database::Postgres { schema } => schema.url().to_owned(),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Database::Sqlite { .. } => "SQLite",
            Database::Postgres { .. } => "PostgreSQL",
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // PostgreSQL: the schema drops itself (FreshSchema).
        if let Database::Sqlite { path } = self {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

// ---- the phases -----------------------------------------------------------------------------

fn day(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 2, day, 0, 0, 0).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, 20).unwrap()
}

fn host_name(host: usize) -> String {
    format!("host-{host:05}.bench.example")
}

/// T simulated agents, each with its own store handle (as separate server processes would):
/// hosts are dealt round-robin; each reports `round`. Returns the host ids by host index and
/// the package rows sent.
fn ingest(
    url: &str,
    catalogue: &Catalogue,
    args: &Args,
    round: u32,
) -> (Vec<HostId>, usize, Duration) {
    let rows_sent = AtomicUsize::new(0);
    let started = Instant::now();
    let ids: Vec<(usize, HostId)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..args.threads)
            .map(|worker| {
                let rows_sent = &rows_sent;
                scope.spawn(move || {
                    let store = ward_store::open(url).unwrap();
                    let mut ids = Vec::new();
                    for host in (worker..args.hosts).step_by(args.threads) {
                        let info = HostInfo {
                            name: host_name(host),
                            os: Some("Debian:12".into()),
                            groups: vec![format!("rack-{}", host % 20)],
                            tags: vec![if host % 3 == 0 { "prod" } else { "dev" }.into()],
                        };
                        let at = day(round);
                        let id = store.upsert_host(&info, at).unwrap();
                        let rows = catalogue.rows(host, round);
                        rows_sent.fetch_add(rows.len(), Ordering::Relaxed);
                        let key = format!("{}-report-{round}", info.name);
                        let diff = store.record_inventory(id, at, &rows, &key).unwrap();
                        assert!(!diff.duplicate, "{key} was recorded twice");
                        ids.push((host, id));
                    }
                    ids
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut ids = ids;
    ids.sort();
    (ids.into_iter().map(|(_, id)| id).collect(), rows_sent.into_inner(), elapsed)
}

/// The existing advisories: `count` records over catalogue packages, and the set of app
/// packages they name.
fn existing_advisories(catalogue: &Catalogue, count: usize) -> (Vec<Record>, BTreeSet<usize>) {
    let mut rng = Rng::new(&[catalogue.seed, 4]);
    let mut records = Vec::with_capacity(count);
    let mut apps = BTreeSet::new();
    for i in 0..count {
        let id = format!("BENCH-{i:05}");
        if rng.next_u64() % 100 < OS_ADVISORY_PERCENT {
            records.push(catalogue.os_advisory(&id, rng.below(catalogue.sources.len())));
        } else {
            let app = rng.below(catalogue.apps.len());
            apps.insert(app);
            records.push(catalogue.app_advisory(&id, app));
        }
    }
    (records, apps)
}

/// App packages no existing advisory names, closest first to being on `share` of the hosts.
fn packages_near_share(
    catalogue: &Catalogue,
    hosts: usize,
    taken: &BTreeSet<usize>,
    share: f64,
) -> Vec<(usize, usize)> {
    let mut on_hosts = vec![0usize; catalogue.apps.len()];
    for host in 0..hosts {
        for pick in catalogue.picks(host, 2) {
            if let Pick::App { app, .. } = pick {
                on_hosts[app] += 1;
            }
        }
    }
    let target = share * hosts as f64;
    let mut candidates: Vec<(usize, usize)> = on_hosts
        .into_iter()
        .enumerate()
        .filter(|(app, count)| !taken.contains(app) && *count > 0)
        .collect();
    candidates.sort_by(|a, b| (a.1 as f64 - target).abs().total_cmp(&(b.1 as f64 - target).abs()));
    candidates
}

/// Time spent per phase of a re-match, measured by running the same steps as
/// `ward_fleet::rematch_all` (per host: load the inventory, match, apply) or
/// `ward_fleet::rematch_packages` (one `packages_for_keys`, match the selected packages, one
/// `apply_findings_scoped`) one at a time, with the crate's own conversions.
#[derive(Debug, Default)]
struct Phases {
    lookup: Duration,
    load: Duration,
    matching: Duration,
    apply: Duration,
    hosts: usize,
    new: usize,
    resolved: usize,
}

impl Phases {
    fn total(&self) -> Duration {
        self.lookup + self.load + self.matching + self.apply
    }

    fn describe(&self) -> String {
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1e3);
        if self.load.is_zero() {
            // Keyed: the lookup reads the packages too.
            return format!(
                "lookup with packages {}, match {}, apply {}",
                ms(self.lookup),
                ms(self.matching),
                ms(self.apply)
            );
        }
        format!(
            "lookup {}, load {}, match {}, apply {}",
            ms(self.lookup),
            ms(self.load),
            ms(self.matching),
            ms(self.apply)
        )
    }
}

fn phased_rematch(
    store: &dyn Store,
    advisories: &Memory,
    keys: Option<&[(String, String)]>,
    now: DateTime<Utc>,
) -> Phases {
    let mut phases = Phases::default();
    if let Some(keys) = keys {
        return phased_keyed_rematch(store, advisories, keys, now);
    }
    let started = Instant::now();
    let hosts: Vec<HostId> = {
        let mut hosts = Vec::new();
        let mut page = Page::first(500);
        loop {
            let batch = store.hosts(&HostFilter::default(), page).unwrap();
            let Some(last) = batch.last() else { break };
            page.after = Some(last.id);
            hosts.extend(batch.iter().map(|h| h.id));
        }
        hosts
    };
    phases.lookup = started.elapsed();
    let options = Options { today: today(), host: None, rules: Vec::new() };
    for host in hosts {
        let started = Instant::now();
        let rows = store.current_packages(host).unwrap();
        phases.load += started.elapsed();
        let started = Instant::now();
        let (packages, _) = ward_fleet::packages_of(host, &rows);
        let scan = ward_match::scan(&packages, advisories, &options);
        assert!(scan.errors.is_empty(), "{:?}", scan.errors);
        let findings = ward_fleet::finding_rows(&scan);
        phases.matching += started.elapsed();
        let started = Instant::now();
        let diff = store.apply_findings(host, now, &findings).unwrap();
        phases.apply += started.elapsed();
        phases.hosts += 1;
        phases.new += diff.new;
        phases.resolved += diff.resolved;
    }
    phases
}

/// `ward_fleet::rematch_packages`, phase by phase.
fn phased_keyed_rematch(
    store: &dyn Store,
    advisories: &Memory,
    keys: &[(String, String)],
    now: DateTime<Utc>,
) -> Phases {
    let mut phases = Phases::default();
    let started = Instant::now();
    let mut by_host: BTreeMap<HostId, Vec<PackageRow>> = BTreeMap::new();
    for (host, row) in store.packages_for_keys(keys).unwrap() {
        by_host.entry(host).or_default().push(row);
    }
    phases.lookup = started.elapsed();
    let started = Instant::now();
    let options = Options { today: today(), host: None, rules: Vec::new() };
    let parts: Vec<ScopedFindings> = by_host
        .iter()
        .map(|(host, rows)| {
            let (packages, _) = ward_fleet::packages_of(*host, rows);
            let scope: BTreeSet<(String, String)> =
                packages.iter().map(|p| (p.ecosystem.to_string(), p.name.clone())).collect();
            let scan = ward_match::scan(&packages, advisories, &options);
            assert!(scan.errors.is_empty(), "{:?}", scan.errors);
            ScopedFindings {
                host: *host,
                scope: scope.into_iter().collect(),
                current: ward_fleet::finding_rows(&scan),
            }
        })
        .collect();
    phases.matching = started.elapsed();
    let started = Instant::now();
    let diff = store.apply_findings_scoped(now, &parts).unwrap();
    phases.apply = started.elapsed();
    phases.hosts = by_host.len();
    phases.new = diff.new;
    phases.resolved = diff.resolved;
    phases
}

// ---- the run --------------------------------------------------------------------------------

struct Table {
    rows: String,
}

impl Table {
    fn new() -> Table {
        Table { rows: String::from("| backend | what | figure |\n|---|---|---|\n") }
    }

    fn row(&mut self, backend: &str, what: &str, figure: String) {
        writeln!(self.rows, "| {backend} | {what} | {figure} |").unwrap();
        println!("  {what}: {figure}");
    }
}

fn secs(duration: Duration) -> String {
    let s = duration.as_secs_f64();
    if s < 10.0 {
        format!("{:.0} ms", s * 1e3)
    } else {
        format!("{s:.1} s")
    }
}

fn rate(count: usize, duration: Duration) -> String {
    let per_second = count as f64 / duration.as_secs_f64();
    if per_second >= 10_000.0 {
        format!("{:.0} k", per_second / 1e3)
    } else {
        format!("{per_second:.0}")
    }
}

fn describe(report: &RematchReport) -> String {
    format!(
        "{} hosts, {} packages, {} new, {} resolved",
        report.hosts, report.packages, report.new, report.resolved
    )
}

fn run(backend: &str, args: &Args, catalogue: &Catalogue, table: &mut Table) {
    let database = Database::create(backend);
    let name = database.name();
    let url = database.url();
    println!(
        "{name}: {} hosts × {} packages, {} agent threads",
        args.hosts, args.packages, args.threads
    );
    // Migrate once, so the agents do not all race to create the schema.
    drop(ward_store::open(&url).unwrap());

    let (ids, rows, elapsed) = ingest(&url, catalogue, args, 1);
    table.row(
        name,
        &format!("ingest, first report ({} hosts × {} packages)", args.hosts, args.packages),
        format!(
            "{} total; {} hosts/s, {} package rows/s",
            secs(elapsed),
            rate(args.hosts, elapsed),
            rate(rows, elapsed)
        ),
    );
    let (ids_again, _, elapsed) = ingest(&url, catalogue, args, 2);
    assert_eq!(ids, ids_again, "hosts were not recognized by name");
    table.row(
        name,
        &format!("ingest, second report ({CHANGED_PERCENT} % of packages changed)"),
        format!("{} total; {} hosts/s", secs(elapsed), rate(args.hosts, elapsed)),
    );

    let store = ward_store::open(&url).unwrap();
    let store = store.as_ref();
    let (records, taken) = existing_advisories(catalogue, args.advisories);
    let mut advisories = Memory::default();
    for record in records {
        advisories.add(record);
    }

    if args.rematch_all {
        let started = Instant::now();
        let report = rematch_all(store, &advisories, today(), day(3)).unwrap();
        let elapsed = started.elapsed();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        table.row(
            name,
            &format!("`rematch_all`, first ({} advisories; opens every finding)", args.advisories),
            format!("{} ({})", secs(elapsed), describe(&report)),
        );

        let started = Instant::now();
        let report = rematch_all(store, &advisories, today(), day(4)).unwrap();
        let elapsed = started.elapsed();
        table.row(
            name,
            "`rematch_all` after a full index update (nothing changed)",
            format!(
                "{} ({}; {} hosts/s)",
                secs(elapsed),
                describe(&report),
                rate(report.hosts, elapsed)
            ),
        );
        let phases = phased_rematch(store, &advisories, None, day(5));
        table.row(
            name,
            "… the same, by phase",
            format!("{} = {}", secs(phases.total()), phases.describe()),
        );
    }

    // One new advisory on a package ~10 % of hosts have; a second one, timed by phase.
    let candidates = packages_near_share(catalogue, args.hosts, &taken, 0.10);
    let (app, on_hosts) = candidates[0];
    let new = catalogue.app_advisory("BENCH-NEW-1", app);
    let keys = keys_of(std::slice::from_ref(&new));
    advisories.add(new);
    let started = Instant::now();
    let report = rematch_packages(store, &advisories, &keys, today(), day(6)).unwrap();
    let elapsed = started.elapsed();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.hosts, on_hosts);
    assert!(report.new > 0 && report.resolved == 0, "{report:?}");
    table.row(
        name,
        &format!("`rematch_packages` after one new advisory (package on {on_hosts} hosts)"),
        format!("**{}** ({})", secs(elapsed), describe(&report)),
    );

    let (app, on_hosts) = candidates[1];
    let new = catalogue.app_advisory("BENCH-NEW-2", app);
    let keys = keys_of(std::slice::from_ref(&new));
    advisories.add(new);
    let phases = phased_rematch(store, &advisories, Some(&keys), day(7));
    assert_eq!(phases.hosts, on_hosts);
    table.row(
        name,
        &format!("… another new advisory (on {on_hosts} hosts), by phase"),
        format!("{} = {} ({} new)", secs(phases.total()), phases.describe(), phases.new),
    );
}

fn main() {
    let args = parse_args();
    let started = Instant::now();
    let catalogue = Catalogue::new(args.seed, args.packages);
    println!(
        "catalogue: {} source packages, {} OS binaries, {} app packages; seed {}",
        catalogue.sources.len(),
        catalogue.binaries.len(),
        catalogue.apps.len(),
        args.seed
    );
    let mut table = Table::new();
    for backend in &args.backends {
        run(backend, &args, &catalogue, &mut table);
    }
    println!("\n{}", table.rows);
    println!("total {}", secs(started.elapsed()));
}
