//! The server's settings: the `[server]` table of `ward.toml`, overridden by command-line
//! flags. Unknown keys are errors naming the file and the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// Everything `ward server` needs. Paths are absolute or relative to the working directory.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where to listen (default 127.0.0.1:8440).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The store: a path, `sqlite://PATH` or `postgres://…` (default: `ward.db` in the data
    /// directory).
    #[serde(default)]
    pub database: Option<String>,
    /// The data directory: the advisory index (`ward db`) and the default SQLite store.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// PEM certificate chain and private key: both set → HTTPS (rustls).
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// How often to look for a new advisory index and queued jobs, in seconds (default 10).
    #[serde(default = "default_poll")]
    pub poll_seconds: u64,
    /// Re-fetch the advisory feeds every this many hours (default: never; run `ward db update`).
    #[serde(default)]
    pub feeds_every_hours: Option<u64>,
    /// How long a password session lasts, in hours (default 12).
    #[serde(default = "default_session")]
    pub session_hours: u64,
    /// Failed logins per account within 15 minutes that lock it for 15 minutes (default 5).
    #[serde(default = "default_failures")]
    pub max_login_failures: usize,
    /// Failed logins per source address within 15 minutes that lock it (default 20).
    #[serde(default = "default_address_failures")]
    pub max_login_failures_per_address: usize,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8440))
}
fn default_poll() -> u64 {
    10
}
fn default_session() -> u64 {
    12
}
fn default_failures() -> usize {
    5
}
fn default_address_failures() -> usize {
    20
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            database: None,
            data_dir: None,
            tls_cert: None,
            tls_key: None,
            poll_seconds: default_poll(),
            feeds_every_hours: None,
            session_hours: default_session(),
            max_login_failures: default_failures(),
            max_login_failures_per_address: default_address_failures(),
        }
    }
}

impl ServerConfig {
    /// The `[server]` table of a `ward.toml` (defaults when the file has none).
    pub fn from_file(path: &Path) -> anyhow::Result<ServerConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration {}", path.display()))?;
        let table: toml::Table =
            toml::from_str(&text).with_context(|| format!("{}: not valid TOML", path.display()))?;
        match table.get("server") {
            None => Ok(ServerConfig::default()),
            Some(server) => {
                server.clone().try_into().with_context(|| format!("{}: [server]", path.display()))
            }
        }
    }

    /// The store URL: the configured one, else `ward.db` in `data_dir`.
    pub fn database_url(&self, data_dir: &Path) -> String {
        self.database.clone().unwrap_or_else(|| data_dir.join("ward.db").display().to_string())
    }

    pub fn poll(&self) -> Duration {
        Duration::from_secs(self.poll_seconds.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_server_table_and_names_unknown_keys() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("ward.toml");
        std::fs::write(&path, "[server]\nlisten = \"0.0.0.0:9000\"\nposl_seconds = 3\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let error = format!(
            "{:#}",
            ServerConfig::from_file(&path).err().unwrap_or_else(|| panic!("accepted"))
        );
        assert!(error.contains("[server]") && error.contains("posl_seconds"), "{error}");
        std::fs::write(&path, "[server]\nlisten = \"0.0.0.0:9000\"\n[scan]\nx = 1\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let config = ServerConfig::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.listen.port(), 9000);
        assert_eq!(config.session_hours, 12);
    }
}
