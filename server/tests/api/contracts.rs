//! Contracts through the API: made from their templates, linted as they are typed,
//! their operations linked to requirements, served as written, and shown as an API
//! reference.

use charter_types::{ApiChange, Document, Finding, Kind, Operation, Project, Role, Severity};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, TestApp};

pub(crate) const CHECKOUT: &str = "# Checkout\n\n- **PAY-001** The system SHALL place an order once.\n  - Given a cart, When I pay, Then one order is placed.\n";

pub(crate) const ORDERS: &str = "openapi: 3.1.0
info: {title: Orders, version: 1.0.0}
paths:
  /orders:
    post:
      operationId: placeOrder
      summary: Place an order
      x-requirements: [PAY-001]
      responses:
        '201': {description: Placed.}
        '422':
          $ref: '#/components/responses/Problem'
components:
  schemas:
    Error:
      type: object
      properties:
        message: {type: string}
  responses:
    Problem:
      description: Refused.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
";

pub(crate) struct Shop {
    pub app: TestApp,
    pub ada: Client,
    pub project: Project,
}

pub(crate) async fn shop(db: PgPool) -> Shop {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    Shop { app, ada, project }
}

impl Shop {
    pub fn api(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1{path}"))
    }

    pub async fn create(&self, title: &str, kind: Kind, content: &str) -> Document {
        let body = json!({ "title": title, "kind": kind, "content": content });
        expect(&self.ada, Method::POST, &self.app.tree_url(&self.project), Some(body)).await
    }

    async fn templated(&self, title: &str, format: Option<&str>) -> Document {
        let body = json!({ "title": title, "kind": Kind::Contract, "template": true, "format": format });
        expect(&self.ada, Method::POST, &self.app.tree_url(&self.project), Some(body)).await
    }

    async fn lint(&self, document: &Document, text: Option<&str>) -> Vec<Finding> {
        let url = self.api(&format!("/documents/{}/lint", document.id));
        match text {
            Some(text) => expect(&self.ada, Method::POST, &url, Some(json!({ "content": text }))).await,
            None => expect(&self.ada, Method::GET, &url, None).await,
        }
    }
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|finding| finding.rule.as_str()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn contracts_start_from_their_templates_and_are_linted_as_typed(db: PgPool) {
    let s = shop(db).await;
    let orders = s.templated("Orders \"API\": v1", None).await;
    assert_eq!(orders.kind, Kind::Contract);
    assert!(
        orders.content.starts_with("openapi: 3.1.0\ninfo:\n  title: \"Orders \\\"API\\\": v1\"\n"),
        "{}",
        orders.content
    );
    // The template is valid and says what is left to do: link the operations.
    let findings = s.lint(&orders, None).await;
    assert_eq!(rules(&findings), ["unlinked-operation", "unlinked-operation"], "{findings:?}");
    assert!(findings.iter().all(|finding| finding.severity == Severity::Warning));
    assert_eq!((findings[0].line, findings[0].column, findings[0].length), (11, 5, 3));

    let schema = s.templated("Order", Some("json-schema")).await;
    assert!(schema
        .content
        .starts_with("{\n  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n  \"title\": \"Order\""));
    assert_eq!(s.lint(&schema, None).await, vec![]);

    // What the editor sends as someone types: a version that is not a string.
    let typed = orders.content.replace("version: 0.1.0", "version: 2");
    let findings = s.lint(&orders, Some(&typed)).await;
    let schema_finding = findings.iter().find(|finding| finding.rule == "contract-schema").expect("a finding");
    assert_eq!((schema_finding.severity, schema_finding.line, schema_finding.column), (Severity::Error, 4, 3));
    assert!(schema_finding.message.contains("`version`"), "{}", schema_finding.message);
    let broken = s.lint(&orders, Some("openapi: 3.1.0\ninfo: {title: x\n")).await;
    assert_eq!(rules(&broken), ["contract-syntax"]);

    // A format chooses a contract's template, and nothing else.
    let body = json!({ "title": "Login", "kind": "spec", "template": true, "format": "openapi" });
    let (status, answer) = call(&s.ada, Method::POST, &s.app.tree_url(&s.project), Some(body)).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let body = json!({ "title": "X", "kind": "contract", "template": true, "format": "protobuf" });
    let (status, _) = call(&s.ada, Method::POST, &s.app.tree_url(&s.project), Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn operations_name_their_requirements_both_ways(db: PgPool) {
    let s = shop(db).await;
    let checkout = s.create("Checkout", Kind::Spec, CHECKOUT).await;
    let orders = s.create("Orders", Kind::Contract, ORDERS).await;

    let url = s.api(&format!("/documents/{}/operations", orders.id));
    let operations: Vec<Operation> = expect(&s.ada, Method::GET, &url, None).await;
    assert_eq!(operations.len(), 1);
    let operation = &operations[0];
    assert_eq!((operation.method.as_str(), operation.path.as_str()), ("post", "/orders"));
    assert_eq!(
        (operation.operation_id.as_deref(), operation.requirements.clone()),
        (Some("placeOrder"), vec!["PAY-001".into()])
    );
    assert_eq!(s.lint(&orders, None).await, vec![]);

    // The spec's backlinks name the contract that carries PAY-001 out.
    let backlinks: Value =
        expect(&s.ada, Method::GET, &s.api(&format!("/documents/{}/backlinks", checkout.id)), None).await;
    assert_eq!(backlinks[0]["target"], "PAY-001", "{backlinks}");
    assert_eq!(
        (backlinks[0]["title"].as_str(), backlinks[0]["kind"].as_str(), backlinks[0]["line"].as_u64()),
        (Some("Orders"), Some("contract"), Some(8))
    );

    // A key no spec defines is an error where it is written.
    let typed = ORDERS.replace("[PAY-001]", "[PAY-001, PAY-404]");
    let findings = s.lint(&orders, Some(&typed)).await;
    assert_eq!(rules(&findings), ["unknown-requirement"]);
    assert_eq!((findings[0].line, findings[0].severity), (8, Severity::Error));

    // Specs link operations and schemas by name, and the requirement lists its operations.
    let linking = format!("{CHECKOUT}\nPlaced by [[POST /orders]] (refusals: [[Error]]); [[DELETE /orders]] is not.\n");
    let findings = s.lint(&checkout, Some(&linking)).await;
    assert_eq!(rules(&findings), ["dangling-link"], "{findings:?}");
    assert!(findings[0].message.starts_with("[[DELETE /orders]]"), "{findings:?}");
    let body = json!({ "markdown": linking, "document_id": checkout.id });
    let rendered: Value = expect(&s.ada, Method::POST, &s.api("/render"), Some(body)).await;
    let html = rendered["html"].as_str().unwrap();
    let slug = &s.project.slug;
    assert!(html.contains(&format!("href=\"/p/{slug}/doc/{}#user-content-op-post-orders\" title=\"POST /orders (Orders)\" data-preview=\"Place an order (carries out PAY-001)\"", orders.id)), "{html}");
    assert!(html.contains(&format!("href=\"/p/{slug}/doc/{}#user-content-schema-error\"", orders.id)), "{html}");
    // A schema without a description previews its shape: no hover card is empty.
    assert!(html.contains("title=\"Error (a schema of Orders)\" data-preview=\"`object` with `message`\""), "{html}");
    let listed: Value =
        expect(&s.ada, Method::GET, &s.api(&format!("/projects/{}/requirements", s.project.id)), None).await;
    let id =
        listed.as_array().unwrap().iter().find(|r| r["key"] == "PAY-001").unwrap()["id"].as_str().unwrap().to_owned();
    let detail: Value = expect(&s.ada, Method::GET, &s.api(&format!("/requirements/{id}")), None).await;
    assert_eq!(detail["operations"].as_array().unwrap().len(), 1, "{detail}");
    assert_eq!(
        (
            detail["operations"][0]["document"].as_str(),
            detail["operations"][0]["method"].as_str(),
            detail["operations"][0]["path"].as_str()
        ),
        (Some("Orders"), Some("post"), Some("/orders"))
    );

    // Operations are a contract's; strangers see none.
    let (status, body) =
        call(&s.ada, Method::GET, &s.api(&format!("/documents/{}/operations", checkout.id)), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    assert!(body["error"]["message"].as_str().unwrap().contains("contracts"), "{body}");
    let eve = s.app.signup("eve").await;
    let (status, _) = call(&eve, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Contracts refer to each other's parts by the other's name as a file (`common.yaml`).
#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn references_reach_the_project_s_other_contracts(db: PgPool) {
    let s = shop(db).await;
    s.create("Checkout", Kind::Spec, CHECKOUT).await;
    let common = "openapi: 3.1.0
info: {title: Common, version: 1.0.0}
paths: {}
components:
  schemas:
    Error:
      type: object
      properties:
        message: {type: string}
    Money:
      type: object
      properties:
        cents: {type: integer}
";
    let common = s.create("Common", Kind::Contract, common).await;
    let orders = ORDERS.replace(
        "          schema: {$ref: '#/components/schemas/Error'}",
        "          schema: {$ref: 'common.yaml#/components/schemas/Error'}",
    );
    let orders = orders.replace(
        "components:\n  schemas:\n    Error:\n      type: object\n      properties:\n        message: {type: string}\n",
        "components:\n",
    );
    let orders = s.create("Orders", Kind::Contract, &orders).await;
    assert_eq!(s.lint(&orders, None).await, vec![], "the other contract's schema is found");

    // Only what no contract uses is unused.
    let findings = s.lint(&common, None).await;
    assert_eq!(rules(&findings), ["unused-component"], "{findings:?}");
    assert!(findings[0].message.contains("Money"), "{findings:?}");
    assert_eq!(findings[0].line, 10);

    // A part the other contract lacks, and a contract the project lacks, are broken where written.
    for target in ["common.yaml#/components/schemas/Nope", "billing.yaml#/components/schemas/Error"] {
        let typed = orders.content.replace("common.yaml#/components/schemas/Error", target);
        let findings = s.lint(&orders, Some(&typed)).await;
        assert_eq!(rules(&findings), ["broken-ref"], "{target}: {findings:?}");
        assert_eq!(findings[0].line, 19, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Error);
    }
    // Renaming the other contract breaks the reference, and the finding says so.
    let url = s.api(&format!("/documents/{}", common.id));
    let _: Document = expect(&s.ada, Method::PATCH, &url, Some(json!({ "title": "Shared" }))).await;
    assert_eq!(rules(&s.lint(&orders, None).await), ["broken-ref"]);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_constitution_sets_the_contract_rules(db: PgPool) {
    let s = shop(db).await;
    let orders = s
        .create(
            "Orders",
            Kind::Contract,
            &ORDERS
                .replace("message: {type: string}", "errorMessage: {type: string}\n        error_code: {type: string}"),
        )
        .await;
    // The default constitution asks for camelCase (and no spec defines PAY-001).
    let findings = s.lint(&orders, None).await;
    assert_eq!(rules(&findings), ["unknown-requirement", "naming-style"]);
    assert!(findings[1].message.starts_with("`error_code` is not camelCase"), "{findings:?}");

    let constitution = s.app.constitution(&s.ada, &s.project).await;
    let url = s.api(&format!("/projects/{}/branches", s.project.id));
    let _: Value = expect(&s.ada, Method::POST, &url, Some(json!({ "name": "draft" }))).await;
    let current: Document = expect(&s.ada, Method::GET, &s.api(&format!("/documents/{}", constitution.id)), None).await;
    let changed = current
        .content
        .replace("- `unlinked-operation`: warning", "- `unknown-requirement`: off")
        .replace("- `property-names`: camelCase", "- `property-names`: snake_case");
    let content = s.api(&format!("/documents/{}/content?branch=draft", constitution.id));
    let (status, body) = call(&s.ada, Method::PUT, &content, Some(json!({ "content": changed }))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let on_draft: Vec<Finding> =
        expect(&s.ada, Method::GET, &s.api(&format!("/documents/{}/lint?branch=draft", orders.id)), None).await;
    assert_eq!(rules(&on_draft), ["naming-style"]);
    assert!(on_draft[0].message.starts_with("`errorMessage` is not snake_case"), "{on_draft:?}");

    // The rules are listed with the spec lint's, with their defaults.
    let url = s.api(&format!("/projects/{}/lint/rules", s.project.id));
    let listed: Value = expect(&s.ada, Method::GET, &url, None).await;
    let setting = |id: &str| listed.as_array().unwrap().iter().find(|rule| rule["id"] == id).cloned().unwrap();
    assert_eq!(setting("unknown-requirement")["severity"], "error");
    assert_eq!(setting("operation-id")["default"], "warning");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn raw_serves_a_document_as_written_with_its_type(db: PgPool) {
    let s = shop(db).await;
    let orders = s.create("Orders API", Kind::Contract, ORDERS).await;
    let json_contract = s.create("Ordre é", Kind::Contract, "{\"type\": \"object\"}\n").await;
    let checkout = s.create("Checkout", Kind::Spec, CHECKOUT).await;
    // Half-written: not YAML yet, so no YAML parser is told it is.
    let unfinished = "openapi: 3.1.0\ninfo: {title: Half\n";
    let half = s.create("Half", Kind::Contract, unfinished).await;

    for (document, content_type, file, text) in [
        (&orders, "application/yaml", "orders-api.yaml", ORDERS),
        (&json_contract, "application/json", "ordre.json", "{\"type\": \"object\"}\n"),
        (&checkout, "text/markdown; charset=utf-8", "checkout.md", CHECKOUT),
        (&half, "text/plain; charset=utf-8", "half.txt", unfinished),
    ] {
        let response = s.ada.get(s.api(&format!("/documents/{}/raw", document.id))).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], content_type);
        assert_eq!(response.headers()["content-disposition"], format!("inline; filename=\"{file}\"").as_str());
        assert_eq!(response.text().await.unwrap(), text);
    }

    // As a version merged it, while the branch has moved on.
    let settings = s.api(&format!("/projects/{}/settings", s.project.id));
    let _: Value = expect(&s.ada, Method::PATCH, &settings, Some(json!({ "required_approvals": 0 }))).await;
    let url = s.api(&format!("/projects/{}/branches", s.project.id));
    let _: Value = expect(&s.ada, Method::POST, &url, Some(json!({ "name": "v2" }))).await;
    let v2 = ORDERS.replace("version: 1.0.0", "version: 2.0.0");
    let content = s.api(&format!("/documents/{}/content?branch=v2", orders.id));
    let _: Value = expect(&s.ada, Method::PUT, &content, Some(json!({ "content": v2 }))).await;
    let opened = json!({ "source": "v2", "target": "main", "title": "Version 2" });
    let created: Value =
        expect(&s.ada, Method::POST, &s.api(&format!("/projects/{}/change-requests", s.project.id)), Some(opened))
            .await;
    let merge = s.api(&format!("/projects/{}/change-requests/{}/merge", s.project.id, created["number"]));
    let merged: Value = expect(&s.ada, Method::POST, &merge, Some(json!({}))).await;
    let version = merged["version"]["id"].as_str().unwrap().to_owned();
    let raw = |query: String| s.ada.get(s.api(&format!("/documents/{}/raw?{query}", orders.id))).send();
    assert_eq!(raw(format!("version={version}")).await.unwrap().text().await.unwrap(), v2);
    assert_eq!(raw("branch=main".into()).await.unwrap().text().await.unwrap(), v2);

    let (status, body) = crate::harness::read(raw(format!("branch=main&version={version}")).await.unwrap()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let (status, _) = crate::harness::read(raw("version=v9".into()).await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Readers may read it; strangers cannot tell it exists.
    let vic = s.app.signup("vic").await;
    s.app.add_member(&s.ada, &s.project, "vic", Role::Viewer).await;
    let response = vic.get(s.api(&format!("/documents/{}/raw", orders.id))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let eve = s.app.signup("eve").await;
    let response = eve.get(s.api(&format!("/documents/{}/raw", orders.id))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_contract_previews_as_its_api_reference(db: PgPool) {
    let s = shop(db).await;
    s.create("Checkout", Kind::Spec, CHECKOUT).await;
    let orders = s.create("Orders", Kind::Contract, ORDERS).await;
    let hostile = ORDERS
        .replace("summary: Place an order", "summary: \"<script>alert(1)</script>\"")
        .replace("description: Refused.", "description: \"**Refused** <img src=x onerror=alert(1)>\"");
    let body = json!({ "markdown": hostile, "document_id": orders.id, "branch": "main" });
    let rendered: Value = expect(&s.ada, Method::POST, &s.api("/render"), Some(body)).await;
    let html = rendered["html"].as_str().unwrap();
    assert!(html.contains("<article class=\"api-operation\""), "{html}");
    assert!(html.contains("<span data-line=\"5\"></span>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"), "{html}");
    assert!(html.contains("<strong>Refused</strong>") && !html.contains("onerror"), "{html}");
    // The requirement it carries out is a link with its preview.
    assert!(html.contains(&format!("href=\"/p/{}/req/PAY-001\"", s.project.slug)), "{html}");
    assert!(html.contains("id=\"user-content-schema-error\""), "{html}");

    // Text that cannot be read says why instead.
    let body = json!({ "markdown": "openapi: [\n", "document_id": orders.id });
    let rendered: Value = expect(&s.ada, Method::POST, &s.api("/render"), Some(body)).await;
    assert!(rendered["html"].as_str().unwrap().contains("This contract cannot be read (line 2)"), "{rendered}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_change_request_shows_its_api_changes_breaking_or_not(db: PgPool) {
    let s = shop(db).await;
    let checkout = s.create("Checkout", Kind::Spec, CHECKOUT).await;
    let orders = s.create("Orders", Kind::Contract, ORDERS).await;
    let url = s.api(&format!("/projects/{}/branches", s.project.id));
    let _: Value = expect(&s.ada, Method::POST, &url, Some(json!({ "name": "v2" }))).await;
    let changed = ORDERS
        .replace("        message: {type: string}\n", "")
        .replace("summary: Place an order", "summary: Place one order");
    let content = s.api(&format!("/documents/{}/content?branch=v2", orders.id));
    let _: Value = expect(&s.ada, Method::PUT, &content, Some(json!({ "content": changed }))).await;
    let opened = json!({ "source": "v2", "target": "main", "title": "Leaner errors" });
    let created: Value =
        expect(&s.ada, Method::POST, &s.api(&format!("/projects/{}/change-requests", s.project.id)), Some(opened))
            .await;
    let number = created["number"].as_i64().unwrap();

    let url = s.api(&format!("/projects/{}/change-requests/{number}/api-diff", s.project.id));
    let changes: Vec<ApiChange> = expect(&s.ada, Method::GET, &url, None).await;
    let shown: Vec<(&str, bool, &str)> =
        changes.iter().map(|change| (change.rule.as_str(), change.breaking, change.location.as_str())).collect();
    assert_eq!(
        shown,
        [
            ("description-changed", false, "POST /orders"),
            ("response-property-removed", true, "POST /orders › response 422 › message"),
        ]
    );
    assert!(changes.iter().all(|change| change.document_id == orders.id));
    assert_eq!(changes[1].change, "POST /orders › response 422 › message was removed");

    // The change request's view says what bump the changes ask for.
    let view: Value =
        expect(&s.ada, Method::GET, &s.api(&format!("/projects/{}/change-requests/{number}", s.project.id)), None)
            .await;
    let api = &view["documents"][0]["api"];
    assert_eq!(
        (api["bump"].as_str(), api["current_version"].as_str(), api["proposed_version"].as_str()),
        (Some("major"), Some("1.0.0"), Some("2.0.0")),
        "{view}"
    );

    // A change request that touches no contract has no API changes; strangers see none.
    let _: Value = expect(
        &s.ada,
        Method::POST,
        &s.api(&format!("/projects/{}/branches", s.project.id)),
        Some(json!({ "name": "words" })),
    )
    .await;
    let content = s.api(&format!("/documents/{}/content?branch=words", checkout.id));
    let _: Value =
        expect(&s.ada, Method::PUT, &content, Some(json!({ "content": format!("{CHECKOUT}\nMore words.\n") }))).await;
    let opened = json!({ "source": "words", "target": "main", "title": "Words" });
    let created: Value =
        expect(&s.ada, Method::POST, &s.api(&format!("/projects/{}/change-requests", s.project.id)), Some(opened))
            .await;
    let url = s.api(&format!("/projects/{}/change-requests/{}/api-diff", s.project.id, created["number"]));
    let changes: Vec<ApiChange> = expect(&s.ada, Method::GET, &url, None).await;
    assert!(changes.is_empty());
    let eve = s.app.signup("eve").await;
    let (status, _) = call(&eve, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
