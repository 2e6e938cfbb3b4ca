//! Advisory index benchmarks: full import of the shared advisories, index open time, lookup
//! latency (criterion means, plus p50/p99 over every package key), and index size on disk.
//!
//! Run: `cargo bench -p ward-advisory --bench index` (reads `$WARD_TEST_DATA/advisories`).

#![allow(
    clippy::print_stdout,
    reason = "the benchmark reports its percentile figures on standard output"
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use ward_advisory::store::{self, Index};

fn advisories() -> PathBuf {
    ward_testdata::dir("advisories")
}

/// Every feed folder of the shared advisories (osv-schema holds samples, not a feed).
fn feeds() -> Vec<PathBuf> {
    [
        "rustsec-osv",
        "rustsec-toml",
        "golang-osv",
        "pypa-osv-yaml",
        "friendsofphp",
        "nodejs-security-wg-npm",
        "alpine-secdb-2020",
    ]
    .iter()
    .map(|f| advisories().join(f))
    .collect()
}

fn import_all(dir: &Path) {
    let report = store::import_paths(dir, &feeds(), 1_700_000_000, &mut |_, _| {}).expect("import");
    assert!(report.errors.is_empty(), "{:?}", &report.errors[..report.errors.len().min(3)]);
}

fn bench_import(c: &mut Criterion) {
    let mut group = c.benchmark_group("import");
    group.sample_size(10).measurement_time(Duration::from_secs(40));
    group.bench_function("all shared advisories", |b| {
        b.iter_batched(
            || tempfile::tempdir().expect("temp dir"),
            |dir| import_all(dir.path()),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn bench_open_and_lookup(c: &mut Criterion, dir: &Path) {
    c.bench_function("index open", |b| b.iter(|| black_box(Index::open(dir).expect("open"))));
    let index = Index::open(dir).expect("open");
    c.bench_function("lookup PyPI django (records decoded)", |b| {
        b.iter(|| black_box(index.lookup("PyPI", "django").expect("lookup")))
    });
    c.bench_function("lookup crates.io tokio (records decoded)", |b| {
        b.iter(|| black_box(index.lookup("crates.io", "tokio").expect("lookup")))
    });
    c.bench_function("lookup ids PyPI django", |b| {
        b.iter(|| black_box(index.lookup_ids("PyPI", "django").expect("lookup")))
    });
    c.bench_function("lookup miss", |b| {
        b.iter(|| black_box(index.lookup("npm", "no-such-package").expect("lookup")))
    });
    c.bench_function("by id CVE alias", |b| {
        b.iter(|| black_box(index.by_id("CVE-2023-42811").expect("by id")))
    });
}

/// Latency of one lookup (decoding every record) over every package key in the index.
fn latency_report(dir: &Path) {
    let index = Index::open(dir).expect("open");
    let keys = index.package_keys().expect("keys");
    for (ecosystem, name) in keys.iter().take(2000) {
        black_box(index.lookup(ecosystem, name).expect("warm-up"));
    }
    let mut times: Vec<Duration> = Vec::with_capacity(keys.len());
    let mut records = 0usize;
    for (ecosystem, name) in &keys {
        let start = Instant::now();
        let found = index.lookup(ecosystem, name).expect("lookup");
        times.push(start.elapsed());
        records += found.len();
    }
    times.sort();
    let mut id_times: Vec<Duration> = Vec::with_capacity(keys.len());
    for (ecosystem, name) in &keys {
        let start = Instant::now();
        black_box(index.lookup_ids(ecosystem, name).expect("lookup ids"));
        id_times.push(start.elapsed());
    }
    id_times.sort();
    let pct = |v: &[Duration], q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
    let at = |q: f64| pct(&times, q);
    let mut opens: Vec<Duration> = (0..50)
        .map(|_| {
            let start = Instant::now();
            black_box(Index::open(dir).expect("open"));
            start.elapsed()
        })
        .collect();
    opens.sort();
    let size = std::fs::metadata(Index::path_in(dir)).expect("index file").len();
    println!("\nadvisory index figures");
    println!("  package keys looked up: {} ({records} records decoded)", keys.len());
    println!(
        "  lookup (ids, no decode): p50 {:?}, p99 {:?}, max {:?}",
        pct(&id_times, 0.50),
        pct(&id_times, 0.99),
        pct(&id_times, 1.0)
    );
    println!(
        "  lookup (every record decoded): p50 {:?}, p99 {:?}, max {:?}",
        at(0.50),
        at(0.99),
        at(1.0)
    );
    println!("  open: median {:?}, max {:?}", opens[opens.len() / 2], opens[opens.len() - 1]);
    println!("  index size: {size} bytes ({:.1} MiB)", size as f64 / (1024.0 * 1024.0));
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let dir = tempfile::tempdir().expect("temp dir");
    let start = Instant::now();
    import_all(dir.path());
    println!("one full import of the shared advisories: {:?}", start.elapsed());
    bench_open_and_lookup(&mut criterion, dir.path());
    bench_import(&mut criterion);
    criterion.final_summary();
    latency_report(dir.path());
}
