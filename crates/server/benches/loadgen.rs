//! The load generator: N simulated agents enroll with a real `ward server` and send their
//! inventories over HTTP, then the fleet is re-matched after one new advisory and after a full
//! index update. One long run, not a statistics harness: it prints a markdown table.
//!
//! ```text
//! cargo bench -p ward-server --bench loadgen -- [--hosts 10000] [--packages 1000]
//!     [--agents 2×cores] [--backend sqlite|postgres] [--seed 1] [--url http://HOST:PORT]
//! ```
//!
//! Without `--url` the server runs in this process on 127.0.0.1 (an OS-chosen port) over a
//! fresh store — a SQLite file in a temporary directory, or a fresh PostgreSQL schema at
//! `WARD_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`) — with an advisory
//! index imported from the real feeds in `../shared/data/advisories` (RustSec, the Node.js
//! security WG, PyPA) plus the Debian bookworm-security `Packages` file, and every phase runs.
//! With `--url` only enrollment and ingest run against that server (an operator API token in
//! `WARD_BENCH_TOKEN`); the re-match phases need the store and the data directory.
//!
//! The hosts: Debian 12, their OS packages drawn from a real `dpkg-status` (with its `Source`
//! fields), their application packages drawn from real Cargo.lock files, an npm lock and a
//! Python site-packages listing, up to `--packages` per host. Each host takes a seeded random
//! subset, and 5 % of its packages get another real version of the same package (from the
//! other lockfiles, or the bookworm, bookworm-updates and bookworm-security `Packages`
//! files), so hosts differ and some match advisories that others do not. Everything derives
//! from `--seed`: two runs send the same reports.

#![allow(clippy::print_stdout, reason = "a benchmark binary prints its table")]
#![allow(clippy::unwrap_used, reason = "a benchmark fails loudly on any unexpected error")]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{json, Value};
use ward_api::agent::{AgentReport, Facts, HostIdentity, Inventory, Package};
use ward_auth::role::Role;
use ward_auth::token::{Token, TokenKind};
use ward_auth::{password, OsRng, SecretString};
use ward_inventory::Format;
use ward_server::ServerConfig;
use ward_store::{Store, TokenOwner};

/// Share (per mille) of a host's packages that get another real version than the first seen.
const VARIANT_PER_MILLE: u64 = 50;

/// Share (percent) of a host's packages whose version changes in the second round.
const CHANGED_PERCENT: usize = 2;

/// The ecosystem every synthetic host runs.
const OS: &str = "Debian:12";

/// The id of the advisory the new-advisory phase adds.
const NEW_ADVISORY: &str = "WARD-BENCH-2026-0001";

// ---- arguments ------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Args {
    hosts: usize,
    packages: usize,
    agents: usize,
    backend: String,
    seed: u64,
    url: Option<String>,
}

fn parse_args() -> Args {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let mut args = Args {
        hosts: 10_000,
        packages: 1_000,
        agents: 2 * cores,
        backend: "sqlite".into(),
        seed: 1,
        url: None,
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        if flag == "--bench" {
            continue; // cargo bench passes it
        }
        let value = raw.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let number = || value.parse::<usize>().unwrap_or_else(|e| panic!("{flag} {value}: {e}"));
        match flag.as_str() {
            "--hosts" => args.hosts = number().max(1),
            "--packages" => args.packages = number().max(1),
            "--agents" => args.agents = number().max(1),
            "--seed" => args.seed = number() as u64,
            "--url" => args.url = Some(value.trim_end_matches('/').to_owned()),
            "--backend" => {
                args.backend = match value.as_str() {
                    "sqlite" | "postgres" => value.clone(),
                    other => panic!("--backend {other}: sqlite or postgres"),
                }
            }
            other => panic!(
                "unknown argument {other}; use --hosts --packages --agents --backend --seed --url"
            ),
        }
    }
    args
}

// ---- deterministic randomness ---------------------------------------------------------------

use ward_testdata::rng::SplitMix64 as Rng;

// ---- the catalogue of real packages ---------------------------------------------------------

/// One real version of a package: the binary's version and, for OS packages, its source's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Variant {
    version: String,
    source_version: Option<String>,
}

#[derive(Debug)]
struct CatalogueEntry {
    ecosystem: &'static str,
    name: String,
    source: Option<String>,
    /// The first is the one found in the host's own database or lockfile; the others are the
    /// other versions the shared data has of the same package.
    variants: Vec<Variant>,
}

#[derive(Debug)]
struct Catalogue {
    seed: u64,
    os: Vec<CatalogueEntry>,
    apps: Vec<CatalogueEntry>,
    os_per_host: usize,
    apps_per_host: usize,
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `Package`/`Version`/`Source` of every stanza of a Debian `Packages` file.
fn packages_file(path: &Path) -> Vec<(String, Variant)> {
    let text = String::from_utf8_lossy(&read(path)).into_owned();
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let (mut name, mut version, mut source_version) = (None, None, None);
        for line in stanza.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("Source: ") {
                // `Source: name (version)` when the source's version differs.
                source_version =
                    v.split_once('(').map(|(_, rest)| rest.trim_end_matches(')').trim().to_owned());
            }
        }
        if let (Some(name), Some(version)) = (name, version) {
            out.push((name, Variant { version, source_version }));
        }
    }
    out
}

impl Catalogue {
    fn new(seed: u64, packages: usize) -> Catalogue {
        let real = ward_testdata::dir("real-inputs");
        // OS packages: the dpkg database of a real Debian 12 host.
        let status_path = real.join("debian-bookworm/dpkg-status");
        let parsed = ward_inventory::parse(
            Format::DpkgStatus,
            &status_path.display().to_string(),
            &read(&status_path),
        );
        let mut other_debian: BTreeMap<String, BTreeSet<Variant>> = BTreeMap::new();
        for file in [
            "Packages.bookworm.main.amd64.installed-subset",
            "Packages.bookworm-updates.main.amd64",
            "Packages.bookworm-security.main.amd64",
        ] {
            for (name, variant) in packages_file(&real.join("debian-bookworm").join(file)) {
                other_debian.entry(name).or_default().insert(variant);
            }
        }
        let mut os = Vec::new();
        for package in parsed.packages {
            if package.version.is_empty() {
                continue;
            }
            let own = Variant {
                source_version: package
                    .source
                    .as_ref()
                    .map(|s| s.version.clone())
                    .filter(|v| *v != package.version),
                version: package.version.clone(),
            };
            let mut variants = vec![own.clone()];
            for variant in other_debian.get(&package.name).into_iter().flatten() {
                if variant.version != own.version {
                    variants.push(variant.clone());
                }
            }
            os.push(CatalogueEntry {
                ecosystem: OS,
                name: package.name.clone(),
                source: package.source.map(|s| s.name).filter(|s| *s != package.name),
                variants,
            });
        }
        os.sort_by(|a, b| a.name.cmp(&b.name));
        os.dedup_by(|a, b| a.name == b.name);

        // Application packages: real lockfiles; every version seen of a name is a variant.
        let mut apps: BTreeMap<(&'static str, String), Vec<Variant>> = BTreeMap::new();
        let mut add = |ecosystem: &'static str, name: String, version: String| {
            let variants = apps.entry((ecosystem, name)).or_default();
            if !version.is_empty() && !variants.iter().any(|v| v.version == version) {
                variants.push(Variant { version, source_version: None });
            }
        };
        let lockfiles = [
            ("cargo/rust-analyzer-d2e55da491.Cargo.lock", Format::CargoLock, "crates.io"),
            ("cargo/cargo-audit-0.22.2.Cargo.lock", Format::CargoLock, "crates.io"),
            ("cargo/cargo-deny-9b36f00.Cargo.lock", Format::CargoLock, "crates.io"),
            ("cargo/ripgrep-15.2.0.Cargo.lock", Format::CargoLock, "crates.io"),
            ("npm/express-4.21.2-with-dev.package-lock.json", Format::NpmLock, "npm"),
        ];
        for (file, format, ecosystem) in lockfiles {
            let path = real.join(file);
            let parsed = ward_inventory::parse(format, file, &read(&path));
            for package in parsed.packages.into_iter().filter(|p| !p.local) {
                add(ecosystem, package.name, package.version);
            }
        }
        // Python: `name-version.dist-info` folders of a real site-packages.
        let site = real.join("python/site-packages-metadata");
        let mut folders: Vec<String> = std::fs::read_dir(&site)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        folders.sort();
        for folder in folders {
            if let Some((name, version)) =
                folder.strip_suffix(".dist-info").and_then(|s| s.split_once('-'))
            {
                add("PyPI", name.to_lowercase().replace(['_', '.'], "-"), version.to_owned());
            }
        }
        let apps: Vec<CatalogueEntry> = apps
            .into_iter()
            .filter(|(_, variants)| !variants.is_empty())
            .map(|((ecosystem, name), variants)| CatalogueEntry {
                ecosystem,
                name,
                source: None,
                variants,
            })
            .collect();

        let os_per_host = (packages * 7 / 10).min(os.len());
        let apps_per_host = (packages - os_per_host).min(apps.len());
        Catalogue { seed, os, apps, os_per_host, apps_per_host }
    }

    fn entry(&self, index: usize) -> &CatalogueEntry {
        if index < self.os.len() {
            &self.os[index]
        } else {
            &self.apps[index - self.os.len()]
        }
    }

    /// Host `host`'s packages as (catalogue index, variant) — `round` 1 or 2 (2 % changed).
    fn picks(&self, host: usize, round: u32) -> Vec<(usize, usize)> {
        let mut rng = Rng::new(&[self.seed, host as u64, 1]);
        let os = rng.subset(self.os.len(), self.os_per_host);
        let apps = rng.subset(self.apps.len(), self.apps_per_host);
        let mut picks: Vec<(usize, usize)> = os
            .into_iter()
            .chain(apps.into_iter().map(|a| a + self.os.len()))
            .map(|index| {
                let variants = self.entry(index).variants.len();
                let variant = if variants > 1 && rng.next_u64() % 1000 < VARIANT_PER_MILLE {
                    1 + rng.below(variants - 1)
                } else {
                    0
                };
                (index, variant)
            })
            .collect();
        if round >= 2 {
            let mut rng = Rng::new(&[self.seed, host as u64, u64::from(round)]);
            let changeable: Vec<usize> =
                (0..picks.len()).filter(|&i| self.entry(picks[i].0).variants.len() > 1).collect();
            let count = (picks.len() * CHANGED_PERCENT).div_ceil(100);
            for chosen in rng.subset(changeable.len(), count) {
                let (index, variant) = &mut picks[changeable[chosen]];
                let variants = self.entry(*index).variants.len();
                *variant = (*variant + 1 + rng.below(variants - 1)) % variants;
            }
        }
        picks
    }

    fn package(&self, (index, variant): (usize, usize)) -> Package {
        let entry = self.entry(index);
        let chosen = &entry.variants[variant];
        Package {
            ecosystem: entry.ecosystem.to_owned(),
            name: entry.name.clone(),
            version: chosen.version.clone(),
            source: entry.source.clone(),
            source_version: chosen.source_version.clone(),
        }
    }
}

// ---- HTTP -----------------------------------------------------------------------------------

fn client() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(600)))
            .build(),
    )
}

/// Sends a request; returns the status and the JSON body (`Null` when empty or not JSON).
fn call(
    http: &ureq::Agent,
    url: &str,
    method: &str,
    token: Option<&str>,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request.body(body.unwrap_or_default()).unwrap();
    let mut response = http.run(request).unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn host_name(host: usize) -> String {
    format!("host-{host:05}.bench.example")
}

fn identity(host: usize) -> HostIdentity {
    HostIdentity {
        name: host_name(host),
        os: Some(OS.to_owned()),
        groups: vec![["web", "db", "batch"][host % 3].to_owned()],
        tags: vec![],
    }
}

fn report_key(host: usize, round: u32) -> String {
    format!("bench-{host:08x}-{round}")
}

/// Runs `work(host)` for every host on `agents` threads; returns the wall time and every
/// request's latency.
fn on_agents<T: Send>(
    args: &Args,
    work: impl Fn(&ureq::Agent, usize) -> (T, Vec<Duration>) + Sync,
) -> (Vec<T>, Duration, Vec<Duration>) {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, T)>> = Mutex::new(Vec::new());
    let latencies = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..args.agents {
            scope.spawn(|| {
                let http = client();
                let mut mine = Vec::new();
                let mut times = Vec::new();
                loop {
                    let host = next.fetch_add(1, Ordering::Relaxed);
                    if host >= args.hosts {
                        break;
                    }
                    let (result, took) = work(&http, host);
                    mine.push((host, result));
                    times.extend(took);
                }
                results.lock().unwrap().extend(mine);
                latencies.lock().unwrap().extend(times);
            });
        }
    });
    let elapsed = started.elapsed();
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(host, _)| *host);
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort_unstable();
    (results.into_iter().map(|(_, r)| r).collect(), elapsed, latencies)
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

// ---- the in-process server ------------------------------------------------------------------

struct Server {
    url: String,
    store: Arc<dyn Store>,
    data_dir: PathBuf,
    runtime: tokio::runtime::Runtime,
    running: Option<ward_server::Running>,
    _schema: Option<ward_testdata::postgres::FreshSchema>,
    _dir: tempfile::TempDir,
}

/// The feeds of the advisory index.
fn feeds() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = ["rustsec-osv", "nodejs-security-wg-npm", "pypa-osv-yaml"]
        .iter()
        .map(|f| ward_testdata::dir(&format!("advisories/{f}")))
        .collect();
    paths.push(
        ward_testdata::dir("real-inputs/debian-bookworm")
            .join("Packages.bookworm-security.main.amd64"),
    );
    paths
}

/// Imports `paths` into the index of `data_dir` as of `now` (a new index version each time).
fn import(data_dir: &Path, paths: &[PathBuf], now: i64) -> Duration {
    let started = Instant::now();
    let report = ward_advisory::store::import_paths(data_dir, paths, now, &mut |_, _| {}).unwrap();
    assert!(report.errors.len() < 1000, "import errors: {:?}", &report.errors[..5]);
    started.elapsed()
}

impl Server {
    fn start(backend: &str, now: i64) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (database, schema) = match backend {
            "sqlite" => (dir.path().join("ward.db").display().to_string(), None),
            _ => {
                let schema = ward_testdata::postgres::fresh_schema("loadgen");
                (schema.url().to_owned(), Some(schema))
            }
        };
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let took = import(&data_dir, &feeds(), now);
        println!("advisory index imported in {}", secs(took));
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: Some(database),
            poll_seconds: 1,
            ..ServerConfig::default()
        };
        let store = ward_server::open_store(&config, &data_dir).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let running =
            runtime.block_on(ward_server::start(&config, &data_dir, Arc::clone(&store))).unwrap();
        Server {
            url: format!("http://{}/api/v1", running.address),
            store,
            data_dir,
            runtime,
            running: Some(running),
            _schema: schema,
            _dir: dir,
        }
    }

    /// An admin with an API token, made directly in the store (as `ward server init` does).
    fn admin_token(&self) -> String {
        let phc =
            password::hash(&SecretString::from("bench-admin-pass-0123".to_owned()), &mut OsRng)
                .unwrap();
        let user = self.store.create_user("bench-admin", Role::Admin, &phc, Utc::now()).unwrap();
        let scopes = ward_server::auth::role_scopes(Role::Admin);
        let (token, stored) = Token::generate(TokenKind::Api, &mut OsRng).unwrap();
        self.store.add_token(&stored, TokenOwner::User(user), &scopes, None, Utc::now()).unwrap();
        token.reveal().to_owned()
    }

    fn stop(mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop());
        }
    }
}

/// The `advisory-sync` jobs, by id.
fn sync_jobs(http: &ureq::Agent, url: &str, token: &str) -> Vec<Value> {
    let mut jobs = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = after.as_ref().map_or(String::new(), |a| format!("&after={a}"));
        let (status, page) =
            call(http, &format!("{url}/jobs?limit=1000{query}"), "GET", Some(token), None, &[]);
        assert_eq!(status, 200, "{page}");
        jobs.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|j| j["kind"] == "advisory-sync")
                .cloned(),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return jobs,
        }
    }
}

/// Asks for a sync (POST /advisories/sync) and waits until its job is done; returns the job
/// and the time from `since` to the moment GET /jobs showed it done.
fn sync_and_wait(http: &ureq::Agent, url: &str, token: &str, since: Instant) -> (Value, Duration) {
    let (status, queued) =
        call(http, &format!("{url}/advisories/sync"), "POST", Some(token), None, &[]);
    assert_eq!(status, 200, "{queued}");
    let id = queued["job_id"].as_i64().unwrap();
    loop {
        if let Some(job) = sync_jobs(http, url, token).into_iter().find(|j| j["id"] == id) {
            match job["state"].as_str() {
                Some("done") => return (job, since.elapsed()),
                Some("failed") => panic!("sync job failed: {job}"),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The id of the newest event (binary search with `?after=X&limit=1`).
fn last_event_id(http: &ureq::Agent, url: &str, token: &str) -> i64 {
    let exists_after = |after: i64| {
        let (status, page) = call(
            http,
            &format!("{url}/events?after={after}&limit=1"),
            "GET",
            Some(token),
            None,
            &[],
        );
        assert_eq!(status, 200, "{page}");
        !page["items"].as_array().unwrap().is_empty()
    };
    let mut high = 1;
    while exists_after(high) {
        high *= 2;
    }
    let mut low = 0; // events exist after `low` or low is 0; none after `high`
    while high - low > 1 {
        let mid = (low + high) / 2;
        if exists_after(mid) {
            low = mid;
        } else {
            high = mid;
        }
    }
    if exists_after(low) {
        high
    } else {
        low
    }
}

/// Counts the `finding-new` and `finding-resolved` events after `after`.
fn events_after(http: &ureq::Agent, url: &str, token: &str, after: i64) -> (usize, usize) {
    let (mut new, mut resolved) = (0, 0);
    let mut cursor = after.to_string();
    loop {
        let (status, page) = call(
            http,
            &format!("{url}/events?after={cursor}&limit=1000"),
            "GET",
            Some(token),
            None,
            &[],
        );
        assert_eq!(status, 200, "{page}");
        for event in page["items"].as_array().unwrap() {
            match event["kind"].as_str() {
                Some("finding-new") => new += 1,
                Some("finding-resolved") => resolved += 1,
                _ => {}
            }
        }
        match page["next"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return (new, resolved),
        }
    }
}

// ---- the table ------------------------------------------------------------------------------

struct Table {
    rows: String,
}

impl Table {
    fn new() -> Table {
        Table { rows: "| backend | what | figure |\n|---|---|---|\n".into() }
    }

    fn row(&mut self, backend: &str, what: &str, figure: String) {
        println!("  {what}: {figure}");
        writeln!(self.rows, "| {backend} | {what} | {figure} |").unwrap();
    }
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn rate(count: usize, d: Duration) -> String {
    let per_second = count as f64 / d.as_secs_f64();
    if per_second >= 10_000.0 {
        format!("{:.0} k", per_second / 1e3)
    } else {
        format!("{per_second:.0}")
    }
}

fn job_summary(job: &Value) -> String {
    let r = &job["result"];
    format!(
        "{} records, {} added, {} changed, {} removed; {} hosts re-matched, {} findings new, {} \
         resolved; in the job: read index {} ms, sync {} ms (by phase, ms: {})",
        r["records"],
        r["added"],
        r["changed"],
        r["removed"],
        r["hosts"],
        r["findings_new"],
        r["findings_resolved"],
        r["timings_ms"]["read_index"],
        r["timings_ms"]["sync"],
        r["timings_ms"]["sync_phases"]
    )
}

// ---- the run --------------------------------------------------------------------------------

#[allow(clippy::too_many_lines, reason = "one benchmark run, phase after phase")]
fn main() {
    let args = parse_args();
    let started = Instant::now();
    let catalogue = Catalogue::new(args.seed, args.packages);
    let per_host = catalogue.os_per_host + catalogue.apps_per_host;
    let variants = catalogue.os.iter().chain(&catalogue.apps).filter(|e| e.variants.len() > 1);
    println!(
        "catalogue: {} Debian packages, {} application packages ({} with several real \
         versions); {per_host} packages per host ({} OS); seed {}",
        catalogue.os.len(),
        catalogue.apps.len(),
        variants.count(),
        catalogue.os_per_host,
        args.seed
    );
    let mut now = Utc::now().timestamp();
    let (server, url, admin) = match &args.url {
        Some(url) => {
            let token = std::env::var("WARD_BENCH_TOKEN")
                .expect("--url needs an operator API token in WARD_BENCH_TOKEN");
            (None, format!("{url}/api/v1"), token)
        }
        None => {
            let server = Server::start(&args.backend, now);
            let admin = server.admin_token();
            let url = server.url.clone();
            (Some(server), url, admin)
        }
    };
    let backend = match (&args.url, args.backend.as_str()) {
        (Some(_), _) => "remote server",
        (None, "sqlite") => "SQLite (WAL)",
        (None, _) => "PostgreSQL",
    };
    let http = client();
    if server.is_some() {
        // The first index version's sync (no fingerprints yet: an empty fleet) runs at start.
        while sync_jobs(&http, &url, &admin).iter().all(|j| j["state"] != "done") {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    println!(
        "{backend}: {} hosts × {per_host} packages, {} agent threads, {} cores",
        args.hosts,
        args.agents,
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    let mut table = Table::new();

    // Enrollment: an operator makes a one-time token, the agent exchanges it.
    let (credentials, elapsed, latencies) = on_agents(&args, |http, host| {
        let mut took = Vec::new();
        let t = Instant::now();
        let (status, made) = call(
            http,
            &format!("{url}/enrollment-tokens"),
            "POST",
            Some(&admin),
            Some("{}".into()),
            &[],
        );
        took.push(t.elapsed());
        assert_eq!(status, 200, "{made}");
        let body = json!({"token": made["token"], "host": identity(host)});
        let t = Instant::now();
        let (status, enrolled) =
            call(http, &format!("{url}/agent/enroll"), "POST", None, Some(body.to_string()), &[]);
        took.push(t.elapsed());
        assert_eq!(status, 200, "{enrolled}");
        (enrolled["credential"].as_str().unwrap().to_owned(), took)
    });
    table.row(
        backend,
        &format!("enrollment ({} hosts: POST /enrollment-tokens + POST /agent/enroll)", args.hosts),
        format!(
            "{}; {} hosts/s; p50 {}, p99 {} per request",
            secs(elapsed),
            rate(args.hosts, elapsed),
            ms(percentile(&latencies, 50)),
            ms(percentile(&latencies, 99))
        ),
    );

    // Round 1: every host's full inventory.
    let send = |http: &ureq::Agent, host: usize, inventory: Inventory, round: u32| {
        let report = AgentReport {
            schema: ward_api::agent::REPORT_SCHEMA.to_owned(),
            at: Utc::now(),
            host: identity(host),
            facts: Facts {
                kernel: Some("6.1.0-27-amd64".into()),
                agent_version: Some("loadgen".into()),
                ..Facts::default()
            },
            inventory,
        };
        let body = serde_json::to_string(&report).unwrap();
        let key = report_key(host, round);
        let t = Instant::now();
        let (status, answer) = call(
            http,
            &format!("{url}/agent/report"),
            "POST",
            Some(&credentials[host]),
            Some(body),
            &[("idempotency-key", &key)],
        );
        let took = t.elapsed();
        assert_eq!(status, 200, "host {host} round {round}: {answer}");
        (answer["findings_new"].as_u64().unwrap_or(0), vec![took])
    };
    let (findings, elapsed, latencies) = on_agents(&args, |http, host| {
        let packages = catalogue.picks(host, 1).into_iter().map(|p| catalogue.package(p)).collect();
        send(http, host, Inventory::Full { packages }, 1)
    });
    let rows = args.hosts * per_host;
    table.row(
        backend,
        &format!(
            "ingest, first report (`full`, {} hosts × {per_host} packages, {} agents)",
            args.hosts, args.agents
        ),
        format!(
            "{}; **{} hosts/s, {} package rows/s**; p50 {}, p99 {} per report; {} findings opened",
            secs(elapsed),
            rate(args.hosts, elapsed),
            rate(rows, elapsed),
            ms(percentile(&latencies, 50)),
            ms(percentile(&latencies, 99)),
            findings.iter().sum::<u64>()
        ),
    );

    // Round 2: 2 % of each host's packages change, sent as a diff on the first report.
    let (findings, elapsed, latencies) = on_agents(&args, |http, host| {
        let first = catalogue.picks(host, 1);
        let second = catalogue.picks(host, 2);
        let upsert: Vec<Package> = first
            .iter()
            .zip(&second)
            .filter(|(a, b)| a != b)
            .map(|(_, b)| catalogue.package(*b))
            .collect();
        let inventory = Inventory::Diff { base: report_key(host, 1), upsert, remove: vec![] };
        send(http, host, inventory, 2)
    });
    table.row(
        backend,
        &format!(
            "ingest, second report (`diff`: {CHANGED_PERCENT} % of each host's packages changed)"
        ),
        format!(
            "{}; **{} hosts/s**; p50 {}, p99 {} per report; {} findings opened",
            secs(elapsed),
            rate(args.hosts, elapsed),
            ms(percentile(&latencies, 50)),
            ms(percentile(&latencies, 99)),
            findings.iter().sum::<u64>()
        ),
    );

    let Some(server) = server else {
        println!("\n(--url: the re-match phases need the server's store and data directory)");
        println!("\n{}", table.rows);
        return;
    };

    // Which ecosystems matched (the first page of open findings per ecosystem).
    let mut matched = Vec::new();
    for ecosystem in [OS, "crates.io", "npm", "PyPI"] {
        let (status, page) = call(
            &http,
            &format!("{url}/findings?ecosystem={ecosystem}&limit=1000"),
            "GET",
            Some(&admin),
            None,
            &[],
        );
        assert_eq!(status, 200, "{page}");
        let count = page["items"].as_array().map_or(0, Vec::len);
        let more = if page["next"].is_string() { "≥ " } else { "" };
        matched.push(format!("{ecosystem}: {more}{count}"));
    }
    table.row(backend, "open findings per ecosystem (counted up to 1,000)", matched.join(", "));

    // One new advisory for a crate about 10 % of hosts have (every version affected).
    let mut on: BTreeMap<usize, usize> = BTreeMap::new();
    for host in 0..args.hosts {
        for (index, _) in catalogue.picks(host, 1) {
            *on.entry(index).or_default() += 1;
        }
    }
    let target = args.hosts / 10;
    let (index, on_hosts) = on
        .iter()
        .filter(|(i, _)| catalogue.entry(**i).ecosystem == "crates.io")
        .min_by_key(|(_, n)| n.abs_diff(target))
        .map(|(i, n)| (*i, *n))
        .unwrap();
    let crate_name = catalogue.entry(index).name.clone();
    let folder = server.data_dir.parent().unwrap().join("new-feed");
    std::fs::create_dir_all(&folder).unwrap();
    let record = json!({
        "schema_version": "1.7.0",
        "id": NEW_ADVISORY,
        "modified": "2026-11-21T00:00:00Z",
        "published": "2026-11-21T00:00:00Z",
        "aliases": ["CVE-2026-99998"],
        "summary": "a benchmark advisory",
        "affected": [{"package": {"ecosystem": "crates.io", "name": crate_name},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}],
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
    });
    std::fs::write(folder.join(format!("{NEW_ADVISORY}.json")), record.to_string()).unwrap();
    let before = last_event_id(&http, &url, &admin);
    now += 10;
    let took_import = import(&server.data_dir, std::slice::from_ref(&folder), now);
    let since = Instant::now();
    let (job, elapsed) = sync_and_wait(&http, &url, &admin, since);
    let (new, resolved) = events_after(&http, &url, &admin, before);
    table.row(
        backend,
        &format!(
            "re-match after one new advisory (`{crate_name}`, on {on_hosts} of {} hosts = {:.1} %)",
            args.hosts,
            on_hosts as f64 * 100.0 / args.hosts as f64
        ),
        format!(
            "**{}** from the new index to the sync job done (the job loop polls every 1 s); \
             {}; events: {new} finding-new, {resolved} finding-resolved (import of the feed: {})",
            secs(elapsed),
            job_summary(&job),
            secs(took_import)
        ),
    );

    // A full index update with the same content: the sync compares and finds nothing changed.
    let mut all_feeds = feeds();
    all_feeds.push(folder.clone());
    now += 10;
    let took_import = import(&server.data_dir, &all_feeds, now);
    let (job, elapsed) = sync_and_wait(&http, &url, &admin, Instant::now());
    table.row(
        backend,
        "full index update, same content (re-import every feed; the sync finds nothing changed)",
        format!(
            "import {}; then **{}** to the sync job done; {}",
            secs(took_import),
            secs(elapsed),
            job_summary(&job)
        ),
    );

    // The whole fleet re-matched: with no stored fingerprints the next sync runs `rematch_all`.
    let stored: Vec<String> =
        server.store.advisory_fingerprints().unwrap().into_iter().map(|f| f.id).collect();
    server.store.save_advisory_fingerprints(&[], &stored).unwrap();
    let before = last_event_id(&http, &url, &admin);
    now += 10;
    let took_import = import(&server.data_dir, &all_feeds, now);
    let (job, elapsed) = sync_and_wait(&http, &url, &admin, Instant::now());
    let (new, resolved) = events_after(&http, &url, &admin, before);
    table.row(
        backend,
        "full re-match of the whole fleet (fingerprints cleared, then a full index update)",
        format!(
            "import {}; then **{}** to the sync job done ({} hosts/s); {}; events: {new} new, \
             {resolved} resolved",
            secs(took_import),
            secs(elapsed),
            rate(args.hosts, elapsed),
            job_summary(&job)
        ),
    );
    server.stop();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\n{}", table.rows);
    println!("load average at the end: {}", load.trim());
    println!("total {}", secs(started.elapsed()));
}
