use charter_types::{Document, DocumentId};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, TestApp};

fn titles(tree: &Value) -> Vec<String> {
    tree.as_array().unwrap().iter().map(|doc| doc["title"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn documents_form_a_tree_that_can_be_renamed_and_rearranged(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let tree_url = app.tree_url(&project);
    let constitution = app.constitution(&ada, &project).await;
    let constitution_id = constitution.id;

    let login = app.document(&ada, &project, "Login", Some(constitution_id)).await;
    let login_id = login.id;
    assert_eq!(login.parent_id, Some(constitution_id));
    assert_eq!(login.project_id, project.id);
    assert_eq!(login.content, "# Login\n");
    let body = json!({ "title": "Login plan", "kind": "plan", "parent_id": login_id });
    let (status, plan) = call(&ada, Method::POST, &tree_url, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(plan["kind"], "plan");
    assert_eq!(plan["content"], "");
    let plan_id: DocumentId = plan["id"].as_str().unwrap().parse().unwrap();

    let (status, tree) = call(&ada, Method::GET, &tree_url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(titles(&tree), vec!["Constitution", "Login", "Login plan"]);
    let entry = tree.as_array().unwrap().iter().find(|doc| doc["id"] == json!(plan_id)).unwrap();
    assert_eq!(entry["parent_id"], json!(login_id));
    assert!(entry.get("position").is_some() && entry.get("kind").is_some());

    let doc_url = |id: DocumentId| app.url(&format!("/api/v1/documents/{id}"));
    let (status, renamed) =
        call(&ada, Method::PATCH, &doc_url(login_id), Some(json!({ "title": "  Sign in  " }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["title"], "Sign in");
    assert_eq!(renamed["parent_id"], json!(constitution_id), "renaming leaves the place alone");

    let (status, moved) =
        call(&ada, Method::PATCH, &doc_url(login_id), Some(json!({ "parent_id": null, "position": 5 }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moved["parent_id"], Value::Null);
    assert_eq!(moved["position"], 5);
    assert_eq!(moved["title"], "Sign in");

    let (status, body) = call(&ada, Method::PATCH, &doc_url(login_id), Some(json!({ "parent_id": plan_id }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no document goes under its own child: {body}");
    let (status, _) = call(&ada, Method::PATCH, &doc_url(login_id), Some(json!({ "parent_id": login_id }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "nor under itself");

    // A parent from another project is no parent here.
    let other = app.project(&ada, "Search").await;
    let foreign = app.constitution(&ada, &other).await;
    let (status, body) = call(&ada, Method::PATCH, &doc_url(login_id), Some(json!({ "parent_id": foreign.id }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let body = json!({ "title": "Stray", "kind": "spec", "parent_id": foreign.id });
    let (status, _) = call(&ada, Method::POST, &tree_url, Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, edited) = call(
        &ada,
        Method::PUT,
        &app.url(&format!("/api/v1/documents/{plan_id}/content")),
        Some(json!({ "content": "## Decisions\n\nUse Postgres." })),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["content"], "## Decisions\n\nUse Postgres.");
    let (_, fetched) = call(&ada, Method::GET, &doc_url(plan_id), None).await;
    assert_eq!(fetched["content"], "## Decisions\n\nUse Postgres.");
    for field in ["id", "project_id", "title", "kind", "parent_id", "content", "updated_at"] {
        assert!(fetched.get(field).is_some(), "GET /documents/{{id}} has {field}: {fetched}");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn deleting_takes_the_subtree_to_the_trash_and_restoring_brings_it_back(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let tree_url = app.tree_url(&project);
    let login = app.document(&ada, &project, "Login", None).await;
    let login_id = login.id;
    let plan = app.document(&ada, &project, "Login plan", Some(login_id)).await;
    let plan_id = plan.id;
    let doc_url = |id: DocumentId| app.url(&format!("/api/v1/documents/{id}"));

    // The plan was deleted on its own earlier; it must not come back with its parent.
    let lone = app.document(&ada, &project, "Old notes", Some(login_id)).await;
    let lone_id = lone.id;
    let (status, _) = call(&ada, Method::DELETE, &doc_url(lone_id), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let (status, _) = call(&ada, Method::DELETE, &doc_url(login_id), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, tree) = call(&ada, Method::GET, &tree_url, None).await;
    assert_eq!(titles(&tree), vec!["Constitution"]);
    let (_, trash) = call(&ada, Method::GET, &format!("{tree_url}?deleted=true"), None).await;
    let mut trashed = titles(&trash);
    trashed.sort();
    assert_eq!(trashed, vec!["Login", "Login plan", "Old notes"]);
    assert!(trash[0]["deleted_at"].as_str().is_some());

    let (status, doc) = call(&ada, Method::GET, &doc_url(plan_id), None).await;
    assert_eq!(status, StatusCode::OK, "deleted documents stay readable");
    assert!(doc["deleted_at"].as_str().is_some());
    let (status, body) =
        call(&ada, Method::PUT, &format!("{}/content", doc_url(plan_id)), Some(json!({ "content": "x" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = call(&ada, Method::POST, &format!("{}/restore", doc_url(plan_id)), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "a child waits for its parent");

    let (status, restored) = call(&ada, Method::POST, &format!("{}/restore", doc_url(login_id)), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored["deleted_at"], Value::Null);
    let (_, tree) = call(&ada, Method::GET, &tree_url, None).await;
    assert_eq!(
        titles(&tree),
        vec!["Constitution", "Login", "Login plan"],
        "the subtree is back, the older deletion is not"
    );
    let (status, _) = call(&ada, Method::POST, &format!("{}/restore", doc_url(login_id)), None).await;
    assert_eq!(status, StatusCode::OK, "restoring a live document changes nothing");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_project_has_one_constitution_changed_only_through_review_on_main(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let id = project.id;
    let first = app.constitution(&ada, &project).await;
    let first_id = first.id;
    let body = json!({ "title": "Second constitution", "kind": "constitution" });

    // On main the constitution changes only through change requests.
    let on_main = app.url(&format!("/api/v1/documents/{first_id}"));
    let (_, fetched) = call(&ada, Method::GET, &on_main, None).await;
    assert_eq!(fetched["protected"], true);
    for (method, url, payload) in [
        (Method::PUT, format!("{on_main}/content"), Some(json!({ "content": "rewritten" }))),
        (Method::PATCH, on_main.clone(), Some(json!({ "title": "Rules" }))),
        (Method::DELETE, on_main.clone(), None),
        (Method::POST, app.url(&format!("/api/v1/projects/{id}/documents")), Some(body.clone())),
    ] {
        let (status, answer) = call(&ada, method.clone(), &url, payload).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {url}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().contains("change request"), "{answer}");
    }

    // On a branch it is a document like the others, and still the only one.
    call(&ada, Method::POST, &app.url(&format!("/api/v1/projects/{id}/branches")), Some(json!({ "name": "draft" })))
        .await;
    let tree_url = app.url(&format!("/api/v1/projects/{id}/documents?branch=draft"));
    let (status, answer) = call(&ada, Method::POST, &tree_url, Some(body.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    let first_url = app.url(&format!("/api/v1/documents/{first_id}?branch=draft"));
    let (status, _) = call(&ada, Method::DELETE, &first_url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&ada, Method::POST, &tree_url, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "with the old one in the trash a new one may be written");
    let restore = app.url(&format!("/api/v1/documents/{first_id}/restore?branch=draft"));
    let (status, _) = call(&ada, Method::POST, &restore, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "but the old one can't come back beside it");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn bad_input_gets_a_clear_4xx(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let tree_url = app.tree_url(&project);
    let doc = app.document(&ada, &project, "Login", None).await;
    let content_url = app.url(&format!("/api/v1/documents/{}/content", doc.id));

    let raw =
        |url: &str, body: &'static str| ada.post(url).header("content-type", "application/json").body(body).send();
    let response = raw(&tree_url, "{\"title\": ").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (_, body) = crate::harness::read(response).await;
    assert_eq!(error_code(&body), "bad_request");

    let response = ada.post(&tree_url).body("title=x").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "JSON is required");

    for body in [
        json!({ "kind": "spec" }),
        json!({ "title": "X", "kind": "novel" }),
        json!({ "title": "", "kind": "spec" }),
        json!({ "title": "x".repeat(201), "kind": "spec" }),
        json!({ "title": "X", "kind": "spec", "parent_id": "not-an-id" }),
    ] {
        let (status, answer) = call(&ada, Method::POST, &tree_url, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {answer}");
        assert_eq!(error_code(&answer), "invalid");
    }

    let too_long = "a".repeat(2 * 1024 * 1024 + 1);
    let (status, answer) = call(&ada, Method::PUT, &content_url, Some(json!({ "content": too_long }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let huge = "a".repeat(5 * 1024 * 1024);
    let response = ada.put(&content_url).json(&json!({ "content": huge })).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let (_, fetched) = call(&ada, Method::GET, &app.url(&format!("/api/v1/documents/{}", doc.id)), None).await;
    assert_eq!(fetched["content"], "# Login\n", "refused writes change nothing");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_edit_with_its_base_is_merged_into_what_changed_meanwhile_or_refused(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let doc = app.document(&ada, &project, "Cart", None).await;
    let content_url = app.url(&format!("/api/v1/documents/{}/content", doc.id));
    let base = "# Cart\n\nKept 30 days.\n\nTotals shown.\n";
    let _: Document = expect(&ada, Method::PUT, &content_url, Some(json!({ "content": base }))).await;
    // Someone else edits the first line meanwhile.
    let theirs = base.replace("# Cart", "# Shopping cart");
    let _: Document = expect(&ada, Method::PUT, &content_url, Some(json!({ "content": theirs }))).await;

    let mine = base.replace("Totals shown.", "Totals shown with taxes.");
    let merged: Document =
        expect(&ada, Method::PUT, &content_url, Some(json!({ "content": mine, "base": base }))).await;
    assert_eq!(merged.content, "# Shopping cart\n\nKept 30 days.\n\nTotals shown with taxes.\n", "both edits");

    let clash = base.replace("# Cart", "# Basket");
    let (status, body) = call(&ada, Method::PUT, &content_url, Some(json!({ "content": clash, "base": base }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["details"]["conflicts"][0]["yours"], "# Basket\n", "{body}");
    assert_eq!(body["error"]["details"]["conflicts"][0]["document"], "# Shopping cart\n", "{body}");
    let fetched: Document = expect(&ada, Method::GET, &app.url(&format!("/api/v1/documents/{}", doc.id)), None).await;
    assert!(fetched.content.starts_with("# Shopping cart\n"), "a conflict writes nothing: {}", fetched.content);
}
