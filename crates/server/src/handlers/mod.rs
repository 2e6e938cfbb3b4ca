//! The route handlers, by area. Each runs its store work on the blocking pool
//! ([`AppState::db`]); permissions were checked by the middleware before it runs.

pub mod admin;
pub mod agent;
pub mod fleet;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use ward_api::Page;
use ward_store::{HostId, Store};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// A JSON request body whose rejection is an [`ApiError`] (a JSON error body naming the field).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Body(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let code =
        if status == StatusCode::PAYLOAD_TOO_LARGE { "too-large" } else { "invalid-request" };
    ApiError::new(status, code, rejection.body_text())
}

/// Query parameters whose rejection is an [`ApiError`].
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Params(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::invalid(rejection.body_text())
}

/// The page size asked for: default 100, at most 1,000.
pub fn limit(asked: Option<u32>) -> u32 {
    asked.unwrap_or(100).clamp(1, 1000)
}

/// A numeric cursor or id from the URL.
pub fn number(what: &str, text: &str) -> ApiResult<i64> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::invalid(format!("{what} {text:?} is not a non-negative integer")))
}

/// An RFC 3339 time from the URL.
pub fn time(what: &str, text: &str) -> ApiResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| {
        ApiError::invalid(format!(
            "{what} {text:?} is not an RFC 3339 time (2026-11-21T10:00:00Z): {e}"
        ))
    })
}

/// A host id from the path that names a stored host.
pub fn existing_host(store: &dyn Store, text: &str) -> ApiResult<HostId> {
    let id = HostId(number("host id", text)?);
    match store.host(id)? {
        Some(_) => Ok(id),
        None => Err(ApiError::not_found(format!("no host {id}"))),
    }
}

/// The severity levels at or above `min` (lowest first), for filters.
pub fn levels_from(min: &str) -> ApiResult<Vec<String>> {
    const LEVELS: [&str; 6] = ["unknown", "none", "low", "medium", "high", "critical"];
    let Some(at) = LEVELS.iter().position(|l| *l == min) else {
        return Err(ApiError::invalid(format!(
            "severity {min:?}: expected one of {}",
            LEVELS.join(", ")
        )));
    };
    Ok(LEVELS[at..].iter().map(|l| (*l).to_owned()).collect())
}

/// Appends a state change to the audit log. The action already happened: a failure here (a
/// damaged log refuses appends) is an error response and a loud log line.
pub fn audit(
    store: &dyn Store,
    caller: &Caller,
    action: &str,
    target: &str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    store
        .append_audit(crate::state::now(), &caller.actor(), action, target, detail)
        .map(|_| ())
        .map_err(|e| ApiError::internal("appending to the audit log", e))
}

/// A page from `limit + 1` items: the extra one only says there is a next page.
pub fn page_of<T>(mut items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> String) -> Page<T> {
    let more = items.len() > limit;
    items.truncate(limit);
    let next = if more { items.last().map(cursor) } else { None };
    Page { items, next }
}
