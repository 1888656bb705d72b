use charter_types::Role;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, TestApp};
use crate::peer::Peer;

fn titles(tree: &Value) -> Vec<String> {
    tree.as_array().unwrap().iter().map(|doc| doc["title"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_branch_forks_every_document_and_edits_stay_on_their_branch(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie) = app.signup_with_cookie("ada").await;
    let project = app.project(&ada, "Payments").await;
    let id = project.id;
    let login = app.document(&ada, &project, "Login", None).await;
    let doc = login.id;
    let branches = app.url(&format!("/api/v1/projects/{id}/branches"));

    let (status, draft) =
        call(&ada, Method::POST, &branches, Some(json!({ "name": "draft/login", "from": "main" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!((draft["name"].as_str(), draft["from"].as_str()), (Some("draft/login"), Some("main")));
    let (_, list) = call(&ada, Method::GET, &branches, None).await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["main", "draft/login"]);

    let tree =
        |branch: &str| app.url(&format!("/api/v1/projects/{id}/documents?branch={}", branch.replace('/', "%2F")));
    let (_, on_main) = call(&ada, Method::GET, &tree("main"), None).await;
    let (_, on_draft) = call(&ada, Method::GET, &tree("draft/login"), None).await;
    assert_eq!(titles(&on_draft), titles(&on_main));

    // Edits on the branch, by API and live, leave main alone; and the other way round.
    let doc_url = |branch: &str| app.url(&format!("/api/v1/documents/{doc}?branch={}", branch.replace('/', "%2F")));
    let content_url =
        |branch: &str| app.url(&format!("/api/v1/documents/{doc}/content?branch={}", branch.replace('/', "%2F")));
    let (status, _) =
        call(&ada, Method::PUT, &content_url("draft/login"), Some(json!({ "content": "# Login\n\nDraft.\n" }))).await;
    assert_eq!(status, StatusCode::OK);
    let mut live = Peer::connect_to(&app, &cookie, &format!("/collab/{doc}?branch=draft%2Flogin"), None).await.unwrap();
    live.sync().await;
    assert_eq!(live.text(), "# Login\n\nDraft.\n");
    live.insert(0, "<!-- wip -->\n").await;
    let (_, main_doc) = call(&ada, Method::GET, &doc_url("main"), None).await;
    assert_eq!(main_doc["content"], "# Login\n", "main is untouched");
    let mut on_main_live = Peer::joined(&app, &cookie, doc).await;
    assert_eq!(on_main_live.text(), "# Login\n");
    on_main_live.insert(8, "Main moves on.\n").await;
    let mut check =
        Peer::connect_to(&app, &cookie, &format!("/collab/{doc}?branch=draft%2Flogin"), None).await.unwrap();
    check.sync().await;
    check.until("the branch has its own edits only", |peer| peer.text() == "<!-- wip -->\n# Login\n\nDraft.\n").await;

    // The fork point is kept: the base of merging back.
    let (base,): (Option<String>,) = sqlx::query_as(
        "SELECT bd.fork_base FROM branch_documents bd JOIN branches b ON b.id = bd.branch_id
         WHERE b.name = 'draft/login' AND bd.document_id = $1::uuid",
    )
    .bind(doc)
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(base.as_deref(), Some("# Login\n"));

    // Documents made on a branch exist only there.
    let created_url = app.url(&format!("/api/v1/projects/{id}/documents?branch=draft%2Flogin"));
    let (status, _) =
        call(&ada, Method::POST, &created_url, Some(json!({ "title": "Login plan", "kind": "plan" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, on_draft) = call(&ada, Method::GET, &tree("draft/login"), None).await;
    let (_, on_main) = call(&ada, Method::GET, &tree("main"), None).await;
    assert!(titles(&on_draft).contains(&"Login plan".to_owned()));
    assert!(!titles(&on_main).contains(&"Login plan".to_owned()));

    // A branch of a branch starts from that branch.
    let (status, nested) =
        call(&ada, Method::POST, &branches, Some(json!({ "name": "draft/login-2", "from": "draft/login" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(nested["from"], "draft/login");
    let (_, nested_doc) = call(&ada, Method::GET, &doc_url("draft/login-2"), None).await;
    assert_eq!(nested_doc["content"], "<!-- wip -->\n# Login\n\nDraft.\n");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn branch_names_deletion_and_roles(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let vera = app.signup("vera").await;
    let mallory = app.signup("mallory").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "vera", Role::Viewer).await;
    let id = project.id;
    let branches = app.url(&format!("/api/v1/projects/{id}/branches"));
    let doc = app.document(&ada, &project, "Login", None).await;

    let (status, _) = call(&ada, Method::POST, &branches, Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED, "from main by default");
    for (body, expected) in [
        (json!({ "name": "draft" }), StatusCode::CONFLICT),
        (json!({ "name": "main" }), StatusCode::CONFLICT),
        (json!({ "name": "has space" }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "name": "x", "from": "nowhere" }), StatusCode::NOT_FOUND),
    ] {
        let (status, answer) = call(&ada, Method::POST, &branches, Some(body.clone())).await;
        assert_eq!(status, expected, "{body} -> {answer}");
        assert!(error_code(&answer).len() > 1);
    }
    let (status, _) = call(&vera, Method::POST, &branches, Some(json!({ "name": "viewer-branch" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&vera, Method::GET, &branches, None).await;
    assert_eq!(status, StatusCode::OK, "viewers see the branches");
    let (status, _) = call(&mallory, Method::GET, &branches, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = call(&ada, Method::DELETE, &format!("{branches}/main"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = call(&vera, Method::DELETE, &format!("{branches}/draft"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(&ada, Method::DELETE, &format!("{branches}/draft"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let url = app.url(&format!("/api/v1/documents/{}?branch=draft", doc.id));
    let (status, _) = call(&ada, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "its documents went with it");
    let (status, _) = call(&ada, Method::DELETE, &format!("{branches}/draft"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
