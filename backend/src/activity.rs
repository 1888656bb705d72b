//! A project's activity: its audit trail, newest first, as the API and the UI show it.

use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Project, ProjectAccess};
use crate::error::{Error, Result};
use crate::extract::{Json, Query};
use crate::AppState;

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
    /// The change request's number, when the entry is about one.
    pub change_request: Option<i32>,
    /// The branch the entry is about, or its change was made on, while it exists.
    pub branch: Option<String>,
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
pub async fn list(db: &PgPool, project: &ProjectAccess, query: ActivityQuery) -> Result<Vec<Activity>> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::Invalid("limit must be between 1 and 200".into()));
    }
    Ok(sqlx::query_as(
        "SELECT a.id, u.username AS actor, a.action, a.object_type, a.object_id, a.summary, a.details, a.created_at,
                cr.number AS change_request, coalesce(b.name, made_on.name) AS branch
         FROM audit_log a
         LEFT JOIN users u ON u.id = a.actor_id
         LEFT JOIN change_requests cr ON cr.id = CASE WHEN a.object_type = 'change_request' AND a.object_id ~ $4
                                                      THEN a.object_id::uuid END
         LEFT JOIN branches b ON b.id = CASE WHEN a.object_type = 'branch' AND a.object_id ~ $4
                                              THEN a.object_id::uuid END
         LEFT JOIN branches made_on ON made_on.id = a.branch_id
         WHERE a.project_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
         ORDER BY a.id DESC LIMIT $3",
    )
    .bind(project.project())
    .bind(query.before)
    .bind(limit)
    // Only a well-formed id is cast, so no entry can make the list fail.
    .bind("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
    .fetch_all(db)
    .await?)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(activity_handler))
}

/// The project's activity (audit trail), newest first.
#[utoipa::path(get, path = "/projects/{id}/activity", tag = "activity",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path, description = "Project id"), ActivityQuery),
    responses((status = 200, body = Vec<Activity>), (status = 404, body = crate::error::ErrorBody)))]
async fn activity_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<ActivityQuery>,
) -> Result<Json<Vec<Activity>>> {
    Ok(Json(list(&state.db, &project, query).await?))
}
