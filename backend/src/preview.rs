//! Live previews: Markdown rendered the way Charter shows documents, with `[[links]]`
//! resolved against a document's project on a branch when one is named; a contract
//! shown as its API reference.

use axum::extract::State;
use charter_types::{DocumentId, Kind, Permission};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::access::Actor;
use crate::authorization::authorize_document;
use crate::contract::{reference, Contract};
use crate::error::Result;
use crate::extract::Json;
use crate::structure::Links;
use crate::{branches, budget, content, markdown, structure, AppState};

#[derive(Deserialize, ToSchema)]
pub struct RenderRequest {
    pub markdown: String,
    /// With `branch`: resolve `[[links]]` against this document's project on that branch,
    /// and mark where each block starts in the text (an empty `<span data-line="N">`
    /// before it), as the document's preview does.
    pub document_id: Option<DocumentId>,
    pub branch: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Rendered {
    /// Sanitized HTML, safe to insert into a page; open questions are
    /// `<mark class="clarification">`.
    pub html: String,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(render_handler))
}

/// Render Markdown the way Charter shows documents: sanitized HTML (for live previews).
#[utoipa::path(post, path = "/render", tag = "documents",
    extensions(("x-charter-access" = json!("signed-in"))), request_body = RenderRequest,
    responses((status = 200, body = Rendered), (status = 401, body = crate::error::ErrorBody),
              (status = 404, description = "no such document, or none the caller may read",
               body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn render_handler(
    State(state): State<AppState>,
    actor: Actor,
    Json(request): Json<RenderRequest>,
) -> Result<Json<Rendered>> {
    content::validate(&request.markdown)?;
    let html = match request.document_id {
        Some(document_id) => {
            let branch = request.branch.as_deref().unwrap_or(branches::MAIN);
            let document = authorize_document(&state.db, &actor, document_id, Permission::Read).await?;
            let kind: Kind = sqlx::query_scalar("SELECT kind FROM documents WHERE id = $1")
                .bind(document_id)
                .fetch_one(&state.db)
                .await?;
            let links = structure::Links::load(&state.db, &document, branch).await?;
            document_html(kind, request.markdown, Some(links)).await?
        }
        None => markdown::render(request.markdown).await?,
    };
    Ok(Json(Rendered { html }))
}

/// A document's text as its page shows it: Markdown rendered, or a contract's API
/// reference; with `links`, `[[links]]` and the requirements a contract names resolve.
pub async fn document_html(kind: Kind, text: String, links: Option<Links>) -> Result<String> {
    match (kind, links) {
        (Kind::Contract, links) => {
            budget::run(move |budget| {
                let contract = Contract::read(&text);
                match &links {
                    Some(links) => reference::render(&contract, Some(&|target: &str| links.resolve(target)), budget),
                    None => reference::render(&contract, None, budget),
                }
            })
            .await
        }
        (_, Some(links)) => markdown::render_linked(text, move |target| links.resolve(target)).await,
        (_, None) => markdown::render(text).await,
    }
}
