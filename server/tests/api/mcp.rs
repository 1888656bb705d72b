//! `/mcp`: an agent over the Model Context Protocol, here rmcp's own client speaking the
//! 2026-07-28 revision (the Node tests use the TypeScript SDK, which begins with
//! `initialize`). Tokens open it, and see only what their owner may.

use charter_types::{ChangeRequestSummary, Document, Project, Role};
use reqwest::{Method, StatusCode};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ProtocolVersion, ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::Duration;

use crate::harness::{call, eventually, expect, TestApp};

const SPEC: &str = "# Payments\n\n## Requirements\n\n- **PAY-001** (P1) The system SHALL charge a card once per order.\n  - Given a retry, When the first charge timed out, Then no second charge is made.\n";

type Agent = RunningService<RoleClient, ()>;

async fn agent(app: &TestApp, token: &str) -> Agent {
    let mut config = StreamableHttpClientTransportConfig::with_uri(app.url("/mcp"));
    config.auth_header = Some(token.to_owned());
    let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![ProtocolVersion::V_2026_07_28] };
    ().serve_with_lifecycle(StreamableHttpClientTransport::from_config(config), lifecycle).await.expect("connects")
}

async fn tool(agent: &Agent, name: &'static str, arguments: Value) -> CallToolResult {
    let Value::Object(arguments) = arguments else { panic!("arguments are an object") };
    agent.call_tool(CallToolRequestParams::new(name).with_arguments(arguments)).await.expect("the tool answers")
}

/// A tool's answer, which must not be a refusal.
async fn answer(agent: &Agent, name: &'static str, arguments: Value) -> Value {
    let result = tool(agent, name, arguments).await;
    assert_ne!(result.is_error, Some(true), "{name} refused: {:?}", result.content);
    result.structured_content.expect("structured content")
}

/// A tool's refusal, in words.
async fn refusal(agent: &Agent, name: &'static str, arguments: Value) -> String {
    let result = tool(agent, name, arguments).await;
    assert_eq!(result.is_error, Some(true), "{name} should refuse: {:?}", result.structured_content);
    result.content.iter().filter_map(|content| content.as_text()).map(|text| text.text.clone()).collect()
}

async fn payments(app: &TestApp, owner: &reqwest::Client) -> Project {
    let project = app.project(owner, "Payments").await;
    let url = app.url(&format!("/api/v1/projects/{}/documents", project.id));
    let body = json!({ "title": "Payments", "kind": "spec", "content": SPEC });
    let _: Document = expect(owner, Method::POST, &url, Some(body)).await;
    project
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_agent_reads_the_spec_and_proposes_a_reviewed_change(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = payments(&app, &ada).await;
    let token = app.token(&ada, &["read", "write"]).await;
    let agent = agent(&app, &token).await;
    assert_eq!(agent.peer_info().map(|info| info.protocol_version.clone()), Some(ProtocolVersion::V_2026_07_28));

    let tools: Vec<String> = agent.list_all_tools().await.unwrap().into_iter().map(|tool| tool.name.into()).collect();
    for name in [
        "list_projects",
        "list_documents",
        "get_document",
        "get_constitution",
        "search",
        "get_requirement",
        "list_open_questions",
        "answer_question",
        "lint",
        "propose_change",
        "get_change_request",
    ] {
        assert!(tools.iter().any(|tool| tool == name), "{name} in {tools:?}");
    }

    let listed = answer(&agent, "list_projects", json!({})).await;
    assert_eq!(listed["projects"][0]["slug"], project.slug.as_str());
    let documents = answer(&agent, "list_documents", json!({ "project": project.slug })).await;
    let paths: Vec<&str> =
        documents["documents"].as_array().unwrap().iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"payments"), "{paths:?}");
    let constitution = answer(&agent, "get_constitution", json!({ "project": project.slug })).await;
    assert_eq!(constitution["kind"], "constitution");
    let spec = answer(&agent, "get_document", json!({ "project": project.slug, "document": "payments" })).await;
    assert_eq!(spec["markdown"], SPEC);

    // The resource of the same document reads the same text.
    let uri = format!("charter://{}/payments", project.slug);
    let read = agent.read_resource(ReadResourceRequestParams::new(&uri)).await.unwrap();
    assert!(matches!(&read.contents[..], [ResourceContents::TextResourceContents { text, .. }] if text == SPEC));

    let requirement =
        answer(&agent, "get_requirement", json!({ "project": project.slug, "requirement": "pay-001" })).await;
    assert_eq!(requirement["key"], "PAY-001", "{requirement}");
    // The index catches up with the new spec in the background.
    let search = json!({ "project": project.slug, "query": "charge card", "mode": "text" });
    eventually("the spec is indexed", Duration::from_secs(15), || async {
        answer(&agent, "search", search.clone()).await["hits"][0]["key"] == "PAY-001"
    })
    .await;

    let block = "- **PAY-002** (P2) The system SHALL email a receipt within a minute of a charge.\n  - Given a charge, When it succeeds, Then a receipt is emailed.";
    let edits = json!([{ "action": "add_requirement", "document": "payments", "key": "PAY-002", "block": block }]);
    let arguments =
        json!({ "project": project.slug, "title": "Receipts", "description": "From an agent", "edits": edits });
    let proposed = answer(&agent, "propose_change", arguments).await;
    let number = proposed["number"].as_i64().unwrap();
    assert!(
        proposed["url"].as_str().unwrap().ends_with(&format!("/p/{}/changes/{number}", project.slug)),
        "{proposed}"
    );

    // A change request to review; `main` itself is unchanged.
    let url = app.url(&format!("/api/v1/projects/{}/change-requests/{number}", project.id));
    let change: ChangeRequestSummary = expect(&ada, Method::GET, &url, None).await;
    assert_eq!((change.title.as_str(), change.target.as_str()), ("Receipts", "main"));
    assert_eq!(change.source, proposed["branch"].as_str().unwrap());
    let on_main = answer(&agent, "get_document", json!({ "project": project.slug, "document": "payments" })).await;
    assert_eq!(on_main["markdown"], SPEC);
    let branch = proposed["branch"].as_str().unwrap();
    let proposed_text =
        answer(&agent, "get_document", json!({ "project": project.slug, "document": "payments", "branch": branch }))
            .await;
    assert!(proposed_text["markdown"].as_str().unwrap().contains("**PAY-002**"), "{proposed_text}");
    let seen = answer(&agent, "get_change_request", json!({ "project": project.slug, "number": number })).await;
    assert_eq!(seen["title"], "Receipts");

    // A proposal that cannot apply says why and makes nothing.
    let edits = json!([{ "action": "remove_requirement", "key": "PAY-404" }]);
    let why =
        refusal(&agent, "propose_change", json!({ "project": project.slug, "title": "Nope", "edits": edits })).await;
    assert!(why.contains("PAY-404 is not on this branch"), "{why}");
    let branches: Vec<Value> =
        expect(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/branches", project.id)), None).await;
    assert_eq!(branches.len(), 2, "main and the one proposal's branch: {branches:?}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn tokens_see_only_their_owners_projects_and_write_only_with_the_write_scope(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = payments(&app, &ada).await;
    let eve = app.signup("eve").await;
    let eve_agent = agent(&app, &app.token(&eve, &["read", "write"]).await).await;

    assert_eq!(answer(&eve_agent, "list_projects", json!({})).await["projects"], json!([]));
    let why = refusal(&eve_agent, "get_document", json!({ "project": project.slug, "document": "payments" })).await;
    assert!(why.contains("not found"), "{why}");
    let why = refusal(&eve_agent, "list_documents", json!({ "project": project.id.to_string() })).await;
    assert!(why.contains("not found"), "{why}");
    assert!(eve_agent.list_all_resources().await.unwrap().is_empty());
    let uri = format!("charter://{}/payments", project.slug);
    assert!(eve_agent.read_resource(ReadResourceRequestParams::new(&uri)).await.is_err(), "another's document");
    let edits = json!([{ "action": "remove_requirement", "key": "PAY-001" }]);
    let why =
        refusal(&eve_agent, "propose_change", json!({ "project": project.slug, "title": "Mine", "edits": edits }))
            .await;
    assert!(why.contains("not found"), "{why}");

    // A viewer's write token reads but cannot propose; a read-only token of the owner neither.
    app.add_member(&ada, &project, "eve", Role::Viewer).await;
    assert_eq!(answer(&eve_agent, "list_projects", json!({})).await["projects"][0]["slug"], project.slug.as_str());
    let why =
        refusal(&eve_agent, "propose_change", json!({ "project": project.slug, "title": "Mine", "edits": edits }))
            .await;
    assert!(why.contains("role"), "{why}");
    let reader = agent(&app, &app.token(&ada, &["read"]).await).await;
    let why =
        refusal(&reader, "propose_change", json!({ "project": project.slug, "title": "Mine", "edits": edits })).await;
    assert!(why.contains("`write` scope"), "{why}");
    let unsaved = json!({ "project": project.slug, "document": "payments", "text": "# Draft\n" });
    assert!(
        refusal(&reader, "lint", unsaved).await.contains("`write` scope"),
        "unsaved text is linted as the API does"
    );
    let stored = answer(&reader, "lint", json!({ "project": project.slug, "document": "payments" })).await;
    assert!(stored["findings"].is_array(), "{stored}");
    // Arguments that do not fit are a refusal the agent can read, not a protocol error.
    let why = refusal(&reader, "get_document", json!({ "project": project.slug })).await;
    assert!(why.contains("input schema") && why.contains("document"), "{why}");
    let url = app.url(&format!("/api/v1/projects/{}/change-requests", project.id));
    let (status, open) = call(&ada, Method::GET, &url, None).await;
    assert_eq!((status, open), (StatusCode::OK, json!([])), "nothing was proposed");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn without_a_good_token_mcp_answers_401_and_never_takes_the_cookie(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let initialize = json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": { "name": "probe", "version": "1" } } });
    let post = |client: &reqwest::Client, token: Option<&str>| {
        let mut request =
            client.post(app.url("/mcp")).header("accept", "application/json, text/event-stream").json(&initialize);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let challenge = |response: &reqwest::Response| {
        response.headers().get("www-authenticate").and_then(|value| value.to_str().ok()).unwrap_or("").to_owned()
    };

    let anonymous = post(&app.bare(), None).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&anonymous).starts_with("Bearer"), "{}", challenge(&anonymous));
    let forged = post(&app.bare(), Some("charter_nope_nope")).await.unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&forged).contains("invalid_token"));
    // The browser's session (cookie and the site's Origin) is not a way in.
    assert_eq!(post(&ada, None).await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let incidents_only = app.token(&ada, &["incidents:write"]).await;
    let narrow = post(&app.bare(), Some(&incidents_only)).await.unwrap();
    assert_eq!(narrow.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&narrow).contains("insufficient_scope"));

    // A good token from a page of another site is refused too.
    let token = app.token(&ada, &["read"]).await;
    let cross_site = app
        .bare()
        .post(app.url("/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("origin", "https://evil.example")
        .bearer_auth(&token)
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let welcome = post(&app.bare(), Some(&token)).await.unwrap();
    assert_eq!(welcome.status(), StatusCode::OK);
    let body: Value = welcome.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25", "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "charter");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_contract_is_a_resource_of_its_own_media_type(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = payments(&app, &ada).await;
    let url = app.url(&format!("/api/v1/projects/{}/documents", project.id));
    let json_contract =
        "{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"Orders\", \"version\": \"1.0.0\"}, \"paths\": {}}";
    let body = json!({ "title": "Orders", "kind": "contract", "content": json_contract });
    let _: Document = expect(&ada, Method::POST, &url, Some(body)).await;
    let token = app.token(&ada, &["read"]).await;
    let agent = agent(&app, &token).await;

    let resources = agent.list_all_resources().await.unwrap();
    let mime = |name: &str| {
        let found = resources.iter().find(|resource| resource.name == name).unwrap_or_else(|| panic!("{name}"));
        found.mime_type.clone()
    };
    assert_eq!(mime("payments").as_deref(), Some("text/markdown"));
    // Listed without reading every text: YAML, of which JSON is a part.
    assert_eq!(mime("orders").as_deref(), Some("application/yaml"));
    let uri = format!("charter://{}/orders", project.slug);
    let read = agent.read_resource(ReadResourceRequestParams::new(&uri)).await.unwrap();
    assert!(
        matches!(&read.contents[..], [ResourceContents::TextResourceContents { text, mime_type: Some(mime), .. }]
            if text == json_contract && mime == "application/json"),
        "{read:?}"
    );
}
