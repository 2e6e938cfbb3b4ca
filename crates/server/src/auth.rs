//! Who is calling and may they: every route declares an [`Access`] in the route table
//! (`routes.rs`), and [`authorize`] — the one middleware every route is wrapped in — resolves the
//! bearer token into a [`Caller`] and refuses what the access does not allow. Handlers read the
//! caller from the request's extensions and never decide permissions themselves, except the
//! finer "own tokens only" rules.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ward_auth::role::{allows, Permission, Role};
use ward_auth::scope::Scope;
use ward_auth::token::{self, TokenKind};
use ward_store::{HostId, Store, TokenOwner, UserId};

use crate::error::{ApiError, ApiResult};
use crate::state::{now, AppState};

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, the OpenAPI document, login, enrollment: the latter two check their own
    /// credentials in the body).
    Public,
    /// An enrolled agent's credential (`ward_agent_…`).
    Agent,
    /// A user's API or session token whose role and scopes grant this permission.
    User(Permission),
}

/// The authenticated caller, in the request's extensions.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    User { id: UserId, name: String, role: Role, scopes: Vec<Scope>, token: String },
    Agent { host: HostId, host_name: String, token: String },
}

impl Caller {
    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::User { name, .. } => format!("user:{name}"),
            Caller::Agent { host_name, .. } => format!("agent:{host_name}"),
        }
    }

    /// Whether this caller may do what `needed` allows.
    pub fn may(&self, needed: Permission) -> bool {
        match self {
            Caller::User { role, scopes, .. } => allows(*role, Some(scopes), needed),
            _ => false,
        }
    }
}

/// The middleware: `State((state, access))` is the route's declared access.
pub async fn authorize(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match access {
        Access::Public => Ok(Caller::Anonymous),
        Access::Agent | Access::User(_) => {
            let header =
                request.headers().get(AUTHORIZATION).map(|h| h.to_str().map(str::to_owned));
            authenticate(&state, header, access).await
        }
    };
    match caller {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => unread_body(error.into_response()),
    }
}

/// A response sent without reading the request's body: the connection is closed after it
/// (hyper would not reuse it anyway), and saying so keeps clients from reusing it.
pub fn unread_body(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(axum::http::header::CONNECTION, axum::http::HeaderValue::from_static("close"));
    response
}

async fn authenticate(
    state: &AppState,
    header: Option<Result<String, axum::http::header::ToStrError>>,
    access: Access,
) -> ApiResult<Caller> {
    let Some(header) = header else {
        return Err(ApiError::unauthenticated(
            "this route needs `Authorization: Bearer <token>` (log in with POST /api/v1/session \
             or use an API token)",
        ));
    };
    let text = header
        .ok()
        .as_deref()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::unauthenticated("the Authorization header must be `Bearer <token>`")
        })?
        .trim()
        .to_owned();
    let parsed = token::parse(&text)
        .map_err(|e| ApiError::unauthenticated(format!("the bearer token is not valid: {e}")))?;
    let caller = state.db(move |store| resolve(store, parsed)).await?;
    match (access, &caller) {
        (Access::Agent, Caller::Agent { .. }) => Ok(caller),
        (Access::Agent, _) => {
            Err(ApiError::forbidden("this route is for agents: use the agent's credential"))
        }
        (Access::User(_), Caller::Agent { .. }) => {
            Err(ApiError::forbidden("an agent credential may only use the agent routes"))
        }
        (Access::User(needed), _) if caller.may(needed) => Ok(caller),
        (Access::User(needed), _) => Err(ApiError::forbidden(format!(
            "this route needs the {needed} permission, which your role and token scopes do not grant",
            needed = needed.as_str()
        ))),
        (Access::Public, _) => Ok(caller),
    }
}

/// The caller a presented token stands for, or why it does not authenticate. Every refusal
/// says the same to the client (no oracle for which tokens exist); the log says more.
fn resolve(store: &dyn Store, parsed: token::ParsedToken) -> ApiResult<Caller> {
    let refused = || ApiError::unauthenticated("the token is unknown, expired or revoked");
    let Some(record) = store.token(&parsed.id)? else { return Err(refused()) };
    if record.stored.kind != parsed.kind || !token::verify(&parsed, &record.stored) {
        tracing::warn!(token = %parsed.id, "a token with a wrong secret was presented");
        return Err(refused());
    }
    let now = now();
    if record.revoked.is_some() || record.expires.is_some_and(|e| now >= e) {
        return Err(refused());
    }
    match (record.stored.kind, record.owner) {
        (TokenKind::Api, TokenOwner::User(user)) => {
            let Some(user) = store.user(user)? else { return Err(refused()) };
            if user.disabled {
                return Err(refused());
            }
            Ok(Caller::User {
                id: user.id,
                name: user.name,
                role: user.role,
                scopes: record.scopes,
                token: record.stored.id,
            })
        }
        (TokenKind::Agent, TokenOwner::Host(host)) => {
            let Some(host_record) = store.host(host)? else { return Err(refused()) };
            Ok(Caller::Agent { host, host_name: host_record.info.name, token: record.stored.id })
        }
        // Enrollment tokens are exchanged in the body of /agent/enroll, never bearer tokens.
        _ => Err(refused()),
    }
}

/// The scopes a password session gets: everything its role grants.
pub fn role_scopes(role: Role) -> Vec<Scope> {
    Scope::ALL.into_iter().filter(|scope| role.grants(permission_of(*scope))).collect()
}

/// The permission a scope stands for.
pub fn permission_of(scope: Scope) -> Permission {
    match scope {
        Scope::Read => Permission::Read,
        Scope::Operate => Permission::Operate,
        Scope::Admin => Permission::Admin,
    }
}
