use charter_types::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, TestApp};

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_change_lands_in_the_activity_newest_first(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    app.signup("grace").await;
    let project = app.project(&ada, "Payments").await;
    let id = project.id;
    let doc = app.document(&ada, &project, "Login", None).await;
    let doc_url = app.url(&format!("/api/v1/documents/{}", doc.id));
    call(&ada, Method::PUT, &format!("{doc_url}/content"), Some(json!({ "content": "v2" }))).await;
    call(&ada, Method::PATCH, &doc_url, Some(json!({ "title": "Sign in" }))).await;
    call(&ada, Method::PATCH, &doc_url, Some(json!({ "position": 3 }))).await;
    call(&ada, Method::DELETE, &doc_url, None).await;
    call(&ada, Method::POST, &format!("{doc_url}/restore"), None).await;
    app.add_member(&ada, &project, "grace", Role::Viewer).await;
    app.add_member(&ada, &project, "grace", Role::Editor).await;
    call(&ada, Method::DELETE, &app.url(&format!("/api/v1/projects/{id}/members/grace")), None).await;

    let activity_url = app.url(&format!("/api/v1/projects/{id}/activity"));
    let (status, entries) = call(&ada, Method::GET, &activity_url, None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        vec![
            "member.remove",
            "member.role",
            "member.add",
            "document.restore",
            "document.delete",
            "document.move",
            "document.rename",
            "document.edit",
            "document.create",
            "document.create",
            "branch.create",
            "project.create",
        ]
    );
    let newest = &entries[0];
    assert_eq!(newest["actor"], "ada");
    assert_eq!(newest["summary"], "removed grace");
    assert_eq!(newest["object_type"], "user");
    assert!(newest["created_at"].as_str().is_some());
    assert_eq!(entries[6]["summary"], "renamed Login to Sign in");

    // Paging back in time.
    let (_, first) = call(&ada, Method::GET, &format!("{activity_url}?limit=5"), None).await;
    assert_eq!(first.as_array().unwrap().len(), 5);
    let cursor = first[4]["id"].as_i64().unwrap();
    let (_, next) = call(&ada, Method::GET, &format!("{activity_url}?limit=5&before={cursor}"), None).await;
    assert_eq!(next[0]["action"], "document.move");
    assert!(next[0]["id"].as_i64().unwrap() < cursor);

    for bad in ["?limit=0", "?limit=1000", "?before=abc"] {
        let (status, _) = call(&ada, Method::GET, &format!("{activity_url}{bad}"), None).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {status}");
    }
}
