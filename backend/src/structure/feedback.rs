//! What production said about a requirement: the incidents linked to it (or flagged as
//! its regressions), and the incidents it was written after (its provenance: drafts
//! from incidents whose change requests merged).

use charter_types::{Provenance, RequirementIncident};
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::Result;

/// Incidents listed on a requirement's page at most, latest first.
const MAX_INCIDENTS: i64 = 100;

/// The incidents linked to `requirement`, or that came back after it was written.
pub(super) async fn incidents(db: &PgPool, requirement: Uuid) -> Result<Vec<RequirementIncident>> {
    Ok(sqlx::query_as(
        "SELECT i.id, i.title, i.source, i.severity, i.status, i.last_seen,
                coalesce(i.regression_requirement = $1, false) AS regression
         FROM incidents i
         WHERE i.id IN (SELECT incident_id FROM incident_links WHERE requirement_id = $1)
            OR i.regression_requirement = $1
         ORDER BY i.last_seen DESC LIMIT $2",
    )
    .bind(requirement)
    .bind(MAX_INCIDENTS)
    .fetch_all(db)
    .await?)
}

/// The incidents `requirement` was added or amended after, in the order they merged.
pub(super) async fn provenance(db: &PgPool, requirement: Uuid) -> Result<Vec<Provenance>> {
    Ok(sqlx::query_as(
        "SELECT d.incident_id, i.title AS incident_title, d.mode, c.number AS change_request, c.merged_at
         FROM incident_drafts d
         JOIN change_requests c ON c.id = d.change_request_id AND c.state = 'merged'
         JOIN incidents i ON i.id = d.incident_id
         WHERE d.requirement_id = $1
         ORDER BY c.merged_at",
    )
    .bind(requirement)
    .fetch_all(db)
    .await?)
}
