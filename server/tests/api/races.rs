//! Check-then-act on the write paths under concurrency: the same request sent several
//! times at once, or two requests whose checks each pass alone, must leave the data as
//! one of them in turn would have.

use charter_types::{Document, DocumentId, ProjectId, Role};
use futures_util::future::join_all;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, TestApp};

/// How many times the same request is sent at once.
const AT_ONCE: usize = 5;

/// A project owned by "ada" with a spec "Login", a reviewer "rita", and a branch
/// `draft` that changes the spec.
struct Setup {
    app: TestApp,
    ada: Client,
    rita: Client,
    id: ProjectId,
    login: DocumentId,
}

async fn setup(db: PgPool) -> Setup {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let rita = app.signup("rita").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "rita", Role::Reviewer).await;
    let id = project.id;
    let login = app.document(&ada, &project, "Login", None).await.id;
    let s = Setup { app, ada, rita, id, login };
    s.write("main", "# Login\n\nline 1\nline 2\nline 3\n").await;
    let (status, _) = call(&s.ada, Method::POST, &s.url("/branches"), Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    s.write("draft", "# Login\n\nline 1\nline 2 (reviewed)\nline 3\nline 4\n").await;
    s
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1/projects/{}{path}", self.id))
    }

    async fn write(&self, branch: &str, content: &str) {
        let url = self.app.url(&format!("/api/v1/documents/{}/content?branch={branch}", self.login));
        let (status, body) = call(&self.ada, Method::PUT, &url, Some(json!({ "content": content }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn text(&self, branch: &str) -> String {
        let url = self.app.url(&format!("/api/v1/documents/{}?branch={branch}", self.login));
        let (status, doc) = call(&self.ada, Method::GET, &url, None).await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        doc["content"].as_str().unwrap().to_owned()
    }

    /// Opens a change request from `draft` into `main` and has rita approve it.
    async fn approved(&self) -> i64 {
        let body = json!({ "source": "draft", "target": "main", "title": "Reviewed line" });
        let (status, created) = call(&self.ada, Method::POST, &self.url("/change-requests"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let number = created["number"].as_i64().unwrap();
        let reviews = self.url(&format!("/change-requests/{number}/reviews"));
        let (status, _) = call(&self.rita, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
        assert_eq!(status, StatusCode::OK);
        number
    }

    async fn count(&self, query: &str) -> i64 {
        let (count,): (i64,) = sqlx::query_as(query).bind(&self.id).fetch_one(&self.app.db).await.unwrap();
        count
    }
}

/// Sends the same request `AT_ONCE` times at once.
async fn at_once(client: &Client, method: Method, url: &str, body: Option<Value>) -> Vec<(StatusCode, Value)> {
    join_all((0..AT_ONCE).map(|_| call(client, method.clone(), url, body.clone()))).await
}

/// The one success among the answers; every other answer is a 409 in the API's shape.
fn one_success(answers: &[(StatusCode, Value)], success: StatusCode) -> &Value {
    let succeeded: Vec<&Value> = answers.iter().filter(|(status, _)| *status == success).map(|(_, b)| b).collect();
    assert_eq!(succeeded.len(), 1, "exactly one succeeds: {answers:?}");
    for (status, body) in answers.iter().filter(|(status, _)| *status != success) {
        assert_eq!(*status, StatusCode::CONFLICT, "{body}");
        assert_eq!(error_code(body), "conflict");
    }
    succeeded[0]
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_change_request_merged_several_times_at_once_merges_once(db: PgPool) {
    let s = setup(db).await;
    let number = s.approved().await;
    let merge = s.url(&format!("/change-requests/{number}/merge"));
    let answers = at_once(&s.ada, Method::POST, &merge, Some(json!({}))).await;
    one_success(&answers, StatusCode::OK);
    for (_, body) in answers.iter().filter(|(status, _)| *status == StatusCode::CONFLICT) {
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("being merged") || message.contains("is merged"), "the loser is told why: {message}");
    }

    assert_eq!(s.text("main").await, "# Login\n\nline 1\nline 2 (reviewed)\nline 3\nline 4\n", "merged once");
    let versions = "SELECT count(*) FROM versions WHERE project_id = $1::uuid AND change_request_id IS NOT NULL";
    assert_eq!(s.count(versions).await, 1, "one version");
    let merged = "SELECT count(*) FROM audit_log WHERE project_id = $1::uuid AND action = 'change_request.merge'";
    assert_eq!(s.count(merged).await, 1, "one activity entry");

    // Once merged, it stays merged.
    let (status, body) = call(&s.ada, Method::POST, &merge, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let reviews = s.url(&format!("/change-requests/{number}/reviews"));
    let (status, body) = call(&s.rita, Method::POST, &reviews, Some(json!({ "verdict": "request_changes" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "no reviews after merging: {body}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_merge_brings_the_source_as_approved_not_what_is_typed_meanwhile(db: PgPool) {
    let s = setup(db).await;
    let number = s.approved().await;
    let merge = s.url(&format!("/change-requests/{number}/merge"));
    let typed = "# Login\n\nline 1\nline 2 (reviewed)\nline 3\nline 4\nunreviewed\n";
    let ((status, body), ()) =
        tokio::join!(call(&s.ada, Method::POST, &merge, Some(json!({}))), s.write("draft", typed));
    if status == StatusCode::OK {
        assert!(!s.text("main").await.contains("unreviewed"), "only the approved text is merged");
        // What was typed meanwhile is the source's next change.
        let body = json!({ "source": "draft", "target": "main", "title": "More" });
        let (status, created) = call(&s.ada, Method::POST, &s.url("/change-requests"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED);
        let (_, view) =
            call(&s.ada, Method::GET, &s.url(&format!("/change-requests/{}", created["number"])), None).await;
        assert_eq!(view["documents"][0]["diff"][0]["new"], json!(["unreviewed\n"]), "{view}");
    } else {
        // The edit came first: the approval is stale.
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn one_tag_name_is_given_once(db: PgPool) {
    let s = setup(db).await;
    let number = s.approved().await;
    let (status, merged) =
        call(&s.ada, Method::POST, &s.url(&format!("/change-requests/{number}/merge")), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let body = json!({ "name": "v1.0.0", "version": merged["version"]["id"] });
    let answers = at_once(&s.ada, Method::POST, &s.url("/tags"), Some(body)).await;
    one_success(&answers, StatusCode::CREATED);
    assert_eq!(s.count("SELECT count(*) FROM tags WHERE project_id = $1::uuid").await, 1);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn restoring_one_version_several_times_at_once_opens_one_change_request_each(db: PgPool) {
    let s = setup(db).await;
    let number = s.approved().await;
    let (status, merged) =
        call(&s.ada, Method::POST, &s.url(&format!("/change-requests/{number}/merge")), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let restore = s.url(&format!("/versions/{}/restore", merged["version"]["id"].as_str().unwrap()));
    let answers = at_once(&s.ada, Method::POST, &restore, None).await;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
    let restores = "SELECT count(*) FROM branches WHERE project_id = $1::uuid AND name LIKE 'restore/%'";
    assert_eq!(s.count(restores).await, AT_ONCE as i64, "each on a branch of its own");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn two_owners_demoting_or_removing_each_other_at_once_leave_one(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let bob = app.signup("bob").await;
    let project = app.project(&ada, "Payments").await;
    let members = app.url(&format!("/api/v1/projects/{}/members", project.id));
    let owners = || async {
        let (count,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM project_members WHERE project_id = $1::uuid AND role = 'owner'")
                .bind(project.id)
                .fetch_one(&app.db)
                .await
                .unwrap();
        count
    };
    for round in 0..6 {
        // Both owners again, whoever is left.
        for owner in [&ada, &bob] {
            for name in ["ada", "bob"] {
                call(owner, Method::PUT, &format!("{members}/{name}"), Some(json!({ "role": "owner" }))).await;
            }
        }
        assert_eq!(owners().await, 2);
        let (bob_url, ada_url) = (format!("{members}/bob"), format!("{members}/ada"));
        let (ada_does, bob_does) = if round % 2 == 0 {
            let demote = Some(json!({ "role": "editor" }));
            tokio::join!(call(&ada, Method::PUT, &bob_url, demote.clone()), call(&bob, Method::PUT, &ada_url, demote))
        } else {
            tokio::join!(call(&ada, Method::DELETE, &bob_url, None), call(&bob, Method::DELETE, &ada_url, None))
        };
        assert_eq!(owners().await, 1, "round {round}: {ada_does:?} / {bob_does:?}");
        let refused = [&ada_does, &bob_does].into_iter().filter(|(status, _)| status.is_client_error()).count();
        assert_eq!(refused, 1, "round {round}: one of them is refused: {ada_does:?} / {bob_does:?}");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn two_documents_moved_under_each_other_at_once_make_no_cycle(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let a = app.document(&ada, &project, "A", None).await.id;
    let b = app.document(&ada, &project, "B", None).await.id;
    let doc = |id: DocumentId| app.url(&format!("/api/v1/documents/{id}"));
    for round in 0..6 {
        for id in [a, b] {
            let (status, body) = call(&ada, Method::PATCH, &doc(id), Some(json!({ "parent_id": null }))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (a_url, b_url) = (doc(a), doc(b));
        let (under_b, under_a) = tokio::join!(
            call(&ada, Method::PATCH, &a_url, Some(json!({ "parent_id": b }))),
            call(&ada, Method::PATCH, &b_url, Some(json!({ "parent_id": a })))
        );
        let moved = [&under_b, &under_a].into_iter().filter(|(status, _)| *status == StatusCode::OK).count();
        assert_eq!(moved, 1, "round {round}: one move, the other refused: {under_b:?} / {under_a:?}");
        let (cycles,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM branch_documents x JOIN branch_documents y
                 ON y.branch_id = x.branch_id AND y.document_id = x.parent_id AND x.document_id = y.parent_id",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        assert_eq!(cycles, 0, "round {round}");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_question_answered_twice_at_once_is_answered_once(db: PgPool) {
    let s = setup(db).await;
    s.write("main", "# Login\n\nUsers log in with [NEEDS CLARIFICATION: which method?].\n").await;
    let (status, open) = call(&s.ada, Method::GET, &s.url("/clarifications"), None).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    let id = open[0]["id"].as_str().unwrap().to_owned();
    let answer = s.app.url(&format!("/api/v1/clarifications/{id}/answer"));
    let answers = join_all(
        ["email", "passkeys", "SSO"]
            .map(|answer_text| call(&s.ada, Method::POST, &answer, Some(json!({ "answer": answer_text })))),
    )
    .await;
    one_success(&answers, StatusCode::OK);
    let text = s.text("main").await;
    assert_eq!(text.matches("Q: which method?").count(), 1, "one Q&A entry: {text}");
    let answered = "SELECT count(*) FROM audit_log WHERE project_id = $1::uuid AND action = 'clarification.answer'";
    assert_eq!(s.count(answered).await, 1);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn deleting_a_branch_while_it_is_forked_merged_or_proposed_never_fails_inside(db: PgPool) {
    let s = setup(db).await;
    for round in 0..4 {
        let name = format!("work-{round}");
        let (status, _) = call(&s.ada, Method::POST, &s.url("/branches"), Some(json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED);
        let fork = json!({ "name": format!("fork-{round}"), "from": name });
        let proposal = json!({ "source": name, "target": "main", "title": "Proposal" });
        let (branch, branches, change_requests) =
            (s.url(&format!("/branches/{name}")), s.url("/branches"), s.url("/change-requests"));
        let (deleted, forked, proposed) = tokio::join!(
            call(&s.ada, Method::DELETE, &branch, None),
            call(&s.ada, Method::POST, &branches, Some(fork)),
            call(&s.ada, Method::POST, &change_requests, Some(proposal)),
        );
        for (status, body) in [&deleted, &forked, &proposed] {
            assert!(!status.is_server_error(), "round {round}: {body}");
        }
        if forked.0 == StatusCode::CREATED {
            let (documents,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM branch_documents bd JOIN branches b ON b.id = bd.branch_id WHERE b.name = $1",
            )
            .bind(format!("fork-{round}"))
            .fetch_one(&s.app.db)
            .await
            .unwrap();
            assert_eq!(documents, 2, "round {round}: a fork has every document, never a half-deleted source's");
        }
    }

    // A merge under way keeps its branches.
    let number = s.approved().await;
    let merge = s.url(&format!("/change-requests/{number}/merge"));
    let draft = s.url("/branches/draft");
    let (merged, deleted) =
        tokio::join!(call(&s.ada, Method::POST, &merge, Some(json!({}))), call(&s.ada, Method::DELETE, &draft, None));
    assert!(!merged.0.is_server_error() && !deleted.0.is_server_error(), "{merged:?} / {deleted:?}");
    assert!(
        merged.0 == StatusCode::OK || deleted.0 == StatusCode::NO_CONTENT,
        "one of them goes ahead: {merged:?} / {deleted:?}"
    );
}

/// Opening a change request and changing members both take the project's row and
/// membership rows; an owner doing both at once gets both done, never a deadlock.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn opening_change_requests_while_roles_change_never_deadlocks(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    app.signup("bob").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "bob", Role::Editor).await;
    let api = |path: &str| app.url(&format!("/api/v1/projects/{}{path}", project.id));
    let (status, _) = call(&ada, Method::POST, &api("/branches"), Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (change_requests, bob) = (api("/change-requests"), api("/members/bob"));
    for round in 0..12 {
        let role = if round % 2 == 0 { "reviewer" } else { "editor" };
        let opened = json!({ "source": "draft", "target": "main", "title": format!("Round {round}") });
        let ((opening, opened), (changing, changed)) = tokio::join!(
            call(&ada, Method::POST, &change_requests, Some(opened)),
            call(&ada, Method::PUT, &bob, Some(json!({ "role": role }))),
        );
        assert_eq!(opening, StatusCode::CREATED, "round {round}: {opened}");
        assert_eq!(changing, StatusCode::OK, "round {round}: {changed}");
    }
}

/// An edit holds its caller's role until the edit is stored, so a demotion cannot slip
/// in between. More edits at once than the request pool has connections must still all
/// be stored: the co-editing engine stores through connections of its own.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn more_edits_at_once_than_the_pool_has_connections_all_land(db: PgPool) {
    let pool_size = db.options().get_max_connections() as usize;
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let mut documents = Vec::new();
    for n in 0..pool_size * 2 {
        documents.push(app.document(&ada, &project, &format!("Spec {n}"), None).await.id);
    }
    let text = |n: usize| format!("# Spec {n}\n\nedited at once\n");
    let edits = documents.iter().enumerate().map(|(n, id)| {
        let url = app.url(&format!("/api/v1/documents/{id}/content"));
        let ada = &ada;
        async move { call(ada, Method::PUT, &url, Some(json!({ "content": text(n) }))).await }
    });
    for (status, body) in join_all(edits).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for (n, id) in documents.iter().enumerate() {
        let document: Document = expect(&ada, Method::GET, &app.url(&format!("/api/v1/documents/{id}")), None).await;
        assert_eq!(document.content, text(n));
    }
}
