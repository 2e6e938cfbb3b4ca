//! Fetching feed sources for `ward db update` (IO edge): local paths, `file://` URLs and
//! `http(s)://` URLs with conditional requests and checksums.
//!
//! HTTP downloads send `If-None-Match` / `If-Modified-Since` from the last good download, so
//! an unchanged feed transfers nothing (304). When the server publishes `<url>.sha256`, the
//! body must match it. Local files are hashed and count as unchanged when the hash is the same.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::source;
use super::FeedInfo;
use crate::feed::{self, archive::ARCHIVE_FIELD, Parsed};

/// The largest download ward accepts (osv.dev's largest all.zip is a fraction of it).
pub const MAX_DOWNLOAD: u64 = 4 << 30;
/// Time allowed for one whole download.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a feed could not be fetched; the feed keeps its last good data.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error("{url}: server answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: checksum mismatch: downloaded {actual}, {url}.sha256 says {expected}")]
    Checksum { url: String, expected: String, actual: String },
    #[error("{source_name}: {message}")]
    Local { source_name: String, message: String },
    #[error("{source_name}: corrupt download: {message}")]
    Corrupt { source_name: String, message: String },
    #[error("{source_name}: no advisory in it ({errors} errors, first: {first})")]
    Empty { source_name: String, errors: usize, first: String },
}

/// The outcome of fetching one source.
#[derive(Debug)]
pub enum Fetched {
    /// Same as the last good data (HTTP 304, or the same checksum).
    Unchanged,
    /// New data, parsed.
    New {
        parsed: Parsed,
        formats: Vec<String>,
        etag: Option<String>,
        last_modified: Option<String>,
        sha256: Option<String>,
    },
}

/// Where a source string points.
#[derive(Debug, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    Http(String),
}

/// Classifies a source: `http(s)://` URLs, `file://` URLs and plain paths.
pub fn locate(source: &str) -> Location {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Location::Http(source.to_string())
    } else if let Some(path) = source.strip_prefix("file://") {
        Location::Local(PathBuf::from(percent_decode(path)))
    } else {
        Location::Local(PathBuf::from(source))
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Fetches and parses a source; `previous` is what the index knows about it.
pub fn fetch(source_text: &str, previous: Option<&FeedInfo>) -> Result<Fetched, FetchError> {
    match locate(source_text) {
        Location::Local(path) => fetch_local(source_text, &path, previous),
        Location::Http(url) => fetch_http(&url, previous),
    }
}

fn fetch_local(
    source_text: &str,
    path: &Path,
    previous: Option<&FeedInfo>,
) -> Result<Fetched, FetchError> {
    let local =
        |message: String| FetchError::Local { source_name: source_text.to_string(), message };
    let files = source::list(path).map_err(|e| local(e.to_string()))?;
    let mut sha256 = None;
    if path.is_file() {
        let bytes = std::fs::read(path).map_err(|e| local(e.to_string()))?;
        let hash = sha256_hex(&bytes);
        if previous
            .is_some_and(|p| p.last_error.is_none() && p.sha256.as_deref() == Some(hash.as_str()))
        {
            return Ok(Fetched::Unchanged);
        }
        sha256 = Some(hash);
    }
    let parsed = source::read(&files, &mut |_, _| {});
    let mut formats: Vec<String> = files.files.iter().map(|(_, f)| f.name().to_string()).collect();
    formats.sort();
    formats.dedup();
    accept(source_text, parsed, formats, None, None, sha256)
}

/// Rejects corrupt or empty results, so the feed keeps its last good data.
fn accept(
    source_name: &str,
    parsed: Parsed,
    formats: Vec<String>,
    etag: Option<String>,
    last_modified: Option<String>,
    sha256: Option<String>,
) -> Result<Fetched, FetchError> {
    if let Some(e) = parsed.errors.iter().find(|e| e.field == ARCHIVE_FIELD) {
        return Err(FetchError::Corrupt {
            source_name: source_name.to_string(),
            message: e.to_string(),
        });
    }
    if parsed.records.is_empty() && parsed.kev.is_empty() && parsed.epss.is_empty() {
        return Err(FetchError::Empty {
            source_name: source_name.to_string(),
            errors: parsed.errors.len(),
            first: parsed.errors.first().map_or_else(|| "none".to_string(), ToString::to_string),
        });
    }
    Ok(Fetched::New { parsed, formats, etag, last_modified, sha256 })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(DOWNLOAD_TIMEOUT))
        .http_status_as_error(false)
        .user_agent(concat!("ward/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn fetch_http(url: &str, previous: Option<&FeedInfo>) -> Result<Fetched, FetchError> {
    let http = |message: String| FetchError::Http { url: url.to_string(), message };
    let agent = agent();
    let mut request = agent.get(url);
    // Validators only from a good download: after a failure, fetch everything again.
    if let Some(p) = previous.filter(|p| p.last_error.is_none() && p.imported_at > 0) {
        if let Some(etag) = &p.etag {
            request = request.header("If-None-Match", etag);
        }
        if let Some(lm) = &p.last_modified {
            request = request.header("If-Modified-Since", lm);
        }
    }
    let mut response = request.call().map_err(|e| http(e.to_string()))?;
    let status = response.status().as_u16();
    if status == 304 {
        return Ok(Fetched::Unchanged);
    }
    if status != 200 {
        return Err(FetchError::Status { url: url.to_string(), status });
    }
    let header =
        |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let etag = header("etag");
    let last_modified = header("last-modified");
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_DOWNLOAD)
        .read_to_vec()
        .map_err(|e| http(format!("reading the body: {e}")))?;
    let actual = sha256_hex(&body);
    if let Some(expected) = published_checksum(&agent, url)? {
        if !expected.eq_ignore_ascii_case(&actual) {
            return Err(FetchError::Checksum { url: url.to_string(), expected, actual });
        }
    }
    let name = url.split(['?', '#']).next().unwrap_or(url);
    let format = feed::detect(name, &body)
        .ok_or_else(|| http("not a feed format ward recognizes".to_string()))?;
    let parsed = feed::parse(format, name, &body);
    accept(url, parsed, vec![format.name().to_string()], etag, last_modified, Some(actual))
}

/// `<url>.sha256` when the server has one (first word of the body); `None` on 404.
fn published_checksum(agent: &ureq::Agent, url: &str) -> Result<Option<String>, FetchError> {
    let sum_url = format!("{url}.sha256");
    let http = |message: String| FetchError::Http { url: sum_url.clone(), message };
    let mut response = agent.get(&sum_url).call().map_err(|e| http(e.to_string()))?;
    match response.status().as_u16() {
        200 => {
            let text = response
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_string()
                .map_err(|e| http(e.to_string()))?;
            let sum = text.split_whitespace().next().unwrap_or("").to_string();
            if sum.len() != 64 || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(http(format!("not a SHA-256 checksum: {sum:?}")));
            }
            Ok(Some(sum))
        }
        404 | 403 => Ok(None),
        status => Err(FetchError::Status { url: sum_url.clone(), status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(locate("https://x/all.zip"), Location::Http("https://x/all.zip".into()));
        assert_eq!(locate("file:///tmp/a%20b.zip"), Location::Local(PathBuf::from("/tmp/a b.zip")));
        assert_eq!(locate("/srv/feeds"), Location::Local(PathBuf::from("/srv/feeds")));
    }
}
