//! A document's checks as its author sees them: the spec lint over the branch, and the
//! requirements that nearly duplicate one of another document, found by meaning. Both
//! run on the text on screen as the editor pauses, and on the stored text.

use axum::extract::State;
use charter_types::{DocumentId, Finding};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Document, ProjectAccess};
use crate::branches::BranchQuery;
use crate::embeddings::Meaning;
use crate::error::{Error, Result};
use crate::extract::{Json, Query};
use crate::search::{self, NearDuplicate};
use crate::structure::lint::{self, NEAR_DUPLICATE};
use crate::structure::{self, parse, Doc, LintReport, Text};
use crate::{budget, content, AppState};

#[derive(Deserialize, ToSchema)]
pub struct LintText {
    /// The document's text as the editor has it now.
    pub content: String,
}

/// A document's findings; with `text`, for that text instead of the stored one (the
/// editor lints what is on screen, against the rest of the project as stored).
pub async fn document_lint(
    db: &sqlx::PgPool,
    meaning: &Meaning,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
    text: Option<String>,
) -> Result<LintReport> {
    if let Some(text) = &text {
        content::validate(text)?;
    }
    // The editor lints on every pause in typing: with its text, the rest as projected.
    let source = if text.is_some() { Text::Projected } else { Text::Live };
    let (branch_id, mut corpus) = structure::corpus(db, project, branch, source).await?;
    if let Some(text) = text {
        corpus = corpus.with_text(document_id, text).await?;
    }
    let Some(doc) = corpus.doc(document_id).cloned() else {
        return Err(Error::Conflict("this document is deleted on this branch; restore it to check it".into()));
    };
    let config = corpus.config();
    let near = match meaning.embedder() {
        Some(embedder) if config.severity(NEAR_DUPLICATE).is_some() => {
            let requirements = &doc.structure().requirements;
            match search::near_duplicates(db, embedder, project, branch_id, document_id, requirements).await {
                Ok(near) => near,
                // The rest of the lint does not wait for a provider that is down.
                Err(Error::Provider(why)) => {
                    tracing::warn!(%why, "the embedding provider failed; linting without near duplicates");
                    Vec::new()
                }
                Err(err) => return Err(err),
            }
        }
        _ => Vec::new(),
    };
    budget::run(move |_| {
        let mut findings = lint::document(&corpus, &doc);
        findings.extend(near.iter().filter_map(|near| near_duplicate(&config, &doc, near)));
        findings.sort_by_key(|finding| (finding.line, finding.column));
        Ok(LintReport::new(&corpus, findings))
    })
    .await
}

/// The `near-duplicate` finding on the requirement `near` was found for.
fn near_duplicate(config: &lint::Config, doc: &Doc, near: &NearDuplicate) -> Option<Finding> {
    let requirement = doc.structure().requirements.get(near.index)?;
    let message = format!(
        "{} says nearly what {} in {} says ({:.0}% alike): keep one, or dismiss the pair in the duplicates report",
        requirement.key,
        near.key,
        near.document,
        near.similarity * 100.0
    );
    let place = (requirement.line, requirement.column, parse::utf16_len(&requirement.key));
    config.finding(NEAR_DUPLICATE, doc, place, message)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(document_lint_handler, document_lint_text_handler))
}

/// Lint one document as stored.
#[utoipa::path(get, path = "/documents/{id}/lint", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Vec<Finding>), (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "the document is deleted on that branch", body = crate::error::ErrorBody)))]
async fn document_lint_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Vec<Finding>>> {
    let meaning = search::provider::meaning(&state.db, &state.embeddings, document.project()).await?;
    let report = document_lint(&state.db, &meaning, &document, document.id(), branch.name(), None).await?;
    Ok(Json(report.findings))
}

/// Lint a document's unsaved text against the rest of the project (what the editor
/// shows inline as you type).
#[utoipa::path(post, path = "/documents/{id}/lint", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    request_body = LintText,
    responses((status = 200, body = Vec<Finding>), (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "the document is deleted on that branch", body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn document_lint_text_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(branch): Query<BranchQuery>,
    Json(body): Json<LintText>,
) -> Result<Json<Vec<Finding>>> {
    let meaning = search::provider::meaning(&state.db, &state.embeddings, document.project()).await?;
    let text = Some(body.content);
    let report = document_lint(&state.db, &meaning, &document, document.id(), branch.name(), text).await?;
    Ok(Json(report.findings))
}
