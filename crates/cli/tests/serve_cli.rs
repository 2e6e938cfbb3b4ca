//! `ward check serve`, `status`, `submit` and `ward run --heartbeat` end to end: the real
//! binary, real plugins, a state directory per test.
#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward")).args(args).output().expect("ward runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

const CONFIG: &str = r#"
[serve]
state_dir = "state"
concurrency = 2

[[check]]
name = "gateway"
command = ["/usr/lib/nagios/plugins/check_dummy", "2", "gateway down"]
max_attempts = 1

[[check]]
name = "app"
command = ["/usr/lib/nagios/plugins/check_dummy", "2", "app down"]
max_attempts = 2
retry_interval = "1s"
parents = ["gateway"]

[[check]]
name = "disk"
builtin = "disk"
params = { path = "/", warning = 101, critical = 101 }

[[check]]
name = "report"
passive = true
freshness = "1h"

[[heartbeat]]
name = "backup"
period = "1h"
grace = "5m"
"#;

fn setup() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = dir.path().join("checks.toml");
    std::fs::write(&config, CONFIG).expect("config written");
    let c = config.to_str().expect("UTF-8 path").to_string();
    (dir, c)
}

fn status_json(config: &str) -> Value {
    let out = ward(&["check", "status", "--config", config, "--format", "json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn check<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["checks"]
        .as_array()
        .expect("checks array")
        .iter()
        .find(|c| c["name"] == name)
        .expect(name)
}

#[test]
fn serve_once_runs_every_check_and_a_failed_parent_silences_its_child() {
    let (dir, config) = setup();
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains(
            "gateway CRITICAL HARD 1/1: CRITICAL: gateway down\n  notify PROBLEM CRITICAL\n"
        ),
        "{t}"
    );
    let status = status_json(&config);
    assert_eq!(status["schema"], "ward.check-status/1");
    assert_eq!(check(&status, "disk")["state"], "OK");
    assert_eq!(check(&status, "report")["state"], "PENDING");
    assert_eq!(check(&status, "backup")["state"], "OK");
    assert_eq!(check(&status, "app")["state_type"], "SOFT", "one of two attempts");
    assert!(dir.path().join("state/metrics.prom").exists());
    let metrics = std::fs::read_to_string(dir.path().join("state/metrics.prom")).unwrap();
    assert!(metrics.contains("ward_check_state{check=\"gateway\"} 2\n"), "{metrics}");
    assert!(
        metrics.contains("ward_check_perfdata{check=\"disk\",label=\"used_pct\",uom=\"%\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("ward_scheduler_queue_latency_seconds{stat=\"max\"}"), "{metrics}");
    assert_eq!(status["scheduler"]["runs"], 3, "gateway, app, disk");
}

#[test]
fn the_child_is_unreachable_once_the_parent_is_known_down() {
    let (_dir, config) = setup();
    // A first pass leaves the gateway HARD CRITICAL and the app at SOFT 1/2 (kept in
    // state.json); the running server's first app result is then HARD 2/2 behind a parent
    // known to be down: UNREACHABLE and silent. No timing involved.
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = ward(&["check", "serve", "--config", &config, "--duration", "4"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("app CRITICAL HARD 2/2: CRITICAL: app down\n  notify PROBLEM CRITICAL suppressed: unreachable (parent gateway is down)\n"), "{t}");
    let status = status_json(&config);
    assert_eq!(check(&status, "gateway")["state"], "CRITICAL");
    assert_eq!(check(&status, "app")["state"], "UNREACHABLE");
    assert_eq!(check(&status, "app")["unreachable_because"], "gateway");
    let out = ward(&["check", "status", "--config", &config]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("UNREACHABLE HARD     2/2  app"), "{}", text(&out));
}

#[test]
fn submit_and_heartbeats_reach_the_engine() {
    let (dir, config) = setup();
    let out = ward(&[
        "check",
        "submit",
        "--config",
        &config,
        "report",
        "WARNING",
        "backup slow | time=12s;10;20",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = ward(&[
        "run",
        "--heartbeat",
        "backup",
        "--config",
        &config,
        "--",
        "/bin/sh",
        "-c",
        "echo copying; echo 'disk full' >&2; exit 3",
    ]);
    assert_eq!(out.status.code(), Some(3), "the job's exit code");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "copying\n", "output passes through");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "disk full\n");
    let spooled = std::fs::read_dir(dir.path().join("state/spool")).unwrap().count();
    assert_eq!(spooled, 3, "one result, a start and a failure");

    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    let t = text(&out);
    assert!(t.contains("report WARNING SOFT 1/3: backup slow"), "{t}");
    assert!(t.contains("backup CRITICAL HARD 1/1: HEARTBEAT CRITICAL - backup: last run failed with exit code 3"), "{t}");
    let status = status_json(&config);
    let report = check(&status, "report");
    assert_eq!(report["state"], "WARNING");
    assert_eq!(report["perfdata"][0]["label"], "time");
    assert_eq!(report["perfdata"][0]["warn"], "10");
    let backup = check(&status, "backup");
    assert_eq!(backup["long_output"], "copying\ndisk full\n");
    assert_eq!(status["scheduler"]["passive_results"], 1);
    assert_eq!(status["scheduler"]["heartbeat_pings"], 2);
    assert_eq!(
        std::fs::read_dir(dir.path().join("state/spool")).unwrap().count(),
        0,
        "spool emptied"
    );

    // A successful run clears the failure.
    let out = ward(&["run", "--heartbeat", "backup", "--config", &config, "--", "/bin/true"]);
    assert!(out.status.success());
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    assert!(text(&out).contains("HEARTBEAT OK - backup: last run succeeded"), "{}", text(&out));
}

#[test]
fn a_batch_of_passive_results_from_standard_input() {
    use std::io::Write;
    let (_dir, config) = setup();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["check", "submit", "--config", &config, "--batch"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .expect("ward submit starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"report\tOK\tfine | v=1\nreport\tCRITICAL\tbackup failed | v=2\\nsee /var/log/backup\n")
        .expect("write");
    drop(stdin);
    assert!(child.wait().expect("ward submit ends").success());
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    let t = text(&out);
    assert!(t.contains("report OK HARD 1/3: fine\n"), "{t}");
    assert!(t.contains("report CRITICAL SOFT 1/3: backup failed\n"), "{t}");
    let status = status_json(&config);
    assert_eq!(check(&status, "report")["long_output"], "see /var/log/backup");
    assert_eq!(status["scheduler"]["passive_results"], 2);

    let out = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["check", "submit", "--config", &config, "--batch"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ward runs");
    assert!(out.status.success(), "an empty batch is fine");
}

#[test]
fn bad_input_is_reported_clearly() {
    let (dir, config) = setup();
    let out = ward(&["check", "submit", "--config", &config, "report", "FINE", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("state \"FINE\""), "{}", text(&out));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[check]]\nname = \"x\"\ncommand = []\ninterval = \"soon\"\n").unwrap();
    let out = ward(&["check", "serve", "--config", bad.to_str().unwrap(), "--once"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains("2 problem(s)") && t.contains("command is empty") && t.contains("\"soon\""),
        "{t}"
    );
    let out =
        ward(&["check", "status", "--state-dir", dir.path().join("nowhere").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("is `ward check serve` running"), "{}", text(&out));
    let out =
        ward(&["run", "--heartbeat", "backup", "--config", &config, "--", "/nonexistent/job"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(Path::new(&dir.path().join("state/spool")).exists());
}

/// Polls `ward check status` until `done` holds (at most 30 s: a generous bound, not a
/// timing assertion).
fn wait_for(config: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let out = ward(&["check", "status", "--config", config, "--format", "json"]);
        if let Ok(status) = serde_json::from_slice::<Value>(&out.stdout) {
            if done(&status) {
                return status;
            }
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn acknowledgements_and_downtimes_reach_a_running_server() {
    let (_dir, config) = setup();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ward"))
        .args(["check", "serve", "--config", &config, "--duration", "60"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ward serve starts");
    wait_for(&config, "the gateway to fail", |s| check(s, "gateway")["state"] == "CRITICAL");
    let out =
        ward(&["check", "ack", "--config", &config, "gateway", "--comment", "on it", "--sticky"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = ward(&[
        "check",
        "downtime",
        "--config",
        &config,
        "disk",
        "--duration",
        "1h",
        "--comment",
        "resize",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let status = wait_for(&config, "the acknowledgement and the downtime", |s| {
        check(s, "gateway")["acknowledged"] == true && check(s, "disk")["in_downtime"] == true
    });
    let downtime = &status["downtimes"][0];
    assert_eq!(downtime["check"], "disk");
    assert_eq!(downtime["comment"], "resize");
    assert_eq!(downtime["active"], true);
    let out = ward(&["check", "status", "--config", &config]);
    let t = text(&out);
    assert!(t.contains("[acknowledged]") && t.contains("[in downtime]"), "{t}");
    assert!(t.contains(&format!("downtime {} for disk:", downtime["id"])), "{t}");

    let id = downtime["id"].to_string();
    let out = ward(&["check", "downtime", "--config", &config, "--end", &id]);
    assert!(out.status.success(), "{}", text(&out));
    wait_for(&config, "the downtime to end", |s| check(s, "disk")["in_downtime"] == false);
    // Acknowledging an OK check is refused by the server and counted.
    let out = ward(&["check", "ack", "--config", &config, "disk", "--comment", "x"]);
    assert!(out.status.success());
    wait_for(&config, "the rejection", |s| s["scheduler"]["rejected_messages"] == 1);
    server.kill().expect("stop the server");
    server.wait().expect("server reaped");
}

#[test]
fn state_survives_a_restart_of_serve() {
    let (dir, config) = setup();
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    assert!(text(&out).contains("app CRITICAL SOFT 1/2: CRITICAL: app down"), "{}", text(&out));
    // The second run continues the count: HARD at the second failure, and the gateway is
    // known down from the first run, so the app is UNREACHABLE and its notification silent.
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    let t = text(&out);
    assert!(
        t.contains("app CRITICAL HARD 2/2: CRITICAL: app down\n  notify PROBLEM CRITICAL suppressed: unreachable (parent gateway is down)\n"),
        "{t}"
    );
    assert!(
        !t.contains("gateway CRITICAL HARD 1/1: CRITICAL: gateway down\n  notify"),
        "no second notification: {t}"
    );
    // An unreadable state file is set aside, not fatal.
    std::fs::write(dir.path().join("state/state.json"), "{garbage").expect("write");
    let out = ward(&["check", "serve", "--config", &config, "--once"]);
    assert!(text(&out).contains("app CRITICAL SOFT 1/2"), "fresh start: {}", text(&out));
    assert!(dir.path().join("state/state.json.bad").exists());
}

/// The trends (every perfdata series, all resolutions) are kept in `trends.db`: a second
/// run of serve adds to the first run's buckets instead of starting over.
#[test]
fn trends_survive_a_restart_of_serve() {
    let (dir, config) = setup();
    let points = || -> u64 {
        let bytes = std::fs::read(dir.path().join("state/trends.json")).expect("trends.json");
        let trends: Value = serde_json::from_slice(&bytes).expect("trends JSON");
        assert_eq!(trends["schema"], "ward.check-trends/1");
        let disk = trends["series"]["disk"].as_object().expect("disk series");
        let (_, first) = disk.iter().next().expect("a perfdata label");
        let count = |res: &str| -> u64 {
            first[res]
                .as_array()
                .expect(res)
                .iter()
                .map(|row| row[4].as_u64().expect("count"))
                .sum()
        };
        assert_eq!(count("5m"), count("1h"));
        count("5m")
    };
    for run in 1..=3 {
        let out = ward(&["check", "serve", "--config", &config, "--once"]);
        assert!(text(&out).contains("disk OK HARD"), "{}", text(&out));
        assert_eq!(points(), run, "run {run}: every earlier run's point is still counted");
    }
    assert!(dir.path().join("state/trends.db").is_file());
}
