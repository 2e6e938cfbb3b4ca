//! Reboot decisions: `decide` over a table of facts, utmp records built byte by byte, and
//! `reboot_facts` over systems in temporary folders. `schedule_reboot` is never called.

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, TimeZone, Utc};
use ward_patch::reboot::{
    decide, parse_utmp, reboot_facts, RebootDecision, RebootFacts, RebootPolicy, Session,
    UTMP_RECORD,
};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().expect("timestamp")
}

fn alice() -> Session {
    Session {
        user: "alice".into(),
        line: "pts/0".into(),
        host: "10.0.0.5".into(),
        since: at(1_715_073_153), // 2024-05-07 09:12:33 UTC
    }
}

fn bob_local() -> Session {
    Session { user: "bob".into(), line: "tty1".into(), host: String::new(), since: at(0) }
}

fn facts(required: bool, packages: &[&str], sessions: Vec<Session>) -> RebootFacts {
    RebootFacts {
        required,
        since: required.then(|| at(1_715_000_000)),
        packages: packages.iter().map(|p| p.to_string()).collect(),
        sessions,
    }
}

fn no(reason: &str) -> RebootDecision {
    RebootDecision::No { reason: reason.into() }
}

fn blocked(reason: &str) -> RebootDecision {
    RebootDecision::Blocked { reason: reason.into() }
}

fn reboot(delay_minutes: u32, message: &str) -> RebootDecision {
    RebootDecision::Reboot { delay_minutes, message: message.into() }
}

/// `decide(policy, facts, allow_with_sessions, 5 min, root_is_host)` must be `expect`.
fn check(
    policy: &str,
    facts: &RebootFacts,
    allow_with_sessions: bool,
    root_is_host: bool,
    expect: RebootDecision,
) {
    let policy: RebootPolicy = policy.parse().unwrap_or_else(|e| panic!("{e}"));
    let got = decide(policy, facts, allow_with_sessions, 5, root_is_host);
    assert_eq!(got, expect, "{policy} {facts:?} allow={allow_with_sessions} host={root_is_host}");
}

#[test]
fn decisions() {
    let pkgs = ["linux-image-6.1.0-21-amd64", "libc6"];
    let needed = facts(true, &pkgs, vec![]);
    let not_needed = facts(false, &[], vec![]);
    let with_alice = facts(true, &pkgs, vec![alice()]);
    let finish = "ward: rebooting in 5 min to finish security updates \
                  (linux-image-6.1.0-21-amd64, libc6)";

    check("never", &needed, true, true, no("reboot policy is never (a reboot is required)"));
    check("never", &not_needed, true, true, no("reboot policy is never"));
    check("when-needed", &not_needed, false, true, no("no reboot required"));
    check("when-needed", &facts(false, &[], vec![alice()]), false, false, no("no reboot required"));
    check("when-needed", &needed, false, true, reboot(5, finish));
    check(
        "when-needed",
        &with_alice,
        false,
        true,
        blocked("user session active: alice on pts/0 from 10.0.0.5 since 2024-05-07 09:12:33 UTC"),
    );
    check(
        "always",
        &facts(false, &[], vec![alice(), bob_local()]),
        false,
        true,
        blocked(
            "user sessions active: alice on pts/0 from 10.0.0.5 since 2024-05-07 09:12:33 UTC, \
             bob on tty1 since 1970-01-01 00:00:00 UTC",
        ),
    );
    check("when-needed", &with_alice, true, true, reboot(5, finish));
    check(
        "when-needed",
        &needed,
        true,
        false,
        blocked("not rebooting: ward is patching a system in a folder"),
    );
    // A folder's utmp says nothing about this machine: the folder is the reason.
    check(
        "always",
        &with_alice,
        false,
        false,
        blocked("not rebooting: ward is patching a system in a folder"),
    );
    check(
        "always",
        &not_needed,
        false,
        true,
        reboot(5, "ward: rebooting in 5 min (reboot policy: always)"),
    );
    check(
        "when-needed",
        &facts(true, &[], vec![]),
        false,
        true,
        reboot(5, "ward: rebooting in 5 min to finish security updates"),
    );
    check(
        "when-needed",
        &facts(true, &["a", "b", "c", "d", "e", "f", "g"], vec![]),
        false,
        true,
        reboot(5, "ward: rebooting in 5 min to finish security updates (a, b, c, d, e and 2 more)"),
    );
    assert_eq!(
        decide(RebootPolicy::Always, &needed, false, 0, true),
        reboot(
            0,
            "ward: rebooting now to finish security updates (linux-image-6.1.0-21-amd64, libc6)"
        )
    );
}

#[test]
fn policy_names() {
    for name in RebootPolicy::NAMES {
        assert_eq!(name.parse::<RebootPolicy>().unwrap().to_string(), name);
    }
    let e = "sometimes".parse::<RebootPolicy>().unwrap_err().to_string();
    assert_eq!(e, "unknown reboot policy \"sometimes\" (known: never, when-needed, always)");
    assert!("When-Needed".parse::<RebootPolicy>().is_err());
}

/// One glibc x86_64 utmp record, field by field at its offset.
fn record(ut_type: i32, line: &str, user: &str, host: &str, sec: i32, usec: i32) -> Vec<u8> {
    let mut r = vec![0u8; UTMP_RECORD];
    let put =
        |r: &mut Vec<u8>, at: usize, bytes: &[u8]| r[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut r, 0, &ut_type.to_le_bytes());
    put(&mut r, 4, &4242i32.to_le_bytes()); // ut_pid
    put(&mut r, 8, line.as_bytes()); // ut_line[32]
    put(&mut r, 40, b"ts/0"); // ut_id[4]
    put(&mut r, 44, user.as_bytes()); // ut_user[32]
    put(&mut r, 76, host.as_bytes()); // ut_host[256]
    put(&mut r, 336, &77i32.to_le_bytes()); // ut_session
    put(&mut r, 340, &sec.to_le_bytes()); // ut_tv.tv_sec
    put(&mut r, 344, &usec.to_le_bytes()); // ut_tv.tv_usec
    put(&mut r, 348, &[10, 0, 0, 5]); // ut_addr_v6[0]
    r
}

fn session(user: &str, line: &str, host: &str, since: DateTime<Utc>) -> Session {
    Session { user: user.into(), line: line.into(), host: host.into(), since }
}

#[test]
fn utmp_records() {
    let alice = record(7, "pts/0", "alice", "10.0.0.5", 1_715_073_153, 250_000);
    let boot = record(2, "~", "reboot", "6.1.0-21-amd64", 1_715_000_000, 0);
    let getty = record(6, "tty1", "LOGIN", "", 1_715_000_010, 0);
    let dead = record(8, "pts/1", "", "", 1_715_000_020, 0);
    let no_user = record(7, "pts/2", "", "", 1_715_000_030, 0);
    let long_user = "u".repeat(32); // fills ut_user, no NUL
    let full = record(7, &"l".repeat(32), &long_user, &"h".repeat(256), 1_715_000_040, 0);
    let bad_usec = record(7, "pts/3", "carol", "", 1_715_000_050, 5_000_000);
    // A Latin-1 user name: not UTF-8, read with replacement characters.
    let mut latin1 = record(7, "tty2", "", "", 1_715_000_060, 0);
    latin1[44..50].copy_from_slice(b"j\xe9r\xf4me");

    let cases: Vec<(Vec<u8>, Vec<Session>)> = vec![
        (vec![], vec![]),
        (alice[..UTMP_RECORD - 1].to_vec(), vec![]),
        (
            [boot.clone(), getty, alice.clone(), dead, no_user].concat(),
            vec![session(
                "alice",
                "pts/0",
                "10.0.0.5",
                at(1_715_073_153) + chrono::Duration::microseconds(250_000),
            )],
        ),
        ([alice.clone(), alice[..100].to_vec()].concat(), parse_utmp(&alice)),
        (full, vec![session(&long_user, &"l".repeat(32), &"h".repeat(256), at(1_715_000_040))]),
        (bad_usec, vec![session("carol", "pts/3", "", at(1_715_000_050))]),
        (latin1, vec![session("j\u{fffd}r\u{fffd}me", "tty2", "", at(1_715_000_060))]),
        (record(7, "pts/4", "dave", "", -1, 0), vec![session("dave", "pts/4", "", at(-1))]),
    ];
    for (i, (bytes, expect)) in cases.iter().enumerate() {
        assert_eq!(&parse_utmp(bytes), expect, "case {i}");
    }
    assert_eq!(parse_utmp(&boot).len(), 0);
}

#[test]
fn utmp_garbage_never_panics() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for len in [1, 383, 384, 385, 768, 1000, 4096] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed & 0xff) as u8
            })
            .collect();
        let sessions = parse_utmp(&bytes);
        assert!(sessions.len() <= len / UTMP_RECORD);
        let mut typed = bytes.clone();
        for chunk in typed.chunks_exact_mut(UTMP_RECORD) {
            chunk[..4].copy_from_slice(&7i32.to_le_bytes());
            chunk[44] = b'x';
        }
        assert_eq!(parse_utmp(&typed).len(), len / UTMP_RECORD);
    }
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("create dirs");
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn facts_from_a_system_in_a_folder() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    assert_eq!(reboot_facts(root), RebootFacts::default());

    // Debian's update-notifier files; the hooks append, so names repeat.
    let flag = root.join("run/reboot-required");
    write(&flag, b"*** System restart required ***\n");
    let written = SystemTime::UNIX_EPOCH + Duration::from_secs(1_715_000_000);
    std::fs::File::options().write(true).open(&flag).unwrap().set_modified(written).unwrap();
    write(
        &root.join("run/reboot-required.pkgs"),
        b"linux-image-6.1.0-21-amd64\nlibc6\n\nlinux-image-6.1.0-21-amd64\n  libssl3 \n",
    );
    let alice = record(7, "pts/0", "alice", "10.0.0.5", 1_715_073_153, 0);
    let boot = record(2, "~", "reboot", "", 1_715_000_000, 0);
    write(&root.join("run/utmp"), &[boot, alice].concat());
    assert_eq!(
        reboot_facts(root),
        RebootFacts {
            required: true,
            since: Some(at(1_715_000_000)),
            packages: vec!["linux-image-6.1.0-21-amd64".into(), "libc6".into(), "libssl3".into()],
            sessions: vec![session("alice", "pts/0", "10.0.0.5", at(1_715_073_153))],
        }
    );
}

#[test]
fn facts_from_var_run_when_it_is_a_directory() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    write(&root.join("var/run/reboot-required"), b"");
    write(&root.join("var/run/utmp"), &record(7, "tty1", "root", "", 0, 0));
    let facts = reboot_facts(root);
    assert!(facts.required);
    assert!(facts.since.is_some());
    assert!(facts.packages.is_empty());
    assert_eq!(facts.sessions, vec![session("root", "tty1", "", at(0))]);
}

/// Debian's /var/run is an absolute symlink to /run: inside a folder it points at the host,
/// whose files must not be taken for the folder's.
#[test]
fn facts_ignore_a_var_run_symlink_leading_out_of_the_folder() {
    let outside = tempfile::tempdir().unwrap();
    write(&outside.path().join("reboot-required"), b"");
    write(&outside.path().join("utmp"), &record(7, "tty1", "root", "", 0, 0));
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("var")).unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("var/run")).unwrap();
    assert_eq!(reboot_facts(root.path()), RebootFacts::default());
}
