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

/// Bytes of a response body ward reads (the rest is not downloaded).
pub const BODY_LIMIT: u64 = 4 * 1024 * 1024;

/// An HTTP agent: rustls for HTTPS, a cookie jar shared by its requests, `timeout` for the
/// whole of each request, and `max_redirects` followed (0: a redirect is the response).
pub fn agent(timeout: Duration, max_redirects: u32) -> ureq::Agent {
    let config = ureq::Agent::config_builder()
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
        })
    }

    pub fn run(&self, timeout: Duration) -> CheckResult {
        let agent = agent(timeout, self.max_redirects);
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
        let state = if failures.is_empty() { self.time.evaluate(elapsed) } else { State::Critical };
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
        r
    }
}
