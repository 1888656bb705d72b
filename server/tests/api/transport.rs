//! The HTTP layer under every route: connection and body deadlines, the Origin check
//! and what it accepts instead, caching and CSP headers, what is served, and where a
//! login may send the browser.

use std::time::{Duration, Instant};

use charter_backend::Settings;
use leptos::server_fn::ServerFn;
use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_SECURITY_POLICY, IF_MODIFIED_SINCE, LAST_MODIFIED,
    LOCATION,
};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{call, error_code, read, test_settings, TestApp, PASSWORD};

/// A deadline short enough for a test, long enough for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(1);

async fn with_deadlines(db: PgPool) -> TestApp {
    let settings = Settings { http_header_timeout: DEADLINE, http_body_timeout: DEADLINE, ..test_settings() };
    TestApp::spawn_with(db, settings).await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or 10 s pass): what it sent, and how long that took.
async fn until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => panic!("the server kept the connection open for 10 s"),
        }
    }
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn slow_or_idle_connections_are_closed(db: PgPool) {
    let app = with_deadlines(db).await;

    // Headers that never end.
    let mut partial = connect(&app).await;
    partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let (_, waited) = until_closed(&mut partial).await;
    assert!(waited < DEADLINE * 5, "partial headers held for {waited:?}");

    // A kept-alive connection that goes quiet after one request.
    let mut idle = connect(&app).await;
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (answered, waited) = until_closed(&mut idle).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
    assert!(waited < DEADLINE * 5, "an idle keep-alive connection held for {waited:?}");

    // A body that never arrives.
    let mut unfinished = connect(&app).await;
    unfinished
        .write_all(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let (answered, waited) = until_closed(&mut unfinished).await;
    assert!(waited < DEADLINE * 5, "an unfinished body held for {waited:?}");
    assert!(!answered.starts_with("HTTP/1.1 5"), "a slow client is not a server error: {answered}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn only_a_valid_bearer_token_stands_in_for_the_sites_origin(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (ada, cookie) = app.signup_with_cookie("ada").await;
    let token = app.token(&ada, &["read", "write"]).await;
    let create = |authorization: &str| {
        app.bare()
            .post(app.url("/api/v1/projects"))
            .header("cookie", &cookie)
            .header("origin", "https://evil.example")
            .header("authorization", authorization)
            .json(&json!({ "name": "Planted" }))
            .send()
    };
    for bogus in ["Basic YWRhOnB3", "Bearer nope", "Bearer", "whatever"] {
        let refused = create(bogus).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{bogus}");
    }
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM projects").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 0, "a header that only says Authorization does not open the door");

    let accepted = create(&format!("Bearer {token}")).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED, "a real token needs no Origin");

    // The Origin's scheme counts: the site is served over http here.
    let https = app.base.replace("http://", "https://");
    let refused = app
        .bare()
        .post(app.url("/api/v1/projects"))
        .header("cookie", &cookie)
        .header("origin", https)
        .json(&json!({ "name": "Planted" }))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (_, body) = read(refused).await;
    assert_eq!(error_code(&body), "forbidden");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn api_answers_are_never_cached_and_images_come_from_the_site(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    for (method, path) in
        [(Method::GET, "/api/v1/me"), (Method::GET, "/api/v1/projects"), (Method::GET, "/api/v1/nope")]
    {
        let response = ada.request(method, app.url(path)).send().await.unwrap();
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{path}");
    }
    let page = ada.get(app.url("/projects")).send().await.unwrap();
    let policy = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.contains("img-src 'self' data:;"), "{policy}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn source_maps_are_not_served_unless_enabled(db: PgPool) {
    let site = tempdir();
    std::fs::write(site.join("editor.js.map"), "{}").unwrap();
    std::fs::write(site.join("editor.js"), "export {}").unwrap();
    let serve = |db: PgPool, source_maps: bool| {
        let site = site.clone();
        async move {
            let settings = Settings { serve_source_maps: source_maps, ..test_settings() };
            TestApp::spawn_in_site(db, settings, &site).await
        }
    };
    let production = serve(db.clone(), false).await;
    let client = production.bare();
    assert_eq!(client.get(production.url("/editor.js")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(client.get(production.url("/editor.js.map")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let debug = serve(db, true).await;
    assert_eq!(debug.bare().get(debug.url("/editor.js.map")).send().await.unwrap().status(), StatusCode::OK);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn files_go_out_compressed_and_are_revalidated_rather_than_sent_again(db: PgPool) {
    let site = tempdir();
    let script = "export const editor = 'the editor';\n".repeat(100);
    std::fs::write(site.join("editor.js"), &script).unwrap();
    // A build's precompressed copy is sent as it is, not compressed again.
    std::fs::write(site.join("editor.js.br"), b"precompressed by the build").unwrap();
    let app = TestApp::spawn_in_site(db, test_settings(), &site).await;
    let client = app.bare();
    let get = |path: &str, encodings: &str| client.get(app.url(path)).header(ACCEPT_ENCODING, encodings);

    let gzipped = get("/editor.js", "gzip").send().await.unwrap();
    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(gzipped.headers()[CONTENT_ENCODING], "gzip");
    assert_eq!(gzipped.headers()[CACHE_CONTROL], "no-cache");
    let modified = gzipped.headers()[LAST_MODIFIED].clone();
    let body = gzipped.bytes().await.unwrap();
    assert!(body.len() < script.len() / 10, "{} bytes for {}", body.len(), script.len());

    let precompressed = get("/editor.js", "br, gzip").send().await.unwrap();
    assert_eq!(precompressed.headers()[CONTENT_ENCODING], "br");
    assert_eq!(precompressed.bytes().await.unwrap().as_ref(), b"precompressed by the build");

    let plain = get("/editor.js", "identity").send().await.unwrap();
    assert!(plain.headers().get(CONTENT_ENCODING).is_none());
    assert_eq!(plain.text().await.unwrap(), script);

    let again = get("/editor.js", "gzip").header(IF_MODIFIED_SINCE, modified).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[CACHE_CONTROL], "no-cache");
    assert!(again.bytes().await.unwrap().is_empty());

    // Pages are compressed too, but are not files: no file's caching rule, and a path
    // that names nothing is the "not found" page.
    let page = get("/login", "gzip").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CONTENT_ENCODING], "gzip");
    assert!(page.headers().get(CACHE_CONTROL).is_none());
    let missing = get("/no-such-file.js", "gzip").send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().get(CACHE_CONTROL).is_none());
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("charter-site-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn logging_in_only_ever_leads_to_a_page_of_this_site(db: PgPool) {
    let app = TestApp::spawn(db).await;
    app.signup("ada").await;
    let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
    for (next, expected) in [
        ("/p/demo", "/p/demo"),
        ("/\t/evil.example/x", "/projects"),
        ("//evil.example", "/projects"),
        ("/\\evil.example", "/projects"),
        ("/\n/evil.example", "/projects"),
        ("https://evil.example/", "/projects"),
    ] {
        let response = client
            .post(app.url(<charter_app::account::Login as ServerFn>::PATH))
            .header("origin", &app.base)
            .header("accept", "text/html")
            .form(&[("username", "ada"), ("password", PASSWORD), ("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{next:?}");
        assert_eq!(response.headers()[LOCATION], expected, "{next:?}");
    }
    let (status, _) = call(&app.browser(), Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a fresh client is not signed in");
}
