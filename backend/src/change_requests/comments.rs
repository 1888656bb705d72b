//! A change request's discussion: comments on the whole, and threads on a line of a
//! document's diff, answered and resolved in place.

use charter_types::{ChangeRequestId, Comment, DocumentId, LineSide, ProjectId};
use serde::Deserialize;
use sqlx::{PgExecutor, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use super::record;
use crate::audit;
use crate::authorization::ProjectAccess;
use crate::error::{Error, Result};

const MAX_COMMENT_CHARS: usize = 10_000;

#[derive(Deserialize, ToSchema)]
pub struct NewComment {
    pub body: String,
    pub document_id: Option<DocumentId>,
    /// A line of the document's diff, for comments on a line.
    pub line: Option<i32>,
    /// Which text the line is counted in: `new` (after the change, the default) or
    /// `old` (a removed line).
    pub side: Option<LineSide>,
    /// A comment of this change request to answer: the reply joins its thread, on its
    /// line.
    pub reply_to: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
pub struct ThreadResolution {
    /// `true` resolves the thread, `false` reopens it.
    pub resolved: bool,
}

const COMMENT_QUERY: &str = "SELECT c.id, u.username AS author, c.body, c.document_id, c.line, c.side, c.reply_to,
            r.username AS resolved_by, c.resolved_at, c.created_at
     FROM change_request_comments c JOIN users u ON u.id = c.author_id
     LEFT JOIN users r ON r.id = c.resolved_by";

/// A change request's comments, oldest first.
pub(super) async fn list(db: impl PgExecutor<'_>, change_request: ChangeRequestId) -> Result<Vec<Comment>> {
    Ok(sqlx::query_as(&format!("{COMMENT_QUERY} WHERE c.change_request_id = $1 ORDER BY c.created_at, c.id"))
        .bind(change_request)
        .fetch_all(db)
        .await?)
}

async fn one(db: impl PgExecutor<'_>, id: Uuid) -> Result<Comment> {
    Ok(sqlx::query_as(&format!("{COMMENT_QUERY} WHERE c.id = $1")).bind(id).fetch_one(db).await?)
}

/// Where a comment goes: its own place, or the thread it answers.
struct Place {
    document_id: Option<DocumentId>,
    line: Option<i32>,
    side: LineSide,
    reply_to: Option<Uuid>,
}

async fn place(db: &PgPool, project_id: ProjectId, change_request: ChangeRequestId, new: &NewComment) -> Result<Place> {
    if let Some(answered) = new.reply_to {
        // A reply to a reply answers the same thread.
        let thread: Option<(Uuid, Option<DocumentId>, Option<i32>, LineSide)> = sqlx::query_as(
            "SELECT coalesce(c.reply_to, c.id), root.document_id, root.line, root.side
             FROM change_request_comments c
             JOIN change_request_comments root ON root.id = coalesce(c.reply_to, c.id)
             WHERE c.id = $1 AND c.change_request_id = $2",
        )
        .bind(answered)
        .bind(change_request)
        .fetch_optional(db)
        .await?;
        let (root, document_id, line, side) =
            thread.ok_or_else(|| Error::Invalid("the comment answered is not in this change request".into()))?;
        return Ok(Place { document_id, line, side, reply_to: Some(root) });
    }
    if new.line.is_some() && new.document_id.is_none() {
        return Err(Error::Invalid("a comment on a line names its document".into()));
    }
    if new.line.is_some_and(|line| line < 1) {
        return Err(Error::Invalid("lines are numbered from 1".into()));
    }
    if let Some(document_id) = new.document_id {
        let known: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM documents WHERE id = $1 AND project_id = $2")
            .bind(document_id)
            .bind(project_id)
            .fetch_optional(db)
            .await?;
        known.ok_or_else(|| Error::Invalid("that document is not in this project".into()))?;
    }
    Ok(Place { document_id: new.document_id, line: new.line, side: new.side.unwrap_or(LineSide::New), reply_to: None })
}

/// Adds a comment to the discussion, to a line of a document's diff, or to a thread.
pub async fn comment(db: &PgPool, project: &ProjectAccess, number: i32, new: NewComment) -> Result<Comment> {
    let (project_id, actor) = (project.project(), project.actor());
    let record = record(db, project_id, number).await?;
    let body = new.body.trim();
    if body.is_empty() || body.chars().count() > MAX_COMMENT_CHARS {
        return Err(Error::Invalid("a comment needs 1 to 10,000 characters".into()));
    }
    let place = place(db, project_id, record.id, &new).await?;
    let id = Uuid::now_v7();
    let mut tx = project.begin(db).await?;
    sqlx::query(
        "INSERT INTO change_request_comments (id, change_request_id, author_id, body, document_id, line, side, reply_to)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(record.id)
    .bind(actor.user_id)
    .bind(body)
    .bind(place.document_id)
    .bind(place.line)
    .bind(place.side)
    .bind(place.reply_to)
    .execute(&mut *tx)
    .await?;
    let summary = match place.reply_to {
        Some(_) => format!("replied in a thread of change request #{number}"),
        None => format!("commented on change request #{number}"),
    };
    audit::record(&mut *tx, project.audit("change_request.comment", ("change_request", record.id), summary)).await?;
    tx.commit().await?;
    one(db, id).await
}

/// Resolves the thread `id` starts, or reopens it; returns its first comment.
pub async fn resolve_thread(
    db: &PgPool,
    project: &ProjectAccess,
    number: i32,
    id: Uuid,
    resolution: ThreadResolution,
) -> Result<Comment> {
    let record = record(db, project.project(), number).await?;
    let mut tx = project.begin(db).await?;
    // One conditional update: a reply, or a comment of another change request, is not
    // a thread of this one.
    let updated = sqlx::query(
        "UPDATE change_request_comments
         SET resolved_at = CASE WHEN $3 THEN now() END, resolved_by = CASE WHEN $3 THEN $4::uuid END
         WHERE id = $1 AND change_request_id = $2 AND reply_to IS NULL",
    )
    .bind(id)
    .bind(record.id)
    .bind(resolution.resolved)
    .bind(project.actor().user_id)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(Error::not_found("thread"));
    }
    let (action, verb) = match resolution.resolved {
        true => ("change_request.resolve_thread", "resolved"),
        false => ("change_request.reopen_thread", "reopened"),
    };
    let summary = format!("{verb} a thread of change request #{number}");
    audit::record(&mut *tx, project.audit(action, ("change_request", record.id), summary)).await?;
    tx.commit().await?;
    one(db, id).await
}
