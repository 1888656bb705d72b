//! The statements a batch of deliveries is stored with, each one statement for the
//! whole batch: claiming the deliveries' ids, folding their signals into incidents, and
//! noting which incidents each delivery made. Rows are written in key order, so two
//! batches about the same rows lock them in the same order and never wait on each other
//! in a circle.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use charter_types::{IncidentEventKind, IncidentId, ProjectId};
use sqlx::PgConnection;

use super::signal::Signal;
use crate::error::Result;

/// A delivery's id, to be taken for it in the batch's transaction.
pub(super) struct Claim<'a> {
    pub project: ProjectId,
    /// The tool that sent it (or the generic sender's source).
    pub source: &'a str,
    pub id: &'a str,
    /// Whether the id may be taken afresh once old (a digest of the body, which a later,
    /// unrelated delivery may repeat), rather than once ever (the sender's own id).
    pub retakable: bool,
}

impl Claim<'_> {
    fn key(&self) -> (ProjectId, &str, &str) {
        (self.project, self.source, self.id)
    }
}

/// Arrays of a claim's key fields, for `unnest`.
fn columns<'a>(claims: impl Iterator<Item = &'a Claim<'a>>) -> (Vec<ProjectId>, Vec<&'a str>, Vec<&'a str>) {
    let mut columns = (Vec::new(), Vec::new(), Vec::new());
    for claim in claims {
        columns.0.push(claim.project);
        columns.1.push(claim.source);
        columns.2.push(claim.id);
    }
    columns
}

/// Takes each claim's id for its delivery: whether it was free, in the order of `claims`
/// (whose keys are distinct). One that another transaction is taking waits for it and
/// then finds it taken; a retakable one taken longer than `window` ago is taken afresh.
pub(super) async fn claim(tx: &mut PgConnection, claims: &[Claim<'_>], window: Duration) -> Result<Vec<bool>> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<&Claim> = claims.iter().collect();
    order.sort_by(|a, b| a.key().cmp(&b.key()));
    let (projects, sources, ids) = columns(order.iter().copied());
    let (digest_projects, digest_sources, digests) = columns(order.iter().copied().filter(|claim| claim.retakable));
    let taken: Vec<(ProjectId, String, String)> = sqlx::query_as(
        "INSERT INTO incident_deliveries (project_id, source, delivery)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])
         ON CONFLICT (project_id, source, delivery) DO UPDATE SET received_at = now(), incidents = '{}'
         WHERE incident_deliveries.received_at < now() - $7::interval
           AND (incident_deliveries.project_id, incident_deliveries.source, incident_deliveries.delivery)
               IN (SELECT * FROM unnest($4::uuid[], $5::text[], $6::text[]))
         RETURNING project_id, source, delivery",
    )
    .bind(projects)
    .bind(sources)
    .bind(ids)
    .bind(digest_projects)
    .bind(digest_sources)
    .bind(digests)
    .bind(window)
    .fetch_all(&mut *tx)
    .await?;
    let taken: HashSet<(ProjectId, &str, &str)> =
        taken.iter().map(|(project, source, id)| (*project, source.as_str(), id.as_str())).collect();
    Ok(claims.iter().map(|claim| taken.contains(&claim.key())).collect())
}

/// The incidents that the deliveries of `claims`, taken before, made: in their order.
pub(super) async fn made_before(tx: &mut PgConnection, claims: &[&Claim<'_>]) -> Result<Vec<Vec<IncidentId>>> {
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let (projects, sources, ids) = columns(claims.iter().copied());
    let rows: Vec<(ProjectId, String, String, Vec<uuid::Uuid>)> = sqlx::query_as(
        "SELECT d.project_id, d.source, d.delivery, d.incidents FROM incident_deliveries d
         JOIN unnest($1::uuid[], $2::text[], $3::text[]) AS c(project_id, source, delivery)
           USING (project_id, source, delivery)",
    )
    .bind(projects)
    .bind(sources)
    .bind(ids)
    .fetch_all(&mut *tx)
    .await?;
    let mut made: HashMap<(ProjectId, &str, &str), &[uuid::Uuid]> = HashMap::new();
    for (project, source, id, incidents) in &rows {
        made.insert((*project, source, id), incidents);
    }
    Ok(claims
        .iter()
        .map(|claim| {
            made.get(&claim.key()).map_or_else(Vec::new, |ids| ids.iter().copied().map(IncidentId::from_uuid).collect())
        })
        .collect())
}

/// Records the incidents each claimed delivery made, for answering its retries.
pub(super) async fn note_made(tx: &mut PgConnection, made: &[(&Claim<'_>, Vec<IncidentId>)]) -> Result<()> {
    let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (claim, incidents) in made {
        for incident in incidents {
            columns.0.push(claim.project);
            columns.1.push(claim.source);
            columns.2.push(claim.id);
            columns.3.push(*incident);
        }
    }
    if columns.0.is_empty() {
        return Ok(());
    }
    // Every row was claimed in this transaction, so the insert always conflicts. Written
    // as an upsert because a conflict goes through the primary key, whatever the planner
    // thinks of the table's size: an `UPDATE … FROM` whose plan was cached while the
    // table was small went on scanning it whole as it grew (a storm's costliest statement).
    sqlx::query(
        "INSERT INTO incident_deliveries (project_id, source, delivery, incidents)
         SELECT project_id, source, delivery, array_agg(incident ORDER BY at)
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[])
              WITH ORDINALITY AS m(project_id, source, delivery, incident, at)
         GROUP BY project_id, source, delivery
         ON CONFLICT (project_id, source, delivery) DO UPDATE SET incidents = excluded.incidents",
    )
    .bind(columns.0)
    .bind(columns.1)
    .bind(columns.2)
    .bind(columns.3)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// What folding a signal did.
#[derive(Clone, Copy, Debug)]
pub(super) struct Folded {
    pub id: IncidentId,
    pub event: IncidentEventKind,
}

/// Folds each signal into its project's incident of the same source and key, and records
/// what it did, in one statement: the conflict clause decides against each row as it is
/// once locked, so concurrent deliveries of one incident each count once and each see
/// the other's state. No two of `signals` may share a project, source and key (a
/// statement cannot change a row twice). Answers in the order of `signals`.
pub(super) async fn fold(tx: &mut PgConnection, signals: &[(ProjectId, &Signal)]) -> Result<Vec<Folded>> {
    let mut order: Vec<&(ProjectId, &Signal)> = signals.iter().collect();
    order.sort_by(|a, b| (a.0, a.1.source.as_str(), &a.1.key).cmp(&(b.0, b.1.source.as_str(), &b.1.key)));
    let field = |pick: fn(&Signal) -> &str| order.iter().map(|(_, signal)| pick(signal)).collect::<Vec<_>>();
    let rows: Vec<(ProjectId, String, String, IncidentId, IncidentEventKind)> = sqlx::query_as(
        "WITH signal AS (
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                  $8::text[], $9::text[], $10::text[], $11::jsonb[], $12::text[], $13::timestamptz[],
                                  $14::timestamptz[])
                 WITH ORDINALITY AS s(id, project_id, source, key, external_id, title, description, severity, service,
                                      status, labels, url, started_at, ended_at, at)),
         folded AS (
             INSERT INTO incidents (id, project_id, source, key, external_id, title, description, severity, service,
                                    status, labels, url, started_at, ended_at)
             SELECT id, project_id, source, key, external_id, title, description, severity, service, status, labels,
                    url, started_at, ended_at
             FROM signal ORDER BY at
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
             RETURNING project_id, source, key, id, last_event AS event),
         logged AS (INSERT INTO incident_events (incident_id, kind) SELECT id, event FROM folded),
         -- A new or returning incident is matched (again); a repeat says nothing new. One
         -- a matcher holds is queued anew, so that its matcher does not take the row away.
         queued AS (INSERT INTO incident_queue (incident_id) SELECT id FROM folded WHERE event IN ('opened', 'reopened')
                    ON CONFLICT (incident_id) DO UPDATE SET queued_at = clock_timestamp(), not_before = now(),
                                                         attempts = 0, by_words = false)
         SELECT project_id, source, key, id, event FROM folded",
    )
    .bind(order.iter().map(|_| IncidentId::from_uuid(uuid::Uuid::now_v7())).collect::<Vec<_>>())
    .bind(order.iter().map(|(project, _)| *project).collect::<Vec<_>>())
    .bind(field(|signal| signal.source.as_str()))
    .bind(field(|signal| &signal.key))
    .bind(order.iter().map(|(_, signal)| signal.external_id.as_deref()).collect::<Vec<_>>())
    .bind(field(|signal| &signal.title))
    .bind(field(|signal| &signal.description))
    .bind(order.iter().map(|(_, signal)| signal.severity).collect::<Vec<_>>())
    .bind(field(|signal| &signal.service))
    .bind(order.iter().map(|(_, signal)| signal.status).collect::<Vec<_>>())
    .bind(order.iter().map(|(_, signal)| sqlx::types::Json(&signal.labels)).collect::<Vec<_>>())
    .bind(order.iter().map(|(_, signal)| signal.url.as_deref()).collect::<Vec<_>>())
    .bind(order.iter().map(|(_, signal)| signal.started_at).collect::<Vec<_>>())
    .bind(order.iter().map(|(_, signal)| signal.ended_at).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    let folded: HashMap<(ProjectId, &str, &str), Folded> = rows
        .iter()
        .map(|(project, source, key, id, event)| {
            ((*project, source.as_str(), key.as_str()), Folded { id: *id, event: *event })
        })
        .collect();
    signals
        .iter()
        .map(|(project, signal)| {
            folded
                .get(&(*project, signal.source.as_str(), signal.key.as_str()))
                .copied()
                .ok_or_else(|| crate::error::Error::internal("a folded signal came back without its incident"))
        })
        .collect()
}
