//! Search by meaning: paraphrases are found and the answer says how each hit matched;
//! a fork reuses its source's embeddings; a new model embeds everything again; without
//! the model, search matches words and says so.

use std::time::Duration;

use charter_backend::embeddings::Provider;
use charter_types::{Matched, RelatedRequirements, RequirementView, Role, SearchResults};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, error_code, eventually, expect, meaning_settings, test_settings, TestApp};
use crate::search::{search, until, write, PAYMENTS};

/// How long embedding a handful of entries may take on a loaded test machine.
const EMBEDDED_WITHIN: Duration = Duration::from_secs(60);

fn first_key(results: &SearchResults) -> Option<&str> {
    results.hits.first().and_then(|hit| hit.key.as_deref())
}

async fn embedded(db: &PgPool) -> bool {
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM search_entries WHERE embedding IS NULL").fetch_one(db).await.unwrap();
    waiting == 0
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_paraphrase_is_found_by_meaning_and_each_hit_says_how_it_matched(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;

    // Not one of the requirement's words, yet it is the answer.
    let found =
        until(&app, &ada, &project, "q=customer%20was%20billed%20twice", |r| first_key(r) == Some("PAY-001")).await;
    assert!(found.meaning_search);
    assert_eq!(found.hits[0].matched, [Matched::Meaning]);
    assert!(found.hits[0].snippet.iter().all(|part| !part.hit), "no word of the query is in it");
    eventually("every entry is embedded", EMBEDDED_WITHIN, || embedded(&db)).await;
    assert_eq!(search(&app, &ada, &project, "q=billed%20twice").await.notice, None, "nothing left to catch up on");

    // Found both ways, it says so, and ranks above what only one way found.
    let both = search(&app, &ada, &project, "q=charge%20card").await;
    assert_eq!(first_key(&both), Some("PAY-001"));
    assert_eq!(both.hits[0].matched, [Matched::Text, Matched::Meaning]);
    assert!(both.hits.windows(2).all(|pair| pair[0].score >= pair[1].score), "{both:?}");

    // Each way alone, on request.
    assert!(search(&app, &ada, &project, "q=customer%20was%20billed%20twice&mode=text").await.hits.is_empty());
    let words = search(&app, &ada, &project, "q=charge%20card&mode=text").await;
    assert!(!words.meaning_search && words.hits.iter().all(|hit| hit.matched == [Matched::Text]));
    let near = search(&app, &ada, &project, "q=charge%20card&mode=meaning").await;
    assert!(near.hits.iter().all(|hit| hit.matched == [Matched::Meaning]), "{near:?}");

    // What means nothing near anything written finds nothing.
    assert!(search(&app, &ada, &project, "q=xylophone%20sonata%20in%20d%20minor").await.hits.is_empty());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_fork_reuses_the_embeddings_of_what_it_copied(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;
    eventually("main is embedded", EMBEDDED_WITHIN, || async {
        embedded(&db).await && !search(&app, &ada, &project, "q=receipt").await.hits.is_empty()
    })
    .await;
    let made: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT embedding::text) FROM search_entries").fetch_one(&db).await.unwrap();

    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let (status, body) = call(&ada, Method::POST, &branches, Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let found = until(&app, &ada, &project, "q=customer%20was%20billed%20twice&branch=draft", |r| {
        first_key(r) == Some("PAY-001") && r.notice.is_none()
    })
    .await;
    assert_eq!(found.hits[0].matched, [Matched::Meaning]);
    // The fork's entries took the embeddings already made: no new vector exists.
    let after: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT embedding::text) FROM search_entries").fetch_one(&db).await.unwrap();
    assert_eq!(after, made);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_new_model_embeds_everything_again_and_finds_the_same(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;
    let query = "q=customer%20was%20billed%20twice";
    until(&app, &ada, &project, query, |r| first_key(r) == Some("PAY-001")).await;
    eventually("every entry is embedded", EMBEDDED_WITHIN, || embedded(&db)).await;
    let before = search(&app, &ada, &project, query).await;

    // As if the index had been made by another model: a server starting with this one
    // drops those vectors and makes its own.
    sqlx::query("UPDATE search_model SET model = 'local:an-older-model'").execute(&db).await.unwrap();
    let _restarted = app.another(meaning_settings()).await;
    eventually("the model is adopted", EMBEDDED_WITHIN, || async {
        let model: String = sqlx::query_scalar("SELECT model FROM search_model").fetch_one(&db).await.unwrap();
        model != "local:an-older-model"
    })
    .await;
    eventually("every entry is embedded again", EMBEDDED_WITHIN, || embedded(&db)).await;
    let after = search(&app, &ada, &project, query).await;
    let keys = |results: &SearchResults| results.hits.iter().map(|hit| hit.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&after), keys(&before));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn without_the_model_search_matches_words_and_says_so(db: PgPool) {
    let missing = Provider::Local { model_dir: "/nonexistent/charter-model".into() };
    let app = TestApp::spawn_with(db, charter_backend::Settings { embeddings: missing, ..test_settings() }).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;

    let found = until(&app, &ada, &project, "q=receipt", |r| first_key(r) == Some("PAY-002")).await;
    assert!(!found.meaning_search);
    let notice = found.notice.unwrap_or_default();
    assert!(notice.contains("words only") && notice.contains("model is not available"), "{notice}");
    assert!(search(&app, &ada, &project, "q=customer%20was%20billed%20twice").await.hits.is_empty());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_requirement_lists_its_neighbours_from_other_specs_first(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let ada = app.signup("ada").await;
    let eve = app.signup("eve").await;
    let project = app.project(&ada, "Shop").await;
    let payments = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, payments.id, "main", PAYMENTS).await;
    let billing = app.document(&ada, &project, "Billing", None).await;
    let text = "# Billing\n\n## Requirements\n\n\
        - **BILL-001** A customer SHALL never be charged twice for the same order.\n\
        - **BILL-002** Invoices SHALL be numbered without gaps.\n";
    write(&app, &ada, billing.id, "main", text).await;
    let listed: Vec<RequirementView> =
        expect(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/requirements", project.id)), None).await;
    let id = listed.iter().find(|requirement| requirement.key == "PAY-001").expect("PAY-001 is listed").id;
    let url = app.url(&format!("/api/v1/requirements/{id}/related"));
    eventually("every entry is embedded", EMBEDDED_WITHIN, || async {
        embedded(&db).await
            && sqlx::query_scalar::<_, i64>("SELECT count(*) FROM search_entries WHERE key IN ('PAY-001', 'BILL-001')")
                .fetch_one(&db)
                .await
                .unwrap()
                == 2
    })
    .await;

    let near: RelatedRequirements = expect(&ada, Method::GET, &url, None).await;
    assert_eq!(near.notice, None);
    let keys: Vec<(&str, bool)> = near.related.iter().map(|n| (n.key.as_str(), n.same_document)).collect();
    assert_eq!(keys.first(), Some(&("BILL-001", false)), "{near:?}");
    assert!(!keys.iter().any(|(key, _)| *key == "PAY-001"), "not its own neighbour");
    let first_same = keys.iter().position(|(_, same)| *same).unwrap_or(keys.len());
    assert!(keys[first_same..].iter().all(|(_, same)| *same), "other specs first: {keys:?}");
    assert!(near.related[0].similarity > 0.5 && near.related[0].similarity <= 1.0, "{near:?}");
    assert_eq!(near.related[0].document_id, billing.id);

    let one: RelatedRequirements = expect(&ada, Method::GET, &format!("{url}?limit=1"), None).await;
    assert_eq!(one.related.len(), 1);
    let (status, body) = call(&ada, Method::GET, &format!("{url}?limit=0"), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let (status, body) = call(&eve, Method::GET, &url, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"), "another project's is not there");
    let (status, _) = call(&app.bare(), Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.add_member(&ada, &project, "eve", Role::Viewer).await;
    let seen: RelatedRequirements = expect(&eve, Method::GET, &url, None).await;
    assert_eq!(seen, near);
}
