//! Trends that survive a restart: every series of the [`Store`] kept in
//! `STATE_DIR/trends.db` (SQLite, WAL), all three resolutions.
//!
//! The store stays in memory (queries and rollups are there); [`TrendDb::save`] writes only
//! what changed since the last save — the buckets from each changed series' `dirty_from` on,
//! in one transaction — then drops what is past retention. A failed save leaves the series
//! dirty, so the next save writes them. A file that cannot be read (damaged, another schema)
//! is set aside as `trends.db.bad` and trends start empty: monitoring never stops over it.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::time::Timestamp;
use crate::timeseries::{Bucket, Resolution, Series, Store};

const SCHEMA_VERSION: &str = "ward.check-trends-db/1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, check_name TEXT NOT NULL, label TEXT NOT NULL, uom TEXT NOT NULL,
    UNIQUE (check_name, label)
);
CREATE TABLE IF NOT EXISTS buckets (
    series INTEGER NOT NULL, res INTEGER NOT NULL, start INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL, last REAL NOT NULL,
    PRIMARY KEY (series, res, start)
) WITHOUT ROWID;
";

fn res_code(r: Resolution) -> i64 {
    match r {
        Resolution::Raw => 0,
        Resolution::FiveMinutes => 1,
        Resolution::OneHour => 2,
    }
}

/// The trend file of a state directory.
pub struct TrendDb {
    path: PathBuf,
    conn: Connection,
}

impl std::fmt::Debug for TrendDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrendDb").field("path", &self.path).finish_non_exhaustive()
    }
}

impl TrendDb {
    /// Opens (or creates) `trends.db` in `state_dir` and reads every series into `store`
    /// (pruned to its retention at `now`). An unreadable file is set aside with a warning and
    /// a new one started; only a file that cannot be created at all is an error.
    pub fn open(state_dir: &Path, store: &mut Store, now: Timestamp) -> Result<TrendDb, String> {
        let path = state_dir.join("trends.db");
        match Self::open_and_load(&path, store, now) {
            Ok(db) => Ok(db),
            Err(e) if path.exists() => {
                let aside = path.with_extension("db.bad");
                tracing::warn!(path = %path.display(), "unreadable trends ({e}); set aside as {}, starting empty", aside.display());
                let _ = std::fs::rename(&path, &aside);
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                *store = Store::new(store.retention());
                Self::open_and_load(&path, store, now)
                    .map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    fn open_and_load(path: &Path, store: &mut Store, now: Timestamp) -> Result<TrendDb, String> {
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| e.to_string())?;
        conn.execute_batch(SCHEMA).map_err(|e| e.to_string())?;
        let version: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |r| r.get(0))
            .optional()
            .map_err(|e| e.to_string())?;
        match version.as_deref() {
            None => {
                conn.execute("INSERT INTO meta VALUES ('schema', ?1)", [SCHEMA_VERSION])
                    .map_err(|e| e.to_string())?;
            }
            Some(SCHEMA_VERSION) => {}
            Some(other) => {
                return Err(format!("schema {other:?}, this ward reads {SCHEMA_VERSION:?}"))
            }
        }
        let db = TrendDb { path: path.to_path_buf(), conn };
        db.load(store).map_err(|e| e.to_string())?;
        store.prune(now);
        Ok(db)
    }

    fn load(&self, store: &mut Store) -> rusqlite::Result<()> {
        let mut stmt = self.conn.prepare(
            "SELECT s.check_name, s.label, s.uom, b.res, b.start, b.min, b.max, b.sum, b.count, b.last \
             FROM buckets b JOIN series s ON s.id = b.series ORDER BY s.id, b.res, b.start",
        )?;
        let mut rows = stmt.query([])?;
        type Loading = (String, String, String, [Vec<Bucket>; 3]);
        let mut current: Option<Loading> = None;
        let finish = |store: &mut Store, done: Loading| {
            let (check, label, uom, [raw, five, hour]) = done;
            let series = Series::from_saved(uom, raw, five, hour);
            if !series.is_empty() {
                store.insert(check, label, series);
            }
        };
        while let Some(row) = rows.next()? {
            let (check, label): (String, String) = (row.get(0)?, row.get(1)?);
            let res: i64 = row.get(3)?;
            let count: i64 = row.get(8)?;
            let bucket = Bucket {
                start: Timestamp(row.get(4)?),
                min: row.get(5)?,
                max: row.get(6)?,
                sum: row.get(7)?,
                count: u64::try_from(count).unwrap_or(0),
                last: row.get(9)?,
            };
            if current.as_ref().is_none_or(|c| c.0 != check || c.1 != label) {
                if let Some(done) = current.take() {
                    finish(store, done);
                }
                current = Some((check, label, row.get(2)?, [Vec::new(), Vec::new(), Vec::new()]));
            }
            if let (Some(c), Ok(i)) = (current.as_mut(), usize::try_from(res)) {
                if let Some(list) = c.3.get_mut(i) {
                    list.push(bucket);
                }
            }
        }
        if let Some(done) = current.take() {
            finish(store, done);
        }
        Ok(())
    }

    /// Writes every changed series and prunes by retention at `now`, in one transaction.
    pub fn save(&mut self, store: &mut Store, now: Timestamp) -> Result<(), String> {
        let retention = store.retention();
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        {
            let mut series_id = tx
                .prepare_cached(
                    "INSERT INTO series (check_name, label, uom) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (check_name, label) DO UPDATE SET uom = excluded.uom RETURNING id",
                )
                .map_err(|e| e.to_string())?;
            let mut put = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO buckets VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(|e| e.to_string())?;
            let mut cap = tx
                .prepare_cached("DELETE FROM buckets WHERE series = ?1 AND res = 0 AND start < ?2")
                .map_err(|e| e.to_string())?;
            for ((check, label), series) in store.iter_mut() {
                let Some(from) = series.dirty_from else { continue };
                let id: i64 = series_id
                    .query_row(params![check, label, series.uom], |r| r.get(0))
                    .map_err(|e| e.to_string())?;
                for res in Resolution::ALL {
                    let buckets = series.buckets(res);
                    let first = buckets.partition_point(|b| b.start < from);
                    for b in &buckets[first..] {
                        let count = i64::try_from(b.count).unwrap_or(i64::MAX);
                        put.execute(params![
                            id,
                            res_code(res),
                            b.start.0,
                            b.min,
                            b.max,
                            b.sum,
                            count,
                            b.last
                        ])
                        .map_err(|e| e.to_string())?;
                    }
                }
                // Raw points the memory cap dropped are dropped on disk too.
                if let Some(oldest) = series.buckets(Resolution::Raw).first() {
                    cap.execute(params![id, oldest.start.0]).map_err(|e| e.to_string())?;
                }
            }
            let mut prune = tx
                .prepare_cached("DELETE FROM buckets WHERE res = ?1 AND start < ?2")
                .map_err(|e| e.to_string())?;
            for (res, keep) in [
                (Resolution::Raw, retention.raw),
                (Resolution::FiveMinutes, retention.five_minutes),
                (Resolution::OneHour, retention.one_hour),
            ] {
                prune.execute(params![res_code(res), (now - keep).0]).map_err(|e| e.to_string())?;
            }
        }
        tx.commit().map_err(|e| format!("{}: {e}", self.path.display()))?;
        for (_, series) in store.iter_mut() {
            series.dirty_from = None;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perfdata::PerfDatum;
    use crate::result::CheckResult;
    use crate::state::State;
    use crate::timeseries::Retention;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_789_999_600 + secs)
    }

    fn record(store: &mut Store, check: &str, minute: i64) {
        let r = CheckResult::new(State::Ok, "x")
            .with_perfdata(PerfDatum::new("time", minute as f64, "s"))
            .with_perfdata(PerfDatum::new("size", 2.0 * minute as f64, "B"));
        store.record(check, &r, at(minute * 60));
    }

    fn dump(store: &Store, check: &str, label: &str) -> Vec<Vec<Bucket>> {
        let s = store.series(check, label).unwrap();
        Resolution::ALL
            .iter()
            .map(|r| s.query(*r, Timestamp(i64::MIN), Timestamp(i64::MAX)))
            .collect()
    }

    #[test]
    fn trends_survive_a_restart_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::new(Retention::default());
        let mut db = TrendDb::open(dir.path(), &mut store, at(0)).unwrap();
        // Saved in three goes: whole buckets and a bucket still filling.
        for m in 0..50 {
            record(&mut store, "web", m);
        }
        db.save(&mut store, at(50 * 60)).unwrap();
        for m in 50..97 {
            record(&mut store, "web", m);
            record(&mut store, "db", m);
        }
        db.save(&mut store, at(97 * 60)).unwrap();
        record(&mut store, "web", 97);
        db.save(&mut store, at(98 * 60)).unwrap();
        drop(db);
        let mut again = Store::new(Retention::default());
        let _db = TrendDb::open(dir.path(), &mut again, at(98 * 60)).unwrap();
        for (check, label) in [("web", "time"), ("web", "size"), ("db", "time")] {
            assert_eq!(dump(&again, check, label), dump(&store, check, label), "{check} {label}");
        }
        assert_eq!(again.series("web", "size").unwrap().uom, "B");
        // Carrying on after the restart extends the same buckets.
        record(&mut store, "web", 98);
        record(&mut again, "web", 98);
        assert_eq!(dump(&again, "web", "time"), dump(&store, "web", "time"));
    }

    #[test]
    fn retention_applies_on_disk_and_damage_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let retention = Retention {
            raw: std::time::Duration::from_secs(600),
            five_minutes: std::time::Duration::from_secs(3600),
            one_hour: std::time::Duration::from_secs(86_400),
        };
        let mut store = Store::new(retention);
        let mut db = TrendDb::open(dir.path(), &mut store, at(0)).unwrap();
        for m in 0..120 {
            record(&mut store, "web", m);
        }
        db.save(&mut store, at(119 * 60)).unwrap();
        let raw: i64 = db
            .conn
            .query_row("SELECT COUNT(*) FROM buckets WHERE res = 0 AND series = (SELECT id FROM series WHERE label = 'time')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(raw, 11, "10 minutes of raw points kept");
        drop(db);
        let mut later = Store::new(retention);
        let _db = TrendDb::open(dir.path(), &mut later, at(2 * 86_400)).unwrap();
        assert!(later.is_empty(), "everything is past retention two days on");
        drop(_db);

        std::fs::write(dir.path().join("trends.db"), b"not a database at all, not even close....")
            .unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("trends.db{suffix}")));
        }
        let mut fresh = Store::new(retention);
        let mut db = TrendDb::open(dir.path(), &mut fresh, at(0)).unwrap();
        assert!(fresh.is_empty());
        assert!(dir.path().join("trends.db.bad").is_file());
        record(&mut fresh, "web", 1);
        db.save(&mut fresh, at(60)).unwrap();
    }
}
