//! The spool: round trips, order and sequence numbers across restarts, the bound, crash
//! safety (leftover temporary files, torn and bit-flipped entries, a second opener), and
//! exactly-once delivery to a fake server through failures and a crash before the ack.
#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone as _, Utc};
use ward_agent::spool::{deliver, DeliveryStop, Entry, Limits, Spool, SpoolError};

const BIG: Limits = Limits { max_entries: 1000, max_bytes: 1 << 30 };

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, second).unwrap()
}

/// Opens the spool in `dir` and pushes `pushes` into it (kind, body), returning the entries.
fn spool_with(dir: &Path, limits: Limits, pushes: &[(&str, &[u8])]) -> (Spool, Vec<Entry>) {
    let spool = Spool::open(dir, limits).unwrap();
    let entries = pushes
        .iter()
        .enumerate()
        .map(|(i, (kind, body))| spool.push(kind, body, at(i as u32 % 60)).unwrap())
        .collect();
    (spool, entries)
}

fn entry_path(dir: &Path, entry: &Entry) -> PathBuf {
    dir.join(format!("{:020}.entry", entry.seq))
}

fn corrupt_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir.join("corrupt")) {
        Ok(list) => list.map(|e| e.unwrap().file_name().into_string().unwrap()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

#[test]
fn push_pending_read_ack_round_trip() {
    let big = vec![0xA5u8; 200_000];
    let pushes: &[(&str, &[u8])] = &[
        ("inventory", b"{\"packages\":[]}"),
        ("heartbeat", b""),
        ("patch-run", b"line one\nline two\n\0\xff binary"),
        ("inventory", &big),
        ("a", b"x"),
        ("kind-with-32-characters-exactly0", b"y"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let (spool, entries) = spool_with(tmp.path(), BIG, pushes);

    assert_eq!(spool.pending().unwrap(), entries);
    let total: u64 = pushes.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(spool.usage(), (pushes.len(), total));
    let mut keys = std::collections::BTreeSet::new();
    for (i, (entry, (kind, body))) in entries.iter().zip(pushes).enumerate() {
        assert_eq!(entry.kind, *kind);
        assert_eq!(entry.len, body.len() as u64);
        assert_eq!(entry.created, at(i as u32));
        assert_eq!(entry.key.len(), 32, "{}", entry.key);
        assert!(entry.key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(keys.insert(entry.key.clone()), "duplicate key {}", entry.key);
        assert_eq!(spool.read(entry).unwrap(), *body);
    }
    assert!(entries.windows(2).all(|w| w[0].seq < w[1].seq));

    for (i, entry) in entries.iter().enumerate() {
        spool.ack(entry).unwrap();
        spool.ack(entry).unwrap(); // idempotent
        assert_eq!(spool.pending().unwrap(), entries[i + 1..]);
        assert!(!entry_path(tmp.path(), entry).exists());
    }
    assert_eq!(spool.usage(), (0, 0));
}

#[test]
fn order_and_sequence_numbers_survive_restarts() {
    let tmp = tempfile::tempdir().unwrap();
    let (spool, first) = spool_with(tmp.path(), BIG, &[("a", b"1"), ("b", b"2"), ("c", b"3")]);
    drop(spool);

    let spool = Spool::open(tmp.path(), BIG).unwrap();
    assert_eq!(spool.pending().unwrap(), first);
    let fourth = spool.push("d", b"4", at(3)).unwrap();
    assert!(fourth.seq > first[2].seq);
    spool.ack(&first[1]).unwrap();
    drop(spool);

    let spool = Spool::open(tmp.path(), BIG).unwrap();
    let kinds: Vec<String> = spool.pending().unwrap().into_iter().map(|e| e.kind).collect();
    assert_eq!(kinds, ["a", "c", "d"]);
    // Emptied and reopened: the numbers still only grow.
    for entry in spool.pending().unwrap() {
        spool.ack(&entry).unwrap();
    }
    drop(spool);
    let spool = Spool::open(tmp.path(), BIG).unwrap();
    assert_eq!(spool.usage(), (0, 0));
    let fifth = spool.push("e", b"5", at(4)).unwrap();
    assert!(fifth.seq > fourth.seq, "{} after {}", fifth.seq, fourth.seq);
}

#[test]
fn invalid_input_is_refused_with_a_typed_error() {
    let tmp = tempfile::tempdir().unwrap();
    let limits = Limits { max_entries: 10, max_bytes: 8 };
    let (spool, _) = spool_with(tmp.path(), limits, &[]);
    for kind in ["", "Inventory", "patch_run", "a b", "ä", "kind-with-33-characters-exactly01"] {
        let err = spool.push(kind, b"x", at(0)).unwrap_err();
        assert!(matches!(err, SpoolError::InvalidKind { .. }), "{kind:?}: {err}");
    }
    let err = spool.push("inventory", b"123456789", at(0)).unwrap_err();
    assert!(matches!(err, SpoolError::TooLarge { len: 9, max_bytes: 8 }), "{err}");
    assert_eq!(spool.usage(), (0, 0));
    spool.push("inventory", b"12345678", at(0)).unwrap();
    drop(spool);

    for limits in [Limits { max_entries: 0, max_bytes: 1 }, Limits { max_entries: 1, max_bytes: 0 }]
    {
        let err = Spool::open(tmp.path(), limits).unwrap_err();
        assert!(matches!(err, SpoolError::InvalidLimits(_)), "{limits:?}: {err}");
    }
    assert_eq!(Limits::default(), Limits { max_entries: 10_000, max_bytes: 256 * 1024 * 1024 });
}

/// A log sink for the warning the bound writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn past_the_bound_the_oldest_entries_are_dropped_with_a_warning() {
    type Pushes<'a> = &'a [(&'a str, &'a [u8])];
    /// (limits, pushes, bodies that remain, the warning's summary of what was dropped)
    type Case<'a> = (Limits, Pushes<'a>, &'a [&'a [u8]], &'a [&'a str]);
    let cases: &[Case<'_>] = &[
        (
            Limits { max_entries: 3, max_bytes: 1000 },
            &[("heartbeat", b"1"), ("inventory", b"2"), ("heartbeat", b"3"), ("patch-run", b"4")],
            &[b"2", b"3", b"4"],
            &["dropped the 1 oldest", "1 heartbeat"],
        ),
        (
            Limits { max_entries: 2, max_bytes: 1000 },
            &[("a", b"1"), ("b", b"2"), ("c", b"3"), ("d", b"4"), ("e", b"5")],
            &[b"4", b"5"],
            &["dropped the 1 oldest"],
        ),
        (
            // One big body pushes out the two oldest (5 + 5 + 5 + 8 > 16; 5 + 8 fits).
            Limits { max_entries: 100, max_bytes: 16 },
            &[
                ("heartbeat", b"aaaaa"),
                ("heartbeat", b"bbbbb"),
                ("inventory", b"ccccc"),
                ("patch-run", b"dddddddd"),
            ],
            &[b"ccccc", b"dddddddd"],
            &["dropped the 2 oldest", "2 heartbeat"],
        ),
        (
            // A body of exactly max_bytes leaves only itself.
            Limits { max_entries: 100, max_bytes: 4 },
            &[("a", b"1"), ("b", b"22"), ("c", b"4444")],
            &[b"4444"],
            &["dropped the 2 oldest", "1 a, 1 b"],
        ),
        (
            Limits { max_entries: 3, max_bytes: 3 },
            &[("a", b"1"), ("a", b"2"), ("a", b"3")],
            &[b"1", b"2", b"3"],
            &[],
        ),
    ];
    for (limits, pushes, remain, warning) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let log = Captured::default();
        let subscriber = tracing_subscriber::fmt().with_writer({
            let log = log.clone();
            move || log.clone()
        });
        let spool = tracing::subscriber::with_default(subscriber.finish(), || {
            spool_with(tmp.path(), *limits, pushes).0
        });
        let bodies: Vec<Vec<u8>> =
            spool.pending().unwrap().iter().map(|e| spool.read(e).unwrap()).collect();
        assert_eq!(bodies, remain.iter().map(|b| b.to_vec()).collect::<Vec<_>>(), "{limits:?}");
        let on_disk = fs::read_dir(tmp.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".entry"))
            .count();
        assert_eq!(on_disk, remain.len(), "{limits:?}");
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        if warning.is_empty() {
            assert!(!text.contains("WARN"), "{limits:?}: {text}");
        }
        for needle in *warning {
            assert!(
                text.contains("WARN") && text.contains(needle),
                "{limits:?}: {needle:?} not in {text}"
            );
        }
    }
}

#[test]
fn lowering_the_bound_applies_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let pushes: &[(&str, &[u8])] = &[("a", b"1"), ("b", b"2"), ("c", b"3")];
    let (spool, entries) = spool_with(tmp.path(), BIG, pushes);
    drop(spool);
    let spool = Spool::open(tmp.path(), Limits { max_entries: 1, max_bytes: 100 }).unwrap();
    assert_eq!(spool.pending().unwrap(), entries[2..]);
}

#[test]
fn leftovers_of_a_crash_are_removed_and_never_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let (spool, entries) = spool_with(tmp.path(), BIG, &[("a", b"1")]);
    drop(spool);
    // A write killed before its rename: a complete copy of a valid entry under a temporary
    // name, an empty one, and a sequence file's.
    let valid = fs::read(entry_path(tmp.path(), &entries[0])).unwrap();
    fs::write(tmp.path().join("00000000000000000005.entry.tmp"), &valid).unwrap();
    fs::write(tmp.path().join("00000000000000000006.entry.tmp"), b"").unwrap();
    fs::write(tmp.path().join("seq.tmp"), b"ward-spool-seq 1 99999\n").unwrap();

    let spool = Spool::open(tmp.path(), BIG).unwrap();
    assert_eq!(spool.pending().unwrap(), entries);
    let mut names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["00000000000000000000.entry", "lock", "seq"]);
}

#[test]
fn torn_and_corrupt_entries_are_moved_aside_and_not_delivered() {
    // Each case damages the middle one of three entries, then reopens.
    type Damage = fn(&mut Vec<u8>);
    let cases: &[(&str, Damage)] = &[
        ("truncated body", |f| f.truncate(f.len() - 3)),
        ("truncated header", |f| f.truncate(20)),
        ("empty file", Vec::clear),
        ("trailing garbage", |f| f.extend_from_slice(b"more")),
        ("flipped body bit", |f| {
            let last = f.len() - 1;
            f[last] ^= 0x01;
        }),
        ("flipped kind bit", |f| {
            let at = f.windows(6).position(|w| w == b" bbbb ").unwrap() + 1;
            f[at] ^= 0x02; // "bbbb" -> "`bbb": an invalid kind
        }),
        ("flipped time bit", |f| {
            let at = f.windows(4).position(|w| w == b"2026").unwrap() + 2;
            f[at] ^= 0x01; // 2026 -> 2036: valid, caught by the checksum
        }),
        ("uppercase checksum", |f| {
            let newline = f.iter().position(|&b| b == b'\n').unwrap();
            f[newline - 9..newline].make_ascii_uppercase();
            f[newline - 1] = b'A';
        }),
        ("foreign file", |f| *f = b"#!/bin/sh\nrm -rf /\n".to_vec()),
    ];
    for (name, damage) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let pushes: &[(&str, &[u8])] =
            &[("aaaa", b"first"), ("bbbb", b"second"), ("cccc", b"third")];
        let (spool, entries) = spool_with(tmp.path(), BIG, pushes);
        drop(spool);
        let path = entry_path(tmp.path(), &entries[1]);
        let mut bytes = fs::read(&path).unwrap();
        damage(&mut bytes);
        fs::write(&path, bytes).unwrap();

        let spool = Spool::open(tmp.path(), BIG).unwrap();
        assert_eq!(spool.pending().unwrap(), [entries[0].clone(), entries[2].clone()], "{name}");
        assert_eq!(spool.usage(), (2, 10), "{name}");
        assert!(!path.exists(), "{name}");
        assert_eq!(corrupt_files(tmp.path()), ["00000000000000000001.entry"], "{name}");
        let report = deliver(&spool, |_, _| Ok::<(), ()>(()));
        assert_eq!(report.delivered, [entries[0].clone(), entries[2].clone()], "{name}");
    }
}

#[test]
fn corruption_after_open_is_caught_by_read_and_skipped_by_deliver() {
    let tmp = tempfile::tempdir().unwrap();
    let pushes: &[(&str, &[u8])] = &[("a", b"first"), ("b", b"second"), ("c", b"third")];
    let (spool, entries) = spool_with(tmp.path(), BIG, pushes);
    let path = entry_path(tmp.path(), &entries[1]);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    fs::write(&path, bytes).unwrap();

    let err = spool.read(&entries[1]).unwrap_err();
    let SpoolError::Corrupt { seq, moved_to, .. } = &err else { panic!("{err}") };
    assert_eq!(*seq, entries[1].seq);
    assert!(moved_to.exists() && !path.exists(), "{err}");
    assert_eq!(spool.usage(), (2, 10));
    // Moving aside never overwrites an earlier casualty with the same name.
    fs::write(&path, b"junk").unwrap();
    drop(spool);
    let spool = Spool::open(tmp.path(), BIG).unwrap();
    assert_eq!(
        corrupt_files(tmp.path()),
        ["00000000000000000001.entry", "00000000000000000001.entry.1"]
    );

    let mut sent = Vec::new();
    let report = deliver(&spool, |entry, body| {
        sent.push((entry.kind.clone(), body.to_vec()));
        Ok::<(), ()>(())
    });
    assert!(report.stopped.is_none() && report.corrupt.is_empty());
    assert_eq!(sent, [("a".to_owned(), b"first".to_vec()), ("c".to_owned(), b"third".to_vec())]);

    // Damaged between pending() and read() inside deliver: reported, skipped, the rest sent.
    let later =
        [spool.push("d", b"fourth", at(5)).unwrap(), spool.push("e", b"fifth", at(6)).unwrap()];
    fs::write(entry_path(tmp.path(), &later[0]), b"torn").unwrap();
    let report = deliver(&spool, |_, _| Ok::<(), ()>(()));
    assert_eq!(report.delivered, [later[1].clone()]);
    assert!(matches!(report.corrupt[..], [SpoolError::Corrupt { seq, .. }] if seq == later[0].seq));
    assert_eq!(spool.usage(), (0, 0));
}

#[test]
fn a_second_opener_fails_naming_the_lock_file_and_holder() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, _) = spool_with(tmp.path(), BIG, &[("a", b"1")]);
    let err = Spool::open(tmp.path(), BIG).unwrap_err();
    let lock = tmp.path().join("lock");
    assert!(matches!(&err, SpoolError::Locked { lock: l, .. } if *l == lock), "{err}");
    let message = err.to_string();
    assert!(message.contains(&lock.display().to_string()), "{message}");
    assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
    assert!(message.contains("one ward agent per spool"), "{message}");
    drop(first);
    let again = Spool::open(tmp.path(), BIG).unwrap();
    assert_eq!(again.usage(), (1, 1));
}

#[test]
fn the_directory_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state").join("spool");
    let (_spool, entries) = spool_with(&dir, BIG, &[("a", b"1")]);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&entry_path(&dir, &entries[0])), 0o600);
}

/// A server that stores bodies by idempotency key; `script` says, per delivery attempt, what
/// happens (consumed front to back; once empty every delivery is accepted).
#[derive(Default)]
struct FakeServer {
    stored: BTreeMap<String, Vec<u8>>,
    /// How many copies of each key arrived.
    received: BTreeMap<String, usize>,
    script: Vec<Outcome>,
}

#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// Unreachable: nothing stored.
    Down,
    /// Stored, but the answer is lost on the way back (the agent sees an error).
    AnswerLost,
    Accept,
}

impl FakeServer {
    fn send(&mut self, entry: &Entry, body: &[u8]) -> Result<(), Outcome> {
        let outcome = if self.script.is_empty() { Outcome::Accept } else { self.script.remove(0) };
        if !matches!(outcome, Outcome::Down) {
            self.store(entry, body);
        }
        match outcome {
            Outcome::Accept => Ok(()),
            failure => Err(failure),
        }
    }

    /// Deduplication on the key: a second copy is counted and acknowledged, not stored again.
    fn store(&mut self, entry: &Entry, body: &[u8]) {
        *self.received.entry(entry.key.clone()).or_default() += 1;
        self.stored.entry(entry.key.clone()).or_insert_with(|| body.to_vec());
    }
}

#[test]
fn intermittent_failures_and_a_crash_before_the_ack_deliver_each_body_exactly_once() {
    use Outcome::{Accept, AnswerLost, Down};
    // (failure script, whether the agent crashes after the server stored an entry, before
    // the ack)
    let cases: &[(&[Outcome], bool)] = &[
        (&[], false),
        (&[Down, Down, Down], false),
        (&[Accept, Down, Accept, AnswerLost, Down, AnswerLost, Accept, Down], false),
        (&[AnswerLost, AnswerLost, AnswerLost], true),
        (&[Down, Down, Down, Down, Down], true),
    ];
    for (script, crash) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let mut server = FakeServer { script: script.to_vec(), ..FakeServer::default() };
        let bodies: Vec<Vec<u8>> = (0..6).map(|i| format!("report {i}").into_bytes()).collect();
        let (mut spool, _) = spool_with(tmp.path(), BIG, &[]);
        let mut pushed = Vec::new();
        let mut crashed = None;
        for (i, body) in bodies.iter().enumerate() {
            pushed.push(spool.push("inventory", body, at(i as u32)).unwrap());
            // Deliveries interleave with pushes.
            if i % 2 == 1 {
                let report = deliver(&spool, |e, b| server.send(e, b));
                if let Some(DeliveryStop::Spool(e)) = report.stopped {
                    panic!("{e}");
                }
            }
        }
        if *crash {
            // The server stores the oldest entry, then the agent dies before acking it.
            let oldest = spool.pending().unwrap().first().cloned().expect("a pending entry");
            let body = spool.read(&oldest).unwrap();
            server.store(&oldest, &body);
            crashed = Some(oldest);
            drop(spool);
            spool = Spool::open(tmp.path(), BIG).unwrap();
        }
        let mut rounds = 0;
        while spool.usage().0 > 0 {
            rounds += 1;
            assert!(rounds < 50, "{script:?}: never drained");
            let report = deliver(&spool, |e, b| server.send(e, b));
            match report.stopped {
                None => assert_eq!(spool.usage(), (0, 0)),
                Some(DeliveryStop::Send { entry, .. }) => {
                    // The failed entry is the oldest still pending.
                    assert_eq!(spool.pending().unwrap().first(), Some(&entry), "{script:?}");
                }
                Some(DeliveryStop::Spool(e)) => panic!("{e}"),
            }
        }
        let expected: BTreeMap<String, Vec<u8>> =
            pushed.iter().map(|e| e.key.clone()).zip(bodies.iter().cloned()).collect();
        assert_eq!(server.stored, expected, "{script:?} crash {crash}");
        assert_eq!(server.received.len(), bodies.len(), "{script:?}");
        if let Some(entry) = crashed {
            // Stored before the crash, sent again after it, kept once.
            assert!(server.received[&entry.key] >= 2, "{script:?}: {:?}", server.received);
        }
    }
}

#[test]
fn arbitrary_bytes_as_an_entry_file_never_panic_open() {
    // A valid entry to mutate, and a splitmix64 stream for "arbitrary" bytes.
    let tmp = tempfile::tempdir().unwrap();
    let (spool, entries) = spool_with(tmp.path(), BIG, &[("heartbeat", b"ok")]);
    drop(spool);
    let valid = fs::read(entry_path(tmp.path(), &entries[0])).unwrap();
    let mut state = 0x5EED_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };

    let mut inputs: Vec<(String, Vec<u8>)> = Vec::new();
    for len in 0..valid.len() {
        inputs.push((format!("truncated to {len}"), valid[..len].to_vec()));
    }
    for bit in 0..valid.len() * 8 {
        let mut flipped = valid.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        inputs.push((format!("bit {bit} flipped"), flipped));
    }
    for i in 0..300 {
        let len = (next() % 700) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if i % 3 == 0 {
            // Keep a plausible start so the parser gets past the magic.
            bytes.splice(0..0, b"ward-spool 1 ".iter().copied());
        }
        if i % 5 == 0 {
            bytes.retain(|&b| b != b'\n');
        }
        inputs.push((format!("random {i}"), bytes));
    }

    let path = entry_path(tmp.path(), &entries[0]);
    for (name, bytes) in inputs {
        let _ = fs::remove_dir_all(tmp.path().join("corrupt"));
        let mut file = fs::File::create(&path).unwrap();
        file.write_all(&bytes).unwrap();
        drop(file);
        let spool = Spool::open(tmp.path(), BIG).unwrap();
        // A damaged copy of a valid entry is never delivered; whatever is listed reads back.
        if bytes != valid {
            assert_eq!(spool.usage(), (0, 0), "{name}");
            assert_eq!(corrupt_files(tmp.path()).len(), 1, "{name}");
        }
        for entry in spool.pending().unwrap() {
            spool.read(&entry).unwrap();
        }
    }
}
