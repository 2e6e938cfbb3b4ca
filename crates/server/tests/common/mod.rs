//! A real `ward server` for tests: started in-process on 127.0.0.1 (an OS-chosen port) over a
//! fresh store — a SQLite file in a temporary directory or a fresh PostgreSQL schema — and
//! driven over HTTP with ureq.

#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::sync::Arc;

use chrono::Utc;
use serde_json::Value;
use ward_auth::role::Role;
use ward_auth::scope::Scope;
use ward_auth::token::{Token, TokenKind};
use ward_auth::{password, OsRng, SecretString};
use ward_server::{Running, ServerConfig};
use ward_store::{HostInfo, Store, TokenOwner, UserId};

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    pub url: String,
    pub store: Arc<dyn Store>,
    pub dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    running: Option<Running>,
    _schema: Option<ward_testdata::postgres::FreshSchema>,
    http: ureq::Agent,
    database: Option<String>,
    pub data_dir: std::path::PathBuf,
}

pub fn must<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

impl TestServer {
    pub fn start(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |_| {})
    }

    pub fn start_with(backend: Backend, adjust: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = must(tempfile::tempdir());
        let (url, schema) = match backend {
            Backend::Sqlite => (dir.path().join("ward.db").display().to_string(), None),
            Backend::Postgres => {
                let schema = ward_testdata::postgres::fresh_schema("server");
                (schema.url().to_owned(), Some(schema))
            }
        };
        TestServer::launch(dir, url, schema, None, adjust)
    }

    /// A second server on the store at `url` with the data directory `data_dir` (scale-out).
    pub fn start_shared(url: &str, data_dir: &std::path::Path) -> TestServer {
        let dir = must(tempfile::tempdir());
        TestServer::launch(dir, url.to_owned(), None, Some(data_dir.to_path_buf()), |_| {})
    }

    /// The store URL (for a second server).
    pub fn store_url(&self) -> Option<String> {
        self.database.clone()
    }

    fn launch(
        dir: tempfile::TempDir,
        url: String,
        schema: Option<ward_testdata::postgres::FreshSchema>,
        data_dir: Option<std::path::PathBuf>,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        let data_dir = data_dir.unwrap_or_else(|| dir.path().to_path_buf());
        let mut config = ServerConfig {
            listen: must("127.0.0.1:0".parse()),
            database: Some(url),
            poll_seconds: 1,
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let database = config.database.clone();
        let store = must(ward_server::open_store(&config, &data_dir));
        let runtime = must(
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build(),
        );
        let running =
            must(runtime.block_on(ward_server::start(&config, &data_dir, Arc::clone(&store))));
        let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}/api/v1", running.address);
        let http = ureq::Agent::new_with_config(
            ureq::Agent::config_builder().http_status_as_error(false).build(),
        );
        TestServer {
            url,
            store,
            dir,
            runtime,
            running: Some(running),
            _schema: schema,
            http,
            database,
            data_dir,
        }
    }

    /// Sends a request; returns the status and the JSON body (`Null` when empty or not JSON).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, token, body, &[])
    }

    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.url);
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = must(request.body(text));
        let mut response = must(self.http.run(request));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A user with `role` and an API token with all the role's scopes (or `scopes`).
    pub fn user_token(&self, name: &str, role: Role, scopes: Option<&[Scope]>) -> (UserId, String) {
        let phc =
            must(password::hash(&SecretString::from(format!("{name}-pass-0123")), &mut OsRng));
        let user = match must(self.store.user_by_name(name)) {
            Some(user) => user.id,
            None => must(self.store.create_user(name, role, &phc, Utc::now())),
        };
        let all = ward_server::auth::role_scopes(role);
        let scopes = scopes.unwrap_or(&all);
        let (token, stored) = must(Token::generate(TokenKind::Api, &mut OsRng));
        must(self.store.add_token(&stored, TokenOwner::User(user), scopes, None, Utc::now()));
        (user, token.reveal().to_owned())
    }

    /// Enrolls a host through the API with a fresh enrollment token; returns (host id, credential).
    pub fn enroll(&self, admin: &str, name: &str, groups: &[&str]) -> (i64, String) {
        let (status, made) =
            self.call("POST", "/enrollment-tokens", Some(admin), Some(&serde_json::json!({})));
        assert_eq!(status, 200, "{made}");
        let body = serde_json::json!({
            "token": made["token"],
            "host": {"name": name, "os": "Debian:12", "groups": groups, "tags": []}
        });
        let (status, enrolled) = self.call("POST", "/agent/enroll", None, Some(&body));
        assert_eq!(status, 200, "{enrolled}");
        (
            must(enrolled["host_id"].as_i64().ok_or("host_id")),
            must(enrolled["credential"].as_str().ok_or("credential")).to_owned(),
        )
    }

    pub fn host_info(name: &str) -> HostInfo {
        HostInfo { name: name.into(), os: Some("Debian:12".into()), groups: vec![], tags: vec![] }
    }

    pub fn stop(mut self) {
        if let Some(running) = self.running.take() {
            self.runtime.block_on(running.stop());
        }
    }
}

/// An agent report body.
pub fn report(name: &str, packages: Value) -> Value {
    serde_json::json!({
        "schema": "ward.agent-report/1",
        "at": Utc::now().to_rfc3339(),
        "host": {"name": name, "os": "Debian:12", "groups": [], "tags": []},
        "facts": {"kernel": "6.1.0-test", "reboot_required": false},
        "inventory": {"kind": "full", "packages": packages}
    })
}
