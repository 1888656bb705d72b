//! Search: the index follows edits, branches and deletions; answers stay inside the
//! caller's project; the query is checked; snippets are text.

use std::time::{Duration, Instant};

use charter_types::{HitKind, Matched, Project, Role, SearchResults};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, TestApp};

/// How long an edit may take to become searchable.
const FRESH_WITHIN: Duration = Duration::from_secs(5);

pub const PAYMENTS: &str = "# Payments\n\nHow the shop takes money.\n\n## Requirements\n\n\
    - **PAY-001** The system SHALL charge a card at most once per order.\n  \
    - Given an order paid once, when the customer pays again, then no second charge is made\n\
    - **PAY-002** The system SHALL email a receipt within one minute.\n\n\
    ## Edge cases\n\nA card that expires while the order is open.\n";

pub async fn search(app: &TestApp, client: &Client, project: &Project, query: &str) -> SearchResults {
    let url = app.url(&format!("/api/v1/projects/{}/search?{query}", project.id));
    expect(client, Method::GET, &url, None).await
}

pub async fn write(app: &TestApp, client: &Client, document: impl std::fmt::Display, branch: &str, text: &str) {
    let url = app.url(&format!("/api/v1/documents/{document}/content?branch={branch}"));
    let (status, body) = call(client, Method::PUT, &url, Some(json!({ "content": text }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Searches until `done` holds of the answer, for at most [`FRESH_WITHIN`]; the answer.
pub async fn until(
    app: &TestApp,
    client: &Client,
    project: &Project,
    query: &str,
    done: impl Fn(&SearchResults) -> bool,
) -> SearchResults {
    until_within(app, client, project, query, FRESH_WITHIN, done).await
}

/// [`until`] for at most `within`.
pub async fn until_within(
    app: &TestApp,
    client: &Client,
    project: &Project,
    query: &str,
    within: Duration,
    done: impl Fn(&SearchResults) -> bool,
) -> SearchResults {
    let start = Instant::now();
    loop {
        let results = search(app, client, project, query).await;
        if done(&results) {
            return results;
        }
        assert!(start.elapsed() < within, "not searchable within {within:?}: {query} gave {results:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn keys(results: &SearchResults) -> Vec<&str> {
    results.hits.iter().filter_map(|hit| hit.key.as_deref()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_edit_is_searchable_within_seconds_and_its_old_words_are_gone(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;

    let found = until(&app, &ada, &project, "q=charge%20card", |r| !r.hits.is_empty()).await;
    let hit = &found.hits[0];
    assert_eq!((hit.kind, hit.key.as_deref()), (HitKind::Requirement, Some("PAY-001")));
    assert_eq!((hit.document_id, hit.document.as_str()), (spec.id, "Payments"));
    assert_eq!((hit.section.as_str(), hit.line), ("Requirements", 7));
    assert_eq!(hit.matched, [Matched::Text]);
    let marked: Vec<&str> = hit.snippet.iter().filter(|part| part.hit).map(|part| part.text.as_str()).collect();
    assert!(marked.contains(&"charge") && marked.contains(&"card"), "{:?}", hit.snippet);
    assert!(!found.meaning_search);
    assert!(found.notice.as_deref().is_some_and(|notice| notice.contains("words only")));

    // As people type: the last word is a prefix. Sections are found as themselves.
    assert_eq!(keys(&search(&app, &ada, &project, "q=receip").await), ["PAY-002"]);
    let sections = search(&app, &ada, &project, "q=expires").await;
    assert_eq!(sections.hits.len(), 1);
    assert_eq!((sections.hits[0].kind, sections.hits[0].title.as_str()), (HitKind::Section, "Edge cases"));

    write(&app, &ada, spec.id, "main", &PAYMENTS.replace("email a receipt", "print an invoice")).await;
    until(&app, &ada, &project, "q=invoice", |r| keys(r) == ["PAY-002"]).await;
    assert!(search(&app, &ada, &project, "q=receipt").await.hits.is_empty(), "the old words are gone");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn each_branch_is_searched_as_it_is_and_deleted_documents_vanish_at_once(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;
    until(&app, &ada, &project, "q=receipt", |r| keys(r) == ["PAY-002"]).await;

    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let (status, body) = call(&ada, Method::POST, &branches, Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // The fork is searchable on its own branch, and then follows its own edits.
    until(&app, &ada, &project, "q=receipt&branch=draft", |r| keys(r) == ["PAY-002"]).await;
    write(&app, &ada, spec.id, "draft", &format!("{PAYMENTS}- **PAY-003** The system SHALL refund in full.\n")).await;
    until(&app, &ada, &project, "q=refund&branch=draft", |r| keys(r) == ["PAY-003"]).await;
    assert!(search(&app, &ada, &project, "q=refund").await.hits.is_empty(), "main does not see the draft");

    let (status, _) = call(&ada, Method::DELETE, &app.url(&format!("/api/v1/documents/{}", spec.id)), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(search(&app, &ada, &project, "q=receipt").await.hits.is_empty(), "gone from main at once");
    assert_eq!(keys(&search(&app, &ada, &project, "q=receipt&branch=draft").await), ["PAY-002"]);
    let restore = app.url(&format!("/api/v1/documents/{}/restore", spec.id));
    let (status, body) = call(&ada, Method::POST, &restore, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(keys(&search(&app, &ada, &project, "q=receipt").await), ["PAY-002"]);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn nobody_finds_what_another_project_holds(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let eve = app.signup("eve").await;
    let shop = app.project(&ada, "Shop").await;
    let secret = app.document(&ada, &shop, "Payments", None).await;
    write(&app, &ada, secret.id, "main", PAYMENTS).await;
    until(&app, &ada, &shop, "q=receipt", |r| !r.hits.is_empty()).await;

    let mine = app.project(&eve, "Mine").await;
    let own = app.document(&eve, &mine, "Receipts", None).await;
    write(&app, &eve, own.id, "main", "# Receipts\n\n- **REC-001** The system SHALL keep a receipt.\n").await;
    let found = until(&app, &eve, &mine, "q=receipt", |r| !r.hits.is_empty()).await;
    assert!(found.hits.iter().all(|hit| hit.document_id == own.id), "{found:?}");

    let url = app.url(&format!("/api/v1/projects/{}/search?q=receipt", shop.id));
    let (status, body) = call(&eve, Method::GET, &url, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = call(&app.bare(), Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.add_member(&ada, &shop, "eve", Role::Viewer).await;
    assert_eq!(keys(&search(&app, &eve, &shop, "q=receipt").await), ["PAY-002"]);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_exact_id_ranks_first_and_text_stays_text(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    let hostile = "# Notes\n\nThe <img src=x onerror=alert(1)> bold claim, \u{E000}charged\u{E001} on card.\n";
    write(&app, &ada, spec.id, "main", &format!("{PAYMENTS}\n{hostile}")).await;
    until(&app, &ada, &project, "q=claim", |r| !r.hits.is_empty()).await;

    let exact = search(&app, &ada, &project, "q=pay-002").await;
    assert_eq!(exact.hits[0].key.as_deref(), Some("PAY-002"));
    let note = &search(&app, &ada, &project, "q=claim").await.hits[0];
    let text: String = note.snippet.iter().map(|part| part.text.as_str()).collect();
    assert!(text.contains("onerror=alert(1)> bold claim"), "the snippet is the text as written: {text}");
    assert!(!text.contains('\u{E000}'), "text cannot fake a mark: {text}");
    let marked: Vec<&str> = note.snippet.iter().filter(|part| part.hit).map(|part| part.text.as_str()).collect();
    assert_eq!(marked, ["claim"]);

    let kinds = search(&app, &ada, &project, "q=charge&kind=plan").await;
    assert!(kinds.hits.is_empty(), "no plan holds it");
    let limited = search(&app, &ada, &project, "q=system&limit=1").await;
    assert_eq!(limited.hits.len(), 1);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_search_that_cannot_run_says_why(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let base = format!("/api/v1/projects/{}/search", project.id);
    for (query, status, words) in [
        (format!("q={}", "x".repeat(501)), StatusCode::UNPROCESSABLE_ENTITY, "at most 500 characters"),
        ("q=card&limit=0".to_owned(), StatusCode::UNPROCESSABLE_ENTITY, "between 1 and 50"),
        ("q=card&kind=poem".to_owned(), StatusCode::BAD_REQUEST, "poem"),
        ("q=card&branch=nope".to_owned(), StatusCode::NOT_FOUND, "branch"),
        ("q=card&under=12".to_owned(), StatusCode::BAD_REQUEST, "under"),
    ] {
        let (got, body) = call(&ada, Method::GET, &app.url(&format!("{base}?{query}")), None).await;
        assert_eq!(got, status, "{query}: {body}");
        error_code(&body);
        assert!(body["error"]["message"].as_str().unwrap().contains(words), "{query}: {body}");
    }
    // Nothing to look for is an empty answer, not an error.
    assert!(search(&app, &ada, &project, "q=%20%21%3F").await.hits.is_empty());
}

/// Forking queues every document of the new branch; deleting the branch while the
/// indexers work through them must neither fail nor leave the queue stuck.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_branch_deleted_while_it_is_indexed_is_deleted(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    for prefix in ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L"] {
        let spec = app.document(&ada, &project, &format!("Spec {prefix}"), None).await;
        write(&app, &ada, spec.id, "main", &PAYMENTS.replace("PAY-", &format!("PAY{prefix}-"))).await;
    }
    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    for round in 0..6 {
        let name = format!("try-{round}");
        let (status, body) = call(&ada, Method::POST, &branches, Some(json!({ "name": name }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) = call(&ada, Method::DELETE, &format!("{branches}/{name}"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "round {round}: {body}");
    }
    // Everything queued is worked off, the deleted branches' rows included.
    let start = Instant::now();
    loop {
        let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM search_queue").fetch_one(&db).await.unwrap();
        if queued == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{queued} documents still queued");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(keys(&search(&app, &ada, &project, "q=PAYG-002").await).first(), Some(&"PAYG-002"));
}
