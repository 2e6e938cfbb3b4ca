//! The route table: every route of `/api/v1` with its method, path, required [`Access`] and
//! documentation, in one list. The router ([`router`]) and the OpenAPI document
//! ([`openapi`]) are both built from it, so they cannot disagree, and every route is wrapped in
//! the same [`authorize`] middleware with its declared access.

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{Method, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};
use ward_api::agent as wire;
use ward_api::{view, ErrorBody, Page};
use ward_auth::role::Permission;

use crate::auth::{authorize, unread_body, Access};
use crate::error::ApiError;
use crate::handlers::{admin, agent, fleet};
use crate::state::AppState;

/// The API's prefix.
pub const PREFIX: &str = "/api/v1";

/// Registers a type's JSON Schema with the generator and returns a reference to it.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// Under [`PREFIX`], axum syntax (`/hosts/{id}`).
    pub path: &'static str,
    pub access: Access,
    /// OpenAPI `operationId`.
    pub operation: &'static str,
    pub summary: &'static str,
    /// Query parameters: name and description.
    pub query: &'static [(&'static str, &'static str)],
    /// The request body's schema (a `ward-api` type), if the route takes one.
    pub body: Option<SchemaFn>,
    /// The response body's schema; `None`: 204 No Content.
    pub response: Option<SchemaFn>,
    /// Whether the route changes state (such routes are written to the audit log, except agent
    /// reports, which the inventory history records).
    pub changes_state: bool,
}

const READ: Access = Access::User(Permission::Read);
const OPERATE: Access = Access::User(Permission::Operate);
const ADMIN: Access = Access::User(Permission::Admin);

const PAGE: (&str, &str) = ("after", "the `next` cursor of the previous page");
const LIMIT: (&str, &str) = ("limit", "items per page (default 100, at most 1000)");

#[allow(clippy::too_many_arguments, reason = "one row of the route table")]
fn spec(
    method: Method,
    path: &'static str,
    access: Access,
    operation: &'static str,
    summary: &'static str,
    query: &'static [(&'static str, &'static str)],
    body: Option<SchemaFn>,
    response: Option<SchemaFn>,
) -> RouteSpec {
    let changes_state = method != Method::GET;
    RouteSpec { method, path, access, operation, summary, query, body, response, changes_state }
}

fn entry<H, T>(spec: RouteSpec, handler: H) -> (RouteSpec, MethodRouter<AppState>)
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = match spec.method {
        Method::GET => MethodFilter::GET,
        Method::POST => MethodFilter::POST,
        Method::DELETE => MethodFilter::DELETE,
        Method::PUT => MethodFilter::PUT,
        _ => MethodFilter::PATCH,
    };
    (spec, on(filter, handler))
}

/// Every route with its handler.
pub fn table() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use Method as M;
    vec![
        entry(
            spec(M::GET, "/health", Access::Public, "health", "Server status and versions", &[], None, Some(schema::<view::Health>)),
            admin::health,
        ),
        entry(
            spec(M::GET, "/openapi.json", Access::Public, "openapi", "This OpenAPI document", &[], None, Some(schema::<Value>)),
            admin::openapi_document,
        ),
        entry(
            spec(M::POST, "/session", Access::Public, "login", "Log in with a password: returns a session token (lockout after repeated failures per account and per address)", &[], Some(schema::<view::LoginRequest>), Some(schema::<view::Session>)),
            admin::login,
        ),
        entry(
            spec(M::DELETE, "/session", READ, "logout", "Revoke the token this request presents", &[], None, None),
            admin::logout,
        ),
        entry(
            spec(M::GET, "/whoami", READ, "whoami", "Who the presented token acts as", &[], None, Some(schema::<view::Whoami>)),
            admin::whoami,
        ),
        entry(
            spec(M::POST, "/agent/enroll", Access::Public, "agentEnroll", "Exchange a one-time enrollment token for an agent credential", &[], Some(schema::<wire::EnrollRequest>), Some(schema::<wire::EnrollResponse>)),
            agent::enroll,
        ),
        entry(
            spec(M::POST, "/agent/report", Access::Agent, "agentReport", "Store an inventory report (full or a diff) with host facts; `Idempotency-Key` header required", &[], Some(schema::<wire::AgentReport>), Some(schema::<wire::ReportResponse>)),
            agent::report,
        ),
        entry(
            spec(M::POST, "/agent/heartbeat", Access::Agent, "agentHeartbeat", "The agent is alive", &[], Some(schema::<wire::Heartbeat>), Some(schema::<wire::HeartbeatResponse>)),
            agent::heartbeat,
        ),
        entry(
            spec(M::GET, "/hosts", READ, "listHosts", "Hosts, filtered, by id", &[("group", "hosts in this group"), ("tag", "hosts with this tag"), ("os", "hosts with this OS ecosystem, e.g. Debian:12"), ("severity", "hosts with an open finding at or above this level (low, medium, high, critical)"), PAGE, LIMIT], None, Some(schema::<Page<view::Host>>)),
            fleet::list_hosts,
        ),
        entry(
            spec(M::GET, "/hosts/{id}", READ, "getHost", "A host: facts (pending updates, reboot and restart needs), last seen, open findings", &[], None, Some(schema::<view::HostDetail>)),
            fleet::get_host,
        ),
        entry(
            spec(M::GET, "/hosts/{id}/packages", READ, "hostPackages", "The host's packages now, or at a past time", &[("at", "RFC 3339 time: the inventory as it was then")], None, Some(schema::<view::HostPackages>)),
            fleet::host_packages,
        ),
        entry(
            spec(M::GET, "/hosts/{id}/changes", READ, "hostChanges", "The host's package history: added, removed, changed, with times", &[("since", "RFC 3339 time: changes at or after it"), PAGE, LIMIT], None, Some(schema::<Page<view::Change>>)),
            fleet::host_changes,
        ),
        entry(
            spec(M::POST, "/hosts/{id}/revoke", ADMIN, "revokeHost", "Revoke the host's agent credentials: its agent is refused from now on", &[], None, None),
            admin::revoke_host,
        ),
        entry(
            spec(M::GET, "/findings", READ, "listFindings", "Open findings, highest risk first", &[("severity", "at or above this level"), ("ecosystem", "e.g. Debian:12, crates.io"), ("advisory", "an advisory id or alias"), ("host", "a host id"), ("group", "hosts in this group"), PAGE, LIMIT], None, Some(schema::<Page<view::Finding>>)),
            fleet::list_findings,
        ),
        entry(
            spec(M::GET, "/advisories/{id}", READ, "getAdvisory", "An advisory (by id or alias) and the hosts it affects", &[], None, Some(schema::<view::AdvisoryDetail>)),
            fleet::get_advisory,
        ),
        entry(
            spec(M::POST, "/advisories/sync", OPERATE, "syncAdvisories", "Check the advisory index now and queue the fleet re-match if it changed", &[], None, Some(schema::<view::SyncQueued>)),
            admin::sync_advisories,
        ),
        entry(
            spec(M::GET, "/groups", READ, "listGroups", "Groups with their host counts", &[PAGE, LIMIT], None, Some(schema::<Page<view::Label>>)),
            fleet::list_groups,
        ),
        entry(
            spec(M::GET, "/tags", READ, "listTags", "Tags with their host counts", &[PAGE, LIMIT], None, Some(schema::<Page<view::Label>>)),
            fleet::list_tags,
        ),
        entry(
            spec(M::GET, "/events", READ, "listEvents", "The event feed (finding opened, finding resolved), oldest first", &[PAGE, LIMIT], None, Some(schema::<Page<view::Event>>)),
            fleet::list_events,
        ),
        entry(
            spec(M::GET, "/jobs", READ, "listJobs", "Background jobs (re-matches, feed updates)", &[PAGE, LIMIT], None, Some(schema::<Page<view::Job>>)),
            fleet::list_jobs,
        ),
        entry(
            spec(M::POST, "/enrollment-tokens", OPERATE, "createEnrollmentToken", "A one-time token an agent enrolls with", &[], Some(schema::<view::EnrollmentRequest>), Some(schema::<view::NewToken>)),
            admin::create_enrollment_token,
        ),
        entry(
            spec(M::POST, "/tokens", READ, "createToken", "An API token for the calling user, with scopes within its role", &[], Some(schema::<view::TokenRequest>), Some(schema::<view::NewToken>)),
            admin::create_token,
        ),
        entry(
            spec(M::DELETE, "/tokens/{id}", READ, "revokeToken", "Revoke one of your tokens (admins: any token)", &[], None, None),
            admin::revoke_token,
        ),
        entry(
            spec(M::GET, "/users", ADMIN, "listUsers", "Users", &[], None, Some(schema::<Vec<view::User>>)),
            admin::list_users,
        ),
        entry(
            spec(M::POST, "/users", ADMIN, "createUser", "Create a user with a role and a password", &[], Some(schema::<view::UserRequest>), Some(schema::<view::User>)),
            admin::create_user,
        ),
        entry(
            spec(M::GET, "/audit", ADMIN, "listAudit", "The hash-chained audit log, oldest first", &[PAGE, LIMIT], None, Some(schema::<Page<Value>>)),
            admin::list_audit,
        ),
        entry(
            spec(M::GET, "/audit/verify", ADMIN, "verifyAudit", "Verify the audit log's hash chain and anchor", &[], None, Some(schema::<view::AuditVerify>)),
            admin::verify_audit,
        ),
    ]
}

/// The routes alone (for documentation and tests).
pub fn specs() -> Vec<RouteSpec> {
    table().into_iter().map(|(spec, _)| spec).collect()
}

/// The whole API: every route of [`table`] under [`PREFIX`], each behind [`authorize`] with its
/// access; JSON errors for unknown routes and methods; request bodies capped.
pub fn router(state: AppState) -> Router {
    let mut api: Router<AppState> = Router::new();
    for (spec, handler) in table() {
        let layer = from_fn_with_state((state.clone(), spec.access), authorize);
        api = api.route(spec.path, handler.route_layer(layer));
    }
    Router::new()
        .nest(PREFIX, api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(ward_api::MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    unread_body(
        ApiError::not_found("no such route; GET /api/v1/openapi.json lists them").into_response(),
    )
}

async fn method_not_allowed() -> impl IntoResponse {
    unread_body(
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "this route does not take that method; GET /api/v1/openapi.json lists them",
        )
        .into_response(),
    )
}

/// The OpenAPI 3.1 document of [`table`]: paths from the table, bodies and answers as the JSON
/// Schemas of the `ward-api` types (derived with schemars, so they follow the serde types).
pub fn openapi() -> Value {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|settings| {
        settings.definitions_path = "/components/schemas".into();
    });
    let mut generator = settings.into_generator();
    let error = generator.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for spec in specs() {
        let full = format!("{PREFIX}{}", spec.path);
        let mut parameters: Vec<Value> = path_parameters(spec.path)
            .into_iter()
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
            })
            .collect();
        for (name, description) in spec.query {
            parameters.push(json!({"name": name, "in": "query", "required": false,
                                   "description": description, "schema": {"type": "string"}}));
        }
        if spec.path == "/agent/report" {
            parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": true,
                "description": "8–128 characters of A–Z, a–z, 0–9, - and _ (the agent sends 32 hex digits); the same key twice is stored once",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,128}$"}}));
        }
        let (security, access) = match spec.access {
            Access::Public => (json!([]), json!("public")),
            Access::Agent => (json!([{"bearer": []}]), json!("agent")),
            Access::User(p) => (json!([{"bearer": []}]), json!(p.as_str())),
        };
        let success = match spec.response {
            Some(response) => json!({"200": {"description": "OK",
                "content": {"application/json": {"schema": response(&mut generator)}}}}),
            None => json!({"204": {"description": "done; no body"}}),
        };
        let mut responses = success;
        responses["default"] = json!({"description": "an error (see docs/api.md for the codes)",
            "content": {"application/json": {"schema": error.clone()}}});
        let mut operation = json!({
            "operationId": spec.operation,
            "summary": spec.summary,
            "security": security,
            "x-ward-access": access,
            "parameters": parameters,
            "responses": responses,
        });
        if let Some(body) = spec.body {
            operation["requestBody"] = json!({"required": true,
                "content": {"application/json": {"schema": body(&mut generator)}}});
        }
        let item = paths.entry(full).or_insert_with(|| json!({}));
        item[spec.method.as_str().to_ascii_lowercase()] = operation;
    }
    let schemas: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {"title": "ward server API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "ward's fleet API. Types are those of the ward-api crate; see docs/api.md."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "ward_api_… (user), ward_agent_… (agent)"}},
            "schemas": schemas
        }
    })
}

/// The `{name}` placeholders of a path.
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}
