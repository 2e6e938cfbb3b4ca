//! `http`: one HTTP(S) request with assertions on status, body (substring, regex), a header,
//! redirects and response time. Also the HTTP client the user-story tests share.

use std::time::{Duration, Instant};

use regex::Regex;
use ureq::ResponseExt;

use super::{critical, secs, BuiltinError, Params, Reader};
use crate::perfdata::PerfDatum;
use crate::result::CheckResult;
use crate::state::State;
use crate::threshold::Thresholds;
use crate::time::Timestamp;

/// Bytes of a response body ward reads (the rest is not downloaded).
pub const BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// An HTTP agent: rustls for HTTPS, a cookie jar shared by its requests, `timeout` for the
/// whole of each request, and `max_redirects` followed (0: a redirect is the response).
pub fn agent(timeout: Duration, max_redirects: u32) -> ureq::Agent {
    agent_with(timeout, max_redirects, None)
}

/// [`agent`] trusting only the certificates of `ca_pem` (a PEM bundle) when given.
pub fn agent_with(timeout: Duration, max_redirects: u32, ca_pem: Option<&[u8]>) -> ureq::Agent {
    let mut builder = ureq::Agent::config_builder();
    if let Some(pem) = ca_pem {
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
            .build();
        builder = builder.tls_config(tls);
    }
    let config = builder
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(max_redirects)
        .max_redirects_will_error(false)
        .save_redirect_history(true)
        .user_agent(concat!("ward/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::new_with_config(config)
}

/// A response as the checks look at it.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: u16,
    pub reason: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub size: usize,
    pub redirects: usize,
    pub final_url: String,
    pub elapsed: Duration,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends one request (`body` as a form when `form` is non-empty) and reads the response.
pub fn fetch(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    form: &[(String, String)],
    body: Option<&str>,
) -> Result<Fetched, String> {
    let started = Instant::now();
    let request = http_request(agent, method, url, headers)?;
    let response = match request {
        Req::Bodiless(r) => r.call(),
        Req::WithBody(r) => {
            if !form.is_empty() {
                r.send_form(form.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            } else {
                r.send(body.unwrap_or(""))
            }
        }
    };
    let mut response = response.map_err(|e| describe(&e))?;
    let redirects = response.get_redirect_history().map_or(0, |h| h.len().saturating_sub(1));
    let final_url = response.get_uri().to_string();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let version = format!("{:?}", response.version());
    let bytes = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
        .map_err(|e| format!("reading the body: {}", describe(&e)))?;
    Ok(Fetched {
        status: status.as_u16(),
        reason: status.canonical_reason().unwrap_or("").to_string(),
        version,
        headers,
        size: bytes.len(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
        redirects,
        final_url,
        elapsed: started.elapsed(),
    })
}

enum Req {
    Bodiless(ureq::RequestBuilder<ureq::typestate::WithoutBody>),
    WithBody(ureq::RequestBuilder<ureq::typestate::WithBody>),
}

fn http_request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    headers: &[(String, String)],
) -> Result<Req, String> {
    let mut req = match method.to_ascii_uppercase().as_str() {
        "GET" => Req::Bodiless(agent.get(url)),
        "HEAD" => Req::Bodiless(agent.head(url)),
        "DELETE" => Req::Bodiless(agent.delete(url)),
        "OPTIONS" => Req::Bodiless(agent.options(url)),
        "POST" => Req::WithBody(agent.post(url)),
        "PUT" => Req::WithBody(agent.put(url)),
        "PATCH" => Req::WithBody(agent.patch(url)),
        other => return Err(format!("unsupported method {other:?}")),
    };
    for (k, v) in headers {
        req = match req {
            Req::Bodiless(r) => Req::Bodiless(r.header(k.as_str(), v.as_str())),
            Req::WithBody(r) => Req::WithBody(r.header(k.as_str(), v.as_str())),
        };
    }
    Ok(req)
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timeout ({t:?})"),
        other => other.to_string(),
    }
}

/// One HTTP(S) request and its assertions. Failed assertions are CRITICAL; the response
/// time is checked against `warning`/`critical` ranges in seconds.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    pub url: String,
    pub method: String,
    /// Accepted status codes; empty means any below 400.
    pub status: Vec<u16>,
    pub contains: Option<String>,
    pub regex: Option<Regex>,
    /// `Name: text` — the header must be present and contain `text`.
    pub header: Option<(String, String)>,
    pub max_redirects: u32,
    pub body: Option<String>,
    pub time: Thresholds,
    /// A PEM file of CA certificates to trust instead of Mozilla's roots.
    pub ca_file: Option<String>,
    /// HTTPS: days the certificate must still be valid (`Thresholds` on days left, as
    /// `W:` and `C:` ranges).
    pub cert_days: Thresholds,
}

impl HttpCheck {
    const PARAMS: &'static [&'static str] = &[
        "url",
        "method",
        "status",
        "contains",
        "regex",
        "header",
        "max_redirects",
        "body",
        "warning",
        "critical",
        "ca_file",
        "cert_warning_days",
        "cert_critical_days",
    ];

    pub fn from_params(params: &Params) -> Result<HttpCheck, BuiltinError> {
        let r = Reader::new("http", params, Self::PARAMS)?;
        let url = r.req("url")?.to_string();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(r.invalid("url", format!("{url:?} must start with http:// or https://")));
        }
        let status = match r.opt("status") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|s| {
                    s.trim().parse::<u16>().ok().filter(|c| (100..600).contains(c)).ok_or_else(
                        || r.invalid("status", format!("{s:?} is not an HTTP status code")),
                    )
                })
                .collect::<Result<_, _>>()?,
        };
        let regex = r
            .opt("regex")
            .map(|re| Regex::new(re).map_err(|e| r.invalid("regex", e.to_string())))
            .transpose()?;
        let header = r
            .opt("header")
            .map(|h| {
                h.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| r.invalid("header", format!("{h:?}: expected `Name: text`")))
            })
            .transpose()?;
        Ok(HttpCheck {
            url,
            method: r.opt("method").unwrap_or("GET").to_ascii_uppercase(),
            status,
            contains: r.opt("contains").map(str::to_string),
            regex,
            header,
            max_redirects: r.parse("max_redirects")?.unwrap_or(0),
            body: r.opt("body").map(str::to_string),
            time: r.thresholds(None, None)?,
            ca_file: r.opt("ca_file").map(str::to_string),
            cert_days: {
                let w: Option<u32> = r.parse("cert_warning_days")?;
                let c: Option<u32> = r.parse("cert_critical_days")?;
                let w = w.map(|d| format!("{d}:"));
                let c = c.map(|d| format!("{d}:"));
                Thresholds::parse(w.as_deref(), c.as_deref())
                    .map_err(|source| BuiltinError::Range { kind: "http", source })?
            },
        })
    }

    /// Days left on the server's certificate, as a result of its own (`None` when not asked).
    fn certificate(&self, timeout: Duration, ca: Option<&[u8]>) -> Option<CheckResult> {
        if self.cert_days.warning.is_none() && self.cert_days.critical.is_none() {
            return None;
        }
        let uri: ureq::http::Uri = match self.url.parse() {
            Ok(u) => u,
            Err(e) => return Some(critical(format!("HTTP CRITICAL - {}: {e}", self.url))),
        };
        if uri.scheme_str() != Some("https") {
            return Some(CheckResult::new(
                State::Unknown,
                format!("HTTP UNKNOWN - certificate days asked for a non-HTTPS URL {}", self.url),
            ));
        }
        let host = uri.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
        let port = uri.port_u16().unwrap_or(443);
        let leaf = super::tls::root_store(ca)
            .and_then(|roots| super::tls::peer_certificate(host, port, roots, timeout));
        let leaf = match leaf {
            Ok(l) => l,
            Err(e) => return Some(critical(format!("HTTP CRITICAL - certificate: {e}"))),
        };
        let Some(expiry) = super::tls::not_after(&leaf) else {
            return Some(critical(
                "HTTP CRITICAL - the certificate's expiry cannot be read".into(),
            ));
        };
        let left_ms = expiry.millis() - Timestamp::now().millis();
        let days = left_ms.div_euclid(86_400_000);
        let state = self.cert_days.evaluate(days as f64);
        let mut r = CheckResult::new(
            state,
            format!("certificate for {host} expires in {days} days ({expiry})"),
        );
        let mut p = PerfDatum::new("cert_days", days as f64, "");
        p.warn = self.cert_days.warning.as_ref().map(|t| t.to_string());
        p.crit = self.cert_days.critical.as_ref().map(|t| t.to_string());
        r.perfdata.push(p);
        Some(r)
    }

    pub fn run(&self, timeout: Duration) -> CheckResult {
        let ca = match self.ca_file.as_deref().map(std::fs::read).transpose() {
            Ok(ca) => ca,
            Err(e) => {
                let file = self.ca_file.as_deref().unwrap_or("");
                return CheckResult::new(
                    State::Unknown,
                    format!("HTTP UNKNOWN - ca_file {file}: {e}"),
                );
            }
        };
        let cert = self.certificate(timeout, ca.as_deref());
        if let Some(c) = cert.as_ref().filter(|c| c.perfdata.is_empty()) {
            return c.clone();
        }
        let agent = agent_with(timeout, self.max_redirects, ca.as_deref());
        let f = match fetch(&agent, &self.method, &self.url, &[], &[], self.body.as_deref()) {
            Ok(f) => f,
            Err(e) => return critical(format!("HTTP CRITICAL - {}: {e}", self.url)),
        };
        let mut failures = Vec::new();
        let status_ok =
            if self.status.is_empty() { f.status < 400 } else { self.status.contains(&f.status) };
        if !status_ok {
            failures.push(format!("unexpected status {} {}", f.status, f.reason));
        }
        if let Some(text) = &self.contains {
            if !f.body.contains(text.as_str()) {
                failures.push(format!("string {text:?} not found"));
            }
        }
        if let Some(re) = &self.regex {
            if !re.is_match(&f.body) {
                failures.push(format!("pattern {:?} not found", re.as_str()));
            }
        }
        if let Some((name, text)) = &self.header {
            match f.header(name) {
                None => failures.push(format!("header {name:?} missing")),
                Some(v) if !v.contains(text.as_str()) => {
                    failures.push(format!("header {name}: {v:?} does not contain {text:?}"))
                }
                Some(_) => {}
            }
        }
        let elapsed = secs(f.elapsed);
        let mut state =
            if failures.is_empty() { self.time.evaluate(elapsed) } else { State::Critical };
        if let Some(c) = &cert {
            state = state.worst(c.state);
            if !c.state.is_ok() {
                failures.push(c.summary.clone());
            }
        }
        let redirects = match f.redirects {
            0 => String::new(),
            1 => format!(", 1 redirect to {}", f.final_url),
            n => format!(", {n} redirects to {}", f.final_url),
        };
        let problems =
            if failures.is_empty() { String::new() } else { format!(" - {}", failures.join("; ")) };
        let mut r = CheckResult::new(
            state,
            format!(
                "HTTP {state}: {} {} {} - {} bytes in {elapsed:.3} second response time{redirects}{problems}",
                f.version, f.status, f.reason, f.size
            ),
        );
        let mut time = PerfDatum::new("time", elapsed, "s");
        time.warn = self.time.warning.as_ref().map(|t| t.to_string());
        time.crit = self.time.critical.as_ref().map(|t| t.to_string());
        time.min = Some(0.0);
        let mut size = PerfDatum::new("size", f.size as f64, "B");
        size.min = Some(0.0);
        r.perfdata = vec![time, size];
        if let Some(c) = cert {
            if c.state.is_ok() {
                r.long_output = c.summary;
            }
            r.perfdata.extend(c.perfdata);
        }
        r
    }
}
