//! The whole loop from production back to the spec: an incident is matched and linked,
//! drafted into an amendment, reviewed, merged (the requirement now carries its
//! provenance), and when it fires again it is flagged as a regression: on both pages, in
//! the activity, and at an outgoing webhook whose signature Python verifies.

use std::time::Duration;

use charter_backend::structure::requirements::RequirementDetail;
use charter_types::{
    DraftCreated, DraftMode, Incident, IncidentAccepted, IncidentDetail, RegressionKind, Role, WebhookEvent,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::harness::{call, eventually, expect, meaning_settings};
use crate::incident_drafts::Shop;
use crate::webhooks::{python_verifies, register, Receiver};

const WAIT: Duration = Duration::from_secs(90);

impl Shop {
    async fn incident(&self, incident: &IncidentAccepted) -> IncidentDetail {
        expect(&self.owner, Method::GET, &self.app.url(&format!("/api/v1/incidents/{}", incident.id)), None).await
    }

    /// The incident once `done` holds of it.
    async fn incident_when(
        &self,
        incident: &IncidentAccepted,
        what: &str,
        done: impl Fn(&Incident) -> bool,
    ) -> IncidentDetail {
        eventually(what, WAIT, || async { done(&self.incident(incident).await.incident) }).await;
        self.incident(incident).await
    }

    async fn requirement_page(&self, id: uuid::Uuid) -> RequirementDetail {
        expect(&self.owner, Method::GET, &self.app.url(&format!("/api/v1/requirements/{id}")), None).await
    }
}

#[sqlx::test]
async fn an_incident_becomes_a_reviewed_requirement_and_its_recurrence_a_regression(db: PgPool) {
    let shop = Shop::open(db, meaning_settings()).await;
    let reviewer = shop.app.signup("rita").await;
    shop.app.add_member(&shop.owner, &shop.project, "rita", Role::Reviewer).await;
    let receiver = Receiver::start(&[]).await;
    let events = [
        WebhookEvent::ChangeRequestMerged,
        WebhookEvent::RequirementAddedFromIncident,
        WebhookEvent::IncidentRegression,
    ];
    let webhook = register(&shop.app, &shop.owner, &shop.project, &receiver.url, &events).await;

    // Reported, matched to the requirement it concerns, linked, resolved.
    let incident = shop.report("INC-1", "firing").await;
    let matched = shop.incident_when(&incident, "the incident is matched", |i| !i.candidates.is_empty()).await;
    let best = &matched.incident.candidates[0];
    assert_eq!(best.key.as_deref(), Some("PAY-001"), "{:?}", matched.incident.candidates);
    let pay1 = shop.requirement("PAY-001", "main").await;
    assert_eq!(best.requirement_id, pay1.id);
    shop.link(&incident, &pay1).await;
    shop.report("INC-1", "resolved").await;

    // Drafted, approved by a reviewer, merged.
    let (status, answer) = shop.draft(&shop.owner, &incident, json!({ "mode": "amend" })).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let draft: DraftCreated = serde_json::from_value(answer).unwrap();
    let number = draft.change_request.number;
    let (status, answer) = call(
        &reviewer,
        Method::POST,
        &shop.url(&format!("/change-requests/{number}/reviews")),
        Some(json!({ "verdict": "approve" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let (status, answer) = call(
        &shop.owner,
        Method::POST,
        &shop.url(&format!("/change-requests/{number}/merge")),
        Some(json!({ "message": "Charge once, after INC-1" })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The requirement on main carries its provenance and lists the incident.
    let page = shop.requirement_page(pay1.id).await;
    assert!(page.requirement.text.contains("Added after incident [Card charged twice]"), "{}", page.requirement.text);
    assert_eq!(page.provenance.len(), 1);
    let provenance = &page.provenance[0];
    assert_eq!(
        (provenance.incident_id, provenance.mode, provenance.change_request),
        (incident.id, DraftMode::Amend, number)
    );
    assert_eq!(page.incidents.iter().map(|i| (i.id, i.regression)).collect::<Vec<_>>(), [(incident.id, false)]);

    // It fires again: a regression, on the incident and on the requirement.
    shop.report("INC-1", "firing").await;
    let flagged = shop.incident_when(&incident, "the recurrence is flagged", |i| i.regression.is_some()).await;
    let regression = flagged.incident.regression.clone().unwrap();
    assert_eq!((regression.kind, regression.key.as_deref()), (RegressionKind::Recurrence, Some("PAY-001")));
    assert_eq!(regression.requirement_id, Some(pay1.id));
    let page = shop.requirement_page(pay1.id).await;
    assert_eq!(page.incidents.iter().map(|i| (i.id, i.regression)).collect::<Vec<_>>(), [(incident.id, true)]);

    // A new incident that matches the requirement written after the first is one too.
    let similar = shop.report("INC-2", "firing").await;
    let flagged = shop.incident_when(&similar, "the similar incident is flagged", |i| i.regression.is_some()).await;
    let regression = flagged.incident.regression.unwrap();
    assert_eq!((regression.kind, regression.requirement_id), (RegressionKind::Similar, Some(pay1.id)));

    // The activity tells it, and the webhook hears it all, signed.
    let activity: Vec<Value> = expect(&shop.owner, Method::GET, &shop.url("/activity"), None).await;
    let actions: Vec<&str> = activity.iter().filter_map(|entry| entry["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|action| **action == "incident.regression").count(), 2, "{actions:?}");
    assert!(actions.contains(&"requirement.from_incident"), "{actions:?}");
    let received = receiver.until(4).await;
    let of = |event: WebhookEvent| received.iter().filter(move |r| r.payload().r#type == event).collect::<Vec<_>>();
    assert_eq!(of(WebhookEvent::ChangeRequestMerged).len(), 1);
    let added = of(WebhookEvent::RequirementAddedFromIncident);
    assert_eq!(added.len(), 1);
    let data = added[0].payload().data;
    assert_eq!(
        (data["requirement"]["key"].as_str(), data["requirement"]["change"].as_str()),
        (Some("PAY-001"), Some("amended"))
    );
    assert_eq!(data["incident"]["id"], json!(incident.id));
    let regressions = of(WebhookEvent::IncidentRegression);
    assert_eq!(regressions.len(), 2);
    let kinds: Vec<Value> = regressions.iter().map(|r| r.payload().data["kind"].clone()).collect();
    assert_eq!(kinds, [json!("recurrence"), json!("similar")]);
    for delivery in &received {
        assert!(python_verifies(delivery, &webhook.secret).await, "{delivery:?}");
    }
}
