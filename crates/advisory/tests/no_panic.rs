//! No parser panics, whatever the bytes: arbitrary input and mutated real records of every
//! format come back as records or errors.

use proptest::prelude::*;
use ward_advisory::feed::{self, Format};

const FORMATS: [Format; 11] = [
    Format::OsvJson,
    Format::OsvYaml,
    Format::OsvZip,
    Format::PhpYaml,
    Format::NpmJson,
    Format::AlpineSecdb,
    Format::RustsecToml,
    Format::Kev,
    Format::EpssCsv,
    Format::DebianSecurity,
    Format::DebianTracker,
];

/// One real-shaped input per format (the zip is built from the OSV fixture).
fn seeds() -> Vec<(Format, Vec<u8>)> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let read = |p: &str| std::fs::read(dir.join(p)).expect("fixture reads");
    let osv = read("GHSA-2gwj-7jmv-h26r.json");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("a.json", zip::write::SimpleFileOptions::default()).expect("zip member");
    std::io::Write::write_all(&mut zip, &osv).expect("zip write");
    let zip = zip.finish().expect("zip finish").into_inner();
    vec![
        (Format::OsvJson, osv),
        (Format::OsvYaml, read("PYSEC-2022-213.yaml")),
        (Format::OsvZip, zip),
        (Format::PhpYaml, read("php/drupal/core/2022-07-20-1.yaml")),
        (Format::NpmJson, read("npm-410.json")),
        (Format::AlpineSecdb, read("alpine/v3.10/main.yaml")),
        (Format::RustsecToml, read("rustsec/crates/badge/RUSTSEC-2022-0057.md")),
        (Format::Kev, read("known_exploited_vulnerabilities.json")),
        (Format::EpssCsv, read("epss_scores.csv")),
        (Format::DebianSecurity, read("Packages.bookworm-security.main.amd64")),
        (Format::DebianTracker, read("debian-tracker.json")),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512), which in 0usize..11) {
        let _ = feed::parse(FORMATS[which], "v3.10/bookworm-security/y/z.yaml", &bytes);
        let _ = feed::detect("x.json", &bytes);
    }

    #[test]
    fn mutated_real_inputs(which in 0usize..11, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
        let seeds = seeds();
        let (format, mut bytes) = seeds[which].clone();
        for (at, byte) in edits {
            let i = at % bytes.len();
            bytes[i] = byte;
        }
        let parsed = feed::parse(format, "fuzz/bookworm-security/drupal/core/x.yaml", &bytes);
        // Whatever survives is a record the schema rules accept.
        for record in &parsed.records {
            prop_assert!(!record.id.is_empty());
        }
    }
}
