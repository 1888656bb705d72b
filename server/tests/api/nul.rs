//! U+0000, which Postgres `text` cannot hold: refused in every text input with a 4xx, and
//! harmless when it reaches a document through a live edit anyway.

use std::time::Duration;

use leptos::server_fn::ServerFn;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, eventually, read, TestApp, PASSWORD};
use crate::peer::Peer;

/// Asserts a refusal in the API's shape that names the NUL character.
fn refused(what: &str, (status, body): (StatusCode, Value)) {
    assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY, "{what}: {status} {body}");
    error_code(&body);
    assert!(body["error"]["message"].as_str().unwrap().contains("NUL"), "{what}: {body}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn nul_in_any_text_input_is_refused_with_a_4xx(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let id = project.id;
    let login = app.document(&ada, &project, "Login", None).await.id;
    let api = |path: &str| app.url(&format!("/api/v1{path}"));
    let (status, _) =
        call(&ada, Method::POST, &api(&format!("/projects/{id}/branches")), Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let content = api(&format!("/documents/{login}/content?branch=draft"));
    let (status, _) = call(&ada, Method::PUT, &content, Some(json!({ "content": "# Login\n\nchanged\n" }))).await;
    assert_eq!(status, StatusCode::OK);
    let proposal = json!({ "source": "draft", "target": "main", "title": "Change" });
    let (status, created) =
        call(&ada, Method::POST, &api(&format!("/projects/{id}/change-requests")), Some(proposal)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let number = created["number"].as_i64().unwrap();

    // Signing up and logging in: no session needed to reach the database.
    let stranger = app.browser();
    let credentials = json!({ "username": "mal\u{0}lory", "password": PASSWORD });
    refused("signup", call(&stranger, Method::POST, &api("/auth/signup"), Some(credentials.clone())).await);
    refused("login", call(&stranger, Method::POST, &api("/auth/login"), Some(credentials)).await);

    let nul = "a\u{0}b";
    let cases = [
        ("project name", Method::POST, api("/projects"), json!({ "name": nul })),
        (
            "document title",
            Method::POST,
            api(&format!("/projects/{id}/documents")),
            json!({ "title": nul, "kind": "spec" }),
        ),
        ("rename", Method::PATCH, api(&format!("/documents/{login}")), json!({ "title": nul })),
        ("content", Method::PUT, api(&format!("/documents/{login}/content")), json!({ "content": nul })),
        ("branch name", Method::POST, api(&format!("/projects/{id}/branches")), json!({ "name": nul })),
        (
            "change request title",
            Method::POST,
            api(&format!("/projects/{id}/change-requests")),
            json!({ "source": "draft", "target": "main", "title": nul }),
        ),
        (
            "comment",
            Method::POST,
            api(&format!("/projects/{id}/change-requests/{number}/comments")),
            json!({ "body": nul }),
        ),
        ("token name", Method::POST, api("/tokens"), json!({ "name": nul, "scopes": ["read"] })),
        ("rendering", Method::POST, api("/render"), json!({ "markdown": nul })),
    ];
    for (what, method, url, body) in cases {
        refused(what, call(&ada, method, &url, Some(body)).await);
    }
    for (what, method, url) in [
        ("?branch=", Method::GET, api(&format!("/projects/{id}/documents?branch=ma%00in"))),
        ("?branch= on a document", Method::GET, api(&format!("/documents/{login}?branch=%00"))),
        ("a branch in the path", Method::DELETE, api(&format!("/projects/{id}/branches/dr%00aft"))),
        ("a username in the path", Method::DELETE, api(&format!("/projects/{id}/members/ad%00a"))),
        ("a tag in the path", Method::GET, api(&format!("/documents/{login}/at/v1%00"))),
    ] {
        refused(what, call(&ada, method, &url, None).await);
    }

    // An escaped backslash before `u0000` is six ordinary characters.
    let (status, literal) =
        call(&ada, Method::POST, &api("/projects"), Some(json!({ "name": "back\\u0000slash" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{literal}");
    assert_eq!(literal["name"], "back\\u0000slash");
}

/// The form the login page posts, to its server function.
async fn login_form(app: &TestApp, username: &str) -> (StatusCode, String) {
    let client = Client::new();
    let response = client
        .post(app.url(charter_app::account::Login::PATH))
        .header("origin", &app.base)
        .form(&[("username", username), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn nul_in_a_server_function_argument_is_the_callers_mistake(db: PgPool) {
    let app = TestApp::spawn(db).await;
    app.signup("ada").await;
    let (_, answer) = login_form(&app, "ada\u{0}").await;
    let error: Value = serde_json::from_str(&answer).unwrap_or(Value::String(answer.clone()));
    assert!(error["Invalid"].as_str().is_some_and(|why| why.contains("NUL")), "told what is wrong: {answer}");
}

async fn get(client: &Client, url: &str) -> Value {
    let (status, body) = call(client, Method::GET, url, None).await;
    assert_eq!(status, StatusCode::OK, "{url}: {body}");
    body
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_nul_typed_live_leaves_branching_reading_reviewing_and_merging_working(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie) = app.signup_with_cookie("ada").await;
    let project = app.project(&ada, "Payments").await;
    let id = project.id;
    let api = |path: &str| app.url(&format!("/api/v1{path}"));
    let (status, _) =
        call(&ada, Method::PATCH, &api(&format!("/projects/{id}/settings")), Some(json!({ "required_approvals": 0 })))
            .await;
    assert_eq!(status, StatusCode::OK);
    let doc = app.document(&ada, &project, "Login", None).await.id;

    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    editor.insert(8, "\nThe system SHALL\u{0} lock.\n").await;
    let projected = || async {
        let (content,): (String,) = sqlx::query_as(
            "SELECT content FROM branch_documents bd JOIN branches b ON b.id = bd.branch_id
                            WHERE b.name = 'main' AND bd.document_id = $1::uuid",
        )
        .bind(&doc)
        .fetch_one(&app.db)
        .await
        .unwrap();
        content
    };
    eventually("the projection takes the edit", Duration::from_secs(5), || async {
        projected().await.contains("SHALL\u{FFFD} lock.")
    })
    .await;

    let document = get(&ada, &api(&format!("/documents/{doc}"))).await;
    assert_eq!(document["content"], "# Login\n\nThe system SHALL\u{FFFD} lock.\n", "read as U+FFFD");

    // Branching copies every document's text.
    let (status, body) =
        call(&ada, Method::POST, &api(&format!("/projects/{id}/branches")), Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let draft = api(&format!("/documents/{doc}/content?branch=draft"));
    let fixed = "# Login\n\nThe system SHALL lock after 5 failures.\n";
    let (status, body) = call(&ada, Method::PUT, &draft, Some(json!({ "content": fixed }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Reviewing and merging it back.
    let proposal = json!({ "source": "draft", "target": "main", "title": "Lockout" });
    let (status, created) =
        call(&ada, Method::POST, &api(&format!("/projects/{id}/change-requests")), Some(proposal)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let change_request = api(&format!("/projects/{id}/change-requests/{}", created["number"]));
    let view = get(&ada, &change_request).await;
    assert_eq!(view["conflicts"], json!([]), "{view}");
    let (status, merged) = call(&ada, Method::POST, &format!("{change_request}/merge"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    editor.until("the merge reaches the editor", |peer| peer.text() == fixed).await;

    // History, lint, requirements and questions read the same text.
    let version = merged["version"]["id"].as_str().unwrap();
    let at = get(&ada, &api(&format!("/documents/{doc}/at/{version}"))).await;
    assert_eq!(at["content"], fixed);
    get(&ada, &api(&format!("/documents/{doc}/lint"))).await;
    get(&ada, &api(&format!("/projects/{id}/requirements"))).await;
    get(&ada, &api(&format!("/projects/{id}/clarifications"))).await;

    // And a NUL typed on the merged text still lets the project branch again.
    editor.insert(0, "\u{0}").await;
    eventually("the projection takes it", Duration::from_secs(5), || async {
        projected().await.starts_with('\u{FFFD}')
    })
    .await;
    let (status, body) =
        call(&ada, Method::POST, &api(&format!("/projects/{id}/branches")), Some(json!({ "name": "again" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, _) = read(ada.get(api(&format!("/projects/{id}/versions"))).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}
