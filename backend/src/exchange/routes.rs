//! `GET /projects/{id}/export` and `POST /projects/{id}/import`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use charter_types::{ExportFormat, ImportPlan, Imported, Layout};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Project};
use crate::branches;
use crate::error::{Error, Result};
use crate::extract::{Json, Query, Upload};
use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_handler)).routes(routes!(import_handler))
}

/// An archive's bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // Only its schema is used: the body is read as bytes.
struct Archive(Vec<u8>);

#[derive(Deserialize, IntoParams)]
struct ExportQuery {
    /// `charter`, `speckit`, `openspec` or `kiro` (a `.tar.gz`), or `reqif` (a `.reqifz`).
    format: ExportFormat,
    /// `main` when left out.
    branch: Option<String>,
}

/// The branch's documents as an archive in a spec tool's layout, or as ReqIF 1.2.
#[utoipa::path(get, path = "/projects/{id}/export", tag = "exchange",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), ExportQuery),
    responses((status = 200, description = "the archive, as a download",
               content((Archive = "application/gzip"), (Archive = "application/zip"))),
              (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
async fn export_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<ExportQuery>,
) -> Result<Response> {
    let branch = query.branch.as_deref().unwrap_or(branches::MAIN);
    let export = super::export(&state, &project, query.format, branch).await?;
    // The name is ASCII slugs and a fixed extension: nothing to quote.
    let disposition =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", export.file_name)).map_err(Error::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(export.content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        export.bytes,
    )
        .into_response())
}

#[derive(Deserialize, IntoParams)]
struct ImportQuery {
    /// The archive's layout: `charter`, `speckit`, `openspec` or `kiro`.
    format: ExportFormat,
    /// The branch the change request merges into; `main` when left out.
    branch: Option<String>,
    /// `true` answers what the import would do, and makes nothing.
    #[serde(default)]
    preview: bool,
    /// The change request's title; `Import from <layout>` when left out.
    title: Option<String>,
}

/// Brings a `.tar.gz` of documents in a layout into the project: they land on a new
/// branch `import/<layout>` with a change request into `branch` (never onto it).
/// `preview=true` answers what would be created, updated or left unchanged instead.
#[utoipa::path(post, path = "/projects/{id}/import", tag = "exchange",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), ImportQuery),
    request_body(content = Archive, content_type = "application/gzip"),
    responses((status = 200, description = "the preview", body = ImportPlan),
              (status = 201, description = "the branch and change request made", body = Imported),
              (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn import_handler(
    State(state): State<AppState>,
    project: Project<need::Write>,
    Query(query): Query<ImportQuery>,
    Upload(body): Upload,
) -> Result<Response> {
    let layout = import_layout(query.format)?;
    let branch = query.branch.as_deref().unwrap_or(branches::MAIN);
    if query.preview {
        let plan = super::preview(&state, &project, layout, body.to_vec(), branch).await?;
        return Ok(Json(plan).into_response());
    }
    let made = super::import(&state, &project, layout, body.to_vec(), branch, query.title).await?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

fn import_layout(format: ExportFormat) -> Result<Layout> {
    format.layout().ok_or_else(|| {
        Error::Invalid("ReqIF is export only: import Charter, Spec Kit, OpenSpec or Kiro archives".into())
    })
}
