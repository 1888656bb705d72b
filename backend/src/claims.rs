//! Claims on change requests, held by a transaction: one merge or resolution of a
//! change request at a time, and no deleting its branches under one.

use charter_types::ChangeRequestId;
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

/// Why a claim was refused.
pub(crate) fn busy(number: i32) -> Error {
    Error::Conflict(format!("change request #{number} is being merged or resolved right now; try again in a moment"))
}
