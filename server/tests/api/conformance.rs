//! `charter check --contract`: the OpenAPI document a build produced, compared with the
//! contract in Charter (implemented, missing, drifted, extra), its exit status, and the
//! outcome kept by the server, which works it out itself.

use charter_types::{Conformity, ContractCheck, Document, Kind, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sqlx::PgPool;

use crate::contracts::{shop, Shop};
use crate::harness::{call, error_code, expect};

const SHOP: &str = include_str!("../../../backend/src/contract/fixtures/shop.yaml");

/// Runs `charter check --contract` for `contract` with `args`: its exit code, output
/// and errors.
async fn charter_check(s: &Shop, contract: &Document, args: &[&str]) -> (Option<i32>, String, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_charter"));
    command.args(["check", "--contract", &contract.id.to_string(), "--server", &s.app.base]).args(args);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_code_is_checked_against_its_contract(db: PgPool) {
    let s = shop(db).await;
    let contract = s.create("Shop API", Kind::Contract, SHOP).await;
    let token = s.app.token(&s.ada, &["read", "write"]).await;
    let read_only = s.app.token(&s.ada, &["read"]).await;
    let dir = std::env::temp_dir().join(format!("charter-conformance-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };

    // What the build produced matches: every operation implemented, exit 0.
    let matching = file("matching.json", &serde_json::to_string(&as_json(SHOP)).unwrap());
    let (code, out, err) = charter_check(&s, &contract, &["--token", &token, "--implementation", &matching]).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("implemented  POST /orders\nimplemented  GET /orders/{orderId}\n"), "{out}");
    assert!(out.contains("2 operations: 2 implemented, 0 drifted, 0 missing; 0 extra"), "{out}");

    // The code drops the order's status, reads orders no more, and serves carts.
    let drifted = SHOP
        .replace("        status: {type: string, enum: [placed, paid, shipped]}\n", "")
        .replace("required: [orderId, status]", "required: [orderId]")
        .replace("    get:\n      operationId: getOrder", "    delete:\n      operationId: getOrder")
        .replace(
            "components:\n",
            "  /carts:\n    get:\n      responses:\n        '200': {description: A cart.}\ncomponents:\n",
        );
    let drifted = file("drifted.yaml", &drifted);
    let (code, out, err) = charter_check(&s, &contract, &["--token", &token, "--implementation", &drifted]).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("drifted      POST /orders\n"), "{out}");
    assert!(
        out.contains("breaking: POST /orders › response 201 › status was removed (response-property-removed)"),
        "{out}"
    );
    assert!(out.contains("missing      GET /orders/{orderId}\n"), "{out}");
    assert!(out.contains("extra        DELETE /orders/{orderId}  (served, not in the contract)"), "{out}");
    assert!(out.contains("extra        GET /carts  (served, not in the contract)"), "{out}");
    assert!(err.contains("FAILED: the code does not serve the contract"), "{err}");

    // Mistakes are exit 2, said in words.
    let not_openapi = file("package.json", "{\"name\": \"shop\"}");
    let (code, _, err) = charter_check(&s, &contract, &["--token", &token, "--implementation", &not_openapi]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("the implementation is not an OpenAPI 3.0 or 3.1 document"), "{err}");
    let (code, _, err) = charter_check(&s, &contract, &["--token", &token]).await;
    assert_eq!((code, err.contains("--implementation is required")), (Some(2), true), "{err}");
    let (code, _, err) = charter_check(&s, &contract, &["--token", "nope", "--implementation", &matching]).await;
    assert_eq!((code, err.contains("401")), (Some(2), true), "{err}");
    let args = ["--token", &read_only, "--implementation", &drifted, "--upload", "--commit", "abc123"];
    let (code, _, err) = charter_check(&s, &contract, &args).await;
    assert_eq!(code, Some(2), "uploading needs the write scope: {err}");

    // Uploaded, the server works the outcome out and keeps it with the commit.
    let args = ["--token", &token, "--implementation", &drifted, "--upload", "--commit", "abc123"];
    let (code, out, err) = charter_check(&s, &contract, &args).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("uploaded the check for abc123 (branch main)"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();

    let vic = s.app.signup("vic").await;
    s.app.add_member(&s.ada, &s.project, "vic", Role::Viewer).await;
    let url = s.api(&format!("/documents/{}/conformance", contract.id));
    let kept: ContractCheck = expect(&vic, Method::GET, &url, None).await;
    let statuses: Vec<(&str, Conformity)> =
        kept.operations.iter().map(|op| (op.operation.as_str(), op.status)).collect();
    assert_eq!(statuses, [("POST /orders", Conformity::Drifted), ("GET /orders/{orderId}", Conformity::Missing)]);
    assert_eq!((kept.commit.as_str(), kept.checked_by.as_str(), kept.extra.len()), ("abc123", "ada", 2));
    assert!(kept.breaks());
    let (status, _) = call(&vic, Method::POST, &url, Some(json!({ "commit": "c", "implementation": SHOP }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers do not upload");
    let eve = s.app.signup("eve").await;
    assert_eq!(call(&eve, Method::GET, &url, None).await.0, StatusCode::NOT_FOUND);

    // The API says what is wrong with an upload.
    let (status, body) = call(&s.ada, Method::POST, &url, Some(json!({ "commit": "", "implementation": SHOP }))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"), "{body}");
    let broken = json!({ "commit": "c", "implementation": "openapi: [" });
    let (status, body) = call(&s.ada, Method::POST, &url, Some(broken)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"].as_str().unwrap().starts_with("the implementation cannot be read (line"),
        "{body}"
    );
    let spec = s.create("Checkout", Kind::Spec, "# Checkout\n").await;
    let url = s.api(&format!("/documents/{}/conformance", spec.id));
    let (status, _) = call(&s.ada, Method::POST, &url, Some(json!({ "commit": "c", "implementation": SHOP }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = call(&s.ada, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// The fixture as JSON, as many builds write their OpenAPI document.
fn as_json(yaml: &str) -> serde_json::Value {
    charter_backend::contract::source::read(yaml).unwrap().value
}
