//! Store URLs: which backend a URL names, and how to show one without its password.

use std::path::PathBuf;

use crate::StoreError;

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Sqlite(PathBuf),
    /// The URL as given (passed to the PostgreSQL driver).
    Postgres(String),
}

impl Location {
    pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::UnsupportedUrl { url: mask_url(url) });
            }
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        if url.is_empty() || url.contains("://") {
            return Err(StoreError::UnsupportedUrl { url: mask_url(url) });
        }
        Ok(Location::Sqlite(PathBuf::from(url)))
    }
}

/// `url` with the password of its user-info part, and any `password=` query parameter,
/// replaced by `***`. Text without a scheme is returned unchanged.
pub(crate) fn mask_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest_start = scheme_end + 3;
    let rest = &url[rest_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let mut masked = String::with_capacity(url.len());
    masked.push_str(&url[..rest_start]);
    match authority.rfind('@') {
        Some(at) => {
            let user_info = &authority[..at];
            match user_info.find(':') {
                Some(colon) => {
                    masked.push_str(&user_info[..colon]);
                    masked.push_str(":***");
                }
                None => masked.push_str(user_info),
            }
            masked.push_str(&authority[at..]);
        }
        None => masked.push_str(authority),
    }
    let tail = &rest[authority_end..];
    match tail.find('?') {
        Some(query_start) => {
            masked.push_str(&tail[..=query_start]);
            let query = &tail[query_start + 1..];
            let parts: Vec<String> = query
                .split('&')
                .map(|part| match part.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                    _ => part.to_owned(),
                })
                .collect();
            masked.push_str(&parts.join("&"));
        }
        None => masked.push_str(tail),
    }
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_picks_the_backend() {
        let cases: &[(&str, Option<Location>)] = &[
            (
                "sqlite:///var/lib/ward/ward.db",
                Some(Location::Sqlite("/var/lib/ward/ward.db".into())),
            ),
            ("sqlite://ward.db", Some(Location::Sqlite("ward.db".into()))),
            ("/tmp/ward.db", Some(Location::Sqlite("/tmp/ward.db".into()))),
            ("ward.db", Some(Location::Sqlite("ward.db".into()))),
            ("postgres://u@h/db", Some(Location::Postgres("postgres://u@h/db".into()))),
            ("postgresql://h/db", Some(Location::Postgres("postgresql://h/db".into()))),
            ("mysql://h/db", None),
            ("sqlite://", None),
            ("", None),
        ];
        for (url, expect) in cases {
            let got = Location::parse(url).ok();
            assert_eq!(&got, expect, "{url}");
        }
    }

    #[test]
    fn mask_url_hides_passwords() {
        let cases = [
            ("postgres://ward:s3cret@db:5432/ward", "postgres://ward:***@db:5432/ward"),
            (
                "postgres://ward:p%40ss@db/ward?sslmode=require",
                "postgres://ward:***@db/ward?sslmode=require",
            ),
            ("postgres://ward@db/ward", "postgres://ward@db/ward"),
            ("postgres://db/ward?user=x&password=s3cret", "postgres://db/ward?user=x&password=***"),
            ("postgres://a:b:c@db", "postgres://a:***@db"),
            ("/plain/path.db", "/plain/path.db"),
        ];
        for (url, expect) in cases {
            assert_eq!(mask_url(url), expect, "{url}");
        }
    }

    #[test]
    fn unsupported_url_error_is_masked() {
        let err = Location::parse("mysql://root:hunter2@db/x").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(err.contains("mysql://root:***@db/x"), "{err}");
    }
}
