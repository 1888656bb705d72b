//! Spec structure: what Charter reads out of Markdown documents (requirements with IDs,
//! acceptance scenarios, clarification markers, links, tasks), and what it does with
//! that: stable requirement identities with history, link resolution, clarifications,
//! the lint, constitution versioning and traceability reports.

mod cache;
pub mod clarifications;
pub mod conformance;
pub mod constitution;
pub mod contracts;
mod corpus;
mod feedback;
pub mod lint;
pub mod parse;
pub mod requirements;
pub mod review;
pub(crate) mod splice;
pub mod traceability;

use std::sync::{Arc, LazyLock};

use axum::extract::State;
use charter_types::{BranchId, DocumentId, Finding, Kind, Severity};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::{need, Document, Project, ProjectAccess};
use crate::branches::BranchQuery;
use crate::error::Result;
use crate::extract::{Json, Query};
use crate::{branches, budget, AppState};
use cache::Derived;
pub use corpus::{Corpus, Doc, Fingerprint, Links, Parsed, Target, Text};

/// A place that links to a document or to one of its requirements. Named apart in the
/// OpenAPI document from a requirement's `Backlink`.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = DocumentBacklink)]
pub struct Backlink {
    /// What is linked: the document's title or a requirement's ID.
    pub target: String,
    pub document_id: DocumentId,
    pub title: String,
    pub kind: Kind,
    pub line: usize,
}

/// What links to a document, or to the requirements it defines, from other documents.
pub async fn document_backlinks(
    db: &sqlx::PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
) -> Result<Vec<Backlink>> {
    let (_, corpus) = corpus(db, project, branch, Text::Live).await?;
    let Some(doc) = corpus.doc(document_id) else { return Ok(Vec::new()) };
    let mut all = corpus.backlinks();
    let targets = std::iter::once((doc.title.clone(), doc.id.to_string()))
        .chain(doc.structure().requirements.iter().map(|r| (r.key.clone(), r.key.to_uppercase())));
    let mut found = Vec::new();
    for (target, key) in targets {
        for (from, line) in all.remove(&key).unwrap_or_default() {
            let Some(source) = corpus.doc(from).filter(|source| source.id != document_id) else { continue };
            found.push(Backlink {
                target: target.clone(),
                document_id: from,
                title: source.title.clone(),
                kind: source.kind,
                line,
            });
        }
    }
    Ok(found)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct LintQuery {
    /// `main` when left out.
    pub branch: Option<String>,
}

/// A lint report: the findings, and the rules with the severities they ran at.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    pub rules: Vec<RuleSetting>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RuleSetting {
    pub id: String,
    pub summary: String,
    pub default: Severity,
    /// `null` when the constitution turns the rule off.
    pub severity: Option<Severity>,
}

/// Every rule with the severity the corpus's constitution gives it.
fn rule_settings(corpus: &Corpus) -> Vec<RuleSetting> {
    corpus
        .config()
        .rules()
        .into_iter()
        .map(|(rule, severity)| RuleSetting {
            id: rule.id.to_owned(),
            summary: rule.summary.to_owned(),
            default: rule.severity,
            severity,
        })
        .collect()
}

impl LintReport {
    pub fn new(corpus: &Corpus, findings: Vec<Finding>) -> LintReport {
        LintReport { findings, rules: rule_settings(corpus) }
    }
}

/// A branch's corpus for a reader of the project.
pub async fn corpus(
    db: &sqlx::PgPool,
    project: &ProjectAccess,
    branch: &str,
    source: Text,
) -> Result<(BranchId, Corpus)> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    let corpus = Corpus::load(&mut *db.acquire().await?, branch_id, source).await?;
    Ok((branch_id, corpus))
}

pub async fn project_lint(db: &sqlx::PgPool, project: &ProjectAccess, branch: &str) -> Result<Arc<LintReport>> {
    static LINTED: LazyLock<Derived<LintReport>> =
        LazyLock::new(|| Derived::new(64 << 20, |report| 256 * report.findings.len() as u64 + 4096));
    let (branch_id, corpus) = corpus(db, project, branch, Text::Live).await?;
    let fingerprint = corpus.fingerprint();
    if let Some(report) = LINTED.get(branch_id, fingerprint) {
        return Ok(report);
    }
    let report = budget::run(move |budget| {
        let findings = lint::all(&corpus, budget)?;
        Ok(Arc::new(LintReport::new(&corpus, findings)))
    })
    .await?;
    LINTED.put(branch_id, fingerprint, Arc::clone(&report));
    Ok(report)
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(project_lint_handler))
        .routes(routes!(rules_handler))
        .routes(routes!(backlinks_handler))
        .merge(requirements::router())
        .merge(clarifications::router())
        .merge(traceability::router())
        .merge(contracts::router())
        .merge(conformance::router())
}

/// What links to a document, or to the requirements it defines.
#[utoipa::path(get, path = "/documents/{id}/backlinks", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Vec<Backlink>), (status = 404, body = crate::error::ErrorBody)))]
async fn backlinks_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Vec<Backlink>>> {
    Ok(Json(document_backlinks(&state.db, &document, document.id(), branch.name()).await?))
}

/// Lint every document of a branch: the findings, document by document.
#[utoipa::path(get, path = "/projects/{id}/lint", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), LintQuery),
    responses((status = 200, body = Vec<Finding>), (status = 404, body = crate::error::ErrorBody)))]
async fn project_lint_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<LintQuery>,
) -> Result<Json<Vec<Finding>>> {
    let branch = query.branch.as_deref().unwrap_or(branches::MAIN);
    Ok(Json(project_lint(&state.db, &project, branch).await?.findings.clone()))
}

/// The lint rules, and the severity each runs at on the branch (its constitution's
/// "Checks" heading decides).
#[utoipa::path(get, path = "/projects/{id}/lint/rules", tag = "specs",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), LintQuery),
    responses((status = 200, body = Vec<RuleSetting>), (status = 404, body = crate::error::ErrorBody)))]
async fn rules_handler(
    State(state): State<AppState>,
    project: Project<need::Read>,
    Query(query): Query<LintQuery>,
) -> Result<Json<Vec<RuleSetting>>> {
    let branch = query.branch.as_deref().unwrap_or(branches::MAIN);
    let (_, corpus) = corpus(&state.db, &project, branch, Text::Projected).await?;
    Ok(Json(rule_settings(&corpus)))
}
