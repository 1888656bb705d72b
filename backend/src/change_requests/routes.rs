//! The `/projects/{id}/change-requests` routes.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{ApiChange, ChangeRequestSummary, Comment};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{close, comment, confirm_bump, create, get, list, merge, reopen, resolve, resolve_thread, review};
use super::{BumpConfirmation, ChangeRequest, Created, MergeRequest, Merged, NewChangeRequest, NewComment};
use super::{NewReview, Resolution, StateQuery, ThreadResolution};
use crate::authorization::{need, Project};
use crate::error::Result;
use crate::extract::{Json, Path, Query};
use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(confirm_bump_handler))
        .routes(routes!(bumps_handler))
        .routes(routes!(create_handler, list_handler))
        .routes(routes!(get_handler))
        .routes(routes!(api_diff_handler))
        .routes(routes!(review_handler))
        .routes(routes!(comment_handler))
        .routes(routes!(thread_resolution_handler))
        .routes(routes!(merge_handler))
        .routes(routes!(resolve_handler))
        .routes(routes!(close_handler))
        .routes(routes!(reopen_handler))
}

/// Close the change request without merging it: its author, reviewers and owners.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/close", tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)),
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "it is not open, or is being merged", body = crate::error::ErrorBody)))]
async fn close_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, number)): Path<(Uuid, i32)>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(close(&state.db, &project, number).await?))
}

/// Reopen a closed change request (a merged one stays merged): its author, reviewers and owners.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/reopen", tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)),
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "it is open or merged", body = crate::error::ErrorBody)))]
async fn reopen_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, number)): Path<(Uuid, i32)>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(reopen(&state.db, &project, number).await?))
}

/// Resolve a conflict: the document's merged text, recorded on the source branch.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/resolve", tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = Resolution,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn resolve_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, number)): Path<(Uuid, i32)>,
    Json(resolution): Json<Resolution>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(resolve(&state, &project, number, resolution).await?))
}

/// Merge the change request: needs enough approvals that are not stale and no conflicts.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/merge", tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = MergeRequest,
    responses((status = 200, body = Merged), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "conflicts to resolve first, listed in `error.details.conflicts`", body = crate::error::ErrorBody)))]
async fn merge_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, number)): Path<(Uuid, i32)>,
    Json(request): Json<MergeRequest>,
) -> Result<Json<Merged>> {
    Ok(Json(merge(&state, &project, number, request).await?))
}

/// Open a change request from a source branch into a target branch (editors and above).
#[utoipa::path(post, path = "/projects/{id}/change-requests", tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path)),
    request_body = NewChangeRequest,
    responses((status = 201, body = Created), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn create_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Json(new): Json<NewChangeRequest>,
) -> Result<(StatusCode, Json<Created>)> {
    Ok((StatusCode::CREATED, Json(create(&state.db, &project, new).await?)))
}

/// The project's change requests, newest first.
#[utoipa::path(get, path = "/projects/{id}/change-requests", tag = "change requests",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path), StateQuery),
    responses((status = 200, body = Vec<ChangeRequestSummary>), (status = 404, body = crate::error::ErrorBody)))]
async fn list_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<StateQuery>,
) -> Result<Json<Vec<ChangeRequestSummary>>> {
    Ok(Json(list(&state.db, &project, query).await?))
}

/// A change request with its per-document changes, conflicts, reviews and discussion.
#[utoipa::path(get, path = "/projects/{id}/change-requests/{number}", tag = "change requests",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)),
    responses((status = 200, body = ChangeRequest), (status = 404, body = crate::error::ErrorBody)))]
async fn get_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Path((_id, number)): Path<(Uuid, i32)>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(get(&state.db, &project, number).await?))
}

/// What the change request does to the project's contracts: each API change with the
/// rule that classified it, breaking or not (a merged one, as it merged).
#[utoipa::path(get, path = "/projects/{id}/change-requests/{number}/api-diff", tag = "change requests",
    extensions(("x-charter-access" = json!("viewer"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)),
    responses((status = 200, body = Vec<ApiChange>), (status = 404, body = crate::error::ErrorBody)))]
async fn api_diff_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Path((_id, number)): Path<(Uuid, i32)>,
) -> Result<Json<Vec<ApiChange>>> {
    let change_request = get(&state.db, &project, number).await?;
    let changes = change_request.documents.into_iter().filter_map(|document| document.api);
    Ok(Json(changes.flat_map(|review| review.changes).collect()))
}

/// Approve or request changes (reviewers and owners; not on one's own change request).
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/reviews", tag = "change requests",
    extensions(("x-charter-access" = json!("reviewer"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = NewReview,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn review_handler(
    State(state): State<AppState>,
    project: Project<need::Review>,
    Path((_id, number)): Path<(Uuid, i32)>,
    Json(new): Json<NewReview>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(review(&state.db, &project, number, new).await?))
}

/// Comment on a change request, or on a line of one of its documents.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/comments", tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = NewComment,
    responses((status = 201, body = Comment), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn comment_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, number)): Path<(Uuid, i32)>,
    Json(new): Json<NewComment>,
) -> Result<(StatusCode, Json<Comment>)> {
    Ok((StatusCode::CREATED, Json(comment(&state.db, &project, number, new).await?)))
}

/// Resolve the thread a comment starts (`resolved: true`), or reopen it: anyone who may comment.
#[utoipa::path(put, path = "/projects/{id}/change-requests/{number}/comments/{comment_id}/resolution",
    tag = "change requests",
    extensions(("x-charter-access" = json!("editor"))),
    params(("id" = Uuid, Path), ("number" = i32, Path), ("comment_id" = Uuid, Path, description = "The thread's first comment")),
    request_body = ThreadResolution,
    responses((status = 200, body = Comment), (status = 403, body = crate::error::ErrorBody),
              (status = 404, description = "no such thread (replies are not threads)", body = crate::error::ErrorBody)))]
async fn thread_resolution_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Path((_id, number, comment_id)): Path<(Uuid, i32, Uuid)>,
    Json(resolution): Json<ThreadResolution>,
) -> Result<Json<Comment>> {
    Ok(Json(resolve_thread(&state.db, &project, number, comment_id, resolution).await?))
}

/// Confirm the constitution's version bump (`major`, `minor` or `patch`): reviewers who
/// did not write the change.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/constitution", tag = "change requests",
    extensions(("x-charter-access" = json!("reviewer"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = BumpConfirmation,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn confirm_bump_handler(
    State(state): State<AppState>,
    project: Project<need::Review>,
    Path((_id, number)): Path<(Uuid, i32)>,
    Json(confirmation): Json<BumpConfirmation>,
) -> Result<Json<ChangeRequest>> {
    let constitution = BumpConfirmation { document_id: None, ..confirmation };
    bumps_handler(State(state), project, Path((_id, number)), Json(constitution)).await
}

/// Confirm a version bump (`major`, `minor` or `patch`): a contract's, named by
/// `document_id`, or the constitution's without it. Reviewers who did not write the
/// change; merging then writes the version into the contract's `info.version` and tags
/// the merged version `<contract>@x.y.z`.
#[utoipa::path(post, path = "/projects/{id}/change-requests/{number}/bumps", tag = "change requests",
    extensions(("x-charter-access" = json!("reviewer"))),
    params(("id" = Uuid, Path), ("number" = i32, Path)), request_body = BumpConfirmation,
    responses((status = 200, body = ChangeRequest), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
async fn bumps_handler(
    State(state): State<AppState>,
    project: Project<need::Review>,
    Path((_id, number)): Path<(Uuid, i32)>,
    Json(confirmation): Json<BumpConfirmation>,
) -> Result<Json<ChangeRequest>> {
    Ok(Json(confirm_bump(&state.db, &project, number, confirmation).await?))
}
