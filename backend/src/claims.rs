//! Claims held by a transaction: one merge, resolution, close or reopening of a change
//! request at a time, and no deleting its branches under one; and who decides, per
//! project, whether an incident may get a draft.

use charter_types::{ChangeRequestId, ProjectId};
use sqlx::PgConnection;

use crate::error::{Error, Result};

/// Takes the change request's claim until `tx` ends, unless someone holds it: one merge
/// or resolution at a time, and no deleting its branches under one. A second claimant
/// is told at once (false) rather than queued behind the first, holding a connection.
pub(crate) async fn try_claim(tx: &mut PgConnection, id: ChangeRequestId) -> Result<bool> {
    let (claimed,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtextextended($1::text, 12))")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    Ok(claimed)
}

/// The advisory lock's namespace for incident drafts.
const INCIDENT_DRAFTS: i32 = 0x6472_6166; // "draf"

/// Serialises, per project until `tx` ends, what decides whether an incident may get a
/// draft (one under review or in the making at a time): reserving one, and reopening a
/// draft's closed change request. Reserving also hands out drafted requirement IDs under it.
pub(crate) async fn lock_incident_drafts(tx: &mut PgConnection, project: ProjectId) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2::text))")
        .bind(INCIDENT_DRAFTS)
        .bind(project)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Why a claim was refused.
pub(crate) fn busy(number: i32) -> Error {
    Error::Conflict(format!("change request #{number} is being merged or resolved right now; try again in a moment"))
}
