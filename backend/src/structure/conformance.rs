//! The code's conformance to its contracts, kept: an implementation's OpenAPI document
//! (what the code's build produced; `charter check --contract … --upload` sends it) is
//! checked here against the contract on a branch, and the outcome stored, so that each
//! operation shows implemented, missing or drifted with the commit it was checked at.
//! Charter works the outcome out itself rather than taking a report on trust.

use axum::extract::State;
use axum::http::StatusCode;
use charter_types::{ContractCheck, DocumentId, Kind, NewContractCheck, OperationConformance};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::authorization::{need, Document, ProjectAccess};
use crate::branches::{self, BranchQuery};
use crate::contract::diff;
use crate::error::{Error, Result};
use crate::extract::{Json, Query};
use crate::{budget, documents, AppState};

/// Checks kept per contract and branch: older ones go.
const KEPT: i64 = 100;

/// What is stored of a check besides its facts.
#[derive(serde::Serialize, serde::Deserialize)]
struct Outcome {
    operations: Vec<OperationConformance>,
    extra: Vec<String>,
}

/// How `implementation` conforms to the contract `document_id` as `branch` holds it.
pub async fn check(
    state: &AppState,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
    implementation: String,
) -> Result<(Vec<OperationConformance>, Vec<String>)> {
    let contract = documents::get(state, project, document_id, branch).await?;
    if contract.kind != Kind::Contract {
        return Err(Error::Invalid(format!("code conforms to contracts; this document is a {}", contract.kind)));
    }
    budget::run(move |budget| diff::conformance_of(document_id, &contract.content, &implementation, budget)).await
}

/// Checks `new` against the contract and keeps the outcome.
pub async fn record(
    state: &AppState,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
    new: NewContractCheck,
) -> Result<ContractCheck> {
    let commit = new.commit.trim();
    if commit.is_empty() || commit.chars().count() > 100 || commit.chars().any(char::is_control) {
        return Err(Error::Invalid("a commit is 1 to 100 characters, such as a git sha".into()));
    }
    let (operations, extra) = check(state, project, document_id, branch, new.implementation).await?;
    let branch_id = branches::resolve(&state.db, project.project(), branch).await?;
    let outcome = Outcome { operations, extra };
    let mut tx = project.begin(&state.db).await?;
    sqlx::query(
        "INSERT INTO contract_checks (id, document_id, branch_id, commit_sha, outcome, checked_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(Uuid::now_v7())
    .bind(document_id)
    .bind(branch_id)
    .bind(commit)
    .bind(sqlx::types::Json(&outcome))
    .bind(project.actor().user_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM contract_checks WHERE id IN (
             SELECT id FROM contract_checks WHERE document_id = $1 AND branch_id = $2
             ORDER BY checked_at DESC, id DESC OFFSET $3)",
    )
    .bind(document_id)
    .bind(branch_id)
    .bind(KEPT)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    latest(&state.db, project, document_id, branch).await
}

/// The latest check of the code against the contract on `branch`.
pub async fn latest(
    db: &PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
) -> Result<ContractCheck> {
    let branch_id = branches::resolve(db, project.project(), branch).await?;
    let row: Option<(String, sqlx::types::Json<Outcome>, DateTime<Utc>, String)> = sqlx::query_as(
        "SELECT c.commit_sha, c.outcome, c.checked_at, u.username FROM contract_checks c
         JOIN users u ON u.id = c.checked_by
         WHERE c.document_id = $1 AND c.branch_id = $2 ORDER BY c.checked_at DESC, c.id DESC LIMIT 1",
    )
    .bind(document_id)
    .bind(branch_id)
    .fetch_optional(db)
    .await?;
    let (commit, outcome, checked_at, checked_by) = row.ok_or_else(|| {
        Error::NotFound(format!("the code has not been checked against this contract on {branch} yet"))
    })?;
    let Outcome { operations, extra } = outcome.0;
    Ok(ContractCheck { document_id, branch: branch.to_owned(), commit, checked_at, checked_by, operations, extra })
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(record_handler, latest_handler))
}

/// Check the code against the contract and keep the outcome: the body holds the OpenAPI
/// document the code's build produced and the commit it was built from. Each of the
/// contract's operations comes back implemented, missing or drifted (a difference that
/// breaks callers, by the review rules), with the operations only the code serves.
#[utoipa::path(post, path = "/documents/{id}/conformance", tag = "contracts",
    extensions(("x-charter-access" = json!("editor"))), params(("id" = Uuid, Path), BranchQuery),
    request_body = NewContractCheck,
    responses((status = 201, body = ContractCheck), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
async fn record_handler(
    State(state): State<AppState>,
    document: Document<need::Write>,
    Query(branch): Query<BranchQuery>,
    Json(new): Json<NewContractCheck>,
) -> Result<(StatusCode, Json<ContractCheck>)> {
    let check = record(&state, &document, document.id(), branch.name(), new).await?;
    Ok((StatusCode::CREATED, Json(check)))
}

/// The latest check of the code against the contract on a branch.
#[utoipa::path(get, path = "/documents/{id}/conformance", tag = "contracts",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = ContractCheck), (status = 404, body = crate::error::ErrorBody)))]
async fn latest_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<ContractCheck>> {
    Ok(Json(latest(&state.db, &document, document.id(), branch.name()).await?))
}
