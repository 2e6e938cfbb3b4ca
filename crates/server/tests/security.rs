//! Security: every route with every kind of caller (no token, an agent credential, each role,
//! a token with fewer scopes than its role), on SQLite and PostgreSQL; an agent cannot report
//! for another host; a revoked agent is refused; password lockout per account and per address;
//! the audit chain detects an edited entry. The OpenAPI document lists exactly the routes.

mod common;

use common::{must, report, Backend, TestServer};
use serde_json::json;
use ward_auth::role::{Permission, Role};
use ward_auth::scope::Scope;
use ward_server::auth::Access;
use ward_server::routes::{specs, RouteSpec};

/// The URL path of a route with its placeholders filled.
fn concrete(spec: &RouteSpec, host: i64) -> String {
    spec.path.replace(
        "{id}",
        &if spec.path.starts_with("/tokens") {
            "000000000000".to_owned()
        } else if spec.path.starts_with("/advisories") {
            "CVE-2000-0001".to_owned()
        } else {
            host.to_string()
        },
    )
}

fn body_for(spec: &RouteSpec) -> Option<serde_json::Value> {
    // An empty object: handlers that need fields answer 400 or 422, after authorization.
    spec.body.map(|_| json!({}))
}

fn walk_every_route(backend: Backend) {
    let server = TestServer::start(backend);
    let (_, admin) = server.user_token("root", Role::Admin, None);
    let (_, operator) = server.user_token("olga", Role::Operator, None);
    let (_, viewer) = server.user_token("vic", Role::Viewer, None);
    let (_, admin_read_only) = server.user_token("root", Role::Admin, Some(&[Scope::Read]));
    let (host, agent) = server.enroll(&admin, "web-1.example", &["web"]);
    let callers: [(&str, Option<&str>, Option<Role>, bool); 6] = [
        ("nobody", None, None, false),
        ("agent", Some(&agent), None, true),
        ("admin", Some(&admin), Some(Role::Admin), false),
        ("operator", Some(&operator), Some(Role::Operator), false),
        ("viewer", Some(&viewer), Some(Role::Viewer), false),
        ("admin with a read-only token", Some(&admin_read_only), Some(Role::Viewer), false),
    ];
    let mut checked = 0;
    for spec in specs() {
        // Logging out and revoking the agent end a caller's credential: walked last, separately.
        if spec.operation == "logout" || spec.operation == "revokeHost" {
            continue;
        }
        let path = concrete(&spec, host);
        for (who, token, role, is_agent) in callers {
            let (status, answer) =
                server.call(spec.method.as_str(), &path, token, body_for(&spec).as_ref());
            let expected_refusal = match spec.access {
                Access::Public => None,
                Access::Agent if is_agent => None,
                Access::Agent => Some(if token.is_none() { 401 } else { 403 }),
                Access::User(_) if token.is_none() => Some(401),
                Access::User(_) if is_agent => Some(403),
                Access::User(needed) => {
                    let grants = role.is_some_and(|r| r.grants(needed));
                    (!grants).then_some(403)
                }
            };
            match expected_refusal {
                Some(code) => assert_eq!(
                    status, code,
                    "{} {path} as {who}: expected {code}, got {status} {answer}",
                    spec.method
                ),
                None => assert!(
                    status != 401
                        && status != 403
                        && status != 405
                        && answer["error"]["message"]
                            .as_str()
                            .is_none_or(|m| !m.contains("no such route")),
                    "{} {path} as {who}: refused or missing: {status} {answer}",
                    spec.method
                ),
            }
            if let Some(code) = expected_refusal {
                assert_eq!(
                    answer["error"]["code"],
                    if code == 401 { "unauthenticated" } else { "forbidden" }
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, (specs().len() - 2) * callers.len());
    assert_eq!(server.call("DELETE", "/session", Some(&agent), None).0, 403);
    // Revoking an agent: refused to all but admins, and then the agent is refused.
    let revoke = format!("/hosts/{host}/revoke");
    assert_eq!(server.call("POST", &revoke, None, None).0, 401);
    for token in [&agent, &operator, &viewer, &admin_read_only] {
        assert_eq!(server.call("POST", &revoke, Some(token), None).0, 403);
    }
    assert_eq!(server.call("POST", &revoke, Some(&admin), None).0, 204);
    assert_eq!(
        server
            .call(
                "POST",
                "/agent/heartbeat",
                Some(&agent),
                Some(&json!({"at": chrono::Utc::now()}))
            )
            .0,
        401
    );
    // Logout: refused without a token, and revokes the token it is called with.
    assert_eq!(server.call("DELETE", "/session", None, None).0, 401);
    assert_eq!(server.call("DELETE", "/session", Some(&viewer), None).0, 204);
    assert_eq!(server.call("GET", "/whoami", Some(&viewer), None).0, 401);
    server.stop();
}

#[test]
fn every_route_refuses_the_unauthenticated_and_under_privileged_sqlite() {
    walk_every_route(Backend::Sqlite);
}

#[test]
fn every_route_refuses_the_unauthenticated_and_under_privileged_postgres() {
    walk_every_route(Backend::Postgres);
}

#[test]
fn openapi_document_lists_exactly_the_routes() {
    let server = TestServer::start(Backend::Sqlite);
    let (status, doc) = server.call("GET", "/openapi.json", None, None);
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, item) in must(doc["paths"].as_object().ok_or("paths")) {
        for (method, operation) in must(item.as_object().ok_or("item")) {
            assert!(operation["operationId"].is_string());
            let answers = &operation["responses"];
            assert!(answers["200"].is_object() || answers["204"].is_object(), "{path}");
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    // Every schema reference resolves.
    let text = doc.to_string();
    for reference in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap_or(0)];
        assert!(doc["components"]["schemas"][name].is_object(), "dangling $ref {name}");
    }
    let mut routes: Vec<String> =
        specs().iter().map(|s| format!("{} /api/v1{}", s.method, s.path)).collect();
    routes.sort();
    assert_eq!(documented, routes);
    // And every documented route is served (not the 404 of an unknown path), while an
    // undocumented one is not.
    for spec in specs() {
        let path = concrete(&spec, 1);
        let (status, answer) =
            server.call(spec.method.as_str(), &path, None, body_for(&spec).as_ref());
        assert!(
            status != 404
                || answer["error"]["code"] == "not-found"
                    && !answer["error"]["message"].as_str().unwrap_or("").contains("no such route"),
            "{} {path}: {status} {answer}",
            spec.method
        );
        assert_ne!(status, 405, "{} {path}", spec.method);
    }
    let (status, answer) = server.call("GET", "/no-such-thing", None, None);
    assert_eq!((status, answer["error"]["code"].as_str()), (404, Some("not-found")));
    let (status, _) = server.call("PUT", "/hosts", None, None);
    assert_eq!(status, 405);
    server.stop();
}

fn agents_stay_in_their_lane(backend: Backend) {
    let server = TestServer::start(backend);
    let (_, admin) = server.user_token("root", Role::Admin, None);
    let (a, agent_a) = server.enroll(&admin, "a.example", &[]);
    let (_, agent_b) = server.enroll(&admin, "b.example", &[]);
    let packages = json!([{"ecosystem": "Debian:12", "name": "bash", "version": "5.2.15-2+b2", "source": "bash"}]);
    let key = [("idempotency-key", "0123456789abcdef0123456789abcdef")];
    // A reports for B: refused, nothing stored for B.
    let (status, answer) = server.call_with(
        "POST",
        "/agent/report",
        Some(&agent_a),
        Some(&report("b.example", packages.clone())),
        &key,
    );
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")), "{answer}");
    // A reports for itself: stored.
    let (status, answer) = server.call_with(
        "POST",
        "/agent/report",
        Some(&agent_a),
        Some(&report("a.example", packages.clone())),
        &key,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["added"], 1);
    // B's own report under the same idempotency key is B's, not a duplicate of A's.
    let (status, answer) = server.call_with(
        "POST",
        "/agent/report",
        Some(&agent_b),
        Some(&report("b.example", packages.clone())),
        &key,
    );
    assert_eq!((status, answer["duplicate"].as_bool()), (200, Some(false)), "{answer}");
    // An enrollment token is one-time.
    let (_, made) = server.call("POST", "/enrollment-tokens", Some(&admin), Some(&json!({})));
    let enroll = json!({"token": made["token"], "host": {"name": "c.example"}});
    assert_eq!(server.call("POST", "/agent/enroll", None, Some(&enroll)).0, 200);
    assert_eq!(server.call("POST", "/agent/enroll", None, Some(&enroll)).0, 401);
    // Revoked: A is refused from then on.
    assert_eq!(server.call("POST", &format!("/hosts/{a}/revoke"), Some(&admin), None).0, 204);
    let key2 = [("idempotency-key", "1123456789abcdef0123456789abcdef")];
    let (status, _) = server.call_with(
        "POST",
        "/agent/report",
        Some(&agent_a),
        Some(&report("a.example", packages)),
        &key2,
    );
    assert_eq!(status, 401);
    assert_eq!(
        server
            .call(
                "POST",
                "/agent/heartbeat",
                Some(&agent_a),
                Some(&json!({"at": chrono::Utc::now()}))
            )
            .0,
        401
    );
    server.stop();
}

#[test]
fn an_agent_reports_only_for_its_own_host_until_revoked_sqlite() {
    agents_stay_in_their_lane(Backend::Sqlite);
}

#[test]
fn an_agent_reports_only_for_its_own_host_until_revoked_postgres() {
    agents_stay_in_their_lane(Backend::Postgres);
}

#[test]
fn password_lockout_per_account_and_per_address() {
    let server = TestServer::start_with(Backend::Sqlite, |c| {
        c.max_login_failures = 3;
        c.max_login_failures_per_address = 5;
    });
    server.user_token("alice", Role::Operator, None);
    server.user_token("bob", Role::Viewer, None);
    let login = |user: &str, password: &str| {
        server.call("POST", "/session", None, Some(&json!({"user": user, "password": password})))
    };
    let (status, session) = login("alice", "alice-pass-0123");
    assert_eq!(status, 200, "{session}");
    let token = must(session["token"].as_str().ok_or("token")).to_owned();
    assert_eq!(server.call("GET", "/whoami", Some(&token), None).1["actor"], "user:alice");
    for _ in 0..3 {
        assert_eq!(login("alice", "wrong-password-1").0, 401);
    }
    // Locked: even the right password is refused, with a Retry-After.
    let (status, answer) = login("alice", "alice-pass-0123");
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("locked-out")), "{answer}");
    // bob's account is fine, but two more failures from this address (5 in all) lock it.
    assert_eq!(login("bob", "bob-pass-0123").0, 200);
    assert_eq!(login("bob", "nope-nope-nope").0, 401);
    assert_eq!(login("nobody", "nope-nope-nope").0, 401);
    let (status, answer) = login("bob", "bob-pass-0123");
    assert_eq!(status, 429, "{answer}");
    assert!(must(answer["error"]["message"].as_str().ok_or("message")).contains("your address"));
    server.stop();
}

#[test]
fn the_audit_chain_detects_an_edited_entry() {
    let server = TestServer::start(Backend::Sqlite);
    let (_, admin) = server.user_token("root", Role::Admin, None);
    server.enroll(&admin, "a.example", &[]);
    let (status, _) = server.call(
        "POST",
        "/users",
        Some(&admin),
        Some(&json!({"name": "eve", "role": "viewer", "password": "correct horse battery"})),
    );
    assert_eq!(status, 200);
    let (status, verified) = server.call("GET", "/audit/verify", Some(&admin), None);
    assert_eq!(status, 200);
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(must(verified["entries"].as_u64().ok_or("entries")) >= 3);
    let (_, log) = server.call("GET", "/audit", Some(&admin), None);
    let actions: Vec<&str> = must(log["items"].as_array().ok_or("items"))
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["enrollment-token-create", "agent-enroll", "user-create"]);
    // Someone with database access turns eve into an admin in the log.
    let db = must(rusqlite::Connection::open(server.dir.path().join("ward.db")));
    must(db.execute(
        "UPDATE audit SET detail = '{\"role\":\"admin\"}' WHERE action = 'user-create'",
        [],
    ));
    let (_, verified) = server.call("GET", "/audit/verify", Some(&admin), None);
    assert_eq!(verified["ok"], false, "{verified}");
    assert!(must(verified["problem"].as_str().ok_or("problem")).contains("entry 3"), "{verified}");
    // Deleting the tail is caught by the anchor.
    must(db.execute(
        "UPDATE audit SET detail = '{\"role\":\"viewer\"}' WHERE action = 'user-create'",
        [],
    ));
    must(db.execute("DELETE FROM audit WHERE seq = 3", []));
    let (_, verified) = server.call("GET", "/audit/verify", Some(&admin), None);
    assert_eq!(verified["ok"], false, "{verified}");
    server.stop();
}

#[test]
fn permission_table_is_what_the_issue_asks() {
    // Agents and people are separate; viewers only read; admin-only routes are few and named.
    for spec in specs() {
        if spec.path.starts_with("/agent/") && spec.path != "/agent/enroll" {
            assert_eq!(spec.access, Access::Agent, "{}", spec.path);
        }
        if spec.method != axum::http::Method::GET && spec.access == Access::User(Permission::Read) {
            // State-changing routes open to viewers only touch the caller's own tokens.
            assert!(
                ["/session", "/tokens", "/tokens/{id}"].contains(&spec.path),
                "{} {}",
                spec.method,
                spec.path
            );
        }
    }
}

#[test]
fn https_with_the_configured_certificate() {
    let dir = must(tempfile::tempdir());
    let key = must(rcgen::KeyPair::generate());
    let params = must(rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]));
    let cert = must(params.self_signed(&key));
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    must(std::fs::write(&cert_path, cert.pem()));
    must(std::fs::write(&key_path, key.serialize_pem()));
    let server = TestServer::start_with(Backend::Sqlite, |c| {
        c.tls_cert = Some(cert_path.clone());
        c.tls_key = Some(key_path.clone());
    });
    assert!(server.url.starts_with("https://"));
    let trusted: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(cert.pem().as_bytes())
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect();
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::new_with_certs(&trusted))
        .build();
    let client =
        ureq::Agent::new_with_config(ureq::Agent::config_builder().tls_config(tls).build());
    let mut response = must(client.get(&format!("{}/health", server.url)).call());
    assert_eq!(response.status().as_u16(), 200);
    assert!(must(response.body_mut().read_to_string()).contains("\"status\":\"ok\""));
    // Plain HTTP on the TLS port gets nothing useful; an untrusting client refuses the certificate.
    let plain = server.url.replacen("https://", "http://", 1);
    assert!(ureq::get(&format!("{plain}/health")).call().is_err());
    assert!(ureq::get(&format!("{}/health", server.url)).call().is_err());
    server.stop();
}
