//! Search by meaning: paraphrases are found and the answer says how each hit matched;
//! a fork reuses its source's embeddings; a new model embeds everything again; without
//! the model, search matches words and says so.

use std::time::Duration;

use charter_backend::embeddings::Provider;
use charter_types::{
    Document, DuplicatePair, DuplicateReport, EmbeddingSettings, Finding, JobState, Matched, Project,
    RelatedRequirements, RequirementView, Role, SearchResults, Severity,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, error_code, eventually, expect, meaning_settings, test_settings, TestApp};
use crate::search::{search, until, until_within, write, PAYMENTS};

/// A second spec: BILL-001 says what PAY-001 of `PAYMENTS` says, in other words.
const BILLING: &str = "# Billing\n\n## Requirements\n\n\
    - **BILL-001** A customer SHALL never be charged twice for the same order.\n\
    - **BILL-002** Invoices SHALL be numbered without gaps.\n";

/// Two specs with one rule in common, worded apart (all-MiniLM-L6-v2: 0.78 alike), and
/// one on the same topic that is another rule (0.57).
const ACCOUNTS: &str = "# Accounts\n\n## Requirements\n\n\
    - **ACC-001** Users SHALL be able to reset their password by email.\n";
const SUPPORT: &str = "# Support\n\n## Requirements\n\n\
    - **SUP-001** A member who forgot their password SHALL get a reset link by email.\n\
    - **SUP-002** Users SHALL log in with a password of at least 15 characters.\n";

/// How long embedding a handful of entries may take on a loaded test machine.
const EMBEDDED_WITHIN: Duration = Duration::from_secs(60);

/// Searches until `done` holds, for as long as embedding may take.
async fn by_meaning(
    app: &TestApp,
    client: &Client,
    project: &Project,
    query: &str,
    done: impl Fn(&SearchResults) -> bool,
) -> SearchResults {
    until_within(app, client, project, query, EMBEDDED_WITHIN, done).await
}

fn first_key(results: &SearchResults) -> Option<&str> {
    results.hits.first().and_then(|hit| hit.key.as_deref())
}

async fn embedded(db: &PgPool) -> bool {
    let waiting: i64 =
        sqlx::query_scalar("SELECT count(*) FROM search_entries WHERE embedding IS NULL").fetch_one(db).await.unwrap();
    waiting == 0
}

/// A server with the local model, and ada's project Shop with the Payments spec on main.
async fn shop_with_payments(db: &PgPool) -> (TestApp, Client, Project) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;
    (app, ada, project)
}

/// Waits until every entry is embedded, those of `keys` among them.
async fn embedded_with(db: &PgPool, keys: &[&str]) {
    eventually("the specs are embedded", EMBEDDED_WITHIN, || async {
        let found: i64 = sqlx::query_scalar("SELECT count(DISTINCT key) FROM search_entries WHERE key = ANY($1)")
            .bind(keys)
            .fetch_one(db)
            .await
            .unwrap();
        embedded(db).await && found == keys.len() as i64
    })
    .await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_paraphrase_is_found_by_meaning_and_each_hit_says_how_it_matched(db: PgPool) {
    let (app, ada, project) = shop_with_payments(&db).await;

    // Not one of the requirement's words, yet it is the answer.
    let found =
        by_meaning(&app, &ada, &project, "q=customer%20was%20billed%20twice", |r| first_key(r) == Some("PAY-001"))
            .await;
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
    let (app, ada, project) = shop_with_payments(&db).await;
    embedded_with(&db, &["PAY-001", "PAY-002"]).await;
    let made: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT embedding::text) FROM search_entries").fetch_one(&db).await.unwrap();

    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let (status, body) = call(&ada, Method::POST, &branches, Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let found = by_meaning(&app, &ada, &project, "q=customer%20was%20billed%20twice&branch=draft", |r| {
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
    let (app, ada, project) = shop_with_payments(&db).await;
    let query = "q=customer%20was%20billed%20twice";
    by_meaning(&app, &ada, &project, query, |r| first_key(r) == Some("PAY-001")).await;
    eventually("every entry is embedded", EMBEDDED_WITHIN, || embedded(&db)).await;
    let before = search(&app, &ada, &project, query).await;

    // As if the index had been made by another model: a server starting with this one
    // re-indexes the project with its own, as a job the project's settings show.
    let older = "local:an-older-model";
    sqlx::query("UPDATE projects SET embedding_model = $1").bind(older).execute(&db).await.unwrap();
    sqlx::query("UPDATE search_entries SET model = $1").bind(older).execute(&db).await.unwrap();
    let _restarted = app.another(meaning_settings()).await;
    eventually("every entry is embedded again, by the model", EMBEDDED_WITHIN, || async {
        let models: Vec<Option<String>> =
            sqlx::query_scalar("SELECT DISTINCT model FROM search_entries").fetch_all(&db).await.unwrap();
        models == [Some("local:all-MiniLM-L6-v2".to_owned())]
    })
    .await;
    let adopted: String = sqlx::query_scalar("SELECT embedding_model FROM projects").fetch_one(&db).await.unwrap();
    assert_eq!(adopted, "local:all-MiniLM-L6-v2");
    let settings = app.url(&format!("/api/v1/projects/{}/embeddings", project.id));
    let job = expect::<EmbeddingSettings>(&ada, Method::GET, &settings, None).await.job.expect("a re-index job");
    assert_eq!((job.state, job.done, job.error.as_deref()), (JobState::Done, job.total, None), "{job:?}");
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
    let (app, ada, project) = shop_with_payments(&db).await;
    let eve = app.signup("eve").await;
    let billing = app.document(&ada, &project, "Billing", None).await;
    write(&app, &ada, billing.id, "main", BILLING).await;
    let listed: Vec<RequirementView> =
        expect(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/requirements", project.id)), None).await;
    let id = listed.iter().find(|requirement| requirement.key == "PAY-001").expect("PAY-001 is listed").id;
    let url = app.url(&format!("/api/v1/requirements/{id}/related"));
    embedded_with(&db, &["PAY-001", "BILL-001"]).await;

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

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_duplicates_report_pairs_requirements_alike_until_someone_dismisses_them(db: PgPool) {
    let (app, ada, project) = shop_with_payments(&db).await;
    let accounts = app.document(&ada, &project, "Accounts", None).await;
    write(&app, &ada, accounts.id, "main", ACCOUNTS).await;
    let support = app.document(&ada, &project, "Support", None).await;
    write(&app, &ada, support.id, "main", SUPPORT).await;
    embedded_with(&db, &["ACC-001", "SUP-001", "SUP-002"]).await;
    let url = app.url(&format!("/api/v1/projects/{}/duplicates", project.id));
    let keys = |pair: &DuplicatePair| [pair.a.key.clone(), pair.b.key.clone()];

    let report: DuplicateReport = expect(&ada, Method::GET, &url, None).await;
    assert_eq!(report.notice, None);
    let mut pairs: Vec<[String; 2]> = report.pairs.iter().map(keys).collect();
    pairs.iter_mut().for_each(|pair| pair.sort());
    let expected = [["ACC-001".to_owned(), "SUP-001".to_owned()]];
    assert_eq!(pairs, expected, "one pair: the two ways of saying password reset; {report:?}");
    let pair = report.pairs[0].clone();
    assert!(pair.similarity >= report.min_similarity && pair.similarity <= 1.0, "{pair:?}");
    assert!(report.dismissed.is_empty());
    let strict: DuplicateReport = expect(&ada, Method::GET, &format!("{url}?min_similarity=0.99"), None).await;
    assert!(strict.pairs.is_empty(), "{strict:?}");
    let (status, body) = call(&ada, Method::GET, &format!("{url}?min_similarity=0.2"), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));

    // Judging them distinct takes a reason and a writer.
    let dismiss = app.url(&format!("/api/v1/projects/{}/duplicates/dismiss", project.id));
    let request = |reason: &str| json!({ "a": pair.a.requirement_id, "b": pair.b.requirement_id, "reason": reason });
    let (status, body) = call(&ada, Method::POST, &dismiss, Some(request("  "))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let vic = app.signup("vic").await;
    app.add_member(&ada, &project, "vic", Role::Viewer).await;
    let (status, _) = call(&vic, Method::POST, &dismiss, Some(request("not mine to say"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stranger = app.signup("sam").await;
    let elsewhere = app.project(&stranger, "Elsewhere").await;
    let foreign = app.url(&format!("/api/v1/projects/{}/duplicates/dismiss", elsewhere.id));
    let (status, _) = call(&stranger, Method::POST, &foreign, Some(request("not theirs"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "requirements of another project are not found");

    // Two people dismissing at once: one judgement stands, the last reason given.
    let reason = "Support's is the e-mail a person receives; Accounts' is the feature.";
    let (first, second) = tokio::join!(
        call(&ada, Method::POST, &dismiss, Some(request(reason))),
        call(&ada, Method::POST, &dismiss, Some(request(reason))),
    );
    assert_eq!((first.0, second.0), (StatusCode::OK, StatusCode::OK), "{first:?} {second:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM duplicate_dismissals").fetch_one(&db).await.unwrap();
    assert_eq!(stored, 1);

    let report: DuplicateReport = expect(&vic, Method::GET, &url, None).await;
    assert!(report.pairs.is_empty(), "{report:?}");
    let dismissal = report.dismissed[0].dismissal.clone().expect("the dismissal");
    assert_eq!((dismissal.reason.as_str(), dismissal.by.as_deref()), (reason, Some("ada")));
    let (status, _) = call(&stranger, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The judgement is about the requirements, not their IDs: a new ID keeps it.
    write(&app, &ada, support.id, "main", &SUPPORT.replace("SUP-001", "SUP-010")).await;
    eventually("the new ID is indexed and embedded", EMBEDDED_WITHIN, || async {
        let report: DuplicateReport = expect(&ada, Method::GET, &url, None).await;
        report.dismissed.iter().any(|pair| keys(pair).contains(&"SUP-010".to_owned())) && report.pairs.is_empty()
    })
    .await;
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn writing_a_requirement_another_spec_already_has_is_flagged_as_you_type(db: PgPool) {
    let app = TestApp::spawn_with(db.clone(), meaning_settings()).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let accounts = app.document(&ada, &project, "Accounts", None).await;
    write(&app, &ada, accounts.id, "main", ACCOUNTS).await;
    let support = app.document(&ada, &project, "Support", None).await;
    embedded_with(&db, &["ACC-001"]).await;
    let near = |findings: &[Finding]| -> Vec<(String, usize, String)> {
        let near = findings.iter().filter(|finding| finding.rule == "near-duplicate");
        near.map(|finding| (finding.document.clone(), finding.line, finding.message.clone())).collect()
    };

    // A requirement is not its own duplicate, nor one of its own document's.
    let own = app.url(&format!("/api/v1/documents/{}/lint", accounts.id));
    let own: Vec<Finding> = expect(&ada, Method::POST, &own, Some(json!({ "content": ACCOUNTS }))).await;
    assert!(near(&own).is_empty(), "{own:?}");

    // The text on screen, not yet stored nor indexed: its new wording is embedded on the spot.
    let lint = |branch: &str| app.url(&format!("/api/v1/documents/{}/lint?branch={branch}", support.id));
    let typed = json!({ "content": SUPPORT });
    let findings: Vec<Finding> = expect(&ada, Method::POST, &lint("main"), Some(typed.clone())).await;
    let found = near(&findings);
    assert_eq!(found.len(), 1, "only SUP-001 repeats ACC-001: {findings:?}");
    let (document, line, message) = &found[0];
    assert_eq!((document.as_str(), *line), ("Support", 5));
    assert!(message.starts_with("SUP-001 says nearly what ACC-001 in Accounts says ("), "{message}");
    let finding = findings.iter().find(|finding| finding.rule == "near-duplicate").unwrap();
    assert_eq!((finding.severity, finding.column, finding.length), (Severity::Warning, 5, 7), "{finding:?}");

    // Stored, the document lints the same.
    write(&app, &ada, support.id, "main", SUPPORT).await;
    let stored: Vec<Finding> = expect(&ada, Method::GET, &lint("main"), None).await;
    assert_eq!(near(&stored), found);

    // The constitution turns the rule off like any other (on a branch, as it changes by review).
    let branches = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let (status, body) = call(&ada, Method::POST, &branches, Some(json!({ "name": "quiet" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let constitution = app.constitution(&ada, &project).await;
    let url = app.url(&format!("/api/v1/documents/{}?branch=quiet", constitution.id));
    let stored: Document = expect(&ada, Method::GET, &url, None).await;
    let quiet = format!("{}\n## Checks\n\n- `near-duplicate`: off\n", stored.content);
    write(&app, &ada, constitution.id, "quiet", &quiet).await;
    let findings: Vec<Finding> = expect(&ada, Method::POST, &lint("quiet"), Some(typed.clone())).await;
    assert!(near(&findings).is_empty(), "{findings:?}");

    // A pair judged distinct is not flagged again.
    embedded_with(&db, &["ACC-001", "SUP-001", "SUP-002"]).await;
    let report: DuplicateReport =
        expect(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/duplicates", project.id)), None).await;
    let pair = report.pairs.first().expect("the pair in the report");
    let dismiss = app.url(&format!("/api/v1/projects/{}/duplicates/dismiss", project.id));
    let body = json!({ "a": pair.a.requirement_id, "b": pair.b.requirement_id, "reason": "One is the e-mail." });
    let _: serde_json::Value = expect(&ada, Method::POST, &dismiss, Some(body)).await;
    let findings: Vec<Finding> = expect(&ada, Method::POST, &lint("main"), Some(typed)).await;
    assert!(near(&findings).is_empty(), "{findings:?}");
}
