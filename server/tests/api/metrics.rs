//! `/metrics`: Prometheus' text format for a scraper with the metrics token, nothing for
//! anyone else, and nothing at all on a server without a token.

use charter_backend::Settings;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use sqlx::PgPool;

use crate::collab::spec;
use crate::harness::{test_settings, TestApp};
use crate::peer::Peer;

const TOKEN: &str = "scrape-me-please-0123456789";

/// The value of the first sample of `series` (a metric name with its labels, as the
/// text format writes them), if it is there.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn metrics_are_served_to_the_token_only(db: PgPool) {
    let without = TestApp::spawn(db.clone()).await;
    let missing = without.bare().get(without.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND, "no token configured, no /metrics");

    let app = TestApp::spawn_with(db, Settings { metrics_token: Some(TOKEN.into()), ..test_settings() }).await;
    let client = app.bare();
    for wrong in [None, Some("nope"), Some("scrape-me-please-0123456788")] {
        let mut request = client.get(app.url("/metrics"));
        if let Some(wrong) = wrong {
            request = request.bearer_auth(wrong);
        }
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{wrong:?}");
        assert_eq!(refused.headers()[WWW_AUTHENTICATE], "Bearer");
    }

    // Some traffic: API calls and a co-editing session with an edit.
    let (_, cookie, project, doc) = spec(&app, "").await;
    let ada = app.signup("bea").await;
    assert_eq!(ada.get(app.url(&format!("/api/v1/projects/{}", project.id))).send().await.unwrap().status(), 404);
    let mut editor = Peer::joined(&app, &cookie, &doc).await;
    // A second instance holding the document hears of the edit through Postgres.
    let other = app.another(test_settings()).await;
    let mut remote = Peer::joined(&other, &cookie, &doc).await;
    editor.insert(0, "measured").await;
    let mut witness = Peer::joined(&app, &cookie, &doc).await;
    witness.until("the edit arrives", |peer| peer.text() == "measured").await;
    remote.until("the edit reaches the other instance", |peer| peer.text() == "measured").await;

    // Answers of the outer layers are counted under their route too: a refused Origin.
    let foreign = ada.post(app.url("/api/v1/projects")).header("origin", "https://elsewhere.example");
    let foreign = foreign.json(&serde_json::json!({ "name": "Not from here" })).send().await.unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);

    // A method of the caller's own making is counted, but makes no series of its own.
    let made_up = reqwest::Method::from_bytes(b"MADEUP").unwrap();
    client.request(made_up, app.url("/api/v1/projects")).header("origin", &app.base).send().await.unwrap();

    let scraped = client.get(app.url("/metrics")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(scraped.status(), StatusCode::OK);
    assert!(scraped.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scraped.text().await.unwrap();
    // Requests by route pattern (never by id) and status.
    let refused = r#"charter_http_requests_total{method="GET",route="/api/v1/projects/{id}",status="404"}"#;
    assert!(sample(&text, refused).is_some_and(|count| count >= 1.0), "{text}");
    let cross_origin = r#"charter_http_requests_total{method="POST",route="/api/v1/projects",status="403"}"#;
    assert!(sample(&text, cross_origin).is_some_and(|count| count >= 1.0), "{text}");
    let latency = r#"charter_http_request_duration_seconds_count{method="POST",route="/api/v1/auth/signup"}"#;
    assert!(sample(&text, latency).is_some_and(|count| count >= 2.0), "{text}");
    assert!(text.contains(
        r#"charter_http_request_duration_seconds_bucket{method="POST",route="/api/v1/auth/signup",le="0.1"}"#
    ));
    // Co-editing: this server holds the document and two connections (other tests' servers
    // in this process report too, so at least).
    assert!(!text.contains("MADEUP"), "{text}");
    assert!(text.contains(r#"charter_http_requests_total{method="other",route="/api/v1/projects""#), "{text}");
    assert!(sample(&text, "charter_collab_open_documents").is_some_and(|open| open >= 1.0), "{text}");
    assert!(sample(&text, "charter_collab_connections").is_some_and(|open| open >= 2.0), "{text}");
    assert!(sample(&text, "charter_collab_append_seconds_count").is_some_and(|count| count >= 1.0), "{text}");
    assert!(sample(&text, "charter_collab_group_commit_updates_count").is_some_and(|count| count >= 1.0), "{text}");
    assert!(sample(&text, "charter_collab_relay_lag_seconds_count").is_some_and(|count| count >= 1.0), "{text}");
    assert!(sample(&text, r#"charter_db_pool_connections{state="in_use"}"#).is_some(), "{text}");
    assert_eq!(sample(&text, r#"charter_queue_depth{queue="incident_matching"}"#), Some(0.0), "{text}");
    assert!(sample(&text, r#"charter_queue_depth{queue="search_index"}"#).is_some(), "{text}");
    // 0 or 1: the recorder is the process's, and another test's server may be the one
    // whose database is away (availability.rs).
    assert!(matches!(sample(&text, "charter_database_reachable"), Some(0.0 | 1.0)), "{text}");
}
