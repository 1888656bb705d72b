//! The `/projects/{id}/documents` and `/documents/{id}` routes.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{Document, TreeEntry};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{create, delete, get, restore, set_content, tree, update};
use super::{ContentBody, DocumentPatch, NewDocument, TreeQuery};
use crate::authorization::{need, Document as InDocument, Project};
use crate::branches::BranchQuery;
use crate::error::Result;
use crate::extract::{Json, Query};
use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tree_handler, create_handler))
        .routes(routes!(get_handler, update_handler, delete_handler))
        .routes(routes!(content_handler))
        .routes(routes!(restore_handler))
        .merge(super::raw::router())
}

/// The project's documents as a tree: each entry names its parent.
#[utoipa::path(get, path = "/projects/{id}/documents", tag = "documents",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path), TreeQuery),
    responses((status = 200, body = Vec<TreeEntry>), (status = 404, body = crate::error::ErrorBody)))]
async fn tree_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<TreeQuery>,
) -> Result<Json<Vec<TreeEntry>>> {
    Ok(Json(tree(&state.db, &project, query).await?))
}

/// Create a document (editors and above).
#[utoipa::path(post, path = "/projects/{id}/documents", tag = "documents",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), BranchQuery), request_body = NewDocument,
    responses((status = 201, body = Document), (status = 403, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Query(branch): Query<BranchQuery>,
    Json(new): Json<NewDocument>,
) -> Result<(StatusCode, Json<Document>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &project, new, branch.name()).await?)))
}

/// A document with its Markdown content.
#[utoipa::path(get, path = "/documents/{id}", tag = "documents",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Document), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    document: InDocument<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Document>> {
    Ok(Json(get(&state, &document, document.id(), branch.name()).await?))
}

/// Rename a document or move it in the tree.
#[utoipa::path(patch, path = "/documents/{id}", tag = "documents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), BranchQuery),
    request_body = DocumentPatch,
    responses((status = 200, body = Document), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn update_handler(
    State(state): State<AppState>,
    document: InDocument<need::Write>,
    Query(branch): Query<BranchQuery>,
    Json(patch): Json<DocumentPatch>,
) -> Result<Json<Document>> {
    Ok(Json(update(&state.db, &document, document.id(), patch, branch.name()).await?))
}

/// Replace a document's Markdown content, or merge a change into it (with `base`).
#[utoipa::path(put, path = "/documents/{id}/content", tag = "documents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), BranchQuery),
    request_body = ContentBody,
    responses((status = 200, body = Document), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn content_handler(
    State(state): State<AppState>,
    document: InDocument<need::Write>,
    Query(branch): Query<BranchQuery>,
    Json(body): Json<ContentBody>,
) -> Result<Json<Document>> {
    Ok(Json(set_content(&state, &document, document.id(), &body, branch.name()).await?))
}

/// Move a document, and the documents under it, to the trash.
#[utoipa::path(delete, path = "/documents/{id}", tag = "documents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 204), (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn delete_handler(
    State(state): State<AppState>,
    document: InDocument<need::Write>,
    Query(branch): Query<BranchQuery>,
) -> Result<StatusCode> {
    delete(&state.db, &document, document.id(), branch.name()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Bring a deleted document, and what was deleted with it, back.
#[utoipa::path(post, path = "/documents/{id}/restore", tag = "documents",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Document), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn restore_handler(
    State(state): State<AppState>,
    document: InDocument<need::Write>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Document>> {
    Ok(Json(restore(&state.db, &document, document.id(), branch.name()).await?))
}
