//! The agent's outbox: results (inventory reports, heartbeats, patch-run records) wait here
//! on disk while the server is unreachable and are delivered, oldest first, when it returns.
//!
//! One file per entry, named by its sequence number (`00000000000000000042.entry`), written
//! aside (`….entry.tmp`), fsynced, renamed into place and the directory fsynced: an entry is
//! either wholly there or not at all, whenever the agent is killed. Each file is a one-line
//! header followed by the body:
//!
//! ```text
//! ward-spool 1 <key> <seq> <kind> <created> <len> <crc32>\n<body: len bytes>
//! ```
//!
//! `key` is the idempotency key (32 lowercase hex digits, 128 bits from `/dev/urandom`), `seq`
//! the decimal sequence number (equal to the one in the file name), `kind` matches
//! `[a-z0-9-]{1,32}`, `created` is RFC 3339 in UTC, `len` the decimal body length and `crc32`
//! eight lowercase hex digits: the CRC-32 (IEEE, as in gzip) of the header up to and excluding
//! the space before it, followed by the body. A file whose header does not parse, whose size
//! is not header + `len`, or whose checksum differs is corrupt: it is moved to `corrupt/` with
//! a warning and never delivered.
//!
//! Sequence numbers only grow, across restarts too: the file `seq` holds a high-water mark
//! reserved in blocks of 1024 (`SEQ_BLOCK`), written atomically before any number beyond the
//! previous mark is used; a reopened spool continues from the mark (gaps are allowed).
//!
//! **Architecture invariant:** an entry is deleted only by [`Spool::ack`] (after the server
//! acknowledged it), or by the bound ([`Limits`]), which drops the oldest entries with a
//! warning naming how many and their kinds. Sending is at-least-once (an entry whose
//! acknowledgement was lost, or whose ack did not reach the disk, is sent again); the server
//! deduplicates on the key, so the effect is exactly once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, SecondsFormat, Utc};

/// How many sequence numbers one write of the `seq` file reserves.
const SEQ_BLOCK: u64 = 1024;

const MAGIC: &str = "ward-spool";
const VERSION: &str = "1";
const ENTRY_SUFFIX: &str = ".entry";
const TEMP_SUFFIX: &str = ".tmp";
const SEQ_FILE: &str = "seq";
const LOCK_FILE: &str = "lock";
const CORRUPT_DIR: &str = "corrupt";
/// Longer header lines are corrupt (the longest valid one is about 150 bytes).
const MAX_HEADER: u64 = 512;

/// The spool's bound. Past it, [`Spool::push`] drops the oldest entries (with a warning).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// At most this many entries (at least 1).
    pub max_entries: usize,
    /// At most this many body bytes in all (headers, about 150 bytes each, are not counted).
    pub max_bytes: u64,
}

impl Default for Limits {
    /// 10 000 entries, 256 MiB.
    fn default() -> Limits {
        Limits { max_entries: 10_000, max_bytes: 256 * 1024 * 1024 }
    }
}

/// One spooled result, as listed by [`Spool::pending`]; its body is read with [`Spool::read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Idempotency key: 128 random bits as 32 lowercase hex digits; the server deduplicates
    /// on it.
    pub key: String,
    /// Position in push order; only grows, across restarts too.
    pub seq: u64,
    /// What the body is (`inventory`, `heartbeat`, `patch-run`, ...): `[a-z0-9-]{1,32}`.
    pub kind: String,
    /// When it was pushed.
    pub created: DateTime<Utc>,
    /// Body length in bytes.
    pub len: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{}: the spool is locked by another process ({holder}); run one ward agent per spool directory",
        lock.display()
    )]
    Locked { lock: PathBuf, holder: String },
    #[error("invalid spool limits: {0}")]
    InvalidLimits(String),
    #[error("invalid entry kind {kind:?}: use 1 to 32 of a-z, 0-9 and -")]
    InvalidKind { kind: String },
    #[error("a body of {len} bytes exceeds the spool's max_bytes ({max_bytes})")]
    TooLarge { len: u64, max_bytes: u64 },
    #[error("spool entry {seq} is corrupt ({reason}); moved to {}", moved_to.display())]
    Corrupt { seq: u64, reason: String, moved_to: PathBuf },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io { path: path.to_path_buf(), source }
}

/// The on-disk outbox of one agent; see the module documentation.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    limits: Limits,
    state: Mutex<State>,
    /// Holds the exclusive `flock` on `dir/lock` for the spool's lifetime.
    _lock: File,
}

#[derive(Debug)]
struct State {
    entries: BTreeMap<u64, Entry>,
    bytes: u64,
    next_seq: u64,
    /// Sequence numbers below this are covered by the `seq` file.
    reserved: u64,
}

impl Spool {
    /// Opens (creating it with mode 0700 if needed) the spool in `dir`: takes the exclusive
    /// lock, removes temporary files left by a crash, verifies every entry (moving corrupt
    /// ones to `dir/corrupt/` with a warning) and applies `limits`.
    pub fn open(dir: &Path, limits: Limits) -> Result<Spool, SpoolError> {
        if limits.max_entries == 0 {
            return Err(SpoolError::InvalidLimits("max_entries must be at least 1".into()));
        }
        if limits.max_bytes == 0 {
            return Err(SpoolError::InvalidLimits("max_bytes must be at least 1".into()));
        }
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io_error(dir))?;
        let lock = take_lock(&dir.join(LOCK_FILE))?;

        let mut entries = BTreeMap::new();
        let mut files: Vec<(String, PathBuf)> = Vec::new();
        for item in fs::read_dir(dir).map_err(io_error(dir))? {
            let item = item.map_err(io_error(dir))?;
            let path = item.path();
            let Some(name) = item.file_name().to_str().map(str::to_owned) else {
                tracing::warn!(path = %path.display(), "spool: ignoring a file whose name is not UTF-8");
                continue;
            };
            files.push((name, path));
        }
        for (name, path) in files {
            if name.ends_with(TEMP_SUFFIX) {
                // A write interrupted before its rename: never visible, never delivered.
                fs::remove_file(&path).map_err(io_error(&path))?;
            } else if let Some(stem) = name.strip_suffix(ENTRY_SUFFIX) {
                let seq = stem.parse::<u64>().ok().filter(|_| stem.len() == 20);
                let verified = seq
                    .ok_or_else(|| "the file name is not 20 digits".to_owned())
                    .and_then(|seq| verify_file(&path, seq));
                match verified {
                    Ok(entry) => {
                        entries.insert(entry.seq, entry);
                    }
                    Err(reason) => {
                        let moved_to = quarantine(dir, &path, &name)?;
                        tracing::warn!(
                            file = %path.display(),
                            moved_to = %moved_to.display(),
                            %reason,
                            "spool: corrupt entry moved aside, it will not be delivered"
                        );
                    }
                }
            } else if ![LOCK_FILE, SEQ_FILE, CORRUPT_DIR].contains(&name.as_str()) {
                tracing::warn!(path = %path.display(), "spool: ignoring a file that is not the spool's");
            }
        }

        let mark = read_seq_mark(dir);
        let after_entries = entries.keys().next_back().map_or(0, |s| s + 1);
        let next_seq = mark.max(after_entries);
        let bytes = entries.values().map(|e: &Entry| e.len).sum();
        let spool = Spool {
            dir: dir.to_path_buf(),
            limits,
            state: Mutex::new(State { entries, bytes, next_seq, reserved: next_seq }),
            _lock: lock,
        };
        spool.enforce_limits(&mut spool.state())?;
        Ok(spool)
    }

    /// Adds a result durably (temporary file, fsync, rename, directory fsync) and returns its
    /// entry; then drops the oldest entries while the spool is past its [`Limits`], with a
    /// warning naming how many and their kinds. A body larger than `max_bytes` is refused.
    pub fn push(&self, kind: &str, body: &[u8], now: DateTime<Utc>) -> Result<Entry, SpoolError> {
        if !valid_kind(kind) {
            return Err(SpoolError::InvalidKind { kind: kind.to_owned() });
        }
        let len = body.len() as u64;
        if len > self.limits.max_bytes {
            return Err(SpoolError::TooLarge { len, max_bytes: self.limits.max_bytes });
        }
        let mut state = self.state();
        let seq = state.next_seq;
        if seq >= state.reserved {
            let reserved = seq.saturating_add(SEQ_BLOCK);
            self.write_atomically(SEQ_FILE, format!("ward-spool-seq 1 {reserved}\n").as_bytes())?;
            state.reserved = reserved;
        }
        let entry = Entry { key: new_key()?, seq, kind: kind.to_owned(), created: now, len };
        let mut contents = header_prefix(&entry).into_bytes();
        let mut crc = Crc32::new();
        crc.update(&contents);
        crc.update(body);
        contents.extend_from_slice(format!(" {:08x}\n", crc.finish()).as_bytes());
        contents.extend_from_slice(body);
        self.write_atomically(&file_name(seq), &contents)?;
        state.next_seq = seq + 1;
        state.bytes += len;
        state.entries.insert(seq, entry.clone());
        self.enforce_limits(&mut state)?;
        Ok(entry)
    }

    /// The entries waiting for delivery, oldest first.
    pub fn pending(&self) -> Result<Vec<Entry>, SpoolError> {
        Ok(self.state().entries.values().cloned().collect())
    }

    /// The body of `entry`, verified against its checksum. A file found corrupt is moved to
    /// `corrupt/`, leaves the spool and is reported as [`SpoolError::Corrupt`].
    pub fn read(&self, entry: &Entry) -> Result<Vec<u8>, SpoolError> {
        let name = file_name(entry.seq);
        let path = self.dir.join(&name);
        let contents = fs::read(&path).map_err(io_error(&path))?;
        match parse_file(&contents, entry.seq) {
            Ok((found, body)) if found == *entry => Ok(body.to_vec()),
            Ok(_) => Err(SpoolError::Io {
                path,
                source: io::Error::new(io::ErrorKind::NotFound, "holds a different entry"),
            }),
            Err(reason) => {
                let mut state = self.state();
                let moved_to = quarantine(&self.dir, &path, &name)?;
                if let Some(gone) = state.entries.remove(&entry.seq) {
                    state.bytes -= gone.len;
                }
                tracing::warn!(
                    file = %path.display(),
                    moved_to = %moved_to.display(),
                    %reason,
                    "spool: corrupt entry moved aside, it will not be delivered"
                );
                Err(SpoolError::Corrupt { seq: entry.seq, reason, moved_to })
            }
        }
    }

    /// Deletes `entry` once the server acknowledged it. Acking an entry that is not (or no
    /// longer) in the spool is `Ok`: acks are idempotent. The deletion is not fsynced: if it
    /// is lost in a crash, the entry is sent again and the server deduplicates it.
    pub fn ack(&self, entry: &Entry) -> Result<(), SpoolError> {
        let mut state = self.state();
        if state.entries.get(&entry.seq).is_none_or(|e| e.key != entry.key) {
            return Ok(());
        }
        let path = self.dir.join(file_name(entry.seq));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(SpoolError::Io { path, source }),
        }
        if let Some(gone) = state.entries.remove(&entry.seq) {
            state.bytes -= gone.len;
        }
        Ok(())
    }

    /// `(entries, body bytes)` waiting in the spool.
    pub fn usage(&self) -> (usize, u64) {
        let state = self.state();
        (state.entries.len(), state.bytes)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the index as consistent as the disk it
        // mirrors (every update follows a completed file operation), so carry on.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops the oldest entries while the spool is past its bound, with one warning.
    fn enforce_limits(&self, state: &mut State) -> Result<(), SpoolError> {
        let mut dropped: BTreeMap<String, usize> = BTreeMap::new();
        let mut count = 0usize;
        while state.entries.len() > self.limits.max_entries || state.bytes > self.limits.max_bytes {
            let Some((&seq, _)) = state.entries.first_key_value() else { break };
            let path = self.dir.join(file_name(seq));
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(SpoolError::Io { path, source }),
            }
            if let Some(gone) = state.entries.remove(&seq) {
                state.bytes -= gone.len;
                *dropped.entry(gone.kind).or_default() += 1;
                count += 1;
            }
        }
        if count > 0 {
            let mut kinds = String::new();
            for (kind, n) in &dropped {
                let sep = if kinds.is_empty() { "" } else { ", " };
                let _ = write!(kinds, "{sep}{n} {kind}");
            }
            tracing::warn!(
                dropped = count,
                %kinds,
                max_entries = self.limits.max_entries,
                max_bytes = self.limits.max_bytes,
                "spool full: dropped the {count} oldest undelivered entries ({kinds})"
            );
        }
        Ok(())
    }

    /// Writes `name` in the spool directory: temporary file, fsync, rename, directory fsync.
    fn write_atomically(&self, name: &str, contents: &[u8]) -> Result<(), SpoolError> {
        let temp = self.dir.join(format!("{name}{TEMP_SUFFIX}"));
        let path = self.dir.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(io_error(&temp))?;
        file.write_all(contents).map_err(io_error(&temp))?;
        file.sync_all().map_err(io_error(&temp))?;
        drop(file);
        fs::rename(&temp, &path).map_err(io_error(&path))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io_error(&self.dir))
    }
}

/// What one [`deliver`] call did.
#[derive(Debug)]
pub struct DeliveryReport<E> {
    /// Entries the server accepted and that were acked (deleted), oldest first.
    pub delivered: Vec<Entry>,
    /// Entries found corrupt while reading, moved to `corrupt/` and skipped.
    pub corrupt: Vec<SpoolError>,
    /// Why delivery stopped before the spool was empty, if it did.
    pub stopped: Option<DeliveryStop<E>>,
}

/// Why [`deliver`] stopped early.
#[derive(Debug)]
pub enum DeliveryStop<E> {
    /// `send` failed for this entry; it stays in the spool for the next attempt.
    Send { entry: Entry, error: E },
    /// The spool itself failed (reading or deleting a file).
    Spool(SpoolError),
}

/// Sends the pending entries oldest first and acks each one `send` accepted; stops at the
/// first failure, leaving that entry and the later ones for the next call. `send` must return
/// `Ok` only once the server has stored the entry under its key.
pub fn deliver<E>(
    spool: &Spool,
    mut send: impl FnMut(&Entry, &[u8]) -> Result<(), E>,
) -> DeliveryReport<E> {
    let mut report = DeliveryReport { delivered: Vec::new(), corrupt: Vec::new(), stopped: None };
    let pending = match spool.pending() {
        Ok(pending) => pending,
        Err(e) => {
            report.stopped = Some(DeliveryStop::Spool(e));
            return report;
        }
    };
    for entry in pending {
        let body = match spool.read(&entry) {
            Ok(body) => body,
            Err(e @ SpoolError::Corrupt { .. }) => {
                report.corrupt.push(e);
                continue;
            }
            Err(e) => {
                report.stopped = Some(DeliveryStop::Spool(e));
                return report;
            }
        };
        if let Err(error) = send(&entry, &body) {
            report.stopped = Some(DeliveryStop::Send { entry, error });
            return report;
        }
        if let Err(e) = spool.ack(&entry) {
            report.stopped = Some(DeliveryStop::Spool(e));
            return report;
        }
        report.delivered.push(entry);
    }
    report
}

fn valid_kind(kind: &str) -> bool {
    (1..=32).contains(&kind.len())
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Exactly `digits` lowercase hex digits (keys and checksums are written that way only).
fn lower_hex(text: &str, digits: usize) -> bool {
    text.len() == digits && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn file_name(seq: u64) -> String {
    format!("{seq:020}{ENTRY_SUFFIX}")
}

/// 128 bits from the kernel's random source, as 32 lowercase hex digits.
fn new_key() -> Result<String, SpoolError> {
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 16];
    File::open(path).and_then(|mut f| f.read_exact(&mut bytes)).map_err(io_error(path))?;
    let mut key = String::with_capacity(32);
    for b in bytes {
        let _ = write!(key, "{b:02x}");
    }
    Ok(key)
}

/// The header line up to, not including, the space before the checksum.
fn header_prefix(entry: &Entry) -> String {
    format!(
        "{MAGIC} {VERSION} {} {} {} {} {}",
        entry.key,
        entry.seq,
        entry.kind,
        entry.created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        entry.len
    )
}

/// Parses a header line (without its newline) into the entry, the checksum and the length of
/// the checksummed prefix.
fn parse_header(line: &[u8], seq_from_name: u64) -> Result<(Entry, u32, usize), String> {
    let line = std::str::from_utf8(line).map_err(|_| "the header is not UTF-8".to_owned())?;
    let fields: Vec<&str> = line.split(' ').collect();
    let [magic, version, key, seq, kind, created, len, crc] = fields[..] else {
        return Err(format!("the header has {} fields, not 8", fields.len()));
    };
    if magic != MAGIC {
        return Err("not a ward spool entry (bad magic)".into());
    }
    if version != VERSION {
        return Err(format!("unsupported format version {version:?}"));
    }
    if !lower_hex(key, 32) {
        return Err(format!("invalid key {key:?}"));
    }
    let seq: u64 = seq.parse().map_err(|_| format!("invalid sequence number {seq:?}"))?;
    if seq != seq_from_name {
        return Err(format!("sequence number {seq} differs from the file name's"));
    }
    if !valid_kind(kind) {
        return Err(format!("invalid kind {kind:?}"));
    }
    let created = DateTime::parse_from_rfc3339(created)
        .map_err(|e| format!("invalid creation time {created:?}: {e}"))?
        .with_timezone(&Utc);
    let len: u64 = len.parse().map_err(|_| format!("invalid length {len:?}"))?;
    if !lower_hex(crc, 8) {
        return Err(format!("invalid checksum {crc:?}"));
    }
    let crc = u32::from_str_radix(crc, 16).map_err(|_| format!("invalid checksum {crc:?}"))?;
    let prefix = line.len() - 9;
    Ok((Entry { key: key.to_owned(), seq, kind: kind.to_owned(), created, len }, crc, prefix))
}

/// A whole entry file in memory: the entry and its verified body.
fn parse_file(contents: &[u8], seq: u64) -> Result<(Entry, &[u8]), String> {
    let window = &contents[..contents.len().min(MAX_HEADER as usize)];
    let newline = window
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("no header line (truncated or not an entry)")?;
    let (entry, crc, prefix) = parse_header(&contents[..newline], seq)?;
    let body = &contents[newline + 1..];
    if body.len() as u64 != entry.len {
        return Err(format!("the body is {} bytes, the header says {}", body.len(), entry.len));
    }
    let mut sum = Crc32::new();
    sum.update(&contents[..prefix]);
    sum.update(body);
    if sum.finish() != crc {
        return Err("checksum mismatch".into());
    }
    Ok((entry, body))
}

/// Verifies an entry file without holding its body in memory.
fn verify_file(path: &Path, seq: u64) -> Result<Entry, String> {
    let file = File::open(path).map_err(|e| format!("unreadable: {e}"))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    (&mut reader)
        .take(MAX_HEADER)
        .read_until(b'\n', &mut line)
        .map_err(|e| format!("unreadable: {e}"))?;
    if line.pop() != Some(b'\n') {
        return Err("no header line (truncated or not an entry)".into());
    }
    let (entry, crc, prefix) = parse_header(&line, seq)?;
    let mut sum = Crc32::new();
    sum.update(&line[..prefix]);
    let mut body_len = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("unreadable: {e}")),
        };
        sum.update(&buf[..n]);
        body_len += n as u64;
    }
    if body_len != entry.len {
        return Err(format!("the body is {body_len} bytes, the header says {}", entry.len));
    }
    if sum.finish() != crc {
        return Err("checksum mismatch".into());
    }
    Ok(entry)
}

/// Moves a corrupt file to `dir/corrupt/`, never over an earlier one; returns where it went.
fn quarantine(dir: &Path, path: &Path, name: &str) -> Result<PathBuf, SpoolError> {
    let corrupt = dir.join(CORRUPT_DIR);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&corrupt)
        .map_err(io_error(&corrupt))?;
    let mut target = corrupt.join(name);
    let mut n = 1u32;
    while target.exists() {
        target = corrupt.join(format!("{name}.{n}"));
        n += 1;
    }
    fs::rename(path, &target).map_err(io_error(path))?;
    Ok(target)
}

/// Takes the exclusive lock on `path` and writes this process's id into it, so a second
/// opener can name the holder.
fn take_lock(path: &Path) -> Result<File, SpoolError> {
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(io_error(path))?;
    if rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = match holder.trim() {
            "" => "holder unknown".to_owned(),
            pid => format!("pid {pid}"),
        };
        return Err(SpoolError::Locked { lock: path.to_path_buf(), holder });
    }
    file.set_len(0).map_err(io_error(path))?;
    writeln!(file, "{}", std::process::id()).map_err(io_error(path))?;
    Ok(file)
}

/// The high-water mark from `dir/seq`, or 0 (with a warning if the file exists but is bad).
fn read_seq_mark(dir: &Path) -> u64 {
    let path = dir.join(SEQ_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return 0,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "spool: unreadable sequence file; continuing after the newest entry");
            return 0;
        }
    };
    match text.strip_prefix("ward-spool-seq 1 ").and_then(|n| n.trim_end().parse().ok()) {
        Some(mark) => mark,
        None => {
            tracing::warn!(path = %path.display(), "spool: corrupt sequence file; continuing after the newest entry");
            0
        }
    }
}

/// CRC-32/IEEE (the polynomial of zlib, gzip and PNG), table-driven. Written here because
/// it is twenty lines and only guards against torn or bit-flipped files.
struct Crc32(u32);

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

impl Crc32 {
    fn new() -> Crc32 {
        Crc32(0xFFFF_FFFF)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = CRC_TABLE[((self.0 ^ u32::from(b)) & 0xFF) as usize] ^ (self.0 >> 8);
        }
    }

    fn finish(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_values() {
        fn check(input: &[u8], expect: u32) {
            let mut crc = Crc32::new();
            crc.update(input);
            assert_eq!(crc.finish(), expect, "{input:?}");
        }
        check(b"", 0);
        check(b"123456789", 0xCBF4_3926);
        check(b"The quick brown fox jumps over the lazy dog", 0x414F_A339);
    }
}
