//! `ward patch` on a real Debian 12 system (debootstrap, built once by `.ci/debian-image`,
//! with the security suite enabled after the base install so real security updates are
//! pending), copied per test: the plan equals apt's own simulated selection; apply installs
//! the updates (dpkg-query shows them), repairs an interrupted dpkg first, keeps a modified
//! config file and records the CVEs from the changelogs (checked against
//! `dpkg-parsechangelog`); a service whose health check fails after the update is rolled back
//! to exactly the previous versions and config; a failing pre-hook vetoes the run.
//! Needs root (chroot), like CI.
#![allow(
    clippy::disallowed_methods,
    reason = "these tests run the real ward binary, apt and a service inside the Debian system"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use ward_testdata::DebianSystem;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(args)
        .env_remove("WARD_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("ward runs")
}

/// `ward patch SUB --root ROOT --data-dir DATA --format json ARGS...` → (document, output).
fn patch(system: &DebianSystem, data: &Path, sub: &str, args: &[&str]) -> (Value, Output) {
    let root = system.root().display().to_string();
    let data = data.display().to_string();
    let mut all = vec!["patch", sub, "--root", &root, "--data-dir", &data, "--format", "json"];
    all.extend_from_slice(args);
    let o = ward(&all);
    let doc = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "ward patch {sub} {args:?}: not JSON ({e}):\n{}\n{}",
            text(&o.stdout),
            text(&o.stderr)
        )
    });
    (doc, o)
}

/// Every installed package and its version, as dpkg-query shows them.
fn versions(system: &DebianSystem) -> BTreeMap<String, String> {
    system
        .sh("dpkg-query -W -f='${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'")
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, version, status) = (f.next()?, f.next()?, f.next()?);
            status.starts_with("ii").then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

/// What apt itself would install: `apt-get -s ARGS` Inst lines as name=version, keeping
/// only security-suite ones when asked.
fn apt_selection(system: &DebianSystem, args: &str, security_only: bool) -> BTreeSet<String> {
    system
        .sh(&format!("apt-get -s -o Debug::NoLocking=1 {args}"))
        .lines()
        .filter(|l| l.starts_with("Inst ") && (!security_only || l.contains("-security")))
        .map(|l| {
            let mut words = l.split_whitespace().skip(1);
            let name = words.next().unwrap_or_default();
            let version = l
                .split_once('(')
                .and_then(|(_, r)| r.split_whitespace().next())
                .unwrap_or_default();
            format!("{name}={version}")
        })
        .collect()
}

fn planned(doc: &Value) -> BTreeSet<String> {
    doc["updates"]
        .as_array()
        .expect("updates")
        .iter()
        .map(|u| format!("{}={}", u["name"].as_str().expect("name"), u["to"].as_str().expect("to")))
        .collect()
}

#[test]
fn plan_equals_apts_own_selection() {
    let system = DebianSystem::copy();
    let data = tempfile::tempdir().unwrap();
    let apt_security = apt_selection(&system, "dist-upgrade", true);
    assert!(
        apt_security.len() >= 3,
        "the test system has pending security updates: {apt_security:?}"
    );

    let (doc, o) = patch(&system, data.path(), "plan", &["--security-only"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(doc["schema"], "ward.patch-plan/1");
    assert_eq!(
        planned(&doc),
        apt_security,
        "security-only plan vs apt-get -s dist-upgrade (security suite)"
    );
    assert!(doc["updates"].as_array().unwrap().iter().all(|u| u["security"] == true));

    let (all, _) = patch(&system, data.path(), "plan", &[]);
    assert_eq!(
        planned(&all),
        apt_selection(&system, "dist-upgrade", false),
        "all vs apt-get -s dist-upgrade"
    );

    // Denying libapt-pkg6.0 also holds apt, whose new version needs the new library; what
    // remains is exactly what apt installs for the remaining packages.
    let (denied, _) =
        patch(&system, data.path(), "plan", &["--security-only", "--deny", "libapt-pkg6.0"]);
    let held: BTreeMap<&str, &str> = denied["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(held.get("libapt-pkg6.0"), Some(&"denied by --deny"), "{held:?}");
    assert!(held.get("apt").is_some_and(|r| r.contains("libapt-pkg6.0")), "{held:?}");
    let rest: Vec<String> = planned(&denied).into_iter().collect();
    assert!(!rest.iter().any(|p| p.starts_with("apt=") || p.starts_with("libapt-pkg6.0=")));
    assert_eq!(
        planned(&denied),
        apt_selection(
            &system,
            &format!("install --no-install-recommends {}", rest.join(" ")),
            false
        )
    );

    // The CVEs of each update are those its changelog names since the installed version, as
    // dpkg-parsechangelog (dpkg-dev) reads them from the downloaded package.
    for update in doc["updates"].as_array().unwrap() {
        let (name, from, to) = (
            update["name"].as_str().unwrap(),
            update["from"].as_str().unwrap(),
            update["to"].as_str().unwrap(),
        );
        let deb = format!("/var/cache/apt/archives/{name}_{}_*.deb", to.replace(':', "%3a"));
        let changelog = format!("{}/changelog-{name}", system.root().display());
        let extract = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "dpkg-deb --fsys-tarfile {root}{deb} | tar -xO --wildcards './usr/share/doc/*/changelog.Debian.gz' | gzip -dc > {changelog}",
                root = system.root().display()
            ))
            .output()
            .unwrap();
        if !extract.status.success() || std::fs::metadata(&changelog).map_or(0, |m| m.len()) == 0 {
            continue; // this binary's doc folder links to another package of its source
        }
        let reference = Command::new("dpkg-parsechangelog")
            .args(["-l", &changelog, "--since", from, "-S", "Changes"])
            .output()
            .expect("dpkg-parsechangelog (dpkg-dev) is installed by .ci/run");
        let cves: BTreeSet<String> = regex_cves(&text(&reference.stdout));
        let ours: BTreeSet<String> = update["cves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        assert_eq!(ours, cves, "{name} {from} → {to}");
    }
    let cves: usize = doc["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["cves"].as_array().unwrap().len())
        .sum();
    assert!(cves > 0, "the pending security updates name CVEs in their changelogs");

    // An apt hold is respected; a package whose locally modified config file the update
    // would also change (dpkg would ask) is held back, loudly. dpkg decides "the update
    // changes it" from the checksum it recorded at install, which the test alters.
    system.sh("apt-mark hold perl-base >/dev/null");
    system.sh("echo '# local change' >> /etc/logrotate.d/apt");
    system.sh("sed -i 's|^ /etc/logrotate.d/apt [0-9a-f]*$| /etc/logrotate.d/apt 00000000000000000000000000000000|' /var/lib/dpkg/status");
    let (held_plan, _) = patch(&system, data.path(), "plan", &["--security-only"]);
    let held: BTreeMap<&str, (&str, bool)> = held_plan["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["name"].as_str().unwrap(),
                (h["reason"].as_str().unwrap(), h["attention"].as_bool().unwrap()),
            )
        })
        .collect();
    assert_eq!(held.get("perl-base"), Some(&("held (apt-mark hold)", false)), "{held:?}");
    let (reason, attention) = held["apt"];
    assert!(
        attention && reason.contains("would ask about locally modified /etc/logrotate.d/apt"),
        "{reason}"
    );
    let rest = planned(&held_plan);
    assert!(!rest.iter().any(|p| p.starts_with("apt=") || p.starts_with("perl-base=")), "{rest:?}");
    let rest: Vec<String> = rest.into_iter().collect();
    assert_eq!(
        planned(&held_plan),
        apt_selection(
            &system,
            &format!("install --no-install-recommends {}", rest.join(" ")),
            false
        )
    );
}

fn regex_cves(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let upper = text.to_uppercase();
    let mut rest = upper.as_str();
    while let Some(i) = rest.find("CVE-") {
        let tail = &rest[i + 4..];
        let year: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let after = &tail[year.len()..];
        if year.len() == 4 && after.starts_with('-') {
            let number: String = after[1..].chars().take_while(char::is_ascii_digit).collect();
            if number.len() >= 4 {
                out.insert(format!("CVE-{year}-{number}"));
            }
        }
        rest = tail;
    }
    out
}

#[test]
fn apply_installs_repairs_keeps_config_and_rolls_back_by_hand() {
    let system = DebianSystem::copy();
    let data = tempfile::tempdir().unwrap();
    let before = versions(&system);
    // A locally modified config file of a package the update replaces.
    system.sh("echo '# local change by the admin' >> /etc/logrotate.d/apt");
    let edited = std::fs::read(system.root().join("etc/logrotate.d/apt")).unwrap();
    // An interrupted dpkg: a package unpacked but never configured.
    system.sh("dpkg --unpack /var/cache/apt/archives/hostname_*.deb >/dev/null");
    assert!(system.sh("dpkg --audit").contains("hostname"), "hostname is left unconfigured");
    // A process running code the update replaces.
    let mut sleeper = Command::new("chroot")
        .arg(system.root())
        .args(["perl", "-e", "sleep 600"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));

    let (run, o) = patch(&system, data.path(), "apply", &["--security-only"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(o.status.success(), "{run:#}\n{}", text(&o.stderr));
    assert_eq!(
        (run["schema"].as_str(), run["outcome"].as_str()),
        (Some("ward.patch-run/1"), Some("applied")),
        "{run:#}"
    );
    assert!(run["repair"]["what"].as_str().unwrap().contains("hostname"), "{:#}", run["repair"]);
    assert!(system.sh("dpkg --audit").trim().is_empty(), "dpkg was repaired");

    // dpkg shows every planned version, and nothing else changed.
    let after = versions(&system);
    let plan = run["plan"].as_array().unwrap();
    for u in plan {
        assert_eq!(
            after.get(u["name"].as_str().unwrap()).map(String::as_str),
            u["to"].as_str(),
            "{u}"
        );
    }
    let changed: BTreeSet<&String> =
        after.iter().filter(|(n, v)| before.get(*n) != Some(v)).map(|(n, _)| n).collect();
    let names: BTreeSet<String> =
        plan.iter().map(|u| u["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(changed, names.iter().collect());
    assert!(
        run["plan"].as_array().unwrap().iter().any(|u| !u["cves"].as_array().unwrap().is_empty()),
        "CVEs recorded"
    );

    // The modified config file was kept, reported and backed up.
    assert_eq!(std::fs::read(system.root().join("etc/logrotate.d/apt")).unwrap(), edited);
    let conffile = run["conffiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "/etc/logrotate.d/apt")
        .unwrap();
    assert_eq!(
        (conffile["modified"].as_bool(), conffile["kept"].as_bool()),
        (Some(true), Some(true)),
        "{conffile}"
    );
    // The process still running the old perl is named for a restart.
    assert!(
        run["restarts"].as_array().unwrap().iter().any(|r| r["target"]
            .as_str()
            .unwrap()
            .contains("(perl)")
            && r["processes"][0]["files"].as_array().unwrap().iter().any(|f| f == "/usr/bin/perl")),
        "{:#}",
        run["restarts"]
    );

    // History and status see the run; then roll it back by hand.
    let id = run["id"].as_str().unwrap();
    let (history, _) = patch(&system, data.path(), "history", &[]);
    assert_eq!(history["runs"][0]["id"].as_str(), Some(id));
    let (rolled, o) = patch(&system, data.path(), "rollback", &[id]);
    assert!(o.status.success(), "{rolled:#}\n{}", text(&o.stderr));
    assert_eq!(rolled["outcome"], "rolled-back");
    assert_eq!(versions(&system), before, "exactly the versions before the run");
}

#[test]
fn a_failing_health_check_rolls_back_versions_and_config() {
    let system = DebianSystem::copy();
    let data = tempfile::tempdir().unwrap();
    // The service reads a config file that belongs to a package the update replaces; an
    // update hook (standing in for a maintainer script that rewrites it) drops the line the
    // service needs.
    system.sh("echo '# ward-marker: the site needs this line' >> /etc/logrotate.d/apt");
    let edited = std::fs::read(system.root().join("etc/logrotate.d/apt")).unwrap();
    system.sh(
        "echo 'DPkg::Post-Invoke { \"sed -i /ward-marker/d /etc/logrotate.d/apt\"; };' > /etc/apt/apt.conf.d/99break-the-site",
    );
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = r#"
        use IO::Socket::INET;
        my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1) or die "listen: $!";
        while (my $c = $s->accept) {
            while (my $l = <$c>) { last if $l =~ /^\r?\n$/ }
            open(my $f, "<", "/etc/logrotate.d/apt"); my $conf = do { local $/; <$f> }; close $f;
            my ($code, $body) = $conf =~ /ward-marker/ ? ("200 OK", "healthy\n") : ("500 Internal Server Error", "config lost\n");
            print $c "HTTP/1.0 $code\r\nContent-Type: text/plain\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
            close $c;
        }"#;
    let mut service = Command::new("chroot")
        .arg(system.root())
        .args(["perl", "-e", server, &port.to_string()])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let check = format!("http url=http://127.0.0.1:{port}/ status=200 contains=healthy");
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let before = versions(&system);

    let (run, o) = patch(&system, data.path(), "apply", &["--security-only", "--check", &check]);
    let _ = service.kill();
    let _ = service.wait();
    assert_eq!(o.status.code(), Some(1), "{run:#}\n{}", text(&o.stderr));
    assert_eq!(run["outcome"], "rolled-back", "{run:#}");
    assert!(run["checks_before"][0]["ok"].as_bool().unwrap());
    assert_eq!(run["checks_after"][0]["ok"].as_bool(), Some(false));
    let reason = run["reason"].as_str().unwrap();
    assert!(
        reason.contains("failed after the update") && reason.contains("500 Internal Server Error"),
        "{reason}"
    );
    let rollback = &run["rollback"];
    assert_eq!(rollback["versions_restored"], true, "{rollback:#}");
    assert!(rollback["checks"][0]["ok"].as_bool().unwrap(), "{rollback:#}");
    assert_eq!(versions(&system), before, "exactly the previous versions");
    assert_eq!(
        std::fs::read(system.root().join("etc/logrotate.d/apt")).unwrap(),
        edited,
        "config restored"
    );

    let root = system.root().display().to_string();
    let o = ward(&[
        "patch",
        "status",
        "--root",
        &root,
        "--data-dir",
        &data.path().display().to_string(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("run-rolled-back"), "{}", text(&o.stdout));
}

#[test]
fn a_failing_pre_hook_vetoes_the_run() {
    let system = DebianSystem::copy();
    let data = tempfile::tempdir().unwrap();
    let before = versions(&system);
    let (run, o) =
        patch(&system, data.path(), "apply", &["--pre-hook", "echo no backup tonight; exit 3"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(run["outcome"], "vetoed");
    assert_eq!(run["hooks"][0]["status"], "exit 3");
    assert!(run["reason"].as_str().unwrap().contains("no backup tonight"), "{run:#}");
    assert!(run["steps"].as_array().unwrap().is_empty());
    assert_eq!(versions(&system), before);
}

#[test]
fn a_killed_run_is_reported_and_the_next_run_finishes_the_job() {
    let system = DebianSystem::copy();
    let data = tempfile::tempdir().unwrap();
    // Slow each install step down so the test can kill ward in the middle of the run.
    system.sh("echo 'DPkg::Pre-Invoke { \"sleep 2\"; };' > /etc/apt/apt.conf.d/99slow");
    let root = system.root().display().to_string();
    let data_dir = data.path().display().to_string();
    let mut ward_run = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["patch", "apply", "--security-only", "--root", &root, "--data-dir", &data_dir])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let runs = data.path().join("patch/runs");
    let record = || -> Option<Value> {
        let dir = std::fs::read_dir(&runs).ok()?.filter_map(Result::ok).next()?;
        serde_json::from_slice(&std::fs::read(dir.path().join("run.json")).ok()?).ok()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while record().is_none_or(|r| r["steps"].as_array().is_none_or(Vec::is_empty)) {
        assert!(std::time::Instant::now() < deadline, "no step recorded: {:?}", record());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    ward_run.kill().unwrap(); // SIGKILL, mid-run
    let _ = ward_run.wait();
    // The package manager ward started finishes its own step; wait for it.
    while !system.processes().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "apt still running: {:?}",
            system.processes()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let killed = record().unwrap();
    assert_eq!(killed["outcome"], "running");
    assert!(
        !killed["kept"].as_array().unwrap().is_empty(),
        "the previous versions were kept before any step"
    );

    let o = ward(&["patch", "status", "--root", &root, "--data-dir", &data_dir]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o.stdout).contains("run-interrupted"), "{}", text(&o.stdout));

    // The next run takes over where the killed one stopped.
    let (run, o) = patch(&system, data.path(), "apply", &["--security-only"]);
    assert!(o.status.success(), "{run:#}\n{}", text(&o.stderr));
    assert!(matches!(run["outcome"].as_str(), Some("applied")), "{run:#}");
    let after = versions(&system);
    for u in killed["plan"].as_array().unwrap() {
        assert_eq!(
            after.get(u["name"].as_str().unwrap()).map(String::as_str),
            u["to"].as_str(),
            "{u}"
        );
    }
    let o = ward(&["patch", "status", "--root", &root, "--data-dir", &data_dir]);
    assert!(o.status.success(), "{}", text(&o.stdout));
}

/// This machine's own pending updates: `ward patch plan` (read-only; nothing downloaded)
/// lists exactly what `apt-get -s dist-upgrade` lists, all and security-only.
#[test]
fn plan_on_this_host_equals_apt() {
    let apt = Command::new("apt-get")
        .args(["-s", "-o", "Debug::NoLocking=1", "dist-upgrade"])
        .output()
        .unwrap();
    assert!(apt.status.success(), "{}", text(&apt.stderr));
    let inst: Vec<String> =
        text(&apt.stdout).lines().filter(|l| l.starts_with("Inst ")).map(str::to_string).collect();
    let name_version = |l: &String| {
        let name = l.split_whitespace().nth(1).unwrap_or_default();
        let version =
            l.split_once('(').and_then(|(_, r)| r.split_whitespace().next()).unwrap_or_default();
        format!("{name}={version}")
    };
    let all: BTreeSet<String> = inst.iter().map(name_version).collect();
    let security: BTreeSet<String> =
        inst.iter().filter(|l| l.contains("-security")).map(name_version).collect();
    for (args, expected) in [(vec![], &all), (vec!["--security-only"], &security)] {
        let mut full = vec!["patch", "plan", "--no-download", "--format", "json"];
        full.extend(args.iter().copied());
        let o = ward(&full);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(&planned(&doc), expected, "ward patch plan {args:?} vs apt-get -s dist-upgrade");
    }
}

/// With an advisory index in the data directory, the plan also names the CVEs its Debian
/// records say each update fixes (those affecting the installed version and not the new
/// one), beside the changelog's.
#[test]
fn plan_adds_the_cves_the_advisory_index_knows() {
    let system = DebianSystem::copy();
    let data = tempfile::tempdir().unwrap();
    let feed = data.path().join("debian-osv.json");
    let record = |id: &str, cve: &str, package: &str, fixed: &str| {
        serde_json::json!({
            "schema_version": "1.7.0", "id": id, "modified": "2026-11-01T00:00:00Z", "upstream": [cve],
            "affected": [{"package": {"ecosystem": "Debian:12", "name": package},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
        })
    };
    let records = serde_json::json!([
        record("DEBIAN-CVE-2099-0001", "CVE-2099-0001", "tzdata", "2026f-0+deb12u1"),
        record("DEBIAN-CVE-2099-0002", "CVE-2099-0002", "perl", "5.36.0-7+deb12u9"),
        record("DEBIAN-CVE-2099-0003", "CVE-2099-0003", "tzdata", "2026a-0+deb12u1"),
    ]);
    std::fs::write(&feed, serde_json::to_vec(&records).unwrap()).unwrap();
    let data_dir = data.path().display().to_string();
    let o = ward(&["db", "import", "--data-dir", &data_dir, &feed.display().to_string()]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));

    let (plan, o) = patch(&system, data.path(), "plan", &["--security-only", "--no-download"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let cves = |name: &str| -> Vec<String> {
        plan["updates"].as_array().unwrap().iter().find(|u| u["name"] == name).unwrap()["cves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    // tzdata 2026f fixes 0001 (the installed 2026b is affected); 0003 was fixed before 2026b.
    assert!(cves("tzdata").contains(&"CVE-2099-0001".to_string()), "{:?}", cves("tzdata"));
    assert!(!cves("tzdata").contains(&"CVE-2099-0003".to_string()));
    // perl's update does not reach the fixed version of 0002.
    assert!(!cves("perl-base").contains(&"CVE-2099-0002".to_string()), "{:?}", cves("perl-base"));
}
