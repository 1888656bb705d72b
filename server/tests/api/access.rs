//! Every operation of the OpenAPI document against every kind of caller, with what to
//! expect taken from the document itself (`x-charter-access`), so that a new route cannot
//! be left out: each is called by an anonymous client, a signed-in stranger and each
//! project role, on its own project's ids, on another project's, and with the first id
//! its own and the others another project's. No answer may carry the other project's data.

use std::collections::BTreeMap;
use std::fmt;

use charter_types::{Kind, Project, RequirementView, Role, WebhookCreated, WebhookDelivery, WebhookEvent};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::harness::{bearer, expect, TestApp};

/// Who may call an operation, as the document states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    Public,
    SignedIn,
    Project(Role),
    /// An editor's token with the `incidents:write` scope (a session is refused).
    Ingest,
}

impl Access {
    fn parse(text: &str) -> Option<Access> {
        Some(match text {
            "public" => Access::Public,
            "signed-in" => Access::SignedIn,
            "viewer" => Access::Project(Role::Viewer),
            "editor" => Access::Project(Role::Editor),
            "reviewer" => Access::Project(Role::Reviewer),
            "owner" => Access::Project(Role::Owner),
            "ingest" => Access::Ingest,
            _ => return None,
        })
    }
}

/// The callers, least trusted first, so that an allowed caller's change (a deletion, say)
/// comes after every refusal has been seen on the fresh state.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Anonymous,
    Stranger,
    Member(Role),
}

const CALLERS: [Caller; 6] = [
    Caller::Anonymous,
    Caller::Stranger,
    Caller::Member(Role::Viewer),
    Caller::Member(Role::Editor),
    Caller::Member(Role::Reviewer),
    Caller::Member(Role::Owner),
];

/// Roles by what they may do: each may do what the ones before it may.
fn rank(role: Role) -> u8 {
    match role {
        Role::Viewer => 0,
        Role::Editor => 1,
        Role::Reviewer => 2,
        Role::Owner => 3,
    }
}

impl Caller {
    fn passes(self, access: Access) -> bool {
        match (access, self) {
            (Access::Public, _) => true,
            (_, Caller::Anonymous) => false,
            (Access::SignedIn, _) => true,
            (Access::Project(_) | Access::Ingest, Caller::Stranger) => false,
            (Access::Project(needed), Caller::Member(role)) => rank(role) >= rank(needed),
            (Access::Ingest, Caller::Member(role)) => rank(role) >= rank(Role::Editor),
        }
    }

    /// The refusal a caller the gate stops gets: who is not signed in is told so, who is
    /// no member learns nothing of the project, a member whose role is short is forbidden.
    fn refusal(self) -> StatusCode {
        match self {
            Caller::Anonymous => StatusCode::UNAUTHORIZED,
            Caller::Stranger => StatusCode::NOT_FOUND,
            Caller::Member(_) => StatusCode::FORBIDDEN,
        }
    }
}

/// Which ids fill the path.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Ids {
    Own,
    Others,
    /// The first id the project's own, the rest another project's.
    Mixed,
}

/// One project and one of everything in it that a path can name.
struct World {
    project: Project,
    values: BTreeMap<&'static str, String>,
}

/// A spec of `project`'s, naming it (so that its text shown elsewhere gives it away).
fn checkout(project: &str) -> String {
    format!(
        "# Checkout at {project}\n\n- **PAY-001**: System MUST charge {project} once [NEEDS CLARIFICATION: which card?].\n  \
         - **Given** a cart, **When** I pay, **Then** I am charged once.\n"
    )
}

/// A contract of `project`'s, naming it.
fn orders(project: &str) -> String {
    format!(
        "openapi: 3.1.0\ninfo: {{title: {project} orders, version: 1.0.0}}\npaths:\n  /orders:\n    get:\n      \
         operationId: listOrders\n      responses:\n        '200': {{description: ok}}\n"
    )
}

/// The number of each world's open change request (the first is merged).
const OPEN_CHANGE_REQUEST: &str = "2";

/// `author` opens the change requests (an editor may close and reopen their own).
async fn world(app: &TestApp, owner: &Client, author: &Client, name: &str, members: &[(&str, Role)]) -> World {
    let project = app.project(owner, name).await;
    for (username, role) in members {
        app.add_member(owner, &project, username, *role).await;
    }
    let url = |path: &str| app.url(&format!("/api/v1/projects/{}{path}", project.id));
    let api = |path: &str| app.url(&format!("/api/v1{path}"));
    let _: Value = expect(owner, Method::PATCH, &url("/settings"), Some(json!({ "required_approvals": 0 }))).await;
    let spec = document(app, owner, &project, &format!("Checkout at {name}"), Kind::Spec, &checkout(name)).await;
    let contract = document(app, owner, &project, &format!("{name} API"), Kind::Contract, &orders(name)).await;
    let binned = document(app, owner, &project, &format!("{name} binned"), Kind::Spec, "# Binned\n").await;
    let _: Value = expect(owner, Method::DELETE, &api(&format!("/documents/{binned}")), None).await;

    // A merged change request (a version), an open one with a comment, a spare branch.
    let mut numbers = Vec::new();
    for branch in ["release", "draft", "spare"] {
        let _: Value = expect(owner, Method::POST, &url("/branches"), Some(json!({ "name": branch }))).await;
    }
    for branch in ["release", "draft"] {
        let content = api(&format!("/documents/{spec}/content?branch={branch}"));
        let text = format!("{}\n{branch}\n", checkout(name));
        let _: Value = expect(owner, Method::PUT, &content, Some(json!({ "content": text }))).await;
        let opened = json!({ "source": branch, "target": "main", "title": branch });
        let made: Value = expect(author, Method::POST, &url("/change-requests"), Some(opened)).await;
        numbers.push(made["number"].as_i64().unwrap());
    }
    assert_eq!(numbers[1].to_string(), OPEN_CHANGE_REQUEST);
    let merged: Value =
        expect(owner, Method::POST, &url(&format!("/change-requests/{}/merge", numbers[0])), Some(json!({}))).await;
    let version = merged["version"]["id"].as_str().unwrap().to_owned();
    let comment: Value = expect(
        owner,
        Method::POST,
        &url(&format!("/change-requests/{}/comments", numbers[1])),
        Some(json!({ "body": format!("{name}?") })),
    )
    .await;

    let token: Value = expect(
        owner,
        Method::POST,
        &api("/tokens"),
        Some(json!({ "name": name, "scopes": ["read", "incidents:write"] })),
    )
    .await;
    let secret = token["token"].as_str().unwrap();
    let incident = json!({ "source": "statuspage", "external_id": "1", "title": format!("{name}: card charged twice"),
                           "severity": "high", "service": "payments", "status": "firing",
                           "started_at": "2026-12-01T10:00:00Z" });
    let reported = app.bare().post(url("/incidents")).bearer_auth(secret).json(&incident).send().await.unwrap();
    assert_eq!(reported.status(), StatusCode::ACCEPTED);
    let incident: Value = reported.json().await.unwrap();
    let requirements: Vec<RequirementView> = expect(owner, Method::GET, &url("/requirements"), None).await;
    let link = json!({ "requirement_id": requirements[0].id });
    let incident_id = incident["id"].as_str().unwrap();
    let _: Value = expect(owner, Method::POST, &api(&format!("/incidents/{incident_id}/links")), Some(link)).await;
    let report = json!({ "commit": "c1", "requirements": [], "unknown": [], "files_scanned": 0 });
    let _: Value = expect(owner, Method::POST, &url("/traceability"), Some(report)).await;
    let clarifications: Vec<Value> = expect(owner, Method::GET, &url("/clarifications"), None).await;
    let hook = json!({ "url": "http://127.0.0.1:9/hook", "events": [WebhookEvent::ChangeRequestMerged] });
    let webhook: WebhookCreated = expect(owner, Method::POST, &url("/webhooks"), Some(hook)).await;
    let ping = url(&format!("/webhooks/{}/ping", webhook.webhook.id));
    let delivery: WebhookDelivery = expect(owner, Method::POST, &ping, None).await;
    let check = json!({ "commit": "c1", "implementation": orders(name) });
    let _: Value = expect(owner, Method::POST, &api(&format!("/documents/{contract}/conformance")), Some(check)).await;
    let job = Uuid::now_v7();
    sqlx::query("INSERT INTO jobs (id, project_id, kind, state, model) VALUES ($1, $2, 'reindex', 'done', 'm')")
        .bind(job)
        .bind(project.id)
        .execute(&app.db)
        .await
        .unwrap();

    let values = BTreeMap::from([
        ("project", project.id.to_string()),
        ("spec", spec),
        ("contract", contract),
        ("binned", binned),
        ("version", version),
        ("comment", comment["id"].as_str().unwrap().to_owned()),
        ("token", token["id"].as_str().unwrap().to_owned()),
        ("incident", incident["id"].as_str().unwrap().to_owned()),
        ("requirement", requirements[0].id.to_string()),
        ("clarification", clarifications[0]["id"].as_str().unwrap().to_owned()),
        ("webhook", webhook.webhook.id.to_string()),
        ("delivery", delivery.id.to_string()),
        ("job", job.to_string()),
    ]);
    World { project, values }
}

async fn document(app: &TestApp, owner: &Client, project: &Project, title: &str, kind: Kind, text: &str) -> String {
    let body = json!({ "title": title, "kind": kind, "content": text });
    let made: Value = expect(owner, Method::POST, &app.tree_url(project), Some(body)).await;
    made["id"].as_str().unwrap().to_owned()
}

/// What fills a path's parameter.
enum Fixture {
    /// The id of a world's thing (see [`World::values`]).
    Id(&'static str),
    /// A name, the same in every project: a branch, a change request's number, a member,
    /// a tool.
    Name(&'static str),
}

/// What a path's parameter names, from the segment before it (and, for documents, what
/// the operation does with one).
fn fixture(path: &str, before: &str, name: &str) -> Fixture {
    match (before, name) {
        ("projects", "id") => Fixture::Id("project"),
        ("documents", "id") if path.ends_with("/conformance") || path.ends_with("/operations") => {
            Fixture::Id("contract")
        }
        ("documents", "id") if path.ends_with("/restore") => Fixture::Id("binned"),
        ("documents", "id") => Fixture::Id("spec"),
        ("at" | "versions", "version") => Fixture::Id("version"),
        ("comments", "comment_id") => Fixture::Id("comment"),
        ("tokens", "id") => Fixture::Id("token"),
        ("incidents", "id") => Fixture::Id("incident"),
        ("requirements", "id") | ("links", "requirement_id") => Fixture::Id("requirement"),
        ("clarifications", "id") => Fixture::Id("clarification"),
        ("webhooks", "webhook_id") => Fixture::Id("webhook"),
        ("deliveries", "delivery_id") => Fixture::Id("delivery"),
        ("jobs", "id") => Fixture::Id("job"),
        ("branches", "name") => Fixture::Name("spare"),
        ("change-requests", "number") => Fixture::Name(OPEN_CHANGE_REQUEST),
        ("members", "username") => Fixture::Name("target"),
        ("hooks", "tool") => Fixture::Name("alertmanager"),
        ("integrations", "tool") => Fixture::Name("sentry"),
        _ => panic!("{path}: no fixture for `{{{name}}}` after `{before}`; add one"),
    }
}

/// The path with its parameters filled, and how many ids it holds.
fn fill(path: &str, own: &World, other: &World, ids: Ids) -> (String, usize) {
    let segments: Vec<&str> = path.split('/').collect();
    let mut filled = Vec::new();
    let mut named = 0;
    for (i, segment) in segments.iter().enumerate() {
        let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
            filled.push(segment.to_string());
            continue;
        };
        filled.push(match fixture(path, segments[i - 1], name) {
            Fixture::Name(value) => value.to_owned(),
            Fixture::Id(what) => {
                let world = match (ids, named) {
                    (Ids::Own, _) | (Ids::Mixed, 0) => own,
                    _ => other,
                };
                named += 1;
                world.values[what].clone()
            }
        });
    }
    (filled.join("/"), named)
}

struct Operation {
    method: Method,
    path: String,
    access: Access,
    body: Option<Body>,
}

/// What an operation's body is sent as: JSON with every required field (so that the
/// request reaches the gate even where the body is read first), or an archive (empty).
enum Body {
    Json(Value),
    Archive,
}

/// A value the schema accepts, as small as it can be: required fields only, the first of
/// each choice, ids that name nothing.
fn example(doc: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 16, "schema nested too deep: {schema}");
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return example(doc, &doc["components"]["schemas"][name], depth + 1);
    }
    for choice in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema[choice].as_array().and_then(|c| c.iter().find(|c| c["type"] != "null")) {
            return example(doc, first, depth + 1);
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds.iter().find(|kind| *kind != "null").cloned().unwrap_or(Value::Null),
        kind => kind.clone(),
    };
    match kind.as_str() {
        Some("string") => match schema["format"].as_str() {
            Some("uuid") => json!(Uuid::now_v7()),
            Some("date-time") => json!("2026-12-01T10:00:00Z"),
            _ => json!("x"),
        },
        Some("integer" | "number") => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        _ => {
            let mut object = serde_json::Map::new();
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().unwrap();
                object.insert(name.to_owned(), example(doc, &schema["properties"][name], depth + 1));
            }
            Value::Object(object)
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Every operation of the document; one that does not say who may call it fails the test.
fn operations() -> Vec<Operation> {
    let doc = serde_json::to_value(charter_backend::api::openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let stated = operation[charter_backend::api::ACCESS].as_str();
            let access = stated
                .and_then(Access::parse)
                .unwrap_or_else(|| panic!("{method} {path} states no `x-charter-access` the test knows: {stated:?}"));
            let body =
                operation["requestBody"]["content"].as_object().map(|types| match types.get("application/json") {
                    Some(json) => Body::Json(example(&doc, &json["schema"], 0)),
                    None => Body::Archive,
                });
            operations.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                access,
                body,
            });
        }
    }
    operations
}

#[sqlx::test(migrator = "charter_backend::MIGRATOR")]
async fn every_documented_operation_answers_each_caller_as_it_states(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let owner = app.signup("owner").await;
    let mut clients = vec![app.browser(), app.signup("stranger").await];
    for role in [Role::Viewer, Role::Editor, Role::Reviewer] {
        clients.push(app.signup(role.as_str()).await);
    }
    clients.push(owner.clone());
    app.signup("target").await;
    let members =
        [("viewer", Role::Viewer), ("editor", Role::Editor), ("reviewer", Role::Reviewer), ("target", Role::Viewer)];
    // The same callers as scripts, each with a token that may report incidents.
    let mut scripts = vec![app.bare()];
    for client in &clients[1..] {
        let token = app.token(client, &["read", "write", "incidents:write"]).await;
        scripts.push(bearer(&token));
    }
    // Another project, its owner a stranger to the first, named so its data is easy to spot.
    let elsewhere = app.signup("elsewhere").await;
    let other = world(&app, &elsewhere, &elsewhere, "Zanzibar Secret", &[("target", Role::Viewer)]).await;
    let editor = clients[3].clone();
    let shared = world(&app, &owner, &editor, "Payments", &members).await;

    let mut failures = Vec::new();
    let mut calls = 0;
    let operations = operations();
    // The document's word on who may call is trusted below, except here: what anyone
    // may call is this list and nothing more.
    let public: Vec<String> =
        operations.iter().filter(|op| op.access == Access::Public).map(|op| op.to_string()).collect();
    assert_eq!(public, ["POST /api/v1/auth/login", "POST /api/v1/auth/logout", "POST /api/v1/auth/signup"]);
    for operation in &operations {
        // What changes state gets a project of its own.
        let fresh;
        let own = if operation.method == Method::GET {
            &shared
        } else {
            fresh = world(&app, &owner, &editor, "Payments", &members).await;
            &fresh
        };
        for ids in [Ids::Own, Ids::Others, Ids::Mixed] {
            let (path, named) = fill(&operation.path, own, &other, ids);
            if (ids == Ids::Others && named == 0) || (ids == Ids::Mixed && named < 2) {
                continue;
            }
            let callers = if operation.access == Access::Ingest { &scripts } else { &clients };
            // The first caller through the gate meets the project as it was made: what the
            // path names is there for them (later ones may find it changed or gone).
            let mut first_through = true;
            for (caller, client) in CALLERS.iter().zip(callers) {
                // A public operation (signing in or out) is not tried with a member's session.
                if operation.access == Access::Public && *caller != Caller::Anonymous {
                    continue;
                }
                let mut request = client.request(operation.method.clone(), app.url(&path));
                match &operation.body {
                    Some(Body::Archive) => request = request.header("content-type", "application/gzip").body(""),
                    Some(Body::Json(body)) => request = request.json(body),
                    None => {}
                }
                let response = request.send().await.expect("the server answers");
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                calls += 1;
                let passes = caller.passes(operation.access);
                let expected = match (ids, passes) {
                    (Ids::Own, false) => Some(caller.refusal()),
                    (Ids::Own, true) => None,
                    // Another project's things: not found, whoever asks (but who is not
                    // signed in is told that first).
                    (_, _) if *caller == Caller::Anonymous => Some(StatusCode::UNAUTHORIZED),
                    (Ids::Others, _) => Some(StatusCode::NOT_FOUND),
                    (Ids::Mixed, false) => Some(caller.refusal()),
                    (Ids::Mixed, true) => Some(StatusCode::NOT_FOUND),
                };
                let message = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|body| body["error"]["message"].as_str().map(str::to_owned));
                // The gate's own refusal of a role; other 403s are the operation's rules
                // (a change request's author, a protected main, a wrong password).
                let role_refused =
                    status == StatusCode::FORBIDDEN && message.as_deref().is_some_and(|m| m.starts_with("your role"));
                let wrong = status.is_server_error()
                    || match expected {
                        Some(StatusCode::FORBIDDEN) => !role_refused,
                        Some(expected) => status != expected,
                        // A public operation has no gate: its 401 is a wrong password's.
                        None if operation.access == Access::Public => false,
                        // Through the gate: not told to sign in, not refused for the role,
                        // and (on the project's own ids) not told it is not there.
                        None => {
                            // (A body's ids name nothing: its 404 is about them.)
                            let hidden = std::mem::take(&mut first_through)
                                && status == StatusCode::NOT_FOUND
                                && operation.body.is_none()
                                && matches!(operation.access, Access::Project(_) | Access::Ingest);
                            status == StatusCode::UNAUTHORIZED || role_refused || hidden
                        }
                    };
                if wrong {
                    failures.push(format!(
                        "{operation} ({ids:?} ids) as {caller:?}: expected {}, got {status} {text}",
                        expected.map_or("to pass".to_owned(), |s| s.to_string())
                    ));
                }
                if text.contains("Zanzibar") || text.contains(&other.project.id.to_string()) {
                    failures.push(format!("{operation} ({ids:?} ids) as {caller:?} shows the other project: {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {calls} calls went wrong:\n{}", failures.len(), failures.join("\n"));
    println!("{} operations, {calls} calls, each as its document states", operations.len());
}
