//! Turning incidents into requirement changes: drafts on a branch with a change request,
//! from the template or proposed by a chat model, and who may make them.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::routing::post;
use charter_backend::chat::ChatEndpoint;
use charter_backend::Settings;
use charter_types::{Document, DraftCreated, IncidentAccepted, IncidentDetail, Project, RequirementView, Role};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, read, test_settings, TestApp};
use crate::search::write;

/// A spec that passes the constitution's lint, so its change requests can merge.
pub const PAYMENTS: &str = "# Payments\n\nHow the shop takes money.\n\n## Requirements\n\n\
    - **PAY-001** The system SHALL charge a card at most once per order.\n  \
    - Given an order paid once, When the customer pays again, Then no second charge is made.\n\
    - **PAY-002** The system SHALL email a receipt within one minute.\n  \
    - Given a paid order, When a minute passes, Then the receipt is in the customer's inbox.\n\n\
    ## Edge cases\n\nA card that expires while the order is open.\n";

pub struct Shop {
    pub app: TestApp,
    pub owner: Client,
    pub project: Project,
    pub spec: Document,
    pub token: String,
}

impl Shop {
    /// A project with the payments spec on `main` and an `incidents:write` token.
    pub async fn open(db: PgPool, settings: Settings) -> Shop {
        let app = TestApp::spawn_with(db, settings).await;
        let owner = app.signup("ops-lead").await;
        let project = app.project(&owner, "Shop").await;
        let spec = app.document(&owner, &project, "Payments", None).await;
        write(&app, &owner, spec.id, "main", PAYMENTS).await;
        let token = app.token(&owner, &["incidents:write"]).await;
        Shop { app, owner, project, spec, token }
    }

    pub async fn report(&self, external_id: &str, status: &str) -> IncidentAccepted {
        let body = json!({
            "source": "statuspage", "external_id": external_id, "title": "Card charged twice",
            "description": "Customers were billed twice for one order after the payment request timed out. Seen in eu-west.",
            "severity": "critical", "service": "payments", "status": status, "started_at": "2026-12-01T10:00:00Z"
        });
        let url = self.app.url(&format!("/api/v1/projects/{}/incidents", self.project.id));
        let (code, answer) =
            read(self.app.bare().post(url).bearer_auth(&self.token).json(&body).send().await.unwrap()).await;
        assert_eq!(code, StatusCode::ACCEPTED, "{answer}");
        serde_json::from_value(answer).unwrap()
    }

    pub async fn requirement(&self, key: &str, branch: &str) -> RequirementView {
        let url = self.app.url(&format!("/api/v1/projects/{}/requirements?branch={branch}", self.project.id));
        let all: Vec<RequirementView> = expect(&self.owner, Method::GET, &url, None).await;
        all.into_iter().find(|requirement| requirement.key == key).unwrap_or_else(|| panic!("{key} on {branch}"))
    }

    pub async fn link(&self, incident: &IncidentAccepted, requirement: &RequirementView) -> IncidentDetail {
        let url = self.app.url(&format!("/api/v1/incidents/{}/links", incident.id));
        expect(&self.owner, Method::POST, &url, Some(json!({ "requirement_id": requirement.id }))).await
    }

    pub async fn draft(&self, client: &Client, incident: &IncidentAccepted, body: Value) -> (StatusCode, Value) {
        call(client, Method::POST, &self.app.url(&format!("/api/v1/incidents/{}/draft", incident.id)), Some(body)).await
    }

    pub async fn spec_on(&self, branch: &str) -> String {
        let url = self.app.url(&format!("/api/v1/documents/{}?branch={}", self.spec.id, branch.replace('/', "%2F")));
        expect::<Document>(&self.owner, Method::GET, &url, None).await.content
    }

    pub fn url(&self, path: &str) -> String {
        self.app.url(&format!("/api/v1/projects/{}{path}", self.project.id))
    }
}

fn created((status, answer): (StatusCode, Value)) -> DraftCreated {
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    serde_json::from_value(answer).unwrap()
}

#[sqlx::test]
async fn an_amendment_drafts_a_regression_scenario_and_provenance_on_a_branch_with_a_change_request(db: PgPool) {
    let shop = Shop::open(db, test_settings()).await;
    let incident = shop.report("INC-7", "firing").await;
    let pay1 = shop.requirement("PAY-001", "main").await;
    shop.link(&incident, &pay1).await;

    let draft = created(shop.draft(&shop.owner, &incident, json!({ "mode": "amend" })).await);
    let short = &incident.id.to_string().replace('-', "")[24..];
    assert_eq!(draft.branch, format!("incident/{short}"));
    assert_eq!((draft.key.as_str(), draft.proposed_by.as_deref()), ("PAY-001", None));

    let drafted = shop.requirement("PAY-001", &draft.branch).await;
    assert_eq!(drafted.id, pay1.id, "an amendment keeps the requirement's identity");
    assert!(drafted.text.contains(&format!("Added after incident [Card charged twice](/incidents/{})", incident.id)));
    assert_eq!(drafted.acceptance.len(), 2, "{drafted:?}");
    assert!(drafted.acceptance[1].starts_with("Given the conditions of incident INC-7 (Customers were billed twice"));
    assert_eq!(shop.spec_on("main").await, PAYMENTS, "main is untouched until the change request merges");

    let view: Value =
        expect(&shop.owner, Method::GET, &shop.url(&format!("/change-requests/{}", draft.change_request.number)), None)
            .await;
    assert_eq!((view["source"].as_str(), view["target"].as_str()), (Some(draft.branch.as_str()), Some("main")));
    assert!(view["title"].as_str().unwrap().starts_with(&format!("Incident {short}: Card charged twice")));
    assert!(view["description"].as_str().unwrap().contains("Written from the template"), "{view}");

    let detail: IncidentDetail =
        expect(&shop.owner, Method::GET, &shop.app.url(&format!("/api/v1/incidents/{}", incident.id)), None).await;
    assert_eq!(detail.drafts.len(), 1);
    assert_eq!(
        (detail.drafts[0].change_request, detail.drafts[0].branch.as_str()),
        (draft.change_request.number, draft.branch.as_str())
    );

    // While that one is under review, another draft of the incident is refused.
    let (status, answer) = shop.draft(&shop.owner, &incident, json!({ "mode": "amend" })).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, "conflict"), "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains(&format!("#{}", draft.change_request.number)));

    // Closed, it makes room for another draft; reopening it is then refused, naming that one.
    let first = shop.url(&format!("/change-requests/{}", draft.change_request.number));
    let (status, answer) = call(&shop.owner, Method::POST, &format!("{first}/close"), None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let second = created(shop.draft(&shop.owner, &incident, json!({ "mode": "amend" })).await);
    let (status, answer) = call(&shop.owner, Method::POST, &format!("{first}/reopen"), None).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, "conflict"), "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains(&format!("#{}", second.change_request.number)), "{message}");
}

#[sqlx::test]
async fn a_new_requirement_takes_the_next_id_of_the_spec_and_concurrent_drafts_make_one(db: PgPool) {
    let shop = Shop::open(db, test_settings()).await;
    let incident = shop.report("INC-8", "firing").await;
    let body = json!({ "mode": "new", "document_id": shop.spec.id });
    let answers =
        futures_util::future::join_all((0..3).map(|_| shop.draft(&shop.owner, &incident, body.clone()))).await;
    let made: Vec<&(StatusCode, Value)> = answers.iter().filter(|(status, _)| *status == StatusCode::CREATED).collect();
    assert_eq!(made.len(), 1, "one draft at a time: {answers:?}");
    assert!(answers.iter().all(|(status, _)| [StatusCode::CREATED, StatusCode::CONFLICT].contains(status)));
    let draft: DraftCreated = serde_json::from_value(made[0].1.clone()).unwrap();
    assert_eq!(draft.key, "PAY-003");

    let new = shop.requirement("PAY-003", &draft.branch).await;
    assert_eq!(new.priority.as_deref(), Some("P1"), "a critical incident drafts a P1");
    assert!(new.text.contains("The payments service SHALL prevent “Card charged twice”"), "{}", new.text);
    assert!(new.text.contains("no occurrence in any 30 days"), "a measurable criterion: {}", new.text);
    assert_eq!(new.acceptance.len(), 1);
    let text = shop.spec_on(&draft.branch).await;
    assert!(text.ends_with("## Edge cases\n\nA card that expires while the order is open.\n"), "{text}");
    let branches: Value = expect(&shop.owner, Method::GET, &shop.url("/branches"), None).await;
    assert_eq!(branches.as_array().unwrap().len(), 2, "refused drafts leave no branch behind: {branches}");
}

#[sqlx::test]
async fn drafts_need_a_writer_a_target_and_a_spec(db: PgPool) {
    let shop = Shop::open(db, test_settings()).await;
    let incident = shop.report("INC-9", "firing").await;
    let viewer = shop.app.signup("viewer").await;
    shop.app.add_member(&shop.owner, &shop.project, "viewer", Role::Viewer).await;
    let stranger = shop.app.signup("stranger").await;

    let (status, _) = shop.draft(&viewer, &incident, json!({ "mode": "new", "document_id": shop.spec.id })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = shop.draft(&stranger, &incident, json!({ "mode": "new", "document_id": shop.spec.id })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, answer) = shop.draft(&shop.owner, &incident, json!({ "mode": "amend" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["error"]["message"].as_str().unwrap().contains("link the incident"), "{answer}");
    let (status, answer) = shop.draft(&shop.owner, &incident, json!({ "mode": "new" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["error"]["message"].as_str().unwrap().contains("choose the spec"), "{answer}");
    let constitution = shop.app.constitution(&shop.owner, &shop.project).await;
    let (status, answer) =
        shop.draft(&shop.owner, &incident, json!({ "mode": "new", "document_id": constitution.id })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let (status, _) = shop.draft(&shop.owner, &incident, json!({ "mode": "sideways" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// A chat endpoint of the test's own: answers each request with the next of `answers`
/// and keeps what it was asked.
async fn chat(answers: Vec<String>) -> (String, Arc<Mutex<Vec<(HeaderMap, Value)>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let answers = Arc::new(Mutex::new(answers.into_iter()));
    let kept = Arc::clone(&asked);
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
            let (asked, answers) = (Arc::clone(&kept), Arc::clone(&answers));
            async move {
                asked.lock().unwrap().push((headers, body));
                let content = answers.lock().unwrap().next().unwrap_or_default();
                axum::Json(json!({ "choices": [{ "message": { "role": "assistant", "content": content } }] }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/v1"), asked)
}

#[sqlx::test]
async fn a_configured_chat_model_proposes_the_wording_marked_as_its_proposal(db: PgPool) {
    let proposal = "- **PAY-003** (P1) The system SHALL make a retried payment request idempotent, \
                    charging a card at most once per order key.\n  \
                    - Given a payment request that timed out, When the client retries it, Then no second charge is made.";
    let (url, asked) = chat(vec![proposal.to_owned(), "I think you should add tests.".to_owned()]).await;
    let endpoint = ChatEndpoint { url, model: "spec-writer-1".into(), key: Some("chat-key".into()) };
    let shop = Shop::open(db, Settings { chat: Some(endpoint), ..test_settings() }).await;

    let incident = shop.report("INC-10", "firing").await;
    let draft =
        created(shop.draft(&shop.owner, &incident, json!({ "mode": "new", "document_id": shop.spec.id })).await);
    assert_eq!((draft.key.as_str(), draft.proposed_by.as_deref()), ("PAY-003", Some("spec-writer-1")));
    let new = shop.requirement("PAY-003", &draft.branch).await;
    assert!(new.text.contains("The system SHALL make a retried payment request idempotent"), "{}", new.text);
    assert!(new.text.contains("Added after incident"), "the provenance line is added to a proposal too: {}", new.text);
    let view: Value =
        expect(&shop.owner, Method::GET, &shop.url(&format!("/change-requests/{}", draft.change_request.number)), None)
            .await;
    assert!(view["description"].as_str().unwrap().contains("Proposal by the language model spec-writer-1"), "{view}");
    {
        let asked = asked.lock().unwrap();
        let (headers, body) = &asked[0];
        assert_eq!(headers["authorization"], "Bearer chat-key");
        assert_eq!(body["model"], "spec-writer-1");
        let prompt = body["messages"][1]["content"].as_str().unwrap();
        assert!(prompt.contains("Card charged twice") && prompt.contains("KEY PAY-003"), "{prompt}");
    }

    // An answer that is not a requirement is not used: the template writes the draft.
    let other = shop.report("INC-11", "firing").await;
    let draft = created(shop.draft(&shop.owner, &other, json!({ "mode": "new", "document_id": shop.spec.id })).await);
    assert_eq!((draft.key.as_str(), draft.proposed_by.as_deref()), ("PAY-004", None));
    let view: Value =
        expect(&shop.owner, Method::GET, &shop.url(&format!("/change-requests/{}", draft.change_request.number)), None)
            .await;
    assert!(view["description"].as_str().unwrap().contains("could not be used"), "{view}");
}
