//! The pure parts of jobs and advisory fingerprints: checks and the JSON text both backends
//! store.

use crate::{Backend, StoreError};

/// A job kind is `[a-z0-9-]+`.
pub(crate) fn check_kind(backend: Backend, kind: &str) -> Result<(), StoreError> {
    if kind.is_empty()
        || !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(StoreError::InvalidInput {
            backend,
            operation: "enqueue job",
            message: format!("job kind {kind:?} is not [a-z0-9-]+"),
        });
    }
    Ok(())
}

/// A JSON value as stored (compact text).
pub(crate) fn json_text(value: &serde_json::Value) -> String {
    value.to_string()
}

pub(crate) fn parse_json(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        backend,
        operation,
        message: format!("JSON {text:?}: {error}"),
    })
}

pub(crate) fn parse_state(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<crate::JobState, StoreError> {
    crate::JobState::parse(text).ok_or_else(|| StoreError::Corrupt {
        backend,
        operation,
        message: format!("job state {text:?}"),
    })
}

/// An advisory's keys as stored: a JSON array of `[ecosystem, name]` pairs.
pub(crate) fn keys_text(keys: &[(String, String)]) -> String {
    serde_json::to_string(keys).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn parse_keys(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<Vec<(String, String)>, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        backend,
        operation,
        message: format!("advisory keys {text:?}: {error}"),
    })
}

/// Severity counts name a finding without a severity level like this.
pub(crate) const NO_SEVERITY: &str = "unknown";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for (kind, ok) in [("rematch", true), ("notify-2", true), ("", false), ("Re", false)] {
            assert_eq!(check_kind(Backend::Sqlite, kind).is_ok(), ok, "{kind}");
        }
    }

    #[test]
    fn keys_round_trip() {
        let keys = vec![("Debian:12".to_owned(), "openssl".to_owned())];
        assert_eq!(parse_keys(Backend::Sqlite, "test", &keys_text(&keys)).unwrap(), keys);
        assert!(parse_keys(Backend::Sqlite, "test", "{").is_err());
    }
}
