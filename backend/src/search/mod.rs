//! Search over a branch's requirements and sections. The index (`search_entries`) is
//! derived from the Markdown projection: `indexer` keeps it in step, `entries` says
//! what a document contributes, `query` ranks what matches.

mod entries;
pub mod indexer;
mod query;

use axum::extract::State;
use charter_types::SearchResults;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Project, ProjectAccess};
use crate::error::Result;
use crate::extract::{Json, Query};
use crate::{branches, AppState};
use query::Request;
pub use query::SearchQuery;

/// Said with every answer until meaning search exists on this server.
const WORDS_ONLY: &str = "Search matches words only: meaning search is not available on this server yet.";

/// The hits of a project's branch for `query`, best first.
pub async fn search(db: &sqlx::PgPool, project: &ProjectAccess, query: &SearchQuery) -> Result<SearchResults> {
    let request = Request::new(query)?;
    let branch = branches::resolve(db, project.project(), query.branch.as_deref().unwrap_or(branches::MAIN)).await?;
    let hits = query::by_text(db, branch, &request).await?;
    Ok(SearchResults { hits, meaning_search: false, notice: Some(WORDS_ONLY.to_owned()) })
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(search_handler))
}

/// Search a branch's requirements and sections: each hit with where it is, a snippet
/// marked where it matched, and why it matched.
#[utoipa::path(get, path = "/projects/{id}/search", tag = "search", params(("id" = Uuid, Path), SearchQuery),
    responses((status = 200, body = SearchResults), (status = 400, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn search_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<SearchQuery>,
) -> Result<Json<SearchResults>> {
    Ok(Json(search(&state.db, &project, &query).await?))
}
