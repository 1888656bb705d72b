//! Closing a change request unmerged, and reopening it. Either is allowed to its author
//! and to anyone who may review. Each claims the change request as merging does, so a
//! close and a merge arriving together cannot both succeed: whichever claims it first
//! decides, and the other finds it busy, closed or merged.

use charter_types::{ChangeRequestId, ChangeRequestState};
use sqlx::PgPool;

use super::actions::Caller;
use super::{get, locked_state, record, ChangeRequest};
use crate::audit;
use crate::authorization::ProjectAccess;
use crate::claims::{busy, lock_incident_drafts, try_claim};
use crate::error::{Error, Result};

/// Closes an open change request without merging it.
pub async fn close(db: &PgPool, project: &ProjectAccess, number: i32) -> Result<ChangeRequest> {
    set_state(db, project, number, ChangeRequestState::Closed).await
}

/// Opens a closed change request again; a merged one stays merged.
pub async fn reopen(db: &PgPool, project: &ProjectAccess, number: i32) -> Result<ChangeRequest> {
    set_state(db, project, number, ChangeRequestState::Open).await
}

/// Moves the change request to `to` (open or closed) from the other of the two.
async fn set_state(db: &PgPool, project: &ProjectAccess, number: i32, to: ChangeRequestState) -> Result<ChangeRequest> {
    let record = record(db, project.project(), number).await?;
    let (verb, done, action) = match to {
        ChangeRequestState::Closed => ("close", "closed", "change_request.close"),
        _ => ("reopen", "reopened", "change_request.reopen"),
    };
    // The role as it is inside the transaction: one taken away meanwhile counts.
    let mut tx = db.begin().await?;
    let role = project.confirmed_role(&mut tx).await?;
    if !(Caller { role, ..Caller::of(project, record.author_id) }).may_close() {
        return Err(Error::Forbidden(format!(
            "only the author of change request #{number} or a reviewer can {verb} it"
        )));
    }
    // A merge or resolution under way holds the claim: told at once, rather than waited for.
    if !try_claim(&mut tx, record.id).await? {
        return Err(busy(number));
    }
    // Waits only for a review or confirmation being written.
    let state = locked_state(&mut tx, record.id, number, "FOR NO KEY UPDATE").await?;
    match (state, to) {
        (ChangeRequestState::Merged, ChangeRequestState::Open) => {
            return Err(Error::Conflict(format!(
                "change request #{number} is merged, and a merged change request cannot be reopened: \
                 open a new one for further changes"
            )))
        }
        (ChangeRequestState::Merged, _) => {
            return Err(Error::Conflict(format!("change request #{number} is merged, so there is nothing to close")))
        }
        (state, to) if state == to => {
            return Err(Error::Conflict(format!("change request #{number} is already {state}")));
        }
        _ => {}
    }
    if to == ChangeRequestState::Open {
        other_draft(&mut tx, project, record.id).await?;
    }
    sqlx::query("UPDATE change_requests SET state = $2 WHERE id = $1")
        .bind(record.id)
        .bind(to)
        .execute(&mut *tx)
        .await?;
    let summary = format!("{done} change request #{number}");
    audit::record(&mut *tx, project.audit(action, ("change_request", record.id), summary)).await?;
    tx.commit().await?;
    get(db, project, number).await
}

/// Refuses to reopen an incident's draft while another draft of the same incident is
/// under review or being made: an incident has one at a time.
async fn other_draft(tx: &mut sqlx::PgConnection, project: &ProjectAccess, id: ChangeRequestId) -> Result<()> {
    lock_incident_drafts(tx, project.project()).await?;
    let other: Option<Option<i32>> = sqlx::query_scalar(
        "SELECT oc.number FROM incident_drafts d
         JOIN incident_drafts o ON o.incident_id = d.incident_id AND o.id <> d.id
         LEFT JOIN change_requests oc ON oc.id = o.change_request_id
         WHERE d.change_request_id = $1 AND (o.change_request_id IS NULL OR oc.state = 'open') LIMIT 1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    match other {
        Some(Some(number)) => Err(Error::Conflict(format!(
            "its incident has another draft under review in change request #{number}: close that one first"
        ))),
        Some(None) => Err(Error::Conflict("another draft of its incident is being made; try again shortly".into())),
        None => Ok(()),
    }
}
