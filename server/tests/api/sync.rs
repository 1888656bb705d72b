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

#[sqlx::test(migrations = "../migrations")]
async fn a_pulled_folder_edited_and_pushed_becomes_a_reviewed_change_and_status_gates_drift(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project: Project = app.project(&ada, "Payments").await;
    let url = app.url(&format!("/api/v1/projects/{}/documents", project.id));
    let body = json!({ "title": "Payments", "kind": "spec", "content": SPEC });
    let spec: Document = expect(&ada, Method::POST, &url, Some(body)).await;
    let token = app.token(&ada, &["read", "write"]).await;
    let dir: PathBuf = std::env::temp_dir().join(format!("specs-{}", uuid::Uuid::now_v7()));
    let id = project.id.to_string();

    let pulled = charter(args(&["pull", "--project", &id, "--server", &app.url(""), "--token", &token], &dir)).await;
    assert_eq!(pulled.code, Some(0), "{}{}", pulled.out, pulled.err);
    assert_eq!(read(&dir, "payments.md"), SPEC);
    assert!(read(&dir, "constitution.md").starts_with("# "), "every document, the constitution too");
    let manifest: serde_json::Value = serde_json::from_str(&read(&dir, ".charter/manifest.json")).unwrap();
    assert!(manifest["documents"]
        .as_array()
        .unwrap()
        .iter()
        .any(|entry| entry["id"] == spec.id.to_string() && entry["file"] == "payments.md"));
    let status = charter(args(&["status", "--token", &token], &dir)).await;
    assert_eq!(status.code, Some(0), "{}{}", status.out, status.err);

    // Meanwhile someone changes PAY-002 in Charter, and the repository changes PAY-001.
    let in_charter = SPEC.replace("within 5 days", "within 3 days");
    set_text(&app, &ada, &spec, "main", &in_charter).await;
    let in_folder = SPEC.replace("for 30 days", "for 90 days");
    std::fs::write(dir.join("payments.md"), &in_folder).unwrap();
    let status = charter(args(&["status", "--token", &token], &dir)).await;
    assert_eq!(status.code, Some(1), "drift fails: {}{}", status.out, status.err);
    assert!(status.out.contains("in the folder:  changed payments.md"), "{}", status.out);
    assert!(status.out.contains("in Charter (main):  changed payments.md"), "{}", status.out);

    let pushed = charter(args(&["push", "--token", &token, "--title", "Longer carts"], &dir)).await;
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

    // A second push adds to the same change request, keeping a reviewer's edit to it.
    let reviewed = proposed.replace("# Payments\n", "# Payments and refunds\n");
    set_text(&app, &ada, &spec, &change.source, &reviewed).await;
    std::fs::write(dir.join("payments.md"), format!("{in_folder}\nReceipts are emailed.\n")).unwrap();
    let again = charter(args(&["push", "--token", &token], &dir)).await;
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
    let conflict = charter(args(&["push", "--token", &token], &dir)).await;
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

    // Files the folder made or deleted are Charter's to make: refused, with why.
    std::fs::write(dir.join("new.md"), "# New\n").unwrap();
    let refused = charter(args(&["push", "--token", &token], &dir)).await;
    assert_eq!(refused.code, Some(2), "{}{}", refused.out, refused.err);
    assert!(
        refused.err.contains("new new.md") && refused.err.contains("made, placed and deleted in Charter"),
        "{}",
        refused.err
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
