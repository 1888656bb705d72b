//! When Charter cannot answer in time: every answer names its request, and a request
//! that runs past its deadline or finds the database unreachable is a 503 with
//! `Retry-After` (never a hang), that changed nothing and can simply be sent again.

use std::time::{Duration, Instant};

use charter_backend::{AppState, Settings};
use leptos::server_fn::ServerFn;
use reqwest::header::RETRY_AFTER;
use reqwest::{Response, StatusCode};
use serde::Deserialize;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::harness::{eventually, test_settings, TestApp};
use crate::process::free_port;

#[derive(Deserialize)]
struct Failure {
    error: FailureDetail,
}

#[derive(Deserialize, Debug)]
struct FailureDetail {
    code: String,
    message: String,
    request_id: Option<String>,
}

/// The answer's request id (from its header), and its error if it is one.
async fn answered(response: Response) -> (StatusCode, String, Option<String>, Option<FailureDetail>) {
    let status = response.status();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let retry_after = response.headers().get(RETRY_AFTER).map(|value| value.to_str().unwrap().to_owned());
    let error = response.json::<Failure>().await.ok().map(|failure| failure.error);
    (status, id, retry_after, error)
}

/// The metrics route's token in the servers that scrape it here.
const METRICS_TOKEN: &str = "a-metrics-token-for-tests";

fn is_request_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_answer_names_its_request_and_errors_quote_it(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let client = app.bare();
    let mut seen = Vec::new();
    for path in ["/healthz", "/healthz", "/login", "/api/openapi.json"] {
        let (status, id, _, _) = answered(client.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(is_request_id(&id), "{path}: {id}");
        seen.push(id);
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 4, "each request has an id of its own");

    // The error's body quotes the same id; one the caller chose is not taken.
    let refused = client.get(app.url("/api/v1/me")).header("x-request-id", "chosen-by-me").send().await.unwrap();
    let (status, id, _, error) = answered(refused).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_ne!(id, "chosen-by-me");
    let error = error.expect("an error body");
    assert_eq!(error.request_id.as_deref(), Some(id.as_str()), "{error:?}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_request_past_its_deadline_is_a_503_that_changed_nothing(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    // The same database behind a server with a one-second deadline.
    let hurried = app.another(Settings { request_timeout: Duration::from_secs(1), ..test_settings() }).await;
    let settings_url = hurried.url(&format!("/api/v1/projects/{}/settings", project.id));
    let (token, client) = (app.token(&ada, &["read", "write"]).await, hurried.bare());
    let change = || client.patch(&settings_url).bearer_auth(&token).json(&json!({ "required_approvals": 3 })).send();

    // Someone else's transaction holds the project's row, and keeps holding it.
    let mut holder = app.db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM projects WHERE id = $1 FOR UPDATE")
        .bind(project.id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let started = Instant::now();
    let (status, id, retry_after, error) = answered(change().await.unwrap()).await;
    let waited = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(waited < Duration::from_secs(10), "answered after {waited:?}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    let error = error.expect("an error body");
    assert_eq!(error.code, "timed_out", "{error:?}");
    assert!(error.message.contains("1 seconds"), "{}", error.message);
    assert_eq!(error.request_id.as_deref(), Some(id.as_str()));
    holder.rollback().await.unwrap();

    // What the request was doing rolled back with it; sent again, it goes through.
    let (approvals,): (i32,) = sqlx::query_as("SELECT required_approvals FROM projects WHERE id = $1")
        .bind(project.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_ne!(approvals, 3, "the abandoned request wrote nothing");
    assert_eq!(change().await.unwrap().status(), StatusCode::OK);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_unreachable_database_is_a_503_with_retry_after(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let (ada, cookie) = app.signup_with_cookie("ada").await;
    let token = app.token(&ada, &["read", "write"]).await;

    // The same server, its pool pointed at a port where no database listens.
    let mut options = (*db.connect_options()).clone();
    options = options.port(free_port());
    let gone = PgPoolOptions::new().acquire_timeout(Duration::from_secs(2)).connect_lazy_with(options);
    let settings = Settings { metrics_token: Some(METRICS_TOKEN.into()), ..test_settings() };
    let state = AppState::new(gone, settings, charter_backend::documents::collab_rules());
    let down = TestApp::start(state, std::path::Path::new("target/site")).await;
    let client = down.bare();

    for request in [
        client.get(down.url("/api/v1/projects")).bearer_auth(&token),
        client.get(down.url("/api/v1/me")).header("cookie", &cookie),
        down.browser().post(down.url("/api/v1/auth/login")).json(&json!({ "username": "ada", "password": "whatever" })),
    ] {
        let started = Instant::now();
        let (status, id, retry_after, error) = answered(request.send().await.unwrap()).await;
        assert!(started.elapsed() < Duration::from_secs(10), "answered after {:?}", started.elapsed());
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("5"));
        let error = error.expect("an error body");
        assert_eq!(error.code, "unavailable", "{error:?}");
        assert_eq!(error.request_id.as_deref(), Some(id.as_str()));
        // The first found no connection in time, and a connection of the server's own was
        // refused: it is known, and what follows is answered without waiting for the pool.
        assert!(!down.availability.is_reachable());
    }
    let health = client.get(down.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);

    // What needs no database answers as usual: the API's description, and the metrics at
    // once (they leave out the queue depths rather than wait the pool's two seconds).
    let described = client.get(down.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(described.status(), StatusCode::OK);
    // Anything but a read is refused there too: its token would be looked up first.
    let written = client.post(down.url("/api/openapi.json")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(written.status(), StatusCode::SERVICE_UNAVAILABLE);
    let started = Instant::now();
    let scraped = client.get(down.url("/metrics")).bearer_auth(METRICS_TOKEN).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.text().await.unwrap().contains("charter_database_reachable"));
    assert!(started.elapsed() < Duration::from_secs(1), "metrics answered after {:?}", started.elapsed());
    // A page that does not exist still tells a person why nothing is shown.
    let lost = client
        .get(down.url("/no-such-page"))
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(lost.text().await.unwrap().contains("tries again"));

    // The pages' server functions say the same.
    let signing_in = down
        .browser()
        .post(down.url(charter_app::account::Login::PATH))
        .form(&[("username", "ada"), ("password", "whatever")])
        .send()
        .await
        .unwrap();
    assert_eq!(signing_in.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(signing_in.headers()[RETRY_AFTER], "5");
    // In their own error form, which the page's script reads.
    assert_eq!(
        signing_in.json::<charter_app::error::AppError>().await.unwrap(),
        charter_app::error::AppError::Unavailable(5)
    );
    // A form the browser posted itself gets a page that says what to do.
    let posted = down
        .browser()
        .post(down.url(charter_app::account::Login::PATH))
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html")
        .form(&[("username", "ada"), ("password", "whatever")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(posted.text().await.unwrap().contains("send it again"));
    // An API client that takes HTML among other things still gets the API's error.
    let listed = client.get(down.url("/api/v1/projects")).bearer_auth(&token).header("accept", "text/html, */*");
    let (status, _, _, error) = answered(listed.send().await.unwrap()).await;
    assert_eq!((status, error.map(|error| error.code)), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable".into())));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_outage_noticed_wrongly_clears_at_the_next_probe(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let availability = app.availability.clone();
    let ada = app.signup("ada").await;

    // Something took a broken connection for an outage; the database is fine.
    availability.lost();
    eventually("the probe connects", Duration::from_secs(10), || {
        let availability = availability.clone();
        async move { availability.is_reachable() }
    })
    .await;
    let (status, _) = crate::harness::call(&ada, reqwest::Method::GET, &app.url("/api/v1/projects"), None).await;
    assert_eq!(status, StatusCode::OK);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_busy_pool_is_a_503_but_no_outage(db: PgPool) {
    let app = TestApp::spawn(db.clone()).await;
    let ada = app.signup("ada").await;
    let token = app.token(&ada, &["read"]).await;

    // A server whose one connection is taken: its requests wait a second for it, in vain.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(1))
        .connect_with((*db.connect_options()).clone())
        .await
        .unwrap();
    let held = pool.acquire().await.unwrap();
    let busy = TestApp::start(
        AppState::new(pool.clone(), test_settings(), charter_backend::documents::collab_rules()),
        std::path::Path::new("target/site"),
    )
    .await;
    let (status, _, _, error) =
        answered(busy.bare().get(busy.url("/api/v1/projects")).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error.expect("an error body").code, "unavailable");
    // The database itself took a connection of the server's own: busy, not gone, so
    // the next request is not refused for an outage.
    assert!(busy.availability.is_reachable());
    drop(held);
    let (status, _, _, _) =
        answered(busy.bare().get(busy.url("/api/v1/projects")).bearer_auth(&token).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
}
