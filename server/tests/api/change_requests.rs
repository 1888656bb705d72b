use std::fmt::Display;

use charter_types::{Actions, ChangeRequestState, DocumentId, MergeBlocker, Project, ProjectId, Role};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, TestApp};

/// A project with two specs, a reviewer, and a branch `draft` forked from main.
pub(crate) struct Setup {
    pub app: TestApp,
    /// The owner, who opens the change requests.
    pub ada: Client,
    /// A reviewer.
    pub rita: Client,
    pub project: Project,
    pub id: ProjectId,
    pub login: DocumentId,
    pub billing: DocumentId,
}

pub(crate) async fn setup(db: PgPool) -> Setup {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let rita = app.signup("rita").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "rita", Role::Reviewer).await;
    let id = project.id;
    let login = app.document(&ada, &project, "Login", None).await.id;
    let billing = app.document(&ada, &project, "Billing", None).await.id;
    let branches = app.url(&format!("/api/v1/projects/{id}/branches"));
    let (status, _) = call(&ada, Method::POST, &branches, Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    Setup { app, ada, rita, project, id, login, billing }
}

impl Setup {
    pub fn url(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1/projects/{}{path}", self.id))
    }

    pub async fn write(&self, document: impl Display, branch: &str, content: &str) {
        let url = self.app.url(&format!("/api/v1/documents/{document}/content?branch={branch}"));
        let (status, body) = call(&self.ada, Method::PUT, &url, Some(json!({ "content": content }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn open(&self) -> i64 {
        let body = json!({ "source": "draft", "target": "main", "title": "Sign-in rework", "description": "Why." });
        let (status, created) = call(&self.ada, Method::POST, &self.url("/change-requests"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["number"].as_i64().unwrap()
    }

    pub async fn view(&self, number: i64) -> Value {
        let (status, view) = call(&self.ada, Method::GET, &self.url(&format!("/change-requests/{number}")), None).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        view
    }
}

fn change<'a>(view: &'a Value, title: &str) -> &'a Value {
    view["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|doc| doc["title"] == title)
        .unwrap_or_else(|| panic!("{title} in {view}"))
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_change_request_shows_what_the_branch_changed_per_document(db: PgPool) {
    let s = setup(db).await;
    s.write(&s.login, "draft", "# Login\n\nThe system SHALL lock after 5 failures.\n").await;
    let doc = |id: DocumentId| s.app.url(&format!("/api/v1/documents/{id}?branch=draft"));
    let (status, _) =
        call(&s.ada, Method::PATCH, &doc(s.billing), Some(json!({ "title": "Invoicing", "parent_id": s.login }))).await;
    assert_eq!(status, StatusCode::OK);
    let created = s.app.url(&format!("/api/v1/projects/{}/documents?branch=draft", s.id));
    call(
        &s.ada,
        Method::POST,
        &created,
        Some(json!({ "title": "Lockout plan", "kind": "plan", "content": "Plan.\n" })),
    )
    .await;
    let constitution = s.app.constitution(&s.ada, &s.project).await;
    let (status, _) = call(&s.ada, Method::DELETE, &doc(constitution.id), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    let number = s.open().await;
    assert_eq!(number, 1, "numbered per project");
    let view = s.view(number).await;
    assert_eq!(
        (view["state"].as_str(), view["source"].as_str(), view["target"].as_str()),
        (Some("open"), Some("draft"), Some("main"))
    );
    assert_eq!(view["author"], "ada");

    let login = change(&view, "Login");
    assert_eq!(login["changes"], json!(["modified"]));
    assert_eq!(login["lines_added"], 2);
    assert_eq!(login["diff"][0]["new"], json!(["\n", "The system SHALL lock after 5 failures.\n"]));
    let invoicing = change(&view, "Invoicing");
    assert_eq!(invoicing["changes"], json!(["renamed", "moved"]));
    assert_eq!(invoicing["renamed_from"], "Billing");
    assert_eq!(change(&view, "Lockout plan")["changes"], json!(["added"]));
    assert_eq!(change(&view, "Constitution")["changes"], json!(["deleted"]));
    assert_eq!(view["documents"].as_array().unwrap().len(), 4, "unchanged documents are left out");
    assert_eq!(view["conflicts"], json!([]));

    let (_, open) = call(&s.ada, Method::GET, &s.url("/change-requests?state=open"), None).await;
    assert_eq!(open.as_array().unwrap().len(), 1);
    let (_, merged) = call(&s.ada, Method::GET, &s.url("/change-requests?state=merged"), None).await;
    assert_eq!(merged, json!([]));
    let (status, _) = call(&s.ada, Method::GET, &s.url("/change-requests?state=bogus"), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn approvals_need_a_reviewer_other_than_the_author_and_go_stale_on_new_edits(db: PgPool) {
    let s = setup(db).await;
    s.write(&s.login, "draft", "# Login\n\nv2\n").await;
    let number = s.open().await;
    let reviews = s.url(&format!("/change-requests/{number}/reviews"));

    let (status, body) = call(&s.ada, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "authors can't approve their own change: {body}");
    let view = s.view(number).await;
    assert_eq!((view["approved"].as_bool(), view["required_approvals"].as_i64()), (Some(false), Some(1)));

    let (status, view) =
        call(&s.rita, Method::POST, &reviews, Some(json!({ "verdict": "approve", "comment": "Looks right." }))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["approvals"], json!([{ "user": "rita", "stale": false }]));
    assert_eq!(view["approved"], true);

    // A new edit on the source after the approval makes it stale.
    s.write(&s.login, "draft", "# Login\n\nv3\n").await;
    let view = s.view(number).await;
    assert_eq!(view["approvals"], json!([{ "user": "rita", "stale": true }]));
    assert_eq!(view["approved"], false);
    assert_eq!(view["reviews"][0]["comment"], "Looks right.");

    // Her latest verdict counts: changes requested, then approved again.
    call(&s.rita, Method::POST, &reviews, Some(json!({ "verdict": "request_changes", "comment": "Say why." }))).await;
    assert_eq!(s.view(number).await["approvals"], json!([]));
    let (_, view) = call(&s.rita, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
    assert_eq!(view["approvals"], json!([{ "user": "rita", "stale": false }]));

    // Editors may not review; strangers don't see the change request at all.
    let eddie = s.app.signup("eddie").await;
    s.app.add_member(&s.ada, &s.project, "eddie", Role::Editor).await;
    let (status, _) = call(&eddie, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mallory = s.app.signup("mallory").await;
    let (status, _) = call(&mallory, Method::GET, &s.url(&format!("/change-requests/{number}")), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&s.ada, Method::GET, &s.url("/change-requests/99"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn conflicts_are_listed_live_as_either_side_changes(db: PgPool) {
    let s = setup(db).await;
    s.write(&s.login, "main", "line 1\nline 2\nline 3\nline 4\nline 5\n").await;
    // Re-fork after main has content, so the base is known.
    let branch = s.url("/branches");
    call(&s.ada, Method::DELETE, &format!("{branch}/draft"), None).await;
    call(&s.ada, Method::POST, &branch, Some(json!({ "name": "draft" }))).await;
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\n").await;
    let number = s.open().await;
    assert_eq!(s.view(number).await["conflicts"], json!([]), "main has not changed: nothing to conflict");

    s.write(&s.login, "main", "line 1\nline 2\nline 3\nline 4\nline 5 (main)\n").await;
    assert_eq!(s.view(number).await["conflicts"], json!([]), "different lines merge");

    s.write(&s.login, "main", "line 1\nLine 2 (main)\nline 3\nline 4\nline 5 (main)\n").await;
    let view = s.view(number).await;
    assert_eq!(
        view["conflicts"],
        json!([{ "document_id": s.login, "title": "Login", "base": "line 2\n", "ours": "Line 2 (main)\n", "theirs": "LINE 2 (draft)\n" }])
    );
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn discussion_comments_and_line_comments(db: PgPool) {
    let s = setup(db).await;
    let number = s.open().await;
    let comments = s.url(&format!("/change-requests/{number}/comments"));
    let (status, comment) = call(&s.rita, Method::POST, &comments, Some(json!({ "body": "Why 5 failures?" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_eq!(comment["author"], "rita");
    let on_line = json!({ "body": "Say SHALL.", "document_id": s.login, "line": 3 });
    let (status, comment) = call(&s.ada, Method::POST, &comments, Some(on_line)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((comment["line"].as_i64(), &comment["document_id"]), (Some(3), &json!(s.login)));
    let view = s.view(number).await;
    assert_eq!(view["comments"].as_array().unwrap().len(), 2);

    let foreign = {
        let other = s.app.project(&s.ada, "Other").await;
        s.app.constitution(&s.ada, &other).await.id
    };
    for body in [
        json!({ "body": "" }),
        json!({ "body": "x", "line": 2 }),
        json!({ "body": "x", "document_id": s.login, "line": 0 }),
        json!({ "body": "x", "document_id": foreign }),
    ] {
        let (status, answer) = call(&s.ada, Method::POST, &comments, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {answer}");
    }
    let vera = s.app.signup("vera").await;
    s.app.add_member(&s.ada, &s.project, "vera", Role::Viewer).await;
    let (status, _) = call(&vera, Method::POST, &comments, Some(json!({ "body": "me too" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers read the discussion but don't join it");

    let (status, _) = call(
        &s.ada,
        Method::POST,
        &s.url("/change-requests"),
        Some(json!({ "source": "main", "target": "main", "title": "Nothing" })),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

impl Setup {
    pub async fn text(&self, document: impl Display, branch: &str) -> String {
        let url = self.app.url(&format!("/api/v1/documents/{document}?branch={branch}"));
        let (_, doc) = call(&self.ada, Method::GET, &url, None).await;
        doc["content"].as_str().unwrap().to_owned()
    }

    /// main holds five lines, and `draft` is forked from that.
    pub async fn five_lines(&self) {
        self.write(&self.login, "main", "line 1\nline 2\nline 3\nline 4\nline 5\n").await;
        let branch = self.url("/branches");
        call(&self.ada, Method::DELETE, &format!("{branch}/draft"), None).await;
        call(&self.ada, Method::POST, &branch, Some(json!({ "name": "draft" }))).await;
    }

    pub async fn approve(&self, number: i64) {
        let reviews = self.url(&format!("/change-requests/{number}/reviews"));
        let (status, _) = call(&self.rita, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
        assert_eq!(status, StatusCode::OK);
    }

    pub async fn merge(&self, number: i64) -> (StatusCode, Value) {
        let url = self.url(&format!("/change-requests/{number}/merge"));
        call(&self.ada, Method::POST, &url, Some(json!({ "message": "Lockout rules" }))).await
    }

    /// `five_lines`, then line 2 changed on `draft`, reviewed and merged: the id of the
    /// version on main it made.
    pub async fn merged_line_two(&self) -> String {
        self.five_lines().await;
        self.write(&self.login, "draft", "line 1\nLINE 2\nline 3\nline 4\nline 5\n").await;
        let number = self.open().await;
        self.approve(number).await;
        let (_, merged) = self.merge(number).await;
        merged["version"]["id"].as_str().unwrap().to_owned()
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_clean_merge_lands_on_main_as_a_version(db: PgPool) {
    let s = setup(db).await;
    s.five_lines().await;
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\n").await;
    let branch_doc = |id: DocumentId| s.app.url(&format!("/api/v1/documents/{id}?branch=draft"));
    call(&s.ada, Method::PATCH, &branch_doc(s.billing), Some(json!({ "title": "Invoicing" }))).await;
    let created = s.app.url(&format!("/api/v1/projects/{}/documents?branch=draft", s.id));
    let (_, plan) = call(
        &s.ada,
        Method::POST,
        &created,
        Some(json!({ "title": "Lockout plan", "kind": "plan", "content": "Plan.\n" })),
    )
    .await;
    // main moves on elsewhere meanwhile.
    s.write(&s.login, "main", "line 1\nline 2\nline 3\nline 4\nline 5 (main)\n").await;

    let number = s.open().await;
    s.approve(number).await;
    let (status, merged) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["version"]["number"], 1);
    assert_eq!(merged["version"]["branch"], "main");
    assert_eq!(merged["version"]["message"], "Lockout rules");
    assert_eq!(merged["version"]["change_request"], number);
    assert_eq!(merged["version"]["approvers"], json!(["rita"]));

    assert_eq!(s.text(&s.login, "main").await, "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5 (main)\n");
    let (_, tree) = call(&s.ada, Method::GET, &s.url("/documents"), None).await;
    let titles: Vec<&str> = tree.as_array().unwrap().iter().map(|doc| doc["title"].as_str().unwrap()).collect();
    assert!(titles.contains(&"Invoicing") && !titles.contains(&"Billing"), "{titles:?}");
    assert!(titles.contains(&"Lockout plan"), "{titles:?}");
    assert_eq!(s.text(plan["id"].as_str().unwrap(), "main").await, "Plan.\n");

    let view = s.view(number).await;
    assert_eq!(view["state"], "merged");
    // The source now forks from the merge, but the change request still shows what it changed.
    assert_eq!(change(&view, "Login")["diff"][0]["new"], json!(["LINE 2 (draft)\n"]), "{view}");
    assert_eq!(change(&view, "Invoicing")["renamed_from"], "Billing");
    assert_eq!(change(&view, "Lockout plan")["changes"], json!(["added"]));
    assert_eq!(view["documents"].as_array().unwrap().len(), 3);
    let (status, _) = s.merge(number).await;
    assert_eq!(status, StatusCode::CONFLICT, "merged once");
    let (_, activity) = call(&s.ada, Method::GET, &s.url("/activity?limit=1"), None).await;
    assert_eq!(activity[0]["action"], "change_request.merge");
    let body = json!({ "source": "draft", "target": "main", "title": "Nothing new" });
    let (status, created) = call(&s.ada, Method::POST, &s.url("/change-requests"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(s.view(created["number"].as_i64().unwrap()).await["documents"], json!([]), "nothing since the merge");
    assert_eq!(view["checks"]["as_merged"], true);
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5 (later) [[Nowhere]]\n").await;
    let later = s.view(number).await;
    assert_eq!(later["documents"], view["documents"], "what it merged, not what came after");
    assert_eq!(later["checks"], view["checks"], "its checks as they were when it merged: {later}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn merging_needs_fresh_approvals_and_no_conflicts(db: PgPool) {
    let s = setup(db).await;
    s.five_lines().await;
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\n").await;
    let number = s.open().await;
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no approval yet: {body}");

    s.approve(number).await;
    s.write(&s.login, "main", "line 1\nLine 2 (main)\nline 3\nline 4\nline 5\n").await;
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(
        body["error"]["details"]["conflicts"],
        json!([{ "document_id": s.login, "title": "Login", "base": "line 2\n", "ours": "Line 2 (main)\n", "theirs": "LINE 2 (draft)\n" }])
    );
    assert_eq!(s.text(&s.login, "main").await, "line 1\nLine 2 (main)\nline 3\nline 4\nline 5\n", "nothing merged");
    assert_eq!(s.view(number).await["state"], "open");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_merge_reaches_live_editors_of_the_target_who_keep_what_they_typed(db: PgPool) {
    let s = setup(db).await;
    s.five_lines().await;
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\n").await;
    let number = s.open().await;
    s.approve(number).await;

    let cookie = {
        let (_, cookie) = s.app.signup_with_cookie("eve").await;
        s.app.add_member(&s.ada, &s.project, "eve", Role::Editor).await;
        cookie
    };
    let mut editor = crate::peer::Peer::joined(&s.app, &cookie, &s.login).await;
    let end = editor.text().encode_utf16().count() as u32;
    editor.insert(end, "typed live\n").await;
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    editor.until("the merge arrives", |peer| peer.text().contains("LINE 2 (draft)")).await;
    assert_eq!(editor.text(), "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\ntyped live\n");
    assert_eq!(s.text(&s.login, "main").await, editor.text());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_resolved_conflict_is_reviewed_and_then_merges_as_resolved(db: PgPool) {
    let s = setup(db).await;
    s.five_lines().await;
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\n").await;
    let number = s.open().await;
    s.approve(number).await;
    s.write(&s.login, "main", "line 1\nLine 2 (main)\nline 3\nline 4\nline 5\n").await;
    assert_eq!(s.view(number).await["conflicts"].as_array().unwrap().len(), 1);

    // A document the change request does not hold is refused, not written (it was a 500).
    let url = s.url(&format!("/change-requests/{number}/resolve"));
    let unknown = json!({ "document_id": uuid::Uuid::now_v7(), "content": "x" });
    let (status, body) = call(&s.ada, Method::POST, &url, Some(unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["message"], "that document is not on both branches of this change request");

    let resolved = "line 1\nLINE 2 (draft, with main's wording)\nline 3\nline 4\nline 5\n";
    let (status, view) =
        call(&s.ada, Method::POST, &url, Some(json!({ "document_id": s.login, "content": resolved }))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["conflicts"], json!([]));
    assert_eq!(
        view["approvals"],
        json!([{ "user": "rita", "stale": true }]),
        "the resolution is reviewed like any edit"
    );
    assert_eq!(s.text(&s.login, "draft").await, resolved, "recorded on the source branch");

    let (status, _) = s.merge(number).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.approve(number).await;
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.text(&s.login, "main").await, resolved);

    let foreign = json!({ "document_id": uuid::Uuid::new_v4(), "content": "x" });
    let (status, _) = call(&s.ada, Method::POST, &url, Some(foreign)).await;
    assert_eq!(status, StatusCode::CONFLICT, "the change request is merged");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_protected_main_changes_only_through_change_requests(db: PgPool) {
    let s = setup(db).await;
    let settings = s.url("/settings");
    let (status, _) = call(&s.rita, Method::PATCH, &settings, Some(json!({ "protect_main": true }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only owners change settings");
    let (status, _) = call(&s.ada, Method::PATCH, &settings, Some(json!({ "required_approvals": 11 }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, project) =
        call(&s.ada, Method::PATCH, &settings, Some(json!({ "protect_main": true, "required_approvals": 0 }))).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    assert_eq!((project["protect_main"].as_bool(), project["required_approvals"].as_i64()), (Some(true), Some(0)));

    let content = |branch: &str| s.app.url(&format!("/api/v1/documents/{}/content?branch={branch}", s.login));
    let (status, _) = call(&s.ada, Method::PUT, &content("main"), Some(json!({ "content": "direct" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no direct edits to a protected main");
    let (status, _) =
        call(&s.ada, Method::PUT, &content("draft"), Some(json!({ "content": "# Login\n\nReviewed.\n" }))).await;
    assert_eq!(status, StatusCode::OK);

    // Live edits to main are dropped, as a viewer's are.
    let (_, cookie) = s.app.signup_with_cookie("eve").await;
    s.app.add_member(&s.ada, &s.project, "eve", Role::Editor).await;
    let mut editor = crate::peer::Peer::joined(&s.app, &cookie, &s.login).await;
    editor.insert(0, "sneaky ").await;
    assert!(editor.quiet_for(std::time::Duration::from_millis(300)).await);
    assert_eq!(s.text(&s.login, "main").await, "# Login\n");

    // A change request merges (no approvals required now).
    let number = s.open().await;
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.text(&s.login, "main").await, "# Login\n\nReviewed.\n");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn change_requests_touching_the_same_section_see_each_other(db: PgPool) {
    let s = setup(db).await;
    let spec = "# Login\n\n## AUTH-001: Lockout\n\nAfter 5 failures.\n\n## AUTH-002: Sessions\n\nIdle expiry.\n";
    s.write(&s.login, "main", spec).await;
    let branches = s.url("/branches");
    call(&s.ada, Method::DELETE, &format!("{branches}/draft"), None).await;
    for name in ["draft", "other", "elsewhere"] {
        call(&s.ada, Method::POST, &branches, Some(json!({ "name": name }))).await;
    }
    s.write(&s.login, "draft", &spec.replace("After 5 failures.", "After 3 failures.")).await;
    s.write(&s.login, "other", &spec.replace("After 5 failures.", "After 10 failures, for an hour.")).await;
    s.write(&s.login, "elsewhere", &spec.replace("Idle expiry.", "Idle expiry after 7 days.")).await;
    let first = s.open().await;
    let opened = s.url("/change-requests");
    let open_from = |source: &'static str| {
        let body = json!({ "source": source, "target": "main", "title": format!("From {source}") });
        call(&s.ada, Method::POST, &opened, Some(body))
    };
    let (_, second) = open_from("other").await;
    open_from("elsewhere").await;

    let view = s.view(first).await;
    assert_eq!(change(&view, "Login")["sections"]["modified"], json!(["AUTH-001: Lockout"]));
    assert_eq!(
        view["overlaps"],
        json!([{ "number": second["number"], "title": "From other", "document_id": s.login, "document": "Login", "sections": ["AUTH-001: Lockout"] }]),
        "the change to AUTH-002 elsewhere does not overlap"
    );
    let other = s.view(second["number"].as_i64().unwrap()).await;
    assert_eq!(other["overlaps"][0]["number"], first, "both show it");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn restoring_a_version_proposes_a_forward_change(db: PgPool) {
    let s = setup(db).await;
    let version = s.merged_line_two().await;
    let version_text = s.text(&s.login, "main").await;
    // Later work on main: a rewrite and a new document.
    let settings = s.url("/settings");
    call(&s.ada, Method::PATCH, &settings, Some(json!({ "required_approvals": 1 }))).await;
    s.write(&s.login, "main", "rewritten entirely\n").await;
    let later = s.app.document(&s.ada, &s.project, "Later", None).await;

    let restore = s.url(&format!("/versions/{version}/restore"));
    let (status, created) = call(&s.ada, Method::POST, &restore, None).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let number = created["number"].as_i64().unwrap();
    let view = s.view(number).await;
    assert_eq!(view["target"], "main");
    assert!(view["title"].as_str().unwrap().starts_with("Restore version 1"), "{}", view["title"]);
    assert_eq!(change(&view, "Login")["changes"], json!(["modified"]));
    assert_eq!(change(&view, "Later")["changes"], json!(["deleted"]));
    assert_eq!(s.text(&s.login, "main").await, "rewritten entirely\n", "nothing changes until it is merged");

    s.approve(number).await;
    let (status, merged) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["version"]["number"], 2, "a new version; version 1 stays as it was");
    assert_eq!(s.text(&s.login, "main").await, version_text);
    let (_, tree) = call(&s.ada, Method::GET, &s.url("/documents"), None).await;
    assert!(
        !tree.as_array().unwrap().iter().any(|doc| doc["id"] == json!(later.id)),
        "the later document is in the trash"
    );
    let (status, _) = call(&s.ada, Method::POST, &s.url("/versions/nope/restore"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Each caller is told what they may do with a change request, by the rules the actions
/// enforce: the author may not approve, a viewer may do nothing, and merging is refused
/// for exactly the blockers the view lists, in its words.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn each_caller_is_told_what_they_may_do_and_merging_agrees(db: PgPool) {
    let s = setup(db).await;
    let vic = s.app.signup("vic").await;
    s.app.add_member(&s.ada, &s.project, "vic", Role::Viewer).await;
    s.five_lines().await;
    s.write(&s.login, "draft", "line 1\nLINE 2 (draft)\nline 3\nline 4\nline 5\n").await;
    let number = s.open().await;
    let actions = |client: &Client| {
        let (client, url) = (client.clone(), s.url(&format!("/change-requests/{number}")));
        async move {
            let (status, view) = call(&client, Method::GET, &url, None).await;
            assert_eq!(status, StatusCode::OK, "{view}");
            serde_json::from_value::<Actions>(view["actions"].clone()).unwrap()
        }
    };

    let author = actions(&s.ada).await;
    assert!(author.review && !author.approve && author.comment && author.resolve && !author.confirm_bump);
    assert!(author.authored && author.close && !author.reopen, "{author:?}");
    assert_eq!(author.merge_blockers, [MergeBlocker::Approvals { required: 1, fresh: 0 }]);
    let reviewer = actions(&s.rita).await;
    assert!(reviewer.review && reviewer.approve && reviewer.comment);
    assert!(!reviewer.authored && reviewer.close && !reviewer.reopen, "{reviewer:?}");
    assert_eq!(reviewer.merge_blockers, author.merge_blockers);
    let viewer = actions(&vic).await;
    assert!(!viewer.review && !viewer.approve && !viewer.comment && !viewer.resolve && !viewer.close);
    assert_eq!(
        viewer.merge_blockers,
        [MergeBlocker::Role { role: Role::Viewer }, MergeBlocker::Approvals { required: 1, fresh: 0 }]
    );
    // The owner's token that may only read is offered nothing that would be refused.
    let token = s.app.token(&s.ada, &["read"]).await;
    let headers = [(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap())];
    let reader = Client::builder().default_headers(headers.into_iter().collect()).build().unwrap();
    let read_only = actions(&reader).await;
    assert!(!read_only.review && !read_only.comment && !read_only.resolve && !read_only.merge_needs_reason);
    assert!(!read_only.close, "a token that may only read closes nothing");
    assert_eq!(
        read_only.merge_blockers,
        [MergeBlocker::ReadOnlyToken, MergeBlocker::Approvals { required: 1, fresh: 0 }]
    );
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["message"], author.merge_blockers[0].to_string());

    s.approve(number).await;
    s.write(&s.login, "main", "line 1\nLine 2 (main)\nline 3\nline 4\nline 5\n").await;
    assert_eq!(actions(&s.ada).await.merge_blockers, [MergeBlocker::Conflicts { count: 1 }]);
    s.write(&s.login, "main", "line 1\nline 2\nline 3\nline 4\nline 5\n").await;
    let author = actions(&s.ada).await;
    assert!(author.may_merge() && !author.merge_needs_reason, "{author:?}");
    let (status, body) = s.merge(number).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let merged = actions(&s.ada).await;
    assert_eq!(merged.merge_blockers, [MergeBlocker::NotOpen { state: ChangeRequestState::Merged }]);
    assert!(!merged.review && !merged.resolve && merged.comment && !actions(&s.rita).await.review);
    assert!(!merged.close && !merged.reopen, "a merged change request stays merged");
}
