//! The audit trail: every mutation records who did what to which object, in the same
//! transaction as the change, so the trail can't disagree with the data.

use axum::extract::State;
use charter_types::Permission;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgExecutor, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::access::Actor;
use crate::error::{Error, Result};
use crate::extract::{Json, Path, Query};
use crate::projects;
use crate::AppState;

pub struct Entry {
    project_id: Option<Uuid>,
    actor_id: Uuid,
    action: &'static str,
    object_type: &'static str,
    object_id: String,
    summary: String,
    details: serde_json::Value,
}

impl Entry {
    /// Something a user did to their own account.
    pub fn account(user_id: Uuid, action: &'static str, summary: String) -> Entry {
        Entry {
            project_id: None,
            actor_id: user_id,
            action,
            object_type: "user",
            object_id: user_id.to_string(),
            summary,
            details: serde_json::Value::Null,
        }
    }

    /// Something done inside a project.
    pub fn project(
        project_id: Uuid,
        actor: &Actor,
        action: &'static str,
        object: (&'static str, impl ToString),
        summary: String,
    ) -> Entry {
        Entry {
            project_id: Some(project_id),
            actor_id: actor.user_id,
            action,
            object_type: object.0,
            object_id: object.1.to_string(),
            summary,
            details: serde_json::Value::Null,
        }
    }

    pub fn details(mut self, details: serde_json::Value) -> Entry {
        self.details = details;
        self
    }
}

pub async fn record<'e>(db: impl PgExecutor<'e>, entry: Entry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (project_id, actor_id, action, object_type, object_id, summary, details)
         VALUES ($1, $2, $3, $4, $5, $6, coalesce($7, '{}'::jsonb))",
    )
    .bind(entry.project_id)
    .bind(entry.actor_id)
    .bind(entry.action)
    .bind(entry.object_type)
    .bind(entry.object_id)
    .bind(entry.summary)
    .bind(Some(entry.details).filter(|details| !details.is_null()))
    .execute(db)
    .await?;
    Ok(())
}

/// How long one "edited" entry stands for a person's live edits to a document.
const LIVE_EDIT_WINDOW: &str = "10 minutes";

/// Records live (co-editing) edits: at most one `document.edit` entry per person and
/// document in each window, rather than one per keystroke.
pub(crate) async fn record_live_edits(
    db: impl PgExecutor<'_>,
    branch_id: Uuid,
    document_id: Uuid,
    authors: &[Uuid],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (project_id, actor_id, action, object_type, object_id, summary)
         SELECT d.project_id, a.author, 'document.edit', 'document', d.id::text, 'edited ' || bd.title
         FROM unnest($3::uuid[]) AS a (author)
         JOIN documents d ON d.id = $2
         JOIN branch_documents bd ON bd.branch_id = $1 AND bd.document_id = $2
         WHERE NOT EXISTS (
             SELECT 1 FROM audit_log l
             WHERE l.project_id = d.project_id AND l.object_id = d.id::text AND l.actor_id = a.author
               AND l.action = 'document.edit' AND l.created_at > now() - $4::interval)",
    )
    .bind(branch_id)
    .bind(document_id)
    .bind(authors)
    .bind(LIVE_EDIT_WINDOW)
    .execute(db)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Serialize, Deserialize, sqlx::FromRow, ToSchema)]
pub struct Activity {
    /// Pass as `before` to page back in time.
    pub id: i64,
    /// Username of whoever did it.
    pub actor: Option<String>,
    /// Dotted verb, e.g. `document.create`, `member.remove`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub summary: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct ActivityQuery {
    /// Only entries older than this entry id.
    pub before: Option<i64>,
    /// At most this many entries (1 to 200; default 50).
    pub limit: Option<i64>,
}

/// The project's audit trail, newest first.
pub async fn list(db: &PgPool, actor: &Actor, project_id: Uuid, query: ActivityQuery) -> Result<Vec<Activity>> {
    projects::authorize(db, actor, project_id, Permission::Read).await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::Invalid("limit must be between 1 and 200".into()));
    }
    Ok(sqlx::query_as(
        "SELECT a.id, u.username AS actor, a.action, a.object_type, a.object_id, a.summary, a.details, a.created_at
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         WHERE a.project_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
         ORDER BY a.id DESC LIMIT $3",
    )
    .bind(project_id)
    .bind(query.before)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(activity_handler))
}

/// The project's activity (audit trail), newest first.
#[utoipa::path(get, path = "/projects/{id}/activity", tag = "activity",
    params(("id" = Uuid, Path, description = "Project id"), ActivityQuery),
    responses((status = 200, body = Vec<Activity>), (status = 404, body = crate::error::ErrorBody)))]
async fn activity_handler(
    State(state): State<AppState>,
    actor: Actor,
    Path(project_id): Path<Uuid>,
    Query(query): Query<ActivityQuery>,
) -> Result<Json<Vec<Activity>>> {
    Ok(Json(list(&state.db, &actor, project_id, query).await?))
}
