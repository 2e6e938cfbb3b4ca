//! The agent's side of the HTTP protocol (`ward_api::agent`): blocking calls with `ureq`,
//! and the classification of every answer into what the agent does next ([`ClientError`]).
//!
//! | answer | error | the agent |
//! |---|---|---|
//! | 2xx with the expected JSON | — | acks the entry |
//! | 409 with code `base-mismatch` | [`ClientError::BaseMismatch`] | drops the diff, sends a full report |
//! | 401, 403 | [`ClientError::Refused`] | logs an error, keeps spooling, retries slowly |
//! | other 4xx | [`ClientError::Rejected`] | drops that entry with an error (it can never succeed) |
//! | 5xx, connection errors, timeouts, a 2xx it cannot read | [`ClientError::Retry`] | retries with backoff |
//!
//! HTTPS is verified with the Mozilla roots (`webpki-roots`), or with only the certificates
//! of a PEM file (`--ca`) when one is given. The credential and the enrollment token go only
//! into request headers and bodies, never into a log line or an error.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use ward_api::agent::{
    EnrollRequest, EnrollResponse, Heartbeat, HeartbeatResponse, ReportResponse,
};
use ward_api::{ErrorBody, IDEMPOTENCY_HEADER};

/// Bytes of an answer the agent reads (answers are small JSON documents).
const MAX_ANSWER: u64 = 1024 * 1024;

/// Why a call did not succeed, classified by what the agent should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// 409 `base-mismatch`: the diff's base is not the host's latest report on the server.
    #[error("the server does not have the report this diff is based on: {message}")]
    BaseMismatch { message: String },
    /// 401 or 403: the credential was revoked, or the report names another host. Retrying
    /// the same request will not help until an operator acts.
    #[error("the server refused the agent ({status} {code}): {message}")]
    Refused { status: u16, code: String, message: String },
    /// Another 4xx: this request will never be accepted.
    #[error("the server rejected the request ({status} {code}): {message}")]
    Rejected { status: u16, code: String, message: String },
    /// 5xx, no connection, a timeout, or an answer that could not be read: try again later.
    #[error("{reason}")]
    Retry { reason: String },
    /// The server URL or the CA file is unusable.
    #[error("{0}")]
    Config(String),
}

impl ClientError {
    /// Whether trying again later may succeed without anyone acting.
    pub fn is_transient(&self) -> bool {
        matches!(self, ClientError::Retry { .. })
    }
}

/// A connection to one `ward server`.
#[derive(Debug, Clone)]
pub struct Client {
    agent: ureq::Agent,
    /// Without a trailing slash.
    base: String,
}

impl Client {
    /// A client for `server` (`https://…`, or `http://…` for tests and trusted networks).
    /// `ca_pem`: trust only the certificates of this PEM bundle instead of the Mozilla roots.
    /// `timeout` bounds each whole request.
    pub fn new(
        server: &str,
        ca_pem: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let base = server.trim_end_matches('/');
        let https = base.starts_with("https://");
        if !https && !base.starts_with("http://") {
            return Err(ClientError::Config(format!(
                "server URL {server:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"
            )));
        }
        let mut builder = ureq::Agent::config_builder();
        if let Some(pem) = ca_pem {
            let mut certs = Vec::new();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(ClientError::Config(format!(
                            "the CA file is not valid PEM: {e}"
                        )))
                    }
                }
            }
            if certs.is_empty() {
                return Err(ClientError::Config("the CA file holds no certificate".into()));
            }
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build();
            builder = builder.tls_config(tls);
        }
        let config = builder
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(15))))
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(https)
            .user_agent(concat!("ward-agent/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client { agent: ureq::Agent::new_with_config(config), base: base.to_owned() })
    }

    /// The server URL, without a trailing slash.
    pub fn server(&self) -> &str {
        &self.base
    }

    /// `POST /api/v1/agent/enroll`: trades the one-time enrollment token for the agent's
    /// credential.
    pub fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse, ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Config(e.to_string()))?;
        self.post("enroll", None, None, &body)
    }

    /// `POST /api/v1/agent/report` with an already serialized `AgentReport` and its
    /// idempotency key.
    pub fn report(
        &self,
        credential: &SecretString,
        key: &str,
        body: &[u8],
    ) -> Result<ReportResponse, ClientError> {
        self.post("report", Some(credential), Some(key), body)
    }

    /// `POST /api/v1/agent/heartbeat`.
    pub fn heartbeat(
        &self,
        credential: &SecretString,
        heartbeat: &Heartbeat,
    ) -> Result<HeartbeatResponse, ClientError> {
        let body = serde_json::to_vec(heartbeat).map_err(|e| ClientError::Config(e.to_string()))?;
        self.post("heartbeat", Some(credential), None, &body)
    }

    fn post<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        credential: Option<&SecretString>,
        key: Option<&str>,
        body: &[u8],
    ) -> Result<T, ClientError> {
        let url = format!("{}/api/v1/agent/{endpoint}", self.base);
        let mut request = self.agent.post(&url).header("content-type", "application/json");
        if let Some(credential) = credential {
            request =
                request.header("authorization", format!("Bearer {}", credential.expose_secret()));
        }
        if let Some(key) = key {
            request = request.header(IDEMPOTENCY_HEADER, key);
        }
        let mut response = request
            .send(body)
            .map_err(|e| ClientError::Retry { reason: format!("POST {url}: {}", describe(&e)) })?;
        let status = response.status().as_u16();
        let text =
            response.body_mut().with_config().limit(MAX_ANSWER).read_to_string().map_err(|e| {
                ClientError::Retry {
                    reason: format!("POST {url}: reading the answer: {}", describe(&e)),
                }
            })?;
        classify(&url, status, &text)
    }
}

/// What an answer means; see the module documentation.
fn classify<T: DeserializeOwned>(url: &str, status: u16, text: &str) -> Result<T, ClientError> {
    if (200..300).contains(&status) {
        return serde_json::from_str(text).map_err(|e| ClientError::Retry {
            reason: format!("POST {url}: {status} with an answer the agent cannot read: {e}"),
        });
    }
    let (code, message) = match serde_json::from_str::<ErrorBody>(text) {
        Ok(body) => (body.error.code, body.error.message),
        Err(_) => (String::new(), shorten(text)),
    };
    match status {
        409 if code == "base-mismatch" => Err(ClientError::BaseMismatch { message }),
        401 | 403 => Err(ClientError::Refused { status, code, message }),
        // Too many requests and a proxy's timeout are worth retrying.
        408 | 429 => {
            Err(ClientError::Retry { reason: format!("POST {url}: {status} {code} {message}") })
        }
        400..=499 => Err(ClientError::Rejected { status, code, message }),
        _ => Err(ClientError::Retry { reason: format!("POST {url}: {status} {code} {message}") }),
    }
}

/// The first line of a non-JSON error answer, at most 200 characters.
fn shorten(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().take(200).collect()
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => format!("{io} (is the server running and reachable?)"),
        ureq::Error::Timeout(t) => format!("timeout ({t:?})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(status: u16, text: &str, expect: &str) {
        let got = match classify::<HeartbeatResponse>("u", status, text) {
            Ok(_) => "ok".to_owned(),
            Err(ClientError::BaseMismatch { .. }) => "base-mismatch".to_owned(),
            Err(ClientError::Refused { .. }) => "refused".to_owned(),
            Err(ClientError::Rejected { .. }) => "rejected".to_owned(),
            Err(ClientError::Retry { .. }) => "retry".to_owned(),
            Err(ClientError::Config(_)) => "config".to_owned(),
        };
        assert_eq!(got, expect, "{status} {text}");
    }

    #[test]
    fn answers_are_classified() {
        let ok = r#"{"host_id":1,"server_time":"2026-01-01T00:00:00Z","report_known":true}"#;
        let error = |code: &str| format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#);
        check(200, ok, "ok");
        check(201, ok, "ok");
        check(200, "not json", "retry");
        check(409, &error("base-mismatch"), "base-mismatch");
        check(409, &error("conflict"), "rejected");
        check(401, &error("unauthenticated"), "refused");
        check(403, &error("forbidden"), "refused");
        check(403, "<html>", "refused");
        check(400, &error("invalid-request"), "rejected");
        check(413, &error("too-large"), "rejected");
        check(429, "", "retry");
        check(500, &error("internal"), "retry");
        check(502, "<html>bad gateway</html>", "retry");
        check(503, &error("unavailable"), "retry");
    }

    #[test]
    fn only_http_urls() {
        assert!(Client::new("ftp://x", None, Duration::from_secs(1)).is_err());
        assert!(Client::new("ward.example", None, Duration::from_secs(1)).is_err());
        assert!(Client::new("https://ward.example/", None, Duration::from_secs(1)).is_ok());
        assert!(Client::new("https://x", Some(b"no pem here"), Duration::from_secs(1)).is_err());
    }
}
