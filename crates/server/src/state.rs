//! [`AppState`]: what every handler shares — the store, the advisory index's location and
//! version, the lockout policy, the server's settings.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use ward_advisory::store::Index;
use ward_auth::lockout::Lockout;
use ward_match::index::IndexAdvisories;
use ward_store::Store;

use crate::error::{ApiError, ApiResult};

/// Shared by every handler; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    data_dir: PathBuf,
    lockout: Lockout,
    session_ttl: TimeDelta,
    /// This process's name in job claims: `hostname:pid:random`.
    worker: String,
    /// The index version last seen by the watcher.
    index_version: Mutex<Option<String>>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        data_dir: PathBuf,
        lockout: Lockout,
        session_ttl: TimeDelta,
        worker: String,
    ) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                store,
                data_dir,
                lockout,
                session_ttl,
                worker,
                index_version: Mutex::new(None),
            }),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn data_dir(&self) -> &PathBuf {
        &self.inner.data_dir
    }

    pub fn lockout(&self) -> &Lockout {
        &self.inner.lockout
    }

    pub fn session_ttl(&self) -> TimeDelta {
        self.inner.session_ttl
    }

    pub fn worker(&self) -> &str {
        &self.inner.worker
    }

    pub fn index_version(&self) -> Option<String> {
        self.inner.index_version.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn set_index_version(&self, version: Option<String>) {
        *self.inner.index_version.lock().unwrap_or_else(PoisonError::into_inner) = version;
    }

    /// Runs blocking store work on tokio's blocking pool.
    pub async fn db<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> ApiResult<T> + Send + 'static,
    {
        let store = Arc::clone(&self.inner.store);
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|e| ApiError::internal("a store task", e))?
    }

    /// The advisory index of the data directory (opened per use: opening costs about 0.1 ms
    /// and an `Index` is not shared between threads), or `None` when there is none yet.
    pub fn advisories(data_dir: &std::path::Path) -> ApiResult<IndexAdvisories> {
        match Index::open(data_dir) {
            Ok(index) => Ok(IndexAdvisories::new(Some(index))),
            Err(ward_advisory::store::StoreError::Missing { .. }) => Ok(IndexAdvisories::new(None)),
            Err(e) => Err(ApiError::internal("opening the advisory index", e)),
        }
    }
}

/// The clock every handler uses.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// The version of the index in `data_dir` (`None` without one): its build time and record
/// count, which change with every rebuild that changes anything.
pub fn index_version(data_dir: &std::path::Path) -> Option<String> {
    let index = Index::open(data_dir).ok()?;
    let (built, records) = index.summary().ok()?;
    Some(format!("{built}-{records}"))
}
