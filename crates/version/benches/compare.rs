//! Comparisons per second per ecosystem (versions parsed once, as matching uses them), and
//! parses per second. Run: `cargo bench -p ward-version --bench compare`.
#![allow(clippy::unwrap_used, reason = "benchmark setup fails loudly")]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ward_version::{Scheme, Version};

/// Realistic versions per scheme, the shapes advisories and package databases hold.
fn samples(scheme: Scheme) -> &'static [&'static str] {
    match scheme {
        Scheme::Dpkg => &[
            "1:2.38.1-5+deb12u1",
            "2.36.1-8+deb11u1",
            "3.0.11-1~deb12u2",
            "1.2.13.dfsg-1",
            "252.30-1~deb12u2",
            "7.88.1-10+deb12u8",
            "2:9.0.1378-2",
            "6.1.0-28",
            "1.22.1-9",
            "2.7.4+reloaded2-13+deb9u1",
            "0.9.8-1",
            "3.11.2-6+deb12u5",
        ],
        Scheme::Rpm => &[
            "1:1.1.1k-12.el8_9",
            "3.10.0-1160.119.1.el7",
            "2.28-251.el9_4.1",
            "8.5.0-1.el9",
            "0:4.18.0-553.el8_10",
            "1.0.2k-26.el7_9",
            "9.0.2120-1.fc40",
            "5.14.0^20231120git",
            "2.4.57-8.el9",
            "1.1.1~rc1-3",
        ],
        Scheme::Apk => &[
            "1.36.1-r15",
            "3.1.4-r5",
            "2.38.1-r0",
            "1.2.4_git20230717-r4",
            "8.5.0_p1-r2",
            "3.0.12_rc1-r0",
            "1.21.1-r1",
            "9.6_p1-r0",
            "2.9.14-r2",
        ],
        Scheme::Pypi => &[
            "2.31.0",
            "1.26.18",
            "3.0.0rc1",
            "2.0.0.post1",
            "1!2.3.4",
            "23.1.dev5+g1234abc",
            "0.9.1",
            "2.2.3",
            "42.0.5",
            "1.0.0a2",
            "4.66.1",
            "2024.2.2",
        ],
        Scheme::Semver | Scheme::NuGet | Scheme::Pub => &[
            "4.17.21",
            "1.2.3-rc.1",
            "0.8.4",
            "v0.0.0-20230321023759-10a507213a29",
            "2.0.0-beta.11",
            "1.0.0+build.5",
            "10.4.1",
            "3.0.0-alpha",
            "0.31.0",
            "7.5.2",
        ],
        Scheme::Maven => &[
            "2.17.1",
            "2.14.0-rc1",
            "5.3.31",
            "1.0-SNAPSHOT",
            "2.0-beta9",
            "9.4.53.v20231009",
            "31.1-jre",
            "1.2.17",
            "6.1.0.M1",
            "3.0.0-RELEASE",
        ],
        Scheme::RubyGems => &["7.0.8.1", "6.1.7.6", "1.16.3", "2.0.0.rc1", "3.2.5", "1.0.a10"],
        Scheme::Packagist => &[
            "10.2.5",
            "9.3.19",
            "8.9.20",
            "7.98",
            "1.0.0-beta2",
            "v2.4.1",
            "dev-main",
            "3.0.x-dev",
        ],
        Scheme::Cran => &["1.2-3", "4.3.1", "0.9.14", "1.0-12", "2.1.0.9000"],
        Scheme::Hackage => &["1.2.0.1", "0.11.3.0", "2.0", "1.0.0.0"],
    }
}

const SCHEMES: [(Scheme, &str); 10] = [
    (Scheme::Dpkg, "Debian"),
    (Scheme::Rpm, "Red Hat"),
    (Scheme::Apk, "Alpine"),
    (Scheme::Pypi, "PyPI"),
    (Scheme::Semver, "npm"),
    (Scheme::Maven, "Maven"),
    (Scheme::RubyGems, "RubyGems"),
    (Scheme::Packagist, "Packagist"),
    (Scheme::Cran, "CRAN"),
    (Scheme::Hackage, "Hackage"),
];

fn parsed(scheme: Scheme) -> Vec<Version> {
    samples(scheme)
        .iter()
        .map(|s| Version::parse(scheme, s).unwrap_or_else(|e| panic!("{s}: {e}")))
        .collect()
}

fn compare(c: &mut Criterion) {
    let mut group = c.benchmark_group("compare");
    for (scheme, name) in SCHEMES {
        let versions = parsed(scheme);
        let pairs: Vec<(&Version, &Version)> =
            versions.iter().flat_map(|a| versions.iter().map(move |b| (a, b))).collect();
        group.throughput(Throughput::Elements(pairs.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for (x, y) in &pairs {
                    black_box(black_box(x).compare(black_box(y)).ok());
                }
            })
        });
    }
    group.finish();
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (scheme, name) in SCHEMES {
        let texts = samples(scheme);
        group.throughput(Throughput::Elements(texts.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for t in texts {
                    black_box(Version::parse(scheme, black_box(t)).ok());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, compare, parse);
criterion_main!(benches);
