//! The parse cache: a branch's documents are read and parsed once per change, not once
//! per request. An edit, and only an edit, has a document parsed again.

use charter_backend::collab::{store, DocKey};
use charter_backend::structure::{Corpus, Text};
use charter_types::{BranchId, DocumentId};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, eventually, TestApp};

async fn load(db: &PgPool, branch_id: BranchId, source: Text) -> Corpus {
    Corpus::load(&mut db.acquire().await.unwrap(), branch_id, source).await.unwrap()
}

/// Whether two loads of a document share one parse.
fn same_parse(before: &Corpus, after: &Corpus, document: DocumentId) -> bool {
    std::ptr::eq(before.doc(document).unwrap().structure(), after.doc(document).unwrap().structure())
}

fn keys(corpus: &Corpus, document: DocumentId) -> Vec<String> {
    corpus.doc(document).unwrap().structure().requirements.iter().map(|r| r.key.clone()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn parsed_documents_are_reused_until_they_change(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let [login, big] =
        [app.document(&ada, &project, "Login", None).await, app.document(&ada, &project, "Big", None).await]
            .map(|document| document.id);
    let branch_id: BranchId = sqlx::query_scalar("SELECT id FROM branches WHERE project_id = $1 AND name = 'main'")
        .bind(project.id)
        .fetch_one(&db)
        .await
        .unwrap();

    let first = load(&db, branch_id, Text::Live).await;
    let again = load(&db, branch_id, Text::Live).await;
    assert!(same_parse(&first, &again, login) && same_parse(&first, &again, big), "nothing changed");
    // The projection holds the same text: it is found by that text.
    let projected = load(&db, branch_id, Text::Projected).await;
    assert!(same_parse(&first, &projected, login) && same_parse(&first, &projected, big));
    // Compaction folds the log into the snapshot: the same state at the same position.
    store::compact(&db, DocKey::new(branch_id, big)).await.unwrap();
    assert!(same_parse(&first, &load(&db, branch_id, Text::Live).await, big));

    let url = app.url(&format!("/api/v1/documents/{login}/content"));
    let text = "# Login\n\n- **AUTH-001** The system SHALL lock an account after 5 failures.\n";
    let (status, body) = call(&ada, Method::PUT, &url, Some(json!({ "content": text }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let edited = load(&db, branch_id, Text::Live).await;
    assert_eq!(keys(&edited, login), ["AUTH-001"], "the edit is read at once");
    assert!(!same_parse(&first, &edited, login));
    assert!(same_parse(&first, &edited, big), "the other document is not parsed again");

    eventually("the projection has the edit", std::time::Duration::from_secs(10), || async {
        keys(&load(&db, branch_id, Text::Projected).await, login) == ["AUTH-001"]
    })
    .await;
    let (status, requirements) =
        call(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/requirements", project.id)), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(requirements[0]["key"], "AUTH-001", "{requirements}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_kept_requirement_list_is_not_trusted_once_the_branch_was_indexed_elsewhere(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    let url = app.url(&format!("/api/v1/documents/{}/content", spec.id));
    let text = "# Payments\n\n- **PAY-001** The system SHALL charge a card at most once per order.\n";
    let (status, body) = call(&ada, Method::PUT, &url, Some(json!({ "content": text }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list = app.url(&format!("/api/v1/projects/{}/requirements", project.id));
    let listed = |body: serde_json::Value| -> Vec<(String, String)> {
        let items = body.as_array().unwrap().iter();
        items.map(|item| (item["key"].as_str().unwrap().into(), item["id"].as_str().unwrap().into())).collect()
    };
    let (_, first) = call(&ada, Method::GET, &list, None).await;
    assert_eq!(listed(first.clone()).len(), 1, "{first}");

    // Another instance (here: by hand) rewrote the branch's rows from other documents;
    // the documents themselves are as they were, so the kept list's fingerprint matches.
    sqlx::query("DELETE FROM branch_requirements").execute(&db).await.unwrap();
    sqlx::query("UPDATE branches SET requirements_fingerprint = 42").execute(&db).await.unwrap();
    let (_, again) = call(&ada, Method::GET, &list, None).await;
    let again = listed(again);
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT key, requirement_id::text FROM branch_requirements").fetch_all(&db).await.unwrap();
    assert_eq!(again, stored, "indexed again, and the list shows what is stored");
    assert_eq!(again[0].0, "PAY-001");
}
