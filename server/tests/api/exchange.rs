//! Import and export: every layout's round trip through the API, foreign layouts brought
//! in by the CLI, ReqIF read by an independent reader, hostile archives refused, access.

use std::io::Write;
use std::path::PathBuf;

use charter_backend::exchange::archive::{write_tar_gz, File};
use charter_backend::structure::parse::parse;
use charter_types::{
    ChangeRequestSummary, Document, ImportAction, ImportPlan, Imported, Kind, Layout, Project, RequirementView, Role,
    TreeEntry,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, read, TestApp};

const CHECKOUT: &str = "# Feature Specification: Checkout\n\n## User Scenarios\n\n\
### User Story 1 - Pay for the cart (Priority: P1)\n\n\
- **PAY-001**: System MUST charge the card once.\n  - **Given** a cart, **When** I pay, **Then** I am charged once.\n  - Retry: **When** the network fails, **Then** nothing is charged twice.\n\
- **PAY-002**: System MUST email a receipt [NEEDS CLARIFICATION: which address?], see [[PAY-001]].\n\n\
## Notes\n\nWe follow [[Constitution]].\n";

const LOGIN: &str = "# Login\n\n## Requirements\n\n### AUTH-001: Lockout (P2)\n\nThe system SHALL lock an account after 5 failures, see [[PAY-002]].\n\n- Given 5 failures, When I log in, Then I see \"locked\".\n\n### AUTH-002: Audit\n\nAs a security officer, I want every login logged.\n";

/// Ada's shop: two specs (list and heading forms), a plan and tasks under the first.
struct Shop {
    app: TestApp,
    ada: Client,
    project: Project,
}

async fn shop(db: PgPool) -> Shop {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let project = app.project(&ada, "Shop").await;
    let checkout = create(&app, &ada, &project, "Checkout", Kind::Spec, None, CHECKOUT).await;
    create(&app, &ada, &project, "Plan", Kind::Plan, Some(&checkout), "# Plan\n\nStripe.\n").await;
    create(&app, &ada, &project, "Tasks", Kind::Tasks, Some(&checkout), "# Tasks\n\n- [ ] T1 Build PAY-001\n").await;
    create(&app, &ada, &project, "Login", Kind::Spec, None, LOGIN).await;
    Shop { app, ada, project }
}

async fn create(
    app: &TestApp,
    client: &Client,
    project: &Project,
    title: &str,
    kind: Kind,
    parent: Option<&Document>,
    content: &str,
) -> Document {
    let body = json!({ "title": title, "kind": kind, "parent_id": parent.map(|p| p.id), "content": content });
    expect(client, Method::POST, &app.tree_url(project), Some(body)).await
}

async fn export(app: &TestApp, client: &Client, project: &Project, format: &str, branch: &str) -> Vec<u8> {
    let url = app.url(&format!("/api/v1/projects/{}/export?format={format}&branch={branch}", project.id));
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let kind = if format == "reqif" { "application/zip" } else { "application/gzip" };
    assert_eq!(response.headers()["content-type"], kind);
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.starts_with("attachment; filename=\"shop-"), "{disposition}");
    response.bytes().await.unwrap().to_vec()
}

async fn import(app: &TestApp, client: &Client, project: &Project, query: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
    let url = app.url(&format!("/api/v1/projects/{}/import?{query}", project.id));
    read(client.post(url).header("content-type", "application/gzip").body(bytes).send().await.unwrap()).await
}

/// What a round trip must keep of each document: its place, kind, requirements (key,
/// text, scenarios, priority), open questions and links.
#[derive(Debug, PartialEq)]
struct Kept {
    title: String,
    kind: Kind,
    parent: Option<String>,
    requirements: Vec<(String, String, Vec<String>, Option<String>)>,
    questions: Vec<String>,
    links: Vec<String>,
}

async fn kept(app: &TestApp, client: &Client, project: &Project, branch: &str) -> Vec<Kept> {
    let tree: Vec<TreeEntry> =
        expect(client, Method::GET, &format!("{}?branch={branch}", app.tree_url(project)), None).await;
    let mut out = Vec::new();
    for entry in &tree {
        let url = app.url(&format!("/api/v1/documents/{}?branch={branch}", entry.id));
        let document: Document = expect(client, Method::GET, &url, None).await;
        let structure = parse(&document.content);
        out.push(Kept {
            title: entry.title.clone(),
            kind: entry.kind,
            parent: entry.parent_id.and_then(|parent| tree.iter().find(|e| e.id == parent)).map(|e| e.title.clone()),
            requirements: structure
                .requirements
                .into_iter()
                .map(|r| (r.key, r.text, r.acceptance, r.priority))
                .collect(),
            questions: structure.clarifications.into_iter().map(|m| m.question).collect(),
            links: structure.links.into_iter().map(|l| l.target).collect(),
        });
    }
    out
}

async fn branches(app: &TestApp, client: &Client, project: &Project) -> Vec<String> {
    let url = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let list: Vec<Value> = expect(client, Method::GET, &url, None).await;
    list.iter().map(|branch| branch["name"].as_str().unwrap().to_owned()).collect()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_layout_round_trips_through_export_and_import_as_a_change_request(db: PgPool) {
    let Shop { app, ada, project } = shop(db).await;
    let original = kept(&app, &ada, &project, "main").await;
    let specs = original.iter().filter(|doc| doc.kind == Kind::Spec);
    assert_eq!(specs.map(|doc| doc.requirements.len()).sum::<usize>(), 4);
    for layout in Layout::ALL.iter().copied() {
        let archive = export(&app, &ada, &project, layout.as_str(), "main").await;
        let copy = app.project(&ada, &format!("Copy {}", layout.as_str())).await;
        let before = branches(&app, &ada, &copy).await;

        let (status, body) =
            import(&app, &ada, &copy, &format!("format={}&preview=true", layout.as_str()), archive.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let plan: ImportPlan = serde_json::from_value(body).unwrap();
        let actions: Vec<(&str, ImportAction)> = plan.documents.iter().map(|d| (d.title.as_str(), d.action)).collect();
        assert_eq!(
            actions,
            [
                ("Constitution", ImportAction::Unchanged),
                ("Checkout", ImportAction::Create),
                ("Plan", ImportAction::Create),
                ("Tasks", ImportAction::Create),
                ("Login", ImportAction::Create)
            ],
            "{layout:?}"
        );
        assert_eq!(branches(&app, &ada, &copy).await, before, "a preview makes nothing");

        let (status, body) = import(&app, &ada, &copy, &format!("format={}", layout.as_str()), archive).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let made: Imported = serde_json::from_value(body).unwrap();
        let made = made.documents.expect("a change request for the documents");
        assert_eq!(made.branch, format!("import/{}", layout.as_str()));
        assert_eq!(kept(&app, &ada, &copy, &made.branch).await, original, "{layout:?}");
        // Proposed, never written to main.
        let url = app.url(&format!("/api/v1/projects/{}/change-requests/{}", copy.id, made.number));
        let proposal: ChangeRequestSummary = expect(&ada, Method::GET, &url, None).await;
        assert_eq!((proposal.source.as_str(), proposal.target.as_str()), (made.branch.as_str(), "main"));
        assert_eq!(proposal.title, format!("Import from {}", layout.label()));
        assert_eq!(kept(&app, &ada, &copy, "main").await.len(), 1, "main holds its constitution only");
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn the_reqif_export_reads_back_in_an_independent_reader_one_object_per_requirement(db: PgPool) {
    let Shop { app, ada, project } = shop(db).await;
    // A contract is no requirements document: ReqIF leaves it out.
    let contract = "openapi: 3.1.0\ninfo: {title: Orders, version: 1.0.0}\npaths: {}\n";
    create(&app, &ada, &project, "Orders API", Kind::Contract, None, contract).await;
    let archive = export(&app, &ada, &project, "reqif", "main").await;
    let file = std::env::temp_dir().join(format!("shop-{}.reqifz", uuid::Uuid::now_v7()));
    std::fs::write(&file, archive).unwrap();
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/python/.venv/bin/python");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end/python/reqif_summary.py");
    assert!(python.exists(), "the ReqIF reader is missing: run scripts/bootstrap --browser-tests");
    let out = std::process::Command::new(python).arg(script).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();

    let url = app.url(&format!("/api/v1/projects/{}/requirements", project.id));
    let requirements: Vec<RequirementView> = expect(&ada, Method::GET, &url, None).await;
    let objects = summary["objects"].as_array().unwrap();
    let exported: Vec<&Value> = objects.iter().filter(|object| object["type"] == "Requirement").collect();
    assert_eq!(exported.len(), requirements.len());
    for requirement in &requirements {
        let identifier = format!("charter-{}", requirement.id);
        let object = exported.iter().find(|o| o["identifier"] == identifier.as_str()).expect("its identity");
        assert_eq!(object["values"]["charter-key"], requirement.key.as_str());
        assert!(object["values"]["charter-text"].as_str().unwrap().contains(&requirement.text), "{object}");
        for scenario in &requirement.acceptance {
            let scenarios = object["values"]["charter-scenarios"].as_str().unwrap();
            assert!(scenarios.contains(scenario.as_str()), "{scenarios}");
        }
        assert_eq!(object["values"]["charter-priority"].as_str(), requirement.priority.as_deref());
    }
    let id = |key: &str| format!("charter-{}", requirements.iter().find(|r| r.key == key).unwrap().id);
    let relations = summary["relations"].as_array().unwrap();
    assert_eq!(relations.len(), 2, "{relations:?}");
    assert!(relations.contains(&json!({ "source": id("PAY-002"), "target": id("PAY-001") })));
    assert!(relations.contains(&json!({ "source": id("AUTH-001"), "target": id("PAY-002") })));
    // A hierarchy node per document but the contract, each requirement under its document's.
    let specification = &summary["specifications"][0];
    assert_eq!(specification["name"], "Shop");
    let sections = specification["children"].as_array().unwrap();
    assert_eq!(sections.len(), 5);
    assert!(!serde_json::to_string(&summary).unwrap().contains("Orders API"), "{summary}");
    let checkout: Vec<&Value> = sections[1]["children"].as_array().unwrap().iter().map(|c| &c["object"]).collect();
    assert_eq!(checkout, [&json!(id("PAY-001")), &json!(id("PAY-002"))]);
}

fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let files: Vec<File> = files.iter().map(|(path, text)| File::new(*path, *text)).collect();
    write_tar_gz(&files, 0).unwrap()
}

const OPENSPEC_AUTH: &str = "# Auth\n\n## Purpose\n\nSign-in.\n\n## Requirements\n\n\
### Requirement: User Authentication\nThe system SHALL issue a JWT on successful login.\n\n\
#### Scenario: Valid credentials\n- **WHEN** a user submits valid credentials\n- **THEN** a JWT is returned\n";

struct Run {
    code: Option<i32>,
    out: String,
    err: String,
}

async fn charter(args: &[&str]) -> Run {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_charter"));
    command.args(args).env_remove("CHARTER_TOKEN").env_remove("CHARTER_SERVER");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    Run {
        code: out.status.code(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn spec_kit_openspec_and_kiro_folders_import_from_the_cli_with_their_requirements(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let ada = app.signup("ada").await;
    let token = app.token(&ada, &["read", "write"]).await;
    let server = app.url("");
    let dir = std::env::temp_dir().join(format!("imports-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures: [(Layout, Vec<u8>, &[&str]); 3] = [
        (
            Layout::SpecKit,
            tar_gz(&[
                (".specify/memory/constitution.md", "# Shop Constitution\n\n- **P-001** Specs first.\n\n**Version**: 2.1.1 | **Ratified**: 2025-06-13 | **Last Amended**: 2025-07-16\n"),
                ("specs/001-user-login/spec.md", "# Feature Specification: User Login\n\n### User Story 1 - Sign in (Priority: P1)\n\n- **FR-001**: System MUST let users sign in.\n  - **Given** an account, **When** I sign in, **Then** I see my cart.\n\n## Clarifications\n\n### Session 2026-01-02\n\n- Q: Which providers? → A: Email only.\n"),
                ("specs/001-user-login/plan.md", "# Implementation Plan: User Login\n"),
                ("specs/001-user-login/tasks.md", "# Tasks\n\n- [ ] T001 FR-001 sign-in form\n"),
                (".specify/templates/spec-template.md", "# template\n"),
            ]),
            &["FR-001"],
        ),
        (Layout::OpenSpec, tar_gz(&[("openspec/specs/auth/spec.md", OPENSPEC_AUTH)]), &["AUTH-001"]),
        (
            Layout::Kiro,
            tar_gz(&[
                (".kiro/steering/product.md", "# Product\n\nA shop.\n"),
                (".kiro/specs/gift-cards/requirements.md", "# Requirements Document\n\n## Requirements\n\n### Requirement 1\n\n**User Story:** As a shopper, I want gift cards.\n\n#### Acceptance Criteria\n\n1. WHEN a card is redeemed THEN THE Shop SHALL lower the total\n"),
                (".kiro/specs/gift-cards/tasks.md", "# Implementation Plan\n\n- [ ] 1. Redeem cards\n  - _Requirements: 1.1_\n"),
            ]),
            &["GIFTCARD-001"],
        ),
    ];
    for (layout, archive, keys) in fixtures {
        let project = app.project(&ada, &format!("From {}", layout.label())).await;
        let file = dir.join(format!("{}.tar.gz", layout.as_str()));
        std::fs::write(&file, archive).unwrap();
        let (id, file) = (project.id.to_string(), file.to_string_lossy().into_owned());
        let common = ["--project", &id, "--server", &server, "--token", &token, "--format", layout.as_str()];
        let run = charter(&[&["import"], &common[..], &["--preview", &file]].concat()).await;
        assert_eq!(run.code, Some(0), "{}{}", run.out, run.err);
        assert!(run.out.contains("nothing was imported"), "{}", run.out);
        let run = charter(&[&["import"], &common[..], &[&file]].concat()).await;
        assert_eq!(run.code, Some(0), "{}{}", run.out, run.err);
        assert!(run.out.contains("opened change request #1 from branch import/"), "{}", run.out);
        let branch = format!("import/{}", layout.as_str());
        let url = app.url(&format!("/api/v1/projects/{id}/requirements?branch={branch}"));
        let requirements: Vec<RequirementView> = expect(&ada, Method::GET, &url, None).await;
        let found: Vec<&str> = requirements
            .iter()
            .filter(|r| r.document != "Constitution" && r.document != "Shop Constitution")
            .map(|r| r.key.as_str())
            .collect();
        assert_eq!(found, keys, "{layout:?}");
        assert!(requirements.iter().all(|r| !r.acceptance.is_empty() || r.key == "P-001"), "{requirements:?}");
    }
    // The Spec Kit constitution replaced the project's own, on the branch.
    let projects: Vec<Project> = expect(&ada, Method::GET, &app.url("/api/v1/projects"), None).await;
    let speckit = projects.iter().find(|p| p.name == "From Spec Kit").unwrap();
    let tree: Vec<TreeEntry> =
        expect(&ada, Method::GET, &format!("{}?branch=import/speckit", app.tree_url(speckit)), None).await;
    let titles: Vec<(&str, Kind)> = tree.iter().map(|e| (e.title.as_str(), e.kind)).collect();
    assert_eq!(
        titles,
        [
            ("Constitution", Kind::Constitution),
            ("User Login", Kind::Spec),
            ("Implementation Plan: User Login", Kind::Plan),
            ("Tasks", Kind::Tasks)
        ]
    );

    // Keys given on import stay in the text: an OpenSpec export of the branch carries them.
    let openspec = projects.iter().find(|p| p.name == "From OpenSpec").unwrap();
    let out = dir.join("back.tar.gz");
    let (id, out_path) = (openspec.id.to_string(), out.to_string_lossy().into_owned());
    let run = charter(&[
        "export",
        "--project",
        &id,
        "--server",
        &server,
        "--token",
        &token,
        "--format",
        "openspec",
        "--branch",
        "import/openspec",
        "--output",
        &out_path,
    ])
    .await;
    assert_eq!(run.code, Some(0), "{}{}", run.out, run.err);
    let (files, _) =
        charter_backend::exchange::archive::read_tar_gz(&std::fs::read(&out).unwrap(), |path| path.ends_with(".md"))
            .unwrap();
    let spec = files.iter().find(|f| f.path == "openspec/specs/auth/spec.md").expect("the capability's spec");
    assert!(spec.text.contains("### Requirement: User Authentication\n<!-- id: AUTH-001 -->"), "{}", spec.text);
}

/// A `.tar.gz` of one entry written by hand, so that it can say what `tar::Builder` refuses.
fn hostile(name: &[u8], kind: tar::EntryType, link: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    if let Some(link) = link {
        header.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(header.as_bytes()).unwrap();
    gz.write_all(data).unwrap();
    gz.write_all(&vec![0; (512 - data.len() % 512) % 512 + 1024]).unwrap();
    gz.finish().unwrap()
}

/// Many large files of zeros: a few hundred KiB packed, more than the limit unpacked.
fn bomb() -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let zeros = vec![b' '; 2 * 1024 * 1024 - 1];
    for n in 0..40 {
        let mut header = tar::Header::new_gnu();
        header.set_size(zeros.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, format!("specs/{n:03}-x/spec.md"), zeros.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn unsafe_archives_are_refused_with_a_reason_and_create_nothing(db: PgPool) {
    let Shop { app, ada, project } = shop(db).await;
    let before = branches(&app, &ada, &project).await;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "climbing out",
            hostile(b"../../etc/evil.md", tar::EntryType::Regular, None, b"# x\n"),
            "leads out of the archive",
        ),
        ("absolute", hostile(b"/etc/evil.md", tar::EntryType::Regular, None, b"# x\n"), "is not a relative path"),
        (
            "a symbolic link",
            hostile(b"specs/001-a/spec.md", tar::EntryType::Symlink, Some("/etc/passwd"), b""),
            "is a link",
        ),
        ("a hard link", hostile(b"specs/001-a/spec.md", tar::EntryType::Link, Some("x.md"), b""), "is a link"),
        (
            "a name not UTF-8",
            hostile(b"specs/001-caf\xe9/spec.md", tar::EntryType::Regular, None, b"# x\n"),
            "not UTF-8",
        ),
        (
            "text not UTF-8",
            hostile(b"specs/001-a/spec.md", tar::EntryType::Regular, None, b"# caf\xe9\n"),
            "is not UTF-8 text",
        ),
        ("a zip bomb", bomb(), "unpacks to more than 64 MiB"),
        ("not an archive", b"PK\x03\x04 a zip".to_vec(), "not a .tar.gz archive"),
        ("nothing in the layout", tar_gz(&[("README.md", "# hi\n")]), "holds no documents in the Spec Kit layout"),
    ];
    for (what, archive, says) in cases {
        let (status, body) = import(&app, &ada, &project, "format=speckit", archive).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        assert_eq!(error_code(&body), "invalid");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{what}: {message}");
    }
    assert_eq!(branches(&app, &ada, &project).await, before, "nothing was made");
    let url = app.url(&format!("/api/v1/projects/{}/change-requests", project.id));
    let open: Vec<ChangeRequestSummary> = expect(&ada, Method::GET, &url, None).await;
    assert!(open.is_empty());
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn readers_export_writers_import_and_strangers_see_nothing(db: PgPool) {
    let Shop { app, ada, project } = shop(db).await;
    let archive = export(&app, &ada, &project, "charter", "main").await;
    let vic = app.signup("vic").await;
    app.add_member(&ada, &project, "vic", Role::Viewer).await;
    export(&app, &vic, &project, "kiro", "main").await;
    let (status, _) = import(&app, &vic, &project, "format=charter", archive.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let eve = app.signup("eve").await;
    let url = app.url(&format!("/api/v1/projects/{}/export?format=charter", project.id));
    let (status, _) = call(&eve, Method::GET, &url, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = import(&app, &eve, &project, "format=charter", archive.clone()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A read token exports, and cannot import.
    let token = app.token(&ada, &["read"]).await;
    let bare = app.bare();
    let response = bare.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let url = app.url(&format!("/api/v1/projects/{}/import?format=charter", project.id));
    let response = bare.post(&url).bearer_auth(&token).body(archive.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // ReqIF is export only; an unknown format is a mistake; the same archive again changes nothing.
    let (status, body) = import(&app, &ada, &project, "format=reqif", archive.clone()).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid"));
    let (status, _) = import(&app, &ada, &project, "format=word", archive.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = import(&app, &ada, &project, "format=charter", archive).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("changes nothing"), "{body}");
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn an_open_change_request_exports_as_an_openspec_change_folder_and_imports_as_a_change_request(db: PgPool) {
    let Shop { app, ada, project } = shop(db).await;
    let url = app.url(&format!("/api/v1/projects/{}/branches", project.id));
    let _: Value = expect(&ada, Method::POST, &url, Some(json!({ "name": "tweak" }))).await;
    let tree: Vec<TreeEntry> = expect(&ada, Method::GET, &app.tree_url(&project), None).await;
    let id = |title: &str| tree.iter().find(|entry| entry.title == title).unwrap().id;
    let edit = |document, text: String| {
        let url = app.url(&format!("/api/v1/documents/{document}/content?branch=tweak"));
        let ada = ada.clone();
        async move {
            let _: Document = expect(&ada, Method::PUT, &url, Some(json!({ "content": text }))).await;
        }
    };
    let checkout = CHECKOUT.replace("charge the card once.", "charge the card once, and refund it in full.").replace(
        "## Notes",
        "- **PAY-003**: System MUST refund within 5 days.\n  - **Given** a refund, **When** it is asked for, **Then** it is paid.\n\n## Notes",
    );
    edit(id("Checkout"), checkout).await;
    edit(id("Login"), LOGIN.replace("### AUTH-002: Audit\n\nAs a security officer, I want every login logged.\n", ""))
        .await;
    let url = app.url(&format!("/api/v1/projects/{}/change-requests", project.id));
    let body =
        json!({ "source": "tweak", "target": "main", "title": "Refunds in full", "description": "Because refunds." });
    let _: Value = expect(&ada, Method::POST, &url, Some(body)).await;

    let archive = export(&app, &ada, &project, "openspec", "main").await;
    let (files, _) = charter_backend::exchange::archive::read_tar_gz(&archive, |path| path.ends_with(".md")).unwrap();
    let file =
        |path: &str| files.iter().find(|file| file.path == path).unwrap_or_else(|| panic!("{path}")).text.clone();
    let proposal = file("openspec/changes/1-refunds-in-full/proposal.md");
    assert!(proposal.starts_with("# Change: Refunds in full\n\n## Why\n\nBecause refunds.\n"), "{proposal}");
    let checkout = file("openspec/changes/1-refunds-in-full/specs/checkout/spec.md");
    assert!(checkout.contains("## ADDED Requirements\n\n### Requirement: System MUST refund within 5 days.\n<!-- id: PAY-003, priority: P1 -->"), "{checkout}");
    assert!(
        checkout.contains(
            "## MODIFIED Requirements\n\n### Requirement: System MUST charge the card once, and refund it in full."
        ),
        "{checkout}"
    );
    let login = file("openspec/changes/1-refunds-in-full/specs/login/spec.md");
    assert!(login.starts_with("## REMOVED Requirements\n\n### Requirement: Audit\n<!-- id: AUTH-002 -->"), "{login}");

    // A requirement added on main since the fork is not the change request's to remove.
    let url = app.url(&format!("/api/v1/documents/{}/content", id("Checkout")));
    let later = CHECKOUT.replace("## Notes", "- **PAY-009**: System MUST keep receipts.\n\n## Notes");
    let _: Document = expect(&ada, Method::PUT, &url, Some(json!({ "content": later }))).await;
    let again = export(&app, &ada, &project, "openspec", "main").await;
    let (files, _) = charter_backend::exchange::archive::read_tar_gz(&again, |path| path.ends_with(".md")).unwrap();
    let delta = files.iter().find(|f| f.path == "openspec/changes/1-refunds-in-full/specs/checkout/spec.md").unwrap();
    assert!(!delta.text.contains("PAY-009") && !delta.text.contains("REMOVED"), "{}", delta.text);

    let copy = app.project(&ada, "Copy").await;
    let (status, body) = import(&app, &ada, &copy, "format=openspec&preview=true", archive.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let plan: ImportPlan = serde_json::from_value(body).unwrap();
    assert_eq!(plan.changes.len(), 1);
    assert_eq!(
        (plan.changes[0].title.as_str(), plan.changes[0].specs.clone()),
        ("Refunds in full", vec!["checkout".to_owned(), "login".to_owned()])
    );
    let (status, body) = import(&app, &ada, &copy, "format=openspec", archive).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let made: Imported = serde_json::from_value(body).unwrap();
    let documents = made.documents.expect("the specs' change request");
    let [change] = made.changes.as_slice() else { panic!("one change: {:?}", made.changes) };
    assert_eq!((documents.number, change.number, change.title.as_str()), (1, 2, "Refunds in full"));
    // The change, built on the import, holds what the change request's branch holds.
    assert_eq!(kept(&app, &ada, &copy, &change.branch).await, kept(&app, &ada, &project, "tweak").await);
    let url = app.url(&format!("/api/v1/projects/{}/change-requests/2", copy.id));
    let proposal: ChangeRequestSummary = expect(&ada, Method::GET, &url, None).await;
    assert_eq!((proposal.source.as_str(), proposal.target.as_str()), (change.branch.as_str(), "main"));
}
