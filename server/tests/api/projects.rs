use charter_types::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, error_code, TestApp};

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_new_project_has_a_constitution_a_main_branch_and_its_creator_as_owner(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments Platform").await;
    assert_eq!(project.name, "Payments Platform");
    assert_eq!(project.slug, "payments-platform");
    assert_eq!(project.role, Role::Owner);
    let id = project.id;

    let (status, fetched) = call(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{id}")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["slug"], "payments-platform");

    let constitution = app.constitution(&ada, &project).await;
    assert_eq!(constitution.title, "Constitution");
    let (_, doc) = call(&ada, Method::GET, &app.url(&format!("/api/v1/documents/{}", constitution.id)), None).await;
    assert!(doc["content"].as_str().unwrap().contains("## Core principles"), "{doc}");

    let (branches,): (Vec<String>,) =
        sqlx::query_as("SELECT array_agg(name) FROM branches WHERE project_id = $1::uuid")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(branches, vec!["main".to_owned()]);

    // Same name again: a distinct slug.
    let again = app.project(&ada, "Payments platform").await;
    assert_eq!(again.slug, "payments-platform-2");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn people_see_only_the_projects_they_belong_to(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let grace = app.signup("grace").await;
    let payments = app.project(&ada, "Payments").await;
    app.project(&grace, "Search").await;

    let (_, list) = call(&ada, Method::GET, &app.url("/api/v1/projects"), None).await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["Payments"]);

    let url = app.url(&format!("/api/v1/projects/{}", payments.id));
    let (status, body) = call(&grace, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a stranger can't tell the project exists");
    assert_eq!(error_code(&body), "not_found");

    let (status, _) =
        call(&grace, Method::GET, &app.url(&format!("/api/v1/projects/{}", uuid::Uuid::new_v4())), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&grace, Method::GET, &app.url("/api/v1/projects/not-a-uuid"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "bad_request");

    for body in [json!({ "name": "" }), json!({ "name": "x".repeat(101) }), json!({})] {
        let (status, answer) = call(&ada, Method::POST, &app.url("/api/v1/projects"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {answer}");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn owners_manage_members_and_a_project_keeps_an_owner(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let grace = app.signup("grace").await;
    let project = app.project(&ada, "Payments").await;
    let id = project.id;
    let member = |name: &str| app.url(&format!("/api/v1/projects/{id}/members/{name}"));
    let members = app.url(&format!("/api/v1/projects/{id}/members"));

    let (status, added) = call(&ada, Method::PUT, &member("grace"), Some(json!({ "role": "viewer" }))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((added["username"].as_str(), added["role"].as_str()), (Some("grace"), Some("viewer")));

    let (status, list) = call(&grace, Method::GET, &members, None).await;
    assert_eq!(status, StatusCode::OK, "viewers see who else is here");
    let roles: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["username"].as_str().unwrap().into(), m["role"].as_str().unwrap().into()))
        .collect();
    assert_eq!(roles, vec![("ada".into(), "owner".into()), ("grace".into(), "viewer".into())]);

    let (status, _) = call(&grace, Method::PUT, &member("grace"), Some(json!({ "role": "owner" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer can't promote themselves");

    let (status, body) = call(&ada, Method::PUT, &member("ada"), Some(json!({ "role": "editor" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = call(&ada, Method::DELETE, &member("ada"), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "the last owner stays");

    let (status, _) = call(&ada, Method::PUT, &member("grace"), Some(json!({ "role": "owner" }))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&ada, Method::PUT, &member("ada"), Some(json!({ "role": "reviewer" }))).await;
    assert_eq!(status, StatusCode::OK, "with another owner, ada may step down");

    let (status, body) = call(&grace, Method::PUT, &member("nobody"), Some(json!({ "role": "viewer" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = call(&grace, Method::PUT, &member("ada"), Some(json!({ "role": "admin" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let (status, _) = call(&grace, Method::DELETE, &member("ada"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&grace, Method::DELETE, &member("ada"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&ada, Method::GET, &members, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a removed member loses access");
}
