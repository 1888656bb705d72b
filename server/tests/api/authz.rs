//! Every project-scoped route against every kind of caller.

use std::time::Duration;

use charter_backend::access::{Actor, Credential};
use charter_backend::authorization::{self, ProjectAccess};
use charter_types::{Permission, Project, Role, Scope, UserId};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, TestApp};

/// Who is calling, in the order of `Case::expect`.
const ACTORS: [&str; 5] = ["viewer", "editor", "reviewer", "owner", "outsider"];

struct Case {
    method: Method,
    /// `{p}` project, `{d}` a fresh live document, `{x}` a fresh deleted one, `{u}` a member to
    /// manage, `{b}` a fresh branch (also in bodies); `{n}` (also in bodies) a name unused so far.
    path: &'static str,
    body: Option<Value>,
    expect: [u16; 5],
}

fn cases() -> Vec<Case> {
    let case =
        |method: Method, path: &'static str, body: Option<Value>, expect: [u16; 5]| Case { method, path, body, expect };
    vec![
        case(Method::GET, "/projects/{p}", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/members", None, [200, 200, 200, 200, 404]),
        case(Method::PUT, "/projects/{p}/members/{u}", Some(json!({ "role": "editor" })), [403, 403, 403, 200, 404]),
        case(Method::DELETE, "/projects/{p}/members/{u}", None, [403, 403, 403, 204, 404]),
        case(Method::GET, "/projects/{p}/documents", None, [200, 200, 200, 200, 404]),
        case(
            Method::POST,
            "/projects/{p}/documents",
            Some(json!({ "title": "New", "kind": "spec" })),
            [403, 201, 201, 201, 404],
        ),
        case(Method::GET, "/documents/{d}", None, [200, 200, 200, 200, 404]),
        case(Method::PATCH, "/documents/{d}", Some(json!({ "title": "Renamed" })), [403, 200, 200, 200, 404]),
        case(Method::PUT, "/documents/{d}/content", Some(json!({ "content": "changed" })), [403, 200, 200, 200, 404]),
        case(Method::DELETE, "/documents/{d}", None, [403, 204, 204, 204, 404]),
        case(Method::POST, "/documents/{x}/restore", None, [403, 200, 200, 200, 404]),
        case(
            Method::POST,
            "/documents/{d}/conformance",
            Some(json!({ "commit": "c", "implementation": "openapi: 3.1.0" })),
            [403, 422, 422, 422, 404],
        ),
        case(Method::GET, "/documents/{d}/conformance", None, [404, 404, 404, 404, 404]),
        case(Method::GET, "/projects/{p}/activity", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/branches", None, [200, 200, 200, 200, 404]),
        case(Method::POST, "/projects/{p}/branches", Some(json!({ "name": "{n}" })), [403, 201, 201, 201, 404]),
        case(Method::DELETE, "/projects/{p}/branches/{b}", None, [403, 204, 204, 204, 404]),
        case(
            Method::POST,
            "/projects/{p}/change-requests",
            Some(json!({ "source": "{b}", "target": "main", "title": "T" })),
            [403, 201, 201, 201, 404],
        ),
        case(Method::GET, "/projects/{p}/change-requests", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/change-requests/1", None, [200, 200, 200, 200, 404]),
        case(
            Method::POST,
            "/projects/{p}/change-requests/1/reviews",
            Some(json!({ "verdict": "approve" })),
            [403, 403, 200, 200, 404],
        ),
        case(
            Method::POST,
            "/projects/{p}/change-requests/1/comments",
            Some(json!({ "body": "hi" })),
            [403, 201, 201, 201, 404],
        ),
        case(
            Method::POST,
            "/projects/{p}/change-requests/1/constitution",
            Some(json!({ "bump": "patch" })),
            [403, 403, 409, 409, 404],
        ),
        case(
            Method::POST,
            "/projects/{p}/change-requests/1/bumps",
            Some(json!({ "bump": "patch", "document_id": uuid::Uuid::nil() })),
            [403, 403, 409, 409, 404],
        ),
        // The editor opened #1: they close it, and the others find it closed; reopened after.
        case(Method::POST, "/projects/{p}/change-requests/1/close", None, [403, 200, 409, 409, 404]),
        case(Method::POST, "/projects/{p}/change-requests/1/reopen", None, [403, 200, 409, 409, 404]),
        case(Method::GET, "/projects/{p}/versions", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/tags", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/requirements", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/lint", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/lint/rules", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/search?q=login", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/duplicates", None, [200, 200, 200, 200, 404]),
        // Writers pass the gate and then find no such requirements.
        case(
            Method::POST,
            "/projects/{p}/duplicates/dismiss",
            Some(json!({ "a": uuid::Uuid::now_v7(), "b": uuid::Uuid::now_v7(), "reason": "distinct" })),
            [403, 404, 404, 404, 404],
        ),
        case(Method::GET, "/projects/{p}/embeddings", None, [200, 200, 200, 200, 404]),
        case(Method::PUT, "/projects/{p}/embeddings", Some(json!({ "provider": "off" })), [403, 403, 403, 200, 404]),
        // Owners pass the gate and then hear that meaning search is off: nothing to re-index.
        case(Method::POST, "/projects/{p}/reindex", None, [403, 403, 403, 409, 404]),
        case(Method::GET, "/documents/{d}/lint", None, [200, 200, 200, 200, 404]),
        case(
            Method::POST,
            "/documents/{d}/lint",
            Some(json!({ "content": "- **A-1** x\n" })),
            [200, 200, 200, 200, 404],
        ),
        case(Method::GET, "/projects/{p}/clarifications", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/documents/{d}/backlinks", None, [200, 200, 200, 200, 404]),
        case(Method::GET, "/projects/{p}/templates", None, [200, 200, 200, 200, 404]),
        case(
            Method::POST,
            "/projects/{p}/traceability",
            Some(json!({ "commit": "{n}", "requirements": [], "unknown": [], "files_scanned": 0 })),
            [403, 201, 201, 201, 404],
        ),
        case(Method::GET, "/projects/{p}/traceability", None, [200, 200, 200, 200, 404]),
    ]
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_route_answers_each_role_as_the_rules_say(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let owner = app.signup("owner").await;
    let project = app.project(&owner, "Payments").await;
    let mut clients: Vec<Client> = Vec::new();
    for actor in ACTORS {
        let client = if actor == "owner" { owner.clone() } else { app.signup(actor).await };
        if !matches!(actor, "owner" | "outsider") {
            app.add_member(&owner, &project, actor, actor.parse().unwrap()).await;
        }
        clients.push(client);
    }
    // Change request #1, opened by the editor, for the review and comment routes.
    let editor = &clients[1];
    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    call(&owner, Method::POST, &branches, Some(json!({ "name": "proposal" }))).await;
    let opened = json!({ "source": "proposal", "target": "main", "title": "Proposal" });
    let (status, _) =
        call(editor, Method::POST, &app.url(&format!("/api/v1/projects/{}/change-requests", project.id)), Some(opened))
            .await;
    assert_eq!(status, StatusCode::CREATED);
    // The outsider owns a project of their own: owning something elsewhere grants nothing here.
    app.project(&clients[4], "Elsewhere").await;
    app.signup("target").await;

    let anonymous = app.browser();
    let mut failures = Vec::new();
    let mut fresh = 0;
    for case in cases() {
        for (index, actor) in ACTORS.iter().enumerate().chain([(usize::MAX, &"anonymous")]) {
            // Fresh objects for every attempt, so one caller's change can't decide the next.
            let live = app.document(&owner, &project, "Target", None).await;
            let deleted = app.document(&owner, &project, "Binned", None).await;
            let deleted_url = app.url(&format!("/api/v1/documents/{}", deleted.id));
            call(&owner, Method::DELETE, &deleted_url, None).await;
            app.add_member(&owner, &project, "target", Role::Viewer).await;
            fresh += 1;
            let branch = format!("b{fresh}");
            call(&owner, Method::POST, &branches, Some(json!({ "name": branch }))).await;
            let name = format!("n{fresh}");

            let path = case
                .path
                .replace("{p}", &project.id.to_string())
                .replace("{d}", &live.id.to_string())
                .replace("{x}", &deleted.id.to_string())
                .replace("{u}", "target")
                .replace("{b}", &branch);
            let body: Option<Value> = case.body.as_ref().map(|body| {
                serde_json::from_str(&body.to_string().replace("{n}", &name).replace("{b}", &branch)).unwrap()
            });
            let client = clients.get(index).unwrap_or(&anonymous);
            let expected = if index == usize::MAX { 401 } else { case.expect[index] };
            let (status, body) = call(client, case.method.clone(), &app.url(&format!("/api/v1{path}")), body).await;
            if status.as_u16() != expected {
                failures.push(format!("{} {path} as {actor}: expected {expected}, got {status} {body}", case.method));
            }
            if status.is_client_error() {
                assert!(body["error"]["code"].as_str().is_some(), "{} {path} as {actor}: {body}", case.method);
            }
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn account_level_routes_need_a_signed_in_caller(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let anonymous = app.browser();
    let routes = [
        (Method::GET, "/api/v1/me", None),
        (Method::GET, "/api/v1/projects", None),
        (Method::POST, "/api/v1/projects", Some(json!({ "name": "X" }))),
        (Method::GET, "/api/v1/tokens", None),
        (Method::POST, "/api/v1/tokens", Some(json!({ "name": "x", "scopes": ["read"] }))),
        (Method::DELETE, "/api/v1/tokens/0190a1b2-0000-7000-8000-000000000000", None),
    ];
    for (method, path, body) in routes {
        let (status, answer) = call(&anonymous, method.clone(), &app.url(path), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {answer}");
        assert_eq!(answer["error"]["code"], "unauthorized");
    }
}

/// A member's access to write, as a service receives it.
async fn access_of(db: &PgPool, project: &Project, username: &str) -> ProjectAccess {
    let user: UserId =
        sqlx::query_scalar("SELECT id FROM users WHERE username = $1").bind(username).fetch_one(db).await.unwrap();
    let actor = Actor {
        user_id: user,
        username: username.to_owned(),
        credential: Credential::Token { token_id: uuid::Uuid::nil(), scopes: vec![Scope::Read, Scope::Write] },
    };
    authorization::authorize(db, &actor, project.id, Permission::Write).await.unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_write_confirms_the_role_inside_its_own_transaction(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let ada = app.signup("ada").await;
    app.signup("bob").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "bob", Role::Editor).await;
    let bob = access_of(&db, &project, "bob").await;
    let role_url = app.url(&format!("/api/v1/projects/{}/members/bob", project.id));

    // While bob's write is under way, his demotion waits for it to end.
    let writing = bob.begin(&db).await.expect("an editor may write");
    let demote = call(&ada, Method::PUT, &role_url, Some(json!({ "role": "viewer" })));
    tokio::pin!(demote);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut demote).await.is_err(),
        "the demotion waits for the write that began before it"
    );
    writing.commit().await.unwrap();
    let (status, body) = demote.await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The access he was granted before no longer opens a write.
    let refused = bob.begin(&db).await.expect_err("a viewer may not write");
    assert!(matches!(refused, charter_backend::Error::Forbidden(_)), "{refused:?}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_malformed_id_in_a_path_is_named_in_a_400(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    for (path, message) in [
        ("/api/v1/projects/nonsense/branches", "`nonsense` is not a project id"),
        ("/api/v1/documents/nonsense", "`nonsense` is not a document id"),
    ] {
        let (status, body) = call(&ada, Method::GET, &app.url(path), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["message"], message, "{path}");
    }
}
