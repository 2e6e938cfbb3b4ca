//! `ward server`: the fleet's HTTP API (`/api/v1`, JSON) over one [`ward_store::Store`] (SQLite
//! by default, PostgreSQL for several processes), with the agent protocol, password and token
//! authentication, role checks on every route, a hash-chained audit log of every state change,
//! and background re-matching when the advisory index changes. See ARCHITECTURE.md
//! (`crates/server`) and docs/api.md.

#![forbid(unsafe_code)]

pub mod auth;
pub mod config;
pub mod error;
pub mod handlers;
pub mod jobs;
pub mod net;
pub mod routes;
pub mod state;

use std::sync::Arc;

use anyhow::Context;
use chrono::{TimeDelta, Utc};
use tokio::net::TcpListener;
use tokio::sync::watch;
use ward_api::view::AuditVerify;
use ward_auth::lockout::{Lockout, Policy};
use ward_auth::role::Role;
use ward_auth::scope::Scope;
use ward_auth::token::{Token, TokenKind};
use ward_auth::{password, OsRng, SecretString};
use ward_store::{Store, TokenOwner};

pub use config::ServerConfig;
use error::ApiResult;
use state::AppState;

/// How many audit entries [`verify_audit`] reads per query.
const AUDIT_PAGE: u32 = 5000;

/// Opens the store of `config` (creating and migrating it), in `data_dir`.
pub fn open_store(
    config: &ServerConfig,
    data_dir: &std::path::Path,
) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let url = config.database_url(data_dir);
    let store = ward_store::open(&url)?;
    Ok(Arc::from(store))
}

/// A running server: where it listens, and how to stop it.
#[derive(Debug)]
pub struct Running {
    pub address: std::net::SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish (up to 10 s) and stops the jobs loop.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Binds and starts the server on the current tokio runtime.
pub async fn start(
    config: &ServerConfig,
    data_dir: &std::path::Path,
    store: Arc<dyn Store>,
) -> anyhow::Result<Running> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(net::tls_config(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("tls_cert and tls_key go together: set both for HTTPS, or neither"),
    };
    let policy = Policy {
        max_failures: config.max_login_failures.max(1),
        max_failures_per_address: config.max_login_failures_per_address.max(1),
        ..Policy::default()
    };
    let worker = format!(
        "{}:{}:{:08x}",
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim(),
        std::process::id(),
        Utc::now().timestamp_subsec_nanos()
    );
    let state = AppState::new(
        store,
        data_dir.to_path_buf(),
        Lockout::new(policy),
        TimeDelta::hours(i64::try_from(config.session_hours.max(1)).unwrap_or(12)),
        worker,
    );
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let address = listener.local_addr().context("reading the listening address")?;
    let (stop, stopped) = watch::channel(false);
    let schedule = jobs::Schedule {
        poll: config.poll(),
        feeds_every: config.feeds_every_hours.map(|h| std::time::Duration::from_secs(h * 3600)),
    };
    let router = routes::router(state.clone());
    let tasks = vec![
        tokio::spawn(net::serve(listener, router, tls, stopped.clone())),
        tokio::spawn(jobs::run(state, schedule, stopped)),
    ];
    Ok(Running { address, stop, tasks })
}

/// What `ward server init` made.
#[derive(Debug)]
pub struct Initialized {
    pub user: String,
    /// The one-time admin token (when no password was given), shown once.
    pub token: Option<String>,
    pub expires: Option<chrono::DateTime<Utc>>,
}

/// Creates the bootstrap admin `name`, with `password` if given (it must follow the password
/// rules), else with an unusable password and a one-time admin API token valid for 24 hours.
/// Refused when any user exists already (use the API to add more).
pub fn init(
    store: &dyn Store,
    name: &str,
    password: Option<SecretString>,
) -> anyhow::Result<Initialized> {
    if !store.users()?.is_empty() {
        anyhow::bail!(
            "the store has users already; `ward server init` only creates the first admin (add \
             users with POST /api/v1/users)"
        );
    }
    let now = Utc::now();
    let phc = match &password {
        Some(secret) => {
            password::check_rules(secret).map_err(|e| anyhow::anyhow!("the password: {e}"))?;
            password::hash(secret, &mut OsRng)?
        }
        None => {
            // Nobody knows this password: the account logs in only with the token.
            let (random, _) = Token::generate(TokenKind::Api, &mut OsRng)?;
            password::hash(&SecretString::from(random.reveal().to_owned()), &mut OsRng)?
        }
    };
    let user = store.create_user(name, Role::Admin, &phc, now)?;
    let mut made = Initialized { user: name.to_owned(), token: None, expires: None };
    if password.is_none() {
        let expires = now + TimeDelta::hours(24);
        let (token, stored) = Token::generate(TokenKind::Api, &mut OsRng)?;
        store.add_token(&stored, TokenOwner::User(user), &Scope::ALL, Some(expires), now)?;
        made.token = Some(token.reveal().to_owned());
        made.expires = Some(expires);
    }
    store.append_audit(
        now,
        "cli:server-init",
        "user-create",
        &format!("user:{name}"),
        serde_json::json!({"role": "admin", "with_password": password.is_some()}),
    )?;
    Ok(made)
}

/// Reads the whole audit log and checks its hash chain and anchor.
pub fn verify_audit(store: &dyn Store) -> ApiResult<AuditVerify> {
    let mut entries = Vec::new();
    let mut after = None;
    loop {
        let page = store.audit_entries(after, AUDIT_PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        let full = page.len() == AUDIT_PAGE as usize;
        entries.extend(page);
        if !full {
            break;
        }
    }
    let anchor = store.audit_anchor()?;
    let checked = match &anchor {
        Some(anchor) => ward_auth::audit::verify_with_anchor(&entries, anchor),
        None if entries.is_empty() => Ok(()),
        // Entries without an anchor: the anchor row was deleted.
        None => {
            Err(ward_auth::audit::Tamper { seq: 1, kind: ward_auth::audit::TamperKind::Truncated })
        }
    };
    Ok(match checked {
        Ok(()) => AuditVerify { ok: true, entries: entries.len() as u64, problem: None },
        Err(tamper) => AuditVerify {
            ok: false,
            entries: entries.len() as u64,
            problem: Some(format!("entry {}: {:?}", tamper.seq, tamper.kind)),
        },
    })
}
