//! The hash-chained audit log: every state-changing action of the server is an [`AuditEntry`]
//! whose `hash` covers its content and its predecessor's hash, so [`verify`] detects any edited,
//! deleted or reordered entry and names the first bad one.
//!
//! # The hash encoding (version 1)
//!
//! `hash` is the lowercase hex SHA-256 of these bytes, in this order:
//!
//! 1. the domain tag `ward.audit/1\n`;
//! 2. seven fields, each written as its UTF-8 byte length in decimal, `:`, the bytes, `\n`
//!    (so `actor = "alice"` is `5:alice\n`), in this order:
//!    - `seq` in decimal (`1` for the first entry);
//!    - `at` in RFC 3339, UTC, exactly six fractional digits and `Z`
//!      (`2026-01-01T00:00:00.000000Z`); [`append`] truncates `at` to microseconds so the stored
//!      value is the hashed one;
//!    - `actor`, `action`, `target` as given;
//!    - `detail` as canonical JSON: no whitespace, object keys sorted by their UTF-8 bytes,
//!      strings escaped as `serde_json` escapes them, numbers as `serde_json` prints them;
//!    - `prev_hash`: the previous entry's `hash`, or 64 `0`s ([`GENESIS_PREV_HASH`]) for the
//!      first entry.
//!
//! # What the chain cannot detect
//!
//! Removing entries from the *end* leaves a valid, shorter chain, and whoever can rewrite the log
//! can also recompute every hash after an edit. The server must therefore keep the latest
//! [`AuditEntryRef`] (seq and hash) somewhere the log's writer cannot rewrite it — an anchor
//! (a separate table or file, a log shipped off the host) — and check with
//! [`verify_with_anchor`], which detects truncation and any rewrite up to the anchor.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::hex;

/// `prev_hash` of the first entry: 64 zeros.
pub const GENESIS_PREV_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// One audited action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log: 1 for the first entry, then consecutive.
    pub seq: u64,
    /// When the action happened (microsecond precision).
    pub at: DateTime<Utc>,
    /// Who acted: a user name, `token:<id>`, `agent:<host>`, `system`.
    pub actor: String,
    /// What was done, e.g. `user.create`.
    pub action: String,
    /// What it was done to.
    pub target: String,
    /// Anything else worth keeping (never a secret).
    pub detail: Value,
    /// The previous entry's `hash` ([`GENESIS_PREV_HASH`] for the first).
    pub prev_hash: String,
    /// Lowercase hex SHA-256 of this entry's encoding (see the module documentation).
    pub hash: String,
}

/// The position and hash of an entry: what the server keeps outside the log as its anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryRef {
    /// The entry's `seq`.
    pub seq: u64,
    /// The entry's `hash`.
    pub hash: String,
}

impl AuditEntry {
    /// This entry's position and hash, to store as the anchor.
    pub fn to_ref(&self) -> AuditEntryRef {
        AuditEntryRef { seq: self.seq, hash: self.hash.clone() }
    }

    /// The hash this entry's content should have (see the module documentation).
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"ward.audit/1\n");
        let mut field = |bytes: &[u8]| {
            hasher.update(bytes.len().to_string().as_bytes());
            hasher.update(b":");
            hasher.update(bytes);
            hasher.update(b"\n");
        };
        field(self.seq.to_string().as_bytes());
        field(self.at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes());
        field(self.actor.as_bytes());
        field(self.action.as_bytes());
        field(self.target.as_bytes());
        field(canonical_json(&self.detail).as_bytes());
        field(self.prev_hash.as_bytes());
        hex::encode(&hasher.finalize())
    }
}

/// The entry that follows `last` (`None` for the first entry of the log): `seq` one more,
/// `prev_hash` its hash, `at` truncated to microseconds, and `hash` computed.
pub fn append(
    last: Option<&AuditEntry>,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: &str,
    detail: Value,
) -> AuditEntry {
    let (seq, prev_hash) = match last {
        Some(last) => (last.seq + 1, last.hash.clone()),
        None => (1, GENESIS_PREV_HASH.to_owned()),
    };
    let mut entry = AuditEntry {
        seq,
        at: at.trunc_subsecs(6),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    entry
}

/// How a log was tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TamperKind {
    /// The entry's content does not match its hash, or its hash is not what its successor
    /// recorded as `prev_hash` (then the entry, or its successor together with its hash, was
    /// rewritten; the earlier one is named).
    Edited,
    /// Entries are missing: `seq` is the first missing number.
    Deleted,
    /// The entry is out of place: entries it should follow come after it, or its `seq` repeats
    /// an earlier one.
    Reordered,
    /// The first entry does not start the chain: its `prev_hash` is not 64 zeros or its `seq`
    /// is 0.
    BadGenesis,
    /// The log ends before the anchor: `seq` is the first missing number.
    Truncated,
}

/// The first problem [`verify`] or [`verify_with_anchor`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("audit log tampered with at seq {seq}: {kind:?}")]
pub struct Tamper {
    /// The entry (or missing sequence number) where the problem is.
    pub seq: u64,
    /// What is wrong.
    pub kind: TamperKind,
}

/// Checks a whole log, first entry first, and names the first bad entry. An empty log is valid.
///
/// Each entry is checked in this order, so the reported kind is the most specific one: its
/// content against its own hash (else [`TamperKind::Edited`], named by the position's seq), its
/// `seq` against its position (else [`TamperKind::BadGenesis`], [`TamperKind::Deleted`] or
/// [`TamperKind::Reordered`]), its `prev_hash` against its predecessor's hash (else
/// [`TamperKind::BadGenesis`] for the first entry, [`TamperKind::Edited`] naming the predecessor
/// for the others).
pub fn verify(entries: &[AuditEntry]) -> Result<(), Tamper> {
    let tamper = |seq, kind| Err(Tamper { seq, kind });
    let mut prev_hash = GENESIS_PREV_HASH;
    for (i, entry) in entries.iter().enumerate() {
        // Every entry before this one checked out: this position's seq is i + 1.
        let expected_seq = i as u64 + 1;
        if entry.compute_hash() != entry.hash {
            return tamper(expected_seq, TamperKind::Edited);
        }
        if entry.seq == 0 {
            return tamper(0, TamperKind::BadGenesis);
        }
        if entry.seq < expected_seq {
            return tamper(entry.seq, TamperKind::Reordered);
        }
        if entry.seq > expected_seq {
            let missing = expected_seq..entry.seq;
            let later = entries[i + 1..].iter().any(|e| missing.contains(&e.seq));
            return if later {
                tamper(entry.seq, TamperKind::Reordered)
            } else {
                tamper(expected_seq, TamperKind::Deleted)
            };
        }
        if entry.prev_hash != prev_hash {
            return match i.checked_sub(1) {
                None => tamper(entry.seq, TamperKind::BadGenesis),
                Some(before) => tamper(entries[before].seq, TamperKind::Edited),
            };
        }
        prev_hash = &entry.hash;
    }
    Ok(())
}

/// [`verify`], and that the log still holds the anchored entry unchanged: detects truncation of
/// the tail ([`TamperKind::Truncated`]) and a log rewritten with recomputed hashes up to the
/// anchor ([`TamperKind::Edited`] at the anchor's seq). Entries after the anchor are allowed
/// (the anchor may lag behind the last append).
pub fn verify_with_anchor(entries: &[AuditEntry], anchor: &AuditEntryRef) -> Result<(), Tamper> {
    verify(entries)?;
    // `verify` passed: entries are numbered 1, 2, … in order, so seq n is at index n - 1.
    let anchored = usize::try_from(anchor.seq)
        .ok()
        .and_then(|seq| seq.checked_sub(1))
        .and_then(|index| entries.get(index));
    match anchored {
        None if anchor.seq == 0 => Err(Tamper { seq: 0, kind: TamperKind::BadGenesis }),
        None => Err(Tamper {
            seq: entries.last().map_or(1, |last| last.seq + 1),
            kind: TamperKind::Truncated,
        }),
        Some(entry) if entry.hash != anchor.hash => {
            Err(Tamper { seq: anchor.seq, kind: TamperKind::Edited })
        }
        Some(_) => Ok(()),
    }
}

/// `value` as canonical JSON: no whitespace, object keys sorted by their UTF-8 bytes, whatever
/// order the map keeps them in.
fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        // Scalars: serde_json's compact form.
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn time(seconds: i64) -> DateTime<Utc> {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        t0 + chrono::TimeDelta::seconds(seconds)
    }

    /// A chain of `n` entries with distinct content.
    fn chain(n: u64) -> Vec<AuditEntry> {
        let mut entries: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let entry = append(
                entries.last(),
                time(i as i64),
                &format!("user{i}"),
                "host.patch",
                &format!("host-{i}"),
                json!({"packages": i, "dry_run": false}),
            );
            entries.push(entry);
        }
        entries
    }

    fn check(entries: &[AuditEntry], expect: Result<(), (u64, TamperKind)>) {
        let got = verify(entries).map_err(|t| (t.seq, t.kind));
        assert_eq!(got, expect);
    }

    #[test]
    fn an_untouched_chain_verifies() {
        check(&[], Ok(()));
        for n in 1..6 {
            check(&chain(n), Ok(()));
        }
        let entries = chain(3);
        assert_eq!(entries[0].seq, 1);
        assert_eq!(entries[0].prev_hash, GENESIS_PREV_HASH);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(entries[2].seq, 3);
    }

    #[test]
    fn the_hash_encoding_is_the_documented_one() {
        let entry = append(
            None,
            "2026-01-01T00:00:00.123456789Z".parse().unwrap(),
            "alice",
            "user.create",
            "bob",
            json!({"role": "viewer", "a": [1, "x"]}),
        );
        assert_eq!(entry.at, "2026-01-01T00:00:00.123456Z".parse::<DateTime<Utc>>().unwrap());
        let encoding = format!(
            "ward.audit/1\n1:1\n27:2026-01-01T00:00:00.123456Z\n5:alice\n11:user.create\n3:bob\n\
             29:{{\"a\":[1,\"x\"],\"role\":\"viewer\"}}\n64:{GENESIS_PREV_HASH}\n"
        );
        assert_eq!(entry.hash, hex::encode(&Sha256::digest(encoding.as_bytes())));
    }

    #[test]
    fn the_detail_hash_ignores_key_order() {
        let a = append(None, time(0), "a", "b", "c", json!({"x": 1, "y": {"q": 2, "p": 3}}));
        let b = append(
            None,
            time(0),
            "a",
            "b",
            "c",
            serde_json::from_str(r#"{"y": {"p": 3, "q": 2}, "x": 1}"#).unwrap(),
        );
        assert_eq!(a.hash, b.hash);
        assert_eq!(canonical_json(&b.detail), r#"{"x":1,"y":{"p":3,"q":2}}"#);
    }

    #[test]
    fn editing_any_field_of_any_entry_is_detected_at_that_entry() {
        type Edit = fn(&mut AuditEntry);
        let edits: &[(&str, Edit)] = &[
            ("seq", |e| e.seq += 10),
            ("at", |e| e.at += chrono::TimeDelta::microseconds(1)),
            ("actor", |e| e.actor.push('x')),
            ("action", |e| e.action = "user.delete".into()),
            ("target", |e| e.target.clear()),
            ("detail", |e| e.detail["packages"] = json!(99)),
            ("detail key added", |e| e.detail["extra"] = json!(null)),
            ("prev_hash", |e| e.prev_hash = "f".repeat(64)),
            ("hash", |e| e.hash = "0".repeat(64)),
        ];
        let n = 5;
        for &(field, edit) in edits {
            for k in 0..n {
                let mut entries = chain(n);
                edit(&mut entries[k as usize]);
                let got = verify(&entries).map_err(|t| (t.seq, t.kind));
                assert_eq!(got, Err((k + 1, TamperKind::Edited)), "{field} of entry {}", k + 1);
            }
        }
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_is_detected_by_the_successor() {
        let mut entries = chain(5);
        entries[1].actor = "mallory".into();
        entries[1].hash = entries[1].compute_hash();
        check(&entries, Err((2, TamperKind::Edited)));
        // On the last entry only the anchor can tell.
        let mut entries = chain(5);
        let anchor = entries[4].to_ref();
        entries[4].actor = "mallory".into();
        entries[4].hash = entries[4].compute_hash();
        check(&entries, Ok(()));
        assert_eq!(
            verify_with_anchor(&entries, &anchor),
            Err(Tamper { seq: 5, kind: TamperKind::Edited })
        );
    }

    #[test]
    fn deletions_are_detected() {
        let mut middle = chain(5);
        middle.remove(2);
        check(&middle, Err((3, TamperKind::Deleted)));
        let mut two = chain(5);
        two.drain(1..3);
        check(&two, Err((2, TamperKind::Deleted)));
        let mut first = chain(5);
        first.remove(0);
        check(&first, Err((1, TamperKind::Deleted)));
    }

    #[test]
    fn reordering_is_detected() {
        let mut swapped = chain(5);
        swapped.swap(1, 2);
        check(&swapped, Err((3, TamperKind::Reordered)));
        let mut reversed = chain(4);
        reversed.reverse();
        check(&reversed, Err((4, TamperKind::Reordered)));
        let mut duplicated = chain(3);
        duplicated.push(duplicated[1].clone());
        check(&duplicated, Err((2, TamperKind::Reordered)));
    }

    #[test]
    fn a_chain_must_start_at_genesis() {
        // A first entry that links to something else, with a consistent hash.
        let mut entries = chain(3);
        entries[0].prev_hash = "a".repeat(64);
        entries[0].hash = entries[0].compute_hash();
        check(&entries, Err((1, TamperKind::BadGenesis)));
        // Numbered from 0.
        let mut zero = chain(1);
        zero[0].seq = 0;
        zero[0].hash = zero[0].compute_hash();
        check(&zero, Err((0, TamperKind::BadGenesis)));
    }

    #[test]
    fn truncating_the_tail_needs_the_anchor() {
        let full = chain(5);
        let anchor = full[4].to_ref();
        let truncated = &full[..3];
        // The chain alone cannot tell: what is left is a valid chain.
        check(truncated, Ok(()));
        assert_eq!(
            verify_with_anchor(truncated, &anchor),
            Err(Tamper { seq: 4, kind: TamperKind::Truncated })
        );
        assert_eq!(
            verify_with_anchor(&[], &anchor),
            Err(Tamper { seq: 1, kind: TamperKind::Truncated })
        );
        assert_eq!(verify_with_anchor(&full, &anchor), Ok(()));
        // The anchor may lag behind the last append.
        assert_eq!(verify_with_anchor(&full, &full[2].to_ref()), Ok(()));
        // Other tampering is still reported first.
        let mut edited = full.clone();
        edited[1].target = "x".into();
        assert_eq!(
            verify_with_anchor(&edited, &anchor),
            Err(Tamper { seq: 2, kind: TamperKind::Edited })
        );
        // A wrong anchor hash, or an anchor at seq 0, is not a valid anchor.
        let wrong = AuditEntryRef { seq: 5, hash: "0".repeat(64) };
        assert_eq!(
            verify_with_anchor(&full, &wrong),
            Err(Tamper { seq: 5, kind: TamperKind::Edited })
        );
        let zero = AuditEntryRef { seq: 0, hash: GENESIS_PREV_HASH.into() };
        assert_eq!(
            verify_with_anchor(&full, &zero),
            Err(Tamper { seq: 0, kind: TamperKind::BadGenesis })
        );
    }

    #[test]
    fn entries_round_trip_through_json_and_still_verify() {
        let entries = chain(4);
        let json = serde_json::to_string(&entries).unwrap();
        let back: Vec<AuditEntry> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entries);
        check(&back, Ok(()));
    }

    #[test]
    fn tamper_messages_name_the_entry() {
        let tamper = Tamper { seq: 7, kind: TamperKind::Deleted };
        assert_eq!(tamper.to_string(), "audit log tampered with at seq 7: Deleted");
    }
}
