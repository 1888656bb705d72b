//! A contract's mock over HTTP: it answers as the service would, from the contract's
//! examples; refuses a request that breaks the contract with the contract's own error;
//! answers only those who may read the project; follows a branch when asked; and
//! limits how often one caller may call it.

use charter_backend::Settings;
use charter_types::{Kind, Role};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::contracts::{shop, Shop};
use crate::harness::{read, test_settings, TestApp};

const SHOP: &str = include_str!("../../../backend/src/contract/fixtures/shop.yaml");
const ORDER: &str = "6f1c1f39-7c38-4f4e-9d1c-3a3c6a1e2b10";

impl Shop {
    fn mock(&self, path: &str) -> String {
        self.app.url(&format!("/mock/{}/shop-api{path}", self.project.slug))
    }
}

async fn get(client: &Client, url: &str) -> (StatusCode, Value) {
    read(client.get(url).send().await.unwrap()).await
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_mock_answers_from_the_contract_and_refuses_what_breaks_it(db: PgPool) {
    let s = shop(db).await;
    let contract = s.create("Shop API", Kind::Contract, SHOP).await;

    let answer = s.ada.get(s.mock(&format!("/orders/{ORDER}"))).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(answer.headers()["charter-mock-operation"], "GET /orders/{orderId}");
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body, json!({ "orderId": ORDER, "status": "paid", "totalCents": 1250 }));

    // The contract's 422, with the reason where its error schema keeps a message.
    let placed = s.ada.post(s.mock("/orders")).json(&json!({ "items": [{ "sku": "A-1", "quantity": 2 }] }));
    assert_eq!(placed.send().await.unwrap().status(), StatusCode::CREATED);
    let refused = s.ada.post(s.mock("/orders")).json(&json!({ "items": [{ "sku": "A-1" }] }));
    let (status, body) = read(refused.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "string", "shaped as the contract's Error: {body}");
    assert!(body["message"].as_str().unwrap().contains("\"quantity\" is a required property"), "{body}");

    // What the contract does not have is told apart from what it refuses.
    let (status, body) = get(&s.ada, &s.mock("/carts")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["message"].as_str().unwrap().contains("/carts"), "{body}");
    let wrong = s.ada.delete(s.mock("/orders")).send().await.unwrap();
    assert_eq!((wrong.status(), wrong.headers()["allow"].to_str().unwrap()), (StatusCode::METHOD_NOT_ALLOWED, "POST"));
    // A method no OpenAPI operation can have is not allowed either (schemathesis asks).
    let query = reqwest::Method::from_bytes(b"QUERY").unwrap();
    let unknown = s.ada.request(query, s.mock("/orders")).send().await.unwrap();
    assert_eq!(
        (unknown.status(), unknown.headers()["allow"].to_str().unwrap()),
        (StatusCode::METHOD_NOT_ALLOWED, "POST")
    );
    let (status, body) = get(&s.ada, &s.app.url(&format!("/mock/{}/billing/orders", s.project.slug))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["message"].as_str().unwrap().contains("no contract `billing`"), "{body}");

    // A branch's contract answers when the call names the branch.
    let branches = s.api(&format!("/projects/{}/branches", s.project.id));
    let _: Value =
        crate::harness::expect(&s.ada, reqwest::Method::POST, &branches, Some(json!({ "name": "next" }))).await;
    let url = s.api(&format!("/documents/{}/content?branch=next", contract.id));
    let next = SHOP.replace("status: paid, totalCents: 1250", "status: shipped, totalCents: 990");
    let _: Value = crate::harness::expect(&s.ada, reqwest::Method::PUT, &url, Some(json!({ "content": next }))).await;
    let on_next = s.ada.get(s.mock(&format!("/orders/{ORDER}"))).header("charter-branch", "next");
    let body: Value = on_next.send().await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "shipped");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn only_readers_of_the_project_may_call_its_mocks(db: PgPool) {
    let s = shop(db).await;
    s.create("Shop API", Kind::Contract, SHOP).await;
    let url = s.mock(&format!("/orders/{ORDER}"));

    let vic = s.app.signup("vic").await;
    s.app.add_member(&s.ada, &s.project, "vic", Role::Viewer).await;
    assert_eq!(get(&vic, &url).await.0, StatusCode::OK);
    let eve = s.app.signup("eve").await;
    assert_eq!(get(&eve, &url).await.0, StatusCode::NOT_FOUND, "strangers cannot tell the project exists");
    assert_eq!(get(&s.app.bare(), &url).await.0, StatusCode::UNAUTHORIZED);

    // A token that may read may post to the mock: the mock changes nothing.
    let token = s.app.token(&s.ada, &["read"]).await;
    let post = s.app.bare().post(s.mock("/orders")).header(AUTHORIZATION, format!("Bearer {token}"));
    let answer = post.json(&json!({ "items": [{ "sku": "A-1", "quantity": 1 }] })).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);
    let forged = s.app.bare().get(&url).header(AUTHORIZATION, "Bearer charter_not-a-token");
    assert_eq!(forged.send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn each_caller_has_so_many_mock_calls_a_minute(db: PgPool) {
    let app = TestApp::spawn_with(db, Settings { mock_requests_per_minute: 3, ..test_settings() }).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let s = Shop { app, ada, project };
    s.create("Shop API", Kind::Contract, SHOP).await;
    let url = s.mock(&format!("/orders/{ORDER}"));
    for _ in 0..3 {
        assert_eq!(get(&s.ada, &url).await.0, StatusCode::OK);
    }
    let limited = s.ada.get(&url).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers()[RETRY_AFTER].to_str().unwrap().parse::<u64>().unwrap() <= 60);
    // Another caller has calls of their own.
    let bob = s.app.signup("bob").await;
    s.app.add_member(&s.ada, &s.project, "bob", Role::Viewer).await;
    assert_eq!(get(&bob, &url).await.0, StatusCode::OK);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn what_a_contract_answers_runs_nowhere(db: PgPool) {
    let s = shop(db).await;
    let pages = "openapi: 3.1.0
info: {title: Shop API, version: 1.0.0}
paths:
  /page:
    get:
      responses:
        '200':
          description: A page.
          content:
            text/html:
              example: <script src=\"/mock/shop/shop-api/app.js\"></script>
  /app.js:
    get:
      responses:
        '200':
          description: A script.
          content:
            application/javascript:
              example: \"fetch('/api/v1/tokens', {method: 'POST'})\"
";
    s.create("Shop API", Kind::Contract, pages).await;
    // The page comes in a sandbox that loads nothing; the script comes as text.
    let page = s.ada.get(s.mock("/page")).send().await.unwrap();
    assert_eq!(page.headers()["content-security-policy"], "sandbox; default-src 'none'; frame-ancestors 'none'");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let script = s.ada.get(s.mock("/app.js")).send().await.unwrap();
    assert_eq!(script.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(script.headers()["x-content-type-options"], "nosniff");
    assert_eq!(script.text().await.unwrap(), "fetch('/api/v1/tokens', {method: 'POST'})");
}
