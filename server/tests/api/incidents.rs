//! Production feedback: incidents reported through the generic endpoint and the tools'
//! own webhooks, deduplicated, replay-safe, signed where the tool signs; triage.

use charter_types::{
    DeliveryAccepted, Incident, IncidentAccepted, IncidentDetail, IncidentEventKind, IncidentState, IncidentStatus,
    Integration, Project, RequirementView, Role,
};
use hmac::{Hmac, Mac};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::PgPool;

use crate::harness::{call, error_code, expect, read, TestApp};
use crate::search::{write, PAYMENTS};

/// A project, its owner's session and a token of theirs that may only report incidents.
async fn setup(app: &TestApp) -> (Client, Project, String) {
    let owner = app.signup("ops-owner").await;
    let project = app.project(&owner, "Payments").await;
    let token = app.token(&owner, &["incidents:write"]).await;
    (owner, project, token)
}

fn incident(external_id: &str, status: &str) -> Value {
    json!({
        "source": "statuspage", "external_id": external_id, "title": "Card charged twice",
        "description": "Customers were billed twice for one order after a retry.",
        "severity": "high", "service": "payments", "status": status,
        "started_at": "2026-12-01T10:00:00Z", "labels": {"region": "eu-west-1"},
        "url": "https://status.example.com/incidents/1"
    })
}

async fn report(app: &TestApp, project: &Project, token: &str, body: &Value, key: Option<&str>) -> (StatusCode, Value) {
    let mut request =
        app.bare().post(app.url(&format!("/api/v1/projects/{}/incidents", project.id))).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    read(request.send().await.unwrap()).await
}

async fn accepted(app: &TestApp, project: &Project, token: &str, body: &Value, key: Option<&str>) -> IncidentAccepted {
    let (status, answer) = report(app, project, token, body, key).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    serde_json::from_value(answer).unwrap()
}

async fn detail(app: &TestApp, client: &Client, id: impl std::fmt::Display) -> IncidentDetail {
    expect(client, Method::GET, &app.url(&format!("/api/v1/incidents/{id}")), None).await
}

#[sqlx::test]
async fn a_repeat_counts_a_resolve_closes_and_a_later_firing_reopens(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, token) = setup(&app).await;

    let first = accepted(&app, &project, &token, &incident("INC-1", "firing"), None).await;
    assert!(!first.deduplicated);
    let again = accepted(&app, &project, &token, &incident("INC-1", "firing"), None).await;
    assert_eq!((again.id, again.deduplicated), (first.id, true));
    accepted(&app, &project, &token, &incident("INC-1", "resolved"), None).await;
    let resolved = detail(&app, &owner, first.id).await;
    assert_eq!((resolved.incident.status, resolved.incident.occurrences), (IncidentStatus::Resolved, 2));
    accepted(&app, &project, &token, &incident("INC-1", "firing"), None).await;

    let seen = detail(&app, &owner, first.id).await;
    assert_eq!(seen.incident.status, IncidentStatus::Firing);
    assert_eq!(seen.incident.occurrences, 3);
    assert_eq!(seen.incident.state, IncidentState::Open);
    let kinds: Vec<IncidentEventKind> = seen.timeline.iter().map(|event| event.kind).collect();
    use IncidentEventKind::*;
    assert_eq!(kinds, [Opened, Repeated, Resolved, Reopened]);
    assert_eq!(seen.labels["region"], "eu-west-1");
    assert_eq!(seen.incident.source, "statuspage");
    assert_eq!(seen.incident.external_id, "INC-1");

    // A fingerprint deduplicates instead of the external id.
    let mut other_id = incident("INC-2", "firing");
    other_id["fingerprint"] = json!("INC-1");
    assert_eq!(accepted(&app, &project, &token, &other_id, None).await.id, first.id);
}

#[sqlx::test]
async fn a_replayed_delivery_changes_nothing_and_names_the_same_incident(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, token) = setup(&app).await;
    let first = accepted(&app, &project, &token, &incident("INC-9", "firing"), Some("delivery-1")).await;
    let replay = accepted(&app, &project, &token, &incident("INC-9", "firing"), Some("delivery-1")).await;
    assert_eq!((replay.id, replay.deduplicated), (first.id, true));
    let seen = detail(&app, &owner, first.id).await;
    assert_eq!((seen.incident.occurrences, seen.timeline.len()), (1, 1), "a replay is not an occurrence");
}

#[sqlx::test]
async fn concurrent_repeats_each_count_once(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, token) = setup(&app).await;
    let body = incident("INC-RACE", "firing");
    let answers = futures_util::future::join_all((0..20).map(|_| accepted(&app, &project, &token, &body, None))).await;
    let opened = answers.iter().filter(|answer| !answer.deduplicated).count();
    assert_eq!(opened, 1, "exactly one delivery opened it");
    assert!(answers.iter().all(|answer| answer.id == answers[0].id));
    let seen = detail(&app, &owner, answers[0].id).await;
    assert_eq!((seen.incident.occurrences, seen.timeline.len()), (20, 20));
}

/// Deliveries arriving together are stored together: each is still answered for itself,
/// a retry within the same burst is a replay of its first delivery, and a repeat raises
/// the count once.
#[sqlx::test]
async fn a_burst_of_new_repeated_and_retried_deliveries_each_get_their_own_answer(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, token) = setup(&app).await;
    let new: Vec<Value> = (0..12).map(|n| incident(&format!("INC-B{n}"), "firing")).collect();
    let retried = incident("INC-RETRIED", "firing");
    let sends = new
        .iter()
        .map(|body| (body, None))
        .chain((0..8).map(|_| (&retried, Some("delivery-burst"))))
        .chain((0..6).map(|_| (&new[0], None)));
    let answers =
        futures_util::future::join_all(sends.map(|(body, key)| accepted(&app, &project, &token, body, key))).await;

    let (fresh, retries, repeats) = (&answers[..12], &answers[12..20], &answers[20..]);
    assert!(fresh[1..].iter().all(|answer| !answer.deduplicated), "each new incident opened once");
    let ids: std::collections::HashSet<_> = fresh.iter().map(|answer| answer.id).collect();
    assert_eq!(ids.len(), 12, "one incident each");
    assert!(retries.iter().all(|answer| answer.id == retries[0].id));
    assert_eq!(retries.iter().filter(|answer| !answer.deduplicated).count(), 1, "only the first delivery opened it");
    let retried = detail(&app, &owner, retries[0].id).await;
    assert_eq!((retried.incident.occurrences, retried.timeline.len()), (1, 1), "its retries changed nothing");
    assert!(repeats.iter().all(|answer| answer.id == fresh[0].id));
    let repeated = detail(&app, &owner, fresh[0].id).await;
    assert_eq!(repeated.incident.occurrences, 7, "the first report and its six repeats");
    let opened = [&fresh[..1], repeats].concat().iter().filter(|answer| !answer.deduplicated).count();
    assert_eq!(opened, 1, "one of the seven opened it");
}

#[sqlx::test]
async fn reporting_needs_the_incidents_scope_and_a_writer(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, incidents_token) = setup(&app).await;
    let body = incident("INC-3", "firing");

    let write_token = app.token(&owner, &["read", "write"]).await;
    let (status, answer) = report(&app, &project, &write_token, &body, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("incidents:write"), "{answer}");

    // A signed-in member reports through a token too: these routes take no session.
    let url = app.url(&format!("/api/v1/projects/{}/incidents", project.id));
    let (status, answer) = call(&owner, Method::POST, &url, Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");

    // The incidents scope reads nothing and writes nothing else.
    let listing = app
        .bare()
        .get(app.url(&format!("/api/v1/projects/{}/incidents", project.id)))
        .bearer_auth(&incidents_token)
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), StatusCode::FORBIDDEN);

    let (status, _) = report(&app, &project, "chr_not-a-token", &body, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let created = app
        .bare()
        .post(app.url(&format!("/api/v1/projects/{}/documents", project.id)))
        .bearer_auth(&incidents_token)
        .json(&json!({ "title": "Sneaky", "kind": "spec" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::FORBIDDEN, "the incidents scope writes nothing else");

    // A tool's name is not a generic source: that would write into its incidents.
    let mut posing = body.clone();
    posing["source"] = json!("sentry");
    let (status, answer) = report(&app, &project, &incidents_token, &posing, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");

    // A reader's token, and a stranger's, report nothing.
    let reader = app.signup("ops-reader").await;
    app.add_member(&owner, &project, "ops-reader", Role::Viewer).await;
    let reader_token = app.token(&reader, &["incidents:write"]).await;
    assert_eq!(report(&app, &project, &reader_token, &body, None).await.0, StatusCode::FORBIDDEN);
    let stranger = app.signup("ops-stranger").await;
    let stranger_token = app.token(&stranger, &["incidents:write"]).await;
    assert_eq!(report(&app, &project, &stranger_token, &body, None).await.0, StatusCode::NOT_FOUND);
}

#[sqlx::test]
async fn a_report_missing_a_field_is_told_which(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (_, project, token) = setup(&app).await;
    let mut body = incident("INC-4", "firing");
    body.as_object_mut().unwrap().remove("title");
    let (status, answer) = report(&app, &project, &token, &body, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(error_code(&answer) == "invalid" && answer["error"]["message"].as_str().unwrap().contains("title"));

    let mut body = incident("INC-4", "firing");
    body["severity"] = json!("apocalyptic");
    let (status, answer) = report(&app, &project, &token, &body, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("severity"), "{answer}");

    let huge = json!({ "padding": "x".repeat(2 * 1024 * 1024) });
    assert_eq!(report(&app, &project, &token, &huge, None).await.0, StatusCode::PAYLOAD_TOO_LARGE);
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

async fn set_secret(app: &TestApp, owner: &Client, project: &Project, tool: &str, secret: &str) -> Integration {
    let url = app.url(&format!("/api/v1/projects/{}/integrations/{tool}", project.id));
    expect(owner, Method::PUT, &url, Some(json!({ "secret": secret }))).await
}

async fn hook(
    app: &TestApp,
    project: &Project,
    tool: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (StatusCode, Value) {
    let mut request = app.bare().post(app.url(&format!("/api/v1/projects/{}/hooks/{tool}", project.id)));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    read(request.header("content-type", "application/json").body(body.to_vec()).send().await.unwrap()).await
}

fn sentry_issue(id: &str, action: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "action": action,
        "installation": {"uuid": "7a485448-a9e2-4c85-8a3c-4f44175783c9"},
        "data": {"issue": {
            "id": id, "shortId": "PAYMENTS-1A", "title": "IdempotencyError: order charged twice",
            "culprit": "payments.charge in capture", "level": "error", "status": "unresolved",
            "firstSeen": "2026-12-01T10:00:00.000000Z", "lastSeen": "2026-12-01T10:05:00.000000Z",
            "permalink": "https://sentry.example.com/organizations/acme/issues/1170820242/",
            "project": {"id": "1", "name": "payments", "slug": "payments"}
        }},
        "actor": {"type": "application", "id": "sentry", "name": "Sentry"}
    }))
    .unwrap()
}

#[sqlx::test]
async fn sentry_deliveries_are_taken_only_with_a_valid_signature(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, _) = setup(&app).await;
    let body = sentry_issue("1170820242", "created");
    let now = chrono::Utc::now().timestamp().to_string();
    let headers = |signature: String, request_id: &str| {
        vec![
            ("Sentry-Hook-Resource", "issue".to_owned()),
            ("Sentry-Hook-Timestamp", now.clone()),
            ("Sentry-Hook-Signature", signature),
            ("Request-ID", request_id.to_owned()),
        ]
    };

    // No secret set yet: refused, and the reason says what to do.
    let (status, answer) =
        hook(&app, &project, "sentry", &headers(sign("whatever-secret-123", &body), "r1"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

    let secret = "sentry-client-secret-0123456789";
    let integration = set_secret(&app, &owner, &project, "sentry", secret).await;
    assert!(integration.secret_set && integration.signed);
    let listed: Vec<Integration> =
        expect(&owner, Method::GET, &app.url(&format!("/api/v1/projects/{}/integrations", project.id)), None).await;
    assert_eq!(listed.len(), 5);
    assert!(!serde_json::to_string(&listed).unwrap().contains(secret), "the secret is never shown");

    let (status, answer) =
        hook(&app, &project, "sentry", &headers(sign("another-secret-0123456", &body), "r1"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, answer) = hook(&app, &project, "sentry", &headers("zz".into(), "r1"), &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");

    let (status, answer) = hook(&app, &project, "sentry", &headers(sign(secret, &body), "r1"), &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let taken: DeliveryAccepted = serde_json::from_value(answer).unwrap();
    assert!(!taken.replay && taken.incidents.len() == 1);
    let (_, answer) = hook(&app, &project, "sentry", &headers(sign(secret, &body), "r1"), &body).await;
    let replay: DeliveryAccepted = serde_json::from_value(answer).unwrap();
    assert!(replay.replay && replay.incidents[0].id == taken.incidents[0].id);

    let resolved = sentry_issue("1170820242", "resolved");
    let (status, _) = hook(&app, &project, "sentry", &headers(sign(secret, &resolved), "r2"), &resolved).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let seen = detail(&app, &owner, taken.incidents[0].id).await;
    assert_eq!(seen.incident.status, IncidentStatus::Resolved);
    assert_eq!((seen.incident.source.as_str(), seen.incident.external_id.as_str()), ("sentry", "1170820242"));
    assert_eq!(seen.incident.service, "payments");

    // A stale timestamp is refused even with a valid signature.
    let stale = (chrono::Utc::now().timestamp() - 3600).to_string();
    let mut old = headers(sign(secret, &body), "r3");
    old[1].1 = stale;
    assert_eq!(hook(&app, &project, "sentry", &old, &body).await.0, StatusCode::UNAUTHORIZED);

    // Only owners set secrets.
    let editor = app.signup("ops-editor").await;
    app.add_member(&owner, &project, "ops-editor", Role::Editor).await;
    let url = app.url(&format!("/api/v1/projects/{}/integrations/sentry", project.id));
    assert_eq!(
        call(&editor, Method::PUT, &url, Some(json!({"secret": "x".repeat(32)}))).await.0,
        StatusCode::FORBIDDEN
    );
}

fn pagerduty_event(event_id: &str, event_type: &str, incident: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"event": {
        "id": event_id, "event_type": event_type, "resource_type": "incident",
        "occurred_at": "2026-12-01T10:00:00.000Z",
        "agent": {"html_url": "https://acme.pagerduty.com/users/PLH1HKV", "id": "PLH1HKV", "type": "user_reference"},
        "client": null,
        "data": {
            "id": incident, "type": "incident", "self": format!("https://api.pagerduty.com/incidents/{incident}"),
            "html_url": format!("https://acme.pagerduty.com/incidents/{incident}"), "number": 2,
            "status": if event_type == "incident.resolved" { "resolved" } else { "triggered" },
            "incident_key": "d3640fbd41094207a1c11e58e46b1662", "created_at": "2026-12-01T10:00:00Z",
            "title": "Checkout latency above 2 s", "service": {"id": "PF9KMXH", "summary": "checkout",
                "type": "service_reference"},
            "assignees": [], "escalation_policy": {"id": "PUS0KTE", "type": "escalation_policy_reference"},
            "teams": [], "priority": {"id": "PSO75BM", "summary": "P1", "type": "priority_reference"},
            "urgency": "high", "conference_bridge": null, "resolve_reason": null
        }
    }}))
    .unwrap()
}

#[sqlx::test]
async fn pagerduty_accepts_any_of_the_rotated_signatures(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, _) = setup(&app).await;
    let secret = "pagerduty-webhook-secret-new-0001";
    set_secret(&app, &owner, &project, "pagerduty", secret).await;
    let body = pagerduty_event("01DEN3ZKBVY7PH1FQTBM1F4WMR", "incident.triggered", "Q2FQH6MNG0JR8Q");
    let rotated = format!("v1={},v1={}", sign("pagerduty-webhook-secret-old-0000", &body), sign(secret, &body));
    let (status, answer) = hook(&app, &project, "pagerduty", &[("X-PagerDuty-Signature", rotated)], &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let taken: DeliveryAccepted = serde_json::from_value(answer).unwrap();
    let seen = detail(&app, &owner, taken.incidents[0].id).await;
    assert_eq!((seen.incident.service.as_str(), seen.incident.severity.as_str()), ("checkout", "critical"));

    let only_old = format!("v1={}", sign("pagerduty-webhook-secret-old-0000", &body));
    assert_eq!(
        hook(&app, &project, "pagerduty", &[("X-PagerDuty-Signature", only_old)], &body).await.0,
        StatusCode::UNAUTHORIZED
    );

    let resolved = pagerduty_event("01DEN3ZKBVY7PH1FQTBM1F4WMS", "incident.resolved", "Q2FQH6MNG0JR8Q");
    let signature = format!("v1={}", sign(secret, &resolved));
    assert_eq!(
        hook(&app, &project, "pagerduty", &[("X-PagerDuty-Signature", signature)], &resolved).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(detail(&app, &owner, taken.incidents[0].id).await.incident.status, IncidentStatus::Resolved);
}

fn alert(fingerprint: &str, name: &str, status: &str) -> Value {
    json!({
        "status": status,
        "labels": {"alertname": name, "severity": "critical", "service": "checkout", "instance": "10.0.0.7:9100"},
        "annotations": {"summary": format!("{name} on checkout"), "description": "p99 latency above 2 s for 5 minutes"},
        "startsAt": "2026-12-01T10:00:00Z",
        "endsAt": if status == "resolved" { "2026-12-01T10:20:00Z" } else { "0001-01-01T00:00:00Z" },
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=up",
        "fingerprint": fingerprint
    })
}

fn alertmanager(alerts: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": "4", "groupKey": "{}:{alertname=\"CheckoutLatency\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "charter", "groupLabels": {"alertname": "CheckoutLatency"},
        "commonLabels": {"service": "checkout"}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com", "alerts": alerts
    }))
    .unwrap()
}

#[sqlx::test]
async fn an_alertmanager_group_reports_each_alert_with_a_token(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, token) = setup(&app).await;
    let body = alertmanager(vec![
        alert("a1b2c3d4e5f60718", "CheckoutLatency", "firing"),
        alert("0f1e2d3c4b5a6978", "CheckoutErrors", "resolved"),
    ]);
    assert_eq!(hook(&app, &project, "alertmanager", &[], &body).await.0, StatusCode::UNAUTHORIZED);
    let auth = [("Authorization", format!("Bearer {token}"))];
    let (status, answer) = hook(&app, &project, "alertmanager", &auth, &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let taken: DeliveryAccepted = serde_json::from_value(answer).unwrap();
    assert_eq!(taken.incidents.len(), 2);
    let (firing, resolved) =
        (detail(&app, &owner, taken.incidents[0].id).await, detail(&app, &owner, taken.incidents[1].id).await);
    assert_eq!((firing.incident.status, resolved.incident.status), (IncidentStatus::Firing, IncidentStatus::Resolved));
    assert_eq!(firing.incident.title, "CheckoutLatency on checkout");
    assert_eq!(firing.incident.external_id, "a1b2c3d4e5f60718");

    // The same group again is a replay; the first alert resolved later closes it.
    assert!(
        serde_json::from_value::<DeliveryAccepted>(hook(&app, &project, "alertmanager", &auth, &body).await.1)
            .unwrap()
            .replay
    );
    let later = alertmanager(vec![alert("a1b2c3d4e5f60718", "CheckoutLatency", "resolved")]);
    assert_eq!(hook(&app, &project, "alertmanager", &auth, &later).await.0, StatusCode::ACCEPTED);
    assert_eq!(detail(&app, &owner, taken.incidents[0].id).await.incident.status, IncidentStatus::Resolved);

    let mut missing = alert("", "CheckoutLatency", "firing");
    missing.as_object_mut().unwrap().remove("fingerprint");
    let (status, answer) = hook(&app, &project, "alertmanager", &auth, &alertmanager(vec![missing])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("alerts[0].fingerprint"), "{answer}");
    let (status, _) = hook(&app, &project, "alertmanager", &auth, b"{not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[sqlx::test]
async fn people_link_an_incident_to_requirements_or_dismiss_it_with_a_reason(db: PgPool) {
    let app = TestApp::spawn(db).await;
    let (owner, project, token) = setup(&app).await;
    let spec = app.document(&owner, &project, "Payments", None).await;
    write(&app, &owner, spec.id, "main", PAYMENTS).await;
    let listed: Vec<RequirementView> =
        expect(&owner, Method::GET, &app.url(&format!("/api/v1/projects/{}/requirements", project.id)), None).await;
    let pay_001 = listed.iter().find(|requirement| requirement.key == "PAY-001").expect("PAY-001").id;
    let id = accepted(&app, &project, &token, &incident("INC-7", "firing"), None).await.id;
    let links = app.url(&format!("/api/v1/incidents/{id}/links"));

    // Readers read; only writers decide.
    let reader = app.signup("ops-viewer").await;
    app.add_member(&owner, &project, "ops-viewer", Role::Viewer).await;
    assert_eq!(detail(&app, &reader, id).await.incident.state, IncidentState::Open);
    let (status, _) = call(&reader, Method::POST, &links, Some(json!({ "requirement_id": pay_001 }))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let stranger = app.signup("ops-outsider").await;
    let (status, _) = call(&stranger, Method::GET, &app.url(&format!("/api/v1/incidents/{id}")), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another project's incident is not found");

    let linked: IncidentDetail = expect(&owner, Method::POST, &links, Some(json!({ "requirement_id": pay_001 }))).await;
    assert_eq!(linked.incident.state, IncidentState::Linked);
    let keys: Vec<Option<&str>> = linked.incident.links.iter().map(|link| link.key.as_deref()).collect();
    assert_eq!(keys, [Some("PAY-001")]);

    // A requirement of another project cannot be linked.
    let other = app.project(&owner, "Elsewhere").await;
    let elsewhere = app.document(&owner, &other, "Elsewhere", None).await;
    write(&app, &owner, elsewhere.id, "main", "# Elsewhere\n\n- **ELS-001** The system SHALL exist.\n").await;
    let theirs: Vec<RequirementView> =
        expect(&owner, Method::GET, &app.url(&format!("/api/v1/projects/{}/requirements", other.id)), None).await;
    let (status, answer) = call(&owner, Method::POST, &links, Some(json!({ "requirement_id": theirs[0].id }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");

    let unlinked: IncidentDetail = expect(&owner, Method::DELETE, &format!("{links}/{pay_001}"), None).await;
    assert_eq!((unlinked.incident.state, unlinked.incident.links.len()), (IncidentState::Open, 0));
    let (status, _) = call(&owner, Method::DELETE, &format!("{links}/{pay_001}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let dismiss = app.url(&format!("/api/v1/incidents/{id}/dismiss"));
    let (status, answer) = call(&owner, Method::POST, &dismiss, Some(json!({ "reason": "  " }))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let dismissed: IncidentDetail =
        expect(&owner, Method::POST, &dismiss, Some(json!({ "reason": "A load test, not production" }))).await;
    assert_eq!(dismissed.incident.state, IncidentState::Dismissed);
    assert_eq!(dismissed.dismissed_reason.as_deref(), Some("A load test, not production"));

    // The list filters by triage state, service, severity and source.
    let list = |query: &str| app.url(&format!("/api/v1/projects/{}/incidents?{query}", project.id));
    let dismissed_ones: Vec<Incident> = expect(&reader, Method::GET, &list("state=dismissed"), None).await;
    assert_eq!(dismissed_ones.iter().map(|incident| incident.id).collect::<Vec<_>>(), [id]);
    let open_ones: Vec<Incident> = expect(&reader, Method::GET, &list("state=open"), None).await;
    assert!(open_ones.is_empty());
    let by_service: Vec<Incident> =
        expect(&reader, Method::GET, &list("service=payments&severity=high&source=statuspage"), None).await;
    assert_eq!(by_service.len(), 1);
    let (status, _) = call(&reader, Method::GET, &list("severity=apocalyptic"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
