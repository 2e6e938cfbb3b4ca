//! `ward version`: the real binary against its CLI contract and against the shared vectors.
#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn ward(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ward runs");
    let mut input = child.stdin.take().expect("stdin");
    let text = stdin.to_string();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let output = child.wait_with_output().expect("ward finishes");
    writer.join().expect("writer thread").expect("stdin written");
    output
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn check(ecosystem: &str, a: &str, b: &str, expect: &str) {
    let o = ward(&["version", "compare", "--ecosystem", ecosystem, a, b], "");
    assert!(o.status.success(), "{ecosystem} {a} {b}: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(stdout(&o), format!("{expect}\n"), "{ecosystem}: {a} vs {b}");
}

#[test]
fn compares_two_versions_per_ecosystem() {
    check("Debian", "1:2.0-1", "2.5-1", ">");
    check("Debian:12", "1.2.3-1~deb12u1", "1.2.3-1", "<");
    check("ubuntu:22.04", "2.7.4+reloaded2-13ubuntu1", "2.7.4+reloaded2-13+deb9u1", "<");
    check("Red Hat:9", "1.0~rc1", "1.0", "<");
    check("Alpine:v3.19", "1.2_p1-r0", "1.2-r3", ">");
    check("PyPI", "1.0rc1", "1.0.dev3", ">");
    check("PyPI", "1!0.1", "2.0", ">");
    check("npm", "1.0.0-rc.1", "1.0.0", "<");
    check("Go", "v0.0.0-20191109021931-daa7c04131f5", "v0.1.0", "<");
    check("crates.io", "1.2.3+build", "1.2.3", "=");
    check("Maven", "1.0-SNAPSHOT", "1.0", "<");
    check("NuGet", "1.0.0-BETA", "1.0.0-beta", "=");
    check("RubyGems", "1.0.a10", "1.0.a9", ">");
    check("Packagist", "1.0-dev", "1.0a1", "<");
    check("Pub", "1.0.0", "1.0.0+build", "<");
    check("CRAN", "0.9", "0.75", "<");
    check("Hackage", "1.0.0", "1.0", ">");
}

#[test]
fn reads_pairs_from_stdin_and_reports_bad_lines_in_place() {
    let o = ward(
        &["version", "compare", "--ecosystem", "npm"],
        "1.0.0\t1.0.0-rc.1\nnot-a-version\t1.0.0\nno tab here\n2.0.0\t2.0.0\n",
    );
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], ">");
    assert!(lines[1].starts_with("error: invalid version \"not-a-version\""), "{}", lines[1]);
    assert!(lines[2].starts_with("error: line 3: expected two versions"), "{}", lines[2]);
    assert_eq!(lines[3], "=");
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 of 4 lines could not be compared"));
}

#[test]
fn empty_stdin_prints_nothing_and_succeeds() {
    let o = ward(&["version", "compare", "--ecosystem", "PyPI"], "");
    assert!(o.status.success());
    assert_eq!(stdout(&o), "");
}

#[test]
fn unknown_ecosystem_and_bad_versions_are_errors_with_exit_2() {
    let o = ward(&["version", "compare", "--ecosystem", "Debain", "1", "2"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown ecosystem \"Debain\""), "{err}");
    let o = ward(&["version", "compare", "--ecosystem", "GIT", "abc", "def"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has no version ordering"));
    let o = ward(&["version", "compare", "--ecosystem", "Debian", "1:", "2"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing after colon"));
}

#[test]
fn satisfies_uses_each_ecosystems_range_syntax() {
    let cases = [
        ("npm", "4.17.20", "<4.17.21", true),
        ("npm", "4.0.5", ">=3.5.1 <4.0.0 || >=4.1.3", false),
        ("Packagist", "9.3.18", ">=8.0.0,<9.3.19", true),
        ("Packagist", "9.3.19", ">=8.0.0,<9.3.19", false),
        ("PyPI", "1.3.1", ">=1.0,!=1.3.*", false),
        ("PyPI", "1.4", ">=1.0,!=1.3.*", true),
        ("Debian", "1.2.3-1", ">=1.2.3-1, <1.2.3-1+deb12u1", true),
        ("Maven", "2.17.0", ">=2.0-beta9, <2.17.1", true),
    ];
    for (ecosystem, version, range, expect) in cases {
        let o = ward(&["version", "satisfies", "-e", ecosystem, version, range], "");
        let (want_code, want_out) = if expect { (0, "yes\n") } else { (1, "no\n") };
        assert_eq!(o.status.code(), Some(want_code), "{ecosystem} {version} {range}");
        assert_eq!(stdout(&o), want_out);
    }
    let o = ward(&["version", "satisfies", "-e", "npm", "1.0.0", ">=x.y.z foo"], "");
    assert_eq!(o.status.code(), Some(2));
}

fn vectors() -> PathBuf {
    ward_testdata::dir("version-vectors")
}

/// The stdin contract over whole vector files: every answer, in order.
#[test]
fn stdin_mode_answers_whole_vector_files() {
    let files = [
        ("dpkg/dpkg-Dpkg_Version.t.tsv", "Debian"),
        ("dpkg/apt-compareversion_test.tsv", "Debian:12"),
        ("maven/maven-ComparableVersionTest.tsv", "Maven"),
    ];
    for (file, ecosystem) in files {
        let text = std::fs::read_to_string(vectors().join(file)).expect("vector file");
        let rows: Vec<Vec<&str>> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').collect())
            .collect();
        let input: String = rows.iter().map(|r| format!("{}\t{}\n", r[0], r[2])).collect();
        let o = ward(&["version", "compare", "--ecosystem", ecosystem], &input);
        assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        let answers: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
        assert_eq!(answers.len(), rows.len(), "{file}");
        for (row, answer) in rows.iter().zip(&answers) {
            assert_eq!(answer, row[1], "{file}: {} vs {}", row[0], row[2]);
        }
    }
}

#[test]
fn lists_ecosystems() {
    let o = ward(&["version", "ecosystems"], "");
    assert!(o.status.success());
    let out = stdout(&o);
    for line in ["crates.io", "Debian", "PyPI", "Packagist", "GIT"] {
        assert!(out.lines().any(|l| l.starts_with(line)), "{line} missing:\n{out}");
    }
}
