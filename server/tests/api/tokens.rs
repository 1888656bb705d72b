use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use charter_backend::Settings;

use crate::harness::{call, error_code, read, TestApp};

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_token_is_shown_once_and_only_its_hash_and_prefix_are_stored(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let body = json!({ "name": "agent", "scopes": ["read", "write"] });
    let (status, created) = call(&ada, Method::POST, &app.url("/api/v1/tokens"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let token = created["token"].as_str().unwrap();
    let prefix = created["prefix"].as_str().unwrap();
    assert!(token.starts_with(&format!("charter_{prefix}_")), "{token}");

    let (status, list) = call(&ada, Method::GET, &app.url("/api/v1/tokens"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["prefix"], prefix);
    assert_eq!(list[0]["scopes"], json!(["read", "write"]));
    assert!(!list.to_string().contains(token), "the secret is never listed");

    let (stored_prefix, hash): (String, Vec<u8>) =
        sqlx::query_as("SELECT prefix, token_hash FROM api_tokens").fetch_one(&app.db).await.unwrap();
    assert_eq!(stored_prefix, prefix);
    assert_eq!(hash, Sha256::digest(token.as_bytes()).to_vec());
    let (leaks,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM api_tokens t WHERE row_to_json(t)::text LIKE '%' || $1 || '%'")
            .bind(&token[20..])
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(leaks, 0, "no column holds the secret");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn scopes_decide_what_a_token_may_do(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Payments").await;
    let projects = app.url("/api/v1/projects");
    let docs = app.tree_url(&project);
    let bearer = |token: &str| format!("Bearer {token}");

    let read_only = app.token(&ada, &["read"]).await;
    let writer = app.token(&ada, &["read", "write"]).await;
    let incidents = app.token(&ada, &["incidents:write"]).await;
    let script = app.bare(); // no cookie, no Origin: tokens need neither

    let get = |token: String| script.get(&docs).header("authorization", bearer(&token)).send();
    assert_eq!(get(read_only.clone()).await.unwrap().status(), StatusCode::OK);
    assert_eq!(get(incidents.clone()).await.unwrap().status(), StatusCode::FORBIDDEN, "reading needs `read`");

    let post = |token: String| {
        script
            .post(&docs)
            .header("authorization", bearer(&token))
            .json(&json!({ "title": "Login", "kind": "spec" }))
            .send()
    };
    let (status, body) = read(post(read_only.clone()).await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error_code(&body), "forbidden");
    assert!(body["error"]["message"].as_str().unwrap().contains("write"), "{body}");
    assert_eq!(post(writer.clone()).await.unwrap().status(), StatusCode::CREATED);

    let me = script.get(app.url("/api/v1/me")).header("authorization", bearer(&writer)).send().await.unwrap();
    let (_, me) = read(me).await;
    assert_eq!(me["username"], "ada");

    // A token never stands in for a browser session where one is required.
    let list = script.get(app.url("/api/v1/tokens")).header("authorization", bearer(&writer)).send().await.unwrap();
    assert_eq!(list.status(), StatusCode::FORBIDDEN, "tokens cannot manage tokens");
    let create = script
        .post(&projects)
        .header("authorization", bearer(&writer))
        .json(&json!({ "name": "Made by a token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::CREATED, "tokens with `write` create projects");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn revoked_and_malformed_tokens_are_refused(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let token = app.token(&ada, &["read"]).await;
    let me = |value: String| app.bare().get(app.url("/api/v1/me")).header("authorization", value).send();
    assert_eq!(me(format!("Bearer {token}")).await.unwrap().status(), StatusCode::OK);
    assert_eq!(me(format!("bearer {token}")).await.unwrap().status(), StatusCode::OK, "the scheme is case-insensitive");

    let (_, list) = call(&ada, Method::GET, &app.url("/api/v1/tokens"), None).await;
    let token_id = list[0]["id"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/tokens/{token_id}"));
    let (status, _) = call(&ada, Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(me(format!("Bearer {token}")).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let (status, _) = call(&ada, Method::DELETE, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a revoked token is gone");

    let tampered = format!("{}{}", &token[..token.len() - 1], if token.ends_with('0') { '1' } else { '0' });
    for value in [format!("Bearer {tampered}"), "Bearer nonsense".into(), "Basic YWRhOnB3".into(), token.clone()] {
        let response = me(value.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{value}");
    }

    // Someone else's token id is not yours to revoke.
    let grace = app.signup("grace").await;
    let other = app.token(&ada, &["read"]).await;
    let (_, list) = call(&ada, Method::GET, &app.url("/api/v1/tokens"), None).await;
    let other_id = list[0]["id"].as_str().unwrap();
    let (status, _) = call(&grace, Method::DELETE, &app.url(&format!("/api/v1/tokens/{other_id}")), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(me(format!("Bearer {other}")).await.unwrap().status(), StatusCode::OK);

    for body in [
        json!({ "name": "", "scopes": ["read"] }),
        json!({ "name": "x", "scopes": [] }),
        json!({ "name": "x", "scopes": ["admin"] }),
    ] {
        let (status, answer) = call(&ada, Method::POST, &app.url("/api/v1/tokens"), Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} -> {answer}");
    }
}

/// A token's last use is kept to the minute: written on its first use, not again within
/// the minute, and again once that minute has passed.
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_tokens_last_use_is_written_at_most_once_a_minute(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let token = app.token(&ada, &["read"]).await;
    let used = || async {
        let response = app.bare().get(app.url("/api/v1/projects")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    };
    let last_used = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>("SELECT last_used_at FROM api_tokens")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(last_used().await, None, "never used yet");
    used().await;
    let first = last_used().await.expect("written on first use");
    used().await;
    assert_eq!(last_used().await, Some(first), "not written again within the minute");
    sqlx::query("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'").execute(&app.db).await.unwrap();
    let aged = last_used().await.unwrap();
    used().await;
    assert!(last_used().await.unwrap() > aged, "written again once the minute has passed");
}

/// `GET /api/v1/me` from `ip` with `token`.
async fn me_from(app: &TestApp, ip: [u8; 4], token: &str) -> reqwest::Response {
    let client = reqwest::Client::builder().local_address(std::net::IpAddr::from(ip)).build().unwrap();
    client.get(app.url("/api/v1/me")).bearer_auth(token).send().await.unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn token_guesses_are_limited_per_address_and_token_use_per_account(db: PgPool) {
    let settings = Settings { token_failures_per_ip: 3, token_requests_per_minute: 5, ..Settings::default() };
    let app = TestApp::spawn_with(db, settings).await;
    let ada = app.signup("ada").await;
    let token = app.token(&ada, &["read"]).await;
    let (guesser, owner) = ([127, 0, 0, 2], [127, 0, 0, 3]);

    for n in 0..3 {
        let guess = format!("charter_abcdefgh_{n}");
        assert_eq!(me_from(&app, guesser, &guess).await.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = me_from(&app, guesser, "charter_abcdefgh_3").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers().contains_key("retry-after"));
    assert_eq!(error_code(&read(limited).await.1), "rate_limited");
    // Only guesses wait: a good token from the same address (a script behind the same
    // gateway) still works, so nobody can lock others out by sending garbage.
    assert_eq!(me_from(&app, guesser, &token).await.status(), StatusCode::OK);
    assert_eq!(me_from(&app, owner, "charter_abcdefgh_4").await.status(), StatusCode::UNAUTHORIZED);

    // Good requests count per account: five a minute here, from any address.
    for ip in [owner, owner, [127, 0, 0, 4], [127, 0, 0, 5]] {
        assert_eq!(me_from(&app, ip, &token).await.status(), StatusCode::OK);
    }
    assert_eq!(me_from(&app, [127, 0, 0, 6], &token).await.status(), StatusCode::TOO_MANY_REQUESTS);
    // The person at the browser is not held up by their scripts.
    let (status, _) = call(&ada, Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::OK);
}
