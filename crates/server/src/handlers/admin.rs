//! Sessions, tokens, users, enrollment tokens, agent revocation, the audit log, health and the
//! OpenAPI document.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::TimeDelta;
use ward_api::view;
use ward_api::Page;
use ward_auth::lockout::{Decision, LockReason, Subject};
use ward_auth::password;
use ward_auth::role::{Permission, Role};
use ward_auth::scope::Scope;
use ward_auth::token::{Token, TokenKind};
use ward_auth::{OsRng, SecretString};
use ward_store::{HostId, TokenOwner, UserRecord};

use super::{audit, existing_host, limit, number, page_of, Body, Params};
use crate::auth::{permission_of, role_scopes, Caller};
use crate::error::{ApiError, ApiResult};
use crate::state::{index_version, now, AppState};

pub async fn health(State(state): State<AppState>) -> ApiResult<Json<view::Health>> {
    let database = match state.store().backend() {
        ward_store::Backend::Sqlite => "sqlite",
        ward_store::Backend::Postgres => "postgres",
    };
    let data_dir = state.data_dir().clone();
    let index = tokio::task::spawn_blocking(move || index_version(&data_dir))
        .await
        .map_err(|e| ApiError::internal("reading the index version", e))?;
    Ok(Json(view::Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: database.to_owned(),
        index,
    }))
}

pub async fn openapi_document() -> Json<serde_json::Value> {
    Json(crate::routes::openapi())
}

pub async fn whoami(Extension(caller): Extension<Caller>) -> Json<view::Whoami> {
    let (role, scopes) = match &caller {
        Caller::User { role, scopes, .. } => (
            Some(role.as_str().to_owned()),
            Some(scopes.iter().map(|s| s.as_str().to_owned()).collect()),
        ),
        _ => (None, None),
    };
    Json(view::Whoami { actor: caller.actor(), role, scopes })
}

/// A PHC string no password matches in practice, verified when the user does not exist so the
/// answer takes as long as for a real user.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Body(request): Body<view::LoginRequest>,
) -> Response {
    let address = peer.ip().to_string();
    let lockout = *state.lockout();
    let ttl = state.session_ttl();
    let outcome = state
        .db(move |store| {
            let at = now();
            let mut account = store.lockout_state(Subject::Account, &request.user)?;
            let mut from = store.lockout_state(Subject::Address, &address)?;
            if let Decision::Locked { until, reason } = lockout.check(&account, &from, at) {
                return Ok(Err((until, reason)));
            }
            let user = store.user_by_name(&request.user)?;
            let secret = SecretString::from(request.password);
            let phc = user.as_ref().map_or(DUMMY_PHC, |u| u.password_phc.as_str());
            let matches = password::verify(&secret, phc).unwrap_or(false);
            let user = match user {
                Some(user) if matches && !user.disabled => user,
                _ => {
                    lockout.record_failure(&mut account, Subject::Account, at);
                    lockout.record_failure(&mut from, Subject::Address, at);
                    store.save_lockout_state(Subject::Account, &request.user, &account)?;
                    store.save_lockout_state(Subject::Address, &address, &from)?;
                    store
                        .append_audit(
                            at,
                            "anonymous",
                            "login-failed",
                            &format!("user:{}", request.user),
                            serde_json::json!({"address": address}),
                        )
                        .map_err(|e| ApiError::internal("appending to the audit log", e))?;
                    return Err(ApiError::unauthenticated("wrong user name or password"));
                }
            };
            lockout.record_success(&mut account);
            store.save_lockout_state(Subject::Account, &request.user, &account)?;
            let expires = at + ttl;
            let (token, stored) = Token::generate(TokenKind::Api, &mut OsRng)
                .map_err(|e| ApiError::internal("generating a token", e))?;
            store.add_token(
                &stored,
                TokenOwner::User(user.id),
                &role_scopes(user.role),
                Some(expires),
                at,
            )?;
            store
                .append_audit(
                    at,
                    &format!("user:{}", user.name),
                    "login",
                    &format!("token:{}", stored.id),
                    serde_json::json!({"address": address}),
                )
                .map_err(|e| ApiError::internal("appending to the audit log", e))?;
            Ok(Ok(view::Session {
                token: token.reveal().to_owned(),
                user: user.name,
                role: user.role.as_str().to_owned(),
                expires,
            }))
        })
        .await;
    match outcome {
        Ok(Ok(session)) => Json(session).into_response(),
        Ok(Err((until, reason))) => {
            let whose = match reason {
                LockReason::Account => "this account",
                LockReason::Address => "your address",
            };
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "locked-out",
                format!("too many failed logins for {whose}; try again after {until}"),
            );
            let mut response = error.into_response();
            let seconds = (until - now()).num_seconds().max(1);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Err(error) => error.into_response(),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<StatusCode> {
    let Caller::User { token, .. } = caller.clone() else {
        return Err(ApiError::forbidden("only user tokens log out"));
    };
    state
        .db(move |store| {
            store.revoke_token(&token, now())?;
            audit(store, &caller, "logout", &format!("token:{token}"), serde_json::json!({}))?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}

pub async fn create_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<view::TokenRequest>,
) -> ApiResult<Json<view::NewToken>> {
    let Caller::User { id, .. } = caller.clone() else {
        return Err(ApiError::forbidden("only users make API tokens"));
    };
    let mut scopes = Vec::new();
    for name in &request.scopes {
        let scope: Scope =
            name.parse().map_err(|e: ward_auth::AuthError| ApiError::invalid(e.to_string()))?;
        if !caller.may(permission_of(scope)) {
            return Err(ApiError::forbidden(format!(
                "scope {name} is beyond what your role and token allow"
            )));
        }
        scopes.push(scope);
    }
    if scopes.is_empty() {
        return Err(ApiError::invalid("scopes: name at least one of read, operate, admin"));
    }
    let days = request.expires_days.unwrap_or(90);
    state
        .db(move |store| {
            let at = now();
            let expires = (days > 0).then(|| at + TimeDelta::days(i64::from(days)));
            let (token, stored) = Token::generate(TokenKind::Api, &mut OsRng)
                .map_err(|e| ApiError::internal("generating a token", e))?;
            store.add_token(&stored, TokenOwner::User(id), &scopes, expires, at)?;
            let names: Vec<String> = scopes.iter().map(|s| s.as_str().to_owned()).collect();
            audit(
                store,
                &caller,
                "token-create",
                &format!("token:{}", stored.id),
                serde_json::json!({"scopes": names, "expires": expires}),
            )?;
            Ok(Json(view::NewToken {
                id: stored.id,
                token: token.reveal().to_owned(),
                scopes: names,
                expires,
            }))
        })
        .await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let Caller::User { id: user, .. } = caller.clone() else {
        return Err(ApiError::forbidden("only users revoke tokens"));
    };
    state
        .db(move |store| {
            let hidden = || ApiError::not_found(format!("no token {id} of yours"));
            let Some(record) = store.token(&id)? else { return Err(hidden()) };
            let own = record.owner == TokenOwner::User(user);
            if !own && !caller.may(Permission::Admin) {
                return Err(hidden());
            }
            store.revoke_token(&id, now())?;
            audit(store, &caller, "token-revoke", &format!("token:{id}"), serde_json::json!({}))?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}

pub async fn create_enrollment_token(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<view::EnrollmentRequest>,
) -> ApiResult<Json<view::NewToken>> {
    let minutes = request.expires_minutes.unwrap_or(60);
    if !(1..=10_080).contains(&minutes) {
        return Err(ApiError::invalid("expires_minutes: 1 to 10080 (a week)"));
    }
    state
        .db(move |store| {
            let at = now();
            let expires = at + TimeDelta::minutes(i64::from(minutes));
            let (token, stored) = Token::generate(TokenKind::Enrollment, &mut OsRng)
                .map_err(|e| ApiError::internal("generating a token", e))?;
            store.add_token(&stored, TokenOwner::Unowned, &[], Some(expires), at)?;
            audit(
                store,
                &caller,
                "enrollment-token-create",
                &format!("token:{}", stored.id),
                serde_json::json!({"expires": expires}),
            )?;
            Ok(Json(view::NewToken {
                id: stored.id,
                token: token.reveal().to_owned(),
                scopes: Vec::new(),
                expires: Some(expires),
            }))
        })
        .await
}

pub async fn revoke_host(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .db(move |store| {
            let host: HostId = existing_host(store, &id)?;
            let at = now();
            let mut revoked = Vec::new();
            for token in store.tokens_of(TokenOwner::Host(host))? {
                if store.revoke_token(&token.stored.id, at)? {
                    revoked.push(token.stored.id);
                }
            }
            audit(
                store,
                &caller,
                "agent-revoke",
                &format!("host:{host}"),
                serde_json::json!({"credentials": revoked}),
            )?;
            Ok(StatusCode::NO_CONTENT)
        })
        .await
}

pub async fn sync_advisories(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<view::SyncQueued>> {
    let data_dir = state.data_dir().clone();
    state
        .db(move |store| {
            let Some(version) = index_version(&data_dir) else {
                return Err(ApiError::conflict(
                    "conflict",
                    format!("no advisory index in {}: run `ward db update` (or `ward db import PATH`) on the server", data_dir.display()),
                ));
            };
            let (job_id, created) = crate::jobs::queue_sync(store, &version)?;
            audit(store, &caller, "advisory-sync", &format!("job:{job_id}"),
                  serde_json::json!({"index": version, "created": created}))?;
            Ok(Json(view::SyncQueued { job_id, created, index: version }))
        })
        .await
}

fn user_view(user: UserRecord) -> view::User {
    view::User {
        id: user.id.0,
        name: user.name,
        role: user.role.as_str().to_owned(),
        created: user.created,
        disabled: user.disabled,
    }
}

pub async fn list_users(State(state): State<AppState>) -> ApiResult<Json<Vec<view::User>>> {
    state.db(|store| Ok(Json(store.users()?.into_iter().map(user_view).collect()))).await
}

pub async fn create_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Body(request): Body<view::UserRequest>,
) -> ApiResult<Json<view::User>> {
    let role: Role =
        request.role.parse().map_err(|e: ward_auth::AuthError| ApiError::invalid(e.to_string()))?;
    if request.name.is_empty()
        || request.name.len() > 64
        || !request.name.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(ApiError::invalid("name: 1–64 printable ASCII characters without spaces"));
    }
    let secret = SecretString::from(request.password);
    password::check_rules(&secret).map_err(|e| ApiError::invalid(format!("password: {e}")))?;
    state
        .db(move |store| {
            let phc = password::hash(&secret, &mut OsRng)
                .map_err(|e| ApiError::internal("hashing the password", e))?;
            let at = now();
            let id = store.create_user(&request.name, role, &phc, at)?;
            audit(
                store,
                &caller,
                "user-create",
                &format!("user:{}", request.name),
                serde_json::json!({"role": role.as_str()}),
            )?;
            let user = store
                .user(id)?
                .ok_or_else(|| ApiError::internal("reading the new user", "missing"))?;
            Ok(Json(user_view(user)))
        })
        .await
}

pub async fn list_audit(
    State(state): State<AppState>,
    Params(query): Params<super::fleet::PageQuery>,
) -> ApiResult<Json<Page<ward_auth::audit::AuditEntry>>> {
    let after = query.after().map(|a| number("after", &a)).transpose()?;
    let limit = limit(query.limit());
    state
        .db(move |store| {
            let after = after.map(|a| u64::try_from(a).unwrap_or(0));
            let items = store.audit_entries(after, limit + 1)?;
            Ok(Json(page_of(items, limit as usize, |e| e.seq.to_string())))
        })
        .await
}

pub async fn verify_audit(State(state): State<AppState>) -> ApiResult<Json<view::AuditVerify>> {
    state.db(|store| Ok(Json(crate::verify_audit(store)?))).await
}
