//! `GET /documents/{id}/raw`: a document's text exactly as written, with the content
//! type of what it is (a contract's YAML or JSON, a spec's Markdown), so that tools can
//! read the reviewed contract straight from Charter (schemathesis, Dredd, Prism).

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use charter_types::Kind;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Document};
use crate::contract::{self, Syntax};
use crate::error::{Error, Result};
use crate::extract::Query;
use crate::{branches, history, markdown, AppState};

#[derive(Deserialize, IntoParams)]
struct RawQuery {
    /// The branch whose current text to serve; `main` when neither this nor `version`
    /// is given.
    branch: Option<String>,
    /// A version's id or tag: the text as that version merged it.
    version: Option<String>,
}

/// A Markdown document's text, or a contract's that cannot be read (a readable
/// contract is the YAML or JSON value it holds).
#[derive(ToSchema)]
#[schema(value_type = String)]
#[allow(dead_code)] // Only its schema is used: the body is the text itself.
struct Text(String);

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(raw_handler))
}

/// What a document's text is served as, and the extension of its file name: a contract
/// that cannot be read (one being written, say) is plain text, not YAML that a client's
/// parser would choke on.
pub fn content_type(kind: Kind, text: &str) -> (&'static str, &'static str) {
    match kind {
        Kind::Contract if contract::source::read(text).is_err() => ("text/plain; charset=utf-8", "txt"),
        Kind::Contract => Syntax::of(text).media_type(),
        _ => ("text/markdown; charset=utf-8", "md"),
    }
}

/// A document's text as written: a contract as `application/yaml` or
/// `application/json` (plain text while it cannot be read), other documents as
/// Markdown. From a branch, or as a version merged it.
#[utoipa::path(get, path = "/documents/{id}/raw", tag = "documents",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), RawQuery),
    responses((status = 200, description = "the text as written",
               content((serde_json::Value = "application/yaml"), (serde_json::Value = "application/json"),
                       (Text = "text/markdown"), (Text = "text/plain"))),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn raw_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(query): Query<RawQuery>,
) -> Result<Response> {
    let (title, kind, text) = match (query.branch, query.version) {
        (Some(_), Some(_)) => return Err(Error::Invalid("give a branch or a version, not both".into())),
        (_, Some(version)) => {
            let at = history::at(&state.db, &document, document.id(), &version).await?;
            (at.title, at.kind, at.content)
        }
        (branch, None) => {
            let branch = branch.as_deref().unwrap_or(branches::MAIN);
            let current = super::get(&state, &document, document.id(), branch).await?;
            (current.title, current.kind, current.content)
        }
    };
    let (content_type, extension) = content_type(kind, &text);
    let name = markdown::slugify(&title, |c| c.is_ascii_alphanumeric(), 80).unwrap_or_else(|| "document".to_owned());
    // ASCII letters, digits and dashes: nothing to quote.
    let disposition =
        HeaderValue::from_str(&format!("inline; filename=\"{name}.{extension}\"")).map_err(Error::internal)?;
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CONTENT_DISPOSITION, disposition)],
        text,
    )
        .into_response())
}
