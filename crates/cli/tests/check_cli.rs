//! `ward check run` against the real Debian `monitoring-plugins` (installed by `.ci/run`):
//! the state, summary and performance data ward reports for each plugin.
#![allow(clippy::disallowed_methods, reason = "these tests run the real ward binary")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::thread;

use serde_json::Value;

const PLUGINS: &str = "/usr/lib/nagios/plugins";

fn plugin(name: &str) -> String {
    let path = format!("{PLUGINS}/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "{path} is missing: install Debian's monitoring-plugins (.ci/run does)"
    );
    path
}

fn ward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ward")).args(args).output().expect("ward runs")
}

/// Runs `ward check run --format json [extra] -- command...`; returns (exit code, JSON).
fn check_json(extra: &[&str], command: &[&str]) -> (i32, Value) {
    let mut args = vec!["check", "run", "--format", "json"];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(command);
    let out = ward(&args);
    let text = String::from_utf8_lossy(&out.stdout);
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("{command:?}: not JSON ({e}): {text} {}", String::from_utf8_lossy(&out.stderr))
    });
    assert_eq!(json["schema"], "ward.check/1");
    (out.status.code().expect("exit code"), json)
}

fn perf<'a>(json: &'a Value, label: &str) -> &'a Value {
    json["perfdata"]
        .as_array()
        .expect("perfdata array")
        .iter()
        .find(|p| p["label"] == label)
        .unwrap_or_else(|| panic!("no perfdata {label:?} in {json}"))
}

#[test]
fn check_dummy_every_state_and_an_invalid_one() {
    let dummy = plugin("check_dummy");
    for (code, state) in [(0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")] {
        let (exit, json) = check_json(&[], &[&dummy, &code.to_string(), "all is well"]);
        assert_eq!(exit, code);
        assert_eq!(json["state"], state);
        assert_eq!(json["summary"], format!("{state}: all is well"));
        assert!(json["duration_ms"].as_f64().unwrap() >= 0.0);
    }
    // check_dummy itself rejects state 4 with UNKNOWN.
    let (exit, json) = check_json(&[], &[&dummy, "4", "x"]);
    assert_eq!(exit, 3);
    assert_eq!(json["state"], "UNKNOWN");
    assert!(json["summary"].as_str().unwrap().contains("not a supported error state"), "{json}");
    // Text output is the plugin's own line.
    let out = ward(&["check", "run", "--", &dummy, "1", "disk 91%"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "WARNING: disk 91%\n");
}

#[test]
fn exit_codes_outside_0_to_3_signals_and_missing_plugins_are_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let script = |name: &str, body: &str, mode: u32| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path.to_string_lossy().into_owned()
    };
    let four = script("four", "echo 'odd | a=1'; exit 4", 0o755);
    let (exit, json) = check_json(&[], &[&four]);
    assert_eq!((exit, json["state"].as_str()), (3, Some("UNKNOWN")));
    assert_eq!(json["summary"], "plugin exited with code 4, not 0-3");
    assert_eq!(json["long_output"], "odd");
    assert_eq!(perf(&json, "a")["value"], 1.0);

    let segv = script("segv", "kill -SEGV $$", 0o755);
    let (exit, json) = check_json(&[], &[&segv]);
    assert_eq!(exit, 3);
    assert_eq!(json["summary"], "plugin was killed by signal 11 (SIGSEGV)");

    let (exit, json) = check_json(&[], &["/nonexistent/check_nothing"]);
    assert_eq!(exit, 3);
    assert_eq!(json["summary"], "plugin not found: /nonexistent/check_nothing");

    let noexec = script("noexec", "exit 0", 0o644);
    let (exit, json) = check_json(&[], &[&noexec]);
    assert_eq!(exit, 3);
    assert_eq!(json["summary"], format!("plugin is not executable: {noexec}"));

    let empty = script("empty", "exit 0", 0o755);
    let (exit, json) = check_json(&[], &[&empty]);
    assert_eq!((exit, json["summary"].as_str()), (0, Some("(No output returned from plugin)")));
}

#[test]
fn a_plugin_past_its_timeout_is_unknown_and_its_group_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("survived");
    let script = format!("(sleep 4; touch {}) & sleep 60", marker.display());
    let (exit, json) = check_json(&["--timeout", "1"], &["/bin/sh", "-c", &script]);
    assert_eq!(exit, 3);
    assert_eq!(json["state"], "UNKNOWN");
    assert_eq!(json["summary"], "timeout after 1 s");
    thread::sleep(std::time::Duration::from_secs(5));
    assert!(!marker.exists(), "a process of the plugin's group survived the timeout");
}

#[test]
fn malformed_perfdata_is_a_partial_parse_with_a_warning() {
    let out = ward(&["check", "run", "--", "/bin/sh", "-c", "echo 'OK | a=1 b=x c=3ms'"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK | a=1 c=3ms\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("perfdata \"b\": value \"x\" is not a number"), "{err}");
}

#[test]
fn check_tcp_against_a_local_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut s = stream;
            let _ = s.write_all(b"HELLO ward\r\n");
        }
    });
    let (exit, json) =
        check_json(&[], &[&plugin("check_tcp"), "-H", "127.0.0.1", "-p", &port, "-e", "HELLO"]);
    assert_eq!(exit, 0, "{json}");
    assert!(json["summary"].as_str().unwrap().starts_with("TCP OK"), "{json}");
    let time = perf(&json, "time");
    assert_eq!(time["uom"], "s");
    assert!(time["value"].as_f64().unwrap() >= 0.0);
    assert_eq!(time["min"], 0.0);

    // Expecting what the server does not send is a WARNING (check_tcp's default -M warn).
    let (exit, json) =
        check_json(&[], &[&plugin("check_tcp"), "-H", "127.0.0.1", "-p", &port, "-e", "NOPE"]);
    assert_eq!((exit, json["state"].as_str()), (1, Some("WARNING")), "{json}");

    // A closed port is CRITICAL.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port().to_string();
    drop(closed);
    let (exit, json) =
        check_json(&[], &[&plugin("check_tcp"), "-H", "127.0.0.1", "-p", &closed_port]);
    assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{json}");
}

/// A minimal HTTP/1.1 server on 127.0.0.1 answering every request with `status` and `body`.
fn http_server(status: &'static str, body: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if line == "\r\n" || line == "\n" {
                        break;
                    }
                    line.clear();
                }
                let mut s = stream;
                let _ = write!(
                    s,
                    "HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.flush();
                let _ = s.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    port
}

#[test]
fn check_http_and_check_curl_against_a_local_server() {
    let port = http_server("200 OK", "<html>Welcome to ward</html>").to_string();
    for name in ["check_http", "check_curl"] {
        let p = plugin(name);
        let (exit, json) =
            check_json(&[], &[&p, "-H", "127.0.0.1", "-p", &port, "-u", "/", "-s", "Welcome"]);
        assert_eq!(exit, 0, "{name}: {json}");
        assert!(json["summary"].as_str().unwrap().contains("200 OK"), "{name}: {json}");
        assert_eq!(perf(&json, "time")["uom"], "s", "{name}");
        assert_eq!(perf(&json, "size")["uom"], "B", "{name}");
        assert!(perf(&json, "size")["value"].as_f64().unwrap() >= 28.0, "{name}: {json}");

        let (exit, json) =
            check_json(&[], &[&p, "-H", "127.0.0.1", "-p", &port, "-u", "/", "-s", "Checkout"]);
        assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{name}: {json}");
    }
    let broken = http_server("500 Internal Server Error", "oops").to_string();
    for name in ["check_http", "check_curl"] {
        let (exit, json) = check_json(&[], &[&plugin(name), "-H", "127.0.0.1", "-p", &broken]);
        assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{name}: {json}");
    }
}

#[test]
fn check_disk_reports_usage_perfdata_and_thresholds() {
    let (exit, json) = check_json(&[], &[&plugin("check_disk"), "-w", "0%", "-c", "0%", "-p", "/"]);
    assert_eq!(exit, 0, "{json}");
    let root = perf(&json, "/");
    assert!(root["value"].as_f64().unwrap() > 0.0);
    assert!(root["max"].as_f64().unwrap() >= root["value"].as_f64().unwrap());
    assert_eq!(root["min"], 0.0);
    assert!(root["warn"].is_string() && root["crit"].is_string(), "{json}");
    // Demanding more free space than any disk has is CRITICAL.
    let (exit, json) =
        check_json(&[], &[&plugin("check_disk"), "-w", "100%", "-c", "100%", "-p", "/"]);
    assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{json}");
}

#[test]
fn check_procs_counts_processes() {
    let (exit, json) = check_json(&[], &[&plugin("check_procs"), "-w", "100000", "-c", "200000"]);
    assert_eq!(exit, 0, "{json}");
    let procs = perf(&json, "procs");
    assert!(procs["value"].as_f64().unwrap() >= 1.0);
    assert_eq!(procs["warn"], "100000");
    assert_eq!(procs["crit"], "200000");
    // `-c 0:0` with processes running is CRITICAL.
    let (exit, json) = check_json(&[], &[&plugin("check_procs"), "-c", "0:0"]);
    assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{json}");
}

#[test]
fn check_load_reports_three_averages() {
    let (exit, json) =
        check_json(&[], &[&plugin("check_load"), "-w", "1000,1000,1000", "-c", "2000,2000,2000"]);
    assert_eq!(exit, 0, "{json}");
    for label in ["load1", "load5", "load15"] {
        let p = perf(&json, label);
        assert!(p["value"].as_f64().unwrap() >= 0.0);
        assert_eq!(p["min"], 0.0);
    }
    // Critical above 0: CRITICAL unless all three averages are exactly 0.00.
    let (exit, json) = check_json(&[], &[&plugin("check_load"), "-w", "0,0,0", "-c", "0,0,0"]);
    let all_zero = ["load1", "load5", "load15"].iter().all(|l| perf(&json, l)["value"] == 0.0);
    assert_eq!(exit, if all_zero { 0 } else { 2 }, "{json}");
}

#[test]
fn builtin_http_and_tcp_from_the_command_line() {
    let port = http_server("200 OK", "<html>Welcome to ward</html>");
    let url = format!("http://127.0.0.1:{port}/");
    let (exit, json) =
        check_json(&["--builtin", "http", "--url", &url, "--contains", "Welcome"], &[]);
    assert_eq!(exit, 0, "{json}");
    assert!(json["summary"].as_str().unwrap().starts_with("HTTP OK: "), "{json}");
    assert_eq!(perf(&json, "size")["value"], 28.0);
    let (exit, json) =
        check_json(&["--builtin", "http", "--url", &url, "--contains", "Checkout"], &[]);
    assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{json}");
    let (exit, json) = check_json(
        &["--builtin", "tcp", "--host", "127.0.0.1", "--port", &port.to_string(), "-c", "@0:1000"],
        &[],
    );
    assert_eq!((exit, json["state"].as_str()), (2, Some("CRITICAL")), "{json}");
}

#[test]
fn usage_errors_of_check_run_are_unknown() {
    for args in [
        vec!["check", "run", "--builtin", "dns", "--name", "localhost", "--param", "colour=red"],
        vec!["check", "run", "--url", "http://x"],
        vec!["check", "run"],
        vec!["check", "run", "--timeout", "0", "--", "/bin/true"],
        vec!["check", "run", "--story", "/nonexistent/story.toml"],
    ] {
        let out = ward(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("ward: error: "), "{args:?}: {err}");
    }
}

#[test]
fn a_story_file_from_the_command_line() {
    let port = http_server("200 OK", "<html>Welcome to ward</html>");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("home.toml");
    let story = format!(
        "name = \"home\"\nbase_url = \"http://127.0.0.1:{port}\"\n\n[[step]]\nname = \"home page\"\nurl = \"/\"\ncontains = [\"Welcome\"]\n\n[[step]]\nname = \"cart\"\nurl = \"/cart\"\ncontains = [\"Your cart\"]\n"
    );
    std::fs::write(&file, story).unwrap();
    let (exit, json) = check_json(&["--story", file.to_str().unwrap()], &[]);
    assert_eq!(exit, 2, "{json}");
    assert_eq!(
        json["summary"],
        "STORY CRITICAL - home: step 2 \"cart\" failed: expected \"Your cart\" in the response"
    );
    assert!(json["long_output"].as_str().unwrap().contains("Welcome to ward"), "{json}");
}
