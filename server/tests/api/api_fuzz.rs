//! schemathesis (PyPI, pinned with hashes in `end2end/python`) against
//! `/api/openapi.json`: every operation, with inputs it generates from the document (valid
//! and invalid), checked for server errors and for answers the document does not describe
//! (status codes, content types, headers, body schemas).

use std::path::PathBuf;

use charter_types::{
    Document, DocumentId, IncidentAccepted, IncidentId, Kind, Project, ProjectId, RequirementView, WebhookCreated,
    WebhookEvent, WebhookId,
};
use reqwest::{Client, Method};
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::PgPool;

use uuid::Uuid;

use crate::harness::{bearer, expect, TestApp};

/// Test cases per operation and phase: enough to reach every documented answer, few enough
/// that the run stays within a couple of minutes on two cores.
const EXAMPLES_PER_OPERATION: u32 = 30;

/// What is checked of every answer: no server error, and status code, content type,
/// headers and body as the document describes them for that status.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// What the fuzzer is pointed at: real ids, so that it gets past the 404 of an unknown
/// project, document, incident, requirement or webhook into the handlers themselves.
/// Deleting a document or a webhook gets ids of its own: a delete of the shared ones,
/// tried early, would leave every later edit of a document refused (a deleted document
/// must be restored first) and every later webhook operation a 404.
struct Seeded {
    token: String,
    project: ProjectId,
    documents: Vec<DocumentId>,
    doomed_documents: Vec<DocumentId>,
    incident: IncidentId,
    requirement: Uuid,
    webhook: WebhookId,
    doomed_webhooks: Vec<WebhookId>,
}

async fn seed(app: &TestApp) -> Seeded {
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let spec = create(app, &ada, &project, "Checkout", Kind::Spec, CHECKOUT).await;
    let contract = create(app, &ada, &project, "Orders API", Kind::Contract, ORDERS).await;
    let url = |path: &str| app.url(&format!("/api/v1/projects/{}{path}", project.id));
    let _: Value = expect(&ada, Method::POST, &url("/branches"), Some(json!({ "name": "draft" }))).await;
    let opened = json!({ "source": "draft", "target": "main", "title": "Draft" });
    let _: Value = expect(&ada, Method::POST, &url("/change-requests"), Some(opened)).await;
    let token = app.token(&ada, &["read", "write", "incidents:write"]).await;
    let incident = json!({ "source": "statuspage", "external_id": "1", "title": "Card charged twice",
                           "severity": "high", "service": "payments", "status": "firing",
                           "started_at": "2026-12-01T10:00:00Z" });
    let incident: IncidentAccepted = expect(&bearer(&token), Method::POST, &url("/incidents"), Some(incident)).await;
    let requirements: Vec<RequirementView> = expect(&ada, Method::GET, &url("/requirements"), None).await;
    let mut doomed_documents = Vec::new();
    for title in ["Scratch", "Notes"] {
        doomed_documents.push(create(app, &ada, &project, title, Kind::Spec, &format!("# {title}\n")).await.id);
    }
    let mut webhooks = Vec::new();
    for _ in 0..3 {
        let hook = json!({ "url": "http://127.0.0.1:9/hook", "events": [WebhookEvent::ChangeRequestMerged] });
        let created: WebhookCreated = expect(&ada, Method::POST, &url("/webhooks"), Some(hook)).await;
        webhooks.push(created.webhook.id);
    }
    let webhook = webhooks.remove(0);
    Seeded {
        token,
        project: project.id,
        documents: vec![spec.id, contract.id],
        doomed_documents,
        incident: incident.id,
        requirement: requirements[0].id,
        webhook,
        doomed_webhooks: webhooks,
    }
}

const CHECKOUT: &str = "# Checkout\n\n- **PAY-001**: System MUST charge once [NEEDS CLARIFICATION: which card?].\n";
const ORDERS: &str = "openapi: 3.1.0\ninfo: {title: Orders, version: 1.0.0}\npaths: {}\n";

async fn create(app: &TestApp, client: &Client, project: &Project, title: &str, kind: Kind, content: &str) -> Document {
    let body = json!({ "title": title, "kind": kind, "content": content });
    expect(client, Method::POST, &app.tree_url(project), Some(body)).await
}

/// The fuzzer's settings: the token on every request, and the seeded ids offered for the
/// ids in paths most of the time (the rest are generated).
fn config(seeded: &Seeded) -> String {
    let hooks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/python/fuzz_hooks.py");
    let mut config = format!(
        r#"
hooks = "{hooks}"
headers = {{ Authorization = "Bearer {token}" }}
request-timeout = 30.0

[generation]
max-examples = {EXAMPLES_PER_OPERATION}

[parameters]
{webhook}
{requirement}
"#,
        hooks = hooks.display(),
        token = seeded.token,
        webhook = binding("webhook_id", "webhooks"),
        requirement = binding("requirement_id", "requirements"),
    );
    let dictionaries = [
        ("projects", vec![seeded.project.to_string()]),
        ("documents", seeded.documents.iter().map(ToString::to_string).collect()),
        ("doomed_documents", seeded.doomed_documents.iter().map(ToString::to_string).collect()),
        ("incidents", vec![seeded.incident.to_string()]),
        ("requirements", vec![seeded.requirement.to_string()]),
        ("webhooks", vec![seeded.webhook.to_string()]),
        ("doomed_webhooks", seeded.doomed_webhooks.iter().map(ToString::to_string).collect()),
    ];
    for (name, ids) in dictionaries {
        let values: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
        config.push_str(&format!("\n[dictionaries.{name}]\nvalues = [{}]\n", values.join(", ")));
    }
    // Of the entries that match an operation, the first to set its parameters decides
    // them all: the deletes first, then what a route's first segment names. The deletes
    // are named: an `include-method` and an `include-path-regex` in one entry would match
    // either, so every delete. They take no ids that earlier answers named either, in any
    // phase, since those include the shared documents and webhook.
    let no_captured_ids = "{ extra-data-sources = { responses = false } }";
    let phases = format!("phases = {{ examples = {0}, coverage = {0}, fuzzing = {0} }}\n", no_captured_ids);
    let delete_document = [binding("id", "doomed_documents")];
    config.push_str(&entry(r#"include-name = "DELETE /api/v1/documents/{id}""#, &delete_document, &phases));
    let delete_webhook = [binding("id", "projects"), binding("webhook_id", "doomed_webhooks")];
    let name = r#"include-name = "DELETE /api/v1/projects/{id}/webhooks/{webhook_id}""#;
    config.push_str(&entry(name, &delete_webhook, &phases));
    for name in ["projects", "documents", "incidents", "requirements"] {
        let filter = format!(r#"include-path-regex = "^/api/v1/{name}/\\{{id\\}}""#);
        config.push_str(&entry(&filter, &[binding("id", name)], ""));
    }
    config
}

/// Of the test cases that could take a seeded id, how many do.
const SEEDED: f64 = 0.8;

/// Path parameter `name` takes its value from `dictionary` most of the time.
fn binding(name: &str, dictionary: &str) -> String {
    format!(r#""path.{name}" = {{ dictionary = "{dictionary}", probability = {SEEDED} }}"#)
}

/// An `[[operations]]` entry: the operations `filter` selects take their parameters as
/// `bindings` say; `settings` are more of the entry's own lines.
fn entry(filter: &str, bindings: &[String], settings: &str) -> String {
    format!("\n[[operations]]\n{filter}\n{settings}parameters = {{ {} }}\n", bindings.join(", "))
}

/// The parts of schemathesis' JSON report the test reads.
#[derive(Deserialize)]
struct Report {
    seed: u64,
    running_time: f64,
    operations: Operations,
    test_cases: TestCases,
}

#[derive(Deserialize)]
struct Operations {
    total: usize,
    tested: usize,
}

#[derive(Deserialize)]
struct TestCases {
    generated: u64,
    with_failures: u64,
}

/// Every operation of the document, counted as schemathesis counts them.
fn documented_operations() -> usize {
    let doc = serde_json::to_value(charter_backend::api::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    paths.values().map(|item| item.as_object().unwrap().len()).sum()
}

/// Runs schemathesis' `phases` against the app; its report, and what it printed.
async fn fuzz(app: &TestApp, seeded: &Seeded, phases: &str) -> (Report, String) {
    let work = tempfile::tempdir().unwrap();
    let config_file = work.path().join("schemathesis.toml");
    std::fs::write(&config_file, config(seeded)).unwrap();
    let report = work.path().join("report.json");
    // One seed, so that a run is repeatable; another explores further.
    let seed = std::env::var("CHARTER_FUZZ_SEED").unwrap_or_else(|_| "1".into());
    let schemathesis = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/python/.venv/bin/schemathesis");
    assert!(schemathesis.exists(), "schemathesis is missing: run scripts/bootstrap --browser-tests");
    let out = tokio::process::Command::new(schemathesis)
        .arg("--config-file")
        .arg(&config_file)
        .args(["run", "--seed", &seed, "--phases", phases, "--no-color", "--checks", CHECKS])
        .args(["--report", "json", "--report-json-path"])
        .arg(&report)
        .arg(app.url("/api/openapi.json"))
        .current_dir(work.path())
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "schemathesis found failures:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let report: Report = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(report.test_cases.with_failures, 0, "{stdout}");
    println!(
        "schemathesis {phases} (seed {}): {} operations, {} test cases, 0 failures in {:.0} s",
        report.seed, report.operations.tested, report.test_cases.generated, report.running_time
    );
    (report, stdout)
}

/// The ids of what the audit log says was done `action` to.
async fn audited(app: &TestApp, action: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT object_id FROM audit_log WHERE action = $1")
        .bind(action)
        .fetch_all(&app.db)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_operation_answers_as_the_openapi_document_says(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let seeded = seed(&app).await;
    let (report, stdout) = fuzz(&app, &seeded, "examples,coverage,fuzzing").await;
    assert_eq!(report.operations.total, documented_operations());
    assert_eq!(report.operations.tested, report.operations.total, "every operation is fuzzed:\n{stdout}");

    // The document delete reached its handler, and only with its own ids. One of the two
    // is enough: a test case takes a seeded id only most of the time. (A delete of a
    // document also trashes those under it, which a fuzzed move may have put there; the
    // log names only the document deleted.) The stateful phase, below, follows the ids
    // that answers name, the shared ones too, so it runs after this check.
    let deleted = audited(&app, "document.delete").await;
    let named = |ids: &[DocumentId]| ids.iter().filter(|id| deleted.contains(&id.to_string())).count();
    assert!(named(&seeded.doomed_documents) > 0, "no document was deleted: {deleted:?}");
    assert_eq!(named(&seeded.documents), 0, "a shared document was deleted: {deleted:?}");
    // So did the webhook delete, and the shared webhook is still there.
    let deleted = audited(&app, "webhook.delete").await;
    assert!(seeded.doomed_webhooks.iter().any(|id| deleted.contains(&id.to_string())), "none deleted: {deleted:?}");
    assert!(!deleted.contains(&seeded.webhook.to_string()), "the shared webhook was deleted: {deleted:?}");

    let (stateful, stdout) = fuzz(&app, &seeded, "stateful").await;
    assert!(stateful.test_cases.generated > 0, "the stateful phase ran nothing:\n{stdout}");
}
