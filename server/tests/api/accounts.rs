use std::time::Duration;

use charter_backend::Settings;
use reqwest::header::{RETRY_AFTER, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{call, error_code, read, TestApp, PASSWORD};

fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("charter_session="))
        .expect("a session cookie")
        .to_owned()
}

fn cookie_value(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn signup_sets_a_hardened_session_cookie(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let response = app
        .browser()
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = session_cookie(&response);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http gets no Secure flag: {cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("Max-Age=") || cookie.contains("Expires="), "sessions expire when idle: {cookie}");
    let (_, body) = read(response).await;
    assert_eq!(body["username"], "ada");
    assert!(body["id"].as_str().is_some());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn secure_cookies_when_served_over_https(db: PgPool) {
    let settings = Settings { public_origin: Some("https://charter.example.com".into()), ..Settings::default() };
    let app = TestApp::spawn_with(db, settings).await;
    let response = app
        .bare()
        .post(app.url("/api/v1/auth/signup"))
        .header("origin", "https://charter.example.com")
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(session_cookie(&response).contains("Secure"));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn passwords_are_stored_as_argon2id_with_owasp_parameters(db: PgPool) {
    let app = TestApp::spawn(db).await;
    app.signup("ada").await;
    let (hash,): (String,) =
        sqlx::query_as("SELECT password_hash FROM users WHERE username = 'ada'").fetch_one(&app.db).await.unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn login_issues_a_new_session_id_and_the_old_one_stops_working(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let signup = app
        .bare()
        .post(app.url("/api/v1/auth/signup"))
        .header("origin", &app.base)
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    let before = cookie_value(&session_cookie(&signup)).to_owned();

    let login = app
        .bare()
        .post(app.url("/api/v1/auth/login"))
        .header("origin", &app.base)
        .header("cookie", &before)
        .json(&json!({ "username": "ADA", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK, "usernames match regardless of case");
    let after = cookie_value(&session_cookie(&login)).to_owned();
    assert_ne!(before, after, "logging in cycles the session id");

    let me = |cookie: String| {
        let request = app.bare().get(app.url("/api/v1/me")).header("cookie", cookie);
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(me(after).await, StatusCode::OK);
    assert_eq!(me(before).await, StatusCode::UNAUTHORIZED, "the pre-login session id is dead");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn me_logout_and_wrong_passwords(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (status, body) = call(&app.browser(), Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(&body), "unauthorized");

    let client = app.signup("ada").await;
    let (status, me) = call(&client, Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("ada")));

    let (status, _) = call(&client, Method::POST, &app.url("/api/v1/auth/logout"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(&client, Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "logged out");

    for (username, password) in [("ada", "wrong password!"), ("nobody", PASSWORD)] {
        let body = json!({ "username": username, "password": password });
        let (status, body) = call(&client, Method::POST, &app.url("/api/v1/auth/login"), Some(body)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(error_code(&body), "invalid_credentials");
        assert_eq!(
            body["error"]["message"], "invalid username or password",
            "unknown users and wrong passwords look alike"
        );
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn signup_validates_and_refuses_taken_usernames(db: PgPool) {
    let app = TestApp::spawn(db).await;
    app.signup("ada").await;
    let cases = [
        (json!({ "username": "Ada", "password": PASSWORD }), StatusCode::CONFLICT, "conflict"),
        (json!({ "username": "a", "password": PASSWORD }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "ada lovelace", "password": PASSWORD }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "grace", "password": "short" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "grace", "password": "x".repeat(300) }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "grace", "password": "a".repeat(20) }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "grace", "password": " ".repeat(20) }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "grace", "password": "passwordpassword1" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": "grace" }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (json!({ "username": 42, "password": PASSWORD }), StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
    ];
    for (body, status, code) in cases {
        let (got, answer) =
            call(&app.browser(), Method::POST, &app.url("/api/v1/auth/signup"), Some(body.clone())).await;
        assert_eq!(got, status, "{body} -> {answer}");
        assert_eq!(error_code(&answer), code, "{body}");
    }
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM users").fetch_one(&app.db).await.unwrap();
    assert_eq!(count, 1, "no invalid account was created");
}

/// A client whose requests come from `ip` (any address in 127.0.0.0/8 is this machine).
fn client_from(app: &TestApp, ip: [u8; 4]) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, app.base.parse().unwrap());
    reqwest::Client::builder().local_address(std::net::IpAddr::from(ip)).default_headers(headers).build().unwrap()
}

async fn login_from(app: &TestApp, ip: [u8; 4], username: &str, password: &str) -> reqwest::Response {
    let body = json!({ "username": username, "password": password });
    client_from(app, ip).post(app.url("/api/v1/auth/login")).json(&body).send().await.unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn failed_logins_are_limited_per_address_and_username_without_locking_the_owner_out(db: PgPool) {
    let settings = Settings {
        auth_attempts_per_ip: 8,
        auth_attempts_per_username_and_ip: 3,
        auth_window: Duration::from_secs(60),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(db, settings).await;
    app.signup("ada").await;
    let attacker = [127, 0, 0, 2];
    let owner = [127, 0, 0, 3];

    // Successes never count: the owner logs in more often than any limit allows.
    for _ in 0..10 {
        assert_eq!(login_from(&app, owner, "ada", PASSWORD).await.status(), StatusCode::OK);
    }

    // Guesses against ada from one address run into the per-pair limit...
    for _ in 0..3 {
        assert_eq!(login_from(&app, attacker, "ada", "wrong password!").await.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = login_from(&app, attacker, "ada", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "even the right password waits");
    assert!(limited.headers().get(RETRY_AFTER).is_some());
    let (_, body) = read(limited).await;
    assert_eq!(error_code(&body), "rate_limited");

    // ...while ada, elsewhere, is not locked out.
    assert_eq!(login_from(&app, owner, "ada", PASSWORD).await.status(), StatusCode::OK);

    // Other usernames from the attacker's address run into the per-address limit.
    let mut statuses = Vec::new();
    for n in 0..6 {
        statuses.push(login_from(&app, attacker, &format!("user{n}"), "wrong password!").await.status());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 5, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn concurrent_guesses_cannot_slip_under_the_limit(db: PgPool) {
    let settings = Settings { auth_attempts_per_ip: 100, auth_attempts_per_username_and_ip: 3, ..Settings::default() };
    let app = TestApp::spawn_with(db, settings).await;
    app.signup("ada").await;
    let guesses = (0..12).map(|_| login_from(&app, [127, 0, 0, 4], "ada", "wrong password!"));
    let statuses: Vec<StatusCode> =
        futures_util::future::join_all(guesses).await.into_iter().map(|response| response.status()).collect();
    let checked = statuses.iter().filter(|status| **status == StatusCode::UNAUTHORIZED).count();
    assert_eq!(checked, 3, "only three guesses reach the password check: {statuses:?}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn changing_the_password_signs_out_every_other_session(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let here = app.signup("ada").await;
    let elsewhere = app.browser();
    let credentials = json!({ "username": "ada", "password": PASSWORD });
    let (status, _) = call(&elsewhere, Method::POST, &app.url("/api/v1/auth/login"), Some(credentials)).await;
    assert_eq!(status, StatusCode::OK);
    let token = app.token(&here, &["read", "write"]).await;

    let change = app.url("/api/v1/auth/password");
    let new_password = "tangerine oboe stapler";
    for (body, status) in [
        (json!({ "current_password": "not my password", "new_password": new_password }), StatusCode::FORBIDDEN),
        (
            json!({ "current_password": PASSWORD, "new_password": "aaaaaaaaaaaaaaaaaaaa" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, answer) = call(&here, Method::POST, &change, Some(body)).await;
        assert_eq!(got, status, "{answer}");
    }
    let by_token = app
        .bare()
        .post(&change)
        .bearer_auth(&token)
        .json(&json!({ "current_password": PASSWORD, "new_password": new_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), StatusCode::FORBIDDEN, "a token cannot change the password");

    let body = json!({ "current_password": PASSWORD, "new_password": new_password });
    let (status, answer) = call(&here, Method::POST, &change, Some(body)).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    let (status, _) = call(&here, Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::OK, "the session that changed it goes on");
    let (status, _) = call(&elsewhere, Method::GET, &app.url("/api/v1/me"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "every other session ended");

    let login = |password: &str| json!({ "username": "ada", "password": password });
    let (status, _) = call(&app.browser(), Method::POST, &app.url("/api/v1/auth/login"), Some(login(PASSWORD))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        call(&app.browser(), Method::POST, &app.url("/api/v1/auth/login"), Some(login(new_password))).await;
    assert_eq!(status, StatusCode::OK);
}

/// A failed log-in from `ip`, through a proxy that says it came from `forwarded`.
async fn guess_through(app: &TestApp, ip: [u8; 4], forwarded: &str) -> StatusCode {
    let body = json!({ "username": "ada", "password": "wrong password!" });
    let request = client_from(app, ip).post(app.url("/api/v1/auth/login")).header("x-forwarded-for", forwarded);
    request.json(&body).send().await.unwrap().status()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn attempts_count_by_the_address_a_trusted_proxy_forwards_and_no_one_elses(db: PgPool) {
    let settings = Settings {
        auth_attempts_per_ip: 2,
        trusted_proxies: charter_backend::forwarded::parse_trusted("127.0.0.2").unwrap(),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(db, settings).await;
    app.signup("ada").await;
    let (proxy, stranger) = ([127, 0, 0, 2], [127, 0, 0, 3]);

    // Through the proxy, each client has its own count.
    for _ in 0..2 {
        assert_eq!(guess_through(&app, proxy, "203.0.113.1").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(guess_through(&app, proxy, "203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(guess_through(&app, proxy, "203.0.113.2").await, StatusCode::UNAUTHORIZED);
    // A client cannot pick a fresh address by writing the header itself: the proxy
    // appends what it saw, and that is what counts.
    assert_eq!(guess_through(&app, proxy, "198.51.100.7, 203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);

    // Straight from a client the header means nothing: its own address counts.
    for forwarded in ["203.0.113.3", "203.0.113.4"] {
        assert_eq!(guess_through(&app, stranger, forwarded).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(guess_through(&app, stranger, "203.0.113.5").await, StatusCode::TOO_MANY_REQUESTS);
}
