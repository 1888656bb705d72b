//! Restoring a version: a forward change, never a rewrite of history. A new branch
//! from the version's branch holds every document as it stood at the version, and a
//! change request proposes merging it (reviewed like any other).

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::DocumentId;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::audit;
use crate::authorization::{need, Project, ProjectAccess};
use crate::branches;
use crate::change_requests::{self, Created, NewChangeRequest};
use crate::collab::DocKey;
use crate::error::Result;
use crate::extract::{Json, Path};
use crate::history::resolve_version;
use crate::{content, AppState};

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(restore_handler))
}

/// Brings a branch back to a version: see the module's description.
pub async fn restore(state: &AppState, project: &ProjectAccess, reference: &str) -> Result<Created> {
    let db = &state.db;
    let version = resolve_version(db, project.project(), reference).await?;
    // Named `restore/vN` (or `restore/vN-2`, ... when taken).
    let branch =
        branches::create_numbered(db, project, &format!("restore/v{}", version.number), &version.branch).await?;
    let documents: Vec<(DocumentId, String, Option<DocumentId>, i32, bool, String)> = sqlx::query_as(
        "SELECT document_id, title, parent_id, position, deleted, content FROM version_documents WHERE version_id = $1",
    )
    .bind(version.id)
    .fetch_all(db)
    .await?;
    for (document_id, title, parent_id, position, deleted, text) in &documents {
        content::replace(&state.collab, DocKey::new(branch.id, *document_id), text, project.actor().user_id).await?;
        sqlx::query(
            "UPDATE branch_documents SET title = $3, parent_id = $4, position = $5,
                 deleted_at = CASE WHEN $6 THEN coalesce(deleted_at, now()) END
             WHERE branch_id = $1 AND document_id = $2",
        )
        .bind(branch.id)
        .bind(document_id)
        .bind(title)
        .bind(parent_id)
        .bind(position)
        .bind(deleted)
        .execute(db)
        .await?;
    }
    // What was written after the version goes.
    let kept: Vec<DocumentId> = documents.iter().map(|(id, ..)| *id).collect();
    sqlx::query(
        "UPDATE branch_documents SET deleted_at = coalesce(deleted_at, now())
         WHERE branch_id = $1 AND NOT (document_id = ANY($2))",
    )
    .bind(branch.id)
    .bind(&kept)
    .execute(db)
    .await?;
    let summary = format!("proposed restoring {} to version {}", version.branch, version.number);
    audit::record(db, project.audit("version.restore", ("version", version.id), summary)).await?;
    let proposal = NewChangeRequest {
        source: branch.name,
        target: version.branch.clone(),
        title: format!("Restore version {}: {}", version.number, version.message),
        description: Some(format!(
            "Brings every document of `{}` back to version {}. Merging records a new version; history is unchanged.",
            version.branch, version.number
        )),
    };
    change_requests::create(db, project, proposal).await
}

/// Propose bringing the version's branch back to it: opens a change request.
#[utoipa::path(post, path = "/projects/{id}/versions/{version}/restore", tag = "history",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("version" = String, Path, description = "version id or tag")),
    responses((status = 201, body = Created), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
async fn restore_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, version)): Path<(Uuid, String)>,
) -> Result<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(restore(&state, &project, &version).await?)))
}
