//! Triage: a project's incidents as people read them, and what they decide: which
//! requirements an incident concerns, or that it concerns none.

use std::collections::{BTreeMap, HashMap};

use charter_types::{
    DismissIncident, Incident, IncidentDetail, IncidentDraft, IncidentEvent, IncidentEventKind, IncidentId,
    IncidentRequirement, IncidentSeverity, IncidentState, IncidentStatus, Permission, ProjectId, Regression,
    RegressionKind,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::compose::Facts;
use crate::access::Actor;
use crate::audit;
use crate::authorization::{self, ProjectAccess};
use crate::error::{Error, Result};

/// Incidents in one answer at most.
const MAX_LISTED: i64 = 500;
/// The latest events an incident's timeline shows (a noisy alert repeats all day).
const TIMELINE: i64 = 200;
/// Reasons for a dismissal are for people: bounded like a comment.
const MAX_REASON: usize = 2_000;

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct IncidentsQuery {
    pub state: Option<IncidentState>,
    pub service: Option<String>,
    pub severity: Option<IncidentSeverity>,
    pub source: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct Row {
    id: IncidentId,
    project_id: ProjectId,
    source: String,
    key: String,
    external_id: Option<String>,
    title: String,
    description: String,
    severity: IncidentSeverity,
    service: String,
    status: IncidentStatus,
    state: IncidentState,
    dismissed_reason: Option<String>,
    labels: sqlx::types::Json<BTreeMap<String, String>>,
    url: Option<String>,
    occurrences: i32,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    regression_kind: Option<RegressionKind>,
    regression_requirement: Option<Uuid>,
    regression_key: Option<String>,
    regression_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, project_id, source, key, external_id, title, description, severity, service, status, state,
                       dismissed_reason, labels, url, occurrences, started_at, ended_at, first_seen, last_seen,
                       regression_kind, regression_requirement, regression_at,
                       (SELECT br.key FROM branches b JOIN branch_requirements br ON br.branch_id = b.id
                        WHERE b.project_id = incidents.project_id AND b.name = 'main'
                          AND br.requirement_id = incidents.regression_requirement) AS regression_key";

/// The project's incidents, most recently seen first, as `query` filters them.
pub async fn list(db: &PgPool, project: &ProjectAccess, query: &IncidentsQuery) -> Result<Vec<Incident>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM incidents
         WHERE project_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR service = $3)
           AND ($4::text IS NULL OR severity = $4) AND ($5::text IS NULL OR source = $5)
         ORDER BY last_seen DESC, id DESC LIMIT $6"
    ))
    .bind(project.project())
    .bind(query.state)
    .bind(&query.service)
    .bind(query.severity)
    .bind(&query.source)
    .bind(MAX_LISTED)
    .fetch_all(db)
    .await?;
    let ids: Vec<IncidentId> = rows.iter().map(|row| row.id).collect();
    let (mut candidates, mut links) = requirements_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let (candidates, links) =
                (candidates.remove(&row.id).unwrap_or_default(), links.remove(&row.id).unwrap_or_default());
            row.into_incident(candidates, links)
        })
        .collect())
}

/// One incident with its description, labels and timeline.
pub async fn get(db: &PgPool, actor: &Actor, id: IncidentId) -> Result<IncidentDetail> {
    let (row, _) = authorized(db, actor, id, Permission::Read).await?;
    let (mut candidates, mut links) = requirements_of(db, &[id]).await?;
    let mut timeline: Vec<(IncidentEventKind, DateTime<Utc>)> =
        sqlx::query_as("SELECT kind, at FROM incident_events WHERE incident_id = $1 ORDER BY id DESC LIMIT $2")
            .bind(id)
            .bind(TIMELINE)
            .fetch_all(db)
            .await?;
    timeline.reverse();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM incident_events WHERE incident_id = $1")
        .bind(id)
        .fetch_one(db)
        .await?;
    let drafts: Vec<IncidentDraft> = sqlx::query_as(
        "SELECT d.mode, b.name AS branch, c.number AS change_request, c.state, d.key, d.proposed_by, d.created_at
         FROM incident_drafts d JOIN change_requests c ON c.id = d.change_request_id
         JOIN branches b ON b.id = c.source_branch_id
         WHERE d.incident_id = $1 ORDER BY d.created_at DESC",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let description = row.description.clone();
    let labels = row.labels.0.clone();
    let (url, started_at, ended_at, dismissed_reason) =
        (row.url.clone(), row.started_at, row.ended_at, row.dismissed_reason.clone());
    let incident = row.into_incident(candidates.remove(&id).unwrap_or_default(), links.remove(&id).unwrap_or_default());
    Ok(IncidentDetail {
        incident,
        description,
        labels,
        url,
        started_at,
        ended_at,
        dismissed_reason,
        earlier_events: events - timeline.len() as i64,
        timeline: timeline.into_iter().map(|(kind, at)| IncidentEvent { kind, at }).collect(),
        drafts,
    })
}

/// The slug of the incident's project, for someone who may read it.
pub async fn project_slug(db: &PgPool, actor: &Actor, id: IncidentId) -> Result<String> {
    let (_, project) = authorized(db, actor, id, Permission::Read).await?;
    Ok(sqlx::query_scalar("SELECT slug FROM projects WHERE id = $1").bind(project.project()).fetch_one(db).await?)
}

/// Links the incident to a requirement of its project (a writer's decision).
pub async fn link(db: &PgPool, actor: &Actor, id: IncidentId, requirement: Uuid) -> Result<IncidentDetail> {
    let (_, project) = authorized(db, actor, id, Permission::Write).await?;
    let mut tx = project.begin(db).await?;
    lock(&mut tx, id).await?;
    let key: Option<String> = sqlx::query_scalar(
        "SELECT br.key FROM requirements r
         JOIN branches b ON b.project_id = r.project_id AND b.name = 'main'
         JOIN branch_requirements br ON br.branch_id = b.id AND br.requirement_id = r.id
         WHERE r.id = $1 AND r.project_id = $2",
    )
    .bind(requirement)
    .bind(project.project())
    .fetch_optional(&mut *tx)
    .await?;
    let key = key.ok_or_else(|| Error::Invalid("that requirement is not on this project's main branch".into()))?;
    sqlx::query(
        "INSERT INTO incident_links (incident_id, requirement_id, linked_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(requirement)
    .bind(actor.user_id)
    .execute(&mut *tx)
    .await?;
    // Linking decides the triage, whatever it was (a dismissed incident may turn out to matter).
    sqlx::query("UPDATE incidents SET state = 'linked', dismissed_reason = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut *tx, project.audit("incident.link", ("incident", id), format!("linked to {key}"))).await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// Removes a link; an incident left without any is open again.
pub async fn unlink(db: &PgPool, actor: &Actor, id: IncidentId, requirement: Uuid) -> Result<IncidentDetail> {
    let (_, project) = authorized(db, actor, id, Permission::Write).await?;
    let mut tx = project.begin(db).await?;
    lock(&mut tx, id).await?;
    let removed = sqlx::query("DELETE FROM incident_links WHERE incident_id = $1 AND requirement_id = $2")
        .bind(id)
        .bind(requirement)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if removed == 0 {
        return Err(Error::NotFound("this incident is not linked to that requirement".into()));
    }
    sqlx::query(
        "UPDATE incidents SET state = 'open'
         WHERE id = $1 AND state = 'linked' AND NOT EXISTS (SELECT 1 FROM incident_links WHERE incident_id = $1)",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit::record(&mut *tx, project.audit("incident.unlink", ("incident", id), format!("unlinked {requirement}")))
        .await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// Judges the incident not to concern the specification, with why; its links go.
pub async fn dismiss(db: &PgPool, actor: &Actor, id: IncidentId, request: DismissIncident) -> Result<IncidentDetail> {
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(Error::Invalid(format!("say why, in 1 to {MAX_REASON} characters")));
    }
    let (_, project) = authorized(db, actor, id, Permission::Write).await?;
    let mut tx = project.begin(db).await?;
    lock(&mut tx, id).await?;
    sqlx::query("DELETE FROM incident_links WHERE incident_id = $1").bind(id).execute(&mut *tx).await?;
    sqlx::query("UPDATE incidents SET state = 'dismissed', dismissed_reason = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    audit::record(&mut *tx, project.audit("incident.dismiss", ("incident", id), format!("dismissed: {reason}")))
        .await?;
    tx.commit().await?;
    get(db, actor, id).await
}

/// The incident, if the caller may `need` in its project (404 to non-members, as for
/// everything of a project they cannot see).
pub(super) async fn authorized(
    db: &PgPool,
    actor: &Actor,
    id: IncidentId,
    need: Permission,
) -> Result<(Row, ProjectAccess)> {
    let row: Row = sqlx::query_as(&format!("SELECT {COLUMNS} FROM incidents WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await?
        .ok_or_else(|| Error::not_found("incident"))?;
    let project = authorization::authorize(db, actor, row.project_id, need).await.map_err(|err| match err {
        Error::NotFound(_) => Error::not_found("incident"),
        other => other,
    })?;
    Ok((row, project))
}

/// Holds the incident's row until commit: one triage decision at a time, each seeing
/// the links the one before it left.
async fn lock(tx: &mut sqlx::PgConnection, id: IncidentId) -> Result<()> {
    sqlx::query("SELECT 1 FROM incidents WHERE id = $1 FOR UPDATE").bind(id).execute(&mut *tx).await?;
    Ok(())
}

type ByIncident = HashMap<IncidentId, Vec<IncidentRequirement>>;

/// The candidates and links of `ids`, keyed as they are on `main`.
async fn requirements_of(db: &PgPool, ids: &[IncidentId]) -> Result<(ByIncident, ByIncident)> {
    let rows: Vec<(IncidentId, Uuid, Option<String>, Option<f32>, bool)> = sqlx::query_as(
        "SELECT x.incident_id, x.requirement_id, br.key, x.score, x.linked
         FROM (SELECT incident_id, requirement_id, score, rank, false AS linked FROM incident_candidates
               WHERE incident_id = ANY($1)
               UNION ALL
               SELECT incident_id, requirement_id, NULL, 0, true FROM incident_links WHERE incident_id = ANY($1)) x
         JOIN incidents i ON i.id = x.incident_id
         LEFT JOIN branches b ON b.project_id = i.project_id AND b.name = 'main'
         LEFT JOIN branch_requirements br ON br.branch_id = b.id AND br.requirement_id = x.requirement_id
         ORDER BY x.incident_id, x.rank",
    )
    .bind(ids)
    .fetch_all(db)
    .await?;
    let (mut candidates, mut links) = (ByIncident::new(), ByIncident::new());
    for (incident, requirement_id, key, score, linked) in rows {
        let target = if linked { &mut links } else { &mut candidates };
        target.entry(incident).or_default().push(IncidentRequirement { requirement_id, key, score });
    }
    Ok((candidates, links))
}

impl Row {
    /// What a draft says about the incident.
    pub(super) fn facts(&self) -> Facts {
        Facts {
            id: self.id,
            title: self.title.clone(),
            description: self.description.clone(),
            service: self.service.clone(),
            severity: self.severity,
            source: self.source.clone(),
            external_id: self.external_id.clone().unwrap_or_else(|| self.key.clone()),
            started_at: self.started_at,
            occurrences: self.occurrences,
        }
    }

    fn into_incident(self, candidates: Vec<IncidentRequirement>, links: Vec<IncidentRequirement>) -> Incident {
        Incident {
            id: self.id,
            source: self.source,
            external_id: self.external_id.unwrap_or(self.key),
            title: self.title,
            severity: self.severity,
            service: self.service,
            status: self.status,
            state: self.state,
            occurrences: self.occurrences,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            candidates,
            links,
            regression: self.regression_kind.zip(self.regression_at).map(|(kind, at)| Regression {
                kind,
                requirement_id: self.regression_requirement,
                key: self.regression_key,
                at,
            }),
        }
    }
}
