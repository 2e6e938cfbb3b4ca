//! ward-process against real programs: exit codes, signals, timeouts, output caps, env, cwd —
//! on both ways of waiting (a pidfd on this thread, or helper threads on older kernels).

use std::time::{Duration, Instant};

use ward_process::{Command, ProcessError, Status};

fn sh(script: &str) -> Command {
    Command::new("/bin/sh").args(["-c", script])
}

/// The script on both paths: the pidfd polling loop and the helper threads kernels before
/// 5.3 get; every behaviour must be the same on each.
fn both(script: &str) -> [Command; 2] {
    [sh(script), sh(script).without_pidfd()]
}

#[test]
fn exit_codes_and_output_are_reported() {
    for code in [0, 1, 2, 3, 4, 255] {
        for command in both(&format!("echo out; echo err >&2; exit {code}")) {
            let out = command.run().unwrap();
            assert_eq!(out.status, Status::Exited(code));
            assert_eq!(out.stdout.bytes, b"out\n");
            assert_eq!(out.stderr.bytes, b"err\n");
            assert!(!out.stdout.truncated());
        }
    }
}

#[test]
fn a_signal_is_not_an_exit_code() {
    for command in both("kill -SEGV $$") {
        let out = command.run().unwrap();
        assert_eq!(out.status, Status::Signaled(11));
        assert!(!out.status.success());
    }
}

#[test]
fn missing_and_unexecutable_programs_are_errors() {
    let err = Command::new("/nonexistent/ward-test-plugin").run().unwrap_err();
    assert!(matches!(err, ProcessError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("/nonexistent/ward-test-plugin"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plugin");
    std::fs::write(&path, "#!/bin/sh\necho hi\n").unwrap(); // mode 0644: not executable
    let err = Command::new(&path).run().unwrap_err();
    assert!(matches!(err, ProcessError::PermissionDenied { .. }), "{err}");
}

#[test]
fn output_past_the_limit_is_read_and_discarded() {
    // 4 MiB through a 64 KiB pipe: the child would block forever if ward stopped reading.
    for command in both("head -c 4194304 /dev/zero; echo done >&2") {
        let out = command.output_limit(1000).timeout(Duration::from_secs(60)).run().unwrap();
        assert_eq!(out.status, Status::Exited(0));
        assert_eq!(out.stdout.bytes.len(), 1000);
        assert_eq!(out.stdout.total, 4_194_304);
        assert!(out.stdout.truncated());
        assert_eq!(out.stderr.bytes, b"done\n");
    }
}

#[test]
fn keep_tail_keeps_the_last_bytes() {
    for command in both("seq 1 10000") {
        let out = command.output_limit(10).keep_tail().run().unwrap();
        assert_eq!(out.stdout.bytes, b"999\n10000\n");
        assert_eq!(out.stdout.bytes.len(), 10);
        assert!(out.stdout.truncated());
    }
}

#[test]
fn timeout_kills_the_whole_process_group_with_term() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("grandchild-survived");
    // A grandchild in the same group that would write the marker if it survived.
    let script = format!("(sleep 3; touch {}) & sleep 30", marker.display());
    let started = Instant::now();
    let out = sh(&script).timeout(Duration::from_millis(300)).run().unwrap();
    assert_eq!(out.status, Status::TimedOut { after: Duration::from_millis(300), killed: false });
    assert_eq!(out.status.to_string(), "timeout after 300 ms");
    // Generous margin: the point is "not 30 s".
    assert!(started.elapsed() < Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(4));
    assert!(!marker.exists(), "the grandchild outlived the process group kill");
}

#[test]
fn timeout_escalates_to_kill_when_term_is_ignored() {
    for command in both("trap '' TERM; sleep 30 & wait; sleep 30") {
        let out = command
            .timeout(Duration::from_millis(200))
            .kill_grace(Duration::from_millis(300))
            .run()
            .unwrap();
        assert!(matches!(out.status, Status::TimedOut { killed: true, .. }), "{:?}", out.status);
    }
}

#[test]
fn a_grandchild_holding_the_pipe_does_not_hang_ward() {
    // The main process exits at once; a background job keeps stdout open for 30 s.
    for command in both("echo first; sleep 30 &") {
        let started = Instant::now();
        let out = command.timeout(Duration::from_secs(1)).run().unwrap();
        assert_eq!(out.status, Status::Exited(0));
        assert_eq!(out.stdout.bytes, b"first\n");
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}

#[test]
fn env_cwd_and_stdin_reach_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let out = sh("echo \"$A $TOKEN $(pwd) $HOME\"; cat")
        .env_clear()
        .env("A", "plain")
        .secret_env("TOKEN", "s3cret")
        .current_dir(dir.path())
        .stdin("from stdin\n")
        .run()
        .unwrap();
    let text = String::from_utf8(out.stdout.bytes).unwrap();
    let cwd = dir.path().canonicalize().unwrap();
    assert_eq!(text, format!("plain s3cret {} \nfrom stdin\n", cwd.display()));
}

#[test]
fn env_remove_hides_a_variable() {
    // cargo and nextest both set CARGO_MANIFEST_DIR for test processes.
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some());
    let out = sh("echo \"[${CARGO_MANIFEST_DIR:-unset}]\"")
        .env_remove("CARGO_MANIFEST_DIR")
        .run()
        .unwrap();
    assert_eq!(out.stdout.bytes, b"[unset]\n");
}
