//! Differential tests: ward's orderings against the reference tools themselves, on thousands of
//! generated versions and ranges — dpkg (`dpkg --compare-versions`), rpm 4.18 (`rpm.vercmp`),
//! Maven 3.8.7 (`ComparableVersion`), Python `packaging` 26.3 and node-semver 7.8.5.
//!
//! The tools are installed by `.ci/run` (Debian `rpm`, and `packaging`/`semver` under
//! `$WARD_TOOLS_DIR`, default `~/.cache/ward-tools`); a missing tool fails the test with the
//! command that installs it, it never skips. Generation is deterministic (fixed seed).
#![allow(clippy::disallowed_methods, reason = "differential tests run the reference tools")]
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use ward_version::npm::{NpmOptions, NpmRange, NpmVersion};
use ward_version::pep440::specifier::SpecifierSet;
use ward_version::pep440::Pep440Version;
use ward_version::{rpm, Scheme, Version};

fn tools_dir() -> PathBuf {
    std::env::var_os("WARD_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/ward-tools")
    })
}

/// `n` deterministic samples of a regex-shaped string.
fn generate(pattern: &str, n: usize) -> Vec<String> {
    let strategy = proptest::string::string_regex(pattern).unwrap();
    let mut runner = TestRunner::deterministic();
    let mut out: Vec<String> = Vec::with_capacity(n);
    while out.len() < n {
        let s = strategy.new_tree(&mut runner).unwrap().current();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Pairs neighbours and strangers: (v[i], v[i+1]) and (v[i], v[n-1-i]).
fn pairs(v: &[String]) -> Vec<(String, String)> {
    let n = v.len();
    let mut out: Vec<(String, String)> =
        v.windows(2).map(|w| (w[0].clone(), w[1].clone())).collect();
    out.extend((0..n / 2).map(|i| (v[i].clone(), v[n - 1 - i].clone())));
    out
}

/// Runs `program` with `input` on stdin; panics with install advice when it cannot start.
fn run_tool(program: &str, args: &[&str], input: &str, install: &str) -> String {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}; install it with: {install}"));
    let mut stdin = child.stdin.take().unwrap();
    let text = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "{program} failed: {}\ninstall with: {install}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn symbol(o: Ordering) -> &'static str {
    match o {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    }
}

fn report(name: &str, checked: usize, failures: &str) {
    assert!(checked > 0, "{name}: nothing compared");
    assert!(
        failures.is_empty(),
        "{name}: {} of {checked} disagree with the reference tool:\n{failures}",
        failures.lines().count()
    );
}

#[test]
fn dpkg_agrees_with_dpkg_compare_versions() {
    let versions = generate(r"([0-9]{1,2}:)?[0-9][0-9a-z.+~]{0,7}(-[0-9a-zA-Z.+~]{1,5})?", 400);
    let pairs = pairs(&versions);
    // One dpkg process per relation; spread over two threads.
    let chunks: Vec<Vec<(String, String)>> =
        pairs.chunks(pairs.len() / 2 + 1).map(<[_]>::to_vec).collect();
    let handles: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::spawn(move || {
                let relate = |a: &str, op: &str, b: &str| {
                    Command::new("dpkg")
                        .args(["--compare-versions", a, op, b])
                        .stderr(Stdio::null())
                        .status()
                        .expect("dpkg runs (this is a Debian machine)")
                        .success()
                };
                chunk
                    .into_iter()
                    .map(|(a, b)| {
                        let want = if relate(&a, "lt", &b) {
                            Ordering::Less
                        } else if relate(&a, "eq", &b) {
                            Ordering::Equal
                        } else {
                            Ordering::Greater
                        };
                        (a, b, want)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut failures = String::new();
    let mut checked = 0;
    for h in handles {
        for (a, b, want) in h.join().unwrap() {
            checked += 1;
            let got = Version::parse(Scheme::Dpkg, &a)
                .and_then(|x| x.compare(&Version::parse(Scheme::Dpkg, &b)?));
            if got != Ok(want) {
                let _ = writeln!(failures, "{a} vs {b}: dpkg {}, ward {got:?}", symbol(want));
            }
        }
    }
    report("dpkg", checked, &failures);
}

#[test]
fn rpmvercmp_agrees_with_rpm() {
    // Plain version strings (no `-` or `:`, so rpm's EVR split leaves them whole), and full
    // epoch:version-release strings with every part present.
    let mut cases = pairs(&generate(r"[0-9a-zA-Z.~^_+]{1,9}", 300));
    cases.extend(pairs(&generate(r"[0-9]{1,2}:[0-9][0-9a-z.~^]{0,5}-[0-9][0-9a-z.~^]{0,4}", 200)));
    let mut lua = String::from("%{lua:\n");
    for (a, b) in &cases {
        // Inside a macro, lua's print appends to the expansion without a newline.
        let _ = writeln!(lua, "print(rpm.vercmp([==[{a}]==], [==[{b}]==]) .. \"\\n\")");
    }
    lua.push('}');
    let out = run_tool("rpm", &["--eval", &lua], "", "apt-get install rpm");
    let answers: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(answers.len(), cases.len(), "rpm answered {} of {}", answers.len(), cases.len());
    let mut failures = String::new();
    for ((a, b), answer) in cases.iter().zip(answers) {
        let want = answer.trim().parse::<i32>().unwrap().cmp(&0);
        let got = if a.contains(':') {
            Version::parse(Scheme::Rpm, a)
                .unwrap()
                .compare(&Version::parse(Scheme::Rpm, b).unwrap())
                .unwrap()
        } else {
            rpm::rpmvercmp(a, b)
        };
        if got != want {
            let _ = writeln!(failures, "{a} vs {b}: rpm {}, ward {}", symbol(want), symbol(got));
        }
    }
    report("rpm", cases.len(), &failures);
}

#[test]
fn maven_agrees_with_comparable_version() {
    let versions = generate(
        r"[0-9]{1,3}([.-]([0-9]{1,3}|alpha|beta|rc|cr|m|ga|final|release|snapshot|sp|a|b|x|abc)[0-9]{0,2}){0,4}",
        600,
    );
    let jar = "/usr/share/maven/lib/maven-artifact-3.x.jar";
    let mut args = vec!["-cp", jar, "org.apache.maven.artifact.versioning.ComparableVersion"];
    args.extend(versions.iter().map(String::as_str));
    let out = run_tool("java", &args, "", "apt-get install maven (Maven 3.8.7)");
    let mut failures = String::new();
    let mut checked = 0;
    for line in out.lines().filter(|l| l.starts_with("   ")) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = parts[..] else { continue };
        let want = match op {
            "<" => Ordering::Less,
            "==" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => panic!("unexpected Maven output {line:?}"),
        };
        checked += 1;
        let got = Version::parse(Scheme::Maven, a)
            .unwrap()
            .compare(&Version::parse(Scheme::Maven, b).unwrap());
        if got != Ok(want) {
            let _ = writeln!(failures, "{a} vs {b}: Maven {}, ward {got:?}", symbol(want));
        }
    }
    assert_eq!(checked, versions.len() - 1);
    report("maven", checked, &failures);
}

const PACKAGING_SCRIPT: &str = r#"
import sys
from packaging.version import Version, InvalidVersion
from packaging.specifiers import SpecifierSet, InvalidSpecifier
for line in sys.stdin:
    kind, a, b = line.rstrip("\n").split("\t")
    try:
        if kind == "cmp":
            x, y = Version(a), Version(b)
            print((x > y) - (x < y))
        else:
            print("true" if SpecifierSet(a).contains(b) else "false")
    except (InvalidVersion, InvalidSpecifier):
        print("invalid")
"#;

#[test]
fn pep440_agrees_with_packaging() {
    let versions = generate(
        r"(v|[0-9]!)?[0-9]{1,3}(\.[0-9]{1,2}){0,3}([-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]{0,2})?([-_.]?(post|rev|r)[0-9]{0,2}|-[0-9])?([-_.]?dev[0-9]{0,2})?(\+[a-z0-9]{1,3}([-_.][a-z0-9]{1,3}){0,2})?",
        1200,
    );
    let specs = generate(
        r"((==|!=|<=|>=|<|>|~=)[0-9](\.[0-9]){1,2}((a|rc)1|\.post1|\.dev1)?,){0,2}(==|!=|<=|>=|<|>)[0-9](\.[0-9]){0,2}(\.\*)?",
        300,
    );
    let mut input = String::new();
    let cmp_pairs = pairs(&versions);
    for (a, b) in &cmp_pairs {
        let _ = writeln!(input, "cmp\t{a}\t{b}");
    }
    let spec_cases: Vec<(String, String)> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), versions[i * 3 % versions.len()].clone()))
        .collect();
    for (s, v) in &spec_cases {
        let _ = writeln!(input, "spec\t{s}\t{v}");
    }
    let python = tools_dir().join("bin/python3");
    let out = run_tool(
        python.to_str().unwrap(),
        &["-c", PACKAGING_SCRIPT],
        &input,
        "bash .ci/run (installs packaging==26.3 into $WARD_TOOLS_DIR)",
    );
    let answers: Vec<&str> = out.lines().collect();
    assert_eq!(answers.len(), cmp_pairs.len() + spec_cases.len());
    let mut failures = String::new();
    for ((a, b), answer) in cmp_pairs.iter().zip(&answers) {
        let got = Pep440Version::parse(a).and_then(|x| Ok(x.cmp(&Pep440Version::parse(b)?)));
        let agree = match (*answer, &got) {
            ("invalid", Err(_)) => true,
            (n, Ok(o)) if n != "invalid" => n.parse::<i32>().unwrap().cmp(&0) == *o,
            _ => false,
        };
        if !agree {
            let _ = writeln!(failures, "{a} vs {b}: packaging {answer}, ward {got:?}");
        }
    }
    for ((s, v), answer) in spec_cases.iter().zip(&answers[cmp_pairs.len()..]) {
        let got = SpecifierSet::parse(s).map(|set| set.contains(v, None));
        let agree = matches!(
            (*answer, &got),
            ("invalid", Err(_)) | ("true", Ok(true)) | ("false", Ok(false))
        );
        if !agree {
            let _ = writeln!(failures, "{v} in {s}: packaging {answer}, ward {got:?}");
        }
    }
    report("packaging", answers.len(), &failures);
}

const SEMVER_SCRIPT: &str = r#"
const semver = require(process.argv[1]);
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
for (const line of lines) {
  const [kind, a, b] = line.split("\t");
  try {
    if (kind === "cmp") {
      const x = semver.parse(a, { loose: true }), y = semver.parse(b, { loose: true });
      console.log(x && y ? String(semver.compare(x, y)) : "invalid");
    } else {
      let r;
      try { r = new semver.Range(a, { loose: true }); } catch (e) { console.log("invalid"); continue; }
      console.log(semver.satisfies(b, a, { loose: true }) ? "true" : "false");
    }
  } catch (e) { console.log("invalid"); }
}
"#;

#[test]
fn npm_agrees_with_node_semver() {
    let versions = generate(
        r"v?[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}(-(alpha|beta|rc|[0-9]{1,2})(\.[0-9a-z]{1,3}){0,2})?(\+[a-z0-9]{1,4})?",
        800,
    );
    let ranges = generate(
        r"((\^|~|>=|<=|>|<|=)?[0-9]{1,2}(\.([0-9]{1,2}|x|\*)){0,2}(-(alpha|rc)\.[0-9])?( |)){1,3}( \|\| (\^|~|>=|<)?[0-9](\.[0-9x]){0,2}){0,1}|[0-9]\.[0-9] - [0-9](\.[0-9]){0,2}",
        500,
    );
    let mut input = String::new();
    let cmp_pairs = pairs(&versions);
    for (a, b) in &cmp_pairs {
        let _ = writeln!(input, "cmp\t{a}\t{b}");
    }
    let sat: Vec<(String, String)> = ranges
        .iter()
        .enumerate()
        .map(|(i, r)| (r.clone(), versions[i * 7 % versions.len()].clone()))
        .collect();
    for (r, v) in &sat {
        let _ = writeln!(input, "sat\t{r}\t{v}");
    }
    let module = tools_dir().join("node/node_modules/semver");
    let out = run_tool(
        "node",
        &["-e", SEMVER_SCRIPT, module.to_str().unwrap()],
        &input,
        "bash .ci/run (installs semver@7.8.5 into $WARD_TOOLS_DIR/node)",
    );
    let answers: Vec<&str> = out.lines().collect();
    assert_eq!(answers.len(), cmp_pairs.len() + sat.len());
    let loose = NpmOptions { loose: true, include_prerelease: false };
    let mut failures = String::new();
    for ((a, b), answer) in cmp_pairs.iter().zip(&answers) {
        let npm =
            NpmVersion::parse(a, loose).and_then(|x| Ok(x.cmp(&NpmVersion::parse(b, loose)?)));
        // The lenient SemVer ordering used for OSV matching must agree too.
        let lenient = Version::parse(Scheme::Semver, a)
            .and_then(|x| x.compare(&Version::parse(Scheme::Semver, b)?));
        let agree = match (*answer, &npm) {
            ("invalid", Err(_)) => true,
            (n, Ok(o)) if n != "invalid" => {
                let want = n.parse::<i32>().unwrap().cmp(&0);
                *o == want && lenient.as_ref().ok() == Some(&want)
            }
            _ => false,
        };
        if !agree {
            let _ =
                writeln!(failures, "{a} vs {b}: node-semver {answer}, ward {npm:?} / {lenient:?}");
        }
    }
    for ((r, v), answer) in sat.iter().zip(&answers[cmp_pairs.len()..]) {
        let got = NpmRange::parse(r, loose).map(|range| range.satisfies_str(v));
        let agree = matches!(
            (*answer, &got),
            ("invalid", Err(_)) | ("true", Ok(true)) | ("false", Ok(false))
        );
        if !agree {
            let _ = writeln!(failures, "{v} in {r:?}: node-semver {answer}, ward {got:?}");
        }
    }
    report("node-semver", answers.len(), &failures);
}
