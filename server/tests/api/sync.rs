//! `charter pull`, `push` and `status`, run as processes against the real server: a
//! repository's spec folder kept in step with Charter.

use std::path::{Path, PathBuf};

use charter_types::{ChangeRequestSummary, Document, Project};
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

use crate::harness::{expect, TestApp};

const SPEC: &str = "# Payments\n\n## Requirements\n\n\
- **PAY-001** (P1) The system SHALL keep a cart for 30 days.\n  - Given a saved cart, When the shopper returns, Then it is there.\n\
- **PAY-002** (P2) The system SHALL refund in full within 5 days.\n  - Given a refund, When it is asked for, Then it is paid.\n";

struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

async fn charter(args: Vec<String>) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_charter"));
    command.args(args).env_remove("CHARTER_TOKEN");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    Run {
        code: out.status.code(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn args(parts: &[&str], dir: &Path) -> Vec<String> {
    parts.iter().map(|part| part.to_string()).chain([dir.to_string_lossy().into_owned()]).collect()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

async fn text_on(app: &TestApp, client: &reqwest::Client, document: &Document, branch: &str) -> String {
    let url = app.url(&format!("/api/v1/documents/{}?branch={branch}", document.id));
    expect::<Document>(client, Method::GET, &url, None).await.content
}

async fn set_text(app: &TestApp, client: &reqwest::Client, document: &Document, branch: &str, text: &str) {
    let url = app.url(&format!("/api/v1/documents/{}/content?branch={branch}", document.id));
    let _: Document = expect(client, Method::PUT, &url, Some(json!({ "content": text }))).await;
}

/// Ada's project with the payments spec, a token of hers, and a folder to pull into.
struct Setup {
    app: TestApp,
    ada: reqwest::Client,
    project: Project,
    spec: Document,
    token: String,
    server: String,
    dir: PathBuf,
}

async fn setup(db: PgPool) -> Setup {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project: Project = app.project(&ada, "Payments").await;
    let url = app.url(&format!("/api/v1/projects/{}/documents", project.id));
    let body = json!({ "title": "Payments", "kind": "spec", "content": SPEC });
    let spec: Document = expect(&ada, Method::POST, &url, Some(body)).await;
    let token = app.token(&ada, &["read", "write"]).await;
    let server = app.url("");
    let dir = std::env::temp_dir().join(format!("specs-{}", uuid::Uuid::now_v7()));
    Setup { app, ada, project, spec, token, server, dir }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_pulled_folder_edited_and_pushed_becomes_a_reviewed_change_and_status_gates_drift(db: PgPool) {
    let Setup { app, ada, project, spec, token, server, dir } = setup(db).await;
    let id = project.id.to_string();

    let pulled = charter(args(&["pull", "--project", &id, "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(pulled.code, Some(0), "{}{}", pulled.out, pulled.err);
    assert_eq!(read(&dir, "payments.md"), SPEC);
    assert!(read(&dir, "constitution.md").starts_with("# "), "every document, the constitution too");
    let manifest: serde_json::Value = serde_json::from_str(&read(&dir, ".charter/manifest.json")).unwrap();
    assert!(manifest["documents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|entry| entry["id"] == spec.id.to_string() && entry["file"] == "payments.md"));
    let status = charter(args(&["status", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(status.code, Some(0), "{}{}", status.out, status.err);

    // Meanwhile someone changes PAY-002 in Charter, and the repository changes PAY-001.
    let in_charter = SPEC.replace("within 5 days", "within 3 days");
    set_text(&app, &ada, &spec, "main", &in_charter).await;
    let in_folder = SPEC.replace("for 30 days", "for 90 days");
    std::fs::write(dir.join("payments.md"), &in_folder).unwrap();
    let status = charter(args(&["status", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(status.code, Some(1), "drift fails: {}{}", status.out, status.err);
    assert!(status.out.contains("changed in both: payments.md"), "{}", status.out);

    let pushed =
        charter(args(&["push", "--server", &server, "--token", &token, "--title", "Longer carts"], &dir)).await;
    assert_eq!(pushed.code, Some(0), "{}{}", pushed.out, pushed.err);
    assert!(pushed.out.contains("change request #1 into main"), "{}", pushed.out);
    let change_url = app.url(&format!("/api/v1/projects/{}/change-requests/1", project.id));
    let change: ChangeRequestSummary = expect(&ada, Method::GET, &change_url, None).await;
    assert_eq!((change.title.as_str(), change.target.as_str()), ("Longer carts", "main"));
    assert!(change.source.starts_with("push-specs-"), "{}", change.source);
    // Both edits are in the proposal; `main` has only its own until the merge.
    let proposed = text_on(&app, &ada, &spec, &change.source).await;
    assert_eq!(proposed, SPEC.replace("for 30 days", "for 90 days").replace("within 5 days", "within 3 days"));
    assert_eq!(text_on(&app, &ada, &spec, "main").await, in_charter);
    assert_eq!(read(&dir, "payments.md"), proposed, "the folder holds what it proposed");
    let status = charter(args(&["status", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(status.code, Some(1), "not on main until merged: {}", status.out);
    assert!(status.out.contains("changed in both: payments.md"), "{}", status.out);
    assert!(status.out.contains("change request #1"), "{}", status.out);
    let pulled = charter(args(&["pull", "--project", &id, "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(pulled.code, Some(2), "pulling would drop what is not on main yet: {}", pulled.err);
    assert!(pulled.err.contains("pull once change request #1 is merged"), "{}", pulled.err);
    assert_eq!(read(&dir, "payments.md"), proposed, "the folder is untouched");

    // A second push adds to the same change request, keeping a reviewer's edit to it.
    let reviewed = proposed.replace("# Payments\n", "# Payments and refunds\n");
    set_text(&app, &ada, &spec, &change.source, &reviewed).await;
    std::fs::write(dir.join("payments.md"), format!("{proposed}\nReceipts are emailed.\n")).unwrap();
    let again = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(again.code, Some(0), "{}{}", again.out, again.err);
    assert!(again.out.contains("change request #1 into main"), "{}", again.out);
    let proposed = text_on(&app, &ada, &spec, &change.source).await;
    assert!(
        proposed.starts_with("# Payments and refunds\n") && proposed.ends_with("Receipts are emailed.\n"),
        "{proposed}"
    );
    let list: Vec<ChangeRequestSummary> =
        expect(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/change-requests", project.id)), None).await;
    assert_eq!(list.len(), 1, "the same change request");

    // Both sides change the same line: nothing is pushed and the file shows both.
    set_text(&app, &ada, &spec, &change.source, &proposed.replace("for 90 days", "for 60 days")).await;
    let local = read(&dir, "payments.md").replace("for 90 days", "for 120 days");
    std::fs::write(dir.join("payments.md"), &local).unwrap();
    let conflict = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(conflict.code, Some(1), "{}{}", conflict.out, conflict.err);
    assert!(conflict.out.contains("conflict: payments.md"), "{}", conflict.out);
    let marked = read(&dir, "payments.md");
    let expected = format!(
        "<<<<<<< Charter ({})\n- **PAY-001** (P1) The system SHALL keep a cart for 60 days.\n=======\n\
         - **PAY-001** (P1) The system SHALL keep a cart for 120 days.\n>>>>>>> payments.md\n",
        change.source
    );
    assert!(marked.contains(&expected), "{marked}");
    assert!(text_on(&app, &ada, &spec, &change.source).await.contains("for 60 days"), "Charter's side is untouched");

    let again = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(again.code, Some(2), "markers are never pushed: {}", again.err);
    assert!(again.err.contains("still holds conflict markers"), "{}", again.err);

    // Other Markdown files are left alone; a deleted document's file is refused.
    std::fs::write(dir.join("README.md"), "# Our specs\n").unwrap();
    let status = charter(args(&["status", "--server", &server, "--token", &token], &dir)).await;
    assert!(status.out.contains("not a document (left alone): README.md"), "{}", status.out);
    std::fs::remove_file(dir.join("payments.md")).unwrap();
    let refused = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(refused.code, Some(2), "{}{}", refused.out, refused.err);
    assert!(refused.err.contains("deleted payments.md: documents are deleted"), "{}", refused.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn once_merged_the_folder_is_in_step_and_a_changed_manifest_cannot_leak_files_or_the_token(db: PgPool) {
    let Setup { app, ada, project, spec, token, server, dir } = setup(db).await;
    // Merging needs no approval here, so the author can merge the push.
    let settings = app.url(&format!("/api/v1/projects/{}/settings", project.id));
    let _: serde_json::Value = expect(&ada, Method::PATCH, &settings, Some(json!({ "required_approvals": 0 }))).await;
    let id = project.id.to_string();
    let pull = || args(&["pull", "--project", &id, "--server", &server, "--token", &token], &dir);
    let pulled = charter(pull()).await;
    assert_eq!(pulled.code, Some(0), "{}", pulled.err);

    std::fs::write(dir.join("payments.md"), SPEC.replace("for 30 days", "for 90 days")).unwrap();
    let pushed = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(pushed.code, Some(0), "{}{}", pushed.out, pushed.err);
    let merge = app.url(&format!("/api/v1/projects/{}/change-requests/1/merge", project.id));
    let _: serde_json::Value = expect(&ada, Method::POST, &merge, Some(json!({}))).await;
    assert_eq!(text_on(&app, &ada, &spec, "main").await, SPEC.replace("for 30 days", "for 90 days"));

    // Merged: the folder is main's text, and pushing again makes nothing.
    let status = charter(args(&["status", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(status.code, Some(0), "{}{}", status.out, status.err);
    let again = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(again.code, Some(0), "{}{}", again.out, again.err);
    assert!(again.out.contains("nothing to push"), "{}", again.out);
    let pulled = charter(pull()).await;
    assert_eq!(pulled.code, Some(0), "pulling after the merge: {}", pulled.err);

    // Another server in the command than in the manifest: refused before the token is sent.
    let elsewhere = charter(args(&["status", "--server", "http://127.0.0.1:9", "--token", &token], &dir)).await;
    assert_eq!(elsewhere.code, Some(2));
    assert!(elsewhere.err.contains("was pulled from"), "{}", elsewhere.err);
    // A manifest that names a file outside the folder is refused: nothing read or written.
    let path = dir.join(".charter/manifest.json");
    let manifest = std::fs::read_to_string(&path).unwrap().replace("\"payments.md\"", "\"../outside.md\"");
    std::fs::write(&path, manifest).unwrap();
    let escaped = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(escaped.code, Some(2), "{}{}", escaped.out, escaped.err);
    assert!(escaped.err.contains("../outside.md is not a document's file inside the folder"), "{}", escaped.err);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_folder_pulled_in_a_tools_layout_keeps_it_and_pushes_from_it(db: PgPool) {
    let Setup { app, ada, project, spec, token, server, dir } = setup(db).await;
    let id = project.id.to_string();
    let pull = ["pull", "--project", &id, "--server", &server, "--token", &token];
    let pulled = charter(args(&[&pull[..], &["--layout", "speckit"]].concat(), &dir)).await;
    assert_eq!(pulled.code, Some(0), "{}{}", pulled.out, pulled.err);
    assert_eq!(read(&dir, "specs/001-payments/spec.md"), SPEC);
    assert!(read(&dir, ".specify/memory/constitution.md").starts_with("# "));
    let manifest: serde_json::Value = serde_json::from_str(&read(&dir, ".charter/manifest.json")).unwrap();
    assert_eq!(manifest["layout"], "speckit");

    // Edited where Spec Kit keeps it, pushed, and pulled again without --layout: the
    // folder keeps its layout.
    let edited = SPEC.replace("for 30 days", "for 60 days");
    std::fs::write(dir.join("specs/001-payments/spec.md"), &edited).unwrap();
    let pushed = charter(args(&["push", "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(pushed.code, Some(0), "{}{}", pushed.out, pushed.err);
    let change_url = app.url(&format!("/api/v1/projects/{}/change-requests/1", project.id));
    let change: ChangeRequestSummary = expect(&ada, Method::GET, &change_url, None).await;
    assert_eq!(text_on(&app, &ada, &spec, &change.source).await, edited);
    let bad = charter(args(&[&pull[..], &["--layout", "word"]].concat(), &dir)).await;
    assert_eq!(bad.code, Some(2));
    assert!(bad.err.contains("--layout takes charter, speckit, openspec or kiro"), "{}", bad.err);
    std::fs::remove_dir_all(&dir).unwrap();
    let pulled = charter(args(&[&pull[..], &["--layout", "kiro"]].concat(), &dir)).await;
    assert_eq!(pulled.code, Some(0), "{}{}", pulled.out, pulled.err);
    assert_eq!(read(&dir, ".kiro/specs/payments/requirements.md"), SPEC, "texts as Charter holds them");
    let again = charter(args(&pull, &dir)).await;
    assert_eq!(again.code, Some(0), "{}{}", again.out, again.err);
    assert!(dir.join(".kiro/specs/payments/requirements.md").exists(), "the folder keeps its layout");
    assert!(!dir.join("payments.md").exists());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_contract_travels_as_its_yaml_file_and_its_edit_is_pushed(db: PgPool) {
    let Setup { app, ada, project, token, server, dir, .. } = setup(db).await;
    let orders = "openapi: 3.1.0\ninfo: {title: Orders, version: 1.0.0}\npaths:\n  /orders:\n    get:\n      responses:\n        '200': {description: The orders.}\n";
    let url = app.url(&format!("/api/v1/projects/{}/documents", project.id));
    let body = json!({ "title": "Orders API", "kind": "contract", "content": orders });
    let contract: Document = expect(&ada, Method::POST, &url, Some(body)).await;
    let id = project.id.to_string();

    let pulled = charter(args(&["pull", "--project", &id, "--server", &server, "--token", &token], &dir)).await;
    assert_eq!(pulled.code, Some(0), "{}{}", pulled.out, pulled.err);
    assert_eq!(read(&dir, "orders-api.yaml"), orders, "a contract is its YAML, as written");

    let edited = orders.replace("The orders.", "Every order, newest first.");
    std::fs::write(dir.join("orders-api.yaml"), &edited).unwrap();
    let status = charter(args(&["status", "--server", &server, "--token", &token], &dir)).await;
    assert!(status.out.contains("orders-api.yaml"), "{}", status.out);
    let pushed = charter(args(&["push", "--server", &server, "--token", &token, "--title", "Words"], &dir)).await;
    assert_eq!(pushed.code, Some(0), "{}{}", pushed.out, pushed.err);
    let change: ChangeRequestSummary =
        expect(&ada, Method::GET, &app.url(&format!("/api/v1/projects/{}/change-requests/1", project.id)), None).await;
    assert_eq!(text_on(&app, &ada, &contract, &change.source).await, edited);
    assert_eq!(text_on(&app, &ada, &contract, "main").await, orders, "main changes by review");
    std::fs::remove_dir_all(&dir).unwrap();
}
