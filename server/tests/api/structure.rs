//! Spec structure through the API: requirements with stable identities and history,
//! lint (and its merge gate), clarifications, templates, constitution bumps and
//! traceability with the `charter check` command.

use std::fmt::Display;

use charter_types::{Project, ProjectId, Role};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, TestApp};

/// A project owned by ada, with rita as reviewer and vic as viewer, and a branch `draft`.
struct Setup {
    app: TestApp,
    ada: Client,
    rita: Client,
    vic: Client,
    project: Project,
    id: ProjectId,
}

async fn setup(db: PgPool) -> Setup {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let rita = app.signup("rita").await;
    let vic = app.signup("vic").await;
    let project = app.project(&ada, "Payments").await;
    app.add_member(&ada, &project, "rita", Role::Reviewer).await;
    app.add_member(&ada, &project, "vic", Role::Viewer).await;
    let id = project.id;
    let s = Setup { app, ada, rita, vic, project, id };
    let (status, body) = call(&s.ada, Method::POST, &s.url("/branches"), Some(json!({ "name": "draft" }))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    s
}

impl Setup {
    fn url(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1/projects/{}{path}", self.id))
    }

    fn api(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1{path}"))
    }

    async fn create(&self, branch: &str, title: &str, kind: &str, content: &str) -> String {
        let body = json!({ "title": title, "kind": kind, "content": content });
        let (status, doc) =
            call(&self.ada, Method::POST, &self.url(&format!("/documents?branch={branch}")), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{doc}");
        doc["id"].as_str().unwrap().to_owned()
    }

    async fn write(&self, document: impl Display, branch: &str, content: &str) {
        let url = self.api(&format!("/documents/{document}/content?branch={branch}"));
        let (status, body) = call(&self.ada, Method::PUT, &url, Some(json!({ "content": content }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn text(&self, document: impl Display, branch: &str) -> String {
        let (status, doc) =
            call(&self.ada, Method::GET, &self.api(&format!("/documents/{document}?branch={branch}")), None).await;
        assert_eq!(status, StatusCode::OK, "{doc}");
        doc["content"].as_str().unwrap().to_owned()
    }

    /// Opens a change request from draft to main and has rita approve it.
    async fn approved(&self, title: &str) -> i64 {
        let body = json!({ "source": "draft", "target": "main", "title": title });
        let (status, created) = call(&self.ada, Method::POST, &self.url("/change-requests"), Some(body)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let number = created["number"].as_i64().unwrap();
        let reviews = self.url(&format!("/change-requests/{number}/reviews"));
        let (status, body) = call(&self.rita, Method::POST, &reviews, Some(json!({ "verdict": "approve" }))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        number
    }

    async fn merge(&self, client: &Client, number: i64, body: Value) -> (StatusCode, Value) {
        call(client, Method::POST, &self.url(&format!("/change-requests/{number}/merge")), Some(body)).await
    }

    async fn view(&self, number: i64) -> Value {
        let (status, view) = call(&self.ada, Method::GET, &self.url(&format!("/change-requests/{number}")), None).await;
        assert_eq!(status, StatusCode::OK, "{view}");
        view
    }

    async fn requirements(&self, query: &str) -> Vec<Value> {
        let (status, list) = call(&self.ada, Method::GET, &self.url(&format!("/requirements{query}")), None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list.as_array().unwrap().clone()
    }
}

const LOCKOUT: &str = "# Login\n\n## Requirements\n\n\
    - **AUTH-001** (P1) The system SHALL lock an account after 5 failed logins.\n\
    \x20 - Given 4 failed logins, When the 5th fails, Then the account is locked.\n";

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn requirements_keep_their_identity_and_history_across_renames(db: PgPool) {
    let s = setup(db).await;
    let login = s.create("draft", "Login", "spec", LOCKOUT).await;
    let listed = s.requirements("?branch=draft").await;
    assert_eq!(listed.len(), 1);
    let first = &listed[0];
    assert_eq!(
        (first["key"].as_str(), first["priority"].as_str(), first["status"].as_str()),
        (Some("AUTH-001"), Some("P1"), Some("ready"))
    );
    assert_eq!(first["acceptance"][0], "Given 4 failed logins, When the 5th fails, Then the account is locked.");
    assert_eq!(first["document_id"], login.as_str());
    let id = first["id"].as_str().unwrap().to_owned();
    assert!(s.requirements("").await.is_empty(), "main has none yet");

    let number = s.approved("Lockout").await;
    let (status, body) = s.merge(&s.ada, number, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(s.requirements("").await[0]["id"], id.as_str(), "main knows it by the same identity");

    // Renamed and moved to another spec on the branch: still the same requirement.
    s.write(&login, "draft", "# Login\n").await;
    let security = s.create("draft", "Security", "spec", &LOCKOUT.replace("AUTH-001", "SEC-001")).await;
    s.create("draft", "Tasks", "tasks", "- [ ] T001 Test [[SEC-001]]\n").await;
    let renamed = s.requirements("?branch=draft&q=sec").await;
    assert_eq!(renamed.len(), 1);
    assert_eq!((renamed[0]["id"].as_str(), renamed[0]["key"].as_str()), (Some(id.as_str()), Some("SEC-001")));
    assert_eq!(renamed[0]["document_id"], security.as_str());
    assert!(s.requirements("?branch=draft&q=nothing-like-this").await.is_empty());

    let number = s.approved("Security owns lockout").await;
    let (status, body) = s.merge(&s.ada, number, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, detail) = call(&s.ada, Method::GET, &s.api(&format!("/requirements/{id}")), None).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["key"], "SEC-001");
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["changes"], json!(["renamed", "moved"]));
    assert_eq!(history[0]["previous_key"], "AUTH-001");
    assert_eq!(history[0]["change_request"], number);
    assert_eq!(history[1]["changes"], json!(["added"]));
    assert_eq!(history[1]["author"], "ada");
    assert_eq!(history[1]["approvers"], json!(["rita"]));
    let backlinks = detail["backlinks"].as_array().unwrap();
    assert_eq!(backlinks.len(), 1, "{backlinks:?}");
    assert_eq!((backlinks[0]["title"].as_str(), backlinks[0]["kind"].as_str()), (Some("Tasks"), Some("tasks")));

    // The spec lists what links to it and to its requirements.
    let (status, links) = call(&s.ada, Method::GET, &s.api(&format!("/documents/{security}/backlinks")), None).await;
    assert_eq!(status, StatusCode::OK, "{links}");
    assert_eq!(links.as_array().unwrap().len(), 1, "{links}");
    assert_eq!((links[0]["target"].as_str(), links[0]["title"].as_str()), (Some("SEC-001"), Some("Tasks")));

    // Strangers see nothing; unknown ids are 404.
    let eve = s.app.signup("eve").await;
    let (status, body) = call(&eve, Method::GET, &s.api(&format!("/requirements/{id}")), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = call(&eve, Method::GET, &s.url("/requirements"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&s.ada, Method::GET, &s.api(&format!("/requirements/{}", uuid::Uuid::now_v7())), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn lint_reports_findings_and_errors_block_merging_unless_an_owner_overrides(db: PgPool) {
    let s = setup(db).await;
    let text = format!("{LOCKOUT}\nSee [[Nowhere]].\n");
    let login = s.create("draft", "Login", "spec", &text).await;

    let (status, report) =
        call(&s.ada, Method::GET, &s.api(&format!("/documents/{login}/lint?branch=draft")), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let findings = report.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "dangling-link");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!((findings[0]["line"].as_i64(), findings[0]["column"].as_i64()), (Some(8), Some(5)));
    let (status, rules) = call(&s.ada, Method::GET, &s.url("/lint/rules?branch=draft"), None).await;
    assert_eq!(status, StatusCode::OK, "{rules}");
    assert_eq!(rules.as_array().unwrap().len(), 24, "the spec lint's 11 rules and the contract lint's 13");
    let first = json!({ "id": "open-clarification", "summary": "A [NEEDS CLARIFICATION: …] question is still unanswered.", "default": "warning", "severity": "warning" });
    assert_eq!(rules[0], first);

    // What the editor sends while typing: the unsaved text, against the rest as stored.
    let url = s.api(&format!("/documents/{login}/lint?branch=draft"));
    let (status, report) = call(
        &s.ada,
        Method::POST,
        &url,
        Some(json!({ "content": "- **AUTH-001** Lock it. [NEEDS CLARIFICATION: when?]\n" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let rules: Vec<&str> = report.as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    // The default constitution's P-02 asks for scenarios: a violation too.
    assert_eq!(rules, ["missing-acceptance", "missing-shall", "constitution-violation", "open-clarification"]);
    let (status, body) = call(&s.vic, Method::POST, &url, Some(json!({ "content": 42 }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, report) = call(&s.vic, Method::GET, &s.url("/lint?branch=draft"), None).await;
    assert_eq!(status, StatusCode::OK, "viewers read the report");
    assert_eq!(report.as_array().unwrap().len(), 1);

    let number = s.approved("Login").await;
    let view = s.view(number).await;
    assert_eq!(view["checks"]["errors"], 1);
    assert_eq!(view["actions"]["merge_blockers"], json!([]), "an owner may merge, {view}");
    assert_eq!(view["actions"]["merge_needs_reason"], true, "with a reason");
    let (status, body) = s.merge(&s.ada, number, json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(body["error"]["details"]["findings"][0]["rule"], "dangling-link");
    let (status, body) = s.merge(&s.rita, number, json!({ "override_reason": "fix later" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "reviewers can't override: {body}");
    let (status, body) = s.merge(&s.ada, number, json!({ "override_reason": "The linked spec lands next week" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let view = s.view(number).await;
    assert_eq!(view["checks"]["lint_override"], json!({ "by": "ada", "reason": "The linked spec lands next week" }));
    let (_, activity) = call(&s.ada, Method::GET, &s.url("/activity"), None).await;
    assert!(activity.to_string().contains("despite 1 lint error(s): The linked spec lands next week"), "{activity}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn clarifications_are_listed_and_answered_as_edits(db: PgPool) {
    let s = setup(db).await;
    let text = "# Export\n\nExports run [NEEDS CLARIFICATION: how often?].\n\n## Clarifications\n";
    let export = s.create("main", "Export", "spec", text).await;

    let (status, open) = call(&s.vic, Method::GET, &s.url("/clarifications?state=open"), None).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    let open = open.as_array().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0]["question"].as_str(), open[0]["line"].as_i64()), (Some("how often?"), Some(3)));
    let id = open[0]["id"].as_str().unwrap();
    let answer = s.api(&format!("/clarifications/{id}/answer"));

    let (status, _) = call(&s.vic, Method::POST, &answer, Some(json!({ "answer": "daily" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers don't edit");
    let (status, body) = call(&s.ada, Method::POST, &answer, Some(json!({ "answer": "  " }))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let (status, answered) =
        call(&s.ada, Method::POST, &answer, Some(json!({ "answer": "every night at 02:00 UTC" }))).await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!((answered["state"].as_str(), answered["answered_by"].as_str()), (Some("answered"), Some("ada")));

    let text = s.text(&export, "main").await;
    assert!(text.contains("Exports run every night at 02:00 UTC."), "{text}");
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    assert!(
        text.contains(&format!("## Clarifications\n\n- {today} — Q: how often? → A: every night at 02:00 UTC\n")),
        "{text}"
    );

    let (_, open) = call(&s.ada, Method::GET, &s.url("/clarifications"), None).await;
    assert_eq!(open, json!([]));
    let (_, done) = call(&s.ada, Method::GET, &s.url("/clarifications?state=answered"), None).await;
    assert_eq!(done[0]["answer"], "every night at 02:00 UTC");
    let (status, _) = call(&s.ada, Method::POST, &answer, Some(json!({ "answer": "twice" }))).await;
    assert_eq!(status, StatusCode::CONFLICT, "answered already");
    let (status, _) = call(&s.ada, Method::GET, &s.url("/clarifications?state=bogus"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A marker edited away is withdrawn, not answered.
    s.write(&export, "main", "# Export\n\nA [NEEDS CLARIFICATION: format?]\n").await;
    let (_, open) = call(&s.ada, Method::GET, &s.url("/clarifications"), None).await;
    assert_eq!(open[0]["question"], "format?");
    s.write(&export, "main", "# Export\n\nCSV.\n").await;
    let (_, withdrawn) = call(&s.ada, Method::GET, &s.url("/clarifications?state=withdrawn"), None).await;
    assert_eq!(withdrawn[0]["question"], "format?");
    let eve = s.app.signup("eve").await;
    let (status, _) = call(&eve, Method::POST, &answer, Some(json!({ "answer": "x" }))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn documents_start_from_templates(db: PgPool) {
    let s = setup(db).await;
    let (status, templates) = call(&s.vic, Method::GET, &s.url("/templates"), None).await;
    assert_eq!(status, StatusCode::OK, "{templates}");
    let kinds: Vec<(&str, Option<&str>)> = templates["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["kind"].as_str().unwrap(), t["format"].as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("spec", None),
            ("plan", None),
            ("tasks", None),
            ("constitution", None),
            ("contract", Some("openapi")),
            ("contract", Some("json-schema"))
        ]
    );
    assert!(templates["help"].as_str().unwrap().contains("### AUTH-001: Account lockout"));

    let body = json!({ "title": "Login", "kind": "spec", "template": true });
    let (status, spec) = call(&s.ada, Method::POST, &s.url("/documents"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{spec}");
    assert!(spec["content"].as_str().unwrap().starts_with("# Feature: Login\n"));
    let body = json!({ "title": "Login plan", "kind": "plan", "template": true, "parent_id": spec["id"] });
    let (status, plan) = call(&s.ada, Method::POST, &s.url("/documents"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{plan}");
    assert!(plan["content"].as_str().unwrap().contains("[[Login]]"), "the plan links its spec");
    // A document fresh from its template starts without a lint error, a plan written
    // before its spec included.
    let body = json!({ "title": "Billing plan", "kind": "plan", "template": true });
    let (status, orphan) = call(&s.ada, Method::POST, &s.url("/documents"), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{orphan}");
    for document in [&spec, &plan, &orphan] {
        let url = s.api(&format!("/documents/{}/lint", document["id"].as_str().unwrap()));
        let (status, findings) = call(&s.ada, Method::GET, &url, None).await;
        assert_eq!(status, StatusCode::OK, "{findings}");
        let errors: Vec<&Value> =
            findings.as_array().unwrap().iter().filter(|finding| finding["severity"] == "error").collect();
        assert!(errors.is_empty(), "{} starts with errors: {errors:?}", document["title"]);
    }
    let body = json!({ "title": "x", "kind": "spec", "template": true, "content": "y" });
    let (status, body) = call(&s.ada, Method::POST, &s.url("/documents"), Some(body)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));

    let listed = s.requirements("").await;
    let keys: Vec<&str> = listed.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["FR-001", "FR-002", "NFR-001"]);
    assert_eq!(listed[1]["status"], "needs_clarification");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn constitution_changes_bump_the_version_through_review(db: PgPool) {
    let s = setup(db).await;
    let constitution = s.app.constitution(&s.ada, &s.project).await.id;
    let before = s.text(&constitution, "draft").await;
    assert!(before.contains("**Version**: 1.0.0"));
    // P-03 goes; a spec that names it, and one without scenarios (P-02 checks that), are affected.
    let start = before.find("### P-03").unwrap();
    let end = before.find("## Governance").unwrap();
    let removed = format!("{}{}", &before[..start], &before[end..]);
    s.write(&constitution, "draft", &removed).await;
    s.create("draft", "Export", "spec", "Follows [[P-01]] and P-03.\n\n- **EXP-001** The system SHALL export CSV.\n")
        .await;

    let number = s.approved("Drop P-03").await;
    let view = s.view(number).await;
    let change = &view["constitution"];
    assert_eq!(change["proposal"]["bump"], "major", "{change}");
    assert_eq!(
        change["proposal"]["principles"][0],
        json!({ "key": "P-03", "title": "Unknowns are marked, not guessed", "change": "removed", "bump": "major" })
    );
    assert_eq!(
        (change["current_version"].as_str(), change["proposed_version"].as_str()),
        (Some("1.0.0"), Some("2.0.0"))
    );
    let impact = change["impact"].as_array().unwrap();
    assert_eq!(impact.len(), 1, "{impact:?}");
    assert_eq!(impact[0]["title"], "Export");
    assert_eq!(impact[0]["references"], json!(["P-03"]));
    assert_eq!(
        impact[0]["findings"][0]["message"],
        "Violates P-02 (Every requirement is testable): EXP-001 has no acceptance scenario"
    );

    let (status, body) = s.merge(&s.ada, number, json!({ "override_reason": "tracked" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "unconfirmed bump: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("confirm the constitution's version bump"));
    let confirm = s.url(&format!("/change-requests/{number}/constitution"));
    let (status, _) = call(&s.ada, Method::POST, &confirm, Some(json!({ "bump": "major" }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not the author");
    let (status, _) = call(&s.rita, Method::POST, &confirm, Some(json!({ "bump": "huge" }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, view) = call(&s.rita, Method::POST, &confirm, Some(json!({ "bump": "major" }))).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["constitution"]["confirmed"], json!({ "bump": "major", "by": "rita", "stale": false }));
    assert_eq!(view["constitution"]["next_version"], "2.0.0");

    // The Export spec's constitution violation is an error: the owner overrides it.
    let (status, body) = s.merge(&s.ada, number, json!({ "override_reason": "Export gets scenarios next" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let after = s.text(&constitution, "main").await;
    let today = chrono::Utc::now().date_naive().format("%Y-%m-%d").to_string();
    assert!(
        after.contains(&format!("**Version**: 2.0.0 | **Ratified**: {today} | **Last Amended**: {today}")),
        "{after}"
    );
    assert!(!after.contains("P-03"));
    let (status, tagged) =
        call(&s.ada, Method::GET, &s.api(&format!("/documents/{constitution}/at/v2.0.0")), None).await;
    assert_eq!(status, StatusCode::OK, "the merge is tagged: {tagged}");
    assert!(tagged["content"].as_str().unwrap().contains("**Version**: 2.0.0"));
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_wording_change_proposes_a_patch_and_editing_after_confirming_needs_a_new_confirmation(db: PgPool) {
    let s = setup(db).await;
    let constitution = s.app.constitution(&s.ada, &s.project).await.id;
    let before = s.text(&constitution, "draft").await;
    s.write(
        &constitution,
        "draft",
        &before.replace("A guess in a spec becomes a bug", "A guess in a spec turns into a bug"),
    )
    .await;
    let number = s.approved("Wording").await;
    assert_eq!(s.view(number).await["constitution"]["proposal"]["bump"], "patch");
    let confirm = s.url(&format!("/change-requests/{number}/constitution"));
    let (status, _) = call(&s.rita, Method::POST, &confirm, Some(json!({ "bump": "patch" }))).await;
    assert_eq!(status, StatusCode::OK);
    s.write(
        &constitution,
        "draft",
        &before
            .replace("## Governance", "### P-04: Small changes\n\n**Rule:** Changes MUST be small.\n\n## Governance"),
    )
    .await;
    let view = s.view(number).await;
    assert_eq!(view["constitution"]["proposal"]["bump"], "minor");
    assert_eq!(view["constitution"]["confirmed"]["stale"], true);
    assert_eq!(view["constitution"]["impact"], json!([]), "no impact report below MAJOR");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn charter_check_traces_a_checkout_and_uploads_its_report(db: PgPool) {
    let s = setup(db).await;
    let spec = "- **AUTH-001** (P1) The system SHALL lock.\n  - Given a, When b, Then c.\n\
                - **AUTH-002** (P1) The system SHALL unlock.\n  - Given a, When b, Then c.\n\
                - **AUTH-003** (P2) The system SHALL log.\n  - Given a, When b, Then c.\n";
    s.create("main", "Login", "spec", spec).await;
    let token = s.app.token(&s.ada, &["read", "write"]).await;
    let read_only = s.app.token(&s.ada, &["read"]).await;

    let repo = std::env::temp_dir().join(format!("charter-check-{}", uuid::Uuid::now_v7()));
    let write = |path: &str, text: &str| {
        let path = repo.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("src/lock.rs", "// Implements AUTH-001 and AUTH-002.\npub fn lock() {}\n");
    write("tests/lock_test.rs", "// AUTH-001: five failures lock the account; AUTH-404 was dropped\n");

    let check = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_charter"));
        command.arg("check").args(["--project", &s.id.to_string(), "--server", &s.app.base]).args(args);
        command
    };
    let run = |mut command: std::process::Command| async move {
        let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let repo_arg = repo.to_str().unwrap();

    // AUTH-002 is P1 and only code names it: the default threshold fails.
    let (code, out, err) = run(check(&["--token", &token, "--commit", "abc123", repo_arg])).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("tested     AUTH-001 (P1)  tests/lock_test.rs:1"), "{out}");
    assert!(out.contains("code only  AUTH-002 (P1)  src/lock.rs:1"), "{out}");
    assert!(out.contains("untested   AUTH-003 (P2)"), "{out}");
    assert!(out.contains("unknown    AUTH-404  tests/lock_test.rs:1"), "{out}");
    assert!(err.contains("1 P1 requirement(s) have no test (allowed: 0)"), "{err}");

    let (code, out, err) =
        run(check(&["--token", &token, "--max-untested-p1", "1", "--commit", "abc123", repo_arg])).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, _, err) =
        run(check(&["--token", &token, "--max-untested-p1", "1", "--fail-on-unknown", repo_arg])).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("1 ID(s) in the code are defined by no spec"), "{err}");
    let (code, _, err) =
        run(check(&["--token", &token, "--max-untested-p1", "1", "--max-untested", "1", repo_arg])).await;
    assert_eq!(code, Some(1), "two lack tests: {err}");

    // Usage and server errors are 2, with a message.
    let (code, _, err) = run(check(&["--token", &token])).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("the path of the code checkout is required"), "{err}");
    let (code, _, err) = run(check(&["--token", "nope", repo_arg])).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("401"), "{err}");
    let (code, _, err) = run(check(&["--token", &read_only, "--upload", "--max-untested-p1", "9", repo_arg])).await;
    assert_eq!(code, Some(2), "uploading needs the write scope: {err}");

    let (code, out, err) =
        run(check(&["--token", &token, "--upload", "--commit", "abc123", "--max-untested-p1", "1", repo_arg])).await;
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("uploaded the report for abc123"), "{out}");
    std::fs::remove_dir_all(&repo).unwrap();

    let (status, stored) = call(&s.vic, Method::GET, &s.url("/traceability"), None).await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["commit"], "abc123");
    assert_eq!(
        stored["summary"],
        json!({ "tested": 1, "code_only": 1, "untested": 1, "unknown": 1, "untested_p1": 1 })
    );
    let listed = s.requirements("").await;
    assert_eq!(listed[0]["coverage"], json!({ "status": "tested", "tests": 1, "code": 1 }));
    let (_, detail) =
        call(&s.ada, Method::GET, &s.api(&format!("/requirements/{}", listed[1]["id"].as_str().unwrap())), None).await;
    assert_eq!(
        (detail["coverage"]["status"].as_str(), detail["checked_commit"].as_str()),
        (Some("code_only"), Some("abc123"))
    );

    let (status, body) = call(&s.ada, Method::POST, &s.url("/traceability"), Some(json!({ "commit": "x", "requirements": [{ "key": "not an id", "priority": null, "status": "tested", "tests": [], "code": [] }], "unknown": [], "files_scanned": 1 }))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let (status, _) = call(&s.ada, Method::GET, &s.url("/traceability?branch=draft"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nothing uploaded for draft");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn a_tag_made_by_hand_keeps_its_version_when_a_bump_reaches_its_name(db: PgPool) {
    let s = setup(db).await;
    s.create("draft", "Login", "spec", LOCKOUT).await;
    let number = s.approved("Login").await;
    let (status, merged) = s.merge(&s.ada, number, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    let tag = json!({ "name": "v1.1.0", "version": merged["version"]["id"] });
    let (status, body) = call(&s.ada, Method::POST, &s.url("/tags"), Some(tag)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A new principle: MINOR, 1.0.0 → 1.1.0, a name already taken.
    let constitution = s.app.constitution(&s.ada, &s.project).await.id;
    let before = s.text(&constitution, "draft").await;
    let added = "### P-04: Small changes\n\n**Rule:** Changes MUST be small.\n\n## Governance";
    s.write(&constitution, "draft", &before.replace("## Governance", added)).await;
    let number = s.approved("P-04").await;
    let confirm = s.url(&format!("/change-requests/{number}/constitution"));
    let (status, _) = call(&s.rita, Method::POST, &confirm, Some(json!({ "bump": "minor" }))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s.merge(&s.ada, number, json!({})).await;
    assert_eq!(status, StatusCode::OK, "the merge goes through: {body}");
    assert!(s.text(&constitution, "main").await.contains("**Version**: 1.1.0"));
    let (_, tagged) = call(&s.ada, Method::GET, &s.api(&format!("/documents/{constitution}/at/v1.1.0")), None).await;
    assert!(!tagged["content"].as_str().unwrap().contains("P-04"), "the tag still names the earlier version");
}
