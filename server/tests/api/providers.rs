//! Embedding providers: an OpenAI-compatible endpoint (a small server of the test's own
//! implementing `/v1/embeddings`), a project switching to it, and the re-index job that
//! follows.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use charter_backend::embeddings::openai::Waiting::{Nobody, Person};
use charter_backend::embeddings::openai::{Endpoint, OpenAi};
use charter_types::{EmbeddingSettings, Job, JobStarted, JobState, Matched, ProviderKind, Role};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, eventually, expect, test_settings, TestApp};
use crate::incident_matching::{candidates, report};
use crate::search::{search, write, PAYMENTS};

const DIMENSIONS: usize = 64;
const KEY: &str = "sk-test-1234";

/// What the fake endpoint saw, and how it is to answer the next requests.
#[derive(Default)]
struct Seen {
    requests: Vec<Value>,
    authorizations: Vec<Option<String>>,
    /// Answers to give before answering properly: (status, body, Retry-After).
    failures: Vec<(u16, &'static str, Option<&'static str>)>,
    /// Answers vectors of this length instead of the one asked for.
    wrong_length: Option<usize>,
    /// Requests of more than one text wait for this gate's permits, when set.
    gate: Option<Arc<tokio::sync::Semaphore>>,
}

type Shared = Arc<Mutex<Seen>>;

/// A vector of the words of `text`, hashed into `dimensions` buckets: texts that share
/// words are near, which is all the test needs of a model.
fn bag_of_words(text: &str, dimensions: usize) -> Vec<f32> {
    let mut vector = vec![0.0; dimensions];
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|word| word.len() > 2) {
        let word = word.to_lowercase();
        let bucket = word.bytes().fold(7usize, |hash, byte| hash.wrapping_mul(31).wrapping_add(byte as usize));
        vector[bucket % dimensions] += 1.0;
    }
    vector
}

async fn embeddings(State(seen): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let request: Value = serde_json::from_str(&body).expect("a JSON request");
    let gate = seen.lock().unwrap().gate.clone();
    if let Some(gate) = gate.filter(|_| request["input"].as_array().is_some_and(|input| input.len() > 1)) {
        let _permit = gate.acquire().await.unwrap();
    }
    let mut seen = seen.lock().unwrap();
    seen.requests.push(request.clone());
    let authorization = headers.get("authorization").map(|value| value.to_str().unwrap().to_owned());
    seen.authorizations.push(authorization.clone());
    if !seen.failures.is_empty() {
        let (status, body, retry_after) = seen.failures.remove(0);
        let mut response = (AxumStatus::from_u16(status).unwrap(), body).into_response();
        if let Some(after) = retry_after {
            response.headers_mut().insert("retry-after", after.parse().unwrap());
        }
        return response;
    }
    if authorization.as_deref() != Some(&format!("Bearer {KEY}")) {
        return (AxumStatus::UNAUTHORIZED, r#"{"error": {"message": "Incorrect API key provided"}}"#).into_response();
    }
    let length = seen.wrong_length.unwrap_or(request["dimensions"].as_u64().unwrap() as usize);
    let inputs = request["input"].as_array().unwrap();
    // Out of order, as the index field allows.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(index, text)| {
            json!({ "object": "embedding", "index": index,
                    "embedding": bag_of_words(text.as_str().unwrap(), length) })
        })
        .collect();
    axum::Json(json!({ "object": "list", "data": data, "model": request["model"] })).into_response()
}

/// Starts the fake endpoint; its base address (`http://…/v1`) and what it sees.
async fn fake_provider() -> (String, Shared) {
    let seen = Shared::default();
    // A second address on the same host, as another API base would be.
    let app = Router::new()
        .route("/v1/embeddings", post(embeddings))
        .route("/other/v1/embeddings", post(embeddings))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

fn client(url: &str, key: Option<&str>) -> OpenAi {
    let endpoint =
        Endpoint { url: url.into(), model: "test-embed".into(), key: key.map(str::to_owned), dimensions: DIMENSIONS };
    OpenAi::new(endpoint).unwrap()
}

#[tokio::test]
async fn the_openai_client_batches_orders_retries_and_says_what_went_wrong() {
    let (url, seen) = fake_provider().await;
    let openai = client(&url, Some(KEY));
    let texts: Vec<String> = (0..150).map(|n| format!("requirement number {n} about invoices")).collect();
    let vectors = openai.embed(&texts, Nobody).await.unwrap();
    assert_eq!(vectors.len(), 150);
    for (text, vector) in texts.iter().zip(&vectors) {
        let expected = bag_of_words(text, DIMENSIONS);
        let length = expected.iter().map(|x| x * x).sum::<f32>().sqrt();
        let scaled: Vec<f32> = expected.iter().map(|x| x / length).collect();
        assert_eq!(vector, &scaled, "each vector is its own text's, in order, of length 1");
    }
    {
        let seen = seen.lock().unwrap();
        let sizes: Vec<usize> = seen.requests.iter().map(|r| r["input"].as_array().unwrap().len()).collect();
        assert_eq!(sizes, [64, 64, 22], "batches of at most 64");
        let first = &seen.requests[0];
        assert_eq!((first["model"].as_str(), first["dimensions"].as_u64()), (Some("test-embed"), Some(64)));
        assert_eq!(first["encoding_format"], "float");
        assert!(seen.authorizations.iter().all(|auth| auth.as_deref() == Some("Bearer sk-test-1234")));
    }

    // Busy and failing answers are tried again; a Retry-After is honoured.
    seen.lock().unwrap().requests.clear();
    seen.lock().unwrap().failures = vec![(503, "overloaded", None), (429, "slow down", Some("0"))];
    let one = vec!["a receipt by email".to_owned()];
    assert_eq!(openai.embed(&one, Nobody).await.unwrap().len(), 1);
    assert_eq!(seen.lock().unwrap().requests.len(), 3);

    // Someone waiting (a search, a lint) gets one try, not a minute of retries.
    seen.lock().unwrap().requests.clear();
    seen.lock().unwrap().failures = vec![(503, "overloaded", None)];
    let err = openai.embed(&one, Person).await.unwrap_err();
    assert_eq!(err, format!("{url}/embeddings failed (503 Service Unavailable): overloaded"));
    assert_eq!(seen.lock().unwrap().requests.len(), 1);

    // Failing every time: given up after four tries, saying so.
    seen.lock().unwrap().failures = vec![(500, r#"{"error": {"message": "model crashed"}}"#, None); 4];
    let err = openai.embed(&one, Nobody).await.unwrap_err();
    assert_eq!(err, format!("{url}/embeddings failed (500 Internal Server Error): model crashed (tried 4 times)"));

    // A refused key is not tried again, and says what the provider said.
    seen.lock().unwrap().requests.clear();
    let err = client(&url, Some("wrong")).embed(&one, Nobody).await.unwrap_err();
    let refused = format!("{url}/embeddings refused the key (401 Unauthorized): Incorrect API key provided");
    assert_eq!(err, refused);
    assert_eq!(seen.lock().unwrap().requests.len(), 1);

    // Vectors of another length than configured are refused.
    seen.lock().unwrap().wrong_length = Some(8);
    let err = openai.embed(&one, Nobody).await.unwrap_err();
    assert_eq!(err, "model test-embed made vectors of 8 dimensions, not the 64 configured");

    // Nobody listening: said, after the retries.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}/v1", listener.local_addr().unwrap());
    drop(listener);
    let err = client(&closed, None).embed(&one, Nobody).await.unwrap_err();
    assert!(err.starts_with(&format!("cannot reach {closed}/embeddings: ")), "{err}");
    assert!(err.ends_with("(tried 4 times)"), "{err}");
}

/// A server whose operator allows embedding providers on this host, and ada's project
/// with the payments spec on `main`.
async fn payments_shop(db: PgPool) -> (TestApp, reqwest::Client, charter_types::Project) {
    let settings = charter_backend::Settings { embedding_hosts: vec!["127.0.0.1".into()], ..test_settings() };
    let app = TestApp::spawn_with(db, settings).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = app.document(&ada, &project, "Payments", None).await;
    write(&app, &ada, spec.id, "main", PAYMENTS).await;
    (app, ada, project)
}

async fn job(app: &TestApp, client: &reqwest::Client, id: impl std::fmt::Display) -> Job {
    expect(client, Method::GET, &app.url(&format!("/api/v1/jobs/{id}")), None).await
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_project_switched_to_another_provider_is_reindexed_and_found_the_same(db: PgPool) {
    // The server itself has no provider: the project's own choice is what turns meaning on,
    // on a host the operator allows.
    let (app, ada, project) = payments_shop(db.clone()).await;
    let settings_url = app.url(&format!("/api/v1/projects/{}/embeddings", project.id));
    let before: EmbeddingSettings = expect(&ada, Method::GET, &settings_url, None).await;
    assert_eq!((before.provider, before.meaning_search, before.job.as_ref()), (ProviderKind::Server, false, None));
    assert!(before.notice.unwrap().contains("meaning search is off"));
    let by_words = eventually_found(&app, &ada, &project, "q=receipt%20email", Matched::Text).await;

    let (url, seen) = fake_provider().await;
    let choose = |key: &str| json!({ "provider": "openai", "url": format!("{url}/"), "model": "test-embed", "dimensions": 64, "key": key });
    // Only owners choose; a provider that refuses is not taken, and the owner reads why.
    let vic = app.signup("vic").await;
    app.add_member(&ada, &project, "vic", Role::Editor).await;
    let (status, _) = call(&vic, Method::PUT, &settings_url, Some(choose(KEY))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(&ada, Method::PUT, &settings_url, Some(choose("wrong"))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("refused the key"), "{body}");
    let bad = json!({ "provider": "openai", "url": "ftp://x", "model": "m", "dimensions": 64 });
    let (status, body) = call(&ada, Method::PUT, &settings_url, Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // Hosts the operator did not list are never called (no probing the server's network).
    let elsewhere = json!({ "provider": "openai", "url": url.replace("127.0.0.1", "localhost"), "model": "test-embed",
                            "dimensions": 64, "key": KEY });
    let asked = seen.lock().unwrap().requests.len();
    let (status, body) = call(&ada, Method::PUT, &settings_url, Some(elsewhere)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("does not send texts to localhost"), "{body}");
    assert_eq!(seen.lock().unwrap().requests.len(), asked);

    // The entries' batches wait at the provider, so the job is seen under way.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    seen.lock().unwrap().gate = Some(gate.clone());
    let set: EmbeddingSettings = expect(&ada, Method::PUT, &settings_url, Some(choose(KEY))).await;
    assert_eq!(
        (set.provider, set.url.as_deref(), set.dimensions, set.has_key),
        (ProviderKind::OpenAi, Some(&*url), Some(64), true)
    );
    let started = set.job.clone().expect("a re-index job");
    let shown = serde_json::to_string(&set).unwrap();
    assert!(!shown.contains(KEY), "the key is never shown: {shown}");

    let running = set.job.clone().unwrap();
    assert_eq!((running.state, running.done), (JobState::Running, 0), "{running:?}");
    assert!(running.total >= 4, "{running:?}");
    let meanwhile = search(&app, &ada, &project, "q=receipt%20email").await;
    assert_eq!(meanwhile.hits[0].key, by_words.hits[0].key, "words answer meanwhile");
    let notice = meanwhile.notice.unwrap();
    assert!(notice.starts_with(&format!("Re-indexing for a new embedding model: 0 of {} entries done", running.total)));
    let progress_notice = set.notice.clone().unwrap();
    assert!(progress_notice.starts_with("Re-indexing"), "{progress_notice}");
    gate.add_permits(1000);

    // The job's progress goes up to every entry, then it is done.
    let progress = std::cell::RefCell::new(Vec::new());
    eventually("the project is re-indexed", Duration::from_secs(60), || async {
        let now = job(&app, &vic, started.id).await;
        progress.borrow_mut().push((now.done, now.total));
        now.state == JobState::Done
    })
    .await;
    let seen_progress = progress.into_inner();
    let (done, total) = *seen_progress.last().unwrap();
    assert!(total > 0 && done == total, "{seen_progress:?}");
    let models: Vec<Option<String>> =
        sqlx::query_scalar("SELECT DISTINCT model FROM search_entries").fetch_all(&db).await.unwrap();
    assert_eq!(models, [Some(format!("openai:test-embed:64@{url}"))], "every vector names its model");
    assert!(seen.lock().unwrap().requests.len() >= 2, "the probe and the entries");

    // Found the same, now by meaning as well.
    let after = eventually_found(&app, &ada, &project, "q=receipt%20email", Matched::Meaning).await;
    assert_eq!(after.hits[0].key, by_words.hits[0].key);
    assert_eq!(after.notice, None);

    // Re-indexing on demand: owners start it, readers follow it.
    let reindex = app.url(&format!("/api/v1/projects/{}/reindex", project.id));
    let (status, _) = call(&vic, Method::POST, &reindex, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = call(&ada, Method::POST, &reindex, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let again: JobStarted = serde_json::from_value(body).unwrap();
    eventually("the project is re-indexed again", Duration::from_secs(60), || async {
        job(&app, &ada, again.job_id).await.state == JobState::Done
    })
    .await;
    assert_eq!(job(&app, &ada, started.id).await.state, JobState::Done);

    // Nobody outside the project sees its jobs or settings.
    let sam = app.signup("sam").await;
    let (status, _) = call(&sam, Method::GET, &app.url(&format!("/api/v1/jobs/{}", again.job_id)), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&sam, Method::GET, &settings_url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The key stays for the same address only: pointed elsewhere, it must be given again.
    let same = json!({ "provider": "openai", "url": url, "model": "test-embed", "dimensions": 64 });
    let kept: EmbeddingSettings = expect(&ada, Method::PUT, &settings_url, Some(same)).await;
    assert!(kept.has_key);
    let moved = url.replace("/v1", "/other/v1");
    let moved = json!({ "provider": "openai", "url": moved, "model": "test-embed", "dimensions": 64 });
    let (status, body) = call(&ada, Method::PUT, &settings_url, Some(moved)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "refused without the key: {body}");
    assert!(seen.lock().unwrap().authorizations.last().unwrap().is_none(), "the key did not follow");

    // Back to the server's provider (none): words only again, said so.
    let back: EmbeddingSettings = expect(&ada, Method::PUT, &settings_url, Some(json!({ "provider": "server" }))).await;
    assert!(!back.meaning_search && !back.has_key);
    let words = search(&app, &ada, &project, "q=receipt%20email").await;
    assert!(!words.meaning_search && words.notice.is_some(), "{words:?}");
}

/// Searches until the first hit matched (also) by `how`.
async fn eventually_found(
    app: &TestApp,
    client: &reqwest::Client,
    project: &charter_types::Project,
    query: &str,
    how: Matched,
) -> charter_types::SearchResults {
    crate::search::until_within(app, client, project, query, Duration::from_secs(60), |results| {
        results.hits.first().is_some_and(|hit| hit.matched.contains(&how))
    })
    .await
}

/// An incident matched while the project's provider fails gets its candidates by words at
/// once, and is matched by meaning too a minute later, when the provider answers again.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn incidents_matched_while_the_provider_fails_get_words_now_and_meaning_later(db: PgPool) {
    let (app, ada, project) = payments_shop(db.clone()).await;
    eventually_found(&app, &ada, &project, "q=charge%20card", Matched::Text).await;
    let (url, seen) = fake_provider().await;
    let choose = json!({ "provider": "openai", "url": url, "model": "test-embed", "dimensions": 64, "key": KEY });
    let settings_url = app.url(&format!("/api/v1/projects/{}/embeddings", project.id));
    let set: EmbeddingSettings = expect(&ada, Method::PUT, &settings_url, Some(choose)).await;
    let indexing = set.job.expect("a re-index job").id;
    eventually("the project is embedded", Duration::from_secs(60), || async {
        job(&app, &ada, indexing).await.state == JobState::Done
    })
    .await;

    // The provider goes down (a refused key is not tried again, so the round is quick).
    seen.lock().unwrap().failures = vec![(401, "key revoked", None); 1000];
    let token = app.token(&ada, &["incidents:write"]).await;
    let title = "The system did charge a card twice per order";
    report(&app, &token, &project, "I-1", title, "Order 1234.").await;
    let queued = || async {
        sqlx::query_as::<_, (bool, f64)>(
            "SELECT by_words, extract(epoch FROM not_before - now())::float8 FROM incident_queue",
        )
        .fetch_optional(&db)
        .await
        .unwrap()
    };
    eventually("the incident has candidates by words", Duration::from_secs(30), || async {
        !candidates(&app, &ada, &project).await[title].0.is_empty()
    })
    .await;
    let by_words = candidates(&app, &ada, &project).await[title].clone();
    assert_eq!(by_words.0.first().map(String::as_str), Some("PAY-001"), "{by_words:?}");
    assert!(by_words.1 <= 0.5, "found by words alone: {by_words:?}");
    let (marked, due_in) = queued().await.expect("still queued, for meaning");
    assert!(marked && (50.0..=60.0).contains(&due_in), "by words, again in a minute: {marked} {due_in}");

    // The provider is back; as if the minute had passed.
    seen.lock().unwrap().failures.clear();
    sqlx::query("UPDATE incident_queue SET not_before = now()").execute(&db).await.unwrap();
    eventually("the incident is matched by meaning", Duration::from_secs(30), || async { queued().await.is_none() })
        .await;
    let by_meaning = candidates(&app, &ada, &project).await[title].clone();
    assert_eq!(by_meaning.0.first(), by_words.0.first(), "{by_meaning:?}");
    assert!(by_meaning.1 > 0.5, "found both ways: {by_meaning:?}");
}
