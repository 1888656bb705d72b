//! What the matcher notices besides candidates: an incident that came back after the
//! spec learnt from it (a regression), and drafts whose change requests merged (the
//! spec learnt). Both are announced in the project's activity and to its outgoing
//! webhooks, each once, in the transaction that records them.

use charter_types::{DraftMode, IncidentId, ProjectId, RegressionKind, WebhookEvent};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::error::Result;
use crate::search::Match;
use crate::webhooks;

/// How near in meaning (cosine similarity) a new incident must come to a requirement
/// written after an earlier one, ranked first, to count as its regression.
const SIMILAR: f32 = 0.7;
/// Merged drafts announced per round.
const ANNOUNCED_PER_ROUND: i64 = 50;

/// Flags incident `id` as a regression, in `tx`, when it fired again after a draft of
/// its own merged, or when it first appeared after another incident's draft merged and
/// `best` (its best candidate, from an index that was up to date: `settled`) is the
/// requirement that draft wrote. The incident's row is held, so that matchers of two
/// instances tell a regression once.
pub(super) async fn notice(tx: &mut PgConnection, id: IncidentId, best: Option<&Match>, settled: bool) -> Result<()> {
    sqlx::query("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *tx).await?;
    // Its own draft merged, and it reopened since (after any regression already told).
    let recurrence: Option<Uuid> = sqlx::query_scalar(
        "SELECT d.requirement_id FROM incident_drafts d
         JOIN change_requests c ON c.id = d.change_request_id AND c.state = 'merged'
         JOIN incidents i ON i.id = d.incident_id
         WHERE d.incident_id = $1 AND EXISTS (
             SELECT 1 FROM incident_events e WHERE e.incident_id = $1 AND e.kind = 'reopened'
               AND e.at > c.merged_at AND e.at > coalesce(i.regression_at, '-infinity'))
         ORDER BY c.merged_at DESC LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let found = match (recurrence, best) {
        (Some(requirement), _) => Some((RegressionKind::Recurrence, requirement)),
        (None, Some(best)) if settled && best.similarity.is_some_and(|similarity| similarity >= SIMILAR) => {
            // A requirement another incident's draft wrote, merged before this incident
            // was first seen; this one never flagged or drafted before.
            let similar: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM incident_drafts d
                                JOIN change_requests c ON c.id = d.change_request_id AND c.state = 'merged'
                                JOIN incidents i ON i.id = $1
                                WHERE d.requirement_id = $2 AND d.incident_id <> $1 AND c.merged_at < i.first_seen)
                    AND NOT EXISTS (SELECT 1 FROM incident_drafts WHERE incident_id = $1)
                    AND (SELECT regression_at IS NULL FROM incidents WHERE id = $1)",
            )
            .bind(id)
            .bind(best.requirement_id)
            .fetch_one(&mut *tx)
            .await?;
            similar.then_some((RegressionKind::Similar, best.requirement_id))
        }
        _ => None,
    };
    let Some((kind, requirement)) = found else { return Ok(()) };
    let (project, title, service, key): (ProjectId, String, String, Option<String>) = sqlx::query_as(
        "UPDATE incidents i SET regression_kind = $2, regression_requirement = $3, regression_at = now()
         WHERE i.id = $1
         RETURNING i.project_id, i.title, i.service,
             (SELECT br.key FROM branches b JOIN branch_requirements br ON br.branch_id = b.id
              WHERE b.project_id = i.project_id AND b.name = 'main' AND br.requirement_id = $3)",
    )
    .bind(id)
    .bind(kind)
    .bind(requirement)
    .fetch_one(&mut *tx)
    .await?;
    let named = key.clone().unwrap_or_else(|| "a requirement no longer on main".into());
    let summary = match kind {
        RegressionKind::Recurrence => format!("regression: {title} fired again after {named} was merged"),
        RegressionKind::Similar => format!("regression: {title} matches {named}, written after an earlier incident"),
    };
    audit::record(&mut *tx, Entry::system(project, "incident.regression", ("incident", id), summary)).await?;
    let data = json!({
        "project_id": project,
        "incident": {"id": id, "title": title, "service": service, "url": format!("/incidents/{id}")},
        "requirement": {"id": requirement, "key": key},
        "kind": kind,
    });
    webhooks::emit(&mut *tx, project, WebhookEvent::IncidentRegression, data).await
}

/// Announces drafts whose change requests merged since the last round: the requirement
/// they added or amended now carries its incident.
pub(super) async fn announce_merged(db: &PgPool) -> Result<()> {
    let mut tx = db.begin().await?;
    let merged: Vec<(Uuid, ProjectId, IncidentId, String, String, i32, Uuid, DraftMode)> = sqlx::query_as(
        "SELECT d.id, c.project_id, d.incident_id, i.title, d.key, c.number, d.requirement_id, d.mode
         FROM incident_drafts d
         JOIN change_requests c ON c.id = d.change_request_id AND c.state = 'merged'
         JOIN incidents i ON i.id = d.incident_id
         WHERE d.announced_at IS NULL
         ORDER BY c.merged_at LIMIT $1 FOR UPDATE OF d SKIP LOCKED",
    )
    .bind(ANNOUNCED_PER_ROUND)
    .fetch_all(&mut *tx)
    .await?;
    for (draft, project, incident, title, key, number, requirement, mode) in &merged {
        let verb = match mode {
            DraftMode::Amend => "amended",
            DraftMode::New => "added",
        };
        let summary = format!("{key} {verb} after incident {title} (change request #{number})");
        let entry = Entry::system(*project, "requirement.from_incident", ("incident", incident), summary);
        audit::record(&mut *tx, entry).await?;
        let data = json!({
            "project_id": project,
            "requirement": {"id": requirement, "key": key, "change": verb},
            "incident": {"id": incident, "title": title, "url": format!("/incidents/{incident}")},
            "change_request": {"number": number},
        });
        webhooks::emit(&mut *tx, *project, WebhookEvent::RequirementAddedFromIncident, data).await?;
        sqlx::query("UPDATE incident_drafts SET announced_at = now() WHERE id = $1")
            .bind(draft)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
