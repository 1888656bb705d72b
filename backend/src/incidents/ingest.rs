//! Taking in what tools report: each delivery once, each signal folded into the
//! incident of its source and key (opened, repeated, resolved or reopened), all in one
//! transaction that also queues new and returning incidents for matching. Answering
//! after the commit means a crash right after a `202` loses nothing.

use std::time::Duration;

use charter_types::{DeliveryAccepted, IncidentAccepted, IncidentEventKind, IncidentId, ProjectId};
use sqlx::PgPool;

use super::signal::{Delivery, DeliveryId, Signal};
use crate::authorization::ProjectAccess;
use crate::error::Result;

/// How long the same bytes from a tool that gives no delivery id count as a retry:
/// tools retry within minutes; Alertmanager re-sends an unchanged group after hours,
/// which is a repeat.
const RETRY_WINDOW: Duration = Duration::from_secs(3600);

/// Leave to take in deliveries for a project: made only where the caller proved itself.
pub enum Intake {
    /// An API token with the `incidents:write` scope of a member who may write: their
    /// role is confirmed again inside the transaction that stores the delivery.
    Reporter(ProjectAccess),
    /// A tool's signature under the project's secret, just checked.
    Signed(ProjectId),
}

impl Intake {
    fn project(&self) -> ProjectId {
        match self {
            Intake::Reporter(access) => access.project(),
            Intake::Signed(project) => *project,
        }
    }
}

/// Stores `delivery` (from `source`: the tool's name, or the generic sender's) for the
/// project `intake` admits. A delivery taken before changes nothing and answers as it
/// did, every incident deduplicated.
pub async fn ingest(db: &PgPool, intake: &Intake, source: &str, delivery: Delivery) -> Result<DeliveryAccepted> {
    let mut tx = match intake {
        Intake::Reporter(access) => access.begin(db).await?,
        Intake::Signed(_) => db.begin().await?,
    };
    let project = intake.project();
    let (id, window) = match &delivery.id {
        DeliveryId::Sent(id) => (Some(id), None),
        DeliveryId::Digest(digest) => (Some(digest), Some(RETRY_WINDOW)),
        DeliveryId::Unknown => (None, None),
    };
    if let Some(id) = id {
        // Taking the delivery's row first makes a concurrent retry wait for this one and
        // then find it taken; a digest seen long ago is taken afresh.
        let fresh = sqlx::query(
            "INSERT INTO incident_deliveries (project_id, source, delivery) VALUES ($1, $2, $3)
             ON CONFLICT (project_id, source, delivery) DO UPDATE SET received_at = now(), incidents = '{}'
             WHERE $4::interval IS NOT NULL AND incident_deliveries.received_at < now() - $4::interval",
        )
        .bind(project)
        .bind(source)
        .bind(id)
        .bind(window)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !fresh {
            let incidents: Vec<IncidentId> = sqlx::query_scalar(
                "SELECT unnest(incidents) FROM incident_deliveries
                 WHERE project_id = $1 AND source = $2 AND delivery = $3",
            )
            .bind(project)
            .bind(source)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let incidents = incidents.into_iter().map(|id| IncidentAccepted { id, deduplicated: true }).collect();
            return Ok(DeliveryAccepted { replay: true, incidents });
        }
    }
    // Folded in key order, so that two deliveries about the same incidents lock them in
    // the same order and never wait on each other in a circle; answered in theirs.
    let mut order: Vec<usize> = (0..delivery.signals.len()).collect();
    order.sort_by(|&a, &b| delivery.signals[a].key.cmp(&delivery.signals[b].key));
    let mut folded = vec![None; delivery.signals.len()];
    for index in order {
        folded[index] = Some(fold(&mut tx, project, &delivery.signals[index]).await?);
    }
    let incidents: Vec<IncidentAccepted> = folded.into_iter().flatten().collect();
    if let Some(id) = id {
        sqlx::query(
            "UPDATE incident_deliveries SET incidents = $4 WHERE project_id = $1 AND source = $2 AND delivery = $3",
        )
        .bind(project)
        .bind(source)
        .bind(id)
        .bind(incidents.iter().map(|accepted| accepted.id).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(DeliveryAccepted { replay: false, incidents })
}

#[derive(sqlx::FromRow)]
struct Folded {
    id: IncidentId,
    event: IncidentEventKind,
}

/// Folds one signal into its incident and records what it did to it, in one statement:
/// the conflict clause decides against the row as it is once locked, so concurrent
/// deliveries of one incident each count once and each see the other's state.
async fn fold(tx: &mut sqlx::PgConnection, project: ProjectId, signal: &Signal) -> Result<IncidentAccepted> {
    let folded: Folded = sqlx::query_as(
        "WITH folded AS (
             INSERT INTO incidents (id, project_id, source, key, external_id, title, description, severity, service,
                                    status, labels, url, started_at, ended_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             ON CONFLICT (project_id, source, key) DO UPDATE SET
                 external_id = coalesce(EXCLUDED.external_id, incidents.external_id),
                 title = EXCLUDED.title, description = EXCLUDED.description, severity = EXCLUDED.severity,
                 service = EXCLUDED.service, status = EXCLUDED.status, labels = EXCLUDED.labels,
                 url = coalesce(EXCLUDED.url, incidents.url), ended_at = EXCLUDED.ended_at, last_seen = now(),
                 occurrences = incidents.occurrences + (EXCLUDED.status = 'firing')::int,
                 last_event = CASE
                     WHEN EXCLUDED.status = 'firing' AND incidents.status = 'resolved' THEN 'reopened'
                     WHEN EXCLUDED.status = 'resolved' AND incidents.status = 'firing' THEN 'resolved'
                     ELSE 'repeated' END
             RETURNING id, last_event AS event),
         logged AS (INSERT INTO incident_events (incident_id, kind) SELECT id, event FROM folded),
         -- A new or returning incident is matched (again); a repeat says nothing new. One
         -- a matcher holds is queued anew, so that its matcher does not take the row away.
         queued AS (INSERT INTO incident_queue (incident_id) SELECT id FROM folded WHERE event IN ('opened', 'reopened')
                    ON CONFLICT (incident_id) DO UPDATE SET queued_at = clock_timestamp(), not_before = now(),
                                                         attempts = 0)
         SELECT id, event FROM folded",
    )
    .bind(IncidentId::from_uuid(uuid::Uuid::now_v7()))
    .bind(project)
    .bind(signal.source.as_str())
    .bind(&signal.key)
    .bind(&signal.external_id)
    .bind(&signal.title)
    .bind(&signal.description)
    .bind(signal.severity)
    .bind(&signal.service)
    .bind(signal.status)
    .bind(sqlx::types::Json(&signal.labels))
    .bind(&signal.url)
    .bind(signal.started_at)
    .bind(signal.ended_at)
    .fetch_one(&mut *tx)
    .await?;
    Ok(IncidentAccepted { id: folded.id, deduplicated: folded.event != IncidentEventKind::Opened })
}
