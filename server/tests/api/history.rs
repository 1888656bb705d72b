//! History through the API: the versions merges make and the tags that name them.

use charter_types::{Project, Role};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::change_requests;
use crate::harness::{call, TestApp};

/// A project owned by ada with a spec on main, merging without approvals.
struct Setup {
    app: TestApp,
    ada: Client,
    project: Project,
    login: String,
}

async fn setup(db: PgPool) -> Setup {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let login = app.document(&ada, &project, "Login", None).await.id.to_string();
    let s = Setup { app, ada, project, login };
    let (status, body) =
        call(&s.ada, Method::PATCH, &s.url("/settings"), Some(json!({ "required_approvals": 0 }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    s
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1/projects/{}{path}", self.project.id))
    }

    /// Merges a change to Login made on branch `name`: a new version of main, its id.
    async fn merged(&self, name: &str) -> String {
        let (status, body) = call(&self.ada, Method::POST, &self.url("/branches"), Some(json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let content = self.app.url(&format!("/api/v1/documents/{}/content?branch={name}", self.login));
        let text = format!("# Login\n\nChanged on {name}.\n");
        let (status, body) = call(&self.ada, Method::PUT, &content, Some(json!({ "content": text }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let opened = json!({ "source": name, "target": "main", "title": format!("Merge {name}") });
        let (status, created) = call(&self.ada, Method::POST, &self.url("/change-requests"), Some(opened)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let merge = self.url(&format!("/change-requests/{}/merge", created["number"]));
        let (status, merged) = call(&self.ada, Method::POST, &merge, Some(json!({}))).await;
        assert_eq!(status, StatusCode::OK, "{merged}");
        merged["version"]["id"].as_str().unwrap().to_owned()
    }

    async fn tag(&self, name: &str, version: &str) {
        let body = json!({ "name": name, "version": version });
        let (status, tag) = call(&self.ada, Method::POST, &self.url("/tags"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{tag}");
        assert!(tag["created_at"].is_string(), "{tag}");
    }
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|item| item[field].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn tags_are_listed_in_the_order_they_were_made(db: PgPool) {
    let s = setup(db).await;
    let (status, empty) = call(&s.ada, Method::GET, &s.url("/tags"), None).await;
    assert_eq!((status, empty), (StatusCode::OK, json!([])), "no tags before any are made");

    let first = s.merged("one").await;
    let second = s.merged("two").await;
    // Not in the order of names or versions: in the order made.
    s.tag("v2.0.0", &second).await;
    s.tag("v1.0.0", &first).await;
    s.tag("stable", &second).await;

    let (status, tags) = call(&s.ada, Method::GET, &s.url("/tags"), None).await;
    assert_eq!(status, StatusCode::OK, "{tags}");
    assert_eq!(names(&tags, "name"), ["v2.0.0", "v1.0.0", "stable"]);
    let versions: Vec<(&str, i64)> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| (tag["version"]["id"].as_str().unwrap(), tag["version"]["number"].as_i64().unwrap()))
        .collect();
    assert_eq!(versions, [(second.as_str(), 2), (first.as_str(), 1), (second.as_str(), 2)]);
    let made: Vec<&str> = tags.as_array().unwrap().iter().map(|tag| tag["created_at"].as_str().unwrap()).collect();
    assert!(made.windows(2).all(|pair| pair[0] <= pair[1]), "{made:?}");

    // Readers list them; people outside the project learn nothing of it.
    let vera = s.app.signup("vera").await;
    s.app.add_member(&s.ada, &s.project, "vera", Role::Viewer).await;
    let (status, seen) = call(&vera, Method::GET, &s.url("/tags"), None).await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen, tags);
    let mallory = s.app.signup("mallory").await;
    let (status, body) = call(&mallory, Method::GET, &s.url("/tags"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn each_version_names_its_tags(db: PgPool) {
    let s = setup(db).await;
    let first = s.merged("one").await;
    let second = s.merged("two").await;
    s.tag("v1.0.0", &first).await;
    s.tag("v1.1.0", &second).await;
    s.tag("latest", &second).await;

    let (status, versions) = call(&s.ada, Method::GET, &s.url("/versions"), None).await;
    assert_eq!(status, StatusCode::OK, "{versions}");
    let tagged: Vec<(i64, Value)> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|version| (version["number"].as_i64().unwrap(), version["tags"].clone()))
        .collect();
    assert_eq!(tagged, [(2, json!(["v1.1.0", "latest"])), (1, json!(["v1.0.0"]))], "newest first, tags as made");

    // A version with no tag says so with an empty list, and a tag's version carries its names too.
    let third = s.merged("three").await;
    let (_, versions) = call(&s.ada, Method::GET, &s.url("/versions"), None).await;
    assert_eq!((versions[0]["id"].as_str(), &versions[0]["tags"]), (Some(third.as_str()), &json!([])));
    let (_, tags) = call(&s.ada, Method::GET, &s.url("/tags"), None).await;
    assert_eq!(tags[0]["version"]["tags"], json!(["v1.0.0"]));
}

/// A merged version, tagged, read as it was and compared with what came after.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn versions_can_be_tagged_read_and_compared(db: PgPool) {
    let s = change_requests::setup(db).await;
    let first = s.merged_line_two().await;

    let (status, versions) = call(&s.ada, Method::GET, &s.url("/versions?branch=main"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(versions.as_array().unwrap().len(), 1);
    assert_eq!(versions[0]["id"], first.as_str());

    let tags = s.url("/tags");
    let (status, tag) = call(&s.ada, Method::POST, &tags, Some(json!({ "name": "v1.0.0", "version": first }))).await;
    assert_eq!(status, StatusCode::CREATED, "{tag}");
    assert_eq!(tag["version"]["number"], 1);
    for (body, expected) in [
        (json!({ "name": "v1.0.0", "version": first }), StatusCode::CONFLICT),
        (json!({ "name": "bad tag", "version": first }), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({ "name": "v9", "version": uuid::Uuid::new_v4() }), StatusCode::NOT_FOUND),
    ] {
        let (status, answer) = call(&s.ada, Method::POST, &tags, Some(body.clone())).await;
        assert_eq!(status, expected, "{body} -> {answer}");
    }

    // main moves on: the tagged version still reads as it was.
    s.write(&s.login, "main", "line 1\nLINE 2\nline 3\nline 4\nline 5\nline 6\n").await;
    let at = |version: &str| s.app.url(&format!("/api/v1/documents/{}/at/{version}", s.login));
    let (status, old) = call(&s.ada, Method::GET, &at("v1.0.0"), None).await;
    assert_eq!(status, StatusCode::OK, "{old}");
    assert_eq!(old["content"], "line 1\nLINE 2\nline 3\nline 4\nline 5\n");
    assert_eq!(old["title"], "Login");
    let (_, by_id) = call(&s.ada, Method::GET, &at(&first), None).await;
    assert_eq!(by_id["content"], old["content"]);
    let (status, _) = call(&s.ada, Method::GET, &at("v404"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let diff = s.app.url(&format!("/api/v1/documents/{}/diff?from=v1.0.0", s.login));
    let (status, changes) = call(&s.ada, Method::GET, &diff, None).await;
    assert_eq!(status, StatusCode::OK, "{changes}");
    assert_eq!(changes["changes"], json!([{ "old_start": 5, "old": [], "new_start": 5, "new": ["line 6\n"] }]));
    assert_eq!(changes["from"]["number"], 1);

    // Viewers read history; strangers see nothing of it.
    let vera = s.app.signup("vera").await;
    s.app.add_member(&s.ada, &s.project, "vera", Role::Viewer).await;
    let (status, _) = call(&vera, Method::GET, &at("v1.0.0"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&vera, Method::POST, &tags, Some(json!({ "name": "v1.0.1", "version": first }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mallory = s.app.signup("mallory").await;
    let (status, _) = call(&mallory, Method::GET, &at("v1.0.0"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
