//! The pure part of the security-state methods (users, tokens, lockout, audit): the checks and
//! encodings both backends share, so they only do the IO.

use ward_auth::audit::{AuditEntry, AuditEntryRef};
use ward_auth::lockout::{State, Subject};
use ward_auth::role::Role;
use ward_auth::scope::Scope;
use ward_auth::token::{StoredToken, TokenKind};

use crate::{Backend, StoreError, TokenOwner};

/// A lockout subject as stored (`lockout.subject`).
pub(crate) fn subject_name(subject: Subject) -> &'static str {
    match subject {
        Subject::Account => "account",
        Subject::Address => "address",
    }
}

pub(crate) fn check_user_name(
    backend: Backend,
    operation: &'static str,
    name: &str,
) -> Result<(), StoreError> {
    if name.is_empty() {
        return Err(StoreError::InvalidInput {
            backend,
            operation,
            message: "the user name is empty".to_owned(),
        });
    }
    Ok(())
}

pub(crate) fn parse_role(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<Role, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        backend,
        operation,
        message: format!("role {text:?}"),
    })
}

pub(crate) fn parse_kind(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<TokenKind, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        backend,
        operation,
        message: format!("token kind {text:?}"),
    })
}

/// The checks every backend makes before storing a token: the owner fits the kind, only API
/// tokens carry scopes. Returns the scopes as a set, by name.
pub(crate) fn check_token(
    backend: Backend,
    token: &StoredToken,
    owner: TokenOwner,
    scopes: &[Scope],
) -> Result<Vec<&'static str>, StoreError> {
    const OPERATION: &str = "add token";
    let invalid =
        |message: String| StoreError::InvalidInput { backend, operation: OPERATION, message };
    if token.id.is_empty() || token.hash.is_empty() {
        return Err(invalid("the token id or hash is empty".to_owned()));
    }
    let fits = matches!(
        (token.kind, owner),
        (TokenKind::Api, TokenOwner::User(_))
            | (TokenKind::Agent, TokenOwner::Host(_))
            | (TokenKind::Enrollment, TokenOwner::Unowned)
    );
    if !fits {
        return Err(invalid(format!(
            "a {} token cannot be owned by {}",
            token.kind,
            match owner {
                TokenOwner::User(user) => format!("user {user}"),
                TokenOwner::Host(host) => format!("host {host}"),
                TokenOwner::Unowned => "nobody".to_owned(),
            }
        )));
    }
    if token.kind != TokenKind::Api && !scopes.is_empty() {
        return Err(invalid(format!("a {} token carries no scopes", token.kind)));
    }
    let mut set = scopes.to_vec();
    set.sort_unstable();
    set.dedup();
    Ok(set.into_iter().map(Scope::as_str).collect())
}

/// Stored scope names back to scopes, as a set.
pub(crate) fn parse_scopes<'a>(
    backend: Backend,
    operation: &'static str,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Scope>, StoreError> {
    let mut scopes = names
        .into_iter()
        .map(|name| {
            name.parse::<Scope>().map_err(|_| StoreError::Corrupt {
                backend,
                operation,
                message: format!("scope {name:?}"),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    scopes.sort_unstable();
    scopes.dedup();
    Ok(scopes)
}

/// SQLite keeps scopes as names joined with spaces (no scope name contains one).
pub(crate) fn split_scopes(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|name| !name.is_empty())
}

/// The owner from the stored `(user_id, host_id)` pair.
pub(crate) fn owner(user: Option<i64>, host: Option<i64>) -> TokenOwner {
    match (user, host) {
        (Some(user), _) => TokenOwner::User(crate::UserId(user)),
        (None, Some(host)) => TokenOwner::Host(crate::HostId(host)),
        (None, None) => TokenOwner::Unowned,
    }
}

/// The stored `(user_id, host_id)` pair of an owner.
pub(crate) fn owner_ids(owner: TokenOwner) -> (Option<i64>, Option<i64>) {
    match owner {
        TokenOwner::User(user) => (Some(user.0), None),
        TokenOwner::Host(host) => (None, Some(host.0)),
        TokenOwner::Unowned => (None, None),
    }
}

pub(crate) fn lockout_json(
    backend: Backend,
    operation: &'static str,
    state: &State,
) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|error| StoreError::InvalidInput {
        backend,
        operation,
        message: format!("lockout state: {error}"),
    })
}

pub(crate) fn parse_lockout(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<State, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        backend,
        operation,
        message: format!("lockout state: {error}"),
    })
}

/// `detail` as stored: JSON text, kept as written (its canonical form is what is hashed, so
/// the stored text must parse back to the same value).
pub(crate) fn detail_json(detail: &serde_json::Value) -> String {
    detail.to_string()
}

pub(crate) fn parse_detail(
    backend: Backend,
    operation: &'static str,
    text: &str,
) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|error| StoreError::Corrupt {
        backend,
        operation,
        message: format!("audit detail: {error}"),
    })
}

/// A seq as stored (both databases keep signed 64-bit integers).
pub(crate) fn stored_seq(
    backend: Backend,
    operation: &'static str,
    seq: u64,
) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::InvalidInput {
        backend,
        operation,
        message: format!("audit seq {seq} is out of range"),
    })
}

pub(crate) fn parse_seq(
    backend: Backend,
    operation: &'static str,
    seq: i64,
) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt {
        backend,
        operation,
        message: format!("audit seq {seq}"),
    })
}

/// Before appending: the log must end at its anchor. A missing or rewritten tail would
/// otherwise be covered by the new entry (its seq reused, the anchor moved onto it).
pub(crate) fn check_audit_tail(
    backend: Backend,
    last: Option<&AuditEntry>,
    anchor: Option<&AuditEntryRef>,
) -> Result<(), StoreError> {
    let last_ref = last.map(AuditEntry::to_ref);
    if last_ref.as_ref() == anchor {
        return Ok(());
    }
    let describe = |entry: Option<&AuditEntryRef>| match entry {
        Some(entry) => format!("seq {} (hash {})", entry.seq, entry.hash),
        None => "nothing".to_owned(),
    };
    Err(StoreError::Corrupt {
        backend,
        operation: "append audit entry",
        message: format!(
            "the audit log ends at {} but its anchor is {}; the log was cut or rewritten — \
             check it with ward_auth::audit::verify_with_anchor before appending",
            describe(last_ref.as_ref()),
            describe(anchor)
        ),
    })
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use ward_auth::audit::append;

    use super::*;
    use crate::{HostId, UserId};

    fn stored(kind: TokenKind) -> StoredToken {
        StoredToken { kind, id: "0123456789ab".into(), hash: "ff".repeat(32) }
    }

    /// Checks `(kind, owner, scopes)` and returns the stored scope names or `None` if refused.
    fn check(kind: TokenKind, owner: TokenOwner, scopes: &[Scope], expect: Option<&[&str]>) {
        let got = check_token(Backend::Sqlite, &stored(kind), owner, scopes).ok();
        assert_eq!(got.as_deref(), expect, "{kind:?} {owner:?} {scopes:?}");
    }

    #[test]
    fn token_owner_must_fit_the_kind() {
        let (user, host) = (TokenOwner::User(UserId(1)), TokenOwner::Host(HostId(1)));
        check(TokenKind::Api, user, &[], Some(&[]));
        check(
            TokenKind::Api,
            user,
            &[Scope::Read, Scope::Admin, Scope::Read],
            Some(&["read", "admin"]),
        );
        check(TokenKind::Api, host, &[], None);
        check(TokenKind::Api, TokenOwner::Unowned, &[], None);
        check(TokenKind::Agent, host, &[], Some(&[]));
        check(TokenKind::Agent, host, &[Scope::Read], None);
        check(TokenKind::Agent, user, &[], None);
        check(TokenKind::Enrollment, TokenOwner::Unowned, &[], Some(&[]));
        check(TokenKind::Enrollment, TokenOwner::Unowned, &[Scope::Admin], None);
        check(TokenKind::Enrollment, host, &[], None);
    }

    #[test]
    fn owners_and_scopes_round_trip() {
        for owner in [TokenOwner::User(UserId(3)), TokenOwner::Host(HostId(4)), TokenOwner::Unowned]
        {
            let (user, host) = owner_ids(owner);
            assert_eq!(super::owner(user, host), owner);
        }
        let scopes = parse_scopes(Backend::Sqlite, "test", split_scopes("operate read ")).unwrap();
        assert_eq!(scopes, [Scope::Read, Scope::Operate]);
        assert!(parse_scopes(Backend::Sqlite, "test", ["root"]).is_err());
    }

    #[test]
    fn audit_tail_must_be_the_anchor() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let first = append(None, at, "alice", "user.create", "bob", json!({}));
        let second = append(Some(&first), at, "alice", "user.create", "carol", json!({}));
        assert!(check_audit_tail(Backend::Sqlite, None, None).is_ok());
        assert!(check_audit_tail(Backend::Sqlite, Some(&second), Some(&second.to_ref())).is_ok());
        let error =
            check_audit_tail(Backend::Sqlite, Some(&first), Some(&second.to_ref())).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt { .. }), "{error}");
        assert!(error.to_string().contains("seq 1"), "{error}");
        assert!(check_audit_tail(Backend::Sqlite, None, Some(&first.to_ref())).is_err());
        assert!(check_audit_tail(Backend::Sqlite, Some(&first), None).is_err());
    }

    #[test]
    fn details_round_trip_to_the_same_hash() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        for detail in [json!({"b": 1.5, "a": [1, "x"], "n": null}), json!(1e2), json!("é\n")] {
            let entry = append(None, at, "a", "b", "c", detail.clone());
            let back = parse_detail(Backend::Sqlite, "test", &detail_json(&detail)).unwrap();
            assert_eq!(AuditEntry { detail: back, ..entry.clone() }.compute_hash(), entry.hash);
        }
    }
}
