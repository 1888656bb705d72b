//! `CHARTER_LOG_FORMAT=json`: one JSON object a line, each carrying the request's span
//! with the id the response names and the client's address as the server works it out.

use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::process::serve;

/// The span fields `request_id::assign` and `forwarded` give every request.
#[derive(Deserialize)]
struct RequestSpan {
    id: String,
    method: String,
    path: String,
    client: Option<String>,
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn json_log_lines_carry_the_request_id_and_the_client_address(db: PgPool) {
    let env = [
        ("CHARTER_LOG_FORMAT", "json"),
        // tower-http's line for each answer is at debug.
        ("RUST_LOG", "info,tower_http=debug"),
        ("CHARTER_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let (mut process, base) = serve(&db, &env).await;
    let client = reqwest::Client::new();
    let answered = client
        .get(format!("{base}/api/v1/me"))
        // From a trusted proxy: the address it forwarded is the client.
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 401);
    let id = answered.headers()["x-request-id"].to_str().unwrap().to_owned();

    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let entry: Value = serde_json::from_str(&line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
            let spans = entry["spans"].as_array().cloned().unwrap_or_default();
            let mut ours = spans.into_iter().filter_map(|span| serde_json::from_value::<RequestSpan>(span).ok());
            if let Some(span) = ours.find(|span| span.id == id) {
                return (entry, span);
            }
        }
        panic!("the log ended without a line of request {id}");
    })
    .await
    .expect("a log line of the request");
    let (entry, span) = found;
    assert_eq!((span.method.as_str(), span.path.as_str()), ("GET", "/api/v1/me"));
    assert_eq!(span.client.as_deref(), Some("203.0.113.9"), "{entry}");
}
