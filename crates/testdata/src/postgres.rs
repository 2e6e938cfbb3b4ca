//! A PostgreSQL schema of its own for one test or benchmark run: created empty, reached through
//! a URL whose `search_path` points at it, dropped (with everything in it) when the guard is
//! dropped. The database is `WARD_TEST_POSTGRES` (default [`DEFAULT_URL`]); it being
//! unreachable is a failure, not a skip: CI provides it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The database tests use when `WARD_TEST_POSTGRES` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `WARD_TEST_POSTGRES`, or [`DEFAULT_URL`].
pub fn test_url() -> String {
    std::env::var("WARD_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A connection to `url` (no schema chosen). Panics, naming the URL, when it is unreachable.
pub fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|error| {
        panic!("PostgreSQL at {url} (WARD_TEST_POSTGRES) is not reachable: {error}")
    })
}

/// A fresh schema in [`test_url`]'s database, named `{prefix}_{pid}_{nanos}_{n}`.
pub fn fresh_schema(prefix: &str) -> FreshSchema {
    fresh_schema_at(&test_url(), prefix)
}

/// A fresh schema in the database at `base_url`.
pub fn fresh_schema_at(base_url: &str, prefix: &str) -> FreshSchema {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "{prefix}_{}_{nanos}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    connect(base_url)
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .unwrap_or_else(|error| panic!("PostgreSQL at {base_url}: create schema {name}: {error}"));
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let url = format!("{base_url}{separator}options=-csearch_path%3D{name}");
    FreshSchema { base_url: base_url.to_owned(), name, url }
}

/// A schema that exists until this is dropped.
#[derive(Debug)]
pub struct FreshSchema {
    base_url: String,
    name: String,
    url: String,
}

impl FreshSchema {
    /// The database URL with `search_path` set to the schema: what `ward_store::open` takes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name, to qualify tables on a connection of [`FreshSchema::connect_base`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection to the database without the schema chosen (for raw access behind a
    /// store's back: `SET search_path` or qualify with [`FreshSchema::name`]).
    pub fn connect_base(&self) -> postgres::Client {
        connect(&self.base_url)
    }
}

impl Drop for FreshSchema {
    fn drop(&mut self) {
        // Best effort: a failed drop must not hide the test's own result.
        if let Ok(mut client) = postgres::Client::connect(&self.base_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}
